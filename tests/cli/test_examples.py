"""Golden tests: each example artifact's verdict, the README's first command, and the builder.

Each ``examples/channel/<subdir>/<file>`` has ``examples/expected/<subdir>/<file>.json``
holding ``{"rc", "json", "report"}`` of ``validate.py <file> --subdir-from-path --json``.
After an intended change, regenerate them with
``AV_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_examples.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_validate
from tests.support.paths import ROOT

CHANNEL = ROOT / "examples" / "channel"
EXPECTED = ROOT / "examples" / "expected"
ARTIFACTS = sorted([*CHANNEL.glob("*/*.conda"), *CHANNEL.glob("*/*.tar.bz2")])


#: Reports link the docs at a fixed ref here (by default: this checkout's HEAD, which moves).
DOCS_ENV = {"AV_DOCS_REPOSITORY": "conda-forge/artifact-validation", "AV_DOCS_COMMIT": "main"}


def validate(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run validate.py from the repository root with a clean environment."""
    return run_validate(*args, cwd=cwd, env=DOCS_ENV)


def test_the_example_channel_is_complete() -> None:
    """Four packages in both formats, a repodata.json per subdir listing them all."""
    assert len(ARTIFACTS) == 8
    for subdir in {p.parent for p in ARTIFACTS}:
        repodata = json.loads((subdir / "repodata.json").read_text())
        listed = {*repodata["packages"], *repodata["packages.conda"]}
        assert listed == {p.name for p in ARTIFACTS if p.parent == subdir}
        assert repodata["info"]["subdir"] == subdir.name


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=[p.name for p in ARTIFACTS])
def test_golden_verdict(artifact: Path) -> None:
    """validate.py's exit code, JSON and report for each example match the golden file."""
    relative = artifact.relative_to(ROOT).as_posix()
    proc = validate(relative, "--subdir-from-path", "--json")
    got = {"rc": proc.returncode, "json": json.loads(proc.stdout), "report": proc.stderr}
    golden = EXPECTED / artifact.parent.name / f"{artifact.name}.json"
    if os.environ.get("AV_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert got == expected, "regenerate with AV_UPDATE_GOLDEN=1 if the change is intended"


def test_golden_verdicts_say_what_the_readme_says() -> None:
    """The clean package is valid; the others are rejected with their codes."""
    verdicts: dict[str, Any] = {}
    for golden in sorted(EXPECTED.glob("*/*.json")):
        doc = json.loads(golden.read_text(encoding="utf-8"))
        name = doc["json"]["name"]
        codes = sorted(f["code"] for f in doc["json"]["findings"])
        verdicts.setdefault(name, set()).add((doc["rc"], tuple(codes)))
    assert verdicts == {
        "tinylib": {(0, ())},
        "sslvendor": {(1, ("AV201",))},
        "certbundle": {(1, ("AV201",))},
        "escaper": {(1, ("AV504",))},
    }


def test_readme_first_command() -> None:
    """The Quick start's validate command (shell globs expanded) shows every verdict, exit 1."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = ".venv/bin/python validate.py examples/channel/*/*.conda examples/channel/*/*.tar.bz2"
    assert command + " --subdir-from-path" in readme
    args = [p.relative_to(ROOT).as_posix() for p in sorted(CHANNEL.glob("*/*.conda"))]
    args += [p.relative_to(ROOT).as_posix() for p in sorted(CHANNEL.glob("*/*.tar.bz2"))]
    proc = validate(*args, "--subdir-from-path")
    assert proc.returncode == 1, proc.stderr
    for artifact in args:
        state = "VALID" if "tinylib" in artifact else "INVALID"
        assert f"{artifact}: {state} (" in proc.stderr


def test_build_examples_reproduces_the_verdicts(tmp_path: Path) -> None:
    """examples/build_examples.py rebuilds a channel whose verdicts match the golden ones."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import build_examples
    finally:
        sys.path.remove(str(ROOT / "examples"))
    built = build_examples.build(tmp_path / "channel")
    assert sorted(p.name for p in built) == sorted(p.name for p in ARTIFACTS)
    proc = validate(*built, "--subdir-from-path", "--json")
    assert proc.returncode == 1
    for doc, path in zip(json.loads(proc.stdout), built, strict=True):
        golden = json.loads((EXPECTED / path.parent.name / f"{path.name}.json").read_text())
        for key in ("valid", "name", "version", "build", "subdir", "violations", "findings"):
            assert doc[key] == golden["json"][key], (path.name, key)
