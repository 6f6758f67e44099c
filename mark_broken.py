"""Open admin-requests pull requests that mark the scan's invalid artifacts broken, once each.

Reads ``scan_data/invalid_packages.yaml`` and records every PR it opens in
``scan_data/invalid_packages_prs.yaml``. Exit codes: 0 done, 2 bad usage or
input, 3 GitHub or the ownership registry failed after retries.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from artifact_validation.core.conda import split_stem, strip_suffix
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
    parser.add_argument(
        "--fork-owner",
        default="",
        help="whose fork the pull requests come from (default: the token's account)",
    )
    parser.add_argument(
        "--to-owner", default="conda-forge", help="the production owner (artifacts must be there)"
    )
    add_filters_arg(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    # Imported here: the clients pull in ghapi and requests; --help needs neither.
    from artifact_validation.services.anaconda import Anaconda, Dist  # noqa: PLC0415
    from artifact_validation.services.pulls import PullRequests  # noqa: PLC0415
    from artifact_validation.services.run import url_setting  # noqa: PLC0415

    invalid = admin_requests.load_invalid(args.invalid)
    recorded = admin_requests.load_recorded(args.prs)
    filters = load_filters(filter_dirs(args.filters))
    owners = {f.name: sorted(f.allowed) for f in filters}
    plan = admin_requests.plan_requests(invalid, recorded)
    retry = retry_policy_from_env()
    registry = Registry(
        url_setting(os.environ, "FEEDSTOCK_OUTPUTS_URL", DEFAULT_OUTPUTS_URL), retry=retry
    )
    anaconda = Anaconda(
        url_setting(os.environ, "ANACONDA_API_URL", "https://api.anaconda.org"), retry=retry
    )

    def in_production(artifact: str) -> bool:
        subdir, _, filename = artifact.partition("/")
        name, version, _ = split_stem(strip_suffix(filename))
        return anaconda.dist_info(args.to_owner, Dist(name, version, artifact)) is not None

    def record(artifacts: Sequence[str], pull: dict[str, object]) -> None:
        for artifact in artifacts:
            recorded[artifact] = dict(pull)
        admin_requests.save_recorded(args.prs, recorded)

    apis = None
    fork_owner = args.fork_owner
    if not args.dry_run:
        gh = github_from_env()
        apis = (PullRequests(gh), gh)
        fork_owner = fork_owner or gh.login()
    result = admin_requests.mark_broken(
        plan,
        apis,
        admin_requests.Target(args.repo, fork_owner or "(the token's account)"),
        owners=owners,
        team_for=lambda name: maintainer_teams(registry, name),
        in_production=in_production,
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
    for request in result.recovered:
        print(f"opened the missing PR for branch {request.branch}", file=sys.stderr)
    for request in result.adopted:
        print(f"recorded existing PR for branch {request.branch}", file=sys.stderr)
    for artifact in result.gone:
        print(f"skipped: {artifact} is no longer in {args.to_owner}", file=sys.stderr)
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
