"""Open or comment on the one ``[bot] <workflow> failed`` issue of this repository, with a run link.

Every workflow runs this as its last step, only on its own failure on the
default branch (README "The failure notifier"). Reads ``GITHUB_API_URL``,
``GITHUB_TOKEN`` (or ``GH_TOKEN``), ``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY``
and ``GITHUB_RUN_ID``. Exit codes: 0 reported, 2 bad usage or environment,
3 GitHub failed after retries.
"""

from __future__ import annotations

import argparse
import os
import sys

from artifact_validation.core.errors import EXIT_VALID, UsageError
from artifact_validation.services.github import notify_failure, run_url
from cli_common import github_from_env, run_main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflow", required=True, help="the failed workflow's name")
    parser.add_argument(
        "--repo", help="repository to open the issue on (default: $GITHUB_REPOSITORY)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        env = os.environ
        repository = env.get("GITHUB_REPOSITORY", "")
        run_id = env.get("GITHUB_RUN_ID", "")
        if not (
            repository and run_id.isdigit() and (env.get("GITHUB_TOKEN") or env.get("GH_TOKEN"))
        ):
            raise UsageError(
                "$GITHUB_REPOSITORY, $GITHUB_RUN_ID and $GITHUB_TOKEN (or $GH_TOKEN) must be set"
            )
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        gh = github_from_env()
        link = run_url(server, repository, run_id)
        number, created = notify_failure(gh, args.repo or repository, args.workflow, link)
        verb = "opened" if created else "commented on"
        print(f"{verb} issue #{number} on {args.repo or repository}", file=sys.stderr)
        return EXIT_VALID

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
