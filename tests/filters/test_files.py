"""Tests of strict filter loading: every loader error names the file and the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from artifact_validation.core import FilterError
from artifact_validation.filters import Matcher, dump_filter, load_filter_file, load_filters
from tests.support.cli import run_script
from tests.support.paths import EARLIER_FILTER_DIRS, ROOT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("files: [a]\nallowed: [x]\nowner: me\n", "unknown key 'owner'"),
        ("allowed: [x]\n", "missing required key 'files'"),
        ("files: [a]\n", "missing required key 'allowed'"),
        ("files: []\nallowed: [x]\n", "'files' must not be empty"),
        ("files: a\nallowed: [x]\n", "'files' must be a list"),
        ("files: [a]\nallowed: x\n", "'allowed' must be a list"),
        ("files: [1]\nallowed: [x]\n", "'files' entries must be strings"),
        ("files: [a]\nallowed: [x]\nexclude_files: [/abs]\n", "'exclude_files' glob '/abs'"),
        ("files: ['/etc/passwd']\nallowed: [x]\n", "is absolute"),
        ("files: ['a//b']\nallowed: [x]\n", "empty, '.' or '..' component"),
        ("files: ['a/../b']\nallowed: [x]\n", "'..'"),
        ("files: ['lib/a**']\nallowed: [x]\n", "'**' must stand alone"),
        ("files: ['lib/[ab']\nallowed: [x]\n", "unterminated '['"),
        ("files: ['lib/[z-a].so']\nallowed: [x]\n", "invalid character class"),
        ("files: ['lib\\\\x']\nallowed: [x]\n", "backslash"),
        ("files: [a]\nallowed: ['']\n", "empty package name"),
        ("- a\n- b\n", "must be a mapping"),
        ("files: [a\n", "not valid YAML"),
    ],
)
def test_loader_errors_name_file_and_key(filter_dir, text: str, message: str) -> None:
    """A malformed filter is a FilterError naming the file and what is wrong."""
    directory = filter_dir("bad", text)
    with pytest.raises(FilterError) as info:
        load_filters([directory])
    assert message in str(info.value)
    assert str(directory / "bad.yaml") in str(info.value)


def test_duplicate_filter_names_across_dirs(tmp_path: Path) -> None:
    """Two filters with one name (in two dirs) are an error naming both files."""
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "openssl.yaml").write_text("files: [x]\nallowed: [y]\n")
    with pytest.raises(FilterError, match="already defined"):
        load_filters([tmp_path / "a", tmp_path / "b"])


def test_missing_dir_and_empty_set(tmp_path: Path) -> None:
    """A missing directory or a set with no filter at all is an error, never an empty pass."""
    with pytest.raises(FilterError, match="does not exist"):
        load_filters([tmp_path / "nope"])
    with pytest.raises(FilterError, match="no filter files"):
        load_filters([tmp_path])


def test_generator_config_is_not_a_filter(filter_dir) -> None:
    """python_packages.yaml beside the filters is skipped by the loader."""
    directory = filter_dir("python_packages", "certifi:\n  top_level_imports: [certifi]\n")
    (directory / "x.yaml").write_text("files: [a]\nallowed: [b]\n")
    assert [f.name for f in load_filters([directory])] == ["x"]


def test_shipped_and_earlier_filters_load() -> None:
    """The repository's filters and the earlier validator's load without error."""
    assert load_filters([ROOT / "validate_yamls", ROOT / "generated_validate_yamls"])
    names = {f.name for f in load_filters(EARLIER_FILTER_DIRS)}
    assert {"openssl", "openssl.generated", "pyyaml.python.generated"} <= names


def test_dump_is_sorted_and_round_trips(filter_dir) -> None:
    """dump_filter writes sorted keys and lists, and loads back to the same filter."""
    directory = filter_dir("f", "files: [b, a]\nallowed: [z, y]\n")
    flt = load_filter_file(directory / "f.yaml")
    text = dump_filter(flt)
    assert text == "allowed:\n- y\n- z\nfiles:\n- a\n- b\n"


def test_reversed_range_exits_2_at_load(filter_dir) -> None:
    """``[z-a]`` is refused when the filters load (exit 2), never at match time (exit 3)."""
    directory = filter_dir("bad", "files: ['lib/[z-a].so']\nallowed: [x]\n")
    proc = run_script("validate.py", "--filters", directory, "--file-list", "missing.json")
    assert proc.returncode == 2 and "invalid character class" in proc.stderr


def test_untrusted_values_are_never_repr_d_whole(filter_dir) -> None:
    """A huge non-string entry is named by its type, never printed."""
    directory = filter_dir("big", "files: [[" + ", ".join(["x"] * 10_000) + "]]\nallowed: [x]\n")
    with pytest.raises(FilterError) as err:
        load_filters([directory])
    assert "a list" in str(err.value) and len(str(err.value)) < 300


def test_violations_name_the_filter_file_and_the_globs_line(filter_dir) -> None:
    """A violation says which file and line protect the path (block and flow lists alike)."""
    text = (
        "# headers\nfiles:\n  - include/foo\n  # libraries\n  - lib/libfoo.so.*\nallowed: [foo]\n"
    )
    directory = filter_dir("foo", text)
    filter_dir("bar", "allowed: [bar]\nfiles: [share/bar, etc/bar]\n")
    filters = load_filters([directory])
    assert [f.file for f in filters] == ["filters/bar.yaml", "filters/foo.yaml"]
    paths = ["include/foo/a.h", "lib/libfoo.so.1", "etc/bar", "lib/other"]
    found = {
        v.path: (v.filter_file, v.filter_line, v.where)
        for v in Matcher(filters).check("x", "linux-64", paths)
    }
    assert found == {
        "etc/bar": ("filters/bar.yaml", 2, "filters/bar.yaml:2"),
        "include/foo/a.h": ("filters/foo.yaml", 3, "filters/foo.yaml:3"),
        "lib/libfoo.so.1": ("filters/foo.yaml", 5, "filters/foo.yaml:5"),
    }
    # Read again when the file changes; unreadable or not from a file: no line (0), no error.
    (directory / "foo.yaml").write_text("\n\n" + text, encoding="utf-8")
    assert filters[1].line_of("include/foo") == 5
    (directory / "foo.yaml").write_text("files: [include/foo", encoding="utf-8")
    assert filters[1].line_of("include/foo") == 0
    assert dataclasses.replace(filters[1], file="", source="").line_of("include/foo") == 0
