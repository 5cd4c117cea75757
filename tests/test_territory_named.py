"""Named accounts (issue 15): the rule, the carve-out from the blocks, the team's books.

Oracles: which accounts a rule names, block sums and book splits worked out by hand.
"""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.config import ParameterError
from workbench.territory import building_blocks
from workbench.territory.named import NamedRule, carve, design_named, select_named


def _accounts() -> pd.DataFrame:
    # two ZIPs; big accounts b (900 employees) and c (top potential), e listed by id
    return pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e", "f"],
            "postal_code": ["30001", "30001", "30001", "30002", "30002", "30002"],
            "lat": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "lon": [0.0, 0.01, 0.02, 1.0, 1.01, 1.02],
            "employees": [5, 900, 40, 7, 60, 12],
            "potential_usd": [10.0, 50.0, 80.0, 20.0, 30.0, 80.0],
            "hours_per_year": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "revenue_usd": [0.0, 1.0, 0.0, 2.0, 0.0, 3.0],
            "owner_rep_id": ["R1", "R1", "R2", "R2", "R2", "R1"],
            "abc_class": ["C", "A", "A", "B", "B", "A"],
        }
    )


def test_rule_names_accounts_by_each_test_and_says_which():
    acc = _accounts()
    # c and f tie on potential (80): the tie goes to the smaller id, c
    why = select_named(acc, NamedRule(min_employees=500, top_potential=1, ids=("e",)))
    assert why.to_dict() == {
        "a": None,
        "b": "employees",
        "c": "potential",
        "d": None,
        "e": "list",
        "f": None,
    }
    why = select_named(acc, NamedRule(abc_class="A"))
    assert sorted(why.dropna().index) == ["b", "c", "f"]
    assert select_named(acc, NamedRule()).isna().all()


def test_rule_problems_are_reported_together():
    acc = _accounts().drop(columns=["employees"])
    with pytest.raises(ParameterError) as err:
        select_named(acc, NamedRule(min_employees=-1, ids=("zz", "a")))
    msg = str(err.value)
    assert "min_employees" in msg and "'employees' is missing" in msg and "zz" in msg


def test_named_accounts_leave_their_blocks_and_are_assigned_exactly_once():
    acc = _accounts()
    why = select_named(acc, NamedRule(min_employees=500, top_potential=1, ids=("e",)))
    named, rest = carve(acc, why)
    assert sorted(named["account_id"]) == ["b", "c", "e"]
    blocks = building_blocks(rest).set_index("unit_id")
    # by hand: 30001 keeps a (potential 10, 1 h), 30002 keeps d and f (20 + 80, 4 + 6 h)
    assert blocks.loc["30001", "accounts"] == 1 and blocks.loc["30002", "accounts"] == 2
    assert blocks.loc["30001", "potential_usd"] == 10.0
    assert blocks.loc["30002", "potential_usd"] == 100.0
    assert blocks.loc["30002", "workload_hours"] == 10.0
    homes = pd.DataFrame({"rep_id": ["NA1", "NA2"], "home_lat": [0.0, 0.0], "home_lon": [0.0, 1.0]})
    plan = design_named(named, homes, balance="hours_per_year", tolerance=0.9, time_limit=10)
    assert sorted(plan.assignment.index) == ["b", "c", "e"]  # each named account once
    assert set(plan.assignment) <= {"NA1", "NA2"}
    # nothing named is left in a block, nothing in a block is named
    assert not set(named["account_id"]) & set(rest["account_id"])
    assert len(named) + len(rest) == len(acc)


def test_books_are_balanced_and_compact_around_the_homes():
    # three accounts at NA1's home, one at NA2's, equal workload; tolerance 0 -> 2 + 2, so
    # exactly one of NA1's neighbours travels 111 km (1 degree of longitude at the equator)
    acc = pd.DataFrame(
        {
            "account_id": ["p", "q", "r", "s"],
            "lat": [0.0, 0.0, 0.0, 0.0],
            "lon": [0.0, 0.0, 0.0, 1.0],
            "work": [1.0, 1.0, 1.0, 1.0],
        }
    )
    homes = pd.DataFrame({"rep_id": ["NA1", "NA2"], "home_lat": [0.0, 0.0], "home_lon": [0.0, 1.0]})
    plan = design_named(acc, homes, balance="work", tolerance=0.0, time_limit=10)
    assert plan.assignment.value_counts().to_dict() == {"NA1": 2, "NA2": 2}
    assert plan.assignment["s"] == "NA2"
    # mean distance: one account of four at 111.19 km from its rep's home
    assert plan.median_km == pytest.approx(111.19 / 4, rel=1e-3)


def test_team_problems_are_named():
    acc = _accounts()
    homes = pd.DataFrame({"rep_id": ["X", "X"], "home_lat": [0.0, 0.0]})
    with pytest.raises(ParameterError) as err:
        design_named(acc.iloc[:0], homes, balance="potential_usd")
    msg = str(err.value)
    assert "'home_lon' is missing" in msg and "repeat" in msg and "none selected" in msg
