"""Tests of ``artifact_validation.archive``: each check's failing and passing cases, limits."""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import os
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from artifact_validation.archive import Verdict, read_archive, validate_artifact
from artifact_validation.core import Code, LimitError, Limits, UsageError, parse_size
from artifact_validation.filters import Matcher, load_filters
from tests.support.builders import (
    FORMATS,
    Entry,
    build_both,
    build_package,
    package_entries,
    tar_bytes,
    write_conda,
    write_hostile,
    zstd,
)

OPENSSL_FILTER = "files: [include/openssl, lib/libssl.so.*]\nallowed: [openssl]\n"


@pytest.fixture
def matcher(filter_dir: Callable[[str, str], Path]) -> Matcher:
    """A matcher over one small OpenSSL filter."""
    return Matcher(load_filters([filter_dir("openssl", OPENSSL_FILTER)]))


def codes(verdict: Verdict) -> set[str]:
    """The finding codes of a verdict."""
    return {f.code.name for f in verdict.findings}


def finding(verdict: Verdict, code: str) -> Any:
    """The one finding with ``code``."""
    (found,) = [f for f in verdict.findings if f.code.name == code]
    return found


def hostile(
    tmp_path: Path, fmt: str, *entries: Entry, name: str = "x", subdir: str = "linux-64", **kw: Any
) -> Path:
    """A consistent hand-built package of ``entries`` (index.json and paths.json included)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{name}-1.0-0{fmt}"
    return write_hostile(path, package_entries(name, *entries, subdir=subdir, **kw))


def check(path: Path, matcher: Matcher | None = None, **kw: Any) -> Verdict:
    """Validate a local artifact with the library call."""
    return validate_artifact(path, matcher=matcher, **kw)


CLEAN = (Entry("lib", kind="dir"), Entry("lib/libx.so", b"\x7fELF"), Entry("bin/x", b"#!"))

Row = tuple[str, tuple[Entry, ...], str, str]

# (id, entries, subdir, expected code); every row must find its code, in both formats.
FAILING: list[Row] = [
    ("absolute", (Entry("/etc/passwd", b"x"),), "linux-64", "AV501"),
    ("drive", (Entry("C:/Windows/x.dll", b"x"),), "win-64", "AV501"),
    ("dotdot", (Entry("../escape", b"x"),), "linux-64", "AV502"),
    ("dotdot-inner", (Entry("lib/../../escape", b"x"),), "linux-64", "AV502"),
    ("backslash", (Entry("lib\\evil.dll", b"x"),), "linux-64", "AV503"),
    ("nul", (Entry("lib/a\0b", b"x"),), "linux-64", "AV503"),
    ("symlink-abs", (Entry("lib/l", kind="symlink", linkname="/etc/passwd"),), "linux-64", "AV504"),
    ("symlink-up", (Entry("lib/l", kind="symlink", linkname="../../x"),), "linux-64", "AV504"),
    (
        "symlink-chain",
        (
            Entry("d/a/b/c/up", kind="symlink", linkname="../../../.."),
            Entry("out", kind="symlink", linkname="d/a/b/c/up/../../../../.."),
        ),
        "linux-64",
        "AV504",
    ),
    (
        "symlink-through-dir-link",
        (
            Entry("lib/root", kind="symlink", linkname=".."),
            Entry("lib/evil", kind="symlink", linkname="root/../x"),
        ),
        "linux-64",
        "AV504",
    ),
    (
        "hardlink-missing",
        (Entry("lib/h", kind="hardlink", linkname="lib/nope"),),
        "linux-64",
        "AV505",
    ),
    (
        "hardlink-out",
        (Entry("lib/h", kind="hardlink", linkname="../etc/passwd"),),
        "linux-64",
        "AV505",
    ),
    (
        "hardlink-later",
        (Entry("lib/h", kind="hardlink", linkname="lib/t"), Entry("lib/t", b"t")),
        "linux-64",
        "AV505",
    ),
    ("chardev", (Entry("dev/null", kind="chardev"),), "linux-64", "AV506"),
    ("blockdev", (Entry("dev/sda", kind="blockdev"),), "linux-64", "AV506"),
    ("fifo", (Entry("tmp/pipe", kind="fifo"),), "linux-64", "AV506"),
    ("duplicate", (Entry("lib/a", b"1"), Entry("lib/a", b"2")), "linux-64", "AV507"),
    ("duplicate-dot", (Entry("lib/a", b"1"), Entry("./lib/a", b"2")), "linux-64", "AV507"),
    ("case-win", (Entry("include/Foo.h", b"1"), Entry("include/foo.h", b"2")), "win-64", "AV508"),
    ("case-osx-dir", (Entry("share/a", b"1"), Entry("share/A/b", b"2")), "osx-arm64", "AV508"),
    ("nfc", (Entry("share/caf\u00e9", b"1"), Entry("share/cafe\u0301", b"2")), "linux-64", "AV509"),
    ("kelvin", (Entry("share/K", b"1"), Entry("share/\u212a", b"2")), "linux-64", "AV509"),
    ("reserved", (Entry("Library/bin/CON", b"1"),), "win-64", "AV510"),
    ("reserved-ext", (Entry("Library/include/aux.h", b"1"),), "win-64", "AV510"),
    ("reserved-dir", (Entry("share/lpt1/readme", b"1"),), "win-64", "AV510"),
    ("trailing-dot", (Entry("share/readme.", b"1"),), "win-64", "AV511"),
    ("trailing-space", (Entry("share/dir /x", b"1"),), "win-64", "AV511"),
    ("not-utf8", (Entry("share/bad\udcff", b"1"),), "linux-64", "AV512"),
    ("newline", (Entry("share/a\nb", b"1"),), "linux-64", "AV512"),
    ("control-target", (Entry("lib/l", kind="symlink", linkname="a\x1bb"),), "linux-64", "AV512"),
]

# (id, entries, subdir, code that must NOT be found); each row also validates clean.
PASSING: list[Row] = [
    ("relative", CLEAN, "linux-64", "AV501"),
    (
        "dots-in-names",
        (Entry("lib/a..b", b"x"), Entry("share/..hidden", b"y")),
        "linux-64",
        "AV502",
    ),
    ("forward-slashes", (Entry("Library/bin/x.dll", b"x"),), "win-64", "AV503"),
    (
        "symlink-inside",
        (Entry("lib/a", b"a"), Entry("lib/l", kind="symlink", linkname="a")),
        "linux-64",
        "AV504",
    ),
    (
        "symlink-up-inside",
        (Entry("bin/x", kind="symlink", linkname="../lib/libx.so"),),
        "linux-64",
        "AV504",
    ),
    (
        "symlink-dangling-inside",
        (Entry("lib/l", kind="symlink", linkname="libdep.so.1"),),
        "linux-64",
        "AV504",
    ),
    (
        "symlink-loop",
        (Entry("a", kind="symlink", linkname="b"), Entry("b", kind="symlink", linkname="a")),
        "linux-64",
        "AV504",
    ),
    (
        "hardlink-earlier",
        (Entry("lib/t", b"t"), Entry("lib/h", kind="hardlink", linkname="lib/t")),
        "linux-64",
        "AV505",
    ),
    ("regular", CLEAN, "linux-64", "AV506"),
    (
        "dir-twice",
        (Entry("lib", kind="dir"), Entry("lib", kind="dir"), Entry("lib/a", b"1")),
        "linux-64",
        "AV507",
    ),
    (
        "case-linux",
        (Entry("include/Foo.h", b"1"), Entry("include/foo.h", b"2")),
        "linux-64",
        "AV508",
    ),
    ("case-dirs-merge", (Entry("Lib/a.py", b"1"), Entry("lib/b.py", b"2")), "win-64", "AV508"),
    ("nfc-once", (Entry("share/caf\u00e9", b"1"),), "linux-64", "AV509"),
    ("reserved-linux", (Entry("share/con", b"1"), Entry("share/aux.h", b"2")), "linux-64", "AV510"),
    (
        "reserved-lookalike",
        (Entry("Library/bin/console.dll", b"1"), Entry("share/com10", b"2")),
        "win-64",
        "AV510",
    ),
    ("trailing-dot-linux", (Entry("share/readme.", b"1"),), "linux-64", "AV511"),
    (
        "unicode",
        (Entry("share/\u00fcn\u00efc\u00f6de \u6587\u5b57.txt", b"1"),),
        "linux-64",
        "AV512",
    ),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("row", FAILING, ids=[r[0] for r in FAILING])
def test_path_safety_failing(tmp_path: Path, fmt: str, row: Row) -> None:
    """Each hostile archive is invalid and reports its code (never just the first finding)."""
    _, entries, subdir, code = row
    verdict = check(hostile(tmp_path, fmt, *entries, subdir=subdir))
    assert not verdict.valid
    assert code in codes(verdict), verdict.to_json()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("row", PASSING, ids=[r[0] for r in PASSING])
def test_path_safety_passing(tmp_path: Path, fmt: str, row: Row) -> None:
    """Each harmless look-alike of a hostile archive is valid."""
    _, entries, subdir, code = row
    verdict = check(hostile(tmp_path, fmt, *entries, subdir=subdir))
    assert code not in codes(verdict)
    assert verdict.valid, verdict.to_json()


@pytest.mark.parametrize("fmt", FORMATS)
def test_all_findings_are_reported(tmp_path: Path, fmt: str) -> None:
    """An archive with several problems reports every one of them, with offending paths."""
    entries = (
        Entry("/abs", b"1"),
        Entry("../up", b"2"),
        Entry("lib/l", kind="symlink", linkname="/etc"),
        Entry("dev/x", kind="fifo"),
        Entry("lib/a", b"1"),
        Entry("lib/a", b"1"),
    )
    verdict = check(hostile(tmp_path, fmt, *entries))
    assert {"AV501", "AV502", "AV504", "AV506", "AV507"} <= codes(verdict)
    assert finding(verdict, "AV504").paths == ("lib/l",)
    assert "lib/l -> /etc" in finding(verdict, "AV504").detail


@pytest.mark.parametrize("fmt", FORMATS)
def test_real_clean_package_is_valid(tmp_path: Path, fmt: str, matcher: Matcher) -> None:
    """A package built by conda-package-handling, with a symlink and paths.json, is valid."""
    path = build_package(
        tmp_path,
        "zlib",
        {"lib/libz.so.1.3": b"\x7fELF", "include/zlib.h": b"/* z */"},
        symlinks={"lib/libz.so": "libz.so.1.3"},
        fmt=fmt,
    )
    verdict = check(path, matcher, subdir="linux-64", deep=True)
    assert verdict.valid, verdict.to_json()
    assert (verdict.name, verdict.version, verdict.build, verdict.subdir) == (
        "zlib",
        "1.0",
        "0",
        "linux-64",
    )
    raw = path.read_bytes()
    assert verdict.md5 == hashlib.md5(raw, usedforsecurity=False).hexdigest()
    assert verdict.sha256 == hashlib.sha256(raw).hexdigest()


def test_hashes_cover_every_byte_of_a_conda(tmp_path: Path) -> None:
    """The one-pass hash of a .conda equals hashing the file, whatever order ZIP reads take."""
    files = {f"share/f{i}": bytes([i]) * (300_000 + i) for i in range(8)}
    path = build_package(tmp_path, "big", files, fmt=".conda")
    with path.open("rb") as fh:
        scan = read_archive(fh, path.name)
    assert scan.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("fmt", FORMATS)
def test_av101_av102_hashes(tmp_path: Path, fmt: str) -> None:
    """AV101/AV102 fire on wrong expected hashes and stay silent on the right ones."""
    path = hostile(tmp_path, fmt, *CLEAN)
    raw = path.read_bytes()
    md5, sha = hashlib.md5(raw, usedforsecurity=False).hexdigest(), hashlib.sha256(raw).hexdigest()
    assert check(path, expected_md5=md5.upper(), expected_sha256=sha).valid
    bad = check(path, expected_md5="0" * 32, expected_sha256="f" * 64)
    assert codes(bad) == {"AV101", "AV102"}
    assert md5 in finding(bad, "AV101").detail


def test_malformed_expected_hash_is_usage_error(tmp_path: Path) -> None:
    """An expected hash that is not hex of the right length is a usage error, not a finding."""
    path = hostile(tmp_path, ".conda", *CLEAN)
    with pytest.raises(UsageError, match="--md5"):
        check(path, expected_md5="abc")
    with pytest.raises(UsageError, match="--sha256"):
        check(path, expected_sha256="z" * 64)


@pytest.mark.parametrize("fmt", FORMATS)
def test_av201_clobbering(tmp_path: Path, fmt: str, matcher: Matcher) -> None:
    """AV201 flags OpenSSL's files in another package and not in openssl itself."""
    files = {"include/openssl/ssl.h": b"h", "lib/libssl.so.3": b"l", "lib/libmine.so": b"m"}
    bad = check(build_package(tmp_path / "a", "mine", files, fmt=fmt), matcher)
    assert codes(bad) == {"AV201"}
    assert [v.path for v in bad.violations] == ["include/openssl/ssl.h", "lib/libssl.so.3"]
    good = check(build_package(tmp_path / "b", "openssl", files, fmt=fmt), matcher)
    assert good.valid


def test_av201_folds_case_when_published_to_windows(tmp_path: Path, matcher: Matcher) -> None:
    """A path differing only by case clobbers when the artifact goes to a win-* subdir."""
    path = build_package(
        tmp_path, "mine", {"Include/OpenSSL/ssl.h": b"h"}, subdir="win-64", fmt=".conda"
    )
    assert "AV201" in codes(check(path, matcher))
    linux = build_package(tmp_path / "l", "mine", {"Include/OpenSSL/ssl.h": b"h"}, fmt=".conda")
    assert check(linux, matcher).valid


def test_av301_not_a_conda_package(tmp_path: Path) -> None:
    """AV301: a file without a conda suffix is invalid, and nothing else is claimed about it."""
    path = tmp_path / "x-1.0-0.zip"
    path.write_bytes(b"PK whatever")
    verdict = check(path)
    assert codes(verdict) == {"AV301"}
    assert verdict.md5 == hashlib.md5(b"PK whatever", usedforsecurity=False).hexdigest()


@pytest.mark.parametrize(
    ("kwargs", "detail"),
    [
        ({"omit": ["metadata.json"]}, "missing metadata.json"),
        ({"metadata": b'{"conda_pkg_format_version": 1}'}, "conda_pkg_format_version 2"),
        ({"metadata": b"not json"}, "not valid JSON"),
        ({"omit": ["pkg-x-1.0-0.tar.zst"]}, "missing pkg-x-1.0-0.tar.zst"),
        ({"extra": {"payload.exe": b"MZ"}}, "unexpected ZIP member 'payload.exe'"),
        ({"extra": {"pkg-other.tar.zst": zstd.compress(tar_bytes([]))}}, "more than one pkg"),
    ],
)
def test_av301_conda_container_layout(tmp_path: Path, kwargs: dict[str, Any], detail: str) -> None:
    """AV301: a .conda ZIP that is not metadata.json plus one info and one pkg tarball."""
    entries = package_entries("x", *CLEAN)
    info = [e for e in entries if e.name.startswith("info/")]
    pkg = [e for e in entries if not e.name.startswith("info/")]
    verdict = check(write_conda(tmp_path / "x-1.0-0.conda", info, pkg, **kwargs))
    assert "AV301" in codes(verdict)
    assert detail in finding(verdict, "AV301").detail


def test_av301_renamed_conda(tmp_path: Path) -> None:
    """A renamed .conda is AV301 (inner names) and AV401 (identity), and still fully read."""
    path = hostile(tmp_path, ".conda", *CLEAN)
    renamed = path.rename(tmp_path / "y-1.0-0.conda")
    verdict = check(renamed)
    assert codes(verdict) == {"AV301", "AV401"}
    assert "renamed" in finding(verdict, "AV301").detail


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_av302_truncated(tmp_path: Path, fmt: str, cut: float) -> None:
    """AV302: an artifact cut short anywhere is invalid, never valid and never an error."""
    files = {f"share/f{i}": bytes(range(256)) * 40 * (i + 1) for i in range(10)}
    path = build_package(tmp_path, "t", files, fmt=fmt)
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * cut)])
    verdict = check(path)
    assert "AV302" in codes(verdict)
    assert not verdict.valid


@pytest.mark.parametrize("fmt", FORMATS)
def test_av302_corrupt_bytes(tmp_path: Path, fmt: str) -> None:
    """AV302: flipped bytes in the compressed data are caught (CRC, checksum or parse error)."""
    files = {f"share/f{i}": bytes(range(256)) * 200 for i in range(4)}
    path = build_package(tmp_path, "c", files, fmt=fmt)
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 16] = bytes(16)
    path.write_bytes(bytes(raw))
    verdict = check(path)
    assert not verdict.valid
    assert codes(verdict) & {"AV302", "AV301"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_av302_data_after_the_tar_end(tmp_path: Path, fmt: str) -> None:
    """AV302: members hidden after the end-of-archive marker or a bad header are found."""
    entries = package_entries("x", *CLEAN)
    hidden = tar_bytes([Entry("lib/hidden.so", b"evil")])
    path = tmp_path / f"x-1.0-0{fmt}"
    if fmt == ".tar.bz2":
        path.write_bytes(bz2.compress(tar_bytes(entries) + hidden))
    else:
        info = [e for e in entries if e.name.startswith("info/")]
        write_conda(path, info, [e for e in entries if e not in info])
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        pkg = tar_bytes([e for e in entries if e not in info])
        broken = pkg[:512] + b"\x01" * 512 + pkg[512:] + hidden  # a bad header, then more
        members["pkg-x-1.0-0.tar.zst"] = zstd.compress(broken)
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    verdict = check(path)
    assert "AV302" in codes(verdict)
    assert "after the end of the tar" in finding(verdict, "AV302").detail


def test_av302_not_a_zip(tmp_path: Path) -> None:
    """AV302: a .conda that is not a ZIP at all (an HTML error page) is invalid."""
    path = tmp_path / "x-1.0-0.conda"
    path.write_bytes(b"<html>503 Service Unavailable</html>")
    verdict = check(path)
    assert codes(verdict) == {"AV302"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_av303_missing_index(tmp_path: Path, fmt: str) -> None:
    """AV303: no info/index.json, or one that is a symlink, is invalid."""
    verdict = check(write_hostile(tmp_path / f"x-1.0-0{fmt}", list(CLEAN)))
    assert "AV303" in codes(verdict)
    linked = [Entry("info/index.json", kind="symlink", linkname="../etc/index.json"), *CLEAN]
    verdict = check(write_hostile(tmp_path / f"y-1.0-0{fmt}", linked))
    assert "AV303" in codes(verdict)
    assert "symlink" in finding(verdict, "AV303").detail


@pytest.mark.parametrize(
    ("index", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"name": "x", "version": "1.0", "subdir": "linux-64"}).encode(), "'build'"),
        (json.dumps({"name": "x", "version": 1, "build": "0", "subdir": "l"}).encode(), "version"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
)
def test_av304_unparsable_index(tmp_path: Path, index: bytes, problem: str) -> None:
    """AV304: an index.json that is not a JSON object with the identity strings is invalid."""
    path = write_hostile(tmp_path / "x-1.0-0.tar.bz2", [Entry("info/index.json", index), *CLEAN])
    verdict = check(path)
    assert "AV304" in codes(verdict)
    assert problem in finding(verdict, "AV304").detail


@pytest.mark.parametrize("fmt", FORMATS)
def test_av401_identity(tmp_path: Path, fmt: str) -> None:
    """AV401: the file name must be <name>-<version>-<build> of index.json."""
    path = write_hostile(tmp_path / f"x-2.0-0{fmt}", package_entries("x", *CLEAN))
    verdict = check(path)
    assert codes(verdict) == {"AV401"}
    assert "'x-1.0-0'" in finding(verdict, "AV401").detail
    assert check(hostile(tmp_path, fmt, *CLEAN)).valid


@pytest.mark.parametrize("fmt", FORMATS)
def test_av402_subdir(tmp_path: Path, fmt: str) -> None:
    """AV402: index.json's subdir must match --subdir, or the parent dir under subdir_from_path."""
    path = hostile(tmp_path, fmt, *CLEAN)
    assert codes(check(path, subdir="osx-64")) == {"AV402"}
    assert check(path, subdir="linux-64").valid
    moved = tmp_path / "win-64"
    moved.mkdir()
    moved_path = path.rename(moved / path.name)
    assert codes(check(moved_path, subdir_from_path=True)) == {"AV402"}
    assert check(moved_path).valid  # without the flag a local directory says nothing


def test_subdir_from_path_needs_a_known_subdir(tmp_path: Path) -> None:
    """subdir_from_path with a parent that is not a subdir is a usage error."""
    path = hostile(tmp_path, ".conda", *CLEAN)
    with pytest.raises(UsageError, match="not a known subdir"):
        check(path, subdir_from_path=True)
    with pytest.raises(UsageError, match="not a conda subdir"):
        check(path, subdir="Linux 64")


@pytest.mark.parametrize("fmt", FORMATS)
def test_av403_noarch(tmp_path: Path, fmt: str) -> None:
    """AV403: a noarch package must say subdir noarch."""
    bad = hostile(tmp_path / "a", fmt, *CLEAN, noarch="python")
    assert "AV403" in codes(check(bad))
    good = hostile(tmp_path / "b", fmt, *CLEAN, subdir="noarch", noarch="python")
    assert check(good, subdir="noarch").valid


def _with_paths_json(tmp_path: Path, fmt: str, paths: Any, *entries: Entry) -> Path:
    doc = json.dumps(paths).encode() if not isinstance(paths, bytes) else paths
    listed = package_entries("x", *entries)
    listed[1] = Entry("info/paths.json", doc)
    return write_hostile(tmp_path / f"x-1.0-0{fmt}", listed)


def _entry(path: str, data: bytes, **kw: Any) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    return {
        "_path": path,
        "path_type": "hardlink",
        "sha256": digest,
        "size_in_bytes": len(data),
        **kw,
    }


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("listed", "code", "deep"),
    [
        ([_entry("lib/a", b"a"), _entry("lib/gone", b"g")], "AV601", False),
        (
            [_entry("lib/a", b"a"), {"_path": "share/empty", "path_type": "directory"}],
            "AV601",
            False,
        ),
        ([], "AV602", False),
        ([_entry("lib/a", b"aaaa")], "AV603", False),
        ([_entry("lib/a", b"b")], "AV604", True),
        ({"paths": [{"path_type": "hardlink"}]}, "AV605", False),
        ({"paths": [{"_path": "lib/a", "path_type": "weird"}]}, "AV605", False),
        ({"paths": "lib/a"}, "AV605", False),
        (b"{broken", "AV605", False),
        (b'{"paths": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "AV605", False),
    ],
)
def test_manifest_failing(tmp_path: Path, fmt: str, listed: Any, code: str, deep: bool) -> None:
    """AV601-AV605: paths.json must list exactly the installed members, sizes and hashes."""
    doc = {"paths": listed, "paths_version": 1} if isinstance(listed, list) else listed
    verdict = check(_with_paths_json(tmp_path, fmt, doc, Entry("lib/a", b"a")), deep=deep)
    assert code in codes(verdict), verdict.to_json()


@pytest.mark.parametrize("fmt", FORMATS)
def test_manifest_passing(tmp_path: Path, fmt: str) -> None:
    """A paths.json with files, a hardlink, a symlink and a directory entry matches."""
    entries = (
        Entry("share/empty", kind="dir"),
        Entry("lib/a", b"a"),
        Entry("lib/h", kind="hardlink", linkname="lib/a"),
        Entry("lib/l", kind="symlink", linkname="a"),
    )
    listed = package_entries("x", *entries)
    doc = json.loads(listed[1].data)
    doc["paths"].append({"_path": "share/empty", "path_type": "directory"})
    verdict = check(_with_paths_json(tmp_path, fmt, doc, *entries), deep=True)
    assert verdict.valid, verdict.to_json()


@pytest.mark.parametrize("fmt", FORMATS)
def test_av604_needs_deep(tmp_path: Path, fmt: str) -> None:
    """Without --deep, content hashes are not compared (no AV604)."""
    doc = {"paths": [_entry("lib/a", b"b")], "paths_version": 1}
    assert check(_with_paths_json(tmp_path, fmt, doc, Entry("lib/a", b"a"))).valid


@pytest.mark.parametrize(
    ("limits", "flag"),
    [
        (Limits(max_members=3), "--max-members"),
        (Limits(max_member_size=1000), "--max-member-size"),
        (Limits(max_total_size=3000), "--max-total-size"),
        (Limits(max_ratio=2.0, ratio_floor=1), "--max-ratio"),
        (Limits(max_metadata_size=10), "--max-metadata-size"),
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_limits_raise(tmp_path: Path, fmt: str, limits: Limits, flag: str) -> None:
    """Hitting a limit raises LimitError naming its flag: exit 3, never a verdict."""
    files = {f"share/f{i}": b"\0" * 2000 for i in range(4)}
    path = build_package(tmp_path, "z", files, fmt=fmt)
    with pytest.raises(LimitError, match=flag):
        check(path, limits=limits)


@pytest.mark.parametrize("fmt", FORMATS)
def test_zip_bomb_stops_early(tmp_path: Path, fmt: str) -> None:
    """A small archive inflating to far more than the ratio allows stops at the ratio limit."""
    bomb = [Entry(f"share/zero{i}", b"\0" * (8 << 20)) for i in range(4)]
    path = hostile(tmp_path, fmt, *bomb)
    assert path.stat().st_size < 200_000
    with pytest.raises(LimitError, match="--max-ratio"):
        check(path, limits=Limits(ratio_floor=4 << 20))


def test_missing_file_is_usage_error(tmp_path: Path) -> None:
    """A path that does not exist, a directory or a FIFO is a usage error (exit 2)."""
    with pytest.raises(UsageError, match="cannot open"):
        check(tmp_path / "nope-1-0.conda")
    with pytest.raises(UsageError, match="regular file"):
        check(tmp_path)
    os.mkfifo(tmp_path / "fifo-1-0.conda")
    with pytest.raises(UsageError, match="regular file"):
        check(tmp_path / "fifo-1-0.conda")


@pytest.mark.parametrize(
    ("text", "value"),
    [("1234", 1234), ("500M", 500 << 20), ("16GiB", 16 << 30), ("2g", 2 << 30), ("1.5K", 1536)],
)
def test_parse_size(text: str, value: int) -> None:
    """Sizes accept plain bytes and K/M/G/T suffixes (powers of 1024)."""
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "M", "-1", "0", "12 parsecs"])
def test_parse_size_rejects(text: str) -> None:
    """Malformed or non-positive sizes are rejected."""
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_both_real_formats_agree(tmp_path: Path, matcher: Matcher) -> None:
    """The same package in both formats gets the same findings and violations."""
    files = {"include/openssl/ssl.h": b"h", "share/doc": b"d"}
    built = build_both(tmp_path, "mine", files, symlinks={"share/out": "../../../x"})
    a, b = (check(p, matcher).to_json() for p in built.values())
    for doc in (a, b):
        doc.pop("md5"), doc.pop("sha256"), doc.pop("source")
    assert a == b
    assert [f["code"] for f in a["findings"]] == ["AV201", "AV504"]


def test_finding_codes_are_in_the_catalogue() -> None:
    """Every code a check can emit exists in the catalogue (a guard against typos)."""
    assert {c.name for c in Code} >= {r[3] for r in FAILING + PASSING}


def _raw_tar(*headers: tarfile.TarInfo, data: dict[str, bytes] | None = None) -> bytes:
    """A tar of raw headers (any type, PAX headers set by hand) with optional member data."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info in headers:
            body = (data or {}).get(info.name)
            tar.addfile(info, io.BytesIO(body) if body is not None else None)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["pax", "longname", "sparse"])
def test_hostile_tar_headers_are_refused(tmp_path: Path, fmt: str, kind: str) -> None:
    """Huge PAX or GNU long-name headers and sparse members are AV302, not a memory blow-up."""
    entries = package_entries("x", *CLEAN)
    good = tar_bytes(entries)
    if kind == "pax":
        info = tarfile.TarInfo("lib/evil")
        info.pax_headers = {"comment": "x" * (128 * 1024)}
        extra = _raw_tar(info)
    elif kind == "longname":
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
            tar.addfile(tarfile.TarInfo("lib/" + "a" * (100 * 1024)))
        extra = buf.getvalue()
    else:
        info = tarfile.TarInfo("lib/sparse")
        info.type = tarfile.GNUTYPE_SPARSE
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
            tar.addfile(info)
        extra = buf.getvalue()
    body = _strip_end(good)
    path = tmp_path / f"x-1.0-0{fmt}"
    if fmt == ".tar.bz2":
        path.write_bytes(bz2.compress(body + extra))
    else:
        info_entries = [e for e in entries if e.name.startswith("info/")]
        pkg = [e for e in entries if e not in info_entries]
        write_conda(path, info_entries, [])
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        members["pkg-x-1.0-0.tar.zst"] = zstd.compress(_strip_end(tar_bytes(pkg)) + extra)
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    verdict = check(path)
    assert "AV302" in codes(verdict), verdict.to_json()
    assert ("sparse" if kind == "sparse" else "header") in finding(verdict, "AV302").detail


def _strip_end(tar: bytes) -> bytes:
    """A tar without its end-of-archive zero blocks, so more members can follow."""
    end = len(tar)
    while end >= 512 and tar[end - 512 : end] == bytes(512):
        end -= 512
    return tar[:end]


def test_member_names_count_against_the_metadata_limit(tmp_path: Path) -> None:
    """Long member names add up against --max-metadata-size (memory stays bounded)."""
    entries = [Entry(f"share/{i:04d}-" + "n" * 200, b"") for i in range(50)]
    path = hostile(tmp_path, ".tar.bz2", *entries)
    with pytest.raises(LimitError, match="--max-metadata-size"):
        check(path, limits=Limits(max_metadata_size=5000))


def test_conda_metadata_comes_from_the_info_component(tmp_path: Path) -> None:
    """A second index.json smuggled into a .conda's pkg component is a duplicate, not the index."""
    entries = package_entries("x", *CLEAN)
    info = [e for e in entries if e.name.startswith("info/")]
    pkg = [e for e in entries if e not in info]
    fake = Entry("info/index.json", json.dumps({"name": "openssl"}).encode())
    verdict = check(write_conda(tmp_path / "x-1.0-0.conda", info, [fake, *pkg]))
    assert codes(verdict) == {"AV306", "AV507"}
    assert verdict.name == "x"
    alone = write_conda(tmp_path / "y-1.0-0.conda", [], [*info, *pkg])
    assert "AV303" in codes(check(alone))


@pytest.mark.parametrize("fmt", FORMATS)
def test_limits_at_the_boundary_pass(tmp_path: Path, fmt: str) -> None:
    """An artifact exactly at every limit is validated normally (limits are inclusive)."""
    files = {f"share/f{i}": b"\0" * 2000 for i in range(4)}
    path = build_package(tmp_path, "z", files, fmt=fmt)
    with path.open("rb") as fh:
        members = read_archive(fh, path.name).members
    largest = max(m.size for m in members)
    limits = Limits(max_members=len(members), max_member_size=largest)
    assert check(path, limits=limits).valid
