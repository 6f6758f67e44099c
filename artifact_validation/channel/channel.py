"""A conda channel: its repodata (a local dir or HTTP) and each artifact's file list, read cheaply.

Usage rules:

- ``Channel(location)`` takes a directory or an ``https://`` URL (plain
  ``http://`` only for a loopback host). Nothing is fetched until asked.
- ``channel.listing(subdir)`` streams ``<subdir>/repodata.json`` (both
  ``packages`` and ``packages.conda``, skipping ``removed``) and returns one
  ``Artifact`` per build: when both ``.conda`` and ``.tar.bz2`` of one stem
  are listed, they are one artifact and the ``.conda`` is the one read.
  Malformed records are returned as ``problems``, never silently dropped.
- ``channel.file_list(artifact)`` returns what the artifact installs, from,
  in order: the ``file_lists`` directory given to the channel (libcfgraph or
  flat layout, see ``file_list_path``), else the artifact itself. For a
  ``.conda`` only its ``info-*.tar.zst`` part is read, over HTTP with Range
  requests (``conda_package_streaming``'s ``LazyConda`` on our own session:
  timeouts, bounded retries, every answer size-checked); for a ``.tar.bz2``
  a streaming read that stops at ``info/paths.json``. ``info/paths.json`` is
  preferred, ``info/files`` is the fallback.
- ``iter_file_lists(channel, names, subdirs)`` and ``ChannelFileLists`` are the
  public entry for ``update_filters.py --channel URL``: every file list of the
  named packages, failing closed on the first artifact that cannot be read.

Errors: ``FetchError`` (network, after retries; exit 3), ``ArtifactReadError``
(the artifact's metadata is unreadable; exit 3), ``LimitError`` (a size limit;
exit 3), ``FileListError`` (a bad file list on disk; exit 2), ``UsageError``
(a bad location or subdir; exit 2).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import ijson
import requests
import urllib3
from conda_package_streaming import package_streaming
from conda_package_streaming.lazy_wheel import HTTPRangeRequestUnsupported, LazyConda
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from artifact_validation import __version__
from artifact_validation.archive.formats import PARSE_ERRORS
from artifact_validation.services.download import is_loopback_host
from artifact_validation.core.errors import (
    ArtifactReadError,
    FetchError,
    FileListError,
    LimitError,
    UsageError,
    ValidationError,
)
from artifact_validation.core.filelist import FileList, load_file_list

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

#: The subdirs a scan reads when none is given (issue 6 §1).
DEFAULT_SUBDIRS = (
    "linux-64",
    "linux-aarch64",
    "linux-ppc64le",
    "osx-64",
    "osx-arm64",
    "win-64",
    "noarch",
)

#: Artifact suffixes, in order of preference: the .conda info part is cheap to read remotely.
SUFFIXES = (".conda", ".tar.bz2")

#: The channel name under which libcfgraph files its file lists.
LIBCFGRAPH_CHANNEL = "conda-forge"

#: repodata.json larger than this is refused (conda-forge's largest is a few hundred MB).
MAX_REPODATA_BYTES = 8 * GiB

#: An artifact larger than this is refused when repodata gives no size.
MAX_ARTIFACT_BYTES = 16 * GiB

#: info/paths.json or info/files larger than this is refused (the biggest real ones are ~50 MB).
MAX_METADATA_BYTES = 256 * MiB

#: The info part of an artifact may declare at most this many bytes of members in total.
MAX_INFO_BYTES = 1 * GiB

#: A .tar.bz2 read may inflate at most this much before it is refused (a bzip2 bomb).
MAX_INFLATED_BYTES = 64 * GiB

#: Connect and read timeouts of every HTTP request, in seconds.
DEFAULT_TIMEOUT = (10.0, 60.0)

#: Retries of one HTTP request on connection errors and 429/5xx answers.
DEFAULT_RETRIES = 3

_CHUNK = 1 * MiB
_STEM_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+!-]*-[A-Za-z0-9_.+!]+-[A-Za-z0-9_.+!]+$")
_SUBDIR_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


# --------------------------------------------------------------------------------- names


def check_subdir(subdir: str) -> str:
    """Return ``subdir`` if it is a plausible subdir name (``linux-64``, ``noarch``, ...)."""
    if not isinstance(subdir, str) or not _SUBDIR_RE.match(subdir):
        raise UsageError(f"subdir {subdir!r} is not a valid subdir name (e.g. linux-64, noarch)")
    return subdir


def split_filename(filename: str) -> tuple[str, str] | None:
    """``(stem, suffix)`` of a conda artifact file name, or None when it is not one.

    The stem must be ``<name>-<version>-<build>`` made of the characters conda
    allows, so it can never be a path (no ``/``, no leading ``.``).
    """
    for suffix in SUFFIXES:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            return (stem, suffix) if _STEM_RE.match(stem) else None
    return None


def name_of_stem(stem: str) -> str:
    """The package name of ``<name>-<version>-<build>`` (version and build have no dashes)."""
    return stem.rsplit("-", 2)[0]


def file_list_path(
    root: str | os.PathLike[str],
    name: str,
    subdir: str,
    stem: str,
    channel: str = LIBCFGRAPH_CHANNEL,
    *,
    libcfgraph: bool | None = None,
) -> Path:
    """Where the file list of one artifact lives under ``root`` (whether or not it exists).

    The one place that knows both layouts (``update_filters.py`` reads the same):
    libcfgraph, ``root/artifacts/<name>/<channel>/<subdir>/<stem>.json``, when
    ``root/artifacts`` is a directory; else flat, ``root/<subdir>/<stem>.json``.
    ``libcfgraph`` skips that check when the caller already knows the layout.
    The parts must be valid names (``check_subdir``, ``split_filename``).
    """
    base = os.fspath(root)
    if libcfgraph is None:
        libcfgraph = os.path.isdir(os.path.join(base, "artifacts"))
    if libcfgraph:
        return Path(base, "artifacts", name, channel, subdir, f"{stem}.json")
    return Path(base, subdir, f"{stem}.json")


# --------------------------------------------------------------------------------- artifacts


@dataclass(frozen=True)
class Artifact:
    """One build in a channel: its subdir and stem, and the file names listed for it.

    ``filenames`` is sorted with the ``.conda`` first; ``filename`` is the one
    read, ``size`` its size per repodata (None when repodata has none).
    """

    subdir: str
    stem: str
    name: str
    filenames: tuple[str, ...]
    size: int | None = None

    @property
    def filename(self) -> str:
        """The file read for this build: the ``.conda`` when listed, else the ``.tar.bz2``."""
        return self.filenames[0]

    @property
    def key(self) -> str:
        """``<subdir>/<stem>``: the build's identity in scan state."""
        return f"{self.subdir}/{self.stem}"

    @property
    def file_keys(self) -> tuple[str, ...]:
        """``<subdir>/<file>`` of every listed file of this build."""
        return tuple(f"{self.subdir}/{f}" for f in self.filenames)

    @property
    def version(self) -> str:
        """The version part of the stem."""
        return self.stem.rsplit("-", 2)[1]

    @property
    def build(self) -> str:
        """The build string part of the stem."""
        return self.stem.rsplit("-", 2)[2]


@dataclass
class Listing:
    """A subdir's artifacts (sorted by stem) and the repodata records that were refused."""

    subdir: str
    artifacts: list[Artifact] = field(default_factory=list)
    #: ``<subdir>/<file>`` -> why the record was refused (it is never counted as clean)
    problems: dict[str, str] = field(default_factory=dict)


def _record_problem(filename: str, record: Any, section: str) -> str:
    parts = split_filename(filename) if isinstance(filename, str) else None
    if parts is None:
        return "not a valid conda artifact file name (<name>-<version>-<build>.conda/.tar.bz2)"
    expected = ".tar.bz2" if section == "packages" else ".conda"
    if parts[1] != expected:
        return f"listed under {section!r} but does not end in {expected}"
    if not isinstance(record, dict):
        return "the repodata record is not an object"
    name = record.get("name")
    if name is not None and name != name_of_stem(parts[0]):
        return f"repodata name {str(name)[:100]!r} does not match the file name"
    size = record.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        return "repodata size is not a non-negative integer"
    return ""


def parse_repodata(
    fh: BinaryIO, subdir: str, keep: Callable[[str], bool] | None = None, where: str = ""
) -> Listing:
    """Stream a repodata.json file object into a ``Listing`` (three passes, constant memory).

    ``keep(stem)`` selects builds early (a shard), so unselected records cost
    nothing but parsing. Raises ``FetchError`` when the document is not JSON.
    """
    where = where or f"{subdir}/repodata.json"
    removed: set[str] = set()
    by_stem: dict[str, dict[str, int | None]] = {}
    listing = Listing(subdir)
    try:
        fh.seek(0)
        for item in ijson.items(fh, "removed.item"):
            if isinstance(item, str):
                removed.add(item)
        for section in ("packages", "packages.conda"):
            fh.seek(0)
            # ijson joins keys with '.', so the prefix "packages.conda" could also be
            # a file named "conda" under "packages"; the suffix check below refuses those.
            for filename, record in ijson.kvitems(fh, section, use_float=True):
                if filename in removed:
                    continue
                problem = _record_problem(filename, record, section)
                if problem:
                    listing.problems[f"{subdir}/{filename}"[:300]] = problem
                    continue
                stem, _ = split_filename(filename)  # type: ignore[misc]
                if keep is not None and not keep(stem):
                    continue
                size = record.get("size")
                by_stem.setdefault(stem, {})[filename] = size
    except ijson.JSONError as exc:
        raise FetchError(f"{where}: not valid JSON: {str(exc)[:200]}") from exc
    for stem in sorted(by_stem):
        files = by_stem[stem]
        names = tuple(sorted(files, key=lambda f: (not f.endswith(".conda"), f)))
        listing.artifacts.append(
            Artifact(subdir, stem, name_of_stem(stem), names, files[names[0]])  # type: ignore[arg-type]
        )
    return listing


# --------------------------------------------------------------------------------- HTTP


class _TimeoutSession(requests.Session):
    """A session whose requests always carry a timeout (LazyConda passes none)."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        """Send a request with the default timeout unless one is given."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


def make_session(
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = 0.5,
) -> requests.Session:
    """A ``requests.Session`` for channel reads: timeouts, bounded retries, no env credentials.

    Connection errors and 429/5xx answers to GET/HEAD are retried ``retries``
    times with exponential backoff (capped at 30 s; ``Retry-After`` is not
    obeyed so a server cannot stall a scan). ``trust_env`` is off: no
    ``.netrc`` credentials or proxies from the environment reach the channel.
    """
    session = _TimeoutSession(timeout)
    session.trust_env = False
    session.headers["User-Agent"] = f"artifact-validation/{__version__}"
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        backoff_max=30.0,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=False,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=32)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class TransferStats:
    """Bytes and requests sent over the network for artifacts (thread-safe counters)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes = 0
        self.requests = 0

    def add(self, nbytes: int, requests_: int = 0) -> None:
        """Count ``nbytes`` received and ``requests_`` requests made."""
        with self._lock:
            self.bytes += nbytes
            self.requests += requests_


class _RangeConda(LazyConda):
    """``LazyConda`` with every answer checked: 206 only, no more bytes than asked, bounded size.

    Upstream trusts the server: a 200 to a ranged request would be written as
    if it were the range, and the total size from ``Content-Range`` becomes a
    temporary file of that size. Here both are refused before any body is read,
    and the total must be the size repodata gives (when it gives one).
    """

    def __init__(
        self, url: str, session: requests.Session, size: int | None, stats: TransferStats
    ) -> None:
        self._expected = size
        self._stats = stats
        self._response: Any = None
        try:
            super().__init__(url, session)
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        if self._response is not None:
            self._response.close()
        if getattr(self, "_file", None) is not None:
            self._file.close()

    def truncate(self, size: int | None = None) -> int:
        """Size the local sparse copy; a size other than repodata's, or too large, is refused."""
        if size is not None and self._expected is not None and size != self._expected:
            raise ArtifactReadError(
                f"{self._url}: the server has {size} bytes, repodata says {self._expected}"
            )
        if size is not None and size > MAX_ARTIFACT_BYTES:
            raise LimitError(f"{self._url}: {size} bytes, more than {MAX_ARTIFACT_BYTES}")
        return super().truncate(size)

    def _stream_response(self, start: int | str, end: int, base_headers: Any = None) -> Any:
        kwargs = {} if base_headers is None else {"base_headers": base_headers}
        response = self._response = super()._stream_response(start, end, **kwargs)
        self._stats.add(0, 1)
        if response.status_code != 206:
            response.close()
            if response.status_code == 200 and start == "":
                raise HTTPRangeRequestUnsupported("range request is not supported")
            raise FetchError(f"{self._url}: HTTP {response.status_code} to a Range request")
        asked = end if start == "" else end - int(start) + 1
        length = response.headers.get("content-length", "")
        if not length.isdigit() or int(length) > asked:
            response.close()
            raise FetchError(
                f"{self._url}: a Range answer of {length or 'unknown'} bytes for {asked} asked"
            )
        self._stats.add(int(length))
        return response

    def close(self) -> None:
        """Close the last response and the local copy."""
        self._release()


# --------------------------------------------------------------------------------- readers


class Cancelled(ValidationError):
    """A read was stopped because the scan ran out of time; nothing was concluded."""


class _Bounded:
    """A read-only stream counted against a byte limit, stoppable between reads."""

    def __init__(
        self,
        raw: Any,
        limit: int,
        where: str,
        stats: TransferStats | None,
        stop: threading.Event | None,
    ) -> None:
        self._raw = raw
        self._limit = limit
        self._where = where
        self._stats = stats
        self._stop = stop
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes (a chunk when negative)."""
        if self._stop is not None and self._stop.is_set():
            raise Cancelled(f"{self._where}: stopped")
        data = self._raw.read(_CHUNK if n is None or n < 0 else n)
        self.count += len(data)
        if self._stats is not None:
            self._stats.add(len(data))
        if self.count > self._limit:
            raise LimitError(f"{self._where}: more than {self._limit} bytes")
        return data

    def readable(self) -> bool:
        """Always True."""
        return True


def _decode_paths_json(data: bytes, where: str) -> tuple[str, ...]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactReadError(f"{where}: info/paths.json is not valid JSON: {exc}") from exc
    paths = doc.get("paths") if isinstance(doc, dict) else None
    if not isinstance(paths, list):
        raise ArtifactReadError(f"{where}: info/paths.json must be an object with a 'paths' list")
    out = []
    for i, entry in enumerate(paths):
        path = entry.get("_path") if isinstance(entry, dict) else None
        if not isinstance(path, str) or not path:
            raise ArtifactReadError(f"{where}: info/paths.json paths[{i}] has no '_path' string")
        out.append(path)
    return tuple(out)


def _decode_files(data: bytes, where: str) -> tuple[str, ...]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactReadError(f"{where}: info/files is not UTF-8: {exc}") from exc
    return tuple(line for line in text.split("\n") if line.strip("\r"))


def file_list_from_archive(
    filename: str, fileobj: Any, where: str, stop: threading.Event | None = None
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
        with closing(members):  # type: ignore[type-var]
            for tar, member in members:
                if stop is not None and stop.is_set():
                    raise Cancelled(f"{where}: stopped")
                declared += member.size
                if declared > MAX_INFLATED_BYTES:
                    raise LimitError(f"{where}: inflates to more than {MAX_INFLATED_BYTES} bytes")
                name = member.name.removeprefix("./")
                if name not in ("info/paths.json", "info/files") or not member.isfile():
                    continue
                if member.size > MAX_METADATA_BYTES:
                    raise LimitError(
                        f"{where}: {name} is {member.size} bytes, more than {MAX_METADATA_BYTES}"
                    )
                fh = tar.extractfile(member)
                found[name] = fh.read() if fh is not None else b""
                if name == "info/paths.json":
                    break
    except ValidationError:
        raise
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise FetchError(f"{where}: {_describe(exc)}") from exc
    except PARSE_ERRORS as exc:
        raise ArtifactReadError(f"{where}: unreadable archive: {_describe(exc)}") from exc
    if "info/paths.json" in found:
        return _decode_paths_json(found["info/paths.json"], where)
    if "info/files" in found:
        return _decode_files(found["info/files"], where)
    raise ArtifactReadError(f"{where}: has neither info/paths.json nor info/files")


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."


# --------------------------------------------------------------------------------- channel


class Channel:
    """A channel in a directory or at an HTTP(S) URL; see the module docstring for the rules.

    ``file_lists``: a directory of libcfgraph file lists tried before the
    artifact. ``cache_dir``: where remote repodata is kept between runs
    (revalidated with ETag). ``session_factory`` makes one session per thread.
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        file_lists: str | os.PathLike[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        session_factory: Callable[[], requests.Session] = make_session,
    ) -> None:
        text = os.fspath(location)
        self.remote = "://" in text
        if self.remote:
            parts = urlsplit(text)
            host = parts.hostname or ""
            if parts.scheme not in ("https", "http") or not host:
                raise UsageError(f"{text}: the channel must be a directory or an https:// URL")
            if parts.scheme == "http" and not is_loopback_host(host):
                raise UsageError(f"{text}: plain http is allowed only for loopback; use https")
            if parts.username or parts.password or parts.query or parts.fragment:
                raise UsageError(f"{text}: the channel URL must not carry credentials or a query")
            self.location = text.rstrip("/")
        else:
            path = Path(text)
            if not path.is_dir():
                raise UsageError(f"{text}: channel directory does not exist")
            self.location = str(path)
        self.file_lists = Path(file_lists) if file_lists is not None else None
        if self.file_lists is not None and not self.file_lists.is_dir():
            raise UsageError(f"{self.file_lists}: file-list directory does not exist")
        self._libcfgraph = self.file_lists is not None and (self.file_lists / "artifacts").is_dir()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.stats = TransferStats()
        self._session_factory = session_factory
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        """This thread's HTTP session (sessions are not shared between threads)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._session_factory()
        return session

    def url_or_path(self, subdir: str, filename: str) -> str:
        """Where ``<subdir>/<filename>`` is: a URL for a remote channel, else a path."""
        if self.remote:
            return f"{self.location}/{subdir}/{quote(filename)}"
        return os.path.join(self.location, subdir, filename)

    # ---- repodata

    def listing(self, subdir: str, keep: Callable[[str], bool] | None = None) -> Listing:
        """The artifacts of ``subdir`` (see ``parse_repodata``); missing repodata is an error."""
        check_subdir(subdir)
        where = self.url_or_path(subdir, "repodata.json")
        if not self.remote:
            try:
                fh = open(where, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError as exc:
                raise UsageError(
                    f"{where}: no repodata.json; pass --subdir for the subdirs the channel has"
                ) from exc
            except OSError as exc:
                raise FetchError(f"{where}: cannot read: {exc.strerror or exc}") from exc
            with fh:
                return parse_repodata(fh, subdir, keep, where)
        with self._remote_repodata(subdir, where) as fh:
            return parse_repodata(fh, subdir, keep, where)

    def _repodata_cache(self, subdir: str) -> Path | None:
        if self.cache_dir is None:
            return None
        parts = urlsplit(self.location)
        host = parts.netloc.replace(":", "_")
        channel = parts.path.strip("/").replace("/", "_") or "_"
        return self.cache_dir / "repodata" / host / channel / f"{subdir}.json"

    def _remote_repodata(self, subdir: str, url: str) -> BinaryIO:
        """Download repodata to a file (revalidated by ETag when cached) and open it."""
        cached = self._repodata_cache(subdir)
        etag_path = cached.with_suffix(".etag") if cached is not None else None
        headers = {}
        if cached is not None and etag_path is not None and cached.is_file():
            if etag_path.is_file():
                headers["If-None-Match"] = etag_path.read_text(encoding="ascii").strip()
        try:
            response = self.session.get(url, headers=headers, stream=True)
        except requests.RequestException as exc:
            raise FetchError(f"{url}: {_describe(exc)}") from exc
        with response:
            if response.status_code == 304 and cached is not None:
                return open(cached, "rb")  # noqa: SIM115 - the caller closes it
            if response.status_code == 404:
                raise UsageError(f"{url}: no repodata.json (HTTP 404); check --channel/--subdir")
            if response.status_code != 200:
                raise FetchError(f"{url}: HTTP {response.status_code} after retries")
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
            out = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed or returned below
                prefix=".repodata-", dir=cached.parent if cached is not None else None, delete=False
            )
            try:
                response.raw.decode_content = True
                reader = _Bounded(response.raw, MAX_REPODATA_BYTES, url, None, None)
                shutil.copyfileobj(reader, out, _CHUNK)
                out.flush()
            except BaseException as exc:
                out.close()
                os.unlink(out.name)
                if isinstance(exc, requests.RequestException | OSError):
                    raise FetchError(f"{url}: download failed: {_describe(exc)}") from exc
                raise
            etag = response.headers.get("ETag", "")
        if cached is None or etag_path is None:
            out.seek(0)
            os.unlink(out.name)  # the open handle keeps the data until it is closed
            return out  # type: ignore[return-value]
        out.close()
        os.replace(out.name, cached)
        if etag and etag.isascii() and etag.isprintable():
            etag_path.write_text(etag, encoding="ascii")
        else:
            etag_path.unlink(missing_ok=True)
        return open(cached, "rb")  # noqa: SIM115 - the caller closes it

    # ---- file lists

    def file_list(self, artifact: Artifact, stop: threading.Event | None = None) -> FileList:
        """What ``artifact`` installs: from ``file_lists`` when it has it, else the artifact."""
        local = self.local_file_list(artifact)
        if local is not None:
            return local
        return self.artifact_file_list(artifact, stop)

    def local_file_list(self, artifact: Artifact) -> FileList | None:
        """The artifact's file list from the ``file_lists`` directory, or None when absent."""
        if self.file_lists is None:
            return None
        path = file_list_path(
            self.file_lists,
            artifact.name,
            artifact.subdir,
            artifact.stem,
            libcfgraph=self._libcfgraph,
        )
        try:
            file_list = load_file_list(path)
        except FileListError:
            if not path.is_file():
                return None
            raise
        if file_list.name != artifact.name:
            raise FileListError(
                f"{path}: index.name is {file_list.name!r}, but the artifact is {artifact.name!r}"
            )
        return file_list

    def artifact_file_list(
        self, artifact: Artifact, stop: threading.Event | None = None
    ) -> FileList:
        """What ``artifact`` installs, read from the artifact's own ``info/`` metadata."""
        where = self.url_or_path(artifact.subdir, artifact.filename)
        if not self.remote:
            paths = self._read_local(artifact, where, stop)
        elif artifact.filename.endswith(".conda"):
            paths = self._read_remote_conda(artifact, where, stop)
        else:
            paths = self._read_remote_tar_bz2(artifact, where, stop)
        index = {
            "name": artifact.name,
            "version": artifact.version,
            "build": artifact.build,
            "subdir": artifact.subdir,
        }
        return FileList(artifact.name, artifact.subdir, paths, index)

    def _read_local(
        self, artifact: Artifact, where: str, stop: threading.Event | None
    ) -> tuple[str, ...]:
        try:
            fh = open(where, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise FetchError(f"{where}: cannot open: {exc.strerror or exc}") from exc
        with fh:
            return file_list_from_archive(artifact.filename, fh, where, stop)

    def _max_size(self, artifact: Artifact) -> int:
        return artifact.size if artifact.size is not None else MAX_ARTIFACT_BYTES

    def _read_remote_conda(
        self, artifact: Artifact, url: str, stop: threading.Event | None
    ) -> tuple[str, ...]:
        try:
            lazy = _RangeConda(url, self.session, artifact.size, self.stats)
        except HTTPRangeRequestUnsupported:
            return self._read_downloaded(artifact, url, stop)
        except requests.RequestException as exc:
            raise FetchError(f"{url}: {_describe(exc)}") from exc
        try:
            try:
                lazy.prefetch(artifact.stem)
            except requests.RequestException as exc:
                raise FetchError(f"{url}: {_describe(exc)}") from exc
            except PARSE_ERRORS as exc:
                raise ArtifactReadError(f"{url}: unreadable archive: {_describe(exc)}") from exc
            return file_list_from_archive(artifact.filename, lazy, url, stop)
        finally:
            lazy.close()

    def _get(self, url: str) -> requests.Response:
        try:
            response = self.session.get(url, stream=True, headers={"Accept-Encoding": "identity"})
        except requests.RequestException as exc:
            raise FetchError(f"{url}: {_describe(exc)}") from exc
        self.stats.add(0, 1)
        if response.status_code != 200:
            response.close()
            raise FetchError(f"{url}: HTTP {response.status_code} after retries")
        return response

    def _read_remote_tar_bz2(
        self, artifact: Artifact, url: str, stop: threading.Event | None
    ) -> tuple[str, ...]:
        response = self._get(url)
        with response:
            raw = _Bounded(response.raw, self._max_size(artifact), url, self.stats, stop)
            return file_list_from_archive(artifact.filename, raw, url, stop)

    def _read_downloaded(
        self, artifact: Artifact, url: str, stop: threading.Event | None
    ) -> tuple[str, ...]:
        """The fallback for a server without Range support: download whole, then read."""
        response = self._get(url)
        with response, tempfile.TemporaryFile(prefix="artifact-") as tmp:
            raw = _Bounded(response.raw, self._max_size(artifact), url, self.stats, stop)
            try:
                shutil.copyfileobj(raw, tmp, _CHUNK)
            except requests.RequestException as exc:
                raise FetchError(f"{url}: download failed: {_describe(exc)}") from exc
            tmp.seek(0)
            return file_list_from_archive(artifact.filename, tmp, url, stop)


# --------------------------------------------------------------------------------- update_filters


def iter_file_lists(
    channel: Channel, names: Iterable[str], subdirs: Iterable[str] = DEFAULT_SUBDIRS
) -> Iterator[tuple[Artifact, FileList]]:
    """Every ``(artifact, file list)`` of the packages ``names`` in ``subdirs``, in order.

    For ``update_filters.py --channel URL``: fails closed, raising on the first
    refused repodata record of one of these names or artifact that cannot be
    read (a generated filter built from a partial view would be wrong).
    Ordered by subdir as given, then by stem.
    """
    wanted = set(names)
    for name in wanted:
        if not _NAME_RE.match(name):
            raise UsageError(f"package name {name!r} is not a valid conda package name")
    for subdir in subdirs:
        listing = channel.listing(subdir, keep=lambda stem: name_of_stem(stem) in wanted)
        for key, problem in sorted(listing.problems.items()):
            stem_name = name_of_stem(key.split("/", 1)[1])
            if stem_name in wanted:
                raise FetchError(f"{channel.location}/{key}: refused repodata record: {problem}")
        for artifact in listing.artifacts:
            yield artifact, channel.file_list(artifact)


class ChannelFileLists:
    """A live channel as a file-list source (the ``describe``/``file_lists(name)`` protocol).

    Lists every subdir once, for the ``names`` given up front, then serves
    ``file_lists(name)`` from that; a name not given up front is a ``UsageError``.
    """

    def __init__(
        self, channel: Channel, names: Iterable[str], subdirs: Iterable[str] = DEFAULT_SUBDIRS
    ) -> None:
        self.channel = channel
        self.names = frozenset(names)
        self.subdirs = tuple(subdirs)
        self._by_name: dict[str, list[FileList]] | None = None

    def describe(self) -> str:
        """The channel and the subdirs read."""
        return f"{self.channel.location} ({', '.join(self.subdirs)})"

    def file_lists(self, name: str) -> list[FileList]:
        """Every file list of package ``name`` in the channel (empty when it has none)."""
        if name not in self.names:
            raise UsageError(f"{name!r} was not among the names this channel source was made for")
        if self._by_name is None:
            by_name: dict[str, list[FileList]] = {n: [] for n in self.names}
            for artifact, file_list in iter_file_lists(self.channel, self.names, self.subdirs):
                by_name[artifact.name].append(file_list)
            self._by_name = by_name
        return list(self._by_name[name])
