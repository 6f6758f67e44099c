"""Tests of the channel scan: outputs, incremental and resumable runs, shards, merge and reports."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from artifact_validation.channel import Channel
from artifact_validation.core import Progress, UsageError
from artifact_validation.filters import Matcher, load_filters
from artifact_validation.scan import (
    NEW_INVALID_TITLE,
    FileListCache,
    NewInvalid,
    OutputPaths,
    ScanConfig,
    Shard,
    filters_fingerprint,
    load_state,
    render_new_invalid,
    run_scan,
    shard_of,
)
from tests.scan.conftest import OPENSSL
from tests.support.builders import Entry, build_package, metadata_entries, write_conda
from tests.support.channels import write_repodata
from tests.support.cli import clean_env, run_script
from tests.support.git import bare_remote, clone, git
from tests.support.paths import ROOT
from tests.support.servers import LocalServer, Reply

CERTIFI = "files: [site-packages/certifi, lib/python*/site-packages/certifi]\nallowed: [certifi]\n"
SUMMARY_KEYS = {
    "scanned", "skipped_known", "invalid", "new_invalid", "errors", "complete", "quarantined"
}  # fmt: skip


def scan(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_script("scan.py", *args, env=env)


def scan_args(channel: str | Path, out: Path, filters: Path, *extra: str | Path) -> list:
    """The usual arguments: outputs and cache under ``out``, one filter dir."""
    return [
        "--channel",
        channel,
        "--subdir",
        "linux-64",
        "--subdir",
        "noarch",
        "--filters",
        filters,
        "--output",
        out / "invalid_packages.yaml",
        "--cache-dir",
        out / "cache",
        "--json",
        *extra,
    ]


def read_yaml(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


BAD_FILES = {"include/openssl/ssl.h": b"x", "lib/libbad.so": b"y"}
GOOD_FILES = {"lib/libgood.so": b"z", "bin/good": b"#!"}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A clobbering and a clean .tar.bz2 built by conda-package-handling (name-independent)."""
    root = tmp_path_factory.mktemp("templates")
    return {
        "bad": build_package(root / "bad", "bad", BAD_FILES, fmt=".tar.bz2"),
        "good": build_package(root / "good", "good", GOOD_FILES, fmt=".tar.bz2"),
    }


def many(root: Path, templates: dict[str, Path], count: int) -> Path:
    """A linux-64 channel of ``count`` builds: every 7th clobbers, every 3rd in both formats.

    A .conda names its components after its stem, so each one is written for its own
    name; the .tar.bz2 are copies of the templates.
    """
    sub = root / "linux-64"
    sub.mkdir(parents=True)
    (root / "noarch").mkdir()
    write_repodata(root / "noarch")
    for i in range(count):
        kind = "bad" if i % 7 == 0 else "good"
        files = BAD_FILES if kind == "bad" else GOOD_FILES
        stem = f"pkg{i:04d}-1.0-0"
        if i % 3 == 0 or i % 2:
            pkg = [Entry(path, data) for path, data in files.items()]
            write_conda(sub / f"{stem}.conda", metadata_entries(f"pkg{i:04d}", paths=files), pkg)
        if i % 3 == 0 or not i % 2:
            shutil.copyfile(templates[kind], sub / f"{stem}.tar.bz2")
    write_repodata(sub)
    return root


# --------------------------------------------------------------------------------- one run


def test_scan_writes_sorted_outputs_and_summary(standard: Path, tmp_path: Path, filters: Path):
    """A first scan lists every file of each clobbering build, sorted, and prints the summary."""
    (filters / "certifi.yaml").write_text(CERTIFI)
    out = tmp_path / "out"
    proc = scan(*scan_args(standard, out, filters))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert set(summary) == SUMMARY_KEYS
    assert summary == {
        "scanned": 4,
        "skipped_known": 0,
        "invalid": 3,
        "new_invalid": 3,
        "errors": 0,
        "complete": True,
        "quarantined": 0,
    }
    assert read_yaml(out / "invalid_packages.yaml") == {
        "clob": {
            "linux-64/clob-1.0-0.conda": {"openssl": ["include/openssl/ssl.h"]},
            "linux-64/clob-1.0-0.tar.bz2": {"openssl": ["include/openssl/ssl.h"]},
        },
        "pyclob": {"noarch/pyclob-1.0-0.conda": {"certifi": ["site-packages/certifi/core.py"]}},
    }
    text = (out / "invalid_packages.yaml").read_text()
    assert text.index("clob:") < text.index("pyclob:")
    assert read_yaml(out / "scan_errors.yaml") == {}
    state = load_state(out / "scan_state")
    assert state.complete and state.channel == str(standard)
    assert "linux-64/gone-1.0-0" not in state.scanned  # removed in repodata
    assert "new invalid: linux-64/clob-1.0-0.conda (openssl)" in proc.stderr


def test_rerun_skips_known_and_filter_change_reads_nothing_again(
    standard: Path, tmp_path: Path, filters: Path
) -> None:
    """Known builds are skipped; new filters re-check cached file lists without any download."""
    out = tmp_path / "out"
    with LocalServer(standard) as server:
        first = scan(*scan_args(server.url, out, filters))
        assert first.returncode == 0, first.stderr
        sizes = {f"/{p.parent.name}/{p.name}": p.stat().st_size for p in standard.glob("*/*")}
        for path, sent in server.sent_by_path.items():
            if path.endswith(".conda"):
                assert sent <= sizes[path]
        big = server.sent_by_path["/linux-64/big-1.0-0.conda"]
        assert big < sizes["/linux-64/big-1.0-0.conda"] // 50
        artifact_requests = len([r for r in server.requests if "repodata" not in r[1]])

        again = scan(*scan_args(server.url, out, filters))
        assert json.loads(again.stdout)["skipped_known"] == 4
        assert json.loads(again.stdout)["scanned"] == 0

        (filters / "certifi.yaml").write_text(CERTIFI)
        changed = scan(*scan_args(server.url, out, filters))
        after = len([r for r in server.requests if "repodata" not in r[1]])
    doc = json.loads(changed.stdout)
    assert doc["scanned"] == 4 and doc["skipped_known"] == 0 and doc["new_invalid"] == 1
    assert after == artifact_requests, "a filter change must not download artifacts again"
    assert "pyclob" in read_yaml(out / "invalid_packages.yaml")


def test_removed_and_vanished_artifacts_leave_the_output(
    standard: Path, tmp_path: Path, filters: Path
) -> None:
    """A format marked removed drops that file; a build gone from repodata drops the build."""
    channel = tmp_path / "channel"
    shutil.copytree(standard, channel)
    out = tmp_path / "out"
    assert scan(*scan_args(channel, out, filters)).returncode == 0
    write_repodata(channel / "linux-64", removed=["clob-1.0-0.tar.bz2", "gone-1.0-0.conda"])
    assert scan(*scan_args(channel, out, filters)).returncode == 0
    assert read_yaml(out / "invalid_packages.yaml") == {
        "clob": {"linux-64/clob-1.0-0.conda": {"openssl": ["include/openssl/ssl.h"]}}
    }
    gone = ["clob-1.0-0.tar.bz2", "clob-1.0-0.conda", "gone-1.0-0.conda"]
    write_repodata(channel / "linux-64", removed=gone)
    proc = scan(*scan_args(channel, out, filters))
    assert json.loads(proc.stdout)["invalid"] == 0
    assert read_yaml(out / "invalid_packages.yaml") == {}
    assert "linux-64/clob-1.0-0" not in load_state(out / "scan_state").scanned


def test_errors_are_recorded_never_clean_and_retried(
    standard: Path, tmp_path: Path, filters: Path
) -> None:
    """Unreadable artifacts go to scan_errors.yaml (exit 3) and are read again by the next run."""
    out = tmp_path / "out"
    evil = {"packages": {"../../evil-1-0.tar.bz2": {"name": "evil"}}}
    channel = tmp_path / "channel"
    shutil.copytree(standard, channel)
    write_repodata(channel / "linux-64", removed=["gone-1.0-0.conda"], extra=evil)
    data = (channel / "linux-64" / "clob-1.0-0.conda").read_bytes()
    with LocalServer(channel) as server:
        # Four 503s exhaust the retries of the first run; the second run gets the file.
        server.route("/linux-64/clob-1.0-0.conda", *[Reply(503)] * 4, Reply(200, data))
        proc = scan(*scan_args(server.url, out, filters))
        assert proc.returncode == 3, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["errors"] == 2 and doc["complete"] is True
        errors = read_yaml(out / "scan_errors.yaml")
        assert set(errors) == {"linux-64/clob-1.0-0.conda", "linux-64/../../evil-1-0.tar.bz2"}
        assert "503" in errors["linux-64/clob-1.0-0.conda"]
        assert "clob" not in read_yaml(out / "invalid_packages.yaml")
        assert "linux-64/clob-1.0-0" not in load_state(out / "scan_state").scanned

        retry = scan(*scan_args(server.url, out, filters))
    doc = json.loads(retry.stdout)
    assert doc["scanned"] == 1 and doc["errors"] == 1 and retry.returncode == 3
    assert set(read_yaml(out / "scan_errors.yaml")) == {"linux-64/../../evil-1-0.tar.bz2"}
    assert "clob" in read_yaml(out / "invalid_packages.yaml")


def test_fail_on_new_exits_1_only_for_new_findings(standard, tmp_path, filters) -> None:
    """--fail-on-new makes new invalid artifacts exit 1; known ones exit 0."""
    out = tmp_path / "out"
    assert scan(*scan_args(standard, out, filters, "--fail-on-new")).returncode == 1
    assert scan(*scan_args(standard, out, filters, "--fail-on-new")).returncode == 0


# --------------------------------------------------------------------------------- resumability


def run_lib(channel: Path, out: Path, filters: Path, clock=time.monotonic, **config):
    """Run the library scan directly (the CLI's defaults otherwise)."""
    flts = load_filters([filters])
    return run_scan(
        Channel(channel),
        Matcher(flts),
        filters_fingerprint(flts),
        OutputPaths.in_directory(out),
        ScanConfig(subdirs=("linux-64", "noarch"), **config),
        cache=FileListCache(out / "cache"),
        clock=clock,
    )


class StepClock:
    """A clock that advances one second per reading: time limits become deterministic."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_time_limit_stops_cleanly_and_the_next_run_resumes(
    templates: dict[str, Path], tmp_path: Path, filters: Path
) -> None:
    """A time limit saves progress with complete false; resuming ends where one run ends."""
    channel = many(tmp_path / "channel", templates, 60)
    reference = run_lib(channel, tmp_path / "ref", filters, jobs=1)
    assert reference.complete and reference.scanned == 60

    out = tmp_path / "out"
    partial = run_lib(channel, out, filters, clock=StepClock(), jobs=1, time_limit=100.0)
    assert not partial.complete and 0 < partial.scanned < 60
    assert load_state(out / "scan_state").complete is False
    resumed = run_lib(channel, out, filters, jobs=1)
    assert resumed.complete and resumed.scanned == 60 - partial.scanned
    assert resumed.skipped_known == partial.scanned
    assert (out / "invalid_packages.yaml").read_text() == (
        tmp_path / "ref" / "invalid_packages.yaml"
    ).read_text()


def test_time_limit_zero_via_cli_exits_0_incomplete(standard, tmp_path, filters) -> None:
    """--time-limit 0 stops at once: exit 0, complete false, nothing scanned, state saved."""
    out = tmp_path / "out"
    proc = scan(*scan_args(standard, out, filters, "--time-limit", "0"))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["complete"] is False and doc["scanned"] == 0
    assert (out / "scan_state" / "index.json").is_file()


def test_sigkill_at_any_moment_then_rerun_equals_one_run(
    templates: dict[str, Path], tmp_path: Path, filters: Path
) -> None:
    """Killed with SIGKILL mid-run (several times) and re-run, the outputs equal one clean run."""
    channel = many(tmp_path / "channel", templates, 240)
    ref = tmp_path / "ref"
    assert scan(*scan_args(channel, ref, filters, "--jobs", "1")).returncode == 0

    out = tmp_path / "out"
    args = scan_args(channel, out, filters, "--jobs", "1", "--checkpoint-seconds", "0")
    cmd = [sys.executable, str(ROOT / "scan.py"), *map(str, args)]
    rng = random.Random(6)
    kills_mid_run = 0
    for _ in range(6):
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env()
        )
        deadline = time.monotonic() + 30
        while not (out / "scan_state" / "index.json").exists() and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not load_state(out / "scan_state").complete:
            kills_mid_run += 1
    assert kills_mid_run >= 1
    final = scan(*args)
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout)["complete"] is True
    for name in ("invalid_packages.yaml", "scan_errors.yaml"):
        assert (out / name).read_text() == (ref / name).read_text(), name
    got, want = load_state(out / "scan_state"), load_state(ref / "scan_state")
    assert (got.scanned, got.invalid, got.errors) == (want.scanned, want.invalid, want.errors)
    assert not list(out.rglob("*.tmp")), "a re-run removes what killed runs left half-written"


# --------------------------------------------------------------------------------- shards and merge


def test_shards_then_merge_equal_one_full_run(
    templates: dict[str, Path], tmp_path: Path, filters: Path
) -> None:
    """Three shards partition the builds; merged, they give exactly the full run's outputs."""
    channel = many(tmp_path / "channel", templates, 90)
    full = tmp_path / "full"
    assert scan(*scan_args(channel, full, filters)).returncode == 0
    scanned = 0
    for i in (1, 2, 3):
        proc = scan(*scan_args(channel, tmp_path / f"s{i}", filters, "--shard", f"{i}/3"))
        assert proc.returncode == 0, proc.stderr
        scanned += json.loads(proc.stdout)["scanned"]
        assert load_state(tmp_path / f"s{i}" / "scan_state").shard == Shard(i, 3)
    assert scanned == 90
    merged = tmp_path / "merged"
    proc = scan(
        "merge",
        tmp_path / "s1",
        tmp_path / "s2" / "invalid_packages.yaml",
        tmp_path / "s3",
        "--output",
        merged / "invalid_packages.yaml",
        "--new-invalid",
        tmp_path / "new.json",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["shards"] == 3 and doc["complete"] is True and doc["scanned"] == 90
    for name in ("invalid_packages.yaml", "scan_errors.yaml", "scan_state/index.json"):
        assert (merged / name).read_text() == (full / name).read_text(), name
    got = sorted(p.name for p in (merged / "scan_state").iterdir())
    assert got == sorted(p.name for p in (full / "scan_state").iterdir())
    assert len(json.loads((tmp_path / "new.json").read_text())) == doc["new_invalid"] > 0


def test_merge_refuses_missing_or_duplicate_shards(standard, tmp_path, filters) -> None:
    """A missing or repeated shard is a usage error: a partial merge would drop builds."""
    for i in (1, 2):
        assert (
            scan(*scan_args(standard, tmp_path / f"s{i}", filters, "--shard", f"{i}/3")).returncode
            == 0
        )
    missing = scan("merge", tmp_path / "s1", tmp_path / "s2", "--output", tmp_path / "m.yaml")
    assert missing.returncode == 2 and "3/3 missing" in missing.stderr
    dup = scan("merge", tmp_path / "s1", tmp_path / "s1", "--output", tmp_path / "m.yaml")
    assert dup.returncode == 2
    nothing = scan("merge", tmp_path / "nope", "--output", tmp_path / "m.yaml")
    assert nothing.returncode == 2
    assert not (tmp_path / "m.yaml").exists()


def test_merge_new_invalid_is_measured_against_the_previous_state(
    standard, tmp_path, filters
) -> None:
    """Merging again over its own output reports nothing new; a new finding is listed alone."""
    shard = tmp_path / "s1"
    assert scan(*scan_args(standard, shard, filters, "--shard", "1/1")).returncode == 0
    target = tmp_path / "data" / "invalid_packages.yaml"
    history = ("--history", tmp_path / "data" / "history.jsonl")
    first = scan(
        "merge", shard, "--output", target, "--new-invalid", tmp_path / "n1.json", *history
    )
    assert first.returncode == 0, first.stderr
    assert {e["artifact"] for e in json.loads((tmp_path / "n1.json").read_text())} == {
        "linux-64/clob-1.0-0.conda",
        "linux-64/clob-1.0-0.tar.bz2",
    }
    (filters / "certifi.yaml").write_text(CERTIFI)
    assert scan(*scan_args(standard, shard, filters, "--shard", "1/1")).returncode == 0
    second = scan(
        "merge", shard, "--output", target, "--new-invalid", tmp_path / "n2.json", *history
    )
    assert second.returncode == 0
    assert [e["artifact"] for e in json.loads((tmp_path / "n2.json").read_text())] == [
        "noarch/pyclob-1.0-0.conda"
    ]
    # each merge appended one history line: the count then, and the new artifacts
    lines = [json.loads(line) for line in history[1].read_text().splitlines()]
    assert [(p["invalid"], p["new"], p["new_artifacts"]) for p in lines] == [
        (2, 2, ["linux-64/clob-1.0-0.conda", "linux-64/clob-1.0-0.tar.bz2"]),
        (3, 1, ["noarch/pyclob-1.0-0.conda"]),
    ]


# --------------------------------------------------------------------------------- usage


@pytest.mark.parametrize(
    "extra",
    [
        ["--shard", "0/2"],
        ["--shard", "3/2"],
        ["--shard", "a/b"],
        ["--subdir", "../x"],
        ["--time-limit", "-1"],
        ["--time-limit", "nan"],
        ["--jobs", "many"],
    ],
)
def test_bad_usage_exits_2(standard, tmp_path, filters, extra) -> None:
    """A malformed shard, subdir or time limit is refused with exit 2 and no traceback."""
    proc = scan(*scan_args(standard, tmp_path / "out", filters, *extra))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_state_of_another_channel_or_malformed_is_refused(standard, tmp_path, filters) -> None:
    """A state made for another channel, or not a state at all, exits 2 and is left alone."""
    out = tmp_path / "out"
    out.mkdir()
    state = out / "scan_state.json"
    state.write_text(
        '{"format": 1, "channel": "elsewhere", "shard": null, "complete": true,'
        ' "scanned": {}, "invalid": {}, "errors": {}}'
    )
    proc = scan(*scan_args(standard, out, filters))
    assert proc.returncode == 2 and "elsewhere" in proc.stderr
    for bad in ("[]", "{", '{"format": 99}', '{"format": 1, "channel": "x", "shard": "9/2"}'):
        state.write_text(bad)
        proc = scan(*scan_args(standard, out, filters))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, bad
        assert state.read_text() == bad


def test_bad_filters_exit_2(standard, tmp_path, filters) -> None:
    """Broken filter files stop the scan before anything is read (exit 2)."""
    (filters / "broken.yaml").write_text("files: []\nallowed: []\n")
    assert scan(*scan_args(standard, tmp_path / "out", filters)).returncode == 2


# --------------------------------------------------------------------------------- report


def test_report_new_opens_then_comments_on_one_issue(fake_api, tmp_path: Path) -> None:
    """report-new opens the one issue with the run link, then comments on it next time."""
    entries = [
        {
            "name": "clob",
            "artifact": "linux-64/clob-1.0-0.conda",
            "violations": {"openssl": ["include/openssl/ssl.h"]},
        }
    ]
    new = tmp_path / "new.json"
    new.write_text(json.dumps(entries))
    env = {
        "GITHUB_API_URL": fake_api.github_url,
        "GITHUB_TOKEN": "t0ken",
        "GITHUB_REPOSITORY": "owner/repo",
        "GITHUB_RUN_ID": "42",
        "GITHUB_SERVER_URL": "https://github.example",
        "AV_RETRY_BACKOFF": "0",
    }
    assert scan("report-new", new, env=env).returncode == 0
    assert scan("report-new", new, env=env).returncode == 0
    [issue] = fake_api.github_repo("owner/repo").issues
    assert issue["title"] == NEW_INVALID_TITLE
    assert "https://github.example/owner/repo/actions/runs/42" in issue["body"]
    assert "`linux-64/clob-1.0-0.conda`" in issue["body"] and "`openssl`" in issue["body"]
    assert len(issue["comments"]) == 1

    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    before = len(fake_api.requests)
    assert scan("report-new", empty, env=env).returncode == 0
    assert len(fake_api.requests) == before
    new.write_text('[{"name": 1}]')
    assert scan("report-new", new, env=env).returncode == 2


def test_report_failure_exits_3(fake_api, tmp_path: Path) -> None:
    """GitHub failing after retries exits 3 (nothing reported is never success)."""
    new = tmp_path / "new.json"
    new.write_text('[{"name": "a", "artifact": "noarch/a-1-0.conda", "violations": {}}]')
    fake_api.fail("GET", "/github/repos/*/issues", 502, times=None)
    env = {
        "GITHUB_API_URL": fake_api.github_url,
        "GITHUB_TOKEN": "t",
        "GITHUB_REPOSITORY": "o/r",
        "AV_RETRY_BACKOFF": "0",
    }
    assert scan("report-new", new, env=env).returncode == 3


def test_rendered_issue_escapes_hostile_paths_and_caps_length() -> None:
    """Paths from artifacts cannot break the Markdown; long lists are cut with a count."""
    entries = [
        NewInvalid(
            f"p{i}",
            f"noarch/p{i}-1-0.conda",
            (("f", ("a`b\n@team", *[f"x{j}" for j in range(9)])),),
        )
        for i in range(80)
    ]
    body = render_new_invalid(entries, "https://run")
    assert "@team" not in body.replace("`a'b\\n@team`", "")
    assert "and 5 more" in body and "... and 30 more." in body
    assert len(body) < 65_536


# --------------------------------------------------------------------------------- units


def test_shard_hash_is_stable_and_partitions() -> None:
    """The shard of a stem never changes between runs or machines, and each stem has one."""
    assert shard_of("openssl-3.0.0-h7f8727e_0", 8) == shard_of("openssl-3.0.0-h7f8727e_0", 8)
    stems = [f"pkg-{i}-0" for i in range(400)]
    owners = [[i for i in range(1, 5) if Shard(i, 4).holds(s)] for s in stems]
    assert all(len(o) == 1 for o in owners)
    assert {o[0] for o in owners} == {1, 2, 3, 4}
    assert shard_of("a-1-0", 1) == 1
    with pytest.raises(UsageError):
        Shard.parse("2/1")


def test_fingerprint_sees_globs_not_order_or_layout(tmp_path: Path) -> None:
    """The fingerprint changes with any glob or owner, not with file order or other dirs."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "openssl.yaml").write_text(OPENSSL)
    (a / "certifi.yaml").write_text(CERTIFI)
    (b / "certifi.yaml").write_text("# a comment\n" + CERTIFI)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "openssl.yaml").write_text(OPENSSL)
    one = filters_fingerprint(load_filters([a]))
    two = filters_fingerprint(load_filters([b, tmp_path / "c"]))
    assert one == two and len(one) == 16
    (a / "openssl.yaml").write_text("files: [include/openssl]\nallowed: [openssl, boringssl]\n")
    assert filters_fingerprint(load_filters([a])) != one


def test_file_list_cache_round_trip_damage_and_compaction(tmp_path: Path) -> None:
    """The cache returns what was added, skips a damaged segment, and compacts to live keys."""
    cache = FileListCache(tmp_path / "cache")
    cache.add("linux-64/a-1-0", "a", ["lib/a.so"])
    cache.add("linux-64/b-1-0", "b", ["bin/b", "lib/ü.so"])
    cache.flush()
    cache.add("noarch/c-1-0", "c", [])
    cache.flush()
    cache.flush()  # nothing pending: no empty segment
    assert len(cache.segments()) == 2
    got = {k: (n, p) for k, n, p in cache.entries({"linux-64/b-1-0", "noarch/c-1-0", "x/y"})}
    assert got == {"linux-64/b-1-0": ("b", ("bin/b", "lib/ü.so")), "noarch/c-1-0": ("c", ())}
    with gzip.open(cache.segments()[0], "rb") as gz:
        assert gz.read().startswith(b'["linux-64/a-1-0","a",')
    damaged = cache.segments()[1]
    damaged.write_bytes(damaged.read_bytes()[:10])
    assert [k for k, _, _ in cache.entries({"noarch/c-1-0", "linux-64/a-1-0"})] == [
        "linux-64/a-1-0"
    ]
    assert cache.damaged == 1
    cache.compact({"linux-64/a-1-0"})
    assert len(cache.segments()) == 1
    assert [k for k, _, _ in cache.entries({"linux-64/a-1-0", "linux-64/b-1-0"})] == [
        "linux-64/a-1-0"
    ]


def test_progress_is_a_bar_on_a_tty_and_lines_in_ci() -> None:
    """On a terminal the bar is redrawn in place; elsewhere a plain line per interval."""
    import io

    ticks = iter(range(100))
    tty = io.StringIO()
    bar = Progress(tty, "scan", tty=True, interval=1, clock=lambda: next(ticks))
    bar(5, 10)
    bar(6, 10)
    bar.close(10, 10)
    assert tty.getvalue().count("\r") == 3 and "[###" in tty.getvalue()
    assert tty.getvalue().endswith("\n")
    log = io.StringIO()
    clock = iter([0, 10, 40, 41, 100])
    lines = Progress(log, "scan", tty=False, clock=lambda: next(clock))
    lines(1, 4)  # t=10: before the 30 s interval
    lines(2, 4)  # t=40: a line
    lines(3, 4)  # t=41: too soon
    lines.close(4, 4)
    assert log.getvalue().splitlines()[0].startswith("scan: 50.0% 2/4")
    assert len(log.getvalue().splitlines()) == 2 and "\r" not in log.getvalue()


# --------------------------------------------------------------------------------- workflow


def load_workflow() -> dict:
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "scan.yml").read_text())
    if True in doc:  # YAML 1.1 reads the "on" key as True
        doc["on"] = doc.pop(True)
    return doc


def test_scan_workflow_contract() -> None:
    """Every 6 hours and by hand; N shards matching SHARDS; a merge that commits and reports."""
    doc = load_workflow()
    assert doc["on"]["schedule"] == [{"cron": "17 */6 * * *"}]
    assert "workflow_dispatch" in doc["on"]
    assert doc["concurrency"] == {"group": "scan", "cancel-in-progress": False}
    scan_job, merge = doc["jobs"]["scan"], doc["jobs"]["merge"]
    shards = scan_job["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(doc["env"]["SHARDS"]) + 1))
    assert scan_job["strategy"]["fail-fast"] is False
    assert scan_job["permissions"] == {"contents": "read"}
    run = " ".join(s.get("run", "") for s in scan_job["steps"])
    assert '--shard "$SHARD/$SHARDS"' in run and "--time-limit" in run
    assert merge["needs"] == "scan" and merge["permissions"] == {
        "contents": "write",
        "issues": "write",
    }
    runs = [s.get("run", "") for s in merge["steps"]]
    assert any(r.startswith("python scan.py merge shards/scan-shard-*") for r in runs)
    state_commit, commit = [r for r in runs if "commit_back.py" in r]
    for path in ("invalid_packages.yaml", "scan_errors.yaml", "history.jsonl"):
        assert f"scan_data/{path}" in commit
    # The state lives on its own bounded branch, never in the default branch's history.
    assert "scan_data/scan_state " not in commit and "scan_data/scan_state/" not in commit
    assert "--branch" not in commit and "--token-env GITHUB_TOKEN" in commit
    for part in ("--branch scan-state", "--source-ref scan-state", "--compact-after"):
        assert part in state_commit
    assert "--paths scan_state" in state_commit
    state_step = next(s for s in merge["steps"] if "--branch scan-state" in s.get("run", ""))
    assert "default_branch" in state_step["if"]
    checkouts = [s for s in scan_job["steps"] if s.get("with", {}).get("ref") == "scan-state"]
    assert checkouts and checkouts[0]["with"]["persist-credentials"] is False
    assert runs[-2] == "python scan.py report-new new_invalid.json"
    assert runs[-1] == "python check_waivers.py"  # after the commit: an expired waiver fails
    assert doc["jobs"]["notify-failure"]["needs"] == ["scan", "merge", "status-page"]


def test_merge_job_end_to_end_commits_to_a_bare_remote(
    standard: Path, tmp_path: Path, filters: Path, fake_api
) -> None:
    """The merge job's three commands: merge shards, push scan_data/ safely, report the new."""
    remote = tmp_path / "remote.git"
    bare_remote(remote)
    work = clone(remote, tmp_path / "work")
    (work / "scan_data").mkdir()
    (work / "scan_data" / "invalid_packages.yaml").write_text("{}\n")
    git(work, "add", ".")
    git(work, "commit", "-qm", "seed")
    git(work, "push", "-q", "origin", "HEAD:main")
    for i in (1, 2):
        proc = scan(
            *scan_args(
                standard, tmp_path / "shards" / f"scan-shard-{i}", filters, "--shard", f"{i}/2"
            )
        )
        assert proc.returncode == 0, proc.stderr
    data = work / "scan_data"
    merge = scan(
        "merge",
        *sorted((tmp_path / "shards").glob("scan-shard-*")),
        "--output",
        data / "invalid_packages.yaml",
        "--new-invalid",
        tmp_path / "new.json",
    )
    assert merge.returncode == 0, merge.stderr
    state_branch = tmp_path / "state-branch"  # as the workflow: a fresh repo the first time
    subprocess.run(["git", "init", "-q", "-b", "scan-state", str(state_branch)], check=True)
    git(state_branch, "remote", "add", "origin", str(remote))
    shutil.copytree(data / "scan_state", state_branch / "scan_state")
    for _ in range(2):
        push_state = run_script(
            "commit_back.py",
            "--repo",
            state_branch,
            "--branch",
            "scan-state",
            "--source-ref",
            "scan-state",
            "--compact-after",
            "1",
            "--message",
            "state",
            "--paths",
            "scan_state",
        )
        assert push_state.returncode == 0, push_state.stderr
        (state_branch / "scan_state" / "extra").write_text("x")
    assert git(remote, "rev-list", "--count", "scan-state") == "1"  # compacted
    assert "scan_state/index.json" in git(remote, "ls-tree", "-r", "--name-only", "scan-state")
    push = run_script(
        "commit_back.py",
        "--repo",
        work,
        "--message",
        "scan",
        "--paths",
        "scan_data/invalid_packages.yaml",
        "scan_data/scan_state.json",
        "scan_data/scan_errors.yaml",
    )
    assert push.returncode == 0, push.stderr
    assert "scan_state" not in git(remote, "ls-tree", "-r", "--name-only", "main")
    shown = git(remote, "show", "main:scan_data/invalid_packages.yaml")
    assert yaml.safe_load(shown) == read_yaml(data / "invalid_packages.yaml") != {}
    env = {
        "GITHUB_API_URL": fake_api.github_url,
        "GITHUB_TOKEN": "t",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_RUN_ID": "7",
        "AV_RETRY_BACKOFF": "0",
    }
    assert scan("report-new", tmp_path / "new.json", env=env).returncode == 0
    [issue] = fake_api.github_repo("o/r").issues
    assert "linux-64/clob-1.0-0.tar.bz2" in issue["body"] and "/actions/runs/7" in issue["body"]


def test_hostile_paths_are_stored_exactly_and_never_crash(tmp_path: Path, filters: Path) -> None:
    """Lone surrogates, newlines and escapes in paths.json survive state, cache and YAML."""
    hostile = ["include/openssl/\ud800.h", "include/openssl/a\nb.h", "include/openssl/\x1b[31m"]
    doc = {"paths_version": 1, "paths": [{"_path": p, "path_type": "hardlink"} for p in hostile]}
    sub = tmp_path / "channel" / "linux-64"
    sub.mkdir(parents=True)
    (tmp_path / "channel" / "noarch").mkdir()
    write_repodata(tmp_path / "channel" / "noarch")
    write_conda(
        sub / "evil-1.0-0.conda",
        [*metadata_entries("evil"), Entry("info/paths.json", json.dumps(doc).encode())],
        [Entry("lib/x", b"x")],
    )
    write_repodata(sub)
    out = tmp_path / "out"
    proc = scan(*scan_args(tmp_path / "channel", out, filters))
    assert proc.returncode == 0, proc.stderr
    flagged = read_yaml(out / "invalid_packages.yaml")["evil"]["linux-64/evil-1.0-0.conda"]
    assert flagged == {"openssl": sorted(hostile)}
    (filters / "openssl.yaml").write_text("files: [include/openssl/a*]\nallowed: [openssl]\n")
    again = scan(*scan_args(tmp_path / "channel", out, filters))
    assert again.returncode == 0 and json.loads(again.stdout)["scanned"] == 1
    flagged = read_yaml(out / "invalid_packages.yaml")["evil"]["linux-64/evil-1.0-0.conda"]
    assert flagged == {"openssl": ["include/openssl/a\nb.h"]}


def test_report_table_cells_cannot_be_split() -> None:
    """A ``|`` in a path stays inside its table cell."""
    entry = NewInvalid("p", "noarch/p-1-0.conda", (("f", ("a|b",)),))
    row = next(
        line
        for line in render_new_invalid([entry]).splitlines()
        if "a" in line and "|" in line and "p-1-0" in line
    )
    assert "a\\|b" in row and row.count(" | ") == 3
