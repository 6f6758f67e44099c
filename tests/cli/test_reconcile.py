"""End to end: reconcile finds staged artifacts no run took care of and has each processed once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.support.cli import run_script
from tests.support.world import CLEAN, World, dispatch

REPO = "conda-forge/artifact-validation"


def reconcile(world: World, *args: str):
    env = {
        "GITHUB_API_URL": world.api.github_url,
        "GITHUB_TOKEN": "gh-token",
        "GITHUB_REPOSITORY": REPO,
        "ANACONDA_API_URL": world.api.anaconda_url,
        "FEEDSTOCK_OUTPUTS_URL": world.api.registry_url,
        "AV_RETRY_BACKOFF": "0.01",
    }
    return run_script("reconcile.py", "--download-url", world.channel.url, "--json", *args, env=env)


def age(world: World, name: str, minutes: int) -> None:
    """Make the staged ``name`` look uploaded ``minutes`` ago."""
    when = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()
    for key, dist in world.api.dists.items():
        if key[0] == "cf-staging" and key[1] == name:
            dist["upload_time"] = when


def dispatched(world: World) -> list[dict]:
    return [r.json() for r in world.api.requests_to("github", "POST", f"*/{REPO}/dispatches")]


def test_reconcile_finds_the_unprocessed_artifact_and_it_is_processed_once(world: World) -> None:
    """An old staged file without outcome is dispatched once; processing it publishes it."""
    world.artifact(CLEAN)
    world.artifact(CLEAN, name="fresh")
    world.api.register_output("fresh", ["foo"])
    age(world, "foo", 20)
    age(world, "fresh", 2)
    first = reconcile(world)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["dispatched"] == ["cf-staging/main/linux-64/foo-1.0-0.conda"]
    [sent] = dispatched(world)
    assert sent["event_type"] == "validate" and len(sent["client_payload"]) <= 10
    assert reconcile(world).returncode == 0
    assert len(dispatched(world)) == 1  # announced recently: not again while its run goes

    run = world.run(
        {"action": sent["event_type"], "client_payload": sent["client_payload"]}, "--copy"
    )
    assert run.rc == 0, run.proc.stderr
    assert ("conda-forge", "foo", "1.0", "linux-64/foo-1.0-0.conda") in world.api.dists
    assert reconcile(world).returncode == 0
    assert len(dispatched(world)) == 1  # published: it has an outcome now


def test_an_artifact_with_an_outcome_is_left_alone(world: World) -> None:
    """Processed by its own dispatch (an outcome is recorded): reconcile sends nothing."""
    payload = world.artifact(CLEAN)
    assert world.run(dispatch(payload)).rc == 0
    age(world, "foo", 30)
    proc = reconcile(world)
    assert proc.returncode == 0 and json.loads(proc.stdout)["dispatched"] == []


def test_unknown_feedstock_is_reported_not_guessed(world: World) -> None:
    """A name the registry does not know: skipped with the reason, nothing dispatched."""
    world.artifact(CLEAN, name="orphan")
    age(world, "orphan", 30)
    proc = reconcile(world, "--label", "main", "--subdir", "linux-64")
    doc = json.loads(proc.stdout)
    assert doc["dispatched"] == [] and "feedstock is not known" in next(
        iter(doc["skipped"].values())
    )
    assert dispatched(world) == []


def test_dry_run_sends_and_records_nothing(world: World) -> None:
    """--dry-run lists what it would dispatch and writes nothing anywhere."""
    world.artifact(CLEAN)
    age(world, "foo", 30)
    proc = reconcile(world, "--dry-run")
    assert json.loads(proc.stdout)["dispatched"] == ["cf-staging/main/linux-64/foo-1.0-0.conda"]
    assert (
        world.api.requests_to("github", "POST") == []
        and world.api.requests_to("github", "PUT") == []
    )
