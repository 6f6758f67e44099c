"""Tests of the workflows and the composite action: hygiene rules, and the action's script run."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.builders import build_package
from tests.support.paths import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = ROOT / "action.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    """A workflow or action as YAML (YAML 1.1 reads the ``on`` key as True: renamed back)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def steps_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step of every job (or of the composite action)."""
    if "runs" in doc:
        return list(doc["runs"]["steps"])
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_run_scripts_never_interpolate_expressions(path: Path) -> None:
    """No ``${{ }}`` inside a run: script; event data and inputs arrive through env:."""
    for step in steps_of(load(path)):
        assert "${{" not in step.get("run", ""), (path.name, step.get("name"))


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_actions_are_pinned_by_sha(path: Path) -> None:
    """Every remote action is pinned by a full commit SHA with a ``# vX`` comment."""
    text = path.read_text(encoding="utf-8")
    for step in steps_of(load(path)):
        uses = step.get("uses")
        if uses and not uses.startswith(("./", "$/")):
            assert PINNED.match(uses), uses
            assert re.search(re.escape(uses) + r" # v\d", text), f"{uses} lacks a # vX comment"
            if uses.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_jobs_have_least_privilege_and_timeouts(path: Path) -> None:
    """Workflow-level permissions are empty (or absent); each job sets its own and a timeout."""
    doc = load(path)
    assert doc.get("permissions", {}) == {}, "workflow-level permissions must be {}"
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"job {name} lacks permissions:"
        if "uses" not in job:  # a reusable-workflow call takes its timeout from the callee
            assert "timeout-minutes" in job, f"job {name} lacks timeout-minutes"


def test_validate_artifact_workflow_contract() -> None:
    """Both event types, per-artifact concurrency, one job per privilege, the notifier."""
    doc = load(ROOT / ".github" / "workflows" / "validate-artifact.yml")
    assert doc["on"]["repository_dispatch"]["types"] == ["validate", "validate-artifact"]
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert {"artifact_url", "md5", "sha256", "feedstock", "git_sha"} <= set(inputs)
    assert len(inputs) <= 10
    assert "artifact_url" in doc["concurrency"]["group"]
    assert "package" in doc["run-name"] and "correlation_id" in doc["run-name"]
    jobs = doc["jobs"]
    run_step = next(s for s in jobs["validate"]["steps"] if s.get("id") == "validate")
    assert "validate_event.py" in run_step["run"] and "$GITHUB_EVENT_PATH" in run_step["run"]
    assert "--steps validate" in run_step["run"]
    assert jobs["publish"]["environment"] == "production"
    publish_env = next(s for s in jobs["publish"]["steps"] if "env" in s and "run" in s)["env"]
    assert publish_env["PROD_BINSTAR_TOKEN"] == "${{ secrets.PROD_BINSTAR_TOKEN }}"
    assert "feedstock" in jobs["report"]["concurrency"]["group"]
    assert "git_sha" in jobs["report"]["concurrency"]["group"]
    notify = jobs["notify-failure"]
    assert notify["uses"] == "$/.github/workflows/notify-failure.yml"
    assert "needs.validate.outputs.rc != '1'" in notify["if"]


def run_action_script(
    tmp_path: Path, cwd: Path | None = None, **inputs: str
) -> tuple[int, dict[str, str], Any]:
    """Run the action's validate step as the runner would (bash, env from the inputs)."""
    step = next(s for s in steps_of(load(ACTION)) if s.get("id") == "validate")
    output = tmp_path / "github_output"
    env = {
        "PATH": "/usr/bin:/bin",
        "AV_PYTHON": sys.executable,
        "ACTION_PATH": str(ROOT),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
        "ARTIFACT": "",
        "MD5": "",
        "SHA256": "",
        "SUBDIR": "",
        "FILTERS": "",
        "SARIF": "",
        "AV_DOCS_REPOSITORY": "",
        "AV_DOCS_COMMIT": "",
        **{k.upper(): v for k, v in inputs.items()},
    }
    proc = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env=env, capture_output=True, text=True, check=False, cwd=cwd,
    )  # fmt: skip
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    report = json.loads(Path(outputs["report"]).read_text() or "null")
    return proc.returncode, outputs, report


def test_action_passes_a_clean_artifact(tmp_path: Path) -> None:
    """A clean local artifact with its md5: exit 0, valid=true and the JSON report."""
    path = build_package(tmp_path / "linux-64", "foo", {"lib/libfoo.so": b"foo"})
    md5 = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
    rc, outputs, report = run_action_script(tmp_path, artifact=str(path), md5=md5)
    assert rc == 0 and outputs["valid"] == "true"
    assert report["valid"] is True and report["md5"] == md5


def test_action_fails_a_clobbering_artifact(tmp_path: Path) -> None:
    """An artifact shipping OpenSSL headers: exit 1, valid=false, AV201 in the report."""
    files = {"include/openssl/ssl.h": b"/* */"}
    path = build_package(tmp_path / "linux-64", "foo", files)
    rc, outputs, report = run_action_script(tmp_path, artifact=str(path))
    assert rc == 1 and outputs["valid"] == "false"
    assert [f["code"] for f in report["findings"]] == ["AV201"]


def test_action_writes_sarif(tmp_path: Path) -> None:
    """`sarif` writes the SARIF log there and names it in the `sarif` output; docs are ours."""
    path = build_package(tmp_path / "linux-64", "foo", {"include/openssl/ssl.h": b"/* */"})
    sarif = tmp_path / "results.sarif"
    rc, outputs, report = run_action_script(tmp_path, artifact=str(path), sarif=str(sarif))
    assert rc == 1 and outputs["valid"] == "false" and outputs["sarif"] == str(sarif)
    (result,) = json.loads(sarif.read_text())["runs"][0]["results"]
    assert result["ruleId"] == "AV201"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path.name
    rule = json.loads(sarif.read_text())["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["helpUri"].startswith("https://github.com/conda-forge/artifact-validation/blob/")
    runs = {}
    for name, given in (("none", ""), ("two", "a\nvalid=true"), ("gone", f"{tmp_path}/no/x")):
        (tmp_path / name).mkdir()
        runs[name] = run_action_script(tmp_path / name, artifact=str(path), sarif=given)[:2]
    assert runs["none"][0] == 1 and runs["none"][1]["sarif"] == ""  # none asked for
    assert runs["two"] == (2, {"report": runs["two"][1]["report"], "valid": "false"})
    assert runs["gone"][0] == 2  # its directory must exist


def test_action_uses_the_given_filters(tmp_path: Path) -> None:
    """`filters` (one dir per line) replaces the default filters."""
    filters = tmp_path / "filters"
    filters.mkdir()
    (filters / "foo.yaml").write_text("files: [lib/libfoo.so]\nallowed: [other]\n")
    path = build_package(tmp_path / "linux-64", "foo", {"lib/libfoo.so": b"foo"})
    rc, outputs, report = run_action_script(tmp_path, artifact=str(path), filters=f"\n{filters}\n")
    assert rc == 1 and report["violations"][0]["filter"] == "foo"


def test_action_refuses_a_wrong_md5(tmp_path: Path) -> None:
    """A wrong md5 is AV101: exit 1 and valid=false."""
    path = build_package(tmp_path / "noarch", "foo", {"site-packages/foo.py": b""}, subdir="noarch")
    rc, outputs, report = run_action_script(tmp_path, artifact=str(path), md5="0" * 32)
    assert rc == 1 and outputs["valid"] == "false"
    assert "AV101" in [f["code"] for f in report["findings"]]


#: Node 24 releases of the actions we use, by commit (each read off its tag's action.yml).
NODE24_RELEASES = {
    "actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803": "v6.1.0",
    "actions/setup-python@ece7cb06caefa5fff74198d8649806c4678c61a1": "v6.3.0",
    "actions/cache/restore@27d5ce7f107fe9357f9df03efb73ab90386fccae": "v5.0.5",
    "actions/cache/save@27d5ce7f107fe9357f9df03efb73ab90386fccae": "v5.0.5",
    "actions/upload-artifact@b7c566a772e6b6bfb58ed0dc250532a479d7789f": "v6.0.0",
    "actions/download-artifact@37930b1c2abaa49bbe596cd826c3c89aef350131": "v7.0.0",
    "actions/configure-pages@45bfe0192ca1faeb007ade9deae92b16b8254a0d": "v6.0.0",
    "actions/upload-pages-artifact@fc324d3547104276b827a68afc52ff2a11cc49c9": "v5.0.0",
    "actions/deploy-pages@cd2ce8fcbc39b97be8ca5fce6e763baed58fa128": "v5.0.0",
    "github/codeql-action/upload-sarif@8aad20d150bbac5944a9f9d289da16a4b0d87c1e": "v4.36.2",
}

#: Commands that parse downloaded, untrusted bytes (an archive, a file list, repodata).
PARSERS = ("validate.py ", "scan.py --channel", "update_filters.py --channel")


def _parses_untrusted(job: dict[str, Any]) -> bool:
    runs = " ".join(step.get("run", "") for step in job.get("steps", []))
    validates = "validate_event.py" in runs and "--steps validate" in runs
    return validates or any(p in runs for p in PARSERS)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_secret_beside_the_parser_of_untrusted_bytes(path: Path) -> None:
    """A job that parses downloaded bytes has no secret in any step's environment."""
    for name, job in load(path)["jobs"].items():
        if "steps" not in job or not _parses_untrusted(job):
            continue
        for step in job["steps"]:
            for key, value in (step.get("env") or {}).items():
                assert "secrets." not in str(value), (
                    f"{path.name}:{name} puts {key} beside a parser"
                )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_jobs_holding_secrets_name_an_environment(path: Path) -> None:
    """Every job that reads a secret runs in a named environment (its protection rules)."""
    for name, job in load(path)["jobs"].items():
        text = yaml.safe_dump(job)
        if "secrets." in text and "uses" not in job:
            assert job.get("environment"), (
                f"{path.name}:{name} reads secrets outside an environment"
            )


def test_installs_are_hash_pinned() -> None:
    """Every install step of every workflow and of the action uses the lock with hashes."""
    for path in [*WORKFLOWS, ACTION]:
        for step in steps_of(load(path)):
            run = step.get("run", "")
            if "pip install" in run:
                assert "--require-hashes" in run and "requirements/run.lock" in run, path.name


def readme_action_example() -> dict[str, Any]:
    """The feedstock workflow of the composite-action section of docs/cli.md."""
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text[text.index("## The composite action") :]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    return yaml.safe_load(block)


def test_readme_action_example_is_a_valid_lint_clean_workflow(tmp_path: Path) -> None:
    """The docs' feedstock example passes the workflow schema and zizmor's auditor persona."""
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text[text.index("## The composite action") :]
    workflow = tmp_path / ".github" / "workflows" / "build.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    bin_dir = Path(sys.executable).parent
    schema = subprocess.run(
        [bin_dir / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", workflow],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = subprocess.run(
        [bin_dir / "zizmor", "--offline", "--persona=auditor", workflow],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_readme_action_example_validates_every_built_artifact(tmp_path: Path) -> None:
    """The example's globs reach every built artifact; one clobbering artifact fails the step."""
    steps = readme_action_example()["jobs"]["build"]["steps"]
    validate = next(s for s in steps if s.get("id") == "validate")
    upload_report = next(s for s in steps if "upload-artifact" in str(s.get("uses")))
    assert "always()" in upload_report["if"] and upload_report["with"]["overwrite"] is True
    assert steps[-1]["name"].startswith("Upload to staging") and "if" not in steps[-1]
    work = tmp_path / "feedstock"
    build_package(work / "build_artifacts" / "linux-64", "foo", {"lib/libfoo.so": b"x"})
    build_package(
        work / "build_artifacts" / "noarch", "bar", {"site-packages/bar.py": b""}, subdir="noarch"
    )
    pattern = validate["with"]["artifact"]
    rc, outputs, report = run_action_script(tmp_path, artifact=pattern, cwd=work)
    assert rc == 0 and outputs["valid"] == "true"
    assert sorted(v["subdir"] for v in report) == ["linux-64", "noarch"]
    build_package(work / "build_artifacts" / "linux-64", "evil", {"include/openssl/ssl.h": b""})
    rc, outputs, report = run_action_script(tmp_path, artifact=pattern, cwd=work)
    assert rc == 1 and outputs["valid"] == "false" and len(report) == 3


def test_action_glob_matching_nothing_fails(tmp_path: Path) -> None:
    """A build that produced no artifact is not valid: the glob matching nothing exits 2."""
    rc, outputs, _ = run_action_script(tmp_path, artifact=f"{tmp_path}/build_artifacts/*/*.conda")
    assert rc == 2 and outputs["valid"] == "false"
