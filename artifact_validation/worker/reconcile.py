"""Reconcile: no upload lost. Announce again every staged artifact no run has taken care of.

The copy service deletes staging files older than two hours. Every 15
minutes the reconcile job lists the staging owner's labels and files, and
for each file older than ``min_age`` with no outcome in the ledger (and not
announced again in the last ``redispatch_after``), it sends the same
``repository_dispatch`` the copy service sends, so the validate-artifact
workflow processes it like any upload; the ledger records the announcement.
The feedstock comes from the ownership registry (the one feedstock the name
is registered to); a name with none or several is reported, not guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from artifact_validation.core.conda import split_filename, split_stem
from artifact_validation.core.errors import ValidationError
from artifact_validation.core.utc import utc_text
from artifact_validation.services.anaconda import Anaconda, Dist
from artifact_validation.services.github import GitHub
from artifact_validation.services.ownership import Registry
from artifact_validation.worker.event import EVENT_TYPES, ArtifactEvent, dispatch_payload
from artifact_validation.worker.ledger import (
    Ledger,
    Record,
    Status,
    artifact_key,
    latest,
)

#: Seconds a staged file is left to its own dispatch before reconcile steps in.
DEFAULT_MIN_AGE = 600.0
#: Seconds before an artifact announced by reconcile (and still without outcome) is announced again.
DEFAULT_REDISPATCH_AFTER = 3600.0


@dataclass
class Reconciliation:
    """What a reconcile run found and did."""

    dispatched: list[str] = field(default_factory=list)
    #: artifact -> why it was not announced (unknown feedstock, no hashes, ...)
    skipped: dict[str, str] = field(default_factory=dict)
    pruned: list[str] = field(default_factory=list)


def _parse_time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def reconcile(
    anaconda: Anaconda,
    registry: Registry,
    gh: GitHub,
    *,
    repo: str,
    staging_owner: str,
    download_url: str,
    labels: Sequence[str] = (),
    subdirs: Iterable[str] = (),
    min_age: float = DEFAULT_MIN_AGE,
    redispatch_after: float = DEFAULT_REDISPATCH_AFTER,
    dry_run: bool = False,
    ledger: Ledger | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Reconciliation:
    """Announce again the staged files without an outcome; see the module docstring.

    ``download_url`` is the base of artifact URLs (``https://conda.anaconda.org``).
    ``labels`` and ``subdirs`` narrow the run (all when empty).
    """
    ledger = ledger or Ledger(gh, repo, now=now)
    result = Reconciliation()
    current = now()
    known = latest(ledger.recent(days=2))
    wanted_subdirs = set(subdirs)
    announced: list[Record] = []
    announcer = _Announcer(anaconda, registry, staging_owner, download_url)
    for label in labels or anaconda.labels(staging_owner):
        for staged in anaconda.label_files(staging_owner, label):
            subdir, _, filename = staged.basename.partition("/")
            key = artifact_key(staging_owner, label, staged.basename)
            if wanted_subdirs and subdir not in wanted_subdirs:
                continue
            uploaded = _parse_time(staged.upload_time)
            if uploaded is None or (current - uploaded).total_seconds() < min_age:
                continue
            record = known.get(key)
            if record is not None and record.status is not Status.DISPATCHED:
                continue  # a run took care of it
            if record is not None:
                when = _parse_time(record.time)
                if when is not None and (current - when).total_seconds() < redispatch_after:
                    continue  # announced recently; its run may still be going
            try:
                event = announcer.event(label, subdir, filename)
            except (ValueError, ValidationError) as exc:
                result.skipped[key] = str(exc)
                continue
            if not dry_run:
                gh.dispatch(repo, EVENT_TYPES[0], dispatch_payload(event))
                announced.append(
                    Record(key, Status.DISPATCHED, utc_text(current), "no outcome recorded")
                )
            result.dispatched.append(key)
    if not dry_run:
        ledger.record(announced)
        result.pruned = ledger.prune()
    return result


@dataclass(frozen=True)
class _Announcer:
    """Turns a staged file into the event the copy service would have sent."""

    anaconda: Anaconda
    registry: Registry
    owner: str
    download_url: str

    def event(self, label: str, subdir: str, filename: str) -> ArtifactEvent:
        parts = split_filename(filename)
        if parts is None:
            raise ValueError("not a conda artifact file name")
        name, version, _ = split_stem(parts[0])
        info = self.anaconda.dist_info(self.owner, Dist(name, version, f"{subdir}/{filename}"))
        if info is None:
            raise ValueError("gone from staging")
        feedstocks = self.registry.feedstocks(name) or []
        if len(feedstocks) != 1:
            owners = ", ".join(feedstocks) or "none"
            raise ValueError(f"the feedstock is not known: the registry lists {owners}")
        where = self.owner if label == "main" else f"{self.owner}/label/{label}"
        return ArtifactEvent(
            artifact_url=f"{self.download_url.rstrip('/')}/{where}/{subdir}/{filename}",
            md5=info.md5,
            sha256=info.sha256,
            feedstock=feedstocks[0],
            git_sha="",
            subdir=subdir,
            filename=filename,
            label=label,
            comment_on_error=True,
            correlation_id=f"reconcile-{utc_text().replace(':', '')}",
        )
