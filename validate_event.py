"""The validate-artifact worker: validate the artifact an event announces, report, publish.

Reads a GitHub event (``$GITHUB_EVENT_PATH``): a ``repository_dispatch`` from
the copy service or a ``workflow_dispatch`` re-run. Exit codes: 0 valid (and
published when asked), 1 invalid, 2 bad usage / payload / filters,
3 could not validate, publish or report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from artifact_validation.services.download import DEFAULT_DEADLINE
from cli_common import (
    add_allow_host_arg,
    add_download_deadline_arg,
    add_filters_arg,
    add_waivers_arg,
    docs_link_from_env,
    filter_dirs,
    retry_policy_from_env,
    run_main,
    waiver_dirs,
)

#: The worker's steps, in order (``worker.Step``; spelled here so --help imports nothing heavy).
STEPS = ("validate", "publish", "report", "record")


def _steps(text: str) -> list[str]:
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in STEPS]
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(f"steps are {', '.join(STEPS)}; got {text!r}")
    return sorted(set(chosen), key=STEPS.index)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``docs`` checks its examples against it)."""
    parser = argparse.ArgumentParser(prog="validate_event.py", description=__doc__.splitlines()[0])
    parser.add_argument("event", metavar="EVENT.json", help="a GitHub event ($GITHUB_EVENT_PATH)")
    parser.add_argument("--copy", action="store_true", help="publish a valid artifact")
    parser.add_argument(
        "--steps",
        default=",".join(STEPS),
        type=_steps,
        help="comma-separated steps to run, in order (default: %(default)s); a step after "
        "validate without it reads --report",
    )
    parser.add_argument("--issue-owner", default="conda-forge", help="owner of the feedstocks")
    parser.add_argument("--from-owner", default="cf-staging", help="anaconda.org staging owner")
    parser.add_argument(
        "--post-owner", default="cf-post-staging", help="anaconda.org owner only we write"
    )
    parser.add_argument("--to-owner", default="conda-forge", help="anaconda.org production owner")
    parser.add_argument(
        "--core-repo", default="conda-forge/core-notes", help="where a bad copy is reported"
    )
    parser.add_argument(
        "--outputs-repo",
        default="conda-forge/feedstock-outputs",
        help="the ownership registry's repository (registrations are committed there)",
    )
    parser.add_argument(
        "--issue-author",
        action="append",
        default=[],
        metavar="LOGIN",
        help="who may have opened the issues we comment on; repeatable (default: the token's)",
    )
    parser.add_argument(
        "--ledger-repo", default="", help="the outcome ledger's repository ($GITHUB_REPOSITORY)"
    )
    parser.add_argument(
        "--report", default="validation-report.json", metavar="PATH", help="JSON report file"
    )
    add_allow_host_arg(parser)
    add_download_deadline_arg(parser, DEFAULT_DEADLINE)
    add_filters_arg(parser)
    add_waivers_arg(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        # Imported here: the worker pulls in ghapi and requests; --help needs neither.
        from artifact_validation.worker.worker import Options, Step, run_event_file  # noqa: PLC0415

        options = Options(
            copy=args.copy,
            steps=tuple(Step(s) for s in args.steps),
            issue_owner=args.issue_owner,
            from_owner=args.from_owner,
            post_owner=args.post_owner,
            to_owner=args.to_owner,
            core_repo=args.core_repo,
            outputs_repo=args.outputs_repo,
            issue_authors=tuple(args.issue_author),
            ledger_repo=args.ledger_repo,
            report_path=Path(args.report),
            download_deadline=args.download_deadline,
        )
        outcome, code = run_event_file(
            args.event,
            options,
            os.environ,
            filter_dirs(args.filters),
            extra_hosts=args.allow_host,
            retry=retry_policy_from_env(),
            docs=docs_link_from_env(os.environ),
            waiver_dirs=waiver_dirs(args.waivers),
        )
        for warning in outcome.event.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(outcome.render_text(), file=sys.stderr, end="")
        if args.json:
            print(json.dumps(outcome.to_json(), indent=2, sort_keys=True))
        return code

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
