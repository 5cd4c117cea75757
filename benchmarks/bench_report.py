"""Report benchmark: the full quarterly report, wall time per notebook and peak memory.

Usage: ``python benchmarks/bench_report.py [--runs 3] [--accounts 1000000]``

Builds the demo company once and ingests it into ``benchmarks/out/report[_<accounts>]/``
(git-ignored): the default demo (3,000 accounts, CSV), or with ``--accounts N`` a demo of N
accounts written as a Parquet lake by ``workbench demo --format parquet``. Then it runs
``workbench report`` in a fresh process per run — kernel starts, imports, model fits, HTML and
PDF export included, as ``make report`` does — and prints the median wall time, each
notebook's median from the report manifests, the notebooks' total and the peak resident memory
of any one process (the kernels included).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _machine import machine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--accounts", type=int, default=0, help="0: the default CSV demo")
    args = ap.parse_args()
    home = HERE / "out" / ("report" if not args.accounts else f"report_{args.accounts}")
    data = home / "data"
    if not (data / "processed" / "manifest.json").exists():
        demo = [sys.executable, "-m", "workbench", "demo", "--out", str(data / "raw")]
        if args.accounts:
            demo += ["--format", "parquet", "--accounts", str(args.accounts)]
        subprocess.run(demo, check=True, capture_output=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "workbench",
                "ingest",
                "--raw",
                str(data / "raw"),
                "--out",
                str(data / "processed"),
            ],
            check=True,
            capture_output=True,
        )
    quarter = json.loads((data / "processed" / "manifest.json").read_text())["default_quarter"]
    walls, per_notebook, notebooks = [], {}, []
    for i in range(args.runs):
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "workbench",
                "report",
                "--data",
                str(data),
                "--out",
                str(home / "reports"),
            ],
            check=True,
            capture_output=True,
        )
        walls.append(time.perf_counter() - t0)
        manifest = json.loads((home / "reports" / quarter / "manifest.json").read_text())
        for name, sec in manifest["timings_seconds"].items():
            per_notebook.setdefault(name, []).append(sec)
        notebooks.append(sum(manifest["timings_seconds"].values()))
        print(f"run {i + 1}: {walls[-1]:.1f} s ({manifest.get('pdf') or 'no PDF'})", flush=True)
    print(f"machine: {machine()}")
    size = (
        f"{args.accounts:,} accounts, Parquet" if args.accounts else "default demo, 3,000 accounts"
    )
    print(
        f"full report ({size}): median {statistics.median(walls):.1f} s "
        f"wall (min {min(walls):.1f}, max {max(walls):.1f}, {len(walls)} runs)"
    )
    for name, secs in per_notebook.items():
        print(f"  {name:<24} median {statistics.median(secs):5.1f} s")
    print(f"  {'notebooks together':<24} median {statistics.median(notebooks):5.1f} s")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2  # KiB -> GiB
    print(f"peak memory of one process: {peak:.1f} GB")


if __name__ == "__main__":
    main()
