"""Where owners' file lists come from: a directory of file lists, or several sources as one.

A live channel is a source too (``channel.sources.ChannelFileLists``): it
satisfies ``FileListSource`` without this layer importing the channel's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from artifact_validation.core.errors import UsageError
from artifact_validation.core.filelist import (
    FileList,
    file_list_paths,
    is_libcfgraph,
    load_file_list,
)
from artifact_validation.filters.files import Filter
from artifact_validation.filters.generate.config import PythonPackage


class FileListSource(Protocol):
    """Where owners' file lists come from: a directory now, a live channel in production."""

    def describe(self) -> str:
        """A short human name of the source, for the summary."""
        ...

    def file_lists(self, name: str) -> list[FileList]:
        """Every file list of package ``name`` the source holds (empty when none)."""
        ...


class DirectorySource:
    """File lists on disk, libcfgraph layout or flat.

    ``DIR/artifacts/<name>/<channel>/<subdir>/<stem>.json`` (libcfgraph) or
    ``DIR/<subdir>/<stem>.json`` (flat, ``<stem>`` = ``<name>-<version>-<build>``).
    Each file's ``index.name`` must agree with where it was found.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise UsageError(f"{self.root}: file-list directory does not exist")
        self.libcfgraph = is_libcfgraph(self.root)
        self._by_name: dict[str, list[Path]] | None = None

    def describe(self) -> str:
        """The directory and its layout."""
        return f"{self.root} ({'libcfgraph' if self.libcfgraph else 'flat'} layout)"

    def _index(self) -> dict[str, list[Path]]:
        if self._by_name is None:
            self._by_name = file_list_paths(self.root)
            if not self._by_name:
                raise UsageError(f"{self.root}: no file lists (*.json) found")
        return self._by_name

    def file_lists(self, name: str) -> list[FileList]:
        """Load the file lists of ``name``; a file whose index names another package is an error."""
        out = []
        for path in self._index().get(name, []):
            fl = load_file_list(path)
            if fl.name != name:
                raise UsageError(f"{path}: index.name is {fl.name!r}, but the path says {name!r}")
            out.append(fl)
        return out


def owner_names(hand_written: Sequence[Filter], python: Sequence[PythonPackage]) -> list[str]:
    """Every package whose file lists the generator reads (a channel source needs them first)."""
    names = {n for flt in hand_written for n in flt.generate_from_artifacts}
    return sorted(names | {pkg.name for pkg in python})


class CombinedSource:
    """Several sources read as one (their file lists are concatenated)."""

    def __init__(self, sources: Sequence[FileListSource]) -> None:
        self.sources = tuple(sources)

    def describe(self) -> str:
        """The sources, comma-separated."""
        return ", ".join(s.describe() for s in self.sources)

    def file_lists(self, name: str) -> list[FileList]:
        """The file lists of ``name`` from every source."""
        return [fl for s in self.sources for fl in s.file_lists(name)]
