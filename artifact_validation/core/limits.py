"""Resource limits: the one source of every byte and count cap (validation, downloads, scans)."""

from __future__ import annotations

from dataclasses import dataclass

from artifact_validation.core.conda import GiB, MiB


@dataclass(frozen=True)
class Limits:
    """Resource limits of one validation or scan; hitting one is a ``LimitError`` (exit 3).

    The defaults are generous: multi-GB CUDA and PyTorch builds are real
    packages. ``max_ratio`` applies once more than ``ratio_floor`` bytes were
    inflated, so small, very compressible packages are never refused. The
    channel reader derives its caps from the same fields: an artifact without
    a size in repodata may be ``max_download_size``, a metadata member
    ``max_metadata_size``, an inflated ``.tar.bz2`` ``max_total_size``.
    """

    max_members: int = 1_000_000
    max_member_size: int = 16 * GiB
    max_total_size: int = 64 * GiB
    max_ratio: float = 200.0
    max_download_size: int = 16 * GiB
    max_metadata_size: int = 256 * MiB
    ratio_floor: int = 256 * MiB
    #: conda-forge's largest repodata.json is a few hundred MB.
    max_repodata_size: int = 8 * GiB


#: The defaults, for callers that take ``limits: Limits = DEFAULT_LIMITS``.
DEFAULT_LIMITS = Limits()
