"""The one way tests run the project's scripts: as a user would, in a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from artifact_validation.core import SECRET_ENV_NAMES
from tests.support.paths import ROOT

#: Variables of the developer's or CI's environment that would change what a script does: the
#: runner's own (GITHUB_*, RUNNER_*, ACTIONS_*), tokens, and the project's settings.
_LEAKY_PREFIXES = ("GITHUB_", "RUNNER_", "ACTIONS_")
_LEAKY_NAMES = frozenset(
    {
        *SECRET_ENV_NAMES,
        "VALIDATE_ALLOWED_HOSTS",
        "FEEDSTOCK_OUTPUTS_URL",
        "ANACONDA_API_URL",
        "AV_RETRY_BACKOFF",
    }
)


def clean_env(env: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """Our environment minus leaking variables, plus ``env`` (a None value removes a name)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_LEAKY_PREFIXES) and k not in _LEAKY_NAMES
    }
    for key, value in (env or {}).items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def run_script(
    script: str,
    *args: str | Path,
    env: Mapping[str, str | None] | None = None,
    cwd: Path = ROOT,
    timeout: float | None = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``ROOT/script`` with ``args`` under this Python; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, str(ROOT / script), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(env),
        cwd=cwd,
        timeout=timeout,
    )


def run_validate(
    *args: str | Path, env: Mapping[str, str | None] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """``validate.py`` with ``args`` (see ``run_script``)."""
    return run_script("validate.py", *args, env=env, cwd=cwd)
