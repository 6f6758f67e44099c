"""Scan state and outputs: which builds were checked under which filters, verdicts, file-list cache.

Three files, each written atomically, the state always first (it is the one
source of truth; the two YAML outputs are derived from it):

- ``scan_state.json``: ``{"format", "channel", "shard", "complete",
  "scanned": {<filter fingerprint>: [<subdir>/<stem>, ...]},
  "invalid": {<subdir>/<stem>: {"name", "files", "violations": {<filter>: [paths]}}},
  "errors": {<subdir>/<file>: reason}}``, keys and lists sorted.
- ``invalid_packages.yaml``: ``{<name>: {"<subdir>/<file>": {<filter>: [paths]}}}``.
- ``scan_errors.yaml``: ``{"<subdir>/<file>": reason}``.

A build is keyed by ``<subdir>/<stem>``: its ``.conda`` and ``.tar.bz2`` are
one build, read once, and both file names are listed in the output. The
file-list cache (``FileListCache``) keeps every file list read from an
artifact, gzip-compressed, so a change of filters is re-checked without
downloading anything again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from artifact_validation.core.fileio import write_atomic
from artifact_validation.channel.channel import split_filename
from artifact_validation.core.errors import UsageError
from artifact_validation.filters.files import Filter
from artifact_validation.filters.matcher import Violation

#: Version of the state file layout; a state of another format is refused, not guessed at.
STATE_FORMAT = 1

#: Part of every filter fingerprint: bump it when the matcher's glob semantics change, so
#: that every build is re-checked (from the cache) under the new rules.
MATCHER_SEMANTICS = "1"

#: File names of a scan's outputs inside an output directory (``scan.py merge`` reads them).
STATE_NAME = "scan_state.json"
OUTPUT_NAME = "invalid_packages.yaml"
ERRORS_NAME = "scan_errors.yaml"

#: An error reason is cut to this many characters (they may quote hostile archive content).
MAX_REASON = 500

#: A complete run compacts the file-list cache once it has more segments than this.
MAX_CACHE_SEGMENTS = 64

_SHARD_RE = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)$")
_FINGERPRINT_RE = re.compile(r"^[0-9a-f]{16}$")

try:  # libyaml's emitter is ~10x faster; the pure-Python one writes the same document
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Dumper = yaml.SafeDumper


# --------------------------------------------------------------------------------- identity


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


# --------------------------------------------------------------------------------- state


@dataclass(frozen=True)
class InvalidEntry:
    """A build that clobbers: its name, its file names, and the paths each filter flags."""

    name: str
    files: tuple[str, ...]
    violations: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def from_violations(
        cls, name: str, files: Iterable[str], violations: Iterable[Violation]
    ) -> InvalidEntry:
        """Group matcher violations by filter, paths sorted."""
        by_filter: dict[str, set[str]] = {}
        for v in violations:
            by_filter.setdefault(v.filter, set()).add(v.path)
        return cls(
            name,
            tuple(sorted(files)),
            tuple((f, tuple(sorted(p))) for f, p in sorted(by_filter.items())),
        )

    def to_json(self) -> dict[str, Any]:
        """The state-file form."""
        return {
            "name": self.name,
            "files": list(self.files),
            "violations": {f: list(p) for f, p in self.violations},
        }

    @property
    def by_filter(self) -> dict[str, list[str]]:
        """``{filter: [paths]}``, as the output file lists it."""
        return {f: list(p) for f, p in self.violations}


@dataclass
class ScanState:
    """Everything a scan knows; see the module docstring for the file format."""

    channel: str = ""
    shard: Shard | None = None
    complete: bool = False
    #: ``<subdir>/<stem>`` -> fingerprint of the filter set it was checked with
    scanned: dict[str, str] = field(default_factory=dict)
    #: ``<subdir>/<stem>`` -> what it clobbers (only builds that do)
    invalid: dict[str, InvalidEntry] = field(default_factory=dict)
    #: ``<subdir>/<file>`` -> why it could not be checked (retried by the next run)
    errors: dict[str, str] = field(default_factory=dict)

    def restrict(self, shard: Shard) -> None:
        """Drop everything that does not belong to ``shard``."""
        self.scanned = {k: v for k, v in self.scanned.items() if shard.holds_key(k)}
        self.invalid = {k: v for k, v in self.invalid.items() if shard.holds_key(k)}
        self.errors = {k: v for k, v in self.errors.items() if shard.holds_key(k)}

    def invalid_files(self) -> dict[str, tuple[str, InvalidEntry]]:
        """``<subdir>/<file>`` -> (build key, entry) for every listed file of an invalid build."""
        out = {}
        for key, entry in self.invalid.items():
            subdir = key.split("/", 1)[0]
            for filename in entry.files:
                out[f"{subdir}/{filename}"] = (key, entry)
        return out

    def to_json_text(self) -> str:
        """The state file's text: deterministic, one key per line (small git diffs)."""
        scanned: dict[str, list[str]] = {}
        for key, fingerprint in self.scanned.items():
            scanned.setdefault(fingerprint, []).append(key)
        doc = {
            "format": STATE_FORMAT,
            "channel": self.channel,
            "shard": str(self.shard) if self.shard is not None else None,
            "complete": self.complete,
            "scanned": {fp: sorted(keys) for fp, keys in scanned.items()},
            "invalid": {k: e.to_json() for k, e in self.invalid.items()},
            "errors": dict(self.errors),
        }
        # ASCII: a path from a hostile archive may hold a lone surrogate, which UTF-8 cannot.
        return json.dumps(doc, indent=1, sort_keys=True) + "\n"

    def output_doc(self) -> dict[str, dict[str, dict[str, list[str]]]]:
        """The ``invalid_packages.yaml`` mapping: ``{name: {"<subdir>/<file>": {filter: paths}}}``.

        Every listed file of an invalid build appears, with the same violations.
        """
        out: dict[str, dict[str, dict[str, list[str]]]] = {}
        for file_key, (_, entry) in self.invalid_files().items():
            out.setdefault(entry.name, {})[file_key] = entry.by_filter
        return out


def _problem(where: str, what: str) -> UsageError:
    return UsageError(
        f"{where}: {what}; this is not a scan state this version can read "
        "(restore it from git, or delete it to scan from scratch)"
    )


def _str_map(value: Any, where: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _problem(where, f"{key!r} must be an object")
    return value


def parse_state(doc: Any, where: str) -> ScanState:
    """Check a decoded state document strictly and return the ``ScanState``."""
    if not isinstance(doc, dict):
        raise _problem(where, "the state must be a JSON object")
    if doc.get("format") != STATE_FORMAT:
        raise _problem(where, f"'format' is {doc.get('format')!r}, expected {STATE_FORMAT}")
    channel = doc.get("channel")
    if not isinstance(channel, str):
        raise _problem(where, "'channel' must be a string")
    shard_text = doc.get("shard")
    if shard_text is not None and not isinstance(shard_text, str):
        raise _problem(where, "'shard' must be I/N or null")
    try:
        shard = Shard.parse(shard_text) if shard_text is not None else None
    except UsageError as exc:
        raise _problem(where, str(exc)) from exc
    if not isinstance(doc.get("complete"), bool):
        raise _problem(where, "'complete' must be true or false")
    state = ScanState(channel=channel, shard=shard, complete=doc["complete"])
    for fingerprint, keys in _str_map(doc.get("scanned"), where, "scanned").items():
        if not _FINGERPRINT_RE.match(fingerprint) or not isinstance(keys, list):
            raise _problem(where, "'scanned' must map 16-hex fingerprints to lists")
        for key in keys:
            if not isinstance(key, str) or "/" not in key:
                raise _problem(where, f"'scanned' has a malformed key {key!r}")
            state.scanned[key] = fingerprint
    for key, entry in _str_map(doc.get("invalid"), where, "invalid").items():
        state.invalid[key] = _parse_entry(entry, where, key)
    for key, reason in _str_map(doc.get("errors"), where, "errors").items():
        if not isinstance(reason, str):
            raise _problem(where, f"'errors' reason of {key!r} must be a string")
        state.errors[key] = reason
    return state


def _parse_entry(entry: Any, where: str, key: str) -> InvalidEntry:
    what = f"'invalid' entry {key!r}"
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _problem(where, f"{what} must be an object with a 'name'")
    files = entry.get("files")
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise _problem(where, f"{what} must list its 'files'")
    violations = _str_map(entry.get("violations"), where, f"{key}.violations")
    pairs = []
    for name, paths in sorted(violations.items()):
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise _problem(where, f"{what}: violations of {name!r} must be a list of paths")
        pairs.append((name, tuple(sorted(paths))))
    return InvalidEntry(entry["name"], tuple(sorted(files)), tuple(pairs))


def load_state(path: str | os.PathLike[str]) -> ScanState:
    """Read a state file; a missing file is an empty state, a malformed one a ``UsageError``."""
    where = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return ScanState()
    except OSError as exc:
        raise UsageError(f"{where}: cannot read the scan state: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _problem(where, f"not valid JSON ({exc})") from exc
    return parse_state(doc, where)


def render_output(state: ScanState) -> str:
    """``invalid_packages.yaml``: sorted keys and lists, one document."""
    return _dump_yaml(state.output_doc())


def render_errors(state: ScanState) -> str:
    """``scan_errors.yaml``: ``{"<subdir>/<file>": reason}``, sorted."""
    return _dump_yaml(dict(state.errors))


def _dump_yaml(doc: dict[str, Any]) -> str:
    if not doc:
        return "{}\n"
    options: dict[str, Any] = {
        "default_flow_style": False,
        "sort_keys": True,
        "allow_unicode": True,
        "width": 10_000,
    }
    try:
        return yaml.dump(doc, Dumper=_Dumper, **options)
    except UnicodeEncodeError:
        # libyaml cannot take a lone surrogate (a hostile archive's path); the pure-Python
        # emitter writes it as a "\uD800" escape that loads back to the same string.
        return yaml.dump(doc, Dumper=yaml.SafeDumper, **options)


def reason(text: str) -> str:
    """An error reason as stored: one line, at most ``MAX_REASON`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 3] + "..."


@dataclass(frozen=True)
class OutputPaths:
    """Where a scan keeps its state and writes its two outputs."""

    state: Path
    output: Path
    errors: Path

    @classmethod
    def in_directory(cls, directory: str | os.PathLike[str]) -> OutputPaths:
        """The three standard file names inside ``directory`` (a shard's output)."""
        base = Path(directory)
        return cls(base / STATE_NAME, base / OUTPUT_NAME, base / ERRORS_NAME)


def remove_leftovers(paths: OutputPaths) -> None:
    """Delete temporary files a killed run left beside the state and outputs (never read)."""
    for target in (paths.state, paths.output, paths.errors):
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink(missing_ok=True)


def save(state: ScanState, paths: OutputPaths) -> None:
    """Write the state, then the outputs derived from it, each atomically.

    Killed between two writes, the state is new and an output old: the next
    run derives the outputs from the state again, so nothing is lost.
    """
    write_atomic(paths.state, state.to_json_text())
    write_atomic(paths.output, render_output(state))
    write_atomic(paths.errors, render_errors(state))


# --------------------------------------------------------------------------------- merge


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
    return merged


def new_invalid(before: ScanState, after: ScanState) -> list[dict[str, Any]]:
    """Invalid files of ``after`` that were not invalid in ``before``, sorted by file key.

    Each is ``{"name", "artifact": "<subdir>/<file>", "violations": {filter: [paths]}}``.
    """
    old = before.invalid_files()
    return [
        {"name": entry.name, "artifact": file_key, "violations": entry.by_filter}
        for file_key, (_, entry) in sorted(after.invalid_files().items())
        if file_key not in old
    ]


# --------------------------------------------------------------------------------- cache


class FileListCache:
    """File lists read from artifacts, as gzip-compressed JSON-lines segments in one directory.

    ``add`` buffers; ``flush`` writes the buffer as one new segment, atomically
    (a killed run leaves whole segments only). A damaged segment is skipped as
    a cache miss: the build is simply read again. ``compact`` rewrites the live
    entries into one segment and removes the rest.
    """

    SUFFIX = ".jsonl.gz"

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._pending: list[bytes] = []
        self._sequence = 0
        #: segments that could not be read to the end (their tail was a cache miss)
        self.damaged = 0

    def segments(self) -> list[Path]:
        """The segment files, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob(f"*{self.SUFFIX}") if p.name[0] != ".")

    def remove_leftovers(self) -> None:
        """Delete half-written segments a killed run left behind (they were never renamed)."""
        if self.directory.is_dir():
            for leftover in self.directory.glob(".*.tmp"):
                leftover.unlink(missing_ok=True)

    def add(self, key: str, name: str, paths: Sequence[str]) -> None:
        """Buffer the file list of build ``key`` (named ``name``) for the next ``flush``."""
        line = json.dumps([key, name, list(paths)], separators=(",", ":"))  # ASCII, one line
        self._pending.append(line.encode("ascii") + b"\n")

    @property
    def pending(self) -> int:
        """How many file lists wait for the next flush."""
        return len(self._pending)

    def flush(self) -> None:
        """Write the buffered file lists as a new segment (nothing when the buffer is empty)."""
        if not self._pending:
            return
        self._write_segment(self._pending)
        self._pending = []

    def _write_segment(self, lines: Iterable[bytes]) -> Path:
        """Stream ``lines`` into a new segment: a temporary file, fsynced, renamed into place."""
        self._sequence += 1
        name = f"{time.time_ns():020d}-{os.getpid()}-{self._sequence:06d}{self.SUFFIX}"
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as raw:
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
                    for line in lines:
                        gz.write(line)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _lines(self, segment: Path) -> Iterator[tuple[str, bytes]]:
        try:
            with gzip.open(segment, "rb") as gz:
                for line in gz:
                    # Keys are <subdir>/<stem>: no quote or backslash can occur in them.
                    end = line.find(b'"', 2)
                    if line.startswith(b'["') and end > 2:
                        yield line[2:end].decode("ascii", "replace"), line
        except (OSError, EOFError, zlib.error, ValueError):
            self.damaged += 1

    def entries(self, keys: set[str]) -> Iterator[tuple[str, str, tuple[str, ...]]]:
        """``(key, name, paths)`` for each of ``keys`` the cache holds, each once (newest wins
        is not needed: a build's file list never changes)."""
        wanted = set(keys)
        for segment in self.segments():
            for key, line in self._lines(segment):
                if key not in wanted:
                    continue
                try:
                    doc = json.loads(line)
                    _, name, paths = doc
                except (ValueError, TypeError):
                    continue
                if not isinstance(name, str) or not isinstance(paths, list):
                    continue
                if not all(isinstance(p, str) for p in paths):
                    continue
                wanted.discard(key)
                yield key, name, tuple(paths)
                if not wanted:
                    return

    def compact(self, live: set[str]) -> None:
        """Rewrite the entries of ``live`` builds into one segment; drop every other segment."""
        self.flush()
        old = self.segments()
        if len(old) <= 1:
            return
        seen: set[str] = set()

        def kept() -> Iterator[bytes]:
            for segment in old:
                for key, line in self._lines(segment):
                    if key in live and key not in seen:
                        seen.add(key)
                        yield line if line.endswith(b"\n") else line + b"\n"

        self._write_segment(kept())
        for segment in old:
            segment.unlink(missing_ok=True)
