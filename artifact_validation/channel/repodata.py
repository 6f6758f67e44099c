"""A subdir's repodata.json: one ``Artifact`` per build, refused records kept apart."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import msgspec

from artifact_validation.core.conda import STEM_RE, name_of_stem, split_filename
from artifact_validation.core.errors import FetchError

#: The file-name tails a build can be listed with, in the order they are read.
_EXTENSIONS = ((".conda",), (".tar.bz2",), (".conda", ".tar.bz2"))


class Artifact:
    """One build in a channel: its subdir and stem, and the file names listed for it.

    ``filenames`` is sorted with the ``.conda`` first; ``filename`` is the one
    read, ``size`` its size per repodata (None when repodata has none).

    A scan holds millions of these, so each keeps only its ``key`` (one interned
    string, shared with the scan state's maps), its name (shared by the builds of
    a package) and which of the two file names are listed; ``stem`` and
    ``filenames`` are derived on use. Immutable, compared by value.
    """

    __slots__ = ("_extensions", "_odd_names", "key", "name", "size", "subdir")

    key: str
    subdir: str
    name: str
    size: int | None
    _extensions: tuple[str, ...]
    _odd_names: tuple[str, ...] | None

    def __init__(
        self,
        subdir: str,
        stem: str,
        name: str,
        filenames: tuple[str, ...],
        size: int | None = None,
    ) -> None:
        tails = tuple(f[len(stem) :] if f.startswith(stem) else "" for f in filenames)
        if tails in _EXTENSIONS:
            self._fill(
                subdir, stem, name, _EXTENSIONS[_EXTENSIONS.index(tails)], size, odd_names=None
            )
        else:
            self._fill(subdir, stem, name, (), size, odd_names=tuple(filenames))

    @classmethod
    def listed(
        cls, subdir: str, stem: str, name: str, tails: tuple[str, ...], size: int | None
    ) -> Artifact:
        """The build ``stem`` listed with ``tails`` (one of ``_EXTENSIONS``): no checks, for
        the listing of millions of builds."""
        self = object.__new__(cls)
        self._fill(subdir, stem, name, tails, size, odd_names=None)
        return self

    def _fill(
        self,
        subdir: str,
        stem: str,
        name: str,
        tails: tuple[str, ...],
        size: int | None,
        *,
        odd_names: tuple[str, ...] | None,
    ) -> None:
        setter = object.__setattr__
        #: ``<subdir>/<stem>``: the build's identity in scan state
        setter(self, "key", sys.intern(f"{subdir}/{stem}"))
        setter(self, "subdir", subdir)
        setter(self, "name", name)
        setter(self, "size", size)
        setter(self, "_extensions", tails)
        setter(self, "_odd_names", odd_names)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Artifact is immutable: cannot set {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Artifact, self._fields())

    def _fields(self) -> tuple[Any, ...]:
        return (self.subdir, self.stem, self.name, self.filenames, self.size)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Artifact) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        subdir, stem, name, filenames, size = self._fields()
        return (
            f"Artifact(subdir={subdir!r}, stem={stem!r}, name={name!r}, "
            f"filenames={filenames!r}, size={size!r})"
        )

    @property
    def stem(self) -> str:
        """``<name>-<version>-<build>``."""
        return self.key[len(self.subdir) + 1 :]

    @property
    def filenames(self) -> tuple[str, ...]:
        """The listed file names, the ``.conda`` first."""
        if self._odd_names is not None:
            return self._odd_names
        stem = self.stem
        return tuple(stem + tail for tail in self._extensions)

    @property
    def filename(self) -> str:
        """The file read for this build: the ``.conda`` when listed, else the ``.tar.bz2``."""
        return self.filenames[0]

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


def _record_problem(filename: str, record: _Record | None, suffix: str, section: str) -> str:
    """Why the record of ``filename`` in ``section`` (whose files end in ``suffix``) is
    refused; "" when it is a build. A few comparisons in the common case (millions)."""
    stem = filename[: -len(suffix)]
    if not filename.endswith(suffix) or not STEM_RE.fullmatch(stem):
        if split_filename(filename) is None:
            return "not a valid conda artifact file name (<name>-<version>-<build>.conda/.tar.bz2)"
        return f"listed under {section!r} but does not end in {suffix}"
    if record is None:
        return "the repodata record is not an object"
    name, size = record.name, record.size
    if name is not None and name != name_of_stem(stem):
        return f"repodata name {str(name)[:100]!r} does not match the file name"
    if size is not None and (type(size) is not int or size < 0):  # (a bool is no size)
        return "repodata size is not a non-negative integer"
    return ""


class _Record(msgspec.Struct):
    """The two fields of a repodata record the scan uses (the others are skipped unread)."""

    name: Any = None
    size: Any = None


class _Repodata(msgspec.Struct):
    packages: dict[str, _Record] = {}
    packages_conda: dict[str, _Record] = msgspec.field(default_factory=dict, name="packages.conda")
    removed: list[Any] = []


_DECODER = msgspec.json.Decoder(_Repodata)

#: Each section's records, by file name (None: the record is not an object).
_Sections = dict[str, Mapping[str, "_Record | None"]]


def _records(data: bytes, where: str) -> tuple[set[str], _Sections]:
    """``removed`` and each section's records of a repodata document.

    The typed decoder materializes only ``name`` and ``size``: several times faster and
    smaller than a full parse. A document it refuses (a record that is not an object,
    a section that is not a mapping) is parsed in full, so each odd record is refused
    on its own, as a problem, and the rest of the subdir is still listed.
    """
    try:
        doc = _DECODER.decode(data)
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError as exc:
        raise FetchError(f"{where}: not valid JSON: {str(exc)[:200]}") from exc
    else:
        removed = {r for r in doc.removed if isinstance(r, str)}
        sections: _Sections = {"packages": doc.packages, "packages.conda": doc.packages_conda}
        return removed, sections
    try:
        full = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise FetchError(f"{where}: not valid JSON: {str(exc)[:200]}") from exc
    if not isinstance(full, dict):
        full = {}
    listed = full.get("removed")
    removed = {r for r in listed if isinstance(r, str)} if isinstance(listed, list) else set()
    sections = {}
    for section in ("packages", "packages.conda"):
        records = full.get(section)
        sections[section] = {
            filename: _Record(record.get("name"), record.get("size"))
            if isinstance(record, dict)
            else None
            for filename, record in (records.items() if isinstance(records, dict) else ())
        }
    return removed, sections


def parse_repodata(
    fh: BinaryIO, subdir: str, keep: Callable[[str], bool] | None = None, where: str = ""
) -> Listing:
    """Read a repodata.json file object into a ``Listing``.

    The document is read whole (conda-forge's largest subdir is a few hundred MB)
    but only each record's name and size are decoded. ``keep(stem)`` selects
    builds early (a shard), so unselected records cost nothing but parsing.
    Raises ``FetchError`` when the document is not JSON.
    """
    where = where or f"{subdir}/repodata.json"
    # Millions of new objects, none in a cycle: the cyclic collector would only walk them
    # again and again (a quarter of the time at 2.5 M builds).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _listing(fh, subdir, keep, where)
    finally:
        if collecting:
            gc.enable()


def _listing(fh: BinaryIO, subdir: str, keep: Callable[[str], bool] | None, where: str) -> Listing:
    listing = Listing(subdir)
    fh.seek(0)
    removed, sections = _records(fh.read(), where)
    # stem -> size, per suffix: a build is listed once, with the files it has
    found: dict[str, dict[str, int | None]] = {".conda": {}, ".tar.bz2": {}}
    for section, records in sections.items():
        suffix = ".tar.bz2" if section == "packages" else ".conda"
        sizes = found[suffix]
        cut = -len(suffix)
        for filename, record in records.items():
            if filename in removed:
                continue
            problem = _record_problem(filename, record, suffix, section)
            if problem:
                listing.problems[f"{subdir}/{filename}"[:300]] = problem
                continue
            stem = filename[:cut]
            if keep is not None and not keep(stem):
                continue
            sizes[stem] = record.size  # type: ignore[union-attr]
    # A channel holds a few hundred thousand builds per subdir but far fewer package names:
    # each name is kept once (memory of a full scan, docs/benchmarks.md).
    package_names: dict[str, str] = {}
    conda, bz2 = found[".conda"], found[".tar.bz2"]
    for stem in sorted(conda.keys() | bz2.keys()):
        name = stem.rsplit("-", 2)[0]
        name = package_names.setdefault(name, name)
        if stem in conda:
            tails = _EXTENSIONS[2] if stem in bz2 else _EXTENSIONS[0]
            size = conda[stem]
        else:
            tails, size = _EXTENSIONS[1], bz2[stem]
        listing.artifacts.append(Artifact.listed(subdir, stem, name, tails, size))
    return listing
