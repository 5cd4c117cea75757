"""Tests for workbench.territory.alignment and workbench.territory.matching.

Expected values come from oracles that are not the code under test: a tiny company whose
account-level outcome is worked out by hand in the comments, areas of unit squares, and, for
the rep matching, a score matrix recomputed here from the documented formula and maximised by
enumerating every possible matching.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import re

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point, box, shape

from workbench.territory.alignment import (
    Reason,
    account_alignment,
    crm_owner_updates,
    excel_sheet_names,
    write_alignment_files,
)
from workbench.territory.matching import VACANT, Status, match_reps

# ---------------------------------------------------------------------------------------------
# a tiny company, by hand
#
# blocks (ZIP) and territories:       today        proposed
#   00501                              T1 (R1)      T1          locked
#   00502                              T1 (R1)      T2          moves to T2
#   10001                              T2 (R2)      T2
#   20001                              T3 (R3)      T3          T3 stays, but R3 leaves it
#   30001                              T3 (R3)      T4          T4 is new and vacant
# proposed reps: T1 -> R1, T2 -> R2, T3 -> R4 (a new hire), T4 -> vacant.

ACCOUNTS = pd.DataFrame(
    {
        "account_id": ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"],
        "account_name": ["Alpha", "Beta", "Gamma", "Delta", "Eps", "Zeta", "Eta", "Theta"],
        "postal_code": ["00501", "00501", "00502", "10001", "10001", "20001", "30001", "30001"],
        "owner_rep_id": ["R1", "R2", "R1", "R2", None, "R3", "R3", None],
        "revenue_usd": [100.0, 50.0, 30.0, 80.0, 0.0, 40.0, 20.0, 0.0],
    }
)
CURRENT = {"00501": "T1", "00502": "T1", "10001": "T2", "20001": "T3", "30001": "T3"}
PROPOSED = {"00501": "T1", "00502": "T2", "10001": "T2", "20001": "T3", "30001": "T4"}
REP_OF = {"T1": "R1", "T2": "R2", "T3": "R4", "T4": None}
NAMED = {"A4": "R9"}  # A4 is a named account of R9, whatever its block does
LOCKED = ["00501"]

# account: (proposed rep, moved, reason), worked out from the tables above
#   A1 00501 T1->T1 locked, R1 -> R1: not moved, "locked block"
#   A2 00501 locked, owner R2 but T1 is R1's: moved, "locked block" (the lock explains it)
#   A3 00502 T1->T2, R1 -> R2: moved, "block moved"
#   A4 named, R2 -> R9: moved, "named account"
#   A5 10001 T2->T2, nobody -> R2: moved (gains an owner), "rep change (territory kept)"
#   A6 20001 T3->T3, R3 -> R4: moved, "rep change (territory kept)"
#   A7 30001 T3->T4 vacant, R3 -> none: moved, "vacant territory"
#   A8 30001 vacant, none -> none: not moved, "vacant territory"
EXPECTED = {
    "A1": ("R1", False, Reason.LOCKED),
    "A2": ("R1", True, Reason.LOCKED),
    "A3": ("R2", True, Reason.BLOCK_MOVED),
    "A4": ("R9", True, Reason.NAMED),
    "A5": ("R2", True, Reason.REP_CHANGE),
    "A6": ("R4", True, Reason.REP_CHANGE),
    "A7": (None, True, Reason.VACANT),
    "A8": (None, False, Reason.VACANT),
}
# CRM updates: the moved accounts with a new rep (A7 keeps R3 as interim cover, by design)
EXPECTED_CRM = {
    ("A2", "R1", "R2"),
    ("A3", "R2", "R1"),
    ("A4", "R9", "R2"),
    ("A5", "R2", ""),
    ("A6", "R4", "R3"),
}


@pytest.fixture
def alignment():
    return account_alignment(ACCOUNTS, CURRENT, PROPOSED, REP_OF, named=NAMED, locked=LOCKED)


def read_csv_text(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sheet_rows(ws):
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


# ---------------------------------------------------------------------------------------------
# account_alignment


def test_alignment_matches_the_hand_worked_outcome(alignment):
    got = {
        r.account_id: (r.proposed_rep_id, bool(r.moved), r.reason) for r in alignment.itertuples()
    }
    assert got == {a: (rep, moved, why.value) for a, (rep, moved, why) in EXPECTED.items()}
    assert alignment.index.equals(ACCOUNTS.index)
    assert alignment["named"].tolist() == [a in NAMED for a in ACCOUNTS["account_id"]]
    # A4 is named: its territory follows its block (T2), its rep does not
    a4 = alignment.set_index("account_id").loc["A4"]
    assert (a4["current_territory"], a4["proposed_territory"]) == ("T2", "T2")
    assert alignment["block_id"].tolist()[:3] == ["00501", "00501", "00502"]
    assert alignment["revenue_usd"].tolist() == ACCOUNTS["revenue_usd"].tolist()


def test_alignment_does_not_touch_its_inputs():
    before = ACCOUNTS.copy()
    account_alignment(
        ACCOUNTS,
        pd.Series(CURRENT),
        pd.Series(PROPOSED),
        pd.Series(REP_OF),
        named=pd.DataFrame({"account_id": ["A4"], "rep_id": ["R9"]}),
        locked=pd.DataFrame({"unit_id": LOCKED, "territory": ["T1"]}),
    )
    pd.testing.assert_frame_equal(ACCOUNTS, before)


def test_alignment_rejects_bad_input():
    with pytest.raises(ValueError, match="no proposed territory"):
        account_alignment(
            ACCOUNTS, CURRENT, {k: v for k, v in PROPOSED.items() if k != "30001"}, REP_OF
        )
    with pytest.raises(ValueError, match=r"rep_of lacks proposed territories \['T4'\]"):
        account_alignment(ACCOUNTS, CURRENT, PROPOSED, {"T1": "R1", "T2": "R2", "T3": "R4"})
    with pytest.raises(ValueError, match="account_id must be unique"):
        account_alignment(pd.concat([ACCOUNTS, ACCOUNTS.iloc[:1]]), CURRENT, PROPOSED, REP_OF)
    with pytest.raises(ValueError, match="owner_rep_id"):
        account_alignment(ACCOUNTS.drop(columns="owner_rep_id"), CURRENT, PROPOSED, REP_OF)


def test_crm_updates_table_is_the_hand_worked_list(alignment):
    got = {
        tuple("" if v is None else v for v in row)
        for row in crm_owner_updates(alignment).itertuples(index=False)
    }
    assert got == EXPECTED_CRM


# ---------------------------------------------------------------------------------------------
# write_alignment_files


def test_files_cover_every_account_once_and_list_exactly_the_changes(tmp_path, alignment):
    paths = write_alignment_files(tmp_path, alignment, quarter="2026Q3")
    assert [p.name for p in paths] == [
        "alignment_2026Q3.csv",
        "alignment_2026Q3.xlsx",
        "crm_owner_updates_2026Q3.csv",
    ]
    rows = read_csv_text(paths[0])
    ids = [r["account_id"] for r in rows]
    assert sorted(ids) == sorted(ACCOUNTS["account_id"]) and len(set(ids)) == len(ids)
    assert [r["block_id"] for r in rows][:2] == ["00501", "00501"]

    crm = read_csv_text(paths[2])
    assert list(crm[0]) == ["account_id", "new_owner_rep_id", "old_owner_rep_id"]
    assert {
        (r["account_id"], r["new_owner_rep_id"], r["old_owner_rep_id"]) for r in crm
    } == EXPECTED_CRM
    assert len(crm) == len(EXPECTED_CRM)
    # nothing half-written or temporary is left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_xlsx_round_trips_with_ids_as_text(tmp_path, alignment):
    path = write_alignment_files(tmp_path, alignment, quarter="2026Q3")[1]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "T1", "T2", "T3", "T4", "Changes"]
    t1 = wb["T1"]
    header = [c.value for c in t1[1]]
    cell = t1.cell(row=2, column=header.index("block_id") + 1)
    assert cell.value == "00501" and cell.data_type == "s" and cell.number_format == "@"
    # every account on exactly one territory sheet, on the sheet of its proposed territory
    seen = {}
    for name in ("T1", "T2", "T3", "T4"):
        for r in sheet_rows(wb[name]):
            assert r["proposed_territory"] == name
            seen[r["account_id"]] = seen.get(r["account_id"], 0) + 1
    assert seen == dict.fromkeys(ACCOUNTS["account_id"], 1)
    assert {r["account_id"] for r in sheet_rows(wb["Changes"])} == {
        a for a, (_, moved, _) in EXPECTED.items() if moved
    }
    # Summary, by hand: T1 keeps A1, A2 (150 USD) and loses A3 to T2; T4 takes A7, A8 from T3
    summary = {r["territory"]: r for r in sheet_rows(wb["Summary"])}
    assert {
        t: (r["rep_id"], r["accounts"], r["moved_in"], r["moved_out"], r["revenue_usd"])
        for t, r in summary.items()
    } == {
        "T1": ("R1", 2, 0, 1, 150),
        "T2": ("R2", 3, 1, 0, 110),
        "T3": ("R4", 1, 0, 2, 40),
        "T4": (None, 2, 2, 0, 20),
    }


def test_sheet_names_are_sanitised_and_unique(tmp_path):
    names = [
        "North/East:1",
        "north_east_1",
        "x" * 40,
        "x" * 40 + "y",
        "Summary",
        "'q'",
        "[a]*?",
        "History",
    ]
    acc = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(len(names))],
            "account_name": "n",
            "postal_code": [f"{i:05d}" for i in range(8)],
            "owner_rep_id": "R1",
        }
    )
    blocks = dict(zip(acc["postal_code"], names, strict=True))
    al = account_alignment(acc, blocks, blocks, dict.fromkeys(names, "R1"))
    wb = openpyxl.load_workbook(write_alignment_files(tmp_path, al, quarter="2026Q3")[1])
    sheets = wb.sheetnames
    assert len({s.lower() for s in sheets}) == len(sheets) == len(names) + 2
    for s in sheets:
        assert 1 <= len(s) <= 31 and not re.search(r"[\[\]:*?/\\]", s)
        assert not s.startswith("'") and not s.endswith("'")
    # each territory's sheet holds that territory's account
    mapping = excel_sheet_names(sorted(names), reserved=["Summary", "Changes"])
    for territory, sheet in mapping.items():
        assert [r["proposed_territory"] for r in sheet_rows(wb[sheet])] == [territory]
    assert mapping["North/East:1"] == "North_East_1"
    assert mapping["north_east_1"] == "north_east_1 (2)"
    assert mapping["x" * 40] == "x" * 31 and mapping["x" * 40 + "y"] == "x" * 27 + " (2)"
    assert mapping["Summary"] == "Summary (2)" and mapping["History"] == "History (2)"
    assert mapping["'q'"] == "q"


def test_formula_like_text_is_neutralised_in_csv_and_xlsx(tmp_path):
    acc = pd.DataFrame(
        {
            "account_id": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "A", "ok"],
            "account_name": ["=1+2", "\tn", "n", "n", "\rx", "-"],
            "postal_code": ["00501"] * 6,
            "owner_rep_id": ["R1", "R1", "R1", "R1", "R1", "=R0"],
            "revenue_usd": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    al = account_alignment(acc, {"00501": "T1"}, {"00501": "T1"}, {"T1": "R1"})
    paths = write_alignment_files(tmp_path, al, quarter="2026Q3")
    expected_ids = ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)", "A", "ok"]
    rows = read_csv_text(paths[0])
    assert [r["account_id"] for r in rows] == expected_ids
    assert rows[0]["account_name"] == "'=1+2"
    assert rows[1]["account_name"] == "'\tn" and rows[5]["account_name"] == "'-"
    assert rows[4]["account_name"] == "'\rx"  # quoted in the file, so still one row
    assert rows[0]["revenue_usd"] == "-5.0"  # a number, not text: unchanged
    crm = read_csv_text(paths[2])
    assert [(r["account_id"], r["old_owner_rep_id"]) for r in crm] == [("ok", "'=R0")]

    wb = openpyxl.load_workbook(paths[1])
    got = sheet_rows(wb["T1"])
    assert [r["account_id"] for r in got] == sorted(expected_ids)
    assert all(r["revenue_usd"] in (-5, 1, 2, 3, 4, 5) for r in got)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", f"formula in {ws.title}!{c.coordinate}"
                if isinstance(c.value, str):
                    assert not c.value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_files_follow_the_umask(tmp_path, alignment):
    old = os.umask(0o027)
    try:
        paths = write_alignment_files(tmp_path / "out", alignment, quarter="2026Q3")
    finally:
        os.umask(old)
    assert {p.stat().st_mode & 0o777 for p in paths} == {0o640}


# ---------------------------------------------------------------------------------------------
# GeoJSON


def _two_territories():
    """Blocks 1, 2 (adjacent unit squares) in T1; block 3 (a square far away) in T2."""
    acc = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d"],
            "account_name": "n",
            "unit_id": ["1", "2", "2", "3"],
            "owner_rep_id": "R1",
        }
    )
    plan = {"1": "T1", "2": "T1", "3": "T2"}
    return account_alignment(acc, plan, plan, {"T1": "R1", "T2": None}, block="unit_id")


def test_geojson_dissolves_adjacent_unit_polygons(tmp_path):
    al = _two_territories()
    polygons = gpd.GeoDataFrame(
        {"unit_id": ["1", "2", "3"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(5, 5, 6, 6)],
        crs=4326,
    )
    path = write_alignment_files(tmp_path, al, quarter="2026Q3", polygons=polygons)[-1]
    assert path.name == "territories_2026Q3.geojson"
    fc = json.loads(path.read_text())
    feats = {f["properties"]["territory"]: f for f in fc["features"]}
    assert feats["T1"]["properties"] == {"territory": "T1", "rep_id": "R1", "accounts": 3}
    assert feats["T2"]["properties"] == {"territory": "T2", "rep_id": None, "accounts": 1}
    t1 = shape(feats["T1"]["geometry"])
    # two 1 x 1 squares sharing the edge x = 1: one polygon of area 2, bounds (0, 0, 2, 1)
    assert t1.geom_type == "Polygon" and t1.area == pytest.approx(2.0)
    assert t1.bounds == pytest.approx((0, 0, 2, 1))
    assert shape(feats["T2"]["geometry"]).area == pytest.approx(1.0)


def test_geojson_without_polygons_uses_hulls_of_block_points(tmp_path):
    acc = pd.DataFrame(
        {
            "account_id": list("abcde"),
            "account_name": "n",
            "postal_code": ["p1", "p2", "p3", "p4", "q1"],
            "owner_rep_id": "R1",
        }
    )
    plan = {"p1": "T1", "p2": "T1", "p3": "T1", "p4": "T1", "q1": "T2"}
    al = account_alignment(acc, plan, plan, {"T1": "R1", "T2": "R2"})
    # p1..p4: the corners of a 1 x 1 square (lon, lat); q1 alone
    blocks = pd.DataFrame(
        {
            "unit_id": ["p1", "p2", "p3", "p4", "q1"],
            "lat": [0.0, 0.0, 1.0, 1.0, 10.0],
            "lon": [0.0, 1.0, 1.0, 0.0, 10.0],
        }
    )
    path = write_alignment_files(tmp_path, al, quarter="2026Q3", blocks=blocks)[-1]
    feats = {
        f["properties"]["territory"]: shape(f["geometry"])
        for f in json.loads(path.read_text())["features"]
    }
    assert feats["T1"].geom_type == "Polygon" and feats["T1"].area == pytest.approx(1.0)
    for lat, lon in blocks[["lat", "lon"]].to_numpy()[:4]:
        assert feats["T1"].covers(Point(lon, lat))
    # one point: buffered into a small valid polygon around it
    assert feats["T2"].geom_type == "Polygon" and feats["T2"].is_valid
    assert feats["T2"].contains(Point(10.0, 10.0)) and feats["T2"].area < 0.01


# ---------------------------------------------------------------------------------------------
# match_reps: the brute-force oracle


def oracle_scores(accounts, reps, territories, w_rev, w_acc, w_perf):
    """score(r, t) recomputed from the documented formula, with loops (reps, territories in id
    order)."""
    r_ids = sorted(reps["rep_id"])
    t_ids = sorted(territories["territory"])
    rev = np.zeros((len(r_ids), len(t_ids)))
    cnt = np.zeros_like(rev)
    for a in accounts.itertuples():
        if a.current_rep_id in r_ids:
            i, j = r_ids.index(a.current_rep_id), t_ids.index(a.proposed_territory)
            rev[i, j] += a.revenue_usd
            cnt[i, j] += 1
    s = np.zeros_like(rev)
    if rev.sum() > 0:
        s += w_rev * rev / rev.sum()
    if cnt.sum() > 0:
        s += w_acc * cnt / cnt.sum()
    if w_perf > 0:
        by_id = reps.set_index("rep_id")
        z = []
        for col in ("win_rate", "attainment"):
            x = by_id[col].reindex(r_ids).to_numpy(float)
            ok = ~np.isnan(x)
            sd = x[ok].std() if ok.any() else 0.0
            z.append(np.where(ok, (x - x[ok].mean()) / sd if sd > 0 else 0.0, np.nan))
        z = np.array(z)
        perf = np.array(
            [np.mean(col[~np.isnan(col)]) if (~np.isnan(col)).any() else 0.0 for col in z.T]
        )
        pot = territories.set_index("territory")["potential_usd"].reindex(t_ids).to_numpy(float)
        zp = (pot - pot.mean()) / pot.std() if pot.std() > 0 else np.zeros_like(pot)
        s += w_perf * np.outer(perf, zp) / np.sqrt(len(r_ids) * len(t_ids))
    return s, r_ids, t_ids


def brute_force(s, r_ids, t_ids):
    """Every matching with min(R, T) pairs; the best, first in id order among ties."""
    n_r, n_t = s.shape
    if n_r >= n_t:
        options = itertools.permutations(range(n_r), n_t)
    else:  # n_r marks a vacancy; it sorts after every rep
        options = sorted(set(itertools.permutations(list(range(n_r)) + [n_r] * (n_t - n_r))))
    options = list(options)
    values = [sum(s[p[j], j] for j in range(n_t) if p[j] < n_r) for p in options]
    best = max(values)
    pick = next(p for p, v in zip(options, values, strict=True) if v >= best - 1e-9)
    return {t: (r_ids[p] if p < n_r else None) for t, p in zip(t_ids, pick, strict=True)}, best


def random_instance(seed, n_reps, n_terr):
    rng = np.random.default_rng(seed)
    reps = pd.DataFrame(
        {
            "rep_id": [f"R{i}" for i in rng.permutation(n_reps)],
            "rep_name": [f"name {i}" for i in range(n_reps)],
            "win_rate": np.where(rng.random(n_reps) < 0.2, np.nan, rng.random(n_reps)),
            "attainment": np.where(rng.random(n_reps) < 0.2, np.nan, rng.random(n_reps) * 1.5),
        }
    )
    terr = pd.DataFrame(
        {
            "territory": [f"T{j}" for j in rng.permutation(n_terr)],
            "potential_usd": rng.gamma(2.0, 100.0, n_terr),
        }
    )
    n_acc = int(rng.integers(4, 16))
    # owners: active reps, nobody, or a rep who left (not in reps: keeps nothing)
    owners = [f"R{i}" for i in range(n_reps)] + [None, "GONE"]
    acc = pd.DataFrame(
        {
            "account_id": [f"a{k}" for k in range(n_acc)],
            "current_rep_id": rng.choice(np.array(owners, dtype=object), n_acc),
            "proposed_territory": rng.choice(terr["territory"].to_numpy(), n_acc),
            # a third of the accounts are prospects without revenue
            "revenue_usd": np.where(rng.random(n_acc) < 0.33, 0.0, rng.gamma(2.0, 50.0, n_acc)),
        }
    )
    return acc, reps, terr


WEIGHTS = [(1.0, 1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (1.0, 1.0, 0.5), (0.0, 0.0, 1.0)]


@pytest.mark.parametrize(
    "n_reps,n_terr", [(3, 3), (4, 4), (2, 4), (3, 5), (4, 2), (5, 3), (1, 3), (3, 1)]
)
@pytest.mark.parametrize("seed", range(4))
def test_matching_equals_brute_force(seed, n_reps, n_terr):
    acc, reps, terr = random_instance(seed * 100 + n_reps * 10 + n_terr, n_reps, n_terr)
    for w_rev, w_acc, w_perf in WEIGHTS:
        m = match_reps(
            acc,
            reps,
            terr,
            keep_revenue_weight=w_rev,
            keep_accounts_weight=w_acc,
            performance_weight=w_perf,
        )
        s, r_ids, t_ids = oracle_scores(acc, reps, terr, w_rev, w_acc, w_perf)
        want, best = brute_force(s, r_ids, t_ids)
        assert m.rep_of == want, (w_rev, w_acc, w_perf)
        assert m.objective == pytest.approx(best, abs=1e-9)
        np.testing.assert_allclose(m.scores.to_numpy(), s, atol=1e-12)
        # min(R, T) pairs; the rest explicitly vacant or unassigned
        assert len(m.vacant) == max(n_terr - n_reps, 0)
        assert len(m.unassigned) == max(n_reps - n_terr, 0)
        placed = [r for r in m.rep_of.values() if r is not None]
        assert sorted(placed + m.unassigned) == sorted(reps["rep_id"])


def test_ties_are_broken_by_ids():
    # three new hires, no accounts, no performance: every matching scores 0; the first in id
    # order gives T1 to R1, T2 to R2, T3 to R3
    acc = pd.DataFrame(
        {
            "account_id": ["a"],
            "current_rep_id": [None],
            "proposed_territory": ["T2"],
            "revenue_usd": [5.0],
        }
    )
    reps = pd.DataFrame({"rep_id": ["R3", "R1", "R2"], "rep_name": ["c", "a", "b"]})
    terr = pd.DataFrame({"territory": ["T3", "T2", "T1"]})
    assert match_reps(acc, reps, terr).rep_of == {"T1": "R1", "T2": "R2", "T3": "R3"}
    # with two reps the vacancy goes last in id order
    assert match_reps(acc, reps.iloc[1:], terr).rep_of == {"T1": "R1", "T2": "R2", "T3": None}


def test_vacant_and_unassigned_are_explained():
    acc = pd.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "current_rep_id": ["R1", "R1", "R2"],
            "proposed_territory": ["T1", "T2", "T1"],
            "revenue_usd": [90.0, 10.0, 50.0],
        }
    )
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "rep_name": ["Ann", "Bo"]})
    # more territories: R1 keeps a (90 of 100 USD) on T1 or b (10) on T2; R2 keeps c on T1.
    # R1-T1 + R2-T3: 90/150 + 1/3 + 0 = 0.933; R1-T2 + R2-T1: 10/150 + 1/3 + 50/150 + 1/3 =
    # 1.067: so R1 takes T2, R2 takes T1 and T3 is vacant
    m = match_reps(acc, reps, pd.DataFrame({"territory": ["T1", "T2", "T3"]}))
    assert m.rep_of == {"T1": "R2", "T2": "R1", "T3": None}
    row = m.table.set_index("territory").loc["T3"]
    assert row["status"] == Status.VACANT and row["rep_name"] == VACANT
    assert row["reason"] == "vacant: more territories than active reps — hire"
    t2 = m.table.set_index("territory").loc["T2"]
    assert t2["reason"] == "keeps 10% of revenue (1 of 2 accounts)"
    assert (t2["accounts_kept"], t2["revenue_kept_usd"], t2["share_kept"]) == (1, 10.0, 0.1)
    summary = m.summary().set_index("metric")["value"]
    assert summary["vacant territories"] == 1 and summary["revenue kept share"] == pytest.approx(
        60 / 150
    )
    assert "<table" in m._repr_html_()

    # more reps: one territory; R1 keeps 90 + 1 account there, R2 50 + 1: R2 is unassigned
    acc1 = acc.assign(proposed_territory="T1")
    m = match_reps(acc1, reps, pd.DataFrame({"territory": ["T1"]}))
    assert m.rep_of == {"T1": "R1"} and m.unassigned == ["R2"]
    row = m.table[m.table["status"] == Status.UNASSIGNED_REP].iloc[0]
    assert row["rep_id"] == "R2" and pd.isna(row["territory"])
    assert row["reason"] == (
        "unassigned rep: more active reps than territories — redeploy or overlay"
    )


def test_new_hire_takes_only_what_no_incumbent_keeps():
    acc = pd.DataFrame(
        {
            "account_id": ["a", "b"],
            "current_rep_id": ["R2", "R2"],
            "proposed_territory": ["T1", "T2"],
            "revenue_usd": [60.0, 40.0],
        }
    )
    # R1 is a new hire (no accounts) and sorts first: ties would favour it, but R2 keeps
    # 60 % on T1 and 40 % on T2, so R2 takes T1 and the hire gets T2
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "rep_name": ["new", "old"]})
    m = match_reps(acc, reps, pd.DataFrame({"territory": ["T1", "T2"]}))
    assert m.rep_of == {"T1": "R2", "T2": "R1"}
    assert m.table.set_index("territory").loc["T2", "reason"] == (
        "no current accounts: placed where no incumbent keeps more"
    )
    assert m.summary().set_index("metric").loc["reps without current accounts placed", "value"] == 1


def test_performance_weight_puts_the_best_reps_where_the_potential_is():
    acc = pd.DataFrame(
        {
            "account_id": ["a"],
            "current_rep_id": [None],
            "proposed_territory": ["T1"],
            "revenue_usd": [0.0],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3"],
            "rep_name": list("abc"),
            "win_rate": [0.1, 0.5, 0.3],
            "attainment": [0.8, 1.2, 1.0],
        }
    )
    terr = pd.DataFrame({"territory": ["T1", "T2", "T3"], "potential_usd": [50.0, 100.0, 10.0]})
    m = match_reps(acc, reps, terr, performance_weight=1.0)
    # R2 best, then R3, then R1; T2 highest potential, then T1, then T3
    assert m.rep_of == {"T2": "R2", "T1": "R3", "T3": "R1"}
    reasons = m.table.set_index("territory")["reason"]
    assert reasons["T2"].endswith("top performer placed on highest potential")
    assert reasons["T1"].endswith("2nd-best performer placed on 2nd-highest potential")
    # without the weight it is a pure tie, broken by ids
    assert match_reps(acc, reps, terr).rep_of == {"T1": "R1", "T2": "R2", "T3": "R3"}


def test_matching_rejects_bad_input():
    acc = pd.DataFrame(
        {
            "account_id": ["a"],
            "current_rep_id": ["R1"],
            "proposed_territory": ["T9"],
            "revenue_usd": [1.0],
        }
    )
    reps = pd.DataFrame({"rep_id": ["R1"], "rep_name": ["a"]})
    terr = pd.DataFrame({"territory": ["T1"], "potential_usd": [1.0]})
    with pytest.raises(ValueError, match=r"missing from territories: \['T9'\]"):
        match_reps(acc, reps, terr)
    with pytest.raises(ValueError, match="performance_weight must be finite and ≥ 0"):
        match_reps(acc.assign(proposed_territory="T1"), reps, terr, performance_weight=-1)
    with pytest.raises(ValueError, match="rep_id must be unique"):
        match_reps(acc.assign(proposed_territory="T1"), pd.concat([reps, reps]), terr)
    with pytest.raises(ValueError, match="potential_usd"):
        match_reps(
            acc.assign(proposed_territory="T1"), reps, terr[["territory"]], performance_weight=1.0
        )


def test_matching_feeds_the_alignment(tmp_path):
    """End to end on the tiny company: match, align, write; territories from the plan table."""
    proposed_of_account = ACCOUNTS["postal_code"].map(PROPOSED)
    acc = ACCOUNTS.assign(
        current_rep_id=ACCOUNTS["owner_rep_id"], proposed_territory=proposed_of_account
    )
    reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "rep_name": ["a", "b", "c"]})
    plan_territories = pd.DataFrame(
        {"potential_usd": [1.0, 2.0, 3.0, 4.0]},
        index=pd.Index(["T1", "T2", "T3", "T4"], name="territory"),
    )
    m = match_reps(acc, reps, plan_territories)
    assert len(m.vacant) == 1
    al = account_alignment(ACCOUNTS, CURRENT, PROPOSED, m.rep_of)
    paths = write_alignment_files(tmp_path, al, quarter="2026Q3", territories=m.table)
    summary = sheet_rows(openpyxl.load_workbook(paths[1])["Summary"])
    assert [(r["territory"], r["rep_name"]) for r in summary if r["rep_id"] is None] == [
        (m.vacant[0], VACANT)
    ]
