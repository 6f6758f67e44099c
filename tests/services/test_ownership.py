"""Tests of the ownership registry lookup: the c1/c2/c3 path rule, findings and failures."""

from __future__ import annotations

import pytest

from artifact_validation.core import ApiError, Code, HttpStatusError
from artifact_validation.services import Registry, RetryPolicy, check_ownership, output_path
from tests.support.fake_api import FakeApi


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("numpy", "outputs/n/u/m/numpy.json"),
        ("r", "outputs/r/z/z/r.json"),
        ("py", "outputs/p/y/z/py.json"),
        ("_libgcc_mutex", "outputs/l/i/b/_libgcc_mutex.json"),
        ("r-a.b", "outputs/r/a/b/r-a.b.json"),
        ("7za", "outputs/7/z/a/7za.json"),
    ],
)
def test_output_path(name: str, path: str) -> None:
    """c1..c3 are the first three alphanumerics, padded with 'z'."""
    assert output_path(name) == path


def registry(api: FakeApi, attempts: int = 3) -> Registry:
    """A registry client on the fake with no real sleeping."""
    return Registry(api.registry_url, retry=RetryPolicy(attempts=attempts, sleep=lambda _: None))


def test_registered_name_has_no_finding(fake_api: FakeApi) -> None:
    """A name registered to the feedstock passes, read from the sharded path."""
    fake_api.register_output("foo", ["bar", "foo"])
    assert check_ownership(registry(fake_api), "foo", "foo") is None
    assert [r.path for r in fake_api.requests] == ["/registry/outputs/f/o/o/foo.json"]


def test_unregistered_name_is_av701(fake_api: FakeApi) -> None:
    """A name nobody registered is AV701 telling how to register it."""
    finding = check_ownership(registry(fake_api), "foo", "foo")
    assert finding is not None and finding.code is Code.AV701
    assert "not registered" in finding.detail and "outputs/f/o/o/foo.json" in finding.detail


def test_other_feedstocks_name_is_av701(fake_api: FakeApi) -> None:
    """A name registered to another feedstock is AV701 naming the owner."""
    fake_api.register_output("openssl", ["openssl"])
    finding = check_ownership(registry(fake_api), "openssl", "evil")
    assert finding is not None and "belongs to openssl, not to 'evil'" in finding.detail


def test_name_the_registry_cannot_hold_is_unregistered(fake_api: FakeApi) -> None:
    """A hostile name from index.json is never put in a URL: it is simply not registered."""
    assert registry(fake_api).feedstocks("../../etc/passwd") is None
    assert fake_api.requests == []


def test_flaky_registry_is_retried(fake_api: FakeApi) -> None:
    """Two 502 answers are retried; the third answer counts."""
    fake_api.register_output("foo", ["foo"])
    fake_api.fail("GET", "/registry/*", 502, times=2)
    assert registry(fake_api).feedstocks("foo") == ["foo"]


def test_unreachable_registry_fails_closed(fake_api: FakeApi) -> None:
    """A registry that keeps failing raises (exit 3) instead of guessing."""
    fake_api.fail("GET", "/registry/*", 503, times=None)
    with pytest.raises(HttpStatusError, match="HTTP 503"):
        check_ownership(registry(fake_api), "foo", "foo")
    assert len(fake_api.requests) == 3


def test_malformed_registry_answer_fails_closed(fake_api: FakeApi) -> None:
    """An entry without a 'feedstocks' list is an error, not an answer."""
    fake_api.registry["outputs/f/o/o/foo.json"] = {"feedstocks": "foo"}
    with pytest.raises(ApiError, match="'feedstocks' list"):
        registry(fake_api).feedstocks("foo")
