"""The verdict on one artifact: identity, hashes, violations, findings and errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from artifact_validation.core.filelist import FileList
from artifact_validation.core.findings import Code, Finding
from artifact_validation.core.markdown import display_path
from artifact_validation.filters.matcher import Matcher, Violation
from artifact_validation.filters.waivers import WaivedViolation, Waiver, Waivers


@dataclass
class Verdict:
    """Everything a check found about one artifact; valid only when it found nothing at all."""

    name: str = ""
    subdir: str = ""
    version: str = ""
    build: str = ""
    md5: str = ""
    sha256: str = ""
    source: str = ""
    violations: list[Violation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: AV201 violations an active waiver covers: shown, but they do not make it invalid
    waived: list[WaivedViolation] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True only when every check ran and found nothing (an error is never valid)."""
        return not (self.violations or self.findings or self.errors)

    def add_violations(self, violations: list[Violation]) -> None:
        """Record clobbering violations and the AV201 finding that summarizes them."""
        if not violations:
            return
        self.violations.extend(violations)
        filters = sorted({v.filter for v in violations})
        self.findings.append(
            Finding(
                Code.AV201,
                tuple(v.path for v in violations),
                f"protected by filter(s) {', '.join(filters)}",
            )
        )

    def apply_waivers(self, waivers: Waivers | None) -> None:
        """Move the violations an active waiver covers to ``waived``; rebuild the AV201 finding.

        Only clobbering violations can be waived: every other finding stays.
        """
        if waivers is None or not waivers.active or not self.violations:
            return
        kept, waived = waivers.split(self.name, self.subdir, self.violations)
        if not waived:
            return
        self.waived.extend(waived)
        self.violations = []
        self.findings = [f for f in self.findings if f.code is not Code.AV201]
        self.add_violations(kept)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON contract of ``validate.py --json`` (lists sorted)."""
        return {
            "valid": self.valid,
            "name": self.name,
            "version": self.version,
            "build": self.build,
            "subdir": self.subdir,
            "md5": self.md5,
            "sha256": self.sha256,
            "source": self.source,
            "violations": [
                v.to_json() for v in sorted(self.violations, key=lambda v: (v.path, v.filter))
            ],
            "findings": [f.to_json() for f in sorted(self.findings, key=Finding.sort_key)],
            "errors": sorted(self.errors),
            "waived": [
                w.to_json()
                for w in sorted(self.waived, key=lambda w: (w.violation.path, w.violation.filter))
            ],
        }


def verdict_from_json(doc: Any) -> Verdict:
    """The verdict ``Verdict.to_json`` wrote (a later job reads it back); ``ValueError`` if not."""
    if not isinstance(doc, dict):
        raise ValueError("a verdict must be a JSON object")
    text = {k: str(doc.get(k) or "") for k in _IDENTITY}
    try:
        violations = [
            Violation(
                v["path"],
                v["filter"],
                v["glob"],
                tuple(v["allowed"]),
                str(v.get("filter_file") or ""),
                int(v.get("filter_line") or 0),
            )
            for v in doc.get("violations", [])
        ]
        findings = [
            Finding(Code[f["code"]], tuple(f["paths"]), f.get("detail", ""))
            for f in doc.get("findings", [])
        ]
        waived = [_waived_from_json(w) for w in doc.get("waived", [])]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"a verdict's violations or findings are malformed: {exc}") from exc
    errors = [str(e) for e in doc.get("errors", [])]
    return Verdict(**text, violations=violations, findings=findings, errors=errors, waived=waived)


def _waived_from_json(doc: dict[str, Any]) -> WaivedViolation:
    """A ``waived`` entry read back: the violation and what the report shows of the waiver."""
    v = doc["violation"]
    waiver = Waiver(
        source=str(doc["waiver"]),
        package="",
        filter=v["filter"],
        paths=(),
        reason=str(doc["reason"]),
        issue=str(doc["issue"]),
        expires=dt.date.fromisoformat(doc["expires"]),
    )
    return WaivedViolation(
        Violation(v["path"], v["filter"], v["glob"], tuple(v["allowed"])), waiver
    )


_IDENTITY = ("name", "subdir", "version", "build", "md5", "sha256", "source")


def verdict_for_file_list(
    file_list: FileList, matcher: Matcher, source: str = "", waivers: Waivers | None = None
) -> Verdict:
    """Check what a file list would install against the filters (no download, no archive).

    Violations an active waiver of ``waivers`` covers are reported as waived.
    """
    verdict = Verdict(
        name=display_path(file_list.name),
        subdir=display_path(file_list.subdir),
        version=display_path(file_list.version),
        build=display_path(file_list.build),
        source=display_path(source),
    )
    paths = (display_path(p) for p in file_list.paths)
    verdict.add_violations(matcher.check(file_list.name, file_list.subdir, paths))
    verdict.apply_waivers(waivers)
    return verdict
