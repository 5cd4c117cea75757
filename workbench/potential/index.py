"""Regions, the index method (a unit's weighted share of the market drivers) and the competitor
pressure and adjustment factor (notebook 01, section "Index method")."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..geo import unit_drivers

AMOUNT_CORRELATION = 0.5
"""A driver whose correlation with population across units reaches this is an *amount* (it
grows with the unit's size: income, establishments); below it, a *rate* per head (a share,
a median) that becomes an amount by multiplying with population."""

REGIONS = ("South", "Central", "North")


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


# ---------------------------------------------------------------------------------------------
# Regions and the index method


def unit_regions(geo_units: pd.DataFrame) -> pd.Series:
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
    >>> unit_regions(u).tolist()
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
