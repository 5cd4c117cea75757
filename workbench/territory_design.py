"""Territory design (notebook 03): building blocks, current vs proposed plan, frontier, sizing,
quotas and maps — the glue between the processed data and :mod:`workbench.territory`.

Building blocks
    Accounts are grouped into blocks: ZIP codes by default (``postal_code``: fine enough that
    no metro block outweighs a territory; adjacency by Delaunay triangulation of the block
    points), or the geographic units (``unit_id``: county polygons, Queen contiguity). A
    block's measures are the sums over its accounts: ``potential_usd`` (notebook 01),
    ``workload_hours`` (notebook 02's call plan), ``accounts`` and ``revenue_usd`` (trailing
    four quarters). Its current territory is the owner rep holding most of its potential;
    a block of unassigned prospects only takes the territory of the nearest assigned block.

Plans
    The *current* plan is the designer run with a zero disruption budget, so it is scored by
    exactly the same metrics (balance, compactness, contiguity) as the proposal. Proposed
    territories keep the name of the current territory they overlap most, so a rep keeps
    their id; new territories (k above today's headcount) are vacant until hired.
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import geo
from .config import NotebookParams, Quarter
from .io import load, load_geojson, load_stage, save_stage
from .schema import BOOL_TRUE
from .territory import TerritoryDesigner, TerritoryPlan, disruption_frontier
from .territory.alignment import account_alignment
from .territory.designer import MAX_ROUNDS
from .territory.matching import RepMatching, match_reps
from .territory.quota import allocate_quotas, attainment_spread, seasonality
from .territory.sizing import Capacity, capacity_check, headcount_what_if, recommend_headcount

MEASURES = ("potential_usd", "workload_hours", "accounts", "revenue_usd")
BLOCKS = ("postal_code", "unit_id")


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
    seed: int = 0
    effort: float = 1.0
    target_gap: float = 0.01
    time_limit: float = 60.0
    frontier_budgets: list[float] = dataclasses.field(default_factory=lambda: [0.1, 0.2, 0.3, 1.0])
    frontier_effort: float = 0.25
    target_growth: float = 0.08
    history_weight: float = 0.5
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
        if not 0 < self.tolerance < 1:
            problems.append("tolerance must be in (0, 1), e.g. 0.05 for ±5%")
        for name in ("max_moved", "history_weight", "selling_share"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be in [0, 1]")
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


@dataclasses.dataclass(frozen=True)
class DesignInputs:
    accounts: pd.DataFrame  # one row per account with potential, workload, revenue, owner
    reps: pd.DataFrame
    facts: pd.DataFrame
    polygons: object  # GeoDataFrame of units, or None
    quotas: pd.DataFrame | None = None  # quotas.csv (optional): rep attainment for matching


def load_design_inputs(processed: str | Path, *, quarter: Quarter | str) -> DesignInputs:
    """Accounts joined with notebook 01's potential and notebook 02's workload."""
    accounts = load("accounts", processed)
    pot = load_stage(processed, "potential_accounts", quarter)[
        ["account_id", "potential_usd", "revenue_usd"]
    ]
    work = load_stage(processed, "workload", quarter)[["account_id", "hours_per_year"]]
    acc = (
        accounts.merge(pot, on="account_id", how="left")
        .merge(work, on="account_id", how="left")
        .fillna({"potential_usd": 0.0, "revenue_usd": 0.0, "hours_per_year": 0.0})
    )
    quotas = load("quotas", processed) if (Path(processed) / "quotas.parquet").is_file() else None
    return DesignInputs(
        acc,
        load("reps", processed),
        load("facts_account_quarter", processed),
        load_geojson(processed),
        quotas,
    )


def active_reps(reps: pd.DataFrame, *, quarter: Quarter | str | None = None) -> pd.DataFrame:
    """The reps who hold a territory in the planning year: the default ``k`` counts them.

    Rule (``docs/territory.md``): every rep in ``reps.csv`` is on the team unless the data
    says otherwise — ``active`` false (an optional column) marks a leaver, and so does an
    ``end_date`` on or before the planning quarter's end. A new hire is counted whatever the
    hire date: a signed hire gets a territory (a vacancy still to fill belongs in ``k``, set
    by hand).

    >>> reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "active": [True, False, True],
    ...     "end_date": pd.to_datetime([None, None, "2026-08-31"])})
    >>> active_reps(reps, quarter="2026Q3")["rep_id"].tolist()
    ['R1']
    >>> active_reps(reps, quarter="2026Q2")["rep_id"].tolist()
    ['R1', 'R3']
    """
    keep = pd.Series(True, index=reps.index)
    if "active" in reps:
        flag = reps["active"]
        if not pd.api.types.is_bool_dtype(flag):
            flag = flag.astype(str).str.strip().str.lower().isin(BOOL_TRUE)  # the contract's
        keep &= flag.fillna(True).astype(bool)
    if "end_date" in reps and quarter is not None:
        end = pd.to_datetime(reps["end_date"], errors="coerce")
        keep &= end.isna() | (end > pd.Timestamp(Quarter.parse(quarter).end))
    return reps[keep]


def default_k(reps: pd.DataFrame, *, quarter: Quarter | str | None = None) -> int:
    """Territories when ``k`` = 0: one per rep on the team (:func:`active_reps`), at least 2."""
    return max(len(active_reps(reps, quarter=quarter)), 2)


def building_blocks(accounts: pd.DataFrame, *, block: str = "postal_code") -> pd.DataFrame:
    """Blocks with their measures and current territory (see the module docstring).

    Requires ``account_id``, the block column, ``lat``, ``lon``, ``owner_rep_id``,
    ``potential_usd``, ``hours_per_year``, ``revenue_usd``.

    >>> acc = pd.DataFrame({"account_id": ["a", "b", "c"], "postal_code": ["1", "1", "2"],
    ...     "lat": [0.0, 0.2, 1.0], "lon": [0.0, 0.0, 1.0], "owner_rep_id": ["R1", "R2", None],
    ...     "potential_usd": [5.0, 9.0, 1.0], "hours_per_year": [1.0, 2.0, 3.0],
    ...     "revenue_usd": [1.0, 0.0, 0.0]})
    >>> building_blocks(acc)[["unit_id", "potential_usd", "accounts", "territory"]].values.tolist()
    [['1', 14.0, 2.0, 'R2'], ['2', 1.0, 1.0, 'R2']]
    """
    g = accounts.groupby(block, sort=True)
    out = pd.DataFrame(
        {
            "lat": g["lat"].mean(),
            "lon": g["lon"].mean(),
            "potential_usd": g["potential_usd"].sum(),
            "workload_hours": g["hours_per_year"].sum(),
            "accounts": g.size().astype(float),
            "revenue_usd": g["revenue_usd"].sum(),
        }
    )
    owned = accounts.dropna(subset=["owner_rep_id"])
    top = (
        owned.groupby([block, "owner_rep_id"])["potential_usd"]
        .sum()
        .reset_index()
        .sort_values(["potential_usd", "owner_rep_id"], kind="stable")
        .drop_duplicates(block, keep="last")
        .set_index(block)["owner_rep_id"]
    )
    out["territory"] = top.reindex(out.index)
    missing = out["territory"].isna().to_numpy()
    if missing.any() and (~missing).any():
        km = geo.distance_matrix_km(
            out["lat"].to_numpy()[missing],
            out["lon"].to_numpy()[missing],
            out["lat"].to_numpy()[~missing],
            out["lon"].to_numpy()[~missing],
        )
        out.loc[missing, "territory"] = out["territory"].to_numpy()[~missing][km.argmin(axis=1)]
    return out.rename_axis("unit_id").reset_index()


def block_adjacency(blocks: pd.DataFrame, *, block: str, polygons=None) -> pd.DataFrame:
    """Adjacent block pairs: Delaunay on ZIP points, Queen contiguity on unit polygons."""
    if block == "unit_id" and polygons is not None:
        adj = geo.adjacency_from_polygons(polygons)
        keep = set(blocks["unit_id"])
        return adj[adj["a"].isin(keep) & adj["b"].isin(keep)].reset_index(drop=True)
    return geo.adjacency_from_points(blocks[["unit_id", "lat", "lon"]])


def rep_centers(
    reps: pd.DataFrame, k: int, *, quarter: Quarter | str | None = None
) -> pd.DataFrame | None:
    """Active reps' home bases as fixed territory centres (only when there are exactly k)."""
    act = active_reps(reps, quarter=quarter)
    if len(act) != k:
        return None
    return act.rename(columns={"home_lat": "lat", "home_lon": "lon", "rep_id": "territory"})[
        ["territory", "lat", "lon"]
    ].reset_index(drop=True)


def design_plans(
    blocks: pd.DataFrame,
    adjacency: pd.DataFrame,
    reps: pd.DataFrame,
    params: DesignParams,
    *,
    progress=None,
) -> tuple[TerritoryPlan, TerritoryPlan]:
    """The current alignment scored as a plan, and the proposed plan (:func:`propose_plan`)."""
    units, current = blocks.drop(columns="territory"), blocks[["unit_id", "territory"]]
    # k counts today's territories for the scoring run; the bound is not needed for it
    now = TerritoryDesigner(
        k=current["territory"].nunique(),
        balance=tuple(params.balance),
        tolerance=params.tolerance,
        seed=params.seed,
        progress=progress,
        max_moved=0.0,
        effort=0.25,
        time_limit=params.time_limit,
        compute_bound=False,
        max_rounds=1,
    ).solve(units, adjacency=adjacency, current=current)
    return now, propose_plan(blocks, adjacency, reps, params, progress=progress)


def propose_plan(
    blocks: pd.DataFrame,
    adjacency: pd.DataFrame,
    reps: pd.DataFrame,
    params: DesignParams,
    *,
    progress=None,
    k: int | None = None,
    max_rounds: int = MAX_ROUNDS,
) -> TerritoryPlan:
    """The proposed plan for ``blocks`` (current territory in ``territory``).

    ``k`` defaults to ``params.k``, or one territory per rep on the team
    (:func:`default_k`). The engine searches at ``params.effort`` and again at double the
    effort while the plan misses a constraint the data does not force, stops early once the
    plan is certified within ``params.target_gap``; ``params.time_limit`` is only the safety
    stop. The plan's ``info`` records ``search_rounds``, ``proven_infeasible`` and
    ``safety_stop``.
    """
    k = k or params.k or default_k(reps, quarter=params.period)
    units, current = blocks.drop(columns="territory"), blocks[["unit_id", "territory"]]
    centers = rep_centers(reps, k, quarter=params.period) if params.rep_home_centers else None
    designer = TerritoryDesigner(
        k=k,
        balance=tuple(params.balance),
        tolerance=params.tolerance,
        seed=params.seed,
        progress=progress,
        effort=params.effort,
        time_limit=params.time_limit,
        target_gap=params.target_gap,
        max_rounds=max_rounds,
        max_moved=None if params.max_moved >= 1 else params.max_moved,
    )
    return designer.solve(units, adjacency=adjacency, current=current, centers=centers)


def frontier(
    blocks: pd.DataFrame, adjacency: pd.DataFrame, reps: pd.DataFrame, params: DesignParams
) -> pd.DataFrame:
    """Disruption–quality frontier over ``params.frontier_budgets``."""
    return disruption_frontier(
        blocks.drop(columns="territory"),
        k=params.k or default_k(reps, quarter=params.period),
        balance=tuple(params.balance),
        current=blocks[["unit_id", "territory"]],
        budgets=params.frontier_budgets,
        tolerance=params.tolerance,
        adjacency=adjacency,
        seed=params.seed,
        effort=params.frontier_effort,
        time_limit=params.time_limit,
    )


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
    accounts: pd.DataFrame, plan: TerritoryPlan, params: DesignParams, *, block: str
) -> dict[str, pd.DataFrame | pd.Series]:
    """Recommended headcount, the what-if grid and the proposed plan's capacity check."""
    cap = params.capacity
    return {
        "recommendation": pd.Series(recommend_headcount(accounts, capacity=cap), name="value"),
        "what_if": headcount_what_if(accounts, capacity=cap),
        "capacity": capacity_check(accounts, plan.assignment, capacity=cap, account_unit=block),
    }


HEADCOUNT_MATERIAL = 0.15
"""k and the recommended headcount differ *materially* when they are more than 15 % (and at
least one rep) apart: then notebook 03 warns and designs the plan at the recommended k too."""


@dataclasses.dataclass(frozen=True)
class HeadcountCheck:
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

    def summary(self) -> pd.DataFrame:
        rows = {
            "territories (k)": self.k,
            "recommended reps": self.recommended,
            "recommended (exact)": round(self.exact, 2),
            "mean capacity use": round(float(self.capacity["utilisation"].mean()), 3),
            "territories over capacity": int((self.capacity["utilisation"] > 1).sum()),
            "material difference": self.material,
        }
        return pd.DataFrame({"value": list(rows.values())}, index=pd.Index(rows, name="metric"))

    def _repr_html_(self) -> str:
        style = "color:#a40000;font-weight:600" if self.material else ""
        return (
            f'<p style="{style}">{html.escape(self.message)}</p>'
            + self.summary().to_html()
            + self.capacity.to_html(float_format="{:,.2f}".format)
        )


def headcount_check(
    sizing: dict[str, pd.DataFrame | pd.Series],
    plan: TerritoryPlan,
    blocks: pd.DataFrame,
    adjacency: pd.DataFrame,
    reps: pd.DataFrame,
    params: DesignParams,
    *,
    progress=None,
) -> HeadcountCheck:
    """Reconcile the plan's k with the recommended headcount; design the alternative plan at
    the recommended k when they differ materially (:data:`HEADCOUNT_MATERIAL`).

    The alternative keeps the balance measures and tolerance but no disruption budget: a plan
    with another number of territories moves most blocks anyway.
    """
    rec = sizing["recommendation"]
    check = HeadcountCheck(
        k=plan.k,
        recommended=int(rec["recommended_reps"]),
        exact=float(rec["exact_reps"]),
        capacity=sizing["capacity"],
    )
    if not check.material or check.recommended > len(blocks):
        return check
    # an illustration of the other headcount, not the plan: half the effort, one round
    alt_params = dataclasses.replace(
        params, max_moved=1.0, rep_home_centers=False, effort=params.effort / 2
    )
    alt = propose_plan(
        blocks, adjacency, reps, alt_params, progress=progress, k=check.recommended, max_rounds=1
    )  # one search round
    return dataclasses.replace(check, alternative=alt)


def quota_plan(
    accounts: pd.DataFrame,
    plan: TerritoryPlan,
    facts: pd.DataFrame,
    params: DesignParams,
    *,
    block: str,
) -> pd.DataFrame:
    """Next year's quotas per proposed territory (and per quarter).

    Target = trailing-four-quarter company revenue × (1 + ``target_growth``).
    """
    territory = accounts[block].astype(str).map(plan.assignment)
    per = (
        accounts.assign(territory=territory)
        .groupby("territory")[["revenue_usd", "potential_usd"]]
        .sum()
    )
    q = params.period
    rev_q = facts.groupby("quarter")["won_usd"].sum()
    rev_q = rev_q[[x for x in rev_q.index if Quarter.parse(x) <= q]]
    target = float(per["revenue_usd"].sum()) * (1 + params.target_growth)
    out = allocate_quotas(
        per,
        target_usd=target,
        history_weight=params.history_weight,
        season=seasonality(rev_q),
        year_quarters=[str(q + i) for i in (1, 2, 3, 4)],
    )
    out.attrs["spread"] = attainment_spread(out)
    return out


# ---------------------------------------------------------------------------------------------
# Charts


def _palette(labels) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab20")
    return {t: cmap(i % 20) for i, t in enumerate(sorted(set(labels)))}


def plot_alignment_maps(
    blocks: pd.DataFrame, plans: dict[str, TerritoryPlan], reps: pd.DataFrame, polygons=None
):
    """Side-by-side static maps: blocks coloured by territory, sized by potential, rep homes."""
    fig, axes = plt.subplots(1, len(plans), figsize=(6.5 * len(plans), 6.5), squeeze=False)
    size = 8 + 120 * np.sqrt(blocks["potential_usd"] / max(blocks["potential_usd"].max(), 1))
    act = active_reps(reps)
    for ax, (title, plan) in zip(axes[0], plans.items(), strict=True):
        if polygons is not None:
            polygons.plot(ax=ax, facecolor="#f4f4f4", edgecolor="#c8c8c8", linewidth=0.4)
        lab = blocks["unit_id"].map(plan.assignment)
        colours = _palette(lab)
        ax.scatter(
            blocks["lon"],
            blocks["lat"],
            s=size,
            c=[colours[t] for t in lab],
            edgecolors="white",
            linewidths=0.3,
        )
        ax.scatter(act["home_lon"], act["home_lat"], marker="*", s=160, c="black", label="rep home")
        dev = ", ".join(f"{m} ±{v:.0%}" for m, v in plan.max_deviation.items())
        ax.set_title(f"{title}\nworst deviation: {dev}", fontsize=10)
        ax.set_aspect(1 / np.cos(np.radians(blocks["lat"].mean())))
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_xlabel(""), ax.set_ylabel("")
        ax.legend(loc="lower left", frameon=False, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_balance(plans: dict[str, TerritoryPlan], *, tolerance: float):
    """Deviation from the mean per territory and measure, current vs proposed, with the band."""
    measures = next(iter(plans.values())).measures
    fig, axes = plt.subplots(1, len(measures), figsize=(6 * len(measures), 3.6), squeeze=False)
    for ax, m in zip(axes[0], measures, strict=True):
        for i, (name, plan) in enumerate(plans.items()):
            dev = plan.territories[f"{m}_dev_pct"].sort_index() / 100
            x = np.arange(len(dev)) + (i - 0.5) * 0.4
            ax.bar(x, dev, width=0.4, label=name)
        ax.axhspan(-tolerance, tolerance, color="green", alpha=0.12, label=f"±{tolerance:.0%}")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
        ax.set_title(f"{m}: deviation from the territory mean")
        ax.set_xticks([])
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_frontier(front: pd.DataFrame):
    """Balance and compactness against the share of blocks moved."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for col in [c for c in front.columns if c.startswith("max_dev_")]:
        ax.plot(front["share_moved"], front[col], marker="o", label=col.removeprefix("max_dev_"))
    ax.set_xlabel("share of blocks moved")
    ax.set_ylabel("worst deviation from the mean")
    ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax2 = ax.twinx()
    ax2.plot(
        front["share_moved"],
        front["median_km"],
        color="grey",
        linestyle="--",
        marker="s",
        label="median_km",
    )
    ax2.set_ylabel("weighted mean distance to centre (km)")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(lines, labels, frameon=False, fontsize=8)
    ax.set_title("Disruption–quality frontier: pick a point knowingly")
    fig.tight_layout()
    plt.close(fig)
    return fig


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
    params: DesignParams,
    *,
    block: str,
    facts: pd.DataFrame | None = None,
    quotas: pd.DataFrame | None = None,
) -> RepMatching:
    """Reps matched to the proposed territories so each keeps as much of their book (accounts
    and trailing-year revenue) as possible (:func:`~workbench.territory.matching.match_reps`);
    more territories than reps leaves vacancies, more reps than territories unassigned reps.
    With ``params.performance_weight`` > 0, proven performers (:func:`rep_performance`) are
    pushed toward the highest-potential territories."""
    acc = pd.DataFrame(
        {
            "account_id": accounts["account_id"].astype(str),
            "current_rep_id": accounts["owner_rep_id"].astype(object),
            "proposed_territory": accounts[block].astype(str).map(plan.assignment),
            "revenue_usd": accounts["revenue_usd"].astype(float),
        }
    )
    team = active_reps(reps, quarter=params.period)
    team = team.assign(rep_name=team["rep_name"] if "rep_name" in team else team["rep_id"])
    team = team[["rep_id", "rep_name"]]
    if params.performance_weight > 0 and facts is not None:
        perf = rep_performance(facts, quarter=params.period, quotas=quotas)
        team = team.merge(perf, on="rep_id", how="left")
    return match_reps(acc, team, plan.territories, performance_weight=params.performance_weight)


def plan_alignment(
    accounts: pd.DataFrame,
    blocks: pd.DataFrame,
    plan: TerritoryPlan,
    matching: RepMatching,
    *,
    block: str,
) -> pd.DataFrame:
    """One row per account: current and proposed territory and rep, moved or not, and why
    (:func:`~workbench.territory.alignment.account_alignment`)."""
    return account_alignment(
        accounts,
        blocks.set_index("unit_id")["territory"],
        plan.assignment,
        matching.rep_of,
        block=block,
        carry=("revenue_usd", "potential_usd"),
    )


def violations_table(plan: TerritoryPlan) -> pd.DataFrame:
    """The constraints the plan misses, one row each (empty when it is feasible)."""
    return pd.DataFrame(
        [
            {"constraint": v.constraint, "subject": v.subject, "reason": v.reason}
            for v in plan.violations
        ],
        columns=["constraint", "subject", "reason"],
    )


def save_design_outputs(
    processed: str | Path,
    quarter: Quarter | str,
    *,
    blocks: pd.DataFrame,
    plan: TerritoryPlan,
    quotas: pd.DataFrame,
    sizing: dict[str, pd.DataFrame | pd.Series],
    block: str,
    matching: RepMatching,
    alignment: pd.DataFrame,
    headcount: HeadcountCheck | None = None,
) -> list[Path]:
    """``territory_plan``, ``territory_summary``, ``territory_violations``, ``alignment``,
    ``rep_matching``, ``quotas_plan`` and ``sizing`` stage files."""
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
    quota_rows = quotas.rename_axis("territory").reset_index()
    quota_rows.attrs = {}
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
    return [
        save_stage(plan_rows, processed, "territory_plan", quarter),
        save_stage(summary, processed, "territory_summary", quarter),
        save_stage(violations_table(plan), processed, "territory_violations", quarter),
        save_stage(alignment.reset_index(drop=True), processed, "alignment", quarter),
        save_stage(matching.table.reset_index(drop=True), processed, "rep_matching", quarter),
        save_stage(quota_rows, processed, "quotas_plan", quarter),
        save_stage(sizing["capacity"].reset_index(), processed, "sizing", quarter),
    ]
