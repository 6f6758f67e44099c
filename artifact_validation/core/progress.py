"""Progress display for entry points: a bar on a terminal, a plain line every so often in CI.

The library never prints: a long-running library call takes an ``on_progress``
callback, and the entry point (``scan.py``, ``bench/``) passes a ``Progress``
bound to its own stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

#: Seconds between two redraws of the bar on a terminal.
TTY_INTERVAL = 0.2

#: Seconds between two log lines when the stream is not a terminal (CI logs).
LOG_INTERVAL = 30.0

_WIDTH = 30


class Progress:
    """Report ``done/total`` to ``stream``: a redrawn bar on a tty, else periodic log lines.

    Call it with ``(done, total, errors)``; it decides itself when to write, so
    calling it per item is cheap. ``close`` ends the bar's line.
    """

    def __init__(
        self,
        stream: TextIO,
        label: str,
        *,
        tty: bool | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.label = label
        self.tty = stream.isatty() if tty is None else tty
        self.interval = (
            interval if interval is not None else (TTY_INTERVAL if self.tty else LOG_INTERVAL)
        )
        self.clock = clock
        self.start = clock()
        self._last = self.start
        self._drawn = False

    def __call__(self, done: int, total: int, errors: int = 0) -> None:
        """Record the count; write when the interval has passed."""
        now = self.clock()
        if now - self._last < self.interval:
            return
        self._last = now
        self._write(done, total, errors, now)

    def _write(self, done: int, total: int, errors: int, now: float) -> None:
        elapsed = max(now - self.start, 1e-9)
        rate = done / elapsed
        share = done / total if total else 1.0
        tail = f"{done:,}/{total:,} {rate:,.0f}/s" + (f", {errors:,} errors" if errors else "")
        if self.tty:
            filled = int(share * _WIDTH)
            bar = "#" * filled + "." * (_WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {share:6.1%} {tail}\x1b[K")
            self._drawn = True
        else:
            self.stream.write(f"{self.label}: {share:.1%} {tail}, {elapsed:,.0f}s\n")
        self.stream.flush()

    def close(self, done: int, total: int, errors: int = 0) -> None:
        """Write the final count (and end the bar's line on a tty)."""
        self._write(done, total, errors, self.clock())
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
