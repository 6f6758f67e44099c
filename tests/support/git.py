"""Real git repositories for tests: a bare remote, clones, and a command helper."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo``; its stdout, stripped (a failure raises)."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def bare_remote(path: Path, branch: str = "main") -> Path:
    """A new bare repository at ``path`` whose default branch is ``branch``."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", branch, str(path)], check=True)
    return path


def clone(remote: Path, target: Path) -> Path:
    """Clone ``remote`` to ``target`` with a committer identity set."""
    subprocess.run(["git", "clone", "-q", str(remote), str(target)], check=True)
    git(target, "config", "user.name", "Test")
    git(target, "config", "user.email", "test@example.invalid")
    return target
