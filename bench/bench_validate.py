"""Benchmark validate.py on a ~200 MB, 20,000-file artifact against merely streaming its members.

Issue 4 section 5: for each format, time ``validate.py ARTIFACT`` and a
baseline process that streams every member's bytes with
conda-package-streaming, in the same run, best of ``--repeat``; report the
wall-time ratio (required <= 1.3x, goal <= 1.1x; the CPU-time ratio is shown
too, it is steadier on a busy machine) and validate.py's peak RSS (required
<= 150 MB). Artifacts are cached in ``bench/out/``.

Run: ``.venv/bin/python bench/bench_validate.py [--files 20000] [--size-mb 200] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from conda_package_handling import api as cph_api

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
VALIDATE = ROOT / "validate.py"

BASELINE = """
import sys
from conda_package_streaming.package_streaming import stream_conda_component
path = sys.argv[1]
# a .tar.bz2 is one stream: its "pkg" component already yields every member, info/ included
for component in ("info", "pkg") if path.endswith(".conda") else ("pkg",):
    for tar, member in stream_conda_component(path, component=component):
        if member.isfile():
            fh = tar.extractfile(member)
            while fh.read(1 << 20):
                pass
"""

WORDS = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()


def _content(rng: random.Random, size: int) -> bytes:
    """Half random bytes, half text: compresses about 2x, like a mix of binaries and sources."""
    noise = rng.randbytes(size // 2)
    text = b" ".join(rng.choice(WORDS) for _ in range(size // 10))[: size - len(noise)]
    return noise + text


def build(files: int, size_mb: int) -> dict[str, Path]:
    """Build (or reuse) the benchmark package, with info/paths.json, in both formats."""
    OUT.mkdir(parents=True, exist_ok=True)
    build_string = f"f{files}_s{size_mb}_0"
    stem = f"benchpkg-1.0-{build_string}"
    paths = {ext: OUT / f"{stem}{ext}" for ext in (".conda", ".tar.bz2")}
    if all(p.exists() for p in paths.values()):
        return paths
    rng = random.Random(4)
    per_file = size_mb * 1_000_000 // files
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        prefix = Path(tmp)
        listed = []
        for i in range(files):
            name = f"lib/python3.11/site-packages/benchpkg/m{i // 500:03d}/f{i:05d}.py"
            data = _content(rng, per_file)
            target = prefix / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            listed.append(
                {
                    "_path": name,
                    "path_type": "hardlink",
                    "sha256": digest,
                    "size_in_bytes": len(data),
                }
            )
        index = {"name": "benchpkg", "version": "1.0", "build": build_string, "build_number": 0}
        index.update(subdir="linux-64", depends=[])
        info = prefix / "info"
        info.mkdir()
        (info / "index.json").write_text(json.dumps(index))
        (info / "paths.json").write_text(json.dumps({"paths": listed, "paths_version": 1}))
        (info / "files").write_text("".join(e["_path"] + "\n" for e in listed))
        members = [e["_path"] for e in listed] + [
            "info/index.json",
            "info/paths.json",
            "info/files",
        ]
        for path in paths.values():
            print(f"building {path.name} ...", file=sys.stderr)
            cph_api.create(str(prefix), members, path.name, str(OUT))
    return paths


#: Runs a command, prints "wall_s cpu_s peak_kb exit_code". A fresh small process measures
#: because a child's ru_maxrss starts from its parent's RSS at fork time, and this
#: process grew while building the artifacts.
MEASURE = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
cpu = usage.ru_utime + usage.ru_stime
print(time.perf_counter() - start, cpu, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run(argv: list[str]) -> tuple[float, float, float]:
    """Run a process; return (wall s, CPU s, peak RSS MB) of that process alone."""
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True, check=True
    ).stdout.split()
    elapsed, cpu, peak_kb, code = float(out[0]), float(out[1]), int(out[2]), int(out[3])
    if code not in (0, 1):
        raise SystemExit(f"{argv} failed with exit code {code}")
    return elapsed, cpu, peak_kb / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", choices=[".conda", ".tar.bz2"], help="only this format")
    parser.add_argument("--deep", action="store_true", help="time validate.py --deep too")
    args = parser.parse_args()
    paths = build(args.files, args.size_mb)
    if args.format:
        paths = {args.format: paths[args.format]}
    python = sys.executable
    commands = {"stream": [python, "-c", BASELINE], "validate": [python, str(VALIDATE)]}
    if args.deep:
        commands["validate --deep"] = [python, str(VALIDATE), "--deep"]
    failed = False
    print(
        f"{'format':9} {'MB':>6} {'command':16} {'wall s':>7} {'ratio':>6} "
        f"{'CPU s':>6} {'ratio':>6} {'peak MB':>8}"
    )
    for ext, path in paths.items():
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        peaks: dict[str, float] = dict.fromkeys(commands, 0.0)
        for _ in range(args.repeat):  # interleaved, so load changes hit every command alike
            for name, argv in commands.items():
                elapsed, cpu, peak = run([*argv, str(path)])
                walls[name].append(elapsed)
                cpus[name].append(cpu)
                peaks[name] = max(peaks[name], peak)
        base_wall, base_cpu = min(walls["stream"]), min(cpus["stream"])
        size = path.stat().st_size / 1e6
        for name in commands:
            wall, cpu = min(walls[name]), min(cpus[name])
            print(
                f"{ext:9} {size:6.1f} {name:16} {wall:7.2f} {wall / base_wall:6.2f} "
                f"{cpu:6.2f} {cpu / base_cpu:6.2f} {peaks[name]:8.1f}",
                flush=True,
            )
        failed |= min(walls["validate"]) / base_wall > 1.3 or peaks["validate"] > 150
    verdict = "FAIL" if failed else "ok"
    print(f"required: wall ratio <= 1.3 (goal 1.1), peak <= 150 MB: {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
