"""What the three entry points share: turning errors into exit codes, never into 0."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from artifact_validation.errors import EXIT_UNVALIDATED, ValidationError

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
