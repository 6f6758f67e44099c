"""Benchmark: the scan's cold read path over a slow link (issue 14 §3).

Run ``python bench/bench_scan_latency.py [--artifacts 200] [--delay 0.05] [--jobs 8]``
from the repository root. ``--artifacts`` real ``.conda`` packages (built with
conda-package-handling, each with a small random payload and 20 headers) are
served by the tests' loopback HTTP server (Range support), with ``--delay``
seconds added to every response. ``run_scan`` then reads every file list from
an empty state and an empty cache with ``--jobs`` parallel reads (default: the
CLI's). Prints artifacts per wall-clock second (target >= 150/s) and the peak
RSS of the process (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from artifact_validation.channel import Channel  # noqa: E402
from artifact_validation.filters import DEFAULT_FILTER_DIRS, Matcher, load_filters  # noqa: E402
from artifact_validation.scan import (  # noqa: E402
    FileListCache,
    OutputPaths,
    ScanConfig,
    filters_fingerprint,
    run_scan,
)

TARGET_RATE = 150


def main() -> int:
    from tests.support import servers
    from tests.support.builders import build_package
    from tests.support.channels import write_repodata

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--artifacts", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per response")
    parser.add_argument("--jobs", type=int, default=ScanConfig().jobs)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    original = servers._Handler._handle

    def slow(self: servers._Handler) -> None:
        time.sleep(args.delay)
        original(self)

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        root = Path(tmp) / "channel"
        sub = root / "linux-64"
        print(f"building {args.artifacts} .conda packages ...", file=sys.stderr)
        for i in range(args.artifacts):
            files = {f"lib/libl{i}.so": rng.randbytes(20_000)}
            files.update({f"include/l{i}/h{j}.h": b"/* h */\n" * j for j in range(20)})
            build_package(sub, f"latpkg{i}", files)
        write_repodata(sub)
        (root / "noarch").mkdir()
        write_repodata(root / "noarch")
        filters = load_filters([ROOT / d for d in DEFAULT_FILTER_DIRS])
        servers._Handler._handle = slow  # type: ignore[method-assign]
        try:
            with servers.LocalServer(root) as server:
                start = time.perf_counter()
                summary = run_scan(
                    Channel(server.url),
                    Matcher(filters),
                    filters_fingerprint(filters),
                    OutputPaths.in_directory(Path(tmp) / "out"),
                    ScanConfig(subdirs=("linux-64", "noarch"), jobs=args.jobs),
                    cache=FileListCache(Path(tmp) / "cache"),
                )
                elapsed = time.perf_counter() - start
                requests = len([r for r in server.requests if r[1].endswith(".conda")])
        finally:
            servers._Handler._handle = original  # type: ignore[method-assign]
    rate = summary.scanned / elapsed
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"cold scan, {args.delay * 1000:.0f} ms per response, --jobs {args.jobs}: "
        f"{summary.scanned} artifacts in {elapsed:.2f} s = {rate:,.0f} artifacts/s "
        f"({requests / max(1, summary.scanned):.1f} requests each, {summary.errors} errors); "
        f"peak RSS {peak_mb:,.0f} MB; target >= {TARGET_RATE}/s: "
        f"{'met' if rate >= TARGET_RATE else 'NOT met'}"
    )
    doc = {"artifacts": summary.scanned, "seconds": round(elapsed, 3), "rate": round(rate, 1)}
    doc.update(jobs=args.jobs, delay=args.delay, peak_rss_mb=round(peak_mb), errors=summary.errors)
    print(json.dumps(doc))
    return 0 if rate >= TARGET_RATE else 1


if __name__ == "__main__":
    sys.exit(main())
