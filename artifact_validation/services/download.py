"""Downloading artifacts: https only, allow-listed hosts, redirects re-checked, bounded everything.

Getting bytes stays apart from parsing them (``artifact.py``): a download
streams into a file the caller owns, hashing the bytes on the way, so the
archive is hashed in the same single pass that brings it in.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote, urljoin, urlsplit

from artifact_validation.core.errors import FetchError, LimitError, UsageError
from artifact_validation.core.limits import Limits
from artifact_validation.core.markdown import display_path, shorten
from artifact_validation.services.http import make_session
from artifact_validation.services.retry import (
    AttemptFailed,
    RetryPolicy,
    download_policy,
    with_retries,
)

if TYPE_CHECKING:
    import requests

#: The channel's download hosts: conda.anaconda.org redirects to the S3 bucket.
DEFAULT_ALLOWED_HOSTS = ("conda.anaconda.org", "binstar-cio-packages-prod.s3.amazonaws.com")

#: Comma-separated extra hosts, read by the entry points (never at import).
ENV_ALLOWED_HOSTS = "VALIDATE_ALLOWED_HOSTS"

#: Host names that always mean this machine (besides loopback IP addresses).
LOOPBACK_NAMES = frozenset({"localhost"})

_CHUNK = 1 << 20
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DIGITS = re.compile(r"[0-9]+")

#: Seconds a whole download may take by default: generous (16 GiB at 5 MB/s), but finite.
DEFAULT_DEADLINE = 4 * 3600.0


def _shown_url(url: str) -> str:
    """A URL for messages: no query string or fragment (they may carry tokens), escaped."""
    try:
        parts = urlsplit(url)
        bare = parts._replace(query="", fragment="").geturl()
    except ValueError:
        bare = url.partition("?")[0]
    return shorten(display_path(bare), 300)


def urllib3_errors() -> type[Exception]:
    """What urllib3 raises for a broken body (``read1`` bypasses requests' wrapping)."""
    import urllib3  # noqa: PLC0415 - loaded with requests

    return urllib3.exceptions.HTTPError


def is_url(source: str) -> bool:
    """Whether ``source`` is a URL (``scheme://...``) rather than a local path."""
    return bool(_SCHEME_RE.match(source))


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an IP address) is this machine's loopback."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(extra: Iterable[str] = (), env_value: str | None = None) -> frozenset[str]:
    """The allow-list: the defaults, plus ``extra`` (``--allow-host``) and ``env_value``.

    ``env_value`` is the content of ``$VALIDATE_ALLOWED_HOSTS`` (comma-separated);
    host names compare case-insensitively. A malformed entry is a ``UsageError``.
    """
    hosts = set(DEFAULT_ALLOWED_HOSTS)
    for raw in [*extra, *(env_value or "").split(",")]:
        host = raw.strip().lower()
        if not host:
            continue
        if not re.fullmatch(r"[a-z0-9.-]+|\[?[0-9a-f:]+\]?", host):
            raise UsageError(
                f"allowed host {raw!r} must be a bare host name or IP address (no scheme, "
                "port or path)"
            )
        hosts.add(host.strip("[]"))
    return frozenset(hosts)


@dataclass(frozen=True)
class Target:
    """A URL that passed the rules: its host, its file name and the directory above it."""

    url: str
    host: str
    filename: str
    parent: str


@dataclass(frozen=True)
class UrlCheck:
    """A URL checked against the rules: its ``Target``, or why it is refused."""

    target: Target | None = None
    problem: str = ""


@dataclass(frozen=True)
class Downloaded:
    """What a download wrote: the final URL after redirects, size and hashes of the bytes."""

    url: str
    size: int
    md5: str
    sha256: str


@dataclass(frozen=True)
class Fetcher:
    """Downloads artifacts under the URL rules; every limit is an attribute, for tests and flags.

    Rules: https only, the host on ``allowed_hosts`` (plain http only for a
    loopback host on the list), no user info in the URL, every redirect target
    checked the same way, connect/read timeouts, retries with backoff on
    connection errors and 5xx (``policy``), at most ``max_size`` bytes.
    """

    allowed_hosts: frozenset[str] = frozenset(DEFAULT_ALLOWED_HOSTS)
    max_size: int = Limits().max_download_size
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_redirects: int = 5
    #: seconds a whole download (every attempt and redirect) may take (``--download-deadline``)
    deadline: float = DEFAULT_DEADLINE
    policy: RetryPolicy = field(default_factory=download_policy)

    def _check(self, url: str) -> UrlCheck:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            _ = parts.port  # raises on a malformed port
        except ValueError as exc:
            return UrlCheck(problem=f"not a valid URL ({exc})")
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            return UrlCheck(problem=f"only https URLs are allowed, not {scheme}://")
        if not host:
            return UrlCheck(problem="the URL has no host")
        if parts.username is not None or parts.password is not None:
            return UrlCheck(problem="the URL must not carry a user name or password")
        if host not in self.allowed_hosts:
            allowed = ", ".join(sorted(self.allowed_hosts))
            return UrlCheck(
                problem=f"host {host!r} is not on the download allow-list ({allowed}); "
                "add it with --allow-host or VALIDATE_ALLOWED_HOSTS if it is trusted"
            )
        if scheme == "http" and not is_loopback_host(host):
            return UrlCheck(
                problem=f"plain http is allowed only for loopback hosts; use https://{host}"
            )
        segments = parts.path.split("/")
        filename = unquote(segments[-1])
        parent = unquote(segments[-2]) if len(segments) > 1 else ""
        return UrlCheck(Target(url, host, filename, parent))

    def check_url(self, url: str) -> Target:
        """Check a URL given by the user; ``UsageError`` (exit 2) saying why it is refused."""
        checked = self._check(url)
        target = checked.target
        if target is None:
            raise UsageError(f"{url}: {checked.problem}")
        if not target.filename or any(c in target.filename for c in "/\\\0"):
            raise UsageError(f"{url}: the URL path must end with the artifact's file name")
        return target

    def download(self, url: str, out: BinaryIO) -> Downloaded:
        """Stream ``url`` into ``out`` (truncated first, on every attempt), hashing on the way.

        Raises ``UsageError`` for a refused URL, ``FetchError`` for a refused
        redirect, too many redirects or a failure after the retries, and
        ``LimitError`` for a body larger than ``max_size``.
        """
        self.check_url(url)
        give_up = time.monotonic() + self.deadline
        with make_session(timeout=(self.connect_timeout, self.read_timeout)) as session:
            return with_retries(
                lambda: self._attempt(session, url, out, give_up),
                self.policy,
                f"download of {_shown_url(url)}",
            )

    def _attempt(
        self, session: requests.Session, url: str, out: BinaryIO, give_up: float
    ) -> Downloaded:
        import requests  # noqa: PLC0415 - already loaded by download()

        current = url
        for _ in range(self.max_redirects + 1):
            self._in_time(url, give_up)
            try:
                response = session.get(
                    current,
                    stream=True,
                    allow_redirects=False,
                    timeout=(self.connect_timeout, self.read_timeout),
                    headers={"Accept-Encoding": "identity"},
                )
            except requests.RequestException as exc:
                raise AttemptFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc
            except UnicodeError as exc:  # requests decodes a redirect's Location as UTF-8
                raise FetchError(
                    f"{_shown_url(url)}: the server redirected to a Location that is not "
                    "valid UTF-8"
                ) from exc
            with response:
                if response.is_redirect:
                    following = urljoin(current, response.headers.get("Location", ""))
                    problem = self._check(following).problem
                    if problem:
                        raise FetchError(
                            f"{_shown_url(url)}: refusing the redirect to "
                            f"{_shown_url(following)!r}: {problem}"
                        )
                    current = following
                    continue
                if response.status_code != 200:
                    reason = "".join(c if c.isprintable() else "?" for c in response.reason or "")
                    raise AttemptFailed(
                        f"HTTP {response.status_code} {reason[:100]}",
                        response.status_code,
                        response.headers,
                    )
                return self._save(response, current, out, give_up)
        raise FetchError(f"{_shown_url(url)}: more than {self.max_redirects} redirects")

    def _in_time(self, url: str, give_up: float) -> None:
        if time.monotonic() > give_up:
            raise LimitError(
                f"{_shown_url(url)}: the download did not finish within {self.deadline:g} s "
                "(--download-deadline); not validated"
            )

    def _save(
        self, response: requests.Response, url: str, out: BinaryIO, give_up: float
    ) -> Downloaded:
        import requests  # noqa: PLC0415 - already loaded by download()

        declared = response.headers.get("Content-Length", "")
        if declared and not _DIGITS.fullmatch(declared):
            raise FetchError(
                f"{_shown_url(url)}: the server sent a malformed Content-Length "
                f"({shorten(display_path(declared), 40)!r}); not validated"
            )
        if declared.isdigit() and int(declared) > self.max_size:
            raise self._too_big(url, f"the server announces {declared} bytes, more")
        out.seek(0)
        out.truncate()
        md5 = hashlib.md5(usedforsecurity=False)
        sha256 = hashlib.sha256()
        size = 0
        try:
            # read1 returns what has arrived: a server dripping one byte per read timeout
            # still meets the deadline check between two pieces.
            while chunk := response.raw.read1(_CHUNK):
                self._in_time(url, give_up)
                size += len(chunk)
                if size > self.max_size:
                    raise self._too_big(url, "the body is larger")
                md5.update(chunk)
                sha256.update(chunk)
                out.write(chunk)
        except (requests.RequestException, urllib3_errors()) as exc:
            raise AttemptFailed(f"body interrupted: {type(exc).__name__}: {exc}"[:300]) from exc
        if declared.isdigit() and size != int(declared):
            raise AttemptFailed(f"body truncated: {size} of {declared} bytes")
        out.flush()
        return Downloaded(url, size, md5.hexdigest(), sha256.hexdigest())

    def _too_big(self, url: str, what: str) -> LimitError:
        return LimitError(
            f"{_shown_url(url)}: {what} than the {self.max_size}-byte download limit "
            "(--max-download-size); not validated"
        )
