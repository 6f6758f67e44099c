"""The validate-artifact world for end-to-end tests: fake services, a staging channel, runs.

``World`` builds real packages, stages them on the fake anaconda.org and the
loopback channel, and runs ``validate_event.py`` as the workflow runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import build_package
from tests.support.cli import run_script
from tests.support.fake_api import FakeApi
from tests.support.servers import LocalServer

GIT_SHA = "0123456789abcdef0123456789abcdef01234567"
FEEDSTOCK_REPO = "conda-forge/foo-feedstock"
TITLE = f"[warning] failed package validation and/or copy for commit {GIT_SHA}"
STAGED = "/anaconda/dist/cf-staging/foo/1.0/linux-64/foo-1.0-0.conda"
CLEAN = {"lib/libfoo.so": b"\x7fELF foo", "include/foo.h": b"int foo(void);\n"}
CLOBBERING = {**CLEAN, "include/openssl/ssl.h": b"/* not openssl */\n"}


@dataclass
class Run:
    """One entry-point run: the process, the fake's requests, the report and step outputs."""

    proc: subprocess.CompletedProcess[str]
    report: dict[str, Any] | None
    outputs: dict[str, str]
    summary: str

    @property
    def rc(self) -> int:
        """The exit code."""
        return self.proc.returncode


@dataclass
class World:
    """The servers and files of one test, and a way to run the entry point against them."""

    tmp: Path
    api: FakeApi
    channel: LocalServer

    def artifact(
        self, files: dict[str, bytes], name: str = "foo", label: str = "main"
    ) -> dict[str, Any]:
        """Build ``name`` with ``files``, stage it on anaconda.org (``label``), return a payload."""
        where = "cf-staging" if label == "main" else f"cf-staging/label/{label}"
        path = build_package(self.tmp / "channel" / where / "linux-64", name, files)
        data = path.read_bytes()
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        sha256 = hashlib.sha256(data).hexdigest()
        basename = f"linux-64/{path.name}"
        self.api.add_dist(
            "cf-staging", name, "1.0", basename, md5=md5, sha256=sha256, labels=(label,)
        )
        return {
            "artifact_url": f"{self.channel.url}/{where}/{basename}",
            "md5": md5,
            "sha256": sha256,
            "feedstock": "foo",
            "git_sha": GIT_SHA,
        }

    def env(self, base: Path | None = None) -> dict[str, str]:
        """The environment Actions gives the job, pointed at the local servers."""
        base = base or self.tmp
        return {
            "PATH": os.environ.get("PATH", ""),
            "GITHUB_API_URL": self.api.github_url,
            "GITHUB_TOKEN": "gh-token",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "conda-forge/artifact-validation",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_STEP_SUMMARY": str(base / "summary.md"),
            "GITHUB_OUTPUT": str(base / "output.txt"),
            "ANACONDA_API_URL": self.api.anaconda_url,
            "STAGING_BINSTAR_TOKEN": "stg",
            "POST_STAGING_BINSTAR_TOKEN": "post",
            "PROD_BINSTAR_TOKEN": "prod",
            "FEEDSTOCK_OUTPUTS_URL": self.api.registry_url,
            "VALIDATE_ALLOWED_HOSTS": "127.0.0.1",
            "AV_RETRY_BACKOFF": "0.01",
        }

    def run(
        self,
        event: Any,
        *args: str,
        env: dict[str, str] | None = None,
        keep: bool = False,
        workdir: str = "",
    ) -> Run:
        """Write ``event`` to a file and run ``validate_event.py`` on it.

        ``keep`` keeps the previous report (a later step reads it);
        ``workdir`` runs in a subdirectory (runs at the same moment).
        """
        base = self.tmp / workdir if workdir else self.tmp
        base.mkdir(exist_ok=True)
        for name in ("summary.md", "output.txt", *(() if keep else ("report.json",))):
            (base / name).unlink(missing_ok=True)
        path = base / "event.json"
        path.write_text(event if isinstance(event, str) else json.dumps(event), encoding="utf-8")
        report = base / "report.json"
        proc = run_script(
            "validate_event.py",
            path,
            "--report",
            report,
            *args,
            env=env if env is not None else self.env(base),
            cwd=base,
            timeout=120,
        )
        output = base / "output.txt"
        lines = output.read_text(encoding="utf-8").splitlines() if output.exists() else []
        summary = base / "summary.md"
        return Run(
            proc,
            json.loads(report.read_text(encoding="utf-8")) if report.exists() else None,
            dict(line.split("=", 1) for line in lines),
            summary.read_text(encoding="utf-8") if summary.exists() else "",
        )


def dispatch(payload: dict[str, Any]) -> dict[str, Any]:
    """A repository_dispatch event as GitHub writes it to $GITHUB_EVENT_PATH."""
    return {
        "action": "validate",
        "client_payload": payload,
        "repository": {"full_name": "conda-forge/artifact-validation"},
    }


@pytest.fixture
def world(tmp_path: Path, fake_api: FakeApi) -> Iterator[World]:
    """Servers for one test: the fake APIs and a channel serving built artifacts."""
    (tmp_path / "channel").mkdir()
    fake_api.anaconda_tokens = {
        "cf-staging": "stg",
        "cf-post-staging": "post",
        "conda-forge": "prod",
    }
    fake_api.github_token = "gh-token"
    fake_api.register_output("foo", ["foo"])
    with LocalServer(root=tmp_path / "channel") as channel:
        yield World(tmp_path, fake_api, channel)
