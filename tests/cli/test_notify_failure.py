"""Tests of ``notify_failure.py``: one issue per failed workflow, with the run link, fail closed."""

from __future__ import annotations

import subprocess

from tests.support.cli import run_script
from tests.support.fake_api import FakeApi

REPO = "conda-forge/artifact-validation"


def run(api: FakeApi, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the notifier as a workflow step would, against the fake GitHub."""
    base = {
        "GITHUB_API_URL": api.github_url,
        "GITHUB_TOKEN": "t",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_RUN_ID": "77",
        "AV_RETRY_BACKOFF": "0.01",
    }
    base.update(env)
    return run_script(
        "notify_failure.py", *args, env={k: v or None for k, v in base.items()}, timeout=60
    )


def test_first_failure_opens_then_comments(fake_api: FakeApi) -> None:
    """The first failure opens `[bot] scan failed`; the next one comments on it."""
    first = run(fake_api, "--workflow", "scan")
    assert first.returncode == 0, first.stderr
    second = run(fake_api, "--workflow", "scan", GITHUB_RUN_ID="78")
    assert second.returncode == 0, second.stderr
    issues = fake_api.github_repo(REPO).issues
    assert [i["title"] for i in issues] == ["[bot] scan failed"]
    assert "https://github.com/conda-forge/artifact-validation/actions/runs/77" in issues[0]["body"]
    assert "actions/runs/78" in issues[0]["comments"][0]["body"]
    assert "opened issue #1" in first.stderr and "commented on issue #1" in second.stderr


def test_missing_environment_is_exit_2(fake_api: FakeApi) -> None:
    """Without a token or run id the notifier refuses (exit 2) and sends nothing."""
    proc = run(fake_api, "--workflow", "scan", GITHUB_TOKEN="")
    assert proc.returncode == 2 and "GITHUB_TOKEN" in proc.stderr
    assert fake_api.requests == []


def test_github_down_is_exit_3(fake_api: FakeApi) -> None:
    """A GitHub that keeps failing is exit 3 after the retries, never a silent success."""
    fake_api.fail("*", "/github/*", 503, times=None)
    proc = run(fake_api, "--workflow", "scan")
    assert proc.returncode == 3 and "HTTP 503" in proc.stderr
    assert "Traceback" not in proc.stderr
