"""Notebook 03 with the hybrid structure (issue 15), run through papermill on a 400-account
demo: a named-account team carved out by a rule, the geographic design on what is left, the
territories grouped into districts. Asserts on the stage files it writes, against oracles
computed here from the inputs: which accounts the rule names, each account exactly once, the
quota target."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest
from conftest import demo_project, design_ready

from workbench.io import read_manifest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
TOP = 12  # accounts named by potential


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    home = design_ready(demo_project(tmp_path_factory.mktemp("structure"), seed=5, n_accounts=400))
    processed = home / "data" / "processed"
    quarter = read_manifest(processed)["default_quarter"]
    out = home / "03.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "03_territory_design.ipynb"),
        str(out),
        parameters={
            "data_dir": str(home / "data"),
            "named_top_potential": TOP,
            "named_seats": 2,
            "districts": 3,
            "frontier_budgets": [0.3],
            "frontier_effort": 0.1,
            "effort": 0.5,
            "time_limit": 30.0,
        },
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
    )
    stage = lambda name: pd.read_parquet(processed / f"{name}_{quarter}.parquet")  # noqa: E731
    return json.loads(out.read_text()), stage, processed


def test_the_rule_names_the_top_accounts_and_each_account_appears_once(run):
    _, stage, _ = run
    pot = stage("potential_accounts")
    # the oracle: the TOP largest potentials, ties to the smaller id
    top = pot.sort_values(["potential_usd", "account_id"], ascending=[False, True]).head(TOP)
    al = stage("alignment")
    assert al["account_id"].is_unique and set(al["account_id"]) == set(pot["account_id"])
    named = al[al["named"]]
    assert set(named["account_id"]) == set(top["account_id"])
    assert set(named["proposed_territory"]) <= {"NAM01", "NAM02"}
    assert (named["reason"] == "named account").all()
    # every other account takes the territory of its block in the geographic plan
    plan = stage("territory_plan").set_index("block_id")["territory"]
    rest = al[~al["named"]]
    assert (rest["proposed_territory"] == rest["block_id"].map(plan)).all()
    assert not set(plan) & {"NAM01", "NAM02"}


def test_quotas_cover_the_seats_and_sum_to_the_target(run):
    _, stage, _ = run
    quotas = stage("quotas_plan").set_index("territory")
    assert {"NAM01", "NAM02"} <= set(quotas.index)
    revenue = stage("potential_accounts")["revenue_usd"].sum()
    assert quotas["quota_usd"].sum() == pytest.approx(revenue * 1.08, rel=1e-9)
    al = stage("alignment")
    seat_revenue = al[al["proposed_territory"] == "NAM01"]["revenue_usd"].sum()
    assert quotas.loc["NAM01", "revenue_usd"] == pytest.approx(seat_revenue)


def test_the_notebook_shows_the_team_districts_and_structure_map(run):
    nb, _, _ = run
    text = "\n".join(
        "".join(o.get("data", {}).get("text/plain", "")) + "".join(o.get("text", ""))
        for c in nb["cells"]
        for o in c.get("outputs", [])
    )
    assert "Named-account team" in text and f"{TOP} named accounts" in text
    assert "NAM01" in text and "NAM02" in text
    cell = next(c for c in nb["cells"] if "plot_structure_maps" in "".join(c["source"]))
    assert any("image/png" in o.get("data", {}) for o in cell["outputs"])
