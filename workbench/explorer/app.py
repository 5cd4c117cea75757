"""The explorer's entry points: :func:`app` (the standalone app, ``apps/explorer.ipynb``, with its
:class:`ExplorerParams`) and :func:`show` (inside notebook 03)."""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import pandas as pd

from .. import territory as td
from ..config import Params, Quarter, processed_dir, project_root
from ..io import stage_folder
from ..territory import TerritoryPlan
from ..territory.adopt import params_file
from ..territory.workflow import named_problems, named_settings
from .scenario import MEASURES, Scenario, load_explorer_data
from .state import ScenarioExplorer
from .widgets import _CSS, BASEMAPS, ExplorerApp

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
    named_employees: int = 0
    named_top_potential: int = 0
    named_abc_class: str = ""
    named_reps: list[str] = dataclasses.field(default_factory=list)
    named_seats: int = 0
    inside_sales: float = 0.0
    districts: int = 0
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
        problems += named_problems(self)
        if self.districts < 0:
            problems.append("districts must be ≥ 0 (0: off)")
        if self.basemap not in BASEMAPS:
            problems.append(f"basemap must be one of {', '.join(BASEMAPS)} (none works offline)")
        return problems

    @property
    def processed(self) -> Path:
        return processed_dir(self.data_dir)

    def named_options(self) -> dict:
        """The named-account rule and team of :func:`load_explorer_data` (as notebook 03's)."""
        return named_settings(self)


def app(params: ExplorerParams):
    """The standalone app (``apps/explorer.ipynb``): load the data, return the widget.

    ``params.quarter`` empty picks the data's default quarter; ``params.k`` 0 means one
    territory per active rep. When the processed data or notebooks 01-02's outputs are missing
    the app shows what to run instead of a traceback (Voila hides tracebacks by default).
    """
    try:
        data = load_explorer_data(
            params.processed,
            quarter=params.quarter,
            block=params.building_block,
            named=params.named_options(),
            inside_sales=params.inside_sales,
        )
    except FileNotFoundError as exc:
        import ipywidgets as W

        return W.HTML(
            f'{_CSS}<div class="wbx-status err" data-state="no-data"><b>No data to explore '
            f"yet.</b> {html.escape(str(exc))}<br>Run <code>make report</code> (or "
            "<code>workbench ingest</code>, then notebooks 01 and 02), then reload.</div>"
        )
    scenario = Scenario(
        k=data.resolve_k(params.k),
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
        scenarios_dir=stage_folder(params.processed, "scenarios"),
        report_params=params_file(project_root(), data.quarter),
        districts=params.districts,
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
    params : workbench.territory.workflow.DesignParams
        Notebook 03's validated parameters (k, balance, tolerance, budget, quota settings;
        ``effort`` and ``time_limit`` become the background refinement's).
    inputs : workbench.territory.workflow.DesignInputs
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
