"""Reports of a scan for people: the job summary and the one issue listing new invalid artifacts."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from artifact_validation.core.errors import UsageError
from artifact_validation.core.fileio import read_json
from artifact_validation.core.markdown import md_cell, md_text
from artifact_validation.scan.state import NewInvalid
from artifact_validation.services.github import GitHub

#: The one issue the scan keeps on this repository; each run with new findings comments on it.
NEW_INVALID_TITLE = "[bot] scan: new invalid artifacts"

#: Artifacts listed in full in one issue comment or summary (GitHub caps a body at 65,536).
MAX_LISTED = 50

#: Paths shown per filter and artifact.
MAX_PATHS = 5


def render_new_invalid(entries: Sequence[NewInvalid], link: str = "") -> str:
    """Markdown listing new invalid artifacts: name, artifact, filter and (some) paths each."""
    count = len(entries)
    lines = [
        f"The scan found {count} artifact{'s' * (count != 1)} that clobber and were not "
        "known to before" + (f" ([run]({link}))." if link else "."),
        "",
        "| name | artifact | filter | paths |",
        "| --- | --- | --- | --- |",
    ]
    for entry in entries[:MAX_LISTED]:
        for flt, paths in entry.violations:
            shown = ", ".join(md_cell(p) for p in paths[:MAX_PATHS])
            more = f" and {len(paths) - MAX_PATHS} more" if len(paths) > MAX_PATHS else ""
            lines.append(
                f"| {md_cell(entry.name)} | {md_cell(entry.artifact)} | {md_cell(flt)} "
                f"| {shown}{more} |"
            )
    if count > MAX_LISTED:
        lines += ["", f"... and {count - MAX_LISTED} more."]
    lines += [
        "",
        "All of them are in `scan_data/invalid_packages.yaml`; `scan.py mark-broken` opens "
        "the admin-requests pull requests that mark them broken.",
    ]
    return "\n".join(lines) + "\n"


def summary_lines(
    summary: Mapping[str, Any],
    entries: Sequence[NewInvalid],
    *,
    waived: int = 0,
    expired: Sequence[str] = (),
    quarantined: Sequence[str] = (),
    quarantine_after: int = 0,
) -> list[str]:
    """The plain-text lines a scan or merge ends with (the CLI prints them to stderr)."""
    counts = ", ".join(
        f"{k} {str(v).lower() if isinstance(v, bool) else v}" for k, v in summary.items()
    )
    lines = [f"scan: {counts}"]
    for entry in entries[:20]:
        lines.append(
            f"  new invalid: {entry.artifact} ({', '.join(f for f, _ in entry.violations)})"
        )
    if len(entries) > 20:
        lines.append(f"  ... and {len(entries) - 20} more")
    if waived:
        lines.append(f"  waived: {waived} file(s) not in the output (docs/waivers.md)")
    lines += [f"  {line}" for line in expired]
    lines += [f"  quarantined after {quarantine_after} failed reads: {k}" for k in quarantined]
    return lines


def render_summary(
    summary: Mapping[str, Any], entries: Sequence[NewInvalid], expired: Sequence[str] = ()
) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY``: the counts, the new invalid artifacts, and the
    expired waivers (not applied)."""
    state = "complete" if summary.get("complete") else "incomplete (resumes on the next run)"
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in summary.values()]
    lines = [
        f"### scan: {state}",
        "",
        "| " + " | ".join(summary) + " |",
        "| " + " | ".join("---" for _ in summary) + " |",
        "| " + " | ".join(values) + " |",
        "",
    ]
    if entries:
        lines.append(render_new_invalid(entries))
    text = "\n".join(lines)
    if expired:
        text += "\n**Expired waivers** (not applied):\n\n" + "".join(
            f"- {md_text(line)}\n" for line in expired
        )
    return text


def report_new_invalid(
    gh: GitHub, repo: str, entries: Sequence[NewInvalid], link: str
) -> tuple[int, bool]:
    """Open the one ``NEW_INVALID_TITLE`` issue of ``repo``, or comment on it; (number, created).

    Re-running with the same entries adds another comment, never a second
    issue. ``entries`` must not be empty (there is nothing to report then).
    """
    if not entries:
        raise ValueError("report_new_invalid needs at least one entry")
    return gh.open_or_comment_issue(repo, NEW_INVALID_TITLE, render_new_invalid(entries, link))


def load_new_invalid(path: str | os.PathLike[str]) -> list[NewInvalid]:
    """Read the list ``scan.py merge --new-invalid`` wrote, checking every entry's shape."""
    where = os.fspath(path)
    doc = read_json(path, UsageError, "the new-invalid list")
    if not isinstance(doc, list):
        raise UsageError(f"{where}: must be a JSON list of new invalid artifacts")
    return [NewInvalid.from_json(entry, f"{where}: entry {i}") for i, entry in enumerate(doc)]
