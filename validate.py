"""Validate conda artifacts or their file lists against the clobbering filters.

Exit codes: 0 valid, 1 invalid (findings), 2 bad usage / input / filters, 3 could not validate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from artifact_validation.actions import append_step_summary
from artifact_validation.errors import EXIT_INVALID, EXIT_VALID
from artifact_validation.filelist import load_file_list
from artifact_validation.filters import DEFAULT_FILTER_DIRS, load_filters
from artifact_validation.matcher import Matcher
from artifact_validation.report import render_markdown, render_text
from artifact_validation.verdict import Verdict, verdict_for_file_list
from cli_common import ROOT, run_main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    args = parser.parse_args(argv)
    if not args.file_list:
        parser.error("give at least one --file-list")
    return args


def emit(verdicts: list[Verdict], as_json: bool) -> int:
    """Print the verdicts (JSON on stdout, the report on stderr) and return the exit code."""
    for verdict in verdicts:
        print(render_text(verdict), file=sys.stderr, end="")
        append_step_summary(render_markdown(verdict), os.environ.get("GITHUB_STEP_SUMMARY"))
    if as_json:
        docs = [v.to_json() for v in verdicts]
        print(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2, sort_keys=True))
    return EXIT_VALID if all(v.valid for v in verdicts) else EXIT_INVALID


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        dirs = args.filters or [ROOT / d for d in DEFAULT_FILTER_DIRS]
        matcher = Matcher(load_filters(dirs))
        file_lists = [load_file_list(p) for p in args.file_list]
        verdicts = [
            verdict_for_file_list(fl, matcher, source=str(p))
            for fl, p in zip(file_lists, args.file_list, strict=True)
        ]
        return emit(verdicts, args.json)

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
