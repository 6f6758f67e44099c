"""Open or comment on the one ``[bot] <workflow> failed`` issue of this repository, with a run link.

Every workflow runs this as its last step, only on its own failure on the
default branch (docs/cli.md "The failure notifier"). Reads ``GITHUB_API_URL``,
``GITHUB_TOKEN`` (or ``GH_TOKEN``), ``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY``
and ``GITHUB_RUN_ID``. Exit codes: 0 reported, 2 bad usage or environment,
3 GitHub failed after retries.
"""

from __future__ import annotations

import argparse
import os
import sys

from artifact_validation.core import EXIT_VALID, UsageError
from artifact_validation.services import RunContext, notify_failure
from cli_common import github_from_env, run_main


def build_parser() -> argparse.ArgumentParser:
    """The command line of notify_failure.py (docs/cli.md)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflow", required=True, help="the failed workflow's name")
    parser.add_argument(
        "--repo", help="repository to open the issue on (default: $GITHUB_REPOSITORY)"
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        run = RunContext.from_env(os.environ)
        if not (run.run_link and run.token):
            raise UsageError(
                "$GITHUB_REPOSITORY, $GITHUB_RUN_ID and $GITHUB_TOKEN (or $GH_TOKEN) must be set"
            )
        repo = args.repo or run.repository
        number, created = notify_failure(github_from_env(), repo, args.workflow, run.run_link)
        verb = "opened" if created else "commented on"
        print(f"{verb} issue #{number} on {repo}", file=sys.stderr)
        return EXIT_VALID

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
