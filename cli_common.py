"""What the three entry points share: turning errors into exit codes, never into 0."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from artifact_validation.core.errors import EXIT_UNVALIDATED, UsageError, ValidationError
from artifact_validation.services.retry import RetryPolicy

if TYPE_CHECKING:
    from artifact_validation.services.github import GitHub

#: The repository root: default filter dirs and scan_data/ are found relative to it.
ROOT = Path(__file__).resolve().parent


def run_main(body: Callable[[], int]) -> int:
    """Run an entry point body; our errors become their exit code, anything else exit 3."""
    try:
        return body()
    except ValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; nothing was validated", file=sys.stderr)
        return EXIT_UNVALIDATED
    except Exception as exc:  # fail closed: an unexpected failure is never a pass
        print(f"error: unexpected failure, nothing was validated: {exc!r}", file=sys.stderr)
        return EXIT_UNVALIDATED


def retry_policy_from_env() -> RetryPolicy:
    """The API retry policy; ``AV_RETRY_BACKOFF`` (seconds) shortens backoff for local runs."""
    raw = os.environ.get("AV_RETRY_BACKOFF", "").strip()
    if not raw:
        return RetryPolicy()
    try:
        backoff = float(raw)
    except ValueError as exc:
        raise UsageError(f"AV_RETRY_BACKOFF must be a number of seconds, not {raw!r}") from exc
    return RetryPolicy(backoff=max(0.0, backoff))


def github_from_env() -> GitHub:
    """The GitHub client as Actions configures it: ``GITHUB_API_URL`` and a token."""
    # Imported here: ghapi adds ~0.15 s to every start, and validate.py ARTIFACT never needs it.
    from artifact_validation.services.github import DEFAULT_API_URL, GitHub  # noqa: PLC0415

    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or ""
    api_url = os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL
    return GitHub(api_url, token, retry=retry_policy_from_env())
