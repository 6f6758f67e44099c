"""The precision rules: pure functions deciding what a generated filter may protect.

Never junk, never a shared directory, never a path its owner ships in only a
minority of its artifacts; versioned Python directories are generalized, and
globs another glob already covers are dropped (docs/filters.md "Generated filters").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from artifact_validation.core.filelist import FileList
from artifact_validation.filters.files import escape_glob
from artifact_validation.filters.generate.config import PythonPackage
from artifact_validation.filters.matcher import component_regex, glob_to_regex

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


def majority_paths(
    file_lists: Sequence[FileList], min_share: float = MIN_SHARE
) -> tuple[set[str], set[str]]:
    """Split the owners' paths, as globs matching each literally (``escape_glob``) and
    generalized, into (kept, minority).

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
            counts.update({generalize(escape_glob(p)) for p in fl.paths})
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
