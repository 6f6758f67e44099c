"""The file-list cache: file lists read from artifacts, kept so a filter change re-reads nothing."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import time
import zlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

#: A complete run compacts the file-list cache once it has this many segments more than its
#: live entries need.
MAX_CACHE_SEGMENTS = 64

#: File lists, and their bytes before compression, per segment at most: a compacted cache
#: is many segments of similar work, so re-check processes can share them out (each
#: decompresses only the segments it takes).
SEGMENT_ENTRIES = 4_000
SEGMENT_BYTES = 8 << 20


_ONLY_STR = {str}

#: Decompressed bytes read from a segment at a time (lines are split out of each chunk).
_CHUNK = 1 << 20


def _split_lines(stream: gzip.GzipFile) -> Iterator[bytes]:
    """The lines of ``stream`` (without their newline), read in large chunks."""
    carry = b""
    while chunk := stream.read(_CHUNK):
        lines = (carry + chunk).split(b"\n") if carry else chunk.split(b"\n")
        carry = lines.pop()
        yield from lines
    if carry:
        yield carry


def _decode(line: bytes) -> tuple[str, list[str]] | None:
    """The name and paths of one cache line ``["<key>","<name>",["<path>",...]]``; None when
    the line is not one."""
    try:
        _, name, paths = json.loads(line)
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(name, str) or not isinstance(paths, list):
        return None
    if paths and {*map(type, paths)} != _ONLY_STR:
        return None
    return name, paths


def work_size(segment: Path) -> int:
    """The bytes of ``segment`` once decompressed (the work it holds): gzip's trailer keeps
    them, mod 2**32, in its last four bytes; the compressed size when that cannot be read."""
    try:
        with segment.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size < 4:
                return size
            fh.seek(-4, os.SEEK_END)
            return max(size, int.from_bytes(fh.read(4), "little"))
    except OSError:
        return 0


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
        """Write the buffered file lists as new segments (nothing when the buffer is empty)."""
        if not self._pending:
            return
        self._write_segments(self._pending)
        self._pending = []

    def _write_segments(self, lines: Iterable[bytes]) -> None:
        """Write ``lines`` as segments of ``SEGMENT_ENTRIES`` lines or ``SEGMENT_BYTES`` at most
        (a longer line is a segment of its own)."""
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            if chunk and (len(chunk) >= SEGMENT_ENTRIES or size + len(line) > SEGMENT_BYTES):
                self._write_segment(chunk)
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            self._write_segment(chunk)

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
                for line in _split_lines(gz):
                    # Keys are <subdir>/<stem>: no quote or backslash can occur in them.
                    end = line.find(b'"', 2)
                    if line.startswith(b'["') and end > 2:
                        yield line[2:end].decode("ascii", "replace"), line
        except (OSError, EOFError, zlib.error, ValueError):
            self.damaged += 1

    def entries(
        self, keys: Collection[str], segments: Sequence[Path] | None = None
    ) -> Iterator[tuple[str, str, tuple[str, ...]]]:
        """``(key, name, paths)`` for each of ``keys`` the cache holds, each once (newest wins
        is not needed: a build's file list never changes); only from ``segments`` if given.

        ``keys`` is only read (a re-check hands every worker task the same millions)."""
        found: set[str] = set()
        for segment in self.segments() if segments is None else segments:
            for key, line in self._lines(segment):
                if key not in keys or key in found:
                    continue
                decoded = _decode(line)
                if decoded is None:
                    continue
                name, paths = decoded
                found.add(key)
                yield key, name, tuple(paths)
                if len(found) == len(keys):
                    return

    def needs_compaction(self, live: int) -> bool:
        """More segments than ``live`` entries fill (by count or bytes), by more than
        ``MAX_CACHE_SEGMENTS``."""
        segments = self.segments()
        need = max(-(-live // SEGMENT_ENTRIES), -(-sum(map(work_size, segments)) // SEGMENT_BYTES))
        return len(segments) > need + MAX_CACHE_SEGMENTS

    def compact(self, live: set[str]) -> None:
        """Rewrite the entries of ``live`` builds into full segments; drop every other one."""
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
                        yield line + b"\n"

        self._write_segments(kept())
        for segment in old:
            segment.unlink(missing_ok=True)
