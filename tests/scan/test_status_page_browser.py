"""The status page in a real browser: headless Chromium renders it, shows the fixture's numbers,
logs no console error, and takes a non-trivial screenshot at desktop and phone widths.

Skipped only when no Chromium binary exists (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from tests.support.cli import run_script
from tests.support.paths import DATA

FIXTURE = DATA / "status_page"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM = next((path for b in BROWSERS if (path := shutil.which(b))), None)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium binary on PATH (apt-get install chromium; .ci/run installs it)",
)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def console_problems(stderr: str) -> list[str]:
    """Console messages and uncaught errors in Chromium's log (``CONSOLE(n)`` lines)."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


class Tables(HTMLParser):
    """Each table of the DOM as caption -> rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.texts: dict[str, str] = {}
        self._caption: str | None = None
        self._rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_caption = False
        self._id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._caption, self._rows = "", []
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr":
            self._rows.append([])
        elif tag in {"td", "th"}:
            self._cell = []
        self._id = dict(attrs).get("id") or self._id

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._caption is not None:
            self.tables[self._caption] = self._rows
            self._caption = None
        elif tag == "caption":
            self._in_caption = False
        elif tag in {"td", "th"} and self._cell is not None:
            self._rows[-1].append("".join(self._cell).strip())
            self._cell = None
        self._id = None

    def handle_data(self, data: str) -> None:
        if self._in_caption and self._caption is not None:
            self._caption += data
        elif self._cell is not None:
            self._cell.append(data)
        if self._id:
            self.texts[self._id] = self.texts.get(self._id, "") + data


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def expected_counts() -> dict[str, Counter[str]]:
    """The fixture's counts, computed from the YAML directly (not through the library)."""
    doc = yaml.safe_load((FIXTURE / "scan_data" / "invalid_packages.yaml").read_text())
    counts: dict[str, Counter[str]] = {k: Counter() for k in ("filter", "subdir", "package")}
    for name, artifacts in doc.items():
        for artifact, by_filter in artifacts.items():
            counts["package"][name] += 1
            counts["subdir"][artifact.split("/")[0]] += 1
            for flt in by_filter:
                counts["filter"][flt] += 1
    return counts


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = run_script(
        "status_page.py",
        "--scan-data",
        FIXTURE / "scan_data",
        "--waivers",
        FIXTURE / "waivers",
        "--out",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_dom_shows_the_fixture_counts_and_logs_no_error(site: Path, tmp_path: Path) -> None:
    proc = chromium(tmp_path, "--dump-dom", (site / "index.html").as_uri())
    assert console_problems(proc.stderr) == []
    dom = Tables()
    dom.feed(proc.stdout)
    expected = expected_counts()
    total = sum(expected["package"].values())
    assert dom.texts["invalid-count"].strip() == str(total) == "5"
    for kind in ("filter", "subdir", "package"):
        rows = dom.tables[f"Invalid artifacts per {kind}"]
        assert rows[0] == [kind, "invalid artifacts"]
        assert {r[0]: int(r[1]) for r in rows[1:]} == dict(expected[kind]), kind
    newest = dom.tables["Newest findings (at most 50)"]
    assert len(newest) - 1 == total
    # hostile strings from the data were shown as text, and ran nothing
    assert "<title>Artifact validation status: conda-forge</title>" in proc.stdout
    assert "pwned" not in proc.stdout.split("</title>")[0]
    assert "<script" not in proc.stdout.lower()
    waivers = dom.tables["Waivers not yet expired"]
    assert {r[0] for r in waivers[1:]} == {"pyclob", "<b>bold</b>"}


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_screenshot_is_non_trivial(site: Path, tmp_path: Path, width: int) -> None:
    shot = tmp_path / f"status-{width}.png"
    proc = chromium(
        tmp_path,
        "--hide-scrollbars",
        f"--screenshot={shot}",
        f"--window-size={width},2400",
        (site / "index.html").as_uri(),
    )
    assert console_problems(proc.stderr) == []
    assert shot.is_file()
    assert png_size(shot) == (width, 2400)
    assert shot.stat().st_size > 20_000  # a blank page compresses to a few kilobytes


def test_the_console_check_does_catch_an_error(tmp_path: Path) -> None:
    """The detector itself: a page with a failing script is caught (so a pass means something)."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html lang=en><script>undefinedFunction()</script></html>")
    proc = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert any("Uncaught" in line for line in console_problems(proc.stderr))


def test_page_of_the_example_channel_shows_its_numbers(tmp_path: Path) -> None:
    """Scan the bundled example channel, render its page, and read its numbers in Chromium."""
    data = tmp_path / "scan_data"
    out = data / "invalid_packages.yaml"
    channel = Path(__file__).resolve().parents[2] / "examples" / "channel"
    scan = run_script(
        "scan.py", "--channel", channel, "--output", out, "--cache-dir", tmp_path / "cache"
    )
    assert scan.returncode == 0, scan.stderr
    invalid = yaml.safe_load(out.read_text())
    site = tmp_path / "site"
    page = run_script("status_page.py", "--scan-data", data, "--out", site)
    assert page.returncode == 0, page.stderr
    shot = tmp_path / "example.png"
    chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", (site / "index.html").as_uri()
    )
    assert png_size(shot) == (1280, 1600)
    proc = chromium(tmp_path, "--dump-dom", (site / "index.html").as_uri())
    assert console_problems(proc.stderr) == []
    dom = Tables()
    dom.feed(proc.stdout)
    total = sum(len(artifacts) for artifacts in invalid.values())
    assert total == 4  # sslvendor and certbundle, each as .conda and .tar.bz2
    assert dom.texts["invalid-count"].strip() == str(total)
    rows = dom.tables["Invalid artifacts per package"]
    assert {r[0]: int(r[1]) for r in rows[1:]} == {n: len(a) for n, a in invalid.items()}
