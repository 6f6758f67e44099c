"""Scan a whole channel for artifacts that clobber; merge shard outputs; open mark-broken PRs.

Subcommands: (default) scan, ``merge``, ``report-new`` (``mark_broken.py`` opens the PRs).
Exit codes: 0 done, 1 new invalid artifacts found (scan only with --fail-on-new), 2 bad usage
or filters, 3 could not scan.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from artifact_validation.channel.channel import Channel
from artifact_validation.core.actions import append_step_summary
from artifact_validation.core.conda import DEFAULT_SUBDIRS, check_subdir
from artifact_validation.core.errors import EXIT_INVALID, EXIT_UNVALIDATED, EXIT_VALID, UsageError
from artifact_validation.core.fileio import write_atomic
from artifact_validation.core.markdown import md_text
from artifact_validation.core.progress import Progress
from artifact_validation.filters.files import load_filters
from artifact_validation.filters.matcher import Matcher
from artifact_validation.filters.waivers import Waivers, expired_message, load_waivers, today_utc
from artifact_validation.scan.cache import FileListCache
from artifact_validation.scan.keys import Shard, filters_fingerprint
from artifact_validation.scan.report import load_new_invalid, render_summary, report_new_invalid
from artifact_validation.scan.scanner import ScanConfig, ScanProgress, run_merge, run_scan
from artifact_validation.scan.state import (
    ERRORS_NAME,
    OUTPUT_NAME,
    STATE_NAME,
    NewInvalid,
    OutputPaths,
)
from cli_common import (
    ROOT,
    add_filters_arg,
    add_waivers_arg,
    filter_dirs,
    github_from_env,
    number,
    run_main,
    waiver_dirs,
)

#: The subcommands, for ``--help`` (the scan itself is the default).
SUBCOMMANDS = """subcommands:
  scan.py [--channel ...]     scan a channel (the default; see scan.py --help)
  scan.py merge OUT...        merge the outputs of shards 1..N into one
  scan.py report-new NEW.json open or comment on the issue listing new invalid artifacts
The mark-broken pull requests are opened by mark_broken.py."""


def _add_output_args(parser: argparse.ArgumentParser) -> None:
    data = ROOT / "scan_data"
    parser.add_argument(
        "--output",
        type=Path,
        default=data / OUTPUT_NAME,
        help="invalid artifacts, YAML {name: {subdir/file: {filter: [paths]}}} "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        help=f"scan state, read and written (default: {STATE_NAME} beside --output)",
    )
    parser.add_argument(
        "--errors",
        type=Path,
        help=f"per-artifact errors, YAML (default: {ERRORS_NAME} beside --output)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    parser.add_argument(
        "--fail-on-new", action="store_true", help="exit 1 when new invalid artifacts were found"
    )


def _output_paths(args: argparse.Namespace) -> OutputPaths:
    return OutputPaths(
        state=args.state or args.output.with_name(STATE_NAME),
        output=args.output,
        errors=args.errors or args.output.with_name(ERRORS_NAME),
    )


def _waivers(args: argparse.Namespace, known_filters: set[str] | None = None) -> Waivers:
    """The waivers, leniently: an expired one is reported (``_finish``) and not applied."""
    return load_waivers(
        waiver_dirs(args.waivers), today_utc(), known_filters=known_filters, expired_ok=True
    )


def _finish(
    summary: dict[str, object],
    entries: tuple[NewInvalid, ...],
    args: argparse.Namespace,
    waivers: Waivers | None = None,
    waived: int = 0,
) -> None:
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    counts = ", ".join(
        f"{k} {str(v).lower() if isinstance(v, bool) else v}" for k, v in summary.items()
    )
    print(f"scan: {counts}", file=sys.stderr)
    for entry in entries[:20]:
        filters = ", ".join(f for f, _ in entry.violations)
        print(f"  new invalid: {entry.artifact} ({filters})", file=sys.stderr)
    if len(entries) > 20:
        print(f"  ... and {len(entries) - 20} more", file=sys.stderr)
    if waived:
        print(f"  waived: {waived} file(s) not in the output (docs/waivers.md)", file=sys.stderr)
    expired = expired_message(waivers) if waivers is not None else []
    for line in expired:
        print(f"  {line}", file=sys.stderr)
    text = render_summary(summary, entries)
    if expired:
        text += "\n**Expired waivers** (not applied):\n\n" + "".join(
            f"- {md_text(line)}\n" for line in expired
        )
    append_step_summary(text, os.environ.get("GITHUB_STEP_SUMMARY"))


def _exit_code(errors: int, new: int, fail_on_new: bool) -> int:
    if errors:
        return EXIT_UNVALIDATED  # recorded in the errors file and retried next run, never clean
    return EXIT_INVALID if fail_on_new and new else EXIT_VALID


def cmd_scan(argv: list[str]) -> int:
    """`scan.py --channel ...`: scan the channel incrementally (README "The scan")."""
    parser = argparse.ArgumentParser(
        prog="scan.py",
        description="scan a channel for artifacts that clobber; incremental, resumable, sharded",
        epilog=SUBCOMMANDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--channel", required=True, help="channel directory or https:// URL")
    parser.add_argument(
        "--subdir",
        action="append",
        metavar="S",
        help=f"subdir to scan; repeatable (default: {', '.join(DEFAULT_SUBDIRS)})",
    )
    parser.add_argument(
        "--file-lists", type=Path, metavar="DIR", help="libcfgraph file lists tried first"
    )
    add_filters_arg(parser)
    add_waivers_arg(parser)
    _add_output_args(parser)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=ROOT / ".scan_cache",
        help="file-list and repodata cache (default: %(default)s)",
    )
    parser.add_argument(
        "--time-limit",
        type=number(float),
        metavar="SECONDS",
        help="stop cleanly before this many seconds, save, exit 0 with complete false",
    )
    parser.add_argument("--shard", metavar="I/N", help="scan only shard I of N (1 <= I <= N)")
    parser.add_argument(
        "--jobs", type=number(int, minimum=1), default=8, help="parallel reads (at least 1)"
    )
    parser.add_argument(
        "--checkpoint-seconds",
        type=number(float),
        default=60.0,
        help="save progress at least this often (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    subdirs = tuple(check_subdir(s, "--subdir") for s in (args.subdir or DEFAULT_SUBDIRS))
    config = ScanConfig(
        subdirs=tuple(dict.fromkeys(subdirs)),
        shard=Shard.parse(args.shard) if args.shard else None,
        time_limit=args.time_limit,
        jobs=int(args.jobs),
        checkpoint_seconds=args.checkpoint_seconds,
    )
    filters = load_filters(filter_dirs(args.filters))
    waivers = _waivers(args, {f.name for f in filters})
    channel = Channel(args.channel, file_lists=args.file_lists, cache_dir=args.cache_dir)
    progress = Progress(sys.stderr, "scan")
    last = ScanProgress(0, 0, 0, 0.0)

    def on_progress(update: ScanProgress) -> None:
        nonlocal last
        last = update
        progress(update.done, update.total, update.errors)

    summary = run_scan(
        channel,
        Matcher(filters),
        filters_fingerprint(filters),
        _output_paths(args),
        config,
        cache=FileListCache(args.cache_dir / "file-lists"),
        on_progress=on_progress,
        waivers=waivers,
    )
    progress.close(last.done, last.total, last.errors)
    _finish(summary.to_json(), summary.new_entries, args, waivers, summary.waived)
    return _exit_code(summary.errors, summary.new_invalid, args.fail_on_new)


def cmd_merge(argv: list[str]) -> int:
    """`scan.py merge OUT... --output ...`: combine shard outputs and states into one."""
    parser = argparse.ArgumentParser(
        prog="scan.py merge",
        description="merge the outputs of shards 1..N (directories holding scan_state.json)",
    )
    parser.add_argument("outputs", nargs="+", metavar="OUT", help="a shard's output directory")
    _add_output_args(parser)
    add_waivers_arg(parser)
    parser.add_argument(
        "--new-invalid",
        type=Path,
        metavar="PATH.json",
        help="write the invalid artifacts that are new since the previous --state (a JSON list)",
    )
    args = parser.parse_args(argv)
    waivers = _waivers(args)
    summary = run_merge(args.outputs, _output_paths(args), waivers)
    if args.new_invalid:
        doc = [entry.to_json() for entry in summary.new_entries]
        write_atomic(args.new_invalid, json.dumps(doc, indent=1) + "\n")
    _finish(summary.to_json(), summary.new_entries, args, waivers, summary.waived)
    return _exit_code(0, summary.new_invalid, args.fail_on_new)


def cmd_report_new(argv: list[str]) -> int:
    """`scan.py report-new NEW.json`: open or comment on the one issue listing new invalid ones."""
    parser = argparse.ArgumentParser(
        prog="scan.py report-new",
        description="open (or comment on) the one issue listing new invalid artifacts, with the "
        "run link; reads GITHUB_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_SERVER_URL, "
        "GITHUB_RUN_ID",
    )
    parser.add_argument(
        "new_invalid", type=Path, metavar="NEW.json", help="from merge --new-invalid"
    )
    parser.add_argument("--repo", help="owner/name (default: $GITHUB_REPOSITORY)")
    args = parser.parse_args(argv)
    entries = load_new_invalid(args.new_invalid)
    if not entries:
        print("report-new: no new invalid artifacts; nothing to report", file=sys.stderr)
        return EXIT_VALID
    from artifact_validation.services.run import RunContext  # noqa: PLC0415 - ghapi is slow

    run = RunContext.from_env(os.environ)
    repo = args.repo or run.repository
    if not repo:
        raise UsageError("give --repo or set $GITHUB_REPOSITORY")
    number, created = report_new_invalid(github_from_env(), repo, entries, run.run_link)
    verb = "opened" if created else "commented on"
    print(f"report-new: {verb} issue #{number} on {repo} ({len(entries)} new)", file=sys.stderr)
    return EXIT_VALID


COMMANDS = {"merge": cmd_merge, "report-new": cmd_report_new}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in COMMANDS:
        command, rest = COMMANDS[args[0]], args[1:]
    else:
        command, rest = cmd_scan, args
    return run_main(lambda: command(rest))


if __name__ == "__main__":
    sys.exit(main())
