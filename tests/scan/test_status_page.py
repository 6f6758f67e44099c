"""Tests of the status page: the data it reads, the HTML and badge it writes, history, the job."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from artifact_validation.core.findings import Code
from artifact_validation.scan import (
    HISTORY_NAME,
    append_history,
    check_anchor,
    history_point,
    load_history,
    load_status,
    render_badge,
    render_index,
)
from tests.support.cli import run_script
from tests.support.paths import DATA, ROOT

FIXTURE = DATA / "status_page"
SCAN_DATA = FIXTURE / "scan_data"
WAIVERS = FIXTURE / "waivers"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

HOSTILE_NAME = '<script>document.title="pwned"</script>'
HOSTILE_PATH = '"><img src=x onerror=alert(1)>/lib/libssl.so'


class Elements(HTMLParser):
    """Every start tag and its attributes, to prove what the browser would build."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    parser.close()
    return parser


def test_fixture_counts() -> None:
    """Per filter, subdir and package; waivers lenient; the unreadable history line skipped."""
    data = load_status(SCAN_DATA, WAIVERS)
    assert data.invalid_count == 5
    assert data.per_filter() == [("openssl", 4), ("ca-certificates", 1), ("certifi", 1)]
    assert data.per_subdir() == [("linux-64", 2), ("noarch", 1), ("osx-arm64", 1), ("win-64", 1)]
    assert data.per_package() == [("clobber-ssl", 3), ("pyclob", 1), ("tricky", 1)]
    assert [p.number for p in data.open_prs()] == [4321, 4321]
    assert data.errors == 1 and data.complete is True
    assert len(data.history) == 4 and data.history_skipped == 1
    assert data.waivers_present and data.waivers_skipped == 2
    assert {w.package for w in data.waivers} == {"pyclob", "clobber-ssl", "<b>bold</b>"}
    # newest first: the last history run's new artifact leads
    assert [f.artifact for f in data.newest(2)] == [
        "win-64/tricky-0.1-0.conda",
        "osx-arm64/clobber-ssl-1.0-h1_0.conda",
    ]


def test_page_structure_and_links() -> None:
    """lang, viewport, headings, captions, scoped headers, the three kinds of links; no script."""
    page = render_index(load_status(SCAN_DATA, WAIVERS), now=NOW)
    elements = parse(page)
    tags = [t for t, _ in elements.tags]
    assert ("html", {"lang": "en"}) in elements.tags
    assert ("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}) in (
        elements.tags
    )
    assert tags.count("h1") == 1 and tags.count("h2") >= 6
    assert tags.count("table") == tags.count("caption") == 7
    assert all(a.get("scope") in {"col", "row"} for t, a in elements.tags if t == "th")
    assert "svg" in tags and "polyline" in tags
    assert "script" not in tags and "img" not in tags and "iframe" not in tags
    # nothing loaded from anywhere: only links, no src, no external stylesheet
    assert not any("src" in a for _, a in elements.tags)
    assert "link" not in tags
    hrefs = {a["href"] for t, a in elements.tags if t == "a"}
    assert "https://anaconda.org/conda-forge/clobber-ssl/files" in hrefs
    assert "https://github.com/conda-forge/clobber-ssl-feedstock" in hrefs
    assert "https://github.com/conda-forge/admin-requests/pull/4321" in hrefs
    anchor = check_anchor(Code.AV201)
    assert anchor == "av201-installs-a-path-owned-by-another-package"
    assert any(h.endswith("docs/checks.md#" + anchor) for h in hrefs)
    assert all(h.startswith("https://") for h in hrefs)  # javascript:alert(1) is no link
    text = " ".join(elements.text)
    assert "expired long ago" not in text  # an expired waiver is not active
    assert "vendored certifi until upstream drops it" in text and "2099-01-31" in text


def hostile_scan_data(root: Path) -> Path:
    data = root / "scan_data"
    data.mkdir()
    doc = {HOSTILE_NAME: {f"linux-64/{HOSTILE_NAME}-1-0.conda": {"x<y": [HOSTILE_PATH]}}}
    (data / "invalid_packages.yaml").write_text(yaml.safe_dump(doc))
    prs = {
        f"linux-64/{HOSTILE_NAME}-1-0.conda": {
            "number": 1,
            "url": 'javascript:alert("x")',
            "head_branch": HOSTILE_NAME,
        }
    }
    (data / "invalid_packages_prs.yaml").write_text(yaml.safe_dump(prs))
    point = history_point(1, [f"linux-64/{HOSTILE_NAME}-1-0.conda"], 0, True, NOW)
    append_history(data / HISTORY_NAME, point)
    return data


def test_hostile_names_and_paths_stay_inert(tmp_path: Path) -> None:
    """Package names, paths, filters and URLs from the data never become markup or a link."""
    data = load_status(hostile_scan_data(tmp_path), tmp_path / "no-waivers")
    page = render_index(data, now=NOW)
    elements = parse(page)
    tags = [t for t, _ in elements.tags]
    assert "script" not in tags and "img" not in tags
    assert HOSTILE_NAME not in page and "<img" not in page
    text = "".join(elements.text)
    assert HOSTILE_NAME in text and HOSTILE_PATH in text  # shown, as text
    hrefs = [a["href"] or "" for t, a in elements.tags if t == "a"]
    assert hrefs and all(h.startswith("https://") for h in hrefs)
    assert not any(c in h for h in hrefs for c in "<>\"' ")
    assert "https://anaconda.org/conda-forge/%3Cscript%3E" in " ".join(hrefs)
    assert "<h2 id=waivers>Active waivers</h2><p>none</p>" in page
    assert "none" in page  # no waivers directory


def test_badge_is_a_shields_endpoint() -> None:
    doc = json.loads(render_badge(load_status(SCAN_DATA, WAIVERS)))
    assert doc == {
        "schemaVersion": 1,
        "label": "clobbering artifacts",
        "message": "5",
        "color": "red",
    }


def test_empty_scan_data_gives_a_green_page(tmp_path: Path) -> None:
    """Nothing scanned yet: zero, a one-point chart, "none" everywhere, a green badge."""
    data = load_status(tmp_path)
    assert json.loads(render_badge(data))["color"] == "brightgreen"
    page = render_index(data, now=NOW)
    assert 'id="invalid-count">0<' in page and "No scan history yet" in page
    assert "<circle" in page and "<polyline" not in page


def test_history_appends_and_reads_leniently(tmp_path: Path) -> None:
    path = tmp_path / HISTORY_NAME
    append_history(path, history_point(2, ["b", "a"], 1, False, NOW))
    with path.open("a") as fh:
        fh.write('{"date": "yesterday", "invalid": 3}\n[1, 2]\n')
        fh.write('{"date": "2026-01-01", "invalid": -1}')  # no newline: the next append adds it
    append_history(path, history_point(3, [], 0, True, datetime(2026, 11, 30, tzinfo=UTC)))
    points, skipped = load_history(path)
    assert skipped == 3
    assert [(p.date, p.invalid, p.new, p.complete) for p in points] == [
        ("2026-11-29T12:00:00Z", 2, 2, False),
        ("2026-11-30T00:00:00Z", 3, 0, True),
    ]
    assert points[0].new_artifacts == ("a", "b")
    assert path.read_text().count("\n") == 5


# --------------------------------------------------------------------------------- the script


def test_script_writes_both_files(tmp_path: Path) -> None:
    out = tmp_path / "site"
    proc = run_script(
        "status_page.py",
        "--scan-data",
        SCAN_DATA,
        "--out",
        out,
        "--waivers",
        WAIVERS,
        "--channel",
        "conda-forge",
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["badge.json", "index.html"]
    assert json.loads((out / "badge.json").read_text())["message"] == "5"
    assert "5 invalid artifact(s)" in proc.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scan-data", "missing"], "no such directory"),
        (["--channel", "../evil"], "--channel must be a channel name"),
        (["--checks-url", "javascript:alert(1)"], "--checks-url must be an https:// URL"),
        (["--out", str(SCAN_DATA / "invalid_packages.yaml")], "is not a directory"),
    ],
)
def test_script_refuses_bad_input(tmp_path: Path, extra: list[str], message: str) -> None:
    args = ["--scan-data", str(SCAN_DATA), "--out", str(tmp_path / "site"), *extra]
    proc = run_script("status_page.py", *[a.replace("missing", str(tmp_path / "no")) for a in args])
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "site").exists()


def test_script_refuses_a_malformed_invalid_packages_file(tmp_path: Path) -> None:
    data = tmp_path / "scan_data"
    shutil.copytree(SCAN_DATA, data)
    (data / "invalid_packages.yaml").write_text("pkg: [not, a, mapping]\n")
    proc = run_script("status_page.py", "--scan-data", data, "--out", tmp_path / "site")
    assert proc.returncode == 2 and "invalid_packages.yaml" in proc.stderr
    assert not (tmp_path / "site").exists()


def test_script_requires_its_arguments() -> None:
    proc = run_script("status_page.py")
    assert proc.returncode == 2 and "--scan-data" in proc.stderr


# --------------------------------------------------------------------------------- the workflow


def test_scan_workflow_records_history_and_deploys_the_page() -> None:
    """The merge appends to and commits the history; one job, alone privileged, deploys."""
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "scan.yml").read_text())
    merge, page = doc["jobs"]["merge"], doc["jobs"]["status-page"]
    runs = " ".join(s.get("run", "") for s in merge["steps"])
    assert "--history scan_data/history.jsonl" in runs
    commit = next(s["run"] for s in merge["steps"] if s.get("name") == "Commit scan_data back")
    assert "scan_data/history.jsonl" in commit
    assert page["needs"] == "merge"
    assert page["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert page["environment"]["name"] == "github-pages"
    for name, job in doc["jobs"].items():
        if name != "status-page":
            assert "pages" not in (job.get("permissions") or {}), name
            assert "id-token" not in (job.get("permissions") or {}), name
    uses = [s.get("uses", "") for s in page["steps"]]
    assert "actions/upload-pages-artifact@fc324d3547104276b827a68afc52ff2a11cc49c9" in uses
    assert "actions/deploy-pages@cd2ce8fcbc39b97be8ca5fce6e763baed58fa128" in uses
    page_runs = " ".join(s.get("run", "") for s in page["steps"])
    assert "python status_page.py --scan-data scan_data --out site" in page_runs
