"""Tests of the worker's environment contract, its steps' secrets and its exit-code rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifact_validation.archive import Verdict
from artifact_validation.core import Code, Finding, UsageError
from artifact_validation.worker import (
    ArtifactEvent,
    Options,
    Outcome,
    Publication,
    Status,
    Step,
    issue_title,
    settings_from_env,
)

ENV = {
    "GITHUB_TOKEN": "t",
    "STAGING_BINSTAR_TOKEN": "s",
    "POST_STAGING_BINSTAR_TOKEN": "ps",
    "PROD_BINSTAR_TOKEN": "p",
}
EVENT = ArtifactEvent(
    "https://conda.anaconda.org/cf-staging/noarch/foo-1-0.conda",
    "a" * 32,
    "",
    "foo",
    "b" * 40,
    "noarch",
    "foo-1-0.conda",
)
COPY = Options(copy=True)


def test_defaults_and_run_link() -> None:
    """Unset URLs take the public defaults; the run link needs repository and run id."""
    env = {**ENV, "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "9"}
    settings = settings_from_env(env, COPY)
    assert settings.run.api_url == "https://api.github.com"
    assert settings.anaconda_api_url == "https://api.anaconda.org"
    assert settings.outputs_url.startswith("https://raw.githubusercontent.com/conda-forge/")
    assert settings.run.run_link == "https://github.com/o/r/actions/runs/9"
    assert "conda.anaconda.org" in settings.allowed_hosts
    assert settings_from_env(ENV, Options()).run.run_link == ""


def test_gh_token_is_accepted() -> None:
    """GH_TOKEN stands in for GITHUB_TOKEN."""
    assert settings_from_env({"GH_TOKEN": "g"}, Options()).run.token == "g"


def test_each_step_asks_for_its_own_secrets_only() -> None:
    """The validate step needs no secret at all; publish the anaconda.org tokens only."""
    settings_from_env({}, Options(copy=True, steps=(Step.VALIDATE,)))
    publish = {k: v for k, v in ENV.items() if k != "GITHUB_TOKEN"}
    settings_from_env(publish, Options(copy=True, steps=(Step.PUBLISH,)))
    settings_from_env({"GH_TOKEN": "g"}, Options(steps=(Step.REPORT,)))


@pytest.mark.parametrize(
    ("env", "options", "message"),
    [
        ({}, Options(), "GITHUB_TOKEN"),
        ({"GITHUB_TOKEN": "t"}, COPY, "STAGING_BINSTAR_TOKEN and \\$POST_STAGING"),
        ({**ENV, "ANACONDA_API_URL": "ftp://x"}, Options(), "ANACONDA_API_URL"),
        ({**ENV, "GITHUB_API_URL": "not a url"}, Options(), "GITHUB_API_URL"),
        ({**ENV, "FEEDSTOCK_OUTPUTS_URL": "https://x/?q"}, Options(), "FEEDSTOCK_OUTPUTS_URL"),
        ({**ENV, "VALIDATE_ALLOWED_HOSTS": "https://x/"}, Options(), "allowed host"),
    ],
)
def test_bad_environment_is_a_usage_error(
    env: dict[str, str], options: Options, message: str
) -> None:
    """A missing secret or a malformed URL is exit 2 naming the variable."""
    with pytest.raises(UsageError, match=message):
        settings_from_env(env, options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (Options(issue_owner="bad owner"), "--issue-owner"),
        (Options(from_owner="x/y"), "--from-owner"),
        (Options(from_owner="same", to_owner="same"), "must all differ"),
        (Options(post_owner="conda-forge"), "must all differ"),
        (Options(core_repo="nope"), "--core-repo"),
    ],
)
def test_bad_options_are_usage_errors(options: Options, message: str) -> None:
    """Owner and repository names are checked before anything runs."""
    with pytest.raises(UsageError, match=message):
        options.check()


AV201 = [Finding(Code.AV201, ("a",))]


@pytest.mark.parametrize(
    ("case", "code", "status"),
    [
        ({"verdict": Verdict(name="foo")}, 0, Status.VALIDATED),
        ({"verdict": Verdict(name="foo"), "copy": True, "published": True}, 0, Status.PUBLISHED),
        ({"verdict": Verdict(name="foo"), "copy": True}, 3, Status.FAILED),
        ({"verdict": Verdict(name="foo", findings=AV201), "copy": True}, 1, Status.INVALID),
        ({"verdict": Verdict(name="foo", errors=["download failed"])}, 3, Status.FAILED),
        (
            {"verdict": Verdict(name="foo", findings=[Finding(Code.AV701)], errors=["r"])},
            1,
            Status.INVALID,
        ),
        (
            {"verdict": Verdict(name="foo", findings=AV201), "problems": ["GitHub down"]},
            3,
            Status.FAILED,
        ),
    ],
)
def test_exit_code_table(case: dict, code: int, status: Status) -> None:
    """0 only when valid and everything asked for happened; findings 1; failures to act 3."""
    copy = case.get("copy", False)
    publication = Publication(published=case.get("published", False)) if copy else None
    outcome = Outcome(
        EVENT,
        case["verdict"],
        copy=copy,
        publication=publication,
        problems=case.get("problems", []),
    )
    assert outcome.exit_code == code and outcome.status is status
    assert outcome.to_json()["valid"] is (code == 0)


def test_issue_title_is_the_copy_services() -> None:
    """The copy service's title, with the full sha; without a commit, no 'for commit'."""
    assert issue_title(EVENT.git_sha) == (
        "[warning] failed package validation and/or copy for commit " + "b" * 40
    )
    assert issue_title("") == "[warning] failed package validation and/or copy"


def test_default_report_path() -> None:
    """The JSON report defaults to validation-report.json in the working directory."""
    assert Options().report_path == Path("validation-report.json")


def test_reports_and_issue_body_link_the_docs() -> None:
    """The issue body and summaries link each finding to docs/checks.md at the settings' commit;
    a violation's filter file and line survive the JSON round trip between jobs."""
    from artifact_validation.archive import verdict_from_json  # noqa: PLC0415
    from artifact_validation.core import DocsLink, docs_url  # noqa: PLC0415
    from artifact_validation.filters import Violation  # noqa: PLC0415
    from artifact_validation.worker import issue_body  # noqa: PLC0415

    violation = Violation("include/x.h", "x", "include/x.h", ("x",), "validate_yamls/x.yaml", 4)
    verdict = Verdict(name="foo", findings=[Finding(Code.AV502, ("../a",))])
    verdict.add_violations([violation])
    back = verdict_from_json(verdict.to_json())
    assert back.violations == [violation]
    assert verdict_from_json({"violations": [violation.to_json() | {"filter_line": None}]})
    docs = DocsLink("o/r", "c0ffee")
    settings = settings_from_env(ENV, Options(), docs=docs)
    assert settings.docs == docs
    assert settings_from_env(ENV, Options()).docs == DocsLink()
    outcome = Outcome(event=EVENT, verdict=back, docs=docs)
    body = issue_body(outcome, "https://example.org/run")
    for code in (Code.AV201, Code.AV502):
        assert f"[What {code.name} means]({docs_url(code, 'c0ffee', 'o/r')})" in body
        assert f"docs: {docs_url(code, 'c0ffee', 'o/r')}" in outcome.render_text()
        assert docs_url(code, "c0ffee", "o/r") in outcome.render_markdown()
    assert "in `validate_yamls/x.yaml:4`" in body
