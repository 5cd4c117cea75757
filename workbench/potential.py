"""Market potential (notebook 01): potential index, achievable potential, whitespace, SWOT inputs.

Two estimates of where the money is, both in US dollars **per year** (formulas and reasons in
``docs/potential.md``):

*Index method* (top-down, buying-power-index tradition)
    Each geographic unit's share of every market driver, combined with weights:
    ``index_u = Σ_d w_d · x_{u,d} / Σ_v x_{v,d}`` (weights normalised to sum to 1). Percentage
    drivers become headcounts first (``pct_bach`` → people with a degree); ``1-pct_rural`` is
    the headcount *without* the attribute (urban population). The index spreads the total
    achievable potential over units in proportion to the market, whether or not the CRM
    knows accounts there.

*Regression method* (bottom-up, per account)
    A quantile regression (statsmodels ``QuantReg``) of what **mature customers** spent in the
    last four quarters on their firmographics (industry, log employees) and their unit's
    drivers, at an upper quantile τ (default 0.8) of log spend. ``exp(x'β)`` is then the
    τ-quantile of spend for accounts like this one: what our best similar customers already
    spend, not the average. Every account, prospect or customer, gets that prediction.

Competitor adjustment
    Unit pressure ``p_u = 1 − Π_k (1 − presence_{u,k})`` (chance at least one competitor is
    entrenched). The model learned spend under the pressure its customers face (mean ``p̄``),
    so potential is scaled by ``(1 − s·p_u) / (1 − s·p̄)`` with strength ``s`` (default 0.3):
    below 1 where competition is heavier than usual, above 1 where it is lighter.

Achievable potential is never below what the account already spends:
``potential = max(model × adjustment, revenue)``; ``whitespace = potential − revenue`` and
``penetration = revenue / potential``, by account, unit, territory (current owner's book)
and region (latitude band of the unit, see :func:`assign_regions`).
"""

from __future__ import annotations

import dataclasses
import html
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .config import NotebookParams, Quarter
from .forecast import one_blas_thread
from .geo import unit_drivers
from .io import load, load_geojson

AMOUNT_CORRELATION = 0.5
"""A driver whose correlation with population across units reaches this is an *amount* (it
grows with the unit's size: income, establishments); below it, a *rate* per head (a share,
a median) that becomes an amount by multiplying with population."""

REGIONS = ("South", "Central", "North")
SWOT_KINDS = ("strength", "weakness", "opportunity", "threat")
_QUADRANT_TITLES = {
    "strength": "Strengths",
    "weakness": "Weaknesses",
    "opportunity": "Opportunities",
    "threat": "Threats",
}


# ---------------------------------------------------------------------------------------------
# Parameters of notebook 01


@dataclasses.dataclass(frozen=True)
class PotentialParams(NotebookParams):
    """Parameters of ``notebooks/01_market_potential.ipynb``."""

    quantile: float = 0.8
    revenue_quarters: int = 4
    mature_quarters: int = 4
    index_weights: dict = dataclasses.field(default_factory=dict)
    competitor_strength: float = 0.3
    horizon: int = 4
    level: float = 0.8
    backtest_origins: int = 3
    indicators: list[str] | None = None
    cv_folds: int = 5
    seed: int = 0

    def check(self) -> list[str]:
        problems = super().check()
        if not 0.5 <= self.quantile < 1:
            problems.append(
                f"quantile must be in [0.5, 1) (an upper quantile), got {self.quantile}"
            )
        if self.revenue_quarters < 1:
            problems.append("revenue_quarters must be ≥ 1")
        if self.mature_quarters < 0:
            problems.append("mature_quarters must be ≥ 0")
        if self.index_weights:
            problems += _weight_problems(self.index_weights)
        if not 0 <= self.competitor_strength < 1:
            problems.append(
                f"competitor_strength must be in [0, 1), got {self.competitor_strength}"
            )
        if not 1 <= self.horizon <= 12:
            problems.append(f"horizon must be 1-12 quarters, got {self.horizon}")
        if not 0 < self.level < 1:
            problems.append(f"level must be between 0 and 1, got {self.level}")
        if self.backtest_origins < 1:
            problems.append("backtest_origins must be ≥ 1")
        if self.cv_folds < 2:
            problems.append("cv_folds must be ≥ 2")
        return problems


def _weight_problems(weights: object) -> list[str]:
    if not isinstance(weights, Mapping) or not weights:
        return ["index_weights must be a non-empty dict of driver: weight"]
    problems = []
    for key, w in weights.items():
        if not isinstance(key, str):
            problems.append(f"index_weights key {key!r} must be a column name")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
            problems.append(f"index_weights[{key!r}] must be a number ≥ 0, got {w!r}")
    if not problems and sum(weights.values()) <= 0:
        problems.append("index_weights must not all be 0")
    return problems


def load_potential_inputs(processed: str | Path) -> dict[str, object]:
    """The processed tables notebook 01 needs; optional ones are empty when absent.

    Keys: ``accounts``, ``geo_units``, ``facts_account_quarter``, ``competitors``,
    ``economy``, ``swot`` (DataFrames) and ``polygons`` (GeoDataFrame or ``None``).
    """
    out: dict[str, object] = {
        n: load(n, processed) for n in ("accounts", "geo_units", "facts_account_quarter")
    }
    empty = {
        "competitors": ["unit_id", "competitor", "presence"],
        "economy": ["quarter"],
        "swot": ["scope", "kind", "item"],
    }
    for name, cols in empty.items():
        path = Path(processed) / f"{name}.parquet"
        out[name] = load(name, processed) if path.is_file() else pd.DataFrame(columns=cols)
    out["polygons"] = load_geojson(processed)
    return out


# ---------------------------------------------------------------------------------------------
# Regions and the index method


def assign_regions(geo_units: pd.DataFrame) -> pd.Series:
    """Region of each unit: the unit's own ``region`` column if present, else its latitude
    band — the southern, central and northern third of units by centroid latitude.

    Latitude bands work for any geography without a lookup table; in Georgia the North band
    holds metro Atlanta and the mountains, Central the Piedmont and fall line, South the
    coastal plain.

    Parameters
    ----------
    geo_units : DataFrame
        ``unit_id``, ``lat`` (degrees) and optionally ``region``.

    Returns
    -------
    Series
        Region name per row of ``geo_units`` (same index).

    Examples
    --------
    >>> u = pd.DataFrame({"unit_id": list("abcdef"), "lat": [30, 31, 32, 33, 34, 35]})
    >>> assign_regions(u).tolist()
    ['South', 'South', 'Central', 'Central', 'North', 'North']
    """
    if "region" in geo_units.columns:
        return geo_units["region"].astype(str).rename("region")
    n = len(geo_units)
    rank = geo_units["lat"].rank(method="first").to_numpy() - 1
    band = (rank * len(REGIONS) // max(n, 1)).astype(int)
    return pd.Series(np.asarray(REGIONS)[band], index=geo_units.index, name="region")


PER_HEAD = "*population"


def _driver_name(key: str) -> str:
    if key.endswith(PER_HEAD):
        return key.removesuffix(PER_HEAD) + "_x_population"
    return "non_" + key[2:] if key.startswith("1-") else key


def index_drivers(geo_units: pd.DataFrame) -> list[str]:
    """The index's candidate driver keys: every numeric column of ``geo_units`` but ids and
    coordinates, each in the form that can be shared out across units.

    ``population`` and columns that grow with it (correlation with population across units
    ≥ :data:`AMOUNT_CORRELATION`) are amounts, used as they are. ``pct_X`` columns are
    headcount rates (``pct_X``, see :func:`driver_amounts`). Any other column is a rate per
    head and enters as ``X*population``.

    >>> u = pd.DataFrame({"unit_id": ["a", "b", "c"], "lat": [0.0, 1, 2], "lon": [0.0, 1, 2],
    ...     "population": [100.0, 200, 300], "firms": [9.0, 21, 30],
    ...     "median_income": [50.0, 40, 45], "pct_degree": [30.0, 20, 25]})
    >>> index_drivers(u)
    ['population', 'firms', 'median_income*population', 'pct_degree']
    """
    if "population" not in geo_units.columns:
        raise KeyError("geo_units has no population column (the data contract requires it)")
    pop = geo_units["population"].astype(float)
    keys = ["population"]
    for col in unit_drivers(geo_units):
        if col == "population":
            continue
        if col.startswith("pct_") or geo_units[col].astype(float).corr(pop) >= AMOUNT_CORRELATION:
            keys.append(col)
        else:
            keys.append(col + PER_HEAD)
    return keys


def default_index_weights(
    geo_units: pd.DataFrame, *, revenue: pd.Series | None = None
) -> dict[str, float]:
    """Index weights from the data: the drivers present, weighted by where revenue is won.

    Rule (documented in ``docs/potential.md``): the candidates are :func:`index_drivers`.
    With ``revenue`` per unit (trailing-year won USD, indexed by ``unit_id``) from at least
    five units, the weights are the non-negative least-squares fit of each unit's revenue
    share on its driver shares, ``min_w ‖S w − r‖²`` with ``w ≥ 0``, normalised to sum to 1,
    and drivers with weight 0 dropped: the index then reproduces today's revenue map as well
    as the drivers allow. Without revenue (or when the fit gives all zeros), every candidate
    gets the same weight.

    Returns
    -------
    dict
        Driver key → weight, summing to 1, rounded to 4 decimals.

    Examples
    --------
    Revenue follows 0.7 · population share + 0.3 · income share exactly; the fit finds it:

    >>> u = pd.DataFrame({"unit_id": list("abcdef"), "population": [1.0, 2, 3, 4, 5, 6],
    ...     "income": [6.0, 1, 5, 2, 4, 3]})
    >>> pop, inc = u["population"] / 21, u["income"] * u["population"]
    >>> r = pd.Series((0.7 * pop + 0.3 * inc / inc.sum()).to_numpy(), index=u["unit_id"])
    >>> default_index_weights(u, revenue=r)
    {'population': 0.7, 'income*population': 0.3}
    >>> default_index_weights(u)
    {'population': 0.5, 'income*population': 0.5}
    """
    from scipy.optimize import nnls

    keys = index_drivers(geo_units)
    equal = {k: round(1 / len(keys), 4) for k in keys}
    if revenue is None:
        return equal
    amounts = driver_amounts(geo_units, keys)
    ids = geo_units["unit_id"].astype(str).to_numpy()
    r = pd.Series(revenue, dtype=float).reindex(ids).fillna(0.0).clip(lower=0).to_numpy()
    if (r > 0).sum() < 5:
        return equal
    totals = amounts.sum().replace(0, np.nan)
    shares = (amounts / totals).fillna(0.0).to_numpy()
    w, _ = nnls(shares, r / r.sum())
    if w.sum() <= 0:
        return equal
    w = w / w.sum()
    return {k: round(float(x), 4) for k, x in zip(keys, w, strict=True) if round(float(x), 4) > 0}


def driver_amounts(geo_units: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Each market driver as an amount that can be shared out across units.

    ``population`` and other count-like columns are used as they are; a ``pct_X`` column
    becomes the headcount ``population · pct_X / 100``; ``1-pct_X`` the headcount without
    the attribute, ``population · (1 − pct_X / 100)``; ``X*population`` a rate per head
    times the headcount (``median_income*population`` is total income). Missing values
    count as 0.

    Parameters
    ----------
    geo_units : DataFrame
        ``population`` (people) and the driver columns named in ``keys``.
    keys : sequence of str
        Driver keys, e.g. ``["population", "pct_bach", "1-pct_rural"]``.

    Returns
    -------
    DataFrame
        One column per key (``1-pct_X`` is named ``non_pct_X``), same index as ``geo_units``.
    """
    out = {}
    numeric = [c for c in geo_units.columns if pd.api.types.is_numeric_dtype(geo_units[c])]
    for key in keys:
        complement = key.startswith("1-")
        per_head = key.endswith(PER_HEAD)
        col = key[2:] if complement else key.removesuffix(PER_HEAD) if per_head else key
        if col not in geo_units.columns:
            raise KeyError(
                f"index driver {key!r}: geo_units has no column {col!r}; numeric "
                f"columns: {', '.join(c for c in numeric if c not in ('lat', 'lon'))}"
            )
        values = pd.to_numeric(geo_units[col], errors="coerce").astype(float).fillna(0.0)
        if col.startswith("pct_"):
            share = values / 100
            out[_driver_name(key)] = geo_units["population"].astype(float).fillna(0.0) * (
                1 - share if complement else share
            )
        elif complement:
            raise ValueError(f"index driver {key!r}: '1-' applies to pct_ columns only")
        elif per_head:
            out[_driver_name(key)] = geo_units["population"].astype(float).fillna(0.0) * values
        else:
            out[_driver_name(key)] = values
    return pd.DataFrame(out, index=geo_units.index)


def potential_index(
    geo_units: pd.DataFrame, *, weights: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Buying-power-style potential index: a weighted sum of each unit's share of every driver.

    ``index_u = Σ_d w_d · share_{u,d}`` with ``share_{u,d} = x_{u,d} / Σ_v x_{v,d}`` and the
    weights normalised to sum to 1, so the index sums to 1 over units (a unit's share of the
    market). ``index_per_capita = 100 · index_u / population share_u`` (100 = average buying
    power per head).

    Parameters
    ----------
    geo_units : DataFrame
        ``unit_id``, ``population`` and the driver columns (see :func:`driver_amounts`).
    weights : mapping of str to float, optional
        Driver key → weight ≥ 0; empty or ``None``: :func:`default_index_weights` (every
        driver present, equal weights).

    Returns
    -------
    DataFrame
        ``unit_id`` (and ``unit_name`` when given), ``share_<driver>`` per driver,
        ``index_share``, ``index_per_capita``; same index as ``geo_units``.

    Examples
    --------
    Two units; population 100 and 300, degree rates 50 % and 10 % (headcounts 50 and 30):

    >>> u = pd.DataFrame({"unit_id": ["A", "B"], "population": [100, 300],
    ...                   "pct_bach": [50.0, 10.0]})
    >>> potential_index(u, weights={"population": 1, "pct_bach": 1})["index_share"].tolist()
    [0.4375, 0.5625]
    """
    weights = dict(weights or default_index_weights(geo_units))
    problems = _weight_problems(weights)
    if problems:
        raise ValueError("; ".join(problems))
    total_w = float(sum(weights.values()))
    amounts = driver_amounts(geo_units, list(weights))
    out = pd.DataFrame({"unit_id": geo_units["unit_id"]}, index=geo_units.index)
    if "unit_name" in geo_units.columns:
        out["unit_name"] = geo_units["unit_name"]
    index = pd.Series(0.0, index=geo_units.index)
    for key, w in weights.items():
        col = amounts[_driver_name(key)]
        total = col.sum()
        share = col / total if total > 0 else col * 0.0
        out[f"share_{_driver_name(key)}"] = share
        index += (w / total_w) * share
    out["index_share"] = index
    pop = geo_units["population"].astype(float) if "population" in geo_units else None
    if pop is not None and pop.sum() > 0:
        pop_share = pop / pop.sum()
        out["index_per_capita"] = 100 * index / pop_share.where(pop_share > 0)
    return out


# ---------------------------------------------------------------------------------------------
# Competitors


def competitor_pressure(competitors: pd.DataFrame, unit_ids: Sequence[str]) -> pd.DataFrame:
    """Competitive pressure per unit: ``1 − Π_k (1 − presence_k)``.

    The chance that at least one competitor is entrenched, if each competitor's presence is
    read as its independent probability of holding a buyer. 0 with no competitor, 1 when any
    competitor is fully present.

    Parameters
    ----------
    competitors : DataFrame
        ``unit_id``, ``competitor`` (name), ``presence`` (0–1).
    unit_ids : sequence of str
        Units to report (units without rows get pressure 0).

    Returns
    -------
    DataFrame
        ``unit_id``, ``competitor_pressure`` (0–1), ``top_competitor``, ``top_presence``.

    Examples
    --------
    >>> c = pd.DataFrame({"unit_id": ["A", "A"], "competitor": ["X", "Y"],
    ...                   "presence": [0.5, 0.2]})
    >>> competitor_pressure(c, ["A", "B"])["competitor_pressure"].round(2).tolist()
    [0.6, 0.0]
    """
    ids = pd.Index([str(u) for u in unit_ids], name="unit_id")
    out = pd.DataFrame(index=ids)
    if len(competitors):
        c = competitors.assign(
            unit_id=competitors["unit_id"].astype(str),
            presence=competitors["presence"].astype(float).clip(0, 1),
        )
        keep = c.groupby("unit_id")["presence"].apply(lambda p: float(np.prod(1 - p)))
        out["competitor_pressure"] = 1 - keep.reindex(ids).fillna(1.0)
        top = c.sort_values(["presence", "competitor"], ascending=[False, True])
        top = top.drop_duplicates("unit_id").set_index("unit_id")
        out["top_competitor"] = top["competitor"].reindex(ids).astype(object)
        out["top_presence"] = top["presence"].reindex(ids).fillna(0.0)
    else:
        out["competitor_pressure"] = 0.0
        out["top_competitor"] = None
        out["top_presence"] = 0.0
    return out.reset_index()


def competitor_factor(
    pressure: pd.Series | np.ndarray | float, *, strength: float, baseline: float
) -> pd.Series | np.ndarray | float:
    """Multiplier on model potential: ``(1 − strength · pressure) / (1 − strength · baseline)``.

    ``baseline`` is the mean pressure faced by the customers the model learned from: at that
    pressure the factor is 1; heavier competition lowers potential, lighter raises it.

    >>> round(competitor_factor(0.6, strength=0.5, baseline=0.2), 4)  # 0.7 / 0.9
    0.7778
    """
    return (1 - strength * pressure) / (1 - strength * baseline)


# ---------------------------------------------------------------------------------------------
# Account revenue history


def account_history(
    facts: pd.DataFrame, *, quarter: Quarter | str, quarters: int = 4
) -> pd.DataFrame:
    """Per account: won revenue in the trailing window and the two windows before it.

    Parameters
    ----------
    facts : DataFrame
        ``account_id``, ``quarter`` (``YYYYQn``), ``won_usd`` (USD), ``won_n``, ``lost_n``.
    quarter : Quarter or str
        Last quarter of the trailing window; later facts are ignored.
    quarters : int
        Window length (4: a year).

    Returns
    -------
    DataFrame
        Index ``account_id``; ``revenue_usd`` (trailing window), ``prior_revenue_usd``
        (window before), ``prior2_revenue_usd`` (the one before that), ``won_n``, ``lost_n``
        (deals closed in the trailing window) and ``first_won_quarter`` (text, or empty).

    Examples
    --------
    >>> f = pd.DataFrame({"account_id": ["A", "A", "A"], "quarter": ["2025Q2", "2025Q3",
    ...                   "2026Q3"], "won_usd": [5.0, 7.0, 9.0], "won_n": [1, 1, 1],
    ...                   "lost_n": [0, 0, 2]})
    >>> h = account_history(f, quarter="2026Q3", quarters=4)
    >>> h.loc["A", ["revenue_usd", "prior_revenue_usd"]].tolist()  # 2025Q4+ hold 9; before: 5 + 7
    [9.0, 12.0]
    """
    q = Quarter.parse(quarter)
    f = facts.loc[facts["quarter"] <= str(q)]
    text = f["quarter"].astype(str)
    pos = q.index - (text.str[:4].astype(int) * 4 + text.str[-1].astype(int) - 1)
    window = (pos // quarters).rename("window")
    g = f.assign(window=window)
    rev = g.pivot_table(
        index="account_id", columns="window", values="won_usd", aggfunc="sum", fill_value=0.0
    )
    out = pd.DataFrame(index=pd.Index(sorted(f["account_id"].unique()), name="account_id"))
    for k, name in enumerate(["revenue_usd", "prior_revenue_usd", "prior2_revenue_usd"]):
        out[name] = rev[k].reindex(out.index).fillna(0.0) if k in rev.columns else 0.0
    recent = g[g["window"] == 0].groupby("account_id")[["won_n", "lost_n"]].sum()
    out[["won_n", "lost_n"]] = recent.reindex(out.index).fillna(0).astype(int)
    won = f[f["won_usd"] > 0].groupby("account_id")["quarter"].min()
    out["first_won_quarter"] = won.reindex(out.index).astype(object)
    return out


# ---------------------------------------------------------------------------------------------
# Regression method


def _nearest_unit(lat: np.ndarray, lon: np.ndarray, units: pd.DataFrame) -> np.ndarray:
    """Index (position) of the nearest unit centroid, by great-circle distance."""
    ulat, ulon = np.radians(units["lat"].to_numpy(float)), np.radians(units["lon"].to_numpy(float))
    out = np.empty(len(lat), dtype=int)
    for s in range(0, len(lat), 2048):
        a, b = np.radians(lat[s : s + 2048])[:, None], np.radians(lon[s : s + 2048])[:, None]
        h = np.sin((ulat - a) / 2) ** 2 + np.cos(a) * np.cos(ulat) * np.sin((ulon - b) / 2) ** 2
        out[s : s + 2048] = np.argmin(h, axis=1)
    return out


def account_features(accounts: pd.DataFrame, geo_units: pd.DataFrame) -> pd.DataFrame:
    """Firmographics and unit drivers per account, as the regression uses them.

    ``industry`` (text, missing → ``Unknown``), ``log_employees`` = ln(1 + employees), and per
    unit driver: ``pct_*`` columns as percentage points, other numeric columns as
    ``log_<name>`` = ln(1 + value). Missing driver values take the median over units.
    Accounts without a ``unit_id`` (or with an unknown one) get the nearest unit centroid.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id``, ``industry``, ``employees``, ``lat``, ``lon``; ``unit_id`` optional.
    geo_units : DataFrame
        ``unit_id``, ``lat``, ``lon`` and numeric driver columns.

    Returns
    -------
    DataFrame
        Same index as ``accounts``: ``unit_id``, ``industry``, ``log_employees`` and the
        driver features.
    """
    units = geo_units.reset_index(drop=True)
    uid = units["unit_id"].astype(str)
    unit = (
        accounts["unit_id"].astype(object)
        if "unit_id" in accounts.columns
        else pd.Series(None, index=accounts.index, dtype=object)
    )
    unknown = ~unit.isin(set(uid)) | unit.isna()
    if unknown.any():
        near = _nearest_unit(
            accounts.loc[unknown, "lat"].to_numpy(float),
            accounts.loc[unknown, "lon"].to_numpy(float),
            units,
        )
        unit = unit.copy()
        unit.loc[unknown] = uid.to_numpy()[near]
    out = pd.DataFrame(index=accounts.index)
    out["unit_id"] = unit.astype(str)
    out["industry"] = (
        accounts["industry"]
        .astype(object)
        .where(accounts["industry"].notna(), "Unknown")
        .astype(str)
    )
    out["log_employees"] = np.log1p(accounts["employees"].astype(float).clip(lower=0).fillna(0))
    drivers = {}
    for col in unit_drivers(units):
        v = units[col].astype(float)
        v = v.fillna(v.median())
        name = col if col.startswith("pct_") else f"log_{col}"
        drivers[name] = (v if col.startswith("pct_") else np.log1p(v.clip(lower=0))).to_numpy()
    table = pd.DataFrame(drivers, index=uid)
    out = out.join(table, on="unit_id")
    return out


def _pinball(y: np.ndarray, q: np.ndarray, tau: float) -> float:
    d = y - q
    return float(np.mean(np.maximum(tau * d, (tau - 1) * d)))


@dataclasses.dataclass(frozen=True)
class EscapedText:
    """Preformatted text that shows in a notebook (and the report's HTML) escaped, so text
    from the CRM can never become markup or script."""

    text: str

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.text)}</pre>"


class AchievablePotentialModel:
    """Quantile regression of mature customers' annual spend (scikit-learn contract).

    ``ln(revenue) = β₀ + β₁ ln(1 + employees) + industry effects + unit drivers`` at quantile
    ``quantile``; because quantiles commute with monotone transforms, ``exp`` of the fitted
    value is the ``quantile``-th percentile of spend in USD.

    Parameters
    ----------
    quantile : float
        Upper quantile τ (0.8: what the best fifth of similar customers spend or more).
    min_industry_size : int
        Industries with fewer training customers pool into ``Other``.
    obs_per_coefficient : int
        With fewer training customers per coefficient, the unit drivers are left out.
    cv_folds : int
        Folds of the out-of-sample check.
    seed : int
        Seed of the fold assignment.

    Attributes
    ----------
    results_ : statsmodels QuantRegResults
    columns_ : list of str
        Design columns (``const``, ``log_employees``, ``industry[...]``, drivers).
    industries_ : list of str
        Industries with their own effect; the first is the reference.
    cv_ : DataFrame
        Per fold: held-out customers, share below the fitted quantile, pinball loss of the
        model and of the unconditional quantile, Spearman rank correlation.
    """

    def __init__(
        self,
        quantile: float = 0.8,
        *,
        min_industry_size: int = 10,
        obs_per_coefficient: int = 10,
        cv_folds: int = 5,
        seed: int = 0,
    ):
        self.quantile = quantile
        self.min_industry_size = min_industry_size
        self.obs_per_coefficient = obs_per_coefficient
        self.cv_folds = cv_folds
        self.seed = seed

    def _design(self, features: pd.DataFrame) -> pd.DataFrame:
        ind = features["industry"].astype(str)
        ind = ind.where(ind.isin(self.industries_), self._other_)
        x = pd.DataFrame(
            {"const": 1.0, "log_employees": features["log_employees"].astype(float)},
            index=features.index,
        )
        for level in self.industries_[1:]:
            x[f"industry[{level}]"] = (ind == level).astype(float)
        for col in self.drivers_:
            x[col] = features[col].astype(float)
        return x

    def fit(self, features: pd.DataFrame, revenue_usd: pd.Series) -> AchievablePotentialModel:
        """Fit on mature customers.

        Parameters
        ----------
        features : DataFrame
            :func:`account_features` rows of the training customers.
        revenue_usd : Series
            Their trailing-year won revenue (USD, > 0), same index.
        """
        from statsmodels.regression.quantile_regression import QuantReg

        if not 0 < self.quantile < 1:
            raise ValueError(f"quantile must be in (0, 1), got {self.quantile}")
        y = np.log(revenue_usd.astype(float)).rename("log_revenue_usd")
        if len(y) < 10 or not np.isfinite(y).all():
            raise ValueError(
                f"need at least 10 customers with positive revenue to fit, got "
                f"{int(np.isfinite(y).sum())}"
            )
        counts = features["industry"].astype(str).value_counts()
        big = counts[counts >= self.min_industry_size]
        small = counts.index.difference(big.index)
        self._other_ = "Other" if len(small) else (big.index[0] if len(big) else "Other")
        levels = list(big.index)
        if len(small):
            levels.append("Other")
        self.industries_ = levels or ["Other"]
        base_cols = 2 + len(self.industries_) - 1
        drivers = [c for c in features.columns if c not in ("unit_id", "industry", "log_employees")]
        enough = len(y) >= self.obs_per_coefficient * (base_cols + len(drivers))
        self.drivers_ = drivers if enough else []
        x = self._design(features)
        x = x.loc[:, (x != 0).any() | (x.columns == "const")]
        self.columns_ = list(x.columns)
        with warnings.catch_warnings(), one_blas_thread():
            warnings.simplefilter("ignore")
            self.results_ = QuantReg(y, x).fit(q=self.quantile, max_iter=5000)
            self.cv_ = self._cross_validate(x, y)
        self.n_obs_ = len(y)
        self.fitted_share_below_ = float(np.mean(y <= self.results_.fittedvalues + 1e-9))
        return self

    def _cross_validate(self, x: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
        from scipy.stats import spearmanr
        from statsmodels.regression.quantile_regression import QuantReg

        n, k = len(y), self.cv_folds
        if n < 2 * k:
            return pd.DataFrame(
                columns=[
                    "fold",
                    "held_out",
                    "share_below",
                    "pinball_model",
                    "pinball_null",
                    "spearman",
                ]
            )
        fold = np.random.default_rng(self.seed).permutation(np.arange(n) % k)
        rows = []
        yv, xv = y.to_numpy(), x.to_numpy()
        for f in range(k):
            train, test = fold != f, fold == f
            keep = (xv[train] != 0).any(axis=0)
            keep[0] = True
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = QuantReg(yv[train], xv[train][:, keep]).fit(q=self.quantile, max_iter=5000)
            pred = xv[test][:, keep] @ np.asarray(r.params)
            null = np.quantile(yv[train], self.quantile)
            rows.append(
                {
                    "fold": f + 1,
                    "held_out": int(test.sum()),
                    "share_below": float(np.mean(yv[test] <= pred)),
                    "pinball_model": _pinball(yv[test], pred, self.quantile),
                    "pinball_null": _pinball(yv[test], np.full(test.sum(), null), self.quantile),
                    "spearman": float(spearmanr(yv[test], pred).statistic),
                }
            )
        return pd.DataFrame(rows)

    def predict(self, features: pd.DataFrame) -> pd.Series:
        """Achievable annual spend (USD) at the fitted quantile, one value per row."""
        x = self._design(features)
        for col in self.columns_:
            if col not in x.columns:
                x[col] = 0.0
        log_q = x[self.columns_].to_numpy() @ np.asarray(self.results_.params)
        return pd.Series(np.exp(log_q), index=features.index, name="model_potential_usd")

    def summary(self) -> EscapedText:
        """statsmodels' regression summary, as text (its own HTML would carry CRM text such as
        industry names into the report unescaped)."""
        return EscapedText(str(self.results_.summary()))

    def diagnostics(self) -> pd.DataFrame:
        """In-sample and out-of-sample checks, one row per metric with what to expect."""
        tau = self.quantile
        cv = self.cv_
        rows = [
            ("training customers (mature)", self.n_obs_, "customers the quantile was learned from"),
            (
                "coefficients",
                len(self.columns_),
                "unit drivers dropped" if not self.drivers_ else "with unit drivers",
            ),
            (
                "pseudo R² (Koenker–Machado)",
                float(self.results_.prsquared),
                "share of the check loss explained; 0 = no better than a constant",
            ),
            (
                "in-sample share below fitted quantile",
                self.fitted_share_below_,
                f"≈ {tau:.2f} by construction",
            ),
        ]
        if len(cv):
            w = cv["held_out"] / cv["held_out"].sum()
            below = float((cv["share_below"] * w).sum())
            loss = float((cv["pinball_model"] * w).sum())
            null = float((cv["pinball_null"] * w).sum())
            rows += [
                (f"out-of-sample share below ({len(cv)}-fold)", below, f"target {tau:.2f}"),
                ("out-of-sample pinball loss (log USD)", loss, "lower is better"),
                ("unconditional-quantile pinball loss", null, "the no-model yardstick"),
                (
                    "out-of-sample skill vs unconditional",
                    1 - loss / null if null else math.nan,
                    "> 0: firmographics and drivers help",
                ),
                (
                    "out-of-sample rank correlation (Spearman)",
                    float(cv["spearman"].mean()),
                    "how well potential ranks actual spend",
                ),
            ]
        return pd.DataFrame(rows, columns=["metric", "value", "meaning"]).set_index("metric")


# ---------------------------------------------------------------------------------------------
# The pipeline


@dataclasses.dataclass(frozen=True)
class PotentialResults:
    """Potential, whitespace and penetration by account, unit, territory and region.

    Attributes
    ----------
    accounts : DataFrame
        Stage ``potential_accounts``: one row per account (USD per year).
    units : DataFrame
        Stage ``potential_units``: one row per geographic unit.
    territories, regions : DataFrame
        The same measures by territory (current owner's book) and region.
    model : AchievablePotentialModel
        The fitted quantile regression.
    settings : dict
        Quarter, quantile, index weights, competitor strength and baseline pressure.
    """

    accounts: pd.DataFrame
    units: pd.DataFrame
    territories: pd.DataFrame
    regions: pd.DataFrame
    model: AchievablePotentialModel
    settings: dict

    @property
    def penetration(self) -> float:
        """Company penetration: revenue ÷ achievable potential."""
        pot = self.accounts["potential_usd"].sum()
        return float(self.accounts["revenue_usd"].sum() / pot) if pot > 0 else math.nan

    def summary(self) -> pd.DataFrame:
        """Company and region totals (USD per year)."""
        company = _aggregate(self.accounts.assign(scope="company"), "scope")
        return pd.concat([company, self.regions]).rename_axis("scope")

    def to_frame(self) -> pd.DataFrame:
        """The account table (``potential_accounts``)."""
        return self.accounts.copy()

    def index_weights(self) -> pd.DataFrame:
        """The index method's drivers, how each enters (amount or rate × population) and its
        weight — calibrated on the data unless the notebook set ``index_weights``."""
        w = self.settings["index_weights"]
        form = [
            "rate per head × population"
            if k.endswith(PER_HEAD)
            else "headcount (pct × population)"
            if k.startswith(("pct_", "1-pct_"))
            else "amount"
            for k in w
        ]
        return pd.DataFrame(
            {"driver": list(w), "enters as": form, "weight": [float(v) for v in w.values()]}
        ).set_index("driver")

    def model_summary(self):
        """The quantile regression summary (statsmodels)."""
        return self.model.summary()

    def diagnostics(self) -> pd.DataFrame:
        """Model diagnostics and out-of-sample error."""
        return self.model.diagnostics()

    def _repr_html_(self) -> str:
        s = self.settings
        head = (
            f"<p><b>Achievable potential</b> {s['quarter']}: "
            f"{_usd(self.accounts['potential_usd'].sum())} a year across "
            f"{len(self.accounts):,} accounts; revenue "
            f"{_usd(self.accounts['revenue_usd'].sum())}"
            f" (penetration {self.penetration:.0%}); whitespace "
            f"{_usd(self.accounts['whitespace_usd'].sum())}. Quantile {s['quantile']:.2f} "
            f"of mature customers' spend; competitor strength {s['competitor_strength']}.</p>"
        )
        return head + self.summary().to_html(float_format=lambda v: f"{v:,.2f}")

    def __repr__(self) -> str:
        return f"PotentialResults({self.settings['quarter']})\n{self.summary().to_string()}"


def _usd(x: float) -> str:
    from .plots import usd

    return usd(x)


def _aggregate(accounts: pd.DataFrame, by: str) -> pd.DataFrame:
    g = accounts.groupby(by, sort=True)
    out = pd.DataFrame(
        {
            "potential_usd": g["potential_usd"].sum(),
            "revenue_usd": g["revenue_usd"].sum(),
            "whitespace_usd": g["whitespace_usd"].sum(),
            "accounts": g.size(),
            "customers": g["status"].apply(lambda s: int((s == "customer").sum())),
        }
    )
    out["prospects"] = out["accounts"] - out["customers"]
    out["penetration"] = out["revenue_usd"] / out["potential_usd"].where(out["potential_usd"] > 0)
    w = accounts["potential_usd"]
    pressure = (accounts["competitor_pressure"] * w).groupby(accounts[by]).sum()
    out["competitor_pressure"] = pressure / out["potential_usd"].where(out["potential_usd"] > 0)
    cols = [
        "potential_usd",
        "revenue_usd",
        "whitespace_usd",
        "penetration",
        "accounts",
        "customers",
        "prospects",
        "competitor_pressure",
    ]
    return out[cols]


def score_potential(
    accounts: pd.DataFrame,
    geo_units: pd.DataFrame,
    facts: pd.DataFrame,
    *,
    quarter: Quarter | str,
    competitors: pd.DataFrame | None = None,
    quantile: float = 0.8,
    revenue_quarters: int = 4,
    mature_quarters: int = 4,
    index_weights: Mapping[str, float] | None = None,
    competitor_strength: float = 0.3,
    cv_folds: int = 5,
    seed: int = 0,
) -> PotentialResults:
    """Achievable potential, whitespace and penetration for every account and unit.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id``, ``industry``, ``employees``, ``lat``, ``lon``, ``status``
        (customer/prospect), ``owner_rep_id`` (may be empty); ``unit_id`` optional.
    geo_units : DataFrame
        ``unit_id``, ``lat``, ``lon``, ``population`` and further numeric drivers.
    facts : DataFrame
        ``account_id``, ``quarter``, ``won_usd`` (USD), ``won_n``, ``lost_n``.
    quarter : Quarter or str
        Planning quarter: revenue is the won USD of the ``revenue_quarters`` ending with it.
    competitors : DataFrame, optional
        ``unit_id``, ``competitor``, ``presence`` (0–1); none means no adjustment.
    quantile : float
        Upper quantile of mature customers' spend taken as achievable.
    revenue_quarters : int
        Quarters of won revenue per year of spend (4).
    mature_quarters : int
        A customer is *mature* when its first win closed at least this many quarters before
        the revenue window starts (its window is a full year as an established customer).
    index_weights : mapping, optional
        Index method weights (:func:`potential_index`); empty or ``None``: calibrated on the
        data by :func:`default_index_weights` (the drivers ``geo_units`` has, weighted by how
        well they reproduce where revenue is won today).
    competitor_strength : float
        Share of potential lost where competitive pressure is total (0 disables).
    cv_folds, seed : int
        Out-of-sample check of the regression.

    Returns
    -------
    PotentialResults

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> units = pd.DataFrame({"unit_id": ["U1", "U2"], "lat": [33.0, 34.0],
    ...                       "lon": [-84.0, -84.0], "population": [1000.0, 4000.0]})
    >>> n = 60
    >>> acc = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "industry": "Retail",
    ...                     "employees": rng.integers(5, 500, n), "lat": 33.0, "lon": -84.0,
    ...                     "unit_id": "U1", "status": "customer", "owner_rep_id": "R1"})
    >>> facts = pd.DataFrame({"account_id": acc["account_id"], "quarter": "2026Q2",
    ...                       "won_usd": 100 * acc["employees"] * rng.lognormal(0, .3, n),
    ...                       "won_n": 1, "lost_n": 0})
    >>> first = facts.assign(quarter="2024Q1")  # first wins long before the window
    >>> res = score_potential(acc, units, pd.concat([first, facts]), quarter="2026Q3",
    ...                       index_weights={"population": 1})
    >>> bool((res.accounts["potential_usd"] >= res.accounts["revenue_usd"]).all())
    True
    >>> res.units["index_share"].round(2).tolist()
    [0.2, 0.8]
    """
    q = Quarter.parse(quarter)
    units = geo_units.reset_index(drop=True).copy()
    units["unit_id"] = units["unit_id"].astype(str)
    units["region"] = assign_regions(units).to_numpy()

    feats = account_features(accounts, units)
    acc = pd.DataFrame(
        {
            "account_id": accounts["account_id"].astype(str),
            "account_name": accounts.get("account_name"),
            "unit_id": feats["unit_id"],
            "owner_rep_id": accounts["owner_rep_id"],
            "status": accounts["status"].astype(str),
            "industry": feats["industry"],
            "employees": accounts["employees"],
        },
        index=accounts.index,
    )
    acc["territory"] = (
        acc["owner_rep_id"]
        .astype(object)
        .where(acc["owner_rep_id"].notna(), "unassigned")
        .astype(str)
    )
    acc["region"] = acc["unit_id"].map(dict(zip(units["unit_id"], units["region"], strict=True)))

    hist = account_history(facts, quarter=q, quarters=revenue_quarters)
    acc = acc.join(hist[["revenue_usd", "prior_revenue_usd", "first_won_quarter"]], on="account_id")
    money = ["revenue_usd", "prior_revenue_usd"]
    acc[money] = acc[money].fillna(0.0)
    window_start = q - (revenue_quarters - 1)
    cutoff = str(window_start - mature_quarters)
    first = acc["first_won_quarter"]
    acc["mature"] = (
        (acc["status"] == "customer")
        & (acc["revenue_usd"] > 0)
        & first.notna()
        & (first.astype(str) <= cutoff)
    )

    model = AchievablePotentialModel(quantile, cv_folds=cv_folds, seed=seed)
    train = acc["mature"]
    model.fit(feats.loc[train], acc.loc[train, "revenue_usd"])
    acc["model_potential_usd"] = model.predict(feats)

    pressure = competitor_pressure(
        competitors
        if competitors is not None
        else pd.DataFrame(columns=["unit_id", "competitor", "presence"]),
        units["unit_id"].tolist(),
    ).set_index("unit_id")
    acc["competitor_pressure"] = acc["unit_id"].map(pressure["competitor_pressure"]).astype(float)
    baseline = float(acc.loc[train, "competitor_pressure"].mean()) if train.any() else 0.0
    acc["competitor_factor"] = competitor_factor(
        acc["competitor_pressure"], strength=competitor_strength, baseline=baseline
    )
    adjusted = acc["model_potential_usd"] * acc["competitor_factor"]
    acc["potential_usd"] = np.maximum(adjusted, acc["revenue_usd"])
    acc["whitespace_usd"] = acc["potential_usd"] - acc["revenue_usd"]
    acc["penetration"] = acc["revenue_usd"] / acc["potential_usd"]
    acc = acc.drop(columns=["first_won_quarter"])

    weights = dict(
        index_weights
        or default_index_weights(units, revenue=acc.groupby("unit_id")["revenue_usd"].sum())
    )
    unit_table = _unit_table(acc, units, pressure, weights)
    results = PotentialResults(
        accounts=acc.reset_index(drop=True),
        units=unit_table,
        territories=_aggregate(acc, "territory"),
        regions=_fill_empty(
            _aggregate(acc, "region").reindex(sorted(set(units["region"]))).rename_axis("region")
        ),
        model=model,
        settings={
            "quarter": str(q),
            "quantile": quantile,
            "revenue_quarters": revenue_quarters,
            "mature_quarters": mature_quarters,
            "index_weights": weights,
            "competitor_strength": competitor_strength,
            "baseline_pressure": baseline,
            "cv_folds": cv_folds,
            "seed": seed,
        },
    )
    return results


def _fill_empty(table: pd.DataFrame) -> pd.DataFrame:
    """Scopes without accounts: zero dollars and counts, no penetration or pressure."""
    out = table.copy()
    for col in (
        "potential_usd",
        "revenue_usd",
        "whitespace_usd",
        "accounts",
        "customers",
        "prospects",
    ):
        out[col] = out[col].fillna(0)
    for col in ("accounts", "customers", "prospects"):
        out[col] = out[col].astype(int)
    return out


def _unit_table(
    acc: pd.DataFrame, units: pd.DataFrame, pressure: pd.DataFrame, weights: Mapping[str, float]
) -> pd.DataFrame:
    idx = potential_index(units, weights=weights)
    out = units[["unit_id"]].copy()
    for col in ("unit_name", "region", "lat", "lon", "population"):
        if col in units.columns:
            out[col] = units[col].to_numpy()
    # the owner of most of the unit's accounts; ties go to the lowest territory id
    owners = (
        acc[acc["territory"] != "unassigned"]
        .groupby("unit_id")["territory"]
        .agg(
            lambda s: (
                s.value_counts().sort_index().sort_values(ascending=False, kind="stable").index[0]
            )
        )
    )
    out["territory"] = out["unit_id"].map(owners).astype(object)
    agg = _aggregate(acc, "unit_id")
    for col in (
        "potential_usd",
        "revenue_usd",
        "whitespace_usd",
        "accounts",
        "customers",
        "prospects",
    ):
        out[col] = out["unit_id"].map(agg[col]).fillna(0)
    for col in ("accounts", "customers", "prospects"):
        out[col] = out[col].astype(int)
    out["penetration"] = out["revenue_usd"] / out["potential_usd"].where(out["potential_usd"] > 0)
    out["index_share"] = idx["index_share"].to_numpy()
    if "index_per_capita" in idx:
        out["index_per_capita"] = idx["index_per_capita"].to_numpy()
    total = float(acc["potential_usd"].sum())
    out["index_potential_usd"] = out["index_share"] * total
    out["coverage_ratio"] = out["potential_usd"] / out["index_potential_usd"].where(
        out["index_potential_usd"] > 0
    )
    out["uncovered_potential_usd"] = (out["index_potential_usd"] - out["potential_usd"]).clip(
        lower=0
    )
    p = pressure.reindex(out["unit_id"])
    out["competitor_pressure"] = p["competitor_pressure"].to_numpy()
    out["top_competitor"] = p["top_competitor"].to_numpy()
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# SWOT inputs


@dataclasses.dataclass(frozen=True)
class SwotThresholds:
    """When a number becomes a SWOT entry (all documented in ``docs/potential.md``).

    Comparisons are against the company as a whole unless stated.
    """

    win_rate_gap: float = 0.05
    """Win rate this many points above (strength) or below (weakness) the company's."""
    penetration_high: float = 1.25
    """Penetration at least this multiple of the company's: strength (share of wallet)."""
    penetration_low: float = 0.75
    """Penetration at most this multiple of the company's: weakness."""
    growth_strong: float = 0.10
    """Trailing-year revenue growth at least this: strength."""
    retention_drop: float = 0.05
    """Customer retention falling by this many points year on year: weakness."""
    whitespace_high: float = 1.25
    """Whitespace at least this multiple of the average scope of its kind: opportunity."""
    forecast_change: float = 0.05
    """Forecast for the next quarters vs the same quarters a year earlier: ≥ +this is an
    opportunity, ≤ −this a threat."""
    high_potential_quantile: float = 0.75
    """Units with an index share in this top quantile are high-potential…"""
    coverage_low: float = 0.5
    """…and under-covered when account-based potential is below this share of the index's."""
    pressure_gap: float = 0.05
    """Competitor pressure this much above the company's: threat."""
    decline: float = -0.05
    """Trailing-year revenue growth at most this: threat."""
    large_account_quantile: float = 0.8
    """Large accounts: the top fifth by prior-year revenue (company-wide)."""
    churn_share: float = 0.05
    """Large accounts lost (revenue last year, none this year) carrying at least this share
    of the scope's prior-year revenue: threat."""


def scope_metrics(
    potential: PotentialResults,
    facts: pd.DataFrame,
    *,
    quarter: Quarter | str,
    forecast: pd.DataFrame | None = None,
    thresholds: SwotThresholds | None = None,
) -> pd.DataFrame:
    """The evidence behind the SWOT entries, one row per company, region and territory.

    Parameters
    ----------
    potential : PotentialResults
    facts : DataFrame
        ``account_id``, ``quarter``, ``won_usd``, ``won_n``, ``lost_n``.
    quarter : Quarter or str
        Planning quarter (end of the trailing year).
    forecast : DataFrame, optional
        :func:`workbench.forecast.forecast_stage` output (``scope_type``, ``scope``,
        ``period``, ``kind``, ``value_usd``, ``mean_usd``).
    thresholds : SwotThresholds, optional

    Returns
    -------
    DataFrame
        Index (``scope_type``, ``scope``): ``revenue_usd``, ``prior_revenue_usd``, ``growth``,
        ``potential_usd``, ``whitespace_usd``, ``penetration``, ``win_rate``, ``retention``,
        ``prior_retention``, ``competitor_pressure``, ``top_competitor``, ``forecast_change``,
        ``large_churned``, ``large_churned_usd``, ``hidden_units``, ``hidden_unit_names``.
    """
    t = thresholds or SwotThresholds()
    q = Quarter.parse(quarter)
    quarters = int(potential.settings.get("revenue_quarters", 4))
    hist = account_history(facts, quarter=q, quarters=quarters)
    acc = potential.accounts.join(hist[["prior2_revenue_usd", "won_n", "lost_n"]], on="account_id")
    acc[["prior2_revenue_usd", "won_n", "lost_n"]] = acc[
        ["prior2_revenue_usd", "won_n", "lost_n"]
    ].fillna(0)
    big_cut = (
        acc.loc[acc["prior_revenue_usd"] > 0, "prior_revenue_usd"].quantile(
            t.large_account_quantile
        )
        if (acc["prior_revenue_usd"] > 0).any()
        else math.inf
    )
    acc["large_churn"] = (
        (acc["prior_revenue_usd"] >= big_cut)
        & (acc["revenue_usd"] == 0)
        & (acc["prior_revenue_usd"] > 0)
    )

    units = potential.units
    hp_cut = units["index_share"].quantile(t.high_potential_quantile)
    hidden = units[
        (units["index_share"] >= hp_cut) & (units["coverage_ratio"].fillna(0) < t.coverage_low)
    ]
    name_col = "unit_name" if "unit_name" in units.columns else "unit_id"

    rows = []
    scopes = [("company", acc.assign(_s="company"), "_s")]
    scopes.append(("region", acc, "region"))
    scopes.append(("territory", acc[acc["territory"] != "unassigned"], "territory"))
    fc_change = _forecast_change(forecast, q) if forecast is not None else {}
    all_regions = sorted(set(units["region"].astype(str)) | set(acc["region"].dropna().astype(str)))
    for scope_type, frame, col in scopes:
        groups = dict(list(frame.groupby(col, sort=True)))
        if scope_type == "region":  # a region of units without accounts still has a SWOT
            groups = {r: groups.get(r, frame.iloc[:0]) for r in all_regions}
        for scope, g in groups.items():
            won, lost = g["won_n"].sum(), g["lost_n"].sum()
            prev_cust = g["prior_revenue_usd"] > 0
            prev2_cust = g["prior2_revenue_usd"] > 0
            if scope_type == "company":
                hu = hidden
            elif scope_type == "region":
                hu = hidden[hidden["region"] == scope]
            else:
                hu = hidden[hidden["territory"] == scope]
            pot = g["potential_usd"].sum()
            rows.append(
                {
                    "scope_type": scope_type,
                    "scope": str(scope),
                    "revenue_usd": g["revenue_usd"].sum(),
                    "prior_revenue_usd": g["prior_revenue_usd"].sum(),
                    "potential_usd": pot,
                    "whitespace_usd": g["whitespace_usd"].sum(),
                    "win_rate": won / (won + lost) if won + lost else math.nan,
                    "retention": float((g.loc[prev_cust, "revenue_usd"] > 0).mean())
                    if prev_cust.any()
                    else math.nan,
                    "prior_retention": float((g.loc[prev2_cust, "prior_revenue_usd"] > 0).mean())
                    if prev2_cust.any()
                    else math.nan,
                    "competitor_pressure": float(
                        (g["competitor_pressure"] * g["potential_usd"]).sum() / pot
                    )
                    if pot > 0
                    else math.nan,
                    "top_competitor": _top_competitor(g, units),
                    "forecast_change": fc_change.get((scope_type, str(scope)), math.nan),
                    "large_churned": int(g["large_churn"].sum()),
                    "large_churned_usd": float(g.loc[g["large_churn"], "prior_revenue_usd"].sum()),
                    "hidden_units": len(hu),
                    "hidden_unit_names": ", ".join(
                        hu.sort_values("index_share", ascending=False)[name_col].astype(str).head(4)
                    ),
                }
            )
    out = pd.DataFrame(rows).set_index(["scope_type", "scope"])
    prior = out["prior_revenue_usd"]
    out["growth"] = out["revenue_usd"] / prior.where(prior > 0) - 1
    out["penetration"] = out["revenue_usd"] / out["potential_usd"].where(out["potential_usd"] > 0)
    order = [
        "revenue_usd",
        "prior_revenue_usd",
        "growth",
        "potential_usd",
        "whitespace_usd",
        "penetration",
        "win_rate",
        "retention",
        "prior_retention",
        "competitor_pressure",
        "top_competitor",
        "forecast_change",
        "large_churned",
        "large_churned_usd",
        "hidden_units",
        "hidden_unit_names",
    ]
    return out[order]


def _top_competitor(g: pd.DataFrame, units: pd.DataFrame) -> object:
    top = units.set_index("unit_id")["top_competitor"]
    names = g["unit_id"].map(top).dropna()
    if names.empty:
        return None
    weights = g.loc[names.index, "potential_usd"]
    return str(weights.groupby(names).sum().sort_values(ascending=False).index[0])


def _forecast_change(forecast: pd.DataFrame, q: Quarter) -> dict[tuple[str, str], float]:
    """Sum of the next (≤ 4) forecast quarters vs the same quarters a year earlier."""
    out = {}
    fc = forecast[forecast["kind"] == "forecast"]
    act = forecast[forecast["kind"] == "actual"]
    for (st, sc), g in fc.groupby(["scope_type", "scope"], sort=False):
        ahead = [str(q + k) for k in range(1, 5)]
        g = g[g["period"].isin(ahead)]
        if g.empty:
            continue
        year_ago = [str(Quarter.parse(p) - 4) for p in g["period"]]
        a = act[(act["scope_type"] == st) & (act["scope"] == sc) & act["period"].isin(year_ago)]
        base = a["value_usd"].sum()
        if len(a) == len(g) and base > 0:
            out[(st, sc)] = float(g["mean_usd"].sum() / base - 1)
    return out


def swot_inputs(
    potential: PotentialResults,
    facts: pd.DataFrame,
    *,
    quarter: Quarter | str,
    forecast: pd.DataFrame | None = None,
    analyst: pd.DataFrame | None = None,
    thresholds: SwotThresholds | None = None,
) -> SwotResults:
    """SWOT entries per company, region and territory, derived from the numbers and merged
    with the analyst's own.

    Parameters
    ----------
    potential : PotentialResults
    facts : DataFrame
        The facts table (``account_id``, ``quarter``, ``won_usd``, ``won_n``, ``lost_n``).
    quarter : Quarter or str
        Planning quarter.
    forecast : DataFrame, optional
        The ``forecast`` stage (:func:`workbench.forecast.forecast_stage`).
    analyst : DataFrame, optional
        The ``swot`` table: ``scope`` (``company``, a region, a territory/rep id), ``kind``,
        ``item``.
    thresholds : SwotThresholds, optional

    Returns
    -------
    SwotResults
        ``.to_frame()``: ``scope_type``, ``scope``, ``kind``, ``item``, ``evidence`` (metric
        name), ``value``, ``benchmark`` (what it was compared with), ``source``
        (``derived`` or ``analyst``).
    """
    t = thresholds or SwotThresholds()
    m = scope_metrics(potential, facts, quarter=quarter, forecast=forecast, thresholds=t)
    company = m.loc[("company", "company")]
    rows: list[dict] = []

    def add(st, sc, kind, item, evidence, value, benchmark):
        rows.append(
            {
                "scope_type": st,
                "scope": sc,
                "kind": kind,
                "item": item,
                "evidence": evidence,
                "value": float(value),
                "benchmark": float(benchmark),
                "source": "derived",
            }
        )

    mean_ws = m.groupby(level="scope_type")["whitespace_usd"].mean()
    for (st, sc), r in m.iterrows():
        rel = st != "company"
        if rel and _ge(r.win_rate, company.win_rate + t.win_rate_gap):
            add(
                st,
                sc,
                "strength",
                f"Win rate {r.win_rate:.0%} vs company {company.win_rate:.0%}",
                "win_rate",
                r.win_rate,
                company.win_rate,
            )
        if rel and _le(r.win_rate, company.win_rate - t.win_rate_gap):
            add(
                st,
                sc,
                "weakness",
                f"Win rate {r.win_rate:.0%} vs company {company.win_rate:.0%}",
                "win_rate",
                r.win_rate,
                company.win_rate,
            )
        if rel and _ge(r.penetration, t.penetration_high * company.penetration):
            add(
                st,
                sc,
                "strength",
                f"High share of wallet: {r.penetration:.0%} of achievable "
                f"potential vs company {company.penetration:.0%}",
                "penetration",
                r.penetration,
                company.penetration,
            )
        if rel and _le(r.penetration, t.penetration_low * company.penetration):
            add(
                st,
                sc,
                "weakness",
                f"Low penetration: {r.penetration:.0%} of achievable "
                f"potential vs company {company.penetration:.0%}",
                "penetration",
                r.penetration,
                company.penetration,
            )
        if _ge(r.growth, t.growth_strong):
            add(
                st,
                sc,
                "strength",
                f"Revenue {r.growth:+.0%} on the year before",
                "growth",
                r.growth,
                t.growth_strong,
            )
        if _le(r.retention, r.prior_retention - t.retention_drop):
            add(
                st,
                sc,
                "weakness",
                f"Customer retention fell from {r.prior_retention:.0%} to {r.retention:.0%}",
                "retention",
                r.retention,
                r.prior_retention,
            )
        if rel and _ge(r.whitespace_usd, t.whitespace_high * mean_ws[st]):
            add(
                st,
                sc,
                "opportunity",
                f"Large whitespace: {_usd(r.whitespace_usd)} a year "
                f"({r.whitespace_usd / mean_ws[st]:.1f}x the average {st})",
                "whitespace_usd",
                r.whitespace_usd,
                mean_ws[st],
            )
        if _ge(r.forecast_change, t.forecast_change):
            add(
                st,
                sc,
                "opportunity",
                f"Forecast {r.forecast_change:+.0%} on the same quarters a year earlier",
                "forecast_change",
                r.forecast_change,
                t.forecast_change,
            )
        if r.hidden_units > 0:
            add(
                st,
                sc,
                "opportunity",
                f"{r.hidden_units} high-potential unit(s) with few accounts: {r.hidden_unit_names}",
                "hidden_units",
                r.hidden_units,
                0,
            )
        if rel and _ge(r.competitor_pressure, company.competitor_pressure + t.pressure_gap):
            add(
                st,
                sc,
                "threat",
                f"Competitor pressure {r.competitor_pressure:.2f} vs company "
                f"{company.competitor_pressure:.2f} (strongest: {r.top_competitor})",
                "competitor_pressure",
                r.competitor_pressure,
                company.competitor_pressure,
            )
        if _le(r.growth, t.decline):
            add(
                st,
                sc,
                "threat",
                f"Revenue {r.growth:+.0%} on the year before",
                "growth",
                r.growth,
                t.decline,
            )
        if _le(r.forecast_change, -t.forecast_change):
            add(
                st,
                sc,
                "threat",
                f"Forecast {r.forecast_change:+.0%} on the same quarters a year earlier",
                "forecast_change",
                r.forecast_change,
                -t.forecast_change,
            )
        share = r.large_churned_usd / r.prior_revenue_usd if r.prior_revenue_usd > 0 else 0.0
        if r.large_churned > 0 and share >= t.churn_share:
            add(
                st,
                sc,
                "threat",
                f"{r.large_churned} large account(s) lost: "
                f"{_usd(r.large_churned_usd)} ({share:.0%}) of last year's revenue",
                "large_churned_usd",
                r.large_churned_usd,
                t.churn_share * r.prior_revenue_usd,
            )
    derived = pd.DataFrame(
        rows,
        columns=["scope_type", "scope", "kind", "item", "evidence", "value", "benchmark", "source"],
    )
    table = pd.concat([derived, _analyst_rows(analyst, m)], ignore_index=True)
    rank = {"company": 0, "region": 1, "territory": 2, "other": 3}
    table = table.sort_values(
        ["scope_type", "scope", "kind", "source"],
        key=lambda s: (
            s.map(rank)
            if s.name == "scope_type"
            else (s.map({k: i for i, k in enumerate(SWOT_KINDS)}) if s.name == "kind" else s)
        ),
        kind="stable",
    ).reset_index(drop=True)
    return SwotResults(table=table, metrics=m, thresholds=t)


def _ge(a: float, b: float) -> bool:
    return bool(pd.notna(a) and pd.notna(b) and a >= b)


def _le(a: float, b: float) -> bool:
    return bool(pd.notna(a) and pd.notna(b) and a <= b)


def _analyst_rows(analyst: pd.DataFrame | None, metrics: pd.DataFrame) -> pd.DataFrame:
    cols = ["scope_type", "scope", "kind", "item", "evidence", "value", "benchmark", "source"]
    if analyst is None or analyst.empty:
        return pd.DataFrame(columns=cols)
    regions = (
        set(metrics.xs("region", level="scope_type").index)
        if "region" in metrics.index.get_level_values(0)
        else set()
    )
    territories = (
        set(metrics.xs("territory", level="scope_type").index)
        if "territory" in metrics.index.get_level_values(0)
        else set()
    )

    def scope_type(s: str) -> str:
        if s == "company":
            return "company"
        if s in regions:
            return "region"
        if s in territories:
            return "territory"
        return "other"

    a = analyst.assign(
        scope=analyst["scope"].astype(str), kind=analyst["kind"].astype(str).str.lower()
    )
    return pd.DataFrame(
        {
            "scope_type": a["scope"].map(scope_type),
            "scope": a["scope"],
            "kind": a["kind"],
            "item": a["item"].astype(str),
            "evidence": "analyst",
            "value": math.nan,
            "benchmark": math.nan,
            "source": "analyst",
        }
    )[cols]


@dataclasses.dataclass(frozen=True)
class SwotResults:
    """SWOT entries and the evidence behind them.

    Attributes
    ----------
    table : DataFrame
        Stage ``swot``: ``scope_type``, ``scope``, ``kind``, ``item``, ``evidence``,
        ``value``, ``benchmark``, ``source``.
    metrics : DataFrame
        :func:`scope_metrics` output (the evidence for every scope).
    thresholds : SwotThresholds
    """

    table: pd.DataFrame
    metrics: pd.DataFrame
    thresholds: SwotThresholds

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> pd.DataFrame:
        """Entries per scope and quadrant."""
        t = self.table
        out = t.pivot_table(
            index=["scope_type", "scope"],
            columns="kind",
            values="item",
            aggfunc="count",
            fill_value=0,
        )
        return out.reindex(columns=list(SWOT_KINDS), fill_value=0)

    def quadrants_html(
        self, scope_types: Sequence[str] = ("company", "region", "territory")
    ) -> str:
        """Four quadrants per scope, as an HTML grid (survives the report's HTML export)."""
        colours = {
            "strength": "#e3f1e3",
            "weakness": "#fbe7e1",
            "opportunity": "#e1ecf8",
            "threat": "#fdf3d7",
        }
        parts = ['<div style="display:flex;flex-wrap:wrap;gap:14px">']
        t = self.table
        scopes = t[t["scope_type"].isin(scope_types)][["scope_type", "scope"]].drop_duplicates()
        scopes = pd.concat(
            [
                scopes,
                self.metrics.reset_index()[["scope_type", "scope"]].query(
                    "scope_type in @scope_types"
                ),
            ]
        ).drop_duplicates()
        rank = {k: i for i, k in enumerate(scope_types)}
        scopes = scopes.sort_values(
            ["scope_type", "scope"], key=lambda s: s.map(rank) if s.name == "scope_type" else s
        )
        for st, sc in scopes.itertuples(index=False):
            g = t[(t["scope_type"] == st) & (t["scope"] == sc)]
            title = "Company" if st == "company" else f"{st.capitalize()} {sc}"
            cells = []
            for kind in SWOT_KINDS:
                items = g[g["kind"] == kind]
                lis = "".join(
                    f"<li>{html.escape(r.item)}"
                    + (" <i>(analyst)</i>" if r.source == "analyst" else "")
                    + "</li>"
                    for r in items.itertuples()
                )
                cells.append(
                    f'<div style="background:{colours[kind]};padding:6px 8px;min-height:60px">'
                    f"<b>{_QUADRANT_TITLES[kind]}</b><ul style='margin:2px 0 0 16px;padding:0'>"
                    f"{lis or '<li><i>none</i></li>'}</ul></div>"
                )
            parts.append(
                '<div style="width:460px;font-size:12px">'
                f"<div style='font-weight:bold;margin-bottom:3px'>{html.escape(title)}</div>"
                '<div style="display:grid;grid-template-columns:1fr 1fr;gap:3px">'
                + "".join(cells)
                + "</div></div>"
            )
        parts.append("</div>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.quadrants_html()

    def __repr__(self) -> str:
        return f"SwotResults({len(self.table)} entries)\n{self.summary().to_string()}"


# ---------------------------------------------------------------------------------------------
# Charts


def plot_potential_map(
    units: pd.DataFrame,
    polygons,
    *,
    columns: Sequence[str] = ("potential_usd", "whitespace_usd", "penetration"),
    title: str | None = None,
):
    """Choropleth panels of unit measures (static matplotlib; survives HTML/PDF export).

    Parameters
    ----------
    units : DataFrame
        ``potential_units``: ``unit_id`` and the ``columns`` to draw.
    polygons : GeoDataFrame or None
        Unit polygons (``io.load_geojson``); without them, unit centroids are drawn as
        sized points (``lat``/``lon`` from ``units`` must then be present).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    from .plots import usd

    labels = {
        "potential_usd": "Achievable potential (USD/yr)",
        "whitespace_usd": "Whitespace (USD/yr)",
        "penetration": "Penetration",
        "index_potential_usd": "Index-method potential (USD/yr)",
        "uncovered_potential_usd": "Index potential without accounts (USD/yr)",
        "competitor_pressure": "Competitor pressure",
    }
    fig, axes = plt.subplots(1, len(columns), figsize=(4.6 * len(columns), 5.0), squeeze=False)
    for ax, col in zip(axes.flat, columns, strict=True):
        fmt = (
            PercentFormatter(1.0, decimals=0)
            if col in ("penetration",)
            else FuncFormatter(lambda v, _p: f"{v:.2f}")
            if col == "competitor_pressure"
            else FuncFormatter(usd)
        )
        values = units[col].astype(float)
        if "accounts" in units.columns and col != "index_potential_usd":
            values = values.where(units["accounts"] > 0)  # grey: no account in the CRM
        norm = None
        if col.endswith("_usd") and (values > 0).any():
            # dollars are heavily skewed (metro counties dwarf rural ones): a log colour scale
            # keeps the rural differences visible
            pos = values[values > 0]
            norm = LogNorm(vmin=float(max(pos.min(), pos.max() / 1e4)), vmax=float(pos.max()))
        if polygons is not None:
            gdf = polygons[["unit_id", "geometry"]].merge(
                pd.DataFrame({"unit_id": units["unit_id"], col: values}), on="unit_id", how="left"
            )
            if norm is not None:
                gdf[col] = gdf[col].clip(lower=norm.vmin)
            cmap = "RdYlGn" if col == "penetration" else "viridis"
            gdf.plot(
                column=col,
                ax=ax,
                cmap=cmap,
                norm=norm,
                legend=True,
                linewidth=0.2,
                edgecolor="white",
                missing_kwds={"color": "#dddddd", "label": "no accounts"},
                legend_kwds={"shrink": 0.6, "format": fmt},
            )
        else:  # no polygons (an optional file): unit centroids, grey where no accounts
            known = values.notna().to_numpy()
            ax.scatter(units["lon"][~known], units["lat"][~known], s=10, c="#dddddd")
            cmap = "RdYlGn" if col == "penetration" else "viridis"
            sc = ax.scatter(
                units["lon"][known],
                units["lat"][known],
                c=values[known],
                s=14,
                cmap=cmap,
                norm=norm,
            )
            fig.colorbar(sc, ax=ax, shrink=0.6, format=fmt)
            ax.set_aspect(1 / np.cos(np.radians(float(units["lat"].mean()))))
        ax.set_title(labels.get(col, col), fontsize=10)
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_whitespace(table: pd.DataFrame, *, title: str = "Revenue and whitespace"):
    """Horizontal bars: revenue and whitespace (USD/yr) per territory or region, largest
    potential first, with penetration labelled."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from .plots import usd

    t = table.sort_values("potential_usd")
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(t) + 1.2))
    y = np.arange(len(t))
    ax.barh(y, t["revenue_usd"], color="#3b6ea8", label="revenue (trailing year)")
    ax.barh(y, t["whitespace_usd"], left=t["revenue_usd"], color="#b9cde5", label="whitespace")
    for i, (pot, pen) in enumerate(zip(t["potential_usd"], t["penetration"], strict=True)):
        ax.text(pot, i, f" {pen:.0%}", va="center", fontsize=8)
    ax.set_yticks(y, t.index.astype(str))
    ax.xaxis.set_major_formatter(FuncFormatter(usd))
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    ax.set_title(title + " (label: penetration)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_potential_fit(potential: PotentialResults):
    """Mature customers' actual spend against their fitted achievable potential (log axes):
    about ``quantile`` of the points should lie below the diagonal."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from .plots import usd

    a = potential.accounts[potential.accounts["mature"]]
    fig, ax = plt.subplots(figsize=(5.4, 4.6))
    ax.scatter(a["model_potential_usd"], a["revenue_usd"], s=6, alpha=0.4, color="#3b6ea8")
    lo = float(min(a["model_potential_usd"].min(), a["revenue_usd"].min()))
    hi = float(max(a["model_potential_usd"].max(), a["revenue_usd"].max()))
    ax.plot([lo, hi], [lo, hi], color="#d9822b", label="spend = potential")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(usd))
    ax.yaxis.set_major_formatter(FuncFormatter(usd))
    below = float((a["revenue_usd"] <= a["model_potential_usd"]).mean())
    ax.set_xlabel("fitted achievable potential (USD/yr, before competitor adjustment)")
    ax.set_ylabel("actual spend, trailing year")
    ax.set_title(
        f"Mature customers: {below:.0%} below their potential "
        f"(target {potential.settings['quantile']:.0%})",
        fontsize=10,
    )
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig
