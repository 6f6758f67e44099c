"""The update-filters workflow's two steps, run as the workflow runs them, against a bare repo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import CORPUS, ROOT
from tests.test_gitpush import clone, git


def regenerate_and_commit(work: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """update_filters.py --summary-file, then commit_back.py with the summary as message."""
    summary = tmp / "summary.txt"
    subprocess.run(
        [sys.executable, str(ROOT / "update_filters.py"),
         "--file-lists", str(CORPUS / "file-lists"),
         "--import", str(ROOT / "tests/data/earlier-validator/generated_validate_yamls"),
         "--output", str(work / "generated_validate_yamls"),
         "--hand-written", str(ROOT / "validate_yamls"),
         "--summary-file", str(summary)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    message = "update-filters: regenerate generated_validate_yamls/\n\n" + summary.read_text()
    return subprocess.run(
        [sys.executable, str(ROOT / "commit_back.py"), "--repo", str(work),
         "--message", message, "--paths", "generated_validate_yamls"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_commits_only_when_generated_filters_change(tmp_path: Path) -> None:
    """A stale filter is regenerated and pushed with a per-filter summary; a re-run pushes none."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
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
