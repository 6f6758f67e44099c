"""What one worker run found and did: exit code, JSON report, summaries, the issue body.

The JSON report is also how the steps hand over between jobs: the validate
job writes it, the publish and report jobs read it back (``load_outcome``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artifact_validation.archive.report import render_markdown, render_text
from artifact_validation.archive.verdict import Verdict, verdict_from_json
from artifact_validation.core.actions import append_step_summary, set_outputs
from artifact_validation.core.errors import (
    EXIT_INVALID,
    EXIT_UNVALIDATED,
    EXIT_VALID,
    UsageError,
)
from artifact_validation.core.fileio import read_json, write_atomic
from artifact_validation.core.findings import DocsLink
from artifact_validation.core.markdown import md_code, md_text
from artifact_validation.core.redact import redact_data
from artifact_validation.services.ownership import Ownership
from artifact_validation.worker.event import ArtifactEvent
from artifact_validation.worker.ledger import Status
from artifact_validation.worker.publish import Publication

#: GitHub refuses issue bodies over 65536 characters; reports are cut well below that.
MAX_ISSUE_BODY = 60_000


@dataclass
class Outcome:
    """What one worker run found and did; ``exit_code`` follows the table of docs/operations.md."""

    event: ArtifactEvent
    verdict: Verdict
    ownership: Ownership | None = None
    #: whether this run publishes (``--copy`` with the publish step, or a later report of it)
    copy: bool = False
    publication: Publication | None = None
    issue: dict[str, Any] | None = None
    core_issue: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    #: where each finding's explanation is linked (the run's settings; not in the JSON report)
    docs: DocsLink = field(default_factory=DocsLink)

    @property
    def published(self) -> bool:
        """The validated bytes are in production (copied now, or already there)."""
        return self.publication is not None and self.publication.published

    @property
    def findings(self) -> bool:
        """Whether anything is wrong with the artifact itself (exit 1)."""
        return bool(self.verdict.findings) or (
            self.publication is not None and self.publication.finding is not None
        )

    @property
    def exit_code(self) -> int:
        """0 only when valid and every step asked for succeeded; 1 findings; 3 failures.

        A failed step (``problems``) is 3 even for an invalid artifact, so this
        repository's failure notifier hears of it.
        """
        if self.problems or (self.publication is not None and self.publication.problem):
            return EXIT_UNVALIDATED
        if self.findings:
            return EXIT_INVALID
        if self.verdict.errors or not self.verdict.valid:
            return EXIT_UNVALIDATED
        if self.copy and not self.published:
            return EXIT_UNVALIDATED
        return EXIT_VALID

    @property
    def status(self) -> Status:
        """The ledger's word for this outcome."""
        if self.published:
            return Status.PUBLISHED
        code = self.exit_code
        if code == EXIT_VALID:
            return Status.VALIDATED
        return Status.INVALID if code == EXIT_INVALID else Status.FAILED

    @property
    def reason(self) -> str:
        """Why it was not published, in one line (empty when it was, or was not asked to be)."""
        if self.published or self.exit_code == EXIT_VALID:
            return ""
        problems = [*self.problems, *self.verdict.errors]
        if self.publication is not None and self.publication.problem:
            problems.append(self.publication.problem)
        codes = sorted({f.code.name for f in self.verdict.findings})
        if self.publication is not None and self.publication.finding is not None:
            codes.append(self.publication.finding.code.name)
        return "; ".join([*codes, *problems])[:500]

    def to_json(self) -> dict[str, Any]:
        """The JSON report: the verdict's keys (as ``validate.py --json``) plus what was done."""
        doc = self.verdict.to_json()
        doc["verdict"] = self.verdict.to_json()
        doc["valid"] = self.exit_code == EXIT_VALID
        doc.update(
            {
                "exit_code": self.exit_code,
                "status": self.status.value,
                "event": self.event.to_json(),
                "ownership": self.ownership.to_json() if self.ownership else None,
                "copy": self.copy,
                "publication": self.publication.to_json() if self.publication else None,
                "issue": self.issue,
                "core_issue": self.core_issue,
                "problems": list(self.problems),
            }
        )
        return doc

    @property
    def summary(self) -> str:
        """One line: what the run concluded, with its exit code."""
        code = self.exit_code
        if code == EXIT_VALID:
            done = "published" if self.published else "not copied"
            if self.publication is not None and self.publication.already:
                done = "already published, nothing copied"
            return f"result: valid, {done} (exit 0)"
        left = "not published"
        if self.publication is not None and self.publication.bad_copy:
            removed = not self.publication.problem
            left = (
                "production held other bytes after the copy; they were removed"
                if removed
                else "PRODUCTION HOLDS OTHER BYTES and removing them failed"
            )
        if code == EXIT_INVALID:
            return f"result: invalid, {left} (exit 1)"
        return f"result: FAILED, could not validate, publish or report; {left} (exit 3)"

    def _actions_lines(self, code: Callable[[str], str]) -> list[str]:
        lines = [self.summary]
        if self.publication is not None:
            lines += [f"publication: {step}" for step in self.publication.steps]
            if self.publication.finding is not None:
                finding = self.publication.finding
                lines.append(f"{finding.code.name}: {finding.message}")
            if self.publication.problem:
                lines.append(f"error: {self.publication.problem}")
        for what, issue in (("issue", self.issue), ("core issue", self.core_issue)):
            if issue:
                how = "opened" if issue["created"] else "commented on"
                lines.append(f"{what} {how}: {issue['url']}")
        lines += [f"error: {p}" for p in self.problems]
        return lines

    def render_text(self) -> str:
        """The human report for stderr: the verdict, then what was copied, opened or failed."""
        extra = "".join(f"  {line}\n" for line in self._actions_lines(str))
        return render_text(self.verdict, self.docs) + extra

    def render_markdown(self) -> str:
        """The job summary: the verdict as Markdown, then what was done."""
        extra = "".join(f"- {md_text(line)}\n" for line in self._actions_lines(md_code))
        return render_markdown(self.verdict, docs=self.docs) + ("\n" + extra if extra else "")


def issue_body(outcome: Outcome, run_link: str) -> str:
    """The feedstock issue (or comment): what failed, the artifact, the commit, the run."""
    event = outcome.event
    state = "is invalid" if outcome.findings else "could not be validated or published"
    commit = f"built from commit {event.git_sha}" if event.git_sha else "(no commit given)"
    hashes = [f"md5 {md_code(event.md5)}"] if event.md5 else []
    hashes += [f"sha256 {md_code(event.sha256)}"] if event.sha256 else []
    lines = [
        f"Hi @conda-forge/{event.feedstock}! The artifact {md_code(event.filename)} {commit} "
        f"{state}; it was not published to the production channel.",
        "",
        f"- artifact: {md_code(event.artifact_url)} (label {md_code(event.label)})",
        f"- {' · '.join(hashes)}",
        f"- run: {run_link or 'a local run (no link)'}",
        "",
        render_markdown(outcome.verdict, heading="####", docs=outcome.docs),
    ]
    publication = outcome.publication
    if publication is not None and (publication.finding or publication.problem):
        lines += ["", "Publication:", *[f"- {md_text(s)}" for s in publication.steps]]
        if publication.finding is not None:
            finding = publication.finding
            lines.append(f"- **{finding.code.name}** {md_text(finding.message)}")
        if publication.problem:
            lines.append(f"- **error**: {md_text(publication.problem)}")
    if outcome.problems:
        lines += ["", *[f"- **error**: {md_text(p)}" for p in outcome.problems]]
    lines += [
        "",
        "Fix the problems above and rebuild; a maintainer of the channel can re-run the "
        "validation of this artifact from the `validate-artifact` workflow.",
    ]
    body = "\n".join(lines)
    if len(body) > MAX_ISSUE_BODY:
        body = body[:MAX_ISSUE_BODY] + "\n\n... (report cut; the full JSON report is on the run)"
    return body


def write_outcome(
    outcome: Outcome, report_path: Path, github_output: str | None, step_summary: str | None
) -> None:
    """Write the JSON report, ``valid=``/``report=``/``status=`` outputs and the job summary."""
    doc = redact_data(outcome.to_json())
    write_atomic(report_path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    valid = "true" if outcome.exit_code == EXIT_VALID else "false"
    outputs = {"valid": valid, "report": str(report_path), "status": outcome.status.value}
    set_outputs(outputs, github_output)
    append_step_summary(outcome.render_markdown(), step_summary)


def load_outcome(path: str | os.PathLike[str], event: ArtifactEvent) -> Outcome:
    """Read the report an earlier step wrote for ``event`` (the publish and report jobs).

    The event file is the one source of the event: a report of another
    artifact is refused (exit 2).
    """
    where = os.fspath(path)
    doc = read_json(path, UsageError, "the report of the validate step")
    if not isinstance(doc, dict) or not isinstance(doc.get("event"), dict):
        raise UsageError(f"{where}: not a report of validate_event.py")
    if doc["event"].get("artifact_url") != event.artifact_url:
        raise UsageError(f"{where}: is the report of another artifact")
    try:
        verdict = verdict_from_json(doc.get("verdict"))
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from exc
    return Outcome(
        event=event,
        verdict=verdict,
        ownership=Ownership.from_json(doc.get("ownership")),
        copy=bool(doc.get("copy")),
        publication=Publication.from_json(doc.get("publication")),
        issue=doc.get("issue") if isinstance(doc.get("issue"), dict) else None,
        problems=[str(p) for p in doc.get("problems") or []],
    )
