"""Interactive scenario explorer: notebook 03 (``interactive=True``) and ``apps/explorer.ipynb``.

Analysts tweak a territory plan before it goes to leadership: the number of territories, the
measures to balance and their tolerance bands, the disruption budget, locks, rep home bases as
fixed centres and the quota method. The module has three layers, so that the logic is tested
without a browser and the widgets only present results:

Pure functions
    :class:`Scenario` (the settings, JSON round-trip), :func:`design_scenario` (one call of
    :class:`~workbench.territory.TerritoryDesigner`), :func:`evaluate_assignment` (a given
    assignment scored as a plan: every block locked), :func:`scenario_quotas`,
    :func:`scenario_metrics`, :func:`compare_scenarios`, scenario files
    (:func:`save_scenario`, :func:`load_scenario`) and the map / panel builders
    (:func:`blocks_geojson`, :func:`balance_html`, :func:`territory_kpis` ...).
State
    :class:`ScenarioExplorer` holds the data, the settings, the locks and the plan on screen;
    :meth:`~ScenarioExplorer.solve` re-plans within ``live_seconds`` (a *preview*: the designer
    improves today's alignment, no lower bound), :meth:`~ScenarioExplorer.refine` runs the full
    multi-start search with the lower bound (the optimality gap) and keeps the better plan.
Widgets
    :class:`ExplorerApp` lays out ipywidgets controls, an ipyleaflet map (tile-less by default:
    it works offline) and HTML panels; its callbacks call the state's methods and redraw. The
    refinement runs in a background thread and is abandoned when a newer solve starts.

Saved scenarios are JSON files ``<processed>/scenarios/<name>.json`` (settings, the assignment
block → territory, headline metrics), written atomically by :func:`workbench.io.write_json`.
Reloading one scores the saved assignment again, so it comes back as the identical plan.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import json
import math
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__ as _version
from . import territory_design as td
from .config import ParameterError, Params, Quarter, processed_dir
from .io import read_manifest, write_json
from .territory import TerritoryDesigner, TerritoryPlan
from .territory.designer import MAX_ROUNDS

__all__ = [
    "MEASURES",
    "ExplorerApp",
    "ExplorerData",
    "ExplorerParams",
    "Scenario",
    "ScenarioExplorer",
    "SearchCancelled",
    "app",
    "assign_colours",
    "balance_html",
    "blocks_geojson",
    "compare_scenarios",
    "design_scenario",
    "evaluate_assignment",
    "list_scenarios",
    "load_explorer_data",
    "load_scenario",
    "map_view",
    "plan_quality",
    "save_scenario",
    "scenario_metrics",
    "scenario_quotas",
    "show",
    "territory_kpis",
    "toggle_lock",
]

MEASURES = td.MEASURES
"""Block measures the explorer can balance (:func:`~workbench.territory_design.building_blocks`)."""

MEASURE_LABELS = {
    "potential_usd": "Potential",
    "workload_hours": "Workload",
    "accounts": "Accounts",
    "revenue_usd": "Revenue",
}
BASEMAPS = ("none", "openstreetmap")
SCENARIO_FORMAT = 1

# Distinct colours, strongest first; no greys (the county outlines are grey).
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
    "#6b6ecf",
)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SearchCancelled(Exception):
    """Raised inside a background refinement when a newer solve has superseded it."""


# ---------------------------------------------------------------------------------------------
# Data


@dataclasses.dataclass(frozen=True)
class ExplorerData:
    """Everything the explorer plans on, loaded once.

    Attributes
    ----------
    blocks : pandas.DataFrame
        One row per building block: ``unit_id``, ``lat``, ``lon``, the :data:`MEASURES` and
        ``territory`` (today's alignment), as :func:`workbench.territory_design.building_blocks`
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

    @property
    def default_k(self) -> int:
        """As many territories as active reps (else as today's territories, at least 2)."""
        cur = self.current
        today = 0 if cur is None else cur["territory"].nunique()
        return max(self.n_active_reps or today, 2)

    @property
    def fingerprint(self) -> str:
        """Short hash of the block ids: a saved scenario only fits the same blocks."""
        ids = "\n".join(sorted(self.blocks["unit_id"].astype(str)))
        return hashlib.sha256(ids.encode()).hexdigest()[:16]


def load_explorer_data(
    processed: str | Path, *, quarter: str | Quarter = "", block: str = "postal_code"
) -> ExplorerData:
    """Processed data and notebooks 01-02's outputs, grouped into blocks.

    Parameters
    ----------
    processed : str or Path
        The ``data/processed`` folder.
    quarter : str or Quarter, optional
        Planning quarter ``YYYYQn``; empty: the data's default quarter (ingest manifest).
    block : str
        ``postal_code`` (ZIP points, Delaunay adjacency) or ``unit_id`` (county polygons).

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
    inputs = td.load_design_inputs(processed, quarter=q)
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
    centers = None
    if scenario.rep_home_centers:
        centers = td.rep_centers(data.reps, scenario.k)
        if centers is None:
            problems.append(
                f"rep home bases as centres need one territory per active rep: "
                f"k = {data.n_active_reps}, got k = {scenario.k}"
            )
    if problems:
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
        k=scenario.k,
        balance=scenario.balance,
        tolerance=dict(scenario.tolerance),
        max_moved=None if scenario.max_moved >= 1 else scenario.max_moved,
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
        centers=centers,
    )


def evaluate_assignment(
    data: ExplorerData, scenario: Scenario, assignment: Mapping[str, str] | pd.Series
) -> TerritoryPlan:
    """Score a given assignment (block id → territory) as a plan, unchanged.

    Every block is locked to its territory, so the designer only measures it: balance,
    compactness (centres re-optimised), contiguity and moves against today. This is how a saved
    scenario and today's alignment are shown. There is no lower bound (gap ``None``).

    Raises
    ------
    ValueError
        When the assignment does not cover exactly the data's blocks.
    """
    a = pd.Series(assignment, dtype=object).astype(str)
    a.index = a.index.astype(str)
    ids = set(data.blocks["unit_id"].astype(str))
    missing, extra = ids - set(a.index), set(a.index) - ids
    if missing or extra:
        raise ValueError(
            f"the assignment does not fit these blocks: {len(missing)} block(s) without a "
            f"territory (e.g. {sorted(missing)[:3]}), {len(extra)} unknown block(s) "
            f"(e.g. {sorted(extra)[:3]}); was it saved for other data or another block type?"
        )
    fixed = scenario.replace(k=a.nunique(), locks=a.to_dict(), max_moved=1.0)
    return design_scenario(data, fixed, time_limit=10.0, effort=0.25, n_starts=0)


def with_bound(plan: TerritoryPlan, lower_bound_km: float | None, method: str) -> TerritoryPlan:
    """The plan with a lower bound from another run of the same problem (for its gap)."""
    if lower_bound_km is None:
        return plan
    return dataclasses.replace(plan, lower_bound_km=float(lower_bound_km), bound_method=method)


def plan_quality(plan: TerritoryPlan) -> tuple[float, float, float]:
    """Sort key, smaller is better: moves over the budget, balance excess, distance.

    The same lexicographic order as the designer: the disruption budget first, then the
    total deviation beyond the bands (shares), then the objective (km).
    """
    over = 0.0 if plan.max_moved is None else max(plan.n_moved - plan.max_moved, 0)
    excess = float((plan.max_deviation - plan.tolerance).clip(lower=0).sum())
    return (float(over), round(excess, 9), float(plan.objective_km))


def scenario_quotas(
    data: ExplorerData, plan: TerritoryPlan, scenario: Scenario
) -> pd.DataFrame | None:
    """Next year's quotas per territory of ``plan`` (history weight and growth of ``scenario``).

    Uses :func:`workbench.territory_design.quota_plan`; ``None`` when the data hold no trailing
    revenue (history shares are then undefined).
    """
    params = td.DesignParams(
        quarter=str(data.quarter),
        history_weight=scenario.history_weight,
        target_growth=scenario.target_growth,
    )
    try:
        return td.quota_plan(data.accounts, plan, data.facts, params, block=data.block)
    except ValueError:
        return None


def scenario_metrics(
    plan: TerritoryPlan, quotas: pd.DataFrame | None = None, blocks: pd.DataFrame | None = None
) -> dict[str, object]:
    """Headline numbers of a plan for panels, saved files and comparisons.

    Keys: ``k``, ``blocks``, ``max_dev_<m>`` and ``tolerance_<m>`` (shares) per balanced
    measure, ``median_km``, ``lower_bound_km``, ``gap``, ``bound_method``, ``n_moved``,
    ``share_moved``, ``budget_blocks``, ``accounts_moved`` (with ``blocks``), ``contiguous``,
    ``violations``, ``quota_cv``, ``attainment_min``, ``attainment_max``.
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
    spread = (quotas.attrs.get("spread") if quotas is not None else None) or {}
    out["quota_cv"] = spread.get("cv")
    out["attainment_min"] = spread.get("min")
    out["attainment_max"] = spread.get("max")
    return out


# ---------------------------------------------------------------------------------------------
# Scenario files


def scenario_path(folder: str | Path, name: str) -> Path:
    """``<folder>/<name>.json`` for a valid scenario name.

    >>> scenario_path("/tmp/s", "tight-balance").name
    'tight-balance.json'
    """
    if not _NAME_RE.match(name or "") or name.lower().endswith(".json"):
        raise ValueError(
            f"scenario name {name!r}: use 1-64 letters, digits, '-', '_' or '.', starting with a "
            "letter or digit (e.g. 'tight-balance')"
        )
    return Path(folder) / f"{name}.json"


def scenario_record(
    name: str,
    scenario: Scenario,
    plan: TerritoryPlan,
    quotas: pd.DataFrame | None,
    data: ExplorerData,
    *,
    search: str = "",
) -> dict:
    """What a saved scenario holds: settings, assignment, headline metrics and provenance."""
    return {
        "format": SCENARIO_FORMAT,
        "name": name,
        "saved_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "workbench_version": _version,
        "quarter": str(data.quarter),
        "block": data.block,
        "blocks_fingerprint": data.fingerprint,
        "search": search,
        "scenario": scenario.to_dict(),
        "metrics": scenario_metrics(plan, quotas, data.blocks),
        "assignment": {str(u): str(t) for u, t in plan.assignment.items()},
    }


def save_scenario(folder: str | Path, name: str, record: Mapping) -> Path:
    """Write a scenario record to ``<folder>/<name>.json`` atomically (replacing one of the
    same name)."""
    path = scenario_path(folder, name)
    write_json(path, dict(record))
    return path


def load_scenario(folder: str | Path, name: str) -> dict:
    """Read a saved scenario record (see :func:`scenario_record`)."""
    path = scenario_path(folder, name)
    if not path.is_file():
        known = ", ".join(list_scenarios(folder)) or "none"
        raise FileNotFoundError(f"no saved scenario {name!r} in {folder} (saved: {known})")
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("format") != SCENARIO_FORMAT or "assignment" not in record:
        raise ValueError(f"{path} is not a scenario file of format {SCENARIO_FORMAT}")
    return record


def list_scenarios(folder: str | Path | None) -> list[str]:
    """Names of the saved scenarios in ``folder``, sorted (empty when there is none)."""
    if folder is None or not Path(folder).is_dir():
        return []
    return sorted(p.stem for p in Path(folder).glob("*.json") if _NAME_RE.match(p.stem))


def compare_scenarios(records: Mapping[str, Mapping]) -> pd.DataFrame:
    """Scenarios side by side: one column per scenario, one row per headline metric.

    Parameters
    ----------
    records : mapping
        Column name → record with ``metrics`` and ``scenario`` (as :func:`scenario_record`
        writes them).

    Returns
    -------
    DataFrame
        Rows: territories, worst deviation and band per measure (%), compactness (km),
        optimality gap (%), blocks and accounts moved, share moved (%), contiguity,
        constraints not met, quota spread (cv %), expected attainment range, history
        weight, locks, search.

    Examples
    --------
    >>> rec = {"metrics": {"k": 2, "max_dev_accounts": 0.04, "tolerance_accounts": 0.05,
    ...                    "median_km": 12.5, "gap": 0.1, "n_moved": 3, "share_moved": 0.5,
    ...                    "contiguous": True, "violations": 0, "quota_cv": 0.2},
    ...        "scenario": {"history_weight": 0.5, "locks": {"a": "T01"}}}
    >>> table = compare_scenarios({"base": rec})
    >>> table.loc[["worst Accounts deviation (%)", "locks"], "base"].tolist()
    [4.0, 1]
    """
    measures: list[str] = []
    for rec in records.values():
        for key in rec.get("metrics", {}):
            m = key.removeprefix("max_dev_")
            if key.startswith("max_dev_") and m not in measures:
                measures.append(m)

    def pct(v):
        return None if v is None else round(100 * float(v), 1)

    rows: dict[str, dict[str, object]] = {}
    for name, rec in records.items():
        met, sc = rec.get("metrics", {}), rec.get("scenario", {})
        col: dict[str, object] = {"territories": met.get("k")}
        for m in measures:
            label = MEASURE_LABELS.get(m, m)
            col[f"worst {label} deviation (%)"] = pct(met.get(f"max_dev_{m}"))
            col[f"{label} band (±%)"] = pct(met.get(f"tolerance_{m}"))
        lo, hi = met.get("attainment_min"), met.get("attainment_max")
        col |= {
            "compactness: mean km to centre": (
                None if met.get("median_km") is None else round(float(met["median_km"]), 1)
            ),
            "optimality gap (%)": pct(met.get("gap")),
            "blocks moved": met.get("n_moved"),
            "share of blocks moved (%)": pct(met.get("share_moved")),
            "accounts moved": met.get("accounts_moved"),
            "contiguous": met.get("contiguous"),
            "constraints not met": met.get("violations"),
            "quota spread (cv %)": pct(met.get("quota_cv")),
            "expected attainment range": (
                None if lo is None or hi is None else f"{lo:.2f}–{hi:.2f}"
            ),
            "history weight": sc.get("history_weight"),
            "locks": len(sc.get("locks", {}) or {}),
            "search": rec.get("search") or None,
        }
        rows[name] = col
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Presentation helpers (pure: frames in, JSON-ready dicts or HTML strings out)


def assign_colours(
    names: Iterable[str], existing: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Territory → colour, keeping the colours already given so a territory keeps its colour
    from one plan to the next; new names take the first unused palette colour.

    >>> c = assign_colours(["R2", "R1"])
    >>> c
    {'R1': '#1f77b4', 'R2': '#ff7f0e'}
    >>> assign_colours(["T01"], c)["T01"]
    '#2ca02c'
    """
    out = dict(existing or {})
    for name in sorted({str(n) for n in names} - set(out)):
        used = set(out.values())
        free = [c for c in PALETTE if c not in used]
        out[name] = free[0] if free else PALETTE[len(out) % len(PALETTE)]
    return out


def _radius(potential: np.ndarray) -> np.ndarray:
    top = float(np.nanmax(potential)) if len(potential) else 0.0
    share = np.sqrt(np.clip(potential, 0, None) / top) if top > 0 else np.zeros(len(potential))
    return np.round(3.0 + 8.0 * share, 1)


def blocks_geojson(
    blocks: pd.DataFrame,
    assignment: pd.Series,
    colours: Mapping[str, str],
    *,
    locks: Collection[str] = (),
    highlight_moved: bool = False,
) -> dict:
    """Blocks as a GeoJSON FeatureCollection of points styled by territory (for ipyleaflet).

    Each feature's ``properties`` hold ``unit_id``, ``territory``, ``current``, ``moved``,
    ``locked`` and a Leaflet ``style`` (fill = territory colour, radius by potential, a dark ring
    when locked); the metrics stay on the Python side (the hover panel looks them up), which
    keeps each redraw's message small. With ``highlight_moved`` unmoved blocks fade.

    >>> b = pd.DataFrame({"unit_id": ["1", "2"], "lat": [0.0, 1.0], "lon": [0.0, 1.0],
    ...     "potential_usd": [4.0, 1.0], "workload_hours": [1.0, 1.0], "accounts": [2.0, 1.0],
    ...     "revenue_usd": [0.0, 0.0], "territory": ["R1", "R1"]})
    >>> fc = blocks_geojson(b, pd.Series({"1": "R1", "2": "R2"}), {"R1": "#111", "R2": "#222"},
    ...                     locks={"2": "R2"})
    >>> [(f["properties"]["moved"], f["properties"]["locked"], f["properties"]["style"]["radius"])
    ...  for f in fc["features"]]
    [(False, False, 11.0), (True, True, 7.0)]
    """
    ids = blocks["unit_id"].astype(str)
    terr = ids.map(pd.Series(assignment).rename(index=str)).fillna("(none)")
    current = blocks["territory"].astype(object).where(blocks["territory"].notna(), None)
    radius = _radius(blocks["potential_usd"].to_numpy(float))
    features = []
    for i, (uid, t, cur, lat, lon) in enumerate(
        zip(ids, terr, current, blocks["lat"], blocks["lon"], strict=True)
    ):
        locked = uid in locks
        moved = cur is not None and str(cur) != t
        faded = highlight_moved and not moved
        style = {
            "radius": float(radius[i]),
            "fillColor": colours.get(t, "#888888"),
            "fillOpacity": 0.25 if faded else 0.9,
            "color": "#111111" if locked else "#ffffff",
            "weight": 2.5 if locked else 0.8,
            "opacity": 0.3 if faded and not locked else 1.0,
        }
        props = {
            "unit_id": uid,
            "territory": t,
            "current": None if cur is None else str(cur),
            "moved": bool(moved),
            "locked": locked,
            "style": style,
        }
        features.append(
            {
                "type": "Feature",
                "id": uid,
                "properties": props,
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(lon), 5), round(float(lat), 5)],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def reps_geojson(reps: pd.DataFrame, colours: Mapping[str, str]) -> dict:
    """Active reps' home bases as GeoJSON points: black dots ringed in their territory's colour."""
    act = td.active_reps(reps).dropna(subset=["home_lat", "home_lon"])
    features = []
    for r in act.itertuples(index=False):
        rid = str(r.rep_id)
        style = {
            "radius": 6.0,
            "fillColor": "#111111",
            "fillOpacity": 1.0,
            "color": colours.get(rid, "#ffffff"),
            "weight": 3.0,
            "opacity": 1.0,
        }
        features.append(
            {
                "type": "Feature",
                "id": f"rep-{rid}",
                "properties": {
                    "rep_id": rid,
                    "rep_name": str(getattr(r, "rep_name", rid)),
                    "style": style,
                },
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(r.home_lon), 5), round(float(r.home_lat), 5)],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def counties_geojson(polygons, *, simplify_deg: float = 0.003) -> dict:
    """Unit outlines as plain GeoJSON (simplified: they are context, not data)."""
    g = (
        polygons[["unit_id", "unit_name", "geometry"]]
        if "unit_name" in polygons
        else polygons[["unit_id", "geometry"]]
    )
    g = g.assign(geometry=g.geometry.simplify(simplify_deg, preserve_topology=True))
    return json.loads(g.to_json(drop_id=True))


def map_view(
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    *,
    width_px: int = 720,
    height_px: int = 540,
    padding: float = 0.04,
) -> tuple[tuple[float, float], float]:
    """Centre and zoom (quarter steps) of a Web-Mercator map showing every point.

    At zoom z the world is ``256 * 2**z`` pixels wide; the zoom is the largest that fits the
    points' longitude span across ``width_px`` and their Mercator latitude span down
    ``height_px``, less ``padding`` on each side.

    Georgia (30.36-35.0 N, 85.6-80.84 W): the Mercator latitude span is 0.0963 of 2 pi, so
    the height allows log2(540 * 0.92 / (256 * 0.01533)) = 6.98, the width 7.61: zoom 6.75.

    >>> centre, zoom = map_view([30.36, 35.0], [-85.6, -80.84])
    >>> [round(c, 2) for c in centre], zoom
    ([32.71, -83.22], 6.75)
    """
    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)

    def merc(phi):
        return np.log(np.tan(np.pi / 4 + np.radians(phi) / 2))

    s, n, w, e = lat.min(), lat.max(), lon.min(), lon.max()
    fx = max((e - w) / 360.0, 1e-9)
    fy = max((merc(n) - merc(s)) / (2 * np.pi), 1e-9)
    use = 1 - 2 * padding
    zoom = min(math.log2(width_px * use / (256 * fx)), math.log2(height_px * use / (256 * fy)))
    zoom = float(np.clip(math.floor(zoom * 4) / 4, 1, 18))
    ymid = (merc(n) + merc(s)) / 2
    clat = float(np.degrees(2 * np.arctan(np.exp(ymid)) - np.pi / 2))
    return (clat, float((w + e) / 2)), zoom


def _usd(x) -> str:
    if x is None or pd.isna(x):
        return "–"
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"${x / size:,.1f}{unit}"
    return f"${x:,.0f}"


def _pct(x, digits: int = 1, sign: bool = False) -> str:
    if x is None or pd.isna(x):
        return "–"
    return f"{100 * x:+.{digits}f}%" if sign else f"{100 * x:.{digits}f}%"


def _swatch(colour: str) -> str:
    return f'<span class="wbx-sw" style="background:{colour}"></span>'


def territory_reps(territories: Iterable[str], reps: pd.DataFrame) -> dict[str, str]:
    """Territory → rep name: territories named after an active rep keep that rep; others are
    ``vacant`` (to be hired or reassigned)."""
    act = td.active_reps(reps)
    names = dict(
        zip(act["rep_id"].astype(str), act.get("rep_name", act["rep_id"]).astype(str), strict=True)
    )
    return {t: names.get(str(t), "vacant") for t in territories}


def territory_kpis(
    blocks: pd.DataFrame,
    plan: TerritoryPlan,
    quotas: pd.DataFrame | None = None,
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per territory: rep, blocks, every measure's total, compactness, moves, quota.

    Columns: ``rep``, ``blocks``, the :data:`MEASURES` present in ``blocks`` (sums),
    ``mean_km`` (potential-weighted mean distance to the centre), ``max_km``, ``moved_in``
    (blocks gained from another territory), and ``quota_usd``, ``expected_attainment`` when
    ``quotas`` are given.
    """
    terr = blocks["unit_id"].astype(str).map(plan.assignment)
    cols = [m for m in MEASURES if m in blocks]
    sums = blocks[cols].groupby(terr.to_numpy()).sum()
    t = plan.territories
    out = pd.DataFrame(index=t.index.rename("territory"))
    out["rep"] = pd.Series(territory_reps(t.index, reps)) if reps is not None else ""
    out["blocks"] = t["n_units"].astype(int)
    out = out.join(sums)
    out["mean_km"] = t["distance_km"]
    out["max_km"] = t["max_km"]
    out["moved_in"] = t["moved_in"].astype(int)
    if quotas is not None:
        out["quota_usd"] = quotas["quota_usd"].reindex(out.index)
        out["expected_attainment"] = quotas["expected_attainment"].reindex(out.index)
    return out


def balance_html(plan: TerritoryPlan, colours: Mapping[str, str]) -> str:
    """Diverging bars of every territory's deviation from the mean, per balanced measure,
    over the shaded tolerance band (green inside the band, red outside)."""
    dev = plan.deviation_pct / 100.0
    tol = plan.tolerance
    head = "".join(
        f'<th>{html.escape(MEASURE_LABELS.get(m, m))} <span class="wbx-muted">band '
        f"±{_pct(tol[m], 1)}</span></th>"
        for m in plan.measures
    )
    scale = {}
    worst: float | str  # each measure's largest deviation, then the summary line
    for m in plan.measures:
        worst = float(dev[m].abs().max()) if len(dev) else 0.0
        scale[m] = min(max(2 * tol[m], 1.1 * worst), max(0.5, 2 * tol[m]))
    rows = []
    for t in dev.index:
        cells = []
        for m in plan.measures:
            d, tm, s = float(dev.at[t, m]), float(tol[m]), scale[m]
            bad = abs(d) > tm + 1e-9
            w = min(abs(d) / s, 1.0) * 50
            left = 50 if d >= 0 else 50 - w
            clip = '<span class="wbx-clip">›</span>' if abs(d) > s else ""
            cells.append(
                f'<td><div class="wbx-bar"><div class="wbx-band" '
                f'style="left:{50 - 50 * tm / s:.2f}%;width:{100 * tm / s:.2f}%"></div>'
                f'<div class="wbx-zero"></div>'
                f'<div class="wbx-fill {"wbx-bad" if bad else "wbx-ok"}" style="left:{left:.2f}%;'
                f'width:{w:.2f}%"></div>{clip}</div>'
                f'<span class="wbx-val{" wbx-badtext" if bad else ""}">{_pct(d, 1, sign=True)}'
                f"</span></td>"
            )
        rows.append(
            f'<tr class="wbx-row" data-territory="{html.escape(str(t))}"><td class="wbx-t">'
            f"{_swatch(colours.get(t, '#888'))}{html.escape(str(t))}</td>{''.join(cells)}</tr>"
        )
    worst = " · ".join(
        f"{html.escape(MEASURE_LABELS.get(m, m))} worst {_pct(plan.max_deviation[m])}"
        for m in plan.measures
    )
    return (
        f'<div class="wbx-balance" data-k="{plan.k}"><table class="wbx-table wbx-btable">'
        f"<thead><tr><th>Territory</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        f'</table><div class="wbx-muted wbx-foot">Deviation from the territory mean; shaded: '
        f"the tolerance band. {worst}.</div></div>"
    )


def kpis_html(table: pd.DataFrame, colours: Mapping[str, str]) -> str:
    """The :func:`territory_kpis` table as compact HTML (swatches, $ and km formatting)."""
    spec: list[tuple[str, str, Callable[..., str]]] = [
        ("rep", "Rep", str),
        ("blocks", "Blocks", "{:,.0f}".format),
        ("accounts", "Accounts", "{:,.0f}".format),
        ("potential_usd", "Potential", _usd),
        ("workload_hours", "Workload h", "{:,.0f}".format),
        ("revenue_usd", "Revenue", _usd),
        ("mean_km", "Mean km", "{:,.1f}".format),
        ("max_km", "Max km", "{:,.0f}".format),
        ("moved_in", "Moved in", "{:,.0f}".format),
        ("quota_usd", "Quota", _usd),
        ("expected_attainment", "Exp. attainment", lambda v: _pct(v, 0)),
    ]
    spec = [s for s in spec if s[0] in table]
    head = "".join(f"<th>{label}</th>" for _, label, _ in spec)
    rows = []
    for t, row in table.iterrows():
        cells = "".join(
            f"<td>{html.escape(fmt(row[c])) if not (c != 'rep' and pd.isna(row[c])) else '–'}</td>"
            for c, _, fmt in spec
        )
        rows.append(
            f'<tr class="wbx-row"><td class="wbx-t">{_swatch(colours.get(t, "#888"))}'
            f"{html.escape(str(t))}</td>{cells}</tr>"
        )
    return (
        f'<div class="wbx-kpis"><table class="wbx-table wbx-ktable"><thead><tr><th>Territory'
        f"</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def headline_html(metrics: Mapping[str, Any], *, kind: str, budget_share: float) -> str:
    """KPI cards: balance per measure, compactness, disruption, optimality gap, quotas."""
    cards = []

    def card(label, value, sub="", ok=None, cls=""):
        state = "" if ok is None else (" wbx-good" if ok else " wbx-warn")
        cards.append(
            f'<div class="wbx-card{state} {cls}"><div class="wbx-cl">{label}</div>'
            f'<div class="wbx-cv">{value}</div><div class="wbx-cs">{sub}</div></div>'
        )

    for key in [k for k in metrics if k.startswith("max_dev_")]:
        m = key.removeprefix("max_dev_")
        v, t = metrics[key], metrics[f"tolerance_{m}"]
        card(
            f"{MEASURE_LABELS.get(m, m)} balance",
            f"±{_pct(v)}",
            f"worst territory · band ±{_pct(t)}",
            ok=v <= t + 1e-9,
        )
    card("Compactness", f"{metrics['median_km']:.1f} km", "weighted mean distance to centre")
    n, share = metrics["n_moved"], metrics["share_moved"]
    budget = "no limit" if budget_share >= 1 else f"budget {_pct(budget_share, 0)}"
    acc = metrics.get("accounts_moved")
    card(
        "Disruption",
        f"{n:,} blocks",
        f"{_pct(share, 0)} moved ({budget})" + (f" · {acc:,} accounts" if acc is not None else ""),
        ok=None if budget_share >= 1 else share <= budget_share + 1e-9,
        cls="wbx-disruption",
    )
    gap = metrics.get("gap")
    if gap is not None:
        method = html.escape(str(metrics.get("bound_method", "")))
        weak = "weak bound" if "weaker" in method or "without" in method else "certified"
        card(
            "Optimality gap",
            f"≤ {_pct(gap)}",
            f'<span title="{method}">{weak}: at most this far from the best plan</span>',
            cls="wbx-gap",
        )
    else:
        why = {
            "preview": "preview: no bound yet",
            "loaded": "no bound saved",
            "today": "today's alignment",
        }.get(kind, "no bound (plan misses a band)")
        if kind == "refined" and metrics.get("lower_bound_km") is None:
            why = "bound not available"
        card("Optimality gap", "n/a", why, cls="wbx-gap")
    cv = metrics.get("quota_cv")
    if cv is not None:
        card(
            "Quota spread",
            f"cv {_pct(cv)}",
            f"expected attainment {metrics['attainment_min']:.2f}–{metrics['attainment_max']:.2f}",
        )
    v = metrics["violations"]
    contiguous = metrics.get("contiguous")
    card(
        "Constraints",
        "all met" if v == 0 else f"{v} not met",
        "contiguous" if contiguous else ("not contiguous" if contiguous is False else ""),
        ok=v == 0,
    )
    return f'<div class="wbx-cards">{"".join(cards)}</div>'


def notes_html(plan: TerritoryPlan) -> str:
    """The constraints a plan does not meet and the planner's notes, as a list."""
    if not plan.violations and not plan.notes:
        return '<div class="wbx-notes">Every constraint is met.</div>'
    items = [
        f"<li><b>{html.escape(v.constraint)}</b> [{html.escape(v.subject)}]: "
        f"{html.escape(v.reason)}</li>"
        for v in plan.violations
    ]
    items += [f"<li><b>note</b>: {html.escape(n)}</li>" for n in plan.notes]
    return f'<div class="wbx-notes"><ul>{"".join(items)}</ul></div>'


def block_html(props: Mapping[str, object], *, county: str = "") -> str:
    """The hover / click panel of one block (a compact two-column grid)."""
    pairs = [
        ("Territory", html.escape(str(props.get("territory")))),
        ("Today", html.escape(str(props.get("current") or "–"))),
        ("Potential", _usd(props.get("potential_usd"))),
        ("Workload", f"{props.get('workload_hours', 0):,.0f} h/yr"),
        ("Accounts", f"{props.get('accounts', 0):,.0f}"),
        ("Revenue 4q", _usd(props.get("revenue_usd"))),
    ]
    flags = []
    if props.get("moved"):
        flags.append("moves territory")
    if props.get("locked"):
        flags.append("locked")
    cells = "".join(f"<span>{k}</span><b>{v}</b>" for k, v in pairs)
    where = f" · {html.escape(county)}" if county else ""
    return (
        f'<div class="wbx-block"><div class="wbx-bh">Block '
        f"{html.escape(str(props.get('unit_id')))}{where}</div>"
        f'<div class="wbx-grid">{cells}</div><div class="wbx-muted">'
        f"{' · '.join(flags) or 'stays in its territory'} · click to lock / unlock</div></div>"
    )


def compare_html(frame: pd.DataFrame) -> str:
    """:func:`compare_scenarios` as an HTML table."""

    def fmt(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "–"
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, float):
            return f"{v:,.1f}" if abs(v) >= 10 or v != round(v, 1) else f"{v:g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        f"<tr><th>{html.escape(str(i))}</th>" + "".join(f"<td>{fmt(v)}</td>" for v in r) + "</tr>"
        for i, r in zip(frame.index, frame.itertuples(index=False), strict=True)
    )
    return (
        f'<div class="wbx-compare"><table class="wbx-table wbx-ctable"><thead><tr><th></th>'
        f"{head}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


# ---------------------------------------------------------------------------------------------
# State


class ScenarioExplorer:
    """The explorer's state: data, settings, locks and the plan on screen (no widgets).

    Parameters
    ----------
    data : ExplorerData
    scenario : Scenario, optional
        Starting settings (default: k = active reps, potential and workload within ±5 %, 30 %
        of blocks may move).
    scenarios_dir : str or Path, optional
        Folder of saved scenarios (``<processed>/scenarios``); ``None`` disables saving.
    live_seconds : float
        Safety stop of :meth:`solve` (the preview shown at once; a small work budget).
    refine_seconds : float
        Safety stop of :meth:`refine` (full multi-start search with the lower bound).
    refine_effort : float
        Work budget of :meth:`refine` (1 = the designer's default).
    plan : TerritoryPlan, optional
        A plan to show first (e.g. notebook 03's proposal); default: today's alignment.

    Attributes
    ----------
    scenario : Scenario
        The settings as the controls hold them (locks included).
    plan : TerritoryPlan
        The plan on screen; ``plan_scenario`` the settings that produced it and ``plan_kind``
        ``"today"``, ``"given"``, ``"preview"``, ``"refined"`` or ``"loaded"``.
    quotas : DataFrame or None
        Quotas of the plan on screen (:func:`scenario_quotas`).
    generation : int
        Increases with every solve or load; a refinement of an older generation is dropped.

    Examples
    --------
    >>> ex = ScenarioExplorer(data)  # doctest: +SKIP
    >>> ex.update(k=10, tolerance=0.08)  # doctest: +SKIP
    >>> ex.toggle_lock("30303"); plan = ex.solve()  # doctest: +SKIP
    >>> ex.save("ten-territories"); ex.compare(["ten-territories"])  # doctest: +SKIP
    """

    # set by _install
    plan: TerritoryPlan
    plan_kind: str
    plan_scenario: Scenario

    def __init__(
        self,
        data: ExplorerData,
        scenario: Scenario | None = None,
        *,
        scenarios_dir: str | Path | None = None,
        live_seconds: float = 0.5,
        refine_seconds: float = 60.0,
        refine_effort: float = 1.0,
        plan: TerritoryPlan | None = None,
    ):
        self.data = data
        self.scenario = scenario or Scenario(k=data.default_k)
        problems = self.scenario.problems(n_blocks=len(data.blocks))
        if problems:
            raise ParameterError("; ".join(problems))
        self.scenarios_dir = None if scenarios_dir is None else Path(scenarios_dir)
        self.live_seconds = float(live_seconds)
        self.refine_seconds = float(refine_seconds)
        self.refine_effort = float(refine_effort)
        self.generation = 0
        self._lock = threading.RLock()
        cur = data.current
        self.colours = assign_colours([] if cur is None else cur["territory"].astype(str))
        self._today: dict[tuple, TerritoryPlan] = {}
        if plan is None:
            plan, kind = self.today(), "today"
        else:
            kind = "given"
        self._install(plan, kind, self.scenario)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_processed(
        cls,
        processed: str | Path,
        *,
        quarter: str | Quarter = "",
        block: str = "postal_code",
        scenario: Scenario | None = None,
        **options,
    ) -> ScenarioExplorer:
        """Load the data from ``processed`` (scenarios saved in ``processed/scenarios``)."""
        data = load_explorer_data(processed, quarter=quarter, block=block)
        options.setdefault("scenarios_dir", Path(processed) / "scenarios")
        return cls(data, scenario, **options)

    @classmethod
    def from_design(
        cls,
        params,
        inputs,
        blocks: pd.DataFrame,
        adjacency: pd.DataFrame,
        *,
        plan: TerritoryPlan | None = None,
        **options,
    ) -> ScenarioExplorer:
        """From notebook 03's ``params`` (:class:`~workbench.territory_design.DesignParams`),
        ``inputs``, ``blocks`` and ``adjacency``, starting from its proposed ``plan``."""
        data = ExplorerData(
            blocks=blocks,
            adjacency=adjacency,
            accounts=inputs.accounts,
            reps=inputs.reps,
            facts=inputs.facts,
            quarter=params.period,
            block=params.building_block,
            polygons=inputs.polygons,
        )
        k = params.k or data.default_k
        scenario = Scenario(
            k=k,
            balance=tuple(params.balance),
            tolerance=params.tolerance,
            max_moved=params.max_moved,
            rep_home_centers=params.rep_home_centers,
            history_weight=params.history_weight,
            target_growth=params.target_growth,
            seed=params.seed,
        )
        options.setdefault("scenarios_dir", params.processed / "scenarios")
        options.setdefault("refine_seconds", params.time_limit)
        options.setdefault("refine_effort", params.effort)
        return cls(data, scenario, plan=plan, **options)

    # -- settings -------------------------------------------------------------------------
    def update(self, **changes) -> Scenario:
        """Change settings (validated); quota settings re-quote the plan on screen at once.

        Raises
        ------
        workbench.config.ParameterError
            Listing every problem with the new settings; nothing changes then.
        """
        new = self.scenario.replace(**changes)
        problems = new.problems(n_blocks=len(self.data.blocks))
        if problems:
            raise ParameterError("; ".join(problems))
        with self._lock:
            old, self.scenario = self.scenario, new
            if (old.history_weight, old.target_growth) != (new.history_weight, new.target_growth):
                self.plan_scenario = self.plan_scenario.replace(
                    history_weight=new.history_weight, target_growth=new.target_growth
                )
                self.quotas = scenario_quotas(self.data, self.plan, self.plan_scenario)
        return new

    def toggle_lock(self, unit_id: str) -> str | None:
        """Lock a block to its territory on screen, or unlock it; returns the territory it is
        now locked to (None: unlocked). Locks apply at the next :meth:`solve`."""
        uid = str(unit_id)
        if uid not in self.plan.assignment.index:
            raise KeyError(f"unknown block {uid!r}")
        with self._lock:
            locks = toggle_lock(self.scenario.locks, uid, self.plan.assignment[uid])
            self.scenario = self.scenario.replace(locks=locks)
        return locks.get(uid)

    def clear_locks(self) -> None:
        """Remove every lock."""
        with self._lock:
            self.scenario = self.scenario.replace(locks={})

    # -- planning -------------------------------------------------------------------------
    def today(self, scenario: Scenario | None = None) -> TerritoryPlan:
        """Today's alignment scored with the balance measures of ``scenario`` (cached)."""
        sc = scenario or self.scenario
        assert isinstance(sc.tolerance, Mapping)  # a dict since __post_init__
        key = (sc.balance, tuple(sc.tolerance.values()))
        if key not in self._today:
            cur = self.data.current
            if cur is None:
                raise ValueError("no block has a current owner: there is no alignment today")
            base = sc.replace(rep_home_centers=False, locks={})
            self._today[key] = evaluate_assignment(
                self.data, base, cur.set_index("unit_id")["territory"].astype(str)
            )
        return self._today[key]

    def _install(self, plan: TerritoryPlan, kind: str, scenario: Scenario) -> None:
        with self._lock:
            self.plan, self.plan_kind, self.plan_scenario = plan, kind, scenario
            self.colours = assign_colours(plan.assignment.unique(), self.colours)
            self.quotas = scenario_quotas(self.data, plan, scenario)

    def solve(self) -> TerritoryPlan:
        """Re-plan with the current settings within ``live_seconds`` (the preview).

        The designer improves today's alignment (no fresh starts, no lower bound) so the map
        answers at once; :meth:`refine` then searches properly.
        """
        with self._lock:
            self.generation += 1
            gen, scenario = self.generation, self.scenario
        plan = design_scenario(
            self.data, scenario, time_limit=self.live_seconds, effort=0.25, n_starts=0
        )
        with self._lock:
            if gen == self.generation:
                self._install(plan, "preview", scenario)
        return plan

    def refine(self, generation: int | None = None) -> TerritoryPlan | None:
        """Full search (multi-start, lower bound) for the settings of the plan on screen.

        Keeps the better of the refined plan and the preview (:func:`plan_quality`), with the
        lower bound attached either way, and returns it; returns ``None`` without changing
        anything when a newer solve or load started meanwhile (the search is then abandoned
        at its next progress report).
        """
        with self._lock:
            gen = self.generation if generation is None else generation
            if gen != self.generation:
                return None
            scenario, preview = self.plan_scenario, self.plan

        def progress(_msg: str) -> None:
            if self.generation != gen:
                raise SearchCancelled

        try:
            plan = design_scenario(
                self.data,
                scenario,
                time_limit=self.refine_seconds,
                effort=self.refine_effort,
                compute_bound=True,
                progress=progress,
            )
        except SearchCancelled:
            return None
        with self._lock:
            if gen != self.generation:
                return None
            if plan_quality(preview) < plan_quality(plan):
                plan = with_bound(preview, plan.lower_bound_km, plan.bound_method)
            self._install(plan, "refined", scenario)
            return plan

    def metrics(self) -> dict[str, object]:
        """:func:`scenario_metrics` of the plan on screen."""
        return scenario_metrics(self.plan, self.quotas, self.data.blocks)

    # -- scenarios ------------------------------------------------------------------------
    def _folder(self) -> Path:
        if self.scenarios_dir is None:
            raise ValueError("this explorer has no scenarios folder: saving is off")
        return self.scenarios_dir

    def record(self, name: str = "(on screen)") -> dict:
        """The plan on screen as a scenario record (see :func:`scenario_record`)."""
        with self._lock:
            return scenario_record(
                name, self.plan_scenario, self.plan, self.quotas, self.data, search=self.plan_kind
            )

    def save(self, name: str) -> Path:
        """Save the plan on screen (its settings, assignment and metrics) under ``name``."""
        path = scenario_path(self._folder(), name)
        return save_scenario(path.parent, name, self.record(name))

    def saved(self) -> list[str]:
        """Names of the saved scenarios."""
        return list_scenarios(self.scenarios_dir)

    def load(self, name: str) -> TerritoryPlan:
        """Show a saved scenario: its settings and exactly its saved assignment.

        Raises
        ------
        ValueError
            When the scenario was saved for other blocks (another data set or block type).
        """
        record = load_scenario(self._folder(), name)
        if record.get("blocks_fingerprint") != self.data.fingerprint:
            raise ValueError(
                f"scenario {name!r} was saved for other blocks ({record.get('block')}, "
                f"{record.get('quarter')}): its assignment does not fit this data"
            )
        scenario = Scenario.from_dict(record["scenario"])
        plan = evaluate_assignment(self.data, scenario, record["assignment"])
        met = record.get("metrics", {})
        plan = with_bound(
            plan, met.get("lower_bound_km"), f"{met.get('bound_method', '')} (as saved)"
        )
        with self._lock:
            self.generation += 1
            self.scenario = scenario
            self._install(plan, "loaded", scenario)
        return plan

    def compare(
        self, names: Sequence[str] = (), *, on_screen: bool = True, today: bool = True
    ) -> pd.DataFrame:
        """Saved scenarios side by side (:func:`compare_scenarios`), with the plan on screen
        and today's alignment as reference columns."""
        records: dict[str, Mapping] = {}
        if today and self.data.current is not None:
            now = self.today(self.plan_scenario)
            records["today"] = scenario_record(
                "today",
                self.plan_scenario.replace(locks={}),
                now,
                scenario_quotas(self.data, now, self.plan_scenario),
                self.data,
                search="today",
            )
        if on_screen:
            records["on screen"] = self.record()
        for name in names:
            records[name] = load_scenario(self._folder(), name)
        return compare_scenarios(records)


# ---------------------------------------------------------------------------------------------
# Widgets


_CSS = """
<style>
.wbx-app { font-family: var(--jp-ui-font-family, system-ui, sans-serif); color: #1f2933;
  max-width: 1500px; }
.wbx-header { display:flex; align-items:baseline; gap:14px; margin: 2px 0 8px 0; }
.wbx-title { font-size: 17px; font-weight: 600; }
.wbx-context { color:#616e7c; font-size: 12.5px; }
.wbx-side { background:#f7f9fb; border:1px solid #e4e7eb; border-radius:6px; padding:8px 10px;
  box-sizing: border-box; }
.wbx-h { font-size: 11.5px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em;
  color:#52606d; margin: 8px 0 2px 0; border-bottom: 1px solid #e4e7eb; padding-bottom: 2px; }
.wbx-hint { font-size: 11.5px; color:#7b8794; line-height: 1.3; margin: 0 0 2px 0; }
.wbx-status { font-size: 12.5px; padding: 5px 8px; border-radius: 4px; background:#eef2f7;
  min-height: 18px; }
.wbx-status.err { background:#fdecea; color:#8a1c1c; }
.wbx-status .wbx-spin { color:#3b6ea8; font-weight:600; }
.wbx-map .leaflet-container { background:#f3f5f7; }
.wbx-mapbox { border:1px solid #e4e7eb; border-radius:6px; overflow:hidden; }
.wbx-legend { font-size: 11.5px; color:#52606d; padding: 3px 2px; }
.wbx-legend .dot { display:inline-block; width:9px; height:9px; border-radius:50%;
  vertical-align: -1px; margin: 0 3px 0 8px; }
.wbx-cards { display:grid; grid-template-columns: 1fr 1fr; gap:6px; }
.wbx-card { border:1px solid #e4e7eb; border-left: 4px solid #9aa5b1; border-radius:5px;
  padding: 5px 7px; background:#fff; }
.wbx-card.wbx-good { border-left-color:#3f9142; } .wbx-card.wbx-warn { border-left-color:#d64545; }
.wbx-cl { font-size: 10.5px; color:#616e7c; text-transform: uppercase; letter-spacing:.03em; }
.wbx-cv { font-size: 16px; font-weight: 600; line-height: 1.25; }
.wbx-cs { font-size: 10.5px; color:#7b8794; line-height: 1.2; }
.wbx-block { font-size: 12px; border:1px solid #e4e7eb; border-radius:5px; padding:6px 8px;
  background:#fff; }
.wbx-block .wbx-bh { font-weight:600; margin-bottom:3px; }
.wbx-grid { display:grid; grid-template-columns: auto 1fr auto 1fr; column-gap: 8px;
  row-gap: 1px; margin-bottom: 3px; }
.wbx-grid span { color:#616e7c; } .wbx-grid b { font-weight: 600; }
.wbx-muted { color:#7b8794; font-size: 11.5px; }
.wbx-table { border-collapse: collapse; font-size: 12px; }
.wbx-table th { text-align:left; font-weight:600; color:#3e4c59; padding: 3px 8px;
  border-bottom: 1px solid #cbd2d9; background:#f7f9fb; white-space: nowrap; }
.wbx-table td { padding: 2px 8px; border-bottom: 1px solid #f0f2f5; white-space: nowrap; }
.wbx-ktable td { text-align: right; } .wbx-ktable td:nth-child(2) { text-align: left; }
.wbx-ctable td { text-align: right; }
.wbx-ctable tbody th { font-weight: normal; background: none; }
.wbx-t { font-weight: 600; text-align:left !important; }
.wbx-sw { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px;
  vertical-align: -1px; }
.wbx-bar { position:relative; display:inline-block; width:170px; height:12px; background:#f5f7fa;
  vertical-align: middle; border-radius: 2px; }
.wbx-band { position:absolute; top:0; bottom:0; background:#d9efdc; }
.wbx-zero { position:absolute; left:50%; top:-1px; bottom:-1px; width:1px; background:#52606d; }
.wbx-fill { position:absolute; top:2px; bottom:2px; border-radius: 1px; }
.wbx-ok { background:#3f9142; } .wbx-bad { background:#d64545; }
.wbx-clip { position:absolute; right:-9px; top:-3px; color:#d64545; font-weight:700; }
.wbx-val { display:inline-block; width:58px; text-align:right; font-variant-numeric: tabular-nums; }
.wbx-badtext { color:#b42318; font-weight:600; }
.wbx-foot { margin-top: 4px; }
.wbx-notes ul { margin: 2px 0; padding-left: 18px; font-size: 12px; }
.wbx-tabs { margin-top: 4px; }
</style>
"""


class ExplorerApp:
    """The explorer's widgets: controls, map, live panels (``.widget`` is the root to display).

    Parameters
    ----------
    explorer : ScenarioExplorer
    basemap : {"none", "openstreetmap"}
        ``"none"`` draws a tile-less map that makes no network request (works offline).
    refine : bool
        Start the background refinement after every solve (needs ``refine_seconds > 0``).
    """

    def __init__(self, explorer: ScenarioExplorer, *, basemap: str = "none", refine: bool = True):
        import ipyleaflet as L
        import ipywidgets as W

        if basemap not in BASEMAPS:
            raise ParameterError(f"basemap must be one of {', '.join(BASEMAPS)}, got {basemap!r}")
        self.explorer = explorer
        self._ui_lock = threading.RLock()
        self._syncing = False
        self._refine_thread: threading.Thread | None = None
        self.timings: list[dict[str, float]] = []
        ex, sc, data = explorer, explorer.scenario, explorer.data
        n_blocks = len(data.blocks)
        self._hover_county = ""

        # -- controls -------------------------------------------------------------------
        wide = W.Layout(width="100%")
        dstyle = {"description_width": "112px"}
        kmax = int(min(max(40, 2 * sc.k), n_blocks))
        self.k = W.IntSlider(
            value=sc.k,
            min=2,
            max=kmax,
            description="Territories",
            style=dstyle,
            layout=wide,
            continuous_update=False,
        )
        self.k.add_class("wbx-k")
        self.measure_on: dict[str, W.Checkbox] = {}
        self.measure_tol: dict[str, W.FloatSlider] = {}
        rows = []
        assert isinstance(sc.tolerance, Mapping)  # a dict since __post_init__
        for m in MEASURES:
            on = W.Checkbox(
                value=m in sc.balance,
                description=MEASURE_LABELS[m],
                indent=False,
                layout=W.Layout(width="96px"),
            )
            tol = W.FloatSlider(
                value=100 * sc.tolerance.get(m, 0.05),
                min=1,
                max=30,
                step=0.5,
                readout_format=".1f",
                description="±%",
                disabled=m not in sc.balance,
                style={"description_width": "26px"},
                continuous_update=False,
                layout=W.Layout(width="calc(100% - 100px)"),
            )
            on.add_class(f"wbx-on-{m}")
            tol.add_class(f"wbx-tol-{m}")
            on.observe(lambda ch, t=tol: setattr(t, "disabled", not ch["new"]), "value")
            self.measure_on[m], self.measure_tol[m] = on, tol
            rows.append(W.HBox([on, tol], layout=W.Layout(width="100%")))
        self.budget = W.FloatSlider(
            value=100 * min(sc.max_moved, 1.0),
            min=0,
            max=100,
            step=5,
            readout_format=".0f",
            description="Move budget %",
            style=dstyle,
            layout=wide,
            continuous_update=False,
        )
        self.budget.add_class("wbx-budget")
        n_reps = data.n_active_reps
        self.centres = W.Checkbox(
            value=sc.rep_home_centers,
            indent=False,
            layout=wide,
            description=f"Rep homes as fixed centres (k = {n_reps})",
            disabled=n_reps < 2,
        )
        self.centres.add_class("wbx-centres")
        self.history = W.FloatSlider(
            value=sc.history_weight,
            min=0,
            max=1,
            step=0.05,
            readout_format=".2f",
            description="History weight",
            style=dstyle,
            layout=wide,
            continuous_update=False,
        )
        self.history.add_class("wbx-history")
        self.refine = W.Checkbox(
            value=refine and ex.refine_seconds > 0,
            indent=False,
            layout=wide,
            description="Refine in background (full search, adds the gap)",
            disabled=ex.refine_seconds <= 0,
        )
        self.solve_button = W.Button(
            description="Solve",
            button_style="primary",
            tooltip="Re-plan with these settings",
            layout=W.Layout(width="48%"),
        )
        self.solve_button.add_class("wbx-solve")
        self.clear_button = W.Button(description="Clear locks", layout=W.Layout(width="48%"))
        self.clear_button.add_class("wbx-clear")
        self.locks_label = W.HTML()
        self.name = W.Text(
            placeholder="scenario name, e.g. tight-balance", layout=W.Layout(width="64%")
        )
        self.name.add_class("wbx-name")
        self.save_button = W.Button(
            description="Save", layout=W.Layout(width="32%"), disabled=ex.scenarios_dir is None
        )
        self.save_button.add_class("wbx-save")
        self.saved = W.SelectMultiple(options=ex.saved(), rows=4, layout=wide)
        self.saved.add_class("wbx-saved")
        self.load_button = W.Button(
            description="Load",
            layout=W.Layout(width="48%"),
            tooltip="Show the first selected scenario",
        )
        self.load_button.add_class("wbx-load")
        self.compare_button = W.Button(
            description="Compare",
            layout=W.Layout(width="48%"),
            tooltip="Selected scenarios, the plan on screen and today",
        )
        self.compare_button.add_class("wbx-compare-btn")

        def h(text, hint=""):
            parts = [W.HTML(f'<div class="wbx-h">{text}</div>')]
            if hint:
                parts.append(W.HTML(f'<div class="wbx-hint">{hint}</div>'))
            return parts

        side = W.VBox(
            [
                *h("Plan"),
                self.k,
                *h("Balance", "Measures to balance and the allowed deviation from their mean"),
                *rows,
                *h("Constraints", "Share of blocks allowed to change territory (100 = no limit)"),
                self.budget,
                self.centres,
                W.HBox(
                    [self.solve_button, self.clear_button],
                    layout=W.Layout(justify_content="space-between", margin="6px 0 2px 0"),
                ),
                self.locks_label,
                self.refine,
                *h("Quotas", "Quota share: weight of last year's revenue (rest: potential)"),
                self.history,
                *h("Scenarios"),
                W.HBox(
                    [self.name, self.save_button], layout=W.Layout(justify_content="space-between")
                ),
                self.saved,
                W.HBox(
                    [self.load_button, self.compare_button],
                    layout=W.Layout(justify_content="space-between"),
                ),
            ],
            layout=W.Layout(width="310px", min_width="310px"),
        )
        side.add_class("wbx-side")

        # -- map ------------------------------------------------------------------------
        b = data.blocks
        centre, zoom = map_view(b["lat"], b["lon"], width_px=760, height_px=500)
        layers: tuple = ()
        if basemap == "openstreetmap":
            layers = (L.basemap_to_tiles(L.basemaps.OpenStreetMap.Mapnik),)
        # own panes keep the stacking fixed: redrawn blocks must not cover the rep homes
        self.map = L.Map(
            center=centre,
            zoom=zoom,
            layers=layers,
            zoom_snap=0.25,
            zoom_delta=0.5,
            scroll_wheel_zoom=True,
            attribution_control=basemap != "none",
            panes={"wbxBlocks": {"zIndex": 420}, "wbxReps": {"zIndex": 640}},
            layout=W.Layout(height="500px", width="100%"),
        )
        self.map.add_class("wbx-map")
        if data.polygons is not None:
            self.counties = L.GeoJSON(
                data=counties_geojson(data.polygons),
                name="counties",
                style={
                    "color": "#9aa5b1",
                    "weight": 0.7,
                    "fillColor": "#ffffff",
                    "fillOpacity": 0.85,
                },
            )
            self.counties.on_hover(self._on_county_hover)
            self.map.add(self.counties)
        self.blocks_layer = L.GeoJSON(
            data={"type": "FeatureCollection", "features": []},
            name="blocks",
            point_style={"radius": 5, "className": "wbx-pt", "pane": "wbxBlocks"},
            hover_style={"color": "#111111", "weight": 3, "fillOpacity": 1.0},
        )
        self.blocks_layer.on_hover(self._on_block_hover)
        self.blocks_layer.on_click(self._on_block_click)
        self.map.add(self.blocks_layer)
        self.reps_layer = L.GeoJSON(
            data=reps_geojson(data.reps, ex.colours),
            name="rep homes",
            point_style={"radius": 6, "className": "wbx-rep", "pane": "wbxReps"},
        )
        self.reps_layer.on_hover(self._on_rep_hover)
        self.map.add(self.reps_layer)
        self.map.add(L.ScaleControl(position="bottomleft", imperial=False))
        self.highlight = W.ToggleButtons(
            options=[("Territories", False), ("Moved blocks", True)],
            value=False,
            style={"button_width": "116px"},
            layout=W.Layout(width="auto", flex="0 0 auto"),
        )
        legend = W.HTML(
            '<div class="wbx-legend">Colour: territory · size: potential'
            '<span class="dot" style="background:#fff;border:2.5px solid #111"></span>locked'
            '<span class="dot" style="background:#111;border:2px solid #1f77b4"></span>rep home'
            "</div>"
        )
        mapbox = W.VBox([self.map], layout=W.Layout(width="100%"))
        mapbox.add_class("wbx-mapbox")

        # -- panels ---------------------------------------------------------------------
        self.status = W.HTML()
        self.status.add_class("wbx-status-box")
        self.cards = W.HTML()
        self.block_panel = W.HTML(block_placeholder())
        right = W.VBox(
            [self.cards, W.HTML('<div class="wbx-h">Block</div>'), self.block_panel],
            layout=W.Layout(flex="0 0 300px", width="300px"),
        )
        # wide tables scroll sideways inside their tab instead of being cut off
        scroll = {"overflow": "auto", "width": "100%"}
        self.balance_panel = W.HTML(layout=W.Layout(**scroll))
        self.kpi_panel = W.HTML(layout=W.Layout(**scroll))
        self.compare_panel = W.HTML(
            '<div class="wbx-muted">Select saved scenarios and press '
            "Compare (today's alignment and the plan on screen are "
            "always shown).</div>"
        )
        self.notes_panel = W.HTML(layout=W.Layout(**scroll))
        self.tabs = W.Tab(
            children=[self.balance_panel, self.kpi_panel, self.compare_panel, self.notes_panel]
        )
        for i, title in enumerate(("Balance", "Territories", "Compare", "Constraints & notes")):
            self.tabs.set_title(i, title)
        self.tabs.add_class("wbx-tabs")
        # the map and the KPI cards share a row that wraps (cards under the map) when the
        # page is narrow, e.g. in a notebook's output area; the tabs always span both
        map_col = W.VBox(
            [
                mapbox,
                W.HBox(
                    [self.highlight, legend],
                    layout=W.Layout(align_items="center", flex_flow="row wrap"),
                ),
            ],
            layout=W.Layout(flex="1 1 400px", min_width="400px", margin="0 10px 6px 0"),
        )
        main = W.VBox(
            [
                W.HBox(
                    [map_col, right],
                    layout=W.Layout(flex_flow="row wrap", align_items="flex-start", width="100%"),
                ),
                self.tabs,
            ],
            layout=W.Layout(flex="1 1 auto", min_width="0", margin="0 0 0 10px"),
        )
        q = data.quarter
        n_today = 0 if data.current is None else data.current["territory"].nunique()
        acc = int(b["accounts"].sum()) if "accounts" in b else len(data.accounts)
        header = W.HTML(
            f'{_CSS}<div class="wbx-header"><span class="wbx-context">{q} · '
            f"{n_blocks:,} {block_word(data.block)} · "
            f"{acc:,} accounts · {n_reps} active reps · {n_today} territories today</span></div>"
        )
        self.widget = W.VBox(
            [
                header,
                self.status,
                W.HBox(
                    [side, main],
                    layout=W.Layout(align_items="flex-start", margin="8px 0 0 0"),
                ),
            ]
        )
        self.widget.add_class("wbx-app")

        # -- callbacks ------------------------------------------------------------------
        self.solve_button.on_click(self._guard(self._on_solve))
        self.clear_button.on_click(self._guard(self._on_clear))
        self.save_button.on_click(self._guard(self._on_save))
        self.load_button.on_click(self._guard(self._on_load))
        self.compare_button.on_click(self._guard(self._on_compare))
        self.history.observe(self._guard(self._on_history), "value")
        self.highlight.observe(self._guard(lambda _ch: self._draw_map()), "value")
        self.centres.observe(self._guard(self._on_centres), "value")
        for w in (self.k, self.budget, *self.measure_on.values(), *self.measure_tol.values()):
            w.observe(self._guard(self._on_setting), "value")
        self.refresh()
        self._set_status(self._plan_message(), state=ex.plan_kind)

    # -- drawing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the map and every panel from the explorer's plan."""
        with self._ui_lock:
            ex = self.explorer
            self._draw_map()
            self.reps_layer.data = reps_geojson(ex.data.reps, ex.colours)
            self._draw_panels()

    def _draw_map(self) -> None:
        ex = self.explorer
        self.blocks_layer.data = blocks_geojson(
            ex.data.blocks,
            ex.plan.assignment,
            ex.colours,
            locks=ex.scenario.locks,
            highlight_moved=bool(self.highlight.value),
        )
        n = len(ex.scenario.locks)
        self.locks_label.value = (
            f'<div class="wbx-hint">{n} block{"s" if n != 1 else ""} locked'
            f"{' (apply on Solve)' if ex.scenario.locks != ex.plan_scenario.locks else ''}"
            " · click a block on the map to lock it to its territory</div>"
        )

    def _draw_panels(self) -> None:
        ex = self.explorer
        self.cards.value = headline_html(
            ex.metrics(), kind=ex.plan_kind, budget_share=ex.plan_scenario.max_moved
        )
        self.balance_panel.value = balance_html(ex.plan, ex.colours)
        table = territory_kpis(ex.data.blocks, ex.plan, ex.quotas, ex.data.reps)
        self.kpi_panel.value = kpis_html(table, ex.colours)
        self.notes_panel.value = notes_html(ex.plan)

    def _set_status(self, text: str, *, state: str = "", error: bool = False) -> None:
        ex = self.explorer
        cls = "wbx-status err" if error else "wbx-status"
        self.status.value = (
            f'<div class="{cls}" data-state="{state}" data-k="{ex.plan.k}" '
            f'data-generation="{ex.generation}">{text}</div>'
        )

    def _plan_message(self) -> str:
        ex = self.explorer
        what = {
            "today": "Today's alignment",
            "given": "Notebook 03's proposed plan",
            "preview": "Preview",
            "refined": "Refined plan",
            "loaded": "Saved scenario",
        }
        return (
            f"{what.get(ex.plan_kind, 'Plan')}: {ex.plan.k} territories. Change the settings "
            "and press <b>Solve</b> to re-plan."
        )

    # -- callbacks --------------------------------------------------------------------------
    def _guard(self, fn: Callable) -> Callable:
        """Show a callback's error in the status line (widget errors are invisible otherwise)."""

        def run(*args):
            try:
                fn(*args)
            except Exception as exc:
                self._set_status(
                    html.escape(f"{type(exc).__name__}: {exc}"), state="error", error=True
                )

        return run

    def controls_scenario(self) -> dict[str, object]:
        """The settings the controls hold, as :meth:`ScenarioExplorer.update` keywords."""
        balance = tuple(m for m in MEASURES if self.measure_on[m].value)
        return {
            "k": int(self.k.value),
            "balance": balance,
            "tolerance": {m: round(self.measure_tol[m].value / 100, 4) for m in balance},
            "max_moved": round(self.budget.value / 100, 4),
            "rep_home_centers": bool(self.centres.value),
            "history_weight": round(float(self.history.value), 4),
        }

    def _on_setting(self, _change=None) -> None:
        if not self._syncing:
            self._set_status("Settings changed: press <b>Solve</b> to re-plan.", state="changed")

    def _on_centres(self, change) -> None:
        if self._syncing:
            return
        if change["new"]:
            self.k.value = self.explorer.data.n_active_reps
        self.k.disabled = bool(change["new"])
        self._on_setting()

    def _on_history(self, change) -> None:
        if self._syncing:
            return
        with self._ui_lock:
            self.explorer.update(history_weight=round(float(change["new"]), 4))
            self._draw_panels()
        self._set_status(
            f"Quotas re-allocated with history weight {change['new']:.2f}.", state="requoted"
        )

    def solve(self) -> dict[str, float]:
        """What the Solve button does; returns the seconds of the solve and of the redraw."""
        ex = self.explorer
        ex.update(**self.controls_scenario())
        self.solve_button.disabled = True
        self._set_status('<span class="wbx-spin">Solving…</span>', state="solving")
        try:
            t0 = time.perf_counter()
            ex.solve()
            t1 = time.perf_counter()
            self.refresh()
            t2 = time.perf_counter()
        finally:
            self.solve_button.disabled = False
        timing = {"solve_s": t1 - t0, "refresh_s": t2 - t1, "total_s": t2 - t0}
        self.timings.append(timing)
        refining = self.refine.value and ex.refine_seconds > 0
        self._set_status(
            f"Preview: {ex.plan.k} territories in {timing['total_s']:.2f} s "
            f"(search {timing['solve_s']:.2f} s + redraw {timing['refresh_s']:.2f} s)"
            + (
                f' · <span class="wbx-spin">refining for up to {ex.refine_seconds:g} s…</span>'
                if refining
                else ""
            ),
            state="preview",
        )
        if refining:
            self._start_refine(ex.generation)
        return timing

    def _on_solve(self, _button=None) -> None:
        self.solve()

    def _start_refine(self, generation: int) -> None:
        def work():
            t0 = time.perf_counter()
            try:
                plan = self.explorer.refine(generation)
            except Exception as exc:
                if generation == self.explorer.generation:
                    self._set_status(
                        html.escape(f"Refinement failed: {exc}"), state="error", error=True
                    )
                return
            with self._ui_lock:
                if plan is None or generation != self.explorer.generation:
                    return
                self.refresh()
                gap = plan.gap
                self._set_status(
                    f"Refined plan: {plan.k} territories after {time.perf_counter() - t0:.1f} s"
                    + (f" · optimality gap ≤ {_pct(gap)}" if gap is not None else "")
                    + (
                        f" · {len(plan.violations)} constraint(s) not met"
                        if plan.violations
                        else " · every constraint met"
                    ),
                    state="refined",
                )

        self._refine_thread = threading.Thread(target=work, name="explorer-refine", daemon=True)
        self._refine_thread.start()

    def wait_refined(self, timeout: float | None = None) -> None:
        """Block until the background refinement (if any) ends (tests and benchmarks)."""
        if self._refine_thread is not None:
            self._refine_thread.join(timeout)

    def _on_clear(self, _button=None) -> None:
        self.explorer.clear_locks()
        self._draw_map()
        self._set_status("Locks cleared: press <b>Solve</b> to re-plan.", state="changed")

    def _on_block_click(self, event=None, feature=None, **_kw) -> None:
        uid = str((feature or {}).get("properties", {}).get("unit_id", ""))
        if not uid:
            return
        territory = self.explorer.toggle_lock(uid)
        with self._ui_lock:
            self._draw_map()
            props = self._block_props(uid)
            self.block_panel.value = block_html(props, county=self._hover_county)
        self._set_status(
            f"Block {html.escape(uid)} "
            + (f"locked to {html.escape(territory)}" if territory else "unlocked")
            + ": press <b>Solve</b> to re-plan with the locks.",
            state="locked",
        )

    def _block_props(self, uid: str) -> dict:
        ex = self.explorer
        row = ex.data.blocks.set_index(ex.data.blocks["unit_id"].astype(str)).loc[uid]
        terr = str(ex.plan.assignment.get(uid, "(none)"))
        cur = row["territory"]
        return {
            "unit_id": uid,
            "territory": terr,
            "current": None if pd.isna(cur) else str(cur),
            "moved": not pd.isna(cur) and str(cur) != terr,
            "locked": uid in ex.scenario.locks,
            **{m: float(row[m]) for m in MEASURES if m in row},
        }

    def _on_block_hover(self, event=None, feature=None, **_kw) -> None:
        uid = str((feature or {}).get("properties", {}).get("unit_id", ""))
        if uid:
            self.block_panel.value = block_html(self._block_props(uid), county=self._hover_county)

    def _on_county_hover(self, event=None, feature=None, **_kw) -> None:
        props = (feature or {}).get("properties", {})
        self._hover_county = str(props.get("unit_name") or props.get("unit_id") or "")

    def _on_rep_hover(self, event=None, feature=None, **_kw) -> None:
        props = (feature or {}).get("properties", {})
        rid = props.get("rep_id", "")
        terr = rid if rid in self.explorer.plan.territories.index else "none (vacant or moved)"
        self.block_panel.value = (
            f'<div class="wbx-block"><div class="wbx-bh">Rep home: '
            f"{html.escape(str(props.get('rep_name', rid)))}"
            f"</div><div>Rep {html.escape(str(rid))} · territory {html.escape(terr)}</div></div>"
        )

    def _on_save(self, _button=None) -> None:
        name = self.name.value.strip()
        existed = name in self.explorer.saved()
        path = self.explorer.save(name)
        self.saved.options = self.explorer.saved()
        self._set_status(
            f"Scenario <b>{html.escape(name)}</b> {'replaced' if existed else 'saved'}"
            f" ({html.escape(str(path))}).",
            state="saved",
        )

    def _on_load(self, _button=None) -> None:
        if not self.saved.value:
            raise ValueError("select a saved scenario to load")
        name = self.saved.value[0]
        with self._ui_lock:
            self.explorer.load(name)
            self._sync_controls()
            self.refresh()
        self._set_status(
            f"Loaded scenario <b>{html.escape(name)}</b>: its saved plan, "
            f"{self.explorer.plan.k} territories.",
            state="loaded",
        )

    def _sync_controls(self) -> None:
        sc = self.explorer.scenario
        assert isinstance(sc.tolerance, Mapping)  # a dict since __post_init__
        self._syncing = True
        try:
            self.k.max = max(self.k.max, sc.k)
            self.k.value = sc.k
            self.k.disabled = sc.rep_home_centers
            for m in MEASURES:
                self.measure_on[m].value = m in sc.balance
                if m in sc.tolerance:
                    self.measure_tol[m].value = 100 * sc.tolerance[m]
            self.budget.value = 100 * sc.max_moved
            self.centres.value = sc.rep_home_centers
            self.history.value = sc.history_weight
        finally:
            self._syncing = False

    def _on_compare(self, _button=None) -> None:
        frame = self.explorer.compare(list(self.saved.value))
        self.compare_panel.value = compare_html(frame)
        self.tabs.selected_index = 2
        self._set_status(f"Comparing {len(frame.columns)} plans.", state="compared")


def block_word(block: str) -> str:
    return "ZIP blocks" if block == "postal_code" else "unit blocks"


def block_placeholder() -> str:
    return (
        '<div class="wbx-block wbx-muted">Hover a block on the map to see its metrics; '
        "click it to lock it to its territory.</div>"
    )


# ---------------------------------------------------------------------------------------------
# Entry points


@dataclasses.dataclass(frozen=True)
class ExplorerParams(Params):
    """Parameters of ``apps/explorer.ipynb`` (the standalone Voila app)."""

    quarter: str = ""
    data_dir: str = "data"
    building_block: str = "postal_code"
    k: int = 0
    balance: list[str] = dataclasses.field(
        default_factory=lambda: ["potential_usd", "workload_hours"]
    )
    tolerance: float = 0.05
    max_moved: float = 0.5
    history_weight: float = 0.5
    target_growth: float = 0.08
    seed: int = 0
    live_seconds: float = 0.5
    refine_seconds: float = 8.0
    basemap: str = "none"

    def check(self) -> list[str]:
        problems = []
        if self.quarter:
            try:
                Quarter.parse(self.quarter)
            except ValueError as exc:
                problems.append(str(exc))
        if self.building_block not in td.BLOCKS:
            problems.append(f"building_block must be one of {', '.join(td.BLOCKS)}")
        if self.k < 0:
            problems.append("k must be ≥ 0 (0 = as many territories as active reps)")
        unknown = [m for m in self.balance if m not in MEASURES]
        if unknown or not self.balance:
            problems.append(f"balance must list measures from {', '.join(MEASURES)}")
        if not 0 < self.tolerance < 1:
            problems.append("tolerance must be in (0, 1), e.g. 0.05 for ±5%")
        for name in ("max_moved", "history_weight"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be in [0, 1]")
        if self.live_seconds <= 0 or self.refine_seconds < 0:
            problems.append("live_seconds must be > 0 and refine_seconds ≥ 0 (0: no refinement)")
        if self.basemap not in BASEMAPS:
            problems.append(f"basemap must be one of {', '.join(BASEMAPS)} (none works offline)")
        return problems

    @property
    def processed(self) -> Path:
        return processed_dir(self.data_dir)


def app(params: ExplorerParams):
    """The standalone app (``apps/explorer.ipynb``): load the data, return the widget.

    ``params.quarter`` empty picks the data's default quarter; ``params.k`` 0 means one
    territory per active rep. When the processed data or notebooks 01-02's outputs are missing
    the app shows what to run instead of a traceback (Voila hides tracebacks by default).
    """
    try:
        data = load_explorer_data(
            params.processed, quarter=params.quarter, block=params.building_block
        )
    except FileNotFoundError as exc:
        import ipywidgets as W

        return W.HTML(
            f'{_CSS}<div class="wbx-status err" data-state="no-data"><b>No data to explore '
            f"yet.</b> {html.escape(str(exc))}<br>Run <code>make report</code> (or "
            "<code>workbench ingest</code>, then notebooks 01 and 02), then reload.</div>"
        )
    scenario = Scenario(
        k=params.k or data.default_k,
        balance=tuple(params.balance),
        tolerance=params.tolerance,
        max_moved=params.max_moved,
        history_weight=params.history_weight,
        target_growth=params.target_growth,
        seed=params.seed,
    )
    explorer = ScenarioExplorer(
        data,
        scenario,
        scenarios_dir=params.processed / "scenarios",
        live_seconds=params.live_seconds,
        refine_seconds=params.refine_seconds,
    )
    return ExplorerApp(explorer, basemap=params.basemap).widget


def show(
    params,
    inputs,
    blocks: pd.DataFrame,
    adjacency: pd.DataFrame,
    *,
    plan: TerritoryPlan | None = None,
    basemap: str = "none",
    live_seconds: float = 0.5,
):
    """The explorer inside notebook 03, starting from its proposed plan.

    Parameters
    ----------
    params : workbench.territory_design.DesignParams
        Notebook 03's validated parameters (k, balance, tolerance, budget, quota settings;
        ``effort`` and ``time_limit`` become the background refinement's).
    inputs : workbench.territory_design.DesignInputs
    blocks, adjacency : DataFrame
        Notebook 03's building blocks and their adjacency.
    plan : TerritoryPlan, optional
        The plan shown first (the proposal); default today's alignment.
    basemap : {"none", "openstreetmap"}
    live_seconds : float
        Search time of each Solve.

    Returns
    -------
    ipywidgets.Widget
        Display it (a notebook cell ending with the call shows it).
    """
    explorer = ScenarioExplorer.from_design(
        params, inputs, blocks, adjacency, plan=plan, live_seconds=live_seconds
    )
    return ExplorerApp(explorer, basemap=basemap).widget
