"""The validate-artifact event: reading and strictly checking a hostile GitHub event payload.

Accepts a ``repository_dispatch`` of type ``validate-artifact`` (fields in
``client_payload``) or a ``workflow_dispatch`` (the same fields as ``inputs``,
all strings). Anything malformed raises ``PayloadError`` (exit 2) naming the
field, before any network request is made.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from artifact_validation.core.conda import is_subdir, split_filename
from artifact_validation.core.errors import PayloadError, UsageError
from artifact_validation.core.fileio import read_json
from artifact_validation.core.markdown import shown
from artifact_validation.services.download import Fetcher

#: The repository_dispatch event type this service answers to (README "The event").
EVENT_TYPE = "validate-artifact"

#: Event files larger than this are refused unread (the payload is tiny; the file is hostile).
MAX_EVENT_BYTES = 1_000_000

#: Longest accepted ``artifact_url`` (checked by ``parse_payload``).
MAX_URL_LENGTH = 2048

_FIELDS = ("artifact_url", "md5", "sha256", "feedstock", "git_sha")
_MD5 = re.compile(r"[0-9a-fA-F]{32}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_GIT_SHA = re.compile(r"[0-9a-fA-F]{40}")
_FEEDSTOCK = re.compile(r"[a-z0-9_][a-z0-9_.-]*")
_URL_CHARS = re.compile(r"[A-Za-z0-9._~:/?#\[\]!$&'()*+,;=%-]+")


@dataclass(frozen=True)
class ArtifactEvent:
    """One artifact to validate, as the copy service (or a maintainer) announced it."""

    artifact_url: str
    md5: str
    sha256: str
    feedstock: str
    git_sha: str
    subdir: str
    filename: str
    kind: str = "repository_dispatch"
    warnings: tuple[str, ...] = ()

    @property
    def short_sha(self) -> str:
        """The first 7 hex digits of ``git_sha``, as in issue titles."""
        return self.git_sha[:7]

    def to_json(self) -> dict[str, str]:
        """The announced fields, for the JSON report."""
        return {
            "artifact_url": self.artifact_url,
            "md5": self.md5,
            "sha256": self.sha256,
            "feedstock": self.feedstock,
            "git_sha": self.git_sha,
            "subdir": self.subdir,
            "filename": self.filename,
        }


def _string(payload: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    value = payload.get(key)
    if value is None or (value == "" and not required):
        if required:
            raise PayloadError(f"{where}.{key}: missing (required)")
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{where}.{key}: must be a string, got {type(value).__name__}")
    if value != value.strip() or not value.isprintable():
        raise PayloadError(
            f"{where}.{key}: must not contain white space at the ends or control characters"
        )
    if not value:
        raise PayloadError(f"{where}.{key}: must not be empty")
    return value


def check_artifact_url(url: str, allowed_hosts: Iterable[str], where: str) -> tuple[str, str]:
    """Check ``url`` and return its ``(subdir, filename)``; ``PayloadError`` naming ``where``.

    The download rules of ``validate.py`` apply (``download.Fetcher.check_url``:
    https, or http on a loopback host; an allow-listed host; no user info);
    on top, an announced artifact has no query or fragment and its path ends
    with ``<subdir>/<name>-<version>-<build>.conda`` (or ``.tar.bz2``).
    """
    if len(url) > MAX_URL_LENGTH:
        raise PayloadError(f"{where}: longer than {MAX_URL_LENGTH} characters")
    if not _URL_CHARS.fullmatch(url):
        # The URL is quoted into issues and summaries: no Markdown, no @mentions.
        raise PayloadError(f"{where}: may hold only URL characters (RFC 3986) and no '@'")
    try:
        target = Fetcher(allowed_hosts=frozenset(allowed_hosts)).check_url(url)
        parts = urlsplit(url)
    except (UsageError, ValueError) as exc:
        raise PayloadError(f"{where}: {exc}") from exc
    if parts.query or parts.fragment:
        raise PayloadError(f"{where}: must not have a query string or a fragment")
    subdir, filename = target.parent, target.filename
    if not is_subdir(subdir):
        raise PayloadError(
            f"{where}: the path must end with <subdir>/<file>; {subdir!r} is not a conda "
            "subdir (e.g. linux-64, noarch)"
        )
    if split_filename(filename) is None:
        raise PayloadError(
            f"{where}: the file name {shown(filename)} must be <name>-<version>-<build>"
            " followed by .conda or .tar.bz2"
        )
    return subdir, filename


def parse_payload(
    payload: Any, allowed_hosts: Iterable[str], *, where: str = "client_payload", kind: str = ""
) -> ArtifactEvent:
    """Check the five fields of a payload strictly; unknown keys become warnings.

    ``artifact_url`` (https, allowed host), ``md5`` (32 hex), ``sha256``
    (optional, 64 hex), ``feedstock`` (``^[a-z0-9_][a-z0-9_.-]*$``, without
    ``-feedstock``) and ``git_sha`` (40 hex). Hex digests are lower-cased.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError(f"{where}: must be an object with {', '.join(_FIELDS)}")
    url = _string(payload, "artifact_url", where, required=True)
    subdir, filename = check_artifact_url(url, allowed_hosts, f"{where}.artifact_url")
    md5 = _string(payload, "md5", where, required=True)
    if not _MD5.fullmatch(md5):
        raise PayloadError(f"{where}.md5: must be 32 hexadecimal digits, got {shown(md5)}")
    sha256 = _string(payload, "sha256", where, required=False)
    if sha256 and not _SHA256.fullmatch(sha256):
        raise PayloadError(f"{where}.sha256: must be 64 hexadecimal digits, got {shown(sha256)}")
    feedstock = _string(payload, "feedstock", where, required=True)
    if len(feedstock) > 100 or not _FEEDSTOCK.fullmatch(feedstock):
        raise PayloadError(
            f"{where}.feedstock: must match ^[a-z0-9_][a-z0-9_.-]*$ (at most 100 characters), "
            f"got {shown(feedstock)}"
        )
    if feedstock.endswith("-feedstock"):
        raise PayloadError(
            f"{where}.feedstock: give the name without '-feedstock' "
            f"({feedstock.removesuffix('-feedstock')!r})"
        )
    git_sha = _string(payload, "git_sha", where, required=True)
    if not _GIT_SHA.fullmatch(git_sha):
        raise PayloadError(
            f"{where}.git_sha: must be a full 40-hex commit sha, got {shown(git_sha)}"
        )
    unknown = sorted(str(k) for k in payload if k not in _FIELDS)
    warnings = tuple(f"{where}: ignoring unknown key {shown(k)}" for k in unknown[:20])
    return ArtifactEvent(
        artifact_url=url,
        md5=md5.lower(),
        sha256=sha256.lower(),
        feedstock=feedstock,
        git_sha=git_sha.lower(),
        subdir=subdir,
        filename=filename,
        kind=kind or "repository_dispatch",
        warnings=warnings,
    )


def parse_event(document: Any, allowed_hosts: Iterable[str]) -> ArtifactEvent:
    """Pick the payload out of a decoded GitHub event and check it.

    A document with ``client_payload`` is a ``repository_dispatch`` whose
    ``action`` must be ``validate-artifact``; one with ``inputs`` is a
    ``workflow_dispatch``. Anything else is a ``PayloadError``.
    """
    if not isinstance(document, Mapping):
        raise PayloadError("event: must be a JSON object (a GitHub event payload)")
    if "client_payload" in document:
        action = document.get("action")
        if action != EVENT_TYPE:
            raise PayloadError(
                f"action: the repository_dispatch type must be {EVENT_TYPE!r}, got {shown(action)}"
            )
        return parse_payload(
            document["client_payload"],
            allowed_hosts,
            where="client_payload",
            kind="repository_dispatch",
        )
    if "inputs" in document:
        return parse_payload(
            document["inputs"], allowed_hosts, where="inputs", kind="workflow_dispatch"
        )
    raise PayloadError(
        "event: has neither 'client_payload' (repository_dispatch) nor 'inputs' (workflow_dispatch)"
    )


def load_event(path: str | os.PathLike[str], allowed_hosts: Iterable[str]) -> ArtifactEvent:
    """Read the event file (``$GITHUB_EVENT_PATH``) and check it; no network is touched."""
    where = os.fspath(path)
    document = read_json(path, PayloadError, "the event file", max_bytes=MAX_EVENT_BYTES)
    try:
        return parse_event(document, allowed_hosts)
    except PayloadError as exc:
        raise PayloadError(f"{where}: {exc}") from exc
