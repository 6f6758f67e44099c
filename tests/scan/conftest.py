"""Fixtures the scan tests share: the standard channel and a filter dir protecting OpenSSL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.channels import build_standard_channel

#: A filter protecting OpenSSL's headers (the standard channel's clobbering build ships one).
OPENSSL = "files: [include/openssl]\nallowed: [openssl]\n"


@pytest.fixture(scope="module")
def standard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard channel (tests/support/channels.py), built once per test module."""
    root = tmp_path_factory.mktemp("channel")
    build_standard_channel(root)
    return root


@pytest.fixture
def filters(tmp_path: Path) -> Path:
    """A filter dir protecting OpenSSL headers only."""
    directory = tmp_path / "filters"
    directory.mkdir()
    (directory / "openssl.yaml").write_text(OPENSSL)
    return directory
