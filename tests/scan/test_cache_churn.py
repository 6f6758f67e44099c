"""The file-list cache of the scan workflow saves only what is new (issue 14 §4).

The workflow keeps two cache entries per shard: a weekly base and a delta of
the segments written since. This runs the workflow's own shell steps around
real scans of a served channel and checks what each run would save.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from tests.support.builders import build_package
from tests.support.channels import write_repodata
from tests.support.cli import run_script
from tests.support.paths import ROOT
from tests.support.servers import LocalServer

WORKFLOW = ROOT / ".github" / "workflows" / "scan.yml"


def step(name: str) -> str:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["scan"]["steps"]
    return next(s["run"] for s in steps if s.get("name") == name)


def bash(script: str, cwd: Path) -> str:
    proc = subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def scan(url: str, work: Path) -> None:
    proc = run_script(
        "scan.py", "--channel", url, "--subdir", "linux-64",
        "--output", work / "out" / "invalid_packages.yaml", "--cache-dir", work / ".scan_cache",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def segments(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(directory.glob("*.jsonl.gz"))}


def restore(saved: Path | None, target: Path) -> None:
    """What actions/cache/restore does: the saved directory back at its path."""
    if saved is not None:
        shutil.copytree(saved, target, dirs_exist_ok=True)


def test_a_run_saves_only_the_segments_added_since_the_weekly_base(tmp_path: Path) -> None:
    """Run 1 saves base and delta; run 2, with one new artifact, saves a delta of one segment."""
    channel = tmp_path / "channel"
    for i in range(12):
        build_package(channel / "linux-64", f"pkg{i}", {f"lib/libpkg{i}.so": b"x" * 50})
    write_repodata(channel / "linux-64")
    join = step("Join base and delta")
    collect = step("Collect the segments that are not in the base")
    saved = tmp_path / "saved"
    with LocalServer(channel) as server:
        # Run 1, the first of the week: nothing to restore; it saves the base and a delta.
        run1 = tmp_path / "run1"
        run1.mkdir()
        bash(join, run1)
        scan(server.url, run1)
        bash(collect, run1)
        shutil.copytree(run1 / ".scan_cache" / "file-lists", saved / "base")
        shutil.copytree(run1 / ".scan_cache" / "delta", saved / "delta1")
        base = segments(saved / "base")
        assert len(base) == 1 and segments(saved / "delta1") == base
        # Run 2 on a fresh runner, with one new artifact in the channel.
        build_package(channel / "linux-64", "newcomer", {"lib/libnew.so": b"y" * 50})
        write_repodata(channel / "linux-64")
        run2 = tmp_path / "run2"
        shutil.copytree(run1 / "out", run2 / "out")  # the state comes with the repository
        restore(saved / "base", run2 / ".scan_cache" / "file-lists")
        restore(saved / "delta1", run2 / ".scan_cache" / "delta")
        bash(join, run2)
        scan(server.url, run2)
        bash(collect, run2)
    delta = segments(run2 / ".scan_cache" / "delta")
    assert len(delta) == 1 and not set(delta) & set(base)  # only the new segment
    everything = segments(run2 / ".scan_cache" / "file-lists")
    assert set(everything) == set(base) | set(delta)
    assert sum(delta.values()) < sum(everything.values())
    # The new segment holds the newcomer's file list only.
    import gzip  # noqa: PLC0415

    [name] = delta
    lines = gzip.decompress((run2 / ".scan_cache" / "delta" / name).read_bytes()).splitlines()
    assert len(lines) == 1 and b"newcomer" in lines[0]
