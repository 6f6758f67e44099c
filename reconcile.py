"""Announce again every staged artifact that no run took care of (no upload lost).

Lists the staging owner's labels and files on anaconda.org; each file older
than --min-age with no outcome in the ledger is dispatched to this
repository as the copy service would. Reads ANACONDA_API_URL,
FEEDSTOCK_OUTPUTS_URL, GITHUB_API_URL, GITHUB_TOKEN and GITHUB_REPOSITORY.
Exit codes: 0 done, 2 bad usage, 3 an API failed after retries.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from artifact_validation.core.conda import check_subdir
from artifact_validation.core.errors import EXIT_VALID, UsageError
from cli_common import number, retry_policy_from_env, run_main


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``docs`` checks its examples against it)."""
    parser = argparse.ArgumentParser(prog="reconcile.py", description=__doc__.splitlines()[0])
    parser.add_argument("--label", action="append", default=[], help="only this label; repeatable")
    parser.add_argument(
        "--subdir", action="append", default=[], help="only this subdir; repeatable"
    )
    parser.add_argument("--from-owner", default="cf-staging", help="the staging owner")
    parser.add_argument(
        "--download-url",
        default="https://conda.anaconda.org",
        help="base of artifact URLs (default: %(default)s)",
    )
    parser.add_argument(
        "--min-age",
        type=number(float),
        default=600.0,
        metavar="SECONDS",
        help="leave younger files to their own dispatch (default: %(default)g)",
    )
    parser.add_argument(
        "--repo", default="", help="where to dispatch (default: $GITHUB_REPOSITORY)"
    )
    parser.add_argument("--dry-run", action="store_true", help="list, dispatch and record nothing")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        # Imported here: the clients pull in ghapi and requests; --help needs neither.
        from artifact_validation.services.anaconda import Anaconda  # noqa: PLC0415
        from artifact_validation.services.ownership import DEFAULT_OUTPUTS_URL, Registry  # noqa: PLC0415
        from artifact_validation.services.run import RunContext, url_setting  # noqa: PLC0415
        from artifact_validation.worker.reconcile import reconcile  # noqa: PLC0415

        for subdir in args.subdir:
            check_subdir(subdir, "--subdir")
        run = RunContext.from_env(os.environ)
        repo = args.repo or run.repository
        if not repo:
            raise UsageError("give --repo or set $GITHUB_REPOSITORY")
        if not args.dry_run:
            run.require_token("reconcile dispatches events and records them")
        retry = retry_policy_from_env()
        anaconda_url = url_setting(os.environ, "ANACONDA_API_URL", "https://api.anaconda.org")
        outputs_url = url_setting(os.environ, "FEEDSTOCK_OUTPUTS_URL", DEFAULT_OUTPUTS_URL)
        result = reconcile(
            Anaconda(anaconda_url, retry=retry),
            Registry(outputs_url, retry=retry),
            run.client(retry=retry),
            repo=repo,
            staging_owner=args.from_owner,
            download_url=args.download_url,
            labels=args.label,
            subdirs=args.subdir,
            min_age=args.min_age,
            dry_run=args.dry_run,
        )
        verb = "would dispatch" if args.dry_run else "dispatched"
        for key in result.dispatched:
            print(f"{verb}: {key}", file=sys.stderr)
        for key, why in sorted(result.skipped.items()):
            print(f"skipped: {key}: {why}", file=sys.stderr)
        print(
            f"reconcile: {len(result.dispatched)} {verb}, {len(result.skipped)} skipped, "
            f"{len(result.pruned)} old ledger files pruned",
            file=sys.stderr,
        )
        if args.json:
            doc = {
                "dispatched": result.dispatched,
                "skipped": result.skipped,
                "pruned": result.pruned,
            }
            print(json.dumps(doc, indent=2, sort_keys=True))
        return EXIT_VALID

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
