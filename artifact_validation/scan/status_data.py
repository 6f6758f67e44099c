"""What the status page shows, read from ``scan_data/`` (and ``waivers/`` if there is one).

``load_status`` reads ``invalid_packages.yaml``, ``invalid_packages_prs.yaml``,
``scan_errors.yaml``, ``scan_state/index.json`` (or a format-1 ``scan_state.json``)
and ``history.jsonl`` (each may be missing; a malformed invalid-packages or PR file is
a ``UsageError``) and the waivers leniently; ``StatusData`` holds the counts the page renders.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from artifact_validation.core.errors import UsageError
from artifact_validation.core.fileio import read_yaml
from artifact_validation.scan.admin_requests import load_invalid, load_recorded
from artifact_validation.scan.history import HISTORY_NAME, HistoryPoint, load_history
from artifact_validation.scan.state import (
    ERRORS_NAME,
    LEGACY_STATE_NAME,
    OUTPUT_NAME,
    STATE_NAME,
)

#: The mark-broken PR records inside ``scan_data/``.
PRS_NAME = "invalid_packages_prs.yaml"

#: The fields a waiver may have (anything else in a waiver file is ignored).
WAIVER_FIELDS = ("package", "filter", "paths", "reason", "issue", "expires")


@dataclass(frozen=True)
class Finding:
    """One invalid artifact file: its package, ``<subdir>/<file>``, and flagged paths by filter."""

    name: str
    artifact: str
    violations: dict[str, list[str]]

    @property
    def subdir(self) -> str:
        """The artifact's subdir (``noarch``, ``linux-64``, ...)."""
        return self.artifact.split("/", 1)[0] if "/" in self.artifact else ""

    @property
    def filename(self) -> str:
        """The artifact's file name."""
        return self.artifact.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class PullRecord:
    """A recorded mark-broken request for one artifact: a PR, or why it was skipped."""

    artifact: str
    number: int | None
    url: str
    skipped: str


@dataclass(frozen=True)
class Waiver:
    """An accepted exception, read leniently: every field is text ("" when absent)."""

    source: str
    package: str
    filter: str
    paths: tuple[str, ...]
    reason: str
    issue: str
    expires: str

    def expired(self, today: date) -> bool:
        """True when ``expires`` is a date before ``today`` (an unreadable date never expires)."""
        try:
            return date.fromisoformat(self.expires[:10]) < today
        except ValueError:
            return False


@dataclass
class StatusData:
    """Everything the status page shows."""

    findings: list[Finding] = field(default_factory=list)
    prs: list[PullRecord] = field(default_factory=list)
    errors: int = 0
    complete: bool | None = None
    channel_url: str = ""
    history: list[HistoryPoint] = field(default_factory=list)
    history_skipped: int = 0
    waivers: list[Waiver] = field(default_factory=list)
    #: False when there is no ``waivers/`` directory at all.
    waivers_present: bool = False
    waivers_skipped: int = 0

    @property
    def invalid_count(self) -> int:
        """Invalid (clobbering) artifact files: the badge's number."""
        return len(self.findings)

    def per_filter(self) -> list[tuple[str, int]]:
        """``(filter, artifacts it flags)``, most first, then by name."""
        counts = Counter(f for finding in self.findings for f in finding.violations)
        return _ranked(counts)

    def per_subdir(self) -> list[tuple[str, int]]:
        """``(subdir, invalid artifacts in it)``, most first, then by name."""
        return _ranked(Counter(finding.subdir for finding in self.findings))

    def per_package(self) -> list[tuple[str, int]]:
        """``(package name, its invalid artifacts)``, most first, then by name."""
        return _ranked(Counter(finding.name for finding in self.findings))

    def newest(self, limit: int) -> list[Finding]:
        """The newest findings still invalid: from the history's newest runs, then by name.

        Without a history (or once it is exhausted) the remaining findings follow
        sorted by package and artifact, so the list is always deterministic.
        """
        by_artifact = {f.artifact: f for f in self.findings}
        out: list[Finding] = []
        seen: set[str] = set()
        for point in reversed(self.history):
            for artifact in point.new_artifacts:
                if artifact in by_artifact and artifact not in seen:
                    seen.add(artifact)
                    out.append(by_artifact[artifact])
        rest = sorted(
            (f for f in self.findings if f.artifact not in seen), key=lambda f: (f.name, f.artifact)
        )
        return (out + rest)[:limit]

    def open_prs(self) -> list[PullRecord]:
        """The recorded mark-broken pull requests (not the skipped artifacts), by number."""
        return sorted((p for p in self.prs if p.number is not None), key=lambda p: p.number or 0)


def _ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _findings(invalid: dict[str, Any]) -> list[Finding]:
    out = []
    for name, artifacts in invalid.items():
        for artifact, by_filter in artifacts.items():
            violations = {str(f): [str(p) for p in paths] for f, paths in by_filter.items()}
            out.append(Finding(str(name), str(artifact), violations))
    return sorted(out, key=lambda f: (f.name, f.artifact))


def _pull_records(recorded: dict[str, Any]) -> list[PullRecord]:
    out = []
    for artifact, record in sorted(recorded.items(), key=lambda kv: str(kv[0])):
        if not isinstance(record, dict):
            continue
        number = record.get("number")
        if not isinstance(number, int) or isinstance(number, bool):
            number = None
        url = record.get("url")
        skipped = record.get("skipped")
        out.append(
            PullRecord(
                str(artifact),
                number,
                url if isinstance(url, str) else "",
                "" if skipped is None else str(skipped),
            )
        )
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def load_waivers(directory: str | os.PathLike[str]) -> tuple[list[Waiver], int]:
    """The waivers in ``directory/*.yaml`` (and ``*.yml``), and how many entries were skipped.

    Lenient: a file may hold one waiver, a list of them, or ``{waivers: [...]}``;
    a file that is not YAML, or an entry without a ``package``, is skipped and counted.
    """
    root = Path(directory)
    waivers, skipped = [], 0
    files = sorted([*root.glob("*.yaml"), *root.glob("*.yml")])
    for path in files:
        try:
            doc = read_yaml(path, UsageError, "waiver file")
        except UsageError:
            skipped += 1
            continue
        if isinstance(doc, dict) and isinstance(doc.get("waivers"), list):
            doc = doc["waivers"]
        entries = doc if isinstance(doc, list) else [doc]
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("package"):
                skipped += 1
                continue
            paths = entry.get("paths") or []
            waivers.append(
                Waiver(
                    source=path.name,
                    package=_text(entry.get("package")),
                    filter=_text(entry.get("filter")),
                    paths=tuple(_text(p) for p in (paths if isinstance(paths, list) else [paths])),
                    reason=_text(entry.get("reason")),
                    issue=_text(entry.get("issue")),
                    expires=_text(entry.get("expires")),
                )
            )
    return waivers, skipped


def _state_summary(path: Path) -> tuple[bool | None, str]:
    """``complete`` and ``channel`` of the scan state, leniently (the page only shows them)."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None, ""
    if not isinstance(doc, dict):
        return None, ""
    complete = doc.get("complete")
    channel = doc.get("channel")
    return (
        complete if isinstance(complete, bool) else None,
        channel if isinstance(channel, str) else "",
    )


def load_status(
    scan_data: str | os.PathLike[str], waivers_dir: str | os.PathLike[str] | None = None
) -> StatusData:
    """Read a ``scan_data/`` directory (see the module docstring)."""
    root = Path(scan_data)
    if not root.is_dir():
        raise UsageError(f"{root}: no such scan_data directory")
    data = StatusData(
        findings=_findings(load_invalid(root / OUTPUT_NAME)),
        prs=_pull_records(load_recorded(root / PRS_NAME)),
    )
    errors_path = root / ERRORS_NAME
    if errors_path.exists():
        errors = read_yaml(errors_path, UsageError, "scan errors")
        data.errors = len(errors) if isinstance(errors, dict) else 0
    index = root / STATE_NAME / "index.json"
    state = index if index.is_file() else root / LEGACY_STATE_NAME
    data.complete, data.channel_url = _state_summary(state)
    data.history, data.history_skipped = load_history(root / HISTORY_NAME)
    if waivers_dir is not None and Path(waivers_dir).is_dir():
        data.waivers_present = True
        data.waivers, data.waivers_skipped = load_waivers(waivers_dir)
    return data
