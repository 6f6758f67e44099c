"""End to end: ``validate_event.py`` run as the workflow runs it, against real local servers.

Each test builds a real package with conda-package-handling, serves it from
127.0.0.1 (``tests/servers.py``), points the environment at the fake GitHub,
anaconda.org and registry (``tests/fake_api.py``), and runs the entry point
as a subprocess with an event file (issue 5 §4).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.servers import Reply
from tests.support.world import (
    CLEAN,
    CLOBBERING,
    FEEDSTOCK_REPO,
    GIT_SHA,
    TITLE,
    World,
    dispatch,
)


def published(world: World, name: str = "foo", label: str = "main") -> dict[str, Any] | None:
    return world.api.dists.get(("conda-forge", name, "1.0", f"linux-64/{name}-1.0-0.conda"))


def test_clean_owned_artifact_is_published_through_post_staging(world: World) -> None:
    """Clean and owned: staging -> post-staging -> production, each read back, then cleaned."""
    payload = world.artifact(CLEAN)
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 0, run.proc.stderr
    api = world.api
    copies = api.requests_to("anaconda", "POST")
    assert [(r.path.split("/")[4], r.json()["to_owner"]) for r in copies] == [
        ("cf-staging", "cf-post-staging"),
        ("cf-post-staging", "conda-forge"),
    ]
    assert all(r.json()["from_channel"] == r.json()["to_channel"] == "main" for r in copies)
    assert [r.headers["authorization"] for r in copies] == ["token post", "token prod"]
    deletes = [r.path.split("/")[3] for r in api.requests_to("anaconda", "DELETE")]
    assert deletes == ["cf-post-staging", "cf-staging"]
    assert published(world)["md5"] == payload["md5"]  # type: ignore[index]
    assert api.requests_to("github", "POST", "*/issues") == []
    assert run.outputs["valid"] == "true" and run.outputs["status"] == "published"
    assert run.report is not None and run.report["publication"]["published"] is True
    assert ":white_check_mark:" in run.summary


def test_no_github_call_before_publication(world: World) -> None:
    """A valid artifact is published before GitHub is asked anything: an outage cannot block it."""
    world.run(dispatch(world.artifact(CLEAN)), "--copy")
    first_github = next(i for i, r in enumerate(world.api.requests) if r.service == "github")
    last_copy = max(
        i
        for i, r in enumerate(world.api.requests)
        if r.service == "anaconda" and r.method == "POST"
    )
    assert last_copy < first_github


def test_the_2021_sender_payload_end_to_end(world: World) -> None:
    """Event validate, numpy-style -feedstock, null git_sha, label rc, comment_on_error false."""
    payload = world.artifact(CLEAN, label="rc")
    event = {
        "action": "validate",
        "client_payload": {
            "artifact_url": payload["artifact_url"],
            "md5": payload["md5"],
            "subdir": "linux-64",
            "package": "foo-1.0-0.conda",
            "url": payload["artifact_url"],
            "feedstock": "foo-feedstock",
            "label": "rc",
            "git_sha": None,
            "comment_on_error": False,
        },
    }
    run = world.run(event, "--copy")
    assert run.rc == 0, run.proc.stderr
    assert published(world)["labels"] == ["rc"]  # type: ignore[index]
    copies = world.api.requests_to("anaconda", "POST")
    assert {(r.json()["from_channel"], r.json()["to_channel"]) for r in copies} == {("rc", "rc")}


def test_todays_ci_payload_with_sha256(world: World) -> None:
    """Today's CI: a sha256 with hash_type, no md5: checked at download and in production."""
    payload = world.artifact(CLEAN)
    doc = {k: v for k, v in payload.items() if k not in ("md5", "sha256")}
    run = world.run(dispatch({**doc, "hash": payload["sha256"], "hash_type": "sha256"}), "--copy")
    assert run.rc == 0, run.proc.stderr
    assert published(world)["sha256"] == payload["sha256"]  # type: ignore[index]


def test_comment_on_error_false_opens_no_issue(world: World) -> None:
    """CI's retries say comment_on_error false: same verdict and exit code, no issue."""
    run = world.run(dispatch({**world.artifact(CLOBBERING), "comment_on_error": False}))
    assert run.rc == 1 and "AV201" in run.proc.stderr
    assert world.api.github_repo(FEEDSTOCK_REPO).issues == []


def test_staging_swapped_after_validation_never_reaches_production(world: World) -> None:
    """Another upload replaced the staging file after the download: AV703, nothing copied."""
    payload = world.artifact(CLEAN)
    key = ("cf-staging", "foo", "1.0", "linux-64/foo-1.0-0.conda")
    run_validate = world.run(dispatch(payload), "--copy", "--steps", "validate")
    assert run_validate.rc == 0, run_validate.proc.stderr
    world.api.dists[key].update(md5="e" * 32, sha256="e" * 64)  # another CI job's upload
    run = world.run(dispatch(payload), "--copy", "--steps", "publish,report,record", keep=True)
    assert run.rc == 1, run.proc.stderr
    assert "AV703" in run.proc.stderr
    assert world.api.requests_to("anaconda", "POST") == []
    assert published(world) is None
    assert "AV703" in world.api.github_repo(FEEDSTOCK_REPO).issues[0]["body"]


def test_bad_copy_to_production_is_removed_and_reported(world: World) -> None:
    """Production ends up with other bytes: removed again, 'not published', a core issue."""
    payload = world.artifact(CLEAN)

    def tamper(to_owner: str, key: tuple) -> None:
        if to_owner == "conda-forge":
            world.api.dists[("conda-forge", *key[1:])]["sha256"] = "d" * 64

    world.api.on_copy = tamper
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 1, run.proc.stderr
    assert published(world) is None
    assert "they were removed" in run.proc.stderr and "removed the wrong file" in run.summary
    assert run.report is not None and run.report["publication"]["bad_copy"] is True
    core = world.api.github_repo("conda-forge/core-notes").issues
    assert len(core) == 1 and "bad copy" in core[0]["title"] and "AV702" in core[0]["body"]
    assert ("cf-staging", "foo", "1.0", "linux-64/foo-1.0-0.conda") in world.api.dists


def test_mismatch_on_post_staging_is_removed_there(world: World) -> None:
    """Post-staging holding other bytes after the copy: removed there, AV702, no production."""
    payload = world.artifact(CLEAN)

    def tamper(to_owner: str, key: tuple) -> None:
        if to_owner == "cf-post-staging":
            world.api.dists[("cf-post-staging", *key[1:])]["md5"] = "c" * 32

    world.api.on_copy = tamper
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 1 and "AV702" in run.proc.stderr
    assert published(world) is None
    assert ("cf-post-staging", "foo", "1.0", "linux-64/foo-1.0-0.conda") not in world.api.dists


def test_rerunning_a_published_artifact_copies_nothing(world: World) -> None:
    """Idempotent: the same bytes already in production are a success with no copy."""
    event = dispatch(world.artifact(CLEAN))
    assert world.run(event, "--copy").rc == 0
    before = len(world.api.requests_to("anaconda", "POST"))
    again = world.run(event, "--copy")
    assert again.rc == 0, again.proc.stderr
    assert len(world.api.requests_to("anaconda", "POST")) == before
    assert again.report is not None and again.report["publication"]["already"] is True


def test_other_bytes_already_in_production_are_av702_and_left_alone(world: World) -> None:
    """Production holding another file under this name: AV702, nothing copied or deleted."""
    payload = world.artifact(CLEAN)
    world.api.add_dist("conda-forge", "foo", "1.0", "linux-64/foo-1.0-0.conda", md5="f" * 32)
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 1 and "AV702" in run.proc.stderr
    assert world.api.requests_to("anaconda", "POST") == []
    assert world.api.requests_to("anaconda", "DELETE") == []


def test_stale_cdn_bytes_are_downloaded_again(world: World) -> None:
    """The first download has the old bytes, the second the announced ones: valid."""
    payload = world.artifact(CLEAN)
    path = payload["artifact_url"].removeprefix(world.channel.url)
    good = (world.tmp / "channel" / path.lstrip("/")).read_bytes()
    world.channel.route(path, Reply(200, b"stale bytes"), Reply(200, good))
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 0, run.proc.stderr
    assert len([r for r in world.channel.requests if r[1] == path]) == 2


def test_a_lasting_mismatch_is_av101_after_the_retries(world: World) -> None:
    """Bytes that never match the announced md5: AV101 once the downloads are exhausted."""
    payload = {**world.artifact(CLEAN), "md5": "0" * 32, "sha256": ""}
    run = world.run(dispatch({k: v for k, v in payload.items() if v}), "--copy")
    assert run.rc == 1
    assert run.report is not None and "AV101" in [f["code"] for f in run.report["findings"]]
    assert world.api.requests_to("anaconda", "POST") == []


def test_clobbering_opens_one_issue_then_comments(world: World) -> None:
    """Clobbering: exit 1, no copy, one issue mentioning the team; the same event comments."""
    event = dispatch(world.artifact(CLOBBERING))
    first = world.run(event, "--copy")
    assert first.rc == 1, first.proc.stderr
    assert world.api.requests_to("anaconda", "POST") == []
    issues = world.api.github_repo(FEEDSTOCK_REPO).issues
    assert [i["title"] for i in issues] == [TITLE]
    body = issues[0]["body"]
    assert "@conda-forge/foo" in body and "AV201" in body and "include/openssl/ssl.h" in body
    assert "https://github.com/conda-forge/artifact-validation/actions/runs/4242" in body
    second = world.run(event, "--copy")
    assert second.rc == 1
    issues = world.api.github_repo(FEEDSTOCK_REPO).issues
    assert len(issues) == 1 and len(issues[0]["comments"]) == 1


def test_a_closed_issue_is_reopened(world: World) -> None:
    """Our closed issue for the commit is reopened and commented, not duplicated."""
    number = world.api.add_issue(FEEDSTOCK_REPO, TITLE, "old", state="closed")
    run = world.run(dispatch(world.artifact(CLOBBERING)))
    assert run.rc == 1
    [issue] = world.api.github_repo(FEEDSTOCK_REPO).issues
    assert issue["number"] == number and issue["state"] == "open" and len(issue["comments"]) == 1


def test_a_look_alike_issue_by_someone_else_is_ignored(world: World) -> None:
    """An issue with our title opened by another account never receives our reports."""
    world.api.add_issue(FEEDSTOCK_REPO, TITLE, "bait", author="mallory")
    run = world.run(dispatch(world.artifact(CLOBBERING)))
    assert run.rc == 1
    issues = world.api.github_repo(FEEDSTOCK_REPO).issues
    assert len(issues) == 2 and issues[0]["comments"] == []
    assert issues[1]["user"]["login"] == "github-actions[bot]"


def test_two_failures_of_one_commit_at_once_make_one_issue(world: World) -> None:
    """Two artifacts of one commit fail at the same moment: one open issue holds both."""
    first = dispatch(world.artifact(CLOBBERING))
    second = dispatch(world.artifact(CLOBBERING, name="bar"))
    world.api.register_output("bar", ["foo"])
    with ThreadPoolExecutor(2) as pool:
        runs = list(
            pool.map(lambda e: world.run(e[1], workdir=e[0]), [("a", first), ("b", second)])
        )
    assert [r.rc for r in runs] == [1, 1]
    issues = world.api.github_repo(FEEDSTOCK_REPO).issues
    opened = [i for i in issues if i["state"] == "open"]
    assert len(opened) == 1
    texts = opened[0]["body"] + "".join(c["body"] for c in opened[0]["comments"])
    assert "foo-1.0-0.conda" in texts and "bar-1.0-0.conda" in texts


def test_rerun_that_publishes_notes_it_on_the_earlier_issue(world: World) -> None:
    """Our open warning issue for the commit gets a note when a re-run publishes."""
    world.api.add_issue(FEEDSTOCK_REPO, TITLE, "old failure")
    run = world.run(dispatch(world.artifact(CLEAN)), "--copy")
    assert run.rc == 0, run.proc.stderr
    comments = world.api.github_repo(FEEDSTOCK_REPO).issues[0]["comments"]
    assert len(comments) == 1 and "published" in comments[0]["body"]


def test_unregistered_output_is_av701(world: World) -> None:
    """Not owned and no glob grants it: exit 1, AV701, no copy, an issue saying so."""
    run = world.run(dispatch(world.artifact(CLEAN, name="bar")), "--copy")
    assert run.rc == 1, run.proc.stderr
    assert world.api.requests_to("anaconda", "POST") == []
    assert run.report is not None and [f["code"] for f in run.report["findings"]] == ["AV701"]
    assert "AV701" in world.api.github_repo(FEEDSTOCK_REPO).issues[0]["body"]


def test_allow_listed_name_is_registered_before_publication(world: World) -> None:
    """foo may publish foo-* by the allow-list: the name is registered, then published."""
    world.api.allow_globs("foo", ["foo-*"])
    world.api.add_repo("conda-forge/feedstock-outputs")
    world.api.github_logins["outputs-token"] = "cf-outputs-bot"
    payload = world.artifact(CLEAN, name="foo-extra")
    env = {**world.env(), "FEEDSTOCK_OUTPUTS_TOKEN": "outputs-token"}
    run = world.run(dispatch(payload), "--copy", env=env)
    assert run.rc == 0, run.proc.stderr
    files = world.api.github_repo("conda-forge/feedstock-outputs").files
    assert json.loads(files[("main", "outputs/f/o/o/foo-extra.json")]) == {"feedstocks": ["foo"]}
    put = world.api.requests_to("github", "PUT", "*/feedstock-outputs/contents/*")[0]
    assert put.headers["authorization"] == "token outputs-token"
    assert published(world, "foo-extra") is not None


def test_failed_registration_publishes_nothing(world: World) -> None:
    """The registry commit failing: exit 3 and nothing reaches production."""
    world.api.allow_globs("foo", ["foo-*"])
    world.api.fail("PUT", "/github/repos/conda-forge/feedstock-outputs/*", 403, times=None)
    env = {**world.env(), "FEEDSTOCK_OUTPUTS_TOKEN": "outputs-token"}
    run = world.run(dispatch(world.artifact(CLEAN, name="foo-extra")), "--copy", env=env)
    assert run.rc == 3
    assert world.api.requests_to("anaconda", "POST") == []


def test_steps_run_one_per_job_with_their_own_secrets(world: World) -> None:
    """validate without secrets, publish with anaconda.org tokens, report with the issue token."""
    event = dispatch(world.artifact(CLOBBERING))
    env = world.env()
    no_secrets = {k: v for k, v in env.items() if "TOKEN" not in k}
    validated = world.run(event, "--copy", "--steps", "validate", env=no_secrets)
    assert validated.rc == 1 and world.api.requests_to("github") == []
    anaconda = {k: v for k, v in env.items() if "BINSTAR" in k or "TOKEN" not in k}
    world.run(event, "--copy", "--steps", "publish", env=anaconda, keep=True)
    assert world.api.requests_to("anaconda", "POST") == []
    reported = world.run(event, "--copy", "--steps", "report", keep=True)
    assert reported.rc == 0, reported.proc.stderr
    assert "AV201" in world.api.github_repo(FEEDSTOCK_REPO).issues[0]["body"]


def test_every_outcome_is_recorded_in_the_ledger(world: World) -> None:
    """Each run appends its outcome to outcomes/<day>.jsonl on the outcomes branch."""
    world.run(dispatch(world.artifact(CLEAN)), "--copy")
    world.run(dispatch(world.artifact(CLOBBERING, name="bar")))
    repo = world.api.github_repo("conda-forge/artifact-validation")
    [(branch, path)] = [k for k in repo.files if k[1].startswith("outcomes/")]
    records = [json.loads(line) for line in repo.files[(branch, path)].decode().splitlines()]
    assert branch == "outcomes"
    assert [(r["artifact"], r["status"]) for r in records] == [
        ("cf-staging/main/linux-64/foo-1.0-0.conda", "published"),
        ("cf-staging/main/linux-64/bar-1.0-0.conda", "invalid"),
    ]
    assert records[1]["reason"].startswith("AV") and records[0]["run"].endswith("/4242")


VALID_FIELDS = {
    "artifact_url": "https://conda.anaconda.org/cf-staging/linux-64/foo-1.0-0.conda",
    "md5": "a" * 32,
    "feedstock": "foo",
    "git_sha": GIT_SHA,
}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"artifact_url": None}, "artifact_url"),
        (
            {"artifact_url": "https://evil.example/cf-staging/linux-64/foo-1.0-0.conda"},
            "artifact_url",
        ),
        (
            {"artifact_url": "https://conda.anaconda.org/other/linux-64/foo-1.0-0.conda"},
            "artifact_url",
        ),
        ({"artifact_url": ["x"]}, "artifact_url"),
        ({"md5": None}, "give md5"),
        ({"md5": "z" * 32}, "md5"),
        ({"sha256": "abc"}, "sha256"),
        ({"feedstock": None}, "feedstock"),
        ({"feedstock": "Foo/../bar"}, "feedstock"),
        ({"git_sha": "0123456"}, "git_sha"),
        ({"subdir": "osx-64"}, "subdir"),
        ({"label": "rc"}, "label"),
    ],
)
def test_malformed_payload_exits_2_without_requests(
    world: World, changes: dict[str, Any], field: str
) -> None:
    """Each malformed or missing field: exit 2, a message naming it, zero requests."""
    payload = {k: v for k, v in {**VALID_FIELDS, **changes}.items() if v is not None}
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 2, run.proc.stderr
    assert field in run.proc.stderr
    assert "Traceback" not in run.proc.stderr
    assert world.api.requests == [] and world.channel.requests == []
    assert run.outputs == {}


@pytest.mark.parametrize(
    "event",
    [
        "not json",
        json.dumps({"action": "other-type", "client_payload": VALID_FIELDS}),
        json.dumps({"action": "validate", "client_payload": "x"}),
        json.dumps([1, 2]),
    ],
)
def test_malformed_event_exits_2_without_requests(world: World, event: str) -> None:
    """A broken event file or a dispatch of another type: exit 2, zero requests."""
    run = world.run(event)
    assert run.rc == 2 and "Traceback" not in run.proc.stderr
    assert world.api.requests == [] and world.channel.requests == []


@pytest.mark.parametrize(
    "drop",
    ["GITHUB_TOKEN", "PROD_BINSTAR_TOKEN", "POST_STAGING_BINSTAR_TOKEN", "STAGING_BINSTAR_TOKEN"],
)
def test_missing_secret_exits_2_without_requests(world: World, drop: str) -> None:
    """A missing token is bad usage: exit 2 naming the variable, before any request."""
    env = world.env()
    del env[drop]
    run = world.run(dispatch(VALID_FIELDS), "--copy", env=env)
    assert run.rc == 2 and drop in run.proc.stderr
    assert world.api.requests == []


def test_github_502_twice_then_201_is_retried(world: World) -> None:
    """GitHub answering 502 twice then 201: the issue is opened once and the run exits 1."""
    world.api.fail("POST", "/github/repos/*/issues", 502, times=2)
    run = world.run(dispatch(world.artifact(CLOBBERING)))
    assert run.rc == 1, run.proc.stderr
    assert len(world.api.requests_to("github", "POST", "*/issues")) == 3
    assert len(world.api.github_repo(FEEDSTOCK_REPO).issues) == 1


def test_github_outage_does_not_block_publication(world: World) -> None:
    """GitHub always 502: the valid artifact is published; the run says what failed (exit 3)."""
    world.api.fail("*", "/github/*", 502, times=None)
    run = world.run(dispatch(world.artifact(CLEAN)), "--copy")
    assert published(world) is not None
    assert run.rc == 3 and "HTTP 502" in run.proc.stderr


def test_github_always_502_on_invalid_artifact_exits_3(world: World) -> None:
    """GitHub always 502 while reporting a clobbering artifact: exit 3 (it was not reported)."""
    world.api.fail("*", "/github/*", 502, times=None)
    run = world.run(dispatch(world.artifact(CLOBBERING)), "--copy")
    assert run.rc == 3
    assert world.api.requests_to("anaconda") == []
    assert run.report is not None and [f["code"] for f in run.report["findings"]] == ["AV201"]


def test_failed_copy_is_reported_and_exits_3(world: World) -> None:
    """A copy failing after retries exits 3 and is reported on the feedstock like a failure."""
    world.api.fail("POST", "/anaconda/copy/*", 500, times=None)
    run = world.run(dispatch(world.artifact(CLEAN)), "--copy")
    assert run.rc == 3
    assert published(world) is None
    assert "HTTP 500" in world.api.github_repo(FEEDSTOCK_REPO).issues[0]["body"]


def test_unreachable_registry_exits_3(world: World) -> None:
    """An ownership registry that keeps failing is exit 3 and nothing is copied."""
    world.api.fail("GET", "/registry/*", 503, times=None)
    run = world.run(dispatch(world.artifact(CLEAN)), "--copy")
    assert run.rc == 3
    assert world.api.requests_to("anaconda", "POST") == []


def test_missing_artifact_is_exit_3_and_reported(world: World) -> None:
    """An artifact URL answering 404 could not be validated: exit 3 and an issue says so."""
    payload = {
        **world.artifact(CLEAN),
        "artifact_url": f"{world.channel.url}/cf-staging/linux-64/foo-1.0-0.tar.bz2",
    }
    run = world.run(dispatch(payload), "--copy")
    assert run.rc == 3
    assert world.api.requests_to("anaconda", "POST") == []
    assert "could not" in world.api.github_repo(FEEDSTOCK_REPO).issues[0]["body"]


def test_tokens_never_reach_reports_issues_or_logs(world: World) -> None:
    """anaconda.org echoing the production token in an error: *** everywhere we write."""
    env = {**world.env(), "PROD_BINSTAR_TOKEN": "prod-s3cret-token"}
    world.api.anaconda_tokens["conda-forge"] = "prod-s3cret-token"
    world.api.fail(
        "POST", "/anaconda/copy/*", 500, times=None,
        body={"error": "token prod-s3cret-token is not allowed"},
    )  # fmt: skip
    run = world.run(dispatch(world.artifact(CLEAN)), "--copy", env=env)
    assert run.rc == 3
    issue = world.api.github_repo(FEEDSTOCK_REPO).issues[0]
    texts = [run.proc.stdout, run.proc.stderr, run.summary, json.dumps(run.report), issue["body"]]
    assert all("prod-s3cret-token" not in text for text in texts)
    assert "***" in issue["body"]


def test_a_waived_clobber_is_published_and_says_so(world: World) -> None:
    """A clobber an active waiver covers is published like a clean artifact; the report says so."""
    import datetime as dt  # noqa: PLC0415

    waivers = world.tmp / "waivers"
    waivers.mkdir()
    expires = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()
    (waivers / "foo.yaml").write_text(
        "package: foo\nfilter: openssl\npaths: [include/openssl/**]\n"
        "reason: vendored until 2.0\nissue: https://github.com/conda-forge/foo-feedstock/issues/1\n"
        f"expires: {expires}\n"
    )
    run = world.run(dispatch(world.artifact(CLOBBERING)), "--copy", "--waivers", str(waivers))
    assert run.rc == 0, run.proc.stderr
    assert published(world) is not None
    assert run.report is not None and run.report["verdict"]["waived"]
    assert world.api.requests_to("github", "POST", "*/issues") == []
    unwaived = world.run(dispatch(world.artifact(CLOBBERING)), "--copy")
    assert unwaived.rc == 1  # the default waivers/ has none for it
