"""Waivers: time-limited, reasoned exceptions to clobbering (AV201) violations.

One YAML mapping per ``waivers/*.yaml`` file (docs/waivers.md): ``package``
(a name or a glob such as ``libfoo*``), ``filter`` and/or ``paths`` (globs
with the filters' glob semantics, matched by the filters' own
``glob_to_regex``), ``reason``, ``issue`` (an https URL) and ``expires``
(``YYYY-MM-DD``, not past and at most ``MAX_WAIVER_DAYS`` ahead). Loading is
strict: every problem is a ``WaiverError`` (exit 2) naming the file.

A waiver only ever moves a ``Violation`` (AV201) aside; no other finding has
a waiver shape, so archive-safety findings cannot be waived by construction.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from artifact_validation.core.conda import is_case_insensitive
from artifact_validation.core.errors import FilterError, WaiverError
from artifact_validation.core.fileio import read_yaml
from artifact_validation.core.markdown import shown
from artifact_validation.filters.files import check_keys, glob_problem
from artifact_validation.filters.matcher import Violation, component_regex, glob_to_regex

#: Default waiver directories, relative to the repository root.
DEFAULT_WAIVER_DIRS = ("waivers",)

#: A waiver may expire at most this many days after today.
MAX_WAIVER_DAYS = 180

#: Longest accepted ``reason`` (it is shown in every report).
MAX_REASON_CHARS = 500

_KNOWN_KEYS = ("package", "filter", "paths", "reason", "issue", "expires")
_REQUIRED_KEYS = ("package", "reason", "issue", "expires")
_WILD = re.compile(r"[*?\[]")
_PACKAGE_CHARS = re.compile(r"[a-z0-9_.\-*?\[\]!]+")


def today_utc() -> dt.date:
    """Today's date in UTC: what "expired" is measured against unless a caller passes one."""
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class Waiver:
    """One waiver file: which violations it covers, why, where it is tracked, until when."""

    source: str
    package: str
    filter: str | None
    paths: tuple[str, ...]
    reason: str
    issue: str
    expires: dt.date

    def covers(self, name: str, subdir: str, violation: Violation) -> bool:
        """Whether this waiver covers ``violation`` of the artifact ``name`` of ``subdir``."""
        if not _package_regex(self.package).match(name):
            return False
        if self.filter is not None and violation.filter != self.filter:
            return False
        if not self.paths:
            return True
        fold = is_case_insensitive(subdir)
        target = violation.path + "/"
        return any(_path_regex(glob, fold).match(target) for glob in self.paths)


@dataclass(frozen=True)
class WaivedViolation:
    """A violation an active waiver covers: reported, but not a reason to refuse the artifact."""

    violation: Violation
    waiver: Waiver

    def to_json(self) -> dict[str, Any]:
        """``{"violation", "waiver", "reason", "issue", "expires"}`` (waiver: the file)."""
        return {
            "violation": self.violation.to_json(),
            "waiver": self.waiver.source,
            "reason": self.waiver.reason,
            "issue": self.waiver.issue,
            "expires": self.waiver.expires.isoformat(),
        }


@dataclass(frozen=True)
class Waivers:
    """The loaded waivers: the ``active`` ones apply; ``expired`` ones (lenient load) do not."""

    active: tuple[Waiver, ...] = ()
    expired: tuple[Waiver, ...] = ()

    def find(self, name: str, subdir: str, violation: Violation) -> Waiver | None:
        """The first active waiver (by file name) covering ``violation``, or None."""
        for waiver in self.active:
            if waiver.covers(name, subdir, violation):
                return waiver
        return None

    def split(
        self, name: str, subdir: str, violations: Iterable[Violation]
    ) -> tuple[list[Violation], list[WaivedViolation]]:
        """``violations`` as (still violations, waived ones), order kept."""
        kept: list[Violation] = []
        waived: list[WaivedViolation] = []
        for violation in violations:
            waiver = self.find(name, subdir, violation)
            if waiver is None:
                kept.append(violation)
            else:
                waived.append(WaivedViolation(violation, waiver))
        return kept, waived


@functools.cache
def _package_regex(glob: str) -> re.Pattern[str]:
    return re.compile(component_regex(glob) + r"\Z")


@functools.cache
def _path_regex(glob: str, fold: bool) -> re.Pattern[str]:
    return glob_to_regex(glob, fold)


def _text(data: dict[Any, Any], key: str, where: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise WaiverError(f"{where}: {key!r} must be a non-empty string, not {shown(value)}")
    return value.strip()


def _package(data: dict[Any, Any], where: str) -> str:
    package = _text(data, "package", where)
    if not _PACKAGE_CHARS.fullmatch(package) or glob_problem(package) or "/" in package:
        raise WaiverError(
            f"{where}: 'package' {shown(package)} is not a conda package name or name glob"
        )
    if _WILD.match(package):
        # "*", "?*", "[a-z]*": one file could waive every package in the channel.
        raise WaiverError(
            f"{where}: 'package' {shown(package)} must start with a literal part of the name "
            "(such as 'libfoo*'); a waiver for every package is refused"
        )
    return package


def _paths(data: dict[Any, Any], where: str) -> tuple[str, ...]:
    value = data["paths"]
    if not isinstance(value, list) or not value:
        raise WaiverError(f"{where}: 'paths' must be a non-empty list of globs")
    out = []
    for glob in value:
        if not isinstance(glob, str):
            raise WaiverError(f"{where}: 'paths' entries must be strings, got {shown(glob)}")
        if (problem := glob_problem(glob)) is not None:
            raise WaiverError(f"{where}: 'paths' glob {shown(glob)} {problem}")
        if all(_WILD.search(part) for part in glob.split("/")):
            raise WaiverError(
                f"{where}: 'paths' glob {shown(glob)} has no literal directory or file name; "
                "name the paths the waiver is for (such as 'include/openssl/**')"
            )
        out.append(glob)
    return tuple(out)


def _issue(data: dict[Any, Any], where: str) -> str:
    issue = _text(data, "issue", where)
    parts = urlsplit(issue)
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in issue):
        raise WaiverError(f"{where}: 'issue' must be an https:// URL, not {shown(issue)}")
    return issue


def _expires(data: dict[Any, Any], where: str, today: dt.date, expired_ok: bool) -> dt.date:
    value = data["expires"]
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if type(value) is not dt.date:  # a datetime is a date too: refuse a time of day
        raise WaiverError(
            f"{where}: 'expires' must be a date written YYYY-MM-DD, not {shown(data['expires'])}"
        )
    if value < today and not expired_ok:
        raise WaiverError(
            f"{where}: expired on {value.isoformat()} (today is {today.isoformat()}); "
            "fix the packages and delete the waiver, or renew it with a new date and reason"
        )
    latest = today + dt.timedelta(days=MAX_WAIVER_DAYS)
    if value > latest:
        raise WaiverError(
            f"{where}: 'expires' {value.isoformat()} is more than {MAX_WAIVER_DAYS} days after "
            f"today ({today.isoformat()}); the latest allowed is {latest.isoformat()}"
        )
    return value


def parse_waiver(
    data: Any,
    where: str,
    today: dt.date,
    *,
    known_filters: Collection[str] | None = None,
    expired_ok: bool = False,
) -> Waiver:
    """Check one waiver mapping strictly; ``WaiverError`` naming ``where`` and what is wrong.

    ``known_filters`` (when given) is the set of filter names ``filter`` must
    be one of. ``expired_ok`` accepts a past ``expires`` (the caller must not
    apply that waiver); everything else is checked as usual.
    """
    if not isinstance(data, dict):
        raise WaiverError(f"{where}: a waiver must be a mapping ({', '.join(_KNOWN_KEYS)})")
    try:
        check_keys(data, _KNOWN_KEYS, _REQUIRED_KEYS, where)
    except FilterError as exc:
        raise WaiverError(str(exc)) from exc
    if "filter" not in data and "paths" not in data:
        raise WaiverError(f"{where}: a waiver needs 'filter' and/or 'paths' (it has neither)")
    flt = _text(data, "filter", where) if "filter" in data else None
    if flt is not None and known_filters is not None and flt not in known_filters:
        raise WaiverError(f"{where}: 'filter' {shown(flt)} is not the name of a loaded filter")
    reason = _text(data, "reason", where)
    if len(reason) > MAX_REASON_CHARS:
        raise WaiverError(f"{where}: 'reason' is longer than {MAX_REASON_CHARS} characters")
    return Waiver(
        source=where,
        package=_package(data, where),
        filter=flt,
        paths=_paths(data, where) if "paths" in data else (),
        reason=" ".join(reason.split()),
        issue=_issue(data, where),
        expires=_expires(data, where, today, expired_ok),
    )


def load_waiver_file(
    path: str | os.PathLike[str],
    today: dt.date,
    *,
    known_filters: Collection[str] | None = None,
    expired_ok: bool = False,
) -> Waiver:
    """Load and check one waiver file (see ``parse_waiver``)."""
    where = os.fspath(path)
    data = read_yaml(path, WaiverError, "waiver file")
    return parse_waiver(data, where, today, known_filters=known_filters, expired_ok=expired_ok)


def waiver_paths(dirs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The ``*.yaml`` files of ``dirs``, sorted per directory; a missing directory is an error."""
    out: list[Path] = []
    for d in dirs:
        directory = Path(d)
        if not directory.is_dir():
            raise WaiverError(f"{directory}: waiver directory does not exist")
        out.extend(sorted(directory.glob("*.yaml")))
    return out


def load_waivers(
    dirs: Sequence[str | os.PathLike[str]],
    today: dt.date,
    *,
    known_filters: Collection[str] | None = None,
    expired_ok: bool = False,
) -> Waivers:
    """Load every waiver of ``dirs``; the first problem is a ``WaiverError`` (exit 2).

    Strict by default: an expired waiver is an error. With ``expired_ok`` (the
    scheduled scan) expired waivers are returned apart, in ``expired``, and
    never applied.
    """
    active: list[Waiver] = []
    expired: list[Waiver] = []
    for path in waiver_paths(dirs):
        waiver = load_waiver_file(path, today, known_filters=known_filters, expired_ok=expired_ok)
        (expired if waiver.expires < today else active).append(waiver)
    return Waivers(tuple(active), tuple(expired))


def check_waivers(
    directory: str | os.PathLike[str],
    today: dt.date | None = None,
    *,
    known_filters: Collection[str] | None = None,
) -> Waivers:
    """The CI check: every waiver of ``directory`` valid and active, else ``WaiverError``."""
    return load_waivers([directory], today or today_utc(), known_filters=known_filters)


def expired_message(waivers: Waivers) -> list[str]:
    """One line per expired waiver, for the scan's output (the waiver was not applied)."""
    return [
        f"waiver {w.source} expired on {w.expires.isoformat()} and was not applied "
        f"({w.issue}); delete or renew it"
        for w in waivers.expired
    ]
