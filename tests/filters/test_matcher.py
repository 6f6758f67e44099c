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
