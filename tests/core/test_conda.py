"""Tests of ``core.conda``: one subdir rule, one file-name parser, sizes; every checker agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artifact_validation.archive import validate_artifact
from artifact_validation.channel import Channel
from artifact_validation.core import (
    PayloadError,
    UsageError,
    check_subdir,
    is_subdir,
    parse_size,
    split_filename,
    split_stem,
)
from artifact_validation.worker import parse_payload
from tests.support.builders import build_package
from tests.support.cli import run_script

SUBDIR_REFUSAL = "is not a conda subdir"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("noarch", True),
        ("linux-64", True),
        ("osx-arm64", True),
        ("win-arm64", True),
        ("emscripten-wasm32", True),
        ("zos-z", True),
        ("linux-riscv64", True),
        ("foo", False),
        ("linux_64", False),
        ("a-b-c", False),
        ("linux-64-x", False),
        ("Linux-64", False),
        ("-64", False),
        ("linux-", False),
        ("", False),
        ("noarch/", False),
    ],
)
def test_subdir_rule(text: str, ok: bool) -> None:
    """``noarch`` or ``<platform>-<arch>``: the one rule, with a message naming the input."""
    assert is_subdir(text) is ok
    if not ok:
        with pytest.raises(UsageError, match=SUBDIR_REFUSAL):
            check_subdir(text, "--subdir")


def _payload_accepts(subdir: str) -> bool:
    url = f"https://conda.anaconda.org/cf-staging/{subdir}/foo-1.0-h0_0.conda"
    doc = {"artifact_url": url, "md5": "0" * 32, "feedstock": "foo", "git_sha": "1" * 40}
    try:
        parse_payload(doc, ["conda.anaconda.org"])
    except PayloadError as exc:
        assert "subdir" in str(exc)
        return False
    return True


def _cli_accepts(subdir: str, artifact: Path) -> bool:
    try:
        validate_artifact(artifact, matcher=None, subdir=subdir)
    except UsageError as exc:
        assert SUBDIR_REFUSAL in str(exc)
        return False
    return True


def _channel_accepts(subdir: str, channel: Path) -> bool:
    try:
        Channel(channel).listing(subdir)
    except UsageError as exc:
        return SUBDIR_REFUSAL not in str(exc)  # a good subdir without repodata is refused too
    return True


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("subdirs")
    artifact = build_package(root / "linux-64", "foo", {"lib/libfoo.so": b"x"})
    (root / "channel").mkdir()
    return artifact, root / "channel"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyzA0123456789-_.", min_size=1, max_size=16),
        st.sampled_from(["noarch", "linux-64", "foo", "linux_64", "a-b-c", "linux-64-x"]),
    )
)
def test_payload_cli_and_channel_agree_on_subdirs(places: tuple[Path, Path], subdir: str) -> None:
    """The event payload, validate.py --subdir and the channel reader accept the same subdirs."""
    if subdir in (".", ".."):
        return  # never a path segment of a URL or a directory name that means itself
    artifact, channel = places
    expected = is_subdir(subdir)
    assert _payload_accepts(subdir) is expected
    assert _cli_accepts(subdir, artifact) is expected
    assert _channel_accepts(subdir, channel) is expected


def test_every_entry_point_refuses_subdir_foo_the_same_way(tmp_path: Path) -> None:
    """validate.py --subdir foo, scan.py --subdir foo and an event for subdir foo: exit 2."""
    artifact = build_package(tmp_path / "linux-64", "foo", {"lib/libfoo.so": b"x"})
    validate = run_script("validate.py", artifact, "--subdir", "foo")
    (tmp_path / "channel").mkdir()
    scan = run_script(
        "scan.py", "--channel", tmp_path / "channel", "--subdir", "foo", "--output",
        tmp_path / "out" / "invalid.yaml", "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    event = tmp_path / "event.json"
    url = "https://conda.anaconda.org/cf-staging/foo/foo-1.0-h0_0.conda"
    payload = {"artifact_url": url, "md5": "0" * 32, "feedstock": "foo", "git_sha": "1" * 40}
    event.write_text(json.dumps({"action": "validate-artifact", "client_payload": payload}))
    worker = run_script(
        "validate_event.py", event, "--report", tmp_path / "r.json", env={"GITHUB_TOKEN": "t"}
    )
    for proc in (validate, scan, worker):
        assert proc.returncode == 2, proc.stderr
        assert "'foo' is not a conda subdir" in proc.stderr


@pytest.mark.parametrize(
    ("filename", "parts"),
    [
        ("numpy-1.26.4-py311h64a7726_0.conda", ("numpy-1.26.4-py311h64a7726_0", ".conda")),
        (
            "ca-certificates-2024.2.2-hbcca054_0.tar.bz2",
            ("ca-certificates-2024.2.2-hbcca054_0", ".tar.bz2"),
        ),
        ("foo.conda", None),
        ("../x-1-0.conda", None),
        ("x-1-0.zip", None),
        (".conda", None),
    ],
)
def test_split_filename(filename: str, parts: tuple[str, str] | None) -> None:
    """An artifact file name is ``<name>-<version>-<build>`` plus a suffix, never a path."""
    assert split_filename(filename) == parts


def test_split_stem() -> None:
    """The name keeps its dashes; version and build have none."""
    assert split_stem("ca-certificates-2024.2.2-hbcca054_0") == (
        "ca-certificates",
        "2024.2.2",
        "hbcca054_0",
    )
    assert split_stem("odd") == ("odd", "", "")


@pytest.mark.parametrize(
    ("text", "value"), [("1234", 1234), ("1K", 1024), ("500M", 500 << 20), ("16GiB", 16 << 30)]
)
def test_parse_size(text: str, value: int) -> None:
    """Sizes are powers of 1024; units are case-insensitive."""
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "0", "-1", "1X", "M"])
def test_parse_size_refuses(text: str) -> None:
    """Zero, negative and unknown units are refused."""
    with pytest.raises(ValueError):
        parse_size(text)
