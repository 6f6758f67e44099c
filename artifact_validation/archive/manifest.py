"""``info/paths.json`` and ``info/files``: the one parser of each, strict or lenient.

Strict (the validator, AV605): every entry is checked and a problem is
returned, never raised. Lenient (the scan and the filter generator, which
need only the paths): only ``_path`` is required.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from artifact_validation.core.errors import describe


class PathType(StrEnum):
    """``path_type`` of a paths.json entry (what conda does with the path when linking)."""

    HARDLINK = "hardlink"
    SOFTLINK = "softlink"
    DIRECTORY = "directory"


_PATH_TYPES = {t.value: t for t in PathType}


class PathEntry(NamedTuple):
    """One ``info/paths.json`` entry, kept small: a package may list 100,000 paths."""

    path: str
    path_type: PathType
    size: int | None
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """A parsed paths.json: entries by path (None when absent or unusable) and the problem."""

    entries: dict[str, PathEntry] | None = field(default=None, hash=False)
    problem: str = ""

    def paths(self) -> tuple[str, ...]:
        """The listed paths, in the file's order."""
        return tuple(self.entries or ())


def _entry_problem(entry: Any, lenient: bool) -> str:
    if not isinstance(entry, dict) or not isinstance(entry.get("_path"), str) or not entry["_path"]:
        return "must be an object with a non-empty '_path' string"
    if lenient:
        return ""
    if entry.get("path_type", "hardlink") not in _PATH_TYPES:
        return f"has an unknown path_type {str(entry.get('path_type'))[:50]!r}"
    size = entry.get("size_in_bytes")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        return "has a 'size_in_bytes' that is not a non-negative integer"
    if entry.get("sha256") is not None and not isinstance(entry["sha256"], str):
        return "has a 'sha256' that is not a string"
    return ""


def parse_manifest(
    data: bytes,
    *,
    keep_sha256: bool = True,
    lenient: bool = False,
    canonical: Callable[[str], str] | None = None,
) -> Manifest:
    """Parse the bytes of info/paths.json into a ``Manifest`` (``problem`` set when unusable).

    Each entry object becomes a small ``PathEntry`` as soon as it is decoded,
    so 100,000 dicts never exist at once; ``keep_sha256`` False drops the
    hashes (only ``--deep`` compares them). ``canonical`` maps each ``_path``
    to the spelling member names use (the validator drops ``./``); ``lenient``
    checks nothing but ``_path`` and keeps unknown path types as hardlinks.
    """
    fix = canonical or (lambda p: p)

    def entry(obj: dict[str, Any]) -> Any:
        if "_path" not in obj:
            return obj
        problem = _entry_problem(obj, lenient)
        if problem:
            return (None, problem)  # JSON never decodes to a tuple: tuples are ours
        sha256 = str(obj.get("sha256") or "").lower() if keep_sha256 else ""
        path_type = _PATH_TYPES.get(obj.get("path_type", "hardlink"), PathType.HARDLINK)
        size = obj.get("size_in_bytes") if not lenient else None
        path = fix(obj["_path"])
        return (path, PathEntry(path, path_type, size, sha256))

    try:
        doc = json.loads(data, object_hook=entry)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return Manifest(None, f"not valid JSON: {describe(exc, 200)}")
    paths = doc.get("paths") if isinstance(doc, dict) else None
    if not isinstance(paths, list):
        return Manifest(None, "must be an object with a 'paths' list")
    out: dict[str, PathEntry] = {}
    for i, item in enumerate(paths):
        if not isinstance(item, tuple):
            return Manifest(None, f"paths[{i}] must be an object with a non-empty '_path' string")
        path, parsed = item
        if path is None:
            return Manifest(None, f"paths[{i}] {parsed}")
        out[path] = parsed
    return Manifest(out)


def parse_files(data: bytes) -> tuple[str, ...]:
    """The paths of ``info/files`` (one per line); ``ValueError`` when it is not UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"info/files is not UTF-8: {describe(exc, 200)}") from exc
    return tuple(line for line in text.split("\n") if line.strip("\r"))
