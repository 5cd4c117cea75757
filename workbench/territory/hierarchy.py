"""The sales hierarchy: region > district > territory.

Two ways to a hierarchy, both with the territory engine:

* **Fixed regions** (:func:`design_within_regions`). The company's regions are given - one
  column of the units, e.g. ``geo_units.region`` - and no territory may cross a region line.
  Each region gets ``k_r`` territories (:func:`region_seats`) and is designed on its own. Within
  a region every territory targets the region's mean, ``total_r / k_r``; :func:`rollup` shows
  how far that is from the company mean (the price of whole seats).
* **Built upwards** (:func:`group_territories`). Districts from the proposed territories: the
  engine again, with territories as units (at their weighted centroid), two territories
  adjacent when some unit of one borders some unit of the other, balanced on the territory
  count and the measures. Then regions from districts the same way.

**Seats.** Region r's quota is ``q_r = k s_r``, with ``s_r`` its share of the balanced measures
(the mean over measures of ``sum_r m / sum m``). Every region gets one seat; each further seat
goes to the region furthest below its quota (``q_r - k_r`` largest, ties by region name), never
beyond one seat per unit. When every quota is at least 1 this is the largest-remainder
(Hamilton) rule.

**The bound.** The territories of different regions share nothing, so the distance objective
is the sum of the regions' objectives and the sum of the regions' lower bounds is a lower
bound on every plan that keeps territories within regions (with these seats): the plan's
``lower_bound_km`` (method ``regions``). It is proven optimal when every region is.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import ParameterError
from .bound import BoundMethod
from .designer import build_territories
from .plan import TerritoryPlan
from .problem import _as_list

__all__ = [
    "count_tolerance",
    "design_within_regions",
    "district_of",
    "group_territories",
    "region_seats",
    "rollup",
]


def region_seats(
    units: pd.DataFrame, *, region: str, k: int, balance: str | Sequence[str]
) -> pd.Series:
    """Territories per region (index: region, sorted), summing to ``k`` (rule in the module
    docstring).

    >>> units = pd.DataFrame({"region": ["E", "E", "E", "W", "W", "N"],
    ...                       "revenue": [30.0, 20, 10, 25, 5, 10]})
    >>> region_seats(units, region="region", k=5, balance="revenue").to_dict()
    {'E': 3, 'N': 1, 'W': 1}
    """
    measures = _as_list(balance, "balance")
    problems = [] if region in units else [f"region: no column {region!r} in the units"]
    problems += [f"balance: no column {m!r} in the units" for m in measures if m not in units]
    if problems:
        raise ParameterError("\n".join(problems))
    groups = units.groupby(units[region].astype(str), sort=True)
    count = groups.size()
    if k < len(count):
        raise ParameterError(
            f"k: {k} territories cannot cover {len(count)} regions (one territory each at "
            f"least): regions {', '.join(count.index)}"
        )
    if k > int(count.sum()):
        raise ParameterError(f"k: {k} territories for {int(count.sum())} units")
    shares = []
    for m in measures:
        tot = groups[m].sum()
        shares.append(tot / tot.sum() if tot.sum() > 0 else count / count.sum())
    quota = k * pd.concat(shares, axis=1).mean(axis=1)
    seats = pd.Series(1, index=count.index, dtype=int)
    for _ in range(k - len(count)):
        room = (quota - seats).where(seats < count)
        seats[room.idxmax()] += 1  # idxmax: the first (by name) among equals
    return seats.rename("territories")


def _within(frame: pd.DataFrame | None, cols: Sequence[str], inside: set) -> pd.DataFrame | None:
    """The rows of ``frame`` whose ``cols`` all name units ``inside`` a region."""
    if frame is None:
        return None
    keep = np.ones(len(frame), dtype=bool)
    for c in cols:
        keep &= frame[c].astype(str).str.strip().isin(inside).to_numpy()
    return frame.loc[keep]


def design_within_regions(
    units: pd.DataFrame,
    *,
    region: str,
    k: int,
    balance: str | Sequence[str],
    tolerance: float | Sequence[float] | Mapping[str, float] = 0.05,
    adjacency: pd.DataFrame | None = None,
    current: pd.DataFrame | None = None,
    locked: pd.DataFrame | None = None,
    seats: Mapping[str, int] | None = None,
    progress: Callable[[str], None] | None = None,
    **options,
) -> TerritoryPlan:
    """Design ``k`` territories that never cross a region line, one region at a time.

    Parameters
    ----------
    units : pandas.DataFrame
        As for :func:`~workbench.territory.build_territories`, plus the ``region`` column.
    region : str
        The column naming each unit's region (text; every unit needs one).
    k : int
        Territories in all; split by :func:`region_seats` unless ``seats`` gives them.
    adjacency, current, locked : pandas.DataFrame, optional
        As for :func:`~workbench.territory.build_territories` (``unit_id, territory`` for
        ``current`` and ``locked``); pairs across a region line are dropped from the adjacency.
    seats : mapping, optional
        Territories per region (then ``k`` must be their sum).
    **options
        Passed to the engine for every region (``seed``, ``effort``, ``max_moved``, ...).
        ``time_limit`` (default 60 s) is the safety stop of the whole design: each region gets
        the share of the time left that its units are of the units left (a plan that ends on
        it says so).

    Returns
    -------
    TerritoryPlan
        Territory names are kept when no two regions share one (e.g. current books), else
        all are prefixed ``"<region>/"`` (``East/T01``). The territory table gains ``region``
        and ``<measure>_target`` (the region's mean: deviations are measured against it), the
        unit table ``region``.
    """
    measures = _as_list(balance, "balance")
    problems = []
    if region not in units:
        problems.append(f"region: no column {region!r} in the units")
    elif (blank := units[region].isna() | (units[region].astype(str).str.strip() == "")).any():
        bad = units.loc[blank]
        sample = ", ".join(bad["unit_id"].astype(str).head(5))
        problems.append(
            f"region: {len(bad)} unit(s) have no region in column {region!r} (e.g. {sample})"
        )
    if "targets" in options:
        problems.append("targets: per-territory targets are not supported within fixed regions")
    if problems:
        raise ParameterError("\n".join(problems))
    reg = units[region].astype(str).str.strip()
    if seats is None:
        per = region_seats(units.assign(**{region: reg}), region=region, k=k, balance=measures)
    else:
        per = pd.Series(dict(seats), dtype=int).sort_index()
        missing = sorted(set(reg) - set(per.index))
        extra = sorted(set(per.index) - set(reg))
        if missing or extra or int(per.sum()) != k or (per < 1).any():
            raise ParameterError(
                "seats: expected at least one territory for every region and "
                f"{k} in all; got {dict(per)} (regions without seats: {missing}, "
                f"seats for unknown regions: {extra})"
            )
    ids = units["unit_id"].astype(str).str.strip()
    region_of = pd.Series(reg.to_numpy(), index=ids.to_numpy())
    parts: dict[str, TerritoryPlan] = {}
    limit = options.pop("time_limit", 60.0)
    t0 = time.perf_counter()
    units_left = len(units)
    for r, k_r in per.items():
        mask = (reg == r).to_numpy()
        sub = units.loc[mask]
        inside = set(ids[mask])

        if progress is not None:
            progress(f"region {r}: {len(sub)} units, {k_r} territories")
        parts[str(r)] = build_territories(
            sub,
            k=int(k_r),
            balance=measures,
            tolerance=tolerance,
            adjacency=_within(adjacency, ("a", "b"), inside),
            current=_within(current, ("unit_id",), inside),
            locked=_within(locked, ("unit_id",), inside),
            progress=progress,
            time_limit=None if limit is None else _share(limit, t0, mask.sum(), units_left),
            **options,
        )
        units_left -= int(mask.sum())
    return _combine(parts, region_of, measures)


def _share(limit: float, t0: float, units: int, units_left: int) -> float:
    """A region's safety stop: the time left times its share of the units left."""
    left = max(limit - (time.perf_counter() - t0), 0.0)
    return max(left * units / max(units_left, 1), 0.01)


def _combine(
    parts: dict[str, TerritoryPlan], region_of: pd.Series, measures: list[str]
) -> TerritoryPlan:
    """One plan from the regions' plans (see the module docstring for the bound)."""
    every = [t for plan in parts.values() for t in plan.territories.index]
    clash = len(every) != len(set(every))
    assignments, tables, unit_tables, violations, notes = [], [], [], [], []
    obj = weight = 0.0
    lb: float | None = 0.0
    for r, plan in parts.items():
        names = {t: (f"{r}/{t}" if clash else t) for t in plan.territories.index}
        a = plan.assignment.map(names)
        table = plan.territories.rename(index=names).assign(region=r)
        for m in measures:
            table[f"{m}_target"] = float(table[m].sum()) / len(table)
        assignments.append(a)
        tables.append(table)
        unit_tables.append(plan.units.assign(territory=a, region=r))
        w = float(plan.units["weight"].sum())
        obj += plan.objective_km * w
        weight += w
        if lb is not None and plan.lower_bound_km is not None:
            lb += plan.lower_bound_km * w
        else:
            lb = None
        violations += [
            dataclasses.replace(v, subject=names.get(v.subject, f"{r}: {v.subject}"))
            for v in plan.violations
        ]
        notes += [f"region {r}: {n}" for n in plan.notes]
    first = next(iter(parts.values()))
    per_covers = [set(p.bound_covers) for p in parts.values()]
    covers = tuple(c for c in first.bound_covers if all(c in s for s in per_covers))
    ignores = tuple(dict.fromkeys(c for p in parts.values() for c in p.bound_ignores))
    bounded = lb is not None and weight > 0
    details = "; ".join(f"{r}: {p.bound_method} ({p.bound_detail})" for r, p in parts.items())
    budgets = [p.max_moved for p in parts.values()]
    max_moved = None if any(b is None for b in budgets) else sum(b or 0 for b in budgets)
    return TerritoryPlan(
        assignment=pd.concat(assignments).reindex(region_of.index).rename("territory"),
        territories=pd.concat(tables).sort_index(),
        units=pd.concat(unit_tables).reindex(region_of.index),
        measures=tuple(measures),
        tolerance=first.tolerance,
        objective_km=obj / weight if weight > 0 else 0.0,
        lower_bound_km=lb / weight if bounded and lb is not None else None,
        bound_method=BoundMethod.REGIONS.value if bounded else BoundMethod.NONE.value,
        bound_detail=f"sum of the regions' lower bounds: {details}",
        bound_covers=covers if bounded else (),
        bound_ignores=ignores if bounded else (),
        proven_optimal=bool(bounded and all(p.proven_optimal for p in parts.values())),
        violations=tuple(violations),
        notes=tuple(notes),
        current_given=any(p.current_given for p in parts.values()),
        max_moved=max_moved,
        contiguity_required=any(p.contiguity_required for p in parts.values()),
        seconds=sum(p.seconds for p in parts.values()),
        info={
            "regions": {r: dict(p.info) for r, p in parts.items()},
            "seats": {r: p.k for r, p in parts.items()},
            "search_rounds": max(p.info.get("search_rounds", 1) for p in parts.values()),
            "proven_infeasible": any(
                p.info.get("proven_infeasible", False) for p in parts.values()
            ),
            "safety_stop": any(p.info.get("safety_stop", False) for p in parts.values()),
        },
    )


def _territory_units(plan: TerritoryPlan, units: pd.DataFrame, measures: list[str]):
    """Territories as units: weighted centroid, the measures' sums, and a count of 1."""
    ids = units["unit_id"].astype(str).str.strip()
    terr = ids.map(plan.assignment)
    w = plan.units["weight"].reindex(ids).to_numpy()
    w = np.where(w > 0, w, 1e-12)  # an idle unit still places its territory
    frame = pd.DataFrame(
        {
            "territory": terr.to_numpy(),
            "w": w,
            "wlat": w * units["lat"].to_numpy(float),
            "wlon": w * units["lon"].to_numpy(float),
        }
    )
    for m in measures:
        frame[m] = units[m].to_numpy(float)
    agg = frame.groupby("territory", sort=True).sum()
    out = pd.DataFrame(
        {
            "unit_id": agg.index.astype(str),
            "lat": (agg["wlat"] / agg["w"]).to_numpy(),
            "lon": (agg["wlon"] / agg["w"]).to_numpy(),
            "territories": 1.0,
        }
    )
    for m in measures:
        out[m] = agg[m].to_numpy()
    return out


def _territory_adjacency(plan: TerritoryPlan, adjacency: pd.DataFrame) -> pd.DataFrame:
    """Territory pairs with at least one bordering pair of units."""
    a = adjacency["a"].astype(str).str.strip().map(plan.assignment)
    b = adjacency["b"].astype(str).str.strip().map(plan.assignment)
    pairs = pd.DataFrame({"a": a, "b": b}).dropna()
    pairs = pairs.loc[pairs["a"] != pairs["b"]]
    lo = pairs.min(axis=1)
    hi = pairs.max(axis=1)
    return pd.DataFrame({"a": lo, "b": hi}).drop_duplicates().reset_index(drop=True)


def count_tolerance(n: int, k: int) -> float:
    """The loosest deviation whole counts force: ``n / k`` members per group on average, so
    some groups hold ``ceil`` and some ``floor`` of it.

    >>> count_tolerance(12, 3), round(count_tolerance(12, 5), 4)
    (0.0, 0.25)
    """
    mean = n / k
    return max(math.ceil(mean) - mean, mean - math.floor(mean)) / mean


def group_territories(
    plan: TerritoryPlan,
    units: pd.DataFrame,
    *,
    k: int,
    adjacency: pd.DataFrame | None = None,
    balance: Sequence[str] | None = None,
    tolerance: float = 0.05,
    prefix: str = "D",
    **options,
) -> tuple[pd.Series, TerritoryPlan]:
    """Group the plan's territories into ``k`` contiguous, balanced groups (districts; run it
    again on the districts for regions).

    The groups balance the territory count (within :func:`count_tolerance`, the least whole
    counts allow) and ``balance`` (default: the plan's measures, within ``tolerance``);
    compactness is measured between the territories' weighted centroids. ``units`` are the
    plan's units with their coordinates and measures; ``adjacency`` the unit adjacency (the
    groups are then contiguous). Returns territory -> group (``D01``, ...) and the grouping as
    a plan (its units are the territories).
    """
    measures = list(plan.measures if balance is None else balance)
    tunits = _territory_units(plan, units, measures)
    tadj = None if adjacency is None else _territory_adjacency(plan, adjacency)
    tol = {
        "territories": count_tolerance(len(tunits), k) + 1e-9,
        **dict.fromkeys(measures, tolerance),
    }
    grouping = build_territories(
        tunits,
        k=k,
        balance=["territories", *measures],
        tolerance=tol,
        adjacency=tadj,
        weight=measures[0] if measures else None,
        **options,
    )
    names = sorted(grouping.territories.index)
    width = max(2, len(str(len(names))))
    rename = {t: f"{prefix}{i:0{width}d}" for i, t in enumerate(names, start=1)}
    return grouping.assignment.map(rename).rename("group"), grouping


def regions_from_districts(
    plan: TerritoryPlan,
    units: pd.DataFrame,
    district_of: pd.Series,
    grouping: TerritoryPlan,
    *,
    k: int,
    adjacency: pd.DataFrame | None = None,
    balance: Sequence[str] | None = None,
    tolerance: float = 0.05,
    **options,
) -> pd.Series:
    """Group districts (``district_of``: territory -> district, and ``grouping``, the districts
    as :func:`group_territories` returned them) into ``k`` contiguous regions balanced on the
    district count and the measures: the same engine one level up, districts as units.
    Returns district -> region (``G01``, ...)."""
    measures = list(plan.measures if balance is None else balance)
    tunits = _territory_units(plan, units, measures)
    tadj = None if adjacency is None else _territory_adjacency(plan, adjacency)
    # the districts as a plan over the territories: each territory's district is its group
    districts = dataclasses.replace(
        grouping, assignment=district_of.reindex(grouping.assignment.index)
    )
    region_of, _ = group_territories(
        districts,
        tunits,
        k=k,
        adjacency=tadj,
        balance=measures,
        tolerance=tolerance,
        prefix="G",
        **options,
    )
    return region_of


def district_of(districts: pd.DataFrame) -> pd.Series:
    """Territory -> district, from a district table's ``members`` (comma-separated territory
    ids, as :func:`~workbench.territory.workflow.district_table` writes them).

    >>> district_of(pd.DataFrame({"members": ["T1, T2", "T3"]}, index=["D01", "D02"])).to_dict()
    {'T1': 'D01', 'T2': 'D01', 'T3': 'D02'}
    """
    return pd.Series(
        {t.strip(): d for d, members in districts["members"].items() for t in members.split(",")},
        dtype=object,
    )


def rollup(plan: TerritoryPlan, parent: pd.Series, *, level: str = "region") -> pd.DataFrame:
    """One row per ``level`` (``parent`` maps territory -> its district or region): the
    territories it holds, each measure's sum, its share of the company (%), and its mean per
    territory against the company's mean per territory (``<measure>_per_territory_dev_pct``),
    plus the worst territory deviation inside it (against the territories' own targets)."""
    t = plan.territories
    group = t.index.map(parent)
    if group.isna().any():
        missing = ", ".join(map(str, t.index[group.isna()][:5]))
        raise ParameterError(f"{level}: territories without one: {missing}")
    g = t.assign(**{level: np.asarray(group, dtype=object)}).groupby(level, sort=True)
    out = pd.DataFrame({"territories": g.size()})
    for m in plan.measures:
        total = float(t[m].sum())
        out[m] = g[m].sum()
        out[f"{m}_share_pct"] = 100 * out[m] / total if total > 0 else 0.0
        company = total / len(t)
        per = out[m] / out["territories"]
        out[f"{m}_per_territory_dev_pct"] = 100 * (per - company) / company if company > 0 else 0.0
        out[f"{m}_worst_dev_pct"] = g[f"{m}_dev_pct"].apply(lambda s: s.abs().max())
    out["mean_territory_km"] = g["distance_km"].mean()
    return out
