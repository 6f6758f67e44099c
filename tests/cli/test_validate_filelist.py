"""Tests of the ``validate.py --file-list`` contract: exit codes, JSON and the human report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.builders import write_file_list
from tests.support.cli import run_validate


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_validate(*args, env=env)


def test_clean_file_list_exits_0(tmp_path: Path) -> None:
    """A file list that ships nothing protected is valid: exit 0 and valid JSON."""
    fl = write_file_list(tmp_path / "z.json", "zlib", "linux-64", ["lib/libz.so"])
    proc = run("--file-list", fl, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["valid"] is True and doc["violations"] == [] and doc["errors"] == []
    assert (doc["name"], doc["subdir"]) == ("zlib", "linux-64")


def test_clobbering_file_list_exits_1(tmp_path: Path) -> None:
    """Shipping OpenSSL headers is a violation: exit 1, sorted violations, a readable report."""
    files = ["include/openssl/ssl.h", "include/openssl/aes.h", "lib/libfoo.so"]
    fl = write_file_list(tmp_path / "f.json", "foo", "linux-64", files)
    proc = run("--file-list", fl, "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["valid"] is False
    assert [v["path"] for v in doc["violations"]] == files[1::-1]
    assert doc["violations"][0]["filter"] == "openssl"
    assert "openssl" in doc["violations"][0]["allowed"]
    assert "AV201" in proc.stderr and "include/openssl/aes.h" in proc.stderr
    assert "only" in proc.stderr and "fix:" in proc.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"files": []}', "'index' must be an object"),
        ('{"files": "x", "index": {"name": "a", "subdir": "b"}}', "'files' must be a list"),
        ('{"files": [], "index": {"subdir": "b"}}', "'index.name'"),
    ],
)
def test_bad_file_list_exits_2(tmp_path: Path, content: str, message: str) -> None:
    """A malformed file list is exit 2 with a message naming the file, never a traceback."""
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    proc = run("--file-list", bad)
    assert proc.returncode == 2
    assert message in proc.stderr and str(bad) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_file_list_and_usage_exit_2(tmp_path: Path) -> None:
    """A missing file and a call with no input are both exit 2."""
    assert run("--file-list", tmp_path / "nope.json").returncode == 2
    assert run().returncode == 2


def test_bad_filters_exit_2_and_validate_nothing(tmp_path: Path) -> None:
    """A broken filter dir is exit 2 with the file named, and no verdict is printed."""
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "x.yaml").write_text("files: []\nallowed: [a]\n")
    fl = write_file_list(tmp_path / "a.json", "a", "linux-64", ["a"])
    proc = run("--file-list", fl, "--filters", tmp_path / "f", "--json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "x.yaml" in proc.stderr and "'files'" in proc.stderr


def test_filters_replace_defaults(tmp_path: Path) -> None:
    """--filters replaces the default dirs: the OpenSSL filter no longer applies."""
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "mine.yaml").write_text("files: [bin/tool]\nallowed: [tool]\n")
    fl = write_file_list(tmp_path / "a.json", "a", "linux-64", ["include/openssl/ssl.h"])
    assert run("--file-list", fl, "--filters", tmp_path / "f").returncode == 0


def test_step_summary_is_appended(tmp_path: Path) -> None:
    """With GITHUB_STEP_SUMMARY set, the Markdown report is appended there."""
    summary = tmp_path / "summary.md"
    summary.write_text("before\n")
    fl = write_file_list(tmp_path / "f.json", "foo", "linux-64", ["bin/openssl"])
    proc = run("--file-list", fl, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 1
    text = summary.read_text()
    assert text.startswith("before\n") and "**AV201**" in text and "`bin/openssl`" in text


def test_markdown_report_neutralizes_hostile_names() -> None:
    """Names from an artifact reach Markdown inert: no mention, link, heading or line break."""
    from artifact_validation.archive.report import render_markdown
    from artifact_validation.archive.verdict import Verdict

    verdict = Verdict(name="x @org/team [click](http://evil)\n# Heading", source="a`b")
    text = render_markdown(verdict)
    first = text.splitlines()[0]
    assert "@org" not in text and "@\u200borg" in text
    assert "[click](" not in text and "\\[click\\]" in text
    assert "\n# Heading" not in text and "\\# Heading" in first


def test_names_cannot_forge_workflow_commands(tmp_path: Path, filter_dir) -> None:
    """A file-list path holding a newline and ``::warning::`` stays inert in every output."""
    directory = filter_dir("openssl", "files: [include/openssl]\nallowed: [openssl]\n")
    hostile = "include/openssl/x\n::warning::forged\n::add-mask::hidden"
    path = write_file_list(tmp_path / "fl.json", "evil", "linux-64", [hostile])
    summary = tmp_path / "summary.md"
    proc = run_validate(
        "--filters", directory, "--file-list", path, env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert proc.returncode == 1
    for text in (proc.stderr, proc.stdout, summary.read_text()):
        assert not any(line.lstrip().startswith("::") for line in text.splitlines())
    assert "::warning::" not in proc.stderr + proc.stdout  # the runner reads these streams
