"""Tests of filter generation and ``update_filters.py``: precision rules, output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import update_filters
from artifact_validation.core import FileList
from artifact_validation.filters import DEFAULT_FILTER_DIRS, Filter, Matcher, load_filters
from artifact_validation.filters.generate import (
    DirectorySource,
    PythonPackage,
    generalize,
    generate,
    junk_reason,
    majority_paths,
    minimize,
    protects_shared_directory,
    python_globs,
    write_generated,
)
from tests.support.builders import build_package
from tests.support.channels import write_repodata
from tests.support.cli import run_script
from tests.support.paths import CORPUS, EARLIER, ROOT
from tests.support.servers import LocalServer

OPENSSL = Filter(
    "openssl", ("include/openssl",), ("openssl",), generate_from_artifacts=("openssl",)
)


def fl(name: str, subdir: str, files: list[str], version: str = "1.0") -> FileList:
    """A file list value, as a source returns it."""
    return FileList(name, subdir, tuple(files), {"version": version})


class ListSource:
    """A hand-written in-memory file-list source (the protocol a channel source also meets)."""

    def __init__(self, *file_lists: FileList) -> None:
        self.lists = file_lists

    def describe(self) -> str:
        return "memory"

    def file_lists(self, name: str) -> list[FileList]:
        return [f for f in self.lists if f.name == name]


def files_of(generation, name: str) -> set[str]:
    return {g for f in generation.filters if f.name == name for g in f.files}


def write_lists(root: Path, *lists: tuple[str, str, str, list[str]]) -> Path:
    """Write flat-layout file lists ``root/<subdir>/<name>-<version>-0.json``."""
    for name, version, subdir, files in lists:
        (root / subdir).mkdir(parents=True, exist_ok=True)
        doc = {"files": files, "index": {"name": name, "version": version, "subdir": subdir}}
        (root / subdir / f"{name}-{version}-0.json").write_text(json.dumps(doc))
    return root


@pytest.fixture
def repo(tmp_path: Path) -> dict[str, Path]:
    """A hand-written dir (OpenSSL), an output dir with a Python config, and owners' lists."""
    hand = tmp_path / "validate_yamls"
    hand.mkdir()
    (hand / "openssl.yaml").write_text(
        "files: [include/openssl]\nallowed: [openssl]\ngenerate_from_artifacts: [openssl]\n"
    )
    out = tmp_path / "generated"
    out.mkdir()
    (out / "python_packages.yaml").write_text("certifi:\n  top_level_imports: [certifi]\n")
    lists = write_lists(
        tmp_path / "lists",
        ("openssl", "1.1.1", "linux-64", ["include/openssl/ssl.h", "bin/openssl", "lib/a.so"]),
        ("certifi", "2022.9", "noarch", ["site-packages/certifi/core.py"]),
    )
    return {"hand": hand, "out": out, "lists": lists}


def run(repo: dict[str, Path], *extra: str | Path) -> int:
    """Run update_filters.main on the fixture repo with ``extra`` arguments."""
    args = ["--hand-written", repo["hand"], "--output", repo["out"], *extra]
    return update_filters.main([str(a) for a in args])


# --------------------------------------------------------------------------- junk rule


@pytest.mark.parametrize(
    ("glob", "reason"),
    [
        ("bin/python3.10.bak", "*.bak"),
        ("lib/python*/site-packages/yaml/__pycache__/x.cpython-310.pyc", "__pycache__/"),
        ("lib/python*/site-packages/yaml/x.pyc", "*.pyc"),
        ("include/openssl/ssl.h.orig", "*.orig"),
        ("include/openssl/ssl.h.rej", "*.rej"),
        ("share/doc/.DS_Store", ".DS_Store"),
        ("bin/openssl", None),
        ("lib/python*/site-packages/yaml", None),
        ("share/bakery/x.py", None),
    ],
)
def test_junk_reason(glob: str, reason: str | None) -> None:
    """Backups, byte code, patch residue and Finder files are junk; owners' files are not."""
    assert junk_reason(glob) == reason


def test_junk_is_never_protected() -> None:
    """An owner's accidental bin/python3.10.bak is left out, and junk below its dirs is exempt."""
    pyyaml = PythonPackage("pyyaml", ("yaml",))
    owner = fl(
        "pyyaml", "linux-aarch64", ["bin/python3.10.bak", "lib/python3.10/site-packages/_yaml.so"]
    )
    gen = generate([], [pyyaml], ListSource(owner))
    files = files_of(gen, "pyyaml.python.generated")
    assert "bin/python3.10.bak" not in files
    assert "lib/python*/site-packages/_yaml.so" in files
    assert ("pyyaml.python.generated", "bin/python3.10.bak", "junk") in {
        (d.filter, d.glob, d.rule) for d in gen.dropped
    }
    matcher = Matcher(gen.filters)
    # The earlier validator flagged 698 artifacts like bottleneck for this path.
    assert matcher.check("bottleneck", "linux-aarch64", ["bin/python3.10.bak"]) == []
    junk = ["lib/python3.10/site-packages/yaml/__pycache__/a.cpython-310.pyc"]
    assert matcher.check("other", "linux-64", junk) == []
    real = ["lib/python3.10/site-packages/yaml/a.py"]
    assert [v.path for v in matcher.check("other", "linux-64", real)] == real


# --------------------------------------------------------------------------- shared directories


@pytest.mark.parametrize(
    ("glob", "shared"),
    [
        ("lib", True),
        ("bin", True),
        ("site-packages", True),
        ("lib/python3.10", True),
        ("lib/python3.10/site-packages", True),
        ("lib/python*/site-packages", True),
        ("Lib/site-packages", True),
        ("lib/site-packages", True),  # Lib/site-packages on a case-insensitive Windows
        ("Library/bin", True),
        ("library/BIN", True),
        ("lib/*", True),
        ("*", True),
        ("**/*", True),
        ("share/man/man1", True),
        ("etc/conda/activate.d", True),
        ("lib/libssl.so", False),
        ("bin/openssl", False),
        ("lib/python*/site-packages/yaml", False),
        ("lib/libssl.*.dylib", False),
        ("**/cacert.pem", False),
        ("etc/conda/activate.d/openssl_activate.sh", False),
    ],
)
def test_protects_shared_directory(glob: str, shared: bool) -> None:
    """A glob matching a directory many packages install into is recognised as shared."""
    assert protects_shared_directory(glob) is shared


def test_shared_directories_are_never_protected() -> None:
    """Directory entries and imported globs that would protect lib/, bin/ etc. are dropped."""
    owner = fl("openssl", "linux-64", ["lib", "bin", "lib/python3.6/site-packages", "bin/openssl"])
    imported = Filter("openssl.generated", ("lib/*", "ssl/misc/CA.pl"), ("openssl",))
    gen = generate([OPENSSL], [], ListSource(owner), [imported])
    assert files_of(gen, "openssl.generated") == {"bin/openssl", "ssl/misc/CA.pl"}
    shared = {d.glob for d in gen.dropped if d.rule == "shared directory"}
    assert shared == {"lib", "bin", "lib/python*/site-packages", "lib/*"}
    intruder = ["lib/libz.so", "bin/zlib-flate", "lib/python3.6/site-packages/z.py"]
    assert Matcher(gen.filters).check("zlib", "linux-64", intruder) == []


# --------------------------------------------------------------------------- minority rule


def test_minority_paths_are_dropped_per_subdir() -> None:
    """A path in fewer than half of an owner's artifacts of a subdir is dropped; subdirs apart."""
    linux = [
        fl("openssl", "linux-64", ["bin/openssl", "share/stray.txt"], "1"),
        fl("openssl", "linux-64", ["bin/openssl", "ssl/misc/CA.pl"], "2"),
        fl("openssl", "linux-64", ["bin/openssl", "ssl/misc/CA.pl"], "3"),
        fl("openssl", "linux-64", ["bin/openssl"], "4"),
    ]
    # One Windows artifact among five: its paths are still the majority of win-64.
    windows = [fl("openssl", "win-64", ["Library/bin/openssl.exe"])]
    kept, minority = majority_paths([*linux, *windows])
    assert kept == {"bin/openssl", "ssl/misc/CA.pl", "Library/bin/openssl.exe"}
    assert minority == {"share/stray.txt"}
    gen = generate([OPENSSL], [], ListSource(*linux, *windows))
    assert "share/stray.txt" not in files_of(gen, "openssl.generated")
    assert ("openssl.generated", "share/stray.txt", "minority") in {
        (d.filter, d.glob, d.rule) for d in gen.dropped
    }


def test_python_version_dirs_count_as_one_path() -> None:
    """The same file under lib/python3.X/ in each Python build is one path, not a minority."""
    builds = [
        fl("setuptools", "linux-64", [f"lib/python3.{v}/site-packages/easy_install.py"])
        for v in (8, 9, 10, 11)
    ]
    kept, minority = majority_paths(builds)
    assert kept == {"lib/python*/site-packages/easy_install.py"} and not minority
    assert generalize("lib/pypy3.9/site-packages/x.py") == "lib/pypy*/site-packages/x.py"
    assert generalize("bin/python3.10") == "bin/python3.10"


def test_min_share_option(repo: dict[str, Path], tmp_path: Path) -> None:
    """--min-share 1 keeps only paths every artifact of a subdir ships."""
    write_lists(repo["lists"], ("openssl", "1.1.2", "linux-64", ["bin/openssl"]))
    assert run(repo, "--file-lists", repo["lists"], "--min-share", "1") == 0
    files = yaml.safe_load((repo["out"] / "openssl.generated.yaml").read_text())["files"]
    assert files == ["bin/openssl"]


# --------------------------------------------------------------------------- python globs


def test_python_globs_cover_every_layout() -> None:
    """Package, module and metadata globs exist for all site-packages layouts."""
    pkg = PythonPackage("certifi", ("certifi",))
    globs = set(python_globs(pkg, ["site-packages/Certifi-2019.1.egg-info/PKG-INFO"]))
    for layout in ("lib/python*/site-packages", "Lib/site-packages", "site-packages"):
        assert {
            f"{layout}/certifi",
            f"{layout}/certifi.*",
            f"{layout}/certifi-*.dist-info",
            f"{layout}/certifi-*.egg-info",
            f"{layout}/certifi-*.egg",
            f"{layout}/Certifi-*.egg-info",  # the owner's own spelling
        } <= globs
    assert not any(protects_shared_directory(g) for g in globs)


@pytest.mark.parametrize(
    ("subdir", "path"),
    [
        ("linux-64", "lib/python3.11/site-packages/certifi/core.py"),
        ("linux-64", "lib/python3.11/site-packages/certifi-2022.9.24.dist-info/RECORD"),
        ("linux-64", "lib/python2.7/site-packages/certifi-2018.1-py2.7.egg-info"),
        ("linux-64", "lib/python3.6/site-packages/certifi-2018.1-py3.6.egg"),
        ("win-64", "lib/site-packages/Certifi/core.py"),
        ("noarch", "site-packages/certifi/cacert.pem"),
        ("linux-64", "lib/pypy3.9/site-packages/certifi/__init__.py"),
    ],
)
def test_python_filter_flags_intruders_not_owner(subdir: str, path: str) -> None:
    """A generated Python filter flags another package in each layout, never the owner."""
    gen = generate([], [PythonPackage("certifi", ("certifi",), ("conda-forge-ci",))])
    matcher = Matcher(gen.filters)
    assert [v.path for v in matcher.check("intruder", subdir, [path])] == [path]
    assert matcher.check("certifi", subdir, [path]) == []
    assert matcher.check("conda-forge-ci", subdir, [path]) == []


def test_config_exclude_files_keep_paths_out() -> None:
    """python_packages.yaml exclude_files keep owner paths out and become filter excludes."""
    pkg = PythonPackage("certifi", ("certifi",), exclude_files=("lib-python/3/lib2to3/**/*",))
    owner = fl("certifi", "linux-64", ["lib-python/3/lib2to3/x.py", "bin/certifi-tool"])
    gen = generate([], [pkg], ListSource(owner))
    files = files_of(gen, "certifi.python.generated")
    assert "bin/certifi-tool" in files and "lib-python/3/lib2to3/x.py" not in files
    assert "lib-python/3/lib2to3/**/*" in gen.filters[0].exclude_files


# --------------------------------------------------------------------------- minimize


def test_minimize_drops_covered_globs() -> None:
    """Globs covered by a parent or a wildcard glob of the same filter are dropped."""
    globs = [
        "lib/x",
        "lib/x/**/*",
        "lib/x/a.py",
        "lib/python*/site-packages/yaml",
        "lib/python*/site-packages/yaml/a.py",
        "lib/python3.10/site-packages/yaml/b.py",
        "lib/libssl.so",
    ]
    assert minimize(globs) == ["lib/libssl.so", "lib/python*/site-packages/yaml", "lib/x"]
    assert minimize(["bin/openssl", "ssl/misc/x"], covering=["bin/openssl"]) == ["ssl/misc/x"]


_component = st.sampled_from(["a", "b", "ab", "a.b"])
_glob_part = st.sampled_from(["a", "b", "ab", "a.b", "*", "**", "a*", "?", "[ab]"])


@settings(max_examples=300, deadline=None)
@given(
    globs=st.lists(st.lists(_glob_part, min_size=1, max_size=4).map("/".join), min_size=1),
    paths=st.lists(st.lists(_component, min_size=1, max_size=5).map("/".join), min_size=1),
)
def test_minimize_never_changes_what_is_flagged(globs: list[str], paths: list[str]) -> None:
    """A minimized glob set flags exactly the paths the full set flags."""

    def flagged(gs: list[str]) -> set[str]:
        matcher = Matcher([Filter("f", tuple(gs), ("owner",))])
        return {v.path for v in matcher.check("x", "linux-64", paths)}

    assert flagged(minimize(globs)) == flagged(globs)


def test_generated_filter_does_not_repeat_hand_written() -> None:
    """What the hand-written filter protects is left out of its generated filter."""
    owner = fl("openssl", "linux-64", ["include/openssl/ssl.h", "bin/openssl"])
    gen = generate([OPENSSL], [], ListSource(owner))
    assert files_of(gen, "openssl.generated") == {"bin/openssl"}


# --------------------------------------------------------------------------- import mode


def test_import_merges_and_applies_rules(repo: dict[str, Path], tmp_path: Path) -> None:
    """--import keeps an earlier filter's coverage, merged by name, without its junk."""
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "certifi.python.generated.yaml").write_text(
        "files: [bin/certifi.bak, lib/python3.8/site-packages/certifi/x.py, bin/certify]\n"
        "allowed: [certifi]\n"
    )
    (earlier / "gone.generated.yaml").write_text("files: [share/gone/x]\nallowed: [gone]\n")
    (earlier / "junk.generated.yaml").write_text("files: [a/b.pyc]\nallowed: [junk]\n")
    assert run(repo, "--import", earlier, "--file-lists", repo["lists"]) == 0
    out = repo["out"]
    certifi = yaml.safe_load((out / "certifi.python.generated.yaml").read_text())
    assert "bin/certify" in certifi["files"]  # imported coverage kept
    assert "bin/certifi.bak" not in certifi["files"]  # junk dropped
    assert "lib/python*/site-packages/certifi" in certifi["files"]  # merged with our globs
    assert not any(f.startswith("lib/python3.8") for f in certifi["files"])  # covered
    gone = yaml.safe_load((out / "gone.generated.yaml").read_text())
    assert gone["files"] == ["share/gone/x"] and gone["allowed"] == ["gone"]
    assert not (out / "junk.generated.yaml").exists()  # nothing but junk: no filter
    assert load_filters([out])  # what was written loads strictly


def test_import_rejects_non_generated_names(repo: dict[str, Path], tmp_path: Path, capsys) -> None:
    """An import dir holding a file not named *.generated.yaml is exit 2, naming it."""
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "openssl.yaml").write_text("files: [bin/openssl]\nallowed: [openssl]\n")
    assert run(repo, "--import", earlier) == 2
    assert "openssl.yaml" in capsys.readouterr().err


# --------------------------------------------------------------------------- sources


def test_libcfgraph_layout(tmp_path: Path) -> None:
    """The libcfgraph layout artifacts/<name>/<channel>/<subdir>/<stem>.json is read."""
    d = tmp_path / "artifacts" / "openssl" / "conda-forge" / "linux-64"
    d.mkdir(parents=True)
    doc = {"files": ["bin/openssl"], "index": {"name": "openssl", "subdir": "linux-64"}}
    (d / "openssl-1.1.1-0.json").write_text(json.dumps(doc))
    source = DirectorySource(tmp_path)
    assert [f.paths for f in source.file_lists("openssl")] == [("bin/openssl",)]
    assert source.file_lists("zlib") == []


def test_corpus_flat_layout() -> None:
    """The corpus (flat layout) gives each owner's file lists by name, across subdirs."""
    lists = DirectorySource(CORPUS / "file-lists").file_lists("openssl")
    assert sorted(f.subdir for f in lists) == ["linux-64", "osx-64", "win-64"]


def build_owner_channel(root: Path) -> Path:
    """A channel directory: three OpenSSL builds (one with a stray file), certifi, and zlib."""
    linux, noarch = root / "linux-64", root / "noarch"
    common = {"bin/openssl": b"x", "include/openssl/ssl.h": b"x", "ssl/misc/CA.pl": b"x"}
    build_package(linux, "openssl", common, version="3.0.0")
    build_package(linux, "openssl", {**common, "share/stray.txt": b"x"}, version="3.0.1")
    build_package(linux, "openssl", common, version="3.0.2", fmt=".tar.bz2")
    build_package(linux, "zlib", {"lib/libz.so": b"x"})
    certifi = {
        "site-packages/certifi/core.py": b"",
        "site-packages/Certifi-1.dist-info/RECORD": b"",
    }
    build_package(noarch, "certifi", certifi, subdir="noarch")
    write_repodata(linux)
    write_repodata(noarch)
    return root


def test_channel_source(repo: dict[str, Path], tmp_path: Path, capsys) -> None:
    """--channel reads the owners' artifacts from a channel and applies the rules to them."""
    channel = build_owner_channel(tmp_path / "channel")
    assert run(repo, "--channel", channel, "--subdir", "linux-64", "--subdir", "noarch") == 0
    openssl = yaml.safe_load((repo["out"] / "openssl.generated.yaml").read_text())
    assert openssl["files"] == ["bin/openssl", "ssl/misc/CA.pl"]  # no stray, no hand-written
    certifi = yaml.safe_load((repo["out"] / "certifi.python.generated.yaml").read_text())
    assert "site-packages/Certifi-*.dist-info" in certifi["files"]
    err = capsys.readouterr().err
    assert "dropped (minority): 1 globs" in err and "share/stray.txt" in err


def test_channel_over_http_matches_directory(repo: dict[str, Path], tmp_path: Path) -> None:
    """A channel served over HTTP (Range reads of .conda info) gives the same files as on disk."""
    channel = build_owner_channel(tmp_path / "channel")
    subdirs = ("--subdir", "linux-64", "--subdir", "noarch")
    assert run(repo, "--channel", channel, *subdirs) == 0
    on_disk = {p.name: p.read_text() for p in repo["out"].glob("*.generated.yaml")}
    with LocalServer(root=channel) as server:
        assert run(repo, "--channel", server.url, *subdirs, "--check") == 0
        assert any("range" in {k.lower() for k in h} for _, _, h in server.requests)
    assert {p.name: p.read_text() for p in repo["out"].glob("*.generated.yaml")} == on_disk


def test_channel_failure_exits_3(repo: dict[str, Path], tmp_path: Path, capsys) -> None:
    """An owner's artifact the channel lists but cannot serve is exit 3; nothing is written."""
    channel = build_owner_channel(tmp_path / "channel")
    next((channel / "linux-64").glob("openssl-3.0.1-*.conda")).unlink()
    with LocalServer(root=channel) as server:
        assert run(repo, "--channel", server.url, "--subdir", "linux-64") == 3
    assert "openssl-3.0.1" in capsys.readouterr().err
    assert not (repo["out"] / "openssl.generated.yaml").exists()


# --------------------------------------------------------------------------- output


def test_deterministic_and_rewritten_only_on_change(repo: dict[str, Path]) -> None:
    """Two runs give identical sorted files; an unchanged file is not rewritten at all."""
    assert run(repo, "--file-lists", repo["lists"]) == 0
    path = repo["out"] / "openssl.generated.yaml"
    first, stat = path.read_text(), path.stat()
    doc = yaml.safe_load(first)
    assert doc["files"] == sorted(doc["files"]) and list(doc) == sorted(doc)
    assert run(repo, "--file-lists", repo["lists"]) == 0
    assert path.read_text() == first
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)


def test_written_atomically_and_stale_files_removed(repo: dict[str, Path]) -> None:
    """A changed file is replaced by rename, stale generated files go, others stay."""
    out = repo["out"]
    (out / "openssl.generated.yaml").write_text("files: [old]\nallowed: [openssl]\n")
    before = (out / "openssl.generated.yaml").stat().st_ino
    (out / "stale.generated.yaml").write_text("files: [x]\nallowed: [y]\n")
    (out / "notes.txt").write_text("mine")
    config = (out / "python_packages.yaml").read_text()
    assert run(repo, "--file-lists", repo["lists"]) == 0
    assert (out / "openssl.generated.yaml").stat().st_ino != before  # os.replace, not in place
    assert not (out / "stale.generated.yaml").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "python_packages.yaml").read_text() == config
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_change_summary(repo: dict[str, Path], capsys) -> None:
    """The run ends with what changed per file (+/- globs) and what each rule dropped."""
    out = repo["out"]
    (out / "openssl.generated.yaml").write_text("files: [old, bin/openssl]\nallowed: [openssl]\n")
    (out / "stale.generated.yaml").write_text("files: [x]\nallowed: [y]\n")
    write_lists(repo["lists"], ("certifi", "2022.10", "noarch", ["bin/x.bak"]))
    assert run(repo, "--file-lists", repo["lists"]) == 0
    err = capsys.readouterr().err
    assert "1 added, 1 changed, 1 removed, 0 unchanged" in err
    assert "~ openssl.generated.yaml: changed, +1 -1 globs" in err  # +lib/a.so -old
    assert "+ certifi.python.generated.yaml: added" in err
    assert "- stale.generated.yaml: removed, +0 -1 globs" in err
    assert "dropped (junk): 1 globs" in err and "certifi.python.generated: bin/x.bak" in err
    assert run(repo, "--file-lists", repo["lists"]) == 0
    assert "0 added, 0 changed, 0 removed, 2 unchanged" in capsys.readouterr().err


# --------------------------------------------------------------------------- exit codes


def test_check_exit_codes(repo: dict[str, Path]) -> None:
    """--check writes nothing: exit 1 when files would change, 0 once they are current."""
    assert run(repo, "--file-lists", repo["lists"], "--check") == 1
    assert not (repo["out"] / "openssl.generated.yaml").exists()
    assert run(repo, "--file-lists", repo["lists"]) == 0
    assert run(repo, "--file-lists", repo["lists"], "--check") == 0


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda r: None, "no file lists of openssl"),
        (lambda r: (r["hand"] / "bad.yaml").write_text("files: []\nallowed: [a]\n"), "bad.yaml"),
        (
            lambda r: (r["out"] / "python_packages.yaml").write_text("x:\n  imports: [x]\n"),
            "unknown key 'imports'",
        ),
        (
            lambda r: (r["out"] / "python_packages.yaml").write_text(
                "x:\n  top_level_imports: ['a*']\n"
            ),
            "is not an import",
        ),
    ],
)
def test_bad_inputs_exit_2(repo: dict[str, Path], tmp_path: Path, setup, message, capsys) -> None:
    """Bad filters, a bad config, or owners without any file list are exit 2 with a message."""
    setup(repo)
    empty = write_lists(tmp_path / "other", ("zlib", "1", "linux-64", ["lib/libz.so"]))
    assert run(repo, "--file-lists", empty) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (repo["out"] / "openssl.generated.yaml").exists()


def test_usage_errors_exit_2(repo: dict[str, Path], tmp_path: Path, capsys) -> None:
    """No source, a bad --min-share, a missing dir or a mismatched file list are exit 2."""
    for argv in ([], ["--file-lists", repo["lists"], "--min-share", "0"]):
        with pytest.raises(SystemExit) as info:
            run(repo, *argv)
        assert info.value.code == 2
    assert run(repo, "--file-lists", tmp_path / "nope") == 2
    bad = tmp_path / "bad" / "linux-64"
    bad.mkdir(parents=True)
    (bad / "openssl-1-0.json").write_text('{"files": [], "index": {"name": "x", "subdir": "a"}}')
    assert run(repo, "--file-lists", tmp_path / "bad") == 2
    assert "index.name is 'x'" in capsys.readouterr().err


def test_unwritable_output_exits_3(repo: dict[str, Path], tmp_path: Path) -> None:
    """When the output cannot be written, nothing passes: exit 3."""
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    code = update_filters.main(
        [
            "--hand-written", str(repo["hand"]),
            "--config", str(repo["out"] / "python_packages.yaml"),
            "--output", str(blocker / "out"),
            "--file-lists", str(repo["lists"]),
        ]
    )  # fmt: skip
    assert code == 3


# --------------------------------------------------------------------------- shipped filters


def test_shipped_generated_filters_are_current() -> None:
    """generated_validate_yamls/ is exactly what the documented command produces."""
    proc = run_script(
        "update_filters.py",
        "--import",
        EARLIER / "generated_validate_yamls",
        "--file-lists",
        CORPUS / "file-lists",
        "--check",
    )
    assert proc.returncode == 0, proc.stderr


def _example(glob: str) -> str:
    """A concrete path a glob matches (wildcards replaced by plain names)."""
    parts = []
    for part in glob.split("/"):
        if part == "**":
            continue
        plain = part
        for wild, name in (("*", "x1"), ("?", "q"), ("[0-9]", "7"), ("[!0-9]", "z")):
            plain = plain.replace(wild, name)
        parts.append(plain)
    return "/".join(parts)


def test_shipped_filters_keep_earlier_coverage() -> None:
    """Every non-junk path the earlier generated filters protect, ours protect too."""
    ours = Matcher(load_filters([ROOT / d for d in DEFAULT_FILTER_DIRS]))
    missing = []
    for flt in load_filters([EARLIER / "generated_validate_yamls"]):
        for glob in flt.files:
            path = _example(glob)
            if junk_reason(glob) is None and not ours.check("intruder", "linux-64", [path]):
                missing.append((flt.name, path))
    assert missing == []


def test_shipped_filters_never_flag_their_owners() -> None:
    """No owner file list in the corpus is flagged by the shipped filters."""
    matcher = Matcher(load_filters([ROOT / d for d in DEFAULT_FILTER_DIRS]))
    owners = {"openssl", "ca-certificates", "certifi", "pyyaml", "setuptools", "pip", "click"}
    owners |= {"requests", "tqdm"}
    checked = 0
    for path in sorted((CORPUS / "file-lists").glob("*/*.json")):
        doc = json.loads(path.read_text())
        if doc["index"]["name"] in owners:
            checked += 1
            assert matcher.check(doc["index"]["name"], doc["index"]["subdir"], doc["files"]) == []
    assert checked >= 15


def test_literal_paths_become_literal_globs(tmp_path: Path) -> None:
    """A file literally named ``lib/*.so`` protects itself only, not every library."""
    owner = fl("openssl", "linux-64", ["lib/*.so", "include/openssl/ssl.h", "lib/odd "])
    generation = generate([OPENSSL], [], ListSource(owner))
    files = files_of(generation, "openssl.generated")
    assert "lib/[*].so" in files and "lib/odd[ ]" in files
    matcher = Matcher(generation.filters)
    assert matcher.check("other", "linux-64", ["lib/libz.so"]) == []
    assert [v.path for v in matcher.check("other", "linux-64", ["lib/*.so", "lib/odd "])] == [
        "lib/*.so",
        "lib/odd ",
    ]


def test_unrepresentable_paths_are_dropped_and_output_reloads(tmp_path: Path) -> None:
    """A path no glob can spell is dropped by rule; what is written always loads back."""
    owner = fl("openssl", "linux-64", ["lib\\x", "bin/openssl"])
    generation = generate([OPENSSL], [], ListSource(owner))
    assert any(d.rule == "invalid glob" for d in generation.dropped)
    out = tmp_path / "out"
    out.mkdir()
    write_generated(generation.filters, out)
    assert load_filters([out])


def test_update_filters_never_writes_a_file_that_breaks_the_other_clis(tmp_path: Path) -> None:
    """End to end: odd owner paths, then validate.py with the generated filters exits 0."""
    lists = write_lists(
        tmp_path / "lists",
        ("openssl", "1.0", "linux-64", ["include/openssl/ssl.h", "lib/*.so", "share/a b "]),
    )
    hand = tmp_path / "hand"
    hand.mkdir()
    (hand / "openssl.yaml").write_text(
        "files: [include/openssl]\nallowed: [openssl]\ngenerate_from_artifacts: [openssl]\n"
    )
    out = tmp_path / "generated"
    out.mkdir()
    (out / "python_packages.yaml").write_text("{}\n")
    proc = run_script(
        "update_filters.py", "--file-lists", lists, "--output", out, "--hand-written", hand
    )
    assert proc.returncode == 0, proc.stderr
    listing = tmp_path / "fl.json"
    listing.write_text(
        json.dumps({"files": ["lib/libz.so"], "index": {"name": "z", "subdir": "linux-64"}})
    )
    check = run_script("validate.py", "--filters", hand, "--filters", out, "--file-list", listing)
    assert check.returncode == 0, check.stderr
