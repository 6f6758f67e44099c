"""Reports on the feedstock, as its maintainers expect them from the copy service.

One issue per (feedstock, commit), titled as the copy service titles it so
the two never open two: found among open and closed issues, reopened when
closed, and only when our bot opened it (nobody can pre-open the title and
receive our comments). Two runs for one commit at the same moment converge
on one issue: the later one closes its own as a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from artifact_validation.services.github import GitHub

#: The copy service's title for failures of one commit (conda-forge-webservices).
ISSUE_TITLE = "[warning] failed package validation and/or copy for commit {git_sha}"
#: Its title when the upload named no commit.
ISSUE_TITLE_NO_SHA = "[warning] failed package validation and/or copy"

#: The core repository's issue for a copy that put other bytes in production.
BAD_COPY_TITLE = "important/security: bad copy of {basename} to {owner}"


def issue_title(git_sha: str) -> str:
    """The feedstock issue's title for commit ``git_sha`` (none: the title without it)."""
    return ISSUE_TITLE.format(git_sha=git_sha) if git_sha else ISSUE_TITLE_NO_SHA


@dataclass(frozen=True)
class IssueReport:
    """Where a report went: the repository, the issue, and whether it was opened now."""

    repo: str
    number: int
    created: bool
    reopened: bool = False

    def to_json(self, server_url: str) -> dict[str, object]:
        """For the JSON report."""
        return {
            "repo": self.repo,
            "number": self.number,
            "created": self.created,
            "reopened": self.reopened,
            "url": f"{server_url}/{self.repo}/issues/{self.number}",
        }


def open_or_comment(
    gh: GitHub, repo: str, title: str, body: str, authors: Sequence[str]
) -> IssueReport:
    """Comment ``body`` on our issue titled ``title`` (reopening it), or open one.

    Ours means opened by one of ``authors``. After opening, a concurrent run
    may have opened one too: the oldest wins, the others close themselves
    with their report moved to it.
    """
    issues = gh.find_issues(repo, title, authors)
    if issues:
        opened = [i for i in issues if i.state == "open"]
        issue = opened[0] if opened else issues[-1]
        reopened = issue.state != "open"
        if reopened:
            gh.set_issue_state(repo, issue.number, "open")
        gh.comment_issue(repo, issue.number, body)
        return IssueReport(repo, issue.number, False, reopened)
    number = gh.create_issue(repo, title, body)
    oldest = min((i.number for i in gh.find_issues(repo, title, authors)), default=number)
    if oldest != number:
        gh.comment_issue(repo, oldest, body)
        gh.comment_issue(repo, number, f"Duplicate of #{oldest} (opened at the same moment).")
        gh.set_issue_state(repo, number, "closed")
        return IssueReport(repo, oldest, False)
    return IssueReport(repo, number, True)


def note_on_open_issue(
    gh: GitHub, repo: str, title: str, body: str, authors: Sequence[str]
) -> IssueReport | None:
    """Comment on our open issue titled ``title`` if there is one (a re-run that passed)."""
    opened = [i for i in gh.find_issues(repo, title, authors) if i.state == "open"]
    if not opened:
        return None
    gh.comment_issue(repo, opened[0].number, body)
    return IssueReport(repo, opened[0].number, False)
