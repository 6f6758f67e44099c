"""anaconda.org: the file calls of the publication chain and the staging listing, with retries.

Every call names the owner and, for copies, the label on both sides: an
upload to ``rc`` is copied to ``rc``, never to ``main``. A file's metadata
(``GET /dist``) carries its md5, sha256 (where the server has it) and labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from artifact_validation.core.errors import ApiError, HttpStatusError
from artifact_validation.services.api import JsonApi

#: The public API, the default of ``ANACONDA_API_URL``.
DEFAULT_API_URL = "https://api.anaconda.org"


def _segment(value: str, what: str) -> str:
    if not value or value in (".", "..") or "/" in value or not value.isprintable():
        raise ApiError(f"cannot address anaconda.org: {what} {value!r} is not a path segment")
    return quote(value, safe="")


@dataclass(frozen=True)
class Dist:
    """One file on anaconda.org, owner aside: package name, version, ``subdir/file``."""

    name: str
    version: str
    basename: str


@dataclass(frozen=True)
class DistInfo:
    """What anaconda.org records for one file: hashes (lower-case) and labels."""

    md5: str
    sha256: str
    labels: tuple[str, ...]

    def holds(self, md5: str, sha256: str) -> bool:
        """Whether these are the bytes with ``md5`` and ``sha256`` (each when given).

        A hash the server does not report is not compared; at least one must be.
        """
        compared = [(have, want) for have, want in ((self.md5, md5), (self.sha256, sha256)) if want]
        known = [(have, want) for have, want in compared if have]
        return bool(known) and all(have == want.lower() for have, want in known)

    def to_json(self) -> dict[str, Any]:
        """For the JSON report."""
        return {"md5": self.md5, "sha256": self.sha256, "labels": list(self.labels)}


@dataclass(frozen=True)
class StagedFile:
    """One file of an owner's label: ``subdir/file`` and when it was uploaded (ISO 8601)."""

    basename: str
    upload_time: str


class Anaconda(JsonApi):
    """The anaconda.org calls of the publication chain and of the reconcile listing."""

    default_url = DEFAULT_API_URL
    default_timeout = 120.0

    @property
    def api_url(self) -> str:
        """The API base URL."""
        return self.base_url

    def _path(self, owner: str, dist: Dist) -> str:
        subdir, _, filename = dist.basename.partition("/")
        return "/".join(
            [
                _segment(owner, "owner"),
                _segment(dist.name, "package name"),
                _segment(dist.version, "version"),
                _segment(subdir, "subdir"),
                _segment(filename, "file name"),
            ]
        )

    def copy(self, dist: Dist, from_owner: str, to_owner: str, token: str, label: str) -> bool:
        """Copy ``dist`` from ``from_owner`` to ``to_owner``, label ``label`` on both sides.

        False when the file already exists at ``to_owner`` (409): the caller
        compares what is there. Anything else final raises (exit 3).
        """
        url = f"{self.base_url}/copy/package/{self._path(from_owner, dist)}"
        body = {"to_owner": to_owner, "from_channel": label, "to_channel": label}
        what = f"copying {dist.basename} ({label}) from {from_owner} to {to_owner}"
        try:
            self.call("POST", url, what, token=token, body=body)
        except HttpStatusError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def dist_info(self, owner: str, dist: Dist, token: str = "") -> DistInfo | None:
        """What ``owner`` holds for ``dist``, or None when it has no such file (404)."""
        url = f"{self.base_url}/dist/{self._path(owner, dist)}"
        what = f"reading {dist.basename} at {owner}"
        try:
            doc = self.call("GET", url, what, token=token, strict=True)
        except HttpStatusError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(doc, dict):
            raise ApiError(f"{what}: the answer is not an object")
        md5, sha256, labels = doc.get("md5"), doc.get("sha256") or "", doc.get("labels", [])
        if not isinstance(md5, str) or not md5 or not isinstance(sha256, str):
            raise ApiError(f"{what}: the answer has no md5")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ApiError(f"{what}: the answer's labels are not a list of names")
        return DistInfo(md5.lower(), sha256.lower(), tuple(sorted(labels)))

    def remove(self, owner: str, dist: Dist, token: str) -> bool:
        """Delete ``dist`` from ``owner``; False if it was already gone (404)."""
        url = f"{self.base_url}/dist/{self._path(owner, dist)}"
        try:
            self.call("DELETE", url, f"removing {dist.basename} from {owner}", token=token)
        except HttpStatusError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def labels(self, owner: str, token: str = "") -> list[str]:
        """The labels (channels) of ``owner``."""
        url = f"{self.base_url}/channels/{_segment(owner, 'owner')}"
        doc = self.call("GET", url, f"listing the labels of {owner}", token=token, strict=True)
        if not isinstance(doc, dict):
            raise ApiError(f"listing the labels of {owner}: the answer is not an object")
        return sorted(str(k) for k in doc)

    def label_files(self, owner: str, label: str, token: str = "") -> list[StagedFile]:
        """The files of ``owner`` under ``label``, with their upload times."""
        url = f"{self.base_url}/channels/{_segment(owner, 'owner')}/{_segment(label, 'label')}"
        what = f"listing {owner}/label/{label}"
        doc = self.call("GET", url, what, token=token, strict=True)
        files = doc.get("files") if isinstance(doc, dict) else None
        if not isinstance(files, list):
            raise ApiError(f"{what}: the answer has no 'files' list")
        out = []
        for item in files:
            if isinstance(item, dict) and isinstance(item.get("basename"), str):
                out.append(StagedFile(item["basename"], str(item.get("upload_time") or "")))
        return out
