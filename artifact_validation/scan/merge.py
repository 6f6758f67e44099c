"""Merging the states of shards 1..N into one, and what is new since the previous state."""

from __future__ import annotations

from collections.abc import Sequence

from artifact_validation.core.errors import UsageError
from artifact_validation.scan.state import NewInvalid, ScanState


def merge_states(states: Sequence[tuple[str, ScanState]]) -> ScanState:
    """Combine the states of shards 1..N of one channel into one unsharded state.

    ``states`` is ``(where, state)`` pairs. Every shard must be there exactly
    once, with the same N and channel; each contributes only what belongs to
    it. A missing shard would drop its builds from the merged output, so it is
    a ``UsageError``, never a partial merge.
    """
    if not states:
        raise UsageError("merge: give at least one shard output")
    channels = {s.channel for _, s in states}
    if len(channels) != 1:
        raise UsageError(f"merge: the shards scanned different channels: {sorted(channels)}")
    counts = {s.shard.count if s.shard else 1 for _, s in states}
    if len(counts) != 1:
        raise UsageError("merge: the shards were made with different shard counts (I/N)")
    count = counts.pop()
    seen: dict[int, str] = {}
    for where, s in states:
        index = s.shard.index if s.shard else 1
        if index in seen:
            raise UsageError(f"merge: {where} and {seen[index]} are both shard {index}/{count}")
        seen[index] = where
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise UsageError(
            f"merge: shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing; nothing merged"
        )
    merged = ScanState(channel=channels.pop(), complete=all(s.complete for _, s in states))
    for _, s in sorted(states, key=lambda pair: pair[1].shard.index if pair[1].shard else 1):
        if s.shard is not None:
            s.restrict(s.shard)
        merged.scanned.update(s.scanned)
        merged.invalid.update(s.invalid)
        merged.errors.update(s.errors)
        merged.failures.update(s.failures)
        merged.quarantine.update(s.quarantine)
    return merged


def new_invalid(before: ScanState, after: ScanState) -> list[NewInvalid]:
    """Invalid files of ``after`` that were not invalid in ``before``, sorted by file key."""
    old = before.invalid_files()
    return [
        NewInvalid(entry.name, file_key, entry.violations)
        for file_key, (_, entry) in sorted(after.invalid_files().items())
        if file_key not in old
    ]
