"""The install image: the prefix paths that installing an artifact creates, as conda links them.

A verdict is about what installing the artifact does to a prefix, not about
how the archive spells its members (issue 11). conda extracts the archive
into a package directory and then links, in ``info/paths.json`` order (else
``info/files``), every listed path into the prefix; it recreates symlinks, so
a path under a directory symlink of the same archive is written through it.
noarch python packages are relocated (``site-packages/`` into the
interpreter's, ``python-scripts/`` into ``bin/`` or ``Scripts/``) and get
their ``info/link.json`` entry points as scripts. noarch packages install on
every platform, so they get one image per target in ``NOARCH_TARGETS``.

``LinkResolver`` answers where a package path really lands once the
archive's own symlinks are followed; ``install_images`` builds the images
that AV201 matches against the filters.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from artifact_validation.archive.model import (
    ArchiveContents,
    Expected,
    MemberKind,
    canonical,
    is_info,
)
from artifact_validation.core.conda import NOARCH_TARGETS, is_windows

#: Symlink hops followed before giving up, as the Linux kernel does (AV504, AV513).
MAX_SYMLINK_HOPS = 40

#: The interpreter a noarch python package is judged as installed into on unix. Generated
#: filters spell every version as ``lib/python*/``, so one stands for all.
NOARCH_PYTHON_SITE = "lib/python3.12/site-packages"

_ABSOLUTE = re.compile(r"^(?:/|[A-Za-z]:)")


class Landing(Enum):
    """How a path resolves through the archive's own symlinks."""

    INSIDE = "inside"
    ESCAPES = "escapes"
    LOOPS = "loops"


class Resolved(NamedTuple):
    """Where a package path really is: its real path (when ``landing`` is INSIDE)."""

    path: str
    landing: Landing


class LinkResolver:
    """Follows the symlinks of one archive, as the file system of the package directory would."""

    def __init__(self, links: dict[str, str]) -> None:
        self.links = links
        self._dirs: dict[str, Resolved] = {"": Resolved("", Landing.INSIDE)}

    def walk(self, base: str, relative: str) -> Resolved:
        """Resolve ``relative`` from directory ``base`` (real), following the archive's links."""
        parts = base.split("/") if base else []
        pending = deque(relative.split("/"))
        hops = 0
        while pending:
            part = pending.popleft()
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    return Resolved("", Landing.ESCAPES)
                parts.pop()
                continue
            parts.append(part)
            hop = self.links.get("/".join(parts))
            if hop is None:
                continue
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                return Resolved("", Landing.LOOPS)
            if not hop or _ABSOLUTE.match(hop):
                return Resolved("", Landing.ESCAPES)
            parts.pop()
            pending.extendleft(reversed(hop.split("/")))
        return Resolved("/".join(parts), Landing.INSIDE)

    def directory(self, directory: str) -> Resolved:
        """The real path of a package directory (memoized: many paths share it)."""
        known = self._dirs.get(directory)
        if known is None:
            known = self._dirs[directory] = self.walk("", directory)
        return known

    def location(self, path: str) -> Resolved:
        """Where ``path`` itself is written: its parent resolved, its last component kept."""
        parent, _, last = path.rpartition("/")
        real = self.directory(parent) if self.links else Resolved(parent, Landing.INSIDE)
        if real.landing is not Landing.INSIDE:
            return real
        return Resolved(f"{real.path}/{last}" if real.path else last, Landing.INSIDE)

    def target(self, link: str, target: str) -> Resolved:
        """Where symlink ``link`` -> ``target`` points, from the link's real location."""
        where = self.location(link)
        if where.landing is not Landing.INSIDE:
            return where
        if not target or _ABSOLUTE.match(target):
            return Resolved("", Landing.ESCAPES)
        return self.walk(where.path.rpartition("/")[0], target)


def resolver(contents: ArchiveContents) -> LinkResolver:
    """The resolver of the archive's symlinks.

    A hardlink to a symlink extracts as a second symlink with the same target
    text at the hardlink's place (AV505 reports it; it is followed here too).
    """
    links = {m.name: m.linkname for m in contents.members if m.kind == MemberKind.SYMLINK}
    for m in contents.members:
        target = canonical(m.linkname) if m.kind == MemberKind.HARDLINK else ""
        if target in links:
            links.setdefault(m.name, links[target])
    return LinkResolver(links)


class Installed(NamedTuple):
    """One prefix path of an image and the package path (or entry point) it comes from."""

    path: str
    source: str


@dataclass(frozen=True)
class InstallImage:
    """The prefix paths installing the artifact on ``subdir`` creates."""

    subdir: str
    paths: tuple[Installed, ...]


def package_paths(contents: ArchiveContents) -> list[str]:
    """Every package path conda may link: the manifest's (paths.json, else info/files) plus
    every installable member (a member the manifest forgot is AV602, and matched anyway)."""
    entries = contents.manifest.entries
    listed: Iterable[str] = entries if entries is not None else (contents.files_list or ())
    seen = dict.fromkeys(p for p in listed if not is_info(p))
    seen.update(dict.fromkeys(m.name for m in contents.installed))
    return list(seen)


def plain_command(command: str) -> bool:
    """Whether an entry point's command is a plain file name (AV517)."""
    return (
        bool(command)
        and command not in (".", "..")
        and not any(c in command for c in "/\\\0")
        and command.isprintable()
    )


def _relocate(path: str, windows: bool) -> str:
    if path.startswith("site-packages/"):
        site = "Lib/site-packages" if windows else NOARCH_PYTHON_SITE
        return f"{site}/{path[len('site-packages/') :]}"
    if path.startswith("python-scripts/"):
        return f"{'Scripts' if windows else 'bin'}/{path[len('python-scripts/') :]}"
    return path


def install_images(contents: ArchiveContents, expected: Expected) -> tuple[InstallImage, ...]:
    """The images to judge: one for the artifact's subdir, one per target for noarch.

    Paths that escape the package through its own symlinks are left out here
    (AV504 and AV513 report them); everything else is where conda writes it.
    """
    index = contents.index.index
    subdir = (index.subdir if index else "") or expected.subdir
    noarch = (index.noarch if index else "") or ("generic" if subdir == "noarch" else "")
    targets = NOARCH_TARGETS if noarch else (subdir,)
    links = resolver(contents)
    real: list[Installed] = []
    for path in package_paths(contents):
        where = links.location(path)
        if where.landing is Landing.INSIDE:
            real.append(Installed(where.path, path))
    commands = [e.command for e in contents.link.entry_points if plain_command(e.command)]
    images = []
    for target in targets:
        windows = is_windows(target)
        if noarch != "python":
            images.append(InstallImage(target, tuple(real)))
            continue
        paths = [Installed(_relocate(p.path, windows), p.source) for p in real]
        for command in commands:
            source = f"info/link.json: {command}"
            if windows:
                paths.append(Installed(f"Scripts/{command}-script.py", source))
                paths.append(Installed(f"Scripts/{command}.exe", source))
            else:
                paths.append(Installed(f"bin/{command}", source))
        images.append(InstallImage(target, tuple(paths)))
    return tuple(images)
