"""Bounded HTTP retries: which answers deserve another try, how long to wait, when to give up."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from artifact_validation.core.errors import ApiError, HttpStatusError

if TYPE_CHECKING:
    import requests

_T = TypeVar("_T")

#: Statuses worth another try even without rate-limit headers (issue 5 §2.5).
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class AttemptFailed(Exception):
    """One failed attempt: ``status`` is None when no HTTP answer came back at all."""

    def __init__(
        self, message: str, status: int | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how long to back off, the longest wait we accept.

    ``sleep`` and ``clock`` are injectable so tests run fast and deterministic.
    A rate limit that resets further away than ``max_wait`` fails closed at
    once rather than hanging the job.
    """

    attempts: int = 5
    backoff: float = 1.0
    max_wait: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time

    def to_urllib3(self) -> Any:
        """The same policy as a urllib3 ``Retry`` for a session's transport (idempotent verbs).

        ``Retry-After`` is not obeyed there, so a server cannot stall a scan;
        waits are capped at ``max_wait``.
        """
        from urllib3.util.retry import Retry  # noqa: PLC0415

        retries = max(0, self.attempts - 1)
        return Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=self.backoff,
            backoff_max=self.max_wait,
            status_forcelist=tuple(sorted(RETRYABLE_STATUSES - {408})),
            allowed_methods=frozenset({"GET", "HEAD"}),
            respect_retry_after_header=False,
            raise_on_status=False,
        )

    def delay(self, attempt: int, status: int | None, headers: Mapping[str, str]) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (0-based), or None if final.

        Honours ``Retry-After`` and GitHub's ``x-ratelimit-remaining: 0`` /
        ``x-ratelimit-reset`` on 403 and 429; 5xx, 408, 429 and no answer back
        off exponentially; any other status is final.
        """
        wait = self.requested_wait(status, headers)
        if wait is None:
            if status is not None and status not in RETRYABLE_STATUSES:
                return None
            wait = self.backoff * 2**attempt
        return wait if wait <= self.max_wait else None

    def requested_wait(self, status: int | None, headers: Mapping[str, str]) -> float | None:
        """The wait a rate-limited answer asks for (``Retry-After`` or a reset), or None.

        ``Retry-After`` is seconds or an HTTP date; any other value is ignored
        (the usual backoff applies), never an error.
        """
        if status not in (403, 429, 503):
            return None
        retry_after = headers.get("retry-after", "").strip()
        if retry_after.isdigit():
            return float(retry_after)
        if retry_after:
            try:
                when = parsedate_to_datetime(retry_after)
            except (TypeError, ValueError, IndexError, OverflowError):
                when = None
            if when is not None and when.tzinfo is not None:
                return max(0.0, when.timestamp() - self.clock())
        if headers.get("x-ratelimit-remaining", "").strip() == "0":
            reset = headers.get("x-ratelimit-reset", "").strip()
            if reset.isdigit():
                return max(0.0, float(reset) - self.clock()) + 1.0
            return self.backoff * 60
        return None


def download_policy(
    backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep
) -> RetryPolicy:
    """Artifact downloads: 4 attempts, backoff doubling from ``backoff``, waits <= 60 s."""
    return RetryPolicy(attempts=4, backoff=backoff, max_wait=60.0, sleep=sleep)


def channel_policy() -> RetryPolicy:
    """Channel reads (repodata, Range requests), inside the transport: 4 attempts, <= 30 s."""
    return RetryPolicy(attempts=4, backoff=0.5, max_wait=30.0)


def with_retries(attempt: Callable[[], _T], policy: RetryPolicy, what: str) -> _T:
    """Run ``attempt`` until it returns, retrying ``AttemptFailed`` as ``policy`` allows.

    A final HTTP status raises ``HttpStatusError`` (callers may treat 404 or
    409 as data); no answer at all after the last attempt raises ``ApiError``.
    Both exit 3: the API could not be used, so nothing passes.
    """
    for number in range(max(1, policy.attempts)):
        try:
            return attempt()
        except AttemptFailed as exc:
            wait = policy.delay(number, exc.status, exc.headers)
            last = number + 1 >= policy.attempts
            if wait is None or last:
                tries = f"after {number + 1} attempt{'s' * (number > 0)}"
                if exc.status is None:
                    raise ApiError(f"{what} failed {tries}: {exc}") from exc
                asked = policy.requested_wait(exc.status, exc.headers)
                if wait is not None:
                    why = "retries exhausted"
                elif asked is not None and asked > policy.max_wait:
                    why = (
                        f"the server asks to wait {asked:.0f} s, more than {policy.max_wait:.0f} s"
                    )
                else:
                    why = "not retryable"
                raise HttpStatusError(
                    f"{what} failed {tries} with HTTP {exc.status} ({why}): {exc}", exc.status
                ) from exc
            policy.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    what: str,
    policy: RetryPolicy,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    timeout: float = 60.0,
) -> requests.Response:
    """One ``requests`` call with retries; any 2xx is returned, anything else raises.

    For the anaconda.org API and the ownership registry (GitHub goes through
    ghapi in ``github.py``). Redirects are followed for GET only.
    """
    # Imported here: requests adds ~0.1 s to every start, and local validation never sends.
    import requests  # noqa: PLC0415

    def attempt() -> requests.Response:
        try:
            response = session.request(
                method,
                url,
                headers=dict(headers or {}),
                json=json,
                timeout=timeout,
                allow_redirects=method == "GET",
            )
        except requests.RequestException as exc:
            raise AttemptFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc
        if 200 <= response.status_code < 300:
            return response
        detail = response.text[:200].strip().replace("\n", " ") or response.reason
        raise AttemptFailed(detail, response.status_code, response.headers)

    return with_retries(attempt, policy, what)
