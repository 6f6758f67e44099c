"""BASELINE (frozen): the re-check-from-cache path as it was before issue 14 §2.

Verbatim copies of ``FileListCache.entries``, ``Matcher.check`` and
``_Run.recheck_from_cache`` / ``record`` / ``tick`` at commit 1a66ad2, kept
only so ``bench_scan.py`` can run the same workload through the old code in
the same process and print the ratio. ``baseline_code()`` patches them in for
the duration of a ``with`` block. Do not optimise this file.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator

from artifact_validation.core.conda import fold as fold_name
from artifact_validation.core.conda import is_case_insensitive
from artifact_validation.filters import matcher as matcher_module
from artifact_validation.filters.matcher import Violation
from artifact_validation.scan import cache as cache_module
from artifact_validation.scan import scanner as scanner_module
from artifact_validation.scan.state import InvalidEntry


def entries(self, keys: set[str]) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    wanted = set(keys)
    for segment in self.segments():
        for key, line in self._lines(segment):
            if key not in wanted:
                continue
            try:
                doc = json.loads(line)
                _, name, paths = doc
            except (ValueError, TypeError, RecursionError):
                continue
            if not isinstance(name, str) or not isinstance(paths, list):
                continue
            if not all(isinstance(p, str) for p in paths):
                continue
            wanted.discard(key)
            yield key, name, tuple(paths)
            if not wanted:
                return


def check(self, name: str, subdir: str, paths: Iterable[str]) -> list[Violation]:
    fold = is_case_insensitive(subdir)
    trie = self._trie(fold)
    exempt = self._exempt.get(name, frozenset())
    out: list[Violation] = []
    memo, start, step, dir_state = trie.memo, trie.start, trie.step, trie.dir_state
    for path in paths:
        directory, _, last = (fold_name(path) if fold else path).rpartition("/")
        base = (memo.get(directory) or dir_state(directory)) if directory else start
        state = base.next.get(last) or step(base, last)
        if not state.hits:
            continue
        for index, glob in state.flagged_filters():
            if index not in exempt:
                flt = self.filters[index]
                allowed = tuple(sorted(flt.allowed))
                line = flt.line_of(glob)
                out.append(Violation(path, flt.name, glob, allowed, flt.file, line))
    out.sort(key=lambda v: (v.path, v.filter))
    return out


def tick(self) -> None:
    self.done += 1
    if self.on_progress is not None:
        elapsed = self.clock() - self.start
        self.on_progress(
            scanner_module.ScanProgress(self.done, self.total, len(self.state.errors), elapsed)
        )
    if self.clock() - self.last_save >= self.config.checkpoint_seconds:
        self.checkpoint()


def record(self, artifact, paths, cache_it) -> None:  # type: ignore[no-untyped-def]
    violations = self.matcher.check(artifact.name, artifact.subdir, paths)
    state = self.state
    state.scanned[artifact.key] = self.fingerprint
    if violations:
        state.invalid[artifact.key] = InvalidEntry.from_violations(
            artifact.name, artifact.filenames, violations
        )
    else:
        state.invalid.pop(artifact.key, None)
    state.cleared(artifact.file_keys)
    if cache_it and self.cache is not None:
        self.cache.add(artifact.key, artifact.name, paths)
    self.scanned += 1
    self.tick()


def recheck_from_cache(self, units, keys):  # type: ignore[no-untyped-def]
    if self.cache is None or not keys:
        return keys
    left = set(keys)
    for key, name, paths in self.cache.entries(keys):
        if self.out_of_time():
            break
        artifact = units[key]
        if name != artifact.name:
            continue
        left.discard(key)
        self.record(artifact, paths, cache_it=False)
    return left


@contextlib.contextmanager
def baseline_code() -> Iterator[None]:
    """Run the block with the frozen baseline re-check path patched in."""
    patches = [
        (cache_module.FileListCache, "entries", entries),
        (matcher_module.Matcher, "check", check),
        (scanner_module._Run, "tick", tick),
        (scanner_module._Run, "record", record),
        (scanner_module._Run, "recheck_from_cache", recheck_from_cache),
    ]
    saved = [(owner, attr, owner.__dict__[attr]) for owner, attr, _ in patches]
    for owner, attr, new in patches:
        setattr(owner, attr, new)
    try:
        yield
    finally:
        for owner, attr, old in saved:
            setattr(owner, attr, old)
