"""Tests of the copy step against the fake anaconda.org: copy, read-back, staging clean-up, 409."""

from __future__ import annotations

import pytest

from artifact_validation.core import Code, HttpStatusError
from artifact_validation.services import Anaconda, Dist, RetryPolicy, publish
from tests.support.fake_api import FakeApi

DIST = Dist("foo", "1.0", "linux-64/foo-1.0-0.conda")
MD5 = "a" * 32
KEY = ("foo", "1.0", "linux-64/foo-1.0-0.conda")


def client(api: FakeApi) -> Anaconda:
    """An anaconda.org client on the fake with no real sleeping."""
    return Anaconda(api.anaconda_url, retry=RetryPolicy(attempts=3, sleep=lambda _: None))


def run(api: FakeApi) -> tuple:
    """Publish DIST from cf-staging to conda-forge with the fake's tokens."""
    return publish(
        client(api),
        DIST,
        md5=MD5,
        from_owner="cf-staging",
        to_owner="conda-forge",
        prod_token="prod",
    )


@pytest.fixture
def staged(fake_api: FakeApi) -> FakeApi:
    """The fake with DIST on cf-staging and per-owner tokens enforced."""
    fake_api.anaconda_tokens = {"cf-staging": "stg", "conda-forge": "prod"}
    fake_api.add_dist("cf-staging", *KEY, md5=MD5)
    return fake_api


def test_copy_read_back_and_remove(staged: FakeApi) -> None:
    """A copy is checked in production, then the staging file is removed with its token."""
    publication, finding = run(staged)
    assert finding is None and publication.copied and publication.production_md5 == MD5
    calls = [(r.method, r.path) for r in staged.requests]
    assert calls == [
        ("POST", "/anaconda/copy/package/cf-staging/foo/1.0/linux-64/foo-1.0-0.conda"),
        ("GET", "/anaconda/dist/conda-forge/foo/1.0/linux-64/foo-1.0-0.conda"),
    ]
    assert staged.requests[0].json() == {
        "to_owner": "conda-forge",
        "from_channel": "main",
        "to_channel": "main",
    }
    assert staged.requests[0].headers["authorization"] == "token prod"
    assert client(staged).remove("cf-staging", DIST, "stg") is True
    assert ("cf-staging", *KEY) not in staged.dists and ("conda-forge", *KEY) in staged.dists


def test_409_with_the_same_md5_is_success(staged: FakeApi) -> None:
    """A re-run after a copy finds the same file in production: not copied, no finding."""
    staged.add_dist("conda-forge", *KEY, md5=MD5)
    publication, finding = run(staged)
    assert finding is None and publication.copied is False


def test_409_with_another_md5_is_av702(staged: FakeApi) -> None:
    """A different file already in production is AV702 and staging is left alone."""
    staged.add_dist("conda-forge", *KEY, md5="b" * 32)
    publication, finding = run(staged)
    assert finding is not None and finding.code is Code.AV702
    assert "409" in finding.detail and "b" * 32 in finding.detail
    assert not staged.requests_to("anaconda", "DELETE")


def test_failing_copy_raises_after_retries(staged: FakeApi) -> None:
    """A copy answered 502 every time raises HttpStatusError (exit 3) after the attempts."""
    staged.fail("POST", "/anaconda/copy/*", 502, times=None)
    with pytest.raises(HttpStatusError, match="HTTP 502"):
        run(staged)
    assert len(staged.requests) == 3


def test_wrong_token_is_final(staged: FakeApi) -> None:
    """A 401 is not retried: the token is wrong and waiting will not fix it."""
    with pytest.raises(HttpStatusError, match="HTTP 401"):
        client(staged).copy(DIST, "cf-staging", "conda-forge", "wrong")
    assert len(staged.requests) == 1


def test_removing_a_missing_file_is_false(staged: FakeApi) -> None:
    """A staging file already gone (a re-run) is not an error."""
    assert (
        client(staged).remove("cf-staging", Dist("bar", "1", "noarch/bar-1-0.conda"), "stg")
        is False
    )
