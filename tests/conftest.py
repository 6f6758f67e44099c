"""Shared fixtures: repository paths and small builders for filters and file lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fake_api import fake_api  # noqa: F401 - the shared fake-services fixture (issue 5)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
CORPUS = DATA / "corpus"
EARLIER = DATA / "earlier-validator"
EARLIER_FILTER_DIRS = [EARLIER / "validate_yamls", EARLIER / "generated_validate_yamls"]


def write_file_list(path: Path, name: str, subdir: str, files: list[str], **index: str) -> Path:
    """Write a libcfgraph-style file list and return its path."""
    doc = {"files": files, "index": {"name": name, "subdir": subdir, **index}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture
def filter_dir(tmp_path: Path):
    """A factory writing filter YAML files into a fresh directory."""
    directory = tmp_path / "filters"
    directory.mkdir()

    def write(name: str, text: str) -> Path:
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
        return directory

    return write
