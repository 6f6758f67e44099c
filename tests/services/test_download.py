"""Tests of ``artifact_validation.services.download`` against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
import time
from pathlib import Path

import pytest

from artifact_validation.archive import validate_artifact
from artifact_validation.core import FetchError, LimitError, UsageError
from artifact_validation.services import (
    DEFAULT_ALLOWED_HOSTS,
    Fetcher,
    RetryPolicy,
    allowed_hosts,
    is_loopback_host,
    is_url,
)
from tests.support.builders import build_package
from tests.support.servers import LocalServer, Reply

BODY = b"conda bytes " * 1000


def fetcher(**kw: object) -> Fetcher:
    """A fetcher allowing 127.0.0.1 that retries 3 times without sleeping."""
    policy = RetryPolicy(attempts=3, backoff=0.0, sleep=lambda _: None)
    args = {"allowed_hosts": allowed_hosts(["127.0.0.1"]), "policy": policy, **kw}
    return Fetcher(**args)  # type: ignore[arg-type]


def get(server: LocalServer, path: str, **kw: object) -> tuple[bytes, object]:
    """Download ``path`` from the server into memory; return the bytes and the result."""
    out = io.BytesIO()
    result = fetcher(**kw).download(server.url + path, out)
    return out.getvalue(), result


def test_success_hashes_the_body() -> None:
    """A plain 200 is saved whole, with its md5, sha256 and size."""
    with LocalServer() as server:
        server.route("/linux-64/a-1-0.conda", Reply(200, BODY))
        data, result = get(server, "/linux-64/a-1-0.conda")
    assert data == BODY
    assert result.size == len(BODY)  # type: ignore[attr-defined]
    assert result.md5 == hashlib.md5(BODY, usedforsecurity=False).hexdigest()  # type: ignore[attr-defined]
    assert result.sha256 == hashlib.sha256(BODY).hexdigest()  # type: ignore[attr-defined]


def test_redirect_on_the_list_is_followed() -> None:
    """A redirect to an allowed host is followed and re-checked."""
    with LocalServer() as server:
        server.route("/a.conda", Reply(302, headers={"Location": "/real/a.conda"}))
        server.route("/real/a.conda", Reply(200, BODY))
        data, result = get(server, "/a.conda")
    assert data == BODY
    assert result.url.endswith("/real/a.conda")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.example.com/a.conda",
        "http://localhost:1/a.conda",  # loopback, but not on the list
        "ftp://127.0.0.1/a.conda",
        "https://user:pw@127.0.0.1/a.conda",
    ],
)
def test_redirect_off_the_list_is_refused(location: str) -> None:
    """A redirect to a host off the list (or another scheme) fails at once, unretried."""
    with LocalServer() as server:
        server.route("/a.conda", Reply(301, headers={"Location": location}))
        with pytest.raises(FetchError, match="refusing the redirect"):
            get(server, "/a.conda")
        assert len(server.requests) == 1


def test_redirect_loop_is_bounded() -> None:
    """Endless redirects stop after max_redirects."""
    with LocalServer() as server:
        server.route("/a.conda", Reply(302, headers={"Location": "/a.conda"}))
        with pytest.raises(FetchError, match="redirects"):
            get(server, "/a.conda", max_redirects=3)
        assert len(server.requests) == 4


def test_500_then_200_is_retried() -> None:
    """A 5xx is retried and the next good answer wins."""
    with LocalServer() as server:
        server.route("/a.conda", Reply(500, b"oops"), Reply(503), Reply(200, BODY))
        data, _ = get(server, "/a.conda")
        assert len(server.requests) == 3
    assert data == BODY


def test_500_forever_fails_after_bounded_retries() -> None:
    """Retries are bounded: a server that keeps failing is a FetchError (exit 3)."""
    with LocalServer() as server:
        server.route("/a.conda", Reply(500))
        with pytest.raises(FetchError, match="after 3 attempts"):
            get(server, "/a.conda")
        assert len(server.requests) == 3


def test_404_is_not_retried() -> None:
    """A 404 is final: one request, then FetchError."""
    with LocalServer() as server:
        server.route("/a.conda", Reply(404, b"no"))
        with pytest.raises(FetchError, match="404"):
            get(server, "/a.conda")
        assert len(server.requests) == 1


def test_truncated_body_is_retried_then_fails() -> None:
    """A body shorter than its Content-Length is never saved as the artifact."""
    with LocalServer() as server:
        server.route("/a.conda", Reply(200, BODY[:100], declared_length=len(BODY)))
        with pytest.raises(FetchError, match="after 3 attempts"):
            get(server, "/a.conda")


def test_truncated_once_then_whole() -> None:
    """A truncated attempt is discarded; the retry's whole body is what is saved."""
    with LocalServer() as server:
        server.route(
            "/a.conda", Reply(200, BODY[:100], declared_length=len(BODY)), Reply(200, BODY)
        )
        data, result = get(server, "/a.conda")
    assert data == BODY
    assert result.sha256 == hashlib.sha256(BODY).hexdigest()  # type: ignore[attr-defined]


def test_body_over_the_limit() -> None:
    """A body announced or sent larger than max_size is a LimitError (exit 3), unretried."""
    with LocalServer() as server:
        server.route("/a.conda", Reply(200, BODY))
        with pytest.raises(LimitError, match="download limit"):
            get(server, "/a.conda", max_size=len(BODY) - 1)
        assert len(server.requests) == 1


def test_connection_refused_is_a_fetch_error() -> None:
    """Nobody listening: retried, then FetchError."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError, match="after 3 attempts"):
        fetcher().download(f"http://127.0.0.1:{port}/a.conda", io.BytesIO())


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://conda.anaconda.org/c/linux-64/a-1-0.conda", "plain http"),
        ("https://evil.example.com/c/linux-64/a-1-0.conda", "not on the download allow-list"),
        ("ftp://conda.anaconda.org/a-1-0.conda", "only https"),
        ("https://u:p@conda.anaconda.org/c/a-1-0.conda", "user name"),
        ("https://conda.anaconda.org/c/linux-64/", "file name"),
        ("https://conda.anaconda.org:99999/a.conda", "not a valid URL"),
        ("http://127.0.0.2/a.conda", "not on the download allow-list"),
    ],
)
def test_check_url_refuses(url: str, message: str) -> None:
    """URLs breaking the rules are usage errors (exit 2) that say why."""
    with pytest.raises(UsageError, match=message):
        Fetcher().check_url(url)


def test_check_url_accepts_defaults_and_loopback_http() -> None:
    """The default hosts over https, and plain http on an allowed loopback host, pass."""
    target = Fetcher().check_url("https://CONDA.anaconda.org/conda-forge/noarch/a-1-0.conda")
    assert (target.host, target.parent, target.filename) == (
        "conda.anaconda.org",
        "noarch",
        "a-1-0.conda",
    )
    assert fetcher().check_url("http://127.0.0.1:8/x/a-1-0.conda").filename == "a-1-0.conda"


def test_allowed_hosts_from_flags_and_env() -> None:
    """--allow-host and VALIDATE_ALLOWED_HOSTS extend the defaults; junk is refused."""
    hosts = allowed_hosts(["Mirror.Example.org"], " a.example , ,b.example")
    assert hosts >= set(DEFAULT_ALLOWED_HOSTS) | {"mirror.example.org", "a.example", "b.example"}
    with pytest.raises(UsageError, match="bare host name"):
        allowed_hosts(["https://x.example/"])


def test_helpers() -> None:
    """is_url tells URLs from paths; is_loopback_host knows loopback names and addresses."""
    assert is_url("https://x/a.conda") and is_url("HTTP://x") and not is_url("dir/a.conda")
    assert not is_url("C:\\pkgs\\a.conda")
    assert all(map(is_loopback_host, ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"]))
    assert not any(map(is_loopback_host, ["example.com", "10.0.0.1", "localhost.evil"]))


def test_validate_artifact_from_url(tmp_path: Path) -> None:
    """validate_artifact downloads, hashes in the same pass, and takes the subdir from the URL."""
    path = build_package(tmp_path / "linux-64", "zlib", {"lib/libz.so": b"z"}, fmt=".conda")
    raw = path.read_bytes()
    with LocalServer(tmp_path) as server:
        url = f"{server.url}/linux-64/{path.name}"
        verdict = validate_artifact(
            url,
            matcher=None,
            fetcher=fetcher(),
            expected_md5=hashlib.md5(raw, usedforsecurity=False).hexdigest(),
        )
        assert verdict.valid, verdict.to_json()
        assert verdict.sha256 == hashlib.sha256(raw).hexdigest()
        assert verdict.subdir == "linux-64" and verdict.source == url
        osx = tmp_path / "osx-64"
        osx.mkdir()
        (osx / path.name).write_bytes(raw)
        moved = validate_artifact(
            f"{server.url}/osx-64/{path.name}", matcher=None, fetcher=fetcher()
        )
        assert [f.code.name for f in moved.findings] == ["AV402"]


class _Drip(http.server.BaseHTTPRequestHandler):
    """Announces 1,000 bytes, then sends one every 0.1 s: each read is inside its timeout."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        for _ in range(1000):
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)


def test_a_dripping_server_meets_the_total_deadline() -> None:
    """One byte just inside each read timeout no longer keeps a download alive forever."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/linux-64/a-1-0.conda"
        started = time.monotonic()
        with pytest.raises(LimitError, match="download-deadline"):
            fetcher(deadline=1.0, read_timeout=5.0).download(url, io.BytesIO())
        assert time.monotonic() - started < 10
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, b"abc", {"Content-Length": "abc"}), "malformed Content-Length"),
        (Reply(200, b"abc", {"Content-Length": "-1"}), "malformed Content-Length"),
        (Reply(302, b"", {"Location": "/d/\xff\xfe-1-0.conda"}), "not valid UTF-8"),
    ],
)
def test_malformed_headers_are_named_errors(reply: Reply, message: str) -> None:
    """Bad Content-Length or a non-UTF-8 Location: a FetchError saying so, exit 3."""
    with LocalServer() as server:
        server.route("/linux-64/a-1-0.conda", reply)
        with pytest.raises(FetchError, match=message):
            get(server, "/linux-64/a-1-0.conda")


def test_refused_redirect_is_reported_without_its_query() -> None:
    """A redirect's query string (a presigned token, say) never reaches a report."""
    with LocalServer() as server:
        target = "https://evil.example/a-1-0.conda?X-Amz-Signature=s3cret"
        server.route("/linux-64/a-1-0.conda", Reply(302, headers={"Location": target}))
        with pytest.raises(FetchError) as err:
            get(server, "/linux-64/a-1-0.conda")
    assert "evil.example/a-1-0.conda" in str(err.value) and "s3cret" not in str(err.value)


@pytest.mark.parametrize("value", ["garbage", "Wed, 21 Oct 2015 07:28:00 GMT", "1e3"])
def test_odd_retry_after_is_survived(value: str) -> None:
    """A Retry-After that is not seconds is an HTTP date or ignored; the retry still happens."""
    with LocalServer() as server:
        server.route(
            "/linux-64/a-1-0.conda", Reply(503, headers={"Retry-After": value}), Reply(200, BODY)
        )
        data, _ = get(server, "/linux-64/a-1-0.conda")
    assert data == BODY


def test_retry_after_beyond_the_limit_says_so() -> None:
    """A server asking to wait longer than we accept fails at once, saying why."""
    with LocalServer() as server:
        server.route("/linux-64/a-1-0.conda", Reply(503, headers={"Retry-After": "99999"}))
        with pytest.raises(FetchError, match="asks to wait 99999 s"):
            get(server, "/linux-64/a-1-0.conda")
