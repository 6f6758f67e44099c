"""The validate-artifact worker: verdict, ownership, feedstock issue, copy to production (issue 5).

Steps, in order: (1) validate the artifact, (2) check that its package name
is registered to the feedstock, (3) when it is not valid, open or comment on
one issue per commit on the feedstock, (4) when it is valid and copying is
asked for, copy it to production, read its md5 back and remove it from
staging. Then the JSON report, ``$GITHUB_OUTPUT`` and the job summary are
written. Exit code: 0 valid (and published when asked), 1 findings, 3 could
not validate, copy, or report; never 0 by error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from artifact_validation.archive.validate import validate_artifact
from artifact_validation.archive.verdict import Verdict
from artifact_validation.core.errors import (
    ApiError,
    UsageError,
    ValidationError,
)
from artifact_validation.filters.files import load_filters
from artifact_validation.filters.matcher import Matcher
from artifact_validation.services.anaconda import DEFAULT_API_URL as DEFAULT_ANACONDA_URL
from artifact_validation.services.anaconda import Anaconda, Dist, publish
from artifact_validation.services.download import (
    DEFAULT_DEADLINE,
    ENV_ALLOWED_HOSTS,
    Fetcher,
    allowed_hosts,
)
from artifact_validation.services.github import DEFAULT_API_URL as DEFAULT_GITHUB_URL
from artifact_validation.services.github import GitHub, RunContext, url_setting
from artifact_validation.services.ownership import DEFAULT_OUTPUTS_URL, Registry, check_ownership
from artifact_validation.services.retry import RetryPolicy, download_policy
from artifact_validation.worker.event import ArtifactEvent, load_event
from artifact_validation.worker.outcome import Outcome, issue_body, write_outcome

#: Issue title on the feedstock, one per commit however often the job re-runs (issue 5 §2.3).
ISSUE_TITLE = "[warning] artifact validation failed for commit {short_sha}"


_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")


@dataclass(frozen=True)
class Settings:
    """What the worker takes from the environment, checked before any request is made."""

    github_api_url: str = DEFAULT_GITHUB_URL
    github_token: str = ""
    server_url: str = "https://github.com"
    run_link: str = ""
    step_summary: str | None = None
    github_output: str | None = None
    anaconda_api_url: str = DEFAULT_ANACONDA_URL
    staging_token: str = ""
    prod_token: str = ""
    outputs_url: str = DEFAULT_OUTPUTS_URL
    allowed_hosts: frozenset[str] = frozenset()
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class Options:
    """The command-line choices: copy or not, owners, where the JSON report goes."""

    copy: bool = False
    issue_owner: str = "conda-forge"
    from_owner: str = "cf-staging"
    to_owner: str = "conda-forge"
    report_path: Path = Path("validation-report.json")
    #: seconds the artifact's download may take in all (``--download-deadline``)
    download_deadline: float = DEFAULT_DEADLINE

    def check(self) -> None:
        """Refuse owner names GitHub or anaconda.org could not have (``UsageError``)."""
        for flag, value in (
            ("--issue-owner", self.issue_owner),
            ("--from-owner", self.from_owner),
            ("--to-owner", self.to_owner),
        ):
            if not _OWNER.fullmatch(value):
                raise UsageError(f"{flag}: {value!r} is not a valid account name")
        if self.from_owner == self.to_owner:
            raise UsageError("--from-owner and --to-owner must differ")


def settings_from_env(
    environ: Mapping[str, str],
    *,
    copy: bool,
    retry: RetryPolicy | None = None,
    extra_hosts: Sequence[str] = (),
) -> Settings:
    """Read and check the worker's environment (README "Environment"); ``UsageError`` if bad.

    ``GITHUB_TOKEN`` (or ``GH_TOKEN``) is required; ``STAGING_BINSTAR_TOKEN``
    and ``PROD_BINSTAR_TOKEN`` are required with ``copy``. The run link needs
    ``GITHUB_REPOSITORY`` and ``GITHUB_RUN_ID`` (a local run has none).
    ``retry`` (the entry point's ``cli_common.retry_policy_from_env()``) is
    shared by every API client.
    """
    run = RunContext.from_env(environ)
    token = run.require_token("failures open issues")
    staging = environ.get("STAGING_BINSTAR_TOKEN", "").strip()
    prod = environ.get("PROD_BINSTAR_TOKEN", "").strip()
    if copy and not (staging and prod):
        missing = [
            n
            for n, v in (("STAGING_BINSTAR_TOKEN", staging), ("PROD_BINSTAR_TOKEN", prod))
            if not v
        ]
        raise UsageError(f"--copy needs ${' and $'.join(missing)}")
    return Settings(
        github_api_url=run.api_url,
        github_token=token,
        server_url=run.server_url,
        run_link=run.run_link,
        step_summary=environ.get("GITHUB_STEP_SUMMARY") or None,
        github_output=environ.get("GITHUB_OUTPUT") or None,
        anaconda_api_url=url_setting(environ, "ANACONDA_API_URL", DEFAULT_ANACONDA_URL),
        staging_token=staging,
        prod_token=prod,
        outputs_url=url_setting(environ, "FEEDSTOCK_OUTPUTS_URL", DEFAULT_OUTPUTS_URL),
        allowed_hosts=allowed_hosts(extra_hosts, environ.get(ENV_ALLOWED_HOSTS)),
        retry=retry or RetryPolicy(),
    )


@dataclass
class Services:
    """The worker's collaborators: the artifact check and three API clients."""

    validate: Callable[[ArtifactEvent], Verdict]
    github: GitHub
    anaconda: Anaconda
    registry: Registry

    @classmethod
    def real(cls, settings: Settings, validate: Callable[[ArtifactEvent], Verdict]) -> Services:
        """Clients on the URLs and tokens of ``settings``, sharing one retry policy."""
        policy = settings.retry
        return cls(
            validate=validate,
            github=GitHub(settings.github_api_url, settings.github_token, retry=policy),
            anaconda=Anaconda(settings.anaconda_api_url, retry=policy),
            registry=Registry(settings.outputs_url, retry=policy),
        )


def _not_validated(event: ArtifactEvent, exc: ValidationError) -> Verdict:
    return Verdict(
        source=event.artifact_url,
        subdir=event.subdir,
        md5="",
        errors=[f"could not validate: {exc}"],
    )


def run_worker(
    event: ArtifactEvent, settings: Settings, options: Options, services: Services
) -> Outcome:
    """Run steps 1-5 for one event, then write the report, outputs and summary.

    API failures become errors or problems of the outcome (exit 3) so the
    report is still written; usage errors raise (exit 2).
    """
    options.check()
    repo = f"{options.issue_owner}/{event.feedstock}-feedstock"
    title = ISSUE_TITLE.format(short_sha=event.short_sha)
    try:
        verdict = services.validate(event)
    except UsageError:
        raise
    except ValidationError as exc:
        verdict = _not_validated(event, exc)
    outcome = Outcome(event=event, verdict=verdict, feedstock_repo=repo)
    if verdict.name:
        try:
            finding = check_ownership(services.registry, verdict.name, event.feedstock)
        except ApiError as exc:
            verdict.errors.append(f"ownership registry: {exc}")
        else:
            if finding is not None:
                verdict.findings.append(finding)
    if verdict.valid:
        _publish_step(outcome, settings, options, services, title)
    else:
        _report_step(outcome, settings, services, title)
    write_outcome(outcome, options.report_path, settings.github_output, settings.step_summary)
    return outcome


def _publish_step(
    outcome: Outcome, settings: Settings, options: Options, services: Services, title: str
) -> None:
    """Valid: find an earlier warning issue, copy when asked, then note the fix on that issue.

    GitHub is asked first so that nothing irreversible happens while it is
    down; a failed copy or a wrong md5 in production is reported like an
    invalid artifact.
    """
    event, verdict = outcome.event, outcome.verdict
    try:
        earlier = services.github.find_open_issue(outcome.feedstock_repo, title)
    except ValidationError as exc:
        outcome.problems.append(f"GitHub: {exc}; nothing was copied")
        return
    if options.copy:
        dist = Dist(verdict.name, verdict.version, f"{event.subdir}/{event.filename}")
        try:
            outcome.publication, finding = publish(
                services.anaconda,
                dist,
                md5=event.md5,
                from_owner=options.from_owner,
                to_owner=options.to_owner,
                prod_token=settings.prod_token,
            )
        except ValidationError as exc:
            verdict.errors.append(f"copy to production failed: {exc}")
            _report_step(outcome, settings, services, title)
            return
        if finding is not None:
            verdict.findings.append(finding)
            _report_step(outcome, settings, services, title)
            return
        try:
            outcome.removed_from_staging = services.anaconda.remove(
                options.from_owner, dist, settings.staging_token
            )
        except ValidationError as exc:
            # The artifact is published and checked; only the clean-up failed: this
            # repository's failure notifier reports it, not the feedstock.
            outcome.problems.append(f"removing {dist.basename} from {options.from_owner}: {exc}")
    if earlier is not None:
        done = "and was copied to production" if options.copy else "(not copied: no --copy)"
        note = f"A re-run validated `{event.filename}` {done}: {settings.run_link or 'local run'}"
        try:
            services.github.comment_issue(outcome.feedstock_repo, earlier, note)
        except ValidationError as exc:
            outcome.problems.append(f"GitHub: {exc}")


def _report_step(outcome: Outcome, settings: Settings, services: Services, title: str) -> None:
    """Not valid: open the commit's issue on the feedstock, or comment on it."""
    try:
        number, created = services.github.open_or_comment_issue(
            outcome.feedstock_repo, title, issue_body(outcome, settings.run_link)
        )
    except ValidationError as exc:
        outcome.problems.append(f"GitHub: could not report to {outcome.feedstock_repo}: {exc}")
        return
    outcome.issue = {
        "repo": outcome.feedstock_repo,
        "number": number,
        "created": created,
        "url": f"{settings.server_url}/{outcome.feedstock_repo}/issues/{number}",
    }


def artifact_check(
    matcher: Matcher, settings: Settings, deadline: float = DEFAULT_DEADLINE
) -> Callable[[ArtifactEvent], Verdict]:
    """Step 1 as a callable: ``archive.validate_artifact`` on the announced URL and hashes."""
    fetcher = Fetcher(
        allowed_hosts=settings.allowed_hosts,
        deadline=deadline,
        policy=download_policy(settings.retry.backoff, settings.retry.sleep),
    )

    def check(event: ArtifactEvent) -> Verdict:
        return validate_artifact(
            event.artifact_url,
            matcher=matcher,
            expected_md5=event.md5,
            expected_sha256=event.sha256 or None,
            subdir=event.subdir,
            fetcher=fetcher,
        )

    return check


def run_event_file(
    event_path: str | Path,
    options: Options,
    environ: Mapping[str, str],
    filter_dirs: Sequence[str | Path],
    *,
    extra_hosts: Sequence[str] = (),
    retry: RetryPolicy | None = None,
) -> Outcome:
    """``validate.py --event``: check environment, event and filters, then run the worker.

    Everything that can be malformed (environment, options, payload, filter
    files) is checked before the first request, so bad input is exit 2 with
    no network traffic at all.
    """
    settings = settings_from_env(environ, copy=options.copy, retry=retry, extra_hosts=extra_hosts)
    options.check()
    event = load_event(event_path, settings.allowed_hosts)
    matcher = Matcher(load_filters(filter_dirs))
    check = artifact_check(matcher, settings, options.download_deadline)
    services = Services.real(settings, check)
    return run_worker(event, settings, options, services)
