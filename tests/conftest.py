"""Shared fixtures: the fake services and a factory of filter directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fake_api import fake_api  # noqa: F401 - the shared fake-services fixture
from tests.support.world import world  # noqa: F401 - the validate-artifact world fixture


@pytest.fixture
def filter_dir(tmp_path: Path):
    """A factory writing filter YAML files into a fresh directory."""
    directory = tmp_path / "filters"
    directory.mkdir()

    def write(name: str, text: str) -> Path:
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
        return directory

    return write
