"""The explorer's data, settings and planning: the blocks it plans on
(:func:`load_explorer_data`), one scenario's settings (:class:`Scenario`, locks) and the plans
they give (:func:`design_scenario`, :func:`evaluate_assignment`), with their quotas and headline
metrics."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from .. import territory as td
from ..config import ParameterError, Quarter
from ..io import read_manifest
from ..territory import TerritoryDesigner, TerritoryPlan
from ..territory.adopt import blocks_fingerprint, score_assignment
from ..territory.designer import MAX_ROUNDS
from ..territory.quota import attainment_spread

MEASURES = td.MEASURES
"""Block measures the explorer can balance (:func:`~workbench.territory.blocks.building_blocks`)."""

MEASURE_LABELS = {
    "potential_usd": "Potential",
    "workload_hours": "Workload",
    "accounts": "Accounts",
    "revenue_usd": "Revenue",
}

# ---------------------------------------------------------------------------------------------
# Data


@dataclasses.dataclass(frozen=True)
class ExplorerData:
    """Everything the explorer plans on, loaded once.

    Attributes
    ----------
    blocks : pandas.DataFrame
        One row per building block: ``unit_id``, ``lat``, ``lon``, the :data:`MEASURES` and
        ``territory`` (today's alignment), as :func:`workbench.territory.blocks.building_blocks`
        returns them.
    adjacency : pandas.DataFrame
        ``a, b`` pairs of adjacent block ids (territories must be contiguous).
    accounts : pandas.DataFrame
        Accounts with the block column, ``revenue_usd`` and ``potential_usd`` (for quotas).
    reps : pandas.DataFrame
        ``rep_id``, ``rep_name``, ``home_lat``, ``home_lon`` (and ``active`` when known).
    facts : pandas.DataFrame
        Account × quarter facts with ``quarter`` and ``won_usd`` (quota seasonality).
    quarter : Quarter
        The planning quarter.
    block : str
        The block column of ``accounts``: ``postal_code`` or ``unit_id``.
    polygons : geopandas.GeoDataFrame or None
        Unit (county) outlines drawn under the blocks.
    """

    blocks: pd.DataFrame
    adjacency: pd.DataFrame
    accounts: pd.DataFrame
    reps: pd.DataFrame
    facts: pd.DataFrame
    quarter: Quarter
    block: str = "postal_code"
    polygons: object = None

    @property
    def current(self) -> pd.DataFrame | None:
        """Today's alignment ``unit_id, territory`` (None when no block has an owner)."""
        cur = self.blocks[["unit_id", "territory"]].dropna()
        return cur if len(cur) else None

    @property
    def n_active_reps(self) -> int:
        return len(td.active_reps(self.reps, quarter=self.quarter))

    def resolve_k(self, k: int) -> int:
        """``k`` as set, or as many territories as active reps (:func:`workbench.territory.
        resolve_k`: else as today's territories, at least 2)."""
        return td.resolve_k(k, self.reps, quarter=self.quarter, current=self.current)

    @property
    def fingerprint(self) -> str:
        """Short hash of the block ids: a saved scenario only fits the same blocks."""
        return blocks_fingerprint(self.blocks)


def load_explorer_data(
    processed: str | Path,
    *,
    quarter: str | Quarter = "",
    block: str = "postal_code",
    named: Mapping | None = None,
    inside_sales: float = 0.0,
) -> ExplorerData:
    """Processed data and notebooks 01-02's outputs, grouped into blocks: the accounts and reps
    of the geographic design, as notebook 03 has them (:func:`workbench.territory.
    geographic_team`) - with a ``named`` rule the named accounts and the team's reps are left
    out, with ``inside_sales`` the cold prospects' calls - so a scenario saved here fits the
    report run with the same settings.

    Parameters
    ----------
    processed : str or Path
        The ``data/processed`` folder.
    quarter : str or Quarter, optional
        Planning quarter ``YYYYQn``; empty: the data's default quarter (ingest manifest).
    block : str
        ``postal_code`` (ZIP points, Delaunay adjacency) or ``unit_id`` (county polygons).
    named : mapping, optional
        Notebook 03's named-account rule and team (:func:`workbench.territory.named_accounts`
        keywords: ``min_employees``, ``top_potential``, ``abc_class``, ``team_reps``,
        ``seats``); ``named_accounts.csv`` names accounts too when it was ingested.
    inside_sales : float
        Notebook 03's ``inside_sales`` (hours a year per cold prospect; 0: none).

    Returns
    -------
    ExplorerData
    """
    if block not in td.BLOCKS:
        raise ParameterError(f"block must be one of {', '.join(td.BLOCKS)}, got {block!r}")
    q = (
        Quarter.parse(quarter)
        if str(quarter).strip()
        else Quarter.parse(read_manifest(processed)["default_quarter"])
    )
    inputs = td.load_inputs(processed, quarter=q)
    team = td.named_accounts(inputs, quarter=q, **dict(named or {}))
    inputs = td.geographic_team(inputs, team, inside_sales=inside_sales)
    blocks = td.building_blocks(inputs.accounts, block=block)
    adjacency = td.block_adjacency(blocks, block=block, polygons=inputs.polygons)
    return ExplorerData(
        blocks=blocks,
        adjacency=adjacency,
        accounts=inputs.accounts,
        reps=inputs.reps,
        facts=inputs.facts,
        quarter=q,
        block=block,
        polygons=inputs.polygons,
    )


# ---------------------------------------------------------------------------------------------
# Settings


def _as_tolerance(balance: Sequence[str], tolerance, default: float = 0.05) -> dict[str, float]:
    if isinstance(tolerance, Mapping):
        return {m: float(tolerance.get(m, default)) for m in balance}
    return {m: float(tolerance) for m in balance}


@dataclasses.dataclass(frozen=True)
class Scenario:
    """The settings of one scenario (what :func:`design_scenario` needs besides the data).

    Parameters
    ----------
    k : int
        Number of territories.
    balance : sequence of str
        Measures to balance at once (from :data:`MEASURES`).
    tolerance : float or mapping
        Allowed deviation from each balanced measure's mean (0.05 = ±5 %).
    max_moved : float
        Disruption budget: share of blocks that may change territory; 1 = no limit.
    rep_home_centers : bool
        Centre each territory on an active rep's home base (needs k = active reps).
    history_weight : float
        Quota share weight of history (the rest: potential).
    target_growth : float
        Next year's company target over trailing-year revenue.
    seed : int
        Same seed, same search.
    locks : mapping
        Block id → territory the block must stay in.

    Examples
    --------
    >>> s = Scenario(k=3, balance=["accounts"], tolerance=0.1, locks={"30303": "R1"})
    >>> s.tolerance, s.locks
    ({'accounts': 0.1}, {'30303': 'R1'})
    >>> Scenario.from_dict(s.to_dict()) == s
    True
    """

    k: int
    balance: tuple[str, ...] = ("potential_usd", "workload_hours")
    tolerance: Mapping[str, float] | float = 0.05
    max_moved: float = 0.3
    rep_home_centers: bool = False
    history_weight: float = 0.5
    target_growth: float = 0.08
    seed: int = 0
    locks: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        balance = (self.balance,) if isinstance(self.balance, str) else tuple(self.balance)
        object.__setattr__(self, "balance", balance)
        object.__setattr__(self, "tolerance", _as_tolerance(balance, self.tolerance))
        object.__setattr__(
            self, "locks", {str(u): str(t) for u, t in sorted(dict(self.locks).items())}
        )
        object.__setattr__(self, "k", int(self.k))

    def problems(self, *, n_blocks: int | None = None) -> list[str]:
        """Every problem with these settings, one sentence each (empty: all well)."""
        out = []
        if self.k < 1 or (n_blocks is not None and self.k > n_blocks):
            out.append(f"k must be between 1 and the number of blocks ({n_blocks}), got {self.k}")
        if not self.balance:
            out.append("choose at least one measure to balance")
        unknown = [m for m in self.balance if m not in MEASURES]
        if unknown:
            out.append(f"unknown measure(s) {unknown}; choose from {', '.join(MEASURES)}")
        assert isinstance(self.tolerance, Mapping)  # a dict since __post_init__
        for m, t in self.tolerance.items():
            if not 0 < t < 1:
                out.append(f"tolerance of {m} must be in (0, 1), got {t}")
        for name in ("max_moved", "history_weight"):
            if not 0 <= getattr(self, name) <= 1:
                out.append(f"{name} must be in [0, 1], got {getattr(self, name)}")
        return out

    def replace(self, **changes) -> Scenario:
        """A copy with some settings changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready settings."""
        d = dataclasses.asdict(self)
        d["balance"] = list(self.balance)
        assert isinstance(self.tolerance, Mapping)  # a dict since __post_init__
        d["tolerance"] = dict(self.tolerance)
        d["locks"] = dict(self.locks)
        return d

    @classmethod
    def from_dict(cls, values: Mapping) -> Scenario:
        """Inverse of :meth:`to_dict` (unknown keys are errors)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ParameterError(f"unknown scenario setting(s) {unknown}")
        return cls(**dict(values))


def toggle_lock(locks: Mapping[str, str], unit_id: str, territory: str) -> dict[str, str]:
    """Locks with ``unit_id`` locked to ``territory``, or unlocked when it already was locked.

    >>> toggle_lock({}, "30303", "R1")
    {'30303': 'R1'}
    >>> toggle_lock({"30303": "R1"}, "30303", "R2")
    {}
    """
    out = dict(locks)
    if str(unit_id) in out:
        del out[str(unit_id)]
    else:
        out[str(unit_id)] = str(territory)
    return out


def blocks_within(blocks: pd.DataFrame, geometry: Mapping) -> list[str]:
    """Ids of the blocks whose point (``lon``, ``lat``) lies inside a drawn shape (a GeoJSON
    geometry or feature: the explorer's lasso), in the blocks' order.

    >>> b = pd.DataFrame({"unit_id": ["a", "b", "c"], "lat": [0.5, 0.5, 2.0],
    ...                   "lon": [0.5, 1.5, 0.5]})
    >>> blocks_within(b, {"type": "Polygon",
    ...                   "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]})
    ['a']
    """
    import shapely
    from shapely.geometry import shape

    geometry = geometry.get("geometry", geometry) if geometry.get("type") == "Feature" else geometry
    area = shape(geometry)
    inside = shapely.covers(
        area, shapely.points(blocks["lon"].to_numpy(), blocks["lat"].to_numpy())
    )
    return blocks["unit_id"].astype(str)[inside].tolist()


# ---------------------------------------------------------------------------------------------
# Planning


def design_scenario(
    data: ExplorerData,
    scenario: Scenario,
    *,
    time_limit: float,
    effort: float = 1.0,
    n_starts: int | None = None,
    compute_bound: bool = False,
    progress: Callable[[str], None] | None = None,
) -> TerritoryPlan:
    """One territory design for ``scenario`` (moves counted against today's alignment).

    Parameters
    ----------
    data : ExplorerData
    scenario : Scenario
    time_limit : float
        Safety stop in seconds (the preview's responsiveness; a plan cut short says so).
    effort : float
        Work budget of the search (1 = the designer's default).
    n_starts : int, optional
        Fresh starts besides today's alignment; 0 only improves today's alignment (the fast
        preview), None lets the designer choose by size.
    compute_bound : bool
        Compute the lower bound (the optimality gap) in parallel.
    progress : callable, optional
        Called after every start; raising from it abandons the search.

    Raises
    ------
    workbench.config.ParameterError
        Invalid settings, rep centres with k ≠ active reps, or locks that cannot fit k.
    """
    problems = scenario.problems(n_blocks=len(data.blocks))
    settings = None
    try:
        settings = td.design_settings(
            data.reps,
            k=scenario.k,
            max_moved=scenario.max_moved,
            rep_home_centers=scenario.rep_home_centers,
            quarter=data.quarter,
            current=data.current,
        )
    except ParameterError as exc:
        problems.append(str(exc))
    if problems or settings is None:
        raise ParameterError("; ".join(problems))
    current = data.current
    if n_starts == 0 and current is None:
        n_starts = 1  # nothing to improve: the preview needs one fresh start
    locked = (
        pd.DataFrame({"unit_id": list(scenario.locks), "territory": list(scenario.locks.values())})
        if scenario.locks
        else None
    )
    assert isinstance(scenario.tolerance, Mapping)  # a dict since __post_init__
    designer = TerritoryDesigner(
        k=settings.k,
        balance=scenario.balance,
        tolerance=dict(scenario.tolerance),
        max_moved=settings.max_moved,
        seed=scenario.seed,
        n_starts=n_starts,
        effort=effort,
        time_limit=time_limit,
        compute_bound=compute_bound,
        exact=compute_bound,
        max_rounds=1 if n_starts == 0 else MAX_ROUNDS,
        progress=progress,
    )
    return designer.solve(
        data.blocks.drop(columns="territory"),
        adjacency=data.adjacency,
        current=current,
        locked=locked,
        centers=settings.centers,
    )


def evaluate_assignment(
    data: ExplorerData, scenario: Scenario, assignment: Mapping[str, str] | pd.Series
) -> TerritoryPlan:
    """Score a given assignment (block id → territory) as a plan, unchanged, with the balance
    settings of ``scenario`` (:func:`workbench.territory.adopt.score_assignment`): how a hand
    edit, a saved scenario and today's alignment are shown. There is no lower bound (gap
    ``None``; :func:`with_bound` lends one).

    Raises
    ------
    ValueError
        When the assignment does not cover exactly the data's blocks.
    """
    assert isinstance(scenario.tolerance, Mapping)  # a dict since __post_init__
    return score_assignment(
        data.blocks,
        data.adjacency,
        assignment,
        data.reps,
        balance=scenario.balance,
        tolerance=dict(scenario.tolerance),
        rep_home_centers=scenario.rep_home_centers,
        quarter=data.quarter,
        seed=scenario.seed,
    )


def plan_quality(plan: TerritoryPlan) -> tuple[float, float, float]:
    """Sort key, smaller is better: moves over the budget, balance excess, distance.

    The same lexicographic order as the designer: the disruption budget first, then the
    total deviation beyond the bands (shares), then the objective (km).
    """
    over = 0.0 if plan.max_moved is None else max(plan.n_moved - plan.max_moved, 0)
    excess = float((plan.max_deviation - plan.tolerance).clip(lower=0).sum())
    return (float(over), round(excess, 9), float(plan.objective_km))


def scenario_quotas(
    data: ExplorerData, plan: TerritoryPlan, scenario: Scenario, cache: dict | None = None
) -> pd.DataFrame | None:
    """Next year's quotas per territory of ``plan`` (history weight and growth of ``scenario``),
    each with its chance of being made under the territory's forecast.

    Uses :func:`workbench.territory.workflow.quota_plan` as notebook 03 does (its odds
    included): the table gains ``p_attain``, ``attain_p10``/``attain_p90``,
    ``equal_chance_quota_usd``, and the plan-wide ``equal_chance`` and ``target_chance``.
    ``cache``: the forecast engine's, kept by the explorer, so an edit re-forecasts only the
    territories it changed. ``None`` when the data hold no trailing revenue (history shares
    are then undefined).
    """
    try:
        q = td.quota_plan(
            data.accounts,
            plan,
            data.facts,
            quarter=data.quarter,
            block=data.block,
            target_growth=scenario.target_growth,
            history_weight=scenario.history_weight,
            forecast_cache=cache,
        )
    except ValueError:
        return None
    if q.outlook is None:
        return q.table
    return q.table.assign(target_chance=q.target_chance)


def scenario_metrics(
    plan: TerritoryPlan, quotas: pd.DataFrame | None = None, blocks: pd.DataFrame | None = None
) -> dict[str, object]:
    """Headline numbers of a plan for panels, saved files and comparisons.

    Keys: ``k``, ``blocks``, ``max_dev_<m>`` and ``tolerance_<m>`` (shares) per balanced
    measure, ``median_km``, ``lower_bound_km``, ``gap``, ``bound_method``, ``n_moved``,
    ``share_moved``, ``budget_blocks``, ``accounts_moved`` (with ``blocks``), ``contiguous``,
    ``violations``, ``quota_cv``, ``attainment_min``, ``attainment_max``; with the quotas'
    odds ``chance_min``, ``chance_max`` (of making quota, across territories),
    ``equal_chance`` and ``target_chance``.
    """
    out: dict[str, object] = {"k": plan.k, "blocks": len(plan.units)}
    for m in plan.measures:
        out[f"max_dev_{m}"] = float(plan.max_deviation[m])
        out[f"tolerance_{m}"] = float(plan.tolerance[m])
    out |= {
        "median_km": float(plan.median_km),
        "lower_bound_km": None if plan.lower_bound_km is None else float(plan.lower_bound_km),
        "gap": None if plan.gap is None else float(plan.gap),
        "bound_method": plan.bound_method,
        "n_moved": int(plan.n_moved),
        "share_moved": float(plan.share_moved),
        "budget_blocks": plan.max_moved,
        "contiguous": plan.contiguous,
        "violations": len(plan.violations),
    }
    if blocks is not None and "accounts" in blocks:
        moved = plan.units["moved"].reindex(blocks["unit_id"].astype(str)).fillna(False)
        out["accounts_moved"] = int(blocks["accounts"].to_numpy()[moved.to_numpy(bool)].sum())
    spread = attainment_spread(quotas) if quotas is not None else {}
    out["quota_cv"] = spread.get("cv")
    out["attainment_min"] = spread.get("min")
    out["attainment_max"] = spread.get("max")
    if quotas is not None and "p_attain" in quotas:
        out["chance_min"] = float(quotas["p_attain"].min())
        out["chance_max"] = float(quotas["p_attain"].max())
        out["equal_chance"] = float(quotas["equal_chance"].iloc[0])
        out["target_chance"] = float(quotas["target_chance"].iloc[0])
    return out
