"""File lists in the libcfgraph format: ``{"files": [...], "index": {"name", "subdir", ...}}``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artifact_validation.core.errors import FileListError


@dataclass(frozen=True)
class FileList:
    """What an artifact installs, as its metadata says: identity plus relative paths."""

    name: str
    subdir: str
    paths: tuple[str, ...]
    index: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def version(self) -> str:
        """The version from the index, or '' when absent."""
        return str(self.index.get("version", ""))

    @property
    def build(self) -> str:
        """The build string from the index, or '' when absent."""
        return str(self.index.get("build", ""))


def parse_file_list(data: Any, where: str) -> FileList:
    """Check a decoded libcfgraph document and return its ``FileList``."""
    if not isinstance(data, dict):
        raise FileListError(f"{where}: a file list must be a JSON object with 'files' and 'index'")
    files = data.get("files")
    index = data.get("index")
    # set(map(type, ...)) runs in C: the scan parses thousands of these per second.
    if not isinstance(files, list) or not set(map(type, files)) <= {str}:
        raise FileListError(f"{where}: 'files' must be a list of path strings")
    if not isinstance(index, dict):
        raise FileListError(f"{where}: 'index' must be an object with 'name' and 'subdir'")
    for key in ("name", "subdir"):
        if not isinstance(index.get(key), str) or not index[key]:
            raise FileListError(f"{where}: 'index.{key}' must be a non-empty string")
    return FileList(index["name"], index["subdir"], tuple(files), index)


def load_file_list(path: str | Path) -> FileList:
    """Read a libcfgraph JSON file list from disk."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise FileListError(f"{where}: cannot read file list: {exc.strerror or exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise FileListError(f"{where}: not valid JSON: {exc}") from exc
    return parse_file_list(data, where)
