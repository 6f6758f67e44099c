"""Render the static status page (``index.html``, ``badge.json``) from ``scan_data/``.

Reads the scan's outputs, its history and the waivers (docs/status-page.md);
writes both files atomically into ``--out``. Exit codes: 0 written, 2 bad
usage or a malformed input file, 3 unexpected failure.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from artifact_validation.core.conda import is_package_name
from artifact_validation.core.errors import EXIT_VALID, UsageError
from artifact_validation.scan.status_data import load_status
from artifact_validation.scan.status_page import DEFAULT_CHECKS_URL, write_site
from cli_common import ROOT, run_main


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        prog="status_page.py",
        description="render the static status page (index.html, badge.json) from scan_data/",
    )
    parser.add_argument(
        "--scan-data", type=Path, required=True, metavar="DIR", help="the scan_data/ directory"
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="where to write the page"
    )
    parser.add_argument(
        "--channel",
        default="conda-forge",
        help="the anaconda.org channel the artifact links go to (default: %(default)s)",
    )
    parser.add_argument(
        "--waivers",
        type=Path,
        default=ROOT / "waivers",
        metavar="DIR",
        help="waiver YAML files; none shown when absent (default: %(default)s)",
    )
    parser.add_argument(
        "--checks-url",
        default=None,
        metavar="URL",
        help="the check catalogue (docs/checks.md) the findings link to (default: this "
        f"repository's on GitHub under Actions, else {DEFAULT_CHECKS_URL})",
    )
    return parser


def _checks_url(given: str | None) -> str:
    if given:
        if not given.startswith("https://"):
            raise UsageError(f"--checks-url must be an https:// URL, not {given!r}")
        return given
    server = os.environ.get("GITHUB_SERVER_URL", "")
    repo = os.environ.get("GITHUB_REPOSITORY", "")
    if server.startswith("https://") and repo.count("/") == 1:
        return f"{server}/{repo}/blob/HEAD/docs/checks.md"
    return DEFAULT_CHECKS_URL


def run(args: argparse.Namespace) -> int:
    if not is_package_name(args.channel):
        raise UsageError(f"--channel must be a channel name like conda-forge, not {args.channel!r}")
    if not args.scan_data.is_dir():
        raise UsageError(f"--scan-data {args.scan_data}: no such directory")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: exists and is not a directory")
    data = load_status(args.scan_data, args.waivers)
    written = write_site(data, args.out, args.channel, _checks_url(args.checks_url))
    names = ", ".join(str(p) for p in written)
    print(f"status_page: {data.invalid_count} invalid artifact(s); wrote {names}", file=sys.stderr)
    return EXIT_VALID


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_main(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
