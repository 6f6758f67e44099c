"""Safe push: commit given paths and push them to the default branch without losing anyone's commit.

The one way a workflow writes back to this repository (the scan's
``scan_data/``, the generated filters, mark-broken's PR record)::

    result = commit_and_push(repo_dir, ["scan_data/invalid_packages.yaml", ...], "scan: update")
    # result.pushed, result.commit, result.branch, result.attempts

Rules: only the given paths are committed, as one commit on top of the
current ``HEAD``. Then, at most ``attempts`` times: fetch the branch, rebase
just that commit onto it, push without force. A push rejected because the
branch moved meanwhile (another workflow pushed between our fetch and our
push) is retried after a short backoff; anything else fails at once. A
rebase conflict (someone changed the same lines) aborts the rebase and
fails: nothing is pushed, nothing is overwritten, the next run starts over.
Failures raise ``PushError`` (exit 3).

Results belong to the ref they were computed on: ``source_ref`` (a branch
name or a full ``refs/...`` name such as ``GITHUB_REF`` of a tag or pull
request; default: the branch checked out in the work tree) must be the
branch pushed to. A scan run from a feature branch therefore never lands on
the default branch; ``UsageError`` (exit 2) says so and how to push it to its
own branch instead. ``token_env`` names an environment
variable holding an HTTPS token (``actions/checkout`` with
``persist-credentials: false`` leaves none in ``.git/config``); git reads it
through a credential helper, so it never appears in a command line or a file.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from artifact_validation.core.errors import PushError, UsageError

#: Pushes tried before giving up when the branch keeps moving.
DEFAULT_ATTEMPTS = 5

#: Seconds before the second attempt; doubles after each further one.
DEFAULT_BACKOFF = 2.0

#: The identity of commits made where git has none configured (a fresh runner).
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"

_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class PushResult:
    """What ``commit_and_push`` did: ``pushed`` is False only when there was nothing to commit."""

    pushed: bool
    commit: str
    branch: str
    attempts: int


class _Git:
    def __init__(self, repo: Path, token_env: str | None) -> None:
        self.repo = repo
        self.config: list[str] = []
        if token_env:
            if not _ENV_NAME_RE.match(token_env):
                raise UsageError(f"--token-env {token_env!r} must be an environment variable name")
            helper = (
                '!f() { test "$1" = get || exit 0; echo username=x-access-token; '
                f'echo "password=${token_env}"; }}; f'
            )
            # The first, empty helper drops any configured one for these calls.
            self.config = ["-c", "credential.helper=", "-c", f"credential.helper={helper}"]
        self.env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["git", "--literal-pathspecs", "-C", str(self.repo), *self.config, *args],
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
        )
        if check and proc.returncode != 0:
            raise PushError(f"git {args[0]} failed in {self.repo}: {_tail(proc)}")
        return proc

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    text = (proc.stderr or proc.stdout or "").strip().replace("\n", " | ")
    return text[-500:] or f"exit status {proc.returncode}"


def default_branch(git: _Git, remote: str) -> str:
    """The branch the remote's ``HEAD`` points to (``git ls-remote --symref``)."""
    out = git.out("ls-remote", "--symref", remote, "HEAD")
    match = re.search(r"^ref: refs/heads/(\S+)\tHEAD$", out, re.MULTILINE)
    if match is None:
        raise PushError(f"cannot tell the default branch of {remote!r}; pass --branch")
    return match[1]


def current_branch(git: _Git) -> str:
    """The branch checked out in the work tree (``""`` on a detached ``HEAD``)."""
    proc = git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def check_source_ref(source: str, target: str, *, chosen: bool) -> None:
    """Refuse to push results computed on ``source`` to another branch ``target``."""
    name = source.removeprefix("refs/heads/")
    if name == target:
        return
    if not source:
        raise UsageError(
            "cannot tell which branch these results were computed on (detached HEAD); "
            "pass --source-ref"
        )
    where = "" if chosen else " (the default branch)"
    hint = (
        f"; pass --branch {name} to push them to that same branch"
        if not name.startswith("refs/")
        else "; results of a tag or pull request are not pushed"
    )
    raise UsageError(
        f"these results were computed on {source!r}, not on {target!r}{where}: "
        f"refusing to push them there{hint}"
    )


def _check_paths(repo: Path, paths: Sequence[str]) -> list[str]:
    if not paths:
        raise UsageError("give at least one path to commit")
    root = repo.resolve()
    out = []
    for raw in paths:
        if not raw or raw.startswith("-") or "\0" in raw or "\n" in raw:
            raise UsageError(f"path {raw!r} is not a valid path to commit")
        full = (repo / raw).resolve()
        if full != root and not full.is_relative_to(root):
            raise UsageError(f"path {raw!r} is outside the repository {repo}")
        if full == root or (root / ".git") in (full, *full.parents):
            raise UsageError(f"path {raw!r} must name files inside the work tree")
        out.append(full.relative_to(root).as_posix())
    return out


def commit_and_push(
    repo: str | os.PathLike[str],
    paths: Sequence[str],
    message: str,
    *,
    remote: str = "origin",
    branch: str | None = None,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff: float = DEFAULT_BACKOFF,
    token_env: str | None = None,
    source_ref: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PushResult:
    """Commit ``paths`` of the work tree at ``repo`` and push to ``branch`` (default: the remote's
    default branch); see the module docstring for the rules. Returns once pushed, or at once
    with ``pushed=False`` when the paths have no change to commit."""
    if not message.strip():
        raise UsageError("the commit message must not be empty")
    if attempts < 1:
        raise UsageError("attempts must be at least 1")
    work = Path(repo)
    git = _Git(work, token_env)
    rel = _check_paths(work, paths)
    target = branch or default_branch(git, remote)
    if git.run("check-ref-format", f"refs/heads/{target}", check=False).returncode != 0:
        raise UsageError(f"branch {target!r} is not a valid branch name")
    check_source_ref(source_ref or current_branch(git), target, chosen=branch is not None)
    branch = target

    # Stage exactly our paths (a removed tracked file stages its removal).
    tracked = set(git.out("ls-files", "-z", "--", *rel).split("\0")) - {""}
    present = [p for p in rel if os.path.lexists(work / p) or p in tracked]
    if present:
        git.run("add", "--all", "--", *present)
    if git.run("diff", "--cached", "--quiet", "--", *rel, check=False).returncode == 0:
        return PushResult(False, "", branch, 0)
    identity = []
    if not git.run("config", "user.email", check=False).stdout.strip():
        identity = ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]
    git.run(*identity, "commit", "--quiet", "--no-verify", "-m", message, "--", *present)

    upstream = ""
    for attempt in range(1, attempts + 1):
        if not git.out("ls-remote", "--heads", remote, f"refs/heads/{branch}"):
            # A branch that does not exist yet (the first scan-state commit): created by a
            # plain push, which fails if someone created it meanwhile.
            head = git.out("rev-parse", "HEAD")
            proc = git.run("push", "--porcelain", remote, f"HEAD:refs/heads/{branch}", check=False)
            if proc.returncode == 0:
                return PushResult(True, head, branch, attempt)
            raise PushError(f"creating {branch} on {remote} was refused: {_tail(proc)}")
        git.run("fetch", "--quiet", "--no-tags", remote, f"refs/heads/{branch}")
        upstream = git.out("rev-parse", "--verify", "FETCH_HEAD^{commit}")
        if git.out("rev-parse", "HEAD~1") != upstream:
            # Move only our commit: whatever else HEAD carries (a dispatch on another
            # branch, an older unpushed commit) is not ours to publish.
            proc = git.run(
                *identity, "rebase", "--quiet", "--onto", upstream, "HEAD~1", check=False
            )
            if proc.returncode != 0:
                git.run("rebase", "--abort", check=False)
                raise PushError(
                    f"a concurrent commit on {branch} changed the same lines of "
                    f"{', '.join(rel)}; nothing was pushed ({_tail(proc)})"
                )
        head = git.out("rev-parse", "HEAD")
        proc = git.run("push", "--porcelain", remote, f"HEAD:refs/heads/{branch}", check=False)
        if proc.returncode == 0:
            return PushResult(True, head, branch, attempt)
        # Rejected: retry only when the branch moved since our fetch (a race we can win).
        git.run("fetch", "--quiet", "--no-tags", remote, f"refs/heads/{branch}")
        moved = git.out("rev-parse", "--verify", "FETCH_HEAD^{commit}") != upstream
        if not moved:
            raise PushError(f"push to {remote} {branch} was refused: {_tail(proc)}")
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    raise PushError(
        f"{branch} on {remote} kept moving: not pushed after {attempts} attempts; "
        "the commit is kept locally, re-run to try again"
    )


def compact_branch(
    repo: str | os.PathLike[str],
    branch: str,
    max_commits: int,
    message: str,
    *,
    remote: str = "origin",
    token_env: str | None = None,
) -> str:
    """Replace ``branch`` on ``remote`` by one orphan commit of its newest tree once it holds
    more than ``max_commits`` commits; return the new commit ("" when not needed).

    For a branch of machine state (``scan-state``) whose history nobody reads:
    its size stays bounded. The push is ``--force-with-lease`` on the commit
    just read, so a commit pushed meanwhile is never lost (the push fails:
    ``PushError``, and the next run compacts). The remote's default branch
    is refused (``UsageError``): its history is never rewritten.
    """
    if max_commits < 1:
        raise UsageError("max_commits must be at least 1")
    git = _Git(Path(repo), token_env)
    if git.run("check-ref-format", f"refs/heads/{branch}", check=False).returncode != 0:
        raise UsageError(f"branch {branch!r} is not a valid branch name")
    if branch == default_branch(git, remote):
        raise UsageError(f"refusing to rewrite {branch!r}: it is the default branch of {remote}")
    ref = f"refs/heads/{branch}"
    git.run("fetch", "--quiet", "--no-tags", f"--depth={max_commits + 1}", remote, ref)
    tip = git.out("rev-parse", "--verify", "FETCH_HEAD^{commit}")
    if int(git.out("rev-list", "--count", tip)) <= max_commits:
        return ""
    identity = []
    if not git.run("config", "user.email", check=False).stdout.strip():
        identity = ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]
    fresh = git.out(*identity, "commit-tree", f"{tip}^{{tree}}", "-m", message)
    proc = git.run(
        "push",
        "--porcelain",
        f"--force-with-lease={ref}:{tip}",
        remote,
        f"{fresh}:{ref}",
        check=False,
    )
    if proc.returncode != 0:
        raise PushError(f"compacting {branch} on {remote} was refused: {_tail(proc)}")
    return fresh
