"""Tests of the ownership registry: its config.json layout, the allow-list, registration."""

from __future__ import annotations

import json

import pytest

from artifact_validation.core import ApiError, Code, HttpStatusError
from artifact_validation.services import (
    GitHub,
    Ownership,
    Registry,
    RegistryConfig,
    RetryPolicy,
    ownership_finding,
    register_output,
)
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
        ("PyYAML", "outputs/p/y/y/pyyaml.json"),
    ],
)
def test_output_path(name: str, path: str) -> None:
    """c1..c3 are the first three alphanumerics of the lower-cased name, padded with 'z'."""
    assert RegistryConfig().output_path(name) == path


def test_output_path_follows_config_json() -> None:
    """Another layout in config.json moves every path."""
    config = RegistryConfig(outputs_path="out", shard_level=2, shard_fill="_")
    assert config.output_path("r") == "out/r/_/r.json"


def registry(api: FakeApi, attempts: int = 3) -> Registry:
    """A registry client on the fake with no real sleeping."""
    return Registry(api.registry_url, retry=RetryPolicy(attempts=attempts, sleep=lambda _: None))


def decide(api: FakeApi, name: str, feedstock: str) -> Ownership:
    return registry(api).ownership(name, feedstock)


def test_registered_name_is_allowed(fake_api: FakeApi) -> None:
    """A name registered to the feedstock passes, read from the sharded path of config.json."""
    fake_api.register_output("foo", ["bar", "foo"])
    ownership = decide(fake_api, "foo", "foo")
    assert ownership.registered and ownership_finding(ownership) is None
    paths = [r.path for r in fake_api.requests]
    assert paths[:2] == ["/registry/config.json", "/registry/outputs/f/o/o/foo.json"]


def test_unregistered_name_is_av701(fake_api: FakeApi) -> None:
    """A name nobody registered, and no glob grants: AV701 saying how to register it."""
    finding = ownership_finding(decide(fake_api, "foo", "foo"))
    assert finding is not None and finding.code is Code.AV701
    assert "not registered" in finding.detail


def test_other_feedstocks_name_is_av701(fake_api: FakeApi) -> None:
    """A name registered to another feedstock is AV701 naming the owner."""
    fake_api.register_output("openssl", ["openssl"])
    finding = ownership_finding(decide(fake_api, "openssl", "evil"))
    assert finding is not None and "belongs to openssl, not to 'evil'" in finding.detail


def test_allow_list_glob_grants_a_new_name(fake_api: FakeApi) -> None:
    """``clangdev: [clang-*]`` lets clangdev publish clang-tools: allowed, to be registered."""
    fake_api.allow_globs("clangdev", ["clang-*", "libclang*"])
    ownership = decide(fake_api, "clang-tools", "clangdev")
    assert ownership.allowed and not ownership.registered and ownership.glob == "clang-*"
    assert ownership_finding(decide(fake_api, "clang-tools", "llvmdev")) is not None


def test_registration_commits_the_name(fake_api: FakeApi) -> None:
    """Registering writes outputs/<c1>/<c2>/<c3>/<name>.json with the feedstock, once."""
    fake_api.add_repo("conda-forge/feedstock-outputs")
    gh = GitHub(fake_api.github_url, "t", retry=RetryPolicy(sleep=lambda _: None))
    ownership = Ownership("clang-tools", "clangdev", (), "clang-*")
    register_output(gh, "conda-forge/feedstock-outputs", RegistryConfig(), ownership)
    repo = fake_api.github_repo("conda-forge/feedstock-outputs")
    data = repo.files[("main", "outputs/c/l/a/clang-tools.json")]
    assert json.loads(data) == {"feedstocks": ["clangdev"]}
    register_output(gh, "conda-forge/feedstock-outputs", RegistryConfig(), ownership)
    assert len(fake_api.requests_to("github", "PUT")) == 1


def test_registration_failure_raises(fake_api: FakeApi) -> None:
    """A refused registration raises: nothing may be published after it."""
    fake_api.fail("PUT", "/github/repos/*/contents/*", 403, times=None)
    gh = GitHub(fake_api.github_url, "t", retry=RetryPolicy(attempts=1, sleep=lambda _: None))
    with pytest.raises(HttpStatusError):
        register_output(
            gh, "conda-forge/feedstock-outputs", RegistryConfig(), Ownership("x", "y", (), "x*")
        )


def test_name_the_registry_cannot_hold_is_unregistered(fake_api: FakeApi) -> None:
    """A hostile name from index.json is never put in a URL: it is simply not registered."""
    assert registry(fake_api).feedstocks("../../etc/passwd") is None
    assert fake_api.requests == []


def test_flaky_registry_is_retried(fake_api: FakeApi) -> None:
    """Two 502 answers are retried; the third answer counts."""
    fake_api.register_output("foo", ["foo"])
    fake_api.fail("GET", "/registry/outputs/*", 502, times=2)
    assert registry(fake_api).feedstocks("foo") == ["foo"]


def test_unreachable_registry_fails_closed(fake_api: FakeApi) -> None:
    """A registry that keeps failing raises (exit 3) instead of guessing."""
    fake_api.fail("GET", "/registry/*", 503, times=None)
    with pytest.raises(HttpStatusError, match="HTTP 503"):
        decide(fake_api, "foo", "foo")


def test_missing_config_fails_closed(fake_api: FakeApi) -> None:
    """Without config.json the layout is unknown: an error, never a guessed path."""
    fake_api.registry_config = None
    with pytest.raises(ApiError, match="config.json"):
        decide(fake_api, "foo", "foo")


def test_malformed_registry_answer_fails_closed(fake_api: FakeApi) -> None:
    """An entry without a 'feedstocks' list is an error, not an answer."""
    fake_api.registry["outputs/f/o/o/foo.json"] = {"feedstocks": "foo"}
    with pytest.raises(ApiError, match="'feedstocks' list"):
        registry(fake_api).feedstocks("foo")
