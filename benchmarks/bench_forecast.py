"""Forecast benchmark: the engine against seasonal naive on real series it was not tuned on.

Usage: ``python benchmarks/bench_forecast.py [--set eval|dev] [--protocol spread|last]
[--origins 12]``

Protocol (rolling origin, no look-ahead). For each series and each forecast origin, the engine
(:func:`workbench.forecast.forecast_series`, default settings) sees only the history before
the origin — at most the last 10 years, as a business series would hold — chooses its model
by its own internal backtest on that history, and forecasts one year ahead (4 quarters or 12
months) with 80 % intervals. Seasonal naive and naive forecast from the same origins.
Origins: ``spread`` (default) places ``--origins`` of them evenly from the point where 10 years
of history exist to the end, so the score describes typical years; ``last`` takes the latest
ones (consecutive quarters, or every third month), i.e. one recent stretch — for
``macrodata``, which ends in 2009Q3, that stretch is the 2007–09 financial crisis.

Scores per series, pooled over origins and steps:

* MASE: mean absolute error ÷ the in-sample mean absolute seasonal-naive error of the
  training window (Hyndman & Koehler 2006), so seasonal naive is the yardstick;
* sMAPE (percent): mean of 200·|a − f| / (|a| + |f|);
* coverage: share of held-out points inside the 80 % interval (target 0.80).

Series. ``eval`` (the reported table): every column of statsmodels' ``macrodata`` (US
quarterly macro 1959–2009), ``elec_equip`` (euro-area electrical equipment turnover, monthly,
1995–2016), ``co2`` (Mauna Loa, weekly → monthly means, 1958–2001) and ``elnino`` (Niño sea
surface temperature, monthly 1950–2010). The engine's settings were fixed on the ``dev`` set
only (``danish_data``, ``interest_inflation`` and planted synthetic series) before the eval
set was run.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd
from _machine import machine

from workbench.forecast import ShortSeriesWarning, forecast_series, format_period, smape
from workbench.forecast.methods import _naive, _seasonal_naive

LEVEL = 0.8
MAX_YEARS = 10


def _quarterly(values, start_year: int, start_q: int) -> pd.Series:
    idx = pd.period_range(
        pd.Period(year=start_year, quarter=start_q, freq="Q"), periods=len(values), freq="Q"
    )
    return pd.Series(np.asarray(values, dtype=float), index=idx)


def eval_series() -> dict[str, pd.Series]:
    from statsmodels.datasets import co2, elec_equip, elnino, macrodata

    out = {}
    macro = macrodata.load_pandas().data
    for col in [
        "realgdp",
        "realcons",
        "realinv",
        "realgovt",
        "realdpi",
        "cpi",
        "m1",
        "tbilrate",
        "unemp",
        "pop",
        "infl",
        "realint",
    ]:
        out[f"macrodata.{col}"] = _quarterly(macro[col], 1959, 1)
    ee = elec_equip.load().data.iloc[:, 0]
    out["elec_equip"] = pd.Series(ee.to_numpy(float), index=pd.PeriodIndex(ee.index, freq="M"))
    c = co2.load().data["co2"]
    monthly = c.groupby(pd.PeriodIndex(c.index, freq="M")).mean()
    monthly = monthly.reindex(
        pd.period_range(monthly.index.min(), monthly.index.max(), freq="M")
    ).interpolate()
    out["co2"] = monthly
    en = elnino.load().data
    vals = en.drop(columns="YEAR").to_numpy(float).ravel()
    out["elnino"] = pd.Series(vals, index=pd.period_range("1950-01", periods=len(vals), freq="M"))
    return out


def dev_series() -> dict[str, pd.Series]:
    from statsmodels.datasets import danish_data, interest_inflation

    out = {}
    dd = danish_data.load_pandas().data
    for col in dd.columns:
        out[f"danish_data.{col}"] = _quarterly(dd[col], 1974, 1)
    ii = interest_inflation.load_pandas().data
    for col in ("Dp", "R"):
        out[f"interest_inflation.{col}"] = _quarterly(ii[col], 1972, 2)
    rng = np.random.default_rng(2024)
    for k in range(4):
        n = 40
        t = np.arange(n)
        season = np.array([0.8, 1.0, 0.95, 1.25])[t % 4]
        y = 100 * (1.02**t) * season * np.exp(rng.normal(0, 0.05 + 0.03 * k, n))
        out[f"synthetic.seasonal{k}"] = _quarterly(y, 2016, 1)
    for k in range(2):
        n = 96
        t = np.arange(n)
        season = 1 + 0.2 * np.sin(2 * np.pi * t / 12)
        y = 50 * season * np.exp(np.cumsum(rng.normal(0.002, 0.02, n)))
        out[f"synthetic.monthly{k}"] = pd.Series(
            y, index=pd.period_range("2016-01", periods=n, freq="M")
        )
    return out


def origins(n: int, m: int, h: int, n_origins: int, protocol: str) -> list[int]:
    """Forecast origins (cut-offs): ``last`` = the latest ones (quarterly: consecutive
    quarters, monthly: every third month); ``spread`` = evenly from the point where 10 years
    of history exist to the last full-horizon origin."""
    if protocol == "last":
        spacing = 1 if m == 4 else 3
        return [n - h - spacing * k for k in range(n_origins)][::-1]
    first = min(MAX_YEARS * m, n - h - n_origins)
    return sorted({round(float(c)) for c in np.linspace(first, n - h, n_origins)})


def evaluate(
    name: str, s: pd.Series, n_origins: int, inner: int | None = None, protocol: str = "spread"
) -> tuple[dict, list[dict]]:
    m = 4 if s.index.freqstr.startswith("Q") else 12
    h = m
    n = len(s)
    cuts = origins(n, m, h, n_origins, protocol)
    rows = []
    models = []
    for c in cuts:
        train = s.iloc[max(0, c - MAX_YEARS * m) : c]
        test = s.iloc[c : c + h].to_numpy()
        y = train.to_numpy()
        frame = pd.DataFrame(
            {"series_id": name, "period": [format_period(p) for p in train.index], "value": y}
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ShortSeriesWarning)
            res = forecast_series(
                frame, horizon=h, level=LEVEL, **({"n_origins": inner} if inner else {})
            )
        f = res.forecasts
        models.append(f["model"].iloc[0])
        sn = _seasonal_naive(y, h, m, LEVEL)
        nv = _naive(y, h, m, LEVEL)
        scale = float(np.mean(np.abs(y[m:] - y[:-m])))
        for label, mean, lo, hi in (
            ("chosen", f["mean"].to_numpy(), f["lower"].to_numpy(), f["upper"].to_numpy()),
            ("seasonal_naive", sn.mean, sn.lower, sn.upper),
            ("naive", nv.mean, nv.lower, nv.upper),
        ):
            for k in range(h):
                rows.append(
                    {
                        "series": name,
                        "who": label,
                        "origin": c,
                        "step": k + 1,
                        "actual": test[k],
                        "mean": mean[k],
                        "lower": lo[k],
                        "upper": hi[k],
                        "scale": scale,
                    }
                )
    e = pd.DataFrame(rows)
    out = {"series": name, "freq": "Q" if m == 4 else "M", "n": n, "h": h, "origins": len(cuts)}
    for who, g in e.groupby("who"):
        out[f"mase_{who}"] = float(((g["actual"] - g["mean"]).abs() / g["scale"]).mean())
        out[f"smape_{who}"] = smape(g["actual"].to_numpy(), g["mean"].to_numpy())
        out[f"cover_{who}"] = float(
            ((g["actual"] >= g["lower"]) & (g["actual"] <= g["upper"])).mean()
        )
    counts = pd.Series(models).value_counts()
    out["models"] = ", ".join(f"{k} {v}" for k, v in counts.items())
    return out, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=["eval", "dev"], default="eval")
    ap.add_argument("--origins", type=int, default=12, help="forecast origins per series")
    ap.add_argument(
        "--protocol",
        choices=["spread", "last"],
        default="spread",
        help="origins spread over the history (default) or the latest ones",
    )
    ap.add_argument(
        "--inner-origins",
        type=int,
        default=None,
        help="backtest origins inside the engine (default: the engine's default)",
    )
    ap.add_argument("--only", default=None, help="run only series whose name contains this")
    args = ap.parse_args()
    series = eval_series() if args.set == "eval" else dev_series()
    if args.only:
        series = {k: v for k, v in series.items() if args.only in k}
    t0 = time.perf_counter()
    results, all_rows = [], []
    for name, s in series.items():
        t = time.perf_counter()
        out, rows = evaluate(name, s, args.origins, args.inner_origins, args.protocol)
        out["seconds"] = time.perf_counter() - t
        results.append(out)
        all_rows += rows
        print(f"  {name}: {out['seconds']:.1f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - t0
    table = pd.DataFrame(results)
    table["beats_snaive"] = table["mase_chosen"] < table["mase_seasonal_naive"]
    table["cover_ok"] = table["cover_chosen"].between(0.70, 0.90)
    show = table[
        [
            "series",
            "freq",
            "n",
            "h",
            "origins",
            "mase_chosen",
            "mase_seasonal_naive",
            "mase_naive",
            "smape_chosen",
            "cover_chosen",
            "cover_seasonal_naive",
            "beats_snaive",
            "models",
        ]
    ]
    pooled = pd.DataFrame(all_rows)
    chosen = pooled[pooled["who"] == "chosen"]
    coverage = float(
        ((chosen["actual"] >= chosen["lower"]) & (chosen["actual"] <= chosen["upper"])).mean()
    )
    where = "spread evenly over the history" if args.protocol == "spread" else "the latest ones"
    print(
        f"\nForecast benchmark ({args.set} set): one year ahead, {LEVEL:.0%} intervals, "
        f"{args.origins} origins per series ({where}), at most {MAX_YEARS} years of history "
        "before each origin"
    )
    print("| " + " | ".join(show.columns) + " |")
    print("|" + "---|" * len(show.columns))
    for row in show.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append(f"{v:.2f}")
            elif isinstance(v, (bool, np.bool_)):
                cells.append("yes" if v else "no")
            else:
                cells.append(str(v))
        print("| " + " | ".join(cells) + " |")
    print(
        f"\nchosen model beats seasonal naive on MASE: {int(table['beats_snaive'].sum())} of "
        f"{len(table)} series; median MASE {table['mase_chosen'].median():.2f} vs "
        f"{table['mase_seasonal_naive'].median():.2f} (seasonal naive)"
    )
    print(
        f"80% interval coverage: pooled {coverage:.2f}; within [0.70, 0.90] on "
        f"{int(table['cover_ok'].sum())} of {len(table)} series "
        f"(median {table['cover_chosen'].median():.2f})"
    )
    print(f"machine: {machine()}")
    print(f"runtime: {wall:.0f} s for {len(table)} series")


if __name__ == "__main__":
    main()
