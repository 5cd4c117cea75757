"""Declared stage columns: a stage file is checked against ``workbench.stages`` on save and load;
a bad frame is never written, and a reader is told which column is missing and which notebook
writes it. The demo's notebook outputs, built by the notebooks' own workflow functions, fit."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from conftest import demo_project
from second_company import write_second_company

from workbench import io
from workbench.config import Quarter
from workbench.explorer import load_scenario, save_scenario
from workbench.stages import RECORD_STAGES, SCENARIOS, STAGES, StageSchemaError, column_kind

Q = "2026Q3"


def workload_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"account_id": ["A1", "A2"], "hours_per_year": [6.0, 2.0], "call_class": ["A", "C"]}
    )


# ---------------------------------------------------------------------------------------------
# Saving


def test_a_stage_without_a_declared_column_is_not_written(tmp_path):
    frame = workload_frame().drop(columns="hours_per_year")
    with pytest.raises(StageSchemaError) as info:
        io.save_stage(frame, tmp_path, "workload", Q)
    message = str(info.value)
    assert message.startswith(f"not saving workload_{Q}.parquet (notebooks/02_segmentation.ipynb)")
    assert "no column hours_per_year" in message and "nothing was written" in message.lower()
    assert info.value.stage == "workload"
    assert [p.column for p in info.value.problems] == ["hours_per_year"]
    assert list(tmp_path.iterdir()) == []  # no file, no temporary file
    # an earlier good file is left as it was
    io.save_stage(workload_frame(), tmp_path, "workload", Q)
    before = io.stage_path(tmp_path, "workload", Q).read_bytes()
    with pytest.raises(StageSchemaError):
        io.save_stage(frame, tmp_path, "workload", Q)
    assert io.stage_path(tmp_path, "workload", Q).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [f"workload_{Q}.parquet"]


def test_every_problem_is_named_at_once_with_expected_and_found_kinds(tmp_path):
    frame = pd.DataFrame(
        {
            "abc_class": [1, 2],  # declared str
            "rank": [1.5, 2.0],  # declared int: not whole numbers
            "lat": ["33.1", "33.2"],  # optional, declared float
            "whatever": [object(), None],  # not declared: not checked
        }
    )
    with pytest.raises(StageSchemaError) as info:
        io.save_stage(frame, tmp_path, "segments", Q)
    problems = [str(p) for p in info.value.problems]
    assert problems == [
        "no column account_id",
        "column abc_class holds int (int64), expected str",
        "column rank holds float (not whole numbers), expected int",
        "column lat holds str, expected float",
    ]
    assert "; ".join(problems) in str(info.value)
    assert "stage 'segments'" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_quarter_and_pattern_columns_are_checked(tmp_path):
    quotas = pd.DataFrame(
        {"territory": ["T1"], "quota_usd": [10.0], "quota_2026Q4": ["lots"], "quota_x": ["ok"]}
    )
    with pytest.raises(StageSchemaError, match="column quota_2026Q4 holds str, expected float"):
        io.save_stage(quotas, tmp_path, "quotas_plan", Q)
    kpi = pd.DataFrame(
        {
            "territory": ["T1"],
            "revenue_usd": [1.0],
            "quota_usd": [None],  # no quotas: a column with no values fits any kind
            "quarter": ["2026-07"],
        }
    )
    with pytest.raises(StageSchemaError, match=r"column quarter holds str \('2026-07' is not"):
        io.save_stage(kpi, tmp_path, "kpi_territory", Q)
    io.save_stage(kpi.assign(quarter=Q), tmp_path, "kpi_territory", Q)


def test_an_undeclared_stage_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"unknown stage 'workloads'.*workbench/stages\.py"):
        io.save_stage(workload_frame(), tmp_path, "workloads", Q)
    assert list(tmp_path.iterdir()) == []


def test_saving_checks_but_never_changes_the_frame(tmp_path):
    frame = pd.DataFrame(
        {
            "hours_per_year": [6, 2],  # ints where floats are declared: numbers all the same
            "zeta": ["z", "y"],
            "account_id": pd.Series(["A1", "A2"], dtype=object),
        }
    )
    copy = frame.copy()
    path = io.save_stage(frame, tmp_path, "workload", Q)
    pd.testing.assert_frame_equal(frame, copy)
    assert path.read_bytes() == _parquet_bytes(copy, tmp_path / "plain.parquet")
    back = io.load_stage(tmp_path, "workload", Q)
    assert list(back.columns) == ["hours_per_year", "zeta", "account_id"]
    assert str(back["hours_per_year"].dtype) == "int64"


def _parquet_bytes(frame: pd.DataFrame, path) -> bytes:
    io.write_frame(frame, path)
    return path.read_bytes()


# ---------------------------------------------------------------------------------------------
# Loading


def test_loading_a_file_without_a_column_names_it_and_the_notebook_that_writes_it(tmp_path):
    frame = pd.DataFrame({"account_id": ["A1"], "rank": [1]})  # written by hand, no abc_class
    io.write_frame(frame, io.stage_path(tmp_path, "segments", Q))
    with pytest.raises(StageSchemaError) as info:
        io.load_stage(tmp_path, "segments", Q)
    assert str(info.value) == (
        f"segments_{Q}.parquet has no column abc_class (written by "
        f"notebooks/02_segmentation.ipynb): run it for {Q} first"
    )
    frame = pd.DataFrame({"block_id": ["1"], "territory": [3]})
    io.write_frame(frame, io.stage_path(tmp_path, "territory_plan", Q))
    with pytest.raises(StageSchemaError) as info:
        io.load_stage(tmp_path, "territory_plan", Q)
    message = str(info.value)
    assert message.startswith(f"territory_plan_{Q}.parquet has no column block_type; no column")
    assert "column territory holds int (int64), expected str" in message
    assert message.endswith(
        f"(written by notebooks/03_territory_design.ipynb): run it for {Q} first"
    )


def test_a_missing_stage_file_keeps_its_message(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"segments_2026Q3.parquet not found in .*: run "):
        io.load_stage(tmp_path, "segments", Q)


def test_producers_come_from_the_declarations():
    p01, p02, p03, p04 = (
        "01_market_potential",
        "02_segmentation",
        "03_territory_design",
        "04_kpi_review",
    )
    producers = io.STAGE_PRODUCERS
    assert producers == {  # as before the declarations, in the same order (+ issue 15's two)
        "potential_units": p01,
        "potential_accounts": p01,
        "forecast": p01,
        "swot": p01,
        "segments": p02,
        "lead_scores": p02,
        "workload": p02,
        "territory_plan": p03,
        "territory_summary": p03,
        "territory_violations": p03,
        "alignment": p03,
        "rep_matching": p03,
        "quotas_plan": p03,
        "sizing": p03,
        "overlay_plan": p03,
        "role_sizing": p03,
        "kpi_territory": p04,
        "kpi_rep": p04,
        "kpi_flags": p04,
    }
    assert list(io.STAGE_PRODUCERS) == list(STAGES)
    assert io.STAGE_FOLDERS == {"scenarios": "03_territory_design"}
    assert io.stage_folder("data/processed", "scenarios").as_posix() == "data/processed/scenarios"
    for spec in STAGES.values():
        assert spec.required_columns, spec.name
        names = [c.name for c in spec.columns]
        assert len(names) == len(set(names)), spec.name


def test_column_kinds():
    assert column_kind(pd.Series([True, False])) == "bool"
    assert column_kind(pd.Series([1, None], dtype="Int64")) == "int"
    assert column_kind(pd.Series(pd.to_datetime(["2026-01-01"]))) == "datetime"
    assert column_kind(pd.Series([1, "a"], dtype=object)) == "mixed-integer"
    assert column_kind(pd.Series([], dtype=object)) == "empty"
    spec = STAGES["alignment"]
    frame = pd.DataFrame({"moved": pd.Series([True, None], dtype=object), "named": [0, 1]})
    assert [str(p) for p in spec.problems(frame) if "holds" in str(p)] == [
        "column named holds int (int64), expected bool"
    ]


# ---------------------------------------------------------------------------------------------
# The scenarios folder


def _scenario() -> dict:
    return {
        "format": 1,
        "name": "base",
        "saved_utc": "2026-07-01T00:00:00+00:00",
        "workbench_version": "0.1.0",
        "quarter": Q,
        "block": "postal_code",
        "blocks_fingerprint": "abc",
        "search": "refined",
        "scenario": {"k": 3},
        "metrics": {"k": 3},
        "assignment": {"30000": "T1"},
    }


def test_the_scenarios_folder_is_a_declared_stage():
    assert RECORD_STAGES["scenarios"] is SCENARIOS and SCENARIOS.producer == "03_territory_design"
    assert "explorer" in SCENARIOS.writer


def test_a_scenario_record_missing_a_key_is_not_saved(tmp_path):
    record = _scenario()
    del record["metrics"]
    with pytest.raises(StageSchemaError) as info:
        save_scenario(tmp_path, "base", record)
    assert "not saving base.json (the scenario explorer: notebooks/03_" in str(info.value)
    assert "no key metrics" in str(info.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StageSchemaError, match="key quarter holds int, expected quarter"):
        save_scenario(tmp_path, "base", {**_scenario(), "quarter": 2026})
    assert save_scenario(tmp_path, "base", _scenario()).name == "base.json"
    assert load_scenario(tmp_path, "base") == _scenario()


def test_loading_a_scenario_missing_a_key_names_it(tmp_path):
    record = _scenario()
    del record["blocks_fingerprint"]
    (tmp_path / "old.json").write_text(json.dumps(record))
    with pytest.raises(StageSchemaError) as info:
        load_scenario(tmp_path, "old")
    assert str(info.value) == (
        f"old.json in {tmp_path} has no key blocks_fingerprint (written by the scenario explorer: "
        "notebooks/03_territory_design.ipynb with interactive = True, or apps/explorer.ipynb): "
        "save it again"
    )
    # the existing check comes first, with its own message
    (tmp_path / "odd.json").write_text(json.dumps({"format": 2}))
    with pytest.raises(ValueError, match="is not a scenario file of format 1"):
        load_scenario(tmp_path, "odd")


# ---------------------------------------------------------------------------------------------
# The notebooks' own outputs fit their declarations (any company: nothing named after the demo)


@pytest.fixture(scope="module", params=["demo", "second company"])
def written(request, tmp_path_factory):
    """Every stage, written by the workflow functions the notebooks call (quick settings), for
    the demo and for the second company (other labels, no region, no optional files)."""
    from workbench import forecast, kpi, potential, segments
    from workbench import territory as td
    from workbench.ingest import ingest

    home = tmp_path_factory.mktemp("stages")
    if request.param == "demo":
        demo_project(home, seed=5, n_accounts=250)
    else:
        write_second_company(home / "data" / "raw", n_accounts=250)
        ingest(home / "data" / "raw", home / "data" / "processed")
    data_dir = str(home / "data")
    processed = home / "data" / "processed"
    q = Quarter.parse(io.read_manifest(processed)["default_quarter"])
    ns = {"quarter": str(q), "data_dir": data_dir}

    p = potential.PotentialParams.from_notebook({**ns, "cv_folds": 2, "backtest_origins": 1})
    d = potential.load_inputs(p.processed, quarter=p.period)
    pot = potential.score_potential(
        d.accounts,
        d.geo_units,
        d.facts_account_quarter,
        quarter=p.period,
        competitors=d.competitors,
        cv_folds=p.cv_folds,
    )
    series = forecast.revenue_series(d.facts_account_quarter, pot.accounts, quarter=p.period)
    fc = forecast.forecast_revenue(series, horizon=2, n_origins=1, economy=d.economy)
    table = forecast.forecast_stage(fc, series)
    swot = potential.swot_inputs(
        pot, d.facts_account_quarter, quarter=p.period, forecast=table, analyst=d.swot
    )
    potential.save_outputs(p.processed, p.period, potential=pot, forecast=table, swot=swot)

    s = segments.SegmentationParams.from_notebook({**ns, "k_range": [3], "stability_runs": 1})
    d2 = segments.load_inputs(s.processed, quarter=s.period)
    pareto = segments.pareto_analysis(
        d2.accounts, d2.facts_account_quarter, quarter=s.period, potential=d2.potential
    )
    features = segments.customer_features(
        d2.accounts, d2.opportunities, quarter=s.period, potential=d2.potential
    )
    segmentation = segments.segment_customers(
        features, k_range=s.k_range, stability_runs=s.stability_runs, classes=pareto.table
    )
    leads = segments.lead_features(
        d2.accounts,
        d2.opportunities,
        quarter=s.period,
        geo_units=d2.geo_units,
        competitors=d2.competitors,
    )
    models = segments.compare_lead_models(segments.time_split(leads, quarter=s.period))
    scores = segments.score_prospects(leads, models)
    workload = segments.workload_plan(
        d2.accounts, classes=pareto.table, lead_scores=scores.prospects
    )
    segments.save_outputs(
        s.processed,
        s.period,
        pareto=pareto,
        segmentation=segmentation,
        lead_scores=scores,
        workload=workload,
    )

    industry = d2.accounts["industry"].value_counts().index[0]  # the data's own, not a name
    t = td.DesignParams.from_notebook(
        {
            **ns,
            "effort": 0.1,
            "tolerance": 0.3,  # a quick plan
            "overlays": {"overlay": {"industries": [industry], "specialists": 1}},
            "inside_sales": 1.0,
        }
    )
    inputs = td.load_inputs(t.processed, quarter=t.period)
    named = td.named_accounts(inputs, **t.named_options())
    overlays = td.overlay_teams(inputs, **t.overlay_options())
    blocks = td.building_blocks(inputs.accounts, block=t.building_block)
    adjacency = td.block_adjacency(blocks, block=t.building_block, polygons=inputs.polygons)
    _current, proposed = td.design_plans(blocks, adjacency, inputs.reps, **t.design_options())
    sizing = td.sizing_tables(
        inputs.accounts, proposed, block=t.building_block, capacity=t.capacity
    )
    quotas = td.quota_plan(
        inputs.accounts,
        proposed,
        inputs.facts,
        quarter=t.period,
        block=t.building_block,
        target_growth=t.target_growth,
        history_weight=t.history_weight,
    )
    matching = td.match_plan_reps(
        inputs.accounts,
        proposed,
        inputs.reps,
        block=t.building_block,
        quarter=t.period,
        facts=inputs.facts,
    )
    alignment = td.plan_alignment(
        inputs.accounts, blocks, proposed, matching, block=t.building_block
    )
    roles = td.role_table(
        inputs.accounts,
        proposed,
        capacity=t.capacity,
        named=named,
        overlays=overlays,
        inside_sales=t.inside_sales,
    )
    overlay_quota = td.overlay_quotas(
        inputs.accounts,
        overlays,
        inputs.facts,
        quarter=t.period,
        target_growth=t.target_growth,
        history_weight=t.history_weight,
    )
    td.save_outputs(
        t.processed,
        t.period,
        blocks=blocks,
        plan=proposed,
        quotas=quotas,
        sizing=sizing,
        block=t.building_block,
        matching=matching,
        alignment=alignment,
        overlays=overlays,
        overlay_quota=overlay_quota,
        roles=roles,
    )

    k = kpi.KpiParams.from_notebook(ns)
    review = kpi.review_kpis(
        kpi.load_inputs(k.processed, quarter=k.period), quarter=k.period, thresholds=k.thresholds
    )
    kpi.save_outputs(review, k.processed)
    return processed, q


def test_every_stage_the_notebooks_write_fits_its_declaration(written):
    processed, q = written
    for stage, spec in STAGES.items():
        frame = io.load_stage(processed, stage, q)  # checked on save, and again here
        assert spec.problems(frame) == [], stage
        undeclared = [c for c in frame.columns if spec.column_for(c) is None]
        assert undeclared == [], f"{stage}: declare {undeclared} in workbench/stages.py"


def test_no_declaration_is_named_after_the_demo():
    demo_words = re.compile(r"georgia|atlanta|13\d{3}|R\d\d|2026Q|2027Q", re.IGNORECASE)
    for spec in STAGES.values():
        for col in spec.columns:
            assert not demo_words.search(col.name), (spec.name, col.name)


def test_the_kpi_declarations_follow_notebook_04s_columns():
    from workbench.kpi.tables import METRICS
    from workbench.stages import KPI_METRICS

    assert KPI_METRICS == METRICS  # one tuple: declared in stages.py, kpi's METRICS is it
    declared = {c.name for c in STAGES["kpi_territory"].columns}
    assert set(METRICS) <= declared
