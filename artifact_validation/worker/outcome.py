"""What one worker run found and did: exit code, JSON report, summaries, the issue body."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artifact_validation.archive.report import render_markdown, render_text
from artifact_validation.archive.verdict import Verdict
from artifact_validation.core.actions import append_step_summary, set_outputs
from artifact_validation.core.errors import EXIT_INVALID, EXIT_UNVALIDATED, EXIT_VALID
from artifact_validation.core.fileio import write_atomic
from artifact_validation.core.markdown import md_code
from artifact_validation.core.redact import redact_data
from artifact_validation.services.anaconda import Publication
from artifact_validation.worker.event import ArtifactEvent

#: GitHub refuses issue bodies over 65536 characters; reports are cut well below that.
MAX_ISSUE_BODY = 60_000


@dataclass
class Outcome:
    """What one worker run found and did; ``exit_code`` follows the README table."""

    event: ArtifactEvent
    verdict: Verdict
    feedstock_repo: str
    issue: dict[str, Any] | None = None
    publication: Publication | None = None
    removed_from_staging: bool | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 only when valid and every step succeeded; 3 when a step failed; else findings 1.

        A failed report or clean-up (``problems``) is 3 even for an invalid
        artifact, so this repository's failure notifier hears of it.
        """
        if self.problems:
            return EXIT_UNVALIDATED
        if self.verdict.findings:
            return EXIT_INVALID
        if self.verdict.errors or not self.verdict.valid:
            return EXIT_UNVALIDATED
        return EXIT_VALID

    def to_json(self) -> dict[str, Any]:
        """The JSON report: the verdict's keys (as ``validate.py --json``) plus what was done."""
        doc = self.verdict.to_json()
        doc["valid"] = self.exit_code == EXIT_VALID
        doc.update(
            {
                "exit_code": self.exit_code,
                "event": self.event.to_json(),
                "issue": self.issue,
                "publication": self.publication.to_json() if self.publication else None,
                "removed_from_staging": self.removed_from_staging,
                "problems": list(self.problems),
            }
        )
        return doc

    @property
    def summary(self) -> str:
        """One line: what the run concluded, with its exit code."""
        code = self.exit_code
        if code == EXIT_VALID:
            done = "copied to production" if self.publication else "not copied"
            return f"result: valid, {done} (exit 0)"
        if code == EXIT_INVALID:
            return "result: invalid, not published (exit 1)"
        return "result: FAILED, could not validate, publish or report; not published (exit 3)"

    def _actions_lines(self, code: Callable[[str], str]) -> list[str]:
        lines = [self.summary]
        if self.publication is not None:
            verb = "copied" if self.publication.copied else "already"
            lines.append(f"production: {verb} ({code(self.event.filename)})")
        if self.removed_from_staging is not None:
            lines.append(f"removed from staging: {'yes' if self.removed_from_staging else 'gone'}")
        if self.issue:
            how = "opened" if self.issue["created"] else "commented on"
            lines.append(f"issue {how}: {self.issue['url']}")
        lines += [f"error: {p}" for p in self.problems]
        return lines

    def render_text(self) -> str:
        """The human report for stderr: the verdict, then what was copied, opened or failed."""
        extra = "".join(f"  {line}\n" for line in self._actions_lines(str))
        return render_text(self.verdict) + extra

    def render_markdown(self) -> str:
        """The job summary: the verdict as Markdown, then what was done."""
        extra = "".join(f"- {line}\n" for line in self._actions_lines(md_code))
        return render_markdown(self.verdict) + ("\n" + extra if extra else "")


def issue_body(outcome: Outcome, run_link: str) -> str:
    """The feedstock issue (or comment): what failed, the artifact, the commit, the run."""
    event = outcome.event
    state = "is invalid" if outcome.verdict.findings else "could not be validated or published"
    lines = [
        f"The artifact {md_code(event.filename)} built from commit {event.git_sha} {state}; "
        "it was not published to the production channel.",
        "",
        f"- artifact: {md_code(event.artifact_url)}",
        f"- md5: {md_code(event.md5)}"
        + (f" · sha256: {md_code(event.sha256)}" if event.sha256 else ""),
        f"- run: {run_link or 'a local run (no link)'}",
        "",
        render_markdown(outcome.verdict, heading="####"),
    ]
    if outcome.problems:
        lines += ["", *[f"- **error**: {p}" for p in outcome.problems]]
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
    """Write the JSON report, ``valid=``/``report=`` step outputs and the job summary."""
    doc = redact_data(outcome.to_json())
    write_atomic(report_path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    valid = "true" if outcome.exit_code == EXIT_VALID else "false"
    set_outputs({"valid": valid, "report": str(report_path)}, github_output)
    append_step_summary(outcome.render_markdown(), step_summary)
