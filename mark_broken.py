"""Open admin-requests pull requests that mark the scan's invalid artifacts broken, once each.

Reads ``scan_data/invalid_packages.yaml`` and records every PR it opens in
``scan_data/invalid_packages_prs.yaml``. Exit codes: 0 done, 2 bad usage or
input, 3 GitHub or the ownership registry failed after retries.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from artifact_validation.core.errors import EXIT_VALID
from artifact_validation.filters.files import load_filters
from artifact_validation.scan import admin_requests
from artifact_validation.services.ownership import DEFAULT_OUTPUTS_URL, Registry, maintainer_teams
from cli_common import (
    ROOT,
    add_filters_arg,
    filter_dirs,
    github_from_env,
    number,
    retry_policy_from_env,
    run_main,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``docs`` checks its examples against it)."""
    parser = argparse.ArgumentParser(
        prog="mark_broken.py",
        description="open one admin-requests pull request per package name with new invalid "
        "artifacts, and record each PR in the PR file",
    )
    parser.add_argument("--invalid", type=Path, default=ROOT / "scan_data/invalid_packages.yaml")
    parser.add_argument("--prs", type=Path, default=ROOT / "scan_data/invalid_packages_prs.yaml")
    parser.add_argument(
        "--max-prs", type=number(int), default=10, help="at most this many PRs per run"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the PRs, change nothing")
    parser.add_argument("--repo", default="conda-forge/admin-requests")
    add_filters_arg(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    invalid = admin_requests.load_invalid(args.invalid)
    recorded = admin_requests.load_recorded(args.prs)
    filters = load_filters(filter_dirs(args.filters))
    owners = {f.name: sorted(f.allowed) for f in filters}
    plan = admin_requests.plan_requests(invalid, recorded)
    registry = Registry(
        os.environ.get("FEEDSTOCK_OUTPUTS_URL") or DEFAULT_OUTPUTS_URL,
        retry=retry_policy_from_env(),
    )

    def record(request: admin_requests.BrokenRequest, pull: dict[str, object]) -> None:
        for artifact in request.artifacts:
            recorded[artifact] = dict(pull)
        admin_requests.save_recorded(args.prs, recorded)

    result = admin_requests.mark_broken(
        plan,
        None if args.dry_run else github_from_env(),
        args.repo,
        owners=owners,
        team_for=lambda name: maintainer_teams(registry, name),
        record=record,
        max_prs=int(args.max_prs),
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_main(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
