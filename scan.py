"""Scan a whole channel for artifacts that clobber; merge shard outputs; open mark-broken PRs.

Subcommands: (default) scan, ``merge``, ``mark-broken``.
Exit codes: 0 done, 1 new invalid artifacts found (scan only with --fail-on-new), 2 bad usage
or filters, 3 could not scan.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from artifact_validation import admin_requests
from artifact_validation.errors import EXIT_VALID
from artifact_validation.filters import DEFAULT_FILTER_DIRS, load_filters
from cli_common import ROOT, github_from_env, run_main


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
    """`scan.py mark-broken`: open admin-requests PRs for invalid artifacts not yet recorded."""
    parser = argparse.ArgumentParser(
        prog="scan.py mark-broken",
        description="open one admin-requests pull request per package name with new invalid "
        "artifacts, and record each PR in the PR file",
    )
    parser.add_argument("--invalid", type=Path, default=ROOT / "scan_data/invalid_packages.yaml")
    parser.add_argument("--prs", type=Path, default=ROOT / "scan_data/invalid_packages_prs.yaml")
    parser.add_argument("--max-prs", type=int, default=10, help="at most this many PRs per run")
    parser.add_argument("--dry-run", action="store_true", help="print the PRs, change nothing")
    parser.add_argument("--repo", default="conda-forge/admin-requests")
    parser.add_argument("--filters", action="append", metavar="DIR", type=Path)
    args = parser.parse_args(argv)
    if args.max_prs < 0:
        parser.error("--max-prs must be >= 0")

    invalid = admin_requests.load_invalid(args.invalid)
    recorded = admin_requests.load_recorded(args.prs)
    filters = load_filters(args.filters or [ROOT / d for d in DEFAULT_FILTER_DIRS])
    owners = {f.name: sorted(f.allowed) for f in filters}
    plan = admin_requests.plan_requests(invalid, recorded)

    def record(request: admin_requests.BrokenRequest, pull: dict[str, object]) -> None:
        for artifact in request.artifacts:
            recorded[artifact] = dict(pull)
        admin_requests.save_recorded(args.prs, recorded)

    result = admin_requests.mark_broken(
        plan,
        None if args.dry_run else github_from_env(),
        args.repo,
        owners=owners,
        team_for=lambda name: name,
        record=record,
        max_prs=args.max_prs,
        dry_run=args.dry_run,
    )
    verb = "would open" if args.dry_run else "opened"
    for request in result.opened:
        print(f"{verb}: {args.repo} {request.branch}: {request.title}", file=sys.stderr)
        if args.dry_run:
            print(f"  {request.path}:", file=sys.stderr)
            print("    " + request.file_content().replace("\n", "\n    ").rstrip(), file=sys.stderr)
    for request in result.adopted:
        print(f"recorded existing PR for branch {request.branch}", file=sys.stderr)
    for request in result.skipped:
        print(f"skipped: branch {request.branch} exists without an open PR", file=sys.stderr)
    if result.deferred:
        print(
            f"deferred to the next run (--max-prs {args.max_prs}): "
            f"{len(result.deferred)} package(s)",
            file=sys.stderr,
        )
    return EXIT_VALID


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
