"""The error hierarchy and the exit-code contract shared by every CLI."""

from __future__ import annotations

from artifact_validation.core.markdown import display_path, shorten

#: Exit codes, one contract for every CLI (README.md "Exit codes").
EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_UNVALIDATED = 3


class ValidationError(Exception):
    """Base of every error this library raises on purpose.

    An error is never a verdict: entry points turn it into a message and
    ``exit_code``, which is never 0.
    """

    exit_code = EXIT_UNVALIDATED


class UsageError(ValidationError):
    """The command line or an input file given to it is wrong."""

    exit_code = EXIT_USAGE


class FilterError(UsageError):
    """A filter file is malformed: unknown key, wrong type, bad glob, duplicate name."""


class WaiverError(UsageError):
    """A waiver file is malformed, expired, too far ahead, or too broad."""


class PayloadError(UsageError):
    """An event payload is missing a field or has a malformed one."""


class FileListError(UsageError):
    """A file list (libcfgraph JSON) cannot be read or lacks ``files``/``index``."""


class FetchError(ValidationError):
    """A download or API call failed after retries; nothing could be validated."""


class LimitError(ValidationError):
    """A resource limit (size, member count, compression ratio) was hit."""


class ApiError(FetchError):
    """A GitHub, anaconda.org or registry API call failed after retries."""


class HttpStatusError(ApiError):
    """An API answered with an HTTP status that is final (not retryable, or retries exhausted).

    ``status`` lets a caller treat an expected answer (404 absent, 409 exists)
    as data; anything it does not handle stays an exit-3 failure.
    """

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ArtifactReadError(ValidationError):
    """An artifact's metadata cannot be read (damaged archive, no info/paths.json or info/files).

    Raised where a file list is needed rather than a verdict (the scan, the
    filter generator); the scan records it per artifact and retries it later.
    """


class ArchiveIOError(ValidationError):
    """The artifact file itself could not be read (an I/O error, not a property of the archive)."""


class Cancelled(ValidationError):
    """A read was stopped because the scan ran out of time; nothing was concluded."""


class PushError(ValidationError):
    """A commit could not be pushed: a conflict, a rejection, or the branch kept moving."""


def describe(exc: BaseException, limit: int = 300) -> str:
    """One line naming an exception for a message: ``Type: text``, cut to ``limit`` characters.

    The text may quote hostile input (an archive member, a server's answer):
    control characters are escaped.
    """
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return shorten(display_path(" ".join(text.split())), limit)
