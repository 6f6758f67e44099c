"""Benchmark: the scan at full channel size, on a synthetic channel (issue 14 §7).

Run ``python bench/bench_scale.py [--artifacts 2500000]`` from the repository root.

The generator writes ``repodata.json`` for every subdir of a synthetic channel
under ``--out`` (default bench/out/scale): records shaped like conda-forge's
(about 450 bytes each: depends, hashes, license, timestamp), 25 builds per
package name on average, 70% ``.conda`` and 30% ``.tar.bz2``, the subdirs in
conda-forge's proportions (win-arm64 included). File lists are not written to
disk (2.5 M of them would be tens of GB): ``SyntheticChannel`` derives each
build's list from its stem, deterministically, with realistic sizes (log-normal,
median 40 paths, mean about 150, at most 5,000) and layouts (Python packages in
site-packages, Windows ``Library/`` and ``Lib/``, libraries and headers), and
one build in 200 shipping a path the shipped filters protect (OpenSSL headers,
``certifi``, ``bin/pip``), so matching and ``invalid_packages.yaml`` have real
work. The lists come from the channel's local side, like ``--file-lists``: no
network, the same code path as every other local list.

Then, each in a child process (its peak RSS is the figure): a full run over
every build from an empty state; 1,000 new builds are added to the repodata of
two subdirs; an incremental run. Reported: peak memory of the full run (limit
2 GB), time of the incremental run (limit 60 s), the state's size on disk and
its largest file (limit 20 MB), and the bytes the incremental run changes on
the default branch (the unified diff of ``invalid_packages.yaml``,
``scan_errors.yaml`` and ``scan_quarantine.yaml``, and that diff compressed, as
git stores it). A JSON summary is printed last; nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from artifact_validation.channel import Artifact, Channel  # noqa: E402
from artifact_validation.core.filelist import FileList  # noqa: E402

#: conda-forge's subdirs, with their rough share of the artifacts
SUBDIRS = {
    "linux-64": 0.29,
    "noarch": 0.15,
    "osx-64": 0.15,
    "win-64": 0.13,
    "osx-arm64": 0.10,
    "linux-aarch64": 0.10,
    "linux-ppc64le": 0.07,
    "win-arm64": 0.01,
}
NEW_BUILDS = 1_000
#: the subdirs that receive the new builds of the incremental run
NEW_IN = ("linux-64", "noarch")
#: paths the shipped filters protect, one of which a clobbering build ships
PROTECTED = (
    "include/openssl/ssl.h",
    "lib/python3.11/site-packages/certifi/cacert.pem",
    "bin/pip",
    "lib/libssl.so.3",
)
DEFAULT_OUTPUTS = ("invalid_packages.yaml", "scan_errors.yaml", "scan_quarantine.yaml")


def _seed(stem: str) -> int:
    return int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=8).digest(), "little")


def synthetic_paths(name: str, subdir: str, stem: str) -> tuple[str, ...]:
    """The file list of build ``stem``: deterministic, realistic in size and layout."""
    rng = random.Random(_seed(stem))
    count = min(5_000, max(1, int(rng.lognormvariate(math.log(40), 1.6))))
    windows = subdir.startswith("win-")
    python = name.startswith("py") or subdir == "noarch" or rng.random() < 0.3
    if python:
        base = (
            "site-packages"
            if subdir == "noarch"
            else ("Lib/site-packages" if windows else "lib/python3.11/site-packages")
        )
        dirs = [f"{base}/{name}", f"{base}/{name}/core", f"{base}/{name}/tests"]
        dirs.append(f"{base}/{name}-1.0.dist-info")
    else:
        prefix = "Library/" if windows else ""
        dirs = [f"{prefix}lib", f"{prefix}include/{name}", f"{prefix}share/{name}"]
        dirs.append(f"{prefix}bin")
    paths = [
        f"{dirs[i % len(dirs)]}/{name}_{i}.{('py', 'h', 'txt', 'so')[i % 4]}" for i in range(count)
    ]
    if rng.random() < 1 / 200:
        paths.append(PROTECTED[rng.randrange(len(PROTECTED))])
    return tuple(paths)


class SyntheticChannel(Channel):
    """A local channel whose builds' file lists are ``synthetic_paths`` of their stems."""

    def local_file_list(self, artifact: Artifact) -> FileList | None:
        return FileList(
            artifact.name,
            artifact.subdir,
            synthetic_paths(artifact.name, artifact.subdir, artifact.stem),
        )


def _record(rng: random.Random, name: str, version: str, build: str, subdir: str) -> dict:
    return {
        "build": build,
        "build_number": int(build.rsplit("_", 1)[1]),
        "depends": [f"python >=3.{rng.randint(8, 12)}", "libgcc-ng >=12", f"lib{name[:6]} >=1.2"],
        "license": "BSD-3-Clause",
        "license_family": "BSD",
        "md5": rng.randbytes(16).hex(),
        "name": name,
        "sha256": rng.randbytes(32).hex(),
        "size": rng.randint(5_000, 50_000_000),
        "subdir": subdir,
        "timestamp": 1_700_000_000_000 + rng.randint(0, 10**10),
        "version": version,
    }


def _builds(subdir: str, count: int, start: int, seed: int):
    """``count`` (filename, record) pairs for ``subdir``, numbered from ``start``."""
    rng = random.Random(f"{seed}-{subdir}-{start}")
    for i in range(start, start + count):
        name = f"{'py' if i % 3 == 0 else 'lib'}pkg{i // 25:06d}"
        version = f"{1 + i % 7}.{i % 13}.{i % 25}"
        build = f"h{i:08x}_{i % 3}"
        ext = ".tar.bz2" if rng.random() < 0.3 else ".conda"
        yield f"{name}-{version}-{build}{ext}", _record(rng, name, version, build, subdir)


def write_repodata(channel: Path, subdir: str, count: int, extra: int, seed: int) -> int:
    """Stream ``count`` (+ ``extra`` new) records into ``subdir``/repodata.json; its bytes."""
    target = channel / subdir / "repodata.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    sections: dict[str, list[str]] = {"packages": [], "packages.conda": []}
    pairs = list(_builds(subdir, count, 0, seed))
    pairs += list(_builds(subdir, extra, 10**8, seed))  # new builds: numbered apart
    for filename, record in pairs:
        section = "packages" if filename.endswith(".tar.bz2") else "packages.conda"
        sections[section].append(f"{json.dumps(filename)}:{json.dumps(record)}")
    tmp = target.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(f'{{"info":{{"subdir":"{subdir}"}},"packages":{{')
        fh.write(",\n".join(sections["packages"]))
        fh.write('},"packages.conda":{')
        fh.write(",\n".join(sections["packages.conda"]))
        fh.write('},"repodata_version":1}\n')
    os.replace(tmp, target)
    return target.stat().st_size


def generate(channel: Path, total: int, seed: int, new: int = 0) -> dict[str, int]:
    """The channel of ``total`` builds (plus ``new`` in ``NEW_IN``); per-subdir counts."""
    counts = {s: int(total * share) for s, share in SUBDIRS.items()}
    counts["linux-64"] += total - sum(counts.values())
    (channel).mkdir(parents=True, exist_ok=True)
    doc = {"channeldata_version": 1, "packages": {}, "subdirs": sorted(SUBDIRS)}
    (channel / "channeldata.json").write_text(json.dumps(doc), encoding="utf-8")
    for subdir, count in counts.items():
        extra = new // len(NEW_IN) if subdir in NEW_IN else 0
        write_repodata(channel, subdir, count, extra, seed)
    return counts


def peak_rss() -> int:
    """This process's peak resident memory in bytes: ``VmHWM`` on Linux (``ru_maxrss`` can
    carry the parent's peak over ``fork`` + ``exec``), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_scan(channel: str, out: str, processes: int) -> None:
    """One scan in this process (the child): prints its summary as JSON."""
    from artifact_validation.filters import DEFAULT_FILTER_DIRS, Matcher, load_filters
    from artifact_validation.scan import (
        FileListCache,
        OutputPaths,
        ScanConfig,
        filters_fingerprint,
        run_scan,
    )

    filters = load_filters([ROOT / d for d in DEFAULT_FILTER_DIRS])
    start = time.perf_counter()
    summary = run_scan(
        SyntheticChannel(channel),
        Matcher(filters),
        filters_fingerprint(filters),
        OutputPaths.in_directory(out),
        ScanConfig(subdirs=tuple(sorted(SUBDIRS)), recheck_processes=processes),
        cache=FileListCache(Path(out) / "cache"),
    )
    elapsed = time.perf_counter() - start
    peak = peak_rss()
    print(
        json.dumps(
            {
                "seconds": round(elapsed, 2),
                "peak_bytes": peak,
                "scanned": summary.scanned,
                "invalid": summary.invalid,
                "errors": summary.errors,
                "complete": summary.complete,
            }
        )
    )


def run_child(channel: Path, out: Path, processes: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(channel), str(out), str(processes)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def state_size(out: Path) -> dict[str, int]:
    files = [p for p in (out / "scan_state").rglob("*") if p.is_file()]
    return {
        "state_bytes": sum(p.stat().st_size for p in files),
        "state_files": len(files),
        "largest_state_file": max((p.stat().st_size for p in files), default=0),
    }


def default_branch_change(before: Path, after: Path) -> dict[str, int]:
    """The unified diff of the default branch's files between two runs: bytes, compressed."""
    diff = b""
    for name in DEFAULT_OUTPUTS:
        old, new = before / name, after / name
        if not old.exists():
            old.write_text("", encoding="utf-8")
        if not new.exists():
            new.write_text("", encoding="utf-8")
        done = subprocess.run(
            ["git", "diff", "--no-index", "--no-color", str(old), str(new)],
            capture_output=True,
            check=False,
        )
        diff += done.stdout
    return {"diff_bytes": len(diff), "diff_compressed_bytes": len(zlib.compress(diff, 6))}


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child_scan(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=int, default=2_500_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scale")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    channel, out = args.out / "channel", args.out / "run"
    shutil.rmtree(args.out, ignore_errors=True)
    start = time.perf_counter()
    generate(channel, args.artifacts, args.seed)
    repodata = sum(p.stat().st_size for p in channel.glob("*/repodata.json"))
    print(
        f"generated {args.artifacts:,} builds, {repodata / 1e6:,.0f} MB of repodata, "
        f"in {time.perf_counter() - start:.0f} s",
        file=sys.stderr,
    )
    full = run_child(channel, out, args.processes)
    print(f"full run: {full}", file=sys.stderr)
    before = args.out / "before"
    shutil.copytree(out, before, ignore=shutil.ignore_patterns("cache", "scan_state"))
    sizes = state_size(out)
    generate(channel, args.artifacts, args.seed, new=NEW_BUILDS)
    incremental = run_child(channel, out, args.processes)
    print(f"incremental run: {incremental}", file=sys.stderr)
    change = default_branch_change(before, out)
    summary = {
        "artifacts": args.artifacts,
        "repodata_bytes": repodata,
        "full_run": full,
        "incremental_run": incremental,
        **sizes,
        **change,
        "cpu": os.cpu_count(),
    }
    limits = [
        ("peak memory of the full run", full["peak_bytes"] / 2**30, 2.0, "GiB"),
        ("incremental run, 1,000 new builds", incremental["seconds"], 60.0, "s"),
        ("largest state file", sizes["largest_state_file"] / 2**20, 20.0, "MiB"),
    ]
    for label, value, limit, unit in limits:
        verdict = "within" if value < limit else "OVER"
        print(f"{label}: {value:,.2f} {unit} ({verdict} the limit of {limit:g} {unit})")
    print(
        f"state on disk: {sizes['state_bytes'] / 2**20:,.1f} MiB in {sizes['state_files']} files "
        f"({sizes['state_bytes'] / args.artifacts:.2f} bytes per build); default branch per "
        f"incremental run: {change['diff_bytes']:,} bytes of diff "
        f"({change['diff_compressed_bytes']:,} compressed)"
    )
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
