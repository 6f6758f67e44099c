"""The GitHub Actions runner surface: step summary, step outputs and workflow commands."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from artifact_validation.core.redact import redact


def append_step_summary(markdown: str, path: str | os.PathLike[str] | None) -> None:
    """Append Markdown to the job summary file (``$GITHUB_STEP_SUMMARY``) when there is one."""
    if path:
        markdown = redact(markdown)
        with Path(path).open("a", encoding="utf-8") as fh:
            fh.write(markdown if markdown.endswith("\n") else markdown + "\n")


def set_outputs(outputs: dict[str, str], path: str | os.PathLike[str] | None) -> None:
    """Append ``key=value`` step outputs to ``$GITHUB_OUTPUT`` (values must be one line)."""
    if not path:
        return
    with Path(path).open("a", encoding="utf-8") as fh:
        for key, value in outputs.items():
            if "\n" in value or "\r" in value:
                raise ValueError(f"step output {key!r} must be a single line")
            fh.write(f"{key}={redact(value)}\n")


def escape_command_data(text: str) -> str:
    """Encode text for a workflow command (``::error::``): %, CR and LF are escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def error_command(message: str) -> str:
    """The ``::error::`` workflow command line for ``message``."""
    return f"::error::{escape_command_data(message)}"


def mask_command(secret: str) -> str:
    """The ``::add-mask::`` command that hides ``secret`` from the log (emit before use)."""
    return f"::add-mask::{escape_command_data(secret)}"


#: Environment variables that hold tokens in our workflows: masked in every log.
SECRET_ENV_NAMES = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "STAGING_BINSTAR_TOKEN",
    "PROD_BINSTAR_TOKEN",
    "ADMIN_REQUESTS_TOKEN",
    "FEEDSTOCK_ISSUES_TOKEN",
    "FEEDSTOCK_OUTPUTS_TOKEN",
)


def mask_commands(environ: Mapping[str, str]) -> Iterator[str]:
    """One ``::add-mask::`` line per configured token (each line of a multi-line one)."""
    for name in SECRET_ENV_NAMES:
        for line in environ.get(name, "").splitlines():
            if line.strip():
                yield mask_command(line.strip())
