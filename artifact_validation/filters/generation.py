"""Generating filters: owners' file lists, python_packages.yaml and imports, by precision rules."""

# Everything here is a pure function of its inputs (plus the file-list source), so
# the same inputs always give byte-identical filter files. The precision rules
# (README "Generated filters") decide what a generated filter may protect: never
# junk, never a shared directory, never a path its owner ships in only a minority
# of its artifacts.

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from artifact_validation.core.fileio import write_if_changed
from artifact_validation.channel.channel import name_of_stem
from artifact_validation.core.errors import FilterError, UsageError
from artifact_validation.core.filelist import FileList, load_file_list
from artifact_validation.filters.files import (
    YAML_LOADER,
    Filter,
    check_keys,
    dump_filter,
    glob_problem,
    load_filters,
    valid_filter_name,
)
from artifact_validation.filters.matcher import component_regex, glob_to_regex

#: Suffix of filters made from a hand-written filter's ``generate_from_artifacts``.
GENERATED_SUFFIX = ".generated"
#: Suffix of filters made from ``python_packages.yaml``.
PYTHON_SUFFIX = ".python.generated"

#: Junk rule: path components that are never an owner's own entry (byte code caches, Finder).
JUNK_COMPONENTS = ("__pycache__", ".DS_Store")
#: Junk rule: file suffixes of accidental leftovers (backups, byte code, patch residue).
#: ``bin/python3.10.bak`` in PyYAML's artifacts made the earlier validator flag 698 artifacts.
JUNK_SUFFIXES = (".bak", ".pyc", ".orig", ".rej")
#: Junk rule for wildcard globs: every generated filter excludes junk, so no glob protects it.
JUNK_EXCLUDES = tuple(f"**/{c}" for c in JUNK_COMPONENTS) + tuple(f"**/*{s}" for s in JUNK_SUFFIXES)

#: Minority rule: a path is kept when at least this share of an owner's artifacts of one
#: subdir ship it (subdirs are compared apart: Windows and unix layouts never overlap).
MIN_SHARE = 0.5

#: Site-packages layouts: unix CPython, unix PyPy, Windows, and noarch python (relocated by conda).
SITE_PACKAGES_LAYOUTS = (
    "lib/python*/site-packages",
    "lib/pypy*/site-packages",
    "Lib/site-packages",
    "site-packages",
)

#: Shared-directory rule: directories many packages install into. A generated glob that
#: matches one of them (or a parent of one) would protect every package's files below it.
SHARED_DIRECTORIES = (
    # unix prefixes
    "bin", "sbin", "lib", "lib64", "libexec", "include", "share", "etc", "var", "man", "doc",
    "ssl", "ssl/certs", "lib/pkgconfig", "lib/cmake", "share/pkgconfig", "share/man",
    "share/man/man*", "share/doc", "share/licenses", "share/info", "share/locale",
    "share/aclocal", "share/applications", "share/icons", "share/jupyter", "share/zoneinfo",
    "etc/conda", "etc/conda/activate.d", "etc/conda/deactivate.d", "etc/conda/env_vars.d",
    "lib/python*", "lib/python*/site-packages", "lib/python*/lib-dynload",
    "lib/pypy*", "lib/pypy*/site-packages", "conda-meta", "Menu",
    # noarch python
    "site-packages", "python-scripts",
    # Windows
    "Lib", "Lib/site-packages", "Scripts", "DLLs", "Library", "Library/bin", "Library/lib",
    "Library/include", "Library/share", "Library/etc", "Library/ssl", "Library/lib/pkgconfig",
    "Library/lib/cmake", "Library/share/man", "Library/share/doc", "Library/mingw-w64",
    "Library/mingw-w64/bin", "Library/mingw-w64/lib", "Library/usr", "Library/usr/bin",
    "Library/usr/lib",
)  # fmt: skip

#: Stand-in for a wildcard when turning a shared-directory pattern into an example path.
_SAMPLE = "3.11"

_VERSIONED_PYTHON_DIR = re.compile(r"^lib/(python|pypy)\d+\.\d+t?/")
_DIST_ENTRY = re.compile(
    r"^(?:lib/(?:python|pypy)[^/]*/site-packages|Lib/site-packages|site-packages)/"
    r"([^/]+?)-[^/]*\.(?:dist-info|egg-info|egg)(?:/|$)"
)
_WILD = re.compile(r"[*?\[]")


# --------------------------------------------------------------------------- config


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
        here = f"{where}: {name!r}"
        if not isinstance(name, str) or not valid_filter_name(name):
            raise FilterError(f"{here} is not a valid conda package name")
        if not isinstance(entry, dict):
            raise FilterError(f"{here} must be a mapping with 'top_level_imports'")
        check_keys(entry, _CONFIG_KEYS, ("top_level_imports",), here)
        imports = _str_list(entry["top_level_imports"], f"{here}: 'top_level_imports'")
        if not imports:
            raise FilterError(f"{here}: 'top_level_imports' must not be empty")
        for imp in imports:
            if not imp.isidentifier():
                raise FilterError(f"{here}: 'top_level_imports' entry {imp!r} is not an import")
        excludes = _str_list(entry.get("exclude_files", []), f"{here}: 'exclude_files'")
        for glob in excludes:
            if (problem := glob_problem(glob)) is not None:
                raise FilterError(f"{here}: 'exclude_files' glob {glob!r} {problem}")
        allowed = _str_list(entry.get("allowed", []), f"{here}: 'allowed'")
        out.append(PythonPackage(name, imports, allowed, excludes))
    return out


def load_python_config(path: str | Path) -> list[PythonPackage]:
    """Read the Python-package generator config (``python_packages.yaml``)."""
    where = str(path)
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=YAML_LOADER)  # noqa: S506
    except (OSError, UnicodeDecodeError) as exc:
        raise FilterError(f"{where}: cannot read generator config: {exc}") from exc
    except yaml.YAMLError as exc:
        raise FilterError(f"{where}: not valid YAML: {exc}") from exc
    return parse_python_config(data, where)


def load_imported(directory: str | Path) -> list[Filter]:
    """Load another validator's generated filters (``*.generated.yaml``) for ``--import``."""
    filters = load_filters([directory])
    for flt in filters:
        if not flt.name.endswith(GENERATED_SUFFIX):
            raise FilterError(
                f"{flt.source}: imported filters must be named '<name>.generated.yaml' or "
                "'<name>.python.generated.yaml'"
            )
    return filters


# --------------------------------------------------------------------------- sources


class FileListSource(Protocol):
    """Where owners' file lists come from: a directory now, a live channel in production."""

    def describe(self) -> str:
        """A short human name of the source, for the summary."""
        ...

    def file_lists(self, name: str) -> list[FileList]:
        """Every file list of package ``name`` the source holds (empty when none)."""
        ...


class DirectorySource:
    """File lists on disk, libcfgraph layout or flat.

    ``DIR/artifacts/<name>/<channel>/<subdir>/<stem>.json`` (libcfgraph) or
    ``DIR/<subdir>/<stem>.json`` (flat, ``<stem>`` = ``<name>-<version>-<build>``).
    Each file's ``index.name`` must agree with where it was found.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise UsageError(f"{self.root}: file-list directory does not exist")
        self.libcfgraph = (self.root / "artifacts").is_dir()
        self._by_name: dict[str, list[Path]] | None = None

    def describe(self) -> str:
        """The directory and its layout."""
        return f"{self.root} ({'libcfgraph' if self.libcfgraph else 'flat'} layout)"

    def _index(self) -> dict[str, list[Path]]:
        if self._by_name is None:
            by_name: dict[str, list[Path]] = defaultdict(list)
            if self.libcfgraph:
                for path in (self.root / "artifacts").glob("*/*/*/*.json"):
                    by_name[path.relative_to(self.root).parts[1]].append(path)
            else:
                for path in self.root.glob("*/*.json"):
                    if path.stem.count("-") >= 2:  # <name>-<version>-<build>
                        by_name[name_of_stem(path.stem)].append(path)
            if not by_name:
                raise UsageError(f"{self.root}: no file lists (*.json) found")
            self._by_name = {k: sorted(v) for k, v in by_name.items()}
        return self._by_name

    def file_lists(self, name: str) -> list[FileList]:
        """Load the file lists of ``name``; a file whose index names another package is an error."""
        out = []
        for path in self._index().get(name, []):
            fl = load_file_list(path)
            if fl.name != name:
                raise UsageError(f"{path}: index.name is {fl.name!r}, but the path says {name!r}")
            out.append(fl)
        return out


def owner_names(hand_written: Sequence[Filter], python: Sequence[PythonPackage]) -> list[str]:
    """Every package whose file lists the generator reads (a channel source needs them first)."""
    names = {n for flt in hand_written for n in flt.generate_from_artifacts}
    return sorted(names | {pkg.name for pkg in python})


class CombinedSource:
    """Several sources read as one (their file lists are concatenated)."""

    def __init__(self, sources: Sequence[FileListSource]) -> None:
        self.sources = tuple(sources)

    def describe(self) -> str:
        """The sources, comma-separated."""
        return ", ".join(s.describe() for s in self.sources)

    def file_lists(self, name: str) -> list[FileList]:
        """The file lists of ``name`` from every source."""
        return [fl for s in self.sources for fl in s.file_lists(name)]


# --------------------------------------------------------------------------- precision rules


def junk_reason(glob: str) -> str | None:
    """Why ``glob`` names junk (``'*.bak'``, ``'__pycache__/'``, ...), or None when it does not."""
    parts = glob.split("/")
    for part in parts:
        if part in JUNK_COMPONENTS:
            return f"{part}/" if part != parts[-1] else part
    for suffix in JUNK_SUFFIXES:
        if parts[-1].endswith(suffix):
            return f"*{suffix}"
    return None


def _prefixes(pattern: str) -> list[str]:
    parts = pattern.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


_SHARED_PATTERNS = tuple(sorted({p for d in SHARED_DIRECTORIES for p in _prefixes(d)}))
_SHARED_RXS = tuple(glob_to_regex(p, fold=True) for p in _SHARED_PATTERNS)
_SHARED_EXAMPLES = tuple(sorted({p.replace("*", _SAMPLE) for p in _SHARED_PATTERNS}))


def protects_shared_directory(glob: str) -> bool:
    """Whether ``glob`` matches a shared directory (``lib/``, ``bin/``, a site-packages, ...).

    Such a glob would protect every package's files below that directory, so
    it is never generated. Compared case-insensitively (the stricter case).
    """
    if _WILD.search(glob) is None:
        return any(rx.fullmatch(glob + "/") for rx in _SHARED_RXS)
    rx = glob_to_regex(glob, fold=True)
    return any(rx.match(example + "/") for example in _SHARED_EXAMPLES)


def generalize(path: str) -> str:
    """Replace a versioned Python directory by a wildcard: ``lib/python3.10/`` -> ``lib/python*/``.

    Builds for each Python version ship the same file under their own
    directory; counted as one path, it is neither a minority nor repeated.
    """
    return _VERSIONED_PYTHON_DIR.sub(lambda m: f"lib/{m.group(1)}*/", path)


def _component_covers(h: str, g: str) -> bool:
    if h in (g, "*"):
        return True
    if _WILD.search(g) is not None:
        return False
    return re.fullmatch(component_regex(h), g) is not None


def _covers(h: Sequence[str], g: Sequence[str]) -> bool:
    """Whether glob ``h`` protects every path glob ``g`` protects (a sound, partial test)."""
    if not h:
        return True  # h matched a parent of everything g matches
    if h[0] == "**":
        return _covers(h[1:], g) or (bool(g) and _covers(h, g[1:]))
    if not g or g[0] == "**":
        return False
    return _component_covers(h[0], g[0]) and _covers(h[1:], g[1:])


def minimize(globs: Iterable[str], covering: Iterable[str] = ()) -> list[str]:
    """Drop each glob that another glob of the set (or of ``covering``) already protects.

    ``lib/x/**/*`` goes when ``lib/x`` is there, an exact path when a glob
    covers it. Dropping them changes nothing the filter flags. Returns the
    remaining globs of ``globs`` sorted (``covering`` globs are never returned).
    """
    unique = sorted(set(globs))
    extra = set(covering)
    literal = {g for g in (*unique, *extra) if _WILD.search(g) is None}
    wild = [(g, g.split("/")) for g in sorted({*unique, *extra} - literal)]
    keep = []
    for glob in unique:
        parts = glob.split("/")
        if glob in extra or any("/".join(parts[:i]) in literal for i in range(1, len(parts))):
            continue
        covered = False
        for other, other_parts in wild:
            if other != glob and _covers(other_parts, parts):
                # Two globs of the set that cover each other: keep the smaller one.
                mutual = other not in extra and _covers(parts, other_parts) and glob < other
                if not mutual:
                    covered = True
                    break
        if not covered:
            keep.append(glob)
    return keep


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class Dropped:
    """A glob the precision rules kept out of a generated filter, and which rule did."""

    filter: str
    glob: str
    rule: str


@dataclass
class Generation:
    """The generated filters and everything the rules dropped on the way."""

    filters: list[Filter] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    no_file_lists: list[str] = field(default_factory=list)


def majority_paths(
    file_lists: Sequence[FileList], min_share: float = MIN_SHARE
) -> tuple[set[str], set[str]]:
    """Split the owners' (generalized) paths into (kept, minority).

    Artifacts are grouped by package and subdir; a path is kept when, in some
    group, at least ``min_share`` of the artifacts ship it.
    """
    groups: dict[tuple[str, str], list[FileList]] = defaultdict(list)
    for fl in file_lists:
        groups[(fl.name, fl.subdir)].append(fl)
    kept: set[str] = set()
    seen: set[str] = set()
    for members in groups.values():
        counts: Counter[str] = Counter()
        for fl in members:
            counts.update({generalize(p) for p in fl.paths})
        seen.update(counts)
        kept.update(p for p, n in counts.items() if n >= min_share * len(members))
    return kept, seen - kept


def _dist_key(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def python_globs(pkg: PythonPackage, paths: Iterable[str] = ()) -> list[str]:
    """The site-packages globs of ``pkg`` for every layout (package, module and metadata).

    Metadata globs (``<dist>-*.dist-info``, ``*.egg-info``, ``*.egg``) use the
    import names, the conda name, and the spellings the owner's own ``paths``
    use (``Click-7.0-py2.7.egg-info``), so case-sensitive layouts match too.
    """
    known = {_dist_key(n) for n in (*pkg.top_level_imports, pkg.name)}
    dists = set(pkg.top_level_imports) | {pkg.name.replace("-", "_")}
    for path in paths:
        m = _DIST_ENTRY.match(path)
        if m and _dist_key(m.group(1)) in known:
            dists.add(m.group(1))
    out = []
    for layout in SITE_PACKAGES_LAYOUTS:
        for imp in pkg.top_level_imports:
            out += [f"{layout}/{imp}", f"{layout}/{imp}.*"]
        for dist in dists:
            out += [f"{layout}/{dist}-*.{kind}" for kind in ("dist-info", "egg-info", "egg")]
    return sorted(out)


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
            drop(Dropped(spec.name, path, "junk" if junk_reason(path) else "minority"))
        if spec.python is not None:
            all_paths = (p for fl in file_lists for p in fl.paths)
            candidates |= set(python_globs(spec.python, all_paths))
        excludes = [glob_to_regex(g) for g in spec.excludes]
        files = []
        for glob in sorted(candidates):
            if junk_reason(glob):
                drop(Dropped(spec.name, glob, "junk"))
            elif protects_shared_directory(glob):
                drop(Dropped(spec.name, glob, "shared directory"))
            elif _excluded(glob, excludes):
                drop(Dropped(spec.name, glob, "excluded"))
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


# --------------------------------------------------------------------------- output

#: First line of every generated filter file.
HEADER = (
    "# Generated by update_filters.py: do not edit. Change validate_yamls/ or\n"
    "# generated_validate_yamls/python_packages.yaml and rerun it.\n"
)


def render_filter(flt: Filter) -> str:
    """The text of a generated filter file (deterministic: sorted keys and lists)."""
    return HEADER + dump_filter(flt)


@dataclass(frozen=True)
class Change:
    """What happened to one generated file: added, changed, removed or unchanged."""

    name: str
    kind: str
    added: int = 0
    removed: int = 0


def _old_files(path: Path) -> set[str]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)  # noqa: S506
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return set()
    files = data.get("files") if isinstance(data, dict) else None
    return {f for f in files if isinstance(f, str)} if isinstance(files, list) else set()


def write_generated(
    filters: Sequence[Filter], output: str | Path, *, dry_run: bool = False
) -> list[Change]:
    """Write each filter to ``output/<name>.yaml`` atomically, only when its text changes.

    Generated files (``*.generated.yaml``) that ``filters`` no longer contains
    are removed; other files (``python_packages.yaml``) are never touched.
    With ``dry_run`` nothing is written: the changes that would be made are returned.
    """
    out_dir = Path(output)
    changes = []
    names = {flt.name for flt in filters}
    for flt in sorted(filters, key=lambda f: f.name):
        path = out_dir / f"{flt.name}.yaml"
        text = render_filter(flt)
        old_text = path.read_text(encoding="utf-8") if path.is_file() else None
        if old_text == text:
            changes.append(Change(flt.name, "unchanged"))
            continue
        old = _old_files(path) if old_text is not None else set()
        new = set(flt.files)
        kind = "changed" if old_text is not None else "added"
        changes.append(Change(flt.name, kind, len(new - old), len(old - new)))
        if not dry_run:
            write_if_changed(path, text)
    stale = sorted(out_dir.glob(f"*{GENERATED_SUFFIX}.yaml")) if out_dir.is_dir() else []
    for path in stale:
        name = path.name.removesuffix(".yaml")
        if name not in names:
            changes.append(Change(name, "removed", 0, len(_old_files(path))))
            if not dry_run:
                path.unlink()
    return sorted(changes, key=lambda c: c.name)


#: How many dropped globs the summary names per rule before counting the rest.
MAX_DROPPED_SHOWN = 5


def render_summary(
    changes: Sequence[Change], generation: Generation, output: str | Path, *, dry_run: bool = False
) -> str:
    """The human summary of a run: what changed per file and what each rule dropped."""
    counts: Mapping[str, int] = Counter(c.kind for c in changes)
    verb = "would change" if dry_run else "changed"
    lines = [
        f"update_filters: {output}: {counts.get('added', 0)} added, "
        f"{counts.get('changed', 0)} changed, {counts.get('removed', 0)} removed, "
        f"{counts.get('unchanged', 0)} unchanged"
        + (f" ({verb})" if dry_run and len(changes) != counts.get("unchanged", 0) else "")
    ]
    marks = {"added": "+", "changed": "~", "removed": "-"}
    for c in changes:
        if c.kind != "unchanged":
            lines.append(
                f"  {marks[c.kind]} {c.name}.yaml: {c.kind}, +{c.added} -{c.removed} globs"
            )
    by_rule: dict[str, list[Dropped]] = defaultdict(list)
    for d in generation.dropped:
        by_rule[d.rule].append(d)
    for rule in sorted(by_rule):
        items = by_rule[rule]
        lines.append(f"  dropped ({rule}): {len(items)} globs")
        for d in items[:MAX_DROPPED_SHOWN]:
            lines.append(f"    {d.filter}: {d.glob}")
        if len(items) > MAX_DROPPED_SHOWN:
            lines.append(f"    ... and {len(items) - MAX_DROPPED_SHOWN} more")
    if generation.no_file_lists:
        lines.append(
            "  no owner file lists for (site-packages globs and imports only): "
            + ", ".join(generation.no_file_lists)
        )
    return "\n".join(lines) + "\n"
