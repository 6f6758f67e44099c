"""Clients of the outside world: one HTTP session factory, one retry family, downloads,
GitHub, anaconda.org, the ownership registry, and the safe git push.

May import ``core`` only. Names are re-exported lazily: ``services.github``
loads ghapi (~0.15 s), which a local validation never needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from artifact_validation.services.anaconda import (
        DEFAULT_API_URL as DEFAULT_API_URL,
    )
    from artifact_validation.services.anaconda import (
        Anaconda as Anaconda,
    )
    from artifact_validation.services.anaconda import (
        Dist as Dist,
    )
    from artifact_validation.services.anaconda import (
        DistInfo as DistInfo,
    )
    from artifact_validation.services.anaconda import (
        StagedFile as StagedFile,
    )
    from artifact_validation.services.api import (
        JsonApi as JsonApi,
    )
    from artifact_validation.services.download import (
        DEFAULT_ALLOWED_HOSTS as DEFAULT_ALLOWED_HOSTS,
    )
    from artifact_validation.services.download import (
        DEFAULT_DEADLINE as DEFAULT_DEADLINE,
    )
    from artifact_validation.services.download import (
        ENV_ALLOWED_HOSTS as ENV_ALLOWED_HOSTS,
    )
    from artifact_validation.services.download import (
        LOOPBACK_NAMES as LOOPBACK_NAMES,
    )
    from artifact_validation.services.download import (
        Downloaded as Downloaded,
    )
    from artifact_validation.services.download import (
        Fetcher as Fetcher,
    )
    from artifact_validation.services.download import (
        Target as Target,
    )
    from artifact_validation.services.download import (
        UrlCheck as UrlCheck,
    )
    from artifact_validation.services.download import (
        allowed_hosts as allowed_hosts,
    )
    from artifact_validation.services.download import (
        is_loopback_host as is_loopback_host,
    )
    from artifact_validation.services.download import (
        is_url as is_url,
    )
    from artifact_validation.services.download import (
        urllib3_errors as urllib3_errors,
    )
    from artifact_validation.services.github import (
        MAX_ISSUE_PAGES as MAX_ISSUE_PAGES,
    )
    from artifact_validation.services.github import (
        GitHub as GitHub,
    )
    from artifact_validation.services.github import (
        Issue as Issue,
    )
    from artifact_validation.services.github import (
        check_branch as check_branch,
    )
    from artifact_validation.services.github import (
        number_of as number_of,
    )
    from artifact_validation.services.github import (
        split_repo as split_repo,
    )
    from artifact_validation.services.github import (
        valid_repo as valid_repo,
    )
    from artifact_validation.services.gitpush import (
        BOT_EMAIL as BOT_EMAIL,
    )
    from artifact_validation.services.gitpush import (
        BOT_NAME as BOT_NAME,
    )
    from artifact_validation.services.gitpush import (
        DEFAULT_ATTEMPTS as DEFAULT_ATTEMPTS,
    )
    from artifact_validation.services.gitpush import (
        DEFAULT_BACKOFF as DEFAULT_BACKOFF,
    )
    from artifact_validation.services.gitpush import (
        PushResult as PushResult,
    )
    from artifact_validation.services.gitpush import (
        check_source_ref as check_source_ref,
    )
    from artifact_validation.services.gitpush import (
        commit_and_push as commit_and_push,
    )
    from artifact_validation.services.gitpush import (
        compact_branch as compact_branch,
    )
    from artifact_validation.services.gitpush import (
        current_branch as current_branch,
    )
    from artifact_validation.services.gitpush import (
        default_branch as default_branch,
    )
    from artifact_validation.services.http import (
        DEFAULT_TIMEOUT as DEFAULT_TIMEOUT,
    )
    from artifact_validation.services.http import (
        USER_AGENT as USER_AGENT,
    )
    from artifact_validation.services.http import (
        make_session as make_session,
    )
    from artifact_validation.services.ownership import (
        ALLOWLIST_NAME as ALLOWLIST_NAME,
    )
    from artifact_validation.services.ownership import (
        DEFAULT_OUTPUTS_REPO as DEFAULT_OUTPUTS_REPO,
    )
    from artifact_validation.services.ownership import (
        DEFAULT_OUTPUTS_URL as DEFAULT_OUTPUTS_URL,
    )
    from artifact_validation.services.ownership import (
        Ownership as Ownership,
    )
    from artifact_validation.services.ownership import (
        Registry as Registry,
    )
    from artifact_validation.services.ownership import (
        RegistryConfig as RegistryConfig,
    )
    from artifact_validation.services.ownership import (
        maintainer_teams as maintainer_teams,
    )
    from artifact_validation.services.ownership import (
        ownership_finding as ownership_finding,
    )
    from artifact_validation.services.ownership import (
        register_output as register_output,
    )
    from artifact_validation.services.pulls import (
        FORK_WAIT as FORK_WAIT,
    )
    from artifact_validation.services.pulls import (
        PullRequests as PullRequests,
    )
    from artifact_validation.services.pulls import (
        pull_record as pull_record,
    )
    from artifact_validation.services.retry import (
        RETRYABLE_STATUSES as RETRYABLE_STATUSES,
    )
    from artifact_validation.services.retry import (
        AttemptFailed as AttemptFailed,
    )
    from artifact_validation.services.retry import (
        RetryPolicy as RetryPolicy,
    )
    from artifact_validation.services.retry import (
        channel_policy as channel_policy,
    )
    from artifact_validation.services.retry import (
        download_policy as download_policy,
    )
    from artifact_validation.services.retry import (
        send as send,
    )
    from artifact_validation.services.retry import (
        with_retries as with_retries,
    )
    from artifact_validation.services.run import (
        FAILURE_TITLE as FAILURE_TITLE,
    )
    from artifact_validation.services.run import (
        RunContext as RunContext,
    )
    from artifact_validation.services.run import (
        notify_failure as notify_failure,
    )
    from artifact_validation.services.run import (
        run_url as run_url,
    )
    from artifact_validation.services.run import (
        url_setting as url_setting,
    )

#: Public name -> the module that defines it.
_EXPORTS = {
    "ALLOWLIST_NAME": "ownership",
    "Anaconda": "anaconda",
    "AttemptFailed": "retry",
    "BOT_EMAIL": "gitpush",
    "BOT_NAME": "gitpush",
    "DEFAULT_ALLOWED_HOSTS": "download",
    "DEFAULT_API_URL": "anaconda",
    "DEFAULT_ATTEMPTS": "gitpush",
    "DEFAULT_BACKOFF": "gitpush",
    "DEFAULT_DEADLINE": "download",
    "DEFAULT_OUTPUTS_REPO": "ownership",
    "DEFAULT_OUTPUTS_URL": "ownership",
    "DEFAULT_TIMEOUT": "http",
    "Dist": "anaconda",
    "DistInfo": "anaconda",
    "Downloaded": "download",
    "ENV_ALLOWED_HOSTS": "download",
    "FAILURE_TITLE": "run",
    "FORK_WAIT": "pulls",
    "Fetcher": "download",
    "GitHub": "github",
    "Issue": "github",
    "JsonApi": "api",
    "LOOPBACK_NAMES": "download",
    "MAX_ISSUE_PAGES": "github",
    "Ownership": "ownership",
    "PullRequests": "pulls",
    "PushResult": "gitpush",
    "RETRYABLE_STATUSES": "retry",
    "Registry": "ownership",
    "RegistryConfig": "ownership",
    "RetryPolicy": "retry",
    "RunContext": "run",
    "StagedFile": "anaconda",
    "Target": "download",
    "USER_AGENT": "http",
    "UrlCheck": "download",
    "allowed_hosts": "download",
    "channel_policy": "retry",
    "check_branch": "github",
    "check_source_ref": "gitpush",
    "commit_and_push": "gitpush",
    "compact_branch": "gitpush",
    "current_branch": "gitpush",
    "default_branch": "gitpush",
    "download_policy": "retry",
    "is_loopback_host": "download",
    "is_url": "download",
    "maintainer_teams": "ownership",
    "make_session": "http",
    "notify_failure": "run",
    "number_of": "github",
    "ownership_finding": "ownership",
    "pull_record": "pulls",
    "register_output": "ownership",
    "run_url": "run",
    "send": "retry",
    "split_repo": "github",
    "url_setting": "run",
    "urllib3_errors": "download",
    "valid_repo": "github",
    "with_retries": "retry",
}

__all__ = [
    "ALLOWLIST_NAME",
    "Anaconda",
    "AttemptFailed",
    "BOT_EMAIL",
    "BOT_NAME",
    "DEFAULT_ALLOWED_HOSTS",
    "DEFAULT_API_URL",
    "DEFAULT_ATTEMPTS",
    "DEFAULT_BACKOFF",
    "DEFAULT_DEADLINE",
    "DEFAULT_OUTPUTS_REPO",
    "DEFAULT_OUTPUTS_URL",
    "DEFAULT_TIMEOUT",
    "Dist",
    "DistInfo",
    "Downloaded",
    "ENV_ALLOWED_HOSTS",
    "FAILURE_TITLE",
    "FORK_WAIT",
    "Fetcher",
    "GitHub",
    "Issue",
    "JsonApi",
    "LOOPBACK_NAMES",
    "MAX_ISSUE_PAGES",
    "Ownership",
    "PullRequests",
    "PushResult",
    "RETRYABLE_STATUSES",
    "Registry",
    "RegistryConfig",
    "RetryPolicy",
    "RunContext",
    "StagedFile",
    "Target",
    "USER_AGENT",
    "UrlCheck",
    "allowed_hosts",
    "channel_policy",
    "check_branch",
    "check_source_ref",
    "commit_and_push",
    "compact_branch",
    "current_branch",
    "default_branch",
    "download_policy",
    "is_loopback_host",
    "is_url",
    "maintainer_teams",
    "make_session",
    "notify_failure",
    "number_of",
    "ownership_finding",
    "pull_record",
    "register_output",
    "run_url",
    "send",
    "split_repo",
    "url_setting",
    "urllib3_errors",
    "valid_repo",
    "with_retries",
]


def __getattr__(name: str) -> Any:
    """Import the defining module on first use of a re-exported name."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
