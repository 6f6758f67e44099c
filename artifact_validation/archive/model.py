"""What one pass over an artifact found: its members, metadata and damage, frozen once read.

``ArchiveContents`` is the reader's result and the checks' input; nothing
changes it after ``read_archive`` returns. ``Expected`` holds what the caller
expects the artifact to be (hashes, subdir, filters); each check is a pure
function of the two.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

from artifact_validation.archive.manifest import Manifest, parse_files
from artifact_validation.core.conda import is_case_insensitive, is_windows, strip_suffix
from artifact_validation.core.errors import describe

if TYPE_CHECKING:
    from artifact_validation.filters.matcher import Matcher

#: Metadata members whose bytes the checks read (AV303, AV304, AV6xx, the install image).
INDEX_JSON, PATHS_JSON = "info/index.json", "info/paths.json"
FILES, LINK_JSON = "info/files", "info/link.json"
METADATA = frozenset({INDEX_JSON, PATHS_JSON, FILES, LINK_JSON})


class MemberKind(StrEnum):
    """What a tar member is; the values are the words reports use."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHARDEV = "chardev"
    BLOCKDEV = "blockdev"
    FIFO = "fifo"
    OTHER = "other"


#: Member kinds a package may not contain (AV506).
SPECIAL_KINDS = frozenset(
    {MemberKind.CHARDEV, MemberKind.BLOCKDEV, MemberKind.FIFO, MemberKind.OTHER}
)


class Member(NamedTuple):
    """One archive member as the checks see it; ``name`` has ``./`` and empty parts dropped."""

    name: str
    kind: MemberKind
    size: int = 0
    linkname: str = ""
    component: str = "pkg"
    order: int = 0
    sha256: str = ""  # of the content, only under --deep


class Index(NamedTuple):
    """The identity ``info/index.json`` declares, checked: every field a non-empty string."""

    name: str
    version: str
    build: str
    subdir: str
    noarch: str  # "python", "generic" or "" for a platform package


@dataclass(frozen=True)
class IndexResult:
    """``info/index.json`` decoded: the ``Index``, or why it is unusable (``problem``)."""

    index: Index | None
    problem: str = ""


def is_info(name: str) -> bool:
    """Whether ``name`` is conda's metadata (``info`` or below it), never installed."""
    return name == "info" or name.startswith("info/")


def canonical(raw: str) -> str:
    """The member name with ``.`` and empty components dropped (a leading ``/`` is kept)."""
    if "//" not in raw and "./" not in raw and not raw.endswith(("/", "/.")) and raw != ".":
        return raw  # the common case, already canonical: no split and join per member
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    return ("/" if raw.startswith("/") else "") + "/".join(parts)


def parse_index(data: bytes | None) -> IndexResult:
    """Decode ``info/index.json`` bytes (None when the archive has none) into an ``IndexResult``."""
    if data is None:
        return IndexResult(None, "missing")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return IndexResult(None, f"not valid JSON: {describe(exc, 200)}")
    if not isinstance(doc, dict):
        return IndexResult(None, f"must be a JSON object, not {type(doc).__name__}")
    for key in ("name", "version", "build", "subdir"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            return IndexResult(None, f"{key!r} must be a non-empty string")
    noarch = doc.get("noarch")
    return IndexResult(
        Index(
            doc["name"], doc["version"], doc["build"], doc["subdir"], str(noarch) if noarch else ""
        )
    )


class EntryPoint(NamedTuple):
    """A noarch python entry point of ``info/link.json``: ``command = module:function``."""

    command: str
    target: str


@dataclass(frozen=True)
class LinkResult:
    """``info/link.json`` decoded: its entry points, or why it is unusable (``problem``)."""

    entry_points: tuple[EntryPoint, ...] = ()
    problem: str = ""


def parse_link(data: bytes | None) -> LinkResult:
    """The entry points of ``info/link.json`` (none when it is absent), as conda reads them."""
    if data is None:
        return LinkResult()
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        return LinkResult((), f"not valid JSON: {describe(exc, 200)}")
    noarch = doc.get("noarch") if isinstance(doc, dict) else None
    if noarch is None:
        return LinkResult()
    raw = noarch.get("entry_points", []) if isinstance(noarch, dict) else None
    if not isinstance(raw, list):
        return LinkResult((), "'noarch.entry_points' must be a list")
    out = []
    for i, item in enumerate(raw):
        # conda splits "cmd = module:func" at the last ':' and then at the last '='
        left, colon, _ = item.rpartition(":") if isinstance(item, str) else ("", "", "")
        command, equals, module = left.rpartition("=")
        if not (colon and equals):
            return LinkResult((), f"entry_points[{i}] is not 'command = module:function'")
        out.append(EntryPoint(command.strip(), item[len(left) - len(module) :].strip()))
    return LinkResult(tuple(out))


@dataclass(frozen=True)
class ArchiveContents:
    """What one pass over an artifact found (see ``reader.read_archive``)."""

    filename: str
    fmt: str | None
    md5: str = ""
    sha256: str = ""
    members: tuple[Member, ...] = ()
    index_bytes: bytes | None = None
    #: info/paths.json as parsed when read; ``Manifest()`` (no entries, no problem) when absent
    manifest: Manifest = Manifest()
    #: AV301: the container is not a conda package (layout of the .conda ZIP)
    container: tuple[str, ...] = ()
    #: AV302: where and how decompression or tar parsing failed
    corrupt: tuple[str, ...] = ()
    #: whether member contents were hashed (``--deep``, AV604)
    deep: bool = False
    #: the bytes of info/files and info/link.json, when the archive has them
    files_bytes: bytes | None = None
    link_bytes: bytes | None = None
    #: AV515: names over ``MAX_NAME_BYTES`` or ``MAX_NAME_DEPTH``, shortened (never stored whole)
    oversized: tuple[str, ...] = ()
    #: AV306: ``info/`` members inside the pkg component of a .conda
    pkg_info: tuple[str, ...] = ()
    #: AV305: where the .conda ZIP layout is not canonical
    zip_layout: tuple[str, ...] = ()

    @property
    def readable(self) -> bool:
        """Whether the file has a conda package suffix, so its contents were read."""
        return self.fmt is not None

    @property
    def stem(self) -> str:
        """The file name without its suffix: ``<name>-<version>-<build>``."""
        return strip_suffix(self.filename)

    @cached_property
    def index(self) -> IndexResult:
        """The checked index.json identity, or why it is unusable."""
        return parse_index(self.index_bytes)

    @cached_property
    def link(self) -> LinkResult:
        """The noarch entry points of info/link.json, or why it is unusable."""
        return parse_link(self.link_bytes)

    @cached_property
    def files_list(self) -> tuple[str, ...] | None:
        """info/files as conda reads it (None when absent or not UTF-8)."""
        if self.files_bytes is None:
            return None
        try:
            return tuple(canonical(p) for p in parse_files(self.files_bytes))
        except ValueError:
            return None

    @cached_property
    def installed(self) -> tuple[Member, ...]:
        """Members conda would install: outside ``info/``, and not directories."""
        return tuple(m for m in self.members if m.kind != MemberKind.DIR and not is_info(m.name))

    @cached_property
    def entries(self) -> dict[str, bool]:
        """Every path the archive creates, explicit or implied parent, -> whether a directory."""
        out: dict[str, bool] = {}
        for m in self.members:
            is_dir = m.kind == MemberKind.DIR
            out[m.name] = out.get(m.name, True) and is_dir
            parent = m.name.rpartition("/")[0]
            while parent and parent not in out:
                out[parent] = True
                parent = parent.rpartition("/")[0]
        return out


@dataclass(frozen=True)
class Expected:
    """What the caller expects of the artifact: hashes, the subdir it is published to, filters.

    Empty strings mean "not checked"; ``matcher`` None skips clobbering (AV201).
    """

    md5: str = ""
    sha256: str = ""
    subdir: str = ""
    matcher: Matcher | None = None


def subdirs(contents: ArchiveContents, expected: Expected) -> set[str]:
    """The subdirs the artifact claims or is published to (platform rules use any of them)."""
    index = contents.index.index
    return {s for s in ((index.subdir if index else ""), expected.subdir) if s}


def windows_rules(contents: ArchiveContents, expected: Expected) -> bool:
    """Whether Windows naming rules apply (a ``win-*`` subdir, or noarch: it installs there)."""
    return any(is_windows(s) or s == "noarch" for s in subdirs(contents, expected))


def case_insensitive(contents: ArchiveContents, expected: Expected) -> bool:
    """Whether paths compare case-insensitively (``win-*``, ``osx-*``, or noarch)."""
    return any(is_case_insensitive(s) or s == "noarch" for s in subdirs(contents, expected))


def fold_subdir(contents: ArchiveContents, expected: Expected) -> str:
    """The subdir to match filters with: a case-insensitive one when any applies."""
    names = sorted(subdirs(contents, expected))
    folded = [s for s in names if is_case_insensitive(s)]
    return (folded or names or [""])[0]
