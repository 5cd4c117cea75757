"""The explorer's widgets: :class:`ExplorerApp` lays out ipywidgets controls, an ipyleaflet map
and HTML panels; its callbacks call the state's methods and redraw."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Mapping

import pandas as pd

from ..config import ParameterError
from ..plots import pct
from .panels import (
    assign_colours,
    balance_html,
    block_html,
    blocks_geojson,
    compare_html,
    counties_geojson,
    headline_html,
    kpis_html,
    map_view,
    notes_html,
    reps_geojson,
    territory_kpis,
)
from .scenario import MEASURE_LABELS, MEASURES, blocks_within
from .state import ScenarioExplorer

BASEMAPS = ("none", "openstreetmap")

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
        self.rep_home_centers = W.Checkbox(
            value=sc.rep_home_centers,
            indent=False,
            layout=wide,
            description=f"Rep homes as fixed centres (k = {n_reps})",
            disabled=n_reps < 2,
        )
        self.rep_home_centers.add_class("wbx-rep-home-centers")
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
        self.adopt_button = W.Button(
            description="Adopt for the report",
            layout=wide,
            disabled=ex.scenarios_dir is None or ex.report_params is None,
            tooltip="Save the plan on screen under the name above and make the quarter's report "
            "use exactly this plan",
        )
        self.adopt_button.add_class("wbx-adopt")

        # -- hand edits -----------------------------------------------------------------
        self.click_mode = W.ToggleButtons(
            options=[("Lock", "lock"), ("Move", "move")],
            value="lock",
            description="Map click",
            style={"description_width": "70px", "button_width": "80px"},
            layout=wide,
        )
        self.click_mode.add_class("wbx-click-mode")
        self.move_to = W.Dropdown(
            options=[], description="Move to", style={"description_width": "70px"}, layout=wide
        )
        self.move_to.add_class("wbx-move-to")
        self.undo_button = W.Button(description="Undo", layout=W.Layout(width="48%"))
        self.undo_button.add_class("wbx-undo")
        self.redo_button = W.Button(description="Redo", layout=W.Layout(width="48%"))
        self.redo_button.add_class("wbx-redo")

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
                self.rep_home_centers,
                W.HBox(
                    [self.solve_button, self.clear_button],
                    layout=W.Layout(justify_content="space-between", margin="6px 0 2px 0"),
                ),
                self.locks_label,
                self.refine,
                *h(
                    "Edit by hand",
                    "Move mode: a click moves the block to the territory below; the rectangle "
                    "and polygon tools on the map move every block inside. Each edit is "
                    "re-scored at once.",
                ),
                self.click_mode,
                self.move_to,
                W.HBox(
                    [self.undo_button, self.redo_button],
                    layout=W.Layout(justify_content="space-between"),
                ),
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
                self.adopt_button,
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
        # the lasso: a rectangle or polygon moves the blocks inside (no other drawing tools)
        self.draw = L.DrawControl(
            rectangle={"shapeOptions": {"color": "#111111", "weight": 1.5, "fillOpacity": 0.08}},
            polygon={"shapeOptions": {"color": "#111111", "weight": 1.5, "fillOpacity": 0.08}},
            polyline={},
            circlemarker={},
            circle={},
            marker={},
            edit=False,
            remove=False,
            position="topleft",
        )
        self.draw.on_draw(self._guard(self._on_draw))
        self.map.add(self.draw)
        self.map.add(L.ScaleControl(position="bottomleft", imperial=False))
        levels = [("Territories", "territory"), ("Districts", "district")]
        if "region" in b and b["region"].notna().any():
            levels.append(("Regions", "region"))
        self.highlight = W.ToggleButtons(
            options=[*levels, ("Moved blocks", "moved")],
            value="territory",
            style={"button_width": "100px"},
            layout=W.Layout(width="auto", flex="0 0 auto"),
        )
        self.highlight.add_class("wbx-level")
        self.n_districts = W.BoundedIntText(
            value=max(1, min(ex.districts or max(2, round(sc.k / 4)), sc.k)),
            min=1,
            max=max(1, n_blocks),
            description="Districts",
            disabled=True,
            style={"description_width": "60px"},
            layout=W.Layout(width="130px"),
        )
        self.n_districts.add_class("wbx-n-districts")
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
                    [self.highlight, self.n_districts, legend],
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
        self.adopt_button.on_click(self._guard(self._on_adopt))
        self.undo_button.on_click(self._guard(self._on_undo))
        self.redo_button.on_click(self._guard(self._on_redo))
        self.history.observe(self._guard(self._on_history), "value")
        self.highlight.observe(self._guard(self._on_level), "value")
        self.n_districts.observe(self._guard(self._on_level), "value")
        self.rep_home_centers.observe(self._guard(self._on_rep_home_centers), "value")
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
            names = [str(t) for t in ex.plan.territories.index]
            keep = self.move_to.value if self.move_to.value in names else None
            self.move_to.options = names
            self.move_to.value = keep or (names[0] if names else None)
            self.n_districts.max = max(1, ex.plan.k)  # no more districts than territories
            self.undo_button.disabled = not ex.can_undo
            self.redo_button.disabled = not ex.can_redo

    def _draw_map(self) -> None:
        ex = self.explorer
        level = self.highlight.value
        groups = None
        if level in ("district", "region"):
            n = min(int(self.n_districts.value), ex.plan.k)  # the plan may have fewer now
            try:
                groups = ex.groups(level, n)
            except Exception as exc:  # never block the redraw: colour by territory instead
                self.highlight.value = "territory"
                self._set_status(
                    html.escape(f"{level.title()} colours unavailable: {exc}"),
                    state="error",
                    error=True,
                )
                return
        self.blocks_layer.data = blocks_geojson(
            ex.data.blocks,
            ex.plan.assignment,
            ex.colours,
            locks=ex.scenario.locks,
            highlight_moved=level == "moved",
            groups=groups,
            group_colours=None if groups is None else assign_colours(groups.dropna().unique()),
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
            "edited": "Plan edited by hand",
        }
        return (
            f"{what.get(ex.plan_kind, 'Plan')}: {ex.plan.k} territories. Change the settings "
            "and press <b>Solve</b> to re-plan."
        )

    # -- callbacks --------------------------------------------------------------------------
    def _guard(self, fn: Callable) -> Callable:
        """Show a callback's error in the status line (widget errors are invisible otherwise)."""

        def run(*args, **kwargs):
            try:
                fn(*args, **kwargs)
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
            "rep_home_centers": bool(self.rep_home_centers.value),
            "history_weight": round(float(self.history.value), 4),
        }

    def _on_setting(self, _change=None) -> None:
        if not self._syncing:
            self._set_status("Settings changed: press <b>Solve</b> to re-plan.", state="changed")

    def _on_rep_home_centers(self, change) -> None:
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
                try:
                    self.refresh()
                except Exception as exc:
                    self._set_status(
                        html.escape(f"Redraw after refinement failed: {exc}"),
                        state="error",
                        error=True,
                    )
                    return
                gap = plan.gap
                self._set_status(
                    f"Refined plan: {plan.k} territories after {time.perf_counter() - t0:.1f} s"
                    + (f" · optimality gap ≤ {pct(gap, 1)}" if gap is not None else "")
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

    def _on_level(self, _change=None) -> None:
        """Colour the map by another level (territory, district, region, moved blocks)."""
        level = self.highlight.value
        self.n_districts.disabled = level != "district"
        with self._ui_lock:
            self._draw_map()
        if level == "district":
            n = int(self.n_districts.value)
            self._set_status(
                f"Colour: the {self.explorer.plan.k} territories on screen in {n} contiguous "
                "districts balanced on territory count and the measures (the engine, territories "
                "as units).",
                state="level-district",
            )
        elif level == "region":
            self._set_status("Colour: regions (geo_units.csv).", state="level-region")

    def _on_clear(self, _button=None) -> None:
        self.explorer.clear_locks()
        self._draw_map()
        self._set_status("Locks cleared: press <b>Solve</b> to re-plan.", state="changed")

    def move(self, unit_ids: list[str], *, how: str) -> None:
        """Move blocks to the *Move to* territory, re-score and redraw (a click or the lasso)."""
        target = self.move_to.value
        if not target:
            raise ValueError("choose the territory to move to")
        t0 = time.perf_counter()
        with self._ui_lock:
            before = self.explorer.plan.assignment
            plan = self.explorer.move(unit_ids, target)
            self.refresh()
        n = int((plan.assignment != before.reindex(plan.assignment.index)).sum())
        gap = plan.gap
        self._set_status(
            f"{how}: {n} block{'s' if n != 1 else ''} moved to {html.escape(str(target))}, "
            f"re-scored in {time.perf_counter() - t0:.2f} s · mean distance "
            f"{plan.median_km:.1f} km"
            + (f" · gap ≤ {pct(gap, 1)}" if gap is not None else "")
            + (" · contiguous" if plan.contiguous else " · <b>not contiguous</b>")
            + (f" · {len(plan.violations)} constraint(s) not met" if plan.violations else ""),
            state="edited",
        )

    def _on_draw(self, _control=None, action: str = "", geo_json=None, **_kw) -> None:
        if action != "created" or not geo_json:
            return
        self.draw.clear()
        ids = blocks_within(self.explorer.data.blocks, geo_json)
        if not ids:
            raise ValueError("the shape holds no block: draw around the blocks to move")
        self.move(ids, how=f"Lasso around {len(ids)} block{'s' if len(ids) != 1 else ''}")

    def _on_undo(self, _button=None) -> None:
        with self._ui_lock:
            self.explorer.undo()
            self._sync_controls()
            self.refresh()
        self._set_status(f"Undone: {self._plan_message()}", state="undone")

    def _on_redo(self, _button=None) -> None:
        with self._ui_lock:
            self.explorer.redo()
            self._sync_controls()
            self.refresh()
        self._set_status(f"Redone: {self._plan_message()}", state="redone")

    def _on_adopt(self, _button=None) -> None:
        name = self.name.value.strip()
        path = self.explorer.adopt(name)
        self.saved.options = self.explorer.saved()
        self._set_status(
            f"Scenario <b>{html.escape(name)}</b> saved and adopted: the "
            f"{html.escape(str(self.explorer.data.quarter))} report will use exactly this plan "
            f"({html.escape(str(path))}).",
            state="adopted",
        )

    def _on_block_click(self, event=None, feature=None, **_kw) -> None:
        uid = str((feature or {}).get("properties", {}).get("unit_id", ""))
        if not uid:
            return
        if self.click_mode.value == "move":
            self.move([uid], how=f"Block {html.escape(uid)}")
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
            self.rep_home_centers.value = sc.rep_home_centers
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
