"""Check every waiver (docs/waivers.md): valid, active, at most 180 days ahead; CI runs it.

Exit codes: 0 every waiver is fine, 2 a waiver is invalid or expired (the message names it).
"""

from __future__ import annotations

import argparse
import sys

from artifact_validation.filters.files import load_filters
from artifact_validation.filters.waivers import load_waivers, today_utc
from cli_common import add_filters_arg, add_waivers_arg, filter_dirs, run_main, waiver_dirs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check_waivers.py", description=__doc__.splitlines()[0])
    add_waivers_arg(parser)
    add_filters_arg(parser)
    args = parser.parse_args(argv)

    def body() -> int:
        names = {f.name for f in load_filters(filter_dirs(args.filters))}
        today = today_utc()
        waivers = load_waivers(waiver_dirs(args.waivers), today, known_filters=names)
        for waiver in sorted(waivers.active, key=lambda w: (w.expires, w.source)):
            days = (waiver.expires - today).days
            print(f"{waiver.source}: expires {waiver.expires} ({days} days)", file=sys.stderr)
        print(f"check_waivers: {len(waivers.active)} waiver(s), all valid", file=sys.stderr)
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
