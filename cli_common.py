"""What the entry points share: argument types, defaults, and turning errors into exit codes.

Every root script is ``main(argv) -> int`` around ``run_main``: our errors
become their exit code and a message, anything unexpected exit 3, never 0.
Under GitHub Actions the failure is also one ``::error::`` annotation, and
the tokens the workflows pass are masked first.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from artifact_validation.core.actions import SECRET_ENV_NAMES, error_command, mask_commands
from artifact_validation.core.errors import EXIT_UNVALIDATED, UsageError, ValidationError
from artifact_validation.core.findings import DEFAULT_DOCS_COMMIT, DEFAULT_DOCS_REPO, DocsLink
from artifact_validation.core.redact import configure, redact
from artifact_validation.filters.files import DEFAULT_FILTER_DIRS
from artifact_validation.filters.waivers import DEFAULT_WAIVER_DIRS
from artifact_validation.services.retry import RetryPolicy

if TYPE_CHECKING:
    from artifact_validation.scan.state import OutputPaths
    from artifact_validation.services.github import GitHub

#: The repository root: default filter dirs and scan_data/ are found relative to it.
ROOT = Path(__file__).resolve().parent


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print(error_command(message), file=sys.stderr)
    return code


class _Redacting(io.TextIOBase):
    """A text stream that writes to ``stream`` with every configured secret as ``***``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()


def run_main(body: Callable[[], int]) -> int:
    """Run an entry point body; our errors become their exit code, anything else exit 3.

    Tokens from the environment are masked first under Actions and redacted
    from everything the body prints or writes.
    """
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in mask_commands(os.environ):
            print(line, file=sys.stderr)
    configure(os.environ.get(name, "") for name in SECRET_ENV_NAMES)
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Redacting(sys.stdout), _Redacting(sys.stderr)
    try:
        return body()
    except ValidationError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was validated", EXIT_UNVALIDATED)
    except Exception as exc:  # fail closed: an unexpected failure is never a pass
        return _fail(f"unexpected failure, nothing was validated: {exc!r}", EXIT_UNVALIDATED)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = streams


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


def project_commit() -> str:
    """The commit this checkout of the project is at (``git rev-parse HEAD``); empty if none."""
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--verify", "-q", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", sha) else ""


def docs_link_from_env(environ: Mapping[str, str] = os.environ) -> DocsLink:
    """Where reports link each finding's explanation (docs/checks.md of a repository at a commit).

    The repository: ``$AV_DOCS_REPOSITORY`` (the composite action sets its own), else
    ``$GITHUB_REPOSITORY``, else conda-forge/artifact-validation. The commit:
    ``$AV_DOCS_COMMIT``, else ``$GITHUB_SHA``, else this checkout's HEAD, else main.
    """
    repo = environ.get("AV_DOCS_REPOSITORY", "").strip() or environ.get("GITHUB_REPOSITORY", "")
    commit = environ.get("AV_DOCS_COMMIT", "").strip() or environ.get("GITHUB_SHA", "").strip()
    return DocsLink(
        repo.strip() or DEFAULT_DOCS_REPO, commit or project_commit() or DEFAULT_DOCS_COMMIT
    )


def github_from_env() -> GitHub:
    """The GitHub client as Actions configures it: ``GITHUB_API_URL`` and a token."""
    # Imported here: ghapi adds ~0.15 s to every start, and validate.py never needs it.
    from artifact_validation.services.run import RunContext  # noqa: PLC0415

    return RunContext.from_env(os.environ).client(retry=retry_policy_from_env())


def filter_dirs(given: Sequence[str | Path] | None) -> list[Path]:
    """The filter directories given with ``--filters``, else the repository's defaults."""
    return [Path(d) for d in given] if given else [ROOT / d for d in DEFAULT_FILTER_DIRS]


def add_filters_arg(parser: argparse.ArgumentParser) -> None:
    """``--filters DIR`` (repeatable), the one spelling every CLI uses."""
    parser.add_argument(
        "--filters",
        action="append",
        metavar="DIR",
        type=Path,
        help="filter directory; repeatable; replaces the defaults "
        f"({', '.join(DEFAULT_FILTER_DIRS)})",
    )


def waiver_dirs(given: Sequence[str | Path] | None) -> list[Path]:
    """The waiver directories given with ``--waivers``, else the repository's ``waivers/``."""
    return [Path(d) for d in given] if given else [ROOT / d for d in DEFAULT_WAIVER_DIRS]


def add_waivers_arg(parser: argparse.ArgumentParser) -> None:
    """``--waivers DIR`` (repeatable, replaces the default), as ``--filters`` does."""
    parser.add_argument(
        "--waivers",
        action="append",
        metavar="DIR",
        type=Path,
        help="waiver directory (docs/waivers.md); repeatable; replaces the default "
        f"({', '.join(DEFAULT_WAIVER_DIRS)})",
    )


def add_allow_host_arg(parser: argparse.ArgumentParser) -> None:
    """``--allow-host HOST`` (repeatable): extra download hosts beside the allow-list."""
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also allow downloads from HOST; repeatable (also $VALIDATE_ALLOWED_HOSTS)",
    )


def add_download_deadline_arg(parser: argparse.ArgumentParser, default: float) -> None:
    """``--download-deadline SECONDS``: how long a whole download may take."""
    parser.add_argument(
        "--download-deadline",
        type=number(float, inclusive=False),
        default=default,
        metavar="SECONDS",
        help="give up a download that has not finished after this long (default %(default)g)",
    )


def number(
    kind: Callable[[str], float],
    *,
    minimum: float = 0.0,
    inclusive: bool = True,
    maximum: float = math.inf,
) -> Callable[[str], float]:
    """An argparse type: ``kind(text)``, finite, within ``[minimum, maximum]`` (or above it)."""

    def convert(text: str) -> float:
        try:
            value = kind(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc
        low_ok = value >= minimum if inclusive else value > minimum
        if not math.isfinite(value) or not low_ok or value > maximum:
            bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
            upper = f" and <= {maximum:g}" if math.isfinite(maximum) else ""
            raise argparse.ArgumentTypeError(
                f"must be a finite number {bound}{upper}, not {text!r}"
            )
        return value

    return convert


def add_scan_output_args(parser: argparse.ArgumentParser) -> None:
    """The output options every scan subcommand shares (``--output``, ``--state``, ...)."""
    # Imported here: the scan package pulls in the HTTP stack, which validate.py avoids.
    from artifact_validation.scan.state import ERRORS_NAME, OUTPUT_NAME, STATE_NAME  # noqa: PLC0415

    data = ROOT / "scan_data"
    parser.add_argument(
        "--output",
        type=Path,
        default=data / OUTPUT_NAME,
        help="invalid artifacts, YAML {name: {subdir/file: {filter: [paths]}}} "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        help=f"scan state directory, read and written (default: {STATE_NAME}/ beside --output; "
        "a format-1 scan_state.json beside it is migrated)",
    )
    parser.add_argument(
        "--errors",
        type=Path,
        help=f"per-artifact errors, YAML (default: {ERRORS_NAME} beside --output)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    parser.add_argument(
        "--fail-on-new", action="store_true", help="exit 1 when new invalid artifacts were found"
    )


def _state_dir(given: Path) -> Path:
    return given.with_suffix("") if given.suffix == ".json" else given


def scan_output_paths(args: argparse.Namespace) -> OutputPaths:
    """Where the scan options say the state and outputs are."""
    from artifact_validation.scan.state import ERRORS_NAME, STATE_NAME, OutputPaths  # noqa: PLC0415

    return OutputPaths(
        # A format-1 ``--state NAME.json`` (earlier versions) names the directory NAME,
        # into which that file is migrated.
        state=_state_dir(args.state) if args.state else args.output.with_name(STATE_NAME),
        output=args.output,
        errors=args.errors or args.output.with_name(ERRORS_NAME),
    )
