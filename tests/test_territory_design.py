"""Notebook 03's glue: the team that sets k, the search that runs until feasible, the headcount
check. Expected values are worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench import territory as td
from workbench.territory import TerritoryDesigner


def grid(values):
    """Units on a line, one per value (1 degree apart)."""
    return pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(len(values))],
            "lat": 0.0,
            "lon": [float(i) for i in range(len(values))],
            "m": values,
        }
    )


def test_k_counts_the_team_less_leavers():
    reps = pd.DataFrame(
        {
            "rep_id": ["A", "B", "C", "D"],
            "active": ["true", "no", "TRUE", "1"],  # text as a CRM writes it
            "end_date": pd.to_datetime([None, None, "2025-06-30", "2025-07-01"]),
        }
    )
    # B is inactive; C's last day is the quarter's last day, so C left; D stays into Q3
    assert td.active_reps(reps, quarter="2025Q2")["rep_id"].tolist() == ["A", "D"]
    assert td.default_k(reps, quarter="2025Q2") == 2
    only_contract = reps[["rep_id"]]  # no active, no dates: every rep is on the team
    assert td.default_k(only_contract, quarter="2025Q2") == 4


def test_search_stops_on_a_feasible_plan_or_a_proof():
    # four equal units, two territories: feasible at once, in one round
    plan = TerritoryDesigner(k=2, balance="m", tolerance=0.0, time_limit=30).solve(
        grid([1.0, 1.0, 1.0, 1.0])
    )
    assert plan.feasible and plan.info["search_rounds"] == 1
    assert not plan.info["safety_stop"] and not plan.info["proven_infeasible"]
    # one unit holds 10 of 13: above the cap of any territory at ±10 %, whatever the search
    plan = TerritoryDesigner(k=2, balance="m", tolerance=0.1, time_limit=30).solve(
        grid([10.0, 1.0, 1.0, 1.0])
    )
    assert not plan.feasible and plan.info["proven_infeasible"]
    assert plan.info["search_rounds"] == 1 and not plan.info["safety_stop"]


def test_search_doubles_its_effort_while_no_plan_is_feasible():
    # five units of 17 in all: two territories of exactly 8.5 are impossible, but only the
    # integrality says so - no pre-check and no LP relaxation proves it - so the engine searches
    # again at twice the effort until its round limit
    units = grid([2.0, 3.0, 5.0, 3.0, 4.0])
    adj = pd.DataFrame(
        {"a": units["unit_id"][:-1].to_numpy(), "b": units["unit_id"][1:].to_numpy()}
    )
    plan = TerritoryDesigner(k=2, balance="m", tolerance=0.0, max_rounds=3, time_limit=60).solve(
        units, adjacency=adj
    )
    assert not plan.feasible
    assert plan.info["search_rounds"] == 3 and not plan.info["proven_infeasible"]
    assert not plan.info["safety_stop"]


@pytest.mark.parametrize(
    ("k", "recommended", "material"),
    [
        (12, 15, True),  # 3 apart > 15 % of 12 = 1.8
        (12, 13, False),  # 1 apart ≤ 1.8
        (4, 5, True),  # 1 apart > 0.6 and at least one rep
        (40, 45, False),  # 5 apart ≤ 6
    ],
)
def test_headcount_differs_materially_above_fifteen_percent(k, recommended, material):
    cap = pd.DataFrame({"utilisation": [1.2, 0.8]}, index=["T1", "T2"])
    check = td.HeadcountCheck(k=k, recommended=recommended, exact=recommended - 0.5, capacity=cap)
    assert check.material is material
    assert check.message.startswith("Warning") is material
    assert "Mean capacity use 100%; 1 territory over one rep's capacity" in check.message
