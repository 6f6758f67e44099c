"""Output ownership: which feedstocks may publish a package name (conda-forge/feedstock-outputs)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from artifact_validation.core.conda import is_package_name
from artifact_validation.core.errors import ApiError, HttpStatusError
from artifact_validation.core.findings import Code, Finding
from artifact_validation.services.api import JsonApi

if TYPE_CHECKING:
    pass

#: The public registry, the default of ``FEEDSTOCK_OUTPUTS_URL``.
DEFAULT_OUTPUTS_URL = "https://raw.githubusercontent.com/conda-forge/feedstock-outputs/main"


def output_path(name: str) -> str:
    """The registry file of ``name``: ``outputs/<c1>/<c2>/<c3>/<name>.json``.

    c1..c3 are the first three alphanumeric characters of the name, padded
    with ``z`` when it has fewer (``r`` -> ``outputs/r/z/z/r.json``).
    """
    chars = [c for c in name if c.isascii() and c.isalnum()]
    chars += ["z"] * (3 - len(chars))
    return f"outputs/{chars[0]}/{chars[1]}/{chars[2]}/{name}.json"


class Registry(JsonApi):
    """Reads the ownership registry over HTTP, with retries (an unreachable one is exit 3)."""

    default_url = DEFAULT_OUTPUTS_URL
    default_timeout = 30.0

    def feedstocks(self, name: str) -> list[str] | None:
        """The feedstocks registered for ``name``, or None when it is not registered (404)."""
        if not is_package_name(name):
            return None
        url = f"{self.base_url}/{quote(output_path(name))}"
        what = f"reading the ownership of {name!r} from {url}"
        try:
            doc = self.call("GET", url, what, strict=True)
        except HttpStatusError as exc:
            if exc.status == 404:
                return None
            raise
        feedstocks = doc.get("feedstocks") if isinstance(doc, dict) else None
        if not isinstance(feedstocks, list) or not all(isinstance(f, str) for f in feedstocks):
            raise ApiError(f"{what}: the answer has no 'feedstocks' list of names")
        return feedstocks


def check_ownership(registry: Registry, name: str, feedstock: str) -> Finding | None:
    """AV701 when ``name`` is not registered to ``feedstock``; None when it is.

    Scope: the package name from the artifact's ``info/index.json`` against
    the registry entry of that name. Registry failures raise (exit 3).
    """
    owners = registry.feedstocks(name)
    if owners is not None and feedstock in owners:
        return None
    how = (
        f"add {feedstock!r} to {output_path(name)} in conda-forge/feedstock-outputs "
        "(a pull request there, or the feedstock's registration workflow)"
    )
    if owners is None:
        detail = f"{name!r} is not registered to any feedstock; {how}"
    else:
        detail = (
            f"{name!r} belongs to {', '.join(sorted(owners)) or 'no feedstock'}, "
            f"not to {feedstock!r}; rename the output, or {how}"
        )
    return Finding(Code.AV701, (), detail)


def maintainer_teams(registry: Registry, name: str) -> list[str]:
    """The maintainer teams (``@conda-forge/<team>``) of ``name``'s feedstocks.

    conda-forge names each feedstock's team after the feedstock; a name the
    registry does not know falls back to the package name itself.
    """
    return sorted(registry.feedstocks(name) or [name])
