"""Waivers end to end: validate.py --waivers on real built artifacts, check_waivers.py, reports."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from artifact_validation.archive import render_markdown, render_text, verdict_from_json
from tests.support.builders import Entry, build_package, package_entries, write_hostile
from tests.support.cli import run_script, run_validate

ISSUE = "https://github.com/conda-forge/foo-feedstock/issues/7"


def in_days(days: int) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)).isoformat()


def waiver_text(package: str = "foo", expires: str | None = None, **extra: object) -> str:
    lines = {
        "package": package,
        "filter": "openssl",
        "reason": "ships OpenSSL headers until 2.0 (tracked)",
        "issue": ISSUE,
        "expires": expires or in_days(30),
        **extra,
    }
    return "".join(f"{k}: {json.dumps(v)}\n" for k, v in lines.items())


def waivers_dir(tmp_path: Path, text: str, name: str = "foo.yaml") -> Path:
    directory = tmp_path / "waivers"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def clobbering(tmp_path: Path) -> Path:
    """A real package shipping include/openssl/ssl.h (the default filters protect it)."""
    files = {"include/openssl/ssl.h": b"h", "lib/libfoo.so": b"f"}
    return build_package(tmp_path / "linux-64", "foo", files, fmt=".tar.bz2")


def test_waived_violation_is_valid_and_reported(tmp_path: Path, clobbering: Path) -> None:
    """Exit 0; the JSON keeps its keys and adds ``waived``; reports say until when and why."""
    directory = waivers_dir(tmp_path, waiver_text(expires=in_days(30)))
    summary = tmp_path / "summary.md"
    proc = run_validate(
        clobbering, "--waivers", directory, "--json", env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["valid"] is True
    assert doc["violations"] == doc["findings"] == doc["errors"] == []
    [waived] = doc["waived"]
    assert waived["violation"]["path"] == "include/openssl/ssl.h"
    assert waived["violation"]["filter"] == "openssl"
    assert waived["waiver"] == str(directory / "foo.yaml")
    assert (waived["issue"], waived["expires"]) == (ISSUE, in_days(30))
    assert f"waived until {in_days(30)}: ships OpenSSL headers" in proc.stderr
    assert ISSUE in proc.stderr and "VALID" in proc.stderr
    markdown = summary.read_text()
    assert ":white_check_mark:" in markdown and f"waived until {in_days(30)}" in markdown
    assert "conda-forge/foo-feedstock/issues/7" in markdown
    # a later job reads the verdict back with what it waived
    back = verdict_from_json(doc)
    assert back.valid and back.waived[0].waiver.issue == ISSUE
    assert render_text(back) == render_text(back) and "waived" in render_markdown(back)


def test_without_waivers_the_same_artifact_is_invalid(tmp_path: Path, clobbering: Path) -> None:
    """The default waivers/ directory of the repository waives nothing (it ships empty)."""
    proc = run_validate(clobbering, "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["waived"] == []


def test_waiver_for_another_package_or_path_leaves_it_invalid(
    tmp_path: Path, clobbering: Path
) -> None:
    for name, text in {
        "other.yaml": waiver_text(package="libbar*"),
        "paths.yaml": waiver_text(paths=["include/openssl/evp.h"]),
    }.items():
        directory = waivers_dir(tmp_path / name, text, name)
        proc = run_validate(clobbering, "--waivers", directory, "--json")
        assert proc.returncode == 1, (name, proc.stderr)
        doc = json.loads(proc.stdout)
        assert doc["waived"] == [] and [f["code"] for f in doc["findings"]] == ["AV201"]


def test_partly_waived_stays_invalid_with_the_rest(tmp_path: Path) -> None:
    files = {"include/openssl/ssl.h": b"h", "include/openssl/evp.h": b"e"}
    artifact = build_package(tmp_path / "linux-64", "foo", files, fmt=".conda")
    directory = waivers_dir(tmp_path, waiver_text(paths=["include/openssl/ssl.h"]))
    proc = run_validate(artifact, "--waivers", directory, "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert [v["path"] for v in doc["violations"]] == ["include/openssl/evp.h"]
    assert doc["findings"][0]["paths"] == ["include/openssl/evp.h"]
    assert [w["violation"]["path"] for w in doc["waived"]] == ["include/openssl/ssl.h"]


def test_archive_findings_are_never_waived(tmp_path: Path) -> None:
    """A '..' member (AV502) stays a finding even beside a waived clobber."""
    entries = package_entries(
        "foo", Entry("include/openssl/ssl.h", b"h"), Entry("lib/../../escape", b"x")
    )
    (tmp_path / "linux-64").mkdir()
    artifact = write_hostile(tmp_path / "linux-64" / "foo-1.0-0.tar.bz2", entries)
    text = waiver_text(paths=["include/openssl/**"])
    directory = waivers_dir(tmp_path, text)
    proc = run_validate(artifact, "--waivers", directory, "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    codes = {f["code"] for f in doc["findings"]}
    assert "AV502" in codes and "AV201" not in codes
    assert [w["violation"]["path"] for w in doc["waived"]] == ["include/openssl/ssl.h"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (waiver_text() + "owner: me\n", "unknown key 'owner'"),
        (waiver_text().replace("reason:", "note:"), "unknown key 'note'"),
        ("package: foo\nfilter: openssl\nissue: https://x.org/1\nexpires: 2099-01-01\n", "reason"),
        (waiver_text().replace(ISSUE, "ftp://x.org/1"), "'issue' must be an https:// URL"),
        (
            "package: foo\nreason: r\nissue: https://x.org/1\nexpires: " + in_days(3) + "\n",
            "needs 'filter' and/or 'paths'",
        ),
        (waiver_text(expires="2026-02-30"), "'expires' must be a date"),
        (waiver_text(expires=in_days(-1)), "expired on"),
        (waiver_text(expires=in_days(181)), "more than 180 days"),
        (waiver_text(package="*") + 'paths: ["**"]\n', "must start with a literal part"),
        (waiver_text(filter="no-such-filter"), "not the name of a loaded filter"),
    ],
)
def test_bad_waivers_exit_2_naming_the_file(
    tmp_path: Path, clobbering: Path, text: str, message: str
) -> None:
    directory = waivers_dir(tmp_path, text, "bad.yaml")
    proc = run_validate(clobbering, "--waivers", directory)
    assert proc.returncode == 2, proc.stderr
    assert "bad.yaml" in proc.stderr and message in proc.stderr


def test_missing_waiver_directory_exits_2(tmp_path: Path, clobbering: Path) -> None:
    proc = run_validate(clobbering, "--waivers", tmp_path / "nope")
    assert proc.returncode == 2 and "waiver directory does not exist" in proc.stderr


def test_check_waivers_script(tmp_path: Path) -> None:
    """What .ci/run runs: 0 for active waivers, 2 for an expired or invalid one."""
    good = waivers_dir(tmp_path / "good", waiver_text())
    proc = run_script("check_waivers.py", "--waivers", good)
    assert proc.returncode == 0, proc.stderr
    assert "1 waiver(s), all valid" in proc.stderr
    expired = waivers_dir(tmp_path / "old", waiver_text(expires=in_days(-1)))
    proc = run_script("check_waivers.py", "--waivers", expired)
    assert proc.returncode == 2 and "expired on" in proc.stderr
    assert run_script("check_waivers.py").returncode == 0  # the repository's own waivers/


def test_ci_runs_the_waiver_check() -> None:
    root = Path(__file__).resolve().parents[2]
    assert "check_waivers.py" in (root / ".ci" / "run").read_text()
