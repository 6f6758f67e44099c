"""The update-filters workflow's two steps, run as the workflow runs them, against a bare repo."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.cli import run_script
from tests.support.git import bare_remote, clone, git
from tests.support.paths import CORPUS, ROOT


def regenerate_and_commit(work: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """update_filters.py --summary-file, then commit_back.py with the summary as message."""
    summary = tmp / "summary.txt"
    generated = run_script(
        "update_filters.py",
        "--file-lists", CORPUS / "file-lists",
        "--import", ROOT / "tests/data/earlier-validator/generated_validate_yamls",
        "--output", work / "generated_validate_yamls",
        "--hand-written", ROOT / "validate_yamls",
        "--summary-file", summary,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    message = "update-filters: regenerate generated_validate_yamls/\n\n" + summary.read_text()
    return run_script(
        "commit_back.py",
        "--repo",
        work,
        "--message",
        message,
        "--paths",
        "generated_validate_yamls",
    )


def test_commits_only_when_generated_filters_change(tmp_path: Path) -> None:
    """A stale filter is regenerated and pushed with a per-filter summary; a re-run pushes none."""
    remote = tmp_path / "remote.git"
    bare_remote(remote)
    seed = clone(remote, tmp_path / "seed")
    shutil.copytree(ROOT / "generated_validate_yamls", seed / "generated_validate_yamls")
    stale = seed / "generated_validate_yamls" / "certifi.python.generated.yaml"
    stale.write_text(stale.read_text().replace("- site-packages/certifi\n", ""))
    git(seed, "add", ".")
    git(seed, "commit", "-qm", "initial")
    git(seed, "push", "-q", "origin", "HEAD:main")
    work = clone(remote, tmp_path / "work")

    first = regenerate_and_commit(work, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "pushed" in first.stderr
    log = git(remote, "log", "--format=%B", "-1")
    assert log.startswith("update-filters: regenerate")
    assert "certifi.python.generated.yaml: changed, +1 -0 globs" in log
    pushed = git(remote, "show", "main:generated_validate_yamls/certifi.python.generated.yaml")
    assert "- site-packages/certifi\n" in pushed + "\n"

    count = git(remote, "rev-list", "--count", "main")
    second = regenerate_and_commit(work, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "nothing to commit" in second.stderr
    assert git(remote, "rev-list", "--count", "main") == count
