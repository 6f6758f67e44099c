"""Filter files: loading and strictly checking the YAML that says which paths belong to whom."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from artifact_validation.core.errors import FilterError
from artifact_validation.core.fileio import YAML_LOADER, read_yaml
from artifact_validation.core.markdown import shown

_WILD = re.compile(r"[*?\[]")

#: The Python-package generator config lives beside the generated filters but is not a filter.
GENERATOR_CONFIG_NAME = "python_packages.yaml"

#: Default filter directories, relative to the repository root.
DEFAULT_FILTER_DIRS = ("validate_yamls", "generated_validate_yamls")

_KNOWN_KEYS = {"files", "allowed", "exclude_files", "generate_from_artifacts"}
_REQUIRED_KEYS = ("files", "allowed")


@dataclass(frozen=True)
class Filter:
    """A named set of protected globs, the packages allowed to ship them, and exclusions."""

    name: str
    files: tuple[str, ...]
    allowed: tuple[str, ...]
    exclude_files: tuple[str, ...] = ()
    generate_from_artifacts: tuple[str, ...] = ()
    source: str = ""
    #: the filter file as reports name it: ``<directory name>/<file name>`` (empty: not a file)
    file: str = ""

    def line_of(self, glob: str) -> int:
        """The line of ``glob`` under ``files:`` in the filter file (0: unknown).

        Read on demand (violations are rare; loading every filter stays one parse).
        """
        return glob_lines(self.source).get(glob, 0) if self.file else 0

    def to_yaml_dict(self) -> dict[str, list[str]]:
        """The filter as its YAML mapping, keys and lists sorted (deterministic output)."""
        out: dict[str, list[str]] = {
            "allowed": sorted(set(self.allowed)),
            "files": sorted(set(self.files)),
        }
        if self.exclude_files:
            out["exclude_files"] = sorted(set(self.exclude_files))
        if self.generate_from_artifacts:
            out["generate_from_artifacts"] = sorted(set(self.generate_from_artifacts))
        return out


def glob_problem(glob: str) -> str | None:
    """Return why ``glob`` is not a valid filter glob, or None when it is.

    Valid globs are relative, ``/``-separated, with no empty, ``.`` or ``..``
    component, no backslash or NUL, balanced ``[...]`` classes, and ``**`` only
    as a whole component.
    """
    if not glob or glob != glob.strip():
        return "is empty or has leading/trailing white space"
    if "\\" in glob or "\0" in glob:
        return "contains a backslash or NUL (use '/' as separator)"
    if glob.startswith("/"):
        return "is absolute (globs are relative to the install prefix)"
    for part in glob.split("/"):
        if part in ("", ".", ".."):
            return f"has an empty, '.' or '..' component ({shown(part)})"
        if "**" in part and part != "**":
            return f"uses '**' inside a component ({shown(part)}); '**' must stand alone"
        if _unbalanced_brackets(part):
            return f"has an unterminated '[' in {shown(part)}"
        if _WILD.search(part) and not _compiles(part):
            return f"has an invalid character class in {shown(part)} (such as [z-a])"
    return None


def escape_glob(path: str) -> str:
    """A literal path as a glob matching exactly it: ``*``, ``?`` and ``[`` in brackets.

    Leading and trailing white space is bracketed too (a glob may not start or
    end with it): ``lib/foo `` becomes ``lib/foo[ ]``.
    """
    out = "".join(f"[{c}]" if c in "*?[" else c for c in path)
    stripped = out.lstrip()
    lead = out[: len(out) - len(stripped)]
    core = stripped.rstrip()
    trail = stripped[len(core) :]
    return "".join(f"[{c}]" for c in lead) + core + "".join(f"[{c}]" for c in trail)


def _compiles(part: str) -> bool:
    """Whether the glob component translates to a valid regex (``[z-a]`` does not)."""
    # Imported here: the matcher imports this module for ``Filter``.
    from artifact_validation.filters.matcher import component_regex  # noqa: PLC0415

    try:
        re.compile(component_regex(part))
    except re.error:
        return False
    return True


def _unbalanced_brackets(part: str) -> bool:
    i = 0
    while i < len(part):
        if part[i] == "[":
            j = i + 1
            if j < len(part) and part[j] == "!":
                j += 1
            if j < len(part) and part[j] == "]":
                j += 1
            end = part.find("]", j)
            if end == -1:
                return True
            i = end + 1
        else:
            i += 1
    return False


def _string_list(value: Any, where: str, key: str, *, glob: bool) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise FilterError(f"{where}: '{key}' must be a list, not {type(value).__name__}")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise FilterError(f"{where}: '{key}' entries must be strings, got {shown(item)}")
        if glob and (problem := glob_problem(item)) is not None:
            raise FilterError(f"{where}: '{key}' glob {shown(item)} {problem}")
        if not glob and not item.strip():
            raise FilterError(f"{where}: '{key}' has an empty package name")
        out.append(item)
    return tuple(out)


def check_keys(
    data: dict[Any, Any], known: Iterable[str], required: Iterable[str], where: str
) -> None:
    """Raise ``FilterError`` for the first unknown key or missing required key of ``data``."""
    known = set(known)
    unknown = sorted(set(map(str, data)) - known)
    if unknown:
        raise FilterError(
            f"{where}: unknown key {shown(unknown[0])} (known: {', '.join(sorted(known))})"
        )
    for key in required:
        if key not in data:
            raise FilterError(f"{where}: missing required key {key!r}")


def parse_filter(name: str, data: Any, where: str) -> Filter:
    """Check one filter mapping strictly; raise ``FilterError`` naming the file and the key."""
    if not isinstance(data, dict):
        raise FilterError(f"{where}: a filter must be a mapping with 'files' and 'allowed'")
    check_keys(data, _KNOWN_KEYS, _REQUIRED_KEYS, where)
    files = _string_list(data["files"], where, "files", glob=True)
    if not files:
        raise FilterError(f"{where}: 'files' must not be empty")
    return Filter(
        name=name,
        files=files,
        allowed=_string_list(data["allowed"], where, "allowed", glob=False),
        exclude_files=_string_list(
            data.get("exclude_files", []), where, "exclude_files", glob=True
        ),
        generate_from_artifacts=_string_list(
            data.get("generate_from_artifacts", []), where, "generate_from_artifacts", glob=False
        ),
        source=where,
    )


def load_filter_file(path: Path) -> Filter:
    """Load and check one ``<name>.yaml`` filter file."""
    data = read_yaml(path, FilterError, "filter file")
    flt = parse_filter(path.name.removesuffix(".yaml"), data, str(path))
    return replace(flt, file=f"{path.parent.name}/{path.name}" if path.parent.name else path.name)


def glob_lines(path: str) -> dict[str, int]:
    """Each glob under the top-level ``files:`` of filter file ``path`` -> its (1-based) line.

    Empty when the file cannot be read or composed (the line is a courtesy, never an error).
    Cached per file version (path, modification time and size).
    """
    try:
        stat = os.stat(path)
    except OSError:
        return {}
    return _glob_lines(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _glob_lines(path: str, mtime_ns: int, size: int) -> dict[str, int]:
    del mtime_ns, size  # the cache key only
    try:
        node = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    out: dict[str, int] = {}
    for key, value in node.value:
        if key.value == "files" and isinstance(value, yaml.SequenceNode):
            for item in value.value:
                if isinstance(item, yaml.ScalarNode):
                    out.setdefault(item.value, item.start_mark.line + 1)
    return out


def filter_paths(dirs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The filter files in ``dirs`` (``*.yaml`` but the generator config), sorted per dir."""
    paths: list[Path] = []
    for d in dirs:
        directory = Path(d)
        if not directory.is_dir():
            raise FilterError(f"{directory}: filter directory does not exist")
        paths.extend(p for p in sorted(directory.glob("*.yaml")) if p.name != GENERATOR_CONFIG_NAME)
    return paths


def load_filters(dirs: Sequence[str | os.PathLike[str]]) -> list[Filter]:
    """Load every filter in ``dirs``; two filters with one name are an error.

    Raises ``FilterError`` (exit 2) on the first problem: nothing is validated
    with a partial filter set.
    """
    seen: dict[str, str] = {}
    filters = []
    for path in filter_paths(dirs):
        flt = load_filter_file(path)
        if flt.name in seen:
            raise FilterError(
                f"{path}: filter name {flt.name!r} is already defined by {seen[flt.name]}"
            )
        seen[flt.name] = str(path)
        filters.append(flt)
    if not filters:
        raise FilterError(f"no filter files found in {', '.join(map(str, dirs))}")
    return filters


def dump_filter(flt: Filter) -> str:
    """Serialize a filter deterministically (sorted keys and lists)."""
    return yaml.safe_dump(flt.to_yaml_dict(), default_flow_style=False, sort_keys=True)
