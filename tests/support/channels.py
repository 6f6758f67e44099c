"""Test channels: repodata.json for a directory of real artifacts, and a few standard packages.

- ``repodata_record(path, subdir)``: the record conda-index would write for one artifact.
- ``write_repodata(subdir_dir, removed=(), extra=None)``: ``repodata.json`` listing every
  ``.conda``/``.tar.bz2`` in ``subdir_dir`` (``packages`` and ``packages.conda``); ``extra``
  adds raw records (``{section: {file: record}}``), hostile ones included.
- ``write_channeldata(root)``: ``channeldata.json`` naming every subdir of ``root`` that
  has a ``repodata.json`` (what conda-index writes; the scan reads its ``subdirs``).
- ``build_standard_channel(root)``: linux-64 + noarch with a clobbering build in both
  formats, a clean ``.conda`` with a large incompressible payload, an old ``.tar.bz2``
  without ``info/paths.json``, and a removed build; returns ``{label: Path}``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.support.builders import build_both, build_package

#: Incompressible bytes, so a .conda's pkg part is large and its info part small.
BIG_PAYLOAD = 2_000_000

#: What the standard clobbering build ships (OpenSSL is protected by validate_yamls/openssl.yaml).
CLOBBER_FILES = ("include/openssl/ssl.h", "lib/libclob.so")


def repodata_record(path: Path, subdir: str) -> dict[str, Any]:
    """The repodata record of one artifact file."""
    data = path.read_bytes()
    stem = path.name.removesuffix(".conda").removesuffix(".tar.bz2")
    name, version, build = stem.rsplit("-", 2)
    return {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "depends": [],
        "md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "subdir": subdir,
        "timestamp": 1_700_000_000_000,
    }


def write_repodata(
    subdir_dir: Path,
    *,
    removed: Iterable[str] = (),
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write ``subdir_dir/repodata.json`` for the artifacts in it; return its path."""
    subdir = subdir_dir.name
    doc: dict[str, Any] = {
        "info": {"subdir": subdir},
        "packages": {},
        "packages.conda": {},
        "removed": sorted(removed),
        "repodata_version": 1,
    }
    for path in sorted(subdir_dir.iterdir()):
        if path.name.endswith(".conda"):
            doc["packages.conda"][path.name] = repodata_record(path, subdir)
        elif path.name.endswith(".tar.bz2"):
            doc["packages"][path.name] = repodata_record(path, subdir)
    for section, records in (extra or {}).items():
        doc.setdefault(section, {}).update(records)
    out = subdir_dir / "repodata.json"
    out.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return out


def write_channeldata(root: Path, subdirs: Iterable[str] | None = None) -> Path:
    """Write ``root/channeldata.json`` with ``subdirs`` (default: those with repodata)."""
    names = sorted(
        subdirs if subdirs is not None else (p.parent.name for p in root.glob("*/repodata.json"))
    )
    out = root / "channeldata.json"
    doc = {"channeldata_version": 1, "packages": {}, "subdirs": names}
    out.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return out


def build_standard_channel(root: Path) -> dict[str, Path]:
    """Build the standard test channel under ``root`` (see the module docstring)."""
    linux = root / "linux-64"
    noarch = root / "noarch"
    out: dict[str, Path] = {}
    both = build_both(
        linux,
        "clob",
        {CLOBBER_FILES[0]: b"/* ssl */\n", CLOBBER_FILES[1]: os.urandom(1000)},
    )
    out["clob.conda"], out["clob.tar.bz2"] = both[".conda"], both[".tar.bz2"]
    out["big.conda"] = build_package(
        linux, "big", {"lib/libbig.so": os.urandom(BIG_PAYLOAD), "bin/big": b"#!/bin/sh\n"}
    )
    out["old.tar.bz2"] = build_package(
        linux, "old", {"bin/old": b"old\n"}, fmt=".tar.bz2", with_paths_json=False
    )
    out["gone.conda"] = build_package(linux, "gone", {"include/openssl/evp.h": b"x"})
    out["py.conda"] = build_package(
        noarch,
        "pyclob",
        {"site-packages/pyclob/__init__.py": b"", "site-packages/certifi/core.py": b"x"},
        subdir="noarch",
    )
    write_repodata(linux, removed=[out["gone.conda"].name])
    write_repodata(noarch)
    write_channeldata(root)
    return out
