"""The scan applies the waivers validate.py does: waived builds leave the output, not the state."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml

from artifact_validation.scan import load_state
from tests.scan.test_scan import scan, scan_args


def waivers(tmp_path: Path, days: int, package: str = "clob") -> Path:
    directory = tmp_path / "waivers"
    directory.mkdir(parents=True, exist_ok=True)
    expires = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)
    (directory / f"{package}.yaml").write_text(
        f"package: {package}\nfilter: openssl\nreason: vendored headers\n"
        f"issue: https://github.com/o/clob-feedstock/issues/1\nexpires: {expires}\n"
    )
    return directory


def test_waived_build_is_not_listed_but_stays_in_the_state(
    standard: Path, tmp_path: Path, filters: Path
) -> None:
    out = tmp_path / "out"
    summary_md = tmp_path / "summary.md"
    proc = scan(
        *scan_args(standard, out, filters, "--waivers", waivers(tmp_path, 30)),
        env={"GITHUB_STEP_SUMMARY": str(summary_md)},
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["invalid"], doc["new_invalid"]) == (0, 0)
    assert "waived: 2 file(s)" in proc.stderr
    assert yaml.safe_load((out / "invalid_packages.yaml").read_text()) == {}
    state = load_state(out / "scan_state")
    assert "linux-64/clob-1.0-0" in state.invalid  # raw verdicts: an expiry needs no re-read

    # A waiver for another package waives nothing.
    other = tmp_path / "other"
    proc = scan(*scan_args(standard, other, filters, "--waivers", waivers(other, 30, "libbar")))
    assert json.loads(proc.stdout)["invalid"] == 2


def test_expired_waiver_is_reported_and_not_applied(
    standard: Path, tmp_path: Path, filters: Path
) -> None:
    out = tmp_path / "out"
    summary_md = tmp_path / "summary.md"
    proc = scan(
        *scan_args(standard, out, filters, "--waivers", waivers(tmp_path, -1)),
        env={"GITHUB_STEP_SUMMARY": str(summary_md)},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["invalid"] == 2
    assert "clob.yaml expired on" in proc.stderr and "was not applied" in proc.stderr
    assert "Expired waivers" in summary_md.read_text()
    assert "clob" in yaml.safe_load((out / "invalid_packages.yaml").read_text())


def test_merge_applies_waivers_and_bad_waivers_exit_2(
    standard: Path, tmp_path: Path, filters: Path
) -> None:
    shard = tmp_path / "s1"
    assert scan(*scan_args(standard, shard, filters, "--shard", "1/1")).returncode == 0
    target = tmp_path / "data" / "invalid_packages.yaml"
    new = tmp_path / "new.json"
    active = waivers(tmp_path, 30)
    proc = scan("merge", shard, "--output", target, "--new-invalid", new, "--waivers", active)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(new.read_text()) == []
    assert yaml.safe_load(target.read_text()) == {}
    (active / "bad.yaml").write_text("package: '*'\npaths: ['**']\n")
    proc = scan(*scan_args(standard, tmp_path / "o2", filters, "--waivers", active))
    assert proc.returncode == 2 and "bad.yaml" in proc.stderr
