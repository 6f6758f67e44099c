"""A subdir's repodata.json: one ``Artifact`` per build, refused records kept apart."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import msgspec

from artifact_validation.core.conda import name_of_stem, split_filename
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
        #: ``<subdir>/<stem>``: the build's identity in scan state
        setter = object.__setattr__
        setter(self, "key", sys.intern(f"{subdir}/{stem}"))
        setter(self, "subdir", subdir)
        setter(self, "name", name)
        setter(self, "size", size)
        tails = tuple(f[len(stem) :] if f.startswith(stem) else "" for f in filenames)
        known = tails in _EXTENSIONS
        setter(self, "_extensions", _EXTENSIONS[_EXTENSIONS.index(tails)] if known else ())
        setter(self, "_odd_names", None if known else tuple(filenames))

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


def _record_problem(parts: tuple[str, str] | None, name: Any, size: Any, section: str) -> str:
    if parts is None:
        return "not a valid conda artifact file name (<name>-<version>-<build>.conda/.tar.bz2)"
    expected = ".tar.bz2" if section == "packages" else ".conda"
    if parts[1] != expected:
        return f"listed under {section!r} but does not end in {expected}"
    if name is not None and name != name_of_stem(parts[0]):
        return f"repodata name {str(name)[:100]!r} does not match the file name"
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
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

#: a record that is not an object, as ``_records`` yields it
_NOT_AN_OBJECT = "the repodata record is not an object"


def _records(data: bytes, where: str) -> tuple[set[str], dict[str, Iterable[tuple[str, Any]]]]:
    """``removed`` and each section's ``(filename, record)`` pairs of a repodata document.

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
        pairs: dict[str, Iterable[tuple[str, Any]]] = {
            "packages": ((f, (r.name, r.size)) for f, r in doc.packages.items()),
            "packages.conda": ((f, (r.name, r.size)) for f, r in doc.packages_conda.items()),
        }
        return removed, pairs
    try:
        full = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise FetchError(f"{where}: not valid JSON: {str(exc)[:200]}") from exc
    if not isinstance(full, dict):
        full = {}
    listed = full.get("removed")
    removed = {r for r in listed if isinstance(r, str)} if isinstance(listed, list) else set()

    def pairs_of(section: str) -> Iterator[tuple[str, Any]]:
        records = full.get(section)
        for filename, record in records.items() if isinstance(records, dict) else ():
            if isinstance(record, dict):
                yield filename, (record.get("name"), record.get("size"))
            else:
                yield filename, _NOT_AN_OBJECT

    return removed, {section: pairs_of(section) for section in ("packages", "packages.conda")}


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
    by_stem: dict[str, dict[str, int | None]] = {}
    listing = Listing(subdir)
    fh.seek(0)
    removed, sections = _records(fh.read(), where)
    for section, pairs in sections.items():
        for filename, fields in pairs:
            if filename in removed:
                continue
            parts = split_filename(filename)
            if fields is _NOT_AN_OBJECT:
                problem = _record_problem(parts, None, None, section) or _NOT_AN_OBJECT
            else:
                problem = _record_problem(parts, fields[0], fields[1], section)
            if problem:
                listing.problems[f"{subdir}/{filename}"[:300]] = problem
                continue
            stem = parts[0]  # type: ignore[index]
            if keep is not None and not keep(stem):
                continue
            by_stem.setdefault(stem, {})[filename] = fields[1]
    # A channel holds a few hundred thousand builds per subdir but far fewer package names:
    # each name is kept once (memory of a full scan, docs/benchmarks.md).
    package_names: dict[str, str] = {}
    for stem in sorted(by_stem):
        files = by_stem[stem]
        names = tuple(sorted(files, key=lambda f: (not f.endswith(".conda"), f)))
        name = name_of_stem(stem)
        name = package_names.setdefault(name, name)
        listing.artifacts.append(Artifact(subdir, stem, name, names, files[names[0]]))
    return listing
