"""Validate conda artifacts or their file lists against the checks and the clobbering filters.

Exit codes: 0 valid, 1 invalid (findings), 2 bad usage / input / filters, 3 could not validate.
The dispatch worker of the validate-artifact workflow is ``validate_event.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from artifact_validation.archive.report import render_markdown, render_text
from artifact_validation.archive.sarif import sarif_log
from artifact_validation.archive.validate import check_source, validate_artifact
from artifact_validation.archive.verdict import Verdict, verdict_for_file_list
from artifact_validation.core.actions import append_step_summary
from artifact_validation.core.conda import parse_size
from artifact_validation.core.errors import EXIT_INVALID, EXIT_VALID, UsageError, ValidationError
from artifact_validation.core.fileio import write_atomic
from artifact_validation.core.filelist import load_file_list
from artifact_validation.core.findings import DocsLink
from artifact_validation.core.limits import Limits
from artifact_validation.filters.files import load_filters
from artifact_validation.filters.matcher import Matcher
from artifact_validation.filters.waivers import load_waivers, today_utc
from artifact_validation.services.download import (
    DEFAULT_DEADLINE,
    ENV_ALLOWED_HOSTS,
    Fetcher,
    allowed_hosts,
)
from artifact_validation.services.retry import download_policy
from cli_common import (
    add_allow_host_arg,
    add_download_deadline_arg,
    add_filters_arg,
    add_waivers_arg,
    docs_link_from_env,
    filter_dirs,
    number,
    retry_policy_from_env,
    run_main,
    waiver_dirs,
)

#: Limit flags: (flag, Limits field, parser, help).
LIMIT_FLAGS: tuple[tuple[str, str, Callable[[str], float], str], ...] = (
    ("--max-members", "max_members", int, "most archive members"),
    ("--max-member-size", "max_member_size", parse_size, "largest member, e.g. 16G"),
    ("--max-total-size", "max_total_size", parse_size, "most uncompressed bytes, e.g. 64G"),
    ("--max-ratio", "max_ratio", float, "highest uncompressed/compressed ratio"),
    ("--max-download-size", "max_download_size", parse_size, "largest download, e.g. 16G"),
    ("--max-metadata-size", "max_metadata_size", parse_size, "index.json, paths.json, names"),
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``docs`` checks its examples against it)."""
    parser = argparse.ArgumentParser(prog="validate.py", description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", nargs="*", metavar="ARTIFACT", help="path or https URL")
    parser.add_argument(
        "--file-list",
        action="append",
        default=[],
        metavar="PATH.json",
        help="check a libcfgraph file list (JSON with 'files' and 'index'); repeatable",
    )
    add_filters_arg(parser)
    add_waivers_arg(parser)
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON on stdout")
    parser.add_argument(
        "--sarif",
        metavar="FILE",
        help="also write the verdicts as SARIF 2.1.0 to FILE (for code scanning)",
    )
    parser.add_argument("--md5", help="expected md5 of the artifact (one artifact only)")
    parser.add_argument("--sha256", help="expected sha256 of the artifact (one artifact only)")
    parser.add_argument("--subdir", help="the subdir the artifact is published to")
    parser.add_argument(
        "--subdir-from-path",
        action="store_true",
        help="take the subdir from each local artifact's parent directory name",
    )
    add_allow_host_arg(parser)
    add_download_deadline_arg(parser, DEFAULT_DEADLINE)
    parser.add_argument(
        "--deep", action="store_true", help="also check every file's sha256 against paths.json"
    )
    defaults = Limits()
    for flag, name, kind, text in LIMIT_FLAGS:
        parser.add_argument(
            flag,
            type=number(kind, inclusive=False),
            help=f"{text} (default {getattr(defaults, name)})",
        )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.file_list and not args.artifacts:
        parser.error("give an ARTIFACT (path or URL) or --file-list")
    if (args.md5 or args.sha256) and len(args.artifacts) != 1:
        parser.error("--md5 and --sha256 need exactly one ARTIFACT")
    if args.sarif is not None:
        sarif = Path(args.sarif)
        if not args.sarif or sarif.is_dir() or not sarif.absolute().parent.is_dir():
            parser.error(f"--sarif {args.sarif!r}: not a file in an existing directory")
    return args


def emit(
    verdicts: list[Verdict],
    as_json: bool,
    failure: int = EXIT_VALID,
    *,
    sarif: str | None = None,
    docs: DocsLink | None = None,
) -> int:
    """Print the verdicts (JSON on stdout, the report on stderr) and return the exit code.

    ``failure`` is the exit code of an artifact that could not be validated
    (3); it wins over 1, and nothing turns either into 0. ``sarif``: also
    write them as SARIF to that file (atomically).
    """
    links = docs or DocsLink()
    for verdict in verdicts:
        print(render_text(verdict, links), file=sys.stderr, end="")
        append_step_summary(
            render_markdown(verdict, docs=links), os.environ.get("GITHUB_STEP_SUMMARY")
        )
    if sarif:
        log = sarif_log(verdicts, links)
        write_atomic(sarif, json.dumps(log, indent=2, sort_keys=True) + "\n")
    if as_json:
        reports = [v.to_json() for v in verdicts]
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2, sort_keys=True))
    invalid = EXIT_VALID if all(v.valid for v in verdicts) else EXIT_INVALID
    return max(invalid, failure)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        docs = docs_link_from_env(os.environ)
        filters = load_filters(filter_dirs(args.filters))
        matcher = Matcher(filters)
        waivers = load_waivers(
            waiver_dirs(args.waivers), today_utc(), known_filters={f.name for f in filters}
        )
        file_lists = [load_file_list(p) for p in args.file_list]
        verdicts = [
            verdict_for_file_list(fl, matcher, source=str(p), waivers=waivers)
            for fl, p in zip(file_lists, args.file_list, strict=True)
        ]
        chosen = {n: getattr(args, n) for _, n, _, _ in LIMIT_FLAGS if getattr(args, n)}
        limits = Limits(**chosen)
        fetcher = Fetcher(
            allowed_hosts=allowed_hosts(args.allow_host, os.environ.get(ENV_ALLOWED_HOSTS)),
            max_size=limits.max_download_size,
            deadline=args.download_deadline,
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
                    waivers=waivers,
                )
            except UsageError:
                raise
            except ValidationError as exc:  # this artifact could not be validated: say so, go on
                verdict = Verdict(source=source, errors=[str(exc)])
                failure = max(failure, exc.exit_code)
            verdicts.append(verdict)
        return emit(verdicts, args.json, failure, sarif=args.sarif, docs=docs)

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
