"""The scan's outcome history: ``scan_data/history.jsonl``, one JSON line per merged scan.

Append-only: each ``scan.py merge --history`` adds one line
``{"date", "invalid", "new", "errors", "complete", "new_artifacts"}`` (UTC ISO
date-time, counts of invalid files, new invalid files and errors, whether every
build was visited, and up to ``MAX_NEW_LISTED`` new invalid ``<subdir>/<file>``).
The status page draws its chart from it and lists the newest findings from it.
Reading is lenient: a line that is not such a record is skipped (and counted),
never fatal, so a hand-edited or truncated file still gives a page.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from artifact_validation.core.errors import UsageError
from artifact_validation.core.fileio import read_bytes, write_atomic
from artifact_validation.core.utc import utc_text

#: File name of the history inside ``scan_data/``.
HISTORY_NAME = "history.jsonl"

#: At most this many new invalid artifacts are listed on one history line.
MAX_NEW_LISTED = 200


@dataclass(frozen=True)
class HistoryPoint:
    """One merged scan: when, how many invalid files, which ones were new."""

    date: str
    invalid: int
    new: int = 0
    errors: int = 0
    complete: bool = True
    new_artifacts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The history line's object."""
        return {
            "date": self.date,
            "invalid": self.invalid,
            "new": self.new,
            "errors": self.errors,
            "complete": self.complete,
            "new_artifacts": list(self.new_artifacts),
        }

    @classmethod
    def from_json(cls, doc: Any) -> HistoryPoint | None:
        """A point from one decoded line, or None when the line is not a history record."""
        if not isinstance(doc, dict):
            return None
        date, invalid = doc.get("date"), doc.get("invalid")
        if not isinstance(date, str) or not isinstance(invalid, int) or not _is_count(invalid):
            return None
        try:
            datetime.fromisoformat(date)
        except ValueError:
            return None
        new = doc.get("new", 0)
        errors = doc.get("errors", 0)
        artifacts = doc.get("new_artifacts", [])
        if not isinstance(artifacts, list):
            artifacts = []
        return cls(
            date=date,
            invalid=invalid,
            new=new if _is_count(new) else 0,
            errors=errors if _is_count(errors) else 0,
            complete=doc.get("complete") is not False,
            new_artifacts=tuple(a for a in artifacts if isinstance(a, str)),
        )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def history_point(
    invalid: int,
    new_artifacts: Sequence[str],
    errors: int,
    complete: bool,
    now: datetime | None = None,
) -> HistoryPoint:
    """The record of one merged scan, dated ``now`` (default: the current UTC time)."""
    return HistoryPoint(
        date=utc_text(now),
        invalid=invalid,
        new=len(new_artifacts),
        errors=errors,
        complete=complete,
        new_artifacts=tuple(sorted(new_artifacts)[:MAX_NEW_LISTED]),
    )


def append_history(path: str | os.PathLike[str], point: HistoryPoint) -> None:
    """Add one line to the history; the file is rewritten atomically (never half a line)."""
    target = Path(path)
    before = read_bytes(target, UsageError, "scan history") if target.exists() else b""
    if before and not before.endswith(b"\n"):
        before += b"\n"
    line = json.dumps(point.to_json(), sort_keys=True, separators=(",", ":")) + "\n"
    write_atomic(target, before + line.encode("utf-8"))


def load_history(path: str | os.PathLike[str]) -> tuple[list[HistoryPoint], int]:
    """The history's points in date order, and how many lines were skipped as unreadable.

    A missing file is an empty history.
    """
    target = Path(path)
    if not target.exists():
        return [], 0
    raw = read_bytes(target, UsageError, "scan history")
    points, skipped = [], 0
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            point = HistoryPoint.from_json(json.loads(line))
        except (ValueError, RecursionError):
            point = None
        if point is None:
            skipped += 1
        else:
            points.append(point)
    points.sort(key=lambda p: _sort_key(p.date))
    return points, skipped


def _sort_key(date: str) -> datetime:
    parsed = datetime.fromisoformat(date)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
