"""Verdicts as SARIF 2.1.0, the format code scanning (GitHub's among others) reads.

One run for all the artifacts of an invocation; one rule per finding code
(every code of the catalogue, linked to its explanation); one result per
finding, except clobbering (AV201), which has one result per protected path
naming the filter file that protects it. An artifact that could not be
validated is a tool execution notification, not a result.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

from artifact_validation import __version__
from artifact_validation.archive.verdict import Verdict
from artifact_validation.core.findings import ADVICE, DEFAULT_DOCS_REPO, Code, DocsLink, Finding
from artifact_validation.filters.matcher import Violation

SARIF_VERSION = "2.1.0"
#: The schema the log names (OASIS's published 2.1.0 schema, errata 01).
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
TOOL_NAME = "artifact-validation"
#: How many member paths one result lists as locations (the message gives the total).
MAX_LOCATIONS = 10

_RULE_INDEX = {code: index for index, code in enumerate(Code)}


def artifact_name(source: str) -> str:
    """The file name of an artifact given as a path or URL (``pkg-1-0.conda``)."""
    path = urlsplit(source).path if "://" in source else source.replace("\\", "/")
    return PurePosixPath(path).name or source


def _uri(text: str) -> str:
    return quote(text, safe="/-._~")


def sarif_rules(docs: DocsLink) -> list[dict[str, Any]]:
    """One rule per code of the catalogue: id, title, advice and the link to its explanation."""
    return [
        {
            "id": code.name,
            "name": code.name,
            "shortDescription": {"text": code.value},
            "fullDescription": {"text": f"{code.value}. {ADVICE[code]}"},
            "help": {"text": f"{ADVICE[code]} See {docs.url(code)}"},
            "helpUri": docs.url(code),
            "defaultConfiguration": {"level": "error"},
        }
        for code in Code
    ]


def _location(artifact: str, member: str | None = None) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": _uri(artifact)}}}
    if member is not None:
        location["logicalLocations"] = [
            {"name": member, "fullyQualifiedName": f"{artifact}/{member}", "kind": "resource"}
        ]
    return location


def _result(code: Code, text: str, locations: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ruleId": code.name,
        "ruleIndex": _RULE_INDEX[code],
        "level": "error",
        "message": {"text": text},
        "locations": locations,
    }


def _finding_result(artifact: str, finding: Finding) -> dict[str, Any]:
    paths = finding.paths[:MAX_LOCATIONS]
    locations = [_location(artifact, p) for p in paths] or [_location(artifact)]
    text = f"{artifact}: {finding.message}"
    if finding.paths:
        more = len(finding.paths) - len(paths)
        text += f" ({'; '.join(paths)}" + (f"; and {more} more" if more else "") + ")"
    return _result(finding.code, text, locations)


def _violation_result(artifact: str, v: Violation) -> dict[str, Any]:
    where = f" in {v.where}" if v.where else ""
    owners = ", ".join(v.allowed) or "nobody"
    text = (
        f"{artifact}: {v.path} is protected by filter {v.filter} (glob {v.glob}{where}); "
        f"only {owners} may ship it"
    )
    result = _result(Code.AV201, text, [_location(artifact, v.path)])
    result["properties"] = v.to_json()
    return result


def verdict_results(verdict: Verdict) -> list[dict[str, Any]]:
    """The SARIF results of one verdict: a result per finding, per violation for AV201."""
    artifact = artifact_name(verdict.source) or verdict.name or "artifact"
    results = []
    for finding in sorted(verdict.findings, key=Finding.sort_key):
        if finding.code is Code.AV201 and verdict.violations:
            results += [
                _violation_result(artifact, v)
                for v in sorted(verdict.violations, key=lambda v: (v.path, v.filter))
            ]
        else:
            results.append(_finding_result(artifact, finding))
    return results


def sarif_log(
    verdicts: Sequence[Verdict], docs: DocsLink, version: str = __version__
) -> dict[str, Any]:
    """The SARIF 2.1.0 log of ``verdicts``: one run, every code a rule, results of all."""
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{artifact_name(v.source) or 'artifact'}: {error}"},
        }
        for v in verdicts
        for error in sorted(v.errors)
    ]
    invocation: dict[str, Any] = {"executionSuccessful": not notifications}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": version,
                        "semanticVersion": version,
                        "informationUri": f"https://github.com/{DEFAULT_DOCS_REPO}",
                        "rules": sarif_rules(docs),
                    }
                },
                "invocations": [invocation],
                "results": [r for v in verdicts for r in verdict_results(v)],
            }
        ],
    }
