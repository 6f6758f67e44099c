"""Conda's naming rules, in one place: subdirs, artifact suffixes, package names, stems, sizes.

Every check of a subdir, a file name or a package name anywhere in the
project (command-line flags, event payloads, repodata records, file-list
layouts) goes through this module, so they all agree (issue 10 section 3).
"""

from __future__ import annotations

import re
import unicodedata

from artifact_validation.core.errors import UsageError

#: Byte units: sizes are powers of 1024 (``parse_size``).
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

#: The two archive formats, by file-name suffix, in order of preference: the info part of a
#: ``.conda`` is cheap to read remotely (AV301; the scan reads the ``.conda`` of a build).
SUFFIXES = (".conda", ".tar.bz2")

#: Subdirs conda-forge publishes or has published: a URL's or a directory's parent names one
#: of these for the subdir to be taken from it (AV402).
KNOWN_SUBDIRS = frozenset(
    {
        "noarch",
        "linux-32",
        "linux-64",
        "linux-aarch64",
        "linux-armv6l",
        "linux-armv7l",
        "linux-ppc64",
        "linux-ppc64le",
        "linux-riscv64",
        "linux-s390x",
        "osx-64",
        "osx-arm64",
        "win-32",
        "win-64",
        "win-arm64",
        "emscripten-wasm32",
        "wasi-wasm32",
        "freebsd-64",
        "zos-z",
    }
)

#: The subdirs a scan or a filter generation reads when none is given.
DEFAULT_SUBDIRS = (
    "linux-64",
    "linux-aarch64",
    "linux-ppc64le",
    "osx-64",
    "osx-arm64",
    "win-64",
    "noarch",
)

#: Subdirs whose file systems compare names case-insensitively (Windows, default macOS).
CASE_INSENSITIVE_PREFIXES = ("win-", "osx-")

#: Device names Windows reserves with or without an extension (AV510).
WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)

#: Characters Windows refuses in a file name (``:`` also names an NTFS data stream) (AV514).
WINDOWS_FORBIDDEN = frozenset(':<>"|?*')

#: Longest member name (UTF-8 bytes) and deepest one (components) a package may have (AV515):
#: far above any real package, low enough that names cannot exhaust memory.
MAX_NAME_BYTES = 4096
MAX_NAME_DEPTH = 256

#: Where a noarch package is judged as installed: a case-sensitive unix, a case-insensitive
#: unix (default macOS) and Windows (noarch packages install on every platform).
NOARCH_TARGETS = ("linux-64", "osx-arm64", "win-64")

#: A subdir: ``noarch`` or ``<platform>-<architecture>`` (``linux-64``, ``emscripten-wasm32``).
SUBDIR_RE = re.compile(r"noarch|[a-z0-9]+-[a-z0-9_]+")
#: A package name as conda builds it (a file, registry or filter name: never a path).
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
#: ``<name>-<version>-<build>``: version and build have no dash, so the name is what is left.
STEM_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+!-]*-[A-Za-z0-9_.+!]+-[A-Za-z0-9_.+!]+")

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)


def is_subdir(text: object) -> bool:
    """Whether ``text`` is a conda subdir name (see ``SUBDIR_RE``)."""
    return isinstance(text, str) and SUBDIR_RE.fullmatch(text) is not None


def check_subdir(subdir: str, what: str = "subdir") -> str:
    """Return ``subdir`` if it is a conda subdir name; else a ``UsageError`` naming ``what``."""
    if not is_subdir(subdir):
        raise UsageError(
            f"{what} {subdir!r} is not a conda subdir (noarch or <platform>-<arch>, "
            "such as linux-64 or osx-arm64)"
        )
    return subdir


def is_package_name(name: object) -> bool:
    """Whether ``name`` can be a conda package name (see ``NAME_RE``)."""
    return isinstance(name, str) and NAME_RE.fullmatch(name) is not None


def archive_format(filename: str) -> str | None:
    """``.conda`` or ``.tar.bz2`` by the file name's suffix, or None for anything else (AV301)."""
    return next((s for s in SUFFIXES if filename.endswith(s) and len(filename) > len(s)), None)


def strip_suffix(filename: str) -> str:
    """The file name without its artifact suffix (unchanged when it has none)."""
    suffix = archive_format(filename)
    return filename[: -len(suffix)] if suffix else filename


def split_filename(filename: str) -> tuple[str, str] | None:
    """``(stem, suffix)`` of a conda artifact file name, or None when it is not one.

    The stem must be ``<name>-<version>-<build>`` made of the characters conda
    allows, so it can never be a path (no ``/``, no leading ``.``).
    """
    suffix = archive_format(filename)
    if suffix is None:
        return None
    stem = filename[: -len(suffix)]
    return (stem, suffix) if STEM_RE.fullmatch(stem) else None


def split_stem(stem: str) -> tuple[str, str, str]:
    """``(name, version, build)`` of ``<name>-<version>-<build>`` (empty parts when fewer)."""
    parts = stem.rsplit("-", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else (stem, "", "")


def name_of_stem(stem: str) -> str:
    """The package name of ``<name>-<version>-<build>`` (version and build have no dashes)."""
    return stem.rsplit("-", 2)[0]


def is_case_insensitive(subdir: str) -> bool:
    """Whether paths of ``subdir`` artifacts compare case-insensitively."""
    return subdir.startswith(CASE_INSENSITIVE_PREFIXES)


def fold(name: str) -> str:
    """``name`` as a case-insensitive file system compares it: NFC, then Unicode case folding.

    The one folding of the project: the matcher and the case-collision check
    (AV508) both use it, so ``ſite-packages`` (U+017F) is ``site-packages`` to
    both, as it is to NTFS and APFS.
    """
    if name.isascii():
        return name.lower()
    return unicodedata.normalize("NFC", name).casefold()


def is_windows(subdir: str) -> bool:
    """Whether Windows naming rules apply to ``subdir`` artifacts."""
    return subdir.startswith("win-")


def parse_size(text: str) -> int:
    """Parse a byte size such as ``500M``, ``16GiB`` or ``1234`` (K, M, G, T are powers of 1024)."""
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (use e.g. 1234, 500M, 16G)")
    number, unit, _ = match.groups()
    value = int(float(number) * 1024 ** " KMGT".index(unit.upper() or " "))
    if value <= 0:
        raise ValueError(f"a size must be positive, not {text!r}")
    return value
