"""Mark-broken requests: turn scan verdicts into admin-requests pull requests, once each."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from artifact_validation.core.conda import is_package_name
from artifact_validation.core.errors import UsageError
from artifact_validation.core.fileio import dump_yaml, read_yaml, write_atomic
from artifact_validation.core.markdown import md_code

#: scan_data/invalid_packages.yaml: {name: {"<subdir>/<file>": {filter: [paths]}}}.
Invalid = Mapping[str, Mapping[str, Mapping[str, list[str]]]]

#: Recorded PRs: {"<subdir>/<file>": {"number", "url", "head_branch"}}.
Recorded = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class BrokenRequest:
    """One pull request to open: the artifacts of one package name to mark broken."""

    name: str
    artifacts: tuple[str, ...]
    violations: Mapping[str, Mapping[str, list[str]]] = field(compare=False)

    @property
    def short_hash(self) -> str:
        """A stable 8-hex digest of the artifact list: same artifacts, same branch and file."""
        return hashlib.sha256("\n".join(self.artifacts).encode()).hexdigest()[:8]

    @property
    def branch(self) -> str:
        """The head branch of the pull request."""
        return f"{self.name}-{self.short_hash}"

    @property
    def path(self) -> str:
        """The request file added in the admin-requests repository."""
        return f"requests/{self.name}-{self.short_hash}.yml"

    @property
    def title(self) -> str:
        """The pull request title."""
        count = len(self.artifacts)
        return f"Mark {count} clobbering artifact{'s' * (count != 1)} of {self.name} as broken"

    def file_content(self) -> str:
        """The admin-requests file: ``action: broken`` and the ``<subdir>/<file>`` list."""
        return yaml.safe_dump(
            {"action": "broken", "packages": list(self.artifacts)},
            default_flow_style=False,
            sort_keys=False,
        )

    def body(self, owners: Mapping[str, list[str]], teams: list[str]) -> str:
        """The PR body: per artifact, the protected paths it ships and whose they are."""
        lines = [
            f"The artifact validation scan found that these artifacts of {md_code(self.name)} ship "
            "files that belong to other packages (clobbering). Installing them overwrites "
            "those packages' files, so they should be marked broken.",
            "",
            f"cc {' '.join(f'@conda-forge/{t}' for t in teams if is_package_name(t))}: please "
            "review; a fixed build "
            "should not ship these paths.",
            "",
        ]
        for artifact in self.artifacts:
            lines.append(f"### {md_code(artifact)}")
            for flt, paths in sorted(self.violations[artifact].items()):
                who = ", ".join(md_code(o) for o in owners.get(flt, [])) or "another package"
                lines.append(f"- filter {md_code(flt)} (owned by {who}):")
                lines.extend(f"  - {md_code(p)}" for p in sorted(paths)[:20])
                if len(paths) > 20:
                    lines.append(f"  - ... and {len(paths) - 20} more")
            lines.append("")
        lines.append("Opened automatically by `scan.py mark-broken`.")
        return "\n".join(lines) + "\n"


def plan_requests(invalid: Invalid, recorded: Mapping[str, Any]) -> list[BrokenRequest]:
    """One request per package name for its invalid artifacts not yet recorded, sorted by name."""
    out = []
    for name in sorted(invalid):
        todo = sorted(a for a in invalid[name] if a not in recorded)
        if todo:
            out.append(BrokenRequest(name, tuple(todo), {a: invalid[name][a] for a in todo}))
    return out


def _load_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = read_yaml(path, UsageError, what)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: {what} must be a mapping")
    return data


def load_invalid(path: Path) -> dict[str, Any]:
    """Read ``invalid_packages.yaml``; a missing file means nothing is invalid."""
    data = _load_yaml_mapping(path, "invalid packages")
    for name, artifacts in data.items():
        if not isinstance(artifacts, dict):
            raise UsageError(f"{path}: entry {name!r} must map '<subdir>/<file>' to filters")
        for artifact, by_filter in artifacts.items():
            if not isinstance(by_filter, dict) or not all(
                isinstance(paths, list) and all(isinstance(p, str) for p in paths)
                for paths in by_filter.values()
            ):
                raise UsageError(
                    f"{path}: {name} / {artifact} must map each filter to a list of paths"
                )
    return data


def load_recorded(path: Path) -> Recorded:
    """Read ``invalid_packages_prs.yaml``; a missing file means no PR was recorded yet."""
    return _load_yaml_mapping(path, "recorded pull requests")


def save_recorded(path: Path, recorded: Mapping[str, Any]) -> None:
    """Write the PR records atomically, keys sorted."""
    write_atomic(path, dump_yaml(dict(recorded)))


class PullRequestApi(Protocol):
    """What mark-broken needs from GitHub (``services.pulls.PullRequests``)."""

    def ensure_fork(self, repo: str, fork_owner: str) -> str: ...
    def create_pull(
        self, repo: str, head: str, base: str, title: str, body: str
    ) -> dict[str, Any]: ...
    def find_pull(self, repo: str, head: str) -> dict[str, Any] | None: ...


class BranchApi(Protocol):
    """What mark-broken needs to push a branch (``services.github.GitHub``)."""

    def default_branch_head(self, repo: str) -> tuple[str, str]: ...
    def branch_exists(self, repo: str, branch: str) -> bool: ...
    def create_branch(self, repo: str, branch: str, sha: str) -> None: ...
    def put_file(self, repo: str, branch: str, path: str, content: str, message: str) -> None: ...


@dataclass
class MarkBrokenResult:
    """What a mark-broken run did (or, dry, would do)."""

    opened: list[BrokenRequest] = field(default_factory=list)
    adopted: list[BrokenRequest] = field(default_factory=list)
    #: a branch of an earlier run that had no pull request: opened now
    recovered: list[BrokenRequest] = field(default_factory=list)
    #: artifacts no longer in production: nothing to mark (recorded as such)
    gone: list[str] = field(default_factory=list)
    deferred: list[BrokenRequest] = field(default_factory=list)


#: The record of an artifact that was not requested because production no longer has it.
GONE = {"skipped": "not in production"}


@dataclass(frozen=True)
class Target:
    """Where the pull requests go, and from whose fork."""

    repo: str
    fork_owner: str


def mark_broken(
    requests: list[BrokenRequest],
    apis: tuple[PullRequestApi, BranchApi] | None,
    target: Target,
    *,
    owners: Mapping[str, list[str]],
    team_for: Callable[[str], list[str]],
    in_production: Callable[[str], bool],
    record: Callable[[Sequence[str], dict[str, Any]], None],
    max_prs: int,
    dry_run: bool,
) -> MarkBrokenResult:
    """Open at most ``max_prs`` pull requests from the bot's fork, recording each at once.

    Before asking, each artifact must still be in production (``in_production``,
    a ``<subdir>/<file>``); the others are recorded as gone. A branch that
    exists on the fork is never pushed again: its pull request (open or
    closed) is recorded, or, when it has none (a failure between the two
    calls), the pull request is opened now. With ``dry_run`` (or no ``apis``)
    nothing is sent and nothing is recorded. An API failure raises after
    retries; pull requests opened before it stay recorded.
    """
    result = MarkBrokenResult()
    fork = ""
    for planned in requests:
        if len(result.opened) + len(result.recovered) >= max_prs:
            result.deferred.append(planned)
            continue
        if dry_run or apis is None:
            result.opened.append(planned)
            continue
        pulls, branches = apis
        present = tuple(a for a in planned.artifacts if in_production(a))
        gone = [a for a in planned.artifacts if a not in present]
        if gone:
            record(gone, dict(GONE))
            result.gone += gone
        if not present:
            continue
        request = BrokenRequest(planned.name, present, {a: planned.violations[a] for a in present})
        fork = fork or pulls.ensure_fork(target.repo, target.fork_owner)
        head = f"{target.fork_owner}:{request.branch}"
        base, sha = branches.default_branch_head(target.repo)
        if branches.branch_exists(fork, request.branch):
            pull = pulls.find_pull(target.repo, head)
            if pull is not None:
                record(request.artifacts, pull)
                result.adopted.append(request)
                continue
            recovered = True
        else:
            branches.create_branch(fork, request.branch, sha)
            branches.put_file(
                fork,
                request.branch,
                request.path,
                request.file_content(),
                f"mark {request.name} artifacts broken (clobbering)",
            )
            recovered = False
        body = request.body(owners, team_for(request.name))
        pull = pulls.create_pull(target.repo, head, base, request.title, body)
        record(request.artifacts, pull)
        (result.recovered if recovered else result.opened).append(request)
    return result
