"""The forecast engine: metrics, the backtest that chooses each series' method, the results.

Public API: :class:`Forecaster` and :func:`forecast_series` (many series at once, each with the
method that won its own rolling-origin backtest) and :class:`ForecastResults`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..results import Results, Summary
from .methods import (
    _METHOD_FUNCS,
    BASELINES,
    MEMBERS,
    METHODS,
    SEASON_LENGTH,
    _Fit,
    _freq_key,
    _min_obs,
    _naive,
    format_period,
    parse_period,
)

MAX_WIDEN = 3.0
"""Largest factor by which backtest calibration widens a forecast interval."""
MIN_WIDEN = 0.75
"""Smallest factor: calibration narrows an interval by at most a quarter (a few backtest
errors are weak evidence that a model is too cautious)."""
MIN_CALIBRATION_POINTS = 6
"""Backtest errors a series needs before its intervals are calibrated on its own errors
(pooled over the steps); with fewer, the panel's errors are used."""
MIN_STEP_POINTS = 8
"""Backtest errors at one step needed to calibrate that step on its own."""
COMBINATION = "combination"
"""The candidate that averages the member models (:data:`~.methods.MEMBERS`)."""
SELECTIONS = ("combination", "guarded", "best")
TRIM = math.inf
"""Default ``trim``: members worse than this multiple of the best member's MASE are dropped."""
COMBINES = ("weighted", "median")
CALIBRATIONS = ("pooled", "series")


class ShortSeriesWarning(UserWarning):
    """A series was too short for the models; a simple method was used instead."""


# ---------------------------------------------------------------------------------------------
# Metrics


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """Mean absolute scaled error: mean |actual − forecast| ÷ ``scale``.

    ``scale`` is the in-sample mean absolute seasonal-naive error of the training data
    (Hyndman & Koehler 2006), so MASE < 1 beats a seasonal-naive forecast made in-sample.

    >>> mase(np.array([10.0, 12.0]), np.array([11.0, 12.0]), 2.0)
    0.25
    """
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast))) / scale)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent: mean of 200·|a − f| / (|a| + |f|); 0 where both are 0.

    >>> round(smape(np.array([100.0, 0.0]), np.array([50.0, 0.0])), 2)
    33.33
    """
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    den = np.abs(a) + np.abs(f)
    terms = np.where(den > 0, 200 * np.abs(a - f) / np.where(den > 0, den, 1), 0.0)
    return float(np.mean(terms))


def _mase_scale(y: np.ndarray, m: int) -> float:
    lag = m if len(y) > m else 1
    d = np.abs(y[lag:] - y[:-lag])
    scale = float(np.mean(d)) if len(d) else math.nan
    if not np.isfinite(scale) or scale == 0:
        # a flat training series: any error is infinitely bad relative to it; keep it finite
        scale = 1e-9 * (float(np.mean(np.abs(y))) + 1.0)
    return scale


# ---------------------------------------------------------------------------------------------
# The engine for one series


@dataclasses.dataclass(frozen=True)
class _SeriesOutcome:
    method: str
    spec: str
    fit: _Fit  # uncalibrated
    backtest: pd.DataFrame  # one row per candidate
    ratios: pd.DataFrame  # the chosen candidate's backtest errors per half-width: step, ratio
    note: str
    short: bool = False
    scenarios: dict = dataclasses.field(default_factory=dict)  # name -> _Fit (uncalibrated)


def _origins(n: int, horizon: int, n_origins: int, min_train: int) -> list[int]:
    """Cut-offs near the end: full-horizon origins first, then later ones with fewer steps."""
    full = list(range(n - horizon, min_train - 1, -1))[:n_origins]
    partial = [c for c in range(n - horizon + 1, n) if c >= min_train]
    cuts = sorted(full)
    for c in partial:
        if len(cuts) >= n_origins:
            break
        cuts.append(c)
    return sorted(cuts)


def _run(
    method: str,
    y: np.ndarray,
    h: int,
    m: int,
    level: float,
    exog: np.ndarray | None,
    exog_future: np.ndarray | None,
) -> _Fit:
    func = _METHOD_FUNCS[method]
    if method == "sarimax_x":
        return func(y, h, m, level, exog=exog, exog_future=exog_future)
    return func(y, h, m, level)


PARTS = ("mean", "lower", "upper")


def _combine(fits: Mapping[str, _Fit], weights: Mapping[str, float], how: str) -> _Fit:
    """The members' forecasts and bounds averaged with ``weights`` (``weighted``) or their
    median (``median``), on the values' scale: averaging the members' quantiles."""
    names = [k for k in fits if weights.get(k, 0) > 0]
    stack = {part: np.vstack([getattr(fits[k], part) for k in names]) for part in PARTS}
    if how == "median":
        out = {part: np.median(a, axis=0) for part, a in stack.items()}
        spec = "median of " + ", ".join(names)
    else:
        w = np.array([weights[k] for k in names])
        out = {part: w @ a for part, a in stack.items()}
        spec = "combination: " + ", ".join(f"{k} {weights[k]:.2f}" for k in names)
    return _Fit(out["mean"], out["lower"], out["upper"], False, spec)


def _inverse_mase_weights(
    per_origin: pd.DataFrame, members: Sequence[str], trim: float = math.inf
) -> dict[str, float]:
    """Weights ∝ 1 / (mean backtest MASE over the origins given), equal without any origin.

    Left out (weight 0): SARIMAX with regressors unless it beat SARIMAX without them; members
    beyond ``trim`` × the best member's MASE.
    """
    score = per_origin.reindex(columns=list(members)).mean() if len(per_origin) else None
    if score is None or not np.isfinite(score.to_numpy(float)).any():
        return {k: 1 / len(members) for k in members}
    score = score.where(np.isfinite(score))
    if "sarimax_x" in score and "sarimax" in score and not score["sarimax_x"] < score["sarimax"]:
        score["sarimax_x"] = np.nan
    keep = score <= trim * score.min()
    inv = (1 / score.clip(lower=1e-9)).where(keep, 0.0).fillna(0.0)
    return {k: float(inv[k] / inv.sum()) for k in members}


def _combination_rows(
    errors: pd.DataFrame, members: Sequence[str], how: str, trim: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The combination's backtest rows, each origin weighted on the *other* origins only
    (leave-one-origin-out, so its score never sees the errors it is scored on); and the
    members' MASE per origin."""
    e = errors[errors["method"].isin(members)]
    per_origin = (
        (e["actual"] - e["mean"]).abs().div(e["scale"]).groupby([e["origin"], e["method"]]).mean()
    ).unstack("method")
    rows = []
    for c, g in e.groupby("origin", sort=True):
        weights = _inverse_mase_weights(per_origin.drop(index=c), members, trim)
        g = g.sort_values("step", kind="stable")
        fits = {
            k: _Fit(
                gk["mean"].to_numpy(float),
                gk["lower"].to_numpy(float),
                gk["upper"].to_numpy(float),
                False,
                "",
            )
            for k, gk in g.groupby("method", sort=False)
        }
        f = _combine(fits, weights, how)
        first = g.drop_duplicates("step")
        for i, (step, actual, scale) in enumerate(
            first[["step", "actual", "scale"]].itertuples(index=False)
        ):
            rows.append(
                (COMBINATION, c, step, actual, f.mean[i], f.lower[i], f.upper[i], scale, False)
            )
    return pd.DataFrame(rows, columns=errors.columns), per_origin


def _forecast_one(
    y: np.ndarray,
    *,
    horizon: int,
    level: float,
    m: int,
    methods: Sequence[str],
    n_origins: int,
    exog: np.ndarray | None,
    select: str = "combination",
    combine: str = "weighted",
    trim: float = math.inf,
    scenarios: Mapping[str, np.ndarray | None] | None = None,
) -> _SeriesOutcome:
    n = len(y)
    if n < 2 * max(m, 2):
        fit = _naive(y, horizon, m, level)
        table = _score(pd.DataFrame(columns=["method"]), ["naive"], {}, level)
        table["chosen"] = True
        return _SeriesOutcome(
            "naive",
            "random walk (short series)",
            fit,
            table,
            _no_ratios(),
            "short series: naive fallback",
            short=True,
            scenarios=dict.fromkeys(scenarios or {}, fit),
        )

    usable = [k for k in methods if k != "sarimax_x" or exog is not None]
    usable = [k for k in usable if _min_obs(k, m) <= n]
    min_train = max(_min_obs(k, m) for k in usable)
    cuts = _origins(n, horizon, n_origins, min_train)

    rows = []
    failed: dict[str, str] = {}
    for c in cuts:
        steps = min(horizon, n - c)
        scale = _mase_scale(y[:c], m)
        for k in usable:
            if k in failed:
                continue
            x_train = exog[:c] if exog is not None else None
            x_future = np.repeat(exog[c - 1 : c], steps, axis=0) if exog is not None else None
            try:
                f = _run(k, y[:c], steps, m, level, x_train, x_future)
            except Exception as exc:  # a model that cannot be fitted is dropped, not fatal
                failed[k] = f"{type(exc).__name__}: {exc}"
                continue
            for s in range(steps):
                rows.append(
                    (k, c, s + 1, y[c + s], f.mean[s], f.lower[s], f.upper[s], scale, f.log)
                )
    errors = pd.DataFrame(
        rows,
        columns=["method", "origin", "step", "actual", "mean", "lower", "upper", "scale", "log"],
    )
    errors = errors[~errors["method"].isin(failed)]
    members = [k for k in usable if k in MEMBERS and k not in failed]
    candidates = list(usable)
    per_origin = pd.DataFrame()
    if members and cuts:
        combo, per_origin = _combination_rows(errors, members, combine, trim)
        errors = pd.concat([errors, combo], ignore_index=True)
        candidates.append(COMBINATION)

    table = _score(errors, candidates, failed, level)
    note = "no backtest origin: seasonal naive by default" if not cuts else ""
    chosen = _choose(table, select)
    if chosen is None:
        chosen = "seasonal_naive" if "seasonal_naive" in usable else "naive"
        note = note or "no method could be scored: baseline by default"
    x_future = np.repeat(exog[-1:], horizon, axis=0) if exog is not None else None
    paths = dict(scenarios or {})
    weights: dict[str, float] = {}
    fits: dict[str, _Fit] = {}
    try:
        if chosen == COMBINATION:
            weights = _inverse_mase_weights(per_origin, members, trim)
            lost = []
            for k in [k for k in members if weights[k] > 0]:
                try:
                    fits[k] = _run(k, y, horizon, m, level, exog, x_future)
                except Exception:  # a member that fails on the whole series is left out
                    lost.append(k)
            if not fits:
                raise RuntimeError("every member failed on the full series")
            total = sum(weights[k] for k in fits)
            weights = {k: weights[k] / total if k in fits else 0.0 for k in weights}
            fit = _combine(fits, weights, combine)
            if lost:
                note = f"{', '.join(lost)} failed on the full series: left out of the combination"
        else:
            fit = _run(chosen, y, horizon, m, level, exog, x_future)
    except Exception as exc:
        note = f"{chosen} failed on the full series ({type(exc).__name__}); seasonal naive used"
        chosen, fits = "seasonal_naive", {}
        fit = _run(chosen, y, horizon, m, level, None, None)
    # economic scenarios: only the regression's forecast depends on the indicators' future
    scenario_fits = {}
    for name, path in paths.items():
        if path is None or exog is None:
            scenario_fits[name] = fit
        elif chosen == "sarimax_x":
            scenario_fits[name] = _run(chosen, y, horizon, m, level, exog, path)
        elif "sarimax_x" in fits:
            alt = {**fits, "sarimax_x": _run("sarimax_x", y, horizon, m, level, exog, path)}
            scenario_fits[name] = _combine(alt, weights, combine)
        else:
            scenario_fits[name] = fit
    table["chosen"] = table["method"] == chosen
    ratios = _ratios(errors[errors["method"] == chosen])
    return _SeriesOutcome(chosen, fit.spec, fit, table, ratios, note, scenarios=scenario_fits)


def _choose(table: pd.DataFrame, select: str) -> str | None:
    """The candidate to forecast with, from the backtest scores.

    ``best``: lowest backtest MASE of all (first in candidate order on a tie). ``combination``:
    the combination whenever it could be backtested, else ``best``. ``guarded``: the
    combination unless a baseline scored a lower backtest MASE (the baseline is then used).
    """
    scored = table.dropna(subset=["mase"])
    if scored.empty:
        return None
    best = str(scored.sort_values("mase", kind="stable").iloc[0]["method"])
    if select == "best" or COMBINATION not in set(scored["method"]):
        return best
    if select == "combination":
        return COMBINATION
    pool = scored[scored["method"].isin([*BASELINES, COMBINATION])]
    return str(pool.sort_values("mase", kind="stable").iloc[0]["method"])


def _score(
    errors: pd.DataFrame, methods: Sequence[str], failed: Mapping[str, str], level: float
) -> pd.DataFrame:
    """Per candidate: backtest MASE, sMAPE, interval coverage and Winkler score (the interval's
    width plus 2/α times any miss, α = 1 − level, over the MASE scale: lower is better)."""
    out = []
    for k in methods:
        e = errors[errors["method"] == k]
        if e.empty:
            out.append(
                {
                    "method": k,
                    "mase": math.nan,
                    "smape": math.nan,
                    "coverage": math.nan,
                    "winkler": math.nan,
                    "points": 0,
                    "failed": failed.get(k, ""),
                }
            )
            continue
        abs_scaled = (e["actual"] - e["mean"]).abs() / e["scale"]
        inside = (e["actual"] >= e["lower"]) & (e["actual"] <= e["upper"])
        miss = (e["lower"] - e["actual"]).clip(lower=0) + (e["actual"] - e["upper"]).clip(lower=0)
        winkler = (e["upper"] - e["lower"] + 2 / (1 - level) * miss) / e["scale"]
        out.append(
            {
                "method": k,
                "mase": float(abs_scaled.mean()),
                "smape": smape(e["actual"].to_numpy(), e["mean"].to_numpy()),
                "coverage": float(inside.mean()),
                "winkler": float(winkler.mean()),
                "points": len(e),
                "failed": "",
            }
        )
    return pd.DataFrame(out)


def _no_ratios() -> pd.DataFrame:
    return pd.DataFrame({"step": pd.Series(dtype=int), "ratio": pd.Series(dtype=float)})


def _ratios(errors: pd.DataFrame) -> pd.DataFrame:
    """Each backtest error as a multiple of the interval half-width on the actual's side, on
    the scale the model worked on (log or values): 1 = exactly on the bound."""
    e = errors.dropna(subset=["lower", "upper"])
    if e.empty:
        return _no_ratios()
    log = e["log"].to_numpy(dtype=bool)
    a, mu = e["actual"].to_numpy(float), e["mean"].to_numpy(float)
    lo, hi = e["lower"].to_numpy(float), e["upper"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_a = np.where(log, np.log(np.where(a > 0, a, np.nan)), a)
        t_mu = np.where(log, np.log(mu), mu)
        half = np.where(
            t_a >= t_mu, np.where(log, np.log(hi), hi) - t_mu, t_mu - np.where(log, np.log(lo), lo)
        )
        ratio = np.abs(t_a - t_mu) / half
    out = pd.DataFrame({"step": e["step"].to_numpy(int), "ratio": ratio})
    return out[np.isfinite(out["ratio"])].reset_index(drop=True)


def _conformal(ratios: np.ndarray, level: float) -> float:
    """Split-conformal factor: the ⌈(n + 1)·level⌉-th smallest ratio, which covers a new error
    with probability ≥ ``level`` when errors are exchangeable (np.quantile's would
    under-cover); bounded to [``MIN_WIDEN``, ``MAX_WIDEN``]."""
    k = math.ceil((len(ratios) + 1) * level)
    needed = float(np.sort(ratios)[k - 1]) if k <= len(ratios) else MAX_WIDEN
    return float(min(max(needed, MIN_WIDEN), MAX_WIDEN))


def _step_factors(
    own: pd.DataFrame, pool: pd.DataFrame, horizon: int, level: float, calibration: str
) -> tuple[np.ndarray, str]:
    """Interval scaling per forecast step, and where it came from.

    ``series``: the series' own ratios at that step when it has ``MIN_STEP_POINTS`` of them,
    else its ratios over all steps (``MIN_CALIBRATION_POINTS`` needed), else the panel's
    (``pool``, every series' chosen-candidate ratios) at that step; 1 when nothing is enough.
    ``pooled``: always the panel's, per step when it has enough there.
    """
    out, sources = np.ones(horizon), set()
    for s in range(1, horizon + 1):
        candidates = []
        if calibration == "series":
            candidates += [
                (own.loc[own["step"] == s, "ratio"], MIN_STEP_POINTS, "series, per step"),
                (own["ratio"], MIN_CALIBRATION_POINTS, "series, all steps"),
            ]
        candidates += [
            (pool.loc[pool["step"] == s, "ratio"], MIN_STEP_POINTS, "panel, per step"),
            (pool["ratio"], MIN_STEP_POINTS, "panel, all steps"),
        ]
        for r, need, source in candidates:
            if len(r) >= need:
                out[s - 1] = _conformal(r.to_numpy(float), level)
                sources.add(source)
                break
        else:
            sources.add("none")
    return out, " + ".join(sorted(sources))


def _widen(fit: _Fit, factor: np.ndarray | float) -> _Fit:
    if fit.log:
        c = np.log(fit.mean)
        lo = np.exp(c - factor * (c - np.log(fit.lower)))
        hi = np.exp(c + factor * (np.log(fit.upper) - c))
    else:
        lo = fit.mean - factor * (fit.mean - fit.lower)
        hi = fit.mean + factor * (fit.upper - fit.mean)
    return dataclasses.replace(fit, lower=lo, upper=hi)


# ---------------------------------------------------------------------------------------------
# Results


@dataclasses.dataclass(frozen=True, repr=False)
class ForecastResults(Results):
    """Forecasts for many series, with the backtest that chose each series' method.

    Attributes
    ----------
    forecasts : DataFrame
        One row per series and future period: ``series_id``, ``period`` (text, as in the
        input), ``step`` (1..horizon), ``mean``, ``lower``, ``upper`` (same units as the
        input values), ``model`` (the chosen method), ``spec`` (its specification).
    backtest : DataFrame
        One row per series and candidate: ``mase``, ``smape`` (percent), ``coverage`` (share
        of backtest points inside the interval), ``points`` (backtest errors scored),
        ``chosen``; plus ``widen`` (interval calibration factor) and ``note``.
    history : DataFrame
        The input, ``series_id``, ``period`` (text), ``value``.
    horizon, level : int, float
        Periods ahead; central probability of the intervals.
    scenarios : DataFrame
        With economic scenarios (``Forecaster.fit(scenarios=...)``): ``series_id``,
        ``scenario``, ``period``, ``step``, ``mean``, ``lower``, ``upper``; else empty.
    """

    forecasts: pd.DataFrame
    backtest: pd.DataFrame
    history: pd.DataFrame
    horizon: int
    level: float
    scenarios: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    def scenario_table(self, series_id: str | None = None) -> pd.DataFrame:
        """One series' forecast (the first one's by default, e.g. ``company``) under each
        economic scenario beside the main forecast (indicators held at their last value):
        period rows, ``mean`` columns per scenario. Empty without scenarios."""
        if self.scenarios.empty:
            return pd.DataFrame()
        sid = series_id or str(self.forecasts["series_id"].iloc[0])
        main = self.forecasts[self.forecasts["series_id"] == sid].set_index("period")["mean"]
        sc = self.scenarios[self.scenarios["series_id"] == sid]
        out = sc.pivot(index="period", columns="scenario", values="mean")
        out.insert(0, "no change", main.reindex(out.index))
        out.columns.name = f"{sid}: mean by scenario"
        return out

    @property
    def chosen(self) -> pd.Series:
        """The chosen method per series (index ``series_id``)."""
        b = self.backtest[self.backtest["chosen"]]
        return b.set_index("series_id")["method"]

    def to_frame(self) -> pd.DataFrame:
        """Forecasts in the command's output layout: series_id, period, mean, lower, upper."""
        return self.forecasts[["series_id", "period", "mean", "lower", "upper"]].copy()

    def summary(self) -> Summary:
        """One row per series: observations, chosen method, its backtest MASE, sMAPE and
        interval coverage, the seasonal-naive MASE and whether the choice beat it; a note counts
        the series, the horizon and how often the choice beat seasonal naive."""
        n_obs = self.history.groupby("series_id", sort=False).size().rename("observations")
        b = self.backtest
        chosen = b[b["chosen"]].set_index("series_id")
        snaive = b[b["method"] == "seasonal_naive"].set_index("series_id")["mase"]
        out = pd.DataFrame(index=n_obs.index)
        out["observations"] = n_obs
        out["model"] = chosen["method"].reindex(out.index).fillna("naive")
        out["spec"] = self.forecasts.groupby("series_id", sort=False)["spec"].first()
        out["backtest_mase"] = chosen["mase"].reindex(out.index)
        out["seasonal_naive_mase"] = snaive.reindex(out.index)
        out["backtest_smape_pct"] = chosen["smape"].reindex(out.index)
        out["backtest_coverage"] = chosen["coverage"].reindex(out.index)
        out["interval_scale"] = chosen["widen"].reindex(out.index)
        out["beats_seasonal_naive"] = out["backtest_mase"] < out["seasonal_naive_mase"]
        out["note"] = chosen["note"].reindex(out.index).fillna("short series: naive fallback")
        note = (
            f"{len(out)} series, {self.horizon} periods ahead, {self.level:.0%} intervals; "
            f"chosen model beats seasonal naive on {int(out['beats_seasonal_naive'].sum())} of "
            f"{int(out['seasonal_naive_mase'].notna().sum())} backtested series."
        )
        return Summary(out, title="Forecasts", notes=[note], float_format=lambda v: f"{v:,.3f}")

    def benchmark_table(self) -> pd.DataFrame:
        """Every candidate over all backtested series, against seasonal naive: the share of
        series where its backtest MASE is lower, the median ratio of the two MASEs, the pooled
        coverage of its (uncalibrated) intervals and its mean Winkler score over the MASE
        scale. The ``chosen`` row scores each series' own choice; its intervals are then
        calibrated on these same errors, so its coverage here is before calibration."""
        b = self.backtest.dropna(subset=["mase"])
        snaive = b[b["method"] == "seasonal_naive"].set_index("series_id")["mase"]
        rows = {}
        groups = [(k, g) for k, g in b.groupby("method", sort=False)]
        groups.append(("chosen", b[b["chosen"]]))
        for k, g in groups:
            g = g.set_index("series_id")
            ratio = (g["mase"] / snaive.reindex(g.index)).dropna()
            w = g["points"].astype(float)
            rows[k] = {
                "series": len(g),
                "beats_seasonal_naive_pct": 100 * float((ratio < 1).mean()),
                "median_mase_ratio": float(ratio.median()),
                "median_mase": float(g["mase"].median()),
                "coverage": float((g["coverage"] * w).sum() / w.sum()),
                "winkler": float(g["winkler"].mean()),
            }
        return pd.DataFrame(rows).T.rename_axis("method")

    def backtest_table(self) -> pd.DataFrame:
        """Every candidate's backtest scores, series by series (MASE, sMAPE %, coverage)."""
        cols = ["series_id", "method", "mase", "smape", "coverage", "winkler", "points", "chosen"]
        return (
            self.backtest[cols]
            .rename(columns={"smape": "smape_pct"})
            .set_index(["series_id", "method"])
        )


# ---------------------------------------------------------------------------------------------
# Public API


class Forecaster:
    """Backtest-chosen forecasts for many series (scikit-learn contract).

    Parameters
    ----------
    horizon : int
        Periods ahead (≥ 1).
    level : float
        Central probability of the prediction intervals, in (0, 1).
    n_origins : int
        Backtest origins per series (≥ 1). More origins make the choice and the calibration
        steadier, and cost one fit of every candidate each.
    methods : sequence of str
        Candidates, from :data:`METHODS`; the two baselines are always added. With two or more
        of the models (:data:`MEMBERS`), their combination is a candidate too.
    select : {"combination", "guarded", "best"}
        How a series' forecast is chosen from the backtest (:func:`_choose`): ``combination``
        (default) always forecasts with the combination.
    combine : {"weighted", "median"}
        The combination: members weighted by inverse backtest MASE, or their median.
    calibration : {"pooled", "series"}
        Intervals calibrated on the panel's backtest errors per step (default: every series
        forecast together; one series alone is its own panel), or on the series' own (per step
        when it has enough, falling back to the panel's).
    n_jobs : int
        Series fitted in parallel (joblib processes); 1 fits in this process.
    trim : float
        Members whose backtest MASE exceeds ``trim`` × the best member's are left out of the
        combination (``math.inf``: all kept).
    cache : dict, optional
        Kept by the caller across fits: a series fitted before with the same values and
        options is not refitted (the explorer re-forecasts only the territories an edit
        changed). Results are the same with or without it.

    Attributes
    ----------
    results_ : ForecastResults
        Set by :meth:`fit`.
    """

    def __init__(
        self,
        horizon: int = 4,
        level: float = 0.8,
        n_origins: int = 6,
        methods: Sequence[str] = METHODS,
        select: str = "combination",
        combine: str = "weighted",
        calibration: str = "pooled",
        n_jobs: int = 1,
        trim: float = TRIM,
        cache: dict | None = None,
    ):
        self.horizon = horizon
        self.level = level
        self.n_origins = n_origins
        self.methods = methods
        self.select = select
        self.combine = combine
        self.calibration = calibration
        self.n_jobs = n_jobs
        self.trim = trim
        self.cache = cache

    def fit(
        self,
        series: pd.DataFrame,
        exog: pd.DataFrame | None = None,
        scenarios: Mapping[str, Mapping[str, object]] | None = None,
    ) -> Forecaster:
        """Backtest, choose and forecast every series in ``series``.

        Parameters
        ----------
        series : DataFrame
            ``series_id`` (text), ``period`` (``YYYYQn`` or ``YYYY-MM``, or pandas Periods),
            ``value`` (number). Each series consecutive, without gaps or duplicates.
        exog : DataFrame, optional
            Regressors for ``sarimax_x``: a ``period`` column (or ``quarter``) and numeric
            indicator columns, covering every period of the series it is used for. The main
            forecast holds them at their last value (as the backtest does).
        scenarios : mapping, optional
            Future paths of the indicators, e.g. ``{"low": {"gdp_growth_pct": 0.5}, "high":
            {"gdp_growth_pct": [2.5, 3.0, 3.0, 3.0]}}``: per scenario, an indicator's value
            over the horizon (one number, or one per period ahead); indicators a scenario
            does not name stay at their last value. Each series gets a forecast per scenario
            (``ForecastResults.scenarios``); only series whose forecast uses the regression
            (``sarimax_x`` in the combination) differ between scenarios.
        """
        _check_options(
            self.horizon,
            self.level,
            self.n_origins,
            self.methods,
            self.select,
            self.combine,
            self.calibration,
            self.n_jobs,
            self.trim,
        )
        methods = list(dict.fromkeys([*BASELINES, *self.methods]))
        panel = _prepare(series)
        x_table = _prepare_exog(exog) if exog is not None else None
        if scenarios and x_table is None:
            raise ValueError("scenarios are paths of the indicators: they need exog")
        paths = _scenario_paths(scenarios or {}, x_table, self.horizon)
        jobs = []
        for sid, g in panel.groupby("series_id", sort=False):
            periods = g["period"].tolist()
            y = g["value"].to_numpy(dtype=float)
            m = SEASON_LENGTH[_freq_key(periods[0])]
            x = _align_exog(x_table, periods) if x_table is not None else None
            own = {k: None if x is None else path(x[-1]) for k, path in paths.items()}
            jobs.append((sid, periods, y, m, x, own))
        options = dict(
            horizon=self.horizon,
            level=self.level,
            methods=methods,
            n_origins=self.n_origins,
            select=self.select,
            combine=self.combine,
            trim=self.trim,
        )
        outcomes = _run_all(jobs, options, self.n_jobs, self.cache)
        pool = pd.concat([o.ratios for o in outcomes], ignore_index=True)
        fc_rows: list[dict[str, object]] = []
        bt_rows: list[pd.DataFrame] = []
        sc_rows: list[dict[str, object]] = []
        for (sid, periods, y, _, _, _), out in zip(jobs, outcomes, strict=True):
            if out.short:
                warnings.warn(
                    f"series {sid!r} has {len(y)} observation(s), fewer than two seasons: "
                    "using the naive method (last value, random-walk interval)",
                    ShortSeriesWarning,
                    stacklevel=2,
                )
                factors, source = np.ones(self.horizon), "none (short series)"
            else:
                factors, source = _step_factors(
                    out.ratios, pool, self.horizon, self.level, self.calibration
                )
            future = [format_period(periods[-1] + k) for k in range(1, self.horizon + 1)]
            fit = _calibrated(out.fit, factors, y)
            rows = _period_rows(sid, future, fit)
            for row, w in zip(rows, factors, strict=True):
                row |= {"model": out.method, "spec": out.spec, "widen": w}
            fc_rows += rows
            for name, raw in out.scenarios.items():
                sc_rows += [
                    {"scenario": name, **row}
                    for row in _period_rows(sid, future, _calibrated(raw, factors, y))
                ]
            bt = out.backtest.copy()
            bt.insert(0, "series_id", sid)
            bt["widen"] = float(np.mean(factors))
            bt["calibration"] = source
            bt["note"] = out.note
            bt_rows.append(bt)
        history = panel.assign(period=panel["period"].map(format_period))
        self.results_ = ForecastResults(
            forecasts=pd.DataFrame(fc_rows),
            backtest=pd.concat(bt_rows, ignore_index=True),
            history=history.reset_index(drop=True),
            horizon=self.horizon,
            level=self.level,
            scenarios=pd.DataFrame(
                sc_rows,
                columns=["series_id", "scenario", "period", "step", "mean", "lower", "upper"],
            ),
        )
        return self


def _period_rows(sid: str, future: list[str], fit: _Fit) -> list[dict[str, object]]:
    """One row per period ahead: ``series_id``, ``period``, ``step``, ``mean``, ``lower``,
    ``upper``."""
    return [
        {
            "series_id": sid,
            "period": p,
            "step": k + 1,
            "mean": fit.mean[k],
            "lower": fit.lower[k],
            "upper": fit.upper[k],
        }
        for k, p in enumerate(future)
    ]


def _calibrated(fit: _Fit, factors: np.ndarray, y: np.ndarray) -> _Fit:
    """``fit``'s intervals scaled by the step factors; for a series that is never negative
    (revenue) a bound below zero says no more than zero."""
    out = _widen(fit, factors)
    if np.all(y >= 0) and not out.log:
        out = dataclasses.replace(out, lower=np.maximum(out.lower, 0.0))
    return out


def _scenario_paths(
    scenarios: Mapping[str, Mapping[str, object]], x_table: pd.DataFrame | None, horizon: int
) -> dict:
    """Per scenario, a function of a series' last indicator row giving its (horizon × n)
    future path; every problem at once."""
    problems, out = [], {}
    columns = list(x_table.columns) if x_table is not None else []
    for name, spec in scenarios.items():
        if not isinstance(spec, Mapping):
            problems.append(f"scenario {name!r} must map indicators to values")
            continue
        fixed = {}
        for col, value in spec.items():
            if col not in columns:
                problems.append(f"scenario {name!r}: no indicator {col!r} (exog has {columns})")
                continue
            values = np.atleast_1d(np.asarray(value, dtype=float))
            if len(values) not in (1, horizon) or not np.isfinite(values).all():
                problems.append(
                    f"scenario {name!r}: {col} needs one number or {horizon} (one per period "
                    f"ahead), got {value!r}"
                )
                continue
            fixed[columns.index(col)] = np.resize(values, horizon)

        def path(last: np.ndarray, fixed=fixed) -> np.ndarray:
            x = np.repeat(np.asarray(last, float)[None, :], horizon, axis=0)
            for j, v in fixed.items():
                x[:, j] = v
            return x

        out[str(name)] = path
    if problems:
        raise ValueError("; ".join(problems))
    return out


def _run_chunk(chunk, options) -> list[_SeriesOutcome]:
    with one_blas_thread():
        return [
            _forecast_one(y, m=m, exog=x, scenarios=paths, **options)
            for (_, _, y, m, x, paths) in chunk
        ]


def _outcome_key(
    y: np.ndarray, m: int, x: np.ndarray | None, options: dict, paths: Mapping[str, np.ndarray]
) -> str:
    """What one series' outcome depends on: its values, season, regressors, scenario paths
    and the options."""
    h = hashlib.sha256(np.ascontiguousarray(y, dtype=float).tobytes())
    h.update(repr((m, sorted(options.items()), sorted(paths))).encode())
    for a in [x, *(paths[k] for k in sorted(paths))]:
        if a is not None:
            h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    return h.hexdigest()


def _run_all(
    jobs: list, options: dict, n_jobs: int, cache: dict | None = None
) -> list[_SeriesOutcome]:
    """Every series' outcome, in input order; ``n_jobs`` processes share the series in
    contiguous chunks (results do not depend on ``n_jobs``). With a ``cache`` (a dict kept by
    the caller), series already fitted with the same values and options are not refitted."""
    keys = [_outcome_key(y, m, x, options, paths) for (_, _, y, m, x, paths) in jobs]
    cache = {} if cache is None else cache
    todo = [j for j, key in zip(jobs, keys, strict=True) if key not in cache]
    if n_jobs == 1 or len(todo) < 2:
        fresh = _run_chunk(todo, options)
    else:
        from joblib import Parallel, delayed

        n_chunks = min(len(todo), 4 * n_jobs)
        bounds = np.linspace(0, len(todo), n_chunks + 1).round().astype(int)
        chunks = [todo[a:b] for a, b in itertools.pairwise(bounds) if b > a]
        parts = Parallel(n_jobs=n_jobs)(delayed(_run_chunk)(c, options) for c in chunks)
        fresh = [o for part in parts for o in part]
    done = dict(zip([k for k in keys if k not in cache], fresh, strict=True))
    cache.update(done)
    return [cache[k] for k in keys]


def one_blas_thread():
    """A context in which BLAS uses one thread (for many small model fits).

    Each fit multiplies tiny matrices; a multi-threaded BLAS spends more time starting threads
    than computing, and on a shared machine it is several times slower (measured: 38 s vs 10 s
    for notebook 01's 17 series on 2 busy cores).
    """
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def forecast_series(
    series: pd.DataFrame,
    *,
    horizon: int,
    level: float = 0.8,
    n_origins: int = 6,
    exog: pd.DataFrame | None = None,
    methods: Sequence[str] = METHODS,
    select: str = "combination",
    combine: str = "weighted",
    calibration: str = "pooled",
    n_jobs: int = 1,
    trim: float = TRIM,
    cache: dict | None = None,
    scenarios: Mapping[str, Mapping[str, object]] | None = None,
) -> ForecastResults:
    """Forecast many series at once, each with the candidate that won its own backtest.

    Parameters
    ----------
    series : DataFrame
        Long format: ``series_id`` (text), ``period`` (``2024Q3`` quarters or ``2024-07``
        months; one frequency per series), ``value`` (number, any unit: the forecasts share it).
    horizon : int
        Periods ahead.
    level : float
        Central probability of the prediction intervals (0.8: 80 % intervals).
    n_origins : int
        Rolling backtest origins per series.
    exog : DataFrame, optional
        Economic indicators by ``period`` (or ``quarter``) for the ``sarimax_x`` candidate.
    methods : sequence of str
        Candidate methods (:data:`METHODS`); baselines are always included.
    select, combine, calibration, n_jobs, trim, cache
        As in :class:`Forecaster`.
    scenarios : mapping, optional
        Economic scenarios (:meth:`Forecaster.fit`).

    Returns
    -------
    ForecastResults
        ``.to_frame()`` holds series_id, period, mean, lower, upper.

    Warns
    -----
    ShortSeriesWarning
        For each series shorter than two seasons (naive method used).

    Examples
    --------
    >>> periods = [f"{y}Q{q}" for y in range(2019, 2025) for q in range(1, 5)]
    >>> values = [100 + 10 * (i % 4) + i for i in range(len(periods))]
    >>> res = forecast_series(pd.DataFrame({"series_id": "s", "period": periods,
    ...                                     "value": values}), horizon=2)
    >>> res.to_frame()["period"].tolist()
    ['2025Q1', '2025Q2']
    """
    return (
        Forecaster(
            horizon,
            level,
            n_origins,
            methods,
            select=select,
            combine=combine,
            calibration=calibration,
            n_jobs=n_jobs,
            trim=trim,
            cache=cache,
        )
        .fit(series, exog, scenarios)
        .results_
    )


def _check_options(
    horizon, level, n_origins, methods, select, combine, calibration, n_jobs, trim=TRIM
):
    problems = []
    if not isinstance(horizon, (int, np.integer)) or horizon < 1:
        problems.append(f"horizon must be a whole number ≥ 1, got {horizon!r}")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        problems.append(f"level must be between 0 and 1 (e.g. 0.8), got {level!r}")
    if not isinstance(n_origins, (int, np.integer)) or n_origins < 1:
        problems.append(f"n_origins must be a whole number ≥ 1, got {n_origins!r}")
    unknown = [k for k in methods if k not in METHODS]
    if unknown:
        problems.append(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    for name, value, allowed in (
        ("select", select, SELECTIONS),
        ("combine", combine, COMBINES),
        ("calibration", calibration, CALIBRATIONS),
    ):
        if value not in allowed:
            problems.append(f"{name} must be one of {list(allowed)}, got {value!r}")
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        problems.append(f"n_jobs must be a whole number ≥ 1, got {n_jobs!r}")
    if not (isinstance(trim, (int, float)) and trim >= 1):
        problems.append(f"trim must be ≥ 1 (math.inf keeps every member), got {trim!r}")
    if problems:
        raise ValueError("; ".join(problems))


def _prepare(series: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("series_id", "period", "value") if c not in series.columns]
    if missing:
        raise ValueError(
            f"series is missing column(s) {missing} (expected series_id, period, value)"
        )
    df = series[["series_id", "period", "value"]].copy()
    if not len(df):
        raise ValueError("series holds no rows")
    df["series_id"] = df["series_id"].astype(str)
    if not isinstance(df["period"].dtype, pd.PeriodDtype) and not all(
        isinstance(p, pd.Period) for p in df["period"]
    ):
        df["period"] = [parse_period(p) for p in df["period"]]
    df["value"] = pd.to_numeric(df["value"]).astype(float)
    if df["value"].isna().any():
        bad = df.loc[df["value"].isna(), "series_id"].unique()[:5].tolist()
        raise ValueError(f"series {bad} hold missing values")
    problems = _series_problems(df)
    if problems:
        raise ValueError("; ".join(problems))
    df["_key"] = [p.ordinal for p in df["period"]]
    return df.sort_values(["series_id", "_key"], kind="stable").drop(columns="_key")


def _series_problems(df: pd.DataFrame, lines: pd.Series | None = None) -> list[str]:
    """Mixed frequencies, duplicates and gaps, one message per series."""
    problems = []
    for sid, g in df.groupby("series_id", sort=False):
        freqs = {_freq_key(p) for p in g["period"]}
        if len(freqs) > 1:
            problems.append(f"series {sid!r} mixes quarterly and monthly periods")
            continue
        ords = pd.Series([p.ordinal for p in g["period"]], index=g.index)
        dup = ords.duplicated(keep="first")
        if dup.any():
            where = ""
            if lines is not None:
                where = " (line " + ", ".join(str(lines[i]) for i in ords.index[dup][:5]) + ")"
            problems.append(
                f"series {sid!r} repeats period(s) "
                + ", ".join(format_period(p) for p in g.loc[dup, "period"][:5])
                + where
            )
            continue
        lo, hi = ords.min(), ords.max()
        if hi - lo + 1 != len(ords):
            p0 = g["period"].iloc[0]
            present = set(ords)
            gaps = [
                format_period(pd.Period(ordinal=o, freq=p0.freq))
                for o in range(lo, hi + 1)
                if o not in present
            ]
            problems.append(
                f"series {sid!r} has missing period(s) {', '.join(gaps[:6])}"
                + (" …" if len(gaps) > 6 else "")
                + " (add rows for them, e.g. with value 0)"
            )
    return problems


def _prepare_exog(exog: pd.DataFrame) -> pd.DataFrame:
    key = "period" if "period" in exog.columns else "quarter"
    if key not in exog.columns:
        raise ValueError("exog needs a 'period' or 'quarter' column")
    num = exog.drop(columns=[key]).select_dtypes("number")
    if num.shape[1] == 0:
        raise ValueError("exog holds no numeric indicator column")
    idx = [p if isinstance(p, pd.Period) else parse_period(p) for p in exog[key]]
    return pd.DataFrame(
        num.to_numpy(dtype=float), index=pd.Index(idx, dtype=object), columns=num.columns
    )


def _align_exog(table: pd.DataFrame, periods: list[pd.Period]) -> np.ndarray | None:
    """Indicator rows for the series' periods, or ``None`` when any period is not covered."""
    lookup = {format_period(p): i for i, p in enumerate(table.index)}
    rows = [lookup.get(format_period(p)) for p in periods]
    if any(r is None for r in rows):
        return None
    x = table.to_numpy()[rows]
    return None if not np.isfinite(x).all() else x
