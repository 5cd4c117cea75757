"""The whole quarterly report on a company the workbench was not tuned on (North Carolina,
history ending 2025Q2, other drivers, labels and ids, none of the optional files), run as a
new user would: ``workbench ingest``, then ``workbench report`` with no quarter and no
parameter file. Asserts a feasible plan, every action file and an honest summary."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from second_company import write_second_company

from workbench.cli import main
from workbench.report import find_chromium

pytestmark = pytest.mark.slow
Q = "2025Q2"


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    home = tmp_path_factory.mktemp("second")
    raw = home / "data" / "raw"
    facts = write_second_company(raw)
    assert main(["ingest", "--raw", str(raw), "--out", str(home / "data" / "processed")]) == 0
    rc = main(["report", "--data", str(home / "data"), "--out", str(home / "reports")])
    assert rc == 0
    accounts = pd.read_csv(raw / "accounts.csv", dtype=str, keep_default_na=False)
    return home, home / "reports" / Q, facts, accounts


def test_the_quarter_comes_from_the_data(company):
    _home, folder, facts, _ = company
    assert facts["last_quarter"] == Q and folder.is_dir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["quarter"] == Q
    assert all(p["quarter"] == Q for p in manifest["parameters"].values() if "quarter" in p)


def test_the_plan_is_feasible_and_the_summary_says_so(company):
    home, folder, _, _ = company
    summary = pd.read_parquet(home / "data" / "processed" / f"territory_summary_{Q}.parquet")
    s = summary.set_index("metric")["value"]
    assert s["feasible"] == 1 and s["violations"] == 0
    assert s["k"] == 9  # one territory per rep in reps.csv (no active column: all are on)
    page = (folder / "index.html").read_text()
    worst = max(v for m, v in s.items() if m.startswith("max_deviation_"))
    assert worst <= 0.05 + 1e-9 and f"±{worst:.1%} balance" in page
    assert "not feasible" not in page
    assert "Headcount: designed vs needed" in page


def test_alignment_covers_every_account_once(company):
    _, folder, _, accounts = company
    al = pd.read_csv(folder / f"alignment_{Q}.csv", dtype=str, keep_default_na=False)
    assert sorted(al["account_id"]) == sorted(accounts["account_id"])
    assert al["account_id"].is_unique
    # the CRM file lists exactly the accounts whose owner changes to a named rep
    crm = pd.read_csv(folder / f"crm_owner_updates_{Q}.csv", dtype=str, keep_default_na=False)
    owner = accounts.set_index("account_id")["owner_rep_id"]
    moved = al[(al["moved"] == "True") & (al["proposed_rep_id"] != "")]
    assert set(crm["account_id"]) == set(moved["account_id"])
    changed = crm.set_index("account_id")
    assert (changed["new_owner_rep_id"] != owner.reindex(changed.index)).all()
    assert (changed["old_owner_rep_id"] == owner.reindex(changed.index)).all()


def test_xlsx_keeps_ids_as_text_and_geojson_has_a_shape_per_territory(company):
    from openpyxl import load_workbook

    home, folder, _, accounts = company
    wb = load_workbook(folder / f"alignment_{Q}.xlsx", read_only=True)
    assert wb.sheetnames[0] == "Summary" and "Changes" in wb.sheetnames
    plan = pd.read_parquet(home / "data" / "processed" / f"territory_plan_{Q}.parquet")
    assert len(wb.sheetnames) == 2 + plan["territory"].nunique()
    # every account id cell on the territory sheets is text, exactly as in the export
    ids = []
    for name in wb.sheetnames[1:-1]:
        rows = wb[name].iter_rows(values_only=True)
        header = next(rows)
        col = header.index("account_id")
        ids += [r[col] for r in rows]
    assert all(isinstance(i, str) for i in ids) and sorted(ids) == sorted(accounts["account_id"])
    shapes = json.loads((folder / f"territories_{Q}.geojson").read_text())
    assert len(shapes["features"]) == plan["territory"].nunique()
    assert {f["geometry"]["type"] for f in shapes["features"]} <= {"Polygon", "MultiPolygon"}


def test_index_links_the_action_files_and_pdfs(company):
    _, folder, _, _ = company
    page = (folder / "index.html").read_text()
    for name in (
        f"alignment_{Q}.xlsx",
        f"alignment_{Q}.csv",
        f"crm_owner_updates_{Q}.csv",
        f"territories_{Q}.geojson",
    ):
        assert f'href="{name}"' in page
    if find_chromium() is not None:
        assert (folder / f"planning_pack_{Q}.pdf").read_bytes()[:5] == b"%PDF-"


def test_no_demo_default_in_any_parameters_cell():
    """No notebook default names a demo column, label or quarter."""
    from workbench.report import notebook_parameters

    demo_words = (
        "2026Q",
        "pct_bach",
        "pct_rural",
        "new_business",
        "gdp_growth",
        "Georgia",
        "Atlanta",
    )
    for nb in sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb")):
        for name, (_, default) in notebook_parameters(nb).items():
            text = json.dumps(default)
            assert not any(w in text for w in demo_words), (nb.name, name, default)


def test_an_adopted_hand_edit_is_the_report_plan_byte_for_byte(company):
    """Last in this module: it runs the report again, with a hand-edited scenario adopted."""
    from workbench.explorer import ScenarioExplorer

    home, folder, _, accounts = company
    processed = home / "data" / "processed"
    params = home / "reports" / "params" / f"{Q}.yaml"
    ex = ScenarioExplorer.from_processed(processed, report_params=params)
    ex.solve()
    a = ex.plan.assignment
    big = a.value_counts().index[0]
    to = next(t for t in a.value_counts().index[::-1] if t != big)
    ex.move(a[a == big].index[:3].tolist(), to)  # three blocks by hand
    assert ex.plan_kind == "edited"
    assert ex.adopt("hand-edit") == params
    saved = json.loads((processed / "scenarios" / "hand-edit.json").read_text())["assignment"]
    assert saved == ex.plan.assignment.to_dict()

    assert main(["report", "--data", str(home / "data"), "--out", str(home / "reports")]) == 0
    plan = pd.read_parquet(processed / f"territory_plan_{Q}.parquet")
    assert dict(zip(plan["block_id"], plan["territory"], strict=True)) == saved
    al = pd.read_csv(folder / f"alignment_{Q}.csv", dtype=str, keep_default_na=False)
    assert (al["proposed_territory"] == al["block_id"].map(saved)).all()
    assert sorted(al["account_id"]) == sorted(accounts["account_id"])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["parameters"]["03_territory_design"]["scenario"] == "hand-edit"
    page = (folder / "03_territory_design.html").read_text()
    assert "Adopted scenario" in page and "hand-edit" in page
