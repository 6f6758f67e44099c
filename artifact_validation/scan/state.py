"""Scan state and outputs: which builds were checked under which filters, verdicts, file-list cache.

The state, then the outputs, each written atomically, the state always first
(it is the one source of truth; the YAML outputs are derived from it):

- the state: a directory of parts (``statedir``), each part this document;
  a single-file ``scan_state.json`` (format 1, the layout of earlier
  versions) is read for migration:
  ``{"format", "channel", "shard", "complete",
  "scanned": {<filter fingerprint>: [<subdir>/<stem>, ...]},
  "invalid": {<subdir>/<stem>: {"name", "files", "violations": {<filter>: [paths]}}},
  "errors": {<subdir>/<file>: reason},
  "failures": {<subdir>/<file>: failure}, "quarantine": {<subdir>/<file>: failure}}``,
  keys and lists sorted (a failure: see ``quarantine.Failure``; the last two keys
  may be absent in a state written before them).
- ``invalid_packages.yaml``: ``{<name>: {"<subdir>/<file>": {<filter>: [paths]}}}``,
  without the violations an active waiver covers (``ScanState.waivers``, never
  stored: the state keeps what the filters found, so a waiver that expires
  brings its violations back without reading anything again).
- ``scan_errors.yaml``: ``{"<subdir>/<file>": reason}``.
- ``scan_quarantine.yaml`` (beside it): ``{"<subdir>/<file>": failure}``.

A build is keyed by ``<subdir>/<stem>``: its ``.conda`` and ``.tar.bz2`` are
one build, read once, and both file names are listed in the output. The
file-list cache lives in ``cache``, identity (keys, shards, fingerprints) in
``keys``, merging shards in ``merge``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from artifact_validation.core.errors import UsageError
from artifact_validation.core.fileio import dump_yaml, parse_json, read_bytes, write_atomic
from artifact_validation.core.markdown import shown
from artifact_validation.core.utc import utc_text
from artifact_validation.filters.matcher import Violation
from artifact_validation.filters.waivers import Waivers
from artifact_validation.scan.keys import Shard
from artifact_validation.scan.quarantine import RETRY_EVERY, Failure

#: Version of the state file layout; a state of another format is refused, not guessed at.
STATE_FORMAT = 1

#: File names of a scan's outputs inside an output directory (``scan.py merge`` reads them):
#: the state directory (``statedir``), and the format-1 state file it replaced (migrated).
STATE_NAME = "scan_state"
LEGACY_STATE_NAME = "scan_state.json"
OUTPUT_NAME = "invalid_packages.yaml"
ERRORS_NAME = "scan_errors.yaml"
QUARANTINE_NAME = "scan_quarantine.yaml"

#: An error reason is cut to this many characters (they may quote hostile archive content).
MAX_REASON = 500

_FINGERPRINT_RE = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class InvalidEntry:
    """A build that clobbers: its name, its file names, and the paths each filter flags."""

    name: str
    files: tuple[str, ...]
    violations: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def from_violations(
        cls, name: str, files: Iterable[str], violations: Iterable[Violation]
    ) -> InvalidEntry:
        """Group matcher violations by filter, paths sorted."""
        by_filter: dict[str, set[str]] = {}
        for v in violations:
            by_filter.setdefault(v.filter, set()).add(v.path)
        return cls(
            name,
            tuple(sorted(files)),
            tuple((f, tuple(sorted(p))) for f, p in sorted(by_filter.items())),
        )

    def to_json(self) -> dict[str, Any]:
        """The state-file form."""
        return {
            "name": self.name,
            "files": list(self.files),
            "violations": {f: list(p) for f, p in self.violations},
        }

    @property
    def by_filter(self) -> dict[str, list[str]]:
        """``{filter: [paths]}``, as the output file lists it."""
        return {f: list(p) for f, p in self.violations}


@dataclass(frozen=True)
class NewInvalid:
    """An artifact file found invalid that the previous state did not list as invalid."""

    name: str
    #: ``<subdir>/<file>``
    artifact: str
    #: ``(filter, paths)`` pairs, sorted
    violations: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def by_filter(self) -> dict[str, list[str]]:
        """``{filter: [paths]}``."""
        return {f: list(p) for f, p in self.violations}

    def to_json(self) -> dict[str, Any]:
        """``{"name", "artifact", "violations": {filter: [paths]}}``: the ``--new-invalid`` file."""
        return {"name": self.name, "artifact": self.artifact, "violations": self.by_filter}

    @classmethod
    def from_json(cls, doc: Any, where: str) -> NewInvalid:
        """Check one decoded entry of the ``--new-invalid`` file; ``where`` names it in errors."""
        violations = doc.get("violations") if isinstance(doc, dict) else None
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("name"), str)
            or not isinstance(doc.get("artifact"), str)
            or not isinstance(violations, dict)
            or not all(
                isinstance(k, str) and isinstance(v, list) and all(isinstance(p, str) for p in v)
                for k, v in violations.items()
            )
        ):
            raise UsageError(f"{where} must be {{name, artifact, violations: {{filter: [paths]}}}}")
        pairs = tuple((f, tuple(p)) for f, p in sorted(violations.items()))
        return cls(doc["name"], doc["artifact"], pairs)


@dataclass
class ScanState:
    """Everything a scan knows; see the module docstring for the file format."""

    channel: str = ""
    shard: Shard | None = None
    complete: bool = False
    #: ``<subdir>/<stem>`` -> fingerprint of the filter set it was checked with
    scanned: dict[str, str] = field(default_factory=dict)
    #: ``<subdir>/<stem>`` -> what it clobbers (only builds that do)
    invalid: dict[str, InvalidEntry] = field(default_factory=dict)
    #: ``<subdir>/<file>`` -> why it could not be checked (retried by the next run)
    errors: dict[str, str] = field(default_factory=dict)
    #: ``<subdir>/<file>`` -> its failed reads in a row, while fewer than the quarantine's
    failures: dict[str, Failure] = field(default_factory=dict)
    #: ``<subdir>/<file>`` -> quarantined (not an error; tried again weekly)
    quarantine: dict[str, Failure] = field(default_factory=dict)
    #: applied when deriving outputs and counts; not part of the state file
    waivers: Waivers | None = field(default=None, repr=False, compare=False)

    def split_waived(self, key: str, entry: InvalidEntry) -> tuple[InvalidEntry, InvalidEntry]:
        """``entry`` as (the violations no active waiver covers, the waived ones)."""
        if self.waivers is None or not self.waivers.active:
            return entry, InvalidEntry(entry.name, entry.files, ())
        subdir = key.split("/", 1)[0]
        kept: list[Violation] = []
        waived: list[Violation] = []
        for flt, paths in entry.violations:
            for path in paths:
                violation = Violation(path, flt, "", ())
                found = self.waivers.find(entry.name, subdir, violation)
                (kept if found is None else waived).append(violation)
        return (
            InvalidEntry.from_violations(entry.name, entry.files, kept),
            InvalidEntry.from_violations(entry.name, entry.files, waived),
        )

    def waived_files(self) -> dict[str, InvalidEntry]:
        """``<subdir>/<file>`` -> its waived violations, for every file with any."""
        out = {}
        for key, entry in self.invalid.items():
            _, waived = self.split_waived(key, entry)
            if waived.violations:
                subdir = key.split("/", 1)[0]
                for filename in entry.files:
                    out[f"{subdir}/{filename}"] = waived
        return out

    def restrict(self, shard: Shard) -> None:
        """Drop everything that does not belong to ``shard``."""
        self.scanned = {k: v for k, v in self.scanned.items() if shard.holds_key(k)}
        self.invalid = {k: v for k, v in self.invalid.items() if shard.holds_key(k)}
        self.errors = {k: v for k, v in self.errors.items() if shard.holds_key(k)}
        self.failures = {k: v for k, v in self.failures.items() if shard.holds_key(k)}
        self.quarantine = {k: v for k, v in self.quarantine.items() if shard.holds_key(k)}

    def fail(self, file_key: str, why: str, now: datetime, after: int) -> bool:
        """Record a failed read of ``file_key``; True when it has just been quarantined.

        A quarantined file that is not due yet is left as it is.
        """
        held = self.quarantine.get(file_key)
        if held is not None:
            if held.due(now):
                retry = utc_text(now + RETRY_EVERY)
                self.quarantine[file_key] = replace(
                    held, reason=why, attempts=held.attempts + 1, retry_after=retry
                )
            self.errors.pop(file_key, None)
            return False
        previous = self.failures.get(file_key)
        first = previous.first_seen if previous is not None else utc_text(now)
        failure = Failure(why, first, (previous.attempts if previous else 0) + 1)
        if failure.attempts >= after:
            self.failures.pop(file_key, None)
            self.errors.pop(file_key, None)
            self.quarantine[file_key] = replace(failure, retry_after=utc_text(now + RETRY_EVERY))
            return True
        self.failures[file_key] = failure
        self.errors[file_key] = why
        return False

    def cleared(self, file_keys: Iterable[str]) -> None:
        """A successful read: the files leave the errors, the failures and the quarantine."""
        for key in file_keys:
            self.errors.pop(key, None)
            self.failures.pop(key, None)
            self.quarantine.pop(key, None)

    def held_back(self, file_key: str, now: datetime) -> bool:
        """Whether ``file_key`` is quarantined and not due for its weekly retry."""
        held = self.quarantine.get(file_key)
        return held is not None and not held.due(now)

    def invalid_files(self) -> dict[str, tuple[str, InvalidEntry]]:
        """``<subdir>/<file>`` -> (build key, entry) for every listed file of an invalid build.

        An entry holds only the violations no active waiver covers; a build
        whose violations are all waived is not listed.
        """
        out = {}
        for key, raw in self.invalid.items():
            entry, _ = self.split_waived(key, raw)
            if not entry.violations:
                continue
            subdir = key.split("/", 1)[0]
            for filename in entry.files:
                out[f"{subdir}/{filename}"] = (key, entry)
        return out

    def to_json_text(self) -> str:
        """The state file's text: deterministic, one key per line (small git diffs)."""
        # ASCII: a path from a hostile archive may hold a lone surrogate, which UTF-8 cannot.
        return json.dumps(self.to_json_doc(), indent=1, sort_keys=True) + "\n"

    def to_json_doc(self) -> dict[str, Any]:
        """The format-1 document (also the body of each shard file of a state directory)."""
        scanned: dict[str, list[str]] = {}
        for key, fingerprint in self.scanned.items():
            scanned.setdefault(fingerprint, []).append(key)
        doc = {
            "format": STATE_FORMAT,
            "channel": self.channel,
            "shard": str(self.shard) if self.shard is not None else None,
            "complete": self.complete,
            "scanned": {fp: sorted(keys) for fp, keys in scanned.items()},
            "invalid": {k: e.to_json() for k, e in self.invalid.items()},
            "errors": dict(self.errors),
            "failures": {k: f.to_json() for k, f in self.failures.items()},
            "quarantine": {k: f.to_json() for k, f in self.quarantine.items()},
        }
        return doc

    def output_doc(self) -> dict[str, dict[str, dict[str, list[str]]]]:
        """The ``invalid_packages.yaml`` mapping: ``{name: {"<subdir>/<file>": {filter: paths}}}``.

        Every listed file of an invalid build appears, with the same violations.
        """
        out: dict[str, dict[str, dict[str, list[str]]]] = {}
        for file_key, (_, entry) in self.invalid_files().items():
            out.setdefault(entry.name, {})[file_key] = entry.by_filter
        return out


def _problem(where: str, what: str) -> UsageError:
    return UsageError(
        f"{where}: {what}; this is not a scan state this version can read "
        "(restore it from git, or delete it to scan from scratch)"
    )


def _str_map(value: Any, where: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _problem(where, f"{key!r} must be an object")
    return value


def parse_state(doc: Any, where: str) -> ScanState:
    """Check a decoded state document strictly and return the ``ScanState``."""
    if not isinstance(doc, dict):
        raise _problem(where, "the state must be a JSON object")
    if doc.get("format") != STATE_FORMAT:
        raise _problem(where, f"'format' is {shown(doc.get('format'))}, expected {STATE_FORMAT}")
    channel = doc.get("channel")
    if not isinstance(channel, str):
        raise _problem(where, "'channel' must be a string")
    shard_text = doc.get("shard")
    if shard_text is not None and not isinstance(shard_text, str):
        raise _problem(where, "'shard' must be I/N or null")
    try:
        shard = Shard.parse(shard_text) if shard_text is not None else None
    except UsageError as exc:
        raise _problem(where, str(exc)) from exc
    if not isinstance(doc.get("complete"), bool):
        raise _problem(where, "'complete' must be true or false")
    state = ScanState(channel=channel, shard=shard, complete=doc["complete"])
    for fingerprint, keys in _str_map(doc.get("scanned"), where, "scanned").items():
        if not _FINGERPRINT_RE.match(fingerprint) or not isinstance(keys, list):
            raise _problem(where, "'scanned' must map 16-hex fingerprints to lists")
        if not all(isinstance(key, str) and "/" in key for key in keys):
            bad = next(k for k in keys if not isinstance(k, str) or "/" not in k)
            raise _problem(where, f"'scanned' has a malformed key {shown(bad)}")
        # Interned: the channel listing's keys are the same string objects (millions).
        state.scanned.update(dict.fromkeys(map(sys.intern, keys), fingerprint))
    for key, entry in _str_map(doc.get("invalid"), where, "invalid").items():
        state.invalid[key] = _parse_entry(entry, where, key)
    for key, reason in _str_map(doc.get("errors"), where, "errors").items():
        if not isinstance(reason, str):
            raise _problem(where, f"'errors' reason of {shown(key)} must be a string")
        state.errors[key] = reason
    for name in ("failures", "quarantine"):
        target = getattr(state, name)
        for key, entry in _str_map(doc.get(name, {}), where, name).items():
            try:
                target[key] = Failure.from_json(entry)
            except ValueError as exc:
                raise _problem(where, f"{name!r} entry {shown(key)} {exc}") from exc
    return state


def _parse_entry(entry: Any, where: str, key: str) -> InvalidEntry:
    what = f"'invalid' entry {shown(key)}"
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _problem(where, f"{what} must be an object with a 'name'")
    files = entry.get("files")
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise _problem(where, f"{what} must list its 'files'")
    violations = _str_map(entry.get("violations"), where, f"{key}.violations")
    pairs = []
    for name, paths in sorted(violations.items()):
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise _problem(where, f"{what}: violations of {shown(name)} must be a list of paths")
        pairs.append((name, tuple(sorted(paths))))
    return InvalidEntry(entry["name"], tuple(sorted(files)), tuple(pairs))


def load_state_file(path: str | os.PathLike[str]) -> ScanState:
    """Read a format-1 state file; a missing file is an empty state, a malformed one a
    ``UsageError`` (``statedir.load_state`` reads the state directory, and this for migration)."""
    if not os.path.lexists(path):
        return ScanState()
    where = os.fspath(path)
    doc = parse_json(
        read_bytes(path, UsageError, "the scan state"), UsageError, where, "the scan state"
    )
    return parse_state(doc, where)


def render_output(state: ScanState) -> str:
    """``invalid_packages.yaml``: sorted keys and lists, one document."""
    return dump_yaml(state.output_doc())


def render_errors(state: ScanState) -> str:
    """``scan_errors.yaml``: ``{"<subdir>/<file>": reason}``, sorted."""
    return dump_yaml(dict(state.errors))


def render_quarantine(state: ScanState) -> str:
    """``scan_quarantine.yaml``: ``{"<subdir>/<file>": failure}``, sorted."""
    return dump_yaml({k: f.to_json() for k, f in state.quarantine.items()})


def reason(text: str) -> str:
    """An error reason as stored: one line, at most ``MAX_REASON`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 3] + "..."


@dataclass(frozen=True)
class OutputPaths:
    """Where a scan keeps its state and writes its two outputs."""

    state: Path
    output: Path
    errors: Path

    @property
    def quarantine(self) -> Path:
        """``scan_quarantine.yaml`` beside the errors file."""
        return self.errors.with_name(QUARANTINE_NAME)

    @classmethod
    def in_directory(cls, directory: str | os.PathLike[str]) -> OutputPaths:
        """The three standard file names inside ``directory`` (a shard's output)."""
        base = Path(directory)
        return cls(base / STATE_NAME, base / OUTPUT_NAME, base / ERRORS_NAME)


def remove_leftovers(paths: OutputPaths) -> None:
    """Delete temporary files a killed run left beside the state and outputs (never read)."""
    for target in (paths.output, paths.errors, paths.quarantine):
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink(missing_ok=True)


def save_outputs(state: ScanState, paths: OutputPaths) -> None:
    """Write the outputs derived from the state, each atomically (``statedir.save`` writes
    the state first, then calls this)."""
    write_atomic(paths.output, render_output(state))
    write_atomic(paths.errors, render_errors(state))
    write_atomic(paths.quarantine, render_quarantine(state))
