"""The channel scan: incremental, resumable and sharded; each build checked once per filter set.

``run_scan`` lists the selected subdirs, then, for every build of the shard:

1. known under the current filter fingerprint: skipped (``skipped_known``);
2. known under older filters and in the file-list cache: re-checked from the
   cache, nothing downloaded;
3. otherwise its file list is read (``Channel.file_list``: the file-list
   directory, else the artifact, several at a time) and checked.

Progress is saved every ``checkpoint_seconds`` and at the end (cache segment,
then state, then outputs; see ``state.save``), so a run killed at any
moment and run again ends with the same outputs as one uninterrupted run.
With a ``time_limit`` the run stops cleanly before it and reports
``complete: false``; the next run resumes. An artifact that cannot be read is
recorded in the errors (never as clean) and retried by the next run.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from artifact_validation.channel.channel import Channel
from artifact_validation.channel.repodata import Artifact
from artifact_validation.core.conda import DEFAULT_SUBDIRS
from artifact_validation.core.errors import Cancelled, UsageError, ValidationError
from artifact_validation.core.filelist import FileList
from artifact_validation.filters.matcher import Matcher, Violation
from artifact_validation.filters.waivers import Waivers
from artifact_validation.scan.cache import FileListCache
from artifact_validation.scan.keys import Shard, stem_of_key
from artifact_validation.scan.merge import merge_states, new_invalid
from artifact_validation.scan.quarantine import QUARANTINE_AFTER
from artifact_validation.scan.recheck import check_cached, usable_processes
from artifact_validation.scan.state import (
    LEGACY_STATE_NAME,
    STATE_NAME,
    InvalidEntry,
    NewInvalid,
    OutputPaths,
    ScanState,
    reason,
    remove_leftovers,
)
from artifact_validation.scan.statedir import load_state, save


@dataclass(frozen=True)
class ScanConfig:
    """What to scan and how; every field has the CLI's default."""

    subdirs: tuple[str, ...] = DEFAULT_SUBDIRS
    shard: Shard | None = None
    #: seconds from the start of the run; None for no limit
    time_limit: float | None = None
    #: artifacts read at the same time (network reads only; file lists on disk are inline)
    jobs: int = 16
    #: processes that re-check stale builds from the file-list cache (``recheck``; one per
    #: CPU at most, and only from ``recheck.MIN_PARALLEL`` builds on); 1: in this process
    recheck_processes: int = 1
    #: seconds between two saves of progress
    checkpoint_seconds: float = 60.0
    #: failed reads in a row before an artifact is quarantined (``quarantine``)
    quarantine_after: int = QUARANTINE_AFTER


@dataclass(frozen=True)
class ScanProgress:
    """Where a running scan is, for a progress display (the library never prints it)."""

    done: int
    total: int
    errors: int
    elapsed: float


def _counts(summary: Any) -> dict[str, Any]:
    """A summary dataclass as its JSON contract: every field but ``new_entries`` and ``waived``.

    ``waived`` stays out so the ``--json`` keys do not change; ``scan.py`` prints it.

    ``fields`` rather than ``asdict``: asdict would deep-copy the (possibly long) list first.
    """
    return {f.name: getattr(summary, f.name) for f in fields(summary) if f.name not in _NOT_COUNTED}


_NOT_COUNTED = ("new_entries", "waived", "new_quarantined")


@dataclass(frozen=True)
class ScanSummary:
    """What a run did; ``to_json`` is the stable ``--json`` contract."""

    scanned: int
    skipped_known: int
    invalid: int
    new_invalid: int
    errors: int
    complete: bool
    #: the new invalid files, as ``merge.new_invalid`` lists them
    new_entries: tuple[NewInvalid, ...] = ()
    #: files quarantined (not errors), and those that entered the quarantine in this run
    quarantined: int = 0
    new_quarantined: tuple[str, ...] = ()
    #: files whose violations are (some or all) waived
    waived: int = 0

    def to_json(self) -> dict[str, Any]:
        """``{"scanned", "skipped_known", "invalid", "new_invalid", "errors", "complete",
        "quarantined"}``."""
        return _counts(self)


def time_reserve(limit: float) -> float:
    """Seconds kept free before the time limit to finish reads in flight and save."""
    return min(120.0, max(0.05, limit * 0.1))


class _Run:
    """One scan run's mutable parts; ``run_scan`` is the public face."""

    def __init__(
        self,
        channel: Channel,
        *,
        matcher: Matcher,
        fingerprint: str,
        paths: OutputPaths,
        config: ScanConfig,
        cache: FileListCache | None,
        clock: Callable[[], float],
        on_progress: Callable[[ScanProgress], None] | None,
    ) -> None:
        self.channel = channel
        self.matcher = matcher
        self.fingerprint = fingerprint
        self.paths = paths
        self.config = config
        self.cache = cache
        self.clock = clock
        self.on_progress = on_progress
        self.start = clock()
        self.stop = threading.Event()
        self.state = ScanState()
        self.now = datetime.now(UTC)
        self.new_quarantined: list[str] = []
        self.scanned = 0
        self.done = 0
        self.total = 0
        self.last_save = self.start
        limit = config.time_limit
        self.soft_deadline = None if limit is None else self.start + limit - time_reserve(limit)

    # ---- bookkeeping

    def out_of_time(self) -> bool:
        if self.soft_deadline is not None and self.clock() >= self.soft_deadline:
            self.stop.set()
        return self.stop.is_set()

    def tick(self) -> None:
        self.done += 1
        if self.on_progress is not None:
            elapsed = self.clock() - self.start
            self.on_progress(ScanProgress(self.done, self.total, len(self.state.errors), elapsed))
        if self.clock() - self.last_save >= self.config.checkpoint_seconds:
            self.checkpoint()

    def checkpoint(self) -> None:
        if self.cache is not None:
            self.cache.flush()
        save(self.state, self.paths)
        self.last_save = self.clock()

    def record(self, artifact: Artifact, paths: tuple[str, ...], cache_it: bool) -> None:
        violations = self.matcher.check(artifact.name, artifact.subdir, paths)
        if cache_it and self.cache is not None:
            self.cache.add(artifact.key, artifact.name, paths)
        self.record_checked(artifact, violations)

    def record_checked(self, artifact: Artifact, violations: list[Violation]) -> None:
        state = self.state
        state.scanned[artifact.key] = self.fingerprint
        if violations:
            state.invalid[artifact.key] = InvalidEntry.from_violations(
                artifact.name, artifact.filenames, violations
            )
        else:
            state.invalid.pop(artifact.key, None)
        state.cleared(artifact.file_keys)
        self.scanned += 1
        self.tick()

    def record_error(self, artifact: Artifact, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, ValidationError) else f"unexpected failure: {exc!r}"
        main = f"{artifact.subdir}/{artifact.filename}"
        for file_key in artifact.file_keys:
            if file_key != main:
                self.state.errors.pop(file_key, None)
        self.failed(main, reason(text))
        self.tick()

    def failed(self, file_key: str, why: str) -> None:
        if self.state.fail(file_key, why, self.now, self.config.quarantine_after):
            self.new_quarantined.append(file_key)

    # ---- phases

    def recheck_from_cache(self, units: dict[str, Artifact], keys: set[str]) -> set[str]:
        """Re-check ``keys`` from the cache; return those it did not hold."""
        if self.cache is None or not keys:
            return keys
        left = set(keys)
        wanted = {key: units[key].subdir for key in keys}
        processes = usable_processes(self.config.recheck_processes, len(keys))
        checked = check_cached(
            self.cache, self.matcher, wanted, processes, out_of_time=self.out_of_time
        )
        for key, name, violations in checked:
            artifact = units[key]
            if name != artifact.name or key not in left:  # (two segments may hold a key)
                continue
            left.discard(key)
            self.record_checked(artifact, violations)
        return left

    def read_all(self, artifacts: list[Artifact]) -> None:
        """Read and check ``artifacts``: file lists on disk inline, artifacts in a thread pool."""
        queue = deque(artifacts)
        jobs = max(1, self.config.jobs)
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="scan") as pool:
            inflight: dict[Future[FileList], Artifact] = {}
            while queue or inflight:
                while queue and len(inflight) < 2 * jobs and not self.out_of_time():
                    artifact = queue.popleft()
                    try:
                        local = self.channel.local_file_list(artifact)
                    except ValidationError as exc:
                        self.record_error(artifact, exc)
                        continue
                    if local is not None:
                        self.record(artifact, local.paths, cache_it=False)
                    else:
                        read = self.channel.artifact_file_list
                        inflight[pool.submit(read, artifact, self.stop)] = artifact
                if not inflight:
                    if self.out_of_time():
                        break
                    continue
                timeout = None
                if self.soft_deadline is not None and not self.stop.is_set():
                    timeout = max(0.0, self.soft_deadline - self.clock())
                finished, _ = wait(inflight, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in finished:
                    artifact = inflight.pop(future)
                    try:
                        file_list = future.result()
                    except Cancelled:
                        continue  # stopped for time: neither clean nor an error; read next run
                    except Exception as exc:  # fail closed: any failure is an error, not clean
                        self.record_error(artifact, exc)
                    else:
                        self.record(artifact, file_list.paths, cache_it=True)
                self.out_of_time()


def _select(channel: Channel, config: ScanConfig) -> tuple[dict[str, Artifact], dict[str, str]]:
    units: dict[str, Artifact] = {}
    problems: dict[str, str] = {}
    keep = config.shard.holds if config.shard is not None else None
    for subdir in config.subdirs:
        listing = channel.listing(subdir, keep=keep)
        units.update((a.key, a) for a in listing.artifacts)
        for file_key, problem in listing.problems.items():
            if config.shard is None or config.shard.holds_key(file_key):
                problems[file_key] = reason(f"repodata: {problem}")
    return units, problems


def _prune(
    state: ScanState, units: dict[str, Artifact], subdirs: set[str], problems: set[str]
) -> None:
    """Forget builds of the scanned subdirs that left the channel; refresh file names.

    A file whose repodata record is malformed (``problems``) is still there.
    """

    def gone(key: str) -> bool:
        return key.split("/", 1)[0] in subdirs and key not in units

    def file_gone(key: str) -> bool:
        return key not in problems and gone(f"{key.split('/', 1)[0]}/{stem_of_key(key)}")

    # In place: a copy of a map of millions of builds would double its memory for a moment.
    for mapping, is_gone in (
        (state.scanned, gone),
        (state.invalid, gone),
        (state.errors, file_gone),
        (state.failures, file_gone),
        (state.quarantine, file_gone),
    ):
        for key in [k for k in mapping if is_gone(k)]:
            del mapping[key]
    for key, entry in list(state.invalid.items()):
        files = units[key].filenames if key in units else entry.files
        if tuple(sorted(files)) != entry.files:
            state.invalid[key] = InvalidEntry(entry.name, tuple(sorted(files)), entry.violations)


def run_scan(
    channel: Channel,
    matcher: Matcher,
    fingerprint: str,
    paths: OutputPaths,
    config: ScanConfig,
    *,
    cache: FileListCache | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_progress: Callable[[ScanProgress], None] | None = None,
    now: datetime | None = None,
    waivers: Waivers | None = None,
) -> ScanSummary:
    """Scan ``channel`` (see the module docstring) and return what the run did.

    ``fingerprint`` is ``filters_fingerprint`` of the filters ``matcher`` was
    built from. The state at ``paths.state`` must be of the same channel (a
    ``UsageError`` otherwise). Raises for failures that stop the whole run
    (repodata unreadable: ``FetchError``); per-artifact failures are errors in
    the state and the summary; one that fails ``config.quarantine_after`` runs
    in a row is quarantined (``quarantine``) as of ``now`` (default: the time).
    the state and the summary. Violations an active waiver of ``waivers``
    covers are left out of the output, the counts and the new invalid files.
    """
    run = _Run(
        channel,
        matcher=matcher,
        fingerprint=fingerprint,
        paths=paths,
        config=config,
        cache=cache,
        clock=clock,
        on_progress=on_progress,
    )
    remove_leftovers(paths)
    if cache is not None:
        cache.remove_leftovers()
    state = load_state(paths.state)
    if state.channel and state.channel != channel.location:
        raise UsageError(
            f"{paths.state}: this state is of channel {state.channel!r}, not "
            f"{channel.location!r}; pass another --state (and --output) for this channel"
        )
    state.channel = channel.location
    if config.shard is not None:
        state.restrict(config.shard)
    state.shard = config.shard
    state.waivers = waivers
    before = ScanState(invalid=dict(state.invalid), waivers=waivers)
    run.state = state
    run.now = now or datetime.now(UTC)

    units, problems = _select(channel, config)
    _prune(state, units, set(config.subdirs), set(problems))
    for file_key, why in sorted(problems.items()):
        run.failed(file_key, why)

    def held_back(artifact: Artifact) -> bool:
        return state.held_back(f"{artifact.subdir}/{artifact.filename}", run.now)

    # Only what is to be done is collected: every other build is known (millions of them).
    todo_keys = [
        k for k, a in units.items() if state.scanned.get(k) != fingerprint and not held_back(a)
    ]
    stale = {k for k in todo_keys if k in state.scanned}
    known = len(units) - len(todo_keys)
    run.total = len(todo_keys)
    state.complete = False
    left = run.recheck_from_cache(units, stale)
    todo = [units[k] for k in sorted(todo_keys) if k in left or k not in stale]
    del todo_keys
    # Re-checks the cache did not hold are read like new builds.
    if not run.out_of_time():
        run.read_all(todo)

    state.complete = not run.stop.is_set() and all(
        state.scanned.get(k) == fingerprint
        or f"{a.subdir}/{a.filename}" in state.errors
        or f"{a.subdir}/{a.filename}" in state.quarantine
        for k, a in units.items()
    )
    if cache is not None:
        cache.flush()
        if state.complete and cache.needs_compaction(len(state.scanned)):
            cache.compact(set(state.scanned))
    save(state, paths)
    fresh = new_invalid(before, state)
    return ScanSummary(
        scanned=run.scanned,
        skipped_known=known,
        invalid=len(state.invalid_files()),
        new_invalid=len(fresh),
        errors=len(state.errors),
        complete=state.complete,
        new_entries=tuple(fresh),
        quarantined=len(state.quarantine),
        new_quarantined=tuple(run.new_quarantined),
        waived=len(state.waived_files()),
    )


@dataclass(frozen=True)
class MergeSummary:
    """What ``scan.py merge`` combined; ``to_json`` is its ``--json`` contract."""

    shards: int
    scanned: int
    invalid: int
    new_invalid: int
    errors: int
    complete: bool
    new_entries: tuple[NewInvalid, ...] = ()
    waived: int = 0

    def to_json(self) -> dict[str, Any]:
        """``{"shards", "scanned", "invalid", "new_invalid", "errors", "complete"}``."""
        return _counts(self)


def shard_output_dir(path: str | os.PathLike[str]) -> Path:
    """The output directory a ``scan.py merge`` argument names: itself, or a file's directory."""
    given = Path(path)
    if given.is_dir():
        directory = given
    elif given.is_file():
        directory = given.parent
    else:
        raise UsageError(f"{given}: no such shard output (a directory or a file in it)")
    if not ((directory / STATE_NAME).is_dir() or (directory / LEGACY_STATE_NAME).is_file()):
        raise UsageError(f"{directory}: has no {STATE_NAME}/; is it a scan output directory?")
    return directory


def run_merge(
    inputs: Sequence[str | os.PathLike[str]], paths: OutputPaths, waivers: Waivers | None = None
) -> MergeSummary:
    """Merge shard outputs into ``paths`` (see ``merge.merge_states``).

    The previous state at ``paths.state`` (if any) is what "new" is measured
    against: an invalid file is new when that state did not list it. It must
    be of the same channel.
    """
    directories = [shard_output_dir(p) for p in inputs]
    states = [(str(d), load_state(d / STATE_NAME)) for d in directories]
    merged = merge_states(states)
    previous = load_state(paths.state)
    merged.waivers = previous.waivers = waivers
    if previous.channel and previous.channel != merged.channel:
        raise UsageError(
            f"{paths.state}: this state is of channel {previous.channel!r}, the shards scanned "
            f"{merged.channel!r}"
        )
    save(merged, paths)
    fresh = new_invalid(previous, merged)
    return MergeSummary(
        shards=len(states),
        scanned=len(merged.scanned),
        invalid=len(merged.invalid_files()),
        new_invalid=len(fresh),
        errors=len(merged.errors),
        complete=merged.complete,
        new_entries=tuple(fresh),
        waived=len(merged.waived_files()),
    )
