"""A live channel as a source of owners' file lists, for ``update_filters.py --channel URL``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from artifact_validation.channel.channel import Channel
from artifact_validation.channel.repodata import Artifact
from artifact_validation.core.conda import DEFAULT_SUBDIRS, is_package_name, name_of_stem
from artifact_validation.core.errors import FetchError, UsageError
from artifact_validation.core.filelist import FileList


def iter_file_lists(
    channel: Channel, names: Iterable[str], subdirs: Iterable[str] = DEFAULT_SUBDIRS
) -> Iterator[tuple[Artifact, FileList]]:
    """Every ``(artifact, file list)`` of the packages ``names`` in ``subdirs``, in order.

    For ``update_filters.py --channel URL``: fails closed, raising on the first
    refused repodata record of one of these names or artifact that cannot be
    read (a generated filter built from a partial view would be wrong).
    Ordered by subdir as given, then by stem.
    """
    wanted = set(names)
    for name in wanted:
        if not is_package_name(name):
            raise UsageError(f"package name {name!r} is not a valid conda package name")
    for subdir in subdirs:
        listing = channel.listing(subdir, keep=lambda stem: name_of_stem(stem) in wanted)
        for key, problem in sorted(listing.problems.items()):
            stem_name = name_of_stem(key.split("/", 1)[1])
            if stem_name in wanted:
                raise FetchError(f"{channel.location}/{key}: refused repodata record: {problem}")
        for artifact in listing.artifacts:
            yield artifact, channel.file_list(artifact)


class ChannelFileLists:
    """A live channel as a file-list source (the ``describe``/``file_lists(name)`` protocol).

    Lists every subdir once, for the ``names`` given up front, then serves
    ``file_lists(name)`` from that; a name not given up front is a ``UsageError``.
    """

    def __init__(
        self, channel: Channel, names: Iterable[str], subdirs: Iterable[str] = DEFAULT_SUBDIRS
    ) -> None:
        self.channel = channel
        self.names = frozenset(names)
        self.subdirs = tuple(subdirs)
        self._by_name: dict[str, list[FileList]] | None = None

    def describe(self) -> str:
        """The channel and the subdirs read."""
        return f"{self.channel.location} ({', '.join(self.subdirs)})"

    def file_lists(self, name: str) -> list[FileList]:
        """Every file list of package ``name`` in the channel (empty when it has none)."""
        if name not in self.names:
            raise UsageError(f"{name!r} was not among the names this channel source was made for")
        if self._by_name is None:
            by_name: dict[str, list[FileList]] = {n: [] for n in self.names}
            for artifact, file_list in iter_file_lists(self.channel, self.names, self.subdirs):
                by_name[artifact.name].append(file_list)
            self._by_name = by_name
        return list(self._by_name[name])
