"""A JSON-over-HTTP API client: base URL, one session, the shared retry policy, timeouts.

anaconda.org and the ownership registry are both this shape; GitHub goes
through ghapi (``github.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from artifact_validation.core.errors import ApiError
from artifact_validation.services.http import make_session
from artifact_validation.services.retry import RetryPolicy, send

if TYPE_CHECKING:
    import requests


class JsonApi:
    """Calls ``base_url`` with retries (then ``ApiError``/``HttpStatusError``, exit 3).

    A subclass names its public base URL and timeout in ``default_url`` and
    ``default_timeout``.
    """

    default_url = ""
    default_timeout = 60.0

    def __init__(
        self,
        base_url: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        timeout: float | None = None,
    ) -> None:
        self.base_url = (base_url or self.default_url).rstrip("/")
        self.retry = retry or RetryPolicy()
        self.session = session or make_session()
        self.timeout = timeout if timeout is not None else self.default_timeout

    def raw(self, method: str, url: str, what: str, *, token: str = "") -> bytes:
        """One call; the answer's bytes as sent."""
        return bytes(self._send(method, url, what, token, None).content)

    def _send(self, method: str, url: str, what: str, token: str, body: Any) -> Any:
        """``send`` with this client's session, retries, timeout and token."""
        headers = {"Authorization": f"token {token}"} if token else {}
        return send(
            self.session,
            method,
            url,
            what=what,
            policy=self.retry,
            headers=headers,
            json=body,
            timeout=self.timeout,
        )

    def call(
        self,
        method: str,
        url: str,
        what: str,
        *,
        token: str = "",
        body: Any = None,
        strict: bool = False,
    ) -> Any:
        """One call; the decoded JSON answer (None for an empty one).

        ``token`` goes in ``Authorization: token ...``. A body that is not JSON
        is None, or an ``ApiError`` with ``strict``.
        """
        response = self._send(method, url, what, token, body)
        try:
            return response.json() if response.content else None
        except ValueError as exc:
            if strict:
                raise ApiError(f"{what}: the answer is not JSON") from exc
            return None
