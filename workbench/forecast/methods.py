"""Periods (quarters and months) and the candidate forecasting methods.

Each candidate takes a series' training values and returns its point forecast and interval
bounds for ``h`` steps (formulas: :mod:`workbench.forecast` and ``docs/potential.md``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

BASELINES = ("naive", "seasonal_naive")
METHODS = ("naive", "seasonal_naive", "ets", "sarimax", "theta", "holt_winters", "sarimax_x")
MEMBERS = ("ets", "sarimax", "theta", "holt_winters", "sarimax_x")
"""The models a combination is built from (the baselines are yardsticks, never members)."""

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
SEASON_LENGTH = {"Q": 4, "M": 12}


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


def _seasonal_test(z: np.ndarray, m: int) -> bool:
    """Whether lag ``m`` autocorrelation is significant at 90 % (the Theta method's test, as in
    the M3 competition): ``|r_m| > 1.645 √((1 + 2 Σ_{k<m} r_k²) / n)``."""
    n = len(z)
    if m <= 1 or n < 3 * m:
        return False
    d = z - z.mean()
    den = float(d @ d)
    if den == 0:
        return False
    r = np.array([float(d[k:] @ d[:-k]) / den for k in range(1, m + 1)])
    return bool(abs(r[-1]) > 1.645 * math.sqrt((1 + 2 * float(r[:-1] @ r[:-1])) / n))


def _season_indices(z: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Additive seasonal indices of a classical decomposition - the centred 2×m moving average
    is the trend, an index the mean detrended value at its position in the season (mean 0) -
    for every observation, and the ``m`` indices."""
    n = len(z)
    kernel = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(z, kernel, mode="valid")
    off = (len(kernel) - 1) // 2
    detr = z[off : off + len(trend)] - trend
    pos = (np.arange(len(trend)) + off) % m
    idx = np.array([detr[pos == j].mean() for j in range(m)])
    idx = idx - idx.mean()
    return idx[np.arange(n) % m], idx


def _ses(x: np.ndarray, alpha: float) -> tuple[float, float]:
    """Simple exponential smoothing from level x[0]: (final level, sum of squared one-step
    errors)."""
    level, sse = x[0], 0.0
    for v in x[1:]:
        e = v - level
        sse += e * e
        level += alpha * e
    return level, sse


def _theta(y: np.ndarray, h: int, m: int, level: float, **_) -> _Fit:
    from scipy.optimize import minimize_scalar

    z, log = _scale(y)
    n = len(z)
    seasonal = _seasonal_test(z, m)
    if seasonal:
        in_sample, idx = _season_indices(z, m)
        x = z - in_sample
    else:
        x = z
    t = np.arange(n, dtype=float)
    b0 = float(np.polyfit(t, x, 1)[0]) if n >= 2 else 0.0
    best = minimize_scalar(
        lambda a: _ses(x, a)[1], bounds=(0.01, 0.99), method="bounded", options={"xatol": 1e-4}
    )
    alpha = float(best.x)
    ell, sse = _ses(x, alpha)
    steps = np.arange(1, h + 1)
    # Hyndman & Billah (2003): SES plus half the linear trend's slope, with SES's start effect
    drift = b0 / 2 * (steps - 1 + 1 / alpha - (1 - alpha) ** n / alpha)
    mean = ell + drift
    sigma = math.sqrt(sse / max(n - 1, 1))
    half = _z(level) * sigma * np.sqrt(1 + (steps - 1) * alpha**2)
    if seasonal:
        future = idx[(n + steps - 1) % m]
        mean = mean + future
    spec = f"Theta (α={alpha:.2f}{', seasonal' if seasonal else ''})" + (" on log" if log else "")
    return _back(mean, mean - half, mean + half, log, spec)


def _holt_winters(y: np.ndarray, h: int, m: int, level: float, **_) -> _Fit:
    """Holt-Winters: damped additive trend, additive season, on the values (where the other
    members work on logs), every smoothing parameter fitted by maximum likelihood (statsmodels
    ``ETSModel``)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = "add" if m > 1 and len(y) >= 2 * m else None
    model = ETSModel(
        pd.Series(y.astype(float)),
        error="add",
        trend="add",
        damped_trend=True,
        seasonal=seasonal,
        seasonal_periods=m if seasonal else None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(disp=False, maxiter=2000)
    frame = res.get_prediction(start=len(y), end=len(y) + h - 1).summary_frame(alpha=1 - level)
    return _back(
        frame["mean"],
        frame["pi_lower"],
        frame["pi_upper"],
        False,
        "Holt-Winters (A,Ad,A)" if seasonal else "Holt (A,Ad,N)",
    )


_METHOD_FUNCS: dict[str, Callable[..., _Fit]] = {
    "naive": _naive,
    "seasonal_naive": _seasonal_naive,
    "ets": _ets,
    "sarimax": _sarimax,
    "sarimax_x": _sarimax,
    "theta": _theta,
    "holt_winters": _holt_winters,
}


def _min_obs(method: str, m: int) -> int:
    if method == "naive":
        return 2
    if method == "seasonal_naive":
        return m + 2
    return 2 * max(m, 2)
