"""The one GitHub client: issues, comments, branches, contents and pull requests, with retries.

Every GitHub call of the project goes through ``GitHub`` (ghapi underneath,
``GITHUB_API_URL`` as its base). Each call retries 5xx answers, dropped
connections and rate limits (403/429 with ``Retry-After`` or
``x-ratelimit-remaining: 0``) with backoff, then fails closed with
``ApiError`` / ``HttpStatusError`` (exit 3). Usage::

    gh = GitHub(api_url, token)                      # retry=RetryPolicy(sleep=...) in tests
    number, created = gh.open_or_comment_issue("conda-forge/foo-feedstock", title, body)
    branch, sha = gh.default_branch_head("conda-forge/admin-requests")
    if not gh.branch_exists(repo, "foo-1a2b3c4d"):
        gh.create_branch(repo, "foo-1a2b3c4d", sha)
        gh.put_file(repo, "foo-1a2b3c4d", "requests/foo.yml", text, "mark foo broken")
        pull = gh.create_pull(repo, "foo-1a2b3c4d", branch, title, body)
        # pull == {"number": 7, "url": "https://github.com/...", "head_branch": "foo-1a2b3c4d"}

``repo`` is always ``"owner/name"``. Writes are not idempotent on GitHub's
side: a 5xx after GitHub acted can, on retry, create a second comment; the
open-issue lookup runs before every write so re-runs never open a second issue.
"""

from __future__ import annotations

import base64
import functools
import re
import ssl
import urllib.error
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx2
from fasttransport.errors import APIError as GhApiStatusError
from ghapi.all import GhApi

from artifact_validation.core.errors import HttpStatusError, UsageError
from artifact_validation.core.redact import redact_data
from artifact_validation.services.retry import AttemptFailed, RetryPolicy, with_retries

#: GitHub's public API base, the default of ``GITHUB_API_URL``.
DEFAULT_API_URL = "https://api.github.com"

#: Issue listing pages read when looking for an open issue by title (100 issues per page).
MAX_ISSUE_PAGES = 10

_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_BRANCH_RE = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)[A-Za-z0-9_./+-]+(?<![/.])$")


def valid_repo(repo: str) -> bool:
    """Whether ``repo`` looks like ``owner/name``."""
    return isinstance(repo, str) and _REPO_RE.match(repo) is not None


def split_repo(repo: str) -> tuple[str, str]:
    if not isinstance(repo, str) or not _REPO_RE.match(repo):
        raise UsageError(f"repository {repo!r} must look like 'owner/name'")
    owner, name = repo.split("/")
    return owner, name


def check_branch(branch: str) -> str:
    if not isinstance(branch, str) or not _BRANCH_RE.match(branch):
        raise UsageError(f"branch name {branch!r} is not a valid git branch name")
    return branch


def _plain(value: Any) -> Any:
    """ghapi's AttrDict / fastcore ``L`` answers as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, str | bytes) or value is None:
        return value
    if isinstance(value, Iterable):
        return [_plain(v) for v in value]
    return value


def _failure(exc: Exception) -> AttemptFailed:
    """Turn whatever ghapi's transport raised into one retry signal (status None: no answer)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(exc, "status_code", None)
    if isinstance(exc, urllib.error.HTTPError):  # ghapi 1.x transport
        status, headers = exc.code, dict(exc.headers or {})
    else:
        headers = dict(getattr(response, "headers", None) or {})
    message = str(getattr(exc, "message", "") or exc).splitlines()[0][:300]
    if isinstance(response, httpx2.Response):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            message = body["message"][:300]
    return AttemptFailed(message, status if isinstance(status, int) else None, headers)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The default verifying SSL context, built once per process."""
    return ssl.create_default_context()


class GitHub:
    """A GitHub REST client for the few calls this project makes; every call retries, then raises.

    ``token`` may be empty for anonymous reads. ``retry`` bounds attempts and
    backoff; tests pass ``RetryPolicy(sleep=lambda s: None)``.
    """

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        token: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._token = token or None
        self._timeout = timeout
        self._ghapi: GhApi | None = None

    @property
    def _api(self) -> GhApi:
        # Built on first use: GhApi compiles GitHub's whole OpenAPI surface (~0.5 s), which a
        # run that never talks to GitHub (dry runs, malformed input) should not pay.
        if self._ghapi is None:
            self._ghapi = GhApi(
                token=self._token,
                gh_host=self.api_url,
                sync=True,
                authenticate=bool(self._token),
                timeout=self._timeout,
            )
            # Retries are ours (bounded, injectable sleep); the transport's own sleep unseen.
            transport = getattr(self._ghapi, "transport", None)
            if transport is not None:
                transport.retries = 0
                # The transport opens a client per request; one SSL context for all of them
                # spares loading the CA bundle again (~90 ms) for every single request.
                transport.verify = _ssl_context()
        return self._ghapi

    def request(
        self,
        what: str,
        verb: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> Any:
        """One REST call (``path`` already quoted, relative to the API base), with retries.

        Returns the decoded JSON (None for an empty body). Raises
        ``HttpStatusError`` for a final status and ``ApiError`` when no
        answer came back; ``what`` starts the message.
        """

        data = redact_data(data)  # a token quoted in an error must not reach an issue

        def attempt() -> Any:
            try:
                return _plain(self._api(path, verb, query=query, data=data))
            except (httpx2.HTTPError, GhApiStatusError, urllib.error.URLError, OSError) as exc:
                raise _failure(exc) from exc

        return with_retries(attempt, self.retry, what)

    def pages(self, what: str, path: str, query: Mapping[str, Any]) -> Iterator[list[Any]]:
        """GET ``path`` page by page (100 a page, at most ``MAX_ISSUE_PAGES``), each a list;
        an answer that is not a list is an ``HttpStatusError``."""
        for page in range(1, MAX_ISSUE_PAGES + 1):
            items = self.request(what, "GET", path, query={**query, "per_page": 100, "page": page})
            if not isinstance(items, list):
                raise HttpStatusError(f"{what}: unexpected answer", 200)
            yield items
            if len(items) < 100:
                return

    # --- issues -----------------------------------------------------------------------------

    def find_open_issue(self, repo: str, title: str) -> int | None:
        """The number of the oldest open issue (not PR) titled exactly ``title``, or None."""
        owner, name = split_repo(repo)
        found: list[int] = []
        for items in self.pages(
            f"listing open issues of {repo}", f"/repos/{owner}/{name}/issues", {"state": "open"}
        ):
            found += [
                int(item["number"])
                for item in items
                if isinstance(item, dict)
                and item.get("title") == title
                and "pull_request" not in item
                and isinstance(item.get("number"), int)
            ]
        return min(found) if found else None

    def issues(self, repo: str, state: str = "all") -> list[Issue]:
        """Every issue (not pull request) of ``repo`` in ``state``, newest first."""
        owner, name = split_repo(repo)
        found: list[Issue] = []
        for items in self.pages(
            f"listing issues of {repo}", f"/repos/{owner}/{name}/issues", {"state": state}
        ):
            found += [_issue(item) for item in items if _is_issue(item)]
        return found

    def find_issues(self, repo: str, title: str, authors: Iterable[str]) -> list[Issue]:
        """Issues titled exactly ``title`` opened by one of ``authors``, open or closed,
        oldest first. An issue someone else opened with that title is never ours."""
        wanted = {a.lower() for a in authors}
        matches = [i for i in self.issues(repo) if i.title == title and i.author.lower() in wanted]
        return sorted(matches, key=lambda i: i.number)

    def set_issue_state(self, repo: str, number: int, state: str) -> None:
        """Reopen (``open``) or close (``closed``) issue ``number``."""
        owner, name = split_repo(repo)
        self.request(
            f"setting {repo}#{number} {state}",
            "PATCH",
            f"/repos/{owner}/{name}/issues/{int(number)}",
            data={"state": state},
        )

    def dispatch(self, repo: str, event_type: str, payload: dict[str, Any]) -> None:
        """Send a ``repository_dispatch`` of ``event_type`` with ``payload`` to ``repo``."""
        owner, name = split_repo(repo)
        self.request(
            f"dispatching {event_type} to {repo}",
            "POST",
            f"/repos/{owner}/{name}/dispatches",
            data={"event_type": event_type, "client_payload": payload},
        )

    def login(self) -> str:
        """The login of the token's account (``GET /user``)."""
        user = self.request("reading the token's user", "GET", "/user")
        login = user.get("login") if isinstance(user, dict) else None
        if not isinstance(login, str) or not login:
            raise HttpStatusError("reading the token's user: the answer has no login", 200)
        return login

    def create_issue(self, repo: str, title: str, body: str) -> int:
        """Open an issue and return its number."""
        owner, name = split_repo(repo)
        issue = self.request(
            f"opening an issue on {repo}",
            "POST",
            f"/repos/{owner}/{name}/issues",
            data={"title": title, "body": body},
        )
        return number_of(issue, f"opening an issue on {repo}")

    def comment_issue(self, repo: str, number: int, body: str) -> None:
        """Add a comment to issue ``number``."""
        owner, name = split_repo(repo)
        self.request(
            f"commenting on {repo}#{number}",
            "POST",
            f"/repos/{owner}/{name}/issues/{int(number)}/comments",
            data={"body": body},
        )

    def open_or_comment_issue(self, repo: str, title: str, body: str) -> tuple[int, bool]:
        """Comment on the open issue titled ``title``, or open it; return (number, created)."""
        number = self.find_open_issue(repo, title)
        if number is None:
            return self.create_issue(repo, title, body), True
        self.comment_issue(repo, number, body)
        return number, False

    # --- branches, contents, pull requests ---------------------------------------------------

    def default_branch_head(self, repo: str) -> tuple[str, str]:
        """The default branch of ``repo`` and the sha of its head commit."""
        owner, name = split_repo(repo)
        info = self.request(f"reading {repo}", "GET", f"/repos/{owner}/{name}")
        branch = info.get("default_branch") if isinstance(info, dict) else None
        if not isinstance(branch, str) or not branch:
            raise HttpStatusError(f"reading {repo}: the answer has no 'default_branch'", 200)
        return branch, self._ref_sha(repo, branch)

    def _ref_sha(self, repo: str, branch: str) -> str:
        owner, name = split_repo(repo)
        ref = self.request(
            f"reading branch {branch} of {repo}",
            "GET",
            f"/repos/{owner}/{name}/git/ref/heads/{quote(check_branch(branch), safe='/')}",
        )
        sha = ref.get("object", {}).get("sha") if isinstance(ref, dict) else None
        if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{40}", sha):
            raise HttpStatusError(f"reading branch {branch} of {repo}: no commit sha", 200)
        return sha

    def branch_exists(self, repo: str, branch: str) -> bool:
        """Whether ``branch`` exists in ``repo`` (a 404 is False; other failures raise)."""
        try:
            self._ref_sha(repo, branch)
        except HttpStatusError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def create_branch(self, repo: str, branch: str, sha: str) -> None:
        """Create ``branch`` at commit ``sha`` (GitHub answers 422 if it exists: that raises)."""
        owner, name = split_repo(repo)
        self.request(
            f"creating branch {branch} on {repo}",
            "POST",
            f"/repos/{owner}/{name}/git/refs",
            data={"ref": f"refs/heads/{check_branch(branch)}", "sha": sha},
        )

    def read_file(self, repo: str, branch: str, path: str) -> tuple[str, str] | None:
        """``(text, blob sha)`` of ``path`` on ``branch``, or None when it does not exist."""
        owner, name = split_repo(repo)
        url = f"/repos/{owner}/{name}/contents/{quote(path, safe='/')}"
        try:
            doc = self.request(
                f"reading {path} on {repo}@{branch}",
                "GET",
                url,
                query={"ref": check_branch(branch)},
            )
        except HttpStatusError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(doc, dict) or not isinstance(doc.get("sha"), str):
            raise HttpStatusError(f"reading {path} on {repo}@{branch}: not a file", 200)
        try:
            text = base64.b64decode(str(doc.get("content") or "")).decode("utf-8")
        except ValueError as exc:
            raise HttpStatusError(f"reading {path} on {repo}@{branch}: not UTF-8", 200) from exc
        return text, doc["sha"]

    def list_files(self, repo: str, branch: str, directory: str) -> list[str]:
        """The names of the files in ``directory`` on ``branch`` (empty when it is missing)."""
        owner, name = split_repo(repo)
        url = f"/repos/{owner}/{name}/contents/{quote(directory, safe='/')}"
        try:
            items = self.request(
                f"listing {directory} on {repo}@{branch}", "GET", url, query={"ref": branch}
            )
        except HttpStatusError as exc:
            if exc.status == 404:
                return []
            raise
        if not isinstance(items, list):
            return []
        return sorted(
            str(i["name"]) for i in items if isinstance(i, dict) and i.get("type") == "file"
        )

    def write_file(
        self,
        repo: str,
        branch: str,
        path: str,
        content: str,
        message: str,
        *,
        sha: str | None,
    ) -> None:
        """Create ``path`` (``sha`` None) or replace the version whose blob is ``sha``.

        GitHub refuses (409 or 422) when the file changed since ``sha`` was read:
        the write is a compare-and-swap, so two writers never lose each other's lines.
        """
        owner, name = split_repo(repo)
        data: dict[str, Any] = {
            "message": message,
            "content": base64.b64encode(content.encode("utf-8")).decode("ascii"),
            "branch": check_branch(branch),
        }
        if sha is not None:
            data["sha"] = sha
        url = f"/repos/{owner}/{name}/contents/{quote(path, safe='/')}"
        self.request(f"writing {path} on {repo}@{branch}", "PUT", url, data=data)

    def delete_file(self, repo: str, branch: str, path: str, sha: str, message: str) -> None:
        """Delete ``path`` on ``branch`` (its current blob is ``sha``)."""
        owner, name = split_repo(repo)
        url = f"/repos/{owner}/{name}/contents/{quote(path, safe='/')}"
        data = {"message": message, "sha": sha, "branch": check_branch(branch)}
        self.request(f"deleting {path} on {repo}@{branch}", "DELETE", url, data=data)

    def put_file(self, repo: str, branch: str, path: str, content: str, message: str) -> None:
        """Create or replace ``path`` on ``branch`` with the contents API (one commit)."""
        current = self.read_file(repo, branch, path)
        self.write_file(repo, branch, path, content, message, sha=current[1] if current else None)


@dataclass(frozen=True)
class Issue:
    """An issue as the worker needs it: number, title, state and who opened it."""

    number: int
    title: str
    state: str
    author: str


def _is_issue(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and "pull_request" not in item
        and isinstance(item.get("number"), int)
    )


def _issue(item: dict[str, Any]) -> Issue:
    user = item.get("user")
    if not isinstance(user, dict):
        user = {}
    return Issue(
        int(item["number"]),
        str(item.get("title") or ""),
        str(item.get("state") or ""),
        str(user.get("login") or ""),
    )


def number_of(item: Any, what: str) -> int:
    number = item.get("number") if isinstance(item, dict) else None
    if not isinstance(number, int):
        raise HttpStatusError(f"{what}: the answer has no issue number", 200)
    return number
