"""Tests of the GitHub client against the local fake: issues, branches, contents, pulls, retries."""

from __future__ import annotations

import base64

import pytest

from artifact_validation.core import EXIT_UNVALIDATED, ApiError, HttpStatusError, UsageError
from artifact_validation.services import GitHub, RetryPolicy, notify_failure, run_url
from tests.support.fake_api import FakeApi

REPO = "conda-forge/foo-feedstock"


def client(api: FakeApi, sleeps: list[float] | None = None, attempts: int = 4) -> GitHub:
    """A client on the fake whose backoff sleeps are recorded instead of slept."""
    record = sleeps if sleeps is not None else []
    return GitHub(
        api.github_url, "t0ken", retry=RetryPolicy(attempts=attempts, sleep=record.append)
    )


def test_open_then_comment_one_issue_per_title(fake_api: FakeApi) -> None:
    """The first call opens the issue, the second comments on it instead of opening another."""
    gh = client(fake_api)
    assert gh.open_or_comment_issue(REPO, "[warning] x", "first") == (1, True)
    assert gh.open_or_comment_issue(REPO, "[warning] x", "second") == (1, False)
    issues = fake_api.github_repo(REPO).issues
    assert [(i["title"], i["body"]) for i in issues] == [("[warning] x", "first")]
    assert [c["body"] for c in issues[0]["comments"]] == ["second"]
    assert all(r.headers["authorization"] == "token t0ken" for r in fake_api.requests)


def test_closed_issue_or_other_title_is_not_reused(fake_api: FakeApi) -> None:
    """A closed issue with the title, or an open one with another title, gets a new issue."""
    fake_api.add_issue(REPO, "[warning] x", state="closed")
    fake_api.add_issue(REPO, "[warning] x (old)")
    number, created = client(fake_api).open_or_comment_issue(REPO, "[warning] x", "b")
    assert created and number == 3


def test_issue_lookup_pages_through_many_issues(fake_api: FakeApi) -> None:
    """The title lookup reads further pages when the first is full."""
    target = fake_api.add_issue(REPO, "needle")
    for i in range(150):
        fake_api.add_issue(REPO, f"hay {i}")
    assert client(fake_api).find_open_issue(REPO, "needle") == target
    pages = [r.query["page"] for r in fake_api.requests_to("github", "GET")]
    assert pages == ["1", "2"]


def test_branch_and_contents(fake_api: FakeApi) -> None:
    """The mark-broken pushes: head of the default branch, new branch, file (twice)."""
    repo = "conda-forge/admin-requests"
    fake_api.add_repo(repo, default_branch="trunk")
    gh = client(fake_api)
    base, sha = gh.default_branch_head(repo)
    assert base == "trunk" and len(sha) == 40
    assert not gh.branch_exists(repo, "foo-1234")
    gh.create_branch(repo, "foo-1234", sha)
    assert gh.branch_exists(repo, "foo-1234")
    gh.put_file(repo, "foo-1234", "requests/foo.yml", "action: broken\n", "mark foo broken")
    gh.put_file(repo, "foo-1234", "requests/foo.yml", "action: broken\n# 2\n", "again")
    assert fake_api.github_repo(repo).files[("foo-1234", "requests/foo.yml")] == (
        b"action: broken\n# 2\n"
    )
    put = fake_api.requests_to("github", "PUT")[0].json()
    assert base64.b64decode(put["content"]) == b"action: broken\n"


def test_creating_an_existing_branch_fails_closed(fake_api: FakeApi) -> None:
    """GitHub's 422 for an existing ref is final: no retry, HttpStatusError with the status."""
    sleeps: list[float] = []
    gh = client(fake_api, sleeps)
    with pytest.raises(HttpStatusError) as info:
        gh.create_branch(REPO, "main", "a" * 40)
    assert info.value.status == 422 and "Reference already exists" in str(info.value)
    assert sleeps == [] and info.value.exit_code == EXIT_UNVALIDATED


def test_502_twice_then_success_is_retried_with_backoff(fake_api: FakeApi) -> None:
    """Two 502 answers are retried with doubling waits, and the third attempt succeeds."""
    sleeps: list[float] = []
    fake_api.fail("POST", "/github/repos/*/issues", 502, times=2)
    assert client(fake_api, sleeps).create_issue(REPO, "t", "b") == 1
    assert sleeps == [1.0, 2.0]
    assert len(fake_api.requests_to("github", "POST")) == 3


def test_always_502_fails_closed_after_bounded_attempts(fake_api: FakeApi) -> None:
    """A GitHub that always answers 502 is given up on after the policy's attempts (exit 3)."""
    fake_api.fail("*", "/github/*", 502, times=None)
    with pytest.raises(HttpStatusError) as info:
        client(fake_api, attempts=3).open_or_comment_issue(REPO, "t", "b")
    assert info.value.status == 502 and "3 attempts" in str(info.value)
    assert len(fake_api.requests) == 3


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"}, 31.0),
        (429, {"retry-after": "7"}, 7.0),
        (403, {"retry-after": "3"}, 3.0),
        (429, {}, 1.0),
    ],
)
def test_rate_limits_wait_as_told(
    fake_api: FakeApi, status: int, headers: dict[str, str], wait: float
) -> None:
    """Primary and secondary rate limits wait until the reset or Retry-After, then retry."""
    sleeps: list[float] = []
    fake_api.fail("GET", "/github/repos/*", status, headers=headers)
    gh = GitHub(
        fake_api.github_url,
        "t",
        retry=RetryPolicy(sleep=sleeps.append, clock=lambda: 1000.0),
    )
    assert gh.default_branch_head(REPO)[0] == "main"
    assert sleeps == [wait]


def test_rate_limit_reset_too_far_away_fails_closed(fake_api: FakeApi) -> None:
    """A rate limit resetting beyond max_wait is not waited for: it fails at once."""
    sleeps: list[float] = []
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "999999"}
    fake_api.fail("GET", "/github/*", 403, headers=reset)
    gh = GitHub(fake_api.github_url, "t", retry=RetryPolicy(sleep=sleeps.append, clock=lambda: 0))
    with pytest.raises(HttpStatusError, match="HTTP 403"):
        gh.branch_exists(REPO, "main")
    assert sleeps == []


def test_plain_403_is_final(fake_api: FakeApi) -> None:
    """A 403 without rate-limit headers is a permission problem: no retry."""
    fake_api.fail("POST", "/github/*", 403, body={"message": "Resource not accessible"})
    with pytest.raises(HttpStatusError, match="Resource not accessible"):
        client(fake_api).create_issue(REPO, "t", "b")
    assert len(fake_api.requests) == 1


def test_unreachable_api_fails_closed_after_retries() -> None:
    """No server at all: bounded retries, then ApiError (exit 3), never a hang."""
    api = FakeApi().start()
    url = api.github_url
    api.stop()
    sleeps: list[float] = []
    gh = GitHub(url, "t", retry=RetryPolicy(attempts=3, sleep=sleeps.append))
    with pytest.raises(ApiError, match="after 3 attempts") as info:
        gh.find_open_issue(REPO, "x")
    assert not isinstance(info.value, HttpStatusError) and sleeps == [1.0, 2.0]


def test_bad_repository_name_is_a_usage_error(fake_api: FakeApi) -> None:
    """A repository that is not 'owner/name' is refused before any request."""
    with pytest.raises(UsageError, match="owner/name"):
        client(fake_api).create_issue("no-slash", "t", "b")
    assert fake_api.requests == []


def test_notify_failure_keeps_one_issue_per_workflow(fake_api: FakeApi) -> None:
    """Two failures of one workflow land on one issue; another workflow gets its own."""
    gh = client(fake_api)
    link = run_url("https://github.com/", "o/r", "42")
    assert link == "https://github.com/o/r/actions/runs/42"
    assert notify_failure(gh, "o/r", "scan", link) == (1, True)
    assert notify_failure(gh, "o/r", "scan", link) == (1, False)
    assert notify_failure(gh, "o/r", "update-filters", link)[1] is True
    issues = fake_api.github_repo("o/r").issues
    assert [i["title"] for i in issues] == ["[bot] scan failed", "[bot] update-filters failed"]
    assert link in issues[0]["body"] and link in issues[0]["comments"][0]["body"]
