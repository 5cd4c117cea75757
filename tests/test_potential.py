"""Market potential: index method, quantile regression, competitor adjustment, whitespace, SWOT
and notebook 01. Expected values are worked out by hand or come from the generating process."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import demo_project

from workbench import potential as pt
from workbench.config import ParameterError

ROOT = Path(__file__).resolve().parents[1]
Z80 = 0.8416212335729143  # standard normal 80th percentile


# ---------------------------------------------------------------------------------------------
# Index method


@pytest.fixture
def three_units():
    return pd.DataFrame(
        {
            "unit_id": ["U1", "U2", "U3"],
            "lat": [33.0, 34.0, 32.0],
            "lon": [-84.0, -84.0, -84.0],
            "population": [1000.0, 3000.0, 6000.0],
            "pct_bach": [20.0, 10.0, 5.0],
            "pct_rural": [0.0, 50.0, 100.0],
        }
    )


def test_index_method_by_hand(three_units):
    idx = pt.potential_index(
        three_units, weights={"pct_bach": 0.5, "1-pct_rural": 0.3, "population": 0.2}
    )
    # degree holders 200, 300, 300 of 800       -> shares 0.25, 0.375, 0.375
    # urban people 1000, 1500, 0 of 2500        -> shares 0.4, 0.6, 0
    # population 1000, 3000, 6000 of 10000      -> shares 0.1, 0.3, 0.6
    # U1 = .5·.25 + .3·.4 + .2·.1   = .125 + .12 + .02   = .265
    # U2 = .5·.375 + .3·.6 + .2·.3  = .1875 + .18 + .06  = .4275
    # U3 = .5·.375 + .3·0 + .2·.6   = .1875 + 0 + .12    = .3075
    np.testing.assert_allclose(idx["index_share"], [0.265, 0.4275, 0.3075])
    np.testing.assert_allclose(idx["share_non_pct_rural"], [0.4, 0.6, 0.0])
    # per head, 100 = average: U1 .265/.1 = 2.65 -> 265; U2 142.5; U3 51.25
    np.testing.assert_allclose(idx["index_per_capita"], [265.0, 142.5, 51.25])
    assert idx.index.equals(three_units.index)


def test_index_weights_are_normalised_and_checked(three_units):
    a = pt.potential_index(three_units, weights={"population": 2, "pct_bach": 2})
    b = pt.potential_index(three_units, weights={"population": 0.5, "pct_bach": 0.5})
    np.testing.assert_allclose(a["index_share"], b["index_share"])
    with pytest.raises(KeyError, match=r"no column 'income'.*population"):
        pt.potential_index(three_units, weights={"income": 1})
    with pytest.raises(ValueError, match="'1-' applies to pct_ columns only"):
        pt.potential_index(three_units, weights={"1-population": 1})
    with pytest.raises(ValueError, match="must be a number ≥ 0"):
        pt.potential_index(three_units, weights={"population": -1})


def test_regions_are_latitude_thirds_or_the_units_own(three_units):
    assert pt.unit_regions(three_units).tolist() == ["Central", "North", "South"]
    own = three_units.assign(region=["Metro", "Metro", "Rest"])
    assert pt.unit_regions(own).tolist() == ["Metro", "Metro", "Rest"]


# ---------------------------------------------------------------------------------------------
# Competitor adjustment


def test_competitor_pressure_and_factor_by_hand():
    comp = pd.DataFrame(
        {"unit_id": ["U1", "U1", "U2"], "competitor": ["X", "Y", "Y"], "presence": [0.5, 0.2, 0.1]}
    )
    p = pt.competitor_pressure(comp, ["U1", "U2", "U3"]).set_index("unit_id")
    # U1: 1 - (1 - .5)(1 - .2) = 1 - .4 = .6; U2: .1; U3 has no competitor: 0
    np.testing.assert_allclose(p["competitor_pressure"], [0.6, 0.1, 0.0])
    assert p.loc["U1", "top_competitor"] == "X"
    # strength .5, customers face .2 on average: (1 - .3) / (1 - .1) = .7 / .9
    assert pt.competitor_factor(0.6, strength=0.5, baseline=0.2) == pytest.approx(0.7 / 0.9)
    assert pt.competitor_factor(0.2, strength=0.5, baseline=0.2) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------
# A small company: two identical units with accounts, a third without


def make_world(seed: int = 0):
    rng = np.random.default_rng(seed)
    units = pd.DataFrame(
        {
            "unit_id": ["U1", "U2", "U3"],
            "unit_name": ["One", "Two", "Three"],
            "lat": [33.0, 34.0, 32.0],
            "lon": [-84.0, -84.0, -84.0],
            "population": [1000.0, 1000.0, 8000.0],
            "pct_bach": [20.0, 20.0, 10.0],
            "pct_rural": [10.0, 10.0, 50.0],
        }
    )
    n = 60
    ids = [f"A{i:02d}" for i in range(n)]
    unit = np.where(np.arange(n) % 2 == 0, "U1", "U2")
    employees = rng.integers(10, 600, n)
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "account_name": ids,
            "industry": "Retail",
            "employees": employees,
            "lat": np.where(unit == "U1", 33.0, 34.0),
            "lon": -84.0,
            "unit_id": unit,
            "status": np.where(np.arange(n) < 40, "customer", "prospect"),
            "owner_rep_id": pd.array(np.where(unit == "U1", "R1", "R2"), dtype="string"),
        }
    )
    accounts.loc[59, "owner_rep_id"] = pd.NA
    cust = accounts.iloc[:40]
    first = pd.DataFrame(
        {
            "account_id": cust["account_id"],
            "quarter": "2024Q1",
            "won_usd": 1.0,
            "won_n": 1,
            "lost_n": 0,
        }
    )
    recent = pd.DataFrame(
        {
            "account_id": cust["account_id"],
            "quarter": "2026Q2",
            "won_usd": 50.0 * cust["employees"] * rng.lognormal(0, 0.4, 40),
            "won_n": 1,
            "lost_n": np.where(cust["unit_id"] == "U2", 1, 0),
        }
    )
    facts = pd.concat([first, recent], ignore_index=True)
    competitors = pd.DataFrame({"unit_id": ["U2"], "competitor": ["X"], "presence": [0.5]})
    return accounts, units, facts, competitors


@pytest.fixture(scope="module")
def world():
    accounts, units, facts, competitors = make_world()
    res = pt.score_potential(
        accounts,
        units,
        facts,
        quarter="2026Q3",
        competitors=competitors,
        competitor_strength=0.3,
        index_weights={"population": 1.0},
        cv_folds=4,
    )
    return res, (accounts, units, facts, competitors)


def test_every_account_gets_a_potential_and_identities_hold(world):
    res, (accounts, *_rest) = world
    a = res.accounts
    assert len(a) == len(accounts) and a["account_id"].tolist() == accounts["account_id"].tolist()
    assert (a["potential_usd"] > 0).all()
    assert set(a["status"]) == {"customer", "prospect"}
    np.testing.assert_allclose(a["whitespace_usd"], a["potential_usd"] - a["revenue_usd"])
    np.testing.assert_allclose(a["penetration"], a["revenue_usd"] / a["potential_usd"])
    assert (a["whitespace_usd"] >= 0).all() and a["penetration"].between(0, 1).all()
    # every aggregate adds up to the same company totals
    for table in (res.units, res.territories, res.regions):
        for col in ("potential_usd", "revenue_usd", "whitespace_usd"):
            assert table[col].sum() == pytest.approx(a[col].sum())
        assert table["accounts"].sum() == len(a)
    t = res.territories
    np.testing.assert_allclose(t["penetration"], t["revenue_usd"] / t["potential_usd"])
    assert t.loc["unassigned", "accounts"] == 1
    assert res.penetration == pytest.approx(a["revenue_usd"].sum() / a["potential_usd"].sum())


def test_trailing_revenue_and_mature_customers_by_hand(world):
    res, (_acc, _units, facts, _c) = world
    a = res.accounts.set_index("account_id")
    # revenue window 2025Q4..2026Q3 holds only the 2026Q2 deals (2024Q1's $1 is older)
    recent = facts[facts["quarter"] == "2026Q2"].set_index("account_id")["won_usd"]
    np.testing.assert_allclose(a.loc[recent.index, "revenue_usd"], recent)
    assert (a.loc[a["status"] == "prospect", "revenue_usd"] == 0).all()
    # first win 2024Q1 <= 2025Q4 - 4 = 2024Q4: all 40 customers are mature
    assert int(a["mature"].sum()) == 40
    late = pt.account_history(
        pd.DataFrame(
            {
                "account_id": ["B"],
                "quarter": ["2025Q1"],
                "won_usd": [3.0],
                "won_n": [1],
                "lost_n": [0],
            }
        ),
        quarter="2026Q3",
        quarters=4,
    )
    assert late.loc["B", "prior_revenue_usd"] == 3.0 and late.loc["B", "revenue_usd"] == 0.0


def test_competitor_adjustment_in_the_pipeline(world):
    res, _ = world
    a = res.accounts.set_index("account_id")
    # U1 has no competitor, U2 pressure .5; customers split evenly, so baseline = .25
    assert res.settings["baseline_pressure"] == pytest.approx(0.25)
    u1 = a[a["unit_id"] == "U1"].iloc[0]
    u2 = a[a["unit_id"] == "U2"].iloc[0]
    # strength .3: U1 (1 - 0) / (1 - .075); U2 (1 - .15) / (1 - .075)
    assert u1["competitor_factor"] == pytest.approx(1 / 0.925)
    assert u2["competitor_factor"] == pytest.approx(0.85 / 0.925)
    # identical units and firmographics -> identical model potential; prospects are not
    # floored by revenue, so their potential is model x factor exactly
    prospects = a[a["status"] == "prospect"]
    np.testing.assert_allclose(
        prospects["potential_usd"],
        prospects["model_potential_usd"] * prospects["competitor_factor"],
    )


def test_units_table_and_index_potential(world):
    res, _ = world
    u = res.units.set_index("unit_id")
    assert u.loc["U3", "accounts"] == 0 and u.loc["U3", "potential_usd"] == 0
    assert math.isnan(u.loc["U3", "penetration"])  # no potential: penetration undefined
    # index on population only: 1000, 1000, 8000 of 10000 -> .1, .1, .8 of the total potential
    total = res.accounts["potential_usd"].sum()
    np.testing.assert_allclose(u["index_potential_usd"], np.array([0.1, 0.1, 0.8]) * total)
    assert u.loc["U3", "uncovered_potential_usd"] == pytest.approx(0.8 * total)
    assert u.loc["U1", "territory"] == "R1" and u.loc["U2", "territory"] == "R2"
    assert u["region"].tolist() == ["Central", "North", "South"]


# ---------------------------------------------------------------------------------------------
# Quantile regression recovers a planted upper quantile


def planted(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """ln spend = 6 + 0.8 ln(1 + employees) - 0.5·[Retail] + 0.02·pct_bach + 0.5·N(0, 1)."""
    employees = np.round(np.exp(rng.normal(4, 1.2, n)))
    retail = rng.random(n) < 0.4
    pct_bach = rng.uniform(5, 40, n)
    mu = 6 + 0.8 * np.log1p(employees) - 0.5 * retail + 0.02 * pct_bach
    spend = np.exp(mu + 0.5 * rng.standard_normal(n))
    feats = pd.DataFrame(
        {
            "unit_id": "U",
            "industry": np.where(retail, "Retail", "Manufacturing"),
            "log_employees": np.log1p(employees),
            "pct_bach": pct_bach,
        }
    )
    oracle_q80 = np.exp(mu + 0.5 * Z80)  # the generating process' 80th percentile
    return feats, pd.Series(spend), oracle_q80


def test_quantile_regression_recovers_planted_upper_quantile():
    rng = np.random.default_rng(42)
    feats, spend, _ = planted(3000, rng)
    model = pt.AchievablePotentialModel(0.8, cv_folds=3).fit(feats, spend)
    b = model.results_.params
    assert b["log_employees"] == pytest.approx(0.8, abs=0.05)
    assert b["industry[Retail]"] == pytest.approx(-0.5, abs=0.08)
    assert b["pct_bach"] == pytest.approx(0.02, abs=0.006)
    # intercept carries the quantile shift: 6 + 0.5 · z.8 = 6.42
    assert b["const"] == pytest.approx(6 + 0.5 * Z80, abs=0.15)
    new_feats, new_spend, oracle = planted(5000, rng)
    pred = model.predict(new_feats).to_numpy()
    assert np.median(np.abs(pred / oracle - 1)) < 0.05
    assert np.mean(new_spend.to_numpy() <= pred) == pytest.approx(0.8, abs=0.025)
    d = model.diagnostics()["value"]
    assert d["out-of-sample share below (3-fold)"] == pytest.approx(0.8, abs=0.03)
    assert d["out-of-sample skill vs unconditional"] > 0.2


def test_too_few_customers_is_a_clear_error():
    feats = pd.DataFrame({"unit_id": "U", "industry": "Retail", "log_employees": [1.0, 2.0]})
    with pytest.raises(ValueError, match="need at least 10 customers"):
        pt.AchievablePotentialModel().fit(feats, pd.Series([5.0, 9.0]))


# ---------------------------------------------------------------------------------------------
# SWOT


def test_swot_entries_by_hand(world):
    _res, (accounts, _units, facts, _c) = world
    # a large R1 account bought $900k in the prior year (2025Q2) and nothing since
    churned = pd.DataFrame(
        {
            "account_id": ["A58"],
            "quarter": ["2025Q2"],
            "won_usd": [9e5],
            "won_n": [1],
            "lost_n": [0],
        }
    )
    analyst = pd.DataFrame(
        {
            "scope": ["company", "R2", "Z9"],
            "kind": ["threat", "Weakness", "strength"],
            "item": ["New entrant", "Rep on leave", "Unknown scope"],
        }
    )
    all_facts = pd.concat([facts, churned], ignore_index=True)
    pot = pt.score_potential(
        accounts,
        _units,
        all_facts,
        quarter="2026Q3",
        competitors=_c,
        index_weights={"population": 1.0},
        cv_folds=4,
    )
    swot = pt.swot_inputs(pot, all_facts, quarter="2026Q3", analyst=analyst)
    t = swot.to_frame()
    assert {"scope_type", "scope", "kind", "item", "evidence", "value", "source"} <= set(t)

    def entries(scope, kind, evidence=None):
        g = t[(t["scope"] == scope) & (t["kind"] == kind)]
        return g if evidence is None else g[g["evidence"] == evidence]

    # win rates in the trailing year: R1 20 won / 20 closed = 100 %, R2 20 / 40 = 50 %,
    # company 40 / 60 = 67 %; the gap threshold is 5 points
    (s,) = entries("R1", "strength", "win_rate").itertuples()
    assert s.value == pytest.approx(1.0) and s.benchmark == pytest.approx(40 / 60)
    (w,) = entries("R2", "weakness", "win_rate").itertuples()
    assert w.value == pytest.approx(0.5) and "Win rate 50% vs company 67%" in w.item
    # R2's units face pressure .5, R1's none: company (potential-weighted) is lower than R2's
    assert len(entries("R2", "threat", "competitor_pressure")) == 1
    assert entries("R1", "threat", "competitor_pressure").empty
    # A58's $900k was R1's whole prior-year revenue: a large-account churn threat
    (c,) = entries("R1", "threat", "large_churned_usd").itertuples()
    assert c.value == pytest.approx(9e5) and "1 large account(s) lost" in c.item
    # U3 (index share .8, no accounts) is high-potential and uncovered: South's opportunity
    assert len(entries("South", "opportunity", "hidden_units")) == 1
    # analyst entries keep their text, get a scope type, and are marked as such
    a = t[t["source"] == "analyst"].set_index("item")
    assert a.loc["New entrant", "scope_type"] == "company"
    assert a.loc["Rep on leave", ["scope_type", "kind"]].tolist() == ["territory", "weakness"]
    assert a.loc["Unknown scope", "scope_type"] == "other"
    html = swot._repr_html_()
    assert "Territory R1" in html and "Strengths" in html and "(analyst)" in html
    assert swot.summary().loc[("territory", "R2"), "weakness"] >= 2


def test_swot_forecast_change_uses_same_quarters_a_year_earlier(world):
    res, (_a, _u, facts, _c) = world
    forecast = pd.DataFrame(
        {
            "scope_type": "territory",
            "scope": "R1",
            "period": ["2025Q4", "2026Q1", "2026Q4", "2027Q1"],
            "kind": ["actual", "actual", "forecast", "forecast"],
            "value_usd": [100.0, 50.0, np.nan, np.nan],
            "mean_usd": [np.nan, np.nan, 120.0, 60.0],
        }
    )
    m = pt.scope_metrics(res, facts, quarter="2026Q3", forecast=forecast)
    # (120 + 60) / (100 + 50) - 1 = +20 %
    assert m.loc[("territory", "R1"), "forecast_change"] == pytest.approx(0.2)
    swot = pt.swot_inputs(res, facts, quarter="2026Q3", forecast=forecast).to_frame()
    assert "Forecast +20%" in " ".join(swot.loc[swot["scope"] == "R1", "item"])


# ---------------------------------------------------------------------------------------------
# Parameters


def test_params_reject_bad_values():
    with pytest.raises(ParameterError, match=r"quantile must be in \[0.5, 1\)"):
        pt.PotentialParams.from_mapping({"quantile": 1.5})
    with pytest.raises(ParameterError, match=r"index_weights\['population'\] must be a number ≥ 0"):
        pt.PotentialParams.from_mapping({"index_weights": {"population": -1}})
    with pytest.raises(ParameterError, match="parameter 'horizon' must be int"):
        pt.PotentialParams.from_mapping({"horizon": "4"})
    p = pt.PotentialParams.from_mapping({"quarter": "2026Q2", "quantile": 0.9})
    assert str(p.period) == "2026Q2" and p.index_weights == {}  # {}: weights from the data


# ---------------------------------------------------------------------------------------------
# Notebook 01 through papermill, against a small demo


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    return demo_project(tmp_path_factory.mktemp("nb01"), seed=11, n_accounts=400)


def _outputs(nb: dict) -> tuple[str, int]:
    text, images = [], 0
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text.append(
                "".join(out.get("text", ""))
                + "".join(data.get("text/plain", ""))
                + "".join(data.get("text/html", ""))
            )
            images += "image/png" in data
    return "\n".join(text), images


@pytest.mark.slow
def test_notebook_01_through_papermill(small_demo, tmp_path):
    import papermill as pm

    from workbench.io import load, load_stage

    out = tmp_path / "01.ipynb"
    data = small_demo / "data"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "01_market_potential.ipynb"),
        str(out),
        parameters={
            "quarter": "2026Q3",
            "data_dir": str(data),
            "horizon": 2,
            "backtest_origins": 2,
            "cv_folds": 3,
            "indicators": [],
        },
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
    )
    text, images = _outputs(json.loads(out.read_text()))
    processed = data / "processed"
    accounts = load("accounts", processed)
    pa = load_stage(processed, "potential_accounts", "2026Q3")
    pu = load_stage(processed, "potential_units", "2026Q3")
    f = load_stage(processed, "forecast", "2026Q3")
    s = load_stage(processed, "swot", "2026Q3")
    # every account, customer or prospect, has a potential; the identities hold on disk
    assert sorted(pa["account_id"]) == sorted(accounts["account_id"])
    assert (pa["potential_usd"] > 0).all()
    np.testing.assert_allclose(pa["whitespace_usd"], pa["potential_usd"] - pa["revenue_usd"])
    assert pu["potential_usd"].sum() == pytest.approx(pa["potential_usd"].sum())
    assert {
        "unit_id",
        "potential_usd",
        "index_potential_usd",
        "revenue_usd",
        "whitespace_usd",
        "penetration",
        "accounts",
        "customers",
    } <= set(pu.columns)
    # two forecast quarters for every series, after the planning quarter
    fut = f[f["kind"] == "forecast"]
    assert fut.groupby("series_id")["period"].apply(list).map(tuple).unique().tolist() == [
        ("2026Q4", "2027Q1")
    ]
    assert "company" in set(f["series_id"]) and (fut["lower_usd"] <= fut["upper_usd"]).all()
    assert set(s["kind"]) <= set(pt.SWOT_KINDS) and (s["source"] == "analyst").any()
    # what the reader sees: the regression summary, diagnostics, backtest, SWOT quadrants, charts
    assert "QuantReg Regression Results" in text
    assert "out-of-sample share below (3-fold)" in text
    assert "seasonal_naive" in text and "beats seasonal naive" in text
    assert "Strengths" in text and "Threats" in text
    assert images >= 4  # fit, map, whitespace bars, fan chart


@pytest.mark.slow
def test_notebook_01_rejects_bad_parameters(small_demo, tmp_path):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError, match=r"quantile must be in \[0.5, 1\)"):
        pm.execute_notebook(
            str(ROOT / "notebooks" / "01_market_potential.ipynb"),
            str(tmp_path / "bad.ipynb"),
            parameters={"data_dir": str(small_demo / "data"), "quantile": 0.3},
            cwd=str(ROOT),
            kernel_name="python3",
            progress_bar=False,
        )


def test_model_summary_escapes_crm_text():
    # An industry name is CRM text: statsmodels' own HTML summary would carry it into the
    # report as markup. The summary is shown as escaped text instead.
    rng = np.random.default_rng(1)
    n = 80
    units = pd.DataFrame(
        {
            "unit_id": ["U1", "U2"],
            "lat": [33.0, 34.0],
            "lon": [-84.0, -84.0],
            "population": [1000.0, 4000.0],
        }
    )
    evil = "<script>alert(1)</script>"
    acc = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "industry": [evil if i % 2 else "Retail" for i in range(n)],
            "employees": rng.integers(5, 500, n),
            "lat": 33.0,
            "lon": -84.0,
            "unit_id": "U1",
            "status": "customer",
            "owner_rep_id": "R1",
        }
    )
    facts = pd.DataFrame(
        {
            "account_id": acc["account_id"],
            "quarter": "2026Q2",
            "won_usd": 100 * acc["employees"] * rng.lognormal(0, 0.3, n),
            "won_n": 1,
            "lost_n": 0,
        }
    )
    first = facts.assign(quarter="2024Q1")
    res = pt.score_potential(
        acc, units, pd.concat([first, facts]), quarter="2026Q3", index_weights={"population": 1}
    )
    page = res.model_summary()._repr_html_()
    assert "<script" not in page and "&lt;script&gt;" in page
    assert evil in str(res.model_summary())  # the text itself is kept, only escaped in HTML
