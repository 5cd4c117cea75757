"""Revenue forecasts with prediction intervals, chosen per series by a rolling-origin backtest.

The engine behind notebook 01's forecast cells and ``workbench forecast``. For every series it

1. decides the season length from the periods (quarters: 4, months: 12);
2. backtests the candidate methods from several forecast origins near the end of the series
   (each origin sees only the data before it, so no look-ahead), scoring MASE, sMAPE and the
   coverage of the prediction intervals;
3. picks the candidate with the lowest backtest MASE — the two baselines (naive, seasonal
   naive) are candidates too, so a model is used only when it beat them on this series;
4. refits the chosen method on the whole series and forecasts ``horizon`` periods ahead with
   intervals at ``level``.

Candidates (formulas and choices: ``docs/potential.md``):

``naive``
    Last value; interval ``± z σ √h`` with σ the standard deviation of one-step changes.
``seasonal_naive``
    Value one season earlier; interval ``± z σ_s √(k + 1)``, ``k = ⌊(h − 1)/m⌋``.
``ets``
    statsmodels ``ETSModel`` with additive errors on log values (so seasonality and growth are
    multiplicative) when every value is positive, on the values otherwise. Seasonal when the
    training data hold two full seasons. With four or more seasons of data the trend
    (none or damped) and the seasonality are chosen by AICc; with less, no trend.
``sarimax``
    statsmodels ``SARIMAX`` on the same scale: a seasonal random walk with drift
    ``(0,0,0)(0,1,0)m + c`` below four seasons of data, ``(1,0,0)(0,1,1)m + c`` from four.
``sarimax_x``
    The same with the economic indicators as regressors (only when ``exog`` is given). Their
    future values are held at the last observed value (a no-change scenario) in the backtest
    as in the forecast, so the backtest cannot see the future.

Intervals are then calibrated on the backtest: the chosen method's backtest errors, as
multiples of its own interval half-widths, give a split-conformal scaling factor for the
forecast intervals (bounded to [``MIN_WIDEN``, ``MAX_WIDEN``]). Models fitted on a few dozen
points are usually over-confident; the backtest measures by how much.

Series shorter than two seasons (fewer than 8 quarters or 24 months) cannot separate a
season from noise: they get the naive method and a :class:`ShortSeriesWarning`, never an
error.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .config import Quarter

BASELINES = ("naive", "seasonal_naive")
METHODS = ("naive", "seasonal_naive", "ets", "sarimax", "sarimax_x")
MAX_WIDEN = 3.0
"""Largest factor by which backtest calibration widens a forecast interval."""
MIN_WIDEN = 0.75
"""Smallest factor: calibration narrows an interval by at most a quarter (a few backtest
errors are weak evidence that a model is too cautious)."""
MIN_CALIBRATION_POINTS = 6
"""Backtest errors needed before intervals are calibrated on them."""

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
SEASON_LENGTH = {"Q": 4, "M": 12}


class ShortSeriesWarning(UserWarning):
    """A series was too short for the models; a simple method was used instead."""


class ForecastInputError(ValueError):
    """The series input is unusable; the message names the file, column and line."""


# ---------------------------------------------------------------------------------------------
# Periods


def parse_period(text: str) -> pd.Period:
    """A period from ``2024Q3`` (quarter) or ``2024-07`` (month).

    >>> parse_period("2024Q3"), parse_period("2024-07")
    (Period('2024Q3', 'Q-DEC'), Period('2024-07', 'M'))
    """
    s = str(text).strip()
    m = _QUARTER.match(s)
    if m:
        return pd.Period(year=int(m.group(1)), quarter=int(m.group(2)), freq="Q")
    m = _MONTH.match(s)
    if m:
        return pd.Period(year=int(m.group(1)), month=int(m.group(2)), freq="M")
    raise ValueError(f"{text!r} is not a quarter (YYYYQn) or a month (YYYY-MM)")


def format_period(p: pd.Period) -> str:
    """``2024Q3`` or ``2024-07`` (the input format)."""
    return f"{p.year}Q{p.quarter}" if p.freqstr.startswith("Q") else f"{p.year}-{p.month:02d}"


def _freq_key(p: pd.Period) -> str:
    return "Q" if p.freqstr.startswith("Q") else "M"


# ---------------------------------------------------------------------------------------------
# Candidate methods: each takes the training values and returns (mean, lower, upper) for h steps


@dataclasses.dataclass(frozen=True)
class _Fit:
    """One method's forecast: point, interval bounds, and the scale it was made on."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    log: bool
    spec: str


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def _naive(y: np.ndarray, h: int, m: int, level: float, **_) -> _Fit:
    steps = np.arange(1, h + 1)
    mean = np.full(h, y[-1], dtype=float)
    d = np.diff(y)
    if len(d) >= 2:
        sigma = float(np.std(d, ddof=1))
    elif len(d) == 1:
        sigma = float(abs(d[0]))
    else:
        sigma = math.nan  # one observation: no evidence on how much the series moves
    half = _z(level) * sigma * np.sqrt(steps)
    return _Fit(mean, mean - half, mean + half, False, "random walk")


def _seasonal_naive(y: np.ndarray, h: int, m: int, level: float, **_) -> _Fit:
    steps = np.arange(1, h + 1)
    last = y[-m:]
    mean = np.asarray([last[(k - 1) % m] for k in steps], dtype=float)
    d = y[m:] - y[:-m]
    sigma = float(np.std(d, ddof=1)) if len(d) >= 2 else math.nan
    half = _z(level) * sigma * np.sqrt((steps - 1) // m + 1)
    return _Fit(mean, mean - half, mean + half, False, f"value {m} periods earlier")


def _scale(y: np.ndarray) -> tuple[np.ndarray, bool]:
    """Log values when all are positive (multiplicative growth and season), else the values."""
    if np.all(y > 0):
        return np.log(y), True
    return y.astype(float), False


def _back(mean, lower, upper, log: bool, spec: str) -> _Fit:
    mean, lower, upper = (np.asarray(a, dtype=float) for a in (mean, lower, upper))
    if log:
        return _Fit(np.exp(mean), np.exp(lower), np.exp(upper), True, spec)
    return _Fit(mean, lower, upper, False, spec)


def _ets_specs(n: int, m: int) -> list[tuple[str | None, str | None]]:
    seasonal = "add" if m > 1 and n >= 2 * m else None
    if n >= 4 * max(m, 2):
        specs = [(None, seasonal), ("add", seasonal)]
        if seasonal:
            specs.append(("add", None))
        return specs
    return [(None, seasonal)]


def _ets(y: np.ndarray, h: int, m: int, level: float, **_) -> _Fit:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    z, log = _scale(y)
    series = pd.Series(z)
    best, best_aicc, best_spec = None, math.inf, ""
    for trend, seasonal in _ets_specs(len(y), m):
        model = ETSModel(
            series,
            error="add",
            trend=trend,
            damped_trend=trend is not None,
            seasonal=seasonal,
            seasonal_periods=m if seasonal else None,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(disp=False)
        aicc = res.aicc if np.isfinite(res.aicc) else res.aic
        if np.isfinite(aicc) and aicc < best_aicc:
            tag = f"ETS(A,{'Ad' if trend else 'N'},{'A' if seasonal else 'N'})"
            best, best_aicc, best_spec = res, aicc, tag + (" on log" if log else "")
    if best is None:
        raise ValueError("no ETS specification could be fitted")
    frame = best.get_prediction(start=len(y), end=len(y) + h - 1).summary_frame(alpha=1 - level)
    return _back(frame["mean"], frame["pi_lower"], frame["pi_upper"], log, best_spec)


def _sarimax_orders(n: int, m: int) -> tuple[tuple[int, int, int], tuple[int, int, int, int]]:
    if m <= 1:
        return (1, 1, 0), (0, 0, 0, 0)
    if n >= 4 * m:
        return (1, 0, 0), (0, 1, 1, m)
    return (0, 0, 0), (0, 1, 0, m)


def _sarimax(
    y: np.ndarray,
    h: int,
    m: int,
    level: float,
    exog: np.ndarray | None = None,
    exog_future: np.ndarray | None = None,
    **_,
) -> _Fit:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    z, log = _scale(y)
    order, seasonal = _sarimax_orders(len(y), m)
    model = SARIMAX(z, exog=exog, order=order, seasonal_order=seasonal, trend="c")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(disp=False)
        frame = res.get_forecast(h, exog=exog_future).summary_frame(alpha=1 - level)
    spec = "SARIMAX({},{},{})({},{},{}){}+c".format(*order, *seasonal)
    spec += ("+x" if exog is not None else "") + (" on log" if log else "")
    return _back(frame["mean"], frame["mean_ci_lower"], frame["mean_ci_upper"], log, spec)


_METHOD_FUNCS: dict[str, Callable[..., _Fit]] = {
    "naive": _naive,
    "seasonal_naive": _seasonal_naive,
    "ets": _ets,
    "sarimax": _sarimax,
    "sarimax_x": _sarimax,
}


def _min_obs(method: str, m: int) -> int:
    if method == "naive":
        return 2
    if method == "seasonal_naive":
        return m + 2
    return 2 * max(m, 2)


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
    fit: _Fit
    backtest: pd.DataFrame  # one row per method
    errors: pd.DataFrame  # one row per (method, origin, step)
    widen: float
    note: str


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


def _forecast_one(
    y: np.ndarray,
    *,
    horizon: int,
    level: float,
    m: int,
    methods: Sequence[str],
    n_origins: int,
    exog: np.ndarray | None,
    label: str,
) -> _SeriesOutcome:
    n = len(y)
    if n < 2 * max(m, 2):
        warnings.warn(
            f"series {label!r} has {n} observation(s), fewer than two seasons ({2 * max(m, 2)}): "
            "using the naive method (last value, random-walk interval)",
            ShortSeriesWarning,
            stacklevel=3,
        )
        fit = _naive(y, horizon, m, level)
        empty = pd.DataFrame(columns=["method", "mase", "smape", "coverage", "points"])
        return _SeriesOutcome(
            "naive",
            "random walk (short series)",
            fit,
            empty,
            pd.DataFrame(),
            1.0,
            "short series: naive fallback",
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

    table = _score(errors, usable, failed)
    note = "no backtest origin: seasonal naive by default" if not cuts else ""
    scored = table.dropna(subset=["mase"])
    if scored.empty:
        chosen = "seasonal_naive" if "seasonal_naive" in usable else "naive"
        note = note or "no method could be scored: baseline by default"
    else:
        # first minimum in candidate order: the simpler method wins a tie
        chosen = scored.sort_values("mase", kind="stable").iloc[0]["method"]
    x_future = np.repeat(exog[-1:], horizon, axis=0) if exog is not None else None
    try:
        fit = _run(chosen, y, horizon, m, level, exog, x_future)
    except Exception as exc:
        note = f"{chosen} failed on the full series ({type(exc).__name__}); seasonal naive used"
        chosen = "seasonal_naive"
        fit = _run(chosen, y, horizon, m, level, None, None)
    widen = _calibration(errors[errors["method"] == chosen], level)
    if widen != 1:
        fit = _widen(fit, widen)
    table["chosen"] = table["method"] == chosen
    return _SeriesOutcome(chosen, fit.spec, fit, table, errors, widen, note)


def _score(errors: pd.DataFrame, methods: Sequence[str], failed: Mapping[str, str]) -> pd.DataFrame:
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
                    "points": 0,
                    "failed": failed.get(k, ""),
                }
            )
            continue
        abs_scaled = (e["actual"] - e["mean"]).abs() / e["scale"]
        inside = (e["actual"] >= e["lower"]) & (e["actual"] <= e["upper"])
        out.append(
            {
                "method": k,
                "mase": float(abs_scaled.mean()),
                "smape": smape(e["actual"].to_numpy(), e["mean"].to_numpy()),
                "coverage": float(inside.mean()),
                "points": len(e),
                "failed": "",
            }
        )
    return pd.DataFrame(out)


def _calibration(errors: pd.DataFrame, level: float) -> float:
    """Factor by which the chosen method's intervals must be scaled to cover ``level`` of its
    backtest errors (split-conformal); 1 with too few errors to say."""
    e = errors.dropna(subset=["lower", "upper"])
    if len(e) < MIN_CALIBRATION_POINTS:
        return 1.0
    log = e["log"].to_numpy(dtype=bool)
    a, mu = e["actual"].to_numpy(float), e["mean"].to_numpy(float)
    lo, hi = e["lower"].to_numpy(float), e["upper"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        # interval half-width on the scale the model worked on (log or level)
        t_a = np.where(log, np.log(np.where(a > 0, a, np.nan)), a)
        t_mu = np.where(log, np.log(mu), mu)
        half = np.where(
            t_a >= t_mu, np.where(log, np.log(hi), hi) - t_mu, t_mu - np.where(log, np.log(lo), lo)
        )
        ratio = np.abs(t_a - t_mu) / half
    ratio = ratio[np.isfinite(ratio)]
    if len(ratio) < MIN_CALIBRATION_POINTS:
        return 1.0
    # split-conformal quantile: the ⌈(n + 1)·level⌉-th smallest ratio covers a new point with
    # probability ≥ level when errors are exchangeable (np.quantile's would under-cover)
    k = math.ceil((len(ratio) + 1) * level)
    needed = float(np.sort(ratio)[min(k, len(ratio)) - 1]) if k <= len(ratio) else MAX_WIDEN
    return float(min(max(needed, MIN_WIDEN), MAX_WIDEN))


def _widen(fit: _Fit, factor: float) -> _Fit:
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


@dataclasses.dataclass(frozen=True)
class ForecastResults:
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
    """

    forecasts: pd.DataFrame
    backtest: pd.DataFrame
    history: pd.DataFrame
    horizon: int
    level: float

    @property
    def chosen(self) -> pd.Series:
        """The chosen method per series (index ``series_id``)."""
        b = self.backtest[self.backtest["chosen"]]
        return b.set_index("series_id")["method"]

    def to_frame(self) -> pd.DataFrame:
        """Forecasts in the command's output layout: series_id, period, mean, lower, upper."""
        return self.forecasts[["series_id", "period", "mean", "lower", "upper"]].copy()

    def summary(self) -> pd.DataFrame:
        """One row per series: observations, chosen method, its backtest MASE, sMAPE and
        interval coverage, the seasonal-naive MASE and whether the choice beat it."""
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
        return out

    def backtest_table(self) -> pd.DataFrame:
        """Every candidate's backtest scores, series by series (MASE, sMAPE %, coverage)."""
        cols = ["series_id", "method", "mase", "smape", "coverage", "points", "chosen"]
        return (
            self.backtest[cols]
            .rename(columns={"smape": "smape_pct"})
            .set_index(["series_id", "method"])
        )

    def _repr_html_(self) -> str:
        s = self.summary()
        head = (
            f"<p><b>Forecasts</b>: {len(s)} series, {self.horizon} periods ahead, "
            f"{self.level:.0%} intervals; chosen model beats seasonal naive on "
            f"{int(s['beats_seasonal_naive'].sum())} of "
            f"{int(s['seasonal_naive_mase'].notna().sum())} backtested series.</p>"
        )
        return head + s.to_html(float_format=lambda v: f"{v:,.3f}")

    def __repr__(self) -> str:
        return (
            f"ForecastResults({self.history['series_id'].nunique()} series, "
            f"horizon={self.horizon}, level={self.level})\n{self.summary().to_string()}"
        )


# ---------------------------------------------------------------------------------------------
# Public API


class Forecaster:
    """Backtest-selected forecasts for many series (scikit-learn contract).

    Parameters
    ----------
    horizon : int
        Periods ahead (≥ 1).
    level : float
        Central probability of the prediction intervals, in (0, 1).
    n_origins : int
        Backtest origins per series (≥ 1). More origins make the choice steadier and slower.
    methods : sequence of str
        Candidates, from :data:`METHODS`; the two baselines are always added.

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
    ):
        self.horizon = horizon
        self.level = level
        self.n_origins = n_origins
        self.methods = methods

    def fit(self, series: pd.DataFrame, exog: pd.DataFrame | None = None) -> Forecaster:
        """Backtest, choose and forecast every series in ``series``.

        Parameters
        ----------
        series : DataFrame
            ``series_id`` (text), ``period`` (``YYYYQn`` or ``YYYY-MM``, or pandas Periods),
            ``value`` (number). Each series consecutive, without gaps or duplicates.
        exog : DataFrame, optional
            Regressors for ``sarimax_x``: a ``period`` column (or ``quarter``) and numeric
            indicator columns, covering every period of the series it is used for.
        """
        _check_options(self.horizon, self.level, self.n_origins, self.methods)
        methods = list(dict.fromkeys([*BASELINES, *self.methods]))
        panel = _prepare(series)
        x_table = _prepare_exog(exog) if exog is not None else None
        fc_rows: list[dict[str, object]]
        bt_rows: list[pd.DataFrame]
        fc_rows, bt_rows = [], []
        with one_blas_thread():
            for sid, g in panel.groupby("series_id", sort=False):
                self._fit_one(sid, g, x_table, methods, fc_rows, bt_rows)
        history = panel.assign(period=panel["period"].map(format_period))
        self.results_ = ForecastResults(
            forecasts=pd.DataFrame(fc_rows),
            backtest=pd.concat(bt_rows, ignore_index=True),
            history=history.reset_index(drop=True),
            horizon=self.horizon,
            level=self.level,
        )
        return self

    def _fit_one(self, sid, g, x_table, methods, fc_rows, bt_rows) -> None:
        """Backtest, choose and forecast one series; append its rows."""
        periods = g["period"].tolist()
        y = g["value"].to_numpy(dtype=float)
        m = SEASON_LENGTH[_freq_key(periods[0])]
        x = _align_exog(x_table, periods) if x_table is not None else None
        out = _forecast_one(
            y,
            horizon=self.horizon,
            level=self.level,
            m=m,
            methods=methods,
            n_origins=self.n_origins,
            exog=x,
            label=str(sid),
        )
        future = [periods[-1] + k for k in range(1, self.horizon + 1)]
        for k, p in enumerate(future):
            fc_rows.append(
                {
                    "series_id": sid,
                    "period": format_period(p),
                    "step": k + 1,
                    "mean": out.fit.mean[k],
                    "lower": out.fit.lower[k],
                    "upper": out.fit.upper[k],
                    "model": out.method,
                    "spec": out.spec,
                }
            )
        bt = out.backtest.copy()
        if bt.empty:
            bt = pd.DataFrame(
                [
                    {
                        "method": "naive",
                        "mase": math.nan,
                        "smape": math.nan,
                        "coverage": math.nan,
                        "points": 0,
                        "failed": "",
                        "chosen": True,
                    }
                ]
            )
        bt.insert(0, "series_id", sid)
        bt["widen"] = out.widen
        bt["note"] = out.note
        bt_rows.append(bt)


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
) -> ForecastResults:
    """Forecast many series at once, each with the method that won its own backtest.

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
    return Forecaster(horizon, level, n_origins, methods).fit(series, exog).results_


def _check_options(horizon, level, n_origins, methods) -> None:
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


# ---------------------------------------------------------------------------------------------
# Revenue series for notebook 01


def revenue_series(
    facts: pd.DataFrame,
    scopes: pd.DataFrame,
    *,
    quarter: Quarter | str,
) -> pd.DataFrame:
    """Quarterly won revenue by company, region and territory, ready for :func:`forecast_series`.

    Parameters
    ----------
    facts : DataFrame
        The facts table: ``account_id``, ``quarter`` (``YYYYQn``), ``won_usd`` (USD).
    scopes : DataFrame
        One row per account: ``account_id``, ``territory`` (the current owner's book) and
        ``region`` — e.g. ``PotentialResults.accounts``. Revenue is mapped to the *current*
        alignment, so a territory's history is what its present accounts bought.
    quarter : Quarter or str
        Last quarter of history (later facts are ignored).

    Returns
    -------
    DataFrame
        ``series_id`` (``company``, ``region:<name>``, ``territory:<id>``), ``scope_type``,
        ``scope``, ``period`` (``YYYYQn``), ``value`` (won USD in the quarter). Quarters run
        from the first quarter with company revenue to ``quarter``; empty quarters are 0.
        Accounts without an owner count in the company and region series only.

    Examples
    --------
    >>> facts = pd.DataFrame({"account_id": ["A", "B", "A"], "quarter": ["2026Q1", "2026Q1",
    ...                       "2026Q2"], "won_usd": [10.0, 5.0, 20.0]})
    >>> scopes = pd.DataFrame({"account_id": ["A", "B"], "territory": ["R1", "R2"],
    ...                        "region": ["North", "North"]})
    >>> s = revenue_series(facts, scopes, quarter="2026Q2")
    >>> s[s["series_id"] == "territory:R2"]["value"].tolist()
    [5.0, 0.0]
    """
    q = Quarter.parse(quarter)
    f = facts.loc[facts["quarter"] <= str(q), ["account_id", "quarter", "won_usd"]]
    f = f.merge(scopes[["account_id", "territory", "region"]], on="account_id", how="left")
    f["territory"] = f["territory"].fillna("unassigned")
    f["region"] = f["region"].fillna("unknown")
    company = f.groupby("quarter")["won_usd"].sum()
    positive = company[company > 0]
    if positive.empty:
        return pd.DataFrame(columns=["series_id", "scope_type", "scope", "period", "value"])
    first = Quarter.parse(positive.index.min())
    quarters = [str(x) for x in q.range_back(q.index - first.index + 1)]
    parts: list[tuple[str, str | None, pd.DataFrame]] = [
        ("company", "company", f.assign(_s="company"))
    ]
    parts.append(("region", None, f.assign(_s=f["region"])))
    # accounts without an owner are nobody's book: they count in company and region only
    owned = f[f["territory"] != "unassigned"]
    parts.append(("territory", None, owned.assign(_s=owned["territory"])))
    out = []
    for scope_type, _, frame in parts:
        table = frame.pivot_table(
            index="quarter", columns="_s", values="won_usd", aggfunc="sum", fill_value=0.0
        )
        table = table.reindex(quarters, fill_value=0.0)
        for scope in sorted(table.columns, key=str):
            sid = "company" if scope_type == "company" else f"{scope_type}:{scope}"
            out.append(
                pd.DataFrame(
                    {
                        "series_id": sid,
                        "scope_type": scope_type,
                        "scope": str(scope),
                        "period": quarters,
                        "value": table[scope].to_numpy(dtype=float),
                    }
                )
            )
    return pd.concat(out, ignore_index=True)


def forecast_revenue(
    series: pd.DataFrame,
    *,
    horizon: int,
    level: float = 0.8,
    n_origins: int = 3,
    economy: pd.DataFrame | None = None,
    indicators: Sequence[str] | None = None,
) -> ForecastResults:
    """Forecast :func:`revenue_series` output, optionally with economic indicators.

    Parameters
    ----------
    series : DataFrame
        ``series_id``, ``period`` (``YYYYQn``), ``value`` (won USD per quarter).
    horizon, level, n_origins
        As in :func:`forecast_series`.
    economy : DataFrame, optional
        The ``economy`` table: ``quarter`` and indicator columns.
    indicators : sequence of str, optional
        Which economy columns to offer the ``sarimax_x`` candidate; ``None`` (default): every
        numeric column ``economy`` has; empty: none. The backtest keeps the regression only
        where it beats the candidates without it.

    Returns
    -------
    ForecastResults
    """
    exog = None
    if economy is not None and indicators is None:
        indicators = [
            c
            for c in economy.columns
            if c != "quarter" and pd.api.types.is_numeric_dtype(economy[c])
        ]
    if economy is not None and indicators:
        unknown = [c for c in indicators if c not in economy.columns]
        if unknown:
            raise ValueError(
                f"economy has no indicator(s) {unknown}; it holds "
                f"{[c for c in economy.columns if c != 'quarter']}"
            )
        exog = economy[["quarter", *indicators]]
    methods = METHODS if exog is not None else tuple(k for k in METHODS if k != "sarimax_x")
    return forecast_series(
        series[["series_id", "period", "value"]],
        horizon=horizon,
        level=level,
        n_origins=n_origins,
        exog=exog,
        methods=methods,
    )


def forecast_stage(results: ForecastResults, series: pd.DataFrame) -> pd.DataFrame:
    """The ``forecast`` stage table: history and forecasts of every series, one row each.

    Columns: ``series_id``, ``scope_type``, ``scope``, ``period``, ``kind`` (``actual`` or
    ``forecast``), ``value_usd`` (actual won USD, empty for forecasts), ``mean_usd``,
    ``lower_usd``, ``upper_usd`` (forecasts), ``interval_level``, ``model``.
    """
    meta = series[["series_id", "scope_type", "scope"]].drop_duplicates("series_id")
    hist = series[["series_id", "period", "value"]].rename(columns={"value": "value_usd"})
    hist = hist.assign(kind="actual")
    fc = results.forecasts.rename(
        columns={"mean": "mean_usd", "lower": "lower_usd", "upper": "upper_usd"}
    )
    fc = fc[["series_id", "period", "mean_usd", "lower_usd", "upper_usd", "model"]]
    fc = fc.assign(kind="forecast", interval_level=results.level)
    out = pd.concat([hist, fc], ignore_index=True).merge(meta, on="series_id", how="left")
    cols = [
        "series_id",
        "scope_type",
        "scope",
        "period",
        "kind",
        "value_usd",
        "mean_usd",
        "lower_usd",
        "upper_usd",
        "interval_level",
        "model",
    ]
    return out[cols].sort_values(["series_id", "period"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Chart


def plot_fan_chart(
    results: ForecastResults,
    series_ids: Sequence[str] | None = None,
    *,
    history: int = 12,
    title: str | None = None,
):
    """History and forecast with the prediction interval shaded, one panel per series.

    Parameters
    ----------
    results : ForecastResults
    series_ids : sequence of str, optional
        Series to draw (default: up to four, ``company`` first).
    history : int
        Most recent periods of history to show.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from .plots import usd

    ids = (
        list(series_ids)
        if series_ids is not None
        else list(dict.fromkeys(["company", *results.history["series_id"]]))[:4]
    )
    ids = [s for s in ids if s in set(results.history["series_id"])]
    cols = min(2, len(ids)) or 1
    rows = math.ceil(len(ids) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.2 * rows), squeeze=False)
    for ax, sid in zip(axes.flat, ids, strict=False):
        h = results.history[results.history["series_id"] == sid].tail(history)
        f = results.forecasts[results.forecasts["series_id"] == sid]
        x_h = np.arange(len(h))
        x_f = np.arange(len(h), len(h) + len(f))
        ax.plot(x_h, h["value"], color="#3b6ea8", marker="o", ms=3, label="actual")
        ax.plot(
            np.r_[x_h[-1:], x_f],
            np.r_[h["value"].iloc[-1:], f["mean"]],
            color="#d9822b",
            marker="o",
            ms=3,
            label="forecast",
        )
        ax.fill_between(
            x_f,
            f["lower"],
            f["upper"],
            color="#d9822b",
            alpha=0.25,
            label=f"{results.level:.0%} interval",
        )
        labels = list(h["period"]) + list(f["period"])
        step = max(1, len(labels) // 8)
        ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right")
        ax.yaxis.set_major_formatter(FuncFormatter(usd))
        model = f["model"].iloc[0] if len(f) else ""
        ax.set_title(f"{sid} ({model})", fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in list(axes.flat)[len(ids) :]:
        ax.set_visible(False)
    axes.flat[0].legend(frameon=False, fontsize=8, loc="upper left")
    fig.suptitle(title or f"Won revenue: history and {results.horizon}-period forecast")
    fig.tight_layout()
    plt.close(fig)
    return fig


# ---------------------------------------------------------------------------------------------
# The `workbench forecast` command


def read_series_csv(path: str | Path) -> pd.DataFrame:
    """Read and check a ``series_id,period,value`` CSV; every problem named with file, line,
    column.

    Raises
    ------
    ForecastInputError
        Missing file or column, unparseable period or value, mixed frequencies, duplicates,
        gaps. Line numbers are the file's (header = line 1).
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise ForecastInputError(f"{name}: file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ForecastInputError(f"{name}: cannot be read as CSV ({exc})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("series_id", "period", "value") if c not in df.columns]
    if missing:
        raise ForecastInputError(
            f"{name}: missing column(s) {', '.join(missing)} (expected series_id,period,value; "
            f"found {','.join(df.columns)})"
        )
    if df.empty:
        raise ForecastInputError(f"{name}: no rows below the header")
    lines = pd.Series(np.arange(len(df)) + 2, index=df.index)
    problems: list[str] = []
    periods = []
    for i, text in df["period"].items():
        try:
            periods.append(parse_period(text))
        except ValueError:
            periods.append(None)
            problems.append(
                f"{name}:{lines[i]}: column period: {text!r} is not a quarter "
                "(YYYYQn, e.g. 2024Q3) or a month (YYYY-MM, e.g. 2024-07)"
            )
    values = pd.to_numeric(df["value"].str.strip(), errors="coerce")
    for i in df.index[values.isna() | ~np.isfinite(values.fillna(0.0))]:
        problems.append(f"{name}:{lines[i]}: column value: {df.at[i, 'value']!r} is not a number")
    for i in df.index[df["series_id"].str.strip() == ""]:
        problems.append(f"{name}:{lines[i]}: column series_id: empty series id")
    if problems:
        raise ForecastInputError(_join(problems))
    out = pd.DataFrame(
        {"series_id": df["series_id"].str.strip(), "period": periods, "value": values.astype(float)}
    )
    structural = _series_problems(out, lines)
    if structural:
        raise ForecastInputError(_join([f"{name}: {p}" for p in structural]))
    return out


def _join(problems: list[str], limit: int = 20) -> str:
    more = len(problems) - limit
    text = "\n".join(problems[:limit])
    return text + (f"\n… and {more} more problem(s)" if more > 0 else "")


def run_forecast_command(args: argparse.Namespace) -> int:
    """``workbench forecast --series S.csv --horizon H [--level L] --out F.csv``.

    Writes ``series_id,period,mean,lower,upper`` atomically; returns 0, or 2 with the problem
    on stderr (nothing written).
    """
    from .io import write_frame

    prog = "workbench forecast"
    problems = []
    if args.horizon < 1:
        problems.append(f"--horizon must be ≥ 1, got {args.horizon}")
    if not 0 < args.level < 1:
        problems.append(f"--level must be between 0 and 1 (e.g. 0.8), got {args.level}")
    if problems:
        print(f"{prog}: " + "; ".join(problems), file=sys.stderr)
        return 2
    try:
        series = read_series_csv(args.series)
    except ForecastInputError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ShortSeriesWarning)
        results = forecast_series(series, horizon=args.horizon, level=args.level)
    for w in caught:
        if issubclass(w.category, ShortSeriesWarning):
            print(f"{prog}: warning: {w.message}", file=sys.stderr)
    frame = results.to_frame()
    write_frame(frame, args.out)
    chosen = results.chosen.value_counts()
    print(
        f"{prog}: {series['series_id'].nunique()} series, {args.horizon} periods ahead, "
        f"{args.level:.0%} intervals -> {args.out}"
    )
    print("  models chosen by backtest: " + ", ".join(f"{k} {v}" for k, v in chosen.items()))
    return 0
