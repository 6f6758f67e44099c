"""Benchmark: the scan rate on local file lists, and bytes per .conda on the Range path."""

# Run ``python bench/bench_scan.py`` from the repository root (issue 6 §5).
#
# Part 1, rate: a channel of ``--artifacts`` builds (default 20,000) across six
# subdirs is made under bench/out/scan/: repodata.json per subdir, and one
# libcfgraph file list per build, copied from tests/data/corpus (real sizes,
# real paths) under new build strings. ``run_scan`` then checks them all with
# the shipped filters, on one core (file lists on disk are read inline), from
# an empty state: the time covers listing repodata, reading and parsing every
# file list, matching, and saving state and outputs. A second run over the
# same state shows the cost of a run with nothing new.
#
# Part 2, bytes: ``--range-artifacts`` .conda packages (real, built with
# conda-package-handling, 1-4 MB of incompressible payload each) are served by
# a loopback HTTP server with Range support; the scan reads their file lists
# and the server counts the body bytes it sent.
#
# Progress: a bar on a terminal, a plain line every --log-interval seconds
# otherwise (CI logs). Figures are printed, and a JSON summary at the end;
# the exit status is 1 when the required rate (2,000 artifacts/s) is missed.

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from artifact_validation.channel import Channel  # noqa: E402
from artifact_validation.core import Progress  # noqa: E402
from artifact_validation.filters import (  # noqa: E402
    DEFAULT_FILTER_DIRS,
    Matcher,  # noqa: E402
    load_filters,
)
from artifact_validation.scan import (  # noqa: E402  # noqa: E402
    STATE_NAME,
    FileListCache,
    OutputPaths,
    ScanConfig,
    filters_fingerprint,
    load_state_dir,
    run_scan,
)

CORPUS = ROOT / "tests" / "data" / "corpus" / "file-lists"
REQUIRED_RATE = 2_000
GOAL_RATE = 10_000


def make_channel(out: Path, count: int) -> tuple[Path, Path, tuple[str, ...]]:
    """Replicate the corpus file lists into ``count`` builds; return (channel, lists, subdirs)."""
    templates = sorted(CORPUS.glob("*/*.json"))
    if not templates:
        raise SystemExit(f"no corpus file lists under {CORPUS}")
    channel, lists = out / "channel", out / "file-lists"
    shutil.rmtree(out, ignore_errors=True)
    records: dict[str, dict[str, dict]] = {}
    for i in range(count):
        template = templates[i % len(templates)]
        subdir = template.parent.name
        name, version, build = template.stem.rsplit("-", 2)
        stem = f"{name}-{version}-{build}r{i}"
        target = lists / subdir / f"{stem}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        records.setdefault(subdir, {})[f"{stem}.conda"] = {
            "name": name,
            "version": version,
            "build": f"{build}r{i}",
            "size": 1000 + i,
            "subdir": subdir,
        }
    for subdir, packages in records.items():
        (channel / subdir).mkdir(parents=True, exist_ok=True)
        doc = {"info": {"subdir": subdir}, "packages": {}, "packages.conda": packages}
        (channel / subdir / "repodata.json").write_text(json.dumps(doc), encoding="utf-8")
    return channel, lists, tuple(sorted(records))


def timed_scan(channel: Channel, out: Path, subdirs: tuple[str, ...], progress: Progress):
    filters = load_filters([ROOT / d for d in DEFAULT_FILTER_DIRS])
    start, cpu_start = time.perf_counter(), time.process_time()
    summary = run_scan(
        channel,
        Matcher(filters),
        filters_fingerprint(filters),
        OutputPaths.in_directory(out),
        ScanConfig(subdirs=subdirs, jobs=1, checkpoint_seconds=3600),
        cache=FileListCache(out / "cache"),
        on_progress=lambda p: progress(p.done, p.total, p.errors),
    )
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    progress.close(summary.scanned, summary.scanned, summary.errors)
    return summary, elapsed, cpu


def fill_cache(channel: Channel, lists: Path, subdirs: tuple[str, ...], cache_dir: Path) -> int:
    """Put every build's file list into a file-list cache, as reads from artifacts would."""
    from artifact_validation.core.filelist import load_file_list

    shutil.rmtree(cache_dir, ignore_errors=True)
    cache = FileListCache(cache_dir)
    parsed: dict[Path, tuple[str, ...]] = {}
    count = 0
    for subdir in subdirs:
        for artifact in channel.listing(subdir).artifacts:
            template = lists / subdir / f"{artifact.stem}.json"
            paths = parsed.get(template)
            if paths is None:
                paths = parsed[template] = load_file_list(template).paths
            cache.add(artifact.key, artifact.name, paths)
            count += 1
            if cache.pending >= 5_000:
                cache.flush()
    cache.flush()
    return count


def timed_recheck(
    channel: Channel, seed_state: Path, cache_dir: Path, out: Path, subdirs, *, jobs: int = 1
) -> tuple[Any, float, float]:
    """Re-check every build from the cache after a filter change (a new fingerprint)."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(seed_state, out)
    filters = load_filters([ROOT / d for d in DEFAULT_FILTER_DIRS])
    # Another valid fingerprint: as if the filters had changed since the seed state.
    fingerprint = hashlib.sha256(filters_fingerprint(filters).encode()).hexdigest()[:16]
    start, cpu_start = time.perf_counter(), time.process_time()
    summary = run_scan(
        channel,
        Matcher(filters),
        fingerprint,
        OutputPaths.in_directory(out),
        ScanConfig(subdirs=subdirs, recheck_processes=jobs, checkpoint_seconds=3600),
        cache=FileListCache(cache_dir),
    )
    return summary, time.perf_counter() - start, time.process_time() - cpu_start


def _state_doc(directory: Path) -> dict:
    """The saved state of a run in ``directory``, as one document (parts merged)."""
    return load_state_dir(directory / STATE_NAME).to_json_doc()


def recheck_rates(args: argparse.Namespace, channel_dir: Path, lists: Path, subdirs) -> dict:
    """Part 3 (issue 14 §2): full re-check from cached file lists, baseline vs new, same run."""
    from bench.scan_baseline import baseline_code

    listed = Channel(channel_dir)  # no file-list directory: every re-check comes from the cache
    cache_dir = args.out / "recheck-cache"
    fill_cache(Channel(channel_dir, file_lists=lists), lists, subdirs, cache_dir)
    seed = args.out / "state"
    rows: list[dict[str, float]] = []
    for round_ in range(args.repeat):
        with baseline_code():
            base, base_s, base_cpu = timed_recheck(
                listed, seed, cache_dir, args.out / "recheck-base", subdirs
            )
        new, new_s, new_cpu = timed_recheck(
            listed, seed, cache_dir, args.out / "recheck-new", subdirs
        )
        par = par_s = None
        if args.jobs > 1:
            par, par_s, _ = timed_recheck(
                listed, seed, cache_dir, args.out / "recheck-par", subdirs, jobs=args.jobs
            )
        same = _state_doc(args.out / "recheck-base") == _state_doc(args.out / "recheck-new")
        if not same or new.scanned != base.scanned or new.invalid != base.invalid:
            raise SystemExit("re-check: the new path's state differs from the baseline's")
        row = {
            "baseline_rate": base.scanned / base_s,
            "baseline_cpu_rate": base.scanned / base_cpu,
            "new_rate": new.scanned / new_s,
            "new_cpu_rate": new.scanned / new_cpu,
            "ratio": base_s / new_s,
        }
        if par is not None and par_s is not None:
            if par.invalid != base.invalid or par.scanned != base.scanned:
                raise SystemExit("re-check: the parallel path differs from the baseline")
            row["jobs_rate"] = par.scanned / par_s
            row["jobs_ratio"] = base_s / par_s
        rows.append(row)
        text = ", ".join(
            f"{k} {v:,.2f}" if "ratio" in k else f"{k} {v:,.0f}/s" for k, v in row.items()
        )
        print(f"re-check round {round_ + 1}: {base.scanned:,} builds: {text}")
    median = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(
        "re-check from cache, median of "
        f"{len(rows)}: baseline {median['baseline_rate']:,.0f}/s, new {median['new_rate']:,.0f}/s "
        f"(x{median['ratio']:.2f})"
        + (
            f", {args.jobs} processes: {median['jobs_rate']:,.0f}/s (x{median['jobs_ratio']:.2f})"
            if "jobs_rate" in median
            else ""
        )
    )
    return {k: round(v, 2) for k, v in median.items()}


def range_bytes(count: int, seed: int) -> dict[str, float]:
    """Serve ``count`` real .conda artifacts over loopback HTTP; bytes sent per artifact."""
    from tests.support.builders import build_package
    from tests.support.channels import write_repodata
    from tests.support.servers import LocalServer

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-range-") as tmp:
        root = Path(tmp)
        sub = root / "linux-64"
        for i in range(count):
            files = {f"lib/libx{i}.so": rng.randbytes(rng.randint(1_000_000, 4_000_000))}
            files.update({f"include/x{i}/h{j}.h": b"/* header */\n" * j for j in range(50)})
            build_package(sub, f"rangepkg{i}", files)
        write_repodata(sub)
        sizes = {f"/linux-64/{p.name}": p.stat().st_size for p in sub.glob("*.conda")}
        with LocalServer(root) as server:
            channel = Channel(server.url)
            for artifact in channel.listing("linux-64").artifacts:
                channel.file_list(artifact)
            sent = {p: n for p, n in server.sent_by_path.items() if p.endswith(".conda")}
            requests = len([r for r in server.requests if r[1].endswith(".conda")])
    total_size, total_sent = sum(sizes.values()), sum(sent.values())
    return {
        "artifacts": count,
        "mean_artifact_bytes": total_size / count,
        "mean_bytes_fetched": total_sent / count,
        "max_bytes_fetched": max(sent.values()),
        "share_of_artifact": total_sent / total_size,
        "requests_per_artifact": requests / count,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--artifacts", type=int, default=20_000)
    parser.add_argument("--range-artifacts", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scan")
    parser.add_argument("--log-interval", type=float, default=None, help="seconds (non-tty)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3, help="re-check rounds (median)")
    parser.add_argument(
        "--jobs", type=int, default=2, help="re-check processes (ScanConfig.recheck_processes)"
    )
    parser.add_argument("--recheck-only", action="store_true", help="skip parts 1 and 2")
    args = parser.parse_args()

    print(f"making a channel of {args.artifacts:,} builds under {args.out} ...", file=sys.stderr)
    channel_dir, lists, subdirs = make_channel(args.out, args.artifacts)
    list_bytes = sum(p.stat().st_size for p in lists.glob("*/*.json"))
    channel = Channel(channel_dir, file_lists=lists)
    state_dir = args.out / "state"

    def progress(label: str) -> Progress:
        return Progress(sys.stderr, label, interval=args.log_interval)

    first, first_s, first_cpu = timed_scan(channel, state_dir, subdirs, progress("scan"))
    again, again_s, _ = timed_scan(channel, state_dir, subdirs, progress("rescan"))
    # One thread does all the work here, so CPU seconds are the one-core cost, whatever
    # else the machine runs; wall-clock is shown beside it.
    rate = first.scanned / first_cpu
    print(
        f"full scan: {first.scanned:,} builds in {first_cpu:.2f} CPU s = {rate:,.0f} "
        f"artifacts/s on one core ({first.scanned / first_s:,.0f}/s wall-clock, "
        f"{first_s:.2f} s; {list_bytes / first.scanned / 1024:.1f} KiB of file list each, "
        f"{first.invalid:,} invalid files, {first.errors} errors)",
    )
    print(f"re-run, nothing new: {again.skipped_known:,} known in {again_s:.2f} s")
    print(
        f"required >= {REQUIRED_RATE:,}/s: {'met' if rate >= REQUIRED_RATE else 'MISSED'}; "
        f"goal >= {GOAL_RATE:,}/s: {'met' if rate >= GOAL_RATE else 'not met'}"
    )
    recheck = recheck_rates(args, channel_dir, lists, subdirs)
    if args.recheck_only:
        print(json.dumps({"recheck": recheck}, indent=1))
        return 0
    ranged = range_bytes(args.range_artifacts, args.seed) if args.range_artifacts else {}
    if ranged:
        print(
            f"Range path: {ranged['mean_bytes_fetched'] / 1024:,.1f} KiB fetched per .conda "
            f"(max {ranged['max_bytes_fetched'] / 1024:,.1f} KiB, "
            f"{ranged['requests_per_artifact']:.1f} requests) for artifacts of "
            f"{ranged['mean_artifact_bytes'] / 1e6:,.2f} MB on average "
            f"({ranged['share_of_artifact']:.2%} of the bytes)"
        )
    summary = {
        "artifacts": first.scanned,
        "cpu_seconds": round(first_cpu, 3),
        "wall_seconds": round(first_s, 3),
        "artifacts_per_second": round(rate),
        "artifacts_per_wall_second": round(first.scanned / first_s),
        "rescan_seconds": round(again_s, 3),
        "cpu": os.cpu_count(),
        "range": ranged,
        "recheck": recheck,
    }
    print(json.dumps(summary, indent=1))
    return 0 if rate >= REQUIRED_RATE else 1


if __name__ == "__main__":
    sys.exit(main())
