"""Industry overlays, the crediting rule and headcount by role (issue 15).

Oracles: credits, quotas and hours worked out by hand on small hand-built accounts.
"""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.config import ParameterError
from workbench.territory.overlay import (
    Credits,
    OverlayGroup,
    credit,
    design_overlays,
    overlay_quotas,
    parse_overlays,
)
from workbench.territory.roles import role_sizing
from workbench.territory.sizing import Capacity


def _accounts() -> pd.DataFrame:
    # eight ZIPs on a line, one account each; healthcare in ZIPs 0-3, retail in 4-7
    n = 8
    return pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "postal_code": [f"3000{i}" for i in range(n)],
            "lat": [0.0] * n,
            "lon": [0.1 * i for i in range(n)],
            "industry": ["Healthcare"] * 4 + ["Retail"] * 4,
            "owner_rep_id": ["R1"] * 4 + ["R2"] * 4,
            "potential_usd": [10.0, 10.0, 10.0, 10.0, 5.0, 5.0, 5.0, 5.0],
            "hours_per_year": [10.0, 20.0, 30.0, 40.0, 1.0, 1.0, 1.0, 1.0],
            "revenue_usd": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "call_class": ["A", "A", "B", "cold", "cold", "C", "C", "cold"],
        }
    )


def _health_team(acc: pd.DataFrame, share: float = 0.3):
    """Two healthcare specialists over the four healthcare ZIPs, balanced exactly on potential."""
    return design_overlays(
        acc,
        [OverlayGroup("Health care", ("Healthcare",), 2)],
        balance="potential_usd",
        tolerance=0.0,
        share=share,
        time_limit=10,
    )


def test_overlay_settings_are_checked_all_at_once():
    spec = {
        "hc": {"industries": ["Healthcare"], "specialists": 0},
        "hc2": {"industries": ["Healthcare", "Mining"], "specialists": 1, "colour": "red"},
    }
    with pytest.raises(ParameterError) as err:
        parse_overlays(spec, industries=["Healthcare", "Retail"])
    msg = str(err.value)
    for part in (
        "specialists must be a whole number ≥ 1, got 0",
        "already in overlay 'hc'",
        "no account has industry 'Mining'",
        "unknown setting(s) ['colour']",
    ):
        assert part in msg, part
    assert parse_overlays({}) == []


def test_one_deal_is_credited_to_the_owner_and_the_specialist_never_twice_to_either():
    won = pd.DataFrame(
        {
            "deal": ["d1", "d2", "d3"],
            "account_id": ["a0", "a5", "a1"],
            "won_usd": [100.0, 40.0, 7.0],
        }
    )
    primary = {"a0": "T1", "a1": "T1", "a5": "T2"}
    overlay = {"a0": "hc-01", "a1": "hc-02"}
    rows = credit(won, primary, overlay)
    per_deal = rows.groupby("deal")["holder"]
    assert per_deal.nunique().to_dict() == {"d1": 2, "d2": 1, "d3": 2}
    assert (per_deal.size() == per_deal.nunique()).all()  # nobody twice on one deal
    assert rows.groupby("holder")["credit_usd"].sum().to_dict() == {
        "T1": 107.0,
        "T2": 40.0,
        "hc-01": 100.0,
        "hc-02": 7.0,
    }
    c = Credits.of(won, primary, pd.Series(overlay))
    assert c.revenue_usd == 147.0 and c.overlay_revenue_usd == 107.0
    by_role = c.table.groupby("role")["credit_usd"].sum()
    assert by_role["primary"] == 147.0 and by_role["overlay"] == 107.0
    with pytest.raises(ValueError, match="1 account"):
        credit(won, {"a0": "T1", "a1": "T1"})


def test_overlay_territories_cover_the_group_balanced_with_the_specialists_share():
    acc = _accounts()
    team = _health_team(acc, share=0.5)
    assert sorted(team.assignment.index) == ["a0", "a1", "a2", "a3"]
    # four equal potentials on a line, two contiguous halves: {a0, a1} and {a2, a3}
    halves = team.assignment.groupby(team.assignment).apply(lambda s: sorted(s.index)).tolist()
    assert sorted(halves) == [["a0", "a1"], ["a2", "a3"]]
    assert set(team.assignment) == {"health-care-01", "health-care-02"}
    # the specialist's hours: half the call plan, (10 + 20) / 2 and (30 + 40) / 2
    assert sorted(team.totals["specialist_hours"].tolist()) == [15.0, 35.0]
    assert team.table()["contiguous"].all()
    facts = pd.DataFrame({"quarter": ["2026Q3"], "won_usd": [1.0]})
    q = overlay_quotas(acc, team, facts, quarter="2026Q3", target_growth=0.1, history_weight=1.0)
    # the group's revenue 1 + 2 + 3 + 4 = 10, grown 10 %; history weight 1: 3.3 and 7.7
    assert q.table["quota_usd"].sum() == pytest.approx(11.0)
    assert sorted(q.table["quota_usd"].round(6).tolist()) == [3.3, 7.7]


def test_headcount_by_role_by_hand():
    acc = _accounts()
    acc["hours_per_year"] = [475.2, 475.2, 475.2, 475.2, 950.4, 950.4, 0.0, 0.0]
    acc["call_class"] = ["A", "A", "A", "A", "A", "A", "cold", "cold"]

    class Named:  # the named team's interface role_sizing reads
        empty = False
        assignment = pd.Series({"a5": "NAM01"})

    team = design_overlays(
        acc, [OverlayGroup("retail", ("Retail",), 1)], balance="accounts", share=0.5
    )
    cap = Capacity(travel_share=0.0)  # 220 d x 8 h x 0.6 = 1056 h; x 0.9 = 950.4 effective
    sized = role_sizing(
        acc,
        capacity=cap,
        named=Named(),
        overlays=team,
        inside_hours=316.8,
        planned={"geographic": 3},
    )
    t = sized.table
    # geographic: a0-a4 = 4 x 475.2 + 950.4 = 2851.2 h -> 3 reps; named: a5 950.4 h -> 1;
    # overlay: half of a4-a7's 950.4 + 950.4 = 950.4 h -> 1; inside: a6, a7 x 316.8 = 633.6 h
    assert t.loc["geographic", "required_hours"] == pytest.approx(2851.2)
    assert t["recommended"].to_dict() == {
        "geographic": 3,
        "named-account": 1,
        "overlay: retail": 1,
        "inside sales": 1,
    }
    assert t.loc["inside sales", "exact"] == pytest.approx(633.6 / 950.4)
    assert t.loc["geographic", "gap"] == 0 and pd.isna(t.loc["named-account", "planned"])
    # what-if: twice the calls of a role needing exactly 1 rep needs 2 (selling 60 %)
    assert sized.what_if.loc[("overlay: retail", "calls x1.2"), "selling 60%"] == 2


def test_the_structure_map_gets_a_panel_per_overlay():
    from workbench.territory import build_territories, building_blocks, plot_structure_maps

    acc = _accounts()
    team = _health_team(acc)
    blocks = building_blocks(acc)
    plan = build_territories(
        blocks.drop(columns="territory"), k=2, balance="accounts", tolerance=0.0, time_limit=10
    )
    fig = plot_structure_maps(blocks, plan, overlays=team, accounts=acc)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["2 territories", "overlay Health care: 4 accounts, 2 specialists"]
    # the overlay panel's points: the four healthcare accounts in their two territories' colours
    points = fig.axes[1].collections[-1]
    assert len(points.get_offsets()) == 4
    assert len({tuple(c) for c in points.get_facecolors()}) == 2
