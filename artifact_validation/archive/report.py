"""Human reports of a verdict: plain text for terminals, Markdown for job summaries and issues."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from artifact_validation.archive.verdict import Verdict
from artifact_validation.core.findings import ADVICE, Code, DocsLink, Finding
from artifact_validation.core.markdown import md_code, md_link, md_text, plain_text
from artifact_validation.filters.matcher import Violation
from artifact_validation.filters.waivers import WaivedViolation

_T = TypeVar("_T")

_DOCS = DocsLink()

#: How many offending paths a report lists per finding before summarizing the rest.
MAX_PATHS_SHOWN = 20


def _title(verdict: Verdict, esc: Callable[[str], str] = plain_text) -> str:
    ident = " ".join(p for p in (verdict.name, verdict.version, verdict.build) if p)
    where = f" [{verdict.subdir}]" if verdict.subdir else ""
    state = "VALID" if verdict.valid else "INVALID" if not verdict.errors else "NOT VALIDATED"
    source = esc(verdict.source or ident)
    return f"{source}: {state}" + (f" ({esc(ident + where)})" if ident else "")


def _capped(items: Sequence[_T], bullet: str, noun: str, line: Callable[[_T], str]) -> list[str]:
    """``line`` of the first ``MAX_PATHS_SHOWN`` items, then "... and N more <noun>"."""
    lines = [bullet + line(item) for item in items[:MAX_PATHS_SHOWN]]
    if len(items) > MAX_PATHS_SHOWN:
        lines.append(f"{bullet}... and {len(items) - MAX_PATHS_SHOWN} more {noun}")
    return lines


def _clobber_lines(
    verdict: Verdict,
    bullet: str,
    code: Callable[[str], str],
    esc: Callable[[str], str] = plain_text,
) -> list[str]:
    def line(v: Violation) -> str:
        owners = esc(", ".join(v.allowed) or "nobody")
        where = f" in {code(v.where)}" if v.where else ""
        return (
            f"{code(v.path)}: protected by filter {code(v.filter)} "
            f"(glob {code(v.glob)}{where}); only {owners} may ship it"
        )

    return _capped(verdict.violations, bullet, "paths", line)


def _waived_lines(
    verdict: Verdict,
    bullet: str,
    code: Callable[[str], str],
    esc: Callable[[str], str] = plain_text,
) -> list[str]:
    """One line per waived violation: the path, the filter, and the waiver's date, reason, issue."""

    def line(w: WaivedViolation) -> str:
        return (
            f"{code(w.violation.path)} (filter {code(w.violation.filter)}): waived until "
            f"{w.waiver.expires.isoformat()}: {esc(w.waiver.reason)} ({esc(w.waiver.issue)})"
        )

    ordered = sorted(verdict.waived, key=lambda w: (w.violation.path, w.violation.filter))
    return _capped(ordered, bullet, "waived paths", line)


def _path_lines(finding: Finding, bullet: str, code: Callable[[str], str]) -> list[str]:
    return _capped(finding.paths, bullet, "paths", code)


def render_text(verdict: Verdict, docs: DocsLink = _DOCS) -> str:
    """A plain-text report for the maintainer: each finding, its paths, why, the fix, the docs."""
    lines = [_title(verdict)]
    for error in sorted(verdict.errors):
        lines.append(f"  error: {plain_text(error)}")
    for finding in sorted(verdict.findings, key=Finding.sort_key):
        lines.append(f"  {finding.code.name} {plain_text(finding.message)}")
        if finding.code is Code.AV201:
            lines.extend(_clobber_lines(verdict, "    ", plain_text))
        else:
            lines.extend(_path_lines(finding, "    ", plain_text))
        lines.append(f"    fix: {ADVICE[finding.code]}")
        lines.append(f"    docs: {plain_text(docs.url(finding.code))}")
    if verdict.waived:
        lines.append(f"  waived {Code.AV201.name} (not a reason to refuse until it expires)")
        lines.extend(_waived_lines(verdict, "    ", plain_text))
    return "\n".join(lines) + "\n"


def render_markdown(verdict: Verdict, heading: str = "###", docs: DocsLink = _DOCS) -> str:
    """The same report as Markdown, for ``$GITHUB_STEP_SUMMARY`` and feedstock issues."""
    icon = ":white_check_mark:" if verdict.valid else ":x:"
    lines = [f"{heading} {icon} {_title(verdict, md_text)}", ""]
    if verdict.md5 or verdict.sha256:
        lines += [f"md5 {md_code(verdict.md5)} · sha256 {md_code(verdict.sha256)}", ""]
    for error in sorted(verdict.errors):
        lines.append(f"- **error**: {md_text(error)}")
    for finding in sorted(verdict.findings, key=Finding.sort_key):
        lines.append(f"- **{finding.code.name}** {md_text(finding.message)}")
        if finding.code is Code.AV201:
            lines.extend(_clobber_lines(verdict, "  - ", md_code, md_text))
        else:
            lines.extend(_path_lines(finding, "  - ", md_code))
        lines.append(f"  - *How to fix*: {ADVICE[finding.code]}")
        explained = md_link(f"What {finding.code.name} means", docs.url(finding.code))
        lines.append(f"  - {explained}")
    if verdict.waived:
        lines.append(
            f"- **{Code.AV201.name} waived** (not a reason to refuse, until the waiver ends)"
        )
        lines.extend(_waived_lines(verdict, "  - ", md_code, md_text))
    return "\n".join(lines) + "\n"
