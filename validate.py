"""Validate conda artifacts or their file lists against the checks and the clobbering filters.

Exit codes: 0 valid, 1 invalid (findings), 2 bad usage / input / filters, 3 could not validate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from artifact_validation.core.actions import append_step_summary
from artifact_validation.archive.artifact import Limits, check_source, parse_size, validate_artifact
from artifact_validation.services.download import (
    ENV_ALLOWED_HOSTS,
    Fetcher,
    allowed_hosts,
    download_policy,
)
from artifact_validation.core.errors import (
    EXIT_INVALID,
    EXIT_VALID,
    UsageError,
    ValidationError,
)
from artifact_validation.core.filelist import load_file_list
from artifact_validation.filters.files import DEFAULT_FILTER_DIRS, load_filters
from artifact_validation.filters.matcher import Matcher
from artifact_validation.archive.report import render_markdown, render_text
from artifact_validation.archive.verdict import Verdict, verdict_for_file_list
from cli_common import ROOT, retry_policy_from_env, run_main

#: Limit flags: (flag, Limits field, parser, help).
LIMIT_FLAGS: tuple[tuple[str, str, Callable[[str], float], str], ...] = (
    ("--max-members", "max_members", int, "most archive members"),
    ("--max-member-size", "max_member_size", parse_size, "largest member, e.g. 16G"),
    ("--max-total-size", "max_total_size", parse_size, "most uncompressed bytes, e.g. 64G"),
    ("--max-ratio", "max_ratio", float, "highest uncompressed/compressed ratio"),
    ("--max-download-size", "max_download_size", parse_size, "largest download, e.g. 16G"),
    ("--max-metadata-size", "max_metadata_size", parse_size, "index.json, paths.json, names"),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", nargs="*", metavar="ARTIFACT", help="path or https URL")
    parser.add_argument(
        "--file-list",
        action="append",
        default=[],
        metavar="PATH.json",
        help="check a libcfgraph file list (JSON with 'files' and 'index'); repeatable",
    )
    parser.add_argument(
        "--filters",
        action="append",
        metavar="DIR",
        help="filter directory; repeatable; replaces the defaults "
        f"({', '.join(DEFAULT_FILTER_DIRS)})",
    )
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON on stdout")
    parser.add_argument("--md5", help="expected md5 of the artifact (one artifact only)")
    parser.add_argument("--sha256", help="expected sha256 of the artifact (one artifact only)")
    parser.add_argument("--subdir", help="the subdir the artifact is published to")
    parser.add_argument(
        "--subdir-from-path",
        action="store_true",
        help="take the subdir from each local artifact's parent directory name",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help=f"also allow downloads from HOST; repeatable (also ${ENV_ALLOWED_HOSTS})",
    )
    parser.add_argument(
        "--deep", action="store_true", help="also check every file's sha256 against paths.json"
    )
    event = parser.add_argument_group("event mode (the validate-artifact workflow, issue 5)")
    event.add_argument("--event", metavar="PATH", help="a GitHub event JSON ($GITHUB_EVENT_PATH)")
    event.add_argument("--copy", action="store_true", help="copy a valid artifact to production")
    event.add_argument("--issue-owner", default="conda-forge", help="owner of the feedstocks")
    event.add_argument("--from-owner", default="cf-staging", help="anaconda.org staging owner")
    event.add_argument("--to-owner", default="conda-forge", help="anaconda.org production owner")
    event.add_argument(
        "--report", default="validation-report.json", metavar="PATH", help="JSON report file"
    )
    defaults = Limits()
    for flag, name, kind, text in LIMIT_FLAGS:
        parser.add_argument(
            flag, type=_positive(kind), help=f"{text} (default {getattr(defaults, name)})"
        )
    args = parser.parse_args(argv)
    if args.event and (args.file_list or args.artifacts):
        parser.error("--event validates the announced artifact only: drop ARTIFACT/--file-list")
    if args.event:
        return args
    if not args.file_list and not args.artifacts:
        parser.error("give an ARTIFACT (path or URL) or --file-list")
    if (args.md5 or args.sha256) and len(args.artifacts) != 1:
        parser.error("--md5 and --sha256 need exactly one ARTIFACT")
    return args


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def convert(text: str) -> float:
        try:
            value = kind(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text!r}")
        return value

    return convert


def emit(verdicts: list[Verdict], as_json: bool, failure: int = EXIT_VALID) -> int:
    """Print the verdicts (JSON on stdout, the report on stderr) and return the exit code.

    ``failure`` is the exit code of an artifact that could not be validated
    (3); it wins over 1, and nothing turns either into 0.
    """
    for verdict in verdicts:
        print(render_text(verdict), file=sys.stderr, end="")
        append_step_summary(render_markdown(verdict), os.environ.get("GITHUB_STEP_SUMMARY"))
    if as_json:
        docs = [v.to_json() for v in verdicts]
        print(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2, sort_keys=True))
    invalid = EXIT_VALID if all(v.valid for v in verdicts) else EXIT_INVALID
    return max(invalid, failure)


def event_mode(args: argparse.Namespace) -> int:
    """``--event``: the worker of the validate-artifact workflow (README "The event")."""
    # Imported here: the worker pulls in ghapi (~0.15 s at start); ARTIFACT mode never needs it.
    from artifact_validation.worker.worker import Options, run_event_file  # noqa: PLC0415

    options = Options(
        copy=args.copy,
        issue_owner=args.issue_owner,
        from_owner=args.from_owner,
        to_owner=args.to_owner,
        report_path=Path(args.report),
    )
    dirs = args.filters or [ROOT / d for d in DEFAULT_FILTER_DIRS]
    outcome = run_event_file(
        args.event,
        options,
        os.environ,
        dirs,
        extra_hosts=args.allow_host,
        retry=retry_policy_from_env(),
    )
    for warning in outcome.event.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(outcome.render_text(), file=sys.stderr, end="")
    if args.json:
        print(json.dumps(outcome.to_json(), indent=2, sort_keys=True))
    return outcome.exit_code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.event:
        return run_main(lambda: event_mode(args))

    def body() -> int:
        dirs = args.filters or [ROOT / d for d in DEFAULT_FILTER_DIRS]
        matcher = Matcher(load_filters(dirs))
        file_lists = [load_file_list(p) for p in args.file_list]
        verdicts = [
            verdict_for_file_list(fl, matcher, source=str(p))
            for fl, p in zip(file_lists, args.file_list, strict=True)
        ]
        chosen = {n: getattr(args, n) for _, n, _, _ in LIMIT_FLAGS if getattr(args, n)}
        limits = Limits(**chosen)
        fetcher = Fetcher(
            allowed_hosts=allowed_hosts(args.allow_host, os.environ.get(ENV_ALLOWED_HOSTS)),
            max_size=limits.max_download_size,
            policy=download_policy(retry_policy_from_env().backoff),
        )
        for source in args.artifacts:  # refuse bad paths and URLs before validating any
            check_source(
                source, fetcher, subdir_from_path=args.subdir_from_path and not args.subdir
            )
        failure = EXIT_VALID
        for source in args.artifacts:
            try:
                verdict = validate_artifact(
                    source,
                    matcher=matcher,
                    expected_md5=args.md5,
                    expected_sha256=args.sha256,
                    subdir=args.subdir,
                    subdir_from_path=args.subdir_from_path,
                    deep=args.deep,
                    limits=limits,
                    fetcher=fetcher,
                )
            except UsageError:
                raise
            except ValidationError as exc:  # this artifact could not be validated: say so, go on
                verdict = Verdict(source=source, errors=[str(exc)])
                failure = max(failure, exc.exit_code)
            verdicts.append(verdict)
        return emit(verdicts, args.json, failure)

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
