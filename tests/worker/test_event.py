"""Tests of event parsing: the payload's field rules, both event kinds, hostile event files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from artifact_validation.core import EXIT_USAGE, PayloadError
from artifact_validation.worker import dispatch_payload, load_event, parse_event, parse_payload

HOSTS = ["127.0.0.1", "conda.anaconda.org"]
URL = "https://conda.anaconda.org/cf-staging/linux-64/foo-1.0-h123_0.conda"


def payload(**changes: Any) -> dict[str, Any]:
    """A well-formed client_payload with ``changes`` applied (None removes a key)."""
    doc: dict[str, Any] = {
        "artifact_url": URL,
        "md5": "0123456789abcdef0123456789ABCDEF",
        "sha256": "ab" * 32,
        "feedstock": "foo",
        "git_sha": "1234567890abcdef1234567890abcdef12345678",
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def test_repository_dispatch_payload_is_parsed() -> None:
    """A good dispatch yields the fields, lower-cased digests, the subdir and file name."""
    event = parse_event({"action": "validate-artifact", "client_payload": payload()}, HOSTS)
    assert event.kind == "repository_dispatch"
    assert event.md5 == "0123456789abcdef0123456789abcdef"
    assert (event.subdir, event.filename) == ("linux-64", "foo-1.0-h123_0.conda")
    assert event.short_sha == "1234567" and event.warnings == ()


def test_workflow_dispatch_inputs_with_empty_sha256() -> None:
    """workflow_dispatch carries the same fields as string inputs; an empty sha256 is absent."""
    event = parse_event({"inputs": payload(sha256="")}, HOSTS)
    assert event.kind == "workflow_dispatch" and event.sha256 == ""


def test_unknown_keys_are_warnings() -> None:
    """Unknown payload keys are ignored, each with a warning."""
    event = parse_payload(payload(extra="x", other=1), HOSTS)
    assert event.warnings == (
        "client_payload: ignoring unknown key 'extra'",
        "client_payload: ignoring unknown key 'other'",
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"artifact_url": None}, "client_payload.artifact_url: missing"),
        ({"artifact_url": 5}, "client_payload.artifact_url: must be a string"),
        ({"artifact_url": "ftp://conda.anaconda.org/a/linux-64/f-1-0.conda"}, "artifact_url"),
        ({"artifact_url": "http://conda.anaconda.org/linux-64/f-1-0.conda"}, "plain http"),
        ({"artifact_url": "https://evil.example/linux-64/f-1-0.conda"}, "allow-list"),
        ({"artifact_url": "https://u:p@conda.anaconda.org/linux-64/f-1-0.conda"}, "no .@."),
        ({"artifact_url": URL + "?x=1"}, "query string"),
        ({"artifact_url": URL + "#frag"}, "fragment"),
        ({"artifact_url": "https://conda.anaconda.org/cf-staging/linux-64/f-1-0.zip"}, "file name"),
        (
            {"artifact_url": "https://conda.anaconda.org/other/linux-64/f-1-0.conda"},
            "staging owner",
        ),
        (
            {"artifact_url": "https://conda.anaconda.org/cf-staging/a/b/linux-64/f-1-0.conda"},
            "path must be",
        ),
        ({"artifact_url": "https://conda.anaconda.org/cf/Linux 64/f-1-0.conda"}, "artifact_url"),
        ({"artifact_url": "https://conda.anaconda.org/cf-staging/foo/f-1-0.conda"}, "conda subdir"),
        ({"artifact_url": "https://conda.anaconda.org/f-1-0.conda"}, "path must be"),
        ({"artifact_url": "https://conda.anaconda.org:99999/x/linux-64/f.conda"}, "valid URL"),
        ({"artifact_url": URL + "/" + "a" * 3000}, "longer than"),
        ({"artifact_url": URL.replace("cf-staging", "@org/team")}, "no '@'"),
        ({"artifact_url": URL.replace("cf-staging", "`x`")}, "URL characters"),
        ({"md5": None, "sha256": None}, "give md5 and/or sha256"),
        ({"hash_type": "sha1"}, "hash_type: must be md5 or sha256"),
        ({"md5": "a" * 64, "sha256": None}, "client_payload.md5: must be 32 hexadecimal"),
        ({"subdir": "noarch"}, "client_payload.subdir"),
        ({"package": "bar-1.0-0.conda"}, "client_payload.package"),
        ({"url": URL + "x"}, "client_payload.url: differs"),
        ({"label": "rc"}, "client_payload.label"),
        ({"comment_on_error": "maybe"}, "comment_on_error: must be true or false"),
        ({"md5": "abc"}, "client_payload.md5: must be 32 hexadecimal"),
        ({"md5": "g" * 32}, "client_payload.md5"),
        ({"md5": ["a" * 32]}, "client_payload.md5: must be a string"),
        ({"sha256": "a" * 63}, "client_payload.sha256: must be 64 hexadecimal"),
        ({"sha256": 7}, "client_payload.sha256: must be a string"),
        ({"feedstock": None}, "client_payload.feedstock: missing"),
        ({"feedstock": "Foo"}, "client_payload.feedstock: must match"),
        ({"feedstock": "-foo"}, "client_payload.feedstock: must match"),
        ({"feedstock": "foo/bar"}, "client_payload.feedstock: must match"),
        ({"feedstock": "a" * 101}, "client_payload.feedstock"),
        ({"feedstock": ""}, "client_payload.feedstock: must not be empty"),
        ({"git_sha": "abc1234"}, "client_payload.git_sha: must be a full 40-hex"),
        ({"git_sha": " " + "a" * 40}, "client_payload.git_sha: must not contain white space"),
        ({"git_sha": "a" * 39 + "\n"}, "client_payload.git_sha"),
    ],
)
def test_malformed_fields_are_refused_by_name(changes: dict[str, Any], message: str) -> None:
    """Every malformed or missing field is a PayloadError (exit 2) naming the field."""
    with pytest.raises(PayloadError, match=message.replace("?", r"\?")) as info:
        parse_payload(payload(**changes), HOSTS)
    assert info.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a JSON object"),
        ({"action": "other", "client_payload": payload()}, "must be one of validate"),
        ({"client_payload": payload()}, "must be one of validate"),
        ({"action": "validate-artifact", "client_payload": "x"}, "client_payload: must be an"),
        ({"inputs": None}, "inputs: must be an object"),
        ({"pull_request": {}}, "neither 'client_payload'"),
    ],
)
def test_malformed_events_are_refused(document: Any, message: str) -> None:
    """An event of the wrong type or shape is a PayloadError."""
    with pytest.raises(PayloadError, match=message):
        parse_event(document, HOSTS)


def test_loopback_http_is_allowed_only_when_listed() -> None:
    """Plain http passes on a listed loopback host, and an unlisted loopback is refused."""
    url = "http://127.0.0.1:8080/cf-staging/noarch/foo-1.0-0.tar.bz2"
    assert parse_payload(payload(artifact_url=url), HOSTS).subdir == "noarch"
    with pytest.raises(PayloadError, match="allow-list"):
        parse_payload(payload(artifact_url=url), ["conda.anaconda.org"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b" " * 1_000_001, "larger than"),
    ],
)
def test_hostile_event_files(tmp_path: Path, content: bytes, message: str) -> None:
    """Unreadable, oversized or deeply nested event files are refused with the file's name."""
    path = tmp_path / "event.json"
    path.write_bytes(content)
    with pytest.raises(PayloadError, match=message) as info:
        load_event(path, HOSTS)
    assert str(path) in str(info.value)


def test_missing_event_file(tmp_path: Path) -> None:
    """A missing event file is a PayloadError naming it."""
    with pytest.raises(PayloadError, match="cannot read the event file"):
        load_event(tmp_path / "nope.json", HOSTS)


def test_event_file_round_trip(tmp_path: Path) -> None:
    """An event file as Actions writes it is loaded and checked."""
    path = tmp_path / "event.json"
    doc = {"action": "validate-artifact", "client_payload": payload(), "repository": {}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert load_event(path, HOSTS).feedstock == "foo"


SENDER_2021 = {
    "artifact_url": "https://conda.anaconda.org/cf-staging/label/rc/linux-64/numpy-1.26.4-py311h0_0.conda",
    "md5": "0123456789abcdef0123456789abcdef",
    "subdir": "linux-64",
    "package": "numpy-1.26.4-py311h0_0.conda",
    "url": "https://conda.anaconda.org/cf-staging/label/rc/linux-64/numpy-1.26.4-py311h0_0.conda",
    "feedstock": "numpy-feedstock",
    "label": "rc",
    "git_sha": None,
    "comment_on_error": False,
}


def test_the_2021_sender_payload_is_accepted() -> None:
    """The copy service's real payload: type validate, -feedstock, null git_sha, label rc."""
    event = parse_event({"action": "validate", "client_payload": SENDER_2021}, HOSTS)
    assert (event.feedstock, event.label, event.git_sha) == ("numpy", "rc", "")
    assert event.comment_on_error is False and event.md5 == SENDER_2021["md5"]
    assert event.warnings == ()


def test_todays_sha256_with_hash_type() -> None:
    """CI hashes with sha256 and says so; an old key may carry it: both are understood."""
    doc = {k: v for k, v in SENDER_2021.items() if k != "md5"}
    event = parse_payload({**doc, "hash": "ab" * 32, "hash_type": "sha256"}, HOSTS)
    assert (event.md5, event.sha256) == ("", "ab" * 32)
    event = parse_payload({**doc, "md5": "cd" * 32, "hash_type": "sha256"}, HOSTS)
    assert (event.md5, event.sha256) == ("", "cd" * 32)


def test_label_in_the_url_only() -> None:
    """The label comes from the URL when the payload has none; main without /label/."""
    doc = {k: v for k, v in SENDER_2021.items() if k != "label"}
    assert parse_payload(doc, HOSTS).label == "rc"
    assert parse_payload(payload(), HOSTS).label == "main"


def test_the_dispatch_payload_stays_within_ten_keys() -> None:
    """What reconcile sends again is at most 10 top-level keys and parses back the same."""
    event = parse_payload({**SENDER_2021, "sha256": "ef" * 32}, HOSTS)
    again = dispatch_payload(event)
    assert len(again) <= 10
    assert parse_payload(again, HOSTS) == event
