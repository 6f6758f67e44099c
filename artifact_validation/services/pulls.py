"""Pull requests from a fork: how mark-broken asks admin-requests without write access there.

The bot forks the target repository (or syncs its fork), pushes a branch to
the fork and opens the pull request from ``<fork owner>:<branch>`` with
``maintainer_can_modify``, as a person would; its token needs no write access
to the target, whose pushes run with production secrets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from artifact_validation.core.errors import HttpStatusError
from artifact_validation.services.github import (
    GitHub,
    check_branch,
    number_of,
    split_repo,
)

#: Seconds between two looks, and how many looks, for a new fork (GitHub creates it later).
FORK_WAIT = (2.0, 15)


class PullRequests:
    """Forks, branches, files and pull requests through one ``GitHub`` client."""

    def __init__(self, gh: GitHub, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.gh = gh
        self.sleep = sleep

    def repo_exists(self, repo: str) -> bool:
        """Whether ``repo`` exists (a 404 is False)."""
        owner, name = split_repo(repo)
        try:
            self.gh.request(f"reading {repo}", "GET", f"/repos/{owner}/{name}")
        except HttpStatusError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def ensure_fork(self, repo: str, fork_owner: str) -> str:
        """The fork of ``repo`` owned by ``fork_owner``, created or synced; its full name."""
        owner, name = split_repo(repo)
        fork = f"{fork_owner}/{name}"
        if self.repo_exists(fork):
            branch, _ = self.gh.default_branch_head(repo)
            self.gh.request(
                f"syncing {fork} with {repo}",
                "POST",
                f"/repos/{fork}/merge-upstream",
                data={"branch": branch},
            )
            return fork
        created = self.gh.request(f"forking {repo}", "POST", f"/repos/{owner}/{name}/forks")
        full = created.get("full_name") if isinstance(created, dict) else None
        fork = full if isinstance(full, str) and full else fork
        delay, tries = FORK_WAIT
        for _ in range(tries):
            if self.repo_exists(fork):
                return fork
            self.sleep(delay)
        raise HttpStatusError(f"forking {repo}: {fork} did not appear", 202)

    def create_pull(self, repo: str, head: str, base: str, title: str, body: str) -> dict[str, Any]:
        """Open a pull request from ``head`` (``owner:branch``) into ``base``; its record."""
        owner, name = split_repo(repo)
        pull = self.gh.request(
            f"opening a pull request on {repo}",
            "POST",
            f"/repos/{owner}/{name}/pulls",
            data={
                "title": title,
                "head": head,
                "base": base,
                "body": body,
                "maintainer_can_modify": True,
            },
        )
        return pull_record(pull, f"opening a pull request on {repo}")

    def list_pulls(self, repo: str, *, head: str, state: str = "all") -> list[dict[str, Any]]:
        """Pull requests of ``repo`` from ``head`` (``owner:branch``), as records."""
        owner, name = split_repo(repo)
        head_owner, _, branch = head.partition(":")
        query = {"state": state, "head": f"{head_owner}:{check_branch(branch)}"}
        out: list[dict[str, Any]] = []
        what = f"listing pull requests of {repo}"
        for items in self.gh.pages(what, f"/repos/{owner}/{name}/pulls", query):
            out += [pull_record(p, what) for p in items]
        return out

    def find_pull(self, repo: str, head: str) -> dict[str, Any] | None:
        """The pull request (open or closed) from ``head`` into ``repo``, or None."""
        pulls = self.list_pulls(repo, head=head)
        return min(pulls, key=lambda p: p["number"]) if pulls else None


def pull_record(pull: Any, what: str) -> dict[str, Any]:
    """A pull request as the PR record keeps it: number, url, head branch."""
    number = number_of(pull, what)
    head = pull.get("head") if isinstance(pull.get("head"), dict) else {}
    return {
        "number": number,
        "url": str(pull.get("html_url") or ""),
        "head_branch": str(head.get("ref") or ""),
    }
