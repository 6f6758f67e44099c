"""The re-check from cached file lists (issue 14 §2): parallel equals serial, fast paths agree."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from artifact_validation.channel import Channel
from artifact_validation.core.conda import fold
from artifact_validation.core.filelist import load_file_list
from artifact_validation.filters import DEFAULT_FILTER_DIRS, Matcher, load_filters
from artifact_validation.filters.matcher import _folded
from artifact_validation.scan import FileListCache, OutputPaths, ScanConfig, recheck, run_scan
from artifact_validation.scan import cache as cache_module
from tests.support.paths import ROOT

from .test_scan import (
    OPENSSL,
    many,
    read_yaml,
    run_lib,
    templates,  # noqa: F401  (the fixture)
)

CORPUS = ROOT / "tests" / "data" / "corpus" / "file-lists"
SUBDIRS = ("linux-64", "linux-aarch64", "noarch", "osx-64", "osx-arm64", "win-64")


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_filters([ROOT / d for d in DEFAULT_FILTER_DIRS]))


def corpus_cache(directory: Path, copies: int) -> dict[str, str]:
    """Every corpus file list ``copies`` times in a cache of several segments; key -> subdir."""
    cache = FileListCache(directory)
    keys = {}
    for i in range(copies):
        for path in sorted(CORPUS.glob("*/*.json")):
            file_list = load_file_list(path)
            key = f"{path.parent.name}/{path.stem}r{i}"
            cache.add(key, file_list.name, file_list.paths)
            keys[key] = path.parent.name
        cache.flush()
    return keys


def test_parallel_recheck_equals_serial_on_the_corpus(tmp_path: Path, matcher: Matcher) -> None:
    """Forked workers return exactly the serial violations, for every cached build."""
    keys = corpus_cache(tmp_path / "cache", 3)
    cache = FileListCache(tmp_path / "cache")
    serial = {k: (n, v) for k, n, v in recheck.check_cached(cache, matcher, keys, 1)}
    parallel = {k: (n, v) for k, n, v in recheck.check_cached(cache, matcher, keys, 3)}
    assert set(serial) == set(keys)
    assert parallel == serial
    assert any(v for _, v in serial.values()), "the corpus must have some violations"


@pytest.mark.parametrize("copies", [1, 3])
def test_out_of_time_stops_the_workers(tmp_path: Path, matcher: Matcher, copies: int) -> None:
    """Out of time, nothing more comes back: in one process (one segment) or in several."""
    keys = corpus_cache(tmp_path / "cache", copies)
    cache = FileListCache(tmp_path / "cache")
    assert list(recheck.check_cached(cache, matcher, keys, 2, out_of_time=lambda: True)) == []


def test_segments_are_dealt_by_bytes_and_bounded(tmp_path: Path, monkeypatch) -> None:
    """A flush of many lists makes segments of SEGMENT_ENTRIES at most; the re-check order
    holds every segment once, the most work first; compaction counts the segments needed."""
    monkeypatch.setattr(cache_module, "SEGMENT_ENTRIES", 10)
    keys = corpus_cache(tmp_path / "cache", 2)  # 48 lists, flushed 24 at a time
    cache = FileListCache(tmp_path / "cache")
    segments = cache.segments()
    assert len(segments) == 6
    ordered = recheck.by_work(segments)
    assert sorted(ordered) == segments
    sizes = [gzip.decompress(p.read_bytes()).__len__() for p in ordered]
    assert sizes == sorted(sizes, reverse=True)
    cache.add(next(iter(keys)), "again", ["x"])
    cache.flush()
    assert len(cache.segments()) == 7
    assert cache.needs_compaction(len(keys)) is False
    monkeypatch.setattr(cache_module, "MAX_CACHE_SEGMENTS", 1)
    assert cache.needs_compaction(len(keys)) is True
    cache.compact(set(keys))
    assert len(cache.segments()) == 5  # 48 live lists in segments of 10


def test_matcher_folds_lists_as_per_path(matcher: Matcher) -> None:
    """Case-insensitive subdirs fold the whole list at once: same as folding each path."""
    odd = ["Lib/Site-Packages/ſite.py", "a\nb/C.DLL", "ÉCOLE/x", "", "Scripts/X.EXE"]
    assert list(_folded(odd)) == [fold(p) for p in odd]
    assert list(_folded(odd[2:])) == [fold(p) for p in odd[2:]]
    for path in sorted(CORPUS.glob("*/*.json")):
        file_list = load_file_list(path)
        for subdir in ("win-64", "osx-arm64", "linux-64"):
            got = matcher.check(file_list.name, subdir, file_list.paths)
            assert got == matcher.check(file_list.name, subdir, iter(file_list.paths))
            upper = [p.upper() for p in file_list.paths]
            if subdir != "linux-64":
                lower = matcher.check(file_list.name, subdir, [p.lower() for p in upper])
                assert [v.filter for v in matcher.check(file_list.name, subdir, upper)] == [
                    v.filter for v in lower
                ]


def test_cache_lines_split_across_chunks(tmp_path: Path, monkeypatch) -> None:
    """Segments are read in chunks: lines that straddle a chunk come back whole."""
    monkeypatch.setattr(cache_module, "_CHUNK", 7)
    keys = corpus_cache(tmp_path / "cache", 2)
    cache = FileListCache(tmp_path / "cache")
    got = {k: p for k, _, p in cache.entries(set(keys))}
    assert set(got) == set(keys)
    assert got["linux-64/" + next(CORPUS.glob("linux-64/*.json")).stem + "r1"]


def test_cache_skips_lists_with_non_strings(tmp_path: Path) -> None:
    cache = FileListCache(tmp_path / "cache")
    cache.add("linux-64/a-1-0", "a", ["lib/a.so", 3])  # type: ignore[list-item]
    cache.add("linux-64/b-1-0", "b", [])
    cache.flush()
    assert [k for k, _, _ in cache.entries({"linux-64/a-1-0", "linux-64/b-1-0"})] == [
        "linux-64/b-1-0"
    ]


def test_usable_processes() -> None:
    assert recheck.usable_processes(8, recheck.MIN_PARALLEL - 1) == 1
    assert recheck.usable_processes(1, 10**6) == 1
    assert 1 <= recheck.usable_processes(8, 10**6) <= 8


def test_scan_recheck_with_processes_equals_serial(
    tmp_path: Path,
    templates: dict[str, Path],  # noqa: F811
    monkeypatch,
) -> None:
    """A filter change re-checked by processes writes the same outputs as one process."""
    channel = many(tmp_path / "channel", templates, 40)
    filters = tmp_path / "filters"
    filters.mkdir()
    (filters / "openssl.yaml").write_text(OPENSSL)
    first = run_lib(channel, tmp_path / "seed", filters)
    assert first.scanned == 40
    monkeypatch.setattr(recheck, "MIN_PARALLEL", 0)
    monkeypatch.setattr(recheck.os, "cpu_count", lambda: 4)
    outputs = {}
    for jobs in (1, 3):
        out = tmp_path / f"out{jobs}"
        shutil.copytree(tmp_path / "seed", out)
        flts = load_filters([filters])
        summary = run_scan(
            Channel(channel),
            Matcher(flts),
            "changed",
            OutputPaths.in_directory(out),
            ScanConfig(subdirs=("linux-64", "noarch"), recheck_processes=jobs),
            cache=FileListCache(out / "cache"),
        )
        assert summary.scanned == 40 and summary.complete
        outputs[jobs] = (read_yaml(out / "invalid_packages.yaml"), summary.invalid)
    assert outputs[1] == outputs[3]
    assert outputs[1][1] > 0


def test_cache_lines_with_escapes_take_the_json_path(tmp_path: Path) -> None:
    """Quotes, backslashes, '","' inside a path, non-ASCII and control characters come back
    exactly; so does an empty list (the fast split only takes lines with no escape)."""
    odd = ['a","b', "back\\slash", 'q"uote', "é/ſ", "tab\there", "lib/plain.so", "]]"]
    cache = FileListCache(tmp_path / "cache")
    cache.add("linux-64/odd-1-0", 'na"me', odd)
    cache.add("linux-64/plain-1-0", "plain", ["a", "b/c", "]]", ",["])
    cache.add("linux-64/empty-1-0", "empty", [])
    cache.flush()
    got = {
        k: (n, p)
        for k, n, p in cache.entries(
            {"linux-64/odd-1-0", "linux-64/plain-1-0", "linux-64/empty-1-0"}
        )
    }
    assert got == {
        "linux-64/odd-1-0": ('na"me', tuple(odd)),
        "linux-64/plain-1-0": ("plain", ("a", "b/c", "]]", ",[")),
        "linux-64/empty-1-0": ("empty", ()),
    }


@pytest.mark.parametrize(
    "line",
    [b'["k","n",["a","b"]', b'["k","n",["a" "b"]]', b'["k","n","a"]', b'["k","n"]', b"[]"],
)
def test_damaged_cache_lines_are_misses(tmp_path: Path, line: bytes) -> None:
    """A line that is not exactly a cache entry is a miss, never a wrong file list."""
    (tmp_path / "cache").mkdir()
    with gzip.open(tmp_path / "cache" / f"1{FileListCache.SUFFIX}", "wb") as fh:
        fh.write(line + b"\n")
    assert list(FileListCache(tmp_path / "cache").entries({"k"})) == []
