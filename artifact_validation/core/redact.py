"""Secrets never printed: every configured token becomes ``***`` wherever we write text.

The entry point configures the values once (``configure``), from the
environment variables the workflows pass (``actions.SECRET_ENV_NAMES``);
the step summary, step outputs, JSON reports, GitHub issue, comment and
pull-request bodies, and the entry points' own stdout and stderr all pass
through ``redact``. A token echoed back in an API's error body (anaconda.org
does) therefore never reaches a public feedstock issue.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Shorter values are not treated as secrets (real tokens are 30+ characters): "***" in place
#: of every "prod" would garble reports and hide nothing.
MIN_SECRET_LENGTH = 8

_SECRETS: list[str] = []


def configure(values: Iterable[str]) -> None:
    """Set the secret values to hide (replacing any set before); blanks and short ones ignored."""
    found = {v.strip() for v in values if v and len(v.strip()) >= MIN_SECRET_LENGTH}
    _SECRETS[:] = sorted(found, key=len, reverse=True)  # longest first: no partial leftovers


def redact(text: str) -> str:
    """``text`` with every configured secret replaced by ``***``."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def redact_data(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with every string redacted."""
    if not _SECRETS:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value
