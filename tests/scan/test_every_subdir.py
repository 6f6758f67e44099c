"""The scan reads every subdir the channel publishes (issue 14 §5), win-arm64 included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from artifact_validation.channel import Channel
from artifact_validation.core import FetchError
from tests.support.builders import build_package
from tests.support.channels import write_channeldata, write_repodata
from tests.support.cli import run_script
from tests.support.servers import LocalServer

OPENSSL = "files: [include/openssl]\nallowed: [openssl]\n"


@pytest.fixture
def channel(tmp_path: Path) -> Path:
    """linux-64, noarch and win-arm64, a clobbering build in win-arm64 and linux-64."""
    root = tmp_path / "channel"
    build_package(root / "linux-64", "lin", {"include/openssl/ssl.h": b"x"})
    build_package(root / "noarch", "py", {"site-packages/py/__init__.py": b""}, subdir="noarch")
    build_package(root / "win-arm64", "arm", {"Library/bin/arm.dll": b"x"}, subdir="win-arm64")
    files = {"include/openssl/evp.h": b"x"}
    build_package(root / "win-arm64", "arm", files, build="1", subdir="win-arm64")
    for sub in ("linux-64", "noarch", "win-arm64"):
        write_repodata(root / sub)
    return root


def scan(channel: str | Path, tmp_path: Path) -> tuple[int, dict, str]:
    filters = tmp_path / "filters"
    filters.mkdir(exist_ok=True)
    (filters / "openssl.yaml").write_text(OPENSSL)
    out = tmp_path / "out"
    proc = run_script(
        "scan.py", "--channel", channel, "--filters", filters,
        "--output", out / "invalid_packages.yaml", "--cache-dir", out / "cache",
    )  # fmt: skip
    invalid = (
        yaml.safe_load((out / "invalid_packages.yaml").read_text()) if proc.returncode < 2 else {}
    )
    return proc.returncode, invalid or {}, proc.stderr


def test_directory_without_channeldata_scans_every_subdir(channel: Path, tmp_path: Path) -> None:
    """With no --subdir, a directory channel's subdirs are those holding a repodata.json."""
    assert Channel(channel).subdirs() == ("linux-64", "noarch", "win-arm64")
    rc, invalid, err = scan(channel, tmp_path)
    assert rc == 0, err
    assert set(invalid) == {"lin", "arm"}
    assert set(invalid["arm"]) == {"win-arm64/arm-1.0-1.conda"}


def test_served_channel_scans_the_subdirs_of_its_channeldata(channel: Path, tmp_path: Path) -> None:
    """Over HTTP the subdirs come from channeldata.json: win-arm64 is scanned by default."""
    write_channeldata(channel)
    with LocalServer(channel) as server:
        assert Channel(server.url).subdirs() == ("linux-64", "noarch", "win-arm64")
        rc, invalid, err = scan(server.url, tmp_path)
        assert rc == 0, err
        assert "win-arm64/arm-1.0-1.conda" in invalid["arm"]
        assert any(path == "/channeldata.json" for _, path, *_ in server.requests)


@pytest.mark.parametrize("subdirs", [["linux-64", "../../etc"], ["linux-64", 7], [], "linux-64"])
def test_hostile_channeldata_fails_closed(channel: Path, tmp_path: Path, subdirs) -> None:
    """A name that is not a subdir, a non-string, an empty list or a non-list: exit 3, no scan."""
    (channel / "channeldata.json").write_text(json.dumps({"subdirs": subdirs}))
    with pytest.raises(FetchError):
        Channel(channel).subdirs()
    rc, _, err = scan(channel, tmp_path)
    assert rc == 3 and "channeldata.json" in err


def test_served_channel_without_channeldata_is_a_usage_error(channel: Path, tmp_path: Path) -> None:
    """No channeldata.json at a URL: exit 2 telling to pass --subdir, nothing scanned."""
    with LocalServer(channel) as server:
        rc, _, err = scan(server.url, tmp_path)
    assert rc == 2 and "--subdir" in err
