"""The whole quarterly report on a small demo, run twice: reproducible tables, lineage that
matches the inputs, an executive summary whose numbers come from the notebooks' own outputs."""

from __future__ import annotations

import hashlib
import json
import shutil

import pandas as pd
import pytest
import yaml
from conftest import demo_project

from workbench.io import STAGE_PRODUCERS, stage_path
from workbench.report import run_report

pytestmark = pytest.mark.slow
Q = "2026Q3"
SMALL = {  # quick settings: the point here is the pipeline, not the optimum
    "01_market_potential": {"backtest_origins": 2, "cv_folds": 3},
    "02_segmentation": {"k_range": [3, 4], "stability_runs": 2},
    # small work budgets; the safety stop far away, so the plan never depends on load
    "03_territory_design": {
        "effort": 0.5,
        "time_limit": 600.0,
        "frontier_budgets": [0.3, 1.0],
        "frontier_effort": 0.25,
    },
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two full report runs on the same inputs; the stage tables of each run are kept."""
    home = demo_project(tmp_path_factory.mktemp("pipeline"), seed=3, n_accounts=400)
    params = home / "params.yaml"
    params.write_text(yaml.safe_dump(SMALL))
    results, stages = [], []
    for i in range(2):
        res = run_report(
            quarter=Q,
            params_file=params,
            out_dir=home / f"reports{i}",
            data_dir=home / "data",
            progress=lambda _: None,
        )
        results.append(res)
        snap = home / f"stages{i}"
        snap.mkdir()
        for stage in STAGE_PRODUCERS:
            src = stage_path(home / "data" / "processed", stage, Q)
            if src.exists():
                shutil.copy(src, snap / src.name)
        stages.append(snap)
    return home, results, stages


def test_every_notebook_ran_and_wrote_its_outputs(runs):
    _home, results, stages = runs
    assert [n for n, _ in results[0].notebooks] == [
        "00_data_health.ipynb",
        "01_market_potential.ipynb",
        "02_segmentation.ipynb",
        "03_territory_design.ipynb",
        "04_kpi_review.ipynb",
    ]
    written = {p.name for p in stages[0].iterdir()}
    assert written == {f"{stage}_{Q}.parquet" for stage in STAGE_PRODUCERS}


def test_two_runs_give_identical_tables(runs):
    _, _, stages = runs
    for first in sorted(stages[0].iterdir()):
        a, b = pd.read_parquet(first), pd.read_parquet(stages[1] / first.name)
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=first.name)


def test_manifest_hashes_match_the_inputs(runs):
    home, results, _ = runs
    manifest = json.loads((results[0].folder / "manifest.json").read_text())
    inputs = manifest["data"]["inputs"]
    assert manifest["data"]["synthetic"] is True
    for name in ("accounts.csv", "opportunities.csv", "reps.csv", "geo_units.csv"):
        digest = hashlib.sha256((home / "data" / "raw" / name).read_bytes()).hexdigest()
        assert inputs[name]["sha256"] == digest
    assert manifest["parameters"]["03_territory_design"]["effort"] == 0.5


def test_executive_summary_reads_the_notebook_outputs(runs):
    _home, results, stages = runs
    page = (results[0].folder / "index.html").read_text()
    assert "Executive summary" in page and page.count('class="headline"') == 7
    assert "did not write its output" not in page
    # The proposed alignment's worst deviation on the page is the one notebook 03 saved.
    summary = pd.read_parquet(stages[1] / f"territory_summary_{Q}.parquet").set_index("metric")
    worst = summary.loc[[m for m in summary.index if m.startswith("max_deviation_")], "value"].max()
    if summary.loc["feasible", "value"] == 1:
        assert f"±{worst:.1%} balance" in page
    else:  # a plan that misses a constraint is never a headline number
        assert "not feasible" in page and f"±{worst:.1%} balance" not in page
    # next year's target with the company's chance, as notebook 03 saved them
    chance = summary.loc["quota_target_chance", "value"]
    assert f"makes it with a {chance:.0%} chance" in page
    plan = pd.read_parquet(stages[1] / f"territory_plan_{Q}.parquet")
    assert plan["territory"].notna().all() and plan["block_id"].is_unique
