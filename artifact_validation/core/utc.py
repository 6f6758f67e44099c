"""The one way a time is written into a state file, a ledger record or a history line.

``utc_text(moment)`` is ``2026-11-29T21:00:00Z`` (UTC, whole seconds);
``parse_utc`` reads it back and refuses anything else with ``ValueError``.
"""

from __future__ import annotations

from datetime import UTC, datetime

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_text(moment: datetime | None = None) -> str:
    """``moment`` (default: now) in UTC, ISO 8601 with a ``Z``, whole seconds."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime(UTC_FORMAT)


def parse_utc(text: str) -> datetime:
    """The inverse of ``utc_text``; ``ValueError`` for any other spelling."""
    return datetime.strptime(text, UTC_FORMAT).replace(tzinfo=UTC)
