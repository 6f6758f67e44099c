"""The generator's inputs besides file lists: ``python_packages.yaml`` and imported filters."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from artifact_validation.core.conda import is_package_name
from artifact_validation.core.errors import FilterError
from artifact_validation.core.fileio import read_yaml
from artifact_validation.core.markdown import shown
from artifact_validation.filters.files import Filter, check_keys, glob_problem, load_filters

#: Suffix of filters made from a hand-written filter's ``generate_from_artifacts``.
GENERATED_SUFFIX = ".generated"
#: Suffix of filters made from ``python_packages.yaml``.
PYTHON_SUFFIX = ".python.generated"


@dataclass(frozen=True)
class PythonPackage:
    """One entry of ``python_packages.yaml``: a conda package and its top-level imports."""

    name: str
    top_level_imports: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    exclude_files: tuple[str, ...] = ()


_CONFIG_KEYS = {"top_level_imports", "allowed", "exclude_files"}


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise FilterError(f"{where} must be a list of non-empty strings")
    return tuple(value)


def parse_python_config(data: Any, where: str) -> list[PythonPackage]:
    """Check a decoded ``python_packages.yaml`` strictly; errors name the file and the key."""
    if data is None:
        return []
    if not isinstance(data, dict):
        raise FilterError(f"{where}: must map conda package names to their settings")
    out = []
    for name, entry in sorted(data.items(), key=lambda kv: str(kv[0])):
        here = f"{where}: {shown(name)}"
        if not isinstance(name, str) or not is_package_name(name):
            raise FilterError(f"{here} is not a valid conda package name")
        if not isinstance(entry, dict):
            raise FilterError(f"{here} must be a mapping with 'top_level_imports'")
        check_keys(entry, _CONFIG_KEYS, ("top_level_imports",), here)
        imports = _str_list(entry["top_level_imports"], f"{here}: 'top_level_imports'")
        if not imports:
            raise FilterError(f"{here}: 'top_level_imports' must not be empty")
        for imp in imports:
            if not imp.isidentifier():
                raise FilterError(
                    f"{here}: 'top_level_imports' entry {shown(imp)} is not an import"
                )
        excludes = _str_list(entry.get("exclude_files", []), f"{here}: 'exclude_files'")
        for glob in excludes:
            if (problem := glob_problem(glob)) is not None:
                raise FilterError(f"{here}: 'exclude_files' glob {shown(glob)} {problem}")
        allowed = _str_list(entry.get("allowed", []), f"{here}: 'allowed'")
        out.append(PythonPackage(name, imports, allowed, excludes))
    return out


def load_python_config(path: str | os.PathLike[str]) -> list[PythonPackage]:
    """Read the Python-package generator config (``python_packages.yaml``)."""
    data = read_yaml(path, FilterError, "generator config")
    return parse_python_config(data, os.fspath(path))


def load_imported(directory: str | os.PathLike[str]) -> list[Filter]:
    """Load another validator's generated filters (``*.generated.yaml``) for ``--import``."""
    filters = load_filters([directory])
    for flt in filters:
        if not flt.name.endswith(GENERATED_SUFFIX):
            raise FilterError(
                f"{flt.source}: imported filters must be named '<name>.generated.yaml' or "
                "'<name>.python.generated.yaml'"
            )
    return filters
