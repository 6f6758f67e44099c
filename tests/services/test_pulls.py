"""Tests of pull requests from a fork against the local fake GitHub."""

from __future__ import annotations

import pytest

from artifact_validation.core import HttpStatusError
from artifact_validation.services import GitHub, RetryPolicy
from artifact_validation.services.pulls import PullRequests
from tests.support.fake_api import FakeApi

REPO = "conda-forge/admin-requests"


def pulls(api: FakeApi, sleeps: list[float] | None = None) -> PullRequests:
    api.github_logins["t0ken"] = "cf-bot"
    record = sleeps if sleeps is not None else []
    gh = GitHub(api.github_url, "t0ken", retry=RetryPolicy(attempts=2, sleep=record.append))
    return PullRequests(gh, sleep=record.append)


def test_fork_branch_and_pull_request(fake_api: FakeApi) -> None:
    """Fork, push a branch to the fork, open the PR from ``owner:branch``, find it again."""
    fake_api.add_repo(REPO, default_branch="trunk")
    api = pulls(fake_api)
    assert api.ensure_fork(REPO, "cf-bot") == "cf-bot/admin-requests"
    base, sha = api.gh.default_branch_head(REPO)
    api.gh.create_branch("cf-bot/admin-requests", "foo-1234", sha)
    api.gh.put_file("cf-bot/admin-requests", "foo-1234", "requests/foo.yml", "x: 1\n", "m")
    pull = api.create_pull(REPO, "cf-bot:foo-1234", base, "Mark foo broken", "body")
    assert pull == {
        "number": 1,
        "url": "https://github.com/conda-forge/admin-requests/pull/1",
        "head_branch": "foo-1234",
    }
    [sent] = [r.json() for r in fake_api.requests_to("github", "POST") if r.path.endswith("/pulls")]
    assert sent["maintainer_can_modify"] is True and sent["head"] == "cf-bot:foo-1234"
    assert api.find_pull(REPO, "cf-bot:foo-1234") == pull
    assert api.find_pull(REPO, "cf-bot:other") is None
    assert api.list_pulls(REPO, head="cf-bot:foo-1234") == [pull]
    assert not fake_api.github_repo(REPO).files  # nothing was pushed to the target


def test_existing_fork_is_synced(fake_api: FakeApi) -> None:
    """A fork that exists is brought up to date with upstream, not forked again."""
    fake_api.add_repo(REPO)
    api = pulls(fake_api)
    api.ensure_fork(REPO, "cf-bot")
    upstream = fake_api.github_repo(REPO)
    upstream.refs["main"] = "f" * 40
    assert api.ensure_fork(REPO, "cf-bot") == "cf-bot/admin-requests"
    assert fake_api.github_repo("cf-bot/admin-requests").refs["main"] == "f" * 40
    assert len([r for r in fake_api.requests if r.path.endswith("/forks")]) == 1


def test_branch_name_from_input_is_checked(fake_api: FakeApi) -> None:
    """A head whose branch is not a safe ref name is refused before any request."""
    with pytest.raises(Exception, match="branch"):
        pulls(fake_api).list_pulls(REPO, head="cf-bot:../../x y")
    assert not fake_api.requests


def test_pull_creation_refused_is_final(fake_api: FakeApi) -> None:
    """A 422 (head missing) fails closed with the status, without retrying."""
    fake_api.add_repo(REPO)
    sleeps: list[float] = []
    with pytest.raises(HttpStatusError) as info:
        pulls(fake_api, sleeps).create_pull(REPO, "cf-bot:nope", "main", "t", "b")
    assert info.value.status == 422 and sleeps == []
