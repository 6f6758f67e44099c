"""Tests of the anaconda.org client against the fake: labelled copies, file records, listings."""

from __future__ import annotations

import pytest

from artifact_validation.core import HttpStatusError
from artifact_validation.services import Anaconda, Dist, DistInfo, RetryPolicy
from tests.support.fake_api import FakeApi

DIST = Dist("foo", "1.0", "linux-64/foo-1.0-0.conda")
MD5, SHA = "a" * 32, "b" * 64
KEY = ("foo", "1.0", "linux-64/foo-1.0-0.conda")


def client(api: FakeApi) -> Anaconda:
    """An anaconda.org client on the fake with no real sleeping."""
    return Anaconda(api.anaconda_url, retry=RetryPolicy(attempts=3, sleep=lambda _: None))


@pytest.fixture
def staged(fake_api: FakeApi) -> FakeApi:
    """The fake with DIST on cf-staging under label rc, per-owner tokens enforced."""
    fake_api.anaconda_tokens = {"cf-staging": "stg", "conda-forge": "prod"}
    fake_api.add_dist("cf-staging", *KEY, md5=MD5, sha256=SHA, labels=("rc",))
    return fake_api


def test_copy_keeps_the_label(staged: FakeApi) -> None:
    """A copy names the label on both sides: rc stays rc."""
    assert client(staged).copy(DIST, "cf-staging", "conda-forge", "prod", "rc") is True
    assert staged.requests[0].json() == {
        "to_owner": "conda-forge",
        "from_channel": "rc",
        "to_channel": "rc",
    }
    assert staged.requests[0].headers["authorization"] == "token prod"
    assert staged.dists[("conda-forge", *KEY)]["labels"] == ["rc"]


def test_dist_info_reads_hashes_and_labels(staged: FakeApi) -> None:
    """GET /dist gives md5, sha256 and labels; a missing file is None."""
    info = client(staged).dist_info("cf-staging", DIST)
    assert info == DistInfo(MD5, SHA, ("rc",))
    assert info.holds(MD5, SHA) and info.holds(MD5, "") and not info.holds("c" * 32, "")
    assert client(staged).dist_info("conda-forge", DIST) is None


def test_409_is_false(staged: FakeApi) -> None:
    """The file already at the destination is False: the caller compares what is there."""
    staged.add_dist("conda-forge", *KEY, md5=MD5, labels=("rc",))
    assert client(staged).copy(DIST, "cf-staging", "conda-forge", "prod", "rc") is False


def test_failing_copy_raises_after_retries(staged: FakeApi) -> None:
    """A copy answered 502 every time raises HttpStatusError (exit 3) after the attempts."""
    staged.fail("POST", "/anaconda/copy/*", 502, times=None)
    with pytest.raises(HttpStatusError, match="HTTP 502"):
        client(staged).copy(DIST, "cf-staging", "conda-forge", "prod", "rc")
    assert len(staged.requests) == 3


def test_wrong_token_is_final(staged: FakeApi) -> None:
    """A 401 is not retried: the token is wrong and waiting will not fix it."""
    with pytest.raises(HttpStatusError, match="HTTP 401"):
        client(staged).copy(DIST, "cf-staging", "conda-forge", "wrong", "rc")
    assert len(staged.requests) == 1


def test_removing_a_missing_file_is_false(staged: FakeApi) -> None:
    """A staging file already gone (a re-run) is not an error."""
    missing = Dist("bar", "1", "noarch/bar-1-0.conda")
    assert client(staged).remove("cf-staging", missing, "stg") is False


def test_listing_labels_and_files(staged: FakeApi) -> None:
    """The reconcile job lists an owner's labels and each label's files with upload times."""
    api = client(staged)
    assert api.labels("cf-staging") == ["rc"]
    [staged_file] = api.label_files("cf-staging", "rc")
    assert staged_file.basename == "linux-64/foo-1.0-0.conda" and staged_file.upload_time
