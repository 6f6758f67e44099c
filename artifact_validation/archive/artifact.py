"""Conda artifacts: one streaming pass over a .conda or .tar.bz2, and the AV1xx-AV6xx checks.

``read_archive`` makes one pass over the archive bytes with
conda-package-streaming: it hashes them (md5 and sha256) and records every
member's name, kind, size and link target plus ``info/index.json`` and
``info/paths.json``, never extracting anything and never holding member
data. The checks (``check_AVnnn``, one per code) are pure functions of the
resulting ``Scan``; ``validate_artifact`` fetches or opens the artifact, runs
every check and returns a ``Verdict`` listing all findings, not just the first.
"""

from __future__ import annotations

import bz2
import functools
import hashlib
import json
import os
import queue
import re
import stat
import tarfile
import tempfile
import threading
import unicodedata
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from conda_package_streaming.package_streaming import TarfileNoSameOwner, tar_generator

from artifact_validation.archive.formats import PARSE_ERRORS, zstd
from artifact_validation.services.download import Fetcher, is_url
from artifact_validation.core.errors import LimitError, UsageError, ValidationError
from artifact_validation.core.findings import Code, Finding
from artifact_validation.filters.matcher import Matcher, Violation, is_case_insensitive
from artifact_validation.archive.verdict import Verdict

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

#: The two archive formats, by file-name suffix (AV301).
SUFFIXES = (".conda", ".tar.bz2")

#: Subdirs we recognise in a channel URL or a parent directory name (AV402).
KNOWN_SUBDIRS = frozenset(
    {
        "noarch",
        "linux-32",
        "linux-64",
        "linux-aarch64",
        "linux-armv6l",
        "linux-armv7l",
        "linux-ppc64",
        "linux-ppc64le",
        "linux-riscv64",
        "linux-s390x",
        "osx-64",
        "osx-arm64",
        "win-32",
        "win-64",
        "win-arm64",
        "emscripten-wasm32",
        "wasi-wasm32",
        "freebsd-64",
        "zos-z",
    }
)

#: Device names Windows reserves with or without an extension (AV510).
WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)

#: Metadata members whose bytes the checks read (AV303, AV304, AV6xx).
INDEX_JSON, PATHS_JSON = "info/index.json", "info/paths.json"

#: Symlink hops followed before giving up, as the Linux kernel does (AV504).
MAX_SYMLINK_HOPS = 40

_CHUNK = 1 * MiB
#: A forward jump in the read position up to this size is hashed in place; a larger one (the ZIP
#: central directory read first) is left for ``finish`` so the file is still hashed in one pass.
_HASH_GAP = 1 * MiB
#: Chunks waiting for the hashing thread (each about ``_CHUNK``): bounds memory.
_HASH_QUEUE = 8
#: Decompressed bytes kept to check that nothing but zeros follows the end of a tar (AV302).
_TAIL_KEPT = 64 * KiB
#: tarfile remembers every member it yields; dropping them keeps memory flat in big archives.
_MEMBERS_KEPT = 1024
#: Longest PAX or GNU long-name header tarfile may read into memory (larger is AV302); real
#: packages need a few hundred bytes, and headers chain, so each one must stay small.
MAX_EXTENDED_HEADER = 64 * KiB
#: Most keys global PAX headers may accumulate (AV302); conda packages have none.
MAX_GLOBAL_PAX_KEYS = 1000
_SUBDIR_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9_]+)?$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


@dataclass(frozen=True)
class Limits:
    """Resource limits of one validation; hitting one raises ``LimitError`` (exit 3), never a pass.

    The defaults are generous: multi-GB CUDA and PyTorch builds are real
    packages. ``max_ratio`` applies once more than ``ratio_floor`` bytes were
    inflated, so small, very compressible packages are never refused.
    """

    max_members: int = 1_000_000
    max_member_size: int = 16 * GiB
    max_total_size: int = 64 * GiB
    max_ratio: float = 200.0
    max_download_size: int = 16 * GiB
    max_metadata_size: int = 256 * MiB
    ratio_floor: int = 256 * MiB


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Parse a byte size such as ``500M``, ``16GiB`` or ``1234`` (K, M, G, T are powers of 1024)."""
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (use e.g. 1234, 500M, 16G)")
    number, unit, _ = match.groups()
    value = int(float(number) * 1024 ** " KMGT".index(unit.upper() or " "))
    if value <= 0:
        raise ValueError(f"a size must be positive, not {text!r}")
    return value


@dataclass(slots=True)
class Member:
    """One archive member as the checks see it; ``name`` has ``./`` and empty parts dropped."""

    name: str
    kind: str  # file, dir, symlink, hardlink, chardev, blockdev, fifo or other
    size: int = 0
    linkname: str = ""
    component: str = "pkg"
    order: int = 0
    sha256: str = ""  # of the content, only under --deep


@dataclass
class Scan:
    """What one pass over an artifact found, plus what it was expected to be."""

    filename: str
    fmt: str | None
    md5: str = ""
    sha256: str = ""
    members: list[Member] = field(default_factory=list)
    index_bytes: bytes | None = None
    #: info/paths.json, parsed when read: ``(entries, problem)``, ``(None, "")`` when absent
    manifest: tuple[dict[str, PathEntry] | None, str] = (None, "")
    #: AV301: the container is not a conda package (layout of the .conda ZIP)
    container: list[str] = field(default_factory=list)
    #: AV302: where and how decompression or tar parsing failed
    corrupt: list[str] = field(default_factory=list)
    expected_md5: str = ""
    expected_sha256: str = ""
    expected_subdir: str = ""
    deep: bool = False
    matcher: Matcher | None = None

    @property
    def readable(self) -> bool:
        """Whether the file has a conda package suffix, so its contents were read."""
        return self.fmt is not None

    @property
    def stem(self) -> str:
        """The file name without its suffix: ``<name>-<version>-<build>``."""
        for suffix in SUFFIXES:
            if self.filename.endswith(suffix):
                return self.filename[: -len(suffix)]
        return self.filename

    @cached_property
    def index(self) -> tuple[dict[str, str] | None, str]:
        """``(index, problem)``: the checked index.json identity, or why it is unusable."""
        if self.index_bytes is None:
            return None, "missing"
        try:
            doc = json.loads(self.index_bytes)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            return None, f"not valid JSON: {_describe(exc)}"
        if not isinstance(doc, dict):
            return None, f"must be a JSON object, not {type(doc).__name__}"
        for key in ("name", "version", "build", "subdir"):
            if not isinstance(doc.get(key), str) or not doc[key]:
                return None, f"{key!r} must be a non-empty string"
        noarch = doc.get("noarch")
        return {
            "name": doc["name"],
            "version": doc["version"],
            "build": doc["build"],
            "subdir": doc["subdir"],
            "noarch": str(noarch) if noarch else "",
        }, ""

    @property
    def subdirs(self) -> set[str]:
        """The subdirs the artifact claims or is published to (platform rules use any of them)."""
        index, _ = self.index
        return {s for s in ((index or {}).get("subdir", ""), self.expected_subdir) if s}

    @property
    def windows(self) -> bool:
        """Whether Windows naming rules apply (a ``win-*`` subdir)."""
        return any(s.startswith("win-") for s in self.subdirs)

    @property
    def fold_subdir(self) -> str:
        """The subdir to match filters with: a case-insensitive one when any applies."""
        subdirs = sorted(self.subdirs)
        folded = [s for s in subdirs if is_case_insensitive(s)]
        return (folded or subdirs or [""])[0]

    @cached_property
    def installed(self) -> list[Member]:
        """Members conda would install: outside ``info/``, and not directories."""
        return [m for m in self.members if m.kind != "dir" and not _is_info(m.name)]

    @cached_property
    def entries(self) -> dict[str, bool]:
        """Every path the archive creates, explicit or implied parent, -> whether a directory."""
        out: dict[str, bool] = {}
        for m in self.members:
            is_dir = m.kind == "dir"
            out[m.name] = out.get(m.name, True) and is_dir
            parent = m.name.rpartition("/")[0]
            while parent and parent not in out:
                out[parent] = True
                parent = parent.rpartition("/")[0]
        return out


class PathEntry(NamedTuple):
    """One ``info/paths.json`` entry, kept small: a package may list 100,000 paths."""

    path: str
    path_type: str
    size: int | None
    sha256: str


def parse_manifest(
    data: bytes, *, keep_sha256: bool = True
) -> tuple[dict[str, PathEntry] | None, str]:
    """``(entries by path, problem)`` from the bytes of info/paths.json (AV605 when a problem).

    Each entry object becomes a small ``PathEntry`` as soon as it is decoded,
    so 100,000 dicts never exist at once; ``keep_sha256`` False drops the
    hashes (only ``--deep`` compares them).
    """

    def entry(obj: dict[str, Any]) -> Any:
        if "_path" not in obj:
            return obj
        problem = _manifest_entry_problem(obj)
        if problem:
            return (None, problem)  # JSON never decodes to a tuple: tuples are ours
        sha256 = str(obj.get("sha256") or "").lower() if keep_sha256 else ""
        path_type = _PATH_TYPES[obj.get("path_type", "hardlink")]  # one shared string each
        path = _canonical(obj["_path"])
        return (path, PathEntry(path, path_type, obj.get("size_in_bytes"), sha256))

    try:
        doc = json.loads(data, object_hook=entry)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return None, f"not valid JSON: {_describe(exc)}"
    paths = doc.get("paths") if isinstance(doc, dict) else None
    if not isinstance(paths, list):
        return None, "must be an object with a 'paths' list"
    out: dict[str, PathEntry] = {}
    for i, item in enumerate(paths):
        if not isinstance(item, tuple):
            return None, f"paths[{i}] must be an object with a non-empty '_path' string"
        path, parsed = item
        if path is None:
            return None, f"paths[{i}] {parsed}"
        out[path] = parsed
    return out, ""


_PATH_TYPES = {t: t for t in ("hardlink", "softlink", "directory")}


def _manifest_entry_problem(entry: Any) -> str:
    if not isinstance(entry, dict) or not isinstance(entry.get("_path"), str) or not entry["_path"]:
        return "must be an object with a non-empty '_path' string"
    if entry.get("path_type", "hardlink") not in _PATH_TYPES:
        return f"has an unknown path_type {entry.get('path_type')!r}"
    size = entry.get("size_in_bytes")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        return "has a 'size_in_bytes' that is not a non-negative integer"
    if entry.get("sha256") is not None and not isinstance(entry["sha256"], str):
        return "has a 'sha256' that is not a string"
    return ""


def _is_info(name: str) -> bool:
    return name == "info" or name.startswith("info/")


def _canonical(raw: str) -> str:
    """The member name with ``.`` and empty components dropped (a leading ``/`` is kept)."""
    if "//" not in raw and "./" not in raw and not raw.endswith(("/", "/.")) and raw != ".":
        return raw  # the common case, already canonical: no split and join per member
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    return ("/" if raw.startswith("/") else "") + "/".join(parts)


def display_path(name: str) -> str:
    """``name`` made safe for reports and logs: control characters and non-UTF-8 bytes escaped."""
    if name.isprintable():
        return name
    out = []
    for char in name:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(char) in _BAD_CATEGORIES:
            out.append(char.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Reading: one pass over the archive bytes


class _ReadFailed(ValidationError):
    """The artifact file itself could not be read (an I/O error, not a property of the archive)."""


class _Hasher:
    """md5 and sha256 of a byte stream, computed on a helper thread while the parsers work.

    hashlib releases the GIL for large updates, so hashing overlaps with
    decompression instead of adding to it. Bytes are handed over in chunks of
    about ``_CHUNK``; at most ``_HASH_QUEUE`` chunks wait, so memory is bounded.
    """

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._pending = bytearray()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=_HASH_QUEUE)
        self._thread = threading.Thread(target=self._run, name="artifact-hasher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._md5.update(chunk)
            self._sha256.update(chunk)

    def update(self, data: bytes | memoryview) -> None:
        """Hash ``data`` next (it is copied or handed over whole, never modified)."""
        if not self._pending and len(data) >= _CHUNK and isinstance(data, bytes):
            self._queue.put(data)
            return
        self._pending += data
        if len(self._pending) >= _CHUNK:
            self._queue.put(bytes(self._pending))
            self._pending.clear()

    def close(self) -> None:
        """Stop the thread after it hashed everything handed over so far (idempotent)."""
        if self._thread.is_alive():
            if self._pending:
                self._queue.put(bytes(self._pending))
                self._pending.clear()
            self._queue.put(None)
            self._thread.join()

    def hexdigests(self) -> tuple[str, str]:
        """``(md5, sha256)`` of everything hashed; the hasher is closed."""
        self.close()
        return self._md5.hexdigest(), self._sha256.hexdigest()


class _Source:
    """The archive file as the parsers read it; hashes its bytes exactly once, in file order.

    Reads are ``pread`` at our own position, so ``zipfile`` may seek freely. A
    read that starts at or just after the hashed prefix extends it; anything
    left (the ZIP central directory, read first) is hashed by ``finish``.
    """

    def __init__(self, fh: BinaryIO, size: int, hashing: bool) -> None:
        self._fd = fh.fileno()
        self._size = size
        self._pos = 0
        self._hashed = 0
        self._hasher = _Hasher() if hashing else None

    def _pread(self, n: int, pos: int) -> bytes:
        try:
            return os.pread(self._fd, n, pos)
        except OSError as exc:
            raise _ReadFailed(f"cannot read the artifact: {exc.strerror or exc}") from exc

    def read(self, n: int | None = -1) -> bytes:
        """Read up to ``n`` bytes (all when negative) at the current position."""
        remaining = max(0, self._size - self._pos)
        # never trust a size from the archive for an allocation: read at most what is there
        n = remaining if n is None or n < 0 else min(n, remaining)
        pos = self._pos
        data = self._pread(n, pos)
        self._pos += len(data)
        if self._hasher is not None:
            if self._hashed < pos <= self._hashed + _HASH_GAP:
                self._hasher.update(self._pread(pos - self._hashed, self._hashed))
                self._hashed = pos
            end = pos + len(data)
            if pos <= self._hashed < end:
                self._hasher.update(data if pos == self._hashed else data[self._hashed - pos :])
                self._hashed = end
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the read position like ``file.seek``."""
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        """The current read position."""
        return self._pos

    def seekable(self) -> bool:
        """Always True: the source is a regular file."""
        return True

    def readable(self) -> bool:
        """Always True."""
        return True

    def finish(self) -> tuple[str, str]:
        """Hash whatever the parsers did not read, in order; return ``(md5, sha256)`` hex."""
        if self._hasher is None:
            return "", ""
        while self._hashed < self._size:
            chunk = self._pread(min(_CHUNK, self._size - self._hashed), self._hashed)
            if not chunk:
                break
            self._hasher.update(chunk)
            self._hashed += len(chunk)
        return self._hasher.hexdigests()

    def close(self) -> None:
        """Stop the hashing thread (after an error, the hashes are not needed)."""
        if self._hasher is not None:
            self._hasher.close()


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
        while data := self.read(_CHUNK):
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


def _kind(info: tarfile.TarInfo) -> str:
    if info.isreg():
        return "file"
    for kind, test in (
        ("dir", info.isdir),
        ("symlink", info.issym),
        ("hardlink", info.islnk),
        ("chardev", info.ischr),
        ("blockdev", info.isblk),
        ("fifo", info.isfifo),
    ):
        if test():
            return kind
    return "other"


@dataclass
class _Reader:
    scan: Scan
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

    def component(self, stream: Any, component: str) -> None:
        """Record every member of one tar stream; damage becomes an AV302 entry, not an error."""
        scan = self.scan
        inflated = _Inflated(stream, self.budget)
        tar: tarfile.TarFile | None = None
        try:
            for tar, info in tar_generator(inflated, tarfile_open=_open_tar):
                self.budget.member(info)
                kind = _kind(info)
                name = _canonical(info.name)
                listed = scan.manifest[0].get(name) if scan.manifest[0] else None
                member = Member(
                    name=listed.path if listed else name,  # one string shared with paths.json
                    kind=kind,
                    size=info.size if kind == "file" else 0,
                    linkname=info.linkname,
                    component=component,
                    order=self.order,
                )
                self.order += 1
                # conda reads a .conda's metadata from its info component only
                metadata = kind == "file" and (component == "info" or scan.fmt == ".tar.bz2")
                if metadata and member.name == INDEX_JSON:
                    scan.index_bytes = self.read_metadata(tar, info)
                elif metadata and member.name == PATHS_JSON:
                    data = self.read_metadata(tar, info)
                    scan.manifest = parse_manifest(data, keep_sha256=scan.deep)
                elif kind == "file" and scan.deep and not _is_info(member.name):
                    member.sha256 = _hash_member(tar, info)
                scan.members.append(member)
                if len(tar.members) > _MEMBERS_KEPT:
                    tar.members.clear()  # only extractfile() of hardlinks looks back; we never do
            if inflated.junk_after(tar.offset if tar is not None else 0):
                scan.corrupt.append(
                    f"{component}: data after the end of the tar archive "
                    "(an invalid header hides the rest, or members were appended)"
                )
        except PARSE_ERRORS as exc:
            scan.corrupt.append(f"{component}: {_describe(exc)}")


def _hash_member(tar: tarfile.TarFile, info: tarfile.TarInfo) -> str:
    digest = hashlib.sha256()
    fh = tar.extractfile(info)
    if fh is not None:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return display_path(text if len(text) <= 200 else text[:200] + "...")


def _read_conda(reader: _Reader, source: _Source) -> None:
    scan = reader.scan
    try:
        zf = zipfile.ZipFile(source)  # type: ignore[arg-type]
    except PARSE_ERRORS as exc:
        scan.corrupt.append(f"not a readable ZIP archive: {_describe(exc)}")
        return
    with zf:
        infos = zf.infolist()
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
                        while raw.read(_CHUNK):  # the ZIP CRC is checked at the member's end
                            pass
                except PARSE_ERRORS as exc:
                    scan.corrupt.append(f"{component}: {_describe(exc)}")
        scan.container += [
            f"unexpected ZIP member {display_path(n)!r}" for n in sorted(set(counts) - known)
        ]


def _check_conda_metadata(scan: Scan, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    meta = [i for i in infos if i.filename == "metadata.json"]
    if not meta:
        scan.container.append("missing metadata.json")
        return
    if meta[0].file_size > 64 * KiB:
        scan.container.append("metadata.json is too large")
        return
    try:
        doc = json.loads(zf.read(meta[0]))
    except (ValueError, UnicodeDecodeError, *PARSE_ERRORS) as exc:
        scan.container.append(f"metadata.json is not valid JSON: {_describe(exc)}")
        return
    if not isinstance(doc, dict) or doc.get("conda_pkg_format_version") != 2:
        scan.container.append("metadata.json does not say conda_pkg_format_version 2")


def archive_format(filename: str) -> str | None:
    """``.conda`` or ``.tar.bz2`` by the file name, or None for anything else (AV301)."""
    return next((s for s in SUFFIXES if filename.endswith(s) and len(filename) > len(s)), None)


def read_archive(
    fh: BinaryIO,
    filename: str,
    *,
    limits: Limits | None = None,
    deep: bool = False,
    hashes: tuple[str, str] | None = None,
) -> Scan:
    """Read the artifact in ``fh`` (a regular file, named ``filename``) in one streaming pass.

    Computes md5 and sha256 of the bytes unless ``hashes`` gives them already
    (a download hashes while it writes). A damaged archive is recorded in the
    ``Scan`` (AV301/AV302); only a limit (``LimitError``) or an I/O failure
    raises. Under ``deep`` every installable file's content is hashed too.
    """
    limits = limits or Limits()
    size = os.fstat(fh.fileno()).st_size
    scan = Scan(filename=filename, fmt=archive_format(filename), deep=deep)
    source = _Source(fh, size, hashing=hashes is None)
    reader = _Reader(scan, limits, _Budget(limits, size, display_path(filename)))
    try:
        if scan.fmt == ".tar.bz2":
            try:
                with bz2.BZ2File(source) as stream:  # type: ignore[arg-type]
                    reader.component(stream, "pkg")
            except PARSE_ERRORS as exc:
                scan.corrupt.append(f"pkg: {_describe(exc)}")
        elif scan.fmt == ".conda":
            _read_conda(reader, source)
        scan.md5, scan.sha256 = hashes if hashes is not None else source.finish()
    finally:
        source.close()
    return scan


# ---------------------------------------------------------------------------------------------
# Checks: one function per code, each a pure function of the Scan


def _one(code: Code, paths: Iterable[str] = (), detail: str = "") -> list[Finding]:
    return [Finding(code, tuple(display_path(p) for p in paths), display_path(detail))]


def _examples(items: list[str], limit: int = 3) -> str:
    head = "; ".join(items[:limit])
    return head + (f"; and {len(items) - limit} more" if len(items) > limit else "")


def check_AV101(scan: Scan) -> list[Finding]:
    """AV101: the md5 of the archive bytes differs from the expected one (``--md5``, payload)."""
    if scan.expected_md5 and scan.md5 != scan.expected_md5:
        return _one(Code.AV101, detail=f"expected {scan.expected_md5}, got {scan.md5}")
    return []


def check_AV102(scan: Scan) -> list[Finding]:
    """AV102: the sha256 of the archive bytes differs from the expected one (``--sha256``)."""
    if scan.expected_sha256 and scan.sha256 != scan.expected_sha256:
        return _one(Code.AV102, detail=f"expected {scan.expected_sha256}, got {scan.sha256}")
    return []


def check_AV201(scan: Scan) -> list[Violation]:
    """AV201: every installable path goes through the filters' matcher; returns the violations.

    Case-insensitive matching applies when the artifact claims or is published
    to a ``win-*`` or ``osx-*`` subdir. ``Verdict.add_violations`` turns the
    violations into the AV201 finding.
    """
    if scan.matcher is None or not scan.readable:
        return []
    index, _ = scan.index
    name = index["name"] if index else scan.stem.rsplit("-", 2)[0]
    paths = (display_path(m.name) for m in scan.installed)
    return scan.matcher.check(name, scan.fold_subdir, paths)


def check_AV301(scan: Scan) -> list[Finding]:
    """AV301: the file is not a conda package: wrong suffix, or a .conda ZIP of the wrong layout."""
    if not scan.readable:
        return _one(Code.AV301, detail=f"{scan.filename!r} does not end in .conda or .tar.bz2")
    if scan.container:
        return _one(Code.AV301, detail=_examples(scan.container))
    return []


def check_AV302(scan: Scan) -> list[Finding]:
    """AV302: decompression or tar parsing failed (truncated, corrupt, or data after the end)."""
    return _one(Code.AV302, detail=_examples(scan.corrupt)) if scan.corrupt else []


def check_AV303(scan: Scan) -> list[Finding]:
    """AV303: there is no regular file ``info/index.json`` (not claimed past damage, see AV302)."""
    if not scan.readable or scan.index_bytes is not None or scan.corrupt:
        return []
    others = sorted({m.kind for m in scan.members if m.name == INDEX_JSON})
    detail = f"it is a {', '.join(others)}, not a file" if others else ""
    return _one(Code.AV303, [INDEX_JSON], detail)


def check_AV304(scan: Scan) -> list[Finding]:
    """AV304: ``info/index.json`` is not a JSON object with string name/version/build/subdir."""
    if scan.index_bytes is None:
        return []
    index, problem = scan.index
    return [] if index else _one(Code.AV304, [INDEX_JSON], problem)


def check_AV401(scan: Scan) -> list[Finding]:
    """AV401: ``<name>-<version>-<build>`` from index.json differs from the file name."""
    index, _ = scan.index
    if index is None:
        return []
    expected = f"{index['name']}-{index['version']}-{index['build']}"
    if expected == scan.stem:
        return []
    return _one(
        Code.AV401,
        detail=f"the file is named {scan.stem!r} but info/index.json says {expected!r}",
    )


def check_AV402(scan: Scan) -> list[Finding]:
    """AV402: index.json's subdir differs from ``--subdir`` or the subdir of the URL/path."""
    index, _ = scan.index
    if index is None or not scan.expected_subdir or index["subdir"] == scan.expected_subdir:
        return []
    return _one(
        Code.AV402,
        detail=f"info/index.json says {index['subdir']!r}, "
        f"it is published to {scan.expected_subdir!r}",
    )


def check_AV403(scan: Scan) -> list[Finding]:
    """AV403: a noarch package (index.json has ``noarch``) whose subdir is not ``noarch``."""
    index, _ = scan.index
    if index is None or not index["noarch"] or index["subdir"] == "noarch":
        return []
    return _one(Code.AV403, detail=f"noarch: {index['noarch']} but subdir {index['subdir']!r}")


def check_AV501(scan: Scan) -> list[Finding]:
    """AV501: member names that are absolute (``/x``) or start with a drive (``C:``)."""
    bad = [m.name for m in scan.members if m.name.startswith("/") or _DRIVE_RE.match(m.name)]
    return _one(Code.AV501, bad) if bad else []


def check_AV502(scan: Scan) -> list[Finding]:
    """AV502: member names with a ``..`` component."""
    bad = [m.name for m in scan.members if ".." in m.name.split("/")]
    return _one(Code.AV502, bad) if bad else []


def check_AV503(scan: Scan) -> list[Finding]:
    """AV503: member names containing a NUL byte or a backslash."""
    bad = [m.name for m in scan.members if "\0" in m.name or "\\" in m.name]
    return _one(Code.AV503, bad) if bad else []


def _link_escapes(link: str, target: str, links: dict[str, str]) -> bool:
    """Whether symlink ``link`` -> ``target`` resolves outside the prefix, following ``links``.

    Resolution walks the target one component at a time from the link's
    directory, replacing components that are themselves symlinks in the
    archive, so a chain of individually harmless links cannot climb out.
    A loop (more than ``MAX_SYMLINK_HOPS`` hops) fails on every OS and is not
    an escape.
    """
    parts = link.split("/")[:-1]
    pending = deque(target.split("/"))
    hops = 0
    while pending:
        part = pending.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return True
            parts.pop()
            continue
        parts.append(part)
        hop = links.get("/".join(parts))
        if hop is not None:
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                return False
            if hop.startswith("/") or _DRIVE_RE.match(hop):
                return True
            parts.pop()
            pending.extendleft(reversed(hop.split("/")))
    return False


def check_AV504(scan: Scan) -> list[Finding]:
    """AV504: symlinks whose target is absolute or resolves outside the install prefix."""
    links = {m.name: m.linkname for m in scan.members if m.kind == "symlink"}
    bad = [
        f"{name} -> {target}"
        for name, target in links.items()
        if not target
        or target.startswith("/")
        or _DRIVE_RE.match(target)
        or _link_escapes(name, target, links)
    ]
    if not bad:
        return []
    bad.sort()
    return _one(
        Code.AV504, [b.split(" -> ")[0] for b in bad], _examples([display_path(b) for b in bad])
    )


def check_AV505(scan: Scan) -> list[Finding]:
    """AV505: hardlinks to a path outside the prefix or not an earlier member of the same tar."""
    first: dict[tuple[str, str], int] = {}
    for m in scan.members:
        if m.kind != "dir":
            first.setdefault((m.component, m.name), m.order)
    bad = []
    for m in scan.members:
        if m.kind != "hardlink":
            continue
        target = _canonical(m.linkname)
        if (
            not target
            or target.startswith("/")
            or _DRIVE_RE.match(target)
            or ".." in target.split("/")
            or first.get((m.component, target), m.order) >= m.order
        ):
            bad.append((m.name, f"{m.name} -> {m.linkname}"))
    if not bad:
        return []
    bad.sort()
    return _one(Code.AV505, [b[0] for b in bad], _examples([display_path(b[1]) for b in bad]))


def check_AV506(scan: Scan) -> list[Finding]:
    """AV506: device files, FIFOs and members of any other special type."""
    bad = [m for m in scan.members if m.kind in ("chardev", "blockdev", "fifo", "other")]
    if not bad:
        return []
    kinds = ", ".join(sorted({m.kind for m in bad}))
    return _one(Code.AV506, [m.name for m in bad], f"member types: {kinds}")


def check_AV507(scan: Scan) -> list[Finding]:
    """AV507: a path that appears more than once (two directory entries are harmless)."""
    counts = Counter(m.name for m in scan.members)
    dup = {n for n, c in counts.items() if c > 1 and not scan.entries.get(n, False)}
    return _one(Code.AV507, dup) if dup else []


def _collisions(scan: Scan, key: Callable[[str], str]) -> list[str]:
    """Paths whose ``key`` equals another path's, when at least one of them is not a directory."""
    groups: dict[str, list[str]] = {}
    for name in scan.entries:
        groups.setdefault(key(name), []).append(name)
    out: list[str] = []
    for names in groups.values():
        if len(names) > 1 and not all(scan.entries[n] for n in names):
            out.extend(names)
    return out


def _nfc(name: str) -> str:
    return name if name.isascii() else unicodedata.normalize("NFC", name)


def check_AV508(scan: Scan) -> list[Finding]:
    """AV508: paths equal but for case, in ``win-*`` and ``osx-*`` artifacts."""
    if not any(is_case_insensitive(s) for s in scan.subdirs):
        return []
    seen: dict[str, set[str]] = {}
    for name in scan.entries:
        seen.setdefault(_nfc(name).casefold(), set()).add(_nfc(name))
    folded = {k for k, forms in seen.items() if len(forms) > 1}
    if not folded:
        return []
    bad = [
        n for n in _collisions(scan, lambda n: _nfc(n).casefold()) if _nfc(n).casefold() in folded
    ]
    return _one(Code.AV508, bad) if bad else []


def check_AV509(scan: Scan) -> list[Finding]:
    """AV509: paths equal after Unicode NFC normalization but spelled differently."""
    bad = _collisions(scan, _nfc)
    return _one(Code.AV509, bad) if bad else []


def _components(scan: Scan) -> set[str]:
    return {part for name in scan.entries for part in name.split("/")}


def check_AV510(scan: Scan) -> list[Finding]:
    """AV510: a path component is a Windows reserved device name, in ``win-*`` artifacts."""
    if not scan.windows:
        return []
    reserved = {
        p for p in _components(scan) if p.partition(".")[0].rstrip(" ").upper() in WINDOWS_RESERVED
    }
    bad = [n for n in scan.entries if reserved.intersection(n.split("/"))]
    return _one(Code.AV510, bad) if bad else []


def check_AV511(scan: Scan) -> list[Finding]:
    """AV511: a path component ends in a dot or a space, in ``win-*`` artifacts."""
    if not scan.windows:
        return []
    bad = [
        n
        for n in scan.entries
        if any(p.endswith((".", " ")) and p not in (".", "..") for p in n.split("/"))
    ]
    return _one(Code.AV511, bad) if bad else []


def _bad_name(name: str) -> bool:
    return not name.isprintable() and any(unicodedata.category(c) in _BAD_CATEGORIES for c in name)


def check_AV512(scan: Scan) -> list[Finding]:
    """AV512: member names or link targets with non-UTF-8 bytes or control characters."""
    bad = [m.name for m in scan.members if _bad_name(m.name) or _bad_name(m.linkname)]
    return _one(Code.AV512, bad) if bad else []


def check_AV601(scan: Scan) -> list[Finding]:
    """AV601: info/paths.json lists a path the archive lacks (skipped for a damaged archive)."""
    manifest, _ = scan.manifest
    if manifest is None or scan.corrupt:
        return []
    files = {m.name for m in scan.installed}
    bad = [
        p
        for p, e in manifest.items()
        if (p not in scan.entries if e.path_type == "directory" else p not in files)
    ]
    return _one(Code.AV601, bad) if bad else []


def check_AV602(scan: Scan) -> list[Finding]:
    """AV602: the archive installs a file or link that info/paths.json does not list."""
    manifest, _ = scan.manifest
    if manifest is None:
        return []
    bad = [m.name for m in scan.installed if m.name not in manifest]
    return _one(Code.AV602, bad) if bad else []


def _contents(scan: Scan) -> dict[str, Member]:
    """Installed regular files by name, hardlinks resolved to the member they point to."""
    files = {m.name: m for m in scan.installed if m.kind == "file"}
    for m in scan.installed:
        if m.kind == "hardlink" and _canonical(m.linkname) in files:
            files.setdefault(m.name, files[_canonical(m.linkname)])
    return files


def check_AV603(scan: Scan) -> list[Finding]:
    """AV603: a file's ``size_in_bytes`` in info/paths.json differs from the member's size."""
    manifest, _ = scan.manifest
    if manifest is None:
        return []
    files = _contents(scan)
    bad = [
        f"{p}: paths.json says {e.size}, the archive has {files[p].size}"
        for p, e in manifest.items()
        if e.path_type == "hardlink"
        and e.size is not None
        and p in files
        and files[p].size != e.size
    ]
    if not bad:
        return []
    bad.sort()
    return _one(Code.AV603, [b.partition(": ")[0] for b in bad], _examples(bad))


def check_AV604(scan: Scan) -> list[Finding]:
    """AV604: under ``--deep``, a file's sha256 in info/paths.json differs from its content."""
    manifest, _ = scan.manifest
    if manifest is None or not scan.deep:
        return []
    files = _contents(scan)
    bad = [
        p
        for p, e in manifest.items()
        if e.path_type == "hardlink" and e.sha256 and p in files and files[p].sha256 != e.sha256
    ]
    return _one(Code.AV604, bad) if bad else []


def check_AV605(scan: Scan) -> list[Finding]:
    """AV605: info/paths.json is present but not valid JSON of the paths.json shape."""
    _, problem = scan.manifest
    return _one(Code.AV605, [PATHS_JSON], problem) if problem else []


#: Every finding check, in catalogue order (AV201 returns violations and runs apart).
CHECKS: tuple[Callable[[Scan], list[Finding]], ...] = (
    check_AV101,
    check_AV102,
    check_AV301,
    check_AV302,
    check_AV303,
    check_AV304,
    check_AV401,
    check_AV402,
    check_AV403,
    check_AV501,
    check_AV502,
    check_AV503,
    check_AV504,
    check_AV505,
    check_AV506,
    check_AV507,
    check_AV508,
    check_AV509,
    check_AV510,
    check_AV511,
    check_AV512,
    check_AV601,
    check_AV602,
    check_AV603,
    check_AV604,
    check_AV605,
)


def verdict_for_scan(scan: Scan, source: str = "") -> Verdict:
    """Run every check on ``scan`` and return the verdict (valid only if none found anything)."""
    index, _ = scan.index
    if index is None:
        parts = scan.stem.rsplit("-", 2) if scan.readable else []
        name, version, build = (parts if len(parts) == 3 else [scan.stem, "", ""])[:3]
        subdir = scan.expected_subdir
    else:
        name, version, build, subdir = (index[k] for k in ("name", "version", "build", "subdir"))
    verdict = Verdict(
        name=display_path(name),
        version=display_path(version),
        build=display_path(build),
        subdir=display_path(subdir),
        md5=scan.md5,
        sha256=scan.sha256,
        source=display_path(source),
    )
    for check in CHECKS:
        verdict.findings.extend(check(scan))
    verdict.add_violations(check_AV201(scan))
    return verdict


# ---------------------------------------------------------------------------------------------
# The one library call: validate an artifact from a path or a URL


def _expected_hash(value: str | None, length: int, what: str) -> str:
    if not value:
        return ""
    text = value.strip().lower()
    if len(text) != length or any(c not in "0123456789abcdef" for c in text):
        raise UsageError(f"{what} must be {length} hexadecimal digits, not {value!r}")
    return text


def check_subdir(subdir: str) -> str:
    """Return ``subdir`` if it looks like a conda subdir (``linux-64``, ``noarch``), else raise."""
    if not _SUBDIR_RE.match(subdir):
        raise UsageError(f"--subdir {subdir!r} is not a conda subdir such as linux-64 or noarch")
    return subdir


def subdir_of_path(path: str | os.PathLike[str]) -> str:
    """The known subdir named by ``path``'s parent directory; ``UsageError`` when it is not one."""
    parent = Path(path).absolute().parent.name
    if parent not in KNOWN_SUBDIRS:
        raise UsageError(
            f"{path}: --subdir-from-path: the parent directory {parent!r} is not a known "
            "subdir; pass --subdir"
        )
    return parent


def open_local(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a local artifact for reading; a missing or non-regular file is a ``UsageError``."""
    try:
        # stat first: opening a FIFO would block until someone writes to it
        if not stat.S_ISREG(Path(path).stat().st_mode):
            raise UsageError(f"{path}: not a regular file")
        return Path(path).open("rb")
    except OSError as exc:
        raise UsageError(f"{path}: cannot open artifact: {exc.strerror or exc}") from exc


def check_source(
    source: str, fetcher: Fetcher | None = None, *, subdir_from_path: bool = False
) -> None:
    """Check that ``source`` can be validated at all (before any is): raise ``UsageError`` if not.

    A URL must pass the fetcher's scheme and allow-list rules; a path must
    name a readable regular file, in a known subdir under ``subdir_from_path``.
    """
    if is_url(source):
        (fetcher or Fetcher()).check_url(source)
        return
    open_local(source).close()
    if subdir_from_path:
        subdir_of_path(source)


def validate_artifact(
    source: str | os.PathLike[str],
    *,
    matcher: Matcher | None,
    expected_md5: str | None = None,
    expected_sha256: str | None = None,
    subdir: str | None = None,
    subdir_from_path: bool = False,
    deep: bool = False,
    limits: Limits | None = None,
    fetcher: Fetcher | None = None,
) -> Verdict:
    """Validate one artifact from a local path or an https URL and return its verdict.

    Every check runs and every finding is reported. ``subdir`` is the subdir
    the artifact is published to; without it, a URL's ``.../<subdir>/<file>``
    gives it when that is a known subdir, and a path's parent directory does
    under ``subdir_from_path``. ``matcher`` None skips clobbering (AV201).

    Raises ``UsageError`` (exit 2) for a bad argument, a missing file or a URL
    that is not allowed; ``FetchError`` or ``LimitError`` (exit 3) when the
    artifact could not be validated. A finding is never an exception.
    """
    text = os.fspath(source)
    md5 = _expected_hash(expected_md5, 32, "--md5")
    sha256 = _expected_hash(expected_sha256, 64, "--sha256")
    expected_subdir = check_subdir(subdir) if subdir else ""
    limits = limits or Limits()
    if is_url(text):
        fetcher = fetcher or Fetcher(max_size=limits.max_download_size)
        target = fetcher.check_url(text)
        with tempfile.TemporaryFile(prefix="artifact-") as tmp:
            download = fetcher.download(text, tmp)
            tmp.flush()
            scan = read_archive(
                tmp,  # type: ignore[arg-type]
                target.filename,
                limits=limits,
                deep=deep,
                hashes=(download.md5, download.sha256),
            )
        if not expected_subdir and target.parent in KNOWN_SUBDIRS:
            expected_subdir = target.parent
    else:
        with open_local(text) as fh:
            if subdir_from_path and not expected_subdir:
                expected_subdir = subdir_of_path(text)
            scan = read_archive(fh, Path(text).name, limits=limits, deep=deep)
    scan.expected_md5, scan.expected_sha256 = md5, sha256
    scan.expected_subdir = expected_subdir
    scan.matcher = matcher
    return verdict_for_scan(scan, source=text)
