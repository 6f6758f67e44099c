"""Tests of the worker's environment contract and its exit-code rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifact_validation.archive import Verdict
from artifact_validation.core import Code, Finding, UsageError
from artifact_validation.worker import (
    ISSUE_TITLE,
    ArtifactEvent,
    Options,
    Outcome,
    settings_from_env,
)

ENV = {"GITHUB_TOKEN": "t", "STAGING_BINSTAR_TOKEN": "s", "PROD_BINSTAR_TOKEN": "p"}
EVENT = ArtifactEvent(
    "https://conda.anaconda.org/cf-staging/noarch/foo-1-0.conda",
    "a" * 32,
    "",
    "foo",
    "b" * 40,
    "noarch",
    "foo-1-0.conda",
)


def test_defaults_and_run_link() -> None:
    """Unset URLs take the public defaults; the run link needs repository and run id."""
    env = {**ENV, "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "9"}
    settings = settings_from_env(env, copy=True)
    assert settings.github_api_url == "https://api.github.com"
    assert settings.anaconda_api_url == "https://api.anaconda.org"
    assert settings.outputs_url.startswith("https://raw.githubusercontent.com/conda-forge/")
    assert settings.run_link == "https://github.com/o/r/actions/runs/9"
    assert "conda.anaconda.org" in settings.allowed_hosts
    assert settings_from_env(ENV, copy=False).run_link == ""


def test_gh_token_is_accepted() -> None:
    """GH_TOKEN stands in for GITHUB_TOKEN."""
    assert settings_from_env({"GH_TOKEN": "g"}, copy=False).github_token == "g"


@pytest.mark.parametrize(
    ("env", "copy", "message"),
    [
        ({}, False, "GITHUB_TOKEN"),
        ({"GITHUB_TOKEN": "t"}, True, "STAGING_BINSTAR_TOKEN and \\$PROD_BINSTAR_TOKEN"),
        ({**ENV, "ANACONDA_API_URL": "ftp://x"}, False, "ANACONDA_API_URL"),
        ({**ENV, "GITHUB_API_URL": "not a url"}, False, "GITHUB_API_URL"),
        ({**ENV, "FEEDSTOCK_OUTPUTS_URL": "https://x/?q"}, False, "FEEDSTOCK_OUTPUTS_URL"),
        ({**ENV, "VALIDATE_ALLOWED_HOSTS": "https://x/"}, False, "allowed host"),
    ],
)
def test_bad_environment_is_a_usage_error(env: dict[str, str], copy: bool, message: str) -> None:
    """A missing secret or a malformed URL is exit 2 naming the variable."""
    with pytest.raises(UsageError, match=message):
        settings_from_env(env, copy=copy)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (Options(issue_owner="bad owner"), "--issue-owner"),
        (Options(from_owner="x/y"), "--from-owner"),
        (Options(from_owner="same", to_owner="same"), "must differ"),
    ],
)
def test_bad_options_are_usage_errors(options: Options, message: str) -> None:
    """Owner names are checked before anything runs."""
    with pytest.raises(UsageError, match=message):
        options.check()


@pytest.mark.parametrize(
    ("verdict", "problems", "code"),
    [
        (Verdict(name="foo"), [], 0),
        (Verdict(name="foo", findings=[Finding(Code.AV201, ("a",))]), [], 1),
        (Verdict(name="foo", errors=["download failed"]), [], 3),
        (Verdict(name="foo", findings=[Finding(Code.AV701)], errors=["registry"]), [], 1),
        (Verdict(name="foo", findings=[Finding(Code.AV201, ("a",))]), ["GitHub down"], 3),
        (Verdict(name="foo"), ["staging clean-up failed"], 3),
    ],
)
def test_exit_code_table(verdict: Verdict, problems: list[str], code: int) -> None:
    """0 only when valid and nothing failed; findings 1; failures to act 3."""
    outcome = Outcome(EVENT, verdict, "conda-forge/foo-feedstock", problems=problems)
    assert outcome.exit_code == code
    assert outcome.to_json()["valid"] is (code == 0)


def test_issue_title_uses_the_short_sha() -> None:
    """One issue per commit: the title carries the first 7 hex digits."""
    assert ISSUE_TITLE.format(short_sha=EVENT.short_sha) == (
        "[warning] artifact validation failed for commit bbbbbbb"
    )


def test_default_report_path() -> None:
    """The JSON report defaults to validation-report.json in the working directory."""
    assert Options().report_path == Path("validation-report.json")
