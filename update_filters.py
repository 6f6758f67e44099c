"""Regenerate generated_validate_yamls/ from owners' file lists (a dir or a channel) and imports.

Exit codes: 0 done (or, with --check, already up to date), 1 --check found files that would
change, 2 bad usage / input / filters, 3 could not generate (a source failed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from artifact_validation.channel.channel import Channel
from artifact_validation.channel.sources import ChannelFileLists
from artifact_validation.core.actions import append_step_summary
from artifact_validation.core.conda import check_subdir
from artifact_validation.core.errors import EXIT_INVALID, EXIT_VALID
from artifact_validation.core.fileio import write_atomic
from artifact_validation.filters.files import GENERATOR_CONFIG_NAME, load_filters
from artifact_validation.filters.generate.config import load_imported, load_python_config
from artifact_validation.filters.generate.engine import generate
from artifact_validation.filters.generate.output import render_summary, write_generated
from artifact_validation.filters.generate.rules import MIN_SHARE
from artifact_validation.filters.generate.sources import (
    CombinedSource,
    DirectorySource,
    FileListSource,
    owner_names,
)
from cli_common import ROOT, number, run_main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (args.file_lists or args.channel or args.imports):
        parser.error("give at least one source: --file-lists DIR, --channel URL or --import DIR")
    return args


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``docs`` checks its examples against it)."""
    parser = argparse.ArgumentParser(prog="update_filters.py", description=__doc__.splitlines()[0])
    src = parser.add_argument_group("sources (at least one)")
    src.add_argument(
        "--file-lists",
        action="append",
        default=[],
        metavar="DIR",
        help="owners' file lists: DIR/artifacts/<name>/<channel>/<subdir>/<stem>.json "
        "(libcfgraph) or DIR/<subdir>/<stem>.json; repeatable",
    )
    src.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="URL",
        help="a live channel (https:// URL or directory): the owners' artifacts listed in its "
        "repodata, each file list read from the artifact's info part; repeatable",
    )
    src.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="DIR",
        help="another validator's generated filters (*.generated.yaml), passed through the "
        "same precision rules; repeatable",
    )
    parser.add_argument(
        "--subdir",
        action="append",
        metavar="SUBDIR",
        help="subdirs a --channel is read for; repeatable (default: every subdir it publishes)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "generated_validate_yamls",
        metavar="DIR",
        help="where generated filters go (default: generated_validate_yamls/)",
    )
    parser.add_argument(
        "--hand-written",
        type=Path,
        default=ROOT / "validate_yamls",
        metavar="DIR",
        help="hand-written filters, read for generate_from_artifacts (default: validate_yamls/)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"Python-package generator config (default: OUTPUT/{GENERATOR_CONFIG_NAME})",
    )
    parser.add_argument(
        "--min-share",
        type=number(float, inclusive=False, maximum=1.0),
        default=MIN_SHARE,
        help="keep a path shipped by at least this share of an owner's artifacts of one "
        f"subdir (default {MIN_SHARE})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when a generated file would change",
    )
    parser.add_argument(
        "--summary-file",
        type=Path,
        metavar="FILE",
        help="also write the change summary to FILE (the workflow's commit message)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        hand_written = load_filters([args.hand_written])
        python = load_python_config(args.config or args.output / GENERATOR_CONFIG_NAME)
        imported = [flt for d in args.imports for flt in load_imported(d)]
        sources: list[FileListSource] = [DirectorySource(d) for d in args.file_lists]
        given = tuple(check_subdir(s, "--subdir") for s in args.subdir or ())
        owners = owner_names(hand_written, python)
        for url in args.channel:
            channel = Channel(url)
            sources.append(ChannelFileLists(channel, owners, given or channel.subdirs()))
        source = CombinedSource(sources) if sources else None
        generation = generate(hand_written, python, source, imported, args.min_share)
        changes = write_generated(generation.filters, args.output, dry_run=args.check)
        summary = render_summary(changes, generation, args.output, dry_run=args.check)
        print(summary, file=sys.stderr, end="")
        if args.summary_file:
            write_atomic(args.summary_file, summary)
        append_step_summary(f"```\n{summary}```\n", os.environ.get("GITHUB_STEP_SUMMARY"))
        if args.check and any(c.kind != "unchanged" for c in changes):
            return EXIT_INVALID
        return EXIT_VALID

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
