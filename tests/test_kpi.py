"""KPI review (workbench.kpi, notebook 04) on a small hand-built company.

Every expected value below was worked out by hand from the fixture (the arithmetic is in the
comments), never copied from the code's output.

The company (review quarter 2026Q3 = 2026-07-01..2026-09-30; the first closed deal is in 2024Q4):

    reps      R1 Atlanta (metro), R2 Savannah, R3 Macon — R3 left on 2026-06-30
    accounts  A1, A2 -> R1 (A2 was R3's until R3 left)   unit U1 (Fulton, the largest unit)
              A3, A4 -> R2                                unit U2
              A5     -> R2                                unit U3
              A6     -> unassigned                        unit U3
    A3 is a customer who churns in 2026Q3, A4 a new customer won in 2026Q3.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import papermill as pm
import pytest
from conftest import demo_project

from workbench import kpi
from workbench.concentration import gini
from workbench.config import ParameterError
from workbench.io import load, save_stage, stage_path, write_frame

METRO_KM = 60.0  # this fixture's regions: metro vs outside by the rep's home (opt-in)

D = pd.Timestamp
NaT = pd.NaT

OPPS = [  # id, account, rep, created, closed, stage, amount
    ("O01", "A1", "R1", "2024-10-01", "2024-12-15", "won", 1000.0),  # 2024Q4: history starts
    ("O02", "A1", "R1", "2025-05-01", "2025-07-01", "won", 2000.0),  # 2025Q3
    ("O03", "A1", "R1", "2026-04-01", "2026-06-30", "won", 3000.0),  # last day of 2026Q2
    ("O04", "A1", "R1", "2026-05-01", "2026-07-01", "won", 4000.0),  # first day of 2026Q3
    ("O05", "A1", "R1", "2026-06-30", None, "open", 5000.0),  # open at the start of Q3
    ("O06", "A1", "R1", "2026-07-01", "2026-09-30", "lost", 1000.0),  # created inside Q3
    ("O07", "A2", "R3", "2024-11-01", "2025-02-15", "won", 800.0),  # by R3, who left
    ("O08", "A2", "R3", "2026-02-01", "2026-06-15", "won", 1200.0),  # by R3, 2026Q2
    ("O09", "A2", "R1", "2026-06-11", "2026-08-01", "won", 2000.0),  # by R1 after the handover
    ("O10", "A3", "R2", "2024-12-01", "2025-03-01", "won", 600.0),
    ("O11", "A3", "R2", "2025-05-01", "2025-08-01", "won", 400.0),  # A3's last win: 2025Q3
    ("O12", "A3", "R2", "2026-05-01", "2026-07-15", "lost", 900.0),  # renewal lost
    ("O13", "A4", "R2", "2026-07-10", "2026-09-10", "won", 1500.0),  # A4's first win
    ("O14", "A5", "R2", "2026-03-01", "2026-08-20", "lost", 500.0),
    ("O15", "A5", "R2", "2026-09-01", None, "open", 2500.0),
    ("O16", "A6", "R2", "2025-01-01", "2025-08-01", "lost", 300.0),
]
QUOTAS = [
    ("2026Q3", "R1", 8000.0),
    ("2026Q3", "R2", 4000.0),
    ("2026Q2", "R1", 5000.0),
    ("2026Q2", "R2", 2000.0),
    ("2026Q2", "R3", 1000.0),
    ("2026Q1", "R1", 1000.0),
    ("2026Q1", "R2", 0.0),
]


def make_inputs(*, potential: bool = False) -> kpi.KpiInputs:
    units = pd.DataFrame(
        {
            "unit_id": ["U1", "U2", "U3", "U4"],
            "unit_name": ["Fulton", "Chatham", "Bibb", "Empty"],
            "lat": [33.79, 31.97, 32.81, 31.50],
            "lon": [-84.47, -81.09, -83.69, -84.00],
            "population": [900.0, 200.0, 150.0, 10.0],
        }
    )
    where = {"U1": (33.75, -84.40), "U2": (32.0, -81.1), "U3": (32.8, -83.7)}
    unit = ["U1", "U1", "U2", "U2", "U3", "U3"]
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(1, 7)],
            "unit_id": unit,
            "owner_rep_id": ["R1", "R1", "R2", "R2", "R2", None],
            "lat": [where[u][0] for u in unit],
            "lon": [where[u][1] for u in unit],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3"],
            "rep_name": ["Ada Park", "Ben Cole", "Cy Dunn"],
            "home_lat": [33.75, 32.08, 32.84],
            "home_lon": [-84.39, -81.09, -83.63],
            "home_city": ["Atlanta", "Savannah", "Macon"],
            "active": ["true", "true", "false"],
        }
    )
    opps = pd.DataFrame(
        OPPS,
        columns=[
            "opportunity_id",
            "account_id",
            "rep_id",
            "created_date",
            "close_date",
            "stage",
            "amount_usd",
        ],
    )
    opps["created_date"] = pd.to_datetime(opps["created_date"])
    opps["close_date"] = pd.to_datetime(opps["close_date"])
    extra = {}
    if potential:
        extra = {
            "potential_accounts": pd.DataFrame(
                {
                    "account_id": [f"A{i}" for i in range(1, 7)],
                    "potential_usd": [20000.0, 10000.0, 5000.0, 5000.0, 10000.0, 2000.0],
                }
            ),
            "potential_units": pd.DataFrame(
                {
                    "unit_id": ["U1", "U2", "U3", "U4"],
                    "potential_usd": [40000.0, 20000.0, 30000.0, 10000.0],
                }
            ),
            "competitors": pd.DataFrame(
                {
                    "unit_id": ["U1", "U1", "U2"],
                    "competitor": ["C1", "C2", "C1"],
                    "presence": [0.5, 0.5, 0.2],
                }
            ),
        }
    return kpi.KpiInputs(
        accounts=accounts,
        opportunities=opps,
        reps=reps,
        geo_units=units,
        quotas=pd.DataFrame(QUOTAS, columns=["quarter", "rep_id", "quota_usd"]),
        **extra,
    )


@pytest.fixture(scope="module")
def tables():
    inputs = make_inputs(potential=True)
    qs = ["2026Q1", "2026Q2", "2026Q3"]
    levels = [lv for lv in kpi.LEVEL_IDS if lv != "district"]  # these reps have no district
    return {lv: kpi.kpi_table(inputs, level=lv, quarters=qs, metro_km=METRO_KM) for lv in levels}


STRICT = kpi.Thresholds(
    min_attainment=0.8, min_coverage=2.0, min_logo_retention=0.85, min_win_rate=0.5
)


@pytest.fixture(scope="module")
def review_q3():
    """The 2026Q3 review with a 12-quarter trend and strict thresholds; inputs kept to compare."""
    inputs = make_inputs(potential=True)
    before = {k: v.copy() for k, v in vars(inputs).items() if isinstance(v, pd.DataFrame)}
    return (
        kpi.review_kpis(
            inputs, quarter="2026Q3", trailing_quarters=12, thresholds=STRICT, metro_km=METRO_KM
        ),
        inputs,
        before,
    )


def row(frame: pd.DataFrame, quarter: str, **ids) -> pd.Series:
    mask = frame["quarter"] == quarter
    for col, value in ids.items():
        mask &= frame[col] == value
    (i,) = np.flatnonzero(mask.to_numpy())
    return frame.iloc[i]


def approx(value):
    return pytest.approx(value, rel=1e-9, abs=1e-12)


# --- deal KPIs, quarter boundaries --------------------------------------------------------------


def test_territory_deal_kpis_by_hand(tables):
    r1 = row(tables["territory"], "2026Q3", territory="R1")
    # Won in Q3: O04 (closed 07-01) 4000 + O09 2000; O03 closed 06-30 belongs to Q2.
    assert r1["revenue_usd"] == 6000 and r1["won_n"] == 2 and r1["lost_n"] == 1  # lost: O06
    assert r1["attainment"] == approx(6000 / 8000)  # 0.75
    assert r1["win_rate"] == approx(2 / 3)
    assert r1["win_rate_value"] == approx(6000 / 7000)  # lost O06 1000
    assert r1["avg_deal_usd"] == 3000
    # O04 05-01 -> 07-01 = 31 + 30 = 61 days; O09 06-11 -> 08-01 = 30 + 21 = 51 days; mean 56.
    assert r1["cycle_days"] == approx(56)
    # Territory Q2 = O03 3000 + O08 1200 (R3's deal on A2, now R1's book) = 4200.
    assert r1["growth_qoq"] == approx(6000 / 4200 - 1)
    assert r1["growth_yoy"] == approx(6000 / 2000 - 1)  # 2025Q3: O02 2000
    # Open at the start of Q3: O04 4000 + O05 (created 06-30) 5000 + O09 2000 = 11000;
    # O06 was created 07-01 (not yet), O03 closed 06-30 (no longer open).
    assert r1["pipeline_start_usd"] == 11000
    assert r1["coverage"] == approx(11000 / 8000)  # 1.375
    assert r1["pipeline_end_usd"] == 5000  # only O05; O06 closed on the last day
    assert r1["worked_opportunities_n"] == 4  # O04, O05, O06, O09


def test_second_territory_and_empty_growth(tables):
    r2 = row(tables["territory"], "2026Q3", territory="R2")
    assert r2["revenue_usd"] == 1500 and r2["attainment"] == approx(1500 / 4000)
    assert r2["win_rate"] == approx(1 / 3)  # won O13; lost O12, O14
    assert r2["win_rate_value"] == approx(1500 / (1500 + 900 + 500))
    assert r2["cycle_days"] == approx(62)  # 07-10 -> 09-10 = 31 + 31
    assert math.isnan(r2["growth_qoq"])  # nothing won on A3..A5 in Q2: no growth, not inf
    assert r2["growth_yoy"] == approx(1500 / 400 - 1)  # 2025Q3: O11 400
    assert r2["pipeline_start_usd"] == 1400  # O12 900 + O14 500
    assert r2["coverage"] == approx(1400 / 4000)
    assert r2["pipeline_end_usd"] == 2500  # O15


def test_company_kpis_by_hand(tables):
    c = row(tables["company"], "2026Q3")
    assert c["revenue_usd"] == 7500  # 6000 + 1500
    assert c["quota_usd"] == 12000 and c["attainment"] == approx(7500 / 12000)
    assert c["win_rate"] == approx(3 / 6)
    assert c["win_rate_value"] == approx(7500 / (7500 + 1000 + 900 + 500))
    assert c["avg_deal_usd"] == 2500
    assert c["cycle_days"] == approx((61 + 51 + 62) / 3)  # 58: summed, not averaged averages
    assert c["growth_qoq"] == approx(7500 / 4200 - 1)
    assert c["growth_yoy"] == approx(7500 / 2400 - 1)  # 2025Q3: O02 2000 + O11 400
    assert c["coverage"] == approx(12400 / 12000)
    assert c["accounts_n"] == 6 and c["reps_n"] == 2 and c["accounts_per_rep"] == 3.0


# --- customers, retention, concentration ------------------------------------------------------


def test_customers_retention_by_hand(tables):
    r1 = row(tables["territory"], "2026Q3", territory="R1")
    r2 = row(tables["territory"], "2026Q3", territory="R2")
    c = row(tables["company"], "2026Q3")
    # TTM 2025Q4..2026Q3: A1 3000 + 4000 = 7000, A2 1200 + 2000 = 3200, A4 1500; A3 none.
    assert r1["revenue_ttm_usd"] == 10200 and r2["revenue_ttm_usd"] == 1500
    assert (r1["customers_n"], r2["customers_n"], c["customers_n"]) == (2, 1, 3)
    # A3's last win (O11) was 2025Q3: a customer at the end of Q2, not of Q3 -> churned.
    # A4's first win is O13 in Q3 -> new.
    assert (r2["new_customers_n"], r2["churned_customers_n"]) == (1, 1)
    assert (r1["new_customers_n"], r1["churned_customers_n"]) == (0, 0)
    # A year ago (TTM 2024Q4..2025Q3): A1 1000 + 2000 = 3000, A2 800, A3 600 + 400 = 1000.
    assert r1["logo_retention"] == 1.0 and r2["logo_retention"] == 0.0
    assert c["logo_retention"] == approx(2 / 3) and c["churn_rate"] == approx(1 / 3)
    assert r1["grr"] == approx((3000 + 800) / 3800)  # min(7000, 3000) + min(3200, 800)
    assert r1["nrr"] == approx(10200 / 3800)
    assert c["grr"] == approx((3000 + 800 + 0) / 4800)
    assert c["nrr"] == approx(10200 / 4800)
    assert r2["grr"] == 0.0 and r2["nrr"] == 0.0
    # Top 20 %: ceil(0.2 * 2) = 1 customer of [7000, 3200]; company ceil(0.6) = 1 of 3.
    assert r1["top20_share"] == approx(7000 / 10200)
    assert c["top20_share"] == approx(7000 / 11700)


def test_windows_before_the_history_start_are_empty(tables):
    # Retention in 2026Q2 needs 2024Q3..2026Q2, but the data start in 2024Q4.
    c = row(tables["company"], "2026Q2")
    assert pd.isna(c["logo_retention"]) and pd.isna(c["grr"]) and pd.isna(c["nrr"])
    assert pd.notna(c["customers_n"]) and pd.notna(c["new_customers_n"])  # 2025Q3.. is known
    early = kpi.kpi_table(make_inputs(), level="company", quarters=["2025Q1"]).iloc[0]
    # 2025Q1: won O07 800 + O10 600; the quarter before (2024Q4) is known: O01 1000.
    assert early["revenue_usd"] == 1400 and early["growth_qoq"] == approx(0.4)
    assert pd.isna(early["growth_yoy"])  # 2024Q1 is before the data: unknown, not zero
    assert pd.isna(early["customers_n"]) and pd.isna(early["revenue_ttm_usd"])


# --- division by zero, a rep who left, regions -------------------------------------------------


def test_no_quota_no_closed_deals_give_empty_values_never_inf(tables):
    u = row(tables["territory"], "2026Q3", territory="unassigned")
    assert u["revenue_usd"] == 0
    for col in (
        "attainment",
        "coverage",
        "win_rate",
        "win_rate_value",
        "avg_deal_usd",
        "cycle_days",
        "growth_qoq",
        "growth_yoy",
        "logo_retention",
        "top20_share",
        "accounts_per_rep",
    ):
        assert pd.isna(u[col]), col
    r2_q1 = row(tables["rep"], "2026Q1", rep_id="R2")  # quota 0 -> no attainment
    assert r2_q1["quota_usd"] == 0 and pd.isna(r2_q1["attainment"])
    r2_q2 = row(tables["rep"], "2026Q2", rep_id="R2")  # quota, nothing won: 0 %, not empty
    assert r2_q2["attainment"] == 0.0 and pd.isna(r2_q2["win_rate"])
    for frame in tables.values():
        numbers = frame.select_dtypes("number").astype(float).to_numpy()
        assert not np.isinf(numbers).any()


def test_rep_view_keeps_deals_with_the_rep_who_worked_them(tables):
    reps = tables["rep"]
    r1 = row(reps, "2026Q3", rep_id="R1")
    assert r1["revenue_usd"] == 6000
    assert r1["growth_qoq"] == approx(6000 / 3000 - 1)  # R1's own Q2: O03 only (O08 was R3's)
    r3 = row(reps, "2026Q2", rep_id="R3")
    assert r3["revenue_usd"] == 1200 and r3["attainment"] == approx(1.2)  # O08 / 1000
    assert not r3["active"] and r3["accounts_n"] == 0
    assert "R3" not in set(reps.loc[reps["quarter"] == "2026Q3", "rep_id"])  # gone in Q3


def test_regions_by_rep_home(tables):
    regions = kpi.rep_regions(make_inputs().reps, make_inputs().geo_units, metro_km=60)
    # Atlanta is ~8 km from the Fulton centroid; Savannah and Macon are > 100 km away.
    assert regions.to_dict() == {
        "R1": "metro Atlanta",
        "R2": "outside metro",
        "R3": "outside metro",
    }
    metro = row(tables["region"], "2026Q3", region="metro Atlanta")
    outside = row(tables["region"], "2026Q3", region="outside metro")
    assert (metro["revenue_usd"], metro["attainment"]) == (6000, approx(0.75))
    assert (outside["revenue_usd"], outside["attainment"]) == (1500, approx(1500 / 4000))
    assert row(tables["territory"], "2026Q3", territory="unassigned")["region"] == "unassigned"


def test_districts_roll_up_territories_by_the_reps_district(tables):
    inputs = make_inputs(potential=True)
    reps = inputs.reps.assign(district=["East", "East", "West"])
    inputs = dataclasses.replace(inputs, reps=reps)
    with_d = kpi.kpi_table(inputs, level="district", quarters=["2026Q3"], metro_km=METRO_KM)
    east = row(with_d, "2026Q3", district="East")
    t = tables["territory"]
    r1 = row(t, "2026Q3", territory="R1")
    r2 = row(t, "2026Q3", territory="R2")
    assert east["revenue_usd"] == r1["revenue_usd"] + r2["revenue_usd"]
    q3 = {r: q for qq, r, q in QUOTAS if qq == "2026Q3"}
    assert east["quota_usd"] == q3["R1"] + q3["R2"]
    assert set(with_d["district"]) == {"East", "West", "unassigned"}
    terr = kpi.kpi_table(inputs, level="territory", quarters=["2026Q3"], metro_km=METRO_KM)
    assert terr.set_index("territory")["district"].to_dict() == {
        "R1": "East",
        "R2": "East",
        "unassigned": "unassigned",
    }
    review = kpi.review_kpis(inputs, quarter="2026Q3", trailing_quarters=1, metro_km=METRO_KM)
    assert review.districts is not None and len(review.districts) == 3
    assert kpi.review_kpis(make_inputs(), quarter="2026Q3", trailing_quarters=1).districts is None
    with pytest.raises(ValueError, match="district column"):
        kpi.kpi_table(make_inputs(), level="district", quarters=["2026Q3"])


# --- potential, market share ------------------------------------------------------------------


def test_penetration_market_share_and_share_index(tables):
    r1 = row(tables["territory"], "2026Q3", territory="R1")
    r2 = row(tables["territory"], "2026Q3", territory="R2")
    c = row(tables["company"], "2026Q3")
    assert r1["potential_usd"] == 30000 and r1["penetration"] == approx(10200 / 30000)
    assert r2["penetration"] == approx(1500 / 20000)
    assert c["penetration"] == approx(11700 / 52000)
    # Market: U1 (40000) is all R1; U2 (20000) all R2; U3 (30000) half R2, half unassigned;
    # U4 (10000) has no account -> unassigned (uncovered market).
    assert r1["market_usd"] == 40000 and r2["market_usd"] == 35000
    assert row(tables["territory"], "2026Q3", territory="unassigned")["market_usd"] == 25000
    assert c["market_usd"] == 100000 and c["market_share"] == approx(11700 / 100000)
    assert r2["market_share"] == approx(1500 / 35000)
    # Presence per account: U1 0.5 + 0.5 = 1.0, U2 0.2, U3 0. R1: (1 + 1) / 2 = 1;
    # R2: (0.2 + 0.2 + 0) / 3. Share index = share * (1 + presence).
    assert r1["competitor_presence"] == approx(1.0)
    assert r1["share_index"] == approx(10200 / 40000 * 2)
    assert r2["share_index"] == approx(1500 / 35000 * (1 + 0.4 / 3))
    assert c["competitor_presence"] == approx(2.4 / 6)


def test_potential_is_optional():
    t = kpi.kpi_table(make_inputs(), level="territory", quarters=["2026Q3"])
    for col in ("potential_usd", "penetration", "market_usd", "market_share", "share_index"):
        assert t[col].isna().all(), col
    assert t["revenue_usd"].sum() == 7500


# --- fairness, Gini, flags, balance -----------------------------------------------------------


def test_gini_by_hand():
    # [0.6 .. 1.4] step 0.2, mean 1: unordered gaps 4*0.2 + 3*0.4 + 2*0.6 + 1*0.8 = 4.0,
    # ordered pairs 8.0; G = 8 / (2 * 25 * 1) = 0.16.
    assert gini([0.6, 0.8, 1.0, 1.2, 1.4]) == approx(0.16)
    assert gini([0.5, 1.0, 1.5]) == approx(4 / 18)  # gaps .5 + 1 + .5 = 2, ordered 4
    assert gini([1.0, np.nan, 1.0]) == 0.0 and math.isnan(gini([]))


def fairness_frame(attainment, potential, win_rate) -> pd.DataFrame:
    n = len(attainment)
    return pd.DataFrame(
        {
            "territory": [f"T{i}" for i in range(n)],
            "attainment": attainment,
            "potential_usd": potential,
            "accounts_n": [10] * n,
            "growth_yoy": [0.1] * n,
            "win_rate_value": win_rate,
        }
    )


def test_fairness_verdict_when_potential_decides():
    # Attainment rises with potential (rho = 1); win-rate ranks [4,2,3,5,1] vs [1..5]:
    # d^2 = 9+0+0+1+16 = 26, rho = 1 - 6*26/(5*24) = -0.3.
    f = kpi.quota_fairness(
        fairness_frame([0.6, 0.8, 1.0, 1.2, 1.4], [10, 20, 30, 40, 50], [0.5, 0.3, 0.4, 0.6, 0.2])
    )
    assert f.table.loc["potential_usd", "spearman_rho"] == approx(1.0)
    assert f.table.loc["win_rate_value", "spearman_rho"] == approx(-0.3)
    assert "the territories, not the reps, decide who wins" in f.verdict
    assert "larger territories beat their quota" in f.verdict
    assert "Gini of attainment 0.16" in f.verdict


def test_fairness_verdict_when_performance_decides():
    # Attainment ranks [2,4,3,1,5] vs potential [1..5]: d^2 = 1+4+0+9+0 = 14,
    # rho = 1 - 84/120 = 0.3; win rate has the same order as attainment (rho = 1).
    f = kpi.quota_fairness(
        fairness_frame([0.9, 1.1, 1.0, 0.8, 1.2], [1, 2, 3, 4, 5], [0.45, 0.55, 0.5, 0.4, 0.6])
    )
    assert f.table.loc["potential_usd", "spearman_rho"] == approx(0.3)
    assert "look like performance" in f.verdict and "decide who wins" not in f.verdict
    assert math.isnan(f.table.loc["accounts_n", "spearman_rho"])  # all sizes equal


def test_fairness_verdict_when_both_potential_and_performance_track_attainment():
    # Potential ranks [1,2,3,5,4] vs attainment [1..5]: d^2 = 0+0+0+1+1 = 2,
    # rho = 1 - 12/120 = 0.9 >= 0.5; win rate has attainment's order (rho = 1 >= 0.9).
    f = kpi.quota_fairness(
        fairness_frame([0.6, 0.8, 1.0, 1.2, 1.4], [1, 2, 3, 5, 4], [0.2, 0.3, 0.4, 0.5, 0.6])
    )
    assert f.table.loc["potential_usd", "spearman_rho"] == approx(0.9)
    assert "ρ = +0.90" in f.verdict and "win rate ρ = +1.00" in f.verdict
    assert "performance at least as strongly" in f.verdict
    assert "decide who wins" not in f.verdict and "does not track" not in f.verdict


def test_fairness_needs_enough_territories():
    f = kpi.quota_fairness(fairness_frame([0.9, 1.1, 1.0], [1, 2, 3], [0.4, 0.5, 0.6]))
    assert f.verdict.startswith("Too few territories with a quota (3)")


def test_flags_ranked_with_reasons(review_q3):
    flags = review_q3[0].flags
    # R2: attainment .375, coverage .35, retention 0, win rate 1/3 -> 4 failed;
    # shortfall (.8-.375)/.8 + (2-.35)/2 + (.85-0)/.85 + (.5-1/3)/.5 = .53125+.825+1+.33333.
    # R1: attainment .75, coverage 1.375 -> 2 failed; (.8-.75)/.8 + (2-1.375)/2 = .375.
    # Both reps fail exactly what their territory fails -> one row each; unassigned not flagged.
    assert flags["id"].tolist() == ["R2", "R1"]
    assert flags["level"].tolist() == ["territory & rep"] * 2
    assert flags["failed_n"].tolist() == [4, 2]
    assert flags["shortfall"].tolist() == [approx(0.53125 + 0.825 + 1 + 1 / 3), approx(0.375)]
    assert flags.loc[1, "reasons"] == (
        "attainment 75% < 80% (missed quota); coverage 1.38x < 2.00x (thin pipeline going in)"
    )
    assert flags.loc[0, "logo_retention"] == 0.0 and flags.loc[0, "revenue_usd"] == 1500


def test_flags_keep_territory_and_rep_apart_when_they_differ():
    flags = kpi.review_kpis(
        make_inputs(), quarter="2026Q2", trailing_quarters=1, thresholds=STRICT
    ).flags
    # 2026Q2. Territory R1: 4200/5000 = .84 ok; pipeline at start = O08 1200 -> .24 (1 fail).
    # Rep R1: O03 3000/5000 = .6 and no own pipeline (O08 is R3's) -> 0 (2 fails:
    # (.8-.6)/.8 + 2/2 = 1.25). Rep R3 (left after Q2): attainment O08 1200/1000 = 1.2 ok;
    # own pipeline at start O08 1200 -> coverage 1.2 < 2 (1 fail, (2-1.2)/2 = .4).
    # R2: 0/2000 and O14 500/2000 = .25 (2 fails: 1 + .875 = 1.875), rep and territory alike.
    # Win rates: R1 and R3 won all they closed; R2 closed nothing (empty, not judged).
    got = list(zip(flags["level"], flags["id"], flags["failed_n"], strict=True))
    assert got == [
        ("territory & rep", "R2", 2),
        ("rep", "R1", 2),
        ("territory", "R1", 1),
        ("rep", "R3", 1),
    ]
    assert flags["shortfall"].tolist() == [approx(1.875), approx(1.25), approx(0.88), approx(0.4)]
    assert flags["rank"].tolist() == [1, 2, 3, 4]


def test_balance_review_against_the_mean():
    t = kpi.kpi_table(make_inputs(potential=True), level="territory", quarters=["2026Q3"])
    # R1: 2 accounts, potential 30000, 4 deals worked; R2: 3, 20000, 4 (unassigned left out).
    # Means 2.5, 25000, 4 -> R1 -20 %, +20 %, 0; R2 +20 %, -20 %, 0.
    b = kpi.balance_review(t, tolerance=0.25)
    assert b.table.index.tolist() == ["R1", "R2"]
    assert b.table["accounts_n_dev"].tolist() == [approx(-0.2), approx(0.2)]
    assert b.table["potential_usd_dev"].tolist() == [approx(0.2), approx(-0.2)]
    assert b.table["worked_opportunities_n_dev"].tolist() == [0.0, 0.0]
    assert b.verdict.startswith("All 2 territories lie within ±25%")
    tight = kpi.balance_review(t, tolerance=0.1)
    assert tight.verdict.startswith("2 of 2 territories lie outside ±10%")
    assert "redesign (notebook 03) is warranted" in tight.verdict


# --- the review object and its errors ---------------------------------------------------------


def test_review_object_summary_and_frame(review_q3):
    review = review_q3[0]
    assert review.territories["territory"].tolist() == ["R1", "R2", "unassigned"]
    assert review.trend["company"]["quarter"].iloc[0] == "2024Q4"  # cut at the history start
    assert any("trend starts at 2024Q4" in n for n in review.notes)
    s = review.summary()
    assert s.loc["Revenue (won, by close date)", "company"] == "$7.5k"
    assert s.loc["Attainment", "metro Atlanta"] == "75%"
    assert s.loc["Growth QoQ", "unassigned"] == "–"
    frame = review.to_frame()
    assert set(frame["level"]) == {"territory", "rep", "region", "company"}
    assert len(frame) == 3 + 2 + 3 + 1  # territories, reps in Q3, regions, company
    html = review._repr_html_()
    assert "KPI review 2026Q3" in html and "Gini" in html


def test_errors_are_clear():
    with pytest.raises(ValueError, match="quarter 2027Q1 is outside the data"):
        kpi.review_kpis(make_inputs(), quarter="2027Q1")
    with pytest.raises(ValueError, match="level must be one of territory, rep"):
        kpi.kpi_table(make_inputs(), level="state", quarters=["2026Q3"])
    with pytest.raises(ParameterError, match="trailing_quarters must be ≥ 1"):
        kpi.KpiParams.from_mapping({"trailing_quarters": 0})
    with pytest.raises(ParameterError, match="min_win_rate must be a share between 0 and 1"):
        kpi.KpiParams.from_mapping({"min_win_rate": 1.5})
    with pytest.raises(ParameterError, match="quarter must look like 2026Q3"):
        kpi.KpiParams.from_mapping({"quarter": "Q3-2026"})


def test_without_quotas_attainment_and_fairness_are_empty():
    inputs = dataclasses.replace(
        make_inputs(),
        quotas=pd.DataFrame(
            {
                "quarter": pd.Series(dtype=str),
                "rep_id": pd.Series(dtype=str),
                "quota_usd": pd.Series(dtype=float),
            }
        ),
    )
    review = kpi.review_kpis(inputs, quarter="2026Q3", trailing_quarters=1)
    assert review.territories[["attainment", "coverage"]].isna().all().all()
    assert review.territories["revenue_usd"].tolist() == [6000, 1500, 0]
    assert review.fairness.verdict.startswith("Too few territories with a quota (0)")
    assert kpi.plot_attainment(review) is not None  # an empty chart that says why


def test_inputs_are_not_mutated(review_q3):
    _, inputs, before = review_q3
    for name, frame in before.items():
        pd.testing.assert_frame_equal(getattr(inputs, name), frame)


# --- the notebook, end to end ------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    """A small demo company, ingested; 2026Q2 gets a hand-made potential stage."""
    home = demo_project(tmp_path_factory.mktemp("kpi_home"), seed=5, n_accounts=300)
    processed = home / "data" / "processed"
    accounts = load("accounts", processed)
    potential = pd.DataFrame(
        {"account_id": accounts["account_id"], "potential_usd": accounts["employees"] * 1000.0}
    )
    save_stage(potential, processed, "potential_accounts", "2026Q2")
    return home


def test_loader_notes_missing_potential(demo_data):
    processed = demo_data / "data" / "processed"
    missing = kpi.load_inputs(processed, quarter="2026Q3")
    assert missing.potential_accounts is None
    assert any("potential_accounts_2026Q3 not found" in n for n in missing.notes)
    found = kpi.load_inputs(processed, quarter="2026Q2")
    assert found.potential_accounts is not None
    assert not any("potential_accounts" in n for n in found.notes)
    # another schema (written by hand: save_stage refuses it): ignored, with a note
    write_frame(
        pd.DataFrame({"account_id": ["A"], "score": [1.0]}),
        stage_path(processed, "potential_accounts", "2025Q4"),
    )
    odd = kpi.load_inputs(processed, quarter="2025Q4")
    assert odd.potential_accounts is None
    assert any("has no account_id and potential_usd" in n for n in odd.notes)


@pytest.mark.slow
def test_notebook_through_papermill(demo_data, tmp_path):
    from workbench.config import project_root

    processed = demo_data / "data" / "processed"
    out = tmp_path / "04.ipynb"
    pm.execute_notebook(
        str(project_root() / "notebooks" / "04_kpi_review.ipynb"),
        str(out),
        parameters={
            "quarter": "2026Q2",
            "data_dir": str(demo_data / "data"),
            "trailing_quarters": 4,
            "min_attainment": 0.9,
        },
        cwd=str(project_root()),
        kernel_name="python3",
        progress_bar=False,
    )
    nb = json.loads(out.read_text())
    outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    text = "\n".join(
        "".join(o.get("data", {}).get("text/plain", "")) + "".join(o.get("text", ""))
        for o in outputs
    )
    assert "KPI review 2026Q2" in text
    assert ("decide who wins" in text) or ("look like performance" in text)
    assert "potential_units_2026Q2 not found" in text  # market share is empty, and says so
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 5  # the five charts
    # Stage files: one row per territory and per rep, for the quarter.
    accounts = load("accounts", processed)
    terr = pd.read_parquet(stage_path(processed, "kpi_territory", "2026Q2"))
    owners = set(accounts["owner_rep_id"].dropna())
    assert set(terr["territory"]) == owners | (
        {"unassigned"} if accounts["owner_rep_id"].isna().any() else set()
    )
    assert (terr["quarter"] == "2026Q2").all()
    # Independent oracle: won deals closed 2026-04-01..2026-06-30, straight from the table.
    opps = load("opportunities", processed)
    won = opps[
        (opps["stage"] == "won")
        & (opps["close_date"] >= "2026-04-01")
        & (opps["close_date"] <= "2026-06-30")
    ]
    assert terr["revenue_usd"].sum() == pytest.approx(won["amount_usd"].sum())
    assert terr.loc[terr["territory"] != "unassigned", "penetration"].notna().all()
    reps = pd.read_parquet(stage_path(processed, "kpi_rep", "2026Q2"))
    assert reps["revenue_usd"].sum() == pytest.approx(won["amount_usd"].sum())
    flags = pd.read_parquet(stage_path(processed, "kpi_flags", "2026Q2"))
    assert (flags["failed_n"] >= 1).all() and flags["reasons"].str.len().gt(0).all()
    below = flags["attainment"] < 0.9  # the parameter reached the flags
    assert flags.loc[below, "reasons"].str.contains("missed quota").all()
    assert set(terr.loc[terr["attainment"] < 0.9, "territory"]) <= set(flags["id"])


def test_regions_follow_the_units_region_column():
    # Atlanta's home is nearest the Fulton centroid, Savannah's nearest Chatham's.
    reps = pd.DataFrame(
        {"rep_id": ["R1", "R2"], "home_lat": [33.75, 32.08], "home_lon": [-84.39, -81.09]}
    )
    units = pd.DataFrame(
        {
            "unit_name": ["Fulton", "Chatham"],
            "population": [900, 200],
            "lat": [33.79, 31.97],
            "lon": [-84.47, -81.09],
            "region": ["Metro Atlanta", "South Georgia"],
        }
    )
    assert kpi.rep_regions(reps, units).to_dict() == {
        "R1": "Metro Atlanta",
        "R2": "South Georgia",
    }


def test_an_empty_overlay_plan_means_no_overlay_credit():
    empty = pd.DataFrame(columns=["account_id", "group", "overlay_territory"])
    inputs = dataclasses.replace(make_inputs(), overlays=empty)
    review = kpi.review_kpis(inputs, quarter="2026Q3", trailing_quarters=1)
    assert review.overlay_credit is None
    assert not any("overlay" in n for n in review.notes)
