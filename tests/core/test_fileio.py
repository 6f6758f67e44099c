"""Tests of ``core.fileio`` and the inputs it guards: YAML bombs, deep JSON, atomic writes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from artifact_validation.core import FilterError, UsageError, dump_yaml, parse_yaml, read_json
from tests.support.builders import build_package
from tests.support.cli import run_script

BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n"
        for p, n in zip("abcdefg", "bcdefgh", strict=True)
    )
    + "files: [*h]\nallowed: [x]\n"
)
DEEP = b"[" * 100_000 + b"]" * 100_000


def test_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    """A few hundred bytes of nested aliases: exit 2 immediately, no expansion, no repr."""
    (tmp_path / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    started = time.monotonic()
    proc = run_script("validate.py", "--filters", tmp_path, "--file-list", "x.json")
    assert proc.returncode == 2, proc.stderr
    assert "anchor or alias" in proc.stderr and len(proc.stderr) < 1000
    assert time.monotonic() - started < 10


def test_plain_yaml_still_loads() -> None:
    """Files without anchors load as before."""
    assert parse_yaml("files: [a]\nallowed: [x]\n", FilterError, "f", "filter") == {
        "files": ["a"],
        "allowed": ["x"],
    }


def test_dump_never_writes_aliases() -> None:
    """A value used twice is written out twice, so our own files load back."""
    shared = ["a", "b"]
    text = dump_yaml({"x": shared, "y": shared})
    assert "&" not in text and "*" not in text
    assert parse_yaml(text, FilterError, "f", "doc") == {"x": shared, "y": shared}


def test_deep_json_is_a_usage_error(tmp_path: Path) -> None:
    """Deeply nested JSON is a named error, not a crash."""
    path = tmp_path / "deep.json"
    path.write_bytes(DEEP)
    with pytest.raises(UsageError, match="nested too deeply"):
        read_json(path, UsageError, "a document")


def test_deep_json_file_list_exits_2(tmp_path: Path) -> None:
    """validate.py --file-list on a deeply nested document: exit 2 with a message."""
    path = tmp_path / "deep.json"
    path.write_bytes(DEEP)
    proc = run_script("validate.py", "--file-list", path)
    assert proc.returncode == 2 and "nested too deeply" in proc.stderr


def test_deep_json_scan_state_exits_2(tmp_path: Path) -> None:
    """A scan state that is nested too deeply: exit 2, not an unexpected failure."""
    channel = tmp_path / "channel"
    build_package(channel / "noarch", "a", {"share/a": b"a"}, subdir="noarch")
    (channel / "noarch" / "repodata.json").write_text(json.dumps({"packages": {}}))
    out = tmp_path / "out"
    out.mkdir()
    (out / "scan_state.json").write_bytes(DEEP)
    proc = run_script(
        "scan.py", "--channel", channel, "--subdir", "noarch", "--output",
        out / "invalid_packages.yaml", "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    assert proc.returncode == 2 and "nested too deeply" in proc.stderr, proc.stderr


def test_deep_json_new_invalid_exits_2(tmp_path: Path) -> None:
    """scan.py report-new on a deeply nested list: exit 2."""
    path = tmp_path / "new.json"
    path.write_bytes(DEEP)
    proc = run_script("scan.py", "report-new", path, "--repo", "o/r")
    assert proc.returncode == 2 and "nested too deeply" in proc.stderr
