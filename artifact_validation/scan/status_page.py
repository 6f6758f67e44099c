"""The static status page: ``index.html`` (with an inline SVG chart) and ``badge.json``.

No JavaScript, no external resource of any kind: one self-contained HTML file
with its CSS inline, readable on a phone. Every string that comes from the
data (package names, paths, filters, reasons, URLs) goes through ``_e``, the
one place that escapes HTML; links are built from URL-quoted components.
``badge.json`` follows the shields.io endpoint schema.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

from artifact_validation.core.fileio import write_atomic
from artifact_validation.core.findings import Code
from artifact_validation.scan.status_data import Finding, StatusData

#: The page's file names in the output directory.
INDEX_NAME = "index.html"
BADGE_NAME = "badge.json"

#: Findings listed in "Newest findings" and rows in each count table.
NEWEST_LISTED = 50
TOP_LISTED = 100

#: Where the check catalogue lives when not given (its AV201 section is linked).
DEFAULT_CHECKS_URL = "https://github.com/conda-forge/artifact-validation/blob/main/docs/checks.md"

_CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:62rem;padding:1rem;
line-height:1.45;color:#1b1b1b;background:#fff}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top;
overflow-wrap:break-word}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.big{font-size:2rem;font-weight:700}
.wrap{overflow-x:auto}
svg{max-width:100%;height:auto}
code{overflow-wrap:anywhere}
a{color:#0645ad}
@media (max-width:40rem){body{padding:.5rem}th,td{padding:.2rem .3rem}}
""".strip()


def _e(value: object) -> str:
    """The one HTML escape of this module: text and attribute values alike."""
    return html.escape(str(value), quote=True)


def _q(component: str) -> str:
    """A URL path component, percent-quoted (no ``/``, ``:``, ``<`` or quote survives)."""
    return quote(component, safe="")


def _link(url: str, text: str) -> str:
    return f'<a href="{_e(url)}">{_e(text)}</a>'


def artifact_url(channel: str, name: str) -> str:
    """``https://anaconda.org/<channel>/<name>/files``."""
    return f"https://anaconda.org/{_q(channel)}/{_q(name)}/files"


def feedstock_url(name: str) -> str:
    """``https://github.com/conda-forge/<name>-feedstock`` (assumes feedstock = package name)."""
    return f"https://github.com/conda-forge/{_q(name + '-feedstock')}"


def check_anchor(code: Code) -> str:
    """The GitHub heading anchor of a check in the catalogue: ``av201-installs-a-path-...``."""
    words = f"{code.name} {code.value}".lower()
    slug = "".join(c for c in words if c.isalnum() or c in " -")
    return slug.replace(" ", "-")


def _table(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Iterable[int] = (),
) -> str:
    """A table whose cells are already HTML; ``numeric`` column indexes are right-aligned."""
    nums = set(numeric)
    head = "".join(
        f'<th scope="col"{" class=n" if i in nums else ""}>{_e(h)}</th>'
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            if i == 0:
                cells.append(f'<th scope="row">{cell}</th>')
            else:
                cells.append(f"<td{' class=n' if i in nums else ''}>{cell}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}">none</td></tr>')
    return (
        f'<div class="wrap"><table><caption>{_e(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _count_table(
    caption: str,
    label: str,
    counts: list[tuple[str, int]],
    link: Callable[[str], str] | None = None,
) -> str:
    rows = [
        (link(key) if link else f"<code>{_e(key)}</code>", _e(n)) for key, n in counts[:TOP_LISTED]
    ]
    more = len(counts) - TOP_LISTED
    note = f"<p>... and {_e(more)} more.</p>" if more > 0 else ""
    return _table(caption, (label, "invalid artifacts"), rows, numeric=(1,)) + note


def _chart_points(data: StatusData, today: datetime) -> list[tuple[str, int]]:
    points: list[tuple[str, int]] = [(p.date, p.invalid) for p in data.history]
    if not points:  # no history yet: the chart is the current count alone
        points = [(today.isoformat().replace("+00:00", "Z"), data.invalid_count)]
    return points


def render_chart(points: Sequence[tuple[str, int]]) -> str:
    """An inline SVG line chart of ``(date, invalid)``; dates label the first and last points."""
    width, height, left, right, top, bottom = 640, 260, 64, 16, 20, 44
    top_value = max([n for _, n in points] + [1])
    span_x, span_y = width - left - right, height - top - bottom

    def xy(i: int, n: int) -> tuple[float, float]:
        x = left + (span_x * i / (len(points) - 1) if len(points) > 1 else span_x / 2)
        return round(x, 1), round(top + span_y * (1 - n / top_value), 1)

    coords = [xy(i, n) for i, (_, n) in enumerate(points)]
    label = (
        f"Invalid artifacts over time: {len(points)} scan(s), from {points[0][1]} "
        f"on {points[0][0][:10]} to {points[-1][1]} on {points[-1][0][:10]}, at most {top_value}"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="chart-title">',
        f'<title id="chart-title">{_e(label)}</title>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#555"/>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" '
        f'y2="{height - bottom}" stroke="#555"/>',
        f'<text x="{left - 8}" y="{top + 6}" text-anchor="end" font-size="18">{top_value}</text>',
        f'<text x="{left - 8}" y="{height - bottom + 6}" text-anchor="end" font-size="18">0</text>',
        f'<text x="{left}" y="{height - 12}" font-size="18">{_e(points[0][0][:10])}</text>',
        f'<text x="{width - right}" y="{height - 12}" text-anchor="end" font-size="18">'
        f"{_e(points[-1][0][:10])}</text>",
    ]
    if len(coords) > 1:
        line = " ".join(f"{x},{y}" for x, y in coords)
        parts.append(f'<polyline points="{line}" fill="none" stroke="#c0392b" stroke-width="2"/>')
    for (x, y), (when, n) in zip(coords, points, strict=True):
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="3.5" fill="#c0392b"><title>{_e(when)}: {_e(n)}'
            "</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _history_section(data: StatusData, today: datetime) -> str:
    points = _chart_points(data, today)
    out = ["<h2 id=history>Invalid artifacts over time</h2>", render_chart(points)]
    if not data.history:
        out.append(
            "<p>No scan history yet (<code>scan_data/history.jsonl</code>): the chart shows "
            "today's count only. Each merged scan adds a point.</p>"
        )
    if data.history_skipped:
        out.append(f"<p>{_e(data.history_skipped)} unreadable history line(s) were skipped.</p>")
    recent = list(reversed(data.history))[:20]
    rows = [
        (
            _e(p.date.replace("T", " ")[:16]),
            _e(p.invalid),
            _e(p.new),
            _e(p.errors),
            "yes" if p.complete else "no",
        )
        for p in recent
    ]
    out.append(
        _table(
            "Latest scans (newest first)",
            ("date (UTC)", "invalid", "new", "errors", "complete"),
            rows,
            numeric=(1, 2, 3),
        )
    )
    return "\n".join(out)


def _finding_row(finding: Finding, channel: str, checks_url: str) -> tuple[str, ...]:
    anchor = check_anchor(Code.AV201)
    filters = ", ".join(
        f"<code>{_e(f)}</code> ({_e(len(paths))} path{'s' * (len(paths) != 1)}: "
        f"<code>{_e(paths[0] if paths else '')}</code>{' ...' if len(paths) > 1 else ''})"
        for f, paths in sorted(finding.violations.items())
    )
    return (
        _link(artifact_url(channel, finding.name), finding.artifact),
        _link(feedstock_url(finding.name), finding.name),
        filters,
        _link(f"{checks_url}#{anchor}", "AV201"),
    )


def _prs_section(data: StatusData) -> str:
    rows = []
    for pr in data.open_prs():
        target = _link(pr.url, f"#{pr.number}") if pr.url.startswith("https://") else _e(pr.number)
        rows.append((f"<code>{_e(pr.artifact)}</code>", target))
    skipped = [p for p in data.prs if p.number is None]
    note = (
        f"<p>{_e(len(skipped))} artifact(s) were not requested (already gone from the channel "
        "or skipped).</p>"
        if skipped
        else ""
    )
    return (
        "<h2 id=prs>Mark-broken pull requests</h2>"
        + _table("Recorded mark-broken pull requests", ("artifact", "pull request"), rows)
        + note
    )


def _waivers_section(data: StatusData, today: date) -> str:
    head = "<h2 id=waivers>Active waivers</h2>"
    active = [w for w in data.waivers if not w.expired(today)]
    if not active:
        return head + "<p>none</p>"
    rows = [
        (
            f"<code>{_e(w.package)}</code>",
            f"<code>{_e(w.filter)}</code>",
            "<br>".join(f"<code>{_e(p)}</code>" for p in w.paths),
            _e(w.reason),
            _link(w.issue, w.issue) if w.issue.startswith("https://") else _e(w.issue),
            _e(w.expires or "never"),
        )
        for w in sorted(active, key=lambda w: (w.package, w.filter, w.source))
    ]
    note = (
        f"<p>{_e(data.waivers_skipped)} unreadable waiver entr(ies) were skipped.</p>"
        if data.waivers_skipped
        else ""
    )
    return (
        head
        + _table(
            "Waivers not yet expired",
            ("package", "filter", "paths", "reason", "issue", "expires"),
            rows,
        )
        + note
    )


def render_index(
    data: StatusData,
    channel: str = "conda-forge",
    checks_url: str = DEFAULT_CHECKS_URL,
    now: datetime | None = None,
) -> str:
    """The whole ``index.html``."""
    when = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    complete = {True: "complete", False: "not complete (resumes next run)", None: "unknown"}
    newest = data.newest(NEWEST_LISTED)
    body = [
        "<header>",
        f"<h1>Artifact validation status: {_e(channel)}</h1>",
        f"<p>Generated {_e(when.isoformat().replace('+00:00', 'Z'))} from the scheduled scan. "
        f"Scan {_e(complete[data.complete])}; {_e(data.errors)} artifact(s) could not be read "
        "and are retried next run.</p>",
        "</header><main>",
        "<h2 id=summary>Summary</h2>",
        f'<p><span class="big" id="invalid-count">{_e(data.invalid_count)}</span> '
        f"clobbering artifact file(s) in {_e(len(data.per_package()))} package(s).</p>",
        _history_section(data, when),
        "<h2 id=counts>Counts</h2>",
        _count_table("Invalid artifacts per filter", "filter", data.per_filter()),
        _count_table("Invalid artifacts per subdir", "subdir", data.per_subdir()),
        _count_table(
            "Invalid artifacts per package",
            "package",
            data.per_package(),
            link=lambda name: _link(feedstock_url(name), name),
        ),
        "<h2 id=newest>Newest findings</h2>",
        _table(
            f"Newest findings (at most {NEWEST_LISTED})",
            ("artifact", "feedstock", "filters (paths)", "check"),
            [_finding_row(f, channel, checks_url) for f in newest],
        ),
        _prs_section(data),
        _waivers_section(data, when.date()),
        "</main>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Artifact validation status: {_e(channel)}</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def render_badge(data: StatusData) -> str:
    """``badge.json`` for shields.io's endpoint badge: the number of clobbering artifacts."""
    count = data.invalid_count
    doc = {
        "schemaVersion": 1,
        "label": "clobbering artifacts",
        "message": str(count),
        "color": "brightgreen" if count == 0 else "red",
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def write_site(
    data: StatusData,
    out: str | os.PathLike[str],
    channel: str = "conda-forge",
    checks_url: str = DEFAULT_CHECKS_URL,
    now: datetime | None = None,
) -> list[Path]:
    """Write ``index.html`` and ``badge.json`` into ``out``, each atomically; their paths."""
    root = Path(out)
    index, badge = root / INDEX_NAME, root / BADGE_NAME
    write_atomic(index, render_index(data, channel, checks_url, now))
    write_atomic(badge, render_badge(data))
    return [index, badge]
