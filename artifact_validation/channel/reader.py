"""The paths an artifact installs, read from its ``info/`` part only (the scan, the generator)."""

from __future__ import annotations

import threading
from contextlib import closing
from typing import Any

import requests
import urllib3
from conda_package_streaming import package_streaming

from artifact_validation.archive.formats import PARSE_ERRORS
from artifact_validation.archive.manifest import parse_files, parse_manifest
from artifact_validation.core.errors import (
    ArtifactReadError,
    Cancelled,
    FetchError,
    LimitError,
    ValidationError,
    describe,
)
from artifact_validation.core.limits import DEFAULT_LIMITS, Limits


def file_list_from_archive(
    filename: str,
    fileobj: Any,
    where: str,
    stop: threading.Event | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[str, ...]:
    """The paths an artifact installs, from its ``info/`` metadata.

    ``fileobj`` holds the artifact named ``filename`` (seekable for a
    ``.conda``; a stream is enough for a ``.tar.bz2``). Reads ``info/paths.json``
    (and stops there) or, when the archive has none, ``info/files``. Damage
    raises ``ArtifactReadError``, a member or a total beyond the limits
    ``LimitError``, a set ``stop`` event ``Cancelled``.
    """
    found: dict[str, bytes] = {}
    declared = 0
    try:
        members = package_streaming.stream_conda_info(filename, fileobj)
        with closing(members):
            for tar, member in members:
                if stop is not None and stop.is_set():
                    raise Cancelled(f"{where}: stopped")
                declared += member.size
                if declared > limits.max_total_size:
                    raise LimitError(
                        f"{where}: inflates to more than {limits.max_total_size} bytes"
                    )
                name = member.name.removeprefix("./")
                if name not in ("info/paths.json", "info/files") or not member.isfile():
                    continue
                if member.size > limits.max_metadata_size:
                    raise LimitError(
                        f"{where}: {name} is {member.size} bytes, "
                        f"more than {limits.max_metadata_size}"
                    )
                fh = tar.extractfile(member)
                found[name] = fh.read() if fh is not None else b""
                if name == "info/paths.json":
                    break
    except ValidationError:
        raise
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise FetchError(f"{where}: {describe(exc)}") from exc
    except PARSE_ERRORS as exc:
        raise ArtifactReadError(f"{where}: unreadable archive: {describe(exc)}") from exc
    if "info/paths.json" in found:
        manifest = parse_manifest(found["info/paths.json"], keep_sha256=False, lenient=True)
        if manifest.entries is None:
            raise ArtifactReadError(f"{where}: info/paths.json: {manifest.problem}")
        return manifest.paths()
    if "info/files" in found:
        try:
            return parse_files(found["info/files"])
        except ValueError as exc:
            raise ArtifactReadError(f"{where}: {exc}") from exc
    raise ArtifactReadError(f"{where}: has neither info/paths.json nor info/files")
