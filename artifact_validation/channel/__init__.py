"""A conda channel: streamed repodata, each artifact's file list read cheaply (Range reads of a
``.conda``'s info part), and a live channel as a source of owners' file lists.

May import ``core``, ``services``, ``filters`` and ``archive`` (the manifest parser).
"""

from __future__ import annotations

from artifact_validation.channel.channel import (
    Channel,
)
from artifact_validation.channel.reader import (
    file_list_from_archive,
)
from artifact_validation.channel.repodata import (
    Artifact,
    Listing,
    parse_repodata,
)
from artifact_validation.channel.sources import (
    ChannelFileLists,
    iter_file_lists,
)
from artifact_validation.channel.transport import (
    CHUNK,
    Bounded,
    RangeConda,
    TransferStats,
)

__all__ = [
    "Artifact",
    "Bounded",
    "CHUNK",
    "Channel",
    "ChannelFileLists",
    "Listing",
    "RangeConda",
    "TransferStats",
    "file_list_from_archive",
    "iter_file_lists",
    "parse_repodata",
]
