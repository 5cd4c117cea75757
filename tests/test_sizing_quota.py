"""Headcount sizing and quota allocation, checked against hand calculations."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.territory.quota import allocate_quotas, attainment_spread, seasonality
from workbench.territory.sizing import (
    Capacity,
    capacity_check,
    headcount_what_if,
    recommend_headcount,
)


@pytest.fixture
def workload():
    # Three units; face-time hours per account per year.
    return pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "unit_id": ["01", "01", "02", "03"],
            "hours_per_year": [400.0, 200.0, 300.0, 100.0],
        }
    )


def test_capacity_hours():
    # 200 days × 7.5 h × 0.5 selling = 750 h
    assert Capacity(selling_days=200, hours_per_day=7.5, selling_share=0.5).hours_per_rep == 750


def test_recommend_headcount_by_hand(workload):
    cap = Capacity(
        selling_days=200,
        hours_per_day=5,
        selling_share=0.5,
        travel_share=0.25,
        target_utilisation=0.8,
    )
    rec = recommend_headcount(workload, capacity=cap)
    # required = 1000 h × 1.25 = 1250 h; capacity 200×5×0.5 = 500 h, effective 400 h
    # 1250 / 400 = 3.125 → 4 reps
    assert rec["required_hours"] == pytest.approx(1250)
    assert rec["exact_reps"] == pytest.approx(3.125)
    assert rec["recommended_reps"] == 4


def test_what_if_moves_the_right_way(workload):
    cap = Capacity(
        selling_days=200,
        hours_per_day=5,
        selling_share=0.5,
        travel_share=0.25,
        target_utilisation=0.8,
    )
    grid = headcount_what_if(
        workload, capacity=cap, call_scales=(0.5, 1.0), selling_shares=(0.5, 1.0)
    )
    # x0.5 calls, 50% selling: 625 h / 400 h = 1.56 → 2; full day selling: 625 / 800 → 1
    assert grid.loc["calls x0.5", "selling 50%"] == 2
    assert grid.loc["calls x0.5", "selling 100%"] == 1
    assert grid.loc["calls x1", "selling 50%"] == 4


def test_capacity_check_per_territory(workload):
    cap = Capacity(selling_days=100, hours_per_day=5, selling_share=1.0, travel_share=0.0)
    plan = pd.Series({"01": "T1", "02": "T2", "03": "T2"})
    out = capacity_check(workload, plan, capacity=cap)
    # T1: 600 h of 500 → 120% over capacity; T2: 400 h → 80% ok
    assert out.loc["T1", "utilisation"] == pytest.approx(1.2)
    assert out.loc["T1", "status"] == "over capacity"
    assert out.loc["T2", "accounts"] == 2 and out.loc["T2", "status"] == "ok"
    with pytest.raises(ValueError, match="without a territory: 03"):
        capacity_check(workload, plan.drop("03"), capacity=cap)


def test_bad_capacity_and_workload():
    with pytest.raises(ValueError, match="selling_share must be in"):
        Capacity(selling_share=1.5)
    with pytest.raises(ValueError, match="hours_per_year"):
        recommend_headcount(pd.DataFrame({"calls": [1]}), capacity=Capacity())


def test_seasonality_averages_complete_years():
    rev = pd.Series(
        [10, 20, 30, 40, 30, 30, 20, 20, 99],
        index=[
            "2024Q1",
            "2024Q2",
            "2024Q3",
            "2024Q4",
            "2025Q1",
            "2025Q2",
            "2025Q3",
            "2025Q4",
            "2026Q1",
        ],
        dtype=float,
    )
    s = seasonality(rev)
    # 2024 shares .1 .2 .3 .4; 2025 shares .3 .3 .2 .2; mean .2 .25 .25 .3 (2026 incomplete)
    assert s.tolist() == pytest.approx([0.2, 0.25, 0.25, 0.3])


def test_allocation_by_hand_and_quarterly_split():
    t = pd.DataFrame(
        {"revenue_usd": [300.0, 100.0], "potential_usd": [200.0, 600.0]}, index=["T1", "T2"]
    )
    season = pd.Series([0.2, 0.25, 0.25, 0.3], index=[1, 2, 3, 4])
    q = allocate_quotas(
        t,
        target_usd=440.0,
        history_weight=0.25,
        season=season,
        year_quarters=["2026Q4", "2027Q1", "2027Q2", "2027Q3"],
    )
    # T1: hist .75, pot .25 → share .25×.75 + .75×.25 = .375 → 165; T2: .625 → 275
    assert q["quota_usd"].tolist() == pytest.approx([165.0, 275.0])
    # 2026Q4 is a Q4: 30% of the year; 2027Q1: 20%
    assert q.loc["T1", "quota_2026Q4"] == pytest.approx(49.5)
    assert q.loc["T2", "quota_2027Q1"] == pytest.approx(55.0)
    # expected attainment: T1 sells .75 × 440 = 330 against 165 → 2.0; T2 110/275 = 0.4
    assert q["expected_attainment"].tolist() == pytest.approx([2.0, 0.4])
    spread = attainment_spread(q)
    assert (spread["min"], spread["max"]) == pytest.approx((0.4, 2.0))
    # history only: quotas keep last year's split, so every territory expects the same
    hist = allocate_quotas(t, target_usd=440.0, history_weight=1.0)
    assert hist["expected_attainment"].tolist() == pytest.approx([1.0, 1.0])


def test_allocation_errors():
    t = pd.DataFrame({"revenue_usd": [0.0], "potential_usd": [1.0]}, index=["T1"])
    with pytest.raises(ValueError, match="no trailing revenue"):
        allocate_quotas(t, target_usd=1.0)
    with pytest.raises(ValueError, match="history_weight"):
        allocate_quotas(t.assign(revenue_usd=1.0), target_usd=1.0, history_weight=2)
