"""Benchmark: the trie matcher against the naive path x glob regex loop (issue 3, section 7)."""

# Run ``python bench/bench_matcher.py`` from the repository root. It loads the
# shipped filters (timing load + compile), adds synthetic filters up to 100
# filters and 2,000+ globs, builds 100,000 realistic paths (the corpus file
# lists plus synthetic artifacts of every layout), checks them all with the
# trie, and runs the naive loop (``matcher.glob_to_regex`` per glob, every path
# against every glob) on an evenly spread sample of the same artifacts, whose
# verdicts must agree with the trie's. Figures are printed; nothing is asserted
# about time.

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from artifact_validation.core import is_case_insensitive  # noqa: E402
from artifact_validation.filters import (  # noqa: E402  # noqa: E402
    DEFAULT_FILTER_DIRS,
    Filter,
    Matcher,
    glob_to_regex,
    load_filters,
)
from artifact_validation.filters.generate import PythonPackage, python_globs  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "corpus" / "file-lists"
SUBDIRS = ("linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64", "noarch")
WORDS = (
    "alpha beta gamma delta core util io net http json xml yaml ssl crypto zlib png jpeg "
    "tiff arrow parquet numpy scipy torch cuda blas lapack fft grpc proto abseil boost qt gtk "
    "glib cairo pango harfbuzz freetype fontconfig curl ssh git llvm clang gcc rust go node"
).split()

Artifact = tuple[str, str, list[str]]


def synthetic_filters(rng: random.Random, count: int, start: int) -> list[Filter]:
    """``count`` filters shaped like real ones: Python packages and C libraries."""
    out = []
    for i in range(start, start + count):
        word = f"{rng.choice(WORDS)}{i}"
        if i % 2:
            globs = python_globs(PythonPackage(f"py-{word}", (word, f"_{word}")))
            globs += [f"bin/{word}-cli", f"Scripts/{word}-cli.exe", f"Scripts/{word}-cli-script.py"]
        else:
            globs = [
                f"include/{word}",
                f"Library/include/{word}",
                f"lib/lib{word}.so",
                f"lib/lib{word}.so.*",
                f"lib/lib{word}.*.dylib",
                f"lib/lib{word}.a",
                f"lib/pkgconfig/{word}.pc",
                f"lib/cmake/{word}",
                f"Library/bin/{word}*.dll",
                f"Library/lib/{word}.lib",
                f"share/{word}/**/*.dat",
                f"bin/{word}",
                f"bin/{word}-config",
            ]
            globs += [f"share/man/man3/{word}_{rng.choice(WORDS)}{n}.3" for n in range(8)]
        out.append(Filter(f"synthetic-{word}", tuple(globs), (f"py-{word}", word)))
    return out


def corpus_artifacts() -> list[Artifact]:
    """The real corpus file lists as (name, subdir, paths)."""
    out = []
    for path in sorted(CORPUS.glob("*/*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        out.append((doc["index"]["name"], doc["index"]["subdir"], doc["files"]))
    return out


def synthetic_artifact(rng: random.Random, index: int) -> Artifact:
    """An artifact of a random layout: a Python package, a C library, or a mix."""
    subdir = rng.choice(SUBDIRS)
    word = rng.choice(WORDS)
    name = f"pkg-{word}-{index}"
    win = subdir.startswith("win-")
    py = rng.choice(("3.9", "3.10", "3.11", "3.12"))
    site = (
        "site-packages"
        if subdir == "noarch"
        else "Lib/site-packages"
        if win
        else f"lib/python{py}/site-packages"
    )
    prefix = "Library/" if win else ""
    paths = []
    for _ in range(rng.randint(20, 60)):
        sub = "/".join(rng.choice(WORDS) for _ in range(rng.randint(0, 3)))
        mod = f"{rng.choice(WORDS)}_{rng.randint(0, 99)}.py"
        paths.append(f"{site}/{word}{index}/{sub}/{mod}" if sub else f"{site}/{word}{index}/{mod}")
    paths.append(f"{site}/{word}{index}-1.0.dist-info/RECORD")
    if subdir != "noarch":
        paths += [f"{prefix}include/{word}{index}/h{n}.h" for n in range(rng.randint(5, 40))]
        paths += [f"{prefix}lib/lib{word}{index}.so.1.{n}" for n in range(3)]
        paths += [f"{prefix}share/doc/{word}{index}/page{n}.html" for n in range(10)]
        paths.append(f"{prefix}bin/{word}{index}")
    # Now and then an artifact really clobbers something protected.
    if rng.random() < 0.1:
        paths += [f"{site}/yaml/{rng.choice(WORDS)}.py", f"{prefix}include/openssl/ssl.h"]
    return name, subdir, paths


def build_workload(rng: random.Random, target: int) -> list[Artifact]:
    """Corpus artifacts first, then synthetic ones, until ``target`` paths."""
    artifacts = corpus_artifacts()
    total = sum(len(p) for _, _, p in artifacts)
    while total < target:
        art = synthetic_artifact(rng, len(artifacts))
        artifacts.append(art)
        total += len(art[2])
    return artifacts


def naive_compile(filters: list[Filter]) -> dict[bool, list[tuple[Filter, list, list]]]:
    """Each glob translated to its own regex, for both case modes."""
    return {
        fold: [
            (
                f,
                [glob_to_regex(g, fold) for g in f.files],
                [glob_to_regex(g, fold) for g in f.exclude_files],
            )
            for f in filters
        ]
        for fold in (False, True)
    }


def naive_check(
    compiled: dict[bool, list[tuple[Filter, list[re.Pattern[str]], list[re.Pattern[str]]]]],
    name: str,
    subdir: str,
    paths: list[str],
) -> set[tuple[str, str]]:
    """The naive loop: every path against every glob of every filter."""
    out = set()
    for path in paths:
        probe = path + "/"
        for flt, files, excludes in compiled[is_case_insensitive(subdir)]:
            if name in flt.allowed:
                continue
            if any(rx.match(probe) for rx in files) and not any(rx.match(probe) for rx in excludes):
                out.add((path, flt.name))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000, help="paths to check (default 1e5)")
    parser.add_argument("--filters", type=int, default=100, help="total filters (default 100)")
    parser.add_argument(
        "--naive-paths", type=int, default=3_000, help="paths the naive loop checks (sample)"
    )
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    shipped = load_filters([ROOT / d for d in DEFAULT_FILTER_DIRS])
    shipped_matcher = Matcher(shipped)
    for subdir in ("linux-64", "win-64"):  # compile both tries (case-sensitive and folded)
        shipped_matcher.check("", subdir, [])
    load_compile = time.perf_counter() - t0

    filters = shipped + synthetic_filters(rng, max(0, args.filters - len(shipped)), len(shipped))
    n_globs = sum(len(f.files) + len(f.exclude_files) for f in filters)
    artifacts = build_workload(rng, args.paths)
    n_paths = sum(len(p) for _, _, p in artifacts)

    t0 = time.perf_counter()
    matcher = Matcher(filters)
    for subdir in ("linux-64", "win-64"):
        matcher.check("", subdir, [])
    compile_all = time.perf_counter() - t0
    t0 = time.perf_counter()
    verdicts = [matcher.check(name, subdir, paths) for name, subdir, paths in artifacts]
    trie_time = time.perf_counter() - t0
    n_violations = sum(len(v) for v in verdicts)

    compiled = naive_compile(filters)
    # Every step-th artifact, spread over the workload, until about --naive-paths paths.
    step = max(1, round(n_paths / max(1, args.naive_paths)))
    sample = list(range(0, len(artifacts), step))
    naive_paths = sum(len(artifacts[i][2]) for i in sample)
    t0 = time.perf_counter()
    naive = {i: naive_check(compiled, *artifacts[i]) for i in sample}
    naive_time = time.perf_counter() - t0
    for i in sample:
        trie_pairs = {(v.path, v.filter) for v in verdicts[i]}
        if trie_pairs != naive[i]:
            print(f"MISMATCH on artifact {artifacts[i][0]}: trie and naive loop disagree")
            return 1

    trie_per_path = trie_time / n_paths
    naive_per_path = naive_time / naive_paths
    print(f"shipped filters: {len(shipped)} filters, load + compile {load_compile * 1000:.0f} ms")
    print(
        f"benchmark filters: {len(filters)} filters, {n_globs} globs, trie build "
        f"{compile_all * 1000:.0f} ms (component regexes compile lazily, inside the trie time)"
    )
    print(f"workload: {n_paths} paths in {len(artifacts)} artifacts, {n_violations} violations")
    print(f"trie:  {trie_time:.3f} s total, {trie_per_path * 1e6:.2f} us/path")
    print(
        f"naive: {naive_time:.3f} s on a sample of {naive_paths} paths ({len(sample)} artifacts, "
        f"same verdicts), {naive_per_path * 1e6:.1f} us/path, "
        f"~{naive_per_path * n_paths:.0f} s for all paths"
    )
    print(f"speed-up: {naive_per_path / trie_per_path:.0f}x (required >= 100x, goal >= 300x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
