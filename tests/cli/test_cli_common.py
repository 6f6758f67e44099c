"""What every entry point shares: exit codes, the ``::error::`` annotation, masked tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_script

SCRIPTS = [
    ("validate.py", ["--filters", "/nonexistent", "--file-list", "x.json"]),
    ("validate_event.py", ["/nonexistent/event.json"]),
    ("scan.py", ["--channel", "/nonexistent"]),
    ("mark_broken.py", ["--filters", "/nonexistent", "--dry-run"]),
    ("update_filters.py", ["--file-lists", "/nonexistent"]),
    ("commit_back.py", ["--repo", "/nonexistent", "-m", "x", "--paths", "a"]),
    ("notify_failure.py", ["--workflow", "scan"]),
    ("status_page.py", ["--scan-data", "/nonexistent", "--out", "/nonexistent-out"]),
]


@pytest.mark.parametrize(("script", "args"), SCRIPTS, ids=[s for s, _ in SCRIPTS])
def test_failure_under_actions_is_one_error_annotation(script: str, args: list[str]) -> None:
    """A failing CLI under Actions prints its message and exactly one ``::error::`` line."""
    proc = run_script(script, *args, env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode in (2, 3), proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("::error::")]
    assert len(errors) == 1, proc.stderr
    assert "error: " in proc.stderr


def test_no_annotation_outside_actions() -> None:
    """A local run prints the message only, no workflow command."""
    proc = run_script("validate.py", "--filters", "/nonexistent", "--file-list", "x.json")
    assert proc.returncode == 2 and "::" not in proc.stderr


def test_tokens_are_masked_first_under_actions(tmp_path: Path) -> None:
    """Every configured token is masked before anything else is printed."""
    proc = run_script(
        "validate.py",
        "--file-list",
        tmp_path / "missing.json",
        env={"GITHUB_ACTIONS": "true", "GH_TOKEN": "s3cret-gh", "PROD_BINSTAR_TOKEN": "s3cret-p"},
    )
    lines = proc.stderr.splitlines()
    assert lines[:2] == ["::add-mask::s3cret-gh", "::add-mask::s3cret-p"]
