"""Reports of a scan for people: the job summary and the one issue listing new invalid artifacts."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from artifact_validation.archive.artifact import display_path
from artifact_validation.core.errors import UsageError
from artifact_validation.services.github import GitHub

#: The one issue the scan keeps on this repository; each run with new findings comments on it.
NEW_INVALID_TITLE = "[bot] scan: new invalid artifacts"

#: Artifacts listed in full in one issue comment or summary (GitHub caps a body at 65,536).
MAX_LISTED = 50

#: Paths shown per filter and artifact.
MAX_PATHS = 5


def _code(text: str) -> str:
    return "`" + display_path(text).replace("`", "'") + "`"


def render_new_invalid(entries: Sequence[Mapping[str, Any]], link: str = "") -> str:
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
        for flt, paths in sorted(entry["violations"].items()):
            shown = ", ".join(_code(p) for p in paths[:MAX_PATHS])
            more = f" and {len(paths) - MAX_PATHS} more" if len(paths) > MAX_PATHS else ""
            lines.append(
                f"| {_code(entry['name'])} | {_code(entry['artifact'])} | {_code(flt)} "
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


def render_summary(summary: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY``: the counts, then the new invalid artifacts."""
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
    return "\n".join(lines)


def report_new_invalid(
    gh: GitHub, repo: str, entries: Sequence[Mapping[str, Any]], link: str
) -> tuple[int, bool] | None:
    """Open the one ``NEW_INVALID_TITLE`` issue of ``repo``, or comment on it; None when no entries.

    Returns ``(issue number, created)``. Re-running with the same entries adds
    another comment, never a second issue.
    """
    if not entries:
        return None
    return gh.open_or_comment_issue(repo, NEW_INVALID_TITLE, render_new_invalid(entries, link))


def load_new_invalid(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read the list ``scan.py merge --new-invalid`` wrote, checking every entry's shape."""
    where = os.fspath(path)
    try:
        doc = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise UsageError(f"{where}: cannot read: {exc.strerror or exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: not valid JSON: {exc}") from exc
    if not isinstance(doc, list):
        raise UsageError(f"{where}: must be a JSON list of new invalid artifacts")
    for i, entry in enumerate(doc):
        violations = entry.get("violations") if isinstance(entry, dict) else None
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not isinstance(entry.get("artifact"), str)
            or not isinstance(violations, dict)
            or not all(
                isinstance(k, str) and isinstance(v, list) and all(isinstance(p, str) for p in v)
                for k, v in violations.items()
            )
        ):
            raise UsageError(
                f"{where}: entry {i} must be {{name, artifact, violations: {{filter: [paths]}}}}"
            )
    return doc
