"""Channel reads over HTTP: Range reads of a .conda's info part, bounded streams, byte counts."""

from __future__ import annotations

import threading
from typing import Any

import requests
from conda_package_streaming.lazy_wheel import HTTPRangeRequestUnsupported, LazyConda

from artifact_validation.core.conda import MiB
from artifact_validation.core.errors import ArtifactReadError, Cancelled, FetchError, LimitError

CHUNK = 1 * MiB

__all__ = ["CHUNK", "Bounded", "HTTPRangeRequestUnsupported", "RangeConda", "TransferStats"]


class TransferStats:
    """Bytes and requests sent over the network for artifacts (thread-safe counters)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes = 0
        self.requests = 0

    def add(self, nbytes: int, requests_: int = 0) -> None:
        """Count ``nbytes`` received and ``requests_`` requests made."""
        with self._lock:
            self.bytes += nbytes
            self.requests += requests_


class RangeConda(LazyConda):
    """``LazyConda`` with every answer checked: 206 only, no more bytes than asked, bounded size.

    Upstream trusts the server: a 200 to a ranged request would be written as
    if it were the range, and the total size from ``Content-Range`` becomes a
    temporary file of that size. Here both are refused before any body is read,
    and the total must be the size repodata gives (when it gives one).
    """

    def __init__(
        self,
        url: str,
        session: requests.Session,
        size: int | None,
        stats: TransferStats,
        max_size: int,
    ) -> None:
        self._expected = size
        self._max_size = max_size
        self._stats = stats
        self._response: Any = None
        try:
            super().__init__(url, session)
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        if self._response is not None:
            self._response.close()
        if getattr(self, "_file", None) is not None:
            self._file.close()

    def truncate(self, size: int | None = None) -> int:
        """Size the local sparse copy; a size other than repodata's, or too large, is refused."""
        if size is not None and self._expected is not None and size != self._expected:
            raise ArtifactReadError(
                f"{self._url}: the server has {size} bytes, repodata says {self._expected}"
            )
        if size is not None and size > self._max_size:
            raise LimitError(f"{self._url}: {size} bytes, more than {self._max_size}")
        return super().truncate(size)

    def _stream_response(self, start: int | str, end: int, base_headers: Any = None) -> Any:
        kwargs = {} if base_headers is None else {"base_headers": base_headers}
        response = self._response = super()._stream_response(start, end, **kwargs)
        self._stats.add(0, 1)
        if response.status_code != 206:
            response.close()
            if response.status_code == 200 and start == "":
                raise HTTPRangeRequestUnsupported("range request is not supported")
            raise FetchError(f"{self._url}: HTTP {response.status_code} to a Range request")
        asked = end if start == "" else end - int(start) + 1
        length = response.headers.get("content-length", "")
        if not length.isdigit() or int(length) > asked:
            response.close()
            raise FetchError(
                f"{self._url}: a Range answer of {length or 'unknown'} bytes for {asked} asked"
            )
        self._stats.add(int(length))
        return response

    def close(self) -> None:
        """Close the last response and the local copy."""
        self._release()


class Bounded:
    """A read-only stream counted against a byte limit, stoppable between reads."""

    def __init__(
        self,
        raw: Any,
        limit: int,
        where: str,
        stats: TransferStats | None,
        stop: threading.Event | None,
    ) -> None:
        self._raw = raw
        self._limit = limit
        self._where = where
        self._stats = stats
        self._stop = stop
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes (a chunk when negative)."""
        if self._stop is not None and self._stop.is_set():
            raise Cancelled(f"{self._where}: stopped")
        data = self._raw.read(CHUNK if n is None or n < 0 else n)
        self.count += len(data)
        if self._stats is not None:
            self._stats.add(len(data))
        if self.count > self._limit:
            raise LimitError(f"{self._where}: more than {self._limit} bytes")
        return data

    def readable(self) -> bool:
        """Always True."""
        return True
