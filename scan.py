"""Scan a whole channel for artifacts that clobber; merge shard outputs; open mark-broken PRs.

Subcommands: (default) scan, ``merge``, ``report-new``, ``mark-broken``.
Exit codes: 0 done, 1 new invalid artifacts found (scan only with --fail-on-new), 2 bad usage
or filters, 3 could not scan.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from artifact_validation.scan import mark_broken as admin_requests
from artifact_validation.core.actions import append_step_summary
from artifact_validation.core.fileio import write_atomic
from artifact_validation.channel.channel import DEFAULT_SUBDIRS, Channel, check_subdir
from artifact_validation.core.errors import EXIT_INVALID, EXIT_UNVALIDATED, EXIT_VALID, UsageError
from artifact_validation.filters.files import DEFAULT_FILTER_DIRS, load_filters
from artifact_validation.services.github import run_url
from artifact_validation.filters.matcher import Matcher
from artifact_validation.services.ownership import DEFAULT_OUTPUTS_URL, Registry, maintainer_teams
from artifact_validation.core.progress import Progress
from artifact_validation.scan.report import load_new_invalid, render_summary, report_new_invalid
from artifact_validation.scan.state import (
    ERRORS_NAME,
    OUTPUT_NAME,
    STATE_NAME,
    FileListCache,
    OutputPaths,
    Shard,
    filters_fingerprint,
)
from artifact_validation.scan.scanner import ScanConfig, ScanProgress, run_merge, run_scan
from cli_common import ROOT, github_from_env, retry_policy_from_env, run_main


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


def _finish(
    summary: dict[str, object], entries: tuple[dict[str, object], ...], args: argparse.Namespace
) -> None:
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    counts = ", ".join(
        f"{k} {str(v).lower() if isinstance(v, bool) else v}" for k, v in summary.items()
    )
    print(f"scan: {counts}", file=sys.stderr)
    for entry in entries[:20]:
        filters = ", ".join(sorted(entry["violations"]))  # type: ignore[call-overload]
        print(f"  new invalid: {entry['artifact']} ({filters})", file=sys.stderr)
    if len(entries) > 20:
        print(f"  ... and {len(entries) - 20} more", file=sys.stderr)
    append_step_summary(render_summary(summary, entries), os.environ.get("GITHUB_STEP_SUMMARY"))


def _exit_code(errors: int, new: int, fail_on_new: bool) -> int:
    if errors:
        return EXIT_UNVALIDATED  # recorded in the errors file and retried next run, never clean
    return EXIT_INVALID if fail_on_new and new else EXIT_VALID


def _positive(kind: type, text: str) -> float:
    value = kind(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, not {text}")
    return value


def cmd_scan(argv: list[str]) -> int:
    """`scan.py --channel ...`: scan the channel incrementally (README "The scan")."""
    parser = argparse.ArgumentParser(
        prog="scan.py",
        description="scan a channel for artifacts that clobber; incremental, resumable, sharded",
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
    parser.add_argument(
        "--filters",
        action="append",
        metavar="DIR",
        type=Path,
        help=f"filter directory; repeatable (default: {', '.join(DEFAULT_FILTER_DIRS)})",
    )
    _add_output_args(parser)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=ROOT / ".scan_cache",
        help="file-list and repodata cache (default: %(default)s)",
    )
    parser.add_argument(
        "--time-limit",
        type=lambda t: _positive(float, t),
        metavar="SECONDS",
        help="stop cleanly before this many seconds, save, exit 0 with complete false",
    )
    parser.add_argument("--shard", metavar="I/N", help="scan only shard I of N (1 <= I <= N)")
    parser.add_argument(
        "--jobs", type=lambda t: int(_positive(int, t)) or 1, default=8, help="parallel reads"
    )
    parser.add_argument(
        "--checkpoint-seconds",
        type=lambda t: _positive(float, t),
        default=60.0,
        help="save progress at least this often (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    subdirs = tuple(check_subdir(s) for s in (args.subdir or DEFAULT_SUBDIRS))
    config = ScanConfig(
        subdirs=tuple(dict.fromkeys(subdirs)),
        shard=Shard.parse(args.shard) if args.shard else None,
        time_limit=args.time_limit,
        jobs=args.jobs,
        checkpoint_seconds=args.checkpoint_seconds,
    )
    filters = load_filters(args.filters or [ROOT / d for d in DEFAULT_FILTER_DIRS])
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
    )
    progress.close(last.done, last.total, last.errors)
    _finish(summary.to_json(), summary.new_entries, args)
    return _exit_code(summary.errors, summary.new_invalid, args.fail_on_new)


def cmd_merge(argv: list[str]) -> int:
    """`scan.py merge OUT... --output ...`: combine shard outputs and states into one."""
    parser = argparse.ArgumentParser(
        prog="scan.py merge",
        description="merge the outputs of shards 1..N (directories holding scan_state.json)",
    )
    parser.add_argument("outputs", nargs="+", metavar="OUT", help="a shard's output directory")
    _add_output_args(parser)
    parser.add_argument(
        "--new-invalid",
        type=Path,
        metavar="PATH.json",
        help="write the invalid artifacts that are new since the previous --state (a JSON list)",
    )
    args = parser.parse_args(argv)
    summary = run_merge(args.outputs, _output_paths(args))
    if args.new_invalid:
        write_atomic(args.new_invalid, json.dumps(list(summary.new_entries), indent=1) + "\n")
    _finish(summary.to_json(), summary.new_entries, args)
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
    env = os.environ
    repo = args.repo or env.get("GITHUB_REPOSITORY", "")
    if not repo:
        raise UsageError("give --repo or set $GITHUB_REPOSITORY")
    run_id = env.get("GITHUB_RUN_ID", "")
    link = ""
    if env.get("GITHUB_REPOSITORY") and run_id.isdigit():
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        link = run_url(server, env["GITHUB_REPOSITORY"], run_id)
    number, created = report_new_invalid(github_from_env(), repo, entries, link)  # type: ignore[misc]
    verb = "opened" if created else "commented on"
    print(f"report-new: {verb} issue #{number} on {repo} ({len(entries)} new)", file=sys.stderr)
    return EXIT_VALID


def cmd_mark_broken(argv: list[str]) -> int:
    """`scan.py mark-broken`: open admin-requests PRs for invalid artifacts not yet recorded."""
    parser = argparse.ArgumentParser(
        prog="scan.py mark-broken",
        description="open one admin-requests pull request per package name with new invalid "
        "artifacts, and record each PR in the PR file",
    )
    parser.add_argument("--invalid", type=Path, default=ROOT / "scan_data/invalid_packages.yaml")
    parser.add_argument("--prs", type=Path, default=ROOT / "scan_data/invalid_packages_prs.yaml")
    parser.add_argument("--max-prs", type=int, default=10, help="at most this many PRs per run")
    parser.add_argument("--dry-run", action="store_true", help="print the PRs, change nothing")
    parser.add_argument("--repo", default="conda-forge/admin-requests")
    parser.add_argument("--filters", action="append", metavar="DIR", type=Path)
    args = parser.parse_args(argv)
    if args.max_prs < 0:
        parser.error("--max-prs must be >= 0")

    invalid = admin_requests.load_invalid(args.invalid)
    recorded = admin_requests.load_recorded(args.prs)
    filters = load_filters(args.filters or [ROOT / d for d in DEFAULT_FILTER_DIRS])
    owners = {f.name: sorted(f.allowed) for f in filters}
    plan = admin_requests.plan_requests(invalid, recorded)
    registry = Registry(
        os.environ.get("FEEDSTOCK_OUTPUTS_URL") or DEFAULT_OUTPUTS_URL,
        retry=retry_policy_from_env(),
    )

    def record(request: admin_requests.BrokenRequest, pull: dict[str, object]) -> None:
        for artifact in request.artifacts:
            recorded[artifact] = dict(pull)
        admin_requests.save_recorded(args.prs, recorded)

    result = admin_requests.mark_broken(
        plan,
        None if args.dry_run else github_from_env(),
        args.repo,
        owners=owners,
        team_for=lambda name: maintainer_teams(registry, name),
        record=record,
        max_prs=args.max_prs,
        dry_run=args.dry_run,
    )
    verb = "would open" if args.dry_run else "opened"
    for request in result.opened:
        print(f"{verb}: {args.repo} {request.branch}: {request.title}", file=sys.stderr)
        if args.dry_run:
            print(f"  {request.path}:", file=sys.stderr)
            print("    " + request.file_content().replace("\n", "\n    ").rstrip(), file=sys.stderr)
    for request in result.adopted:
        print(f"recorded existing PR for branch {request.branch}", file=sys.stderr)
    for request in result.skipped:
        print(f"skipped: branch {request.branch} exists without an open PR", file=sys.stderr)
    if result.deferred:
        print(
            f"deferred to the next run (--max-prs {args.max_prs}): "
            f"{len(result.deferred)} package(s)",
            file=sys.stderr,
        )
    return EXIT_VALID


COMMANDS = {"merge": cmd_merge, "report-new": cmd_report_new, "mark-broken": cmd_mark_broken}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in COMMANDS:
        command, rest = COMMANDS[args[0]], args[1:]
    else:
        command, rest = cmd_scan, args
    return run_main(lambda: command(rest))


if __name__ == "__main__":
    sys.exit(main())
