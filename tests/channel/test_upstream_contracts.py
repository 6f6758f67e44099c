"""Contracts with the private API of ``LazyConda`` that ``transport.RangeConda`` overrides.

``RangeConda`` checks every Range answer by overriding ``_stream_response``
and the local copy's size by overriding ``truncate``, and reads ``_url`` and
``_file``. conda-package-streaming is pinned below the next minor release;
these tests say what to re-check when that pin moves.
"""

from __future__ import annotations

import inspect

from conda_package_streaming.lazy_wheel import LazyConda

from artifact_validation.channel import RangeConda


def _defined(name: str) -> inspect.Signature:
    for cls in LazyConda.__mro__:
        if name in cls.__dict__:
            return inspect.signature(cls.__dict__[name])
    raise AssertionError(f"LazyConda has no {name}: RangeConda overrides it")


def test_stream_response_signature() -> None:
    """``_stream_response(self, start, end, base_headers=...)`` is what RangeConda wraps."""
    assert list(_defined("_stream_response").parameters) == [
        "self",
        "start",
        "end",
        "base_headers",
    ]


def test_truncate_and_prefetch_signatures() -> None:
    """``truncate(self, size=None)`` sizes the local copy; ``prefetch(self, id)`` reads info."""
    assert list(_defined("truncate").parameters) == ["self", "size"]
    assert len(_defined("prefetch").parameters) == 2


def test_constructor_sets_url_before_the_first_request() -> None:
    """``__init__`` stores ``_url`` and makes the tail request through ``_stream_response``,
    then creates ``_file`` and calls ``truncate`` (the order RangeConda relies on)."""
    source = inspect.getsource(_init_owner())
    url_at = source.index("self._url")
    tail_at = source.index("self._stream_response(")
    file_at = source.index("self._file =")
    truncate_at = source.index("self.truncate(")
    assert url_at < tail_at < file_at < truncate_at


def test_range_conda_overrides_exactly_these() -> None:
    """RangeConda overrides no other upstream method than the ones checked here."""
    upstream = {n for cls in LazyConda.__mro__[:-1] for n in cls.__dict__}
    ours = set(RangeConda.__dict__) & upstream
    assert {n for n in ours if not n.startswith("__")} == {
        "_stream_response",
        "truncate",
        "close",
    }


def _init_owner() -> object:
    for cls in LazyConda.__mro__:
        if "__init__" in cls.__dict__:
            return cls.__dict__["__init__"]
    raise AssertionError("no __init__")
