"""Reading an artifact: one streaming pass over a .conda or .tar.bz2, never extracting anything.

``read_archive`` hashes the bytes (md5 and sha256) and records every member's
name, kind, size and link target plus ``info/index.json`` and
``info/paths.json``, never holding member data, and returns the frozen
``ArchiveContents``. A damaged archive is recorded there (AV301/AV302); only a
resource limit (``LimitError``) or an I/O failure (``ArchiveIOError``) raises.
"""

from __future__ import annotations

import bz2
import functools
import hashlib
import json
import os
import tarfile
import zipfile
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from conda_package_streaming.package_streaming import TarfileNoSameOwner, tar_generator

from artifact_validation.archive.formats import PARSE_ERRORS, zstd
from artifact_validation.archive.manifest import Manifest, parse_manifest
from artifact_validation.archive.model import (
    FILES,
    INDEX_JSON,
    METADATA,
    PATHS_JSON,
    ArchiveContents,
    Member,
    MemberKind,
    canonical,
    is_info,
)
from artifact_validation.archive.source import CHUNK, HashingSource
from artifact_validation.archive.ziplayout import layout_problems
from artifact_validation.core.conda import MAX_NAME_BYTES, MAX_NAME_DEPTH, KiB, archive_format
from artifact_validation.core.errors import LimitError, describe
from artifact_validation.core.limits import Limits
from artifact_validation.core.markdown import display_path, shorten

#: Decompressed bytes kept to check that nothing but zeros follows the end of a tar (AV302).
_TAIL_KEPT = 64 * KiB
#: tarfile remembers every member it yields; dropping them keeps memory flat in big archives.
_MEMBERS_KEPT = 1024
#: Longest PAX or GNU long-name header tarfile may read into memory (larger is AV302); real
#: packages need a few hundred bytes, and headers chain, so each one must stay small.
MAX_EXTENDED_HEADER = 64 * KiB
#: Most keys global PAX headers may accumulate (AV302); conda packages have none.
MAX_GLOBAL_PAX_KEYS = 1000
#: Largest metadata.json of a .conda read (AV301); the real one is a few dozen bytes.
MAX_CONDA_METADATA = 64 * KiB


@dataclass
class _Found:
    """What the pass has found so far; frozen into ``ArchiveContents`` at the end."""

    filename: str
    fmt: str | None
    deep: bool
    members: list[Member] = field(default_factory=list)
    index_bytes: bytes | None = None
    manifest: Manifest = Manifest()
    container: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    files_bytes: bytes | None = None
    link_bytes: bytes | None = None
    oversized: list[str] = field(default_factory=list)
    pkg_info: list[str] = field(default_factory=list)
    zip_layout: list[str] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.filename[: -len(self.fmt)] if self.fmt else self.filename


class _Budget:
    """Counts members and inflated bytes against the limits; raises ``LimitError`` at once."""

    def __init__(self, limits: Limits, archive_size: int, where: str) -> None:
        self.limits = limits
        self.where = where
        self.members = 0
        self.declared = 0
        self.names = 0
        self.inflated = 0
        self.ratio_cap = max(limits.ratio_floor, limits.max_ratio * archive_size)

    def fail(self, what: str, flag: str) -> LimitError:
        """The ``LimitError`` for ``what``, naming the flag that raises the limit."""
        return LimitError(
            f"{self.where}: {what} ({flag}); not validated. If this is a real package, "
            f"raise {flag} and run again"
        )

    def member(self, info: tarfile.TarInfo) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise self.fail(f"more than {self.limits.max_members} members", "--max-members")
        if info.size > self.limits.max_member_size:
            raise self.fail(
                f"member {display_path(info.name)!r} is {info.size} bytes, more than "
                f"{self.limits.max_member_size}",
                "--max-member-size",
            )
        self.names += len(info.name) + len(info.linkname)
        if self.names > self.limits.max_metadata_size:
            raise self.fail(
                f"member names total more than {self.limits.max_metadata_size} characters",
                "--max-metadata-size",
            )
        self.declared += info.size
        if self.declared > self.limits.max_total_size:
            raise self.fail(
                f"members total more than {self.limits.max_total_size} bytes", "--max-total-size"
            )

    def inflate(self, n: int) -> None:
        self.inflated += n
        if self.inflated > self.limits.max_total_size:
            raise self.fail(
                f"decompresses to more than {self.limits.max_total_size} bytes", "--max-total-size"
            )
        if self.inflated > self.ratio_cap:
            raise self.fail(
                f"decompresses to more than {self.limits.max_ratio:g} times its size",
                "--max-ratio",
            )


class _Inflated:
    """The decompressed tar stream as tarfile reads it: counted, with its last bytes kept."""

    def __init__(self, stream: Any, budget: _Budget) -> None:
        self._stream = stream
        self._budget = budget
        self.pos = 0
        self._tail: deque[tuple[int, bytes]] = deque()
        self._tail_size = 0

    def read(self, n: int = -1) -> bytes:
        """Read from the decompressor, counting the bytes against the budget."""
        data = self._stream.read(n)
        if data:
            self._budget.inflate(len(data))
            self._tail.append((self.pos, data))
            self._tail_size += len(data)
            self.pos += len(data)
            while self._tail_size - len(self._tail[0][1]) >= _TAIL_KEPT:
                self._tail_size -= len(self._tail.popleft()[1])
        return data

    def junk_after(self, end: int) -> bool:
        """Whether a non-zero byte follows offset ``end`` (the end of the tar), to the stream end.

        tarfile stops quietly at an invalid header after the first member, so
        a valid tar ends in zeros only; anything else hides data that another
        tar reader might install.
        """
        if self._tail and self._tail[0][0] > end:
            return True  # cannot see those bytes any more: do not assume they were zeros
        for start, chunk in self._tail:
            piece = chunk[max(0, end - start) :] if start + len(chunk) > end else b""
            if piece.count(0) != len(piece):
                return True
        while data := self.read(CHUNK):
            if data.count(0) != len(data):
                return True
        return False


class _GuardedTarInfo(tarfile.TarInfo):
    """A TarInfo whose header parsing cannot be made to use unbounded memory (AV302).

    tarfile reads extended headers (PAX, GNU long names) whole and follows
    sparse maps of any length; hostile sizes would exhaust memory before a
    member is even yielded.
    """

    def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _EXTENDED_TYPES and self.size > MAX_EXTENDED_HEADER:
            raise tarfile.HeaderError(
                f"extended header of {self.size} bytes (at most {MAX_EXTENDED_HEADER})"
            )
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise tarfile.HeaderError("GNU sparse member (conda packages have none)")
        if self.type == tarfile.XGLTYPE and len(tar.pax_headers) > MAX_GLOBAL_PAX_KEYS:
            raise tarfile.HeaderError("too many global PAX header keys")
        return super()._proc_member(tar)  # type: ignore[misc]

    def _proc_gnusparse_10(self, *args: Any) -> None:
        raise tarfile.HeaderError("GNU sparse 1.0 member (conda packages have none)")


_EXTENDED_TYPES = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)
_open_tar = functools.partial(TarfileNoSameOwner.open, tarinfo=_GuardedTarInfo)


def _kind(info: tarfile.TarInfo) -> MemberKind:
    if info.isreg():
        return MemberKind.FILE
    for kind, test in (
        (MemberKind.DIR, info.isdir),
        (MemberKind.SYMLINK, info.issym),
        (MemberKind.HARDLINK, info.islnk),
        (MemberKind.CHARDEV, info.ischr),
        (MemberKind.BLOCKDEV, info.isblk),
        (MemberKind.FIFO, info.isfifo),
    ):
        if test():
            return kind
    return MemberKind.OTHER


@dataclass
class _Reader:
    scan: _Found
    limits: Limits
    budget: _Budget
    order: int = 0

    def read_metadata(self, tar: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
        if info.size > self.limits.max_metadata_size:
            raise self.budget.fail(
                f"{info.name} is {info.size} bytes, more than {self.limits.max_metadata_size}",
                "--max-metadata-size",
            )
        fh = tar.extractfile(info)
        return fh.read() if fh is not None else b""

    def metadata(self, tar: tarfile.TarFile, info: tarfile.TarInfo, name: str) -> None:
        """Keep the bytes of one metadata member (the last one wins, as extraction does)."""
        data = self.read_metadata(tar, info)
        scan = self.scan
        if name == INDEX_JSON:
            scan.index_bytes = data
        elif name == PATHS_JSON:
            scan.manifest = parse_manifest(data, keep_sha256=scan.deep, canonical=canonical)
        elif name == FILES:
            scan.files_bytes = data
        else:
            scan.link_bytes = data

    def component(self, stream: Any, component: str) -> None:
        """Record every member of one tar stream; damage becomes an AV302 entry, not an error."""
        scan = self.scan
        inflated = _Inflated(stream, self.budget)
        tar: tarfile.TarFile | None = None
        try:
            for tar, info in tar_generator(inflated, tarfile_open=_open_tar):
                self.budget.member(info)
                kind = _kind(info)
                name = canonical(info.name)
                if _oversized(name) or _oversized(info.linkname):
                    scan.oversized.append(shorten(display_path(name), 120))
                    continue  # never stored whole: its parents would be quadratic in memory
                entries = scan.manifest.entries
                listed = entries.get(name) if entries else None
                if listed:
                    name = listed.path  # one string shared with paths.json
                sha256 = ""
                is_file = kind == MemberKind.FILE
                if component == "pkg" and scan.fmt == ".conda" and is_info(name):
                    scan.pkg_info.append(name)  # AV306: extraction merges it into the metadata
                # conda reads a .conda's metadata from its info component only
                metadata = is_file and (component == "info" or scan.fmt == ".tar.bz2")
                if metadata and name in METADATA:
                    self.metadata(tar, info, name)
                elif is_file and scan.deep and not is_info(name):
                    sha256 = _hash_member(tar, info)
                scan.members.append(
                    Member(
                        name,
                        kind,
                        info.size if is_file else 0,
                        info.linkname,
                        component,
                        self.order,
                        sha256,
                    )
                )
                self.order += 1
                # tarfile's private member list (a contract test watches it): only
                # extractfile() of hardlinks looks back at it, and we never do.
                remembered = tar.members  # type: ignore[union-attr]  # private: not in typeshed
                if len(remembered) > _MEMBERS_KEPT:
                    remembered.clear()
            if inflated.junk_after(tar.offset if tar is not None else 0):
                scan.corrupt.append(
                    f"{component}: data after the end of the tar archive "
                    "(an invalid header hides the rest, or members were appended)"
                )
        except PARSE_ERRORS as exc:
            scan.corrupt.append(f"{component}: {describe(exc, 200)}")


def _oversized(name: str) -> bool:
    """Whether a member name (or link target) is over the length or depth cap (AV515)."""
    if len(name) <= MAX_NAME_BYTES // 4 and name.count("/") < MAX_NAME_DEPTH:
        return False  # the common case: no encoding needed to know
    return (
        len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES
        or name.count("/") >= MAX_NAME_DEPTH
    )


def _hash_member(tar: tarfile.TarFile, info: tarfile.TarInfo) -> str:
    digest = hashlib.sha256()
    fh = tar.extractfile(info)
    if fh is not None:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_conda(reader: _Reader, source: HashingSource) -> None:
    scan = reader.scan
    try:
        zf = zipfile.ZipFile(source)
    except PARSE_ERRORS as exc:
        scan.corrupt.append(f"not a readable ZIP archive: {describe(exc, 200)}")
        return
    with zf:
        infos = zf.infolist()
        scan.zip_layout += layout_problems(zf, source.peek, source.size)
        counts = Counter(i.filename for i in infos)
        scan.container += [
            f"ZIP member {display_path(n)!r} appears {c} times" for n, c in counts.items() if c > 1
        ]
        known = {"metadata.json"}
        _check_conda_metadata(scan, zf, infos)
        for component in ("info", "pkg"):
            expected = f"{component}-{scan.stem}.tar.zst"
            found = [
                i
                for i in infos
                if i.filename.startswith(f"{component}-") and i.filename.endswith(".tar.zst")
            ]
            known.update(i.filename for i in found)
            if not found:
                scan.container.append(f"missing {expected}")
            elif len(found) > 1:
                scan.container.append(f"more than one {component}-*.tar.zst member")
            elif found[0].filename != expected:
                scan.container.append(
                    f"{display_path(found[0].filename)!r} should be named {expected!r} "
                    "(was the file renamed?)"
                )
            for entry in found:
                try:
                    with zf.open(entry) as raw, zstd.open(raw) as stream:
                        reader.component(stream, component)
                        while raw.read(CHUNK):  # the ZIP CRC is checked at the member's end
                            pass
                except PARSE_ERRORS as exc:
                    scan.corrupt.append(f"{component}: {describe(exc, 200)}")
        scan.container += [
            f"unexpected ZIP member {display_path(n)!r}" for n in sorted(set(counts) - known)
        ]


def _check_conda_metadata(scan: _Found, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    meta = [i for i in infos if i.filename == "metadata.json"]
    if not meta:
        scan.container.append("missing metadata.json")
        return
    if meta[0].file_size > MAX_CONDA_METADATA:
        scan.container.append("metadata.json is too large")
        return
    try:
        doc = json.loads(zf.read(meta[0]))
    except PARSE_ERRORS as exc:  # ValueError covers bad JSON and bad UTF-8
        scan.container.append(f"metadata.json is not valid JSON: {describe(exc, 200)}")
        return
    if not isinstance(doc, dict) or doc.get("conda_pkg_format_version") != 2:
        scan.container.append("metadata.json does not say conda_pkg_format_version 2")


def read_archive(
    fh: BinaryIO,
    filename: str,
    *,
    limits: Limits | None = None,
    deep: bool = False,
    hashes: tuple[str, str] | None = None,
) -> ArchiveContents:
    """Read the artifact in ``fh`` (a regular file, named ``filename``) in one streaming pass.

    Computes md5 and sha256 of the bytes unless ``hashes`` gives them already
    (a download hashes while it writes). A damaged archive is recorded in the
    ``ArchiveContents`` (AV301/AV302); only a limit (``LimitError``) or an I/O failure
    raises. Under ``deep`` every installable file's content is hashed too.
    """
    limits = limits or Limits()
    size = os.fstat(fh.fileno()).st_size
    scan = _Found(filename=filename, fmt=archive_format(filename), deep=deep)
    source = HashingSource(fh, size, hashing=hashes is None)
    reader = _Reader(scan, limits, _Budget(limits, size, display_path(filename)))
    try:
        if scan.fmt == ".tar.bz2":
            try:
                with bz2.BZ2File(source) as stream:
                    reader.component(stream, "pkg")
            except PARSE_ERRORS as exc:
                scan.corrupt.append(f"pkg: {describe(exc, 200)}")
        elif scan.fmt == ".conda":
            _read_conda(reader, source)
        md5, sha256 = hashes if hashes is not None else source.finish()
    finally:
        source.close()
    return ArchiveContents(
        filename=filename,
        fmt=scan.fmt,
        md5=md5,
        sha256=sha256,
        members=tuple(scan.members),
        index_bytes=scan.index_bytes,
        manifest=scan.manifest,
        container=tuple(scan.container),
        corrupt=tuple(scan.corrupt),
        deep=deep,
        files_bytes=scan.files_bytes,
        link_bytes=scan.link_bytes,
        oversized=tuple(scan.oversized),
        pkg_info=tuple(scan.pkg_info),
        zip_layout=tuple(scan.zip_layout),
    )
