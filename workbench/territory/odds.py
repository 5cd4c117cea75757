"""Quotas with their odds: each territory's year as a forecast distribution, the chance of
making a quota, equal-chance quotas and a fairness verdict.

**A year's distribution.** The forecast engine gives, per territory and quarter, a point
``m_q`` (read as the median) and an interval ``[l_q, u_q]`` of central probability ``level``.
Each quarter is a *split normal* with median ``m_q``: below it a half-normal of scale
``σ⁻_q = (m_q − l_q) / z``, above it one of scale ``σ⁺_q = (u_q − m_q) / z``, with
``z = Φ⁻¹(½ + level/2)`` — so it reproduces the interval exactly and keeps its skew. The
quarters of one territory are taken as **comonotonic** (one bad quarter comes with the others;
a conservative, widest-case dependence), so the year's quantiles are the sums of the quarters'::

    Q_year(p) = Σ_q m_q + Φ⁻¹(p) · Σ_q σ⁻_q     (p < ½)
    Q_year(p) = Σ_q m_q + Φ⁻¹(p) · Σ_q σ⁺_q     (p ≥ ½)

a split normal again, with median ``M = Σ m_q`` and scales ``S⁻ = Σ σ⁻_q``, ``S⁺ = Σ σ⁺_q``.

**Chance of making a quota** ``Q``: ``P(Y ≥ Q) = 1 − Φ((Q − M) / S)``, with ``S = S⁻`` when
``Q < M`` and ``S⁺`` otherwise. The attainment band is ``Q_year(0.1) / Q`` to
``Q_year(0.9) / Q`` (P10 to P90 attainment).

**Equal-chance quotas** for a target ``T``: the quotas ``Q_t = M_t + ζ · S_t`` with one ``ζ``
for every territory (``S = S⁺`` when ``T ≥ Σ M_t``, else ``S⁻``) and ``ζ = (T − Σ M_t) / Σ S_t``.
They sum to ``T`` and every territory's chance is ``1 − Φ(ζ)``: closed form, no search.

**Fairness**: the spread (max − min) of the territories' chances, in percentage points:
up to :data:`EVEN_PP` *even*, up to :data:`UNEVEN_PP` *uneven*, beyond *unfair*.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from ..frames import isin

if TYPE_CHECKING:
    from ..forecast import ForecastResults

__all__ = [
    "COMPANY",
    "EVEN_PP",
    "TARGET_BASES",
    "UNEVEN_PP",
    "PlanOutlook",
    "attainment_probability",
    "equal_chance_quotas",
    "fairness",
    "fairness_verdict",
    "odds_columns",
    "outlook_quantile",
    "plan_outlook",
    "reconcile_bottom_up",
    "year_outlook",
]

EVEN_PP = 10.0
"""Largest spread of attainment chances (percentage points) called *even*."""
UNEVEN_PP = 25.0
"""Largest spread called *uneven*; beyond it the quotas are *unfair*."""


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def year_outlook(forecasts: pd.DataFrame, *, level: float, periods: list[str]) -> pd.DataFrame:
    """Each series' year (the sum over ``periods``) as a split normal.

    Parameters
    ----------
    forecasts : DataFrame
        ``series_id``, ``period``, ``mean``, ``lower``, ``upper`` (``ForecastResults.forecasts``).
    level : float
        The intervals' central probability.
    periods : list of str
        The periods making up the year; every series must have a forecast for each.

    Returns
    -------
    DataFrame
        Index ``series_id``: ``median`` (``M``), ``sigma_low`` (``S⁻``), ``sigma_high``
        (``S⁺``), ``p10`` and ``p90`` (the year's 10th and 90th percentiles).

    Examples
    --------
    >>> f = pd.DataFrame({"series_id": "T1", "period": ["2027Q1", "2027Q2"],
    ...     "mean": [100.0, 120.0], "lower": [90.0, 100.0], "upper": [130.0, 140.0]})
    >>> o = year_outlook(f, level=0.8, periods=["2027Q1", "2027Q2"])
    >>> o.loc["T1", ["median", "p10", "p90"]].round(6).tolist()  # sums of the quarters' bounds
    [220.0, 190.0, 270.0]
    """
    f = forecasts[forecasts["period"].astype(str).isin([str(p) for p in periods])]
    counts = f.groupby("series_id", sort=False).size()
    short = counts[counts < len(periods)]
    if len(short):
        raise ValueError(
            f"series {short.index[:5].tolist()} have no forecast for some of {list(periods)}"
        )
    z = _z(level)
    g = f.assign(
        sigma_low=(f["mean"] - f["lower"]).clip(lower=0) / z,
        sigma_high=(f["upper"] - f["mean"]).clip(lower=0) / z,
    ).groupby("series_id", sort=False)
    out = pd.DataFrame(
        {
            "median": g["mean"].sum(),
            "sigma_low": g["sigma_low"].sum(),
            "sigma_high": g["sigma_high"].sum(),
        }
    )
    out["p10"] = outlook_quantile(out, 0.1)
    out["p90"] = outlook_quantile(out, 0.9)
    return out


def outlook_quantile(outlook: pd.DataFrame, p: float) -> pd.Series:
    """``Q_year(p)`` of every row of a :func:`year_outlook` table."""
    zp = float(stats.norm.ppf(p))
    sigma = outlook["sigma_low"] if p < 0.5 else outlook["sigma_high"]
    return outlook["median"] + zp * sigma


def attainment_probability(outlook: pd.DataFrame, quota: pd.Series) -> pd.Series:
    """``P(Y ≥ quota)`` per row: the chance that the year's revenue makes the quota.

    >>> o = pd.DataFrame({"median": [100.0], "sigma_low": [10.0], "sigma_high": [20.0]})
    >>> float(attainment_probability(o, pd.Series([120.0])).round(4)[0])  # 1 − Φ(1)
    0.1587
    """
    q = quota.to_numpy(float) if isinstance(quota, pd.Series) else np.asarray(quota, float)
    m = outlook["median"].to_numpy(float)
    s = np.where(q < m, outlook["sigma_low"].to_numpy(float), outlook["sigma_high"].to_numpy(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        zq = np.where(s > 0, (q - m) / np.where(s > 0, s, 1.0), np.where(q <= m, -np.inf, np.inf))
    return pd.Series(stats.norm.sf(zq), index=outlook.index, name="p_attain")


def equal_chance_quotas(outlook: pd.DataFrame, target: float) -> tuple[pd.Series, float]:
    """Quotas that sum to ``target`` and give every row the same chance of making its quota.

    Returns the quotas and that common chance.

    >>> o = pd.DataFrame({"median": [100.0, 300.0], "sigma_low": [10.0, 10.0],
    ...                   "sigma_high": [10.0, 30.0]}, index=["T1", "T2"])
    >>> q, p = equal_chance_quotas(o, 440.0)   # ζ = 40 / 40 = 1
    >>> q.tolist(), round(p, 4)
    ([110.0, 330.0], 0.1587)
    """
    m = outlook["median"].astype(float)
    above = target >= float(m.sum())
    s = outlook["sigma_high" if above else "sigma_low"].astype(float)
    if float(s.sum()) <= 0:
        # no uncertainty anywhere: the gap is shared in proportion to the medians
        share = m / float(m.sum()) if float(m.sum()) > 0 else pd.Series(1 / len(m), index=m.index)
        quotas = m + (target - float(m.sum())) * share
        return quotas.rename("quota_usd"), float(np.isclose(target, m.sum()))
    zeta = (target - float(m.sum())) / float(s.sum())
    return (m + zeta * s).rename("quota_usd"), float(stats.norm.sf(zeta))


def fairness(chances: pd.Series) -> dict[str, Any]:
    """The spread of attainment chances and its verdict.

    >>> fairness(pd.Series([0.55, 0.40, 0.48]))["verdict"]
    'uneven'
    """
    c = chances.dropna().astype(float)
    if c.empty:
        return {"min": np.nan, "max": np.nan, "spread_pp": np.nan, "verdict": "no territories"}
    spread = 100 * float(c.max() - c.min())
    return {
        "min": float(c.min()),
        "max": float(c.max()),
        "spread_pp": spread,
        "std_pp": 100 * float(c.std(ddof=0)),
        "verdict": fairness_verdict(spread),
    }


def fairness_verdict(spread_pp: float) -> str:
    """*even* up to :data:`EVEN_PP` percentage points between the lowest and the highest
    chance, *uneven* up to :data:`UNEVEN_PP`, *unfair* beyond."""
    return "even" if spread_pp <= EVEN_PP else "uneven" if spread_pp <= UNEVEN_PP else "unfair"


def reconcile_bottom_up(forecasts: pd.DataFrame, *, parts: list[str], total: str) -> pd.DataFrame:
    """The total series' forecast made to add up with its parts (bottom-up reconciliation).

    Each period's total point forecast becomes the sum of the parts' points; the total keeps
    its *own* interval half-widths (its own backtest measured how far the whole strays, which
    the parts' sum cannot say without their correlations). Returns ``forecasts`` with the
    ``total`` rows replaced and a ``reconciled`` column (True on them).
    """
    f = forecasts.copy()
    sums = f[f["series_id"].isin(parts)].groupby("period")["mean"].sum()
    rows = f["series_id"] == total
    if not rows.any():
        raise ValueError(f"no forecast for the total series {total!r}")
    new_mean = f.loc[rows, "period"].map(sums)
    if new_mean.isna().any():
        raise ValueError("the parts lack forecasts for some of the total's periods")
    shift = new_mean - f.loc[rows, "mean"]
    f.loc[rows, "mean"] = new_mean
    f.loc[rows, "lower"] = f.loc[rows, "lower"] + shift
    f.loc[rows, "upper"] = f.loc[rows, "upper"] + shift
    f["reconciled"] = rows
    return f


TARGET_BASES = ("growth", "forecast", "bottom_up")


@dataclasses.dataclass(frozen=True, repr=False)
class PlanOutlook:
    """The plan's territories forecast, reconciled, and their quota year as distributions.

    Attributes
    ----------
    forecasts : ForecastResults
        The engine's results on the territories' histories (re-aggregated by the plan) and the
        company's; the company rows of ``forecasts`` are reconciled bottom-up
        (:func:`reconcile_bottom_up`).
    territories : DataFrame
        :func:`year_outlook` per territory (index territory id).
    company : Series
        The company's reconciled year: ``median``, ``sigma_low``, ``sigma_high``, ``p10``,
        ``p90``.
    periods : list of str
        The quota year's quarters.
    """

    forecasts: ForecastResults
    territories: pd.DataFrame
    company: pd.Series
    periods: list[str]


COMPANY = "company"


def plan_outlook(
    facts: pd.DataFrame,
    account_territory: pd.Series,
    *,
    quarter: str,
    periods: list[str],
    level: float = 0.8,
    n_origins: int = 4,
    n_jobs: int = 1,
    cache: dict | None = None,
) -> PlanOutlook:
    """Forecast every territory of a plan over the quota year (``periods``, the quarters right
    after ``quarter``) and the company as the sum of the territories.

    ``account_territory``: each account's territory under the plan (index ``account_id``);
    accounts without one are left out, so the company is the plan's territories together.
    Territory histories are what their accounts bought, whichever rep sold it
    (:func:`~workbench.forecast.revenue_series`). ``cache``: the engine's (a dict the caller
    keeps), so territories an edit left unchanged are not refitted.
    """
    import warnings

    from ..forecast import ShortSeriesWarning, forecast_series, revenue_series

    owned = account_territory.dropna()
    scopes = pd.DataFrame(
        {
            "account_id": owned.index.astype(str),
            "territory": owned.astype(str).to_numpy(),
            "region": "all",
        }
    )
    f = facts[isin(facts["account_id"].astype(str), scopes["account_id"])]
    series = revenue_series(f, scopes, quarter=quarter)
    series = series[series["scope_type"] != "region"]
    with warnings.catch_warnings():
        # a territory younger than two years is forecast naively; the table says so per row
        warnings.simplefilter("ignore", ShortSeriesWarning)
        res = forecast_series(
            series[["series_id", "period", "value"]],
            horizon=len(periods),
            level=level,
            n_origins=n_origins,
            n_jobs=n_jobs,
            cache=cache,
        )
    parts = [sid for sid in series["series_id"].unique() if sid.startswith("territory:")]
    rec = reconcile_bottom_up(res.forecasts, parts=parts, total=COMPANY)
    res = dataclasses.replace(res, forecasts=rec)
    out = year_outlook(rec, level=level, periods=periods)
    terr = out.loc[parts].rename(index=lambda s: s.split(":", 1)[1]).rename_axis("territory")
    return PlanOutlook(res, terr, out.loc[COMPANY], list(periods))


def odds_columns(
    outlook: pd.DataFrame, quotas: pd.Series, target: float
) -> tuple[pd.DataFrame, float]:
    """The quota table's odds columns for ``quotas`` (index territory): ``forecast_usd`` (the
    year's median), ``forecast_p10_usd``, ``forecast_p90_usd``, ``p_attain``,
    ``attain_p10``, ``attain_p90``, ``equal_chance_quota_usd`` and ``equal_chance`` (every
    territory's chance under those quotas); and that chance."""
    o = outlook.reindex(quotas.index)
    q = quotas.astype(float)
    eq, p_eq = equal_chance_quotas(o, target)
    cols = pd.DataFrame(
        {
            "forecast_usd": o["median"],
            "forecast_p10_usd": o["p10"],
            "forecast_p90_usd": o["p90"],
            "p_attain": attainment_probability(o, q),
            "attain_p10": o["p10"] / q.where(q > 0),
            "attain_p90": o["p90"] / q.where(q > 0),
            "equal_chance_quota_usd": eq,
            "equal_chance": p_eq,
        },
        index=quotas.index,
    )
    return cols, p_eq
