"""Notebook 03 with the hybrid structure (issue 15), run through papermill on a 400-account
demo: a named-account team carved out by a rule, the geographic design on what is left, the
territories grouped into districts and the districts into regions, an industry overlay (the
data's most common industry) and inside sales for cold prospects. Asserts on the stage files
it writes, against oracles computed here from the inputs: which accounts the rule names, each
account exactly once, the quota target, the overlay's accounts, the crediting totals, the
inside-sales hours, districts and regions in the account list."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest
from conftest import demo_project, design_ready

from workbench.io import read_manifest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
TOP = 12  # accounts named by potential
INSIDE = 1.5  # inside-sales hours a year per cold prospect
FORECAST_WEIGHT = 0.3  # quota share: weight of each territory's forecast


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    home = design_ready(demo_project(tmp_path_factory.mktemp("structure"), seed=5, n_accounts=400))
    processed = home / "data" / "processed"
    quarter = read_manifest(processed)["default_quarter"]
    industry = pd.read_parquet(processed / "accounts.parquet")["industry"].value_counts().index[0]
    out = home / "03.ipynb"
    params = {
        "data_dir": str(home / "data"),
        "named_top_potential": TOP,
        "named_seats": 2,
        "districts": 4,
        "region_groups": 2,
        "overlays": {"specialists": {"industries": [industry], "specialists": 2}},
        "inside_sales": INSIDE,
        "forecast_weight": FORECAST_WEIGHT,
        "frontier_budgets": [0.3],
        "frontier_effort": 0.1,
        "effort": 0.5,
        "time_limit": 30.0,
    }
    _run03(out, params)
    stage = lambda name: pd.read_parquet(processed / f"{name}_{quarter}.parquet")  # noqa: E731
    return json.loads(out.read_text()), stage, processed, industry, params


def _run03(out: Path, params: dict) -> None:
    pm.execute_notebook(
        str(ROOT / "notebooks" / "03_territory_design.ipynb"),
        str(out),
        parameters=params,
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
    )


def test_the_rule_names_the_top_accounts_and_each_account_appears_once(run):
    _, stage, _, _, _ = run
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
    _, stage, _, _, _ = run
    quotas = stage("quotas_plan").set_index("territory")
    assert {"NAM01", "NAM02"} <= set(quotas.index)
    revenue = stage("potential_accounts")["revenue_usd"].sum()
    assert quotas["quota_usd"].sum() == pytest.approx(revenue * 1.08, rel=1e-9)
    al = stage("alignment")
    seat_revenue = al[al["proposed_territory"] == "NAM01"]["revenue_usd"].sum()
    assert quotas.loc["NAM01", "revenue_usd"] == pytest.approx(seat_revenue)


def test_the_notebook_shows_the_team_districts_and_structure_map(run):
    nb, _, _, _, _ = run
    text = _text(nb)
    assert "Named-account team" in text and f"{TOP} named accounts" in text
    assert "NAM01" in text and "NAM02" in text
    cell = next(c for c in nb["cells"] if "plot_structure_maps" in "".join(c["source"]))
    assert any("image/png" in o.get("data", {}) for o in cell["outputs"])


def _text(nb: dict) -> str:
    return "\n".join(
        "".join(o.get("data", {}).get("text/plain", "")) + "".join(o.get("text", ""))
        for c in nb["cells"]
        for o in c.get("outputs", [])
    )


def test_the_overlay_covers_its_industry_and_credits_add_up(run):
    nb, stage, processed, industry, _ = run
    accounts = pd.read_parquet(processed / "accounts.parquet")
    ov = stage("overlay_plan")
    assert set(ov["account_id"]) == set(
        accounts.loc[accounts["industry"] == industry, "account_id"]
    )
    assert set(ov["overlay_territory"]) == {"specialists-01", "specialists-02"}
    assert ov["overlay_quota_usd"].notna().all()
    # the notebook states both totals of the rule; each pair must agree to the dollar
    line = next(x for x in _text(nb).splitlines() if x.startswith("Primary credits"))
    nums = [float(n.replace(",", "")) for n in re.findall(r"([\d,]+) USD", line)]
    assert len(nums) == 4 and nums[0] == nums[1] and nums[2] == nums[3] and 0 < nums[2] < nums[0]


def test_roles_are_sized_with_inside_sales_for_the_cold_prospects(run):
    _, stage, _, _, _ = run
    roles = stage("role_sizing").set_index("role")
    assert set(roles.index) == {
        "geographic",
        "named-account",
        "overlay: specialists",
        "inside sales",
    }
    work = stage("workload")
    named = set(stage("alignment").query("named")["account_id"])
    cold = work[(work["call_class"] == "cold") & ~work["account_id"].isin(named)]
    assert roles.loc["inside sales", "required_hours"] == pytest.approx(INSIDE * len(cold))
    assert roles.loc["named-account", "planned"] == 2
    assert roles.loc["overlay: specialists", "planned"] == 2


def test_the_account_list_carries_each_accounts_district_and_region(run):
    _, stage, _, _, _ = run
    al = stage("alignment")
    rest = al[~al["named"]]
    assert rest["proposed_district"].notna().all()
    assert al.loc[al["named"], "proposed_district"].isna().all()  # seats sit outside districts
    # each district lies in one built region, and there are two of them
    per = rest.groupby("proposed_district")["proposed_region"].nunique()
    assert (per == 1).all() and rest["proposed_region"].nunique() == 2
    assert rest.groupby("proposed_territory")["proposed_district"].nunique().max() == 1


def test_the_kpi_review_credits_the_overlay_specialists(run):
    from workbench import kpi

    _, stage, processed, _, _ = run
    quarter = read_manifest(processed)["default_quarter"]
    review = kpi.review_kpis(kpi.load_inputs(processed, quarter=quarter), quarter=quarter)
    credit = review.overlay_credit
    assert credit is not None and set(credit.index) == {"specialists-01", "specialists-02"}
    # the oracle: the quarter's won opportunities on overlay accounts, from the raw table
    opps = pd.read_parquet(processed / "opportunities.parquet")
    won = opps[(opps["stage"] == "won") & opps["close_date"].notna()]
    close = pd.to_datetime(won["close_date"])
    y, q = int(quarter[:4]), int(quarter[-1])
    won = won[(close.dt.year == y) & (close.dt.quarter == q)]
    books = stage("overlay_plan").set_index("account_id")["overlay_territory"]
    on = won[won["account_id"].isin(books.index)]
    expected = on.groupby(on["account_id"].map(books))["amount_usd"].sum()
    assert credit["credit_usd"].to_dict() == pytest.approx(expected.to_dict())
    # the owners hold the same deals: the territory KPIs sum every won dollar once
    assert review.territories["revenue_usd"].sum() == pytest.approx(won["amount_usd"].sum())


def test_the_hybrid_edited_by_hand_and_adopted_is_the_plan_exactly(run, tmp_path):
    """Last: it runs notebook 03 again, on the same data, with the adopted scenario."""
    import yaml

    from workbench import explorer as X
    from workbench.report import plan_parameters
    from workbench.report.params import notebook_parameters

    _, stage, processed, _, params = run
    quarter = read_manifest(processed)["default_quarter"]
    named = {"top_potential": TOP, "seats": params["named_seats"]}
    data = X.load_explorer_data(processed, named=named, inside_sales=INSIDE)
    assert not set(data.blocks["unit_id"]) - set(stage("territory_plan")["block_id"])
    yaml_path = tmp_path / f"{quarter}.yaml"
    ex = X.ScenarioExplorer(
        data,
        X.Scenario(k=data.resolve_k(0)),
        scenarios_dir=processed / "scenarios",
        report_params=yaml_path,
    )
    ex.solve()
    a = ex.plan.assignment
    big = a.value_counts().index[0]
    ex.move(a[a == big].index[:2].tolist(), a.value_counts().index[-1])
    ex.adopt("hybrid-edit")
    saved = ex.plan.assignment.to_dict()
    # the parameters the report would pass to notebook 03 from that quarter's file
    nb03 = ROOT / "notebooks" / "03_territory_design.ipynb"
    file_values = yaml.safe_load(yaml_path.read_text())
    file_values["03_territory_design"] |= {k: v for k, v in params.items() if k != "data_dir"}
    planned = plan_parameters(
        {nb03.name: notebook_parameters(nb03)},
        {"quarter": quarter, "data_dir": params["data_dir"]},
        file_values,
    )[nb03.name]
    assert planned["scenario"] == "hybrid-edit"
    _run03(tmp_path / "03-adopted.ipynb", planned)
    plan = stage("territory_plan")
    assert dict(zip(plan["block_id"], plan["territory"], strict=True)) == saved
    al = stage("alignment")
    assert al["account_id"].is_unique and al["named"].sum() == TOP
    rest = al[~al["named"]]
    assert (rest["proposed_territory"] == rest["block_id"].map(saved)).all()
    assert set(al.loc[al["named"], "proposed_territory"]) <= {"NAM01", "NAM02"}


def test_history_by_the_proposed_plan_adds_up_to_each_accounts_history(run):
    from workbench.forecast import plan_revenue_series

    _, stage, processed, _, _ = run
    quarter = read_manifest(processed)["default_quarter"]
    facts = pd.read_parquet(processed / "facts_account_quarter.parquet")
    al = stage("alignment")
    s = plan_revenue_series(facts, al, quarter=quarter)
    # the oracle: every fact row added to its account's proposed territory, one row at a time
    territory = dict(zip(al["account_id"], al["proposed_territory"], strict=True))
    expected: dict[tuple[str, str], float] = {}
    for a, q, v in facts[["account_id", "quarter", "won_usd"]].itertuples(index=False):
        if q <= quarter and a in territory:
            key = (f"territory:{territory[a]}", q)
            expected[key] = expected.get(key, 0.0) + v
    got = s[s["scope_type"] == "territory"].set_index(["series_id", "period"])["value"]
    assert {k: v for k, v in got.items() if v} == pytest.approx(
        {k: v for k, v in expected.items() if v}
    )
    assert {"territory:NAM01", "territory:NAM02"} <= set(s["series_id"])  # the seats too


def test_every_quota_carries_its_chance_and_the_equal_chance_alternative(run):
    from scipy import stats

    nb, stage, _, _, _ = run
    q = stage("quotas_plan").set_index("territory")
    assert {"NAM01", "NAM02"} <= set(q.index) and q["rep_id"].notna().any()
    assert q["p_attain"].between(0, 1).all()
    target = q["quota_usd"].sum()
    # the share formula by hand: (1 − f)(w · history + (1 − w) · potential) + f · forecast
    w, f = 0.5, FORECAST_WEIGHT
    share = (1 - f) * (w * q["history_share"] + (1 - w) * q["potential_share"])
    share += f * q["forecast_usd"] / q["forecast_usd"].sum()
    assert q["quota_usd"].to_numpy() == pytest.approx((target * share).to_numpy(), rel=1e-9)
    # each chance recomputed from the stored forecast median and P10/P90 (split normal)
    z = stats.norm.ppf(0.9)
    lo, hi = (
        (q["forecast_usd"] - q["forecast_p10_usd"]) / z,
        (q["forecast_p90_usd"] - q["forecast_usd"]) / z,
    )

    def chance(quota):
        s = lo.where(quota < q["forecast_usd"], hi)
        return pd.Series(stats.norm.sf((quota - q["forecast_usd"]) / s), index=q.index)

    assert chance(q["quota_usd"]).to_numpy() == pytest.approx(q["p_attain"].to_numpy(), abs=1e-9)
    # equal-chance quotas: the same target, every territory the same chance (within 0.5 pp)
    eq = q["equal_chance_quota_usd"]
    assert eq.sum() == pytest.approx(target, rel=1e-9)
    got = chance(eq)
    assert got.max() - got.min() < 0.005
    assert got.mean() == pytest.approx(q["equal_chance"].iloc[0], abs=0.005)
    assert q["attain_p10"].to_numpy() == pytest.approx(
        (q["forecast_p10_usd"] / q["quota_usd"]).to_numpy()
    )
    summary = stage("territory_summary").set_index("metric")["value"].astype(float)
    assert 0 <= summary["quota_target_chance"] <= 1
    assert summary["quota_chance_max"] == pytest.approx(q["p_attain"].max())
    text = _text(nb)
    assert "Quota odds" in text and "chance" in text
    cell = next(c for c in nb["cells"] if "odds.plot()" in "".join(c["source"]))
    assert any("image/png" in o.get("data", {}) for o in cell["outputs"])
