"""What reading a conda archive needs from outside: the zstd module and what parsers raise."""

from __future__ import annotations

import struct
import tarfile
import zipfile

try:  # Python 3.14+ has zstd in the standard library; conda-package-streaming uses the same pair
    from compression import zstd
except ImportError:  # pragma: no cover - depends on the Python version
    from backports import zstd

__all__ = ["PARSE_ERRORS", "zstd"]

#: What a hostile or damaged archive makes the parsers raise (AV302 when validating, an
#: ArtifactReadError when scanning); our own errors are not in it and pass through.
PARSE_ERRORS: tuple[type[BaseException], ...] = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zstd.ZstdError,
    EOFError,
    OSError,
    ValueError,
    LookupError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    AssertionError,  # conda_package_streaming asserts one info component per .conda
)
