"""Commit the given paths and push them to the default branch safely (fetch, rebase, retry).

For workflows writing back to this repository (scan, update-filters,
mark-broken); see ``artifact_validation/gitpush.py`` for the rules.
Results computed on another ref than the branch pushed to (a run from a
feature branch, a tag, a pull request) are refused: pass ``--branch`` to push
them to that same branch. Exit codes: 0 pushed (or nothing to commit), 2 bad
usage or a ref mismatch, 3 not pushed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from artifact_validation.core import EXIT_VALID, UsageError
from artifact_validation.services import DEFAULT_ATTEMPTS, commit_and_push, compact_branch
from cli_common import run_main


def build_parser() -> argparse.ArgumentParser:
    """The command line of commit_back.py (docs/cli.md)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--message", "-m", required=True, help="the commit message")
    parser.add_argument("--paths", nargs="+", required=True, help="paths to commit (only these)")
    parser.add_argument("--repo", type=Path, default=Path("."), help="work tree (default: .)")
    parser.add_argument("--remote", default="origin", help="remote to push to (default: origin)")
    parser.add_argument("--branch", help="branch to push to (default: the remote's default)")
    parser.add_argument(
        "--attempts",
        type=int,
        default=DEFAULT_ATTEMPTS,
        help="fetch-rebase-push rounds before giving up (default: %(default)s)",
    )
    parser.add_argument(
        "--token-env",
        metavar="VAR",
        help="environment variable holding the HTTPS token to push with (e.g. GITHUB_TOKEN)",
    )
    parser.add_argument(
        "--source-ref",
        metavar="REF",
        help="the ref the results were computed on (default: GITHUB_REF under Actions, "
        "else the checked-out branch); pushing to another branch is refused",
    )
    parser.add_argument(
        "--compact-after",
        type=int,
        metavar="N",
        help="after pushing, replace --branch by one orphan commit of its newest tree when it "
        "holds more than N commits (force-with-lease; for the scan-state branch only, never "
        "the default branch)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        result = commit_and_push(
            args.repo,
            args.paths,
            args.message,
            remote=args.remote,
            branch=args.branch,
            attempts=args.attempts,
            token_env=args.token_env,
            source_ref=args.source_ref or os.environ.get("GITHUB_REF") or None,
        )
        compacted = ""
        if args.compact_after is not None:
            if not args.branch:
                raise UsageError("--compact-after needs an explicit --branch")
            compacted = compact_branch(
                args.repo,
                args.branch,
                args.compact_after,
                f"{args.branch}: compacted ({args.message})",
                remote=args.remote,
                token_env=args.token_env,
            )
            if compacted:
                print(f"compacted {args.branch} to {compacted[:12]}", file=sys.stderr)
        if args.json:
            print(json.dumps({**result.__dict__, "compacted": compacted}, sort_keys=True))
        if result.pushed:
            print(
                f"pushed {result.commit[:12]} to {result.branch} (attempt {result.attempts})",
                file=sys.stderr,
            )
        else:
            print("nothing to commit: the paths are unchanged", file=sys.stderr)
        return EXIT_VALID

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
