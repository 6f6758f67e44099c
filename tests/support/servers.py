"""A local HTTP server for tests: serves a directory (with Range requests) and scripted replies.

Stable API, shared by the artifact, scan and workflow tests (issue 4 owns it;
extend it backwards-compatibly)::

    with LocalServer(root=tmp_path) as server:      # root is optional
        server.route("/flaky.conda", Reply(500), Reply(200, body=data))
        requests.get(server.url + "/linux-64/a.conda")   # a file under root
        server.requests                                # [(method, path, headers), ...]

- Binds ``127.0.0.1`` on port 0 in a daemon thread; ``server.url`` is
  ``http://127.0.0.1:<port>`` (no trailing slash), ``server.host`` the host name.
- ``GET``/``HEAD`` of a file under ``root`` answers 200 with ``Content-Length`` and
  ``Accept-Ranges: bytes``; a ``Range: bytes=a-b`` / ``a-`` / ``-n`` header (one range)
  answers 206 with ``Content-Range``, an unsatisfiable one 416. Paths escaping ``root``
  and missing files answer 404.
- ``route(path, *replies)`` scripts the answers to ``path`` (query string ignored):
  each request takes the next ``Reply``, the last one repeats. Routes win over ``root``.
  ``Reply(status=200, body=b"", headers={}, declared_length=None)``: ``declared_length``
  larger than the body sends that ``Content-Length`` and closes early (a truncated body).
  Any method is answered from routes, so fake APIs can script ``POST`` replies too;
  ``server.bodies`` holds the request bodies in order.
- ``server.bytes_sent`` counts the response body bytes written, ``server.sent_by_path``
  the same per request path (query string ignored), e.g. to show a Range read is small.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit


@dataclass
class Reply:
    """One scripted HTTP answer; ``declared_length`` > ``len(body)`` truncates the body."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    declared_length: int | None = None


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.owner.requests.append((self.command, self.path, dict(self.headers)))
            self.server.owner.bodies.append(body)

    def _send(self, reply: Reply, head: bool = False) -> None:
        self.send_response(reply.status)
        length = len(reply.body) if reply.declared_length is None else reply.declared_length
        headers = {"Content-Length": str(length), **reply.headers}
        for key, value in headers.items():
            self.send_header(key, value)
        truncated = length > len(reply.body)
        if truncated:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(reply.body)
            self.wfile.flush()
            owner = self.server.owner
            with self.server.lock:
                owner.bytes_sent += len(reply.body)
                path = urlsplit(self.path).path
                owner.sent_by_path[path] = owner.sent_by_path.get(path, 0) + len(reply.body)
        if truncated:
            self.close_connection = True

    def _handle(self) -> None:
        self._record()
        path = urlsplit(self.path).path
        scripted = self.server.owner.next_reply(path)
        if scripted is not None:
            self._send(scripted, head=self.command == "HEAD")
            return
        if self.command not in ("GET", "HEAD"):
            self._send(Reply(405, b"method not allowed"))
            return
        self._send(self._file_reply(path), head=self.command == "HEAD")

    def _file_reply(self, path: str) -> Reply:
        root = self.server.owner.root
        if root is None:
            return Reply(404, b"not found")
        target = (root / unquote(path).lstrip("/")).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return Reply(404, b"not found")
        data = target.read_bytes()
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        spec = self.headers.get("Range")
        if not spec:
            return Reply(200, data, headers)
        match = _RANGE.match(spec.strip())
        size = len(data)
        if match is None or match.groups() == ("", ""):
            return Reply(416, b"", {"Content-Range": f"bytes */{size}"})
        first, last = match.groups()
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            return Reply(416, b"", {"Content-Range": f"bytes */{size}"})
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return Reply(206, data[start : end + 1], headers)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: LocalServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner
        self.lock = threading.Lock()


class LocalServer:
    """A throwaway HTTP server on 127.0.0.1 serving ``root`` and scripted routes."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root.resolve() if root is not None else None
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.bodies: list[bytes] = []
        self.bytes_sent = 0
        self.sent_by_path: dict[str, int] = {}
        self._routes: dict[str, list[Reply]] = {}
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def route(self, path: str, *replies: Reply) -> None:
        """Answer requests to ``path`` with ``replies`` in turn; the last one repeats."""
        if not replies:
            raise ValueError("route() needs at least one Reply")
        self._routes[path] = list(replies)

    def next_reply(self, path: str) -> Reply | None:
        """The scripted reply for ``path``, or None to serve from ``root``."""
        replies = self._routes.get(path)
        if not replies:
            return None
        return replies.pop(0) if len(replies) > 1 else replies[0]

    @property
    def host(self) -> str:
        """The host name to allow-list: ``127.0.0.1``."""
        return "127.0.0.1"

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>``, without a trailing slash."""
        if self._httpd is None:
            raise RuntimeError("the server is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> LocalServer:
        self._httpd = _Server(self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
