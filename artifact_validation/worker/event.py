"""The validate event: reading and strictly checking a hostile GitHub event payload.

The copy service (conda-forge-webservices) sent a ``repository_dispatch`` of
type ``validate`` with a ``client_payload`` of ``artifact_url``, ``md5``,
``subdir``, ``package`` (the file name), ``url``, ``feedstock`` (the repository
name, ``numpy-feedstock``), ``label``, ``git_sha`` (maybe null) and
``comment_on_error``; today's CI hashes with sha256 and says so in
``hash_type``. Both event types (``validate``, ``validate-artifact``) and a
``workflow_dispatch`` (the same fields as string inputs) are accepted.
Anything malformed raises ``PayloadError`` (exit 2) naming the field, before
any network request is made; unknown keys are warnings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from artifact_validation.core.conda import is_subdir, split_filename
from artifact_validation.core.errors import PayloadError, UsageError
from artifact_validation.core.fileio import read_json
from artifact_validation.core.markdown import shown
from artifact_validation.services.download import Fetcher

#: The repository_dispatch event types this service answers to.
EVENT_TYPES = ("validate", "validate-artifact")

#: Event files larger than this are refused unread (the payload is tiny; the file is hostile).
MAX_EVENT_BYTES = 1_000_000

#: Longest accepted ``artifact_url``.
MAX_URL_LENGTH = 2048

#: The staging owner artifacts are announced on (``--from-owner``).
DEFAULT_STAGING_OWNER = "cf-staging"

_FIELDS = (
    "artifact_url",
    "url",
    "md5",
    "sha256",
    "hash",
    "hash_type",
    "subdir",
    "package",
    "feedstock",
    "label",
    "git_sha",
    "comment_on_error",
    "correlation_id",
)
_HEX = {"md5": re.compile(r"[0-9a-fA-F]{32}"), "sha256": re.compile(r"[0-9a-fA-F]{64}")}
_GIT_SHA = re.compile(r"[0-9a-fA-F]{40}")
_FEEDSTOCK = re.compile(r"[a-z0-9_][a-z0-9_.-]*")
_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_CORRELATION = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
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
    label: str = "main"
    comment_on_error: bool = True
    correlation_id: str = ""
    kind: str = "repository_dispatch"
    warnings: tuple[str, ...] = ()

    @property
    def short_sha(self) -> str:
        """The first 7 hex digits of ``git_sha``, as in run names."""
        return self.git_sha[:7]

    @property
    def basename(self) -> str:
        """``<subdir>/<file>``: the file's name on anaconda.org."""
        return f"{self.subdir}/{self.filename}"

    def to_json(self) -> dict[str, Any]:
        """The announced fields, for the JSON report."""
        return {
            "artifact_url": self.artifact_url,
            "md5": self.md5,
            "sha256": self.sha256,
            "feedstock": self.feedstock,
            "git_sha": self.git_sha or None,
            "subdir": self.subdir,
            "filename": self.filename,
            "label": self.label,
            "comment_on_error": self.comment_on_error,
            "correlation_id": self.correlation_id,
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


def _flag(payload: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = payload.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # workflow_dispatch inputs are strings
    raise PayloadError(f"{where}.{key}: must be true or false, got {shown(value)}")


@dataclass(frozen=True)
class StagedUrl:
    """What an artifact URL on the staging owner says: label, subdir and file name."""

    label: str
    subdir: str
    filename: str


def check_artifact_url(
    url: str, allowed_hosts: Iterable[str], where: str, staging_owner: str = DEFAULT_STAGING_OWNER
) -> StagedUrl:
    """Check ``url`` is ``https://<host>/<staging owner>/[label/<l>/]<subdir>/<file>``.

    The download rules of ``validate.py`` apply (https, or http on a loopback
    host; an allow-listed host; no user info); on top, no query or fragment,
    the staging owner, and a conda artifact file name. ``PayloadError`` names
    ``where``.
    """
    if len(url) > MAX_URL_LENGTH:
        raise PayloadError(f"{where}: longer than {MAX_URL_LENGTH} characters")
    if not _URL_CHARS.fullmatch(url):
        # The URL is quoted into issues and summaries: no Markdown, no @mentions.
        raise PayloadError(f"{where}: may hold only URL characters (RFC 3986) and no '@'")
    try:
        Fetcher(allowed_hosts=frozenset(allowed_hosts)).check_url(url)
        parts = urlsplit(url)
    except (UsageError, ValueError) as exc:
        raise PayloadError(f"{where}: {exc}") from exc
    if parts.query or parts.fragment:
        raise PayloadError(f"{where}: must not have a query string or a fragment")
    segments = [unquote(s) for s in parts.path.split("/")[1:]]
    shape = f"/{staging_owner}/[label/<label>/]<subdir>/<file>"
    if len(segments) == 5 and segments[1] == "label":
        owner, _, label, subdir, filename = segments
    elif len(segments) == 3:
        (owner, subdir, filename), label = segments, "main"
    else:
        raise PayloadError(f"{where}: the path must be {shape}")
    if owner != staging_owner:
        raise PayloadError(f"{where}: not on the staging owner {staging_owner!r} ({shape})")
    if not _LABEL.fullmatch(label):
        raise PayloadError(f"{where}: {shown(label)} is not a label name")
    if not is_subdir(subdir):
        raise PayloadError(
            f"{where}: the path must end with <subdir>/<file>; {shown(subdir)} is not a conda "
            "subdir (noarch or <platform>-<arch>, such as linux-64 or osx-arm64)"
        )
    if split_filename(filename) is None:
        raise PayloadError(
            f"{where}: the file name {shown(filename)} must be <name>-<version>-<build>"
            " followed by .conda or .tar.bz2"
        )
    return StagedUrl(label, subdir, filename)


def _hashes(payload: Mapping[str, Any], where: str) -> tuple[str, str]:
    """``(md5, sha256)`` from ``md5``, ``sha256`` and ``hash``/``hash_type``; one is required.

    ``hash_type`` (``md5`` or ``sha256``, default ``md5``) names what the
    hash-style fields carry: ``hash``, and ``md5`` when it holds 64 hex digits
    (a sender that kept the old key for the new hash).
    """
    hash_type = _string(payload, "hash_type", where, required=False) or "md5"
    if hash_type not in _HEX:
        raise PayloadError(f"{where}.hash_type: must be md5 or sha256, got {shown(hash_type)}")
    found: dict[str, str] = {}
    for key in ("md5", "sha256", "hash"):
        value = _string(payload, key, where, required=False)
        if not value:
            continue
        kind = key if key != "hash" else hash_type
        if key == "md5" and hash_type == "sha256" and _HEX["sha256"].fullmatch(value):
            kind = "sha256"
        if not _HEX[kind].fullmatch(value):
            digits = 32 if kind == "md5" else 64
            raise PayloadError(
                f"{where}.{key}: must be {digits} hexadecimal digits ({kind}), got {shown(value)}"
            )
        if kind in found and found[kind] != value.lower():
            raise PayloadError(f"{where}: two different {kind} values")
        found[kind] = value.lower()
    if not found:
        raise PayloadError(f"{where}: give md5 and/or sha256 (or hash with hash_type)")
    return found.get("md5", ""), found.get("sha256", "")


def parse_payload(
    payload: Any,
    allowed_hosts: Iterable[str],
    *,
    where: str = "client_payload",
    kind: str = "",
    staging_owner: str = DEFAULT_STAGING_OWNER,
) -> ArtifactEvent:
    """Check a payload strictly (see the module docstring); unknown keys become warnings."""
    if not isinstance(payload, Mapping):
        raise PayloadError(f"{where}: must be an object with artifact_url, md5/sha256, feedstock")
    url = _string(payload, "artifact_url", where, required=True)
    staged = check_artifact_url(url, allowed_hosts, f"{where}.artifact_url", staging_owner)
    same_url = _string(payload, "url", where, required=False)
    if same_url and same_url != url:
        raise PayloadError(f"{where}.url: differs from artifact_url")
    subdir = _string(payload, "subdir", where, required=False)
    if subdir and subdir != staged.subdir:
        raise PayloadError(f"{where}.subdir: {shown(subdir)} differs from the URL's")
    package = _string(payload, "package", where, required=False)
    if package and package != staged.filename:
        raise PayloadError(f"{where}.package: {shown(package)} is not the URL's file name")
    label = _string(payload, "label", where, required=False)
    if label and label != staged.label:
        raise PayloadError(
            f"{where}.label: {shown(label)} differs from the URL's label {staged.label!r}"
        )
    md5, sha256 = _hashes(payload, where)
    feedstock = _string(payload, "feedstock", where, required=True).removesuffix("-feedstock")
    if len(feedstock) > 100 or not _FEEDSTOCK.fullmatch(feedstock):
        raise PayloadError(
            f"{where}.feedstock: must match ^[a-z0-9_][a-z0-9_.-]*(-feedstock)?$ (at most 100 "
            f"characters), got {shown(payload.get('feedstock'))}"
        )
    git_sha = _string(payload, "git_sha", where, required=False)
    if git_sha and not _GIT_SHA.fullmatch(git_sha):
        raise PayloadError(
            f"{where}.git_sha: must be a full 40-hex commit sha, got {shown(git_sha)}"
        )
    correlation = _string(payload, "correlation_id", where, required=False)
    if correlation and not _CORRELATION.fullmatch(correlation):
        raise PayloadError(f"{where}.correlation_id: at most 100 of [A-Za-z0-9_.:-]")
    unknown = sorted(str(k) for k in payload if k not in _FIELDS)
    warnings = tuple(f"{where}: ignoring unknown key {shown(k)}" for k in unknown[:20])
    return ArtifactEvent(
        artifact_url=url,
        md5=md5,
        sha256=sha256,
        feedstock=feedstock,
        git_sha=git_sha.lower(),
        subdir=staged.subdir,
        filename=staged.filename,
        label=staged.label,
        comment_on_error=_flag(payload, "comment_on_error", where, True),
        correlation_id=correlation,
        kind=kind or "repository_dispatch",
        warnings=warnings,
    )


def parse_event(
    document: Any, allowed_hosts: Iterable[str], staging_owner: str = DEFAULT_STAGING_OWNER
) -> ArtifactEvent:
    """Pick the payload out of a decoded GitHub event and check it.

    A document with ``client_payload`` is a ``repository_dispatch`` whose
    ``action`` must be one of ``EVENT_TYPES``; one with ``inputs`` is a
    ``workflow_dispatch``. Anything else is a ``PayloadError``.
    """
    if not isinstance(document, Mapping):
        raise PayloadError("event: must be a JSON object (a GitHub event payload)")
    if "client_payload" in document:
        action = document.get("action")
        if action not in EVENT_TYPES:
            raise PayloadError(
                f"action: the repository_dispatch type must be one of {', '.join(EVENT_TYPES)}, "
                f"got {shown(action)}"
            )
        return parse_payload(
            document["client_payload"],
            allowed_hosts,
            where="client_payload",
            kind="repository_dispatch",
            staging_owner=staging_owner,
        )
    if "inputs" in document:
        return parse_payload(
            document["inputs"],
            allowed_hosts,
            where="inputs",
            kind="workflow_dispatch",
            staging_owner=staging_owner,
        )
    raise PayloadError(
        "event: has neither 'client_payload' (repository_dispatch) nor 'inputs' (workflow_dispatch)"
    )


def load_event(
    path: str | os.PathLike[str],
    allowed_hosts: Iterable[str],
    staging_owner: str = DEFAULT_STAGING_OWNER,
) -> ArtifactEvent:
    """Read the event file (``$GITHUB_EVENT_PATH``) and check it; no network is touched."""
    where = os.fspath(path)
    document = read_json(path, PayloadError, "the event file", max_bytes=MAX_EVENT_BYTES)
    try:
        return parse_event(document, allowed_hosts, staging_owner)
    except PayloadError as exc:
        raise PayloadError(f"{where}: {exc}") from exc


def dispatch_payload(event: ArtifactEvent) -> dict[str, Any]:
    """The ``client_payload`` that announces ``event`` again (at most 10 keys, as GitHub allows)."""
    payload: dict[str, Any] = {
        "artifact_url": event.artifact_url,
        "subdir": event.subdir,
        "package": event.filename,
        "feedstock": f"{event.feedstock}-feedstock",
        "label": event.label,
        "git_sha": event.git_sha or None,
        "comment_on_error": event.comment_on_error,
        "correlation_id": event.correlation_id,
    }
    if event.md5:
        payload["md5"] = event.md5
    if event.sha256:
        payload["sha256"] = event.sha256
    return payload
