"""Path safety checks (AV5xx): what a member's name or link would do to the install prefix.

Each ``check_AV5nn`` is a pure function of ``(contents, expected)``; see
``checks.CHECKS`` for the order they run in.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable

from artifact_validation.archive.install import Landing, package_paths, plain_command, resolver
from artifact_validation.archive.model import (
    LINK_JSON,
    SPECIAL_KINDS,
    ArchiveContents,
    Expected,
    MemberKind,
    canonical,
    case_insensitive,
    windows_rules,
)
from artifact_validation.core.conda import (
    MAX_NAME_BYTES,
    MAX_NAME_DEPTH,
    WINDOWS_FORBIDDEN,
    WINDOWS_RESERVED,
    fold,
)
from artifact_validation.core.findings import Code, Finding, examples, findings_of
from artifact_validation.core.markdown import BAD_CATEGORIES, display_path

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


def check_AV504(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV504: symlinks whose target is absolute or resolves outside the install prefix.

    The link's own location is resolved through the archive's links first
    (``lib/x -> ..`` puts ``lib/x/up`` at ``up``), then its target, component
    by component, so a chain of individually harmless links cannot climb
    out. A loop fails on every OS and is not an escape; an empty target is
    AV516.
    """
    links = resolver(contents)
    bad = [
        f"{name} -> {target}"
        for name, target in links.links.items()
        if target and links.target(name, target).landing is Landing.ESCAPES
    ]
    if not bad:
        return []
    bad.sort()
    return findings_of(
        Code.AV504, [b.split(" -> ")[0] for b in bad], examples([display_path(b) for b in bad])
    )


def check_AV505(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV505: hardlinks to a path outside the prefix, not an earlier member of the same tar, or
    to something other than a file (a hardlink to a symlink is a second symlink, elsewhere)."""
    first: dict[tuple[str, str], int] = {}
    kinds: dict[tuple[str, str], MemberKind] = {}
    for m in contents.members:
        if m.kind != MemberKind.DIR:
            first.setdefault((m.component, m.name), m.order)
            kinds.setdefault((m.component, m.name), m.kind)
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
            or kinds.get((m.component, target)) not in (MemberKind.FILE, MemberKind.HARDLINK)
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
    """AV508: paths equal but for case, in ``win-*``, ``osx-*`` and noarch artifacts."""
    if not case_insensitive(contents, expected):
        return []
    seen: dict[str, set[str]] = {}
    for name in contents.entries:
        seen.setdefault(fold(name), set()).add(_nfc(name))
    folded = {k for k, forms in seen.items() if len(forms) > 1}
    if not folded:
        return []
    bad = [n for n in _collisions(contents, fold) if fold(n) in folded]
    return findings_of(Code.AV508, bad) if bad else []


def check_AV509(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV509: paths equal after Unicode NFC normalization but spelled differently."""
    bad = _collisions(contents, _nfc)
    return findings_of(Code.AV509, bad) if bad else []


def _components(contents: ArchiveContents) -> set[str]:
    return {part for name in contents.entries for part in name.split("/")}


def check_AV510(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV510: a path component is a Windows reserved device name (``win-*`` and noarch)."""
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
    """AV511: a path component ends in a dot or a space (``win-*`` and noarch)."""
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
    """AV512: member names or link targets with non-UTF-8 bytes, control or format characters.

    Format characters (U+202E and the other bidirectional overrides, zero-width
    marks) make a report show a name other than the real one.
    """
    bad = [m.name for m in contents.members if _bad_name(m.name) or _bad_name(m.linkname)]
    return findings_of(Code.AV512, bad) if bad else []


def check_AV513(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV513: a member (or listed path) whose parent crosses a symlink of the same archive.

    Extraction and linking write such a path through the link, somewhere else
    than its name says (``lib/x -> ..`` then ``lib/x/bin/openssl`` writes
    ``bin/openssl``); the install image (AV201) matches where it really lands.
    """
    links = resolver(contents)
    if not links.links:
        return []
    bad = []
    for path in dict.fromkeys([*(m.name for m in contents.members), *package_paths(contents)]):
        real = links.location(path)
        if real.landing is not Landing.INSIDE:
            bad.append(f"{path} -> outside the package")
        elif real.path != path:
            bad.append(f"{path} -> {real.path}")
    if not bad:
        return []
    bad.sort()
    return findings_of(
        Code.AV513, [b.split(" -> ")[0] for b in bad], examples([display_path(b) for b in bad])
    )


def check_AV514(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV514: a path with a character Windows forbids (``:<>"|?*``), in ``win-*`` and noarch.

    ``x.dll::$DATA`` names the data stream of ``x.dll`` on NTFS; ``C:`` inside
    a path is drive-relative.
    """
    if not windows_rules(contents, expected):
        return []
    bad = [n for n in contents.entries if not WINDOWS_FORBIDDEN.isdisjoint(n)]
    return findings_of(Code.AV514, bad) if bad else []


def check_AV515(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV515: a member name or link target longer than 4,096 bytes or deeper than 256 parts."""
    if not contents.oversized:
        return []
    detail = f"at most {MAX_NAME_BYTES} bytes and {MAX_NAME_DEPTH} components"
    return findings_of(Code.AV515, contents.oversized, detail)


def check_AV516(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV516: a symlink with an empty target (it points nowhere; tools disagree on it)."""
    bad = [m.name for m in contents.members if m.kind == MemberKind.SYMLINK and not m.linkname]
    return findings_of(Code.AV516, bad) if bad else []


def check_AV517(contents: ArchiveContents, expected: Expected) -> list[Finding]:
    """AV517: a noarch entry point whose command is not a plain file name (``/``, ``..``, empty).

    conda writes ``bin/<command>`` (``Scripts/<command>.exe`` on Windows): a
    command with a path in it writes anywhere.
    """
    bad = [e.command for e in contents.link.entry_points if not plain_command(e.command)]
    if not bad:
        return []
    return findings_of(Code.AV517, [LINK_JSON], examples([repr(display_path(c)) for c in bad]))
