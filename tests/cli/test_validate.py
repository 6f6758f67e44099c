"""Tests of ``validate.py ARTIFACT`` as a subprocess: exit codes, JSON, reports, URLs, limits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.archive.test_checks import FAILING
from tests.support.builders import Entry, build_package, package_entries, write_hostile
from tests.support.cli import run_validate
from tests.support.paths import ROOT
from tests.support.servers import LocalServer, Reply


def run(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run validate.py with ``args``; the environment has no allow-list unless given."""
    return run_validate(*args, env=env, cwd=cwd)


def as_json(proc: subprocess.CompletedProcess[str]) -> Any:
    """The --json document on stdout."""
    return json.loads(proc.stdout)


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    """A clean real package in a linux-64 directory."""
    return build_package(tmp_path / "linux-64", "zlib", {"lib/libz.so.1": b"z"}, fmt=".conda")


@pytest.fixture
def clobbering(tmp_path: Path) -> Path:
    """A real package shipping OpenSSL's headers (the default filters protect them)."""
    files = {"include/openssl/ssl.h": b"h", "include/openssl/evp.h": b"e", "lib/libfoo.so": b"f"}
    return build_package(tmp_path / "linux-64", "foo", files, fmt=".tar.bz2")


def test_clean_artifact_exits_0(clean: Path) -> None:
    """A clean package is valid: exit 0 and the JSON contract."""
    proc = run(clean, "--json", "--subdir", "linux-64")
    assert proc.returncode == 0, proc.stderr
    doc = as_json(proc)
    assert doc["valid"] is True
    assert (doc["name"], doc["version"], doc["build"], doc["subdir"]) == (
        "zlib",
        "1.0",
        "0",
        "linux-64",
    )
    assert len(doc["md5"]) == 32 and len(doc["sha256"]) == 64
    assert doc["violations"] == doc["findings"] == doc["errors"] == []
    assert "VALID" in proc.stderr


def test_clobbering_artifact_exits_1(clobbering: Path) -> None:
    """OpenSSL headers in another package: exit 1, sorted violations, a readable report."""
    proc = run(clobbering, "--json")
    assert proc.returncode == 1
    doc = as_json(proc)
    assert [v["path"] for v in doc["violations"]] == [
        "include/openssl/evp.h",
        "include/openssl/ssl.h",
    ]
    assert [f["code"] for f in doc["findings"]] == ["AV201"]
    assert set(doc["findings"][0]) >= {"code", "message", "paths"}
    assert "AV201" in proc.stderr and "only" in proc.stderr and "fix:" in proc.stderr


def test_hash_flags(clean: Path) -> None:
    """--md5/--sha256 mismatches are AV101/AV102 (exit 1); malformed values are exit 2."""
    proc = run(clean, "--md5", "0" * 32, "--sha256", "1" * 64, "--json")
    assert proc.returncode == 1
    assert [f["code"] for f in as_json(proc)["findings"]] == ["AV101", "AV102"]
    good = as_json(run(clean, "--json"))
    assert run(clean, "--md5", good["md5"], "--sha256", good["sha256"]).returncode == 0
    bad = run(clean, "--md5", "xyz")
    assert bad.returncode == 2 and "--md5" in bad.stderr and "Traceback" not in bad.stderr
    assert run(clean, clean, "--md5", good["md5"]).returncode == 2


def test_subdir_flags(clean: Path) -> None:
    """--subdir and --subdir-from-path compare with index.json's subdir (AV402)."""
    proc = run(clean, "--subdir", "win-64", "--json")
    assert proc.returncode == 1
    assert [f["code"] for f in as_json(proc)["findings"]] == ["AV402"]
    assert run(clean, "--subdir-from-path").returncode == 0
    moved = clean.parent.parent / clean.name
    clean.rename(moved)
    proc = run(moved, "--subdir-from-path")
    assert proc.returncode == 2 and "not a known subdir" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["no/such/file-1-0.conda"],
        ["https://example.com/linux-64/a-1-0.conda"],
        ["http://conda.anaconda.org/c/linux-64/a-1-0.conda"],
        ["--max-members", "0", "x-1-0.conda"],
        ["--max-member-size", "12 parsecs", "x-1-0.conda"],
        ["--allow-host", "https://x/", "https://x/a-1-0.conda"],
        [],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    """Bad paths, refused URLs and bad flags are exit 2, with a message and no traceback."""
    proc = run(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_nothing_is_validated_when_one_source_is_bad(clean: Path) -> None:
    """A missing second artifact stops the run before the first is validated."""
    proc = run(clean, "missing-1-0.conda", "--json")
    assert proc.returncode == 2
    assert proc.stdout == "" and "missing-1-0.conda" in proc.stderr


def test_hostile_archives_never_exit_0(tmp_path: Path) -> None:
    """Every hostile archive of the check table is invalid through the CLI too (exit 1)."""
    paths = []
    for number, (case, entries, subdir, _code) in enumerate(FAILING):
        directory = tmp_path / str(number)
        directory.mkdir()
        path = directory / f"x{number}-1.0-0.tar.bz2"
        paths.append(write_hostile(path, package_entries(f"x{number}", *entries, subdir=subdir)))
        assert case
    proc = run(*paths, "--json")
    assert proc.returncode == 1, proc.stderr
    docs = as_json(proc)
    assert len(docs) == len(FAILING) and not any(d["valid"] for d in docs)
    for doc, (case, _, _, code) in zip(docs, FAILING, strict=True):
        assert code in [f["code"] for f in doc["findings"]], case


def test_truncated_artifact_exits_1(clean: Path) -> None:
    """A truncated artifact is a finding about the artifact (AV302, exit 1), not an error."""
    raw = clean.read_bytes()
    clean.write_bytes(raw[: len(raw) // 2])
    proc = run(clean, "--json")
    assert proc.returncode == 1
    assert "AV302" in [f["code"] for f in as_json(proc)["findings"]]


def test_limit_hit_exits_3(clean: Path, clobbering: Path) -> None:
    """A limit is exit 3 with a verdict that is not valid; it wins over other artifacts' 1."""
    proc = run(clean, "--max-members", "2", "--json")
    assert proc.returncode == 3
    doc = as_json(proc)
    assert doc["valid"] is False and "--max-members" in doc["errors"][0]
    assert "NOT VALIDATED" in proc.stderr
    proc = run(clobbering, clean, "--max-members", "5", "--json")  # 6 members, then 4
    assert proc.returncode == 3
    docs = as_json(proc)
    assert [d["valid"] for d in docs] == [False, True]
    assert docs[0]["errors"] and docs[0]["findings"] == []


def test_deep_flag_checks_content_hashes(tmp_path: Path) -> None:
    """--deep compares each file's sha256 with paths.json (AV604)."""
    entries = package_entries("x", Entry("lib/a", b"a"))
    doc = json.loads(entries[1].data)
    doc["paths"][0]["sha256"] = "0" * 64
    entries[1] = Entry("info/paths.json", json.dumps(doc).encode())
    path = write_hostile(tmp_path / "x-1.0-0.conda", entries)
    assert run(path).returncode == 0
    proc = run(path, "--deep", "--json")
    assert proc.returncode == 1
    assert [f["code"] for f in as_json(proc)["findings"]] == ["AV604"]


def test_report_caps_paths_and_fills_step_summary(tmp_path: Path) -> None:
    """The report lists 20 paths and a count; the Markdown goes to $GITHUB_STEP_SUMMARY."""
    entries = [Entry(f"lib/../x{i:02d}", b"x") for i in range(25)]
    path = write_hostile(tmp_path / "x-1.0-0.conda", package_entries("x", *entries))
    summary = tmp_path / "summary.md"
    proc = run(path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 1
    assert "lib/../x19" in proc.stderr and "lib/../x20" not in proc.stderr
    assert "... and 5 more paths" in proc.stderr
    text = summary.read_text()
    assert "**AV502**" in text and "`lib/../x00`" in text and "How to fix" in text


def test_control_characters_are_escaped_in_output(tmp_path: Path) -> None:
    """A member name with a newline or bad bytes cannot forge report lines or break JSON."""
    entries = [Entry("share/a\n::error::forged", b"x"), Entry("share/b\udcff", b"y")]
    path = write_hostile(tmp_path / "x-1.0-0.tar.bz2", package_entries("x", *entries))
    proc = run(path, "--json")
    assert proc.returncode == 1
    assert "\n::error::forged" not in proc.stderr
    assert "::error::" not in proc.stderr and "share/a\\n:\u200b:error:\u200b:forged" in proc.stderr
    paths = {p for f in as_json(proc)["findings"] for p in f["paths"]}
    assert "share/b\\xff" in paths


def test_url_success_and_subdir_from_url(tmp_path: Path, clean: Path) -> None:
    """An allowed loopback URL is downloaded and validated; the URL's subdir is checked."""
    with LocalServer(tmp_path) as server:
        url = f"{server.url}/linux-64/{clean.name}"
        proc = run(url, "--allow-host", "127.0.0.1", "--json")
        assert proc.returncode == 0, proc.stderr
        assert as_json(proc)["source"] == url
        env = {"VALIDATE_ALLOWED_HOSTS": "example.org, 127.0.0.1"}
        assert run(url, env=env).returncode == 0
        (tmp_path / "osx-64").mkdir()
        (tmp_path / "osx-64" / clean.name).write_bytes(clean.read_bytes())
        proc = run(f"{server.url}/osx-64/{clean.name}", "--allow-host", "127.0.0.1", "--json")
        assert proc.returncode == 1
        assert [f["code"] for f in as_json(proc)["findings"]] == ["AV402"]


def test_url_not_allowed_makes_no_request(tmp_path: Path) -> None:
    """Without --allow-host the loopback server is never contacted: exit 2."""
    with LocalServer(tmp_path) as server:
        proc = run(f"{server.url}/linux-64/a-1-0.conda")
        assert proc.returncode == 2 and "allow-list" in proc.stderr
        assert server.requests == []


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(404, b"nope"), "404"),
        (Reply(302, headers={"Location": "https://evil.example.com/x.conda"}), "redirect"),
        (Reply(200, b"x" * 5000), "download limit"),
    ],
)
def test_url_failures_exit_3(tmp_path: Path, reply: Reply, message: str) -> None:
    """A 404, a redirect off the list or a body over the limit: exit 3, never 0 or 1."""
    with LocalServer(tmp_path) as server:
        server.route("/linux-64/a-1-0.conda", reply)
        url = f"{server.url}/linux-64/a-1-0.conda"
        proc = run(url, "--allow-host", "127.0.0.1", "--max-download-size", "4K", "--json")
        assert proc.returncode == 3, proc.stderr
        doc = as_json(proc)
        assert doc["valid"] is False and message in doc["errors"][0]
        assert "Traceback" not in proc.stderr


def test_file_list_mode_still_works(tmp_path: Path, clean: Path) -> None:
    """--file-list and ARTIFACT combine; the worst verdict decides the exit code."""
    fl = tmp_path / "fl.json"
    fl.write_text(
        json.dumps({"files": ["bin/openssl"], "index": {"name": "x", "subdir": "linux-64"}})
    )
    proc = run("--file-list", fl, clean, "--json")
    assert proc.returncode == 1
    assert [d["valid"] for d in as_json(proc)] == [False, True]


def test_url_retries_through_the_cli(tmp_path: Path, clean: Path) -> None:
    """A 500 then the artifact is retried (exit 0); a body that keeps breaking off is exit 3."""
    raw = clean.read_bytes()
    env = {"AV_RETRY_BACKOFF": "0.01"}
    with LocalServer(tmp_path) as server:
        server.route(f"/linux-64/{clean.name}", Reply(500), Reply(200, raw))
        url = f"{server.url}/linux-64/{clean.name}"
        proc = run(url, "--allow-host", "127.0.0.1", env=env)
        assert proc.returncode == 0, proc.stderr
        assert len(server.requests) == 2
        server.route(f"/linux-64/{clean.name}", Reply(200, raw[:100], declared_length=len(raw)))
        proc = run(url, "--allow-host", "127.0.0.1", "--json", env=env)
        assert proc.returncode == 3
        assert "after 4 attempts" in as_json(proc)["errors"][0]


def test_local_validation_loads_no_http_stack() -> None:
    """validate.py imports neither requests nor ghapi until a URL needs them."""
    code = "import sys, validate; print(sorted({'requests', 'ghapi'} & set(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert proc.stdout.strip() == "[]"
