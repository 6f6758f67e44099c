"""Reading and writing files: JSON and YAML read with named errors; writes atomic, never half."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from artifact_validation.core.errors import ValidationError


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory.

    The temporary file is fsynced and renamed over ``path``, so a reader (or a
    process killed mid-write) sees either the previous file or the new one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); state files are ordinary repository files.
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_if_changed(path: str | os.PathLike[str], data: str) -> bool:
    """Atomically write ``data`` unless ``path`` already holds it; return True if written."""
    target = Path(path)
    if target.exists() and target.read_text(encoding="utf-8") == data:
        return False
    write_atomic(target, data)
    return True


def read_bytes(
    path: str | os.PathLike[str],
    error: type[ValidationError],
    what: str,
    *,
    max_bytes: int | None = None,
) -> bytes:
    """The bytes of ``path``; ``error`` (naming the file and ``what`` it is) when unreadable.

    ``max_bytes`` refuses a larger file unread (an event file is hostile).
    """
    where = os.fspath(path)
    try:
        with Path(path).open("rb") as fh:
            raw = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{where}: cannot read {what}: {exc.strerror or exc}") from exc
    if max_bytes is not None and len(raw) > max_bytes:
        raise error(f"{where}: {what} is larger than {max_bytes} bytes")
    return raw


def parse_json(raw: bytes | str, error: type[ValidationError], where: str, what: str) -> Any:
    """Decode JSON; ``error`` naming ``where`` for bad JSON, bad UTF-8 or too deep nesting."""
    try:
        return json.loads(raw)
    except RecursionError as exc:
        raise error(f"{where}: {what} is nested too deeply to read") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(f"{where}: {what} is not valid JSON: {exc}") from exc


def read_json(
    path: str | os.PathLike[str],
    error: type[ValidationError],
    what: str,
    *,
    max_bytes: int | None = None,
) -> Any:
    """Read and decode a JSON file; every failure is ``error`` naming the file and ``what``."""
    raw = read_bytes(path, error, what, max_bytes=max_bytes)
    return parse_json(raw, error, os.fspath(path), what)


#: The YAML loader of every file we read: libyaml's safe loader when PyYAML has it (loading the
#: shipped filters takes ~25 ms instead of ~330 ms), else the pure-Python one. Both construct
#: only plain data.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, error: type[ValidationError], where: str, what: str) -> Any:
    """Decode YAML safely; ``error`` naming ``where`` when it is not valid YAML.

    Anchors and aliases are refused before anything is built: none of our
    files needs them, and a few hundred bytes of nested aliases expand to
    gigabytes (a "billion laughs").
    """
    try:
        for token in yaml.scan(text, Loader=YAML_LOADER):
            if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
                line = token.start_mark.line + 1
                raise error(
                    f"{where}: {what} uses a YAML anchor or alias (line {line}); write the "
                    "values out, these files never need them"
                )
        return yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise error(f"{where}: {what} is not valid YAML: {exc}") from exc
    except ValueError as exc:  # a timestamp-shaped value that is no date, such as 2026-02-30
        raise error(f"{where}: {what} has an impossible value: {exc}") from exc


def read_yaml(path: str | os.PathLike[str], error: type[ValidationError], what: str) -> Any:
    """Read and decode a YAML file; every failure is ``error`` naming the file and ``what``."""
    where = os.fspath(path)
    raw = read_bytes(path, error, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{where}: {what} is not UTF-8: {exc}") from exc
    return parse_yaml(text, error, where, what)


class _NoAliasDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter (~10x faster) that writes a repeated value out, never as an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class _NoAliasPyDumper(yaml.SafeDumper):
    """The pure-Python emitter, same rule (for strings libyaml cannot take)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_DUMPER: Any = _NoAliasDumper


def dump_yaml(doc: Any) -> str:
    """Deterministic YAML (keys sorted, one document, no line wrapping); ``{}`` when empty.

    libyaml cannot take a lone surrogate (a hostile archive's path): then the
    pure-Python emitter writes it as a ``"\\uD800"`` escape that loads back to
    the same string.
    """
    if not doc:
        return "{}\n"
    options: dict[str, Any] = {
        "default_flow_style": False,
        "sort_keys": True,
        "allow_unicode": True,
        "width": 10_000,
    }
    try:
        return yaml.dump(doc, Dumper=_DUMPER, **options)
    except UnicodeEncodeError:
        return yaml.dump(doc, Dumper=_NoAliasPyDumper, **options)
