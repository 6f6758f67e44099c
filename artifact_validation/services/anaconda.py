"""anaconda.org: copying a validated artifact from staging to production, checked and cleaned up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from artifact_validation.core.errors import ApiError, HttpStatusError
from artifact_validation.core.findings import Code, Finding
from artifact_validation.services.api import JsonApi

if TYPE_CHECKING:
    pass

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


class Anaconda(JsonApi):
    """The three anaconda.org calls of the copy step, each with retries (then exit 3)."""

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

    def _send(self, method: str, url: str, what: str, token: str, body: Any = None) -> Any:
        return self.call(method, url, what, token=token, body=body)

    def copy(self, dist: Dist, from_owner: str, to_owner: str, token: str) -> bool:
        """Copy ``dist`` from ``from_owner`` to ``to_owner``; False if it was already there.

        A 409 (the file exists at ``to_owner``) is not an error here: the
        caller must compare the md5 of what is there.
        """
        url = f"{self.api_url}/copy/package/{self._path(from_owner, dist)}"
        body = {"to_owner": to_owner, "from_channel": "main", "to_channel": "main"}
        try:
            self._send("POST", url, f"copying {dist.basename} to {to_owner}", token, body)
        except HttpStatusError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def dist_md5(self, owner: str, dist: Dist, token: str) -> str | None:
        """The md5 anaconda.org records for ``dist`` at ``owner``, or None if it has none."""
        url = f"{self.api_url}/dist/{self._path(owner, dist)}"
        what = f"reading {dist.basename} at {owner}"
        try:
            doc = self._send("GET", url, what, token)
        except HttpStatusError as exc:
            if exc.status == 404:
                return None
            raise
        md5 = doc.get("md5") if isinstance(doc, dict) else None
        if not isinstance(md5, str) or not md5:
            raise ApiError(f"{what}: the answer has no md5")
        return md5.lower()

    def remove(self, owner: str, dist: Dist, token: str) -> bool:
        """Delete ``dist`` from ``owner``; False if it was already gone (404)."""
        url = f"{self.api_url}/dist/{self._path(owner, dist)}"
        try:
            self._send("DELETE", url, f"removing {dist.basename} from {owner}", token)
        except HttpStatusError as exc:
            if exc.status == 404:
                return False
            raise
        return True


@dataclass(frozen=True)
class Publication:
    """What the copy step did: copied now (or found there already), and the production md5."""

    copied: bool
    production_md5: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict for the report."""
        return {"copied": self.copied, "production_md5": self.production_md5}


def publish(
    anaconda: Anaconda,
    dist: Dist,
    *,
    md5: str,
    from_owner: str,
    to_owner: str,
    prod_token: str,
) -> tuple[Publication, Finding | None]:
    """Copy a validated artifact to production and check that production holds its md5.

    Returns the publication and an AV702 finding when production does not
    hold the validated bytes (a 409 with another file, or a bad copy). The
    caller removes the file from staging only when there is no finding (the
    staging copy is the evidence otherwise). API failures after retries
    raise (exit 3); nothing here ever passes by error.
    """
    copied = anaconda.copy(dist, from_owner, to_owner, prod_token)
    there = anaconda.dist_md5(to_owner, dist, prod_token)
    if there == md5.lower():
        return Publication(copied, there), None
    how = "was copied" if copied else "already existed there (the copy answered 409)"
    found = f"md5 {there}" if there else "no file"
    detail = (
        f"{to_owner}/{dist.basename} {how}, but production has {found}; the validated md5 is {md5}"
    )
    return Publication(copied, there), Finding(Code.AV702, (dist.basename,), detail)
