"""bench/bench_scale.py (issue 14 §7) at a small size: the generator makes a channel the scan
reads, and both runs report what the benchmark's figures are made of."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from artifact_validation.channel import Channel
from tests.support.paths import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import bench_scale  # noqa: E402


def test_generated_channel_lists_every_build_of_every_subdir(tmp_path: Path) -> None:
    counts = bench_scale.generate(tmp_path, 800, seed=3)
    channel = Channel(tmp_path)
    assert channel.subdirs() == tuple(sorted(bench_scale.SUBDIRS))
    listed = {s: len(channel.listing(s).artifacts) for s in channel.subdirs()}
    assert listed == counts and sum(listed.values()) == 800
    assert all(not channel.listing(s).problems for s in channel.subdirs())
    bench_scale.generate(tmp_path, 800, seed=3, new=100)
    assert sum(len(channel.listing(s).artifacts) for s in channel.subdirs()) == 900


def test_synthetic_file_lists_are_deterministic_and_realistic() -> None:
    paths = bench_scale.synthetic_paths("pyfoo", "win-64", "pyfoo-1.0-h1_0")
    assert paths == bench_scale.synthetic_paths("pyfoo", "win-64", "pyfoo-1.0-h1_0")
    assert all(p.startswith("Lib/site-packages/") for p in paths if p not in bench_scale.PROTECTED)
    sizes = [
        len(bench_scale.synthetic_paths("lib", "linux-64", f"lib-1-h{i}_0")) for i in range(400)
    ]
    assert 20 <= sorted(sizes)[200] <= 80 and max(sizes) <= 5_000


def test_small_run_reports_every_figure(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_scale.py"),
            "--artifacts",
            "3000",
            "--out",
            str(tmp_path / "scale"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    summary = json.loads(done.stdout[done.stdout.index("{") :])
    assert summary["full_run"]["scanned"] == 3000 and summary["full_run"]["complete"]
    assert summary["incremental_run"]["scanned"] == bench_scale.NEW_BUILDS
    assert summary["incremental_run"]["errors"] == 0
    assert 0 < summary["largest_state_file"] <= summary["state_bytes"] < 20 * 2**20
    assert summary["full_run"]["peak_bytes"] > 0
    assert "within the limit" in done.stdout
