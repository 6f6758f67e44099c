"""The one library call: validate an artifact from a local path or an https URL.

Getting the bytes (a local file, or ``services.download``) stays apart from
reading them (``reader``) and judging them (``checks``).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from artifact_validation.archive.checks import verdict_for_contents
from artifact_validation.archive.model import Expected
from artifact_validation.archive.reader import read_archive
from artifact_validation.archive.verdict import Verdict
from artifact_validation.core.conda import KNOWN_SUBDIRS, check_subdir
from artifact_validation.core.errors import UsageError
from artifact_validation.core.limits import Limits
from artifact_validation.filters.matcher import Matcher
from artifact_validation.filters.waivers import Waivers
from artifact_validation.services.download import Fetcher, is_url


def _expected_hash(value: str | None, length: int, what: str) -> str:
    if not value:
        return ""
    text = value.strip().lower()
    if len(text) != length or any(c not in "0123456789abcdef" for c in text):
        raise UsageError(f"{what} must be {length} hexadecimal digits, not {value!r}")
    return text


def subdir_of_path(path: str | os.PathLike[str]) -> str:
    """The known subdir named by ``path``'s parent directory; ``UsageError`` when it is not one."""
    parent = Path(path).absolute().parent.name
    if parent not in KNOWN_SUBDIRS:
        raise UsageError(
            f"{path}: --subdir-from-path: the parent directory {parent!r} is not a known "
            "subdir; pass --subdir"
        )
    return parent


def open_local(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a local artifact for reading; a missing or non-regular file is a ``UsageError``."""
    try:
        # stat first: opening a FIFO would block until someone writes to it
        if not stat.S_ISREG(Path(path).stat().st_mode):
            raise UsageError(f"{path}: not a regular file")
        return Path(path).open("rb")
    except OSError as exc:
        raise UsageError(f"{path}: cannot open artifact: {exc.strerror or exc}") from exc


def check_source(
    source: str, fetcher: Fetcher | None = None, *, subdir_from_path: bool = False
) -> None:
    """Check that ``source`` can be validated at all (before any is): raise ``UsageError`` if not.

    A URL must pass the fetcher's scheme and allow-list rules; a path must
    name a readable regular file, in a known subdir under ``subdir_from_path``.
    """
    if is_url(source):
        (fetcher or Fetcher()).check_url(source)
        return
    open_local(source).close()
    if subdir_from_path:
        subdir_of_path(source)


def validate_artifact(
    source: str | os.PathLike[str],
    *,
    matcher: Matcher | None,
    expected_md5: str | None = None,
    expected_sha256: str | None = None,
    subdir: str | None = None,
    subdir_from_path: bool = False,
    deep: bool = False,
    limits: Limits | None = None,
    fetcher: Fetcher | None = None,
    waivers: Waivers | None = None,
) -> Verdict:
    """Validate one artifact from a local path or an https URL and return its verdict.

    Every check runs and every finding is reported. ``subdir`` is the subdir
    the artifact is published to; without it, a URL's ``.../<subdir>/<file>``
    gives it when that is a known subdir, and a path's parent directory does
    under ``subdir_from_path``. ``matcher`` None skips clobbering (AV201).
    AV201 violations an active waiver of ``waivers`` covers are reported as
    waived (``Verdict.waived``), never any other finding.

    Raises ``UsageError`` (exit 2) for a bad argument, a missing file or a URL
    that is not allowed; ``FetchError`` or ``LimitError`` (exit 3) when the
    artifact could not be validated. A finding is never an exception.
    """
    text = os.fspath(source)
    md5 = _expected_hash(expected_md5, 32, "--md5")
    sha256 = _expected_hash(expected_sha256, 64, "--sha256")
    expected_subdir = check_subdir(subdir, "--subdir") if subdir else ""
    limits = limits or Limits()
    if is_url(text):
        fetcher = fetcher or Fetcher(max_size=limits.max_download_size)
        target = fetcher.check_url(text)
        with tempfile.TemporaryFile(prefix="artifact-") as tmp:
            download = fetcher.download(text, tmp)
            tmp.flush()
            contents = read_archive(
                tmp,
                target.filename,
                limits=limits,
                deep=deep,
                hashes=(download.md5, download.sha256),
            )
        if not expected_subdir and target.parent in KNOWN_SUBDIRS:
            expected_subdir = target.parent
    else:
        with open_local(text) as fh:
            if subdir_from_path and not expected_subdir:
                expected_subdir = subdir_of_path(text)
            contents = read_archive(fh, Path(text).name, limits=limits, deep=deep)
    expected = Expected(md5=md5, sha256=sha256, subdir=expected_subdir, matcher=matcher)
    verdict = verdict_for_contents(contents, expected, source=text)
    verdict.apply_waivers(waivers)
    return verdict
