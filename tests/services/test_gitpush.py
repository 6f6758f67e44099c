"""Tests of the safe push against a real bare repository, with real concurrent pushes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from artifact_validation.core import PushError, UsageError
from artifact_validation.services import commit_and_push
from tests.support.cli import run_script
from tests.support.git import bare_remote, clone, git

GIT_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")


@pytest.fixture
def repos(tmp_path: Path) -> dict[str, Path]:
    """A bare remote refusing non-fast-forward pushes, our clone and another engineer's clone."""
    remote = tmp_path / "remote.git"
    bare_remote(remote)
    git(remote, "config", "receive.denyNonFastForwards", "true")
    seed = clone(remote, tmp_path / "seed")
    (seed / "scan_data").mkdir()
    (seed / "scan_data" / "state.json").write_text("{}\n")
    (seed / "README.md").write_text("line 1\nline 2\n")
    git(seed, "add", ".")
    git(seed, "commit", "-qm", "initial")
    git(seed, "push", "-q", "origin", "HEAD:main")
    return {
        "remote": remote,
        "work": clone(remote, tmp_path / "work"),
        "other": clone(remote, tmp_path / "other"),
        "tmp": tmp_path,
    }


def install_racing_hook(work: Path, other: Path, times: int, file_name: str = "other.txt") -> None:
    """A pre-push hook in ``work`` that pushes a commit from ``other`` first, ``times`` times."""
    hook = work / ".git" / "hooks" / "pre-push"
    count = work.parent / f"race-count-{work.name}"
    hook.write_text(
        "#!/bin/sh\n"
        f"unset {' '.join(GIT_ENV_DROP)}\n"
        f'n=$(cat "{count}" 2>/dev/null || echo 0)\n'
        f'[ "$n" -ge {times} ] && exit 0\n'
        f'echo $((n + 1)) > "{count}"\n'
        f'cd "{other}" || exit 1\n'
        "git pull -q --rebase origin main >/dev/null 2>&1\n"
        f'echo "race $n" >> "{file_name}"\n'
        f'git add "{file_name}" && git commit -qm "concurrent $n" && git push -q origin HEAD:main\n'
    )
    hook.chmod(0o755)


def remote_log(remote: Path) -> list[str]:
    return git(remote, "log", "--format=%s", "main").splitlines()


def test_commits_only_the_given_paths_and_pushes(repos: dict[str, Path]) -> None:
    """Only the named path is committed; other changes in the tree stay uncommitted."""
    work = repos["work"]
    (work / "scan_data" / "state.json").write_text('{"new": 1}\n')
    (work / "untracked.txt").write_text("not mine to commit\n")
    result = commit_and_push(work, ["scan_data/state.json"], "scan: update", sleep=lambda s: None)
    assert result.pushed and result.branch == "main" and result.attempts == 1
    assert git(repos["remote"], "rev-parse", "main") == result.commit
    assert git(repos["remote"], "show", "main:scan_data/state.json") == '{"new": 1}'
    assert git(repos["remote"], "show", "--name-only", "--format=", "main") == (
        "scan_data/state.json"
    )


def test_nothing_to_commit_pushes_nothing(repos: dict[str, Path]) -> None:
    """Unchanged paths give pushed=False and leave the remote alone."""
    before = git(repos["remote"], "rev-parse", "main")
    result = commit_and_push(repos["work"], ["scan_data/state.json"], "noop")
    assert not result.pushed and result.commit == ""
    assert git(repos["remote"], "rev-parse", "main") == before


def test_concurrent_commit_between_fetch_and_push_is_kept(repos: dict[str, Path]) -> None:
    """A commit pushed by someone else between our fetch and our push survives; ours lands on it."""
    work, other = repos["work"], repos["other"]
    install_racing_hook(work, other, times=1)
    (work / "scan_data" / "state.json").write_text('{"scan": 2}\n')
    waits: list[float] = []
    result = commit_and_push(work, ["scan_data/state.json"], "scan: update", sleep=waits.append)
    assert result.pushed and result.attempts == 2 and len(waits) == 1
    assert remote_log(repos["remote"]) == ["scan: update", "concurrent 0", "initial"]
    assert git(repos["remote"], "show", "main:other.txt") == "race 0"
    assert git(repos["remote"], "show", "main:scan_data/state.json") == '{"scan": 2}'


def test_retries_are_bounded_and_never_force(repos: dict[str, Path]) -> None:
    """A branch that moves before every push makes it give up after N attempts, force-free."""
    work, other = repos["work"], repos["other"]
    install_racing_hook(work, other, times=100)
    (work / "scan_data" / "state.json").write_text('{"scan": 3}\n')
    with pytest.raises(PushError, match="kept moving"):
        commit_and_push(
            work, ["scan_data/state.json"], "scan: update", attempts=3, sleep=lambda s: None
        )
    log = remote_log(repos["remote"])
    assert log == ["concurrent 2", "concurrent 1", "concurrent 0", "initial"]


def test_conflicting_concurrent_change_fails_without_overwriting(repos: dict[str, Path]) -> None:
    """Someone else changed the same lines: nothing is pushed and their commit stays on top."""
    work, other = repos["work"], repos["other"]
    (other / "scan_data" / "state.json").write_text('{"theirs": 1}\n')
    git(other, "commit", "-qam", "theirs")
    git(other, "push", "-q", "origin", "HEAD:main")
    (work / "scan_data" / "state.json").write_text('{"ours": 1}\n')
    with pytest.raises(PushError, match="same lines"):
        commit_and_push(work, ["scan_data/state.json"], "ours", sleep=lambda s: None)
    assert remote_log(repos["remote"]) == ["theirs", "initial"]
    assert not (work / ".git" / "rebase-merge").exists()
    assert not (work / ".git" / "rebase-apply").exists()


def test_non_conflicting_change_to_another_file_is_rebased_onto(repos: dict[str, Path]) -> None:
    """A concurrent commit already on the remote before we start is rebased onto, not lost."""
    work, other = repos["work"], repos["other"]
    (other / "README.md").write_text("line 1 changed\nline 2\n")
    git(other, "commit", "-qam", "docs")
    git(other, "push", "-q", "origin", "HEAD:main")
    (work / "scan_data" / "state.json").write_text('{"ours": 2}\n')
    result = commit_and_push(work, ["scan_data/state.json"], "ours")
    assert result.pushed and result.attempts == 1
    assert remote_log(repos["remote"]) == ["ours", "docs", "initial"]


def test_unrelated_local_commits_are_not_published(repos: dict[str, Path]) -> None:
    """Only our commit moves to the branch: an unpushed local commit under it stays local."""
    work = repos["work"]
    (work / "README.md").write_text("local only\n")
    git(work, "commit", "-qam", "local experiment")
    (work / "scan_data" / "state.json").write_text('{"ours": 3}\n')
    result = commit_and_push(work, ["scan_data/state.json"], "ours")
    assert result.pushed
    assert remote_log(repos["remote"]) == ["ours", "initial"]
    assert git(repos["remote"], "show", "main:README.md") == "line 1\nline 2"


def test_removed_file_is_committed_as_a_removal(repos: dict[str, Path]) -> None:
    """Deleting a tracked path and naming it commits the removal."""
    work = repos["work"]
    (work / "scan_data" / "state.json").unlink()
    result = commit_and_push(work, ["scan_data/state.json"], "drop state")
    assert result.pushed
    assert git(repos["remote"], "ls-tree", "--name-only", "-r", "main") == "README.md"


@pytest.mark.parametrize(
    "paths",
    [[], ["../outside.txt"], [".git/config"], ["--force"], ["."]],
)
def test_bad_paths_are_usage_errors(repos: dict[str, Path], paths: list[str]) -> None:
    """Paths outside the work tree, inside .git, option-like or none at all are refused."""
    with pytest.raises(UsageError):
        commit_and_push(repos["work"], paths, "message")


def test_token_env_must_be_a_variable_name(repos: dict[str, Path]) -> None:
    """The token variable name goes into a credential helper, so it must be a plain name."""
    with pytest.raises(UsageError):
        commit_and_push(repos["work"], ["README.md"], "m", token_env="X; rm -rf /")


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_script("commit_back.py", *args)


def test_cli_pushes_and_reports_json(repos: dict[str, Path]) -> None:
    """commit_back.py exits 0 and prints the pushed commit as JSON."""
    work = repos["work"]
    (work / "scan_data" / "state.json").write_text('{"cli": 1}\n')
    proc = run_cli("--repo", work, "--message", "cli", "--paths", "scan_data/state.json", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["pushed"] is True and doc["commit"] == git(repos["remote"], "rev-parse", "main")


def test_cli_exit_codes_for_bad_usage_and_conflict(repos: dict[str, Path]) -> None:
    """A path outside the repository exits 2; a conflicting concurrent change exits 3."""
    work, other = repos["work"], repos["other"]
    assert run_cli("--repo", work, "-m", "x", "--paths", "../x").returncode == 2
    (other / "scan_data" / "state.json").write_text('{"theirs": 2}\n')
    git(other, "commit", "-qam", "theirs")
    git(other, "push", "-q", "origin", "HEAD:main")
    (work / "scan_data" / "state.json").write_text('{"ours": 4}\n')
    proc = run_cli("--repo", work, "-m", "x", "--paths", "scan_data/state.json")
    assert proc.returncode == 3 and "same lines" in proc.stderr


def test_results_of_another_branch_are_not_pushed_to_the_default(repos: dict[str, Path]) -> None:
    """A run on a feature branch does not land on main; naming that same branch pushes there."""
    work = repos["work"]
    git(work, "checkout", "-qb", "feature")
    git(work, "push", "-q", "origin", "feature")  # the branch the workflow ran from
    (work / "scan_data" / "state.json").write_text('{"feature": 1}\n')
    with pytest.raises(UsageError, match="computed on 'feature'.*--branch feature"):
        commit_and_push(work, ["scan_data/state.json"], "scan")
    assert remote_log(repos["remote"]) == ["initial"]
    result = commit_and_push(work, ["scan_data/state.json"], "scan", branch="feature")
    assert result.pushed and result.branch == "feature"
    assert git(repos["remote"], "show", "feature:scan_data/state.json") == '{"feature": 1}'
    assert remote_log(repos["remote"]) == ["initial"]


@pytest.mark.parametrize(
    ("source", "branch"),
    [("refs/tags/v1", None), ("refs/pull/7/merge", None), ("refs/heads/main", "other"), ("", None)],
)
def test_source_ref_must_be_the_branch_pushed_to(
    repos: dict[str, Path], source: str, branch: str | None
) -> None:
    """A tag, a pull request, another branch or no branch at all is refused before any commit."""
    work = repos["work"]
    if not source:
        git(work, "checkout", "-q", "--detach")
    (work / "scan_data" / "state.json").write_text('{"x": 1}\n')
    with pytest.raises(UsageError):
        commit_and_push(work, ["scan_data/state.json"], "m", branch=branch, source_ref=source)
    assert git(work, "log", "--format=%s") == "initial"


def test_cli_refuses_a_non_default_github_ref(repos: dict[str, Path]) -> None:
    """Under Actions, GITHUB_REF of a feature branch is refused (exit 2) with the way out."""
    work = repos["work"]
    (work / "scan_data" / "state.json").write_text('{"cli": 2}\n')
    args = ("--repo", work, "-m", "x", "--paths", "scan_data/state.json")
    proc = run_script("commit_back.py", *args, env={"GITHUB_REF": "refs/heads/feature"})
    assert proc.returncode == 2 and "--branch feature" in proc.stderr
    assert remote_log(repos["remote"]) == ["initial"]
    proc = run_script("commit_back.py", *args, env={"GITHUB_REF": "refs/heads/main"})
    assert proc.returncode == 0, proc.stderr


def test_compact_branch_keeps_the_newest_tree_and_bounds_the_history(tmp_path: Path) -> None:
    """A state branch past N commits becomes one orphan commit of its newest tree; main is
    never rewritten, and a branch under the bound is left alone."""
    from artifact_validation.services import compact_branch

    remote = bare_remote(tmp_path / "remote.git")
    seed = clone(remote, tmp_path / "seed")
    (seed / "README.md").write_text("main\n")
    git(seed, "add", ".")
    git(seed, "commit", "-qm", "main")
    git(seed, "push", "-q", "origin", "HEAD:main")
    git(seed, "checkout", "-q", "--orphan", "scan-state")
    git(seed, "rm", "-rfq", ".")
    for i in range(7):
        (seed / "scan_state").mkdir(exist_ok=True)
        (seed / "scan_state" / "index.json").write_text(f"{i}\n")
        git(seed, "add", "scan_state")
        git(seed, "commit", "-qm", f"state {i}")
        git(seed, "push", "-q", "origin", "HEAD:scan-state")
        got = compact_branch(seed, "scan-state", 5, "scan-state: compacted")
        assert (got != "") == (i == 5), i  # 6 commits > 5: compacted once
        count = int(git(remote, "rev-list", "--count", "scan-state"))
        assert count <= 5 + 1 and count == ({5: 1, 6: 2}.get(i, i + 1))
        git(seed, "fetch", "-q", "origin", "scan-state")
        git(seed, "reset", "-q", "--hard", "FETCH_HEAD")
    assert git(remote, "show", "scan-state:scan_state/index.json") == "6"
    assert git(remote, "log", "--format=%s", "main") == "main"
    with pytest.raises(UsageError, match="default branch"):
        compact_branch(seed, "main", 1, "no")


def test_compact_branch_never_loses_a_concurrent_commit(tmp_path: Path) -> None:
    """The force push is leased on the tip just read: a commit pushed meanwhile fails it."""
    from artifact_validation.services import compact_branch

    remote = bare_remote(tmp_path / "remote.git")
    seed = clone(remote, tmp_path / "seed")
    (seed / "a").write_text("a\n")
    git(seed, "add", ".")
    git(seed, "commit", "-qm", "main")
    git(seed, "push", "-q", "origin", "HEAD:main", "HEAD:scan-state")
    for i in range(3):
        git(seed, "commit", "-q", "--allow-empty", "-m", f"s{i}")
    git(seed, "push", "-q", "origin", "HEAD:scan-state")
    hook = seed / ".git" / "hooks" / "pre-push"
    other = clone(remote, tmp_path / "other")
    hook.write_text(
        "#!/bin/sh\n"
        f"unset {' '.join(GIT_ENV_DROP)}\n"
        f'cd "{other}" && git fetch -q origin scan-state && git checkout -q FETCH_HEAD && '
        "git commit -q --allow-empty -m late && git push -q origin HEAD:scan-state\n"
    )
    hook.chmod(0o755)
    with pytest.raises(PushError, match="compacting"):
        compact_branch(seed, "scan-state", 2, "compacted")
    assert git(remote, "log", "-1", "--format=%s", "scan-state") == "late"


def test_commit_and_push_creates_a_missing_branch(tmp_path: Path) -> None:
    """The first state commit creates its branch (an orphan, from a fresh repository)."""
    remote = bare_remote(tmp_path / "remote.git")
    seed = clone(remote, tmp_path / "seed")
    (seed / "a").write_text("a\n")
    git(seed, "add", ".")
    git(seed, "commit", "-qm", "main")
    git(seed, "push", "-q", "origin", "HEAD:main")
    state = tmp_path / "state"
    subprocess.run(["git", "init", "-q", "-b", "scan-state", str(state)], check=True)
    git(state, "remote", "add", "origin", str(remote))
    (state / "scan_state").mkdir()
    (state / "scan_state" / "index.json").write_text("{}\n")
    result = commit_and_push(state, ["scan_state"], "state", branch="scan-state")
    assert result.pushed and git(remote, "show", "scan-state:scan_state/index.json") == "{}"
    (state / "scan_state" / "index.json").write_text("{1}\n")
    assert commit_and_push(state, ["scan_state"], "state 2", branch="scan-state").pushed
    assert git(remote, "rev-list", "--count", "scan-state") == "2"
