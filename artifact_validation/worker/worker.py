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

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artifact_validation.core.actions import append_step_summary, set_outputs
from artifact_validation.services.anaconda import DEFAULT_API_URL as DEFAULT_ANACONDA_URL
from artifact_validation.services.anaconda import Anaconda, Dist, Publication, publish
from artifact_validation.archive.artifact import validate_artifact
from artifact_validation.core.fileio import write_atomic
from artifact_validation.services.download import ENV_ALLOWED_HOSTS, Fetcher, allowed_hosts
from artifact_validation.core.errors import (
    EXIT_INVALID,
    EXIT_UNVALIDATED,
    EXIT_VALID,
    ApiError,
    UsageError,
    ValidationError,
)
from artifact_validation.worker.event import ArtifactEvent, load_event
from artifact_validation.filters.files import load_filters
from artifact_validation.services.github import DEFAULT_API_URL as DEFAULT_GITHUB_URL
from artifact_validation.services.github import GitHub, run_url
from artifact_validation.filters.matcher import Matcher
from artifact_validation.services.ownership import DEFAULT_OUTPUTS_URL, Registry, check_ownership
from artifact_validation.archive.report import render_markdown, render_text
from artifact_validation.services.retry import RetryPolicy
from artifact_validation.archive.verdict import Verdict

#: Issue title on the feedstock, one per commit however often the job re-runs (issue 5 §2.3).
ISSUE_TITLE = "[warning] artifact validation failed for commit {short_sha}"

#: GitHub refuses issue bodies over 65536 characters; reports are cut well below that.
MAX_ISSUE_BODY = 60_000

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


def _url_setting(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name, "").strip() or default
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise UsageError(f"${name}: {value!r} must be an http(s) base URL")
    return value.rstrip("/")


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
    token = environ.get("GITHUB_TOKEN", "").strip() or environ.get("GH_TOKEN", "").strip()
    if not token:
        raise UsageError("$GITHUB_TOKEN (or $GH_TOKEN) must be set: failures open issues")
    staging = environ.get("STAGING_BINSTAR_TOKEN", "").strip()
    prod = environ.get("PROD_BINSTAR_TOKEN", "").strip()
    if copy and not (staging and prod):
        missing = [
            n
            for n, v in (("STAGING_BINSTAR_TOKEN", staging), ("PROD_BINSTAR_TOKEN", prod))
            if not v
        ]
        raise UsageError(f"--copy needs ${' and $'.join(missing)}")
    repository, run_id = environ.get("GITHUB_REPOSITORY", ""), environ.get("GITHUB_RUN_ID", "")
    server = _url_setting(environ, "GITHUB_SERVER_URL", "https://github.com")
    link = ""
    if re.fullmatch(r"[\w.-]+/[\w.-]+", repository) and run_id.isdigit():
        link = run_url(server, repository, run_id)
    return Settings(
        github_api_url=_url_setting(environ, "GITHUB_API_URL", DEFAULT_GITHUB_URL),
        github_token=token,
        server_url=server,
        run_link=link,
        step_summary=environ.get("GITHUB_STEP_SUMMARY") or None,
        github_output=environ.get("GITHUB_OUTPUT") or None,
        anaconda_api_url=_url_setting(environ, "ANACONDA_API_URL", DEFAULT_ANACONDA_URL),
        staging_token=staging,
        prod_token=prod,
        outputs_url=_url_setting(environ, "FEEDSTOCK_OUTPUTS_URL", DEFAULT_OUTPUTS_URL),
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


@dataclass
class Outcome:
    """What one worker run found and did; ``exit_code`` follows the README table."""

    event: ArtifactEvent
    verdict: Verdict
    feedstock_repo: str
    issue: dict[str, Any] | None = None
    publication: Publication | None = None
    removed_from_staging: bool | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 only when valid and every step succeeded; 3 when a step failed; else findings 1.

        A failed report or clean-up (``problems``) is 3 even for an invalid
        artifact, so this repository's failure notifier hears of it.
        """
        if self.problems:
            return EXIT_UNVALIDATED
        if self.verdict.findings:
            return EXIT_INVALID
        if self.verdict.errors or not self.verdict.valid:
            return EXIT_UNVALIDATED
        return EXIT_VALID

    def to_json(self) -> dict[str, Any]:
        """The JSON report: the verdict's keys (as ``validate.py --json``) plus what was done."""
        doc = self.verdict.to_json()
        doc["valid"] = self.exit_code == EXIT_VALID
        doc.update(
            {
                "exit_code": self.exit_code,
                "event": self.event.to_json(),
                "issue": self.issue,
                "publication": self.publication.to_json() if self.publication else None,
                "removed_from_staging": self.removed_from_staging,
                "problems": list(self.problems),
            }
        )
        return doc

    @property
    def summary(self) -> str:
        """One line: what the run concluded, with its exit code."""
        code = self.exit_code
        if code == EXIT_VALID:
            done = "copied to production" if self.publication else "not copied"
            return f"result: valid, {done} (exit 0)"
        if code == EXIT_INVALID:
            return "result: invalid, not published (exit 1)"
        return "result: FAILED, could not validate, publish or report; not published (exit 3)"

    def _actions_lines(self, code: Callable[[str], str]) -> list[str]:
        lines = [self.summary]
        if self.publication is not None:
            verb = "copied" if self.publication.copied else "already"
            lines.append(f"production: {verb} ({code(self.event.filename)})")
        if self.removed_from_staging is not None:
            lines.append(f"removed from staging: {'yes' if self.removed_from_staging else 'gone'}")
        if self.issue:
            how = "opened" if self.issue["created"] else "commented on"
            lines.append(f"issue {how}: {self.issue['url']}")
        lines += [f"error: {p}" for p in self.problems]
        return lines

    def render_text(self) -> str:
        """The human report for stderr: the verdict, then what was copied, opened or failed."""
        extra = "".join(f"  {line}\n" for line in self._actions_lines(str))
        return render_text(self.verdict) + extra

    def render_markdown(self) -> str:
        """The job summary: the verdict as Markdown, then what was done."""
        extra = "".join(f"- {line}\n" for line in self._actions_lines(lambda s: f"`{s}`"))
        return render_markdown(self.verdict) + ("\n" + extra if extra else "")


def _not_validated(event: ArtifactEvent, exc: ValidationError) -> Verdict:
    return Verdict(
        source=event.artifact_url,
        subdir=event.subdir,
        md5="",
        errors=[f"could not validate: {exc}"],
    )


def issue_body(outcome: Outcome, run_link: str) -> str:
    """The feedstock issue (or comment): what failed, the artifact, the commit, the run."""
    event = outcome.event
    state = "is invalid" if outcome.verdict.findings else "could not be validated or published"
    lines = [
        f"The artifact `{event.filename}` built from commit {event.git_sha} {state}; "
        "it was not published to the production channel.",
        "",
        f"- artifact: `{event.artifact_url}`",
        f"- md5: `{event.md5}`" + (f" · sha256: `{event.sha256}`" if event.sha256 else ""),
        f"- run: {run_link or 'a local run (no link)'}",
        "",
        render_markdown(outcome.verdict, heading="####"),
    ]
    if outcome.problems:
        lines += ["", *[f"- **error**: {p}" for p in outcome.problems]]
    lines += [
        "",
        "Fix the problems above and rebuild; a maintainer of the channel can re-run the "
        "validation of this artifact from the `validate-artifact` workflow.",
    ]
    body = "\n".join(lines)
    if len(body) > MAX_ISSUE_BODY:
        body = body[:MAX_ISSUE_BODY] + "\n\n... (report cut; the full JSON report is on the run)"
    return body


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
    write_outcome(outcome, settings, options.report_path)
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


def write_outcome(outcome: Outcome, settings: Settings, report_path: Path) -> None:
    """Write the JSON report, ``valid=``/``report=`` step outputs and the job summary."""
    write_atomic(report_path, json.dumps(outcome.to_json(), indent=2, sort_keys=True) + "\n")
    valid = "true" if outcome.exit_code == EXIT_VALID else "false"
    set_outputs({"valid": valid, "report": str(report_path)}, settings.github_output)
    append_step_summary(outcome.render_markdown(), settings.step_summary)


def artifact_check(matcher: Matcher, settings: Settings) -> Callable[[ArtifactEvent], Verdict]:
    """Step 1 as a callable: ``artifact.validate_artifact`` on the announced URL and hashes."""
    fetcher = Fetcher(
        allowed_hosts=settings.allowed_hosts,
        policy=RetryPolicy(
            attempts=4, backoff=settings.retry.backoff, max_wait=60.0, sleep=settings.retry.sleep
        ),
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
    services = Services.real(settings, artifact_check(matcher, settings))
    return run_worker(event, settings, options, services)
