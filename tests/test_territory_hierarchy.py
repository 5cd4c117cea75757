"""The sales hierarchy (issue 15): territories within fixed regions, districts built from
territories, roll-ups.

Oracles: seat splits and roll-ups worked by hand; exhaustive enumeration of every balanced,
contiguous plan of each region of tiny instances (``enumerate_optimum``); distances recomputed
here from the plan's centres; contiguity by depth-first search.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_territory import _contiguous, enumerate_optimum, grid, is_connected

from workbench.config import ParameterError
from workbench.geo import haversine_km
from workbench.territory import build_territories
from workbench.territory.hierarchy import (
    count_tolerance,
    design_within_regions,
    group_territories,
    region_seats,
    rollup,
)


def test_region_seats_by_hand():
    # shares of (revenue, accounts): E (60, 10) of (100, 20), W (30, 5), N (10, 5) -> mean
    # shares 0.55, 0.275, 0.175. k = 6: quotas 3.3, 1.65, 1.05; one seat each, then the
    # largest deficit: E (2.3), E (1.3), W (0.65 against E 0.3 and N 0.05) -> E 3, W 2, N 1.
    units = pd.DataFrame(
        {
            "region": ["E"] * 5 + ["W"] * 3 + ["N"] * 2,
            "revenue": [20.0, 10, 10, 10, 10, 15, 10, 5, 5, 5],
            "accounts": [2.0, 2, 2, 2, 2, 2, 2, 1, 3, 2],
        }
    )
    seats = region_seats(units, region="region", k=6, balance=["revenue", "accounts"])
    assert seats.to_dict() == {"E": 3, "N": 1, "W": 2}
    # k = 10: quotas 5.5, 2.75, 1.75; E takes seats 2-5 (deficits 4.5 ... 1.5) and stops at its
    # 5 units; then W (1.75) -> 2, then W and N tie at 0.75: N first by name,
    # then W (0.75) -> 3. A region never gets more seats than units.
    seats = region_seats(units, region="region", k=10, balance=["revenue", "accounts"])
    assert seats.to_dict() == {"E": 5, "N": 2, "W": 3}


def test_region_seats_errors_name_the_problem():
    units = pd.DataFrame({"region": ["E", "W", "N"], "revenue": [1.0, 1, 1]})
    with pytest.raises(ParameterError, match="2 territories cannot cover 3 regions"):
        region_seats(units, region="region", k=2, balance="revenue")
    with pytest.raises(ParameterError) as err:
        region_seats(units, region="zone", k=3, balance="sales")
    assert "no column 'zone'" in str(err.value) and "no column 'sales'" in str(err.value)


def _two_regions(rows: int = 2, cols: int = 4, seed: int = 0):
    """A rows x (2 cols) grid: the left half region West, the right half East; integer
    activity."""
    rng = np.random.default_rng(seed)
    values = {(r, c): int(rng.integers(1, 6)) for r in range(rows) for c in range(2 * cols)}
    units, adj = grid(rows, 2 * cols, values=values)
    units["region"] = np.where(units["lon"] < cols * 0.01 - 1e-9, "West", "East")
    return units, adj


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fixed_regions_match_enumeration_and_never_cross_a_region(seed):
    units, adj = _two_regions(seed=seed)
    tol = 0.3
    plan = design_within_regions(
        units, region="region", k=4, balance="accounts", tolerance=tol, adjacency=adj, seed=0
    )
    region = units.set_index("unit_id")["region"]
    # no territory crosses a region line
    per_territory = region.groupby(plan.assignment).nunique()
    assert (per_territory == 1).all()
    seats = region_seats(units, region="region", k=4, balance="accounts")
    got = plan.territories.groupby("region").size()
    assert got.to_dict() == seats.to_dict()
    # the oracle: each region's best balanced contiguous plan, by enumeration, weighted
    opt, weight = 0.0, 0.0
    for r, k_r in seats.items():
        sub = units.loc[units["region"] == r].reset_index(drop=True)
        inside = set(sub["unit_id"])
        sub_adj = adj.loc[adj["a"].isin(inside) & adj["b"].isin(inside)]
        _, best = enumerate_optimum(sub, ["accounts"], int(k_r), tol, sub_adj)
        w = float(sub["accounts"].sum())
        opt += best * w
        weight += w
    opt /= weight
    # the plan's distance, recomputed from its centres
    centre = plan.territories["centre"]
    u = units.set_index("unit_id")
    c = u.loc[centre.reindex(plan.assignment).to_numpy()]
    d = haversine_km(
        u["lat"].to_numpy(), u["lon"].to_numpy(), c["lat"].to_numpy(), c["lon"].to_numpy()
    )
    mine = float(d @ u["accounts"].to_numpy() / u["accounts"].sum())
    assert mine == pytest.approx(plan.median_km, rel=1e-9)
    assert plan.lower_bound_km is not None and plan.bound_method == "regions"
    assert plan.lower_bound_km <= opt + 1e-9 <= plan.objective_km + 2e-9
    assert plan.objective_km <= opt * (1 + (plan.gap or 0)) + 1e-9
    assert _contiguous(plan.assignment, adj)
    # every territory within the band around its region's mean
    for t, row in plan.territories.iterrows():
        members = plan.assignment.index[plan.assignment == t]
        r = region[members].iloc[0]
        mean = units.loc[units["region"] == r, "accounts"].sum() / seats[r]
        assert row["accounts_target"] == pytest.approx(mean)
        assert abs(row["accounts"] - mean) <= tol * mean + 1e-9


def test_fixed_regions_report_every_input_problem_at_once():
    units, adj = _two_regions()
    units.loc[[0, 3], "region"] = None
    with pytest.raises(ParameterError) as err:
        design_within_regions(
            units, region="region", k=4, balance="accounts", adjacency=adj, targets={"T01": 2}
        )
    msg = str(err.value)
    assert "2 unit(s) have no region" in msg and "u00" in msg and "targets" in msg
    with pytest.raises(ParameterError, match="seats"):
        design_within_regions(
            _two_regions()[0], region="region", k=4, balance="accounts", seats={"West": 3}
        )


def test_districts_are_contiguous_and_balanced():
    # 4 x 6 grid of equal units, 8 territories of 3 units (tolerance 0), then 4 districts
    units, adj = grid(4, 6)
    plan = build_territories(units, k=8, balance="accounts", tolerance=0.0, adjacency=adj, seed=0)
    assert plan.feasible
    district, grouping = group_territories(plan, units, k=4, adjacency=adj, tolerance=0.0)
    assert sorted(district.unique()) == ["D01", "D02", "D03", "D04"]
    assert set(district.index) == set(plan.territories.index)
    # two territories per district (8 / 4), so 6 units each
    assert (district.value_counts() == 2).all()
    unit_district = plan.assignment.map(district)
    assert (unit_district.value_counts() == 6).all()
    # districts contiguous on the unit graph
    assert _contiguous(unit_district, adj)
    assert grouping.feasible


def test_count_tolerance_by_hand():
    assert count_tolerance(12, 4) == 0.0
    # 10 territories in 4 districts: 2.5 each on average, so 2 or 3: 0.5 / 2.5 = 20 %
    assert count_tolerance(10, 4) == pytest.approx(0.2)
    # 7 in 3: mean 7/3; ceil 3 is 2/3 above, floor 2 is 1/3 below -> (2/3) / (7/3) = 2/7
    assert count_tolerance(7, 3) == pytest.approx(2 / 7)


def test_rollup_by_hand():
    # 2 x 4 grid, values by column 1, 2, 3, 4 (both rows): four column territories of 2 units
    values = {(r, c): c + 1 for r in range(2) for c in range(4)}
    units, adj = grid(2, 4, values=values)
    plan = build_territories(units, k=4, balance="accounts", tolerance=0.9, adjacency=adj, seed=0)
    parent = pd.Series(
        {t: ("A" if t in plan.territories.index[:2] else "B") for t in plan.territories.index}
    )
    table = rollup(plan, parent, level="district")
    total = 20.0
    for g, row in table.iterrows():
        members = parent.index[parent == g]
        s = float(units.set_index("unit_id")["accounts"][plan.assignment.isin(members)].sum())
        assert row["territories"] == 2
        assert row["accounts"] == pytest.approx(s)
        assert row["accounts_share_pct"] == pytest.approx(100 * s / total)
        # mean per territory s / 2 against the company's 20 / 4 = 5
        assert row["accounts_per_territory_dev_pct"] == pytest.approx(100 * (s / 2 - 5) / 5)
    with pytest.raises(ParameterError, match="territories without one"):
        rollup(plan, parent.iloc[:3], level="district")


def test_districts_hold_whole_territories_on_a_connected_map():
    units, adj = grid(3, 6)
    plan = build_territories(units, k=6, balance="accounts", tolerance=0.0, adjacency=adj, seed=1)
    district, _ = group_territories(plan, units, k=2, adjacency=adj, tolerance=0.0)
    nbrs: dict[str, set[str]] = {t: set() for t in plan.territories.index}
    a = adj["a"].map(plan.assignment)
    b = adj["b"].map(plan.assignment)
    for x, y in zip(a, b, strict=True):
        if x != y:
            nbrs[x].add(y)
            nbrs[y].add(x)
    for d in district.unique():
        assert is_connected(district.index[district == d], nbrs)


def test_design_command_keeps_territories_within_regions(tmp_path, capsys):
    from workbench.cli import main

    # two regions of a 2 x 4 strip; West holds 3/4 of the accounts -> 3 of the 4 territories,
    # of 4 each: {w1}, {w4}, {w2, w3}
    units = tmp_path / "u.csv"
    units.write_text(
        "unit_id,lat,lon,m,zone\n"
        "w1,0,0,4,West\nw2,0,1,2,West\nw3,1,0,2,West\nw4,1,1,4,West\n"
        "e1,0,2,1,East\ne2,0,3,1,East\ne3,1,2,1,East\ne4,1,3,1,East\n"
    )
    out = tmp_path / "plan.csv"
    args = ["design", "--units", str(units), "--k", "4", "--balance", "m", "--tolerance", "0.4"]
    assert main([*args, "--region", "zone", "--quiet", "--out", str(out)]) == 0
    plan = pd.read_csv(out, dtype=str)
    assert set(plan.columns) == {"unit_id", "territory", "region"}
    assert (plan.groupby("territory")["region"].nunique() == 1).all()
    assert plan.groupby("region")["territory"].nunique().to_dict() == {"East": 1, "West": 3}
    assert plan.set_index("unit_id")["territory"]["e1"] == "East/T01"  # T01 in both regions
    assert "by region" in capsys.readouterr().out
    # a bad measure cell and a missing region are reported together; nothing is written
    units.write_text(units.read_text().replace("w2,0,1,2,West", "w2,0,1,three,").strip() + "\n")
    bad = tmp_path / "bad.csv"
    assert main([*args, "--region", "zone", "--quiet", "--out", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{units}:3: column m: expected a number, got 'three'" in err
    assert f"{units}:3: column zone: no region" in err
    assert not bad.exists()


# ---------------------------------------------------------------------------------------------
# notebook 03: blocks carry their region, the proposal can stay within regions


def test_blocks_take_the_region_of_most_of_their_accounts():
    from workbench.territory import building_blocks

    acc = pd.DataFrame(
        {
            "account_id": list("abcdef"),
            "postal_code": ["1", "1", "1", "2", "2", "3"],
            "lat": 0.0,
            "lon": [0.0, 0.0, 0.0, 1.0, 1.0, 2.0],
            "owner_rep_id": "R1",
            "potential_usd": 1.0,
            "hours_per_year": 1.0,
            "revenue_usd": 0.0,
            # block 1: N, N, S -> N; block 2: a tie S / N -> N (first by name); block 3: none
            "region": ["N", "N", "S", "S", "N", None],
        }
    )
    blocks = building_blocks(acc).set_index("unit_id")
    assert blocks.loc[["1", "2"], "region"].tolist() == ["N", "N"]
    assert pd.isna(blocks.loc["3", "region"])


def _regional_blocks():
    """A 2 x 8 strip of equal blocks: columns 0-3 West, 4-7 East; four reps' books (R1 columns
    0-1, R2 column 2, R3 columns 3-4 across the line, R4 columns 5-7)."""
    units, adj = grid(2, 8)
    col = (units["lon"] / 0.01).round().astype(int)
    units["region"] = np.where(col < 4, "West", "East")
    book = {0: "R1", 1: "R1", 2: "R2", 3: "R3", 4: "R3", 5: "R4", 6: "R4", 7: "R4"}
    units["territory"] = col.map(book)
    units = units.rename(columns={"accounts": "potential_usd"}).assign(workload_hours=1.0)
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3", "R4"]})
    return units, adj, reps


def test_proposal_within_fixed_regions_and_its_region_table():
    from workbench.territory import DesignParams, propose_plan, region_table

    blocks, adj, reps = _regional_blocks()
    free = propose_plan(blocks, adj, reps, balance=["potential_usd"], tolerance=0.0, max_moved=1.0)
    fixed = propose_plan(
        blocks, adj, reps, balance=["potential_usd"], tolerance=0.0, max_moved=1.0, regions="fixed"
    )
    region = blocks.set_index("unit_id")["region"]
    assert (region.groupby(fixed.assignment).nunique() == 1).all()
    table = region_table(fixed, blocks)
    assert table["territories"].to_dict() == {"East": 2, "West": 2}
    assert table["crossing"].sum() == 0
    # the region table of any plan counts the territories that cross a line, by hand
    touched = region.groupby(free.assignment).nunique()
    assert int(region_table(free, blocks)["crossing"].sum()) == int((touched > 1).sum())
    # the current books: R3 holds column 3 (West) and column 4 (East)
    current = pd.Series(blocks["territory"].to_numpy(), index=blocks["unit_id"])
    now = region.groupby(current).nunique()
    assert now["R3"] == 2
    # parameters
    problems = DesignParams(regions="both").check()
    assert any("regions must be one of" in p for p in problems)
    problems = DesignParams(regions="fixed", rep_home_centers=True).check()
    assert any("rep_home_centers" in p for p in problems)
    with pytest.raises(ParameterError, match="region"):
        propose_plan(
            blocks.drop(columns="region"), adj, reps, balance=["potential_usd"], regions="fixed"
        )


def test_district_table_groups_the_proposal_into_contiguous_balanced_districts():
    from workbench.territory import DesignParams, district_table, propose_plan

    blocks, adj, reps = _regional_blocks()
    plan = propose_plan(blocks, adj, reps, balance=["potential_usd"], tolerance=0.0, max_moved=1.0)
    assert district_table(plan, blocks, adj, districts=0) is None
    table = district_table(plan, blocks, adj, districts=2, tolerance=0.0)
    assert table is not None and table["contiguous"].all()
    # four territories of 4 equal blocks: two per district, 8 blocks (of 16) each
    assert table["territories"].tolist() == [2, 2]
    assert table["potential_usd"].tolist() == [8.0, 8.0]
    members = [set(m.split(", ")) for m in table["members"]]
    assert set.union(*members) == set(plan.territories.index) and not set.intersection(*members)
    with pytest.raises(ParameterError, match="5 districts for 4 territories"):
        district_table(plan, blocks, adj, districts=5)
    assert any("districts" in p for p in DesignParams(districts=-1).check())


def test_structure_maps_draw_one_panel_per_level_in_its_groups_colours():
    from workbench.territory import district_table, plot_structure_maps, propose_plan

    blocks, adj, reps = _regional_blocks()
    plan = propose_plan(blocks, adj, reps, balance=["potential_usd"], tolerance=0.0, max_moved=1.0)
    rows = district_table(plan, blocks, adj, districts=2, tolerance=0.0)
    fig = plot_structure_maps(blocks, plan, districts=rows)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["4 territories", "2 districts", "2 regions"]
    # each panel's blocks take as many colours as the level has groups
    for ax, groups in zip(fig.axes, (4, 2, 2), strict=True):
        colours = {tuple(c) for c in ax.collections[-1].get_facecolors()}
        assert len(colours) == groups
    assert [
        ax.get_title() for ax in plot_structure_maps(blocks.drop(columns="region"), plan).axes
    ] == ["4 territories"]


def test_regions_share_the_safety_stop_by_their_units():
    import time

    from workbench.territory.hierarchy import _share

    # 60 s left, a region of 30 of the 120 units left: a quarter of it
    assert 14.9 <= _share(60.0, time.perf_counter(), 30, 120) <= 15.0
    # the last region takes all that is left; an exhausted clock still lets a region start
    assert 59.9 <= _share(60.0, time.perf_counter(), 40, 40) <= 60.0
    assert _share(1.0, time.perf_counter() - 5.0, 10, 20) == 0.01


def test_regions_built_from_districts_hold_whole_contiguous_districts():
    from workbench.territory import district_table

    # 4 x 8 grid of equal units: 8 territories of 4, 4 districts of 2, 2 regions of 2 districts
    units, adj = grid(4, 8)
    plan = build_territories(units, k=8, balance="accounts", tolerance=0.0, adjacency=adj, seed=0)
    table = district_table(plan, units, adj, districts=4, region_groups=2, tolerance=0.0)
    assert table["contiguous"].all() and sorted(table["region"].unique()) == ["G01", "G02"]
    assert (table.groupby("region").size() == 2).all()  # whole districts, two each
    member_of = {t.strip(): d for d, m in table["members"].items() for t in m.split(",")}
    unit_region = plan.assignment.map(member_of).map(table["region"])
    assert (unit_region.value_counts() == 16).all()  # 32 units, halves
    assert _contiguous(unit_region, adj)
    from workbench.territory import region_table

    regions = region_table(plan, units, districts=table)
    assert regions["territories"].to_dict() == {"G01": 4, "G02": 4}
    assert regions["districts"].to_dict() == {"G01": 2, "G02": 2}
    assert regions["accounts"].sum() == pytest.approx(units["accounts"].sum())
    with pytest.raises(ParameterError, match="3 regions for 2 districts"):
        district_table(plan, units, adj, districts=2, region_groups=3)


def test_the_account_list_carries_district_and_region():
    from workbench.territory import (
        district_table,
        match_plan_reps,
        plan_alignment,
        propose_plan,
    )

    blocks, adj, reps = _regional_blocks()
    plan = propose_plan(blocks, adj, reps, balance=["potential_usd"], tolerance=0.0, max_moved=1.0)
    table = district_table(plan, blocks, adj, districts=2, region_groups=1, tolerance=0.0)
    # one account per block, named after it, owned by the block's rep today
    acc = pd.DataFrame(
        {
            "account_id": "A" + blocks["unit_id"],
            "account_name": "Acc " + blocks["unit_id"],
            "postal_code": blocks["unit_id"],
            "owner_rep_id": blocks["territory"],
            "revenue_usd": 1.0,
            "potential_usd": blocks["potential_usd"],
        }
    )
    m = match_plan_reps(acc, plan, reps, block="postal_code", quarter="2026Q3")
    al = plan_alignment(acc, blocks, plan, m, block="postal_code", districts=table)
    member_of = {t.strip(): d for d, x in table["members"].items() for t in x.split(",")}
    assert (al["proposed_district"] == al["proposed_territory"].map(member_of)).all()
    assert (al["proposed_region"] == "G01").all()  # one region built over both districts
