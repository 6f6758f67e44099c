"""The outcome ledger: what happened to every announced artifact, kept where runs can read it.

The copy service deletes staging files older than two hours, every hour, so
a dropped dispatch or a failed run must not lose a build silently. Every run
records its outcome (``validated``, ``invalid``, ``published``, ``failed``
with a reason; ``dispatched`` when the reconcile job announced it again),
with the time and the run link, as one JSON line in
``outcomes/<YYYY-MM-DD>.jsonl`` on a dedicated branch of this repository.

Why there: it survives cache eviction and runs (unlike the Actions cache),
needs no server of ours, stays out of the default branch's history, and
each write is a compare-and-swap of one small file through the contents API
(the blob sha read is the precondition of the write), so concurrent runs
never lose each other's lines; a refused write is read again and retried.
Files older than ``KEEP_DAYS`` are pruned by the reconcile job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from artifact_validation.core.errors import HttpStatusError, PushError
from artifact_validation.services.github import GitHub

#: The branch the ledger lives on.
DEFAULT_BRANCH = "outcomes"
#: Days of outcomes kept.
KEEP_DAYS = 30
#: Writes tried when other runs keep changing the same day's file.
WRITE_ATTEMPTS = 8

_DIRECTORY = "outcomes"


class Status(StrEnum):
    """What happened to an artifact."""

    VALIDATED = "validated"
    INVALID = "invalid"
    PUBLISHED = "published"
    FAILED = "failed"
    DISPATCHED = "dispatched"


@dataclass(frozen=True)
class Record:
    """One line of the ledger: the artifact (``<owner>/<label>/<subdir>/<file>``) and its fate."""

    artifact: str
    status: Status
    time: str
    reason: str = ""
    run: str = ""
    correlation_id: str = ""

    def to_line(self) -> str:
        """The record as one JSON line."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_line(cls, line: str) -> Record | None:
        """The record of one line, or None for a line that is not one (never fatal)."""
        try:
            doc = json.loads(line)
            return cls(**{**doc, "status": Status(doc["status"])})
        except (ValueError, TypeError, KeyError, RecursionError):
            return None


def artifact_key(owner: str, label: str, basename: str) -> str:
    """The ledger's name of a staged file: ``<owner>/<label>/<subdir>/<file>``."""
    return f"{owner}/{label}/{basename}"


class Ledger:
    """The ledger on ``branch`` of ``repo`` (see the module docstring)."""

    def __init__(
        self,
        gh: GitHub,
        repo: str,
        branch: str = DEFAULT_BRANCH,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.gh, self.repo, self.branch, self.now, self.sleep = gh, repo, branch, now, sleep

    def _day_path(self, day: datetime) -> str:
        return f"{_DIRECTORY}/{day:%Y-%m-%d}.jsonl"

    def _ensure_branch(self) -> None:
        if not self.gh.branch_exists(self.repo, self.branch):
            _, sha = self.gh.default_branch_head(self.repo)
            try:
                self.gh.create_branch(self.repo, self.branch, sha)
            except HttpStatusError as exc:
                if exc.status != 422:  # created meanwhile by another run
                    raise

    def record(self, records: Iterable[Record]) -> None:
        """Append ``records`` to today's file; retried while other runs write it too."""
        lines = "".join(r.to_line() + "\n" for r in records)
        if not lines:
            return
        self._ensure_branch()
        path = self._day_path(self.now())
        for attempt in range(WRITE_ATTEMPTS):
            current = self.gh.read_file(self.repo, self.branch, path)
            text = (current[0] if current else "") + lines
            message = f"outcomes: {lines.count(chr(10))} record(s)"
            try:
                self.gh.write_file(
                    self.repo, self.branch, path, text, message, sha=current[1] if current else None
                )
                return
            except HttpStatusError as exc:
                if exc.status not in (409, 422):
                    raise
                self.sleep(0.2 * 2**attempt)  # another run wrote the file first: read again
        raise PushError(f"{self.repo}@{self.branch}:{path} kept changing; outcome not recorded")

    def recent(self, days: int = 2) -> list[Record]:
        """The records of the last ``days`` days (today included), oldest first."""
        out: list[Record] = []
        today = self.now()
        for back in range(days - 1, -1, -1):
            current = self.gh.read_file(
                self.repo, self.branch, self._day_path(today - timedelta(back))
            )
            if current is not None:
                out += [r for r in map(Record.from_line, current[0].splitlines()) if r]
        return out

    def prune(self, keep_days: int = KEEP_DAYS) -> list[str]:
        """Delete day files older than ``keep_days``; return their names."""
        cutoff = f"{self.now() - timedelta(keep_days):%Y-%m-%d}.jsonl"
        removed = []
        for name in self.gh.list_files(self.repo, self.branch, _DIRECTORY):
            if name.endswith(".jsonl") and name < cutoff:
                path = f"{_DIRECTORY}/{name}"
                current = self.gh.read_file(self.repo, self.branch, path)
                if current is not None:
                    self.gh.delete_file(
                        self.repo, self.branch, path, current[1], f"outcomes: prune {name}"
                    )
                    removed.append(name)
        return removed


def latest(records: Iterable[Record]) -> dict[str, Record]:
    """The newest record of each artifact."""
    out: dict[str, Record] = {}
    for record in records:
        if record.artifact not in out or record.time >= out[record.artifact].time:
            out[record.artifact] = record
    return out
