"""A subdir's repodata.json, streamed: one ``Artifact`` per build, refused records kept apart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import ijson

from artifact_validation.core.conda import name_of_stem, split_filename
from artifact_validation.core.errors import FetchError


@dataclass(frozen=True)
class Artifact:
    """One build in a channel: its subdir and stem, and the file names listed for it.

    ``filenames`` is sorted with the ``.conda`` first; ``filename`` is the one
    read, ``size`` its size per repodata (None when repodata has none).
    """

    subdir: str
    stem: str
    name: str
    filenames: tuple[str, ...]
    size: int | None = None

    @property
    def filename(self) -> str:
        """The file read for this build: the ``.conda`` when listed, else the ``.tar.bz2``."""
        return self.filenames[0]

    @property
    def key(self) -> str:
        """``<subdir>/<stem>``: the build's identity in scan state."""
        return f"{self.subdir}/{self.stem}"

    @property
    def file_keys(self) -> tuple[str, ...]:
        """``<subdir>/<file>`` of every listed file of this build."""
        return tuple(f"{self.subdir}/{f}" for f in self.filenames)

    @property
    def version(self) -> str:
        """The version part of the stem."""
        return self.stem.rsplit("-", 2)[1]

    @property
    def build(self) -> str:
        """The build string part of the stem."""
        return self.stem.rsplit("-", 2)[2]


@dataclass
class Listing:
    """A subdir's artifacts (sorted by stem) and the repodata records that were refused."""

    subdir: str
    artifacts: list[Artifact] = field(default_factory=list)
    #: ``<subdir>/<file>`` -> why the record was refused (it is never counted as clean)
    problems: dict[str, str] = field(default_factory=dict)


def _record_problem(filename: str, record: Any, section: str) -> str:
    parts = split_filename(filename) if isinstance(filename, str) else None
    if parts is None:
        return "not a valid conda artifact file name (<name>-<version>-<build>.conda/.tar.bz2)"
    expected = ".tar.bz2" if section == "packages" else ".conda"
    if parts[1] != expected:
        return f"listed under {section!r} but does not end in {expected}"
    if not isinstance(record, dict):
        return "the repodata record is not an object"
    name = record.get("name")
    if name is not None and name != name_of_stem(parts[0]):
        return f"repodata name {str(name)[:100]!r} does not match the file name"
    size = record.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        return "repodata size is not a non-negative integer"
    return ""


def parse_repodata(
    fh: BinaryIO, subdir: str, keep: Callable[[str], bool] | None = None, where: str = ""
) -> Listing:
    """Stream a repodata.json file object into a ``Listing`` (three passes, constant memory).

    ``keep(stem)`` selects builds early (a shard), so unselected records cost
    nothing but parsing. Raises ``FetchError`` when the document is not JSON.
    """
    where = where or f"{subdir}/repodata.json"
    removed: set[str] = set()
    by_stem: dict[str, dict[str, int | None]] = {}
    listing = Listing(subdir)
    try:
        fh.seek(0)
        for item in ijson.items(fh, "removed.item"):
            if isinstance(item, str):
                removed.add(item)
        for section in ("packages", "packages.conda"):
            fh.seek(0)
            # ijson joins keys with '.', so the prefix "packages.conda" could also be
            # a file named "conda" under "packages"; the suffix check below refuses those.
            for filename, record in ijson.kvitems(fh, section, use_float=True):
                if filename in removed:
                    continue
                problem = _record_problem(filename, record, section)
                if problem:
                    listing.problems[f"{subdir}/{filename}"[:300]] = problem
                    continue
                stem, _ = split_filename(filename)  # type: ignore[misc]
                if keep is not None and not keep(stem):
                    continue
                size = record.get("size")
                by_stem.setdefault(stem, {})[filename] = size
    except ijson.JSONError as exc:
        raise FetchError(f"{where}: not valid JSON: {str(exc)[:200]}") from exc
    for stem in sorted(by_stem):
        files = by_stem[stem]
        names = tuple(sorted(files, key=lambda f: (not f.endswith(".conda"), f)))
        listing.artifacts.append(Artifact(subdir, stem, name_of_stem(stem), names, files[names[0]]))
    return listing
