"""One local server on 127.0.0.1 playing GitHub, anaconda.org and the ownership registry.

A hand-written fake (no mocks of our code): real HTTP on a loopback port in a
daemon thread, so ghapi, requests and subprocess entry points talk to it as to
the real services. Every request is recorded; failures are scriptable.

Usage::

    with FakeApi() as api:                       # or the ``fake_api`` fixture below
        api.github_url       # GITHUB_API_URL      -> http://127.0.0.1:PORT/github
        api.anaconda_url     # ANACONDA_API_URL    -> http://127.0.0.1:PORT/anaconda
        api.registry_url     # FEEDSTOCK_OUTPUTS_URL -> http://127.0.0.1:PORT/registry

Services and routes (paths below are relative to each service's URL):

GitHub (``/github``), state per ``"owner/name"`` repository, created on first
use with default branch ``main`` (``add_repo`` to choose):
    GET  /repos/{o}/{r}                              -> {"full_name", "default_branch"}
    GET  /repos/{o}/{r}/issues?state=&page=&per_page= (issues and PRs, like GitHub)
    POST /repos/{o}/{r}/issues                       {"title","body","labels"?} -> 201
    GET|PATCH /repos/{o}/{r}/issues/{n}              PATCH edits title/body/state
    GET|POST /repos/{o}/{r}/issues/{n}/comments      POST {"body"} -> 201
    GET  /search/issues?q=...                        exact `in:title "..."`, `repo:o/r`, `is:open`
    GET  /repos/{o}/{r}/git/ref/heads/{branch}       -> {"ref","object":{"sha"}} or 404
    POST /repos/{o}/{r}/git/refs                     {"ref","sha"} -> 201, 422 if it exists
    GET  /repos/{o}/{r}/branches/{branch}            -> {"name","commit":{"sha"}} or 404
    GET|PUT /repos/{o}/{r}/contents/{path}?ref=      base64 content; PUT needs "sha" to replace
    GET  /repos/{o}/{r}/pulls?state=&head=owner:branch
    POST /repos/{o}/{r}/pulls                        {"title","head","base","body"} -> 201
    POST /repos/{o}/{r}/dispatches                   -> 204
anaconda.org (``/anaconda``), dists keyed (owner, name, version, "subdir/file"):
    POST   /copy/package/{owner}/{name}/{version}/{subdir}/{file}  {"to_owner",...}
           -> 201 (copied), 404 (no source), 409 (already at to_owner)
    GET    /dist/{owner}/{name}/{version}/{subdir}/{file}          -> the record, or 404
    DELETE /dist/{owner}/{name}/{version}/{subdir}/{file}          -> 201, or 404
Registry (``/registry``): GET /outputs/{c1}/{c2}/{c3}/{name}.json -> {"feedstocks": [...]}
Artifacts themselves are served by ``tests/servers.py`` (``LocalServer``), not here.

Scripting and inspection:
    api.fail("POST", "/github/repos/*/issues", 502, times=2)  # then normal; times=None: forever
    api.fail("GET", "/github/*", 403, headers={"x-ratelimit-remaining": "0", ...})
    api.requests                  # [Request(service, method, path, query, headers, body)]
    api.requests_to("anaconda", "POST")  # filtered by service, method, fnmatch path
    api.github_repo("o/r").issues        # [{"number","title","body","state","comments": [...]}]
    api.add_dist(owner, name, version, "linux-64/f.conda", md5=..., sha256=...)
    api.register_output(name, ["feedstock"])  # the fake's own c1/c2/c3 rule, from ecosystem.md
    api.anaconda_tokens = {"conda-forge": "prod"}  # when set, copy/delete check the owner token
    api.github_token = "t"                         # when set, GitHub answers 401 to other tokens
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest


@dataclass(frozen=True)
class Request:
    """One request as the server received it (path unquoted, without the query string)."""

    service: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None


@dataclass
class _Failure:
    method: str
    pattern: str
    status: int
    remaining: int | None
    headers: dict[str, str]
    body: Any


@dataclass
class GitHubRepo:
    """The fake state of one repository: branches, files per branch, issues and pulls."""

    full_name: str
    default_branch: str = "main"
    refs: dict[str, str] = field(default_factory=dict)
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    #: the repository this one is a fork of ("" for none)
    parent: str = ""


class _Reply(Exception):  # noqa: N818 - control flow inside the handler only
    def __init__(self, status: int, doc: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status, self.doc, self.headers = status, doc, headers or {}


def shard_path(name: str) -> str:
    """The registry path of ``name``: the first three alphanumerics, padded with 'z'."""
    chars = [c for c in name if c.isalnum()]
    chars += ["z"] * (3 - len(chars))
    return f"outputs/{chars[0]}/{chars[1]}/{chars[2]}/{name}.json"


class FakeApi:
    """The local server and its state; see the module docstring for routes and helpers."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.repos: dict[str, GitHubRepo] = {}
        self.dists: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.registry: dict[str, Any] = {}
        #: the registry's config.json (None: absent) and allow-list (feedstock -> globs)
        self.registry_config: dict[str, Any] | None = {
            "outputs_path": "outputs",
            "shard_level": 3,
            "shard_fill": "z",
            "auto_register_all": False,
        }
        self.allowlist: dict[str, list[str]] = {}
        self.anaconda_tokens: dict[str, str] = {}
        #: called as (to_owner, source key) after each copy: tests swap bytes mid-chain
        self.on_copy: Any = None
        self.github_token: str | None = None
        #: token -> login of its account (also accepted when ``github_token`` is set); a token
        #: not listed is github-actions[bot]
        self.github_logins: dict[str, str] = {}
        self._failures: list[_Failure] = []
        self._numbers = itertools.count(1)
        self._shas = itertools.count(1)
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeApi:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server's base URL, ``http://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError("FakeApi is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def github_url(self) -> str:
        """Use as ``GITHUB_API_URL``."""
        return self.url + "/github"

    @property
    def anaconda_url(self) -> str:
        """Use as ``ANACONDA_API_URL``."""
        return self.url + "/anaconda"

    @property
    def registry_url(self) -> str:
        """Use as ``FEEDSTOCK_OUTPUTS_URL``."""
        return self.url + "/registry"

    # --- scripting ---------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        *,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer ``status`` to the next ``times`` requests matching (None: forever).

        ``method`` may be ``"*"``; ``pattern`` is an fnmatch glob on the full
        path (``/github/repos/o/r/issues``), where ``*`` also crosses ``/``.
        """
        with self.lock:
            self._failures.append(
                _Failure(
                    method.upper(),
                    pattern,
                    status,
                    times,
                    headers or {},
                    body if body is not None else {"message": f"scripted {status}"},
                )
            )

    def requests_to(
        self, service: str | None = None, method: str | None = None, path: str = "*"
    ) -> list[Request]:
        """Recorded requests filtered by service, method and an fnmatch glob on the path."""
        with self.lock:
            return [
                r
                for r in self.requests
                if (service is None or r.service == service)
                and (method is None or r.method == method.upper())
                and fnmatch.fnmatchcase(r.path, path)
            ]

    def add_repo(self, full_name: str, default_branch: str = "main") -> GitHubRepo:
        """Create (or return) a repository whose default branch has one commit."""
        with self.lock:
            repo = self.repos.get(full_name)
            if repo is None:
                repo = GitHubRepo(full_name, default_branch)
                repo.refs[default_branch] = self._sha()
                self.repos[full_name] = repo
            return repo

    def github_repo(self, full_name: str) -> GitHubRepo:
        """The state of ``full_name`` (created on first use like ``add_repo``)."""
        return self.add_repo(full_name)

    def add_issue(
        self,
        full_name: str,
        title: str,
        body: str = "",
        state: str = "open",
        author: str = "github-actions[bot]",
    ) -> int:
        """Pre-existing issue opened by ``author``; returns its number."""
        with self.lock:
            repo = self.github_repo(full_name)
            return self._new_issue(repo, title, body, state, author)["number"]

    def add_dist(
        self,
        owner: str,
        name: str,
        version: str,
        basename: str,
        *,
        md5: str,
        sha256: str = "",
        size: int = 0,
        labels: tuple[str, ...] = ("main",),
        upload_time: str = "2026-01-01T00:00:00+00:00",
    ) -> None:
        """Put a file record on anaconda.org (``basename`` is ``subdir/file``)."""
        with self.lock:
            self.dists[(owner, name, version, basename)] = {
                "basename": basename,
                "version": version,
                "md5": md5,
                "sha256": sha256,
                "size": size,
                "owner": owner,
                "labels": list(labels),
                "upload_time": upload_time,
            }

    def register_output(self, name: str, feedstocks: list[str]) -> None:
        """Register ``name`` for ``feedstocks`` in the ownership registry."""
        with self.lock:
            self.registry[shard_path(name)] = {"feedstocks": list(feedstocks)}

    def allow_globs(self, feedstock: str, globs: list[str]) -> None:
        """Add ``feedstock: globs`` to the registry's auto-registration allow-list."""
        with self.lock:
            self.allowlist[feedstock] = list(globs)

    # --- internals ----------------------------------------------------------------------------

    def _sha(self) -> str:
        return hashlib.sha1(str(next(self._shas)).encode(), usedforsecurity=False).hexdigest()

    def login_of(self, request: Request) -> str:
        """The login of the account whose token made ``request``."""
        token = request.headers.get("authorization", "").removeprefix("token ").strip()
        return self.github_logins.get(token, "github-actions[bot]")

    def _new_issue(
        self, repo: GitHubRepo, title: str, body: str, state: str, author: str
    ) -> dict[str, Any]:
        number = next(self._numbers)
        issue = {
            "number": number,
            "title": title,
            "body": body,
            "state": state,
            "user": {"login": author},
            "comments": [],
            "html_url": f"https://github.com/{repo.full_name}/issues/{number}",
        }
        repo.issues.append(issue)
        return issue

    def _scripted(self, method: str, path: str) -> _Failure | None:
        with self.lock:
            for failure in self._failures:
                if failure.remaining == 0:
                    continue
                if failure.method in ("*", method) and fnmatch.fnmatchcase(path, failure.pattern):
                    if failure.remaining is not None:
                        failure.remaining -= 1
                    return failure
        return None


class _Handler(BaseHTTPRequestHandler):
    api: FakeApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Keep test output quiet."""

    def _handle(self) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        service = path.split("/")[1] if path.count("/") >= 1 else ""
        request = Request(
            service,
            self.command,
            path,
            query,
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        with self.api.lock:
            self.api.requests.append(request)
        failure = self.api._scripted(self.command, path)
        try:
            if failure is not None:
                raise _Reply(failure.status, failure.body, failure.headers)
            sub = path[len(service) + 1 :]
            route = {
                "github": _github,
                "anaconda": _anaconda,
                "registry": _registry,
            }.get(service)
            if route is None:
                raise _Reply(404, {"message": "no such service"})
            with self.api.lock:
                route(self.api, request, sub, self)
        except _Reply as reply:
            self._send(reply.status, reply.doc, reply.headers)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def _send(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        raw = doc if isinstance(doc, bytes) else b"" if doc is None else json.dumps(doc).encode()
        self.send_response(status)
        if not isinstance(doc, bytes):
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)


def _json_body(request: Request) -> dict[str, Any]:
    try:
        doc = request.json()
    except ValueError as exc:
        raise _Reply(400, {"message": "Problems parsing JSON"}) from exc
    if not isinstance(doc, dict):
        raise _Reply(400, {"message": "Body must be a JSON object"})
    return doc


def _issue_json(issue: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in issue.items() if k != "comments"}
    out["comments"] = len(issue["comments"])
    return out


def _page(items: list[Any], query: dict[str, str]) -> list[Any]:
    per_page = int(query.get("per_page") or 30)
    page = int(query.get("page") or 1)
    return items[(page - 1) * per_page : page * per_page]


def _github(api: FakeApi, req: Request, path: str, _h: _Handler) -> None:
    accepted = {api.github_token, *api.github_logins}
    if (
        api.github_token is not None
        and req.headers.get("authorization", "").removeprefix("token ") not in accepted
    ):
        raise _Reply(401, {"message": "Bad credentials"})
    m, method = re.fullmatch, req.method
    if method == "GET" and path == "/user":
        raise _Reply(200, {"login": api.login_of(req)})
    if method == "GET" and path == "/search/issues":
        raise _Reply(200, _search(api, req.query.get("q", "")))
    match = m(r"/repos/([^/]+/[^/]+)(/.*)?", path)
    if not match:
        raise _Reply(404, {"message": "Not Found"})
    full = match.group(1)
    rest = match.group(2) or ""
    owner_login = full.split("/")[0]
    is_user = owner_login in {"github-actions[bot]", *api.github_logins.values()}
    if is_user and full not in api.repos:
        raise _Reply(404, {"message": "Not Found"})  # a user's fork exists once created
    repo = api.github_repo(full)
    if rest == "/forks" and method == "POST":
        login = api.login_of(req)
        fork_name = f"{login}/{full.split('/')[1]}"
        fork = api.repos.get(fork_name)
        if fork is None:
            fork = GitHubRepo(fork_name, repo.default_branch, parent=full)
            fork.refs = dict(repo.refs)
            fork.files = dict(repo.files)
            api.repos[fork_name] = fork
        raise _Reply(202, {"full_name": fork_name, "owner": {"login": login}})
    if rest == "/merge-upstream" and method == "POST":
        parent = api.repos.get(repo.parent) if repo.parent else None
        if parent is None:
            raise _Reply(422, {"message": "not a fork"})
        branch = str(_json_body(req).get("branch") or parent.default_branch)
        repo.refs[branch] = parent.refs[branch]
        raise _Reply(200, {"merge_type": "fast-forward", "base_branch": branch})
    if rest == "" and method == "GET":
        raise _Reply(200, {"full_name": repo.full_name, "default_branch": repo.default_branch})
    if rest == "/dispatches" and method == "POST":
        _json_body(req)
        raise _Reply(204)
    if rest == "/issues":
        if method == "GET":
            state = req.query.get("state", "open")
            items = [
                _issue_json(i) for i in repo.issues if state == "all" or i["state"] == state
            ] + [
                {**p, "pull_request": {"url": p["url"]}}
                for p in repo.pulls
                if state == "all" or p["state"] == state
            ]
            items.sort(key=lambda i: -i["number"])
            raise _Reply(200, _page(items, req.query))
        if method == "POST":
            doc = _json_body(req)
            if not isinstance(doc.get("title"), str) or not doc["title"]:
                raise _Reply(422, {"message": "title is missing"})
            body = str(doc.get("body") or "")
            issue = api._new_issue(repo, doc["title"], body, "open", api.login_of(req))
            raise _Reply(201, _issue_json(issue))
    if match := m(r"/issues/(\d+)(/comments)?", rest):
        issue = next((i for i in repo.issues if i["number"] == int(match.group(1))), None)
        if issue is None:
            raise _Reply(404, {"message": "Not Found"})
        if match.group(2):
            if method == "POST":
                comment = {"id": next(api._numbers), "body": _json_body(req).get("body", "")}
                issue["comments"].append(comment)
                raise _Reply(201, comment)
            if method == "GET":
                raise _Reply(200, _page(issue["comments"], req.query))
        elif method == "PATCH":
            doc = _json_body(req)
            for key in ("title", "body", "state"):
                if key in doc:
                    issue[key] = doc[key]
            raise _Reply(200, _issue_json(issue))
        elif method == "GET":
            raise _Reply(200, _issue_json(issue))
    if (match := m(r"/git/ref/heads/(.+)", rest)) and method == "GET":
        branch = match.group(1)
        if branch not in repo.refs:
            raise _Reply(404, {"message": "Not Found"})
        raise _Reply(
            200,
            {"ref": f"refs/heads/{branch}", "object": {"sha": repo.refs[branch], "type": "commit"}},
        )
    if (match := m(r"/branches/(.+)", rest)) and method == "GET":
        branch = match.group(1)
        if branch not in repo.refs:
            raise _Reply(404, {"message": "Branch not found"})
        raise _Reply(200, {"name": branch, "commit": {"sha": repo.refs[branch]}})
    if rest == "/git/refs" and method == "POST":
        doc = _json_body(req)
        ref, sha = doc.get("ref"), doc.get("sha")
        if not isinstance(ref, str) or not ref.startswith("refs/heads/") or not sha:
            raise _Reply(422, {"message": "ref and sha are required"})
        branch = ref.removeprefix("refs/heads/")
        if branch in repo.refs:
            raise _Reply(422, {"message": "Reference already exists"})
        repo.refs[branch] = str(sha)
        raise _Reply(201, {"ref": ref, "object": {"sha": sha, "type": "commit"}})
    if match := m(r"/contents/(.+)", rest):
        file_path = match.group(1)
        if method == "GET":
            branch = req.query.get("ref") or repo.default_branch
            data = repo.files.get((branch, file_path))
            if data is None:
                listing = [
                    {"type": "file", "name": p[len(file_path) + 1 :], "path": p}
                    for (b, p) in sorted(repo.files)
                    if b == branch
                    and p.startswith(file_path + "/")
                    and "/" not in p[len(file_path) + 1 :]
                ]
                if listing:
                    raise _Reply(200, listing)
                raise _Reply(404, {"message": "Not Found"})
            raise _Reply(200, _content_json(file_path, data))
        if method == "DELETE":
            doc = _json_body(req)
            branch = str(doc.get("branch") or repo.default_branch)
            old = repo.files.get((branch, file_path))
            if old is None:
                raise _Reply(404, {"message": "Not Found"})
            if doc.get("sha") != _blob_sha(old):
                raise _Reply(409, {"message": "sha does not match"})
            del repo.files[(branch, file_path)]
            repo.refs[branch] = api._sha()
            raise _Reply(200, {"commit": {"sha": repo.refs[branch]}})
        if method == "PUT":
            doc = _json_body(req)
            branch = str(doc.get("branch") or repo.default_branch)
            if branch not in repo.refs:
                raise _Reply(404, {"message": f"Branch {branch} not found"})
            if not isinstance(doc.get("message"), str) or not isinstance(doc.get("content"), str):
                raise _Reply(422, {"message": "message and content are required"})
            old = repo.files.get((branch, file_path))
            if old is not None and not doc.get("sha"):
                raise _Reply(422, {"message": '"sha" wasn\'t supplied.'})
            if old is not None and doc.get("sha") != _blob_sha(old):
                raise _Reply(409, {"message": f"{file_path} does not match {doc.get('sha')}"})
            if old is None and doc.get("sha"):
                raise _Reply(409, {"message": f"{file_path} does not exist any more"})
            data = base64.b64decode(doc["content"], validate=True)
            repo.files[(branch, file_path)] = data
            repo.refs[branch] = api._sha()
            status = 200 if old is not None else 201
            raise _Reply(
                status,
                {"content": _content_json(file_path, data), "commit": {"sha": repo.refs[branch]}},
            )
    if rest == "/pulls":
        if method == "GET":
            state, head = req.query.get("state", "open"), req.query.get("head")
            owner = repo.full_name.split("/")[0]
            items = [
                p
                for p in repo.pulls
                if (state == "all" or p["state"] == state)
                and (head is None or p["head"].get("label", f"{owner}:{p['head']['ref']}") == head)
            ]
            raise _Reply(200, _page(items, req.query))
        if method == "POST":
            doc = _json_body(req)
            head, base = str(doc.get("head")), doc.get("base")
            head_owner, _, head_ref = head.rpartition(":")
            source = api.repos.get(f"{head_owner}/{full.split('/')[1]}") if head_owner else repo
            if source is None or head_ref not in source.refs or base not in repo.refs:
                raise _Reply(422, {"message": "Validation Failed: head or base does not exist"})
            if any(
                p["head"].get("label") == (head if head_owner else f"{owner}:{head}")
                and p["state"] == "open"
                for p in repo.pulls
            ):
                raise _Reply(422, {"message": "A pull request already exists"})
            number = next(api._numbers)
            pull = {
                "number": number,
                "title": doc.get("title"),
                "body": doc.get("body"),
                "state": "open",
                "head": {"ref": head_ref, "label": head if head_owner else f"{owner}:{head}"},
                "maintainer_can_modify": bool(doc.get("maintainer_can_modify")),
                "base": {"ref": base},
                "url": f"{api.github_url}/repos/{repo.full_name}/pulls/{number}",
                "html_url": f"https://github.com/{repo.full_name}/pull/{number}",
            }
            repo.pulls.append(pull)
            raise _Reply(201, pull)
    raise _Reply(404, {"message": "Not Found"})


def _blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _content_json(path: str, data: bytes) -> dict[str, Any]:
    return {
        "type": "file",
        "path": path,
        "sha": _blob_sha(data),
        "encoding": "base64",
        "content": base64.b64encode(data).decode(),
    }


def _search(api: FakeApi, q: str) -> dict[str, Any]:
    title = re.search(r'"([^"]*)"\s+in:title|in:title\s+"([^"]*)"', q)
    wanted = (title.group(1) or title.group(2)) if title else None
    repo_name = re.search(r"repo:(\S+)", q)
    items = []
    for name, repo in api.repos.items():
        if repo_name and repo_name.group(1) != name:
            continue
        for issue in repo.issues:
            if "is:open" in q and issue["state"] != "open":
                continue
            if wanted is not None and wanted not in issue["title"]:
                continue
            items.append(_issue_json(issue))
    return {"total_count": len(items), "incomplete_results": False, "items": items}


def _anaconda(api: FakeApi, req: Request, path: str, _h: _Handler) -> None:
    parts = path.strip("/").split("/")
    if len(parts) == 7 and parts[:2] == ["copy", "package"] and req.method == "POST":
        owner, name, version, subdir, fn = parts[2:]
        key = (owner, name, version, f"{subdir}/{fn}")
        doc = _json_body(req)
        to_owner = doc.get("to_owner")
        if not isinstance(to_owner, str) or not to_owner:
            raise _Reply(400, {"error": "to_owner is required"})
        _check_token(api, req, to_owner)
        source = api.dists.get(key)
        from_label = str(doc.get("from_channel") or "main")
        if source is None or from_label not in source.get("labels", ["main"]):
            raise _Reply(404, {"error": "file not found"})
        target = (to_owner, *key[1:])
        if target in api.dists:
            raise _Reply(409, {"error": "file already exists"})
        to_label = str(doc.get("to_channel") or "main")
        api.dists[target] = {**source, "owner": to_owner, "labels": [to_label]}
        if api.on_copy is not None:
            api.on_copy(to_owner, key)
        raise _Reply(201, [api.dists[target]])
    if parts[0] == "channels" and req.method == "GET" and len(parts) in (2, 3):
        owner = parts[1]
        files = [d for (o, *_), d in sorted(api.dists.items()) if o == owner]
        if len(parts) == 2:
            labels = sorted({label for d in files for label in d.get("labels", ["main"])})
            raise _Reply(200, {label: {"is_locked": False} for label in labels})
        on_label = [d for d in files if parts[2] in d.get("labels", ["main"])]
        raise _Reply(200, {"is_locked": False, "files": on_label})
    if len(parts) == 6 and parts[0] == "dist":
        owner, name, version, subdir, fn = parts[1:]
        key = (owner, name, version, f"{subdir}/{fn}")
        if req.method == "GET":
            if key not in api.dists:
                raise _Reply(404, {"error": "file not found"})
            raise _Reply(200, api.dists[key])
        if req.method == "DELETE":
            _check_token(api, req, owner)
            if api.dists.pop(key, None) is None:
                raise _Reply(404, {"error": "file not found"})
            raise _Reply(201, {})
    raise _Reply(404, {"error": "not found"})


def _check_token(api: FakeApi, req: Request, owner: str) -> None:
    wanted = api.anaconda_tokens.get(owner)
    if wanted is not None and req.headers.get("authorization") != f"token {wanted}":
        raise _Reply(401, {"error": f"bad token for {owner}"})


def _registry(api: FakeApi, req: Request, path: str, _h: _Handler) -> None:
    name = path.lstrip("/")
    if req.method == "GET" and name == "config.json" and api.registry_config is not None:
        raise _Reply(200, api.registry_config)
    if req.method == "GET" and name == "feedstock_outputs_autoreg_allowlist.yml":
        text = "".join(
            f"{f}:\n" + "".join(f"  - '{g}'\n" for g in gs) for f, gs in api.allowlist.items()
        )
        raise _Reply(200, text.encode())
    doc = api.registry.get(name)
    if req.method != "GET" or doc is None:
        raise _Reply(404, b"404: Not Found")
    raise _Reply(200, doc)


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    """A started ``FakeApi``, stopped after the test."""
    with FakeApi() as api:
        yield api
