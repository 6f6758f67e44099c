"""Quarantine (issue 14 §6): an artifact unreadable run after run stops failing every scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from artifact_validation.channel import Channel
from artifact_validation.core import UsageError
from artifact_validation.filters import Matcher, load_filters
from artifact_validation.scan import (
    OutputPaths,
    ScanConfig,
    filters_fingerprint,
    load_state,
    run_scan,
)
from tests.support.builders import build_package
from tests.support.channels import write_repodata
from tests.support.cli import run_script

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BROKEN = "linux-64/broken-1.0-0.conda"


@pytest.fixture
def channel(tmp_path: Path) -> Path:
    """linux-64 with a clean build and one whose bytes are not an archive."""
    root = tmp_path / "channel"
    build_package(root / "linux-64", "good", {"lib/libgood.so": b"x"})
    good = next((root / "linux-64").glob("good-*.conda"))
    (root / "linux-64" / "broken-1.0-0.conda").write_bytes(good.read_bytes()[:100])
    write_repodata(root / "linux-64")
    return root


def scan_at(channel: Path, filters: Path, out: Path, now: datetime, after: int = 3):
    loaded = load_filters([filters])
    return run_scan(
        Channel(channel),
        Matcher(loaded),
        filters_fingerprint(loaded),
        OutputPaths.in_directory(out),
        ScanConfig(subdirs=("linux-64",), quarantine_after=after),
        now=now,
    )


def test_third_failure_quarantines_and_the_scan_is_clean(channel, filters, tmp_path) -> None:
    """Two runs report the error; the third quarantines it with its history; then exit 0."""
    out = tmp_path / "out"
    for day in range(2):
        summary = scan_at(channel, filters, out, T0 + timedelta(days=day))
        assert summary.errors == 1 and summary.quarantined == 0
    summary = scan_at(channel, filters, out, T0 + timedelta(days=2))
    assert summary.errors == 0 and summary.quarantined == 1 and summary.complete
    assert summary.new_quarantined == (BROKEN,)
    held = yaml.safe_load((out / "scan_quarantine.yaml").read_text())[BROKEN]
    assert held["attempts"] == 3 and held["first_seen"] == "2026-11-01T12:00:00Z"
    assert held["retry_after"] == "2026-11-10T12:00:00Z" and "broken" in held["reason"]
    assert yaml.safe_load((out / "scan_errors.yaml").read_text()) == {}
    again = scan_at(channel, filters, out, T0 + timedelta(days=3))
    assert again.new_quarantined == () and again.scanned == 0  # not retried before the week
    assert load_state(out / "scan_state").quarantine[BROKEN].attempts == 3


def test_weekly_retry_counts_and_a_fixed_artifact_leaves(channel, filters, tmp_path) -> None:
    """After a week it is read again: still broken, the next try is a week on; fixed, it leaves."""
    out = tmp_path / "out"
    for day in range(3):
        scan_at(channel, filters, out, T0 + timedelta(days=day))
    week = T0 + timedelta(days=10)
    retried = scan_at(channel, filters, out, week)
    assert retried.scanned == 0 and retried.errors == 0 and retried.new_quarantined == ()
    held = load_state(out / "scan_state").quarantine[BROKEN]
    assert held.attempts == 4 and held.retry_after == "2026-11-18T12:00:00Z"
    build_package(channel / "linux-64", "broken", {"include/openssl/ssl.h": b"x"})
    write_repodata(channel / "linux-64")
    fixed = scan_at(channel, filters, out, T0 + timedelta(days=20))
    state = load_state(out / "scan_state")
    assert fixed.quarantined == 0 and not state.quarantine and not state.failures
    assert fixed.invalid == 1  # read at last, and found clobbering


def test_a_success_in_between_restarts_the_count(channel, filters, tmp_path) -> None:
    """Fail, succeed, fail, fail: never three in a row, so never quarantined."""
    out = tmp_path / "out"
    broken = (channel / "linux-64" / "broken-1.0-0.conda").read_bytes()
    scan_at(channel, filters, out, T0)
    build_package(channel / "linux-64", "broken", {"lib/libbroken.so": b"x"})
    write_repodata(channel / "linux-64")
    assert scan_at(channel, filters, out, T0 + timedelta(days=1)).errors == 0
    (channel / "linux-64" / "broken-1.0-0.conda").write_bytes(broken)
    write_repodata(channel / "linux-64")
    for day in (2, 3):
        # the build is known clean: a new fingerprint forces the re-read
        (filters / f"extra{day}.yaml").write_text(f"files: [bin/x{day}]\nallowed: [x]\n")
        summary = scan_at(channel, filters, out, T0 + timedelta(days=day))
        assert summary.quarantined == 0 and summary.errors == 1
    assert load_state(out / "scan_state").failures[BROKEN].attempts == 2


def test_cli_exits_3_twice_then_0_and_says_so_once(channel, filters, tmp_path) -> None:
    """Through scan.py: exit 3, 3, then 0 with the artifact named once, then 0 silently."""
    out = tmp_path / "out"
    args = (
        "--channel", channel, "--subdir", "linux-64", "--filters", filters,
        "--output", out / "invalid_packages.yaml", "--cache-dir", out / "cache",
    )  # fmt: skip
    codes, errs = [], []
    for _ in range(4):
        proc = run_script("scan.py", *args)
        codes.append(proc.returncode)
        errs.append(proc.stderr)
    assert codes == [3, 3, 0, 0]
    assert f"quarantined after 3 failed reads: {BROKEN}" in errs[2]
    assert "quarantined after" not in errs[3]
    assert BROKEN in yaml.safe_load((out / "scan_quarantine.yaml").read_text())


def test_malformed_quarantine_entry_is_refused(channel, filters, tmp_path) -> None:
    """A state whose quarantine entry is not a failure record is a usage error, not a guess."""
    out = tmp_path / "out"
    scan_at(channel, filters, out, T0)
    path = tmp_path / "scan_state.json"  # a format-1 file: read for migration, as strictly
    path.write_text(load_state(out / "scan_state").to_json_text())
    path.write_text(path.read_text().replace('"quarantine": {}', '"quarantine": {"x/y": 1}'))
    with pytest.raises(UsageError, match="quarantine"):
        load_state(path)
