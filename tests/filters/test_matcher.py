"""Tests of the glob semantics and the one-pass matcher."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact_validation.filters import Filter, Matcher, Violation, glob_to_regex


def flags(glob: str, path: str, subdir: str = "linux-64", **kw: tuple[str, ...]) -> bool:
    flt = Filter("f", (glob,), kw.get("allowed", ("owner",)), kw.get("exclude", ()))
    return bool(Matcher([flt]).check("intruder", subdir, [path]))


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        # '*' and '?' stay inside one component
        ("lib/*.so", "lib/libssl.so", True),
        ("lib/*.so", "lib/sub/libssl.so", False),
        ("lib/lib?.so", "lib/libz.so", True),
        ("lib/lib?.so", "lib/libzz.so", False),
        ("lib/*", "lib/a/b", True),  # parent protection: lib/a matches, protects lib/a/b
        # character classes and negation
        ("bin/python3.[0-9]", "bin/python3.8", True),
        ("bin/python3.[0-9]", "bin/python3.x", False),
        ("bin/python3.[!0-9]", "bin/python3.x", True),
        ("bin/python3.[!0-9]", "bin/python3.8", False),
        # '**' is zero or more whole directories
        ("include/**/ssl.h", "include/ssl.h", True),
        ("include/**/ssl.h", "include/openssl/ssl.h", True),
        ("include/**/ssl.h", "include/a/b/c/ssl.h", True),
        ("include/**/ssl.h", "include/openssl/xssl.h", False),
        ("include/openssl/**/*", "include/openssl/ssl.h", True),
        ("include/openssl/**/*", "include/openssl", False),
        ("**/cacert.pem", "ssl/cacert.pem", True),
        # a glob matching a parent directory protects everything below it
        ("include/openssl", "include/openssl/ssl.h", True),
        ("include/openssl", "include/openssl/deep/x.h", True),
        ("include/openssl", "include/openssl2/ssl.h", False),
        ("include/openssl", "include/openssl", True),
        # literal globs are exact
        ("bin/pip", "bin/pip3", False),
        ("bin/pip", "bin/pip", True),
    ],
)
def test_glob_rules(glob: str, path: str, expected: bool) -> None:
    """Each glob rule of docs/filters.md holds for the trie and for the reference regex."""
    assert flags(glob, path) is expected
    assert bool(glob_to_regex(glob).match(path + "/")) is expected


@pytest.mark.parametrize(
    ("subdir", "expected"),
    [
        ("win-64", True),
        ("osx-64", True),
        ("osx-arm64", True),
        ("linux-64", False),
        ("noarch", False),
    ],
)
def test_case_insensitive_platforms(subdir: str, expected: bool) -> None:
    """win-* and osx-* compare paths case-insensitively, others exactly."""
    assert (
        flags("Lib/site-packages/certifi", "lib/site-packages/Certifi/core.py", subdir) is expected
    )


def test_allowed_and_excludes() -> None:
    """An allowed package is never flagged; an exclude glob overrides the filter's files."""
    flt = Filter("certifi", ("site-packages/certifi",), ("certifi",), ("site-packages/certifi/x",))
    matcher = Matcher([flt])
    assert matcher.check("certifi", "noarch", ["site-packages/certifi/core.py"]) == []
    assert matcher.check("other", "noarch", ["site-packages/certifi/x/y.py"]) == []
    assert matcher.check("other", "noarch", ["site-packages/certifi/core.py"]) == [
        Violation("site-packages/certifi/core.py", "certifi", "site-packages/certifi", ("certifi",))
    ]


def test_exclude_of_one_filter_does_not_hide_another() -> None:
    """Excludes are per filter: another filter protecting the same path still flags it."""
    a = Filter("a", ("bin/*",), ("x",), ("bin/tool",))
    b = Filter("b", ("bin/tool",), ("y",))
    violations = Matcher([a, b]).check("z", "linux-64", ["bin/tool"])
    assert [v.filter for v in violations] == ["b"]


def test_violation_names_smallest_glob_and_sorted_output() -> None:
    """One violation per (path, filter), naming the smallest matching glob; output sorted."""
    flt = Filter("o", ("include/openssl/**/*", "include/openssl"), ("openssl",))
    out = Matcher([flt]).check("x", "linux-64", ["include/openssl/b.h", "include/openssl/a.h"])
    assert [(v.path, v.glob) for v in out] == [
        ("include/openssl/a.h", "include/openssl"),
        ("include/openssl/b.h", "include/openssl"),
    ]


component = st.text(alphabet="abAB.-_", min_size=1, max_size=3)
glob_part = st.one_of(
    component,
    st.just("*"),
    st.just("**"),
    st.just("a*"),
    st.just("?"),
    st.just("[ab]"),
    st.just("[!a]"),
)


@settings(max_examples=300, deadline=None)
@given(
    globs=st.lists(
        st.lists(glob_part, min_size=1, max_size=4).map("/".join), min_size=1, max_size=4
    ),
    paths=st.lists(
        st.lists(component, min_size=1, max_size=5).map("/".join), min_size=1, max_size=8
    ),
    fold=st.booleans(),
)
def test_trie_agrees_with_reference_regex(globs: list[str], paths: list[str], fold: bool) -> None:
    """The trie flags exactly the paths that some glob's reference regex matches."""
    subdir = "win-64" if fold else "linux-64"
    matcher = Matcher([Filter("f", tuple(globs), ("owner",))])
    got = {v.path for v in matcher.check("x", subdir, paths)}
    regexes = [glob_to_regex(g, fold) for g in globs]
    expected = {p for p in paths if any(rx.match(p + "/") for rx in regexes)}
    assert got == expected


def test_cache_reset_keeps_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a tiny cache limit the trie forgets states mid-check and still agrees with regexes."""
    import artifact_validation.filters.matcher as matcher_module

    monkeypatch.setattr(matcher_module, "_MEMO_LIMIT", 2)
    globs = ("include/openssl", "lib/python*/site-packages/yaml", "**/*.pem", "bin/[!x]*")
    paths = ["include/openssl/ssl.h", "lib/python3.11/site-packages/yaml/a/b.py", "ssl/c.pem"]
    paths += ["bin/tool", "bin/xtool", "lib/python3.11/site-packages/other.py", "a/b/c/d/e"]
    matcher = Matcher([Filter("f", globs, ("owner",))])
    for _ in range(3):
        got = {v.path for v in matcher.check("x", "linux-64", paths)}
        expected = {p for p in paths if any(glob_to_regex(g).match(p + "/") for g in globs)}
        assert got == expected


def test_very_deep_path() -> None:
    """A path thousands of directories deep is checked without recursion limits."""
    deep = "/".join(["d"] * 5000) + "/ssl.h"
    matcher = Matcher([Filter("f", ("d/**/ssl.h",), ("owner",))])
    assert [v.path for v in matcher.check("x", "linux-64", [deep])] == [deep]


# Characters that sort just before and after '/' ('-', '.', '0'), so runs of paths under one
# directory are interleaved with siblings such as "a.b" and "a0" (the matcher bisects over runs).
sorting_component = st.text(alphabet="aA.-0_", min_size=1, max_size=3)
sorting_glob_part = st.one_of(sorting_component, st.sampled_from(["*", "**", "a*", "[a.]", "?"]))
a_glob = st.lists(sorting_glob_part, min_size=1, max_size=4).map("/".join)


@settings(max_examples=300, deadline=None)
@given(
    filters=st.lists(
        st.tuples(
            st.lists(a_glob, min_size=1, max_size=3),
            st.lists(a_glob, max_size=2),
            st.booleans(),
        ),
        min_size=1,
        max_size=4,
    ),
    paths=st.lists(st.lists(sorting_component, min_size=1, max_size=5).map("/".join), max_size=12),
    fold=st.booleans(),
)
def test_filters_with_excludes_and_owners_agree_with_reference(
    filters: list[tuple[list[str], list[str], bool]], paths: list[str], fold: bool
) -> None:
    """Several filters, exclude globs, filters that allow the package, unsorted and repeated
    paths: exactly the (path, filter) pairs the reference regexes flag, with original spelling.

    Hostile twin of the run skipping: a directory that only the package's own filters
    protect is skipped, so another filter's glob below it must still flag.
    """
    subdir = "osx-arm64" if fold else "linux-64"
    built = [
        Filter(f"f{i}", tuple(files), ("pkg",) if mine else ("owner",), tuple(excludes))
        for i, (files, excludes, mine) in enumerate(filters)
    ]
    got = sorted((v.path, v.filter) for v in Matcher(built).check("pkg", subdir, paths))
    expected = []
    for path in paths:
        for flt in built:
            if "pkg" in flt.allowed:
                continue
            hit = any(glob_to_regex(g, fold).match(path + "/") for g in flt.files)
            out = any(glob_to_regex(g, fold).match(path + "/") for g in flt.exclude_files)
            if hit and not out:
                expected.append((path, flt.name))
    assert got == sorted(expected)


def test_owner_directory_still_checked_for_other_filters() -> None:
    """The owner of lib/foo/** ships lib/foo/bar.h, which another filter protects: flagged;
    siblings that sort around the skipped run ('lib/foo.h', 'lib/foo0') are checked too."""
    mine = Filter("foo", ("lib/foo/**",), ("foo",))
    other = Filter("bar", ("lib/foo/bar.h", "lib/foo.h", "lib/foo0"), ("bar",))
    paths = ["lib/foo/a.h", "lib/foo/z/y.h", "lib/foo/bar.h", "lib/foo.h", "lib/foo0", "lib/fo"]
    got = [(v.path, v.filter) for v in Matcher([mine, other]).check("foo", "linux-64", paths)]
    assert got == [("lib/foo.h", "bar"), ("lib/foo/bar.h", "bar"), ("lib/foo0", "bar")]


def test_case_folded_paths_keep_their_spelling() -> None:
    """On win-64 two spellings of one protected path are both reported, as shipped."""
    flt = Filter("ssl", ("Library/include/openssl/**",), ("openssl",))
    paths = ["library/INCLUDE/openssl/ssl.h", "zzz/other", "Library/include/OpenSSL/ssl.h"]
    got = [v.path for v in Matcher([flt]).check("intruder", "win-64", paths)]
    assert got == ["Library/include/OpenSSL/ssl.h", "library/INCLUDE/openssl/ssl.h"]
