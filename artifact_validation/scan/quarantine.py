"""Quarantine: an artifact that cannot be read run after run stops failing every scan.

An artifact whose read fails on ``QUARANTINE_AFTER`` consecutive attempts
(default 3; a success in between starts the count again) moves from the
errors to the quarantine, with its last error, when it first failed, how many
attempts failed and when it is tried next (``RETRY_EVERY``, a week, after the
last attempt). A quarantined artifact is not an error: the scan exits 0 for
it, lists it in ``scan_quarantine.yaml`` and announces it once, when it
enters. A read that succeeds later takes it out of both lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from artifact_validation.core.utc import parse_utc

#: Failed attempts in a row before an artifact is quarantined.
QUARANTINE_AFTER = 3

#: How long a quarantined artifact waits before it is tried again.
RETRY_EVERY = timedelta(days=7)


@dataclass(frozen=True)
class Failure:
    """Failed reads of one artifact file: the last reason, since when, how many, next try."""

    reason: str
    first_seen: str
    attempts: int
    #: set once quarantined: not tried again before this time
    retry_after: str = ""

    def to_json(self) -> dict[str, Any]:
        """The state-file and ``scan_quarantine.yaml`` form."""
        doc: dict[str, Any] = {
            "reason": self.reason,
            "first_seen": self.first_seen,
            "attempts": self.attempts,
        }
        if self.retry_after:
            doc["retry_after"] = self.retry_after
        return doc

    @classmethod
    def from_json(cls, doc: Any) -> Failure:
        """Check one decoded entry strictly; ``ValueError`` says what is wrong."""
        if not isinstance(doc, dict) or set(doc) - {
            "reason",
            "first_seen",
            "attempts",
            "retry_after",
        }:
            raise ValueError("must be {reason, first_seen, attempts[, retry_after]}")
        reason, first, attempts = doc.get("reason"), doc.get("first_seen"), doc.get("attempts")
        retry = doc.get("retry_after", "")
        if not isinstance(reason, str) or not isinstance(first, str) or not isinstance(retry, str):
            raise ValueError("reason, first_seen and retry_after must be strings")
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
            raise ValueError("attempts must be a positive integer")
        parse_utc(first)
        if retry:
            parse_utc(retry)
        return cls(reason, first, attempts, retry)

    def due(self, now: datetime) -> bool:
        """Whether a quarantined artifact is to be tried again at ``now``."""
        return not self.retry_after or now >= parse_utc(self.retry_after)
