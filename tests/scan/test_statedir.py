"""The scan state directory (format 2): small shards, exact round trip, torn writes refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artifact_validation.core.errors import UsageError
from artifact_validation.scan import (
    INDEX_NAME,
    InvalidEntry,
    OutputPaths,
    ScanState,
    Shard,
    load_state,
    save,
    save_state_dir,
)
from artifact_validation.scan.quarantine import Failure
from tests.scan.test_scan import scan, scan_args
from tests.support.channels import build_standard_channel

#: The largest channel the layout must serve, and the largest file allowed at that size.
TARGET_ARTIFACTS = 2_500_000
MAX_FILE = 20 * 1024 * 1024
FP = "0123456789abcdef"


def synthetic(count: int) -> ScanState:
    """A state for ``count`` builds, most of them in two big subdirs (like conda-forge)."""
    state = ScanState(channel="https://conda.anaconda.org/conda-forge", complete=True)
    weights = [("noarch", 40), ("linux-64", 30), ("osx-64", 12), ("win-64", 10), ("osx-arm64", 8)]
    n = 0
    for subdir, weight in weights:
        for i in range(count * weight // 100):
            key = f"{subdir}/pkg{i % 9973}-{i // 9973}.{i % 7}.0-py3{i % 13}h{n:08x}_0"
            state.scanned[key] = FP
            n += 1
    for i, key in enumerate(list(state.scanned)[::5000]):
        state.invalid[key] = InvalidEntry("pkg", (key.split("/")[1] + ".conda",), (("f", ("a",)),))
        state.errors[f"{key}.tar.bz2"] = f"reason {i}"
    first = next(iter(state.scanned))
    since, due = "2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z"
    state.quarantine[first + ".conda"] = Failure("broken", since, 3, due)
    state.failures[first + ".tar.bz2"] = Failure("flaky", "2026-01-01T00:00:00Z", 1)
    return state


@pytest.fixture(scope="module")
def big() -> ScanState:
    return synthetic(300_000)


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_large_state_round_trips_and_no_file_outgrows_the_limit(big, tmp_path) -> None:
    """300k builds: exact round trip; scaled to 2.5 M artifacts no file passes 20 MB."""
    save_state_dir(big, tmp_path / "s")
    assert load_state(tmp_path / "s") == big
    files = files_of(tmp_path / "s")
    total = sum(len(raw) for raw in files.values())
    per_artifact = total / len(big.scanned)
    largest = max(len(raw) for raw in files.values())
    # A part holds at most KEYS_PER_FILE keys at any channel size: its size does not grow
    # with the channel. Scaled as if it did (the worst case), it still fits.
    assert largest * TARGET_ARTIFACTS / len(big.scanned) < MAX_FILE, (largest, per_artifact)
    assert per_artifact < 20, per_artifact  # ~54 bytes each as the format-1 JSON
    assert len([n for n in files if n.startswith("noarch.")]) == 2  # 120k keys: split in two


def test_saving_twice_is_byte_identical_and_a_change_rewrites_one_part(big, tmp_path) -> None:
    """Unchanged parts are the same bytes (git stores nothing); one key touches one part."""
    save_state_dir(big, tmp_path / "s")
    before = files_of(tmp_path / "s")
    save_state_dir(big, tmp_path / "s")
    assert files_of(tmp_path / "s") == before
    changed = ScanState(**{**big.__dict__, "scanned": dict(big.scanned)})
    key = next(k for k in big.scanned if k.startswith("win-64/"))
    changed.scanned[key] = "fedcba9876543210"
    save_state_dir(changed, tmp_path / "s")
    after = files_of(tmp_path / "s")
    rewritten = {n for n in after if after[n] != before.get(n)}
    assert len(rewritten) == 2 and INDEX_NAME in rewritten  # the index and one win-64 part
    assert [n for n in rewritten if n != INDEX_NAME][0].startswith("win-64.")
    assert len(set(before) - set(after)) == 1  # its old version, deleted after the index
    assert load_state(tmp_path / "s").scanned[key] == "fedcba9876543210"


def test_empty_and_sharded_states_round_trip(tmp_path) -> None:
    """No builds: only the index; a shard's number survives."""
    empty = ScanState(channel="c", shard=Shard(2, 8))
    save_state_dir(empty, tmp_path / "e")
    assert [p.name for p in (tmp_path / "e").iterdir()] == [INDEX_NAME]
    assert load_state(tmp_path / "e") == empty


def test_a_corrupted_or_missing_shard_is_refused_naming_it(tmp_path) -> None:
    """A part whose bytes are not those the index records is refused, never half-read."""
    state = synthetic(2000)
    save_state_dir(state, tmp_path / "s")
    part = next(p for p in (tmp_path / "s").iterdir() if p.name.endswith(".json.gz"))
    raw = part.read_bytes()
    part.write_bytes(raw[:-10])
    with pytest.raises(UsageError, match=part.name):
        load_state(tmp_path / "s")
    part.unlink()
    with pytest.raises(UsageError, match=part.name):
        load_state(tmp_path / "s")


def test_a_corrupted_shard_exits_2_in_the_cli(tmp_path, filters) -> None:
    """The scan refuses a torn state directory with exit 2 and the file's name."""
    channel = tmp_path / "channel"
    build_standard_channel(channel)
    out = tmp_path / "out"
    assert scan(*scan_args(channel, out, filters)).returncode == 0
    part = next((out / "scan_state").glob("*.json.gz"))
    part.write_bytes(b"\x1f\x8b torn")
    proc = scan(*scan_args(channel, out, filters))
    assert proc.returncode == 2 and part.name in proc.stderr and "Traceback" not in proc.stderr
    assert part.read_bytes() == b"\x1f\x8b torn"  # refused, left for a human


def test_format_1_file_is_migrated_once(tmp_path) -> None:
    """A scan_state.json beside the directory is read, then replaced by the directory."""
    state = synthetic(3000)
    (tmp_path / "scan_state.json").write_text(state.to_json_text())
    paths = OutputPaths.in_directory(tmp_path)
    assert load_state(paths.state) == state
    save(state, paths)
    assert not (tmp_path / "scan_state.json").exists()
    assert load_state(paths.state) == state
    assert json.loads((paths.state / INDEX_NAME).read_text())["format"] == 2


def test_a_killed_save_leaves_the_old_state_readable(tmp_path, monkeypatch) -> None:
    """New parts are written before the index and old ones deleted after: a kill between
    leaves the old index, and every file it lists."""
    from artifact_validation.scan import statedir

    old, new = synthetic(2000), synthetic(2500)
    save_state_dir(old, tmp_path / "s")
    real = statedir.write_atomic

    def die_at_index(path, data):
        if Path(path).name == INDEX_NAME:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(statedir, "write_atomic", die_at_index)
    with pytest.raises(KeyboardInterrupt):
        save_state_dir(new, tmp_path / "s")
    assert load_state(tmp_path / "s") == old
    monkeypatch.setattr(statedir, "write_atomic", real)
    save_state_dir(new, tmp_path / "s")
    assert load_state(tmp_path / "s") == new
    listed = json.loads((tmp_path / "s" / INDEX_NAME).read_text())["files"]
    assert set(listed) | {INDEX_NAME} == {p.name for p in (tmp_path / "s").iterdir()}


def test_cli_migrates_a_format_1_state_file(tmp_path, filters) -> None:
    """``--state old.json`` (format 1) is read, then kept as the directory ``old/``."""
    channel = tmp_path / "channel"
    build_standard_channel(channel)
    ref = tmp_path / "ref"
    assert scan(*scan_args(channel, ref, filters)).returncode == 0
    state = load_state(ref / "scan_state")
    legacy = tmp_path / "old.json"
    legacy.write_text(state.to_json_text())
    out = tmp_path / "out"
    proc = scan(*scan_args(channel, out, filters, "--state", legacy))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["scanned"] == 0  # everything known from the old file
    assert not legacy.exists() and load_state(tmp_path / "old") == state
