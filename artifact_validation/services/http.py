"""The one way this project makes an HTTP session: timeouts, a user agent, nothing from the env.

Every client (downloads, the channel reader, anaconda.org, the ownership
registry) gets its ``requests.Session`` from ``make_session``. ``trust_env``
is off everywhere: no ``.netrc`` credentials reach an artifact host or an
API, and no proxy from the environment stands in for an allow-listed host.
GitHub goes through ghapi's own transport (``github.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from artifact_validation import __version__

if TYPE_CHECKING:
    import requests

    from artifact_validation.services.retry import RetryPolicy

#: Connect and read timeouts of every request that does not give its own, in seconds.
DEFAULT_TIMEOUT = (10.0, 60.0)

#: The User-Agent of every request.
USER_AGENT = f"artifact-validation/{__version__}"


def make_session(
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    transport_retry: RetryPolicy | None = None,
    pool_maxsize: int = 10,
) -> requests.Session:
    """A ``requests.Session`` whose every request carries a timeout; see the module docstring.

    ``transport_retry`` retries idempotent requests inside the transport
    (``urllib3``), for readers that cannot wrap each call themselves
    (``LazyConda`` makes its own Range requests); callers that can use
    ``retry.with_retries`` instead.
    """
    # Imported here: requests adds ~0.1 s to every start, and local validation never sends.
    import requests  # noqa: PLC0415
    from requests.adapters import HTTPAdapter  # noqa: PLC0415

    class _TimeoutSession(requests.Session):
        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = timeout
            return super().request(method, url, *args, **kwargs)

    session = _TimeoutSession()
    session.trust_env = False
    session.headers["User-Agent"] = USER_AGENT
    retries = transport_retry.to_urllib3() if transport_retry is not None else 0
    adapter = HTTPAdapter(max_retries=retries, pool_connections=4, pool_maxsize=pool_maxsize)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
