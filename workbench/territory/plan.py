"""``TerritoryPlan``: the results object of a territory design (statsmodels-style).

A plan is immutable: the assignment, a per-territory table, the bound and the violations. All
headline numbers are derived properties, so they can never disagree with the tables.

Definitions (also in ``docs/territory.md``):

* deviation of territory t on measure m: ``(sum_{i in t} a_im - target_tm) / target_tm`` with
  ``target_tm = mean_m = sum_i a_im / k``, or with per-territory targets (relative sizes
  ``w_tm``) ``target_tm = w_tm / sum_t w_tm * sum_i a_im``;
* ``median_km``: activity-weighted mean distance from units to their territory's centre (the
  p-median objective divided by the total weight): ``sum_i w_i d(i, c(t_i)) / sum_i w_i``;
* ``lower_bound_km``: a certified lower bound on ``median_km`` of ANY plan meeting the balance
  constraints (plus the disruption penalty when one is set);
* ``gap``: ``objective_km / lower_bound_km - 1``, the most the plan can be worse than the best
  possible plan that meets the constraints the bound covers (``bound_covers``; the others -
  ``bound_ignores`` - are relaxed, so their price is inside the gap). Never clipped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..results import TWO_DECIMALS, Results, Summary, sections_of
from .bound import BoundMethod, relative_gap, relevant_constraints
from .problem import BAND_TOL, Violation

__all__ = ["TerritoryPlan"]


def violations_frame(violations: Iterable[Violation]) -> pd.DataFrame:
    """Constraints not met, one row each: ``constraint``, ``subject``, ``reason``."""
    return pd.DataFrame(
        [
            {"constraint": v.constraint, "subject": v.subject, "reason": v.reason}
            for v in violations
        ],
        columns=["constraint", "subject", "reason"],
    )


@dataclasses.dataclass(frozen=True, repr=False)
class TerritoryPlan(Results):
    """A territory alignment with its balance, compactness, contiguity, disruption and bound.

    Attributes
    ----------
    assignment : pandas.Series
        Unit id -> territory id (``"T01"`` ... or the names of locked/current territories).
    territories : pandas.DataFrame
        One row per territory: ``n_units``, every measure's sum and ``<measure>_dev_pct``
        (and ``<measure>_target`` with per-territory targets), ``distance_km`` (weighted mean
        distance to the centre), ``centre`` (unit id), ``contiguous``, ``parts``, ``moved_in``,
        and ``home_km`` with fixed centres.
    units : pandas.DataFrame
        One row per unit: ``territory``, ``distance_km``, ``is_centre``, ``moved`` ...
    measures : tuple of str
    tolerance : pandas.Series
        Allowed relative deviation per measure.
    objective_km : float
        ``median_km`` plus the disruption penalty (equal to it when no penalty is set).
    lower_bound_km : float or None
    bound_method : str
        A :class:`~workbench.territory.bound.BoundMethod` value (``"lp"``, ``"lagrangian"``,
        ``"mip"``, ...; ``"none"`` when not computed).
    bound_detail : str
        How the bound was obtained, in words.
    bound_covers, bound_ignores : tuple of str
        The problem's constraints the bound respects / relaxes (``balance``, ``contiguity``,
        ``locks``, ``budget``, ``fixed_centres``).
    proven_optimal : bool
        The bound equals the plan's objective within 0.01 %, contiguity included: no better
        plan exists.
    violations : tuple of Violation
    notes : tuple of str
        Facts a planner should know (e.g. islands linked by bridges).
    current_given : bool
        Whether a current alignment was supplied (else ``n_moved`` is 0).
    max_moved : int or None
        The disruption budget in units.
    seconds : float
    info : dict
        Solver details (starts, bound time, seed).
    """

    assignment: pd.Series
    territories: pd.DataFrame
    units: pd.DataFrame
    measures: tuple[str, ...]
    tolerance: pd.Series
    objective_km: float
    lower_bound_km: float | None
    bound_method: str
    violations: tuple[Violation, ...] = ()
    bound_detail: str = ""
    bound_covers: tuple[str, ...] = ()
    bound_ignores: tuple[str, ...] = ()
    proven_optimal: bool = False
    notes: tuple[str, ...] = ()
    current_given: bool = False
    max_moved: int | None = None
    contiguity_required: bool = False
    seconds: float = 0.0
    info: dict = dataclasses.field(default_factory=dict)

    # -- derived metrics -------------------------------------------------------------------
    @property
    def k(self) -> int:
        return len(self.territories)

    @property
    def deviation_pct(self) -> pd.DataFrame:
        """Deviation from the target (%) per territory (rows) and measure (columns); the
        target is the mean unless per-territory targets are given."""
        cols = {m: self.territories[f"{m}_dev_pct"] for m in self.measures}
        return pd.DataFrame(cols)

    @property
    def max_deviation(self) -> pd.Series:
        """Worst absolute deviation from the target, as a share (0.049 = 4.9 %), per measure."""
        return (self.deviation_pct.abs().max() / 100.0).rename("max_deviation")

    @property
    def balanced(self) -> bool:
        """Every measure within its tolerance in every territory."""
        return bool((self.max_deviation <= self.tolerance + BAND_TOL).all())

    @property
    def median_km(self) -> float:
        """Activity-weighted mean distance (km) from units to their territory's centre."""
        d = self.units["distance_km"].to_numpy()
        w = self.units["weight"].to_numpy()
        return float(d @ w / w.sum()) if w.sum() > 0 else float(d.mean())

    @property
    def gap(self) -> float | None:
        """``objective_km / lower_bound_km - 1`` (None without a bound, and None when the plan
        misses a balance band: the bound covers balanced plans only, so an unbalanced plan can
        even be cheaper than it). Not clipped: a valid bound never exceeds a feasible plan's
        objective, so a negative gap would expose a defect, not be hidden."""
        if self.lower_bound_km is None or not self.balanced:
            return None
        return relative_gap(self.objective_km, self.lower_bound_km)

    @property
    def n_moved(self) -> int:
        """Units whose territory differs from the current alignment."""
        return int(self.units["moved"].sum())

    @property
    def share_moved(self) -> float:
        given = int(self.units["has_current"].sum())
        return self.n_moved / given if given else 0.0

    @property
    def contiguous(self) -> bool | None:
        """All territories connected in the adjacency graph (None: no graph given)."""
        if not self.contiguity_required:
            return None
        return bool(self.territories["contiguous"].all())

    @property
    def feasible(self) -> bool:
        """No violated constraint."""
        return not self.violations

    # -- tables ----------------------------------------------------------------------------
    def summary(self) -> Summary:
        """Headline metrics: one row each with ``value``, ``limit`` and ``ok`` (index
        ``metric``); the plan's notes, then the constraints not met and the territory table as
        sections."""
        rows: list[tuple[str, object, object, bool | None]] = []
        for m in self.measures:
            rows.append(
                (
                    f"max deviation {m} (%)",
                    round(100 * self.max_deviation[m], 2),
                    round(100 * self.tolerance[m], 2),
                    bool(self.max_deviation[m] <= self.tolerance[m] + BAND_TOL),
                )
            )
        rows.append(("median_km", round(self.median_km, 3), None, None))
        if self.objective_km - self.median_km > 1e-9:
            rows.append(
                ("objective_km (with move penalty)", round(self.objective_km, 3), None, None)
            )
        lb = self.lower_bound_km
        rows.append(("lower_bound_km", None if lb is None else round(lb, 3), None, None))
        g = self.gap
        rows.append(("gap (%)", None if g is None else round(100 * g, 2), None, None))
        if self.lower_bound_km is not None:
            rows.append(("bound covers", ", ".join(self.bound_covers), None, None))
            if self.bound_ignores:
                rows.append(("bound relaxes", ", ".join(self.bound_ignores), None, None))
            rows.append(("proven optimal", self.proven_optimal, None, None))
        c = self.contiguous
        rows.append(("contiguous", c, None, c))
        if self.current_given:
            limit = self.max_moved
            rows.append(
                (
                    "units moved",
                    self.n_moved,
                    limit,
                    None if limit is None else bool(self.n_moved <= limit),
                )
            )
            rows.append(("share moved (%)", round(100 * self.share_moved, 2), None, None))
        rows.append(("territories", self.k, None, None))
        rows.append(("units", len(self.units), None, None))
        rows.append(("violations", len(self.violations), 0, not self.violations))
        out = pd.DataFrame(rows, columns=["metric", "value", "limit", "ok"]).set_index("metric")
        return Summary(
            out,
            title=f"TerritoryPlan: {self.k} territories, {len(self.units)} units",
            notes=self.notes,
            sections=sections_of(
                [
                    ("Constraints not met", violations_frame(self.violations)),
                    ("Territories", self.territories, TWO_DECIMALS),
                ]
            ),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: ``unit_id``, ``territory`` and the per-unit details."""
        return self.units.reset_index()

    def renamed(self, names: dict[str, str]) -> TerritoryPlan:
        """The same plan with its territories renamed (``names``: old -> new, every one)."""
        units = self.units.copy()
        units["territory"] = units["territory"].map(names)
        return dataclasses.replace(
            self,
            assignment=self.assignment.map(names),
            territories=self.territories.rename(index=names),
            units=units,
        )

    def compare(
        self, other: TerritoryPlan, *, names: tuple[str, str] = ("this", "other")
    ) -> pd.DataFrame:
        """Headline metrics of two plans side by side, with the number of units they place
        differently (as sets of territories, so relabelled but identical plans differ by 0)."""
        a = self.summary()["value"].rename(names[0])
        b = other.summary()["value"].rename(names[1])
        out = pd.concat([a, b], axis=1)
        out.loc["units placed differently"] = [self.differs_from(other), self.differs_from(other)]
        return out

    def differs_from(self, other: TerritoryPlan) -> int:
        """Units in a different territory, after matching territories by overlap (Hungarian),
        so the count does not depend on territory names."""
        from scipy.optimize import linear_sum_assignment

        a = self.assignment
        b = other.assignment.reindex(a.index)
        tab = pd.crosstab(a, b.fillna("(none)"))
        r, c = linear_sum_assignment(-tab.to_numpy())
        kept = int(tab.to_numpy()[r, c].sum())
        return int(len(a) - kept)


def build_plan(problem, labels, centres, *, bound, violations, notes, seconds, info):
    """Assemble a :class:`TerritoryPlan` from solver output (slots -> territory ids)."""
    from ..geo import haversine_km
    from .solver import component_pieces

    ids = pd.Index(problem.ids, name="unit_id")
    names = np.asarray(problem.labels, dtype=object)
    terr = names[labels]
    if problem.centers is not None:
        clat, clon = problem.centers[:, 0], problem.centers[:, 1]
    else:
        clat, clon = problem.lat[centres], problem.lon[centres]
    dist = haversine_km(problem.lat, problem.lon, clat[labels], clon[labels])
    moved = np.zeros(problem.n, dtype=bool)
    has_cur = np.zeros(problem.n, dtype=bool)
    cur_name = np.full(problem.n, None, dtype=object)
    if problem.current is not None:
        has_cur = problem.current_given.copy()
        moved = has_cur & (problem.current != labels)
        cur_name = np.asarray(problem.current_names, dtype=object)
    units = pd.DataFrame(
        {
            "territory": terr,
            "distance_km": dist,
            "weight": problem.weight,
            "is_centre": False,
            "current": cur_name,
            "has_current": has_cur,
            "moved": moved,
            "locked": problem.locked >= 0,
        },
        index=ids,
    )
    if problem.centers is None:
        units.loc[ids[centres[centres >= 0]], "is_centre"] = True
    rows = []
    target = problem.target
    pieces = component_pieces(problem.graph, labels) if problem.graph is not None else None
    raw_pieces = (
        component_pieces(problem.raw_graph, labels) if problem.raw_graph is not None else None
    )
    for s in range(problem.k):
        mem = labels == s
        row = {"territory": names[s], "n_units": int(mem.sum())}
        for m, name in enumerate(problem.measures):
            tot = float(problem.values[mem, m].sum())
            row[name] = tot
            if not problem.uniform:
                row[f"{name}_target"] = float(target[s, m])
            goal = target[s, m]
            row[f"{name}_dev_pct"] = 100.0 * (tot - goal) / goal if goal > 0 else 0.0
        w = problem.weight[mem]
        row["distance_km"] = (
            float(dist[mem] @ w / w.sum())
            if w.sum() > 0
            else float(dist[mem].mean() if mem.any() else 0.0)
        )
        row["max_km"] = float(dist[mem].max()) if mem.any() else 0.0
        if problem.centers is None:
            row["centre"] = str(problem.ids[centres[s]]) if centres[s] >= 0 else None
        else:
            row["home_lat"], row["home_lon"] = float(clat[s]), float(clon[s])
            row["home_km"] = row["distance_km"]
        if pieces is not None:
            n_p = len(np.unique(pieces[mem])) if mem.any() else 0
            row["contiguous"] = n_p <= 1
            row["parts"] = n_p
            row["raw_parts"] = len(np.unique(raw_pieces[mem])) if mem.any() else 0
        row["moved_in"] = int((moved & mem).sum())
        rows.append(row)
    table = pd.DataFrame(rows).set_index("territory").sort_index()
    tol = pd.Series(problem.tolerance, index=list(problem.measures), name="tolerance")
    obj = float(units["distance_km"].to_numpy() @ problem.weight / problem.total_weight)
    if problem.current is not None and problem.move_penalty > 0:
        obj += problem.move_penalty * moved.sum() / max(has_cur.sum(), 1)
    lb = None if bound is None or bound.infeasible else bound.value / problem.total_weight
    if bound is not None and bound.method == BoundMethod.NONE:
        lb = None
    method = BoundMethod.NONE.value if bound is None else BoundMethod(bound.method).value
    relevant = relevant_constraints(problem)
    covers = () if lb is None else tuple(c for c in relevant if c in bound.covers)
    ignores = () if lb is None else tuple(c for c in relevant if c not in bound.covers)
    assignment = pd.Series(terr, index=ids, name="territory")
    return TerritoryPlan(
        assignment=assignment,
        territories=table,
        units=units,
        measures=problem.measures,
        tolerance=tol,
        objective_km=obj,
        lower_bound_km=lb,
        bound_method=method,
        bound_detail="not computed" if bound is None else bound.detail,
        bound_covers=covers,
        bound_ignores=ignores,
        proven_optimal=bool(lb is not None and bound.proven),
        violations=tuple(violations),
        notes=tuple(notes),
        current_given=problem.current is not None,
        max_moved=problem.max_moved,
        contiguity_required=problem.graph is not None,
        seconds=seconds,
        info=dict(info),
    )
