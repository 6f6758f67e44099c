"""A simulated conda install: extract with conda-package-handling, then link as conda does.

Used to prove the validator's promise (issue 11): when it says valid,
installing the artifact writes no protected path and nothing outside the
prefix. Linking follows conda: ``info/paths.json`` in order (else
``info/files``), each ``softlink`` recreated as a symlink, every other path
copied; noarch python ``site-packages/`` and ``python-scripts/`` relocated;
``info/link.json`` entry points written as scripts. Parents are created
with ``os.makedirs``, so a symlink created earlier is written through, as it
is by conda. Nothing is ever written outside ``root``: such a write is
recorded as an escape instead.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from conda_package_handling import api as cph_api

PYTHON_SITE = "lib/python3.12/site-packages"


@dataclass
class Installation:
    """What the simulated install did: prefix paths written (real, relative), escapes."""

    refused: str = ""
    written: set[str] = field(default_factory=set)
    escapes: list[str] = field(default_factory=list)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _relocate(path: str, noarch_python: bool, windows: bool) -> str:
    if not noarch_python:
        return path
    if path.startswith("site-packages/"):
        return ("Lib/site-packages/" if windows else PYTHON_SITE + "/") + path[14:]
    if path.startswith("python-scripts/"):
        return ("Scripts/" if windows else "bin/") + path[15:]
    return path


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _entries(pkgdir: Path) -> list[tuple[str, str]] | None:
    """``(path, path_type)`` as conda links them, or None when neither manifest is readable."""
    doc = _read_json(pkgdir / "info" / "paths.json")
    if isinstance(doc, dict) and isinstance(doc.get("paths"), list):
        out = []
        for entry in doc["paths"]:
            if isinstance(entry, dict) and isinstance(entry.get("_path"), str):
                out.append((entry["_path"], str(entry.get("path_type", "hardlink"))))
        return out
    try:
        text = (pkgdir / "info" / "files").read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    return [(line, "hardlink") for line in text.splitlines() if line]


def install(artifact: Path, root: Path, *, windows: bool = False) -> Installation:
    """Install ``artifact`` into ``root/prefix`` (package dir ``root/pkg``); see the module doc."""
    result = Installation()
    pkgdir, prefix = root / "pkg", root / "prefix"
    prefix.mkdir(parents=True)
    try:
        cph_api.extract(str(artifact), dest_dir=str(pkgdir))
    except Exception as exc:  # conda refuses to install what it cannot extract safely
        result.refused = f"extract: {type(exc).__name__}: {exc}"
        return result
    index = _read_json(pkgdir / "info" / "index.json")
    noarch_python = isinstance(index, dict) and index.get("noarch") == "python"
    entries = _entries(pkgdir)
    if entries is None:
        result.refused = "no manifest"
        return result
    linker = _Linker(os.path.realpath(prefix), os.path.realpath(root), result)
    for path, path_type in entries:
        linker.link(pkgdir / path, prefix / _relocate(path, noarch_python, windows), path_type)
    link = _read_json(pkgdir / "info" / "link.json")
    noarch = link.get("noarch") if isinstance(link, dict) else None
    points = noarch.get("entry_points", []) if isinstance(noarch, dict) else []
    for point in points if noarch_python and isinstance(points, list) else []:
        if not isinstance(point, str) or "=" not in point:
            continue
        command = point.rpartition(":")[0].rpartition("=")[0].strip()
        names = [f"Scripts/{command}-script.py", f"Scripts/{command}.exe"]
        for name in names if windows else [f"bin/{command}"]:
            linker.write(prefix / name, b"#!python\n")
    return result


def _remove(target: Path) -> None:
    """Clear ``target`` itself (never what a symlink there points to), as conda does."""
    if os.path.islink(target) or target.is_file():
        os.unlink(target)
    elif target.is_dir():
        shutil.rmtree(target)


@dataclass
class _Linker:
    real_prefix: str
    real_root: str
    result: Installation

    def link(self, source: Path, target: Path, path_type: str) -> None:
        if not os.path.lexists(source):
            return
        if path_type == "softlink" or source.is_symlink():
            link_target = os.readlink(source) if source.is_symlink() else ""
            if not self.parent_ok(target):
                return
            _remove(target)
            os.symlink(link_target, target)
            location = os.path.join(os.path.realpath(target.parent), target.name)
            self.result.written.add(os.path.relpath(location, self.real_prefix))
            if not _inside(os.path.realpath(target), self.real_prefix):
                self.result.escapes.append(f"symlink {target} -> {link_target}")
            return
        if not source.is_dir():
            self.write(target, source.read_bytes())

    def parent_ok(self, target: Path) -> bool:
        parent = os.path.realpath(target.parent)
        if not _inside(parent, self.real_root):
            self.result.escapes.append(f"parent of {target} is {parent}")
            return False
        try:
            os.makedirs(target.parent, exist_ok=True)
        except OSError:
            return False
        parent = os.path.realpath(target.parent)
        if not _inside(parent, self.real_prefix):
            self.result.escapes.append(f"parent of {target} is {parent}")
            return False
        return True

    def write(self, target: Path, data: bytes) -> None:
        if not self.parent_ok(target):
            return
        _remove(target)
        real = os.path.realpath(target)
        if not _inside(real, self.real_prefix):
            self.result.escapes.append(f"{target} is {real}")
            return
        try:
            Path(real).write_bytes(data)
        except OSError:
            return
        self.result.written.add(os.path.relpath(real, self.real_prefix))
