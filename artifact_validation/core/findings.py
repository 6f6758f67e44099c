"""The catalogue of finding codes and the ``Finding`` value every check returns.

Codes are grouped by family and never renumbered or reused; each has a docs/checks.md
section (what it means, common causes, how to fix).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from artifact_validation.core.markdown import display_path


class Code(Enum):
    """One member per finding: the name is the stable code, the value its one-line message."""

    # AV1xx: hashes
    AV101 = "md5 of the artifact does not match the expected value"
    AV102 = "sha256 of the artifact does not match the expected value"
    # AV2xx: clobbering
    AV201 = "installs a path owned by another package"
    # AV3xx: readable package
    AV301 = "not a conda package (.conda or .tar.bz2)"
    AV302 = "archive is truncated or its compression is corrupt"
    AV303 = "info/index.json is missing"
    AV304 = "info/index.json cannot be parsed"
    AV305 = "the .conda ZIP layout is not canonical: readers could see different packages"
    AV306 = "the pkg component of a .conda contains info/ members"
    AV307 = "info, or a parent of a metadata member, is not a real directory"
    # AV4xx: identity
    AV401 = "name, version or build in info/index.json do not match the file name"
    AV402 = "subdir in info/index.json does not match where the artifact is published"
    AV403 = "noarch package does not declare subdir noarch"
    # AV5xx: path safety
    AV501 = "member name is an absolute path"
    AV502 = "member name has a '..' component"
    AV503 = "member name contains a NUL byte or a backslash"
    AV504 = "symlink points outside the install prefix"
    AV505 = "hardlink points to a missing member or outside the install prefix"
    AV506 = "member is a device file or a FIFO"
    AV507 = "member appears more than once in the archive"
    AV508 = "paths differ only by case on a case-insensitive platform"
    AV509 = "paths differ only by Unicode normalization"
    AV510 = "path uses a Windows reserved name"
    AV511 = "path component ends in a dot or a space on Windows"
    AV512 = "member name is not valid UTF-8 or contains a control or format character"
    AV513 = "member is written through a symlink of the same archive"
    AV514 = 'path has a character Windows forbids (: < > " | ? *)'
    AV515 = "member name is longer than 4,096 bytes or deeper than 256 components"
    AV516 = "symlink has an empty target"
    AV517 = "noarch entry point command is not a plain file name"
    # AV6xx: manifest (info/paths.json)
    AV601 = "info/paths.json (else info/files) lists a path the archive does not contain"
    AV602 = "archive installs a path that info/paths.json (else info/files) does not list"
    AV603 = "size in info/paths.json does not match the member"
    AV604 = "sha256 in info/paths.json does not match the member"
    AV605 = "info/paths.json cannot be parsed"
    AV606 = "path_type in info/paths.json does not match the member"
    AV608 = "info/link.json cannot be parsed"
    # AV7xx: ownership and publication
    AV701 = "package name is not registered to this feedstock"
    AV702 = "artifact in production does not match the validated one"
    AV703 = "the file on staging is not the one validated"


@dataclass(frozen=True)
class Finding:
    """One problem found in an artifact: a code, the offending paths (sorted), a detail."""

    code: Code
    paths: tuple[str, ...] = ()
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", tuple(sorted(set(self.paths))))

    def sort_key(self) -> tuple[str, tuple[str, ...], str]:
        """Order findings by code, then paths, then detail (reports list them sorted)."""
        return (self.code.name, self.paths, self.detail)

    @property
    def message(self) -> str:
        """The code's one-line message, with the detail appended when there is one."""
        return f"{self.code.value}: {self.detail}" if self.detail else self.code.value

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with stable keys: code, message, paths, detail."""
        return {
            "code": self.code.name,
            "message": self.code.value,
            "paths": list(self.paths),
            "detail": self.detail,
        }


#: Why each finding matters and how to fix it, shown under the finding in reports
#: (docs/checks.md says the same at more length, with common causes).
ADVICE: dict[Code, str] = {
    Code.AV101: "The bytes differ from what was uploaded: re-upload the artifact from the build.",
    Code.AV102: "The bytes differ from what was uploaded: re-upload the artifact from the build.",
    Code.AV201: (
        "Installing this package would overwrite files of the package(s) listed as allowed. "
        "Remove these files from the build (or depend on the owning package instead), or, if "
        "this package is a legitimate owner, add it to the filter's 'allowed' list by PR."
    ),
    Code.AV301: "Upload a .conda or .tar.bz2 built by conda-build or rattler-build.",
    Code.AV302: "The archive is damaged: rebuild and upload it again.",
    Code.AV303: "Every conda package needs info/index.json: rebuild with a conda build tool.",
    Code.AV304: "info/index.json must be a JSON object: rebuild with a conda build tool.",
    Code.AV305: (
        "Repack the artifact with conda-package-handling or rattler-build: nothing may come "
        "before, between or after the ZIP members, and the archive has no comment."
    ),
    Code.AV306: "Metadata belongs in the info component only: rebuild with a conda build tool.",
    Code.AV307: "info/ and its subdirectories must be real directories, not links or files.",
    Code.AV401: "Do not rename artifacts: the file name must be <name>-<version>-<build>.",
    Code.AV402: "Upload the artifact to the subdir it was built for.",
    Code.AV403: "noarch packages must be built with 'noarch: python' or 'noarch: generic'.",
    Code.AV501: "Absolute paths would be written outside the environment: fix the build script.",
    Code.AV502: "'..' would write outside the environment: fix the build script.",
    Code.AV503: "Such names are invalid or ambiguous on some platforms: rename the files.",
    Code.AV504: "Symlinks must stay inside the environment: make them relative and internal.",
    Code.AV505: "Hardlinks must point to another member of the same package.",
    Code.AV506: "Packages may contain only files, directories and symlinks.",
    Code.AV507: "Each path may appear once: remove the duplicate from the build.",
    Code.AV508: "These paths collide on Windows and macOS: rename one of them.",
    Code.AV509: "These paths collide on macOS and some Linux tools: use one normalization (NFC).",
    Code.AV510: "Windows cannot create these files: rename them.",
    Code.AV511: "Windows strips trailing dots and spaces, so these files collide or vanish.",
    Code.AV512: "Such names break tools and logs (shown escaped here): rename the files.",
    Code.AV513: (
        "A path may not pass through a symlink the package itself creates: ship the file at "
        "its real location, or make the link point to a file instead of a directory."
    ),
    Code.AV514: "Windows cannot create these names (':' names an NTFS stream): rename them.",
    Code.AV515: "Such names exceed every file system's limits: shorten them.",
    Code.AV516: "Give the symlink a target, or remove it.",
    Code.AV517: "Entry point commands must be plain names ('mytool = pkg.cli:main').",
    Code.AV601: "info/paths.json and the archive disagree: rebuild the package.",
    Code.AV602: "info/paths.json and the archive disagree: rebuild the package.",
    Code.AV603: "info/paths.json and the archive disagree: rebuild the package.",
    Code.AV604: "info/paths.json and the archive disagree: rebuild the package.",
    Code.AV605: "info/paths.json must be valid JSON: rebuild the package.",
    Code.AV606: "info/paths.json and the archive disagree on a path's type: rebuild the package.",
    Code.AV608: "info/link.json must be valid JSON of the noarch shape: rebuild the package.",
    Code.AV701: (
        "Register the output for this feedstock in conda-forge/feedstock-outputs "
        "(or rename the output) and re-run the build."
    ),
    Code.AV702: "The production copy differs from the validated artifact: ask core to check it.",
    Code.AV703: (
        "The staging file changed after validation (another upload, or a CDN serving old "
        "bytes): upload the build again; nothing was published."
    ),
}


#: The repository whose docs/checks.md explains the codes (unless the run says another).
DEFAULT_DOCS_REPO = "conda-forge/artifact-validation"
#: The ref of the docs when neither the run nor git names a commit.
DEFAULT_DOCS_COMMIT = "main"

_SLUG_DROP = re.compile(r"[^\w\- ]")


def heading_anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lowercase, punctuation but '-' dropped, ' ' -> '-'."""
    return _SLUG_DROP.sub("", heading.strip().lower()).replace(" ", "-")


def docs_url(code: Code, commit: str, repo: str = DEFAULT_DOCS_REPO) -> str:
    """The link to ``code``'s section ("### AVnnn: <title>") of docs/checks.md at ``commit``."""
    anchor = heading_anchor(f"{code.name}: {code.value}")
    return f"https://github.com/{repo}/blob/{commit or DEFAULT_DOCS_COMMIT}/docs/checks.md#{anchor}"


@dataclass(frozen=True)
class DocsLink:
    """Where the explanations live (repository and commit): each finding's report links there."""

    repo: str = DEFAULT_DOCS_REPO
    commit: str = DEFAULT_DOCS_COMMIT

    def url(self, code: Code) -> str:
        """The link to ``code``'s explanation."""
        return docs_url(code, self.commit, self.repo)


def findings_of(code: Code, paths: Iterable[str] = (), detail: str = "") -> list[Finding]:
    """A check's result: one finding of ``code``, paths and detail escaped for display."""
    return [Finding(code, tuple(display_path(p) for p in paths), display_path(detail))]


def examples(items: Sequence[str], limit: int = 3) -> str:
    """The first ``limit`` items joined with ``;``, and how many more there are."""
    head = "; ".join(items[:limit])
    return head + (f"; and {len(items) - limit} more" if len(items) > limit else "")
