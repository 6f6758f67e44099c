"""The clobber bypasses of issue 11: each hostile package is rejected, its passing twin is valid.

Every case is built by hand in both formats (``write_hostile``) and checked
with the library call ``validate_artifact``; the finding codes name the cause.
"""

from __future__ import annotations

import io
import json
import resource
import zipfile
from pathlib import Path

import pytest

from artifact_validation.archive import validate_artifact
from artifact_validation.filters import Matcher, load_filters
from tests.support.builders import FORMATS, Entry, index_json, package_entries, write_hostile
from tests.support.cli import run_script

FILTERS = {
    "openssl": (
        "files: [bin/openssl, include/openssl, Library/bin/libcrypto*]\nallowed: [openssl]\n"
    ),
    "conda-build": "files: [bin/conda-build, Scripts/conda-build*]\nallowed: [conda-build]\n",
    "certifi": (
        "files: [site-packages/certifi, lib/python*/site-packages/certifi, "
        "Lib/site-packages/certifi]\nallowed: [certifi]\n"
    ),
}


@pytest.fixture(scope="module")
def matcher(tmp_path_factory: pytest.TempPathFactory) -> Matcher:
    directory = tmp_path_factory.mktemp("filters")
    for name, text in FILTERS.items():
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return Matcher(load_filters([directory]))


def codes_of(path: Path, matcher: Matcher, subdir: str | None = None) -> set[str]:
    verdict = validate_artifact(path, matcher=matcher, subdir=subdir)
    return {f.code.name for f in verdict.findings}


def hostile(tmp: Path, fmt: str, entries: list[Entry], name: str = "evil", **kw: str) -> Path:
    target = tmp / kw.get("subdir", "linux-64") / f"{name}-1.0-0{fmt}"
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_hostile(target, entries)


def noarch_python(*entries: Entry, link: dict | None = None) -> list[Entry]:
    """A noarch: python package of ``entries``, with ``info/link.json`` when given."""
    out = package_entries("evil", *entries, subdir="noarch", noarch="python")
    if link is not None:
        out.insert(2, Entry("info/link.json", json.dumps(link).encode()))
    return out


# --------------------------------------------------------------------------- 1. symlinks


@pytest.mark.parametrize("fmt", FORMATS)
def test_file_written_through_a_symlink_of_the_same_archive(
    tmp_path: Path, fmt: str, matcher: Matcher
) -> None:
    """``lib/x -> ..`` then ``lib/x/bin/openssl`` writes bin/openssl: AV513 and AV201."""
    entries = package_entries(
        "evil", Entry("lib/x", kind="symlink", linkname=".."), Entry("lib/x/bin/openssl", b"e")
    )
    assert {"AV513", "AV201"} <= codes_of(hostile(tmp_path, fmt, entries), matcher)
    twin = package_entries("evil", Entry("lib/x/bin/tool", b"ok"))
    assert codes_of(hostile(tmp_path / "twin", fmt, twin), matcher) == set()


@pytest.mark.parametrize("fmt", FORMATS)
def test_hardlink_written_through_a_symlink(tmp_path: Path, fmt: str, matcher: Matcher) -> None:
    """The same with a hardlink member under the symlinked directory."""
    entries = package_entries(
        "evil",
        Entry("share/tool", b"x"),
        Entry("lib/x", kind="symlink", linkname=".."),
        Entry("lib/x/bin/openssl", kind="hardlink", linkname="share/tool"),
    )
    assert {"AV513", "AV201"} <= codes_of(hostile(tmp_path, fmt, entries), matcher)


@pytest.mark.parametrize("fmt", FORMATS)
def test_header_written_through_a_deeper_symlink(
    tmp_path: Path, fmt: str, matcher: Matcher
) -> None:
    """``share/a/inc -> ../../include`` plus ``share/a/inc/openssl/ssl.h``."""
    entries = package_entries(
        "evil",
        Entry("share/a/inc", kind="symlink", linkname="../../include"),
        Entry("share/a/inc/openssl/ssl.h", b"evil"),
    )
    assert {"AV513", "AV201"} <= codes_of(hostile(tmp_path, fmt, entries), matcher)
    twin = package_entries("evil", Entry("share/a/inc", kind="symlink", linkname="../../include"))
    assert codes_of(hostile(tmp_path / "twin", fmt, twin), matcher) == set()


@pytest.mark.parametrize("fmt", FORMATS)
def test_link_under_a_symlinked_parent_points_outside(
    tmp_path: Path, fmt: str, matcher: Matcher
) -> None:
    """``lib/x -> ..`` plus ``lib/x/up -> ..`` really sits at ``up`` and points outside."""
    entries = package_entries(
        "evil",
        Entry("lib/x", kind="symlink", linkname=".."),
        Entry("lib/x/up", kind="symlink", linkname=".."),
    )
    assert {"AV504", "AV513"} <= codes_of(hostile(tmp_path, fmt, entries), matcher)


# --------------------------------------------------------------------------- 2. info


@pytest.mark.parametrize("fmt", FORMATS)
def test_info_that_is_a_symlink(tmp_path: Path, fmt: str, matcher: Matcher) -> None:
    """``info -> bin`` lands ``info/openssl`` in ``bin/``: AV307."""
    entries = [
        Entry("info", kind="symlink", linkname="bin"),
        Entry("info/index.json", json.dumps(index_json("evil")).encode()),
        Entry("info/files", b"bin/openssl\n"),
        Entry("info/openssl", b"evil"),
    ]
    assert "AV307" in codes_of(hostile(tmp_path, fmt, entries), matcher)


@pytest.mark.parametrize("fmt", FORMATS)
def test_info_files_is_the_manifest_without_paths_json(
    tmp_path: Path, fmt: str, matcher: Matcher
) -> None:
    """Without paths.json, conda links what info/files lists: checked and matched."""
    index = Entry("info/index.json", json.dumps(index_json("evil")).encode())
    missing = [index, Entry("info/files", b"bin/tool\nbin/other\n"), Entry("bin/tool", b"t")]
    assert "AV601" in codes_of(hostile(tmp_path, fmt, missing), matcher)
    unlisted = [index, Entry("info/files", b"bin/tool\n"), Entry("bin/tool", b"t"),
                Entry("bin/openssl", b"e")]  # fmt: skip
    assert {"AV602", "AV201"} <= codes_of(hostile(tmp_path / "u", fmt, unlisted), matcher)
    good = [index, Entry("info/files", b"bin/tool\n"), Entry("bin/tool", b"t")]
    assert codes_of(hostile(tmp_path / "good", fmt, good), matcher) == set()


# --------------------------------------------------------------------------- 3, 4. noarch


@pytest.mark.parametrize("fmt", FORMATS)
def test_noarch_python_scripts_are_relocated(tmp_path: Path, fmt: str, matcher: Matcher) -> None:
    """``python-scripts/openssl`` installs as ``bin/openssl`` (``Scripts/`` on Windows)."""
    entries = noarch_python(Entry("python-scripts/openssl", b"#!python"))
    assert "AV201" in codes_of(hostile(tmp_path, fmt, entries, subdir="noarch"), matcher)
    twin = noarch_python(Entry("python-scripts/mytool", b"#!python"))
    assert codes_of(hostile(tmp_path / "twin", fmt, twin, subdir="noarch"), matcher) == set()


@pytest.mark.parametrize("fmt", FORMATS)
def test_noarch_entry_points(tmp_path: Path, fmt: str, matcher: Matcher) -> None:
    """``openssl = m:f`` writes bin/openssl (AV201); a path as command is AV517."""
    body = Entry("site-packages/m.py", b"def f(): pass\n")
    clobber = noarch_python(body, link={"noarch": {"type": "python", "entry_points": [
        "conda-build = m:f"]}})  # fmt: skip
    assert "AV201" in codes_of(hostile(tmp_path, fmt, clobber, subdir="noarch"), matcher)
    escape = noarch_python(body, link={"noarch": {"entry_points": ["../etc/x = m:f"]}})
    assert "AV517" in codes_of(hostile(tmp_path / "e", fmt, escape, subdir="noarch"), matcher)
    broken = noarch_python(body, link={"noarch": {"entry_points": "m:f"}})
    assert "AV608" in codes_of(hostile(tmp_path / "b", fmt, broken, subdir="noarch"), matcher)
    twin = noarch_python(body, link={"noarch": {"entry_points": ["mytool = m:f"]}})
    assert codes_of(hostile(tmp_path / "twin", fmt, twin, subdir="noarch"), matcher) == set()


@pytest.mark.parametrize("fmt", FORMATS)
def test_noarch_matches_case_insensitive_platforms(
    tmp_path: Path, fmt: str, matcher: Matcher
) -> None:
    """``site-packages/Certifi/core.py`` clobbers certifi on Windows and macOS."""
    entries = noarch_python(Entry("site-packages/Certifi/core.py", b"x"))
    assert "AV201" in codes_of(hostile(tmp_path, fmt, entries, subdir="noarch"), matcher)
    twin = noarch_python(Entry("site-packages/certifi_extra/core.py", b"x"))
    assert codes_of(hostile(tmp_path / "twin", fmt, twin, subdir="noarch"), matcher) == set()


@pytest.mark.parametrize("fmt", FORMATS)
def test_noarch_gets_the_windows_name_rules(tmp_path: Path, fmt: str, matcher: Matcher) -> None:
    """AV508, AV510 and AV511 apply to noarch: it installs on Windows too."""
    entries = package_entries(
        "evil",
        Entry("share/evil/Readme", b"a"),
        Entry("share/evil/README", b"b"),
        Entry("share/evil/aux.txt", b"c"),
        Entry("share/evil/trailing.", b"d"),
        subdir="noarch",
    )
    found = codes_of(hostile(tmp_path, fmt, entries, subdir="noarch"), matcher)
    assert {"AV508", "AV510", "AV511"} <= found


# --------------------------------------------------------------------------- 5, 6. .conda


def test_info_members_in_the_pkg_component(tmp_path: Path, matcher: Matcher) -> None:
    """An ``info/link.json`` inside ``pkg-*.tar.zst`` would join the checked metadata: AV306."""
    from tests.support.builders import write_conda

    entries = package_entries("evil", Entry("bin/tool", b"t"))
    info = [e for e in entries if e.name.startswith("info/")]
    pkg = [Entry("info/link.json", b"{}"), Entry("bin/tool", b"t")]
    (tmp_path / "linux-64").mkdir()
    (tmp_path / "twin").mkdir()
    path = write_conda(tmp_path / "linux-64" / "evil-1.0-0.conda", info, pkg)
    assert "AV306" in codes_of(path, matcher)
    twin = write_conda(tmp_path / "twin" / "evil-1.0-0.conda", info, [Entry("bin/tool", b"t")])
    assert codes_of(twin, matcher) == set()


def _zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("where", ["before", "after", "comment"])
def test_conda_zip_that_reads_differently(tmp_path: Path, matcher: Matcher, where: str) -> None:
    """Local entries before a benign .conda, data after it, or a comment: AV305."""
    (tmp_path / "src").mkdir()
    benign = write_hostile(
        tmp_path / "src" / "evil-1.0-0.conda", package_entries("evil", Entry("bin/tool", b"t"))
    )
    data = benign.read_bytes()
    evil = _zip_of({"pkg-evil-1.0-0.tar.zst": b"a different package"})
    if where == "before":
        data = evil[: evil.index(b"PK\x01\x02")] + data
    elif where == "after":
        data += b"\0" * 100 + evil
    else:
        with zipfile.ZipFile(benign, "a") as zf:
            zf.comment = b"hidden"
        data = benign.read_bytes()
    path = tmp_path / "linux-64" / "evil-1.0-0.conda"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    assert "AV305" in codes_of(path, matcher)


# --------------------------------------------------------------------------- 8, 9. names


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "name", ["Library/bin/libcrypto-3-x64.dll::$DATA", "Library/bin/C:x.dll", "Library/a|b"]
)
def test_windows_forbidden_characters(
    tmp_path: Path, fmt: str, name: str, matcher: Matcher
) -> None:
    """``:`` and ``<>"|?*`` are refused in win-* (and noarch) paths; linux allows them."""
    entries = package_entries("evil", Entry(name, b"x"), subdir="win-64")
    assert "AV514" in codes_of(hostile(tmp_path, fmt, entries, subdir="win-64"), matcher)
    twin = package_entries("evil", Entry(name.replace("Library", "share"), b"x"))
    assert "AV514" not in codes_of(hostile(tmp_path / "twin", fmt, twin), matcher)


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_case_folding(tmp_path: Path, fmt: str, matcher: Matcher) -> None:
    """``ſite-packages`` (U+017F) folds to ``site-packages`` for the matcher too."""
    entries = package_entries(
        "evil", Entry("Lib/ſite-packages/certifi/core.py", b"x"), subdir="win-64"
    )
    assert "AV201" in codes_of(hostile(tmp_path, fmt, entries, subdir="win-64"), matcher)
    twin = package_entries("evil", Entry("lib/ſite-packages/certifi/core.py", b"x"))
    assert "AV201" not in codes_of(hostile(tmp_path / "twin", fmt, twin), matcher)


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_characters_in_names(tmp_path: Path, fmt: str, matcher: Matcher) -> None:
    """A right-to-left override (U+202E) makes reports lie: AV512, shown escaped."""
    entries = package_entries("evil", Entry("share/evil/\u202etxt.exe", b"x"))
    verdict = validate_artifact(hostile(tmp_path, fmt, entries), matcher=matcher)
    [finding] = [f for f in verdict.findings if f.code.name == "AV512"]
    assert finding.paths == ("share/evil/\\u202etxt.exe",)


# --------------------------------------------------------------------------- 10, 11. limits, types


@pytest.mark.parametrize("fmt", FORMATS)
def test_deep_names_are_a_finding_in_bounded_memory(tmp_path: Path, fmt: str) -> None:
    """Four names 32,000 components deep: AV515, and the process stays under 1 GiB."""
    deep = "/".join(["d"] * 32_000)
    entries = package_entries("evil", *(Entry(f"{deep}/f{i}", b"x") for i in range(4)))
    path = hostile(tmp_path, fmt, entries)
    code = (
        "import resource, sys, runpy; "
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
        "sys.argv = ['validate.py', sys.argv[1], '--json']; "
        "runpy.run_path('validate.py', run_name='__main__')"
    )
    assert resource.RLIMIT_AS
    import subprocess
    import sys

    from tests.support.cli import clean_env
    from tests.support.paths import ROOT

    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True, text=True, check=False, cwd=ROOT, env=clean_env(), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "AV515" in {f["code"] for f in json.loads(proc.stdout)["findings"]}


@pytest.mark.parametrize("fmt", FORMATS)
def test_paths_json_type_must_match_the_member(tmp_path: Path, fmt: str, matcher: Matcher) -> None:
    """paths.json says softlink for a regular file: AV606."""
    entries = package_entries("evil", Entry("bin/tool", b"t"))
    doc = json.loads(entries[1].data)
    doc["paths"][0]["path_type"] = "softlink"
    entries[1] = Entry("info/paths.json", json.dumps(doc).encode())
    assert "AV606" in codes_of(hostile(tmp_path, fmt, entries), matcher)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_symlink_target_is_its_own_finding(
    tmp_path: Path, fmt: str, matcher: Matcher
) -> None:
    """An empty target is AV516, not "points outside the install prefix"."""
    entries = package_entries("evil", Entry("lib/libz.so", kind="symlink", linkname=""))
    found = codes_of(hostile(tmp_path, fmt, entries), matcher)
    assert "AV516" in found and "AV504" not in found


def test_cli_exit_code_is_1_for_a_bypass(tmp_path: Path) -> None:
    """The command line agrees: exit 1, the finding code in the report."""
    entries = package_entries(
        "evil", Entry("lib/x", kind="symlink", linkname=".."), Entry("lib/x/bin/openssl", b"e")
    )
    path = hostile(tmp_path, ".conda", entries)
    proc = run_script("validate.py", path, "--subdir", "linux-64")
    assert proc.returncode == 1 and "AV513" in proc.stderr and "AV201" in proc.stderr
