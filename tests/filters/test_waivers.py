"""Tests of waiver loading (strict, "today" injected), matching, and the CI check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from artifact_validation.core import UsageError, WaiverError
from artifact_validation.filters import (
    MAX_WAIVER_DAYS,
    Violation,
    Waivers,
    check_waivers,
    expired_message,
    load_waivers,
    parse_waiver,
)

TODAY = dt.date(2026, 6, 1)
GOOD = {
    "package": "libfoo*",
    "filter": "openssl",
    "paths": ["include/openssl/**"],
    "reason": "libfoo vendors OpenSSL headers until upstream 2.0 drops them",
    "issue": "https://github.com/conda-forge/libfoo-feedstock/issues/12",
    "expires": dt.date(2026, 7, 1),
}


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def violation(path: str = "include/openssl/ssl.h", flt: str = "openssl") -> Violation:
    return Violation(path, flt, "include/openssl", ("openssl",))


def test_good_waiver_loads_and_is_a_usage_error_subclass() -> None:
    waiver = parse_waiver(dict(GOOD), "w.yaml", TODAY)
    assert waiver.package == "libfoo*" and waiver.filter == "openssl"
    assert waiver.expires == dt.date(2026, 7, 1)
    assert issubclass(WaiverError, UsageError)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner": "me"}, "unknown key 'owner'"),
        ({"reason": None}, "missing required key 'reason'"),
        ({"issue": None}, "missing required key 'issue'"),
        ({"expires": None}, "missing required key 'expires'"),
        ({"package": None}, "missing required key 'package'"),
        ({"filter": None, "paths": None}, "needs 'filter' and/or 'paths'"),
        ({"reason": "   "}, "'reason' must be a non-empty string"),
        ({"issue": "http://example.org/1"}, "'issue' must be an https:// URL"),
        ({"issue": "github.com/x/y/issues/1"}, "'issue' must be an https:// URL"),
        ({"expires": "2026-13-01"}, "'expires' must be a date written YYYY-MM-DD"),
        ({"expires": "next month"}, "'expires' must be a date written YYYY-MM-DD"),
        ({"expires": dt.datetime(2026, 7, 1, 12, 0)}, "'expires' must be a date"),
        ({"expires": 20260701}, "'expires' must be a date"),
        ({"expires": dt.date(2026, 5, 31)}, "expired on 2026-05-31"),
        ({"expires": TODAY + dt.timedelta(days=MAX_WAIVER_DAYS + 1)}, "more than 180 days"),
        ({"package": "*"}, "must start with a literal part"),
        ({"package": "[a-z]*"}, "must start with a literal part"),
        ({"package": "Foo Bar"}, "is not a conda package name"),
        ({"package": "../x"}, "is not a conda package name"),
        ({"paths": ["**"]}, "has no literal directory or file name"),
        ({"paths": ["*/**"]}, "has no literal directory or file name"),
        ({"paths": ["/include/openssl"]}, "is absolute"),
        ({"paths": ["include/[z-a]"]}, "invalid character class"),
        ({"paths": []}, "'paths' must be a non-empty list"),
        ({"paths": "include/openssl"}, "'paths' must be a non-empty list"),
        ({"filter": 3}, "'filter' must be a non-empty string"),
    ],
)
def test_each_problem_is_a_waiver_error_naming_the_file(change: dict, message: str) -> None:
    data = dict(GOOD)
    for key, value in change.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    with pytest.raises(WaiverError) as err:
        parse_waiver(data, "waivers/bad.yaml", TODAY)
    assert str(err.value).startswith("waivers/bad.yaml: ")
    assert message in str(err.value)


def test_today_and_the_last_allowed_day_are_accepted() -> None:
    for day in (TODAY, TODAY + dt.timedelta(days=MAX_WAIVER_DAYS)):
        assert parse_waiver({**GOOD, "expires": day}, "w", TODAY).expires == day
    assert parse_waiver({**GOOD, "expires": "2026-07-01"}, "w", TODAY).expires == GOOD["expires"]


def test_unknown_filter_is_refused_when_filters_are_known() -> None:
    with pytest.raises(WaiverError, match="not the name of a loaded filter"):
        parse_waiver(dict(GOOD), "w", TODAY, known_filters={"certifi"})


def test_files_impossible_dates_anchors_and_non_mappings(tmp_path: Path) -> None:
    base = "package: libfoo\nfilter: openssl\nreason: r\nissue: https://x.org/1\n"
    cases = {
        "date.yaml": base + "expires: 2026-02-30\n",
        "anchor.yaml": base + "expires: &d 2026-07-01\nx: *d\n",
        "list.yaml": "- package: libfoo\n",
    }
    for name, text in cases.items():
        directory = tmp_path / name.removesuffix(".yaml")
        write(directory, name, text)
        with pytest.raises(WaiverError) as err:
            load_waivers([directory], TODAY)
        assert name in str(err.value)
    with pytest.raises(WaiverError, match="waiver directory does not exist"):
        load_waivers([tmp_path / "missing"], TODAY)


def test_matching_package_filter_paths_and_case_folding() -> None:
    waivers = Waivers((parse_waiver(dict(GOOD), "w", TODAY),))
    assert waivers.find("libfoo", "linux-64", violation()) is not None
    assert waivers.find("libfoo-devel", "linux-64", violation()) is not None
    assert waivers.find("foo", "linux-64", violation()) is None  # another package
    assert waivers.find("libfoo", "linux-64", violation(flt="ssl")) is None  # another filter
    assert waivers.find("libfoo", "linux-64", violation("include/ssl.h")) is None
    # the filters' glob semantics: '**' spans directories, case folds on win-*/osx-*
    assert waivers.find("libfoo", "linux-64", violation("include/openssl/a/b.h")) is not None
    assert waivers.find("libfoo", "win-64", violation("Include/OpenSSL/ssl.h")) is not None
    assert waivers.find("libfoo", "linux-64", violation("Include/OpenSSL/ssl.h")) is None
    kept, waived = waivers.split("libfoo", "linux-64", [violation(), violation("include/x.h")])
    assert [v.path for v in kept] == ["include/x.h"]
    assert waived[0].to_json() == {
        "violation": violation().to_json(),
        "waiver": "w",
        "reason": GOOD["reason"],
        "issue": GOOD["issue"],
        "expires": "2026-07-01",
    }


def test_filter_only_and_paths_only_waivers() -> None:
    data = {k: v for k, v in GOOD.items() if k != "paths"}
    by_filter = Waivers((parse_waiver(data, "w", TODAY),))
    assert by_filter.find("libfoo", "linux-64", violation("include/x.h")) is not None
    data = {k: v for k, v in GOOD.items() if k != "filter"}
    by_paths = Waivers((parse_waiver(data, "w", TODAY),))
    assert by_paths.find("libfoo", "linux-64", violation(flt="any")) is not None
    assert by_paths.find("libfoo", "linux-64", violation("lib/x.so", "any")) is None


def test_check_waivers_fails_on_an_expired_waiver_and_the_scan_load_reports_it(
    tmp_path: Path,
) -> None:
    text = (
        "package: libfoo\nfilter: openssl\nreason: vendored\n"
        "issue: https://github.com/o/r/issues/1\nexpires: 2026-06-15\n"
    )
    write(tmp_path, "libfoo.yaml", text)
    assert len(check_waivers(tmp_path, TODAY).active) == 1
    later = dt.date(2026, 6, 16)
    with pytest.raises(WaiverError, match="libfoo.yaml: expired on 2026-06-15"):
        check_waivers(tmp_path, later)
    lenient = load_waivers([tmp_path], later, expired_ok=True)
    assert lenient.active == () and len(lenient.expired) == 1
    assert "expired on 2026-06-15 and was not applied" in expired_message(lenient)[0]


def test_shipped_waivers_directory_is_valid_today() -> None:
    """What .ci/run checks: every waiver in the repository is valid and active."""
    root = Path(__file__).resolve().parents[2]
    check_waivers(root / "waivers")
