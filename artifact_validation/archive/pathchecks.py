"""Path safety checks (AV5xx): what a member's name or link would do to the install prefix.

Each ``check_AV5nn`` is a pure function of ``(contents, expected)``; see
``checks.CHECKS`` for the order they run in.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, deque
from collections.abc import Callable

from artifact_validation.archive.model import (
    SPECIAL_KINDS,
    ArchiveContents,
    Expected,
    MemberKind,
    canonical,
    case_insensitive,
    windows_rules,
)
from artifact_validation.core.conda import WINDOWS_RESERVED
from artifact_validation.core.findings import Code, Finding, examples, findings_of
from artifact_validation.core.markdown import BAD_CATEGORIES, display_path

#: Symlink hops followed before giving up, as the Linux kernel does (AV504).
MAX_SYMLINK_HOPS = 40

_DRIVE_RE = re.compile(r"^[A-Za-z]:")


def check_AV501(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV501: member names that are absolute (``/x``) or start with a drive (``C:``)."""
    bad = [m.name for m in contents.members if m.name.startswith("/") or _DRIVE_RE.match(m.name)]
    return findings_of(Code.AV501, bad) if bad else []


def check_AV502(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV502: member names with a ``..`` component."""
    bad = [m.name for m in contents.members if ".." in m.name.split("/")]
    return findings_of(Code.AV502, bad) if bad else []


def check_AV503(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV503: member names containing a NUL byte or a backslash."""
    bad = [m.name for m in contents.members if "\0" in m.name or "\\" in m.name]
    return findings_of(Code.AV503, bad) if bad else []


def _link_escapes(link: str, target: str, links: dict[str, str]) -> bool:
    """Whether symlink ``link`` -> ``target`` resolves outside the prefix, following ``links``.

    Resolution walks the target one component at a time from the link's
    directory, replacing components that are themselves symlinks in the
    archive, so a chain of individually harmless links cannot climb out.
    A loop (more than ``MAX_SYMLINK_HOPS`` hops) fails on every OS and is not
    an escape.
    """
    parts = link.split("/")[:-1]
    pending = deque(target.split("/"))
    hops = 0
    while pending:
        part = pending.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return True
            parts.pop()
            continue
        parts.append(part)
        hop = links.get("/".join(parts))
        if hop is not None:
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                return False
            if hop.startswith("/") or _DRIVE_RE.match(hop):
                return True
            parts.pop()
            pending.extendleft(reversed(hop.split("/")))
    return False


def check_AV504(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV504: symlinks whose target is absolute or resolves outside the install prefix."""
    links = {m.name: m.linkname for m in contents.members if m.kind == MemberKind.SYMLINK}
    bad = [
        f"{name} -> {target}"
        for name, target in links.items()
        if not target
        or target.startswith("/")
        or _DRIVE_RE.match(target)
        or _link_escapes(name, target, links)
    ]
    if not bad:
        return []
    bad.sort()
    return findings_of(
        Code.AV504, [b.split(" -> ")[0] for b in bad], examples([display_path(b) for b in bad])
    )


def check_AV505(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV505: hardlinks to a path outside the prefix or not an earlier member of the same tar."""
    first: dict[tuple[str, str], int] = {}
    for m in contents.members:
        if m.kind != MemberKind.DIR:
            first.setdefault((m.component, m.name), m.order)
    bad = []
    for m in contents.members:
        if m.kind != MemberKind.HARDLINK:
            continue
        target = canonical(m.linkname)
        if (
            not target
            or target.startswith("/")
            or _DRIVE_RE.match(target)
            or ".." in target.split("/")
            or first.get((m.component, target), m.order) >= m.order
        ):
            bad.append((m.name, f"{m.name} -> {m.linkname}"))
    if not bad:
        return []
    bad.sort()
    return findings_of(Code.AV505, [b[0] for b in bad], examples([display_path(b[1]) for b in bad]))


def check_AV506(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV506: device files, FIFOs and members of any other special type."""
    bad = [m for m in contents.members if m.kind in SPECIAL_KINDS]
    if not bad:
        return []
    kinds = ", ".join(sorted({m.kind for m in bad}))
    return findings_of(Code.AV506, [m.name for m in bad], f"member types: {kinds}")


def check_AV507(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV507: a path that appears more than once (two directory entries are harmless)."""
    counts = Counter(m.name for m in contents.members)
    dup = {n for n, c in counts.items() if c > 1 and not contents.entries.get(n, False)}
    return findings_of(Code.AV507, dup) if dup else []


def _collisions(contents: ArchiveContents, key: Callable[[str], str]) -> list[str]:
    """Paths whose ``key`` equals another path's, when at least one of them is not a directory."""
    groups: dict[str, list[str]] = {}
    for name in contents.entries:
        groups.setdefault(key(name), []).append(name)
    out: list[str] = []
    for names in groups.values():
        if len(names) > 1 and not all(contents.entries[n] for n in names):
            out.extend(names)
    return out


def _nfc(name: str) -> str:
    return name if name.isascii() else unicodedata.normalize("NFC", name)


def check_AV508(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV508: paths equal but for case, in ``win-*`` and ``osx-*`` artifacts."""
    if not case_insensitive(contents, expected):
        return []
    seen: dict[str, set[str]] = {}
    for name in contents.entries:
        seen.setdefault(_nfc(name).casefold(), set()).add(_nfc(name))
    folded = {k for k, forms in seen.items() if len(forms) > 1}
    if not folded:
        return []
    bad = [
        n
        for n in _collisions(contents, lambda n: _nfc(n).casefold())
        if _nfc(n).casefold() in folded
    ]
    return findings_of(Code.AV508, bad) if bad else []


def check_AV509(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV509: paths equal after Unicode NFC normalization but spelled differently."""
    bad = _collisions(contents, _nfc)
    return findings_of(Code.AV509, bad) if bad else []


def _components(contents: ArchiveContents) -> set[str]:
    return {part for name in contents.entries for part in name.split("/")}


def check_AV510(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV510: a path component is a Windows reserved device name, in ``win-*`` artifacts."""
    if not windows_rules(contents, expected):
        return []
    reserved = {
        p
        for p in _components(contents)
        if p.partition(".")[0].rstrip(" ").upper() in WINDOWS_RESERVED
    }
    bad = [n for n in contents.entries if reserved.intersection(n.split("/"))]
    return findings_of(Code.AV510, bad) if bad else []


def check_AV511(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV511: a path component ends in a dot or a space, in ``win-*`` artifacts."""
    if not windows_rules(contents, expected):
        return []
    bad = [
        n
        for n in contents.entries
        if any(p.endswith((".", " ")) and p not in (".", "..") for p in n.split("/"))
    ]
    return findings_of(Code.AV511, bad) if bad else []


def _bad_name(name: str) -> bool:
    return not name.isprintable() and any(unicodedata.category(c) in BAD_CATEGORIES for c in name)


def check_AV512(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV512: member names or link targets with non-UTF-8 bytes or control characters."""
    bad = [m.name for m in contents.members if _bad_name(m.name) or _bad_name(m.linkname)]
    return findings_of(Code.AV512, bad) if bad else []
