"""Tests of ``mark_broken.py`` against the local fake GitHub and anaconda.org APIs.

The bot opens its pull requests from its own fork (``cf-bot/admin-requests``)
and only for artifacts still in production (issue 13).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from artifact_validation.core import UsageError
from artifact_validation.scan import BrokenRequest, load_invalid, plan_requests
from tests.support.cli import run_script
from tests.support.fake_api import FakeApi

REPO = "conda-forge/admin-requests"
BOT = "cf-bot"
FORK = f"{BOT}/admin-requests"

INVALID = {
    "foo": {
        "linux-64/foo-1.0-h0_0.conda": {"openssl": ["include/openssl/ssl.h"]},
        "osx-64/foo-1.0-h0_0.tar.bz2": {"openssl": ["include/openssl/ssl.h"]},
    },
    "bar": {"noarch/bar-2.0-py_0.conda": {"certifi.python.generated": ["site-packages/certifi"]}},
    "baz": {"win-64/baz-3-0.tar.bz2": {"openssl": ["Library/bin/openssl.exe"]}},
}


def run(tmp_path: Path, api: FakeApi, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "GITHUB_API_URL": api.github_url,
        "GITHUB_TOKEN": "t0ken",
        "AV_RETRY_BACKOFF": "0",
        "FEEDSTOCK_OUTPUTS_URL": api.registry_url,
        "ANACONDA_API_URL": api.anaconda_url,
    }
    return run_script(
        "mark_broken.py", *args,
        "--invalid", tmp_path / "invalid.yaml", "--prs", tmp_path / "prs.yaml", "--repo", REPO,
        env=env, cwd=tmp_path,
    )  # fmt: skip


def in_production(api: FakeApi, invalid: dict) -> None:
    """Put every artifact of ``invalid`` in the production channel."""
    for name, artifacts in invalid.items():
        for artifact in artifacts:
            version = artifact.split("/")[1].split("-")[1]
            api.add_dist("conda-forge", name, version, artifact, md5="0" * 32)


@pytest.fixture(autouse=True)
def bot(fake_api: FakeApi) -> None:
    fake_api.github_logins["t0ken"] = BOT
    in_production(fake_api, INVALID)


@pytest.fixture
def invalid_file(tmp_path: Path) -> Path:
    path = tmp_path / "invalid.yaml"
    path.write_text(yaml.safe_dump(INVALID))
    return path


def writes(api: FakeApi) -> list[str]:
    return [f"{r.method} {r.path}" for r in api.requests if r.method in ("POST", "PUT", "PATCH")]


def test_first_run_opens_prs_and_records_them(tmp_path, fake_api, invalid_file) -> None:
    """A first run opens one PR per package name with the admin-requests file, and records it."""
    proc = run(tmp_path, fake_api, "--max-prs", "10")
    assert proc.returncode == 0, proc.stderr
    repo = fake_api.github_repo(REPO)
    assert len(repo.pulls) == 3
    foo = BrokenRequest("foo", tuple(sorted(INVALID["foo"])), INVALID["foo"])
    content = fake_api.github_repo(FORK).files[(foo.branch, foo.path)].decode()
    assert (foo.branch, foo.path) not in repo.files  # nothing pushed to the target
    assert yaml.safe_load(content) == {"action": "broken", "packages": sorted(INVALID["foo"])}
    pull = next(p for p in repo.pulls if p["head"]["ref"] == foo.branch)
    assert "include/openssl/ssl.h" in pull["body"] and "`openssl`" in pull["body"]
    assert "@conda-forge/foo" in pull["body"]
    assert pull["head"]["label"] == f"{BOT}:{foo.branch}" and pull["maintainer_can_modify"]
    recorded = yaml.safe_load((tmp_path / "prs.yaml").read_text())
    assert set(recorded) == {a for arts in INVALID.values() for a in arts}
    assert recorded["linux-64/foo-1.0-h0_0.conda"]["head_branch"] == foo.branch
    assert recorded["linux-64/foo-1.0-h0_0.conda"]["number"] == pull["number"]


def test_pr_mentions_the_registered_feedstock_team(tmp_path, fake_api, invalid_file) -> None:
    """The PR body mentions the team of the feedstock that the ownership registry names."""
    fake_api.register_output("foo", ["foo-tools"])
    assert run(tmp_path, fake_api, "--max-prs", "10").returncode == 0
    pull = next(p for p in fake_api.github_repo(REPO).pulls if p["head"]["ref"].startswith("foo-"))
    assert "@conda-forge/foo-tools" in pull["body"] and "@conda-forge/foo " not in pull["body"]


def test_second_run_opens_nothing(tmp_path, fake_api, invalid_file) -> None:
    """Re-running with every artifact recorded sends no write request at all."""
    assert run(tmp_path, fake_api).returncode == 0
    before = len(writes(fake_api))
    proc = run(tmp_path, fake_api)
    assert proc.returncode == 0, proc.stderr
    assert len(writes(fake_api)) == before
    assert len(fake_api.github_repo(REPO).pulls) == 3


def test_max_prs_caps_and_next_run_continues(tmp_path, fake_api, invalid_file) -> None:
    """--max-prs 1 opens one PR; the next run opens the next one."""
    assert run(tmp_path, fake_api, "--max-prs", "1").returncode == 0
    assert len(fake_api.github_repo(REPO).pulls) == 1
    assert run(tmp_path, fake_api, "--max-prs", "1").returncode == 0
    assert len(fake_api.github_repo(REPO).pulls) == 2


def test_dry_run_sends_no_write(tmp_path, fake_api, invalid_file) -> None:
    """--dry-run prints the PRs it would open and changes nothing anywhere."""
    proc = run(tmp_path, fake_api, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert fake_api.requests == []
    assert not (tmp_path / "prs.yaml").exists()
    assert "would open" in proc.stderr and "action: broken" in proc.stderr


def test_existing_branch_is_never_reused(tmp_path, fake_api, invalid_file) -> None:
    """A branch that already exists gets no second PR; its open PR is recorded instead."""
    assert run(tmp_path, fake_api, "--max-prs", "10").returncode == 0
    (tmp_path / "prs.yaml").unlink()  # records lost: the branches still exist on GitHub
    proc = run(tmp_path, fake_api)
    assert proc.returncode == 0, proc.stderr
    assert len(fake_api.github_repo(REPO).pulls) == 3
    assert len(yaml.safe_load((tmp_path / "prs.yaml").read_text())) == 4


def test_api_failure_fails_closed_without_recording(tmp_path, fake_api, invalid_file) -> None:
    """A PR creation answered 502 on every retry exits 3 and records no PR that was not opened."""
    fake_api.fail("POST", "/github/repos/*/pulls", 502, times=None)
    proc = run(tmp_path, fake_api)
    assert proc.returncode == 3
    assert "502" in proc.stderr
    prs = tmp_path / "prs.yaml"
    assert not prs.exists() or not yaml.safe_load(prs.read_text())


def test_transient_502_is_retried(tmp_path, fake_api, invalid_file) -> None:
    """Two 502 answers, then success: the PRs are opened all the same."""
    fake_api.fail("POST", "/github/repos/*/pulls", 502, times=2)
    proc = run(tmp_path, fake_api)
    assert proc.returncode == 0, proc.stderr
    assert len(fake_api.github_repo(REPO).pulls) == 3


def test_plan_groups_by_name_and_skips_recorded() -> None:
    """Planning groups artifacts by package and leaves recorded artifacts out."""
    plan = plan_requests(INVALID, {"noarch/bar-2.0-py_0.conda": {"number": 1}})
    assert [(r.name, len(r.artifacts)) for r in plan] == [("baz", 1), ("foo", 2)]
    assert plan[1].path == f"requests/foo-{plan[1].short_hash}.yml"


def test_malformed_invalid_file_is_a_usage_error(tmp_path: Path) -> None:
    """An invalid-packages file of the wrong shape is a clear error (exit 2), not a PR."""
    bad = tmp_path / "invalid.yaml"
    bad.write_text(yaml.safe_dump({"foo": {"linux-64/foo.conda": {"bad_paths": {"x": ["y"]}}}}))
    with pytest.raises(UsageError, match="list of paths"):
        load_invalid(bad)


def test_hostile_paths_stay_inert_in_the_pr_body(tmp_path, fake_api) -> None:
    """A path with a backtick, a newline, a mention and an image cannot escape its code span."""
    hostile = "include/openssl/x`\n@conda-forge/core ![x](https://evil.example/x.png)"
    (tmp_path / "invalid.yaml").write_text(
        yaml.safe_dump({"foo": {"linux-64/foo-1.0-h0_0.conda": {"openssl": [hostile]}}})
    )
    assert run(tmp_path, fake_api).returncode == 0
    [pull] = fake_api.github_repo(REPO).pulls
    body = pull["body"]
    for line in body.splitlines():
        if "evil.example" in line:
            assert line.strip().startswith("- `") and line.count("`") == 2, line
    assert "\n@conda-forge/core" not in body


def test_branch_without_pr_gets_its_pr(tmp_path, fake_api, invalid_file) -> None:
    """A branch pushed by a run that died before its PR gets the PR now, without a second push."""
    assert run(tmp_path, fake_api, "--max-prs", "10").returncode == 0
    repo = fake_api.github_repo(REPO)
    repo.pulls.clear()
    (tmp_path / "prs.yaml").unlink()
    pushes = len([r for r in fake_api.requests if r.method == "PUT"])
    proc = run(tmp_path, fake_api, "--max-prs", "10")
    assert proc.returncode == 0, proc.stderr
    assert len(repo.pulls) == 3 and "opened the missing PR" in proc.stderr
    assert len([r for r in fake_api.requests if r.method == "PUT"]) == pushes


def test_artifact_gone_from_production_is_skipped_and_recorded(
    tmp_path, fake_api, invalid_file
) -> None:
    """An artifact already removed from production is not requested again, and is recorded."""
    fake_api.dists.pop(("conda-forge", "baz", "3", "win-64/baz-3-0.tar.bz2"))
    proc = run(tmp_path, fake_api, "--max-prs", "10")
    assert proc.returncode == 0, proc.stderr
    assert "win-64/baz-3-0.tar.bz2 is no longer in conda-forge" in proc.stderr
    assert len(fake_api.github_repo(REPO).pulls) == 2
    recorded = yaml.safe_load((tmp_path / "prs.yaml").read_text())
    assert recorded["win-64/baz-3-0.tar.bz2"] == {"skipped": "not in production"}
    before = len(writes(fake_api))
    assert run(tmp_path, fake_api).returncode == 0
    assert len(writes(fake_api)) == before


def test_partly_gone_package_requests_only_what_remains(tmp_path, fake_api, invalid_file) -> None:
    """When one of a package's artifacts is gone, its request names only the remaining one."""
    fake_api.dists.pop(("conda-forge", "foo", "1.0", "osx-64/foo-1.0-h0_0.tar.bz2"))
    assert run(tmp_path, fake_api, "--max-prs", "10").returncode == 0
    fork = fake_api.github_repo(FORK)
    [content] = [v for (b, path), v in fork.files.items() if path.startswith("requests/foo-")]
    assert yaml.safe_load(content)["packages"] == ["linux-64/foo-1.0-h0_0.conda"]


def test_existing_fork_is_synced_not_recreated(tmp_path, fake_api, invalid_file) -> None:
    """A second run with new artifacts syncs the fork with upstream instead of forking again."""
    assert run(tmp_path, fake_api, "--max-prs", "1").returncode == 0
    assert run(tmp_path, fake_api, "--max-prs", "1").returncode == 0
    paths = [r.path for r in fake_api.requests if r.method == "POST"]
    assert sum(p.endswith("/forks") for p in paths) == 1
    assert any(p.endswith(f"{FORK}/merge-upstream") for p in paths)
