"""Interactive scenario explorer: notebook 03 (``interactive=True``) and ``apps/explorer.ipynb``.

Analysts tweak a territory plan before it goes to leadership: the number of territories, the
measures to balance and their tolerance bands, the disruption budget, locks, rep home bases as
fixed centres and the quota method. The package has three layers, so that the logic is tested
without a browser and the widgets only present results:

Pure functions
    :mod:`.scenario`: :class:`Scenario` (the settings, JSON round-trip),
    :func:`design_scenario` (one call of :class:`~workbench.territory.TerritoryDesigner`),
    :func:`evaluate_assignment` (a given assignment scored as a plan: every block locked),
    :func:`scenario_quotas`, :func:`scenario_metrics`; :mod:`.files`: scenario files
    (:func:`save_scenario`, :func:`load_scenario`) and :func:`compare_scenarios`;
    :mod:`.panels`: the map / panel builders (:func:`blocks_geojson`, :func:`balance_html`,
    :func:`territory_kpis` ...).
State
    :mod:`.state`: :class:`ScenarioExplorer` holds the data, the settings, the locks and the
    plan on screen; :meth:`~ScenarioExplorer.solve` re-plans within ``live_seconds`` (a
    *preview*: the designer improves today's alignment, no lower bound),
    :meth:`~ScenarioExplorer.refine` runs the full multi-start search with the lower bound (the
    optimality gap) and keeps the better plan. Hand edits: :meth:`~ScenarioExplorer.move`
    moves blocks (a click or a lasso, :func:`blocks_within`) and re-scores the plan at once,
    keeping the last bound so the gap stays measured; :meth:`~ScenarioExplorer.undo` and
    :meth:`~ScenarioExplorer.redo` walk back and forth through the plans shown (edits, solves,
    loads); :meth:`~ScenarioExplorer.adopt` saves the plan and makes the quarter's report use
    it (:mod:`workbench.territory.adopt`).
Widgets
    :mod:`.widgets`: :class:`ExplorerApp` lays out ipywidgets controls, an ipyleaflet map
    (tile-less by default: it works offline) and HTML panels; its callbacks call the state's
    methods and redraw. The refinement runs in a background thread and is abandoned when a
    newer solve starts. :mod:`.app` holds the entry points :func:`app` (the standalone app,
    :class:`ExplorerParams`) and :func:`show` (inside notebook 03).

Saved scenarios are JSON files ``<processed>/scenarios/<name>.json`` (settings, the assignment
block → territory, headline metrics), written atomically by :func:`workbench.io.write_json`.
Reloading one scores the saved assignment again, so it comes back as the identical plan; an
adopted one becomes notebook 03's plan the same way (parameter ``scenario``).

The package attribute ``app`` is the entry-point function (it hides the module of that name).
"""

from .app import ExplorerParams, app, show
from .files import compare_scenarios, list_scenarios, load_scenario, save_scenario
from .panels import (
    PALETTE,
    assign_colours,
    balance_html,
    blocks_geojson,
    headline_html,
    map_view,
    territory_kpis,
)
from .scenario import (
    MEASURES,
    ExplorerData,
    Scenario,
    blocks_within,
    design_scenario,
    evaluate_assignment,
    load_explorer_data,
    plan_quality,
    scenario_metrics,
    scenario_quotas,
    toggle_lock,
)
from .state import ScenarioExplorer, SearchCancelled
from .widgets import ExplorerApp

__all__ = [
    "MEASURES",
    "PALETTE",
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
    "blocks_within",
    "compare_scenarios",
    "design_scenario",
    "evaluate_assignment",
    "headline_html",
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
