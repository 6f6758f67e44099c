"""The artifact's bytes as the parsers read them, hashed exactly once, in file order."""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from typing import BinaryIO

from artifact_validation.core.conda import MiB
from artifact_validation.core.errors import ArchiveIOError

CHUNK = 1 * MiB
#: A forward jump in the read position up to this size is hashed in place; a larger one (the ZIP
#: central directory read first) is left for ``finish`` so the file is still hashed in one pass.
_HASH_GAP = 1 * MiB
#: Chunks waiting for the hashing thread (each about ``CHUNK``): bounds memory.
_HASH_QUEUE = 8


class Hasher:
    """md5 and sha256 of a byte stream, computed on a helper thread while the parsers work.

    hashlib releases the GIL for large updates, so hashing overlaps with
    decompression instead of adding to it. Bytes are handed over in chunks of
    about ``CHUNK``; at most ``_HASH_QUEUE`` chunks wait, so memory is bounded.
    """

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._pending = bytearray()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_HASH_QUEUE)
        self._thread = threading.Thread(target=self._run, name="artifact-hasher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._md5.update(chunk)
            self._sha256.update(chunk)

    def update(self, data: bytes | memoryview) -> None:
        """Hash ``data`` next (it is copied or handed over whole, never modified)."""
        if not self._pending and len(data) >= CHUNK and isinstance(data, bytes):
            self._queue.put(data)
            return
        self._pending += data
        if len(self._pending) >= CHUNK:
            self._queue.put(bytes(self._pending))
            self._pending.clear()

    def close(self) -> None:
        """Stop the thread after it hashed everything handed over so far (idempotent)."""
        if self._thread.is_alive():
            if self._pending:
                self._queue.put(bytes(self._pending))
                self._pending.clear()
            self._queue.put(None)
            self._thread.join()

    def hexdigests(self) -> tuple[str, str]:
        """``(md5, sha256)`` of everything hashed; the hasher is closed."""
        self.close()
        return self._md5.hexdigest(), self._sha256.hexdigest()


class HashingSource:
    """The archive file as the parsers read it; hashes its bytes exactly once, in file order.

    Reads are ``pread`` at our own position, so ``zipfile`` may seek freely. A
    read that starts at or just after the hashed prefix extends it; anything
    left (the ZIP central directory, read first) is hashed by ``finish``.
    """

    def __init__(self, fh: BinaryIO, size: int, hashing: bool) -> None:
        self._fd = fh.fileno()
        self._size = size
        self._pos = 0
        self._hashed = 0
        self._hasher = Hasher() if hashing else None

    def _pread(self, n: int, pos: int) -> bytes:
        try:
            return os.pread(self._fd, n, pos)
        except OSError as exc:
            raise ArchiveIOError(f"cannot read the artifact: {exc.strerror or exc}") from exc

    def peek(self, n: int, pos: int) -> bytes:
        """Up to ``n`` bytes at ``pos``, outside the parsers' reading (hashing is not affected)."""
        if pos < 0 or pos >= self._size or n <= 0:
            return b""
        return self._pread(min(n, self._size - pos), pos)

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return self._size

    def read(self, n: int | None = -1) -> bytes:
        """Read up to ``n`` bytes (all when negative) at the current position."""
        remaining = max(0, self._size - self._pos)
        # never trust a size from the archive for an allocation: read at most what is there
        n = remaining if n is None or n < 0 else min(n, remaining)
        pos = self._pos
        data = self._pread(n, pos)
        self._pos += len(data)
        if self._hasher is not None:
            if self._hashed < pos <= self._hashed + _HASH_GAP:
                self._hasher.update(self._pread(pos - self._hashed, self._hashed))
                self._hashed = pos
            end = pos + len(data)
            if pos <= self._hashed < end:
                self._hasher.update(data if pos == self._hashed else data[self._hashed - pos :])
                self._hashed = end
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the read position like ``file.seek``."""
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        """The current read position."""
        return self._pos

    def seekable(self) -> bool:
        """Always True: the source is a regular file."""
        return True

    def readable(self) -> bool:
        """Always True."""
        return True

    def finish(self) -> tuple[str, str]:
        """Hash whatever the parsers did not read, in order; return ``(md5, sha256)`` hex."""
        if self._hasher is None:
            return "", ""
        while self._hashed < self._size:
            chunk = self._pread(min(CHUNK, self._size - self._hashed), self._hashed)
            if not chunk:
                break
            self._hasher.update(chunk)
            self._hashed += len(chunk)
        return self._hasher.hexdigests()

    def close(self) -> None:
        """Stop the hashing thread (after an error, the hashes are not needed)."""
        if self._hasher is not None:
            self._hasher.close()
