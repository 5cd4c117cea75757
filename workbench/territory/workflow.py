"""Notebook 03's workflow: its parameters, inputs and outputs, and one function per step —
current vs proposed plan, frontier, headcount sizing, quotas, rep matching and the plan account
by account — the glue between the processed data and the territory engine.

Plans
    The *current* plan is the designer run with a zero disruption budget, so it is scored by
    exactly the same metrics (balance, compactness, contiguity) as the proposal. Proposed
    territories keep the name of the current territory they overlap most, so a rep keeps
    their id; new territories (k above today's headcount) are vacant until hired.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import NotebookParams, ParameterError, Quarter
from ..frames import isin
from ..geo import connected_components
from ..io import load, load_geojson, load_stage, save_stage
from ..results import TWO_DECIMALS, Results, Summary
from .adopt import adopt_scenario, scenario_path
from .alignment import account_alignment
from .blocks import BLOCKS, MEASURES, dominant
from .designer import MAX_ROUNDS, TerritoryDesigner
from .disruption import disruption_frontier
from .hierarchy import (
    design_within_regions,
    district_of,
    group_territories,
    regions_from_districts,
    rollup,
)
from .matching import RepMatching, match_reps
from .named import NamedRule, NamedTeam, named_team
from .odds import TARGET_BASES, fairness, odds_columns, outlook_quantile, plan_outlook
from .overlay import (
    OVERLAY_SHARE,
    Credits,
    OverlayTeam,
    design_overlays,
    parse_overlays,
)
from .plan import TerritoryPlan, violations_frame
from .quota import QuotaPlan, allocate_quotas, attainment_spread, quota_year
from .roles import COLD, RoleSizing, role_sizing
from .sizing import Capacity, Sizing
from .team import active_reps, design_settings, resolve_k

#: ``DesignParams.regions``: ``"none"`` designs across regions; ``"fixed"`` keeps every
#: territory within its region (``geo_units.csv``'s ``region`` column; see
#: :func:`~workbench.territory.hierarchy.design_within_regions`).
REGION_MODES = ("none", "fixed")


def named_settings(params) -> dict:
    """The named-account rule and team of notebook 03's parameters (and the explorer app's,
    which repeat them): ``named_employees``, ``named_top_potential``, ``named_abc_class``,
    ``named_reps``, ``named_seats`` as :func:`named_accounts` keywords (0 and "" mean off)."""
    return {
        "min_employees": params.named_employees or None,
        "top_potential": params.named_top_potential,
        "abc_class": params.named_abc_class or None,
        "team_reps": tuple(params.named_reps),
        "seats": params.named_seats,
    }


def named_problems(params) -> list[str]:
    """Every problem with the named-account and inside-sales settings of notebook 03's
    parameters (and the explorer app's, which repeat them)."""
    problems = [
        f"{name} must be ≥ 0 (0: off)"
        for name in ("named_employees", "named_top_potential", "named_seats")
        if getattr(params, name) < 0
    ]
    if params.named_reps and params.named_seats and params.named_seats != len(params.named_reps):
        problems.append(
            "give named_reps (the team, one seat each) or named_seats (seats the engine "
            "places), not both"
        )
    if params.inside_sales < 0:
        problems.append("inside_sales must be ≥ 0 hours a year per cold prospect (0: none)")
    return problems


@dataclasses.dataclass(frozen=True)
class DesignParams(NotebookParams):
    """Parameters of ``notebooks/03_territory_design.ipynb``."""

    k: int = 0
    building_block: str = "postal_code"
    balance: list[str] = dataclasses.field(
        default_factory=lambda: ["potential_usd", "workload_hours"]
    )
    tolerance: float = 0.05
    max_moved: float = 0.5
    rep_home_centers: bool = False
    regions: str = "none"
    districts: int = 0
    region_groups: int = 0
    named_employees: int = 0
    named_top_potential: int = 0
    named_abc_class: str = ""
    named_reps: list[str] = dataclasses.field(default_factory=list)
    named_seats: int = 0
    overlays: dict = dataclasses.field(default_factory=dict)
    overlay_share: float = OVERLAY_SHARE
    inside_sales: float = 0.0
    scenario: str = ""
    seed: int = 0
    effort: float = 1.0
    target_gap: float = 0.01
    time_limit: float = 60.0
    frontier_budgets: list[float] = dataclasses.field(default_factory=lambda: [0.1, 0.2, 0.3, 1.0])
    frontier_effort: float = 0.25
    target_growth: float = 0.08
    history_weight: float = 0.5
    target_basis: str = "growth"
    target_quantile: float = 0.5
    forecast_weight: float = 0.0
    quota_odds: bool = True
    forecast_origins: int = 4
    selling_days: float = 220.0
    hours_per_day: float = 8.0
    selling_share: float = 0.6
    travel_share: float = 0.35
    performance_weight: float = 0.0
    interactive: bool = False

    def check(self) -> list[str]:
        problems = super().check()
        if self.performance_weight < 0:
            problems.append("performance_weight must be ≥ 0 (0: match on continuity only)")
        if self.k < 0:
            problems.append("k must be ≥ 0 (0 = as many territories as active reps)")
        if self.building_block not in BLOCKS:
            problems.append(f"building_block must be one of {', '.join(BLOCKS)}")
        unknown = [m for m in self.balance if m not in MEASURES]
        if unknown or not self.balance:
            problems.append(
                f"balance must list measures from {', '.join(MEASURES)}; got {self.balance}"
            )
        if self.regions not in REGION_MODES:
            problems.append(
                f"regions must be one of {', '.join(REGION_MODES)}; got {self.regions!r}"
            )
        elif self.regions == "fixed" and self.rep_home_centers:
            problems.append(
                "regions='fixed' cannot be combined with rep_home_centers (the regions pick the "
                "number of territories each holds, not the reps' homes)"
            )
        if self.scenario:
            try:
                scenario_path(self.processed, self.scenario)
            except ValueError as exc:
                problems.append(str(exc))
        problems += named_problems(self)
        if not 0 < self.overlay_share <= 1:
            problems.append("overlay_share must be in (0, 1] (a specialist's share of the calls)")
        if self.districts < 0:
            problems.append("districts must be ≥ 0 (0: no districts)")
        if self.region_groups < 0 or (self.region_groups and not self.districts):
            problems.append("region_groups must be ≥ 0 and needs districts (regions of districts)")
        elif self.region_groups and self.regions == "fixed":
            problems.append(
                "region_groups builds regions from the districts; regions='fixed' keeps "
                "geo_units.csv's: choose one"
            )
        if not 0 < self.tolerance < 1:
            problems.append("tolerance must be in (0, 1), e.g. 0.05 for ±5%")
        for name in ("max_moved", "history_weight", "selling_share", "forecast_weight"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be in [0, 1]")
        if self.target_basis not in TARGET_BASES:
            problems.append(
                f"target_basis must be one of {', '.join(TARGET_BASES)}; got {self.target_basis!r}"
            )
        elif not self.quota_odds and (self.target_basis != "growth" or self.forecast_weight):
            problems.append("target_basis other than growth and forecast_weight need quota_odds")
        if not 0 < self.target_quantile < 1:
            problems.append("target_quantile must be in (0, 1), e.g. 0.5 (P50) or 0.4 (P40)")
        if self.forecast_origins < 1:
            problems.append("forecast_origins must be ≥ 1 (backtest origins per territory)")
        if any(not 0 <= b <= 1 for b in self.frontier_budgets):
            problems.append("frontier_budgets must be shares in [0, 1]")
        if self.effort <= 0 or self.frontier_effort <= 0:
            problems.append("effort and frontier_effort must be > 0 (1 = the default search)")
        if self.time_limit <= 0:
            problems.append("time_limit (the safety stop) must be > 0 seconds")
        if self.target_gap < 0:
            problems.append("target_gap must be ≥ 0 (0.01 = stop once certified within 1%)")
        return problems

    @property
    def capacity(self) -> Capacity:
        return Capacity(
            selling_days=self.selling_days,
            hours_per_day=self.hours_per_day,
            selling_share=self.selling_share,
            travel_share=self.travel_share,
        )

    def design_options(self) -> dict:
        """The keyword options of :func:`design_plans`, :func:`propose_plan` and
        :func:`headcount_check` these parameters set."""
        return {
            "k": self.k,
            "balance": tuple(self.balance),
            "tolerance": self.tolerance,
            "max_moved": self.max_moved,
            "rep_home_centers": self.rep_home_centers,
            "regions": self.regions,
            "quarter": self.period,
            "seed": self.seed,
            "effort": self.effort,
            "target_gap": self.target_gap,
            "time_limit": self.time_limit,
        }

    def plan_options(self) -> dict:
        """The keyword options of :func:`design_plans`: :meth:`design_options` plus the saved
        scenario to adopt instead of designing."""
        return self.design_options() | {
            "scenario": self.scenario,
            "processed": self.processed,
            "block": self.building_block,
        }

    def quota_options(self) -> dict:
        """The keyword options of :func:`quota_plan` these parameters set."""
        return {
            "quarter": self.period,
            "block": self.building_block,
            "target_growth": self.target_growth,
            "history_weight": self.history_weight,
            "forecast_weight": self.forecast_weight,
            "target_basis": self.target_basis,
            "target_quantile": self.target_quantile,
            "odds": self.quota_odds,
            "forecast_origins": self.forecast_origins,
        }

    def named_options(self) -> dict:
        """The keyword options of :func:`named_accounts` these parameters set."""
        return named_settings(self) | {
            "capacity": self.capacity,
            "balance": tuple(self.balance),
            "tolerance": self.tolerance,
            "quarter": self.period,
            "seed": self.seed,
            "effort": self.effort,
            "time_limit": self.time_limit,
        }

    def overlay_options(self) -> dict:
        """The keyword options of :func:`overlay_teams` these parameters set."""
        return {
            "overlays": dict(self.overlays),
            "share": self.overlay_share,
            "block": self.building_block,
            "balance": tuple(self.balance),
            "tolerance": self.tolerance,
            "seed": self.seed,
            "effort": self.effort,
            "time_limit": self.time_limit,
        }

    def district_options(self) -> dict:
        """The keyword options of :func:`district_table` these parameters set."""
        return {
            "districts": self.districts,
            "region_groups": self.region_groups,
            "tolerance": self.tolerance,
            "seed": self.seed,
            "effort": self.effort,
            "time_limit": self.time_limit,
        }

    def frontier_options(self) -> dict:
        """The keyword options of :func:`frontier` these parameters set."""
        return {
            "k": self.k,
            "balance": tuple(self.balance),
            "tolerance": self.tolerance,
            "budgets": tuple(self.frontier_budgets),
            "quarter": self.period,
            "seed": self.seed,
            "effort": self.frontier_effort,
            "time_limit": self.time_limit,
        }


@dataclasses.dataclass(frozen=True)
class DesignInputs:
    accounts: pd.DataFrame  # one row per account with potential, workload, revenue, owner
    reps: pd.DataFrame
    facts: pd.DataFrame
    polygons: object  # GeoDataFrame of units, or None
    quotas: pd.DataFrame | None = None  # quotas.csv (optional): rep attainment for matching
    named_list: tuple[str, ...] = ()  # named_accounts.csv (optional): accounts named by list


def load_inputs(processed: str | Path, *, quarter: Quarter | str) -> DesignInputs:
    """Accounts joined with notebook 01's potential and notebook 02's workload."""
    accounts = load("accounts", processed)
    pot = load_stage(processed, "potential_accounts", quarter)[
        ["account_id", "potential_usd", "revenue_usd"]
    ]
    work = load_stage(processed, "workload", quarter)
    work = work[[c for c in ("account_id", "hours_per_year", "call_class") if c in work]]
    acc = (
        accounts.merge(pot, on="account_id", how="left")
        .merge(work, on="account_id", how="left")
        .fillna({"potential_usd": 0.0, "revenue_usd": 0.0, "hours_per_year": 0.0})
    )
    geo = load("geo_units", processed)
    if "region" in geo and "unit_id" in acc:
        # one region definition everywhere: the geographic unit's (as in the KPI review)
        region = geo.set_index(geo["unit_id"].astype(str))["region"]
        acc["region"] = acc["unit_id"].astype(str).map(region)
    try:  # notebook 02's ABC classes, for a named-account rule by class
        classes = load_stage(processed, "segments", quarter)[["account_id", "abc_class"]]
        acc = acc.merge(classes, on="account_id", how="left")
    except FileNotFoundError:
        pass
    quotas = load("quotas", processed) if (Path(processed) / "quotas.parquet").is_file() else None
    listed: tuple[str, ...] = ()
    if (Path(processed) / "named_accounts.parquet").is_file():
        listed = tuple(load("named_accounts", processed)["account_id"].astype(str).str.strip())
    return DesignInputs(
        acc,
        load("reps", processed),
        load("facts_account_quarter", processed),
        load_geojson(processed),
        quotas,
        listed,
    )


def named_accounts(
    inputs: DesignInputs,
    *,
    min_employees: int | None = None,
    top_potential: int = 0,
    abc_class: str | None = None,
    team_reps: Sequence[str] = (),
    seats: int = 0,
    balance: Sequence[str] = ("potential_usd", "workload_hours"),
    tolerance: float = 0.05,
    quarter: Quarter | str | None = None,
    seed: int = 0,
    capacity: Capacity | None = None,
    **options,
) -> NamedTeam:
    """The named-account team (:func:`~workbench.territory.named.named_team`): accounts named by
    the rule - employees, top potential, ABC class, or listed in ``named_accounts.csv`` - each
    given to one seat, books balanced on ``balance``; without ``team_reps`` or ``seats``, as
    many seats as their workload needs at ``capacity``. Empty when nothing is named."""
    rule = NamedRule(
        min_employees=min_employees,
        top_potential=top_potential or None,
        abc_class=abc_class,
        ids=inputs.named_list,
    )
    return named_team(
        inputs.accounts,
        inputs.reps,
        rule=rule,
        team_reps=team_reps,
        seats=seats,
        balance=balance,
        tolerance=tolerance,
        quarter=quarter,
        seed=seed,
        capacity=capacity,
        **options,
    )


def geographic_team(
    inputs: DesignInputs, named: NamedTeam, *, inside_sales: float = 0.0
) -> DesignInputs:
    """The inputs of the geographic design: ``accounts`` without the named accounts, ``reps``
    without the named-account team's reps (the facts, polygons and quotas as they are); with
    inside sales (``inside_sales`` hours a year per cold prospect > 0), cold prospects
    (notebook 02's ``call_class`` ``cold``) keep their territory but any field calls of theirs
    go to inside sales, so their hours leave the geographic workload
    (:mod:`~workbench.territory.roles`)."""
    accounts, reps = named.geographic(inputs.accounts, inputs.reps)
    if inside_sales > 0:
        if "call_class" not in accounts:
            raise ParameterError(
                "inside_sales needs notebook 02's call classes (workload call_class): run it "
                "for this quarter"
            )
        cold = (accounts["call_class"].astype(str) == COLD).to_numpy()
        accounts = accounts.assign(hours_per_year=accounts["hours_per_year"].where(~cold, 0.0))
    return dataclasses.replace(inputs, accounts=accounts, reps=reps)


def overlay_teams(
    inputs: DesignInputs,
    *,
    overlays: dict,
    share: float = OVERLAY_SHARE,
    block: str = "postal_code",
    **options,
) -> OverlayTeam:
    """The industry overlay teams (:mod:`~workbench.territory.overlay`) over all accounts of
    each group, named ones included; empty without ``overlays``."""
    industries = inputs.accounts["industry"].dropna().astype(str).unique()
    groups = parse_overlays(overlays, industries=industries)
    return design_overlays(
        inputs.accounts, groups, block=block, share=share, polygons=inputs.polygons, **options
    )


def plan_credits(
    facts: pd.DataFrame,
    alignment: pd.DataFrame,
    overlays: OverlayTeam,
    *,
    quarter: Quarter | str,
    quarters: int = 4,
) -> Credits:
    """The trailing ``quarters``' won revenue credited as the plan would credit it: each
    account's proposed territory or seat (``alignment``) as primary holder, its overlay
    territory as the second (:func:`~workbench.territory.overlay.credit`)."""
    window = {str(q) for q in Quarter.parse(quarter).range_back(quarters)}
    won = facts[facts["quarter"].astype(str).isin(window) & (facts["won_usd"] > 0)]
    won = won[["account_id", "quarter", "won_usd"]].reset_index(drop=True)
    primary = alignment.set_index(alignment["account_id"].astype(str))["proposed_territory"]
    return Credits.of(won, primary, None if overlays.empty else overlays.assignment)


def role_table(
    accounts: pd.DataFrame,
    plan: TerritoryPlan,
    *,
    capacity: Capacity,
    named: NamedTeam | None = None,
    overlays: OverlayTeam | None = None,
    inside_sales: float = 0.0,
) -> RoleSizing:
    """Headcount by role (:func:`~workbench.territory.roles.role_sizing`) beside the seats the
    plan sets: its territories, the named seats and each overlay's specialists;
    ``inside_sales``: inside-sales hours a year per cold prospect (0: no such role)."""
    planned: dict[str, float] = {"geographic": plan.k}
    if named is not None and not named.empty:
        planned["named-account"] = len(named.seats)
    if overlays is not None:
        planned |= {f"overlay: {g.name}": g.specialists for g in overlays.groups}
    return role_sizing(
        accounts,
        capacity=capacity,
        named=named,
        overlays=overlays,
        inside_hours=inside_sales,
        planned=planned,
    )


def _account_territory(
    accounts: pd.DataFrame, plan: TerritoryPlan, block: str, named: NamedTeam | None
) -> pd.Series:
    """Each account's territory: its named-account seat, else its block's territory."""
    territory = accounts[block].astype(str).map(plan.assignment)
    if named is not None and not named.empty:
        seat = accounts["account_id"].astype(str).str.strip().map(named.assignment)
        clash = sorted(set(named.assignment) & set(plan.assignment))
        if clash:
            raise ParameterError(
                f"territories {clash} are named like named-account seats: rename them"
            )
        territory = seat.where(seat.notna(), territory)
    return territory


def design_plans(
    blocks: pd.DataFrame,
    adjacency: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    balance: Sequence[str],
    tolerance: float = 0.05,
    seed: int = 0,
    time_limit: float = 60.0,
    progress=None,
    scenario: str = "",
    processed: str | Path | None = None,
    block: str = "postal_code",
    **options,
) -> tuple[TerritoryPlan, TerritoryPlan]:
    """The current alignment scored as a plan, and the proposed plan: designed
    (:func:`propose_plan`, which takes the other keyword ``options``), or, when ``scenario``
    names a scenario saved in ``processed/scenarios``, exactly that scenario's assignment
    (:func:`~workbench.territory.adopt.adopt_scenario`; ``block`` is the block column)."""
    units, current = blocks.drop(columns="territory"), blocks[["unit_id", "territory"]]
    # k counts today's territories for the scoring run; the bound is not needed for it
    now = TerritoryDesigner(
        k=current["territory"].nunique(),
        balance=tuple(balance),
        tolerance=tolerance,
        seed=seed,
        progress=progress,
        max_moved=0.0,
        effort=0.25,
        time_limit=time_limit,
        compute_bound=False,
        max_rounds=1,
    ).solve(units, adjacency=adjacency, current=current)
    if scenario:
        if processed is None:
            raise ParameterError("adopting a scenario needs the processed folder it is saved in")
        adopted = adopt_scenario(
            processed,
            scenario,
            blocks,
            adjacency,
            reps,
            block=block,
            quarter=options.get("quarter"),
        )
        return now, adopted
    proposed = propose_plan(
        blocks,
        adjacency,
        reps,
        balance=balance,
        tolerance=tolerance,
        seed=seed,
        time_limit=time_limit,
        progress=progress,
        **options,
    )
    return now, proposed


def propose_plan(
    blocks: pd.DataFrame,
    adjacency: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    balance: Sequence[str],
    k: int = 0,
    tolerance: float = 0.05,
    max_moved: float = 1.0,
    rep_home_centers: bool = False,
    regions: str = "none",
    quarter: Quarter | str | None = None,
    seed: int = 0,
    effort: float = 1.0,
    target_gap: float = 0.01,
    time_limit: float = 60.0,
    max_rounds: int = MAX_ROUNDS,
    progress=None,
) -> TerritoryPlan:
    """The proposed plan for ``blocks`` (current territory in ``territory``; with
    ``regions="fixed"`` their ``region`` too: no territory then crosses a region line).

    ``k = 0``, ``max_moved >= 1`` and ``rep_home_centers`` are read by
    :func:`~workbench.territory.team.design_settings` (``k = 0``: one territory per rep on the
    team in ``quarter``). The engine searches at ``effort`` and again at double the effort
    while the plan misses a constraint the data does not force, and stops early once the plan
    is certified within ``target_gap``; ``time_limit`` is only the safety stop. The plan's
    ``info`` records ``search_rounds``, ``proven_infeasible`` and ``safety_stop``.
    """
    units, current = blocks.drop(columns="territory"), blocks[["unit_id", "territory"]]
    settings = design_settings(
        reps,
        k=k,
        max_moved=max_moved,
        rep_home_centers=rep_home_centers,
        quarter=quarter,
        current=current,
    )
    options = {
        "seed": seed,
        "progress": progress,
        "effort": effort,
        "time_limit": time_limit,
        "target_gap": target_gap,
        "max_rounds": max_rounds,
        "max_moved": settings.max_moved,
    }
    if regions == "fixed":
        if "region" not in blocks or blocks["region"].isna().any():
            missing = (
                "no region column"
                if "region" not in blocks
                else (f"{int(blocks['region'].isna().sum())} block(s) without a region")
            )
            raise ParameterError(
                f"regions='fixed' needs every block's region ({missing}): give geo_units.csv a "
                "region column covering every unit, or set regions='none'"
            )
        return design_within_regions(
            units,
            region="region",
            k=settings.k,
            balance=tuple(balance),
            tolerance=tolerance,
            adjacency=adjacency,
            current=current,
            **options,
        )
    designer = TerritoryDesigner(
        k=settings.k, balance=tuple(balance), tolerance=tolerance, **options
    )
    return designer.solve(units, adjacency=adjacency, current=current, centers=settings.centers)


def frontier(
    blocks: pd.DataFrame,
    adjacency: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    balance: Sequence[str],
    budgets: Sequence[float],
    k: int = 0,
    tolerance: float = 0.05,
    quarter: Quarter | str | None = None,
    seed: int = 0,
    effort: float = 0.25,
    time_limit: float = 60.0,
) -> pd.DataFrame:
    """Disruption–quality frontier over the disruption ``budgets``
    (:func:`~workbench.territory.disruption.disruption_frontier`)."""
    current = blocks[["unit_id", "territory"]]
    return disruption_frontier(
        blocks.drop(columns="territory"),
        k=resolve_k(k, reps, quarter=quarter, current=current),
        balance=tuple(balance),
        current=current,
        budgets=list(budgets),
        tolerance=tolerance,
        adjacency=adjacency,
        seed=seed,
        effort=effort,
        time_limit=time_limit,
    )


def region_table(
    plan: TerritoryPlan, blocks: pd.DataFrame, districts: pd.DataFrame | None = None
) -> pd.DataFrame | None:
    """The plan rolled up by region (:func:`~workbench.territory.hierarchy.rollup`), or None
    when there are no regions. With ``districts`` holding regions built from them
    (:func:`district_table` with ``region_groups``), those regions; else the blocks' regions
    (``geo_units.csv``): a territory counts in the region holding most of its first measure
    (its own region when designed within regions), and ``crossing`` counts the region's
    territories that also hold blocks of another region."""
    territory = blocks["unit_id"].astype(str).map(plan.assignment)
    if districts is not None and "region" in districts:
        home = district_of(districts).map(districts["region"])
        table = rollup(plan, home, level="region")
        table.insert(1, "districts", districts.groupby("region").size().reindex(table.index))
        return table
    if "region" not in blocks or blocks["region"].isna().all():
        return None
    if "region" in plan.territories:
        home = plan.territories["region"]
    else:
        m = plan.measures[0]
        home = dominant(
            territory, blocks["region"], blocks[m].to_numpy(float) if m in blocks else 1.0
        )
    table = rollup(plan, home, level="region")
    touched = blocks["region"].groupby(territory.to_numpy()).nunique()
    crossing = (touched > 1).groupby(home.reindex(touched.index)).sum()
    table["crossing"] = crossing.reindex(table.index).fillna(0).astype(int)
    return table


def district_table(
    plan: TerritoryPlan,
    blocks: pd.DataFrame,
    adjacency: pd.DataFrame | None,
    *,
    districts: int,
    region_groups: int = 0,
    tolerance: float = 0.05,
    **options,
) -> pd.DataFrame | None:
    """The plan's territories grouped into ``districts`` contiguous districts balanced on
    territory count and the plan's measures
    (:func:`~workbench.territory.hierarchy.group_territories`), one row per district: its
    ``members``, the roll-up (:func:`~workbench.territory.hierarchy.rollup`) and whether its
    blocks are ``contiguous``; with ``region_groups`` > 0 the districts are grouped the same way
    into that many regions (column ``region``: ``G01`` ...,
    :func:`~workbench.territory.hierarchy.regions_from_districts`). None when ``districts`` is
    0."""
    if districts <= 0:
        return None
    if districts > plan.k:
        raise ParameterError(f"districts: {districts} districts for {plan.k} territories")
    if region_groups > districts:
        raise ParameterError(f"region_groups: {region_groups} regions for {districts} districts")
    group, grouping = group_territories(
        plan, blocks, k=districts, adjacency=adjacency, tolerance=tolerance, **options
    )
    table = rollup(plan, group, level="district")
    table.insert(0, "members", group.groupby(group).apply(lambda g: ", ".join(sorted(g.index))))
    if region_groups > 0:
        region_of = regions_from_districts(
            plan,
            blocks,
            group,
            grouping,
            k=region_groups,
            adjacency=adjacency,
            tolerance=tolerance,
            **options,
        )
        table.insert(1, "region", region_of.reindex(table.index))
    if adjacency is not None:
        unit_district = plan.assignment.map(group)
        a = adjacency["a"].astype(str).map(unit_district)
        b = adjacency["b"].astype(str).map(unit_district)
        inside = adjacency.loc[(a == b).to_numpy()]  # edges within one district
        parts = connected_components(unit_district.index, inside)
        table["contiguous"] = parts.groupby(unit_district).nunique().reindex(table.index) == 1
    return table


def plan_summary(plan: TerritoryPlan) -> pd.DataFrame:
    """The plan's headline metrics as a tidy ``metric, value`` table (for the report).

    No wall-clock figure goes in: the same data and seed give the same table."""
    rows = {
        "k": plan.k,
        "median_km": plan.median_km,
        "lower_bound_km": plan.lower_bound_km,
        "gap": plan.gap,
        "share_moved": plan.share_moved,
        "n_moved": plan.n_moved,
        "contiguous": plan.contiguous,
        "feasible": plan.feasible,
        "violations": len(plan.violations),
        "proven_optimal": plan.proven_optimal,
        "search_rounds": plan.info.get("search_rounds", 1),
        "proven_infeasible": bool(plan.info.get("proven_infeasible", False)),
        "safety_stop": bool(plan.info.get("safety_stop", False)),
    }
    rows |= {f"max_deviation_{m}": v for m, v in plan.max_deviation.items()}
    rows |= {f"tolerance_{m}": v for m, v in plan.tolerance.items()}
    return pd.DataFrame(
        {"metric": list(rows), "value": [np.nan if v is None else float(v) for v in rows.values()]}
    )


def sizing_tables(
    accounts: pd.DataFrame, plan: TerritoryPlan, *, block: str, capacity: Capacity
) -> Sizing:
    """Recommended headcount, the what-if grid and the proposed plan's capacity check."""
    return Sizing.of(accounts, plan.assignment, capacity=capacity, account_unit=block)


HEADCOUNT_MATERIAL = 0.15
"""k and the recommended headcount differ *materially* when they are more than 15 % (and at
least one rep) apart: then notebook 03 warns and designs the plan at the recommended k too."""


@dataclasses.dataclass(frozen=True, repr=False)
class HeadcountCheck(Results):
    """The territories designed (``k``) against the headcount the workload needs.

    Attributes
    ----------
    k : int
        Territories in the proposed plan.
    recommended : int
        Reps the workload buildup recommends (:func:`recommend_headcount`).
    exact : float
        The unrounded recommendation (required hours ÷ effective hours per rep).
    capacity : DataFrame
        Per proposed territory: required hours, capacity, utilisation and status.
    alternative : TerritoryPlan or None
        The plan at the recommended k, designed when the two differ materially.
    """

    k: int
    recommended: int
    exact: float
    capacity: pd.DataFrame
    alternative: TerritoryPlan | None = None

    @property
    def material(self) -> bool:
        diff = abs(self.recommended - self.k)
        return diff >= 1 and diff > HEADCOUNT_MATERIAL * self.k

    @property
    def message(self) -> str:
        over = int((self.capacity["utilisation"] > 1).sum())
        mean_use = float(self.capacity["utilisation"].mean())
        text = (
            f"{self.k} territories designed; the workload needs {self.recommended} reps "
            f"({self.exact:.1f} at full target utilisation). Mean capacity use "
            f"{mean_use:.0%}; {over} territor{'y' if over == 1 else 'ies'} over one rep's "
            "capacity."
        )
        if self.material:
            side = "under-staffed" if self.recommended > self.k else "over-staffed"
            text = (
                f"Warning: the plan looks {side}. " + text + f" The plan at k = "
                f"{self.recommended} is shown as the alternative."
            )
        return text

    def summary(self) -> Summary:
        """k against the recommendation (index ``metric``, column ``value``); the message as a
        note, the capacity per territory as a section."""
        rows = {
            "territories (k)": self.k,
            "recommended reps": self.recommended,
            "recommended (exact)": round(self.exact, 2),
            "mean capacity use": round(float(self.capacity["utilisation"].mean()), 3),
            "territories over capacity": int((self.capacity["utilisation"] > 1).sum()),
            "material difference": self.material,
        }
        return Summary(
            {"value": list(rows.values())},
            index=pd.Index(rows, name="metric"),
            title="Headcount check",
            notes=[self.message],
            sections=[("Capacity per territory", self.capacity, TWO_DECIMALS)],
        )


def headcount_check(
    sizing: Sizing,
    plan: TerritoryPlan,
    blocks: pd.DataFrame,
    adjacency: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    balance: Sequence[str],
    effort: float = 1.0,
    progress=None,
    **options,
) -> HeadcountCheck:
    """Reconcile the plan's k with the recommended headcount; design the alternative plan at
    the recommended k when they differ materially (:data:`HEADCOUNT_MATERIAL`).

    The alternative keeps the balance measures, tolerance and the other keyword ``options`` of
    :func:`propose_plan`, but no disruption budget (a plan with another number of
    territories moves most blocks anyway), no rep home centres, half the ``effort`` and one
    search round: an illustration of the other headcount, not the plan.
    """
    rec = sizing.recommendation
    check = HeadcountCheck(
        k=plan.k,
        recommended=int(rec["recommended_reps"]),
        exact=float(rec["exact_reps"]),
        capacity=sizing.capacity,
    )
    if not check.material or not 1 <= check.recommended <= len(blocks):
        return check
    options = options | {
        "k": check.recommended,
        "max_moved": 1.0,
        "rep_home_centers": False,
        "max_rounds": 1,
    }
    alt = propose_plan(
        blocks, adjacency, reps, balance=balance, effort=effort / 2, progress=progress, **options
    )
    return dataclasses.replace(check, alternative=alt)


def quota_plan(
    accounts: pd.DataFrame,
    plan: TerritoryPlan,
    facts: pd.DataFrame,
    *,
    quarter: Quarter | str,
    block: str,
    target_growth: float,
    history_weight: float,
    named: NamedTeam | None = None,
    forecast_weight: float = 0.0,
    target_basis: str = "growth",
    target_quantile: float = 0.5,
    odds: bool = True,
    level: float = 0.8,
    forecast_origins: int = 4,
    n_jobs: int = 1,
    forecast_cache: dict | None = None,
) -> QuotaPlan:
    """Next year's quotas per proposed territory (and per quarter), each with its chance of
    being made.

    The year is the four quarters after ``quarter``. The company target is

    * ``target_basis="growth"``: trailing-four-quarter revenue × (1 + ``target_growth``);
    * ``"forecast"``: the ``target_quantile`` of the company's forecast year (0.5: P50, 0.4:
      P40 - a target the company beats with a 60 % chance);
    * ``"bottom_up"``: the sum of the territories' ``target_quantile`` forecasts.

    Each territory's share blends history, potential and (``forecast_weight``) its forecast
    (``allocate_quotas``). With ``odds`` (the default; needed by the two forecast bases and a
    forecast weight) every territory's history is re-aggregated by the plan and forecast
    (:func:`~workbench.territory.odds.plan_outlook`, ``forecast_origins`` backtest origins,
    ``n_jobs`` processes), and the table gains the chance of making each quota, its P10–P90
    attainment band and the equal-chance quotas (``forecast_cache``: the engine's cache, see
    :class:`~workbench.forecast.Forecaster`). With a ``named`` team, its seats are quota
    territories too, holding their named accounts (each account counts once).
    """
    problems = []
    if target_basis not in TARGET_BASES:
        problems.append(f"target_basis must be one of {list(TARGET_BASES)}, got {target_basis!r}")
    if not 0 < target_quantile < 1:
        problems.append(f"target_quantile must be in (0, 1), e.g. 0.5, got {target_quantile!r}")
    if not odds and (target_basis != "growth" or forecast_weight > 0):
        problems.append("a forecast target or forecast weight needs odds=True")
    if problems:
        raise ParameterError("; ".join(problems))
    territory = _account_territory(accounts, plan, block, named)
    per = (
        accounts.assign(territory=territory)
        .groupby("territory")[["revenue_usd", "potential_usd"]]
        .sum()
    )
    season, year = quota_year(facts, quarter)
    outlook = None
    if odds:
        outlook = plan_outlook(
            facts,
            pd.Series(territory.to_numpy(), index=accounts["account_id"].astype(str)),
            quarter=str(Quarter.parse(quarter)),
            periods=year,
            level=level,
            n_origins=forecast_origins,
            n_jobs=n_jobs,
            cache=forecast_cache,
        )
        per["forecast_usd"] = outlook.territories["median"].reindex(per.index)
    if target_basis == "forecast":
        assert outlook is not None  # the checks above: a forecast target needs odds
        target = float(outlook_quantile(outlook.company.to_frame().T, target_quantile).iloc[0])
    elif target_basis == "bottom_up":
        assert outlook is not None
        target = float(outlook_quantile(outlook.territories, target_quantile).sum())
    else:
        target = float(per["revenue_usd"].sum()) * (1 + target_growth)
    out = allocate_quotas(
        per,
        target_usd=target,
        history_weight=history_weight,
        season=season,
        year_quarters=year,
        forecast_weight=forecast_weight,
    )
    chance = None
    if outlook is not None:
        cols, chance = odds_columns(outlook.territories, out["quota_usd"], target)
        out = out.drop(columns=["forecast_usd"], errors="ignore").join(cols)
    return QuotaPlan(
        table=out,
        spread=attainment_spread(out),
        target_usd=target,
        history_weight=history_weight,
        forecast_weight=forecast_weight,
        target_basis=target_basis,
        outlook=outlook,
        equal_chance=chance,
    )


def rep_performance(
    facts: pd.DataFrame,
    *,
    quarter: Quarter | str,
    quarters: int = 4,
    quotas: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each rep's win rate (won ÷ decided deals, by count) and, with quotas, attainment (won
    USD ÷ quota) over the ``quarters`` ending with ``quarter``.

    >>> f = pd.DataFrame({"rep_id": ["R1", "R1", "R2"], "quarter": ["2026Q2", "2026Q3", "2026Q3"],
    ...     "won_n": [1, 2, 0], "lost_n": [1, 0, 2], "won_usd": [10.0, 30.0, 0.0]})
    >>> q = pd.DataFrame({"rep_id": ["R1", "R2"], "quarter": ["2026Q3", "2026Q3"],
    ...     "quota_usd": [20.0, 50.0]})
    >>> rep_performance(f, quarter="2026Q3", quotas=q).round(2).values.tolist()
    [['R1', 0.75, 2.0], ['R2', 0.0, 0.0]]
    """
    window = {str(q) for q in Quarter.parse(quarter).range_back(quarters)}
    f = facts[facts["quarter"].astype(str).isin(window)]
    g = f.groupby("rep_id")[["won_n", "lost_n", "won_usd"]].sum()
    out = pd.DataFrame(
        {
            "rep_id": g.index.astype(str),
            "win_rate": (g["won_n"] / (g["won_n"] + g["lost_n"]).where(lambda d: d > 0)).to_numpy(),
        }
    )
    if quotas is not None and len(quotas):
        qq = quotas[quotas["quarter"].astype(str).isin(window)].groupby("rep_id")["quota_usd"].sum()
        out["attainment"] = (g["won_usd"] / qq.reindex(g.index).where(lambda x: x > 0)).to_numpy()
    return out.reset_index(drop=True)


def match_plan_reps(
    accounts: pd.DataFrame,
    plan: TerritoryPlan,
    reps: pd.DataFrame,
    *,
    block: str,
    quarter: Quarter | str,
    performance_weight: float = 0.0,
    facts: pd.DataFrame | None = None,
    quotas: pd.DataFrame | None = None,
    named: NamedTeam | None = None,
) -> RepMatching:
    """Reps matched to the proposed territories so each keeps as much of their book (accounts
    and trailing-year revenue) as possible (:func:`~workbench.territory.matching.match_reps`);
    more territories than reps leaves vacancies, more reps than territories unassigned reps.
    With ``performance_weight`` > 0, proven performers (:func:`rep_performance` over the
    year ending with ``quarter``) are pushed toward the highest-potential territories. A
    ``named`` team's seats are matched too: a seat with its own rep keeps that rep (pinned),
    a seat without one goes to whoever keeps most there, or stays vacant (hire)."""
    acc = pd.DataFrame(
        {
            "account_id": accounts["account_id"].astype(str),
            "current_rep_id": accounts["owner_rep_id"].astype(object),
            "proposed_territory": _account_territory(accounts, plan, block, named),
            "revenue_usd": accounts["revenue_usd"].astype(float),
        }
    )
    territories = plan.territories
    pinned = None
    if named is not None and named.plan is not None:
        territories = pd.concat([territories, named.plan.territories])
        pinned = named.pinned
    team = active_reps(reps, quarter=quarter)
    team = team.assign(rep_name=team["rep_name"] if "rep_name" in team else team["rep_id"])
    team = team[["rep_id", "rep_name"]]
    if performance_weight > 0 and facts is not None:
        perf = rep_performance(facts, quarter=quarter, quotas=quotas)
        team = team.merge(perf, on="rep_id", how="left")
    return match_reps(acc, team, territories, performance_weight=performance_weight, pinned=pinned)


def plan_alignment(
    accounts: pd.DataFrame,
    blocks: pd.DataFrame,
    plan: TerritoryPlan,
    matching: RepMatching,
    *,
    block: str,
    named: NamedTeam | None = None,
    districts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per account: current and proposed territory and rep, moved or not, and why
    (:func:`~workbench.territory.alignment.account_alignment`); a ``named`` team's accounts
    go to their seats. An account whose block is not among ``blocks`` (all its accounts are
    named) takes the owner holding most of that block's potential as its current territory.

    With ``districts`` (:func:`district_table`) each account gets its proposed territory's
    ``proposed_district``; ``proposed_region`` is the district's region when regions were
    built from the districts, else the region of the account's geographic unit
    (``geo_units.csv``, one definition everywhere), when the accounts carry one."""
    current = blocks.set_index("unit_id")["territory"]
    seats = None
    if named is not None and not named.empty:
        seats = named.assignment
        # a block whose accounts are all named: its territory today is, as for any block, the
        # owner holding most of its potential
        gone = pd.Series(~isin(accounts[block].astype(str), current.index), index=accounts.index)
        if gone.any():
            g = accounts.loc[gone.to_numpy()]
            current = pd.concat(
                [current, dominant(g[block].astype(str), g["owner_rep_id"], g["potential_usd"])]
            )
    out = account_alignment(
        accounts,
        current,
        plan.assignment,
        matching.rep_of,
        block=block,
        seats=seats,
        carry=("revenue_usd", "potential_usd"),
    )
    if districts is not None:
        out["proposed_district"] = (
            out["proposed_territory"].map(district_of(districts)).astype(object)
        )
    if districts is not None and "region" in districts:
        out["proposed_region"] = out["proposed_district"].map(districts["region"]).astype(object)
    elif "region" in accounts:
        out["proposed_region"] = accounts["region"].astype(object).to_numpy()
    return out


def violations_table(plan: TerritoryPlan) -> pd.DataFrame:
    """The constraints the plan misses, one row each (empty when it is feasible)."""
    return violations_frame(plan.violations)


def save_outputs(
    processed: str | Path,
    quarter: Quarter | str,
    *,
    blocks: pd.DataFrame,
    plan: TerritoryPlan,
    quotas: QuotaPlan,
    sizing: Sizing,
    block: str,
    matching: RepMatching,
    alignment: pd.DataFrame,
    headcount: HeadcountCheck | None = None,
    overlays: OverlayTeam | None = None,
    overlay_quota: QuotaPlan | None = None,
    roles: RoleSizing | None = None,
) -> list[Path]:
    """``territory_plan``, ``territory_summary``, ``territory_violations``, ``alignment``,
    ``rep_matching``, ``quotas_plan`` and ``sizing`` stage files; ``overlay_plan`` (one row
    per overlay account, empty without overlays) and ``role_sizing`` when given."""
    owner = pd.Series(matching.rep_of, dtype=object)
    plan_rows = pd.DataFrame(
        {
            "block_id": blocks["unit_id"].astype(str),
            "block_type": block,
            "territory": blocks["unit_id"].map(plan.assignment),
            "current_territory": blocks["territory"],
            "lat": blocks["lat"].astype(float),
            "lon": blocks["lon"].astype(float),
        }
    )
    plan_rows["rep_id"] = plan_rows["territory"].map(owner)
    quota_rows = quotas.table.rename_axis("territory").reset_index()
    quota_rows.attrs = {}
    quota_rows["rep_id"] = quota_rows["territory"].map(owner)
    summary = plan_summary(plan)
    if headcount is not None:
        extra = {
            "recommended_reps": headcount.recommended,
            "mean_capacity_use": float(headcount.capacity["utilisation"].mean()),
            "headcount_material": float(headcount.material),
        }
        summary = pd.concat(
            [summary, pd.DataFrame({"metric": list(extra), "value": list(extra.values())})],
            ignore_index=True,
        )
    if quotas.outlook is not None:
        fair = fairness(quotas.table["p_attain"])
        odds_rows = {
            "quota_target_usd": quotas.target_usd,
            "quota_target_chance": quotas.target_chance,
            "quota_chance_min": fair["min"],
            "quota_chance_max": fair["max"],
            "quota_equal_chance": quotas.equal_chance,
        }
        summary = pd.concat(
            [summary, pd.DataFrame({"metric": list(odds_rows), "value": list(odds_rows.values())})],
            ignore_index=True,
        )
    written = [
        save_stage(plan_rows, processed, "territory_plan", quarter),
        save_stage(summary, processed, "territory_summary", quarter),
        save_stage(violations_table(plan), processed, "territory_violations", quarter),
        save_stage(alignment.reset_index(drop=True), processed, "alignment", quarter),
        save_stage(matching.table.reset_index(drop=True), processed, "rep_matching", quarter),
        save_stage(quota_rows, processed, "quotas_plan", quarter),
        save_stage(sizing.capacity.reset_index(), processed, "sizing", quarter),
    ]
    if overlays is not None:
        rows = pd.DataFrame(
            {
                "account_id": overlays.assignment.index.astype(str),
                "group": overlays.group_of.reindex(overlays.assignment.index).to_numpy(),
                "overlay_territory": overlays.assignment.to_numpy(),
            }
        )
        if overlay_quota is not None:
            rows["overlay_quota_usd"] = rows["overlay_territory"].map(
                overlay_quota.table["quota_usd"]
            )
        written.append(save_stage(rows, processed, "overlay_plan", quarter))
    if roles is not None:
        table = roles.table.reset_index()
        written.append(save_stage(table, processed, "role_sizing", quarter))
    return written
