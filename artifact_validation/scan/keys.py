"""Identity in a scan: build keys, shards, and the fingerprint of a filter set."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from artifact_validation.core.conda import split_filename
from artifact_validation.core.errors import UsageError
from artifact_validation.filters.files import Filter

#: Part of every filter fingerprint: bump it when the matcher's glob semantics change, so
#: that every build is re-checked (from the cache) under the new rules.
MATCHER_SEMANTICS = "1"

_SHARD_RE = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)$")


def stem_of_key(key: str) -> str:
    """The stem of ``<subdir>/<stem>`` or of ``<subdir>/<file>`` (a file name that is no
    artifact's stands for itself)."""
    rest = key.split("/", 1)[-1]
    parts = split_filename(rest)
    return parts[0] if parts is not None else rest


def shard_of(stem: str, count: int) -> int:
    """The 1-based shard of ``stem`` among ``count``: a stable hash, the same on every machine."""
    digest = hashlib.sha256(stem.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based): the builds whose stem hashes to it."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Parse ``I/N`` with 1 <= I <= N; anything else is a ``UsageError``."""
        match = _SHARD_RE.match(text.strip())
        if match is None or not 1 <= int(match[1]) <= int(match[2]):
            raise UsageError(f"--shard {text!r} must be I/N with 1 <= I <= N, e.g. 2/8")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, stem: str) -> bool:
        """Whether the build ``stem`` belongs to this shard."""
        return shard_of(stem, self.count) == self.index

    def holds_key(self, key: str) -> bool:
        """Whether a ``<subdir>/<stem>`` or ``<subdir>/<file>`` key belongs to this shard."""
        return self.holds(stem_of_key(key))


def filters_fingerprint(filters: Sequence[Filter]) -> str:
    """16 hex digits that change whenever any filter's globs, owners or exclusions change.

    Independent of file names, order and comments: only what the matcher sees
    (plus ``MATCHER_SEMANTICS``) goes in.
    """
    doc = [MATCHER_SEMANTICS, sorted([f.name, f.to_yaml_dict()] for f in filters)]
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:16]
