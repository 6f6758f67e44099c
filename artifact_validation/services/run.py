"""The workflow run: its context from the environment Actions sets, its link, its failure notice."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from artifact_validation.core.errors import UsageError
from artifact_validation.services.github import DEFAULT_API_URL, GitHub, valid_repo
from artifact_validation.services.retry import RetryPolicy

#: The title of the one issue per workflow that the failure notifier keeps (issue 7 §3).
FAILURE_TITLE = "[bot] {workflow} failed"


def run_url(server_url: str, repository: str, run_id: str) -> str:
    """The web link of a workflow run: ``<server>/<owner>/<repo>/actions/runs/<run id>``."""
    return f"{server_url.rstrip('/')}/{repository}/actions/runs/{run_id}"


def url_setting(environ: Mapping[str, str], name: str, default: str) -> str:
    """The base URL in ``$name`` (or ``default``), checked; ``UsageError`` when malformed."""
    value = environ.get(name, "").strip() or default
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise UsageError(f"${name}: {value!r} must be an http(s) base URL")
    return value.rstrip("/")


@dataclass(frozen=True)
class RunContext:
    """What a workflow run knows about itself from the environment Actions sets.

    The one reader of ``GITHUB_API_URL``, ``GITHUB_TOKEN`` (or ``GH_TOKEN``),
    ``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY`` and ``GITHUB_RUN_ID``; a local
    run has no repository or run id, so no run link.
    """

    api_url: str = DEFAULT_API_URL
    token: str = ""
    server_url: str = "https://github.com"
    repository: str = ""
    run_id: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RunContext:
        """Read and check the variables; a malformed URL is a ``UsageError``."""
        token = environ.get("GITHUB_TOKEN", "").strip() or environ.get("GH_TOKEN", "").strip()
        repository = environ.get("GITHUB_REPOSITORY", "")
        run_id = environ.get("GITHUB_RUN_ID", "")
        return cls(
            api_url=url_setting(environ, "GITHUB_API_URL", DEFAULT_API_URL),
            token=token,
            server_url=url_setting(environ, "GITHUB_SERVER_URL", "https://github.com"),
            repository=repository if valid_repo(repository) else "",
            run_id=run_id if run_id.isdigit() else "",
        )

    @property
    def run_link(self) -> str:
        """The web link of this run, or '' outside Actions."""
        if not (self.repository and self.run_id):
            return ""
        return run_url(self.server_url, self.repository, self.run_id)

    def require_token(self, why: str) -> str:
        """The token; a ``UsageError`` saying ``why`` it is needed when there is none."""
        if not self.token:
            raise UsageError(f"$GITHUB_TOKEN (or $GH_TOKEN) must be set: {why}")
        return self.token

    def client(self, retry: RetryPolicy | None = None) -> GitHub:
        """The GitHub client of this run (its API URL and token)."""
        return GitHub(self.api_url, self.token, retry=retry)


def notify_failure(gh: GitHub, repo: str, workflow: str, link: str) -> tuple[int, bool]:
    """Open, or comment on, the one ``[bot] <workflow> failed`` issue of ``repo``; (number, new).

    Every workflow calls this (through ``notify_failure.py``) when it fails on
    the default branch, so repeated failures land on one issue per workflow.
    """
    if not workflow.strip() or "\n" in workflow:
        raise UsageError("the workflow name must be one non-empty line")
    title = FAILURE_TITLE.format(workflow=workflow.strip())
    body = (
        f"The `{workflow.strip()}` workflow failed: {link}\n\n"
        "This issue collects every failure of that workflow on the default branch; "
        "close it once the cause is fixed (the next failure opens a new one)."
    )
    return gh.open_or_comment_issue(repo, title, body)
