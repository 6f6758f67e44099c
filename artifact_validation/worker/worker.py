"""The validate-artifact worker: validate, publish, report, record, as separable steps.

Steps, in order:

1. ``validate``: download the announced artifact (a hash mismatch is
   downloaded again before it counts: CI re-uploads and the CDN may serve
   old bytes for a while), run every check, and read who may publish its
   name. No token, no GitHub call.
2. ``publish`` (with ``--copy``, only for a valid artifact): register a name
   the allow-list grants, then the chain of ``publish.py`` through
   post-staging. anaconda.org tokens only.
3. ``report``: unless the payload said ``comment_on_error: false``, an
   artifact not published gets one issue per (feedstock, commit); a bad copy
   to production one issue in the core repository; a re-run that published
   a note on the earlier issue. The issues token only.
4. ``record``: the outcome into the ledger (``ledger.py``).

Run together (a maintainer's local run, the tests) or one per job (the
workflow, so no token ever sits beside the parser of untrusted bytes): each
step writes the JSON report and the next reads it back. Exit code: 0 valid
(and published when asked), 1 findings, 2 bad input, 3 could not validate,
publish or report; never 0 by error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from artifact_validation.archive.validate import validate_artifact
from artifact_validation.archive.verdict import Verdict
from artifact_validation.core.conda import name_of_stem, split_stem, strip_suffix
from artifact_validation.core.errors import (
    EXIT_UNVALIDATED,
    EXIT_VALID,
    UsageError,
    ValidationError,
)
from artifact_validation.core.findings import Code, DocsLink
from artifact_validation.core.utc import utc_text
from artifact_validation.filters.files import load_filters
from artifact_validation.filters.matcher import Matcher
from artifact_validation.filters.waivers import Waivers, load_waivers, today_utc
from artifact_validation.services.anaconda import DEFAULT_API_URL as DEFAULT_ANACONDA_URL
from artifact_validation.services.anaconda import Anaconda, Dist
from artifact_validation.services.download import (
    DEFAULT_DEADLINE,
    ENV_ALLOWED_HOSTS,
    Fetcher,
    allowed_hosts,
)
from artifact_validation.services.github import GitHub, valid_repo
from artifact_validation.services.ownership import (
    DEFAULT_OUTPUTS_REPO,
    DEFAULT_OUTPUTS_URL,
    Registry,
    ownership_finding,
    register_output,
)
from artifact_validation.services.retry import RetryPolicy, download_policy
from artifact_validation.services.run import RunContext, url_setting
from artifact_validation.worker.event import ArtifactEvent, load_event
from artifact_validation.worker.feedstock import (
    BAD_COPY_TITLE,
    issue_title,
    note_on_open_issue,
    open_or_comment,
)
from artifact_validation.worker.ledger import Ledger, Record, artifact_key
from artifact_validation.worker.outcome import Outcome, issue_body, load_outcome, write_outcome
from artifact_validation.worker.publish import Owners, Tokens, publish

#: Downloads tried when the announced hash does not match (AV101/AV102 only after the last).
HASH_ATTEMPTS = 3

_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")


class Step(StrEnum):
    """The worker's steps, in their order."""

    VALIDATE = "validate"
    PUBLISH = "publish"
    REPORT = "report"
    RECORD = "record"


ALL_STEPS = tuple(Step)


@dataclass(frozen=True)
class Settings:
    """What the worker takes from the environment, checked before any request is made."""

    run: RunContext = field(default_factory=RunContext)
    step_summary: str | None = None
    github_output: str | None = None
    anaconda_api_url: str = DEFAULT_ANACONDA_URL
    tokens: Tokens = field(default_factory=Tokens)
    outputs_token: str = ""
    outputs_url: str = DEFAULT_OUTPUTS_URL
    allowed_hosts: frozenset[str] = frozenset()
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: where reports link each finding's explanation
    docs: DocsLink = field(default_factory=DocsLink)


@dataclass(frozen=True)
class Options:
    """The command-line choices: steps, owners, repositories, where the JSON report goes."""

    copy: bool = False
    steps: tuple[Step, ...] = ALL_STEPS
    issue_owner: str = "conda-forge"
    from_owner: str = "cf-staging"
    post_owner: str = "cf-post-staging"
    to_owner: str = "conda-forge"
    core_repo: str = "conda-forge/core-notes"
    outputs_repo: str = DEFAULT_OUTPUTS_REPO
    #: who may have opened the issues we comment on (empty: the token's own login)
    issue_authors: tuple[str, ...] = ()
    #: the ledger's repository (empty: $GITHUB_REPOSITORY; none: not recorded)
    ledger_repo: str = ""
    report_path: Path = Path("validation-report.json")
    #: seconds the artifact's download may take in all (``--download-deadline``)
    download_deadline: float = DEFAULT_DEADLINE

    @property
    def owners(self) -> Owners:
        """The anaconda.org owners of the publication chain."""
        return Owners(self.from_owner, self.post_owner, self.to_owner)

    def check(self) -> None:
        """Refuse names GitHub or anaconda.org could not have (``UsageError``)."""
        for flag, value in (
            ("--issue-owner", self.issue_owner),
            ("--from-owner", self.from_owner),
            ("--post-owner", self.post_owner),
            ("--to-owner", self.to_owner),
        ):
            if not _OWNER.fullmatch(value):
                raise UsageError(f"{flag}: {value!r} is not a valid account name")
        if len({self.from_owner, self.post_owner, self.to_owner}) != 3:
            raise UsageError("--from-owner, --post-owner and --to-owner must all differ")
        for flag, repo in (("--core-repo", self.core_repo), ("--outputs-repo", self.outputs_repo)):
            if not valid_repo(repo):
                raise UsageError(f"{flag}: {repo!r} must look like owner/name")
        if self.ledger_repo and not valid_repo(self.ledger_repo):
            raise UsageError(f"--ledger-repo: {self.ledger_repo!r} must look like owner/name")


def settings_from_env(
    environ: Mapping[str, str],
    options: Options,
    *,
    retry: RetryPolicy | None = None,
    extra_hosts: Sequence[str] = (),
    docs: DocsLink | None = None,
) -> Settings:
    """Read and check the worker's environment (docs/operations.md); ``UsageError`` if bad.

    Each step asks for its own secrets only: ``publish`` the three
    anaconda.org tokens, ``report`` and ``record`` a GitHub token.
    """
    run = RunContext.from_env(environ)
    tokens = Tokens(
        staging=environ.get("STAGING_BINSTAR_TOKEN", "").strip(),
        post_staging=environ.get("POST_STAGING_BINSTAR_TOKEN", "").strip(),
        production=environ.get("PROD_BINSTAR_TOKEN", "").strip(),
    )
    if options.copy and Step.PUBLISH in options.steps:
        missing = [
            n
            for n, v in (
                ("STAGING_BINSTAR_TOKEN", tokens.staging),
                ("POST_STAGING_BINSTAR_TOKEN", tokens.post_staging),
                ("PROD_BINSTAR_TOKEN", tokens.production),
            )
            if not v
        ]
        if missing:
            raise UsageError(f"--copy needs ${' and $'.join(missing)}")
    if Step.REPORT in options.steps:
        run.require_token("the report step opens issues")
    return Settings(
        run=run,
        step_summary=environ.get("GITHUB_STEP_SUMMARY") or None,
        github_output=environ.get("GITHUB_OUTPUT") or None,
        anaconda_api_url=url_setting(environ, "ANACONDA_API_URL", DEFAULT_ANACONDA_URL),
        tokens=tokens,
        outputs_token=environ.get("FEEDSTOCK_OUTPUTS_TOKEN", "").strip(),
        outputs_url=url_setting(environ, "FEEDSTOCK_OUTPUTS_URL", DEFAULT_OUTPUTS_URL),
        allowed_hosts=allowed_hosts(extra_hosts, environ.get(ENV_ALLOWED_HOSTS)),
        retry=retry or RetryPolicy(),
        docs=docs or DocsLink(),
    )


@dataclass
class Services:
    """The worker's collaborators: the artifact check and the API clients."""

    validate: Callable[[ArtifactEvent], Verdict]
    github: GitHub
    anaconda: Anaconda
    registry: Registry
    #: the client that commits registrations (its own token)
    outputs_github: GitHub

    @classmethod
    def real(cls, settings: Settings, validate: Callable[[ArtifactEvent], Verdict]) -> Services:
        """Clients on the URLs and tokens of ``settings``, sharing one retry policy."""
        policy = settings.retry
        return cls(
            validate=validate,
            github=settings.run.client(retry=policy),
            anaconda=Anaconda(settings.anaconda_api_url, retry=policy),
            registry=Registry(settings.outputs_url, retry=policy),
            outputs_github=GitHub(settings.run.api_url, settings.outputs_token, retry=policy),
        )


def _not_validated(event: ArtifactEvent, exc: ValidationError) -> Verdict:
    return Verdict(
        source=event.artifact_url, subdir=event.subdir, errors=[f"could not validate: {exc}"]
    )


def _publishes(options: Options) -> bool:
    """Whether this run is to publish (``--copy`` with the publish step)."""
    return options.copy and Step.PUBLISH in options.steps


def validate_step(event: ArtifactEvent, options: Options, services: Services) -> Outcome:
    """Validate the artifact and read its ownership (no token, no GitHub API call)."""
    try:
        verdict = services.validate(event)
    except UsageError:
        raise
    except ValidationError as exc:
        verdict = _not_validated(event, exc)
    outcome = Outcome(event=event, verdict=verdict, copy=_publishes(options))
    name = verdict.name or name_of_stem(strip_suffix(event.filename))
    try:
        outcome.ownership = services.registry.ownership(name, event.feedstock)
    except ValidationError as exc:
        verdict.errors.append(f"ownership registry: {exc}")
        return outcome
    finding = ownership_finding(outcome.ownership)
    if finding is not None:
        verdict.findings.append(finding)
    return outcome


def publish_step(
    outcome: Outcome, settings: Settings, options: Options, services: Services
) -> None:
    """Register the name when the allow-list grants it, then run the publication chain."""
    event, verdict = outcome.event, outcome.verdict
    if not (options.copy and verdict.valid):
        return
    ownership = outcome.ownership
    if ownership is None:
        outcome.problems.append("no ownership decision from the validate step; nothing published")
        return
    name, version, _ = split_stem(strip_suffix(event.filename))
    try:
        if not ownership.registered:
            if not settings.outputs_token:
                raise UsageError(
                    f"{name!r} must be registered for {event.feedstock!r} first: set "
                    "$FEEDSTOCK_OUTPUTS_TOKEN"
                )
            config = services.registry.config()
            register_output(services.outputs_github, options.outputs_repo, config, ownership)
    except ValidationError as exc:
        outcome.problems.append(f"registering {name!r} for {event.feedstock!r} failed: {exc}")
        return
    outcome.publication = publish(
        services.anaconda,
        Dist(verdict.name or name, verdict.version or version, event.basename),
        label=event.label,
        md5=verdict.md5 or event.md5,
        sha256=verdict.sha256 or event.sha256,
        owners=options.owners,
        tokens=settings.tokens,
    )


def report_step(outcome: Outcome, settings: Settings, options: Options, services: Services) -> None:
    """Issues for what went wrong (unless the payload asked for none), notes for what passed."""
    event = outcome.event
    repo = f"{options.issue_owner}/{event.feedstock}-feedstock"
    link = settings.run.run_link
    try:
        authors = options.issue_authors or (services.github.login(),)
        publication = outcome.publication
        if publication is not None and publication.bad_copy:
            title = BAD_COPY_TITLE.format(basename=event.basename, owner=options.to_owner)
            body = issue_body(outcome, link)
            report = open_or_comment(services.github, options.core_repo, title, body, authors)
            outcome.core_issue = report.to_json(settings.run.server_url)
        title = issue_title(event.git_sha)
        if outcome.published:
            note = f"A re-run published {event.filename} ({event.label}): {link or 'local run'}"
            noted = note_on_open_issue(services.github, repo, title, note, authors)
            if noted is not None:
                outcome.issue = noted.to_json(settings.run.server_url)
        elif event.comment_on_error and (outcome.findings or outcome.exit_code != 0):
            body = issue_body(outcome, link)
            report = open_or_comment(services.github, repo, title, body, authors)
            outcome.issue = report.to_json(settings.run.server_url)
    except ValidationError as exc:
        outcome.problems.append(f"GitHub: could not report to {repo}: {exc}")


def record_step(outcome: Outcome, settings: Settings, options: Options, services: Services) -> None:
    """Add the outcome to the ledger (skipped when no ledger repository is known)."""
    repo = options.ledger_repo or settings.run.repository
    if not repo:
        return
    event = outcome.event
    record = Record(
        artifact=artifact_key(options.from_owner, event.label, event.basename),
        status=outcome.status,
        time=utc_text(),
        reason=outcome.reason,
        run=settings.run.run_link,
        correlation_id=event.correlation_id,
    )
    try:
        Ledger(services.github, repo, sleep=settings.retry.sleep).record([record])
    except ValidationError as exc:
        outcome.problems.append(f"recording the outcome in {repo}: {exc}")


def artifact_check(
    matcher: Matcher,
    settings: Settings,
    deadline: float = DEFAULT_DEADLINE,
    waivers: Waivers | None = None,
) -> Callable[[ArtifactEvent], Verdict]:
    """Step 1's check: ``archive.validate_artifact`` on the announced URL and hashes.

    AV201 violations an active waiver covers are waived, as ``validate.py`` does.

    A hash mismatch is downloaded again (``HASH_ATTEMPTS`` in all, with
    backoff) before it is reported: the bytes may be a stale CDN copy.
    """
    policy = settings.retry
    fetcher = Fetcher(
        allowed_hosts=settings.allowed_hosts,
        deadline=deadline,
        policy=download_policy(policy.backoff, policy.sleep),
    )

    def check(event: ArtifactEvent) -> Verdict:
        for attempt in range(HASH_ATTEMPTS):
            verdict = validate_artifact(
                event.artifact_url,
                matcher=matcher,
                expected_md5=event.md5 or None,
                expected_sha256=event.sha256 or None,
                subdir=event.subdir,
                fetcher=fetcher,
                waivers=waivers,
            )
            stale = {f.code for f in verdict.findings} & {Code.AV101, Code.AV102}
            if not stale or attempt + 1 == HASH_ATTEMPTS:
                return verdict
            policy.sleep(policy.backoff * 5 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    return check


def run_event_file(
    event_path: str | Path,
    options: Options,
    environ: Mapping[str, str],
    filter_dirs: Sequence[str | Path],
    *,
    extra_hosts: Sequence[str] = (),
    retry: RetryPolicy | None = None,
    docs: DocsLink | None = None,
    waiver_dirs: Sequence[str | Path] = (),
) -> tuple[Outcome, int]:
    """``validate_event.py``: check environment, options, event and filters, then run the steps.

    Everything that can be malformed is checked before the first request, so
    bad input is exit 2 with no network traffic at all. Waivers load leniently
    (an expired one is not applied, never a reason to stop uploads). Steps after
    ``validate`` without it read the report the validate step wrote.
    """
    options.check()
    settings = settings_from_env(environ, options, retry=retry, extra_hosts=extra_hosts, docs=docs)
    event = load_event(event_path, settings.allowed_hosts, options.from_owner)
    inherited = 0
    if Step.VALIDATE in options.steps:
        filters = load_filters(filter_dirs)
        waivers = load_waivers(
            waiver_dirs, today_utc(), known_filters={f.name for f in filters}, expired_ok=True
        )
        check = artifact_check(Matcher(filters), settings, options.download_deadline, waivers)
        services = Services.real(settings, check)
        outcome = validate_step(event, options, services)
        outcome.docs = settings.docs
    else:
        services = Services.real(settings, lambda _: Verdict())
        outcome = load_outcome(options.report_path, event)
        outcome.docs = settings.docs
        outcome.copy = _publishes(options) or outcome.publication is not None
        inherited = len(outcome.problems)
    if Step.PUBLISH in options.steps:
        publish_step(outcome, settings, options, services)
    if Step.REPORT in options.steps:
        report_step(outcome, settings, options, services)
    if Step.RECORD in options.steps:
        record_step(outcome, settings, options, services)
    write_outcome(outcome, options.report_path, settings.github_output, settings.step_summary)
    return outcome, step_exit_code(outcome, options.steps, inherited)


def step_exit_code(outcome: Outcome, steps: Sequence[Step], inherited: int = 0) -> int:
    """The exit code of a run of ``steps``: the verdict's when it validated or published;
    for ``report``/``record`` alone, whether they did their job (3 for a new problem)."""
    if Step.VALIDATE in steps or Step.PUBLISH in steps:
        return outcome.exit_code
    return EXIT_UNVALIDATED if len(outcome.problems) > inherited else EXIT_VALID
