"""File lists in the libcfgraph format: ``{"files": [...], "index": {"name", "subdir", ...}}``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artifact_validation.core.conda import STEM_RE, name_of_stem
from artifact_validation.core.errors import FileListError
from artifact_validation.core.fileio import read_json

#: The channel name under which libcfgraph files its file lists.
LIBCFGRAPH_CHANNEL = "conda-forge"


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


def load_file_list(path: str | os.PathLike[str]) -> FileList:
    """Read a libcfgraph JSON file list from disk."""
    return parse_file_list(read_json(path, FileListError, "file list"), os.fspath(path))


def is_libcfgraph(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` holds file lists in the libcfgraph layout (it has ``artifacts/``)."""
    return os.path.isdir(os.path.join(os.fspath(root), "artifacts"))


def file_list_path(
    root: str | os.PathLike[str],
    name: str,
    subdir: str,
    stem: str,
    channel: str = LIBCFGRAPH_CHANNEL,
    *,
    libcfgraph: bool | None = None,
) -> Path:
    """Where the file list of one artifact lives under ``root`` (whether or not it exists).

    The one place that knows both layouts: libcfgraph,
    ``root/artifacts/<name>/<channel>/<subdir>/<stem>.json``, when
    ``root/artifacts`` is a directory; else flat, ``root/<subdir>/<stem>.json``.
    ``libcfgraph`` skips that check when the caller already knows the layout.
    The parts must be valid names (``check_subdir``, ``split_filename``).
    """
    base = os.fspath(root)
    if libcfgraph is None:
        libcfgraph = is_libcfgraph(base)
    if libcfgraph:
        return Path(base, "artifacts", name, channel, subdir, f"{stem}.json")
    return Path(base, subdir, f"{stem}.json")


def file_list_paths(root: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """Every file list under ``root`` by package name (from its place in the layout), sorted."""
    base = Path(root)
    by_name: dict[str, list[Path]] = {}
    if is_libcfgraph(base):
        for path in (base / "artifacts").glob("*/*/*/*.json"):
            by_name.setdefault(path.relative_to(base).parts[1], []).append(path)
    else:
        for path in base.glob("*/*.json"):
            if STEM_RE.fullmatch(path.stem):  # <name>-<version>-<build>
                by_name.setdefault(name_of_stem(path.stem), []).append(path)
    return {name: sorted(paths) for name, paths in by_name.items()}
