"""Publishing a validated artifact without a gap between the check and the copy.

Staging is writable by every feedstock's CI (they share its token), so the
file validated there can be replaced before it is copied. Like the copy
service, the chain goes through an owner only we write (post-staging), and
compares the bytes at every hop with the ones validated:

1. production already holds the file: the same bytes (and label) is a
   success that copies nothing; other bytes are AV702, left alone;
2. staging still holds the validated bytes under the label (else AV703);
3. copy staging -> post-staging (same label), read it back: hashes and
   labels exactly as expected, else remove it and fail (AV702 when it
   differs, exit 3 when it cannot be known);
4. copy post-staging -> production (same label), read it back; other bytes
   in production are removed again and reported (``bad_copy``);
5. remove the file from post-staging (always) and from staging (once published).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artifact_validation.core.errors import ValidationError
from artifact_validation.core.findings import Code, Finding
from artifact_validation.services.anaconda import Anaconda, Dist, DistInfo


@dataclass(frozen=True)
class Owners:
    """The three anaconda.org owners of the chain."""

    staging: str = "cf-staging"
    post_staging: str = "cf-post-staging"
    production: str = "conda-forge"


@dataclass(frozen=True)
class Tokens:
    """One token per owner: each owner's token writes (copies into it, removes from it)."""

    staging: str = ""
    post_staging: str = ""
    production: str = ""


@dataclass
class Publication:
    """What the chain did: a log of steps, whether the validated bytes are in production."""

    published: bool = False
    #: production held the validated bytes before this run: nothing was copied
    already: bool = False
    steps: list[str] = field(default_factory=list)
    production: DistInfo | None = None
    #: production ended up with other bytes; they were removed (or that failed: ``problem``)
    bad_copy: bool = False
    finding: Finding | None = None
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        """For the JSON report."""
        return {
            "published": self.published,
            "already": self.already,
            "steps": list(self.steps),
            "production": self.production.to_json() if self.production else None,
            "bad_copy": self.bad_copy,
            "finding": self.finding.to_json() if self.finding else None,
            "problem": self.problem,
        }

    @classmethod
    def from_json(cls, doc: object) -> Publication | None:
        """The value ``to_json`` wrote (the report job reads the publish job's), or None."""
        if not isinstance(doc, dict):
            return None
        production = doc.get("production")
        finding = doc.get("finding")
        return cls(
            published=bool(doc.get("published")),
            already=bool(doc.get("already")),
            steps=[str(s) for s in doc.get("steps") or []],
            production=DistInfo(
                str(production.get("md5") or ""),
                str(production.get("sha256") or ""),
                tuple(str(x) for x in production.get("labels") or []),
            )
            if isinstance(production, dict)
            else None,
            bad_copy=bool(doc.get("bad_copy")),
            finding=Finding(
                Code[str(finding["code"])], tuple(finding.get("paths") or ()), finding["detail"]
            )
            if isinstance(finding, dict) and str(finding.get("code")) in Code.__members__
            else None,
            problem=str(doc.get("problem") or ""),
        )


@dataclass
class _Chain:
    api: Anaconda
    dist: Dist
    label: str
    md5: str
    sha256: str
    owners: Owners
    tokens: Tokens
    result: Publication

    def matches(self, info: DistInfo | None) -> bool:
        return info is not None and info.holds(self.md5, self.sha256)

    def labelled(self, info: DistInfo) -> bool:
        return info.labels == (self.label,)

    def describe(self, owner: str, info: DistInfo | None) -> str:
        if info is None:
            return f"{owner} has no {self.dist.basename}"
        return (
            f"{owner} has md5 {info.md5 or '?'}, sha256 {info.sha256 or '?'}, labels "
            f"{', '.join(info.labels) or 'none'}; validated md5 {self.md5 or '?'}, "
            f"sha256 {self.sha256 or '?'}, label {self.label}"
        )

    def differs(self, code: Code, detail: str) -> None:
        self.result.finding = Finding(code, (self.dist.basename,), detail)

    def run(self) -> None:
        owners, tokens, dist, api, log = (
            self.owners,
            self.tokens,
            self.dist,
            self.api,
            self.result.steps.append,
        )
        production = api.dist_info(owners.production, dist, tokens.production)
        if production is not None:
            self.result.production = production
            if self.matches(production) and self.label in production.labels:
                self.result.published = self.result.already = True
                log(f"{owners.production} already holds the validated bytes: nothing copied")
                self.clean_staging()
                return
            self.differs(
                Code.AV702, "before any copy: " + self.describe(owners.production, production)
            )
            return
        staged = api.dist_info(owners.staging, dist, tokens.staging)
        if not self.matches(staged) or staged is None or self.label not in staged.labels:
            self.differs(Code.AV703, self.describe(owners.staging, staged))
            return
        log(f"{owners.staging} still holds the validated bytes")
        try:
            self.hop(owners.staging, owners.post_staging, tokens.post_staging, check_label=True)
            if self.result.finding is None:
                self.hop(owners.post_staging, owners.production, tokens.production)
        finally:
            if api.remove(owners.post_staging, dist, tokens.post_staging):
                log(f"removed from {owners.post_staging}")
        if self.result.finding is None:
            self.result.published = True
            self.clean_staging()

    def hop(self, source: str, target: str, token: str, *, check_label: bool = False) -> None:
        """Copy ``source`` -> ``target`` and read it back; a difference is a finding."""
        api, dist, log = self.api, self.dist, self.result.steps.append
        copied = api.copy(dist, source, target, token, self.label)
        log(f"copied to {target}" if copied else f"{target} already had the file (409)")
        there = api.dist_info(target, dist, token)
        if there is None:
            raise ValidationError(f"{target}/{dist.basename} is not there after the copy")
        good = self.matches(there) and (
            self.labelled(there) if check_label else self.label in there.labels
        )
        if target == self.owners.production:
            self.result.production = there
        if good:
            log(f"{target} holds the validated bytes")
            return
        self.differs(Code.AV702, self.describe(target, there))
        if target == self.owners.production:
            self.result.bad_copy = True
        if api.remove(target, dist, token):
            log(f"removed the wrong file from {target}")

    def clean_staging(self) -> None:
        if self.api.remove(self.owners.staging, self.dist, self.tokens.staging):
            self.result.steps.append(f"removed from {self.owners.staging}")


def publish(
    api: Anaconda,
    dist: Dist,
    *,
    label: str,
    md5: str,
    sha256: str,
    owners: Owners,
    tokens: Tokens,
) -> Publication:
    """Run the chain of the module docstring for ``dist`` validated with these hashes.

    API failures after retries are ``problem`` (exit 3), never a pass; a
    difference in bytes is the ``finding`` (exit 1).
    """
    result = Publication()
    chain = _Chain(api, dist, label, md5, sha256, owners, tokens, result)
    try:
        chain.run()
    except ValidationError as exc:
        result.problem = str(exc)
        result.published = False
    return result
