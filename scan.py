"""Scan a whole channel for artifacts that clobber; merge shard outputs; open mark-broken PRs.

Subcommands: (default) scan, ``merge``, ``mark-broken``.
Exit codes: 0 done, 1 new invalid artifacts found (scan only with --fail-on-new), 2 bad usage
or filters, 3 could not scan.
"""

from __future__ import annotations

import argparse
import sys

from cli_common import run_main


def cmd_scan(argv: list[str]) -> int:
    """`scan.py --channel ...`: owned by the scan issue (6)."""
    parser = argparse.ArgumentParser(prog="scan.py", description="scan a channel")
    parser.parse_args(argv)
    raise SystemExit("scan: not implemented yet")


def cmd_merge(argv: list[str]) -> int:
    """`scan.py merge OUT... --output ...`: owned by the scan issue (6)."""
    parser = argparse.ArgumentParser(prog="scan.py merge", description="merge shard outputs")
    parser.parse_args(argv)
    raise SystemExit("merge: not implemented yet")


def cmd_mark_broken(argv: list[str]) -> int:
    """`scan.py mark-broken ...`: owned by the mark-broken issue (7)."""
    parser = argparse.ArgumentParser(prog="scan.py mark-broken", description="open PRs")
    parser.parse_args(argv)
    raise SystemExit("mark-broken: not implemented yet")


COMMANDS = {"merge": cmd_merge, "mark-broken": cmd_mark_broken}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in COMMANDS:
        command, rest = COMMANDS[args[0]], args[1:]
    else:
        command, rest = cmd_scan, args
    return run_main(lambda: command(rest))


if __name__ == "__main__":
    sys.exit(main())
