"""The finding checks, one function per code, and the verdict they make together.

Each ``check_AVnnn`` is a pure function of the frozen ``ArchiveContents`` and
what the caller ``Expected``; its docstring starts with the code and states
its scope. Path safety (AV5xx) lives in ``pathchecks``.
"""

from __future__ import annotations

from collections.abc import Callable

from artifact_validation.archive.install import install_images
from artifact_validation.archive.manifest import PathType
from artifact_validation.archive.model import (
    INDEX_JSON,
    LINK_JSON,
    PATHS_JSON,
    ArchiveContents,
    Expected,
    Member,
    MemberKind,
    canonical,
    fold_subdir,
    is_info,
)
from artifact_validation.archive.pathchecks import (
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
    check_AV513,
    check_AV514,
    check_AV515,
    check_AV516,
    check_AV517,
)
from artifact_validation.archive.verdict import Verdict
from artifact_validation.core.conda import name_of_stem, split_stem
from artifact_validation.core.findings import Code, Finding, examples, findings_of
from artifact_validation.core.markdown import display_path
from artifact_validation.filters.matcher import Violation

#: A finding check: what it found in ``(contents, expected)`` (AV201 returns violations).
Check = Callable[[ArchiveContents, Expected], list[Finding]]


def check_AV101(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV101: the md5 of the archive bytes differs from the expected one (``--md5``, payload)."""
    if expected.md5 and contents.md5 != expected.md5:
        return findings_of(Code.AV101, detail=f"expected {expected.md5}, got {contents.md5}")
    return []


def check_AV102(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV102: the sha256 of the archive bytes differs from the expected one (``--sha256``)."""
    if expected.sha256 and contents.sha256 != expected.sha256:
        return findings_of(Code.AV102, detail=f"expected {expected.sha256}, got {contents.sha256}")
    return []


def check_AV201(contents: ArchiveContents, expected: Expected) -> list[Violation]:
    """AV201: every path installing the artifact creates goes through the filters' matcher.

    The members as named (case-insensitively when the artifact claims or is
    published to a ``win-*`` or ``osx-*`` subdir), then each install image
    (``install.install_images``): paths resolved through the archive's own
    symlinks, noarch python relocation and entry points, and for noarch every
    target platform, case-insensitive ones folded. A path of an image is
    reported unless its source was already reported for the same filter.
    ``Verdict.add_violations`` turns the violations into the AV201 finding.
    """
    matcher = expected.matcher
    if matcher is None or not contents.readable:
        return []
    index = contents.index.index
    name = index.name if index else name_of_stem(contents.stem)
    paths = [display_path(m.name) for m in contents.installed]
    out = matcher.check(name, fold_subdir(contents, expected), paths)
    flagged = {(v.path, v.filter) for v in out}
    for image in install_images(contents, expected):
        installed = [p for p in image.paths if p.path != p.source]
        found = matcher.check(name, image.subdir, [display_path(p.path) for p in installed])
        source = {display_path(p.path): display_path(p.source) for p in installed}
        for violation in found:
            key = (source.get(violation.path, violation.path), violation.filter)
            if key not in flagged and (violation.path, violation.filter) not in flagged:
                flagged.add(key)
                flagged.add((violation.path, violation.filter))
                out.append(violation)
    out.sort(key=lambda v: (v.path, v.filter))
    return out


def check_AV301(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV301: the file is not a conda package: wrong suffix, or a .conda ZIP of the wrong layout."""
    if not contents.readable:
        return findings_of(
            Code.AV301, detail=f"{contents.filename!r} does not end in .conda or .tar.bz2"
        )
    if contents.container:
        return findings_of(Code.AV301, detail=examples(contents.container))
    return []


def check_AV302(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV302: decompression or tar parsing failed (truncated, corrupt, or data after the end)."""
    return findings_of(Code.AV302, detail=examples(contents.corrupt)) if contents.corrupt else []


def check_AV303(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV303: there is no regular file ``info/index.json`` (not claimed past damage, see AV302)."""
    if not contents.readable or contents.index_bytes is not None or contents.corrupt:
        return []
    others = sorted({m.kind for m in contents.members if m.name == INDEX_JSON})
    detail = f"it is a {', '.join(others)}, not a file" if others else ""
    return findings_of(Code.AV303, [INDEX_JSON], detail)


def check_AV304(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV304: ``info/index.json`` is not a JSON object with string name/version/build/subdir."""
    if contents.index_bytes is None:
        return []
    index, problem = contents.index.index, contents.index.problem
    return [] if index else findings_of(Code.AV304, [INDEX_JSON], problem)


def check_AV305(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV305: the .conda ZIP is not laid out canonically, so two readers can see two packages.

    ``zipfile`` reads the central directory, streaming readers walk the local
    headers from offset 0: both must describe the same members, with nothing
    before, between or after them, and no archive comment.
    """
    if not contents.zip_layout:
        return []
    return findings_of(Code.AV305, detail=examples(contents.zip_layout))


def check_AV306(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV306: ``info/`` members in the pkg component of a .conda.

    Both components are extracted into one directory, so these add to or
    replace the metadata that was checked (``info/link.json``, ``info/paths.json``).
    """
    return findings_of(Code.AV306, contents.pkg_info) if contents.pkg_info else []


def check_AV307(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV307: ``info`` or a parent of a metadata member is not a real directory.

    ``info -> bin`` lands ``info/openssl`` in ``bin/`` at extraction.
    """
    kinds: dict[str, MemberKind] = {}
    for m in contents.members:
        kinds.setdefault(m.name, m.kind)
    bad = set()
    for m in contents.members:
        if not is_info(m.name):
            continue
        parts = m.name.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            kind = kinds.get(parent)
            if kind is not None and kind != MemberKind.DIR:
                bad.add(parent)
    if kinds.get("info", MemberKind.DIR) != MemberKind.DIR:
        bad.add("info")
    return findings_of(Code.AV307, bad) if bad else []


def check_AV401(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV401: ``<name>-<version>-<build>`` from index.json differs from the file name."""
    index = contents.index.index
    if index is None:
        return []
    declared = f"{index.name}-{index.version}-{index.build}"
    if declared == contents.stem:
        return []
    return findings_of(
        Code.AV401,
        detail=f"the file is named {contents.stem!r} but info/index.json says {declared!r}",
    )


def check_AV402(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV402: index.json's subdir differs from ``--subdir`` or the subdir of the URL/path."""
    index = contents.index.index
    if index is None or not expected.subdir or index.subdir == expected.subdir:
        return []
    return findings_of(
        Code.AV402,
        detail=f"info/index.json says {index.subdir!r}, it is published to {expected.subdir!r}",
    )


def check_AV403(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV403: a noarch package (index.json has ``noarch``) whose subdir is not ``noarch``."""
    index = contents.index.index
    if index is None or not index.noarch or index.subdir == "noarch":
        return []
    return findings_of(Code.AV403, detail=f"noarch: {index.noarch} but subdir {index.subdir!r}")


def _listed(contents: ArchiveContents) -> dict[str, PathType] | None:
    """What conda links, by path: paths.json, else info/files (whose entries have no type)."""
    entries = contents.manifest.entries
    if entries is not None:
        return {p: e.path_type for p, e in entries.items()}
    if contents.manifest.problem or contents.files_list is None:
        return None
    return dict.fromkeys(contents.files_list, PathType.HARDLINK)


def _which(contents: ArchiveContents) -> str:
    return "info/paths.json" if contents.manifest.entries is not None else "info/files"


def check_AV601(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV601: the manifest (paths.json, else info/files) lists a path the archive lacks.

    Skipped for a damaged archive (AV302 says more).
    """
    listed = _listed(contents)
    if listed is None or contents.corrupt:
        return []
    files = {m.name for m in contents.installed}
    bad = [
        p
        for p, kind in listed.items()
        if (p not in contents.entries if kind == PathType.DIRECTORY else p not in files)
    ]
    return findings_of(Code.AV601, bad, _which(contents)) if bad else []


def check_AV602(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV602: the archive installs a file or link the manifest (paths.json, else info/files)
    does not list."""
    listed = _listed(contents)
    if listed is None:
        return []
    bad = [m.name for m in contents.installed if m.name not in listed]
    return findings_of(Code.AV602, bad, _which(contents)) if bad else []


def _contents(contents: ArchiveContents) -> dict[str, Member]:
    """Installed regular files by name, hardlinks resolved to the member they point to."""
    files = {m.name: m for m in contents.installed if m.kind == MemberKind.FILE}
    for m in contents.installed:
        if m.kind == MemberKind.HARDLINK and canonical(m.linkname) in files:
            files.setdefault(m.name, files[canonical(m.linkname)])
    return files


def check_AV603(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV603: a file's ``size_in_bytes`` in info/paths.json differs from the member's size."""
    manifest = contents.manifest.entries
    if manifest is None:
        return []
    files = _contents(contents)
    bad = [
        f"{p}: paths.json says {e.size}, the archive has {files[p].size}"
        for p, e in manifest.items()
        if e.path_type == PathType.HARDLINK
        and e.size is not None
        and p in files
        and files[p].size != e.size
    ]
    if not bad:
        return []
    bad.sort()
    return findings_of(Code.AV603, [b.partition(": ")[0] for b in bad], examples(bad))


def check_AV604(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV604: under ``--deep``, a file's sha256 in info/paths.json differs from its content."""
    manifest = contents.manifest.entries
    if manifest is None or not contents.deep:
        return []
    files = _contents(contents)
    bad = [
        p
        for p, e in manifest.items()
        if e.path_type == PathType.HARDLINK
        and e.sha256
        and p in files
        and files[p].sha256 != e.sha256
    ]
    return findings_of(Code.AV604, bad) if bad else []


def check_AV606(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV606: a paths.json ``path_type`` that is not what the member is.

    ``softlink`` for a regular file (or ``hardlink`` for a symlink) makes conda
    link something other than what was checked.
    """
    entries = contents.manifest.entries
    if entries is None:
        return []
    bad = []
    for m in contents.members:
        entry = entries.get(m.name)
        if entry is None:
            continue
        is_link = m.kind == MemberKind.SYMLINK
        if (entry.path_type == PathType.SOFTLINK) != is_link and m.kind != MemberKind.DIR:
            bad.append(f"{m.name}: paths.json says {entry.path_type}, the archive has a {m.kind}")
        elif entry.path_type == PathType.DIRECTORY and m.kind != MemberKind.DIR:
            bad.append(f"{m.name}: paths.json says directory, the archive has a {m.kind}")
    if not bad:
        return []
    bad.sort()
    return findings_of(Code.AV606, [b.partition(": ")[0] for b in bad], examples(bad))


def check_AV608(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV608: info/link.json is present but not the shape conda reads (its entry points)."""
    problem = contents.link.problem
    return findings_of(Code.AV608, [LINK_JSON], problem) if problem else []


def check_AV605(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV605: info/paths.json is present but not valid JSON of the paths.json shape."""
    problem = contents.manifest.problem
    return findings_of(Code.AV605, [PATHS_JSON], problem) if problem else []


#: Every finding check, in catalogue order (AV201 returns violations and runs apart).
CHECKS: tuple[Check, ...] = (
    check_AV101,
    check_AV102,
    check_AV301,
    check_AV302,
    check_AV303,
    check_AV304,
    check_AV305,
    check_AV306,
    check_AV307,
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
    check_AV513,
    check_AV514,
    check_AV515,
    check_AV516,
    check_AV517,
    check_AV601,
    check_AV602,
    check_AV603,
    check_AV604,
    check_AV605,
    check_AV606,
    check_AV608,
)


def verdict_for_contents(
    contents: ArchiveContents, expected: Expected, source: str = ""
) -> Verdict:
    """Run every check on ``contents``; the verdict is valid only if none found anything."""
    index = contents.index.index
    if index is None:
        name, version, build = (
            split_stem(contents.stem) if contents.readable else (contents.stem, "", "")
        )
        subdir = expected.subdir
    else:
        name, version, build, subdir = index.name, index.version, index.build, index.subdir
    verdict = Verdict(
        name=display_path(name),
        version=display_path(version),
        build=display_path(build),
        subdir=display_path(subdir),
        md5=contents.md5,
        sha256=contents.sha256,
        source=display_path(source),
    )
    for check in CHECKS:
        verdict.findings.extend(check(contents, expected))
    verdict.add_violations(check_AV201(contents, expected))
    return verdict
