"""Atomic writes: a state file is either the old content or the new, never half."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
