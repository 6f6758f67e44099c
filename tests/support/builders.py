"""Builders for test artifacts: real conda packages (via conda-package-handling) and hostile ones.

Stable API, shared by the artifact, scan and workflow tests (issue 4 owns it;
extend it backwards-compatibly):

Real packages, built from a staged prefix with ``conda_package_handling.api.create``:

- ``index_json(name, version="1.0", build="0", subdir="linux-64", **extra) -> dict``
- ``paths_json(files, symlinks=None) -> dict``: the ``info/paths.json`` conda-build writes.
- ``build_package(directory, name, files, *, version="1.0", build="0", subdir="linux-64",
  fmt=".conda", symlinks=None, index=None, with_paths_json=True, info=None) -> Path``
  writes ``directory/<name>-<version>-<build><fmt>``; ``files`` maps a relative path to its
  bytes, ``symlinks`` a relative path to its target, ``index`` overrides/extends index.json
  keys, ``info`` adds or replaces raw ``info/...`` members (e.g. a broken ``info/paths.json``).
- ``build_both(directory, name, files, **kw) -> dict[str, Path]``: both formats, keyed by
  ``".conda"`` and ``".tar.bz2"``.
- ``FORMATS = (".conda", ".tar.bz2")`` for parametrizing.

Hostile archives, built by hand member by member (nothing checks them):

- ``Entry(name, data=b"", kind="file", linkname="", mode=0o644)``; ``kind`` is one of
  ``file``, ``dir``, ``symlink``, ``hardlink``, ``chardev``, ``blockdev``, ``fifo``.
  Names may carry surrogate escapes (``"bad\\udcff"``) for non-UTF-8 bytes.
- ``metadata_entries(name, version="1.0", build="0", subdir="linux-64", paths=None,
  **index_extra) -> list[Entry]``: ``info/index.json`` plus, when ``paths`` (a mapping of
  path -> bytes) is given, a matching ``info/paths.json``.
- ``package_entries(name, *entries, version="1.0", build="0", subdir="linux-64",
  **index_extra) -> list[Entry]``: ``info/index.json`` and an ``info/paths.json`` listing
  every non-``info/``, non-directory entry exactly, then the entries: a consistent package.
- ``tar_bytes(entries) -> bytes``: an uncompressed GNU tar of the entries, in order (PAX
  when a name holds a NUL, which only a PAX ``path`` record can carry).
- ``write_tar_bz2(path, entries) -> Path``: a ``.tar.bz2`` holding the entries, in order.
- ``write_conda(path, info, pkg, *, metadata=..., extra=None, omit=()) -> Path``: a
  ``.conda`` ZIP with ``metadata.json``, ``info-<stem>.tar.zst`` (``info`` entries) and
  ``pkg-<stem>.tar.zst`` (``pkg`` entries); ``extra`` adds ZIP members (name -> bytes),
  ``omit`` drops standard ones by name.
- ``write_hostile(path, entries) -> Path``: either format by ``path``'s suffix; entries whose
  name starts with ``info/`` go to the info component of a ``.conda``.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conda_package_handling import api as cph_api

try:  # Python 3.14+
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the Python version
    from backports import zstd  # type: ignore[no-redef]

FORMATS = (".conda", ".tar.bz2")


def index_json(
    name: str, version: str = "1.0", build: str = "0", subdir: str = "linux-64", **extra: Any
) -> dict[str, Any]:
    """A plausible ``info/index.json`` document; ``extra`` adds or overrides keys."""
    doc: dict[str, Any] = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "subdir": subdir,
        "depends": [],
        "license": "BSD-3-Clause",
        "timestamp": 1_700_000_000_000,
    }
    if subdir == "noarch":
        doc.setdefault("noarch", "generic")
    else:
        doc["arch"] = "x86_64" if subdir.endswith("64") else None
        doc["platform"] = subdir.partition("-")[0]
    doc.update(extra)
    return doc


def paths_json(
    files: Mapping[str, bytes], symlinks: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ``info/paths.json`` conda-build would write for these files and symlinks."""
    entries: list[dict[str, Any]] = [
        {
            "_path": path,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        for path, data in files.items()
    ]
    entries += [{"_path": path, "path_type": "softlink"} for path in (symlinks or {})]
    entries.sort(key=lambda e: e["_path"])
    return {"paths": entries, "paths_version": 1}


def build_package(
    directory: Path,
    name: str,
    files: Mapping[str, bytes],
    *,
    version: str = "1.0",
    build: str = "0",
    subdir: str = "linux-64",
    fmt: str = ".conda",
    symlinks: Mapping[str, str] | None = None,
    index: Mapping[str, Any] | None = None,
    with_paths_json: bool = True,
    info: Mapping[str, bytes] | None = None,
) -> Path:
    """Build a real package with conda-package-handling and return its path."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{version}-{build}"
    meta: dict[str, bytes] = {
        "info/index.json": json.dumps(
            index_json(name, version, build, subdir, **(index or {})), indent=2, sort_keys=True
        ).encode(),
        "info/files": "".join(f"{p}\n" for p in sorted([*files, *(symlinks or {})])).encode(),
    }
    if with_paths_json:
        meta["info/paths.json"] = json.dumps(paths_json(files, symlinks), indent=2).encode()
    meta.update(info or {})
    with tempfile.TemporaryDirectory(prefix="av-build-") as tmp:
        prefix = Path(tmp)
        for path, data in {**files, **meta}.items():
            target = prefix / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for path, link_target in (symlinks or {}).items():
            link = prefix / path
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(link_target)
        members = sorted([*files, *meta, *(symlinks or {})])
        out = directory / f"{stem}{fmt}"
        out.unlink(missing_ok=True)
        cph_api.create(str(prefix), members, out.name, str(directory))
    return out


def build_both(
    directory: Path, name: str, files: Mapping[str, bytes], **kw: Any
) -> dict[str, Path]:
    """Build the package in both formats; keys are ``.conda`` and ``.tar.bz2``."""
    return {fmt: build_package(directory, name, files, fmt=fmt, **kw) for fmt in FORMATS}


@dataclass(frozen=True)
class Entry:
    """One hand-made tar member: a name, its bytes, its kind and (for links) its target."""

    name: str
    data: bytes = b""
    kind: str = "file"
    linkname: str = ""
    mode: int = 0o644


_KINDS = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "chardev": tarfile.CHRTYPE,
    "blockdev": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}


def metadata_entries(
    name: str,
    version: str = "1.0",
    build: str = "0",
    subdir: str = "linux-64",
    paths: Mapping[str, bytes] | None = None,
    **index_extra: Any,
) -> list[Entry]:
    """``info/index.json`` (and ``info/paths.json`` for ``paths``) as hand-made entries."""
    doc = index_json(name, version, build, subdir, **index_extra)
    out = [Entry("info/index.json", json.dumps(doc).encode())]
    if paths is not None:
        out.append(Entry("info/paths.json", json.dumps(paths_json(paths)).encode()))
    return out


def package_entries(
    name: str,
    *entries: Entry,
    version: str = "1.0",
    build: str = "0",
    subdir: str = "linux-64",
    **index_extra: Any,
) -> list[Entry]:
    """index.json, a paths.json that lists every installable entry exactly, then ``entries``."""
    data = {e.name: e.data for e in entries if e.kind == "file"}
    listed: list[dict[str, Any]] = []
    for e in entries:
        if e.name.startswith("info/") or e.kind == "dir":
            continue
        if e.kind == "symlink":
            listed.append({"_path": e.name, "path_type": "softlink"})
            continue
        content = data.get(e.linkname if e.kind == "hardlink" else e.name, b"")
        listed.append(
            {
                "_path": e.name,
                "path_type": "hardlink",
                "sha256": hashlib.sha256(content).hexdigest(),
                "size_in_bytes": len(content),
            }
        )
    doc = index_json(name, version, build, subdir, **index_extra)
    return [
        Entry("info/index.json", json.dumps(doc).encode()),
        Entry("info/paths.json", json.dumps({"paths": listed, "paths_version": 1}).encode()),
        *entries,
    ]


def tar_bytes(entries: Iterable[Entry]) -> bytes:
    """An uncompressed tar holding ``entries`` in order (duplicates and all)."""
    entries = list(entries)
    pax = any("\0" in e.name for e in entries)
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf,
        mode="w",
        format=tarfile.PAX_FORMAT if pax else tarfile.GNU_FORMAT,
        errors="surrogateescape",
    ) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name.replace("\0", ""))
            if "\0" in entry.name:
                info.pax_headers = {"path": entry.name}
            info.type = _KINDS[entry.kind]
            info.mode = entry.mode
            info.mtime = 1_700_000_000
            info.linkname = entry.linkname
            if entry.kind == "file":
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def write_tar_bz2(path: Path, entries: Iterable[Entry]) -> Path:
    """Write a ``.tar.bz2`` of ``entries`` (in order) to ``path``."""
    path.write_bytes(bz2.compress(tar_bytes(entries)))
    return path


def _stem(path: Path) -> str:
    return path.name.removesuffix(".conda")


def write_conda(
    path: Path,
    info: Iterable[Entry],
    pkg: Iterable[Entry],
    *,
    metadata: bytes = b'{"conda_pkg_format_version": 2}',
    extra: Mapping[str, bytes] | None = None,
    omit: Iterable[str] = (),
) -> Path:
    """Write a ``.conda`` ZIP (stored members) of the two components to ``path``."""
    stem = _stem(path)
    members = {
        "metadata.json": metadata,
        f"info-{stem}.tar.zst": zstd.compress(tar_bytes(info)),
        f"pkg-{stem}.tar.zst": zstd.compress(tar_bytes(pkg)),
    }
    for name in omit:
        members.pop(name, None)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def write_hostile(path: Path, entries: Iterable[Entry]) -> Path:
    """Write ``entries`` as ``path``'s format; ``.conda`` splits them at ``info/``."""
    entries = list(entries)
    if path.name.endswith(".conda"):
        info = [e for e in entries if e.name.startswith("info/")]
        pkg = [e for e in entries if not e.name.startswith("info/")]
        return write_conda(path, info, pkg)
    if path.name.endswith(".tar.bz2"):
        return write_tar_bz2(path, entries)
    raise ValueError(f"{path}: name must end in .conda or .tar.bz2")


def write_file_list(path: Path, name: str, subdir: str, files: list[str], **index: str) -> Path:
    """Write a libcfgraph-style file list and return its path."""
    doc = {"files": files, "index": {"name": name, "subdir": subdir, **index}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
