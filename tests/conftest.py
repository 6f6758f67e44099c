"""Shared fixtures: repository paths and small builders for filters and file lists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_api import fake_api  # noqa: F401 - the shared fake-services fixture (issue 5)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
CORPUS = DATA / "corpus"
EARLIER = DATA / "earlier-validator"
EARLIER_FILTER_DIRS = [EARLIER / "validate_yamls", EARLIER / "generated_validate_yamls"]


#: Variables of the developer's or CI's environment that would change what validate.py does.
_LEAKY_ENV = ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "VALIDATE_ALLOWED_HOSTS")


def run_validate(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run validate.py as a user would; the environment is ours plus ``env``, minus leaks."""
    base = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    return subprocess.run(
        [sys.executable, str(ROOT / "validate.py"), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env={**base, **(env or {})},
        cwd=cwd,
    )


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
