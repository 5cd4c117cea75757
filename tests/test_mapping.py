"""CRM exports through a mapping: presets against hand-written native equivalents, problems
named by the export's own file, line and column, and malformed mappings refused up front.

The sample exports below are written in the formats docs/mapping.md documents (quoted fields,
US dates, currency text, CRM stage labels). Each has a native twin written by hand — the
oracle: the same company in contract form, converted by reading, not by the code under test.
Line numbers are read off the texts by hand (header = line 1).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from conftest import RAW, tree_hash, write_raw

import workbench
from workbench.cli import main
from workbench.ingest import IngestError, ingest, preset_names, read_mapping
from workbench.io import load, read_manifest
from workbench.mapping import MappingError, parse_mapping
from workbench.schema import CONTRACT

PRESETS_DIR = Path(workbench.__file__).parent / "presets"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "mapping.md"

# CRM owners are people's names; reps.csv uses the same names as rep ids.
REPS_BY_NAME = """rep_id,rep_name,home_lat,home_lon
Ada Park,Ada Park,33.75,-84.39
Ben Cole,Ben Cole,32.08,-81.09
"""

SALESFORCE = {
    "Accounts Report.csv": (
        '"Account ID","Account Name","Type","Industry","Employees","Billing Zip/Postal Code",'
        '"Billing Latitude","Billing Longitude","Account Owner","Billing City"\n'
        '"001A1","Acme, Inc.","Customer - Direct","Manufacturing","1,200","30303","33.75",'
        '"-84.39","Ada Park","Atlanta"\n'
        '"001A2","Beta LLC","Prospect","Retail","8","01001","32.08","-81.09","Ben Cole",'
        '"Savannah"\n'
        '"001A3","Gamma Co","Channel Partner / Reseller","Healthcare","0","31401","32.5",'
        '"-86.6","","Macon"\n'
    ),
    "Opportunities Report.csv": (
        '"Opportunity ID","Opportunity Name","Account ID","Opportunity Owner","Created Date",'
        '"Close Date","Stage","Amount","Type"\n'
        '"006O1","Acme renewal","001A1","Ada Park","1/10/2026","3/31/2026","Closed Won",'
        '"$1,000.00","Existing Customer - Upgrade"\n'
        '"006O2","Acme add-on","001A1","Ada Park","4/1/2026","5/15/2026","Closed Lost",'
        '"USD 250.50","New Customer"\n'
        '"006O3","Beta first deal","001A2","Ben Cole","7/1/2026","9/30/2026",'
        '"Negotiation/Review","$400","New Customer"\n'
        '"006O4","Acme expansion","001A1","Ada Park","6/30/2026 9:15 AM","7/1/2026",'
        '"Closed Won","2000","Existing Customer - Upgrade"\n'
    ),
}
# The oracle, by hand: 1,200 → 1200; Customer - Direct → customer, Prospect and partners →
# prospect; M/D/YYYY → ISO; the open deal's expected close date 9/30/2026 dropped; $ and USD
# amounts as plain numbers; the time of day on O4's created date dropped.
SALESFORCE_NATIVE = {
    "accounts.csv": """account_id,account_name,industry,employees,postal_code,lat,lon,status,owner_rep_id
001A1,"Acme, Inc.",Manufacturing,1200,30303,33.75,-84.39,customer,Ada Park
001A2,Beta LLC,Retail,8,01001,32.08,-81.09,prospect,Ben Cole
001A3,Gamma Co,Healthcare,0,31401,32.5,-86.6,prospect,
""",  # noqa: E501 - doctest output / CSV text cannot wrap
    "opportunities.csv": """opportunity_id,account_id,rep_id,created_date,close_date,stage,amount_usd,deal_type
006O1,001A1,Ada Park,2026-01-10,2026-03-31,won,1000.00,Existing Customer - Upgrade
006O2,001A1,Ada Park,2026-04-01,2026-05-15,lost,250.50,New Customer
006O3,001A2,Ben Cole,2026-07-01,,open,400,New Customer
006O4,001A1,Ada Park,2026-06-30,2026-07-01,won,2000,Existing Customer - Upgrade
""",  # noqa: E501 - doctest output / CSV text cannot wrap
}

HUBSPOT = {
    "all-companies.csv": (
        "Record ID,Company name,Company owner,Create Date,Industry,Number of Employees,"
        "Postal Code,Lifecycle Stage,Latitude,Longitude\n"
        '5001,"Acme, Inc.",Ada Park,2024-01-02 10:00,Manufacturing,"1,200",30303,Customer,'
        "33.75,-84.39\n"
        "5002,Beta LLC,Ben Cole,2024-02-03 11:30,Retail,8,01001,Lead,32.08,-81.09\n"
        "5003,Gamma Co,,2024-03-04 09:00,Healthcare,0,31401,,32.5,-86.6\n"
    ),
    "all-deals.csv": (
        "Record ID,Deal Name,Deal Stage,Pipeline,Close Date,Deal owner,Amount,Create Date,"
        "Deal Type,Associated Company IDs\n"
        "9001,Acme renewal,Closed Won,Sales Pipeline,2026-03-31 17:00,Ada Park,1000,"
        "2026-01-10 08:00,Existing Business,5001\n"
        "9002,Acme add-on,Closed Lost,Sales Pipeline,2026-05-15,Ada Park,250.5,"
        "2026-04-01 09:00,New Business,5001;5002\n"
        "9003,Beta first,Contract Sent,Sales Pipeline,2026-09-30,Ben Cole,400,"
        "2026-07-01 12:00,New Business,5002\n"
        '9004,Acme expansion,Closed Won,Sales Pipeline,2026-07-01,Ada Park,"2,000",'
        "2026-06-30 23:59,Existing Business,5001\n"
    ),
}
# By hand: Customer → customer, Lead and an empty stage → prospect; "5001;5002" → 5001 (the
# first company); times of day dropped without moving the date; Contract Sent → open with
# its expected close date dropped; "2,000" → 2000.
HUBSPOT_NATIVE = {
    "accounts.csv": """account_id,account_name,industry,employees,postal_code,lat,lon,status,owner_rep_id
5001,"Acme, Inc.",Manufacturing,1200,30303,33.75,-84.39,customer,Ada Park
5002,Beta LLC,Retail,8,01001,32.08,-81.09,prospect,Ben Cole
5003,Gamma Co,Healthcare,0,31401,32.5,-86.6,prospect,
""",  # noqa: E501 - doctest output / CSV text cannot wrap
    "opportunities.csv": """opportunity_id,account_id,rep_id,created_date,close_date,stage,amount_usd,deal_type
9001,5001,Ada Park,2026-01-10,2026-03-31,won,1000,Existing Business
9002,5001,Ada Park,2026-04-01,2026-05-15,lost,250.5,New Business
9003,5002,Ben Cole,2026-07-01,,open,400,New Business
9004,5001,Ada Park,2026-06-30,2026-07-01,won,2000,Existing Business
""",  # noqa: E501 - doctest output / CSV text cannot wrap
}

CASES = {"salesforce": (SALESFORCE, SALESFORCE_NATIVE), "hubspot": (HUBSPOT, HUBSPOT_NATIVE)}


def company(folder: Path, files: dict[str, str]) -> Path:
    """A raw folder: reps by name, the fixture's geo units, and ``files``."""
    return write_raw(
        folder, {"reps.csv": REPS_BY_NAME, "geo_units.csv": RAW["geo_units.csv"], **files}
    )


def problems_of(raw: Path, out: Path, mapping) -> list:
    before = tree_hash(out) if out.exists() else None
    with pytest.raises(IngestError) as info:
        ingest(raw, out, mapping=mapping)
    assert (tree_hash(out) if out.exists() else None) == before
    return info.value.problems


def has(problems, file, line, column, text) -> bool:
    return any(
        p.file == file and p.line == line and p.column == column and text in p.message
        for p in problems
    )


# ---------------------------------------------------------------------------------------------
# Presets produce the same processed data as the hand-written native files


@pytest.mark.parametrize("preset", sorted(CASES))
def test_preset_equals_native_equivalent(preset, tmp_path):
    export, native = CASES[preset]
    mapped_out, native_out = tmp_path / "mapped_out", tmp_path / "native_out"
    ingest(company(tmp_path / "export", export), mapped_out, mapping=preset)
    ingest(company(tmp_path / "native", native), native_out)
    for name in ("accounts", "opportunities"):
        header = native[f"{name}.csv"].split("\n", 1)[0].split(",")
        cols = [c.name for c in CONTRACT[name].columns if c.name in header]
        assert len(cols) == len(header)
        got, want = load(name, mapped_out)[cols], load(name, native_out)[cols]
        pd.testing.assert_frame_equal(got, want, check_dtype=True)
    pd.testing.assert_frame_equal(
        load("facts_account_quarter", mapped_out), load("facts_account_quarter", native_out)
    )
    # the two quarters' won revenue, by hand: 1000 closed in Q1, 2000 in Q3
    facts = load("facts_account_quarter", mapped_out).groupby("quarter")["won_usd"].sum()
    assert facts.to_dict() == {"2026Q1": 1000.0, "2026Q2": 0.0, "2026Q3": 2000.0}


def test_export_columns_the_mapping_does_not_use_are_kept(tmp_path):
    out = tmp_path / "out"
    ingest(company(tmp_path / "raw", SALESFORCE), out, mapping="salesforce")
    opps = load("opportunities", out)
    assert opps["Opportunity Name"].tolist()[0] == "Acme renewal"
    # the columns the mapping read are renamed, not kept twice
    assert "Stage" not in opps and "Close Date" not in opps
    assert load("accounts", out)["Billing City"].tolist() == ["Atlanta", "Savannah", "Macon"]


def test_manifest_records_the_mapping_and_the_exports(tmp_path):
    raw = company(tmp_path / "raw", SALESFORCE)
    out = tmp_path / "out"
    ingest(raw, out, mapping="salesforce")
    manifest = read_manifest(out)
    preset = (PRESETS_DIR / "salesforce.yaml").read_bytes()
    assert manifest["mapping"]["sha256"] == hashlib.sha256(preset).hexdigest()
    assert manifest["mapping"]["text"] == preset.decode("utf-8")
    assert manifest["mapping"]["origin"] == "preset salesforce"
    opps = manifest["inputs"]["opportunities.csv"]
    assert opps["source"] == "Opportunities Report.csv"
    export = (raw / "Opportunities Report.csv").read_bytes()
    assert opps["sha256"] == hashlib.sha256(export).hexdigest() and opps["rows"] == 4
    assert "source" not in manifest["inputs"]["reps.csv"]  # read natively


def test_without_a_mapping_the_manifest_says_so(raw_factory, tmp_path):
    ingest(raw_factory(), tmp_path / "out")
    assert read_manifest(tmp_path / "out")["mapping"] is None


# ---------------------------------------------------------------------------------------------
# Problems name the export's file, its line and its column


def test_bad_cells_named_by_export_file_line_and_column(tmp_path):
    opps = SALESFORCE["Opportunities Report.csv"]
    # O2 (line 3): a day-first date; O4 (line 5): an amount in accounting negative notation
    opps = opps.replace('"5/15/2026"', '"31/12/2025"').replace('"2000"', '"(1,234.50)"')
    raw = company(tmp_path / "raw", {**SALESFORCE, "Opportunities Report.csv": opps})
    probs = problems_of(raw, tmp_path / "out", "salesforce")
    assert has(
        probs,
        "Opportunities Report.csv",
        3,
        "Close Date (→ close_date)",
        "expected a date like MM/DD/YYYY, got '31/12/2025'",
    )
    assert has(
        probs,
        "Opportunities Report.csv",
        5,
        "Amount (→ amount_usd)",
        "expected a number ≥ 0, got '-1234.50' (exported as '(1,234.50)')",
    )
    # the unreadable date is one problem, not also "a lost opportunity needs a close date"
    assert len([p for p in probs if p.line == 3]) == 1
    assert (
        "Opportunities Report.csv:3: column Close Date (→ close_date): expected a date like"
        in "\n".join(map(str, probs))
    )


def test_line_numbers_survive_quoted_newlines_in_exports(tmp_path):
    opps = SALESFORCE["Opportunities Report.csv"].replace('"Acme renewal"', '"Acme\nrenewal"')
    # O1 now spans lines 2-3, so O3 (the third record) starts on line 5
    opps = opps.replace('"7/1/2026","9/30/2026"', '"7/1/2026","9/31/2026"').replace(
        "Negotiation/Review", "Closed Lost"
    )
    raw = company(tmp_path / "raw", {**SALESFORCE, "Opportunities Report.csv": opps})
    probs = problems_of(raw, tmp_path / "out", "salesforce")
    assert has(probs, "Opportunities Report.csv", 5, "Close Date (→ close_date)", "got '9/31/2026'")


def test_dangling_reference_names_both_exports(tmp_path):
    opps = SALESFORCE["Opportunities Report.csv"].replace(
        '"006O3","Beta first deal","001A2"', '"006O3","Beta first deal","001A9"'
    )
    raw = company(tmp_path / "raw", {**SALESFORCE, "Opportunities Report.csv": opps})
    probs = problems_of(raw, tmp_path / "out", "salesforce")
    assert has(
        probs,
        "Opportunities Report.csv",
        4,
        "Account ID (→ account_id)",
        "'001A9' not found in Accounts Report.csv column Account ID (→ account_id)",
    )


def test_unmapped_stage_label_is_named(tmp_path):
    mapping = tmp_path / "crm.yaml"
    mapping.write_text(
        "opportunities:\n"
        "  file: deals.csv\n"
        "  columns:\n"
        "    stage: {from: Status, values: {Won: won, Lost: lost, Open: open}}\n"
    )
    deals = RAW["opportunities.csv"].replace(",stage,", ",Status,").replace(",won,", ",Won,")
    deals = deals.replace(",lost,", ",Pending,").replace(",open,", ",Open,")
    files = {k: v for k, v in RAW.items() if k != "opportunities.csv"}
    raw = write_raw(tmp_path / "raw", {**files, "deals.csv": deals})
    probs = problems_of(raw, tmp_path / "out", mapping)
    assert has(
        probs,
        "deals.csv",
        3,
        "Status (→ stage)",
        "label 'Pending' has no mapping (mapped: Won, Lost, Open)",
    )
    assert len(probs) == 1


def test_missing_export_and_missing_mapped_column(tmp_path):
    accounts = SALESFORCE["Accounts Report.csv"].replace('"Billing Latitude"', '"Lat"')
    raw = company(tmp_path / "raw", {"Accounts Report.csv": accounts})
    probs = problems_of(raw, tmp_path / "out", "salesforce")
    assert has(
        probs,
        "Accounts Report.csv",
        1,
        "Billing Latitude (→ lat)",
        "required column is missing from the header",
    )
    assert has(
        probs, "Opportunities Report.csv", None, None, "the mapping reads opportunities.csv from it"
    )


def test_mapped_header_ignores_case_and_spacing(tmp_path):
    deals = HUBSPOT["all-deals.csv"].replace("Deal owner", "Deal  Owner")
    out = tmp_path / "out"
    ingest(company(tmp_path / "raw", {**HUBSPOT, "all-deals.csv": deals}), out, mapping="hubspot")
    assert load("opportunities", out)["rep_id"].tolist()[:2] == ["Ada Park", "Ada Park"]


def test_other_currency_is_refused(tmp_path):
    opps = SALESFORCE["Opportunities Report.csv"].replace('"USD 250.50"', '"EUR 250.50"')
    raw = company(tmp_path / "raw", {**SALESFORCE, "Opportunities Report.csv": opps})
    probs = problems_of(raw, tmp_path / "out", "salesforce")
    assert has(
        probs,
        "Opportunities Report.csv",
        3,
        "Amount (→ amount_usd)",
        "amount is in EUR; expected US dollars, got 'EUR 250.50'",
    )


def test_partial_mapping_reads_other_files_natively(raw_factory, tmp_path):
    # only a rename of one column of one file; everything else is the native fixture
    mapping = tmp_path / "m.yaml"
    mapping.write_text("reps:\n  file: team.csv\n  columns: {rep_name: Full Name}\n")
    raw = raw_factory(
        {"reps.csv": None, "team.csv": RAW["reps.csv"].replace("rep_name", "Full Name")}
    )
    out = tmp_path / "out"
    ingest(raw, out, mapping=mapping)
    assert load("reps", out)["rep_name"].tolist() == ["Ada Park", "Ben Cole"]
    assert load("accounts", out)["account_id"].tolist() == ["A1", "A2", "A3"]


def test_constant_and_file_level_date_format(raw_factory, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "accounts:\n  columns:\n    status: {value: prospect}\n"
        "opportunities:\n  date_format: '%d.%m.%Y'\n"
    )
    opps = RAW["opportunities.csv"]
    for iso, day_first in [
        ("2026-01-10", "10.01.2026"),
        ("2026-03-31", "31.03.2026"),
        ("2026-04-01", "01.04.2026"),
        ("2026-05-15", "15.05.2026"),
        ("2026-07-01", "01.07.2026"),
        ("2026-06-30", "30.06.2026"),
    ]:
        opps = opps.replace(iso, day_first)
    raw = raw_factory({"opportunities.csv": opps})
    out = tmp_path / "out"
    ingest(raw, out, mapping=mapping)
    assert load("accounts", out)["status"].tolist() == ["prospect"] * 3
    opps = load("opportunities", out)
    assert opps["created_date"][0] == pd.Timestamp(2026, 1, 10)
    assert opps["close_date"][1] == pd.Timestamp(2026, 5, 15) and pd.isna(opps["close_date"][2])


# ---------------------------------------------------------------------------------------------
# A malformed mapping is one clear line, before any data is read


@pytest.mark.parametrize(
    "text, message",
    [
        ("oportunities: {}", "unknown contract file 'oportunities'"),
        ("opportunities: {columns: {close: Close Date}}", "unknown contract column 'close'"),
        ("opportunities: {columns: {stage: [Stage}}", "not valid YAML at line 1"),
        ("opportunities: {date_format: '%d/%m'}", "'%d/%m' is not a strptime date format"),
        (
            "opportunities: {columns: {stage: {from: S, values: {Won: victory}}}}",
            "'victory' is not one of won, lost, open",
        ),
        ("accounts: {columns: {status: {from: T, currency: true}}}", "currency applies to number"),
        ("opportunities: {columns: {stage: {from: S, colour: red}}}", "unknown key 'colour'"),
        (
            "opportunities: {columns: {close_date: {from: C, keep_if: {phase: [won]}}}}",
            "keep_if names 'phase'",
        ),
    ],
)
def test_malformed_mapping_is_refused_before_reading_data(tmp_path, text, message):
    mapping = tmp_path / "bad.yaml"
    mapping.write_text(text)
    missing_raw = tmp_path / "no such folder"  # would be an IngestError if data were read
    with pytest.raises(MappingError, match=message.replace("[", r"\[").replace("(", r"\(")) as info:
        ingest(missing_raw, tmp_path / "out", mapping=mapping)
    assert "\n" not in str(info.value) and str(mapping) in str(info.value)


def test_unknown_preset_or_missing_file(tmp_path):
    with pytest.raises(MappingError, match=r"neither a file nor a preset .hubspot, salesforce."):
        read_mapping("zoho")


# ---------------------------------------------------------------------------------------------
# Presets: shipped, documented, and reachable from the command line


def test_presets_are_shipped_and_parse():
    assert preset_names() == ["hubspot", "salesforce"]
    for name in preset_names():
        mapping = read_mapping(name)
        assert set(mapping.files) == {"accounts", "opportunities"}


def test_docs_name_every_export_column_of_every_preset():
    docs = DOCS.read_text(encoding="utf-8")
    for name in preset_names():
        mapping = parse_mapping((PRESETS_DIR / f"{name}.yaml").read_bytes())
        for fmap in mapping.files.values():
            assert f"`{fmap.file}`" in docs, (name, fmap.file)
            for cmap in fmap.columns:
                assert f"`{cmap.source}`" in docs, (name, cmap.source)


def test_cli_ingest_with_preset_end_to_end(tmp_path, capsys):
    raw = company(tmp_path / "raw", SALESFORCE)
    out = tmp_path / "out"
    code = main(["ingest", "--raw", str(raw), "--out", str(out), "--mapping", "salesforce"])
    assert code == 0
    assert "mapping: Salesforce standard reports (preset salesforce)" in capsys.readouterr().out
    assert load("opportunities", out)["stage"].tolist() == ["won", "lost", "open", "won"]


def test_cli_reports_export_problems_and_bad_mappings(tmp_path, capsys):
    opps = SALESFORCE["Opportunities Report.csv"].replace('"1/10/2026"', '"2026-01-10"')
    raw = company(tmp_path / "raw", {**SALESFORCE, "Opportunities Report.csv": opps})
    assert (
        main(["ingest", "--raw", str(raw), "--out", str(tmp_path / "a"), "--mapping", "salesforce"])
        == 1
    )
    assert (
        "Opportunities Report.csv:2: column Created Date (→ created_date): expected a date "
        "like MM/DD/YYYY, got '2026-01-10'"
    ) in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("accounts: {columns: {employees: {from: E, date_format: '%Y'}}}\n")
    assert (
        main(["ingest", "--raw", str(raw), "--out", str(tmp_path / "b"), "--mapping", str(bad)])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("workbench ingest: ") and "date_format applies to date columns" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "b").exists()
