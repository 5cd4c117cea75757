"""Report benchmark: the full quarterly report on the default demo, wall time per notebook.

Usage: ``python benchmarks/bench_report.py [--runs 3]``

Builds the default demo (3,000 accounts) and ingests it once into ``benchmarks/out/report/``
(git-ignored), then runs ``workbench report`` in a fresh process per run — kernel starts,
imports, model fits, HTML and PDF export included, as ``make report`` does — and prints the
median wall time and each notebook's median from the report manifests.
"""

from __future__ import annotations

import argparse
import json
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
    args = ap.parse_args()
    home = HERE / "out" / "report"
    data = home / "data"
    if not (data / "processed" / "manifest.json").exists():
        subprocess.run(
            [sys.executable, "-m", "workbench", "demo", "--out", str(data / "raw")],
            check=True,
            capture_output=True,
        )
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
    walls, per_notebook = [], {}
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
        manifest = json.loads((home / "reports" / "2026Q3" / "manifest.json").read_text())
        for name, sec in manifest["timings_seconds"].items():
            per_notebook.setdefault(name, []).append(sec)
        print(f"run {i + 1}: {walls[-1]:.1f} s ({manifest.get('pdf') or 'no PDF'})", flush=True)
    print(f"machine: {machine()}")
    print(
        f"full report (default demo, 3,000 accounts): median {statistics.median(walls):.1f} s "
        f"wall (min {min(walls):.1f}, max {max(walls):.1f}, {len(walls)} runs)"
    )
    for name, secs in per_notebook.items():
        print(f"  {name:<24} median {statistics.median(secs):5.1f} s")


if __name__ == "__main__":
    main()
