"""Output ownership as conda-forge/feedstock-outputs defines it: registry, layout, allow-list.

The registry's ``config.json`` says where a name's file lives
(``outputs_path``, ``shard_level`` characters, padded with ``shard_fill``);
``feedstock_outputs_autoreg_allowlist.yml`` lets a feedstock publish new
names matching its globs (``clangdev: [clang-*]``), registering each such
name before its first publication. Reads go over HTTP (the raw files);
a registration is a commit through the GitHub contents API.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from artifact_validation.core.conda import is_package_name
from artifact_validation.core.errors import ApiError, HttpStatusError
from artifact_validation.core.fileio import parse_yaml
from artifact_validation.core.findings import Code, Finding
from artifact_validation.services.api import JsonApi

if TYPE_CHECKING:
    from artifact_validation.services.github import GitHub

#: The public registry, the default of ``FEEDSTOCK_OUTPUTS_URL``.
DEFAULT_OUTPUTS_URL = "https://raw.githubusercontent.com/conda-forge/feedstock-outputs/main"

#: The registry repository registrations are committed to (``--outputs-repo``).
DEFAULT_OUTPUTS_REPO = "conda-forge/feedstock-outputs"

#: The allow-list of names a feedstock may register itself, beside ``config.json``.
ALLOWLIST_NAME = "feedstock_outputs_autoreg_allowlist.yml"


@dataclass(frozen=True)
class RegistryConfig:
    """The registry's ``config.json``: where a name's file lives."""

    outputs_path: str = "outputs"
    shard_level: int = 3
    shard_fill: str = "z"
    auto_register_all: bool = False

    def output_path(self, name: str) -> str:
        """The registry file of ``name``: ``outputs/<c1>/<c2>/<c3>/<name>.json`` by default.

        c1..cN are the first ``shard_level`` alphanumeric characters of the
        (lower-cased) name, padded with ``shard_fill``.
        """
        lowered = name.lower()
        chars = [c for c in lowered if c.isascii() and c.isalnum()][: self.shard_level]
        chars += [self.shard_fill] * (self.shard_level - len(chars))
        return "/".join([self.outputs_path, *chars, f"{lowered}.json"])


@dataclass(frozen=True)
class Ownership:
    """Whether a feedstock may publish a package name, and how."""

    name: str
    feedstock: str
    owners: tuple[str, ...]
    #: the allow-list glob that lets the feedstock register the name (empty: none)
    glob: str = ""

    @property
    def registered(self) -> bool:
        """The registry lists this feedstock for the name."""
        return self.feedstock in self.owners

    @property
    def allowed(self) -> bool:
        """Registered, or registrable through the allow-list."""
        return self.registered or bool(self.glob)

    def to_json(self) -> dict[str, Any]:
        """For the JSON report (the publish step reads it back)."""
        return {
            "name": self.name,
            "feedstock": self.feedstock,
            "owners": list(self.owners),
            "glob": self.glob,
        }

    @classmethod
    def from_json(cls, doc: Any) -> Ownership | None:
        """The value ``to_json`` wrote, or None when ``doc`` is not one."""
        if not isinstance(doc, dict) or not all(
            isinstance(doc.get(k), str) for k in ("name", "feedstock", "glob")
        ):
            return None
        owners = doc.get("owners")
        if not isinstance(owners, list) or not all(isinstance(o, str) for o in owners):
            return None
        return cls(doc["name"], doc["feedstock"], tuple(owners), doc["glob"])


class Registry(JsonApi):
    """Reads the ownership registry over HTTP, with retries (an unreachable one is exit 3)."""

    default_url = DEFAULT_OUTPUTS_URL
    default_timeout = 30.0

    def _get(self, path: str, what: str) -> bytes | None:
        url = f"{self.base_url}/{quote(path)}"
        try:
            return self.raw("GET", url, f"{what} from {url}")
        except HttpStatusError as exc:
            if exc.status == 404:
                return None
            raise

    def config(self) -> RegistryConfig:
        """The registry's layout (``config.json``); unreadable or malformed is exit 3."""
        raw = self._get("config.json", "reading the registry's config.json")
        if raw is None:
            raise ApiError(f"{self.base_url}/config.json: the registry has no config.json")
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise ApiError("the registry's config.json is not JSON") from exc
        if not isinstance(doc, dict):
            raise ApiError("the registry's config.json is not an object")
        path = doc.get("outputs_path", "outputs")
        level = doc.get("shard_level", 3)
        fill = doc.get("shard_fill", "z")
        auto = doc.get("auto_register_all", False)
        if not (
            isinstance(path, str)
            and path
            and isinstance(level, int)
            and 0 <= level <= 8
            and isinstance(fill, str)
            and len(fill) == 1
            and isinstance(auto, bool)
        ):
            raise ApiError("the registry's config.json has an unexpected layout")
        return RegistryConfig(path.strip("/"), level, fill, auto)

    def allowlist(self) -> dict[str, tuple[str, ...]]:
        """``{feedstock: (glob, ...)}`` of the auto-registration allow-list (empty if absent)."""
        raw = self._get(ALLOWLIST_NAME, "reading the registry's allow-list")
        if raw is None:
            return {}
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(f"{ALLOWLIST_NAME} is not UTF-8") from exc
        doc = parse_yaml(text, ApiError, ALLOWLIST_NAME, "the allow-list")
        if doc is None:
            return {}
        if not isinstance(doc, dict):
            raise ApiError(f"{ALLOWLIST_NAME}: must map feedstocks to lists of globs")
        out = {}
        for feedstock, globs in doc.items():
            if not isinstance(feedstock, str) or not isinstance(globs, list):
                raise ApiError(f"{ALLOWLIST_NAME}: must map feedstocks to lists of globs")
            out[feedstock] = tuple(str(g) for g in globs)
        return out

    def feedstocks(self, name: str, config: RegistryConfig | None = None) -> list[str] | None:
        """The feedstocks registered for ``name``, or None when it is not registered."""
        if not is_package_name(name):
            return None
        path = (config or self.config()).output_path(name)
        raw = self._get(path, f"reading the ownership of {name!r}")
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise ApiError(f"reading the ownership of {name!r}: the answer is not JSON") from exc
        feedstocks = doc.get("feedstocks") if isinstance(doc, dict) else None
        if not isinstance(feedstocks, list) or not all(isinstance(f, str) for f in feedstocks):
            raise ApiError(f"reading the ownership of {name!r}: no 'feedstocks' list of names")
        return feedstocks

    def ownership(self, name: str, feedstock: str) -> Ownership:
        """Who may publish ``name``, and whether ``feedstock`` may (registered or by glob)."""
        config = self.config()
        owners = tuple(self.feedstocks(name, config) or ())
        glob = ""
        if feedstock not in owners:
            patterns = self.allowlist().get(feedstock, ())
            glob = next((g for g in patterns if fnmatch.fnmatchcase(name, g)), "")
            if not glob and config.auto_register_all and not owners:
                glob = "*"
        return Ownership(name, feedstock, owners, glob)


def ownership_finding(ownership: Ownership) -> Finding | None:
    """AV701 when the feedstock may not publish the name (neither registered nor allowed)."""
    if ownership.allowed:
        return None
    name, feedstock = ownership.name, ownership.feedstock
    how = (
        f"register {name!r} for {feedstock!r} in conda-forge/feedstock-outputs "
        "(an admin-requests pull request, or a glob in its auto-registration allow-list)"
    )
    if not ownership.owners:
        detail = f"{name!r} is not registered to any feedstock; {how}"
    else:
        detail = (
            f"{name!r} belongs to {', '.join(sorted(ownership.owners))}, not to "
            f"{feedstock!r}; rename the output, or {how}"
        )
    return Finding(Code.AV701, (), detail)


def register_output(
    gh: GitHub, repo: str, config: RegistryConfig, ownership: Ownership, branch: str = ""
) -> None:
    """Add ``ownership.feedstock`` to the registry file of its name (a commit to ``repo``).

    As the copy service does before a first publication through the
    allow-list. Fails closed: any error raises, and nothing is published.
    """
    name, feedstock = ownership.name, ownership.feedstock
    path = config.output_path(name)
    base = branch or gh.default_branch_head(repo)[0]
    current = gh.read_file(repo, base, path)
    owners: list[str] = []
    if current is not None:
        try:
            doc = json.loads(current[0])
        except ValueError as exc:
            raise ApiError(f"{repo}:{path} is not JSON") from exc
        listed = doc.get("feedstocks") if isinstance(doc, dict) else None
        owners = [f for f in listed if isinstance(f, str)] if isinstance(listed, list) else []
    if feedstock in owners:
        return
    text = json.dumps({"feedstocks": [*owners, feedstock]}) + "\n"
    message = f"[cf admin skip] ***NO_CI*** add output {name} for conda-forge/{feedstock}-feedstock"
    gh.write_file(repo, base, path, text, message, sha=current[1] if current else None)


def maintainer_teams(registry: Registry, name: str) -> list[str]:
    """The maintainer teams (``@conda-forge/<team>``) of ``name``'s feedstocks.

    conda-forge names each feedstock's team after the feedstock; a name the
    registry does not know falls back to the package name itself.
    """
    return sorted(registry.feedstocks(name) or [name])
