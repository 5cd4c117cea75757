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


# ---------------------------------------------------------------------------------------------
# The team in notebook 03's chain: quotas, rep matching, the account list


def _reps() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3"],
            "rep_name": ["Ann", "Bo", "Cy"],
            "home_lat": [0.0, 0.0, 0.0],
            "home_lon": [0.0, 1.0, 0.5],
            "active": [True, True, True],
        }
    )


def _chain(team_reps=("R3",), seats=0):
    """The named team (b by employees, c by potential, e listed) and a one-territory-per-ZIP
    geographic plan of what is left."""
    from workbench import territory as td
    from workbench.territory.named import named_team

    acc = _accounts()
    team = named_team(
        acc,
        _reps(),
        rule=NamedRule(min_employees=500, top_potential=1, ids=("e",)),
        team_reps=team_reps,
        seats=seats,
        balance="accounts",
        tolerance=0.9,
        time_limit=10,
    )
    geo_acc, geo_reps = team.geographic(acc, _reps())
    blocks = td.building_blocks(geo_acc)
    plan = td.build_territories(
        blocks.drop(columns="territory"),
        k=2,
        balance="accounts",
        tolerance=0.9,
        locked=pd.DataFrame({"unit_id": ["30001", "30002"], "territory": ["R1", "R2"]}),
        time_limit=10,
    )
    return acc, team, geo_acc, geo_reps, blocks, plan


def test_the_team_takes_its_reps_out_of_the_geographic_design():
    _, team, geo_acc, geo_reps, _, _ = _chain()
    assert team.named_by.to_dict() == {"b": "employees", "c": "potential", "e": "list"}
    assert team.assignment.to_dict() == {"b": "NAM01", "c": "NAM01", "e": "NAM01"}
    assert team.seats.loc["NAM01", "rep_id"] == "R3" and team.pinned == {"NAM01": "R3"}
    assert sorted(geo_acc["account_id"]) == ["a", "d", "f"]
    assert sorted(geo_reps["rep_id"]) == ["R1", "R2"]


def test_quotas_count_every_account_once_seats_included():
    from workbench.territory import quota_plan

    acc, team, _, _, _, plan = _chain()
    facts = pd.DataFrame(
        {"account_id": ["a"] * 4, "quarter": ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]}
    ).assign(won_usd=1.0)
    q = quota_plan(
        acc,
        plan,
        facts,
        quarter="2026Q3",
        block="postal_code",
        target_growth=0.0,
        history_weight=1.0,
        named=team,
    )
    # by hand: R1 = ZIP 30001 less b, c = a (0); R2 = 30002 less e = d (2) + f (3) = 5; the
    # seat b + c + e = 1 + 0 + 0; total 6, so with history weight 1 and no growth the quotas are
    # the revenues themselves
    assert q.table["revenue_usd"].to_dict() == {"NAM01": 1.0, "R1": 0.0, "R2": 5.0}
    assert q.table["quota_usd"].sum() == pytest.approx(acc["revenue_usd"].sum())


def test_matching_pins_the_seat_to_its_rep_and_the_account_list_follows():
    from workbench.territory import match_plan_reps, plan_alignment

    acc, team, _, _, blocks, plan = _chain()
    acc["account_name"] = acc["account_id"].str.upper()
    m = match_plan_reps(acc, plan, _reps(), block="postal_code", quarter="2026Q3", named=team)
    assert m.rep_of == {"NAM01": "R3", "R1": "R1", "R2": "R2"}
    seat_row = m.table.set_index("territory").loc["NAM01"]
    assert seat_row["reason"].startswith("pinned")
    al = plan_alignment(acc, blocks, plan, m, block="postal_code", named=team).set_index(
        "account_id"
    )
    assert al.index.is_unique and sorted(al.index) == sorted(acc["account_id"])
    named = al.loc[["b", "c", "e"]]
    assert (named["proposed_territory"] == "NAM01").all() and named["named"].all()
    assert (named["proposed_rep_id"] == "R3").all() and (named["reason"] == "named account").all()
    # f (ZIP 30002, owned by R1 today) goes with its block to R2
    assert al.loc["f", "proposed_rep_id"] == "R2" and al.loc["f", "moved"]
    assert not al.loc["f", "named"] and al.loc["f", "reason"] == "block moved"


def test_seats_without_reps_are_placed_and_may_stay_vacant():
    from workbench.territory import match_plan_reps

    acc, team, _, geo_reps, _, plan = _chain(team_reps=(), seats=1)
    assert team.seats.loc["NAM01", "home"] == "placed" and team.pinned == {}
    # the seat's home is one of its accounts' locations (the book's 1-median)
    home = (team.seats.loc["NAM01", "home_lat"], team.seats.loc["NAM01", "home_lon"])
    assert home in set(zip(acc["lat"], acc["lon"], strict=True))
    assert len(geo_reps) == 3  # nobody left the geographic team
    m = match_plan_reps(acc, plan, _reps(), block="postal_code", quarter="2026Q3", named=team)
    assert set(m.rep_of) == {"NAM01", "R1", "R2"} and len(m.table) == 3


def test_without_a_team_the_workload_sizes_it_and_bad_reps_are_named():
    from workbench.territory.named import named_team

    # no team given: the seats the workload needs - b, c, f: (2 + 3 + 6) h x 1.35 travel =
    # 14.85 h, far below one rep's 950.4 effective hours: one seat, and the summary says why
    sized = named_team(_accounts(), _reps(), rule=NamedRule(abc_class="A"), time_limit=10)
    assert list(sized.seats.index) == ["NAM01"] and "0.02 reps by workload" in sized.note
    assert sized.note in sized.summary().notes
    with pytest.raises(ParameterError, match=r"\['R9'\] are not active reps"):
        named_team(_accounts(), _reps(), rule=NamedRule(abc_class="A"), team_reps=["R9"])
    empty = named_team(_accounts(), _reps(), rule=NamedRule())
    assert empty.empty and len(empty.geographic(_accounts())) == 6


def test_pinned_matching_overrides_the_best_score():
    from workbench.territory.matching import match_reps

    acc = pd.DataFrame(
        {
            "account_id": ["a1", "a2"],
            "current_rep_id": ["R1", "R2"],
            "proposed_territory": ["T1", "T2"],
            "revenue_usd": [90.0, 10.0],
        }
    )
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "rep_name": ["Ann", "Bo"]})
    terr = pd.DataFrame({"territory": ["T1", "T2"]})
    assert match_reps(acc, reps, terr).rep_of == {"T1": "R1", "T2": "R2"}
    pinned = match_reps(acc, reps, terr, pinned={"T1": "R2"})
    assert pinned.rep_of == {"T1": "R2", "T2": "R1"}
    with pytest.raises(ValueError, match="pinned territories or reps unknown"):
        match_reps(acc, reps, terr, pinned={"T9": "R1"})
    with pytest.raises(ValueError, match=r"more than one territory: \['R1'\]"):
        match_reps(acc, reps, terr, pinned={"T1": "R1", "T2": "R1"})
