"""End to end: ``validate_event.py`` run as the workflow runs it, against real local servers.

Each test builds a real package with conda-package-handling, serves it from
127.0.0.1 (``tests/servers.py``), points the environment at the fake GitHub,
anaconda.org and registry (``tests/fake_api.py``), and runs the entry point
as a subprocess with an event file (issue 5 §4).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import build_package
from tests.support.cli import run_script
from tests.support.fake_api import FakeApi
from tests.support.servers import LocalServer

GIT_SHA = "0123456789abcdef0123456789abcdef01234567"
FEEDSTOCK_REPO = "conda-forge/foo-feedstock"
TITLE = "[warning] artifact validation failed for commit 0123456"
CLEAN = {"lib/libfoo.so": b"\x7fELF foo", "include/foo.h": b"int foo(void);\n"}
CLOBBERING = {**CLEAN, "include/openssl/ssl.h": b"/* not openssl */\n"}


@dataclass
class Run:
    """One entry-point run: the process, the fake's requests, the report and step outputs."""

    proc: subprocess.CompletedProcess[str]
    report: dict[str, Any] | None
    outputs: dict[str, str]
    summary: str

    @property
    def rc(self) -> int:
        """The exit code."""
        return self.proc.returncode


@dataclass
class World:
    """The servers and files of one test, and a way to run the entry point against them."""

    tmp: Path
    api: FakeApi
    channel: LocalServer

    def artifact(self, files: dict[str, bytes], name: str = "foo") -> dict[str, str]:
        """Build ``name`` with ``files``, stage it on anaconda.org and return the payload."""
        path = build_package(self.tmp / "channel" / "cf-staging" / "linux-64", name, files)
        md5 = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        basename = f"linux-64/{path.name}"
        self.api.add_dist("cf-staging", name, "1.0", basename, md5=md5)
        return {
            "artifact_url": f"{self.channel.url}/cf-staging/{basename}",
            "md5": md5,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "feedstock": "foo",
            "git_sha": GIT_SHA,
        }

    def env(self) -> dict[str, str]:
        """The environment Actions gives the job, pointed at the local servers."""
        return {
            "PATH": os.environ.get("PATH", ""),
            "GITHUB_API_URL": self.api.github_url,
            "GITHUB_TOKEN": "gh-token",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "conda-forge/artifact-validation",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md"),
            "GITHUB_OUTPUT": str(self.tmp / "output.txt"),
            "ANACONDA_API_URL": self.api.anaconda_url,
            "STAGING_BINSTAR_TOKEN": "stg",
            "PROD_BINSTAR_TOKEN": "prod",
            "FEEDSTOCK_OUTPUTS_URL": self.api.registry_url,
            "VALIDATE_ALLOWED_HOSTS": "127.0.0.1",
            "AV_RETRY_BACKOFF": "0.01",
        }

    def run(
        self,
        event: Any,
        *args: str,
        env: dict[str, str] | None = None,
    ) -> Run:
        """Write ``event`` to a file and run ``validate_event.py`` on it."""
        for name in ("summary.md", "output.txt", "report.json"):
            (self.tmp / name).unlink(missing_ok=True)
        path = self.tmp / "event.json"
        path.write_text(event if isinstance(event, str) else json.dumps(event), encoding="utf-8")
        report = self.tmp / "report.json"
        proc = run_script(
            "validate_event.py",
            path,
            "--report",
            report,
            *args,
            env=env if env is not None else self.env(),
            cwd=self.tmp,
            timeout=120,
        )
        output = self.tmp / "output.txt"
        lines = output.read_text(encoding="utf-8").splitlines() if output.exists() else []
        summary = self.tmp / "summary.md"
        return Run(
            proc,
            json.loads(report.read_text(encoding="utf-8")) if report.exists() else None,
            dict(line.split("=", 1) for line in lines),
            summary.read_text(encoding="utf-8") if summary.exists() else "",
        )


def dispatch(payload: dict[str, Any]) -> dict[str, Any]:
    """A repository_dispatch event as GitHub writes it to $GITHUB_EVENT_PATH."""
    return {
        "action": "validate-artifact",
        "client_payload": payload,
        "repository": {"full_name": "conda-forge/artifact-validation"},
    }


@pytest.fixture
def world(tmp_path: Path, fake_api: FakeApi) -> Iterator[World]:
    """Servers for one test: the fake APIs and a channel serving built artifacts."""
    (tmp_path / "channel").mkdir()
    fake_api.anaconda_tokens = {"cf-staging": "stg", "conda-forge": "prod"}
    fake_api.github_token = "gh-token"
    fake_api.register_output("foo", ["foo"])
    with LocalServer(root=tmp_path / "channel") as channel:
        yield World(tmp_path, fake_api, channel)


def test_clean_owned_artifact_is_copied(world: World) -> None:
    """Clean and owned: exit 0, one copy, the read-back, the staging delete, no issue."""
    payload = world.artifact(CLEAN)
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 0, run.proc.stderr
    api = world.api
    copies = api.requests_to("anaconda", "POST")
    assert [r.path for r in copies] == [
        "/anaconda/copy/package/cf-staging/foo/1.0/linux-64/foo-1.0-0.conda"
    ]
    assert copies[0].json() == {
        "to_owner": "conda-forge",
        "from_channel": "main",
        "to_channel": "main",
    }
    assert copies[0].headers["authorization"] == "token prod"
    reads = api.requests_to("anaconda", "GET")
    assert [r.path for r in reads] == [
        "/anaconda/dist/conda-forge/foo/1.0/linux-64/foo-1.0-0.conda"
    ]
    deletes = api.requests_to("anaconda", "DELETE")
    assert [r.path for r in deletes] == [
        "/anaconda/dist/cf-staging/foo/1.0/linux-64/foo-1.0-0.conda"
    ]
    assert deletes[0].headers["authorization"] == "token stg"
    assert api.requests_to("github", "POST") == []
    assert api.github_repo(FEEDSTOCK_REPO).issues == []
    assert run.outputs == {"valid": "true", "report": str(world.tmp / "report.json")}
    assert run.report is not None and run.report["valid"] is True
    assert run.report["publication"] == {"copied": True, "production_md5": payload["md5"]}
    assert run.report["removed_from_staging"] is True
    assert ":white_check_mark:" in run.summary


def test_without_copy_nothing_is_published(world: World) -> None:
    """A valid artifact without --copy is only validated: no anaconda.org request."""
    run = world.run(dispatch(world.artifact(CLEAN)))
    assert run.rc == 0, run.proc.stderr
    assert world.api.requests_to("anaconda") == []


def test_clobbering_opens_one_issue_then_comments(world: World) -> None:
    """Clobbering: exit 1, no copy, one issue with the findings; the same event again comments."""
    event = dispatch(world.artifact(CLOBBERING))
    first = world.run(event, "--copy")
    assert first.rc == 1, first.proc.stderr
    assert world.api.requests_to("anaconda", "POST") == []
    issues = world.api.github_repo(FEEDSTOCK_REPO).issues
    assert [i["title"] for i in issues] == [TITLE]
    body = issues[0]["body"]
    assert "AV201" in body and "include/openssl/ssl.h" in body and "openssl" in body
    assert "https://github.com/conda-forge/artifact-validation/actions/runs/4242" in body
    assert GIT_SHA in body and "foo-1.0-0.conda" in body
    assert first.outputs["valid"] == "false"
    assert first.report is not None and first.report["issue"]["created"] is True
    assert "AV201" in first.proc.stderr and "include/openssl/ssl.h" in first.proc.stderr

    second = world.run(event, "--copy")
    assert second.rc == 1
    issues = world.api.github_repo(FEEDSTOCK_REPO).issues
    assert len(issues) == 1 and len(issues[0]["comments"]) == 1
    assert "AV201" in issues[0]["comments"][0]["body"]
    assert world.api.requests_to("anaconda", "POST") == []
    assert all(
        r.path.startswith("/github/repos/conda-forge/foo-feedstock/")
        for r in world.api.requests_to("github")
    )


def test_issue_owner_option(world: World) -> None:
    """--issue-owner opens the issue on another owner's feedstock repository."""
    run = world.run(dispatch(world.artifact(CLOBBERING)), "--issue-owner", "my-org")
    assert run.rc == 1
    assert [i["title"] for i in world.api.github_repo("my-org/foo-feedstock").issues] == [TITLE]


def test_unregistered_output_is_av701(world: World) -> None:
    """Not owned: exit 1, the ownership finding, no copy, an issue saying how to register."""
    payload = world.artifact(CLEAN, name="bar")
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 1, run.proc.stderr
    assert world.api.requests_to("anaconda", "POST") == []
    assert run.report is not None
    assert [f["code"] for f in run.report["findings"]] == ["AV701"]
    assert "outputs/b/a/r/bar.json" in run.report["findings"][0]["detail"]
    assert "AV701" in world.api.github_repo(FEEDSTOCK_REPO).issues[0]["body"]


def test_other_feedstocks_output_is_av701(world: World) -> None:
    """A name registered to another feedstock is the ownership finding too."""
    world.api.register_output("foo", ["other"])
    run = world.run(dispatch(world.artifact(CLEAN)), "--copy")
    assert run.rc == 1
    assert run.report is not None and "belongs to other" in run.report["findings"][0]["detail"]


def test_workflow_dispatch_reruns_one_artifact(world: World) -> None:
    """A maintainer's workflow_dispatch (string inputs, sha256 left empty) runs the same way."""
    payload = {**world.artifact(CLEAN), "sha256": ""}
    run = world.run({"inputs": payload, "ref": "refs/heads/main"}, "--copy")
    assert run.rc == 0, run.proc.stderr
    assert len(world.api.requests_to("anaconda", "POST")) == 1


def test_rerun_that_passes_comments_on_the_earlier_issue(world: World) -> None:
    """An open warning issue for the commit gets a note when a re-run validates and copies."""
    number = world.api.add_issue(FEEDSTOCK_REPO, TITLE, "old failure")
    run = world.run(dispatch(world.artifact(CLEAN)), "--copy")
    assert run.rc == 0, run.proc.stderr
    comments = world.api.github_repo(FEEDSTOCK_REPO).issues[0]["comments"]
    assert number == 1 and len(comments) == 1 and "copied to production" in comments[0]["body"]


VALID_FIELDS = {
    "artifact_url": "https://conda.anaconda.org/cf-staging/linux-64/foo-1.0-0.conda",
    "md5": "a" * 32,
    "feedstock": "foo",
    "git_sha": GIT_SHA,
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"artifact_url": None}, "artifact_url"),
        ({"artifact_url": "https://evil.example/linux-64/foo-1.0-0.conda"}, "artifact_url"),
        ({"artifact_url": "http://conda.anaconda.org/linux-64/foo-1.0-0.conda"}, "artifact_url"),
        ({"artifact_url": ["x"]}, "artifact_url"),
        ({"md5": None}, "md5"),
        ({"md5": "z" * 32}, "md5"),
        ({"sha256": "abc"}, "sha256"),
        ({"feedstock": None}, "feedstock"),
        ({"feedstock": "Foo/../bar"}, "feedstock"),
        ({"git_sha": None}, "git_sha"),
        ({"git_sha": "0123456"}, "git_sha"),
    ],
)
def test_malformed_payload_exits_2_without_requests(
    world: World, changes: dict[str, Any], field: str
) -> None:
    """Each malformed or missing field: exit 2, a message naming it, zero requests."""
    payload = {k: v for k, v in {**VALID_FIELDS, **changes}.items() if v is not None}
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 2, run.proc.stderr
    assert f"client_payload.{field}" in run.proc.stderr
    assert "Traceback" not in run.proc.stderr
    assert world.api.requests == [] and world.channel.requests == []
    assert run.outputs == {}


@pytest.mark.parametrize(
    "event",
    [
        "not json",
        json.dumps({"action": "other-type", "client_payload": VALID_FIELDS}),
        json.dumps({"action": "validate-artifact", "client_payload": "x"}),
        json.dumps([1, 2]),
    ],
)
def test_malformed_event_exits_2_without_requests(world: World, event: str) -> None:
    """A broken event file or a dispatch of another type: exit 2, zero requests."""
    run = world.run(event)
    assert run.rc == 2 and "Traceback" not in run.proc.stderr
    assert world.api.requests == [] and world.channel.requests == []


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("GITHUB_TOKEN", "GITHUB_TOKEN"),
        ("PROD_BINSTAR_TOKEN", "PROD_BINSTAR_TOKEN"),
        ("STAGING_BINSTAR_TOKEN", "STAGING_BINSTAR_TOKEN"),
    ],
)
def test_missing_secret_exits_2_without_requests(world: World, drop: str, message: str) -> None:
    """A missing token is bad usage: exit 2 naming the variable, before any request."""
    env = world.env()
    del env[drop]
    run = world.run(dispatch(VALID_FIELDS), "--copy", env=env)
    assert run.rc == 2 and message in run.proc.stderr
    assert world.api.requests == []


def test_github_502_twice_then_201_is_retried(world: World) -> None:
    """GitHub answering 502 twice then 201: the issue is opened once and the run exits 1."""
    world.api.fail("POST", "/github/repos/*/issues", 502, times=2)
    run = world.run(dispatch(world.artifact(CLOBBERING)))
    assert run.rc == 1, run.proc.stderr
    assert len(world.api.requests_to("github", "POST", "*/issues")) == 3
    assert len(world.api.github_repo(FEEDSTOCK_REPO).issues) == 1


def test_github_always_502_exits_3_without_copy(world: World) -> None:
    """GitHub always 502: a clean artifact is not copied and the run exits 3."""
    world.api.fail("*", "/github/*", 502, times=None)
    run = world.run(dispatch(world.artifact(CLEAN)), "--copy")
    assert run.rc == 3, run.proc.stderr
    assert world.api.requests_to("anaconda") == []
    assert "HTTP 502" in run.proc.stderr and run.outputs["valid"] == "false"


def test_github_always_502_on_invalid_artifact_exits_3(world: World) -> None:
    """GitHub always 502 while reporting a clobbering artifact: exit 3 (it was not reported)."""
    world.api.fail("*", "/github/*", 502, times=None)
    run = world.run(dispatch(world.artifact(CLOBBERING)), "--copy")
    assert run.rc == 3
    assert world.api.requests_to("anaconda") == []
    assert run.report is not None and [f["code"] for f in run.report["findings"]] == ["AV201"]


def test_copy_409_with_another_md5_fails(world: World) -> None:
    """Copy answered 409 with a different md5 in production: exit 1, AV702, an issue, no delete."""
    payload = world.artifact(CLEAN)
    world.api.add_dist("conda-forge", "foo", "1.0", "linux-64/foo-1.0-0.conda", md5="f" * 32)
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 1, run.proc.stderr
    assert "AV702" in run.proc.stderr and "409" in run.proc.stderr
    assert world.api.requests_to("anaconda", "DELETE") == []
    body = world.api.github_repo(FEEDSTOCK_REPO).issues[0]["body"]
    assert "AV702" in body
    assert run.outputs["valid"] == "false"


def test_copy_409_with_the_same_md5_succeeds(world: World) -> None:
    """A 409 whose production md5 matches (a re-run after a copy) is success."""
    payload = world.artifact(CLEAN)
    world.api.add_dist("conda-forge", "foo", "1.0", "linux-64/foo-1.0-0.conda", md5=payload["md5"])
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 0, run.proc.stderr
    assert run.report is not None and run.report["publication"]["copied"] is False


def test_failed_copy_is_reported_and_exits_3(world: World) -> None:
    """A copy failing after retries exits 3 and is reported on the feedstock like a failure."""
    world.api.fail("POST", "/anaconda/copy/*", 500, times=None)
    run = world.run(dispatch(world.artifact(CLEAN)), "--copy")
    assert run.rc == 3
    assert "copy to production failed" in world.api.github_repo(FEEDSTOCK_REPO).issues[0]["body"]


def test_unreachable_registry_exits_3(world: World) -> None:
    """An ownership registry that keeps failing is exit 3 and nothing is copied."""
    world.api.fail("GET", "/registry/*", 503, times=None)
    run = world.run(dispatch(world.artifact(CLEAN)), "--copy")
    assert run.rc == 3
    assert world.api.requests_to("anaconda") == []


def test_md5_mismatch_is_av101_and_not_copied(world: World) -> None:
    """An artifact whose bytes do not match the announced md5 is invalid and never copied."""
    payload = {**world.artifact(CLEAN), "md5": "0" * 32}
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 1
    assert run.report is not None and "AV101" in [f["code"] for f in run.report["findings"]]
    assert world.api.requests_to("anaconda") == []


def test_missing_artifact_is_exit_3_and_reported(world: World) -> None:
    """An artifact URL answering 404 could not be validated: exit 3 and an issue says so."""
    payload = {
        **world.artifact(CLEAN),
        "artifact_url": f"{world.channel.url}/x/linux-64/f-1-0.conda",
    }
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 3
    assert world.api.requests_to("anaconda") == []
    assert "could not" in world.api.github_repo(FEEDSTOCK_REPO).issues[0]["body"]


def test_tokens_never_reach_reports_issues_or_logs(world: World) -> None:
    """anaconda.org echoing the production token in an error: *** everywhere we write."""
    env = {**world.env(), "PROD_BINSTAR_TOKEN": "prod-s3cret-token"}
    world.api.fail(
        "POST", "/anaconda/copy/*", 500, times=None,
        body={"error": "token prod-s3cret-token is not allowed"},
    )  # fmt: skip
    run = world.run(dispatch(world.artifact(CLEAN)), "--copy", env=env)
    assert run.rc == 3
    issue = world.api.github_repo(FEEDSTOCK_REPO).issues[0]
    texts = [run.proc.stdout, run.proc.stderr, run.summary, json.dumps(run.report), issue["body"]]
    assert all("prod-s3cret-token" not in text for text in texts)
    assert "***" in issue["body"]
