"""Generation: every generated filter built from its inputs through the precision rules.

A pure function of its inputs (plus the file-list source): the same inputs
always give byte-identical filter files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from artifact_validation.core.errors import UsageError
from artifact_validation.filters.files import Filter, glob_problem
from artifact_validation.filters.generate.config import (
    GENERATED_SUFFIX,
    PYTHON_SUFFIX,
    PythonPackage,
)
from artifact_validation.filters.generate.rules import (
    JUNK_EXCLUDES,
    MIN_SHARE,
    generalize,
    junk_reason,
    majority_paths,
    minimize,
    protects_shared_directory,
    python_globs,
)
from artifact_validation.filters.generate.sources import FileListSource
from artifact_validation.filters.matcher import glob_to_regex


class Rule(StrEnum):
    """The precision rule that kept a glob out of a generated filter."""

    JUNK = "junk"
    MINORITY = "minority"
    SHARED_DIRECTORY = "shared directory"
    EXCLUDED = "excluded"
    #: a path no glob can spell (a backslash, an empty or ``..`` component)
    INVALID_GLOB = "invalid glob"


@dataclass(frozen=True)
class Dropped:
    """A glob the precision rules kept out of a generated filter, and which rule did."""

    filter: str
    glob: str
    rule: Rule


@dataclass
class Generation:
    """The generated filters and everything the rules dropped on the way."""

    filters: list[Filter] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    no_file_lists: list[str] = field(default_factory=list)


def _excluded(glob: str, excludes: Sequence[re.Pattern[str]]) -> bool:
    return any(rx.match(glob + "/") for rx in excludes)


@dataclass
class _Spec:
    name: str
    allowed: tuple[str, ...]
    owners: tuple[str, ...] = ()
    python: PythonPackage | None = None
    imported: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    required: bool = False
    where: str = ""
    #: Globs of the hand-written filter this one extends: what they protect is not repeated.
    covering: tuple[str, ...] = ()


def _specs(
    hand_written: Sequence[Filter], python: Sequence[PythonPackage], imported: Sequence[Filter]
) -> list[_Spec]:
    specs: dict[str, _Spec] = {}
    for flt in hand_written:
        if flt.generate_from_artifacts:
            name = flt.name + GENERATED_SUFFIX
            specs[name] = _Spec(
                name,
                flt.allowed,
                flt.generate_from_artifacts,
                required=True,
                where=flt.source,
                # Same owners: a path both protect would be reported twice. With excludes
                # the hand-written filter does not cover everything, so repeat it all.
                covering=() if flt.exclude_files else flt.files,
            )
    for pkg in python:
        name = pkg.name + PYTHON_SUFFIX
        specs[name] = _Spec(
            name, (pkg.name, *pkg.allowed), (pkg.name,), pkg, excludes=pkg.exclude_files
        )
    for flt in imported:
        spec = specs.setdefault(flt.name, _Spec(flt.name, flt.allowed))
        spec.imported += flt.files
        spec.excludes += flt.exclude_files
    return [specs[k] for k in sorted(specs)]


def generate(
    hand_written: Sequence[Filter],
    python: Sequence[PythonPackage],
    source: FileListSource | None = None,
    imported: Sequence[Filter] = (),
    min_share: float = MIN_SHARE,
) -> Generation:
    """Build every generated filter from its inputs through the precision rules.

    - hand-written filters with ``generate_from_artifacts`` give
      ``<name>.generated``: the owners' paths, allowed as the hand-written filter;
    - ``python_packages.yaml`` entries give ``<name>.python.generated``: the
      site-packages globs plus the owner's other paths (entry points, ``.pth``);
    - ``imported`` filters are merged into the filter of the same name (or
      kept on their own) through the same rules.

    Raises ``UsageError`` when a hand-written filter's owners have no file
    list in ``source`` and nothing was imported for it: its protection would
    silently vanish.
    """
    result = Generation()
    for spec in _specs(hand_written, python, imported):
        file_lists = (
            [fl for owner in spec.owners for fl in source.file_lists(owner)] if source else []
        )
        if spec.owners and not file_lists:
            if spec.required and not spec.imported:
                raise UsageError(
                    f"{spec.where}: no file lists of {', '.join(spec.owners)} in "
                    f"{source.describe() if source else 'any source'} and nothing imported; "
                    f"refusing to drop {spec.name}.yaml (give --file-lists, --channel or --import)"
                )
            if source is not None:
                result.no_file_lists.append(spec.name)
        drop = result.dropped.append
        kept, minority = majority_paths(file_lists, min_share)
        candidates = kept | {generalize(g) for g in spec.imported}
        for path in sorted(minority - candidates):
            drop(Dropped(spec.name, path, Rule.JUNK if junk_reason(path) else Rule.MINORITY))
        if spec.python is not None:
            all_paths = (p for fl in file_lists for p in fl.paths)
            candidates |= set(python_globs(spec.python, all_paths))
        excludes = [glob_to_regex(g) for g in spec.excludes]
        files = []
        for glob in sorted(candidates):
            if glob_problem(glob) is not None:
                drop(Dropped(spec.name, glob, Rule.INVALID_GLOB))
            elif junk_reason(glob):
                drop(Dropped(spec.name, glob, Rule.JUNK))
            elif protects_shared_directory(glob):
                drop(Dropped(spec.name, glob, Rule.SHARED_DIRECTORY))
            elif _excluded(glob, excludes):
                drop(Dropped(spec.name, glob, Rule.EXCLUDED))
            else:
                files.append(glob)
        files = minimize(files, spec.covering)
        if not files:
            # Only junk, or nothing the hand-written filter does not already protect.
            continue
        result.filters.append(
            Filter(
                name=spec.name,
                files=tuple(files),
                allowed=tuple(sorted(set(spec.allowed))),
                exclude_files=tuple(sorted(set(spec.excludes) | set(JUNK_EXCLUDES))),
            )
        )
    return result
