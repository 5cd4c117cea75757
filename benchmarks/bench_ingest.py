"""Ingest benchmark: a 200,000-account / ~3-million-opportunity export, wall time and peak memory.

Usage: ``python benchmarks/bench_ingest.py [--accounts 200000] [--runs 3]``

The demo export is generated once into ``benchmarks/out/raw_<N>/`` (git-ignored). Each run is
a fresh ``python`` process (cold imports included, as a user would see) that ingests into a
scratch folder and reports its own wall time and peak resident memory; the script prints the
median and the range, and the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _machine import machine  # benchmarks/ is the script's folder, so on sys.path

HERE = Path(__file__).resolve().parent

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from workbench.ingest import ingest
result = ingest(sys.argv[1], sys.argv[2])
wall = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "peak_mb": peak_mb, "rows": result.rows}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    raw = HERE / "out" / f"raw_{args.accounts}_{args.seed}"
    if not (raw / "opportunities.csv").exists():
        print(f"generating demo export with {args.accounts:,} accounts into {raw} ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "workbench",
                "demo",
                "--accounts",
                str(args.accounts),
                "--seed",
                str(args.seed),
                "--out",
                str(raw),
            ],
            check=True,
        )
    size_mb = sum(p.stat().st_size for p in raw.glob("*.csv")) / 2**20

    runs = []
    for i in range(args.runs):
        out = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
        try:
            res = subprocess.run(
                [sys.executable, "-c", CHILD, str(raw), str(out)],
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            shutil.rmtree(out, ignore_errors=True)
        runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(
            f"run {i + 1}: {runs[-1]['wall_s']:.1f} s, peak {runs[-1]['peak_mb']:.0f} MB",
            flush=True,
        )

    rows = runs[0]["rows"]
    walls = [r["wall_s"] for r in runs]
    peaks = [r["peak_mb"] for r in runs]
    print(f"machine: {machine()}")
    print(
        f"input: {rows['accounts']:,} accounts, {rows['opportunities']:,} opportunities, "
        f"{size_mb:.0f} MB of CSV"
    )
    print(
        f"ingest wall time: median {statistics.median(walls):.1f} s "
        f"(min {min(walls):.1f}, max {max(walls):.1f}, {len(walls)} runs, cold process)"
    )
    print(f"peak memory: median {statistics.median(peaks):.0f} MB (max {max(peaks):.0f} MB)")


if __name__ == "__main__":
    main()
