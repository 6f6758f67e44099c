"""The scan state as a directory of gzip shards: small files, byte-stable, torn writes refused.

Layout of ``scan_state/`` (format 2)::

    index.json                          {"format": 2, "channel", "shard", "complete",
                                         "files": {<shard file>: <sha256 of its bytes>}}
    <subdir>.<n>.<hash12>.json.gz       a format-1 document (``ScanState.to_json_doc``)
                                         of the builds of <subdir> whose stable hash
                                         (``keys.shard_of``) puts them in part n

A subdir is split into ``parts_for(count)`` parts (a power of two, at most
``KEYS_PER_FILE`` keys each), so no file grows past a few MB even at 2.5 M
artifacts. The gzip header has ``mtime=0`` and the JSON is sorted: an
unchanged part is byte-identical, so git stores nothing new for it.

A shard file's name carries a hash of its content; it is written (atomically)
before the index, and the files the new index no longer lists are deleted only
after it replaced the old one. A run killed at any point leaves the old index
with all its files, or the new one with all of its. Reading checks every file
against the sha256 the index records: a torn or edited part is refused
(``UsageError``, exit 2) naming the file, never half-read.

A missing directory with a format-1 ``scan_state.json`` beside it is read from
that file (migration): the next save writes the directory and deletes the file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from artifact_validation.core.errors import UsageError
from artifact_validation.core.fileio import parse_json, read_bytes, write_atomic
from artifact_validation.core.markdown import shown
from artifact_validation.scan.keys import shard_of, stem_of_key
from artifact_validation.scan.state import (
    STATE_FORMAT,
    OutputPaths,
    ScanState,
    load_state_file,
    parse_state,
    remove_leftovers,
    save_outputs,
)

#: Version of the state directory's index; another is refused, not guessed at.
STATE_DIR_FORMAT = 2

#: The index file of a state directory.
INDEX_NAME = "index.json"

#: A subdir is split so that no part holds more keys than this (about 0.8 MB gzipped).
KEYS_PER_FILE = 100_000

#: A state file larger than this is refused unread (the parts stay far below it).
MAX_FILE_BYTES = 64 * 1024 * 1024

_PART_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.([0-9]{1,4})\.([0-9a-f]{12})\.json\.gz$")
_SUBDIR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def parts_for(count: int) -> int:
    """How many parts a subdir of ``count`` keys is split into: a power of two."""
    parts = 1
    while count > parts * KEYS_PER_FILE:
        parts *= 2
    return parts


def _file_subdir(key: str) -> str:
    """The subdir of a key as it appears in a file name (an odd one by a hash of it)."""
    subdir = key.split("/", 1)[0]
    if _SUBDIR_RE.match(subdir):
        return subdir
    return "x-" + hashlib.sha256(subdir.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def _split(state: ScanState) -> Iterator[tuple[tuple[str, int], ScanState]]:
    """The state cut into parts, ``((subdir, part), part's state)``, sorted, one subdir at a
    time (a state of millions of builds is never copied whole)."""
    # Build keys are <subdir>/<stem>; file keys (errors, failures, quarantine) go with
    # their build's stem. The subdir of a key is worked out once per distinct subdir.
    maps: tuple[tuple[str, bool], ...] = (("scanned", False), ("invalid", False))
    maps += (("errors", True), ("failures", True), ("quarantine", True))
    file_subdirs: dict[str, str] = {}
    by_subdir: dict[str, dict[str, list[str]]] = {}
    for name, _ in maps:
        for key in getattr(state, name):
            raw = key.partition("/")[0]
            subdir = file_subdirs.get(raw)
            if subdir is None:
                subdir = file_subdirs[raw] = _file_subdir(key)
            by_subdir.setdefault(subdir, {}).setdefault(name, []).append(key)
    for subdir in sorted(by_subdir):
        groups = by_subdir.pop(subdir)
        stems: dict[str, list[str]] = {}  # map name -> the stem of each of its keys, in order
        for name, is_file in maps:
            keys = groups.get(name, [])
            stems[name] = (
                [stem_of_key(key) for key in keys]
                if is_file
                else [key.split("/", 1)[-1] for key in keys]
            )
        distinct = {stem for found in stems.values() for stem in found}
        count = parts_for(len(distinct))
        place = {stem: shard_of(stem, count) for stem in distinct} if count > 1 else {}
        out: dict[int, ScanState] = {}
        for name, keys in groups.items():
            source = getattr(state, name)
            buckets: dict[int, list[str]] = {}
            for key, stem in zip(keys, stems[name], strict=True):
                buckets.setdefault(place.get(stem, 1), []).append(key)
            for n, bucket in buckets.items():
                part = out.get(n)
                if part is None:
                    part = out[n] = ScanState(state.channel, state.shard, state.complete)
                setattr(part, name, {key: source[key] for key in bucket})
        for n in sorted(out):
            yield (subdir, n), out.pop(n)


def _part_bytes(part: ScanState) -> bytes:
    text = json.dumps(part.to_json_doc(), sort_keys=True, separators=(",", ":"))
    return gzip.compress(text.encode("ascii"), compresslevel=6, mtime=0)


def render_state_dir(state: ScanState) -> tuple[dict[str, bytes], str]:
    """The shard files (name -> bytes) and the index text of ``state``."""
    files: dict[str, bytes] = {}
    for (subdir, n), part in _split(state):
        raw = _part_bytes(part)
        files[f"{subdir}.{n}.{hashlib.sha256(raw).hexdigest()[:12]}.json.gz"] = raw
    index = {
        "format": STATE_DIR_FORMAT,
        "channel": state.channel,
        "shard": str(state.shard) if state.shard is not None else None,
        "complete": state.complete,
        "files": {name: hashlib.sha256(raw).hexdigest() for name, raw in files.items()},
    }
    return files, json.dumps(index, indent=1, sort_keys=True) + "\n"


def save_state_dir(state: ScanState, directory: str | os.PathLike[str]) -> None:
    """Write ``state`` into ``directory``: new parts, then the index, then drop old parts."""
    base = Path(directory)
    if base.exists() and not base.is_dir():
        raise UsageError(f"{base}: the scan state is a directory now; pass --state DIR")
    base.mkdir(parents=True, exist_ok=True)
    for leftover in base.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    files, index = render_state_dir(state)
    for name, raw in files.items():
        target = base / name
        # Content-addressed: a file of that name already holds exactly these bytes.
        if not (target.is_file() and target.read_bytes() == raw):
            write_atomic(target, raw)
    write_atomic(base / INDEX_NAME, index)
    for old in base.iterdir():
        if _PART_RE.match(old.name) and old.name not in files:
            old.unlink(missing_ok=True)


def _problem(where: str, what: str) -> UsageError:
    return UsageError(
        f"{where}: {what}; this is not a scan state this version can read "
        "(restore it from the scan-state branch, or delete it to scan from scratch)"
    )


def _index(base: Path) -> dict[str, Any]:
    where = str(base / INDEX_NAME)
    raw = read_bytes(
        base / INDEX_NAME, UsageError, "the scan state index", max_bytes=MAX_FILE_BYTES
    )
    doc = parse_json(raw, UsageError, where, "the scan state index")
    if not isinstance(doc, dict):
        raise _problem(where, "the index must be a JSON object")
    if doc.get("format") != STATE_DIR_FORMAT:
        got = shown(doc.get("format"))
        raise _problem(where, f"'format' is {got}, expected {STATE_DIR_FORMAT}")
    files = doc.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and _PART_RE.match(k) and isinstance(v, str) and len(v) == 64
        for k, v in files.items()
    ):
        raise _problem(where, "'files' must map shard file names to sha256 digests")
    return doc


def load_state_dir(directory: str | os.PathLike[str]) -> ScanState:
    """Read a state directory, checking every shard file against the index's sha256."""
    base = Path(directory)
    doc = _index(base)
    head = {**doc, "format": STATE_FORMAT, "scanned": {}, "invalid": {}, "errors": {}}
    del head["files"]
    state = parse_state(head, str(base / INDEX_NAME))
    for name, digest in sorted(doc["files"].items()):
        path = base / name
        where = str(path)
        raw = read_bytes(path, UsageError, "a scan state shard", max_bytes=MAX_FILE_BYTES)
        if hashlib.sha256(raw).hexdigest() != digest:
            raise _problem(where, "its sha256 is not the one the index records (torn or edited)")
        try:
            text = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise _problem(where, f"not gzip data ({exc})") from exc
        part = parse_state(parse_json(text, UsageError, where, "a scan state shard"), where)
        if (part.channel, part.shard, part.complete) != (
            state.channel,
            state.shard,
            state.complete,
        ):
            raise _problem(where, "its channel, shard or complete differ from the index")
        for attr in ("scanned", "invalid", "errors", "failures", "quarantine"):
            target, found = getattr(state, attr), getattr(part, attr)
            if not target.keys().isdisjoint(found):
                twice = next(key for key in found if key in target)
                raise _problem(where, f"{shown(twice)} is in two shard files")
            target.update(found)
    return state


def legacy_file(directory: str | os.PathLike[str]) -> Path:
    """The format-1 file a state directory replaces: ``scan_state/`` -> ``scan_state.json``."""
    base = Path(directory)
    return base.with_name(base.name + ".json")


def load_state(path: str | os.PathLike[str]) -> ScanState:
    """The state at ``path``: a state directory, a format-1 file, or (when neither exists)
    the format-1 ``<name>.json`` beside it (migration); else an empty state."""
    base = Path(path)
    if base.is_dir():
        return load_state_dir(base)
    if os.path.lexists(base):
        return load_state_file(base)
    legacy = legacy_file(base)
    if os.path.lexists(legacy):
        return load_state_file(legacy)
    return ScanState()


def save(state: ScanState, paths: OutputPaths) -> None:
    """Write the state directory, then the outputs derived from it, each file atomically.

    Killed between two writes, the state is new and an output old: the next
    run derives the outputs from the state again, so nothing is lost. A
    format-1 file migrated from is deleted once the directory holds its state.
    """
    remove_leftovers(paths)
    save_state_dir(state, paths.state)
    legacy = legacy_file(paths.state)
    if legacy.is_file():
        legacy.unlink()
    save_outputs(state, paths)
