"""The scenario explorer without a browser: settings, locks, solving, scenario files, the
comparison table, and the widgets' callbacks driven from Python.

The fixture is a hand-built 6 x 4 grid of ZIP blocks (two accounts each) whose numbers make
the expected values easy to work out by hand:

* today R1 holds columns 0-1, R2 columns 2-3, R3 columns 4-5;
* an account's potential is 100 + 10 × column, so a column of 4 blocks (8 accounts) holds
  8 × (100 + 10c): today R1 = 1680, R2 = 2000, R3 = 2320, mean 2000, deviations -16 %, 0, +16 %;
* workload (10 h) and revenue ($50) are the same for every account, so today is balanced on
  both.
"""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import json
import pkgutil
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import explorer as X
from workbench import territory as td
from workbench.config import ParameterError, Quarter
from workbench.report import notebook_parameters

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "apps" / "explorer.ipynb"

ROWS, COLS = 4, 6


def _grid_accounts() -> pd.DataFrame:
    rows = []
    for r in range(ROWS):
        for c in range(COLS):
            zip_code = f"3{r}{c}00"
            # a small deterministic jitter keeps the Delaunay triangulation non-degenerate
            lat, lon = 33.0 + 0.1 * r + 0.003 * ((3 * r + 5 * c) % 4), -84.0 + 0.1 * c
            owner = ("R1", "R1", "R2", "R2", "R3", "R3")[c]
            for a in range(2):
                rows.append(
                    {
                        "account_id": f"A{r}{c}{a}",
                        "account_name": f"Acc {r}{c}{a}",
                        "postal_code": zip_code,
                        "lat": lat,
                        "lon": lon,
                        "status": "customer",
                        "owner_rep_id": owner,
                        "potential_usd": 100.0 + 10 * c,
                        "hours_per_year": 10.0,
                        "revenue_usd": 50.0,
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture
def data() -> X.ExplorerData:
    accounts = _grid_accounts()
    blocks = td.building_blocks(accounts, block="postal_code")
    adjacency = td.block_adjacency(blocks, block="postal_code")
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3"],
            "rep_name": ["Ada", "Ben", "Cy"],
            "home_lat": [33.15, 33.15, 33.15],
            "home_lon": [-83.95, -83.75, -83.55],
            "active": ["true", "true", "true"],
        }
    )
    quarters = [str(Quarter.parse("2024Q4") + i) for i in range(8)]
    facts = pd.DataFrame(
        [
            {"account_id": a, "quarter": q, "won_usd": 10.0}
            for a in accounts["account_id"]
            for q in quarters
        ]
    )
    return X.ExplorerData(
        blocks=blocks,
        adjacency=adjacency,
        accounts=accounts,
        reps=reps,
        facts=facts,
        quarter=Quarter.parse("2026Q3"),
        block="postal_code",
    )


@pytest.fixture
def explorer(data, tmp_path) -> X.ScenarioExplorer:
    scenario = X.Scenario(
        k=3, balance=("potential_usd", "workload_hours"), tolerance=0.1, max_moved=1.0
    )
    return X.ScenarioExplorer(
        data, scenario, scenarios_dir=tmp_path / "scenarios", live_seconds=0.3, refine_seconds=1.0
    )


def _today(data) -> pd.Series:
    return data.blocks.set_index("unit_id")["territory"]


def _worst_deviation(data, assignment: pd.Series, measure: str) -> float:
    """Independent oracle: sums per territory from the blocks, then max |sum - mean| / mean."""
    sums = data.blocks.set_index("unit_id")[measure].groupby(assignment).sum()
    return float((sums - sums.mean()).abs().max() / sums.mean())


# ---------------------------------------------------------------------------------------------
# Settings and locks


def test_module_doctests_pass():
    modules = [X] + [
        importlib.import_module(f"{X.__name__}.{m.name}") for m in pkgutil.iter_modules(X.__path__)
    ]
    results = [doctest.testmod(m) for m in modules]
    result = doctest.TestResults(*(sum(r) for r in zip(*results, strict=True)))
    assert result.attempted > 5 and result.failed == 0


def test_scenario_round_trips_through_its_dict():
    s = X.Scenario(
        k=4,
        balance=["accounts", "revenue_usd"],
        tolerance={"accounts": 0.1},
        max_moved=0.2,
        rep_home_centers=True,
        history_weight=0.25,
        seed=3,
        locks={"b": "T02", "a": "T01"},
    )
    assert s.tolerance == {"accounts": 0.1, "revenue_usd": 0.05}  # unnamed measures: ±5 %
    assert list(s.locks) == ["a", "b"]
    assert X.Scenario.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    with pytest.raises(ParameterError, match="unknown scenario setting"):
        X.Scenario.from_dict({**s.to_dict(), "colour": "red"})


def test_scenario_problems_are_all_reported_at_once():
    s = X.Scenario(k=0, balance=(), max_moved=1.5, history_weight=-0.1)
    text = "\n".join(s.problems(n_blocks=24))
    for expected in (
        "k must be between 1 and the number of blocks (24)",
        "at least one measure",
        "max_moved must be in [0, 1]",
        "history_weight must be in [0, 1]",
    ):
        assert expected in text
    assert X.Scenario(k=3, tolerance=1.0).problems() == [
        "tolerance of potential_usd must be in (0, 1), got 1.0",
        "tolerance of workload_hours must be in (0, 1), got 1.0",
    ]


def test_update_rejects_bad_settings_and_keeps_the_old_ones(explorer):
    before = explorer.scenario
    with pytest.raises(ParameterError, match="unknown measure"):
        explorer.update(balance=("population",))
    assert explorer.scenario == before


def test_lock_toggles_to_the_territory_on_screen(explorer, data):
    # a block in column 3 is R2's today (the plan on screen at start)
    uid = "30300"
    assert explorer.plan_kind == "today" and explorer.plan.assignment[uid] == "R2"
    assert explorer.toggle_lock(uid) == "R2"
    assert explorer.scenario.locks == {uid: "R2"}
    assert explorer.toggle_lock(uid) is None
    assert explorer.scenario.locks == {}
    explorer.toggle_lock(uid)
    explorer.clear_locks()
    assert explorer.scenario.locks == {}
    with pytest.raises(KeyError, match="unknown block"):
        explorer.toggle_lock("99999")


def test_locks_hold_in_the_next_plan(explorer, data):
    # Column 3 (R2 today) locked to R3: a plan meeting the bands would otherwise keep it in
    # R2 or move it; the lock must win.
    locks = {f"3{r}300": "R3" for r in range(ROWS)}
    explorer.update(locks=locks)
    plan = explorer.solve()
    assert all(plan.assignment[u] == "R3" for u in locks)
    assert explorer.plan_scenario.locks == locks
    assert plan.units.loc[list(locks), "locked"].all()


def test_too_many_locked_territories_is_a_clear_error(explorer):
    explorer.update(k=2, locks={"30000": "R1", "30200": "R2", "30400": "R3"})
    with pytest.raises(ParameterError, match="3 distinct territories locked"):
        explorer.solve()


def test_rep_home_centres_need_one_territory_per_active_rep(explorer):
    explorer.update(rep_home_centers=True, k=2)
    with pytest.raises(ParameterError, match="need one territory per active rep: k = 3"):
        explorer.solve()
    explorer.update(k=3)
    plan = explorer.solve()
    assert sorted(plan.territories.index) == ["R1", "R2", "R3"]
    assert "home_km" in plan.territories


# ---------------------------------------------------------------------------------------------
# Plans, metrics and quotas


def test_today_is_scored_exactly(explorer, data):
    plan = explorer.today()
    assert plan.assignment.to_dict() == _today(data).to_dict()
    # hand calculation (module docstring): potential -16 %, 0, +16 %; workload all equal
    dev = plan.deviation_pct
    assert dev.loc[["R1", "R2", "R3"], "potential_usd"].round(6).tolist() == [-16.0, 0.0, 16.0]
    assert np.allclose(dev["workload_hours"], 0.0)
    assert plan.n_moved == 0


def test_solve_balances_and_counts_moves_against_today(explorer, data):
    plan = explorer.solve()
    assert explorer.plan_kind == "preview" and explorer.plan is plan
    assert plan.k == 3 and plan.balanced and plan.contiguous
    worst = _worst_deviation(data, plan.assignment, "potential_usd")
    assert worst <= 0.1 + 1e-9
    moved = int((plan.assignment != _today(data).reindex(plan.assignment.index)).sum())
    assert plan.n_moved == moved > 0  # today misses the potential band: something must move


def test_disruption_budget_is_respected(explorer, data):
    explorer.update(max_moved=0.1)  # 10 % of 24 blocks: at most 2 may move
    plan = explorer.solve()
    assert plan.n_moved <= 2
    metrics = explorer.metrics()
    assert metrics["budget_blocks"] == 2
    assert metrics["accounts_moved"] == 2 * plan.n_moved  # two accounts per block


def test_history_weight_requotes_the_plan_on_screen(explorer):
    # Today: history shares 1/3 each (equal revenue); potential shares 0.28, 1/3, 0.38667.
    # Target = 48 accounts x $50 x 1.08 = $2,592.
    explorer.update(history_weight=0.5)
    q = explorer.quotas
    assert q.loc["R1", "quota_usd"] == pytest.approx(2592 * (0.5 / 3 + 0.5 * 0.28))
    explorer.update(history_weight=1.0)
    assert explorer.quotas["quota_usd"].tolist() == pytest.approx([864.0] * 3)
    assert explorer.metrics()["quota_cv"] == pytest.approx(0.0)
    assert explorer.plan_scenario.history_weight == 1.0


def test_refine_keeps_the_better_plan_with_its_bound(explorer):
    preview = explorer.solve()
    plan = explorer.refine()
    assert explorer.plan_kind == "refined" and explorer.plan is plan
    assert X.plan_quality(plan) <= X.plan_quality(preview)
    assert plan.lower_bound_km is not None and plan.gap is not None and plan.gap >= 0


def test_refine_of_a_superseded_solve_changes_nothing(explorer):
    explorer.solve()
    old = explorer.generation
    explorer.update(k=2)
    newer = explorer.solve()
    assert explorer.refine(old) is None
    assert explorer.plan is newer and explorer.plan_kind == "preview"


def test_plan_quality_orders_budget_then_balance_then_distance(explorer):
    a = explorer.solve()
    worse = dataclasses.replace(a, objective_km=a.objective_km + 1)
    assert X.plan_quality(a) < X.plan_quality(worse)
    over = dataclasses.replace(a, max_moved=max(a.n_moved - 1, 0))
    assert X.plan_quality(a) < X.plan_quality(over)


# ---------------------------------------------------------------------------------------------
# Scenario files


def test_saved_scenario_reloads_to_the_identical_plan(explorer, tmp_path):
    explorer.update(k=3, tolerance=0.08, locks={"30000": "R1"})
    explorer.solve()
    saved = explorer.refine()
    path = explorer.save("base-plan")
    assert path == tmp_path / "scenarios" / "base-plan.json"
    assert [p.name for p in path.parent.iterdir()] == ["base-plan.json"]  # no temp file left
    record = json.loads(path.read_text())
    assert record["assignment"] == saved.assignment.to_dict()
    assert record["scenario"]["locks"] == {"30000": "R1"}
    assert record["search"] == "refined"

    explorer.update(k=2, locks={})
    explorer.solve()
    gen = explorer.generation
    plan = explorer.load("base-plan")
    assert plan.assignment.equals(saved.assignment)
    assert plan.median_km == pytest.approx(saved.median_km)
    assert plan.max_deviation.equals(saved.max_deviation)
    assert plan.n_moved == saved.n_moved
    assert plan.gap == pytest.approx(saved.gap)
    assert explorer.scenario == X.Scenario.from_dict(record["scenario"])
    assert explorer.plan_kind == "loaded" and explorer.generation == gen + 1


def test_scenario_names_are_checked(explorer):
    for bad in ("", "../evil", "a/b", "has space", "x.json", "-dash-first"):
        with pytest.raises(ValueError, match="scenario name"):
            explorer.save(bad)
    with pytest.raises(FileNotFoundError, match="no saved scenario 'nope'"):
        explorer.load("nope")


def test_saving_replaces_a_scenario_of_the_same_name(explorer):
    explorer.solve()
    explorer.save("a")
    explorer.update(k=2)
    explorer.solve()
    explorer.save("a")
    assert explorer.saved() == ["a"]
    assert X.load_scenario(explorer.scenarios_dir, "a")["metrics"]["k"] == 2


def test_a_scenario_saved_for_other_blocks_is_refused(explorer, data, tmp_path):
    explorer.solve()
    explorer.save("grid")
    blocks = data.blocks.iloc[:-1].reset_index(drop=True)
    fewer = dataclasses.replace(
        data, blocks=blocks, adjacency=td.block_adjacency(blocks, block="postal_code")
    )
    other = X.ScenarioExplorer(fewer, explorer.scenario, scenarios_dir=explorer.scenarios_dir)
    with pytest.raises(ValueError, match="saved for other blocks"):
        other.load("grid")
    with pytest.raises(ValueError, match="does not fit these blocks: 0 block"):
        X.evaluate_assignment(
            fewer, explorer.scenario, X.load_scenario(tmp_path / "scenarios", "grid")["assignment"]
        )


def test_saving_needs_a_folder(data):
    ex = X.ScenarioExplorer(data, X.Scenario(k=3), scenarios_dir=None)
    assert ex.saved() == []
    with pytest.raises(ValueError, match="saving is off"):
        ex.save("x")


def test_compare_shows_scenarios_side_by_side(explorer, data):
    explorer.update(k=3, tolerance=0.1, max_moved=1.0)
    three = explorer.solve()
    explorer.save("three")
    explorer.update(k=2, balance=("potential_usd",), tolerance=0.05, history_weight=1.0)
    two = explorer.solve()
    explorer.save("two")
    table = explorer.compare(["three", "two"])
    assert list(table.columns) == ["today", "on screen", "three", "two"]
    today = _today(data)
    for name, plan in (("three", three), ("two", two)):
        col = table[name]
        assert col["territories"] == plan.k
        moved = int((plan.assignment != today.reindex(plan.assignment.index)).sum())
        assert col["blocks moved"] == moved
        assert col["share of blocks moved (%)"] == pytest.approx(round(100 * moved / 24, 1))
        assert col["worst Potential deviation (%)"] == pytest.approx(
            round(100 * _worst_deviation(data, plan.assignment, "potential_usd"), 1)
        )
    assert table.loc["worst Potential deviation (%)", "today"] == 16.0
    assert table.loc["blocks moved", "today"] == 0
    # workload was balanced only in "three": "two" has no workload row value
    assert pd.isna(table.loc["worst Workload deviation (%)", "two"])
    assert table.loc["history weight", "two"] == 1.0
    assert table.loc["quota spread (cv %)", "two"] == 0.0  # history only: everyone at 100 %


# ---------------------------------------------------------------------------------------------
# Presentation helpers


def test_colours_stay_with_their_territory():
    first = X.assign_colours(["R3", "R1", "R2"])
    later = X.assign_colours(["R1", "T01", "R3"], first)
    assert later["R1"] == first["R1"] and later["R3"] == first["R3"]
    assert later["T01"] not in set(first.values())
    many = X.assign_colours([f"T{i:02d}" for i in range(30)])
    assert len(set(list(many.values())[: len(X.PALETTE)])) == len(X.PALETTE)


def test_blocks_geojson_styles_territories_locks_and_moves(explorer, data):
    plan = explorer.solve()
    fc = X.blocks_geojson(
        data.blocks, plan.assignment, explorer.colours, locks={"30000": "R1"}, highlight_moved=True
    )
    json.dumps(fc)  # plain JSON types only: ipywidgets must serialise it
    feats = {f["id"]: f for f in fc["features"]}
    assert len(feats) == 24
    for uid, f in feats.items():
        p = f["properties"]
        assert p["style"]["fillColor"] == explorer.colours[plan.assignment[uid]]
        assert p["moved"] == (plan.assignment[uid] != today_of(data, uid))
        assert p["style"]["fillOpacity"] == (0.9 if p["moved"] else 0.25)
    assert feats["30000"]["properties"]["locked"]
    assert feats["30000"]["properties"]["style"]["color"] == "#111111"
    radius = [feats[f"30{c}00"]["properties"]["style"]["radius"] for c in range(COLS)]
    assert radius == sorted(radius) and radius[-1] == 11.0  # largest potential: 3 + 8


def today_of(data, uid):
    return _today(data)[uid]


def test_panels_show_every_territory_against_its_band(explorer, data):
    plan = explorer.today()
    html = X.balance_html(plan, explorer.colours)
    assert html.count('class="wbx-row"') == 3
    assert html.count('wbx-fill wbx-bad"') == 2  # R1 and R3 off the ±10 % potential band
    assert "-16.0%" in html and "+16.0%" in html and "band ±10.0%" in html
    kpis = X.territory_kpis(data.blocks, plan, explorer.quotas, data.reps)
    assert kpis["potential_usd"].tolist() == [1680.0, 2000.0, 2320.0]
    assert kpis["rep"].tolist() == ["Ada", "Ben", "Cy"]
    assert kpis["blocks"].tolist() == [8, 8, 8]
    cards = X.headline_html(explorer.metrics(), kind="today", budget_share=1.0)
    assert "±16.0%" in cards and "today's alignment" in cards


def test_map_view_fits_the_points():
    (lat, lon), zoom = X.map_view([0.0, 0.0], [-1.0, 1.0], width_px=512, height_px=512, padding=0.0)
    # 2 degrees of 360 across 512 px: 256 * 2**z * 2/360 = 512  ->  z = log2(360) = 8.49
    assert (lat, lon) == (pytest.approx(0.0), 0.0) and zoom == 8.25


# ---------------------------------------------------------------------------------------------
# The widgets, driven from Python


@pytest.fixture
def ui(explorer):
    return X.ExplorerApp(explorer, refine=False)


def _status(ui) -> dict:
    return dict(re.findall(r'data-(\w+)="([^"]*)"', ui.status.value))


def test_app_solve_redraws_map_and_panels(ui, explorer):
    colours = {f["properties"]["style"]["fillColor"] for f in ui.blocks_layer.data["features"]}
    assert len(colours) == 3 and _status(ui)["state"] == "today"
    ui.k.value = 2
    assert _status(ui)["state"] == "changed"
    timing = ui.solve()
    assert set(timing) == {"solve_s", "refresh_s", "total_s"}
    assert _status(ui) == {"state": "preview", "k": "2", "generation": "1"}
    colours = {f["properties"]["style"]["fillColor"] for f in ui.blocks_layer.data["features"]}
    assert len(colours) == 2
    assert ui.balance_panel.value.count('class="wbx-row"') == 2
    assert ui.kpi_panel.value.count('class="wbx-row"') == 2


def test_app_click_locks_and_hover_shows_the_block(ui, explorer):
    ui._on_block_hover(event="mouseover", feature={"properties": {"unit_id": "30500"}})
    assert "Block 30500" in ui.block_panel.value and "$300" in ui.block_panel.value
    ui._on_block_click(event="click", feature={"properties": {"unit_id": "30500"}})
    assert explorer.scenario.locks == {"30500": "R3"}
    feats = {f["id"]: f for f in ui.blocks_layer.data["features"]}
    assert feats["30500"]["properties"]["locked"]
    assert (
        "locked to R3" in ui.status.value
        and "1 block locked (apply on Solve)" in ui.locks_label.value
    )
    ui.clear_button.click()
    assert explorer.scenario.locks == {}


def test_app_history_slider_requotes_without_solving(ui, explorer):
    gen = explorer.generation
    ui.history.value = 1.0
    assert explorer.generation == gen and explorer.quotas["quota_usd"].tolist() == pytest.approx(
        [864.0] * 3
    )
    assert "$864" in ui.kpi_panel.value
    assert _status(ui)["state"] == "requoted"


def test_app_save_load_compare_buttons(ui, explorer):
    ui.solve()
    ui.name.value = "first"
    ui.save_button.click()
    assert ui.saved.options == ("first",) and _status(ui)["state"] == "saved"
    ui.k.value = 2
    ui.solve()
    ui.saved.value = ("first",)
    ui.load_button.click()
    assert _status(ui)["state"] == "loaded" and ui.k.value == 3 and explorer.plan.k == 3
    ui.compare_button.click()
    assert ui.tabs.selected_index == 2
    for name in ("today", "on screen", "first"):
        assert f"<th>{name}</th>" in ui.compare_panel.value


def test_app_shows_errors_in_the_status_line(ui, explorer):
    for m in X.MEASURES:
        ui.measure_on[m].value = False
    ui.solve_button.click()
    assert _status(ui)["state"] == "error" and "choose at least one measure" in ui.status.value
    ui.name.value = "bad name"
    ui.save_button.click()
    assert "scenario name" in ui.status.value


def test_app_rep_centres_pin_k_to_the_reps(ui, explorer):
    ui.k.value = 2
    ui.rep_home_centers.value = True
    assert ui.k.value == 3 and ui.k.disabled
    ui.rep_home_centers.value = False
    assert not ui.k.disabled


def test_app_background_refinement_replaces_the_preview(explorer):
    ui = X.ExplorerApp(explorer, refine=True)
    ui.solve()
    ui.wait_refined(30)
    assert explorer.plan_kind == "refined" and _status(ui)["state"] == "refined"
    assert "optimality gap" in ui.cards.value.lower()


def test_basemap_choice_and_offline_default(explorer):
    offline = X.ExplorerApp(explorer, refine=False)
    assert offline.map.layers[0] is not None
    assert not any(type(layer).__name__ == "TileLayer" for layer in offline.map.layers)
    online = X.ExplorerApp(explorer, basemap="openstreetmap", refine=False)
    assert any(type(layer).__name__ == "TileLayer" for layer in online.map.layers)
    with pytest.raises(ParameterError, match="basemap must be one of"):
        X.ExplorerApp(explorer, basemap="satellite")


# ---------------------------------------------------------------------------------------------
# Entry points


def test_explorer_params_validate_everything_at_once():
    with pytest.raises(ParameterError) as err:
        X.ExplorerParams.from_mapping({"basemap": "satellite", "tolerance": 2.0, "k": -1})
    for expected in (
        "basemap must be one of none, openstreetmap",
        "tolerance must be in (0, 1)",
        "k must be ≥ 0",
    ):
        assert expected in str(err.value)


def test_app_notebook_is_thin_and_matches_its_params():
    cells = json.loads(APP.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert cells[0]["cell_type"] == "markdown" and cells[0]["source"][0].startswith("# ")
    assert all(not c.get("outputs") for c in code), "commit the app without outputs"
    assert all(
        "def " not in "".join(c["source"]) and "class " not in "".join(c["source"]) for c in code
    )
    assert "".join(code[-1]["source"]) == (
        "explorer.app(explorer.ExplorerParams.from_notebook(locals()))"
    )
    declared = notebook_parameters(APP)
    fields = X.ExplorerParams.names()
    assert list(declared) == list(fields)
    for name, (_type_name, default) in declared.items():
        assert default == fields[name][1], name


def test_show_builds_the_notebook_03_explorer(data, tmp_path):
    params = td.DesignParams(
        quarter="2026Q3", data_dir=str(tmp_path), k=0, tolerance=0.1, max_moved=1.0, time_limit=1.0
    )
    inputs = td.DesignInputs(
        accounts=data.accounts, reps=data.reps, facts=data.facts, polygons=None
    )
    widget = X.show(params, inputs, data.blocks, data.adjacency)
    assert type(widget).__name__ == "VBox" and "wbx-app" in widget._dom_classes


def test_app_without_data_says_what_to_run(tmp_path):
    widget = X.app(X.ExplorerParams(data_dir=str(tmp_path)))
    assert type(widget).__name__ == "HTML"
    assert "No data to explore yet" in widget.value and "make report" in widget.value


# ---------------------------------------------------------------------------------------------
# Hand edits, undo and adoption


def test_a_hand_move_is_rescored_at_once(explorer, data):
    # today (module docstring): potential 1680 / 2000 / 2320, workload 160 h each. Block 30200
    # (column 2: 2 accounts x $120 potential, 2 x 10 h) moves from R2 to R1: potential
    # 1920 / 1760 / 2320 against the mean 2000, workload 180 / 140 / 160 h against 160.
    plan = explorer.move(["30200"], "R1")
    assert explorer.plan_kind == "edited" and explorer.plan is plan
    assert plan.assignment["30200"] == "R1" and plan.n_moved == 1
    dev = plan.deviation_pct.loc[["R1", "R2", "R3"]].round(6)
    assert dev["potential_usd"].tolist() == [-4.0, -12.0, 16.0]
    assert dev["workload_hours"].tolist() == [12.5, -12.5, 0.0]
    assert plan.contiguous and plan.gap is None  # no search has bounded this problem yet
    back = explorer.move("30200", "R2")
    assert back.assignment.to_dict() == _today(data).to_dict()
    assert back.median_km == pytest.approx(explorer.today().median_km)


def test_an_edit_keeps_the_bound_so_its_gap_is_measured(explorer):
    # bands of ±30 %: one block (≤ 15 % of a territory's potential) moved stays within them
    explorer.update(tolerance=0.3)
    explorer.solve()
    refined = explorer.refine()
    assert refined is not None and refined.lower_bound_km is not None
    a = refined.assignment
    uid = next(u for u in a.index if a[u] != a.iloc[0] and len(set(a)) == a.nunique())
    edited = explorer.move(uid, a.iloc[0])
    assert edited.lower_bound_km == refined.lower_bound_km
    assert edited.bound_method == refined.bound_method and edited.balanced
    assert edited.gap == pytest.approx(edited.objective_km / refined.lower_bound_km - 1)


def test_undo_and_redo_walk_the_plans_on_screen(explorer):
    today = explorer.plan
    preview = explorer.solve()
    assert not explorer.can_redo
    a = preview.assignment
    uid = next(u for u in a.index if (a == a[u]).sum() > 1)
    other = next(t for t in a.unique() if t != a[uid])
    edited = explorer.move(uid, other)
    assert explorer.undo() is preview and explorer.plan_kind == "preview"
    assert explorer.undo() is today and not explorer.can_undo
    with pytest.raises(ValueError, match="nothing to undo"):
        explorer.undo()
    assert explorer.redo() is preview and explorer.redo() is edited
    with pytest.raises(ValueError, match="nothing to redo"):
        explorer.redo()
    explorer.undo()
    explorer.move(uid, other)  # a new edit after an undo drops what could be redone
    assert not explorer.can_redo


def test_a_locked_block_moved_by_hand_stays_locked_to_its_new_territory(explorer):
    explorer.toggle_lock("30200")
    assert explorer.scenario.locks == {"30200": "R2"}
    explorer.move("30200", "R1")
    assert explorer.scenario.locks == {"30200": "R1"}
    assert explorer.plan_scenario.locks == {"30200": "R1"}
    explorer.undo()
    assert explorer.scenario.locks == {"30200": "R2"}


def test_moves_that_cannot_be_made_are_refused_with_the_reason(explorer, data):
    r1 = [u for u, t in _today(data).items() if t == "R1"]
    with pytest.raises(ValueError, match="would leave R1 empty"):
        explorer.move(r1, "R2")
    with pytest.raises(ValueError, match="no territory 'R9' on screen"):
        explorer.move("30200", "R9")
    with pytest.raises(ValueError, match="already in R2"):
        explorer.move("30200", "R2")
    with pytest.raises(KeyError, match="99999"):
        explorer.move(["99999"], "R1")
    assert explorer.plan_kind == "today" and not explorer.can_undo


# a rectangle drawn around the grid's column 2 (lon -83.8) in rows 0-1 (lat 33.0-33.11): blocks
# 30200 and 31200
_LASSO = {
    "type": "Feature",
    "properties": {},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [[-83.85, 32.95], [-83.75, 32.95], [-83.75, 33.15], [-83.85, 33.15], [-83.85, 32.95]]
        ],
    },
}


def test_blocks_within_a_drawn_shape():
    blocks = td.building_blocks(_grid_accounts(), block="postal_code")
    assert sorted(X.blocks_within(blocks, _LASSO)) == ["30200", "31200"]


def test_app_lasso_and_move_clicks_edit_the_plan(ui, explorer):
    assert ui.undo_button.disabled and list(ui.move_to.options) == ["R1", "R2", "R3"]
    ui.move_to.value = "R1"
    # the message the map's draw tool sends when a shape is finished
    ui.draw._handle_leaflet_event(None, {"event": "draw:created", "geo_json": _LASSO}, None)
    status = _status(ui)
    assert status["state"] == "edited" and "2 blocks moved to R1" in ui.status.value
    # R1 1680 + 2 x 240 = 2160 (+8 %), R2 2000 - 480 = 1520 (-24 %)
    dev = explorer.plan.deviation_pct["potential_usd"].round(6)
    assert dev[["R1", "R2", "R3"]].tolist() == [8.0, -24.0, 16.0]
    feats = {
        f["id"]: f["properties"]["style"]["fillColor"] for f in ui.blocks_layer.data["features"]
    }
    assert feats["30200"] == feats["30000"] == explorer.colours["R1"]
    ui.click_mode.value = "move"
    ui.move_to.value = "R3"
    ui._on_block_click(event="click", feature={"properties": {"unit_id": "30300"}})
    assert explorer.plan.assignment["30300"] == "R3" and explorer.scenario.locks == {}
    ui.undo_button.click()
    assert explorer.plan.assignment["30300"] == "R2" and not ui.redo_button.disabled
    ui.redo_button.click()
    assert explorer.plan.assignment["30300"] == "R3" and _status(ui)["state"] == "redone"
    nowhere = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    ui.draw._handle_leaflet_event(None, {"event": "draw:created", "geo_json": nowhere}, None)
    assert _status(ui)["state"] == "error" and "holds no block" in ui.status.value


def test_an_adopted_scenario_is_the_plan_exactly(data, tmp_path):
    params = tmp_path / "reports" / "params" / "2026Q3.yaml"
    params.parent.mkdir(parents=True)
    params.write_text(
        "# the quarter's settings\ncommon:\n  seed: 0\n03_territory_design:\n"
        "  tolerance: 0.1  # ±10 %\n  scenario: old-one\n"
    )
    ex = X.ScenarioExplorer(
        data,
        # ±30 %: the hand edit below stays balanced, so it has a gap to carry over
        X.Scenario(k=3, balance=("potential_usd",), tolerance=0.3, max_moved=1.0),
        scenarios_dir=tmp_path / "scenarios",
        report_params=params,
        refine_seconds=1.0,
    )
    ex.solve()
    ex.refine()
    a = ex.plan.assignment
    uid = next(u for u in a.index if (a == a[u]).sum() > 1)
    edited = ex.move(uid, next(t for t in a.unique() if t != a[uid]))
    assert ex.adopt("hand-edit") == params
    import yaml

    assert yaml.safe_load(params.read_text()) == {
        "common": {"seed": 0},
        "03_territory_design": {"tolerance": 0.1, "scenario": "hand-edit"},
    }
    assert "# the quarter's settings" in params.read_text() and "# ±10 %" in params.read_text()
    # what notebook 03 does with scenario = "hand-edit" (processed = tmp_path)
    adopted = td.adopt.adopt_scenario(
        tmp_path, "hand-edit", data.blocks, data.adjacency, data.reps, block="postal_code"
    )
    assert adopted.assignment.to_dict() == edited.assignment.to_dict()
    assert adopted.median_km == pytest.approx(edited.median_km)
    assert adopted.max_deviation.equals(edited.max_deviation)
    assert adopted.gap == pytest.approx(edited.gap) and adopted.gap is not None
    assert adopted.info["scenario_search"] == "edited" and "Adopted scenario" in adopted.notes[0]
    with pytest.raises(ParameterError, match="saved on postal_code blocks"):
        td.adopt.adopt_scenario(
            tmp_path, "hand-edit", data.blocks, data.adjacency, data.reps, block="unit_id"
        )
    fewer = data.blocks.iloc[:-1]
    with pytest.raises(ParameterError, match="saved for other blocks"):
        td.adopt.adopt_scenario(tmp_path, "hand-edit", fewer, None, data.reps, block="postal_code")


def test_report_scenario_edits_keep_the_params_file(tmp_path):
    from workbench.territory.adopt import set_report_scenario

    path = tmp_path / "q.yaml"
    set_report_scenario(path, "a")  # created
    assert path.read_text().startswith('03_territory_design:\n  scenario: "a"')
    path.write_text("03_territory_design:  # plan\n  k: 12\nnext:\n  x: 1\n")
    set_report_scenario(path, "b")  # inserted under the header, the next section untouched
    import yaml

    assert yaml.safe_load(path.read_text()) == {
        "03_territory_design": {"scenario": "b", "k": 12},
        "next": {"x": 1},
    }
    set_report_scenario(path, "")  # cleared: design again
    assert yaml.safe_load(path.read_text())["03_territory_design"]["scenario"] == ""
    flow = "03_territory_design: {k: 12}\n"
    path.write_text(flow)
    with pytest.raises(ValueError, match="not changed"):
        set_report_scenario(path, "c")
    assert path.read_text() == flow
    # the file's own indentation and line endings; an empty inline section becomes a block
    path.write_bytes(b"03_territory_design:\r\n    k: 12\r\n    scenario: old\r\n")
    set_report_scenario(path, "d")
    raw = path.read_bytes()
    assert b'\r\n    scenario: "d"' in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert yaml.safe_load(raw) == {"03_territory_design": {"k": 12, "scenario": "d"}}
    path.write_text("03_territory_design: {}  # to fill\nnext:\n  x: 1\n")
    set_report_scenario(path, "e")
    assert yaml.safe_load(path.read_text()) == {
        "03_territory_design": {"scenario": "e"},
        "next": {"x": 1},
    }
    assert "# to fill" in path.read_text()
    path.write_text("a: [\n")
    with pytest.raises(ValueError, match="is not valid YAML"):
        set_report_scenario(path, "f")


def test_adopt_command(data, tmp_path, capsys):
    from workbench.cli import main

    scenarios = tmp_path / "data" / "processed" / "scenarios"
    ex = X.ScenarioExplorer(data, X.Scenario(k=3), scenarios_dir=scenarios)
    ex.save("base")
    params = tmp_path / "p.yaml"
    assert main(["adopt", "base", "--data", str(tmp_path / "data"), "--params", str(params)]) == 0
    out = capsys.readouterr().out
    assert "the 2026Q3 report adopts scenario 'base': 24 postal_code blocks in 3 territories" in out
    assert 'scenario: "base"' in params.read_text()
    assert main(["adopt", "nope", "--data", str(tmp_path / "data"), "--params", str(params)]) == 2
    assert "no saved scenario 'nope'" in capsys.readouterr().err
    assert main(["adopt", "--clear", "--data", str(tmp_path / "data")]) == 2
    assert main(["adopt", "--clear", "--quarter", "2026Q3", "--params", str(params)]) == 0
    assert 'scenario: ""' in params.read_text()


def test_level_toggles_colour_the_map_by_district(ui, explorer, data):
    assert [v for _, v in ui.highlight.options] == ["territory", "district", "moved"]  # no region
    ui.n_districts.value = 1
    ui.highlight.value = "district"
    fills = {f["properties"]["style"]["fillColor"] for f in ui.blocks_layer.data["features"]}
    assert len(fills) == 1 and _status(ui)["state"] == "level-district"
    # as many districts as territories: each district is one territory, the same partition
    ui.n_districts.value = 3
    feats = ui.blocks_layer.data["features"]
    group = pd.Series({f["id"]: f["properties"]["group"] for f in feats})
    terr = explorer.plan.assignment.reindex(group.index)
    assert group.groupby(terr).nunique().eq(1).all() and terr.groupby(group).nunique().eq(1).all()
    assert len({f["properties"]["style"]["fillColor"] for f in feats}) == 3
    ui.n_districts.value = 4  # no more districts than territories: the control stops at 3
    assert ui.n_districts.value == 3
    with pytest.raises(ValueError, match="choose 1 to 3"):
        explorer.groups("district", 4)
    # a solve to fewer territories keeps the district view drawing: 3 districts become 2
    ui.k.value = 2
    ui.solve()
    assert explorer.plan.k == 2 and ui.n_districts.max == 2
    feats = ui.blocks_layer.data["features"]
    assert len({f["properties"]["style"]["fillColor"] for f in feats}) == 2
    assert list(ui.move_to.options) == sorted(explorer.plan.territories.index)
    with pytest.raises(ValueError, match="no region"):
        explorer.groups("region")
    ui.highlight.value = "territory"
    assert "group" not in ui.blocks_layer.data["features"][0]["properties"]


def test_undo_brings_back_the_settings_of_the_plan_it_restores(explorer):
    explorer.update(k=2)
    explorer.solve()
    explorer.undo()  # today's alignment, with the settings that scored it (k = 3)
    assert explorer.plan.k == 3 and explorer.scenario.k == 3
    explorer.redo()
    assert explorer.plan.k == 2 and explorer.scenario.k == 2


def test_an_edit_beyond_the_move_budget_has_no_gap(explorer):
    # ±30 % bands, 10 % of 24 blocks may move (2): the bound assumes that budget
    explorer.update(tolerance=0.3, max_moved=0.1)
    explorer.solve()
    refined = explorer.refine()
    assert refined is not None and refined.lower_bound_km is not None
    assert refined.n_moved <= 2
    today = _today(explorer.data)
    # move blocks of today's R3 column 5 (always R3 today) to R2 until over the budget
    moved = [u for u in explorer.plan.assignment.index if u.endswith("500")]
    edited = explorer.move(moved[:3], "R2")
    assert edited.n_moved > 2 and edited.gap is None and edited.lower_bound_km is None
    assert (today.reindex(moved[:3]) == "R3").all()


def test_quota_odds_follow_a_hand_move_refitting_only_what_changed(data, tmp_path):
    # revenue that moves: each account its own level, season and noise over three years
    rng = np.random.default_rng(16)
    quarters = [str(Quarter.parse("2023Q4") + i) for i in range(12)]
    rows = [
        (a, q, (20 + 3 * i) * (1.0, 0.8, 1.1, 1.3)[j % 4] * rng.lognormal(0, 0.15))
        for i, a in enumerate(data.accounts["account_id"])
        for j, q in enumerate(quarters)
    ]
    facts = pd.DataFrame(rows, columns=["account_id", "quarter", "won_usd"])
    ex = X.ScenarioExplorer(
        dataclasses.replace(data, facts=facts),
        X.Scenario(k=3, balance=("potential_usd",), tolerance=0.3, max_moved=1.0),
        scenarios_dir=tmp_path / "scenarios",
    )
    assert {"p_attain", "equal_chance_quota_usd"} <= set(ex.quotas.columns)
    fitted = len(ex._forecasts)  # three territories and the company
    assert fitted == 4
    ex.move("30200", "R1")  # from R2 to R1: two territories change, the company does not
    assert len(ex._forecasts) == fitted + 2
    fresh = td.quota_plan(
        ex.data.accounts,
        ex.plan,
        facts,
        quarter=data.quarter,
        block=data.block,
        target_growth=ex.plan_scenario.target_growth,
        history_weight=ex.plan_scenario.history_weight,
    )
    pd.testing.assert_series_equal(ex.quotas["p_attain"], fresh.table["p_attain"])
    m = ex.metrics()
    assert m["chance_min"] == pytest.approx(fresh.table["p_attain"].min())
    assert m["target_chance"] == pytest.approx(fresh.target_chance)
    kpis = X.territory_kpis(ex.data.blocks, ex.plan, ex.quotas, ex.data.reps)
    assert kpis["p_attain"].tolist() == fresh.table["p_attain"].reindex(kpis.index).tolist()
