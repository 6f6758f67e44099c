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
from artifact_validation.core.conda import check_subdir
from artifact_validation.core.errors import EXIT_INVALID, EXIT_UNVALIDATED, EXIT_VALID, UsageError
from artifact_validation.core.fileio import write_atomic
from artifact_validation.core.progress import Progress
from artifact_validation.filters.files import load_filters
from artifact_validation.filters.matcher import Matcher
from artifact_validation.filters.waivers import Waivers, expired_message, load_waivers, today_utc
from artifact_validation.scan.cache import FileListCache
from artifact_validation.scan.history import HISTORY_NAME, append_history, history_point
from artifact_validation.scan.keys import Shard, filters_fingerprint
from artifact_validation.scan.quarantine import QUARANTINE_AFTER
from artifact_validation.scan.report import (
    load_new_invalid,
    render_summary,
    report_new_invalid,
    summary_lines,
)
from artifact_validation.scan.scanner import ScanConfig, ScanProgress, run_merge, run_scan
from artifact_validation.scan.state import NewInvalid
from cli_common import (
    ROOT,
    add_filters_arg,
    add_scan_output_args,
    add_waivers_arg,
    filter_dirs,
    github_from_env,
    number,
    run_main,
    scan_output_paths,
    waiver_dirs,
)

#: The subcommands, for ``--help`` (the scan itself is the default).
SUBCOMMANDS = """subcommands:
  scan.py [--channel ...]     scan a channel (the default; see scan.py --help)
  scan.py merge OUT...        merge the outputs of shards 1..N into one
  scan.py report-new NEW.json open or comment on the issue listing new invalid artifacts
The mark-broken pull requests are opened by mark_broken.py."""


def _waivers(args: argparse.Namespace, known_filters: set[str] | None = None) -> Waivers:
    """The waivers, leniently: an expired one is reported (``_finish``) and not applied."""
    return load_waivers(
        waiver_dirs(args.waivers), today_utc(), known_filters=known_filters, expired_ok=True
    )


def _finish(
    summary: dict[str, object],
    entries: tuple[NewInvalid, ...],
    args: argparse.Namespace,
    *,
    waivers: Waivers,
    waived: int,
    quarantined: tuple[str, ...] = (),
) -> None:
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    expired = expired_message(waivers)
    after = getattr(args, "quarantine_after", 0)
    for line in summary_lines(
        summary, entries, waived=waived, expired=expired, quarantined=quarantined,
        quarantine_after=after,
    ):  # fmt: skip
        print(line, file=sys.stderr)
    text = render_summary(summary, entries, expired)
    append_step_summary(text, os.environ.get("GITHUB_STEP_SUMMARY"))


def _exit_code(errors: int, new: int, fail_on_new: bool) -> int:
    if errors:
        return EXIT_UNVALIDATED  # recorded in the errors file and retried next run, never clean
    return EXIT_INVALID if fail_on_new and new else EXIT_VALID


def build_scan_parser() -> argparse.ArgumentParser:
    """The command line of `scan.py --channel ...` (docs/cli.md)."""
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
        help="subdir to scan; repeatable (default: every subdir the channel publishes, "
        "from its channeldata.json)",
    )
    parser.add_argument(
        "--file-lists", type=Path, metavar="DIR", help="libcfgraph file lists tried first"
    )
    add_filters_arg(parser)
    add_waivers_arg(parser)
    add_scan_output_args(parser)
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
        "--jobs", type=number(int, minimum=1), default=16, help="parallel reads (at least 1)"
    )
    parser.add_argument(
        "--recheck-processes",
        type=number(int, minimum=1),
        default=os.cpu_count() or 1,
        metavar="N",
        help="processes that re-check cached file lists after a filter change "
        "(default: one per CPU, %(default)s here)",
    )
    parser.add_argument(
        "--quarantine-after",
        type=number(int, minimum=1),
        default=QUARANTINE_AFTER,
        metavar="N",
        help="quarantine an artifact after N failed reads in a row (default: %(default)s); "
        "it is then listed in scan_quarantine.yaml, retried weekly, and no longer an error",
    )
    parser.add_argument(
        "--checkpoint-seconds",
        type=number(float),
        default=60.0,
        help="save progress at least this often (default: %(default)s)",
    )
    return parser


def cmd_scan(argv: list[str]) -> int:
    """`scan.py --channel ...`: scan the channel incrementally (docs/cli.md "The scan")."""
    args = build_scan_parser().parse_args(argv)
    channel = Channel(args.channel, file_lists=args.file_lists, cache_dir=args.cache_dir)
    given = tuple(check_subdir(s, "--subdir") for s in args.subdir or ())
    subdirs = given or channel.subdirs()
    config = ScanConfig(
        subdirs=tuple(dict.fromkeys(subdirs)),
        shard=Shard.parse(args.shard) if args.shard else None,
        time_limit=args.time_limit,
        jobs=int(args.jobs),
        recheck_processes=int(args.recheck_processes),
        checkpoint_seconds=args.checkpoint_seconds,
        quarantine_after=int(args.quarantine_after),
    )
    filters = load_filters(filter_dirs(args.filters))
    waivers = _waivers(args, {f.name for f in filters})
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
        scan_output_paths(args),
        config,
        cache=FileListCache(args.cache_dir / "file-lists"),
        on_progress=on_progress,
        waivers=waivers,
    )
    progress.close(last.done, last.total, last.errors)
    _finish(
        summary.to_json(), summary.new_entries, args,
        waivers=waivers, waived=summary.waived, quarantined=summary.new_quarantined,
    )  # fmt: skip
    return _exit_code(summary.errors, summary.new_invalid, args.fail_on_new)


def build_merge_parser() -> argparse.ArgumentParser:
    """The command line of `scan.py merge` (docs/cli.md)."""
    parser = argparse.ArgumentParser(
        prog="scan.py merge",
        description="merge the outputs of shards 1..N (directories holding scan_state/)",
    )
    parser.add_argument("outputs", nargs="+", metavar="OUT", help="a shard's output directory")
    add_scan_output_args(parser)
    add_waivers_arg(parser)
    parser.add_argument(
        "--new-invalid",
        type=Path,
        metavar="PATH.json",
        help="write the invalid artifacts that are new since the previous --state (a JSON list)",
    )
    parser.add_argument(
        "--history",
        type=Path,
        metavar="PATH.jsonl",
        help="append one line (date, counts, new invalid artifacts) to this scan history "
        f"(scan_data/{HISTORY_NAME}; the status page charts it)",
    )
    return parser


def cmd_merge(argv: list[str]) -> int:
    """`scan.py merge OUT... --output ...`: combine shard outputs and states into one."""
    args = build_merge_parser().parse_args(argv)
    waivers = _waivers(args)
    summary = run_merge(args.outputs, scan_output_paths(args), waivers)
    if args.history:
        point = history_point(
            summary.invalid,
            [entry.artifact for entry in summary.new_entries],
            summary.errors,
            summary.complete,
        )
        append_history(args.history, point)
    if args.new_invalid:
        doc = [entry.to_json() for entry in summary.new_entries]
        write_atomic(args.new_invalid, json.dumps(doc, indent=1) + "\n")
    _finish(summary.to_json(), summary.new_entries, args, waivers=waivers, waived=summary.waived)
    return _exit_code(0, summary.new_invalid, args.fail_on_new)


def build_report_new_parser() -> argparse.ArgumentParser:
    """The command line of `scan.py report-new` (docs/cli.md)."""
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
    return parser


def cmd_report_new(argv: list[str]) -> int:
    """`scan.py report-new NEW.json`: open or comment on the one issue listing new invalid ones."""
    args = build_report_new_parser().parse_args(argv)
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
PARSERS = {"merge": build_merge_parser, "report-new": build_report_new_parser}


def build_parser(command: str = "scan") -> argparse.ArgumentParser:
    """The parser of one command: `scan` (the default), `merge` or `report-new`."""
    return PARSERS.get(command, build_scan_parser)()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in COMMANDS:
        command, rest = COMMANDS[args[0]], args[1:]
    else:
        command, rest = cmd_scan, args
    return run_main(lambda: command(rest))


if __name__ == "__main__":
    sys.exit(main())
