"""The re-check from cached file lists, split over processes (issue 14 §2).

A filter change makes every known build stale; its file list is in the
``FileListCache``, so re-checking is JSON decoding and matching: CPU only.
``check_cached`` hands the cache's segments, the most work first, to
``processes`` forked workers, one segment at a time (each decompresses only
the segments it takes) that send back ``(key, name, violations)`` per
segment; the calling process records the results as they come, so the state
is written by one process only.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from artifact_validation.filters.matcher import Matcher, Violation
from artifact_validation.scan.cache import FileListCache, work_size

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
    segments: tuple[Path, ...]


def by_work(segments: Sequence[Path]) -> list[Path]:
    """``segments``, the most work first (so the last ones handed out are the small ones)."""
    return [p for _, p in sorted(((work_size(p), p) for p in segments), key=lambda sp: -sp[0])]


def check_serial(
    cache: FileListCache,
    matcher: Matcher,
    keys: dict[str, str],
    segments: Sequence[Path] | None = None,
) -> Iterator[Checked]:
    """``(key, name, violations)`` of each of ``keys`` (key -> subdir) the cache holds (in
    ``segments`` only, if given)."""
    for key, name, paths in cache.entries(keys, segments):
        yield key, name, matcher.check(name, keys[key], paths)


def _work(task: int) -> list[Checked]:
    job = _JOB
    if job is None:
        raise RuntimeError("re-check worker started without a job")
    cache = FileListCache(job.directory)
    return list(check_serial(cache, job.matcher, job.keys, job.segments[task : task + 1]))


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
    no set order; a key that two segments hold may come twice (the caller keeps one).
    With ``processes`` > 1 and several segments, forked workers share the work; when
    ``out_of_time`` turns true the workers are stopped and what they had not sent is
    left out (the caller re-reads or re-checks it in the next run)."""
    segments = by_work(cache.segments()) if processes > 1 else []
    if len(segments) <= 1:
        for checked in check_serial(cache, matcher, keys):
            if out_of_time():
                return
            yield checked
        return
    global _JOB  # noqa: PLW0603  (the fork hands it to the workers)
    _JOB = _Job(str(cache.directory), matcher, keys, tuple(segments))
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(min(processes, len(segments))) as pool:
            results = pool.imap_unordered(_work, range(len(segments)))
            while True:
                if out_of_time():
                    pool.terminate()
                    return
                try:
                    batch = results.next(timeout=0.2)
                except multiprocessing.TimeoutError:
                    continue
                except StopIteration:
                    return
                yield from batch
    finally:
        _JOB = None
