"""The re-check from cached file lists, split over processes (issue 14 §2).

A filter change makes every known build stale; its file list is in the
``FileListCache``, so re-checking is JSON decoding and matching: CPU only.
``check_cached`` hands each of ``processes`` forked workers a share of the
keys (by a stable hash); each reads every segment, decodes only the lines of
its share, matches them and sends back ``(key, name, violations)``. The
parent records the results, so the state is written by one process only.
"""

from __future__ import annotations

import multiprocessing
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from artifact_validation.filters.matcher import Matcher, Violation
from artifact_validation.scan.cache import FileListCache

#: Below this many stale builds the re-check stays in the calling process.
MIN_PARALLEL = 2_000

#: The workers' job, set before the fork (workers inherit it; nothing is pickled in).
_JOB: _Job | None = None

Checked = tuple[str, str, list[Violation]]


@dataclass(frozen=True)
class _Job:
    directory: str
    matcher: Matcher
    keys: dict[str, str]
    processes: int


def share_of(key: str, processes: int) -> int:
    """The worker that re-checks ``key`` (stable across runs and processes)."""
    return zlib.crc32(key.encode()) % processes


def _subdir(key: str) -> str:
    return key.split("/", 1)[0]


def check_serial(cache: FileListCache, matcher: Matcher, keys: dict[str, str]) -> Iterator[Checked]:
    """``(key, name, violations)`` of each of ``keys`` (key -> subdir) the cache holds."""
    for key, name, paths in cache.entries(set(keys)):
        yield key, name, matcher.check(name, keys[key], paths)


def _work(share: int) -> list[Checked]:
    job = _JOB
    if job is None:
        raise RuntimeError("re-check worker started without a job")
    mine = {k: s for k, s in job.keys.items() if share_of(k, job.processes) == share}
    return list(check_serial(FileListCache(job.directory), job.matcher, mine))


def usable_processes(requested: int, stale: int) -> int:
    """How many processes to re-check ``stale`` builds with: at most one per CPU, and only
    with fork (workers inherit the matcher) and enough work to pay for the start-up."""
    if requested <= 1 or stale < MIN_PARALLEL:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(requested, os.cpu_count() or 1))


def check_cached(
    cache: FileListCache,
    matcher: Matcher,
    keys: dict[str, str],
    processes: int,
    *,
    out_of_time: Callable[[], bool] = lambda: False,
) -> Iterator[Checked]:
    """``(key, name, violations)`` of each of ``keys`` (key -> subdir) the cache holds, in
    no set order. With ``processes`` > 1, forked workers share the work; when
    ``out_of_time`` turns true the workers are stopped and what they had not sent
    is left out (the caller re-reads or re-checks it in the next run)."""
    if processes <= 1:
        yield from check_serial(cache, matcher, keys)
        return
    global _JOB  # noqa: PLW0603  (the fork hands it to the workers)
    _JOB = _Job(str(cache.directory), matcher, keys, processes)
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(processes) as pool:
            pending = [pool.apply_async(_work, (share,)) for share in range(processes)]
            while pending:
                if out_of_time():
                    pool.terminate()
                    return
                pending[0].wait(0.2)
                ready = [r for r in pending if r.ready()]
                pending = [r for r in pending if not r.ready()]
                for result in ready:
                    yield from result.get()
    finally:
        _JOB = None
