"""A conda channel: its repodata (a local dir or HTTP) and each artifact's file list, read cheaply.

Usage rules:

- ``Channel(location)`` takes a directory or an ``https://`` URL (plain
  ``http://`` only for a loopback host). Nothing is fetched until asked.
- ``channel.subdirs()`` is what the channel publishes: the ``subdirs`` of its
  ``channeldata.json`` (a directory without one: its subdirectories that hold
  a ``repodata.json``), so a subdir added later (``win-arm64``) is scanned
  without a code change. A name that is not a subdir is a ``FetchError``.
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

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlsplit

import ijson
import requests

from artifact_validation.archive.formats import PARSE_ERRORS
from artifact_validation.channel.reader import file_list_from_archive
from artifact_validation.channel.repodata import Artifact, Listing, parse_repodata
from artifact_validation.channel.transport import (
    CHUNK,
    Bounded,
    HTTPRangeRequestUnsupported,
    RangeConda,
    TransferStats,
)
from artifact_validation.core.conda import check_subdir
from artifact_validation.core.errors import (
    ArtifactReadError,
    FetchError,
    FileListError,
    UsageError,
    describe,
)
from artifact_validation.core.filelist import (
    FileList,
    file_list_path,
    is_libcfgraph,
    load_file_list,
)
from artifact_validation.core.limits import DEFAULT_LIMITS, Limits
from artifact_validation.services.download import is_loopback_host
from artifact_validation.services.http import make_session
from artifact_validation.services.retry import channel_policy


def _channel_session() -> requests.Session:
    """A session for channel reads: retries in the transport (``retry.channel_policy``)."""
    return make_session(transport_retry=channel_policy(), pool_maxsize=32)


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
        session_factory: Callable[[], requests.Session] | None = None,
        limits: Limits = DEFAULT_LIMITS,
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
        self._libcfgraph = self.file_lists is not None and is_libcfgraph(self.file_lists)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.stats = TransferStats()
        self._session_factory = session_factory or _channel_session
        self.limits = limits
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

    def subdirs(self) -> tuple[str, ...]:
        """The subdirs the channel publishes, sorted (see the module docstring)."""
        where = (
            f"{self.location}/channeldata.json"
            if self.remote
            else os.path.join(self.location, "channeldata.json")
        )
        if not self.remote:
            root = Path(self.location)
            if not (root / "channeldata.json").is_file():
                found = sorted(p.parent.name for p in root.glob("*/repodata.json"))
                return self._checked_subdirs(found, f"{root}/*/repodata.json")
            with open(root / "channeldata.json", "rb") as fh:
                return self._checked_subdirs(_subdirs_of(fh, where), where)
        missing = f"{where}: no channeldata.json (HTTP 404); pass --subdir"
        with self._remote_cached("channeldata", where, missing) as fh:
            return self._checked_subdirs(_subdirs_of(fh, where), where)

    @staticmethod
    def _checked_subdirs(names: list[str], where: str) -> tuple[str, ...]:
        out = []
        for name in names:
            try:
                out.append(check_subdir(name))
            except UsageError as exc:
                raise FetchError(f"{where}: {str(name)[:80]!r} is not a subdir") from exc
        if not out:
            raise FetchError(f"{where}: the channel lists no subdir")
        return tuple(sorted(set(out)))

    def listing(self, subdir: str, keep: Callable[[str], bool] | None = None) -> Listing:
        """The artifacts of ``subdir`` (see ``parse_repodata``); missing repodata is an error."""
        check_subdir(subdir)
        where = self.url_or_path(subdir, "repodata.json")
        if not self.remote:
            try:
                fh: BinaryIO = open(where, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError as exc:
                raise UsageError(
                    f"{where}: no repodata.json; pass --subdir for the subdirs the channel has"
                ) from exc
            except OSError as exc:
                raise FetchError(f"{where}: cannot read: {exc.strerror or exc}") from exc
            with fh:
                return parse_repodata(fh, subdir, keep, where)
        missing = f"{where}: no repodata.json (HTTP 404); check --channel/--subdir"
        with self._remote_cached(subdir, where, missing) as fh:
            return parse_repodata(fh, subdir, keep, where)

    def _repodata_cache(self, name: str) -> Path | None:
        if self.cache_dir is None:
            return None
        parts = urlsplit(self.location)
        host = parts.netloc.replace(":", "_")
        channel = parts.path.strip("/").replace("/", "_") or "_"
        return self.cache_dir / "repodata" / host / channel / f"{name}.json"

    def _remote_cached(self, name: str, url: str, missing: str) -> BinaryIO:
        """Download ``url`` to a file (revalidated by ETag when cached as ``name``), open it."""
        cached = self._repodata_cache(name)
        etag_path = cached.with_suffix(".etag") if cached is not None else None
        headers = {}
        if cached is not None and etag_path is not None and cached.is_file():
            if etag_path.is_file():
                headers["If-None-Match"] = etag_path.read_text(encoding="ascii").strip()
        try:
            response = self.session.get(url, headers=headers, stream=True)
        except requests.RequestException as exc:
            raise FetchError(f"{url}: {describe(exc)}") from exc
        with response:
            if response.status_code == 304 and cached is not None:
                return open(cached, "rb")  # noqa: SIM115 - the caller closes it
            if response.status_code == 404:
                raise UsageError(missing)
            if response.status_code != 200:
                raise FetchError(f"{url}: HTTP {response.status_code} after retries")
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
            out = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed or returned below
                prefix=".repodata-", dir=cached.parent if cached is not None else None, delete=False
            )
            try:
                response.raw.decode_content = True
                reader = Bounded(response.raw, self.limits.max_repodata_size, url, None, None)
                shutil.copyfileobj(reader, out, CHUNK)
                out.flush()
            except BaseException as exc:
                out.close()
                os.unlink(out.name)
                if isinstance(exc, requests.RequestException | OSError):
                    raise FetchError(f"{url}: download failed: {describe(exc)}") from exc
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
            return file_list_from_archive(artifact.filename, fh, where, stop, self.limits)

    def _max_size(self, artifact: Artifact) -> int:
        return artifact.size if artifact.size is not None else self.limits.max_download_size

    def _read_remote_conda(
        self, artifact: Artifact, url: str, stop: threading.Event | None
    ) -> tuple[str, ...]:
        try:
            lazy = RangeConda(
                url, self.session, artifact.size, self.stats, self.limits.max_download_size
            )
        except HTTPRangeRequestUnsupported:
            return self._read_downloaded(artifact, url, stop)
        except requests.RequestException as exc:
            raise FetchError(f"{url}: {describe(exc)}") from exc
        try:
            try:
                lazy.prefetch(artifact.stem)
            except requests.RequestException as exc:
                raise FetchError(f"{url}: {describe(exc)}") from exc
            except PARSE_ERRORS as exc:
                raise ArtifactReadError(f"{url}: unreadable archive: {describe(exc)}") from exc
            return file_list_from_archive(artifact.filename, lazy, url, stop, self.limits)
        finally:
            lazy.close()

    def _get(self, url: str) -> requests.Response:
        try:
            response = self.session.get(url, stream=True, headers={"Accept-Encoding": "identity"})
        except requests.RequestException as exc:
            raise FetchError(f"{url}: {describe(exc)}") from exc
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
            raw = Bounded(response.raw, self._max_size(artifact), url, self.stats, stop)
            return file_list_from_archive(artifact.filename, raw, url, stop, self.limits)

    def _read_downloaded(
        self, artifact: Artifact, url: str, stop: threading.Event | None
    ) -> tuple[str, ...]:
        """The fallback for a server without Range support: download whole, then read."""
        response = self._get(url)
        with response, tempfile.TemporaryFile(prefix="artifact-") as tmp:
            raw = Bounded(response.raw, self._max_size(artifact), url, self.stats, stop)
            try:
                shutil.copyfileobj(raw, tmp, CHUNK)
            except requests.RequestException as exc:
                raise FetchError(f"{url}: download failed: {describe(exc)}") from exc
            tmp.seek(0)
            return file_list_from_archive(artifact.filename, tmp, url, stop, self.limits)


def _subdirs_of(fh: BinaryIO, where: str) -> list[str]:
    """The ``subdirs`` list of a channeldata.json, streamed (the file is large)."""
    try:
        names = list(ijson.items(fh, "subdirs.item"))
    except ijson.JSONError as exc:
        raise FetchError(f"{where}: not valid JSON: {str(exc)[:200]}") from exc
    if not all(isinstance(n, str) for n in names):
        raise FetchError(f"{where}: subdirs must be a list of names")
    return names
