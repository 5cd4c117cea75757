"""Cost growth of the data reduction: ingest (checks, typed tables, facts, KPI deal sums) of
a Parquet lake on embedded DuckDB from 1M to 50M opportunity lines, then building blocks in
memory; and Spark in local mode on the smallest size for correctness and overhead.

Usage: ``python benchmarks/bench_warehouse_scale.py [--lines 1e6,5e6,20e6,50e6] [--runs 1]
[--spark-lines 1e6] [--no-spark]``

Each company is written once by ``workbench demo --format parquet`` (about 17 opportunity
lines per account; streamed, one shard of 100,000 accounts at a time) into
``benchmarks/out/lake_<accounts>/`` (git-ignored). Each run is a fresh ``python`` process
(cold imports included) that ingests into a scratch folder and reports its wall time, the
time of each step and its peak resident memory. Blocks: the processed accounts grouped into
ZIP blocks by :func:`workbench.territory.blocks.building_blocks` with the trailing four
quarters' won revenue as the measure (the notebooks add modelled potential and workload to the
same blocks). The growth exponent is the slope of log(time) on log(lines).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _machine import machine  # benchmarks/ is the script's folder, so on sys.path

HERE = Path(__file__).resolve().parent
LINES_PER_ACCOUNT = 17.0  # the demo's model: about 17 opportunity lines per account

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
steps = {}
last = [t0]
def progress(message):
    now = time.perf_counter()
    steps[message.split(":")[0]] = now - last[0]
    last[0] = now
from workbench.ingest import ingest
result = ingest(sys.argv[1], sys.argv[2], engine=sys.argv[3], progress=progress)
ingest_s = time.perf_counter() - t0
t1 = time.perf_counter()
import pyarrow.parquet as pq
import pandas as pd
from workbench.territory.blocks import building_blocks
acc = pq.read_table(sys.argv[2] + "/accounts.parquet",
                    columns=["account_id", "postal_code", "lat", "lon", "owner_rep_id"]).to_pandas()
facts = pq.read_table(sys.argv[2] + "/facts_account_quarter.parquet",
                      columns=["account_id", "quarter", "won_usd"]).to_pandas()
last4 = sorted(facts["quarter"].unique())[-4:]
rev = facts[facts["quarter"].isin(last4)].groupby("account_id")["won_usd"].sum()
acc["revenue_usd"] = acc["account_id"].map(rev).fillna(0.0)
acc["potential_usd"] = acc["revenue_usd"]
acc["hours_per_year"] = 1.0
blocks = building_blocks(acc)
blocks_s = time.perf_counter() - t1
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"ingest_s": ingest_s, "blocks_s": blocks_s, "peak_mb": peak_mb,
                  "rows": result.rows, "blocks": len(blocks), "steps": steps}))
"""


def _lake(accounts: int, seed: int) -> tuple[Path, float]:
    lake = HERE / "out" / f"lake_{accounts}_{seed}"
    if (lake / "demo_provenance.json").is_file():
        return lake, float("nan")
    print(f"generating a Parquet company with {accounts:,} accounts into {lake} ...", flush=True)
    shutil.rmtree(lake, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "demo", "--format", "parquet", "--accounts",
         str(accounts), "--seed", str(seed), "--out", str(lake)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    seconds = float(done.stderr.strip().splitlines()[-1].split("]")[0].strip("[ s"))
    return lake, seconds


def _run(lake: Path, engine: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(lake), str(Path(tmp) / "processed"), engine],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum(
        (a - mx) ** 2 for a in lx
    )


def _same_outputs(a: Path, b: Path) -> bool:
    import pandas as pd
    import pyarrow.parquet as pq

    for name in ("facts_account_quarter", "deals_account_quarter"):
        fa, fb = (pq.read_table(p / f"{name}.parquet").to_pandas() for p in (a, b))
        keys = ["quarter", "account_id", "rep_id"]
        fa, fb = (f.sort_values(keys).reset_index(drop=True).round(2) for f in (fa, fb))
        if not fa.equals(fb.astype(fa.dtypes.to_dict())):
            pd.testing.assert_frame_equal(fa, fb, check_dtype=False)
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", default="1e6,5e6,20e6,50e6", help="opportunity lines per size")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--spark-lines", type=float, default=1e6)
    ap.add_argument("--no-spark", action="store_true")
    args = ap.parse_args()
    print(machine())
    sizes = [int(float(x)) for x in args.lines.split(",")]
    print(
        "| lines | accounts | generate | checks | typed tables | facts | KPI deal sums | "
        "ingest total | blocks (memory) | peak memory |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    measured = []
    for lines in sizes:
        accounts = round(lines / LINES_PER_ACCOUNT)
        lake, generate_s = _lake(accounts, args.seed)
        runs = [_run(lake, "duckdb") for _ in range(args.runs)]
        med = lambda key, runs=runs: statistics.median(r[key] for r in runs)  # noqa: E731

        def step(key: str, runs: list = runs) -> float:
            return statistics.median(r["steps"].get(key, 0.0) for r in runs)

        typed = sum(
            step(k) for k in runs[0]["steps"] if k.startswith("wrote ") and "_quarter" not in k
        )
        n_lines = runs[0]["rows"]["opportunities"]
        measured.append((n_lines, med("ingest_s"), med("peak_mb")))
        print(
            f"| {n_lines:,} | {runs[0]['rows']['accounts']:,} | "
            f"{'(cached)' if math.isnan(generate_s) else f'{generate_s:.0f} s'} | "
            f"{step('checked 8 tables'):.1f} s | {typed:.1f} s | "
            f"{step('wrote facts_account_quarter.parquet'):.1f} s | "
            f"{step('wrote deals_account_quarter.parquet'):.1f} s | **{med('ingest_s'):.1f} s** | "
            f"{med('blocks_s'):.1f} s ({runs[0]['blocks']:,} blocks) | "
            f"{med('peak_mb') / 1024:.2f} GB |",
            flush=True,
        )
    if len(measured) > 1:
        xs = [m[0] for m in measured]
        print(f"growth exponent (time ~ lines^b): b = {_slope(xs, [m[1] for m in measured]):.2f}")
        print(f"memory growth exponent: b = {_slope(xs, [m[2] for m in measured]):.2f}")
    if not args.no_spark:
        accounts = round(args.spark_lines / LINES_PER_ACCOUNT)
        lake, _ = _lake(accounts, args.seed)
        with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
            outs = {}
            times = {}
            for engine in ("duckdb", "spark"):
                out = Path(tmp) / engine
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, str(lake),
                     str(out), engine],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                times[engine] = json.loads(done.stdout.strip().splitlines()[-1])
                outs[engine] = out
            same = _same_outputs(outs["duckdb"], outs["spark"])
        d, s = times["duckdb"], times["spark"]
        print(
            f"Spark local[2] vs DuckDB on {d['rows']['opportunities']:,} lines: ingest "
            f"{s['ingest_s']:.1f} s vs {d['ingest_s']:.1f} s "
            f"({s['ingest_s'] / d['ingest_s']:.1f}x), "
            f"peak memory of the Python process {s['peak_mb'] / 1024:.2f} GB (plus the JVM) vs "
            f"{d['peak_mb'] / 1024:.2f} GB; facts and KPI deal sums identical: {same}"
        )


if __name__ == "__main__":
    main()
