"""Ingest: one test per kind of bad input (exact file, line and column), and the round trip.

Line numbers are read off the fixture texts in conftest.RAW by hand (header = line 1).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import RAW, tree_hash

from workbench.cli import main
from workbench.config import OutputPathError
from workbench.ingest import IngestError, default_quarter, ingest
from workbench.io import load, read_manifest
from workbench.schema import Problem


@pytest.fixture
def processed(tmp_path, raw_factory):
    """A processed folder holding a good earlier ingest (so "unchanged" is meaningful)."""
    out = tmp_path / "processed"
    ingest(raw_factory(), out)
    (out / "potential_2026Q3.parquet").write_bytes(b"a notebook's output, not ingest's")
    return out


def problems_of(raw, out) -> list[Problem]:
    before = tree_hash(out)
    with pytest.raises(IngestError) as info:
        ingest(raw, out)
    assert tree_hash(out) == before, "a failed ingest must leave the output folder unchanged"
    return info.value.problems


def has(problems, file, line, column, text) -> bool:
    return any(
        p.file == file and p.line == line and p.column == column and text in p.message
        for p in problems
    )


def test_missing_file(raw_factory, processed):
    probs = problems_of(raw_factory({"reps.csv": None}), processed)
    assert has(probs, "reps.csv", None, None, "required file is missing")
    # Optional files may be absent without complaint.
    assert not any(p.file == "swot.csv" for p in probs)


def test_missing_required_column(raw_factory, processed):
    text = RAW["accounts.csv"].replace("industry,", "sector,", 1)
    probs = problems_of(raw_factory({"accounts.csv": text}), processed)
    assert has(probs, "accounts.csv", 1, "industry", "required column is missing")


def test_empty_file_and_header_only(raw_factory, processed):
    probs = problems_of(
        raw_factory({"reps.csv": "", "geo_units.csv": "unit_id,unit_name,lat,lon,population\n"}),
        processed,
    )
    assert has(probs, "reps.csv", None, None, "file is empty")
    assert has(probs, "geo_units.csv", None, None, "no data rows")


def test_unreadable_encoding_names_the_line(raw_factory, processed):
    latin1 = RAW["accounts.csv"].replace("Beta LLC", "Bét LLC").encode("latin-1")
    probs = problems_of(raw_factory({"accounts.csv": latin1}), processed)
    assert has(probs, "accounts.csv", 3, None, "not UTF-8")


def test_duplicate_ids(raw_factory, processed):
    text = RAW["reps.csv"] + "R1,Someone Else,33.0,-84.0\n"
    probs = problems_of(raw_factory({"reps.csv": text}), processed)
    assert has(probs, "reps.csv", 4, "rep_id", "duplicate id 'R1' (first on line 2)")


def test_wrong_types(raw_factory, processed):
    accounts = RAW["accounts.csv"].replace(",120,", ",12O,")  # letter O, not zero
    opps = RAW["opportunities.csv"].replace("2026-04-01", "04/01/2026").replace(",400", ",four")
    probs = problems_of(
        raw_factory({"accounts.csv": accounts, "opportunities.csv": opps}), processed
    )
    assert has(probs, "accounts.csv", 2, "employees", "expected a whole number")
    assert has(probs, "opportunities.csv", 3, "created_date", "expected an ISO date")
    assert has(probs, "opportunities.csv", 4, "amount_usd", "expected a number")


def test_out_of_range_values(raw_factory, processed):
    accounts = RAW["accounts.csv"].replace(",8,31401,32.08,-81.09,", ",-8,31401,32.08,-181.09,")
    reps = RAW["reps.csv"].replace("33.75", "93.75")
    opps = RAW["opportunities.csv"].replace("250.5", "-250.5")
    probs = problems_of(
        raw_factory({"accounts.csv": accounts, "reps.csv": reps, "opportunities.csv": opps}),
        processed,
    )
    assert has(probs, "accounts.csv", 3, "employees", "≥ 0")
    assert has(probs, "accounts.csv", 3, "lon", "in [-180, 180]")
    assert has(probs, "reps.csv", 2, "home_lat", "in [-90, 90]")
    assert has(probs, "opportunities.csv", 3, "amount_usd", "≥ 0")


def test_unknown_enum_values(raw_factory, processed):
    accounts = RAW["accounts.csv"].replace("prospect,R2", "lead,R2")
    opps = RAW["opportunities.csv"].replace(",lost,", ",closed-lost,")
    probs = problems_of(
        raw_factory({"accounts.csv": accounts, "opportunities.csv": opps}), processed
    )
    assert has(probs, "accounts.csv", 3, "status", "expected one of customer, prospect, got 'lead'")
    assert has(probs, "opportunities.csv", 3, "stage", "expected one of won, lost, open")


def test_dangling_references(raw_factory, processed):
    accounts = RAW["accounts.csv"].replace("prospect,R2", "prospect,R7")
    opps = RAW["opportunities.csv"].replace("O3,A2,R2", "O3,A9,R8")
    probs = problems_of(
        raw_factory({"accounts.csv": accounts, "opportunities.csv": opps}), processed
    )
    assert has(probs, "accounts.csv", 3, "owner_rep_id", "'R7' not found in reps.csv")
    assert has(probs, "opportunities.csv", 4, "account_id", "'A9' not found in accounts.csv")
    assert has(probs, "opportunities.csv", 4, "rep_id", "'R8' not found in reps.csv")


def test_close_before_created_and_missing_close_date(raw_factory, processed):
    opps = (
        RAW["opportunities.csv"]
        .replace("2026-04-01,2026-05-15", "2026-04-01,2026-03-15")
        .replace("2026-06-30,2026-07-01,won", "2026-06-30,,won")
    )
    probs = problems_of(raw_factory({"opportunities.csv": opps}), processed)
    assert has(probs, "opportunities.csv", 3, "close_date", "before created date 2026-04-01")
    assert has(probs, "opportunities.csv", 5, "close_date", "won opportunity needs a close date")


def test_every_problem_reported_in_one_run(raw_factory, processed):
    accounts = RAW["accounts.csv"].replace(",120,", ",x,").replace("prospect,R2", "lead,R2")
    opps = RAW["opportunities.csv"].replace("O3,A2", "O3,A9")
    probs = problems_of(
        raw_factory({"accounts.csv": accounts, "opportunities.csv": opps, "reps.csv": None}),
        processed,
    )
    kinds = {(p.file, p.column) for p in probs}
    assert {
        ("reps.csv", None),
        ("accounts.csv", "employees"),
        ("accounts.csv", "status"),
        ("opportunities.csv", "account_id"),
    } <= kinds


def test_quoted_newlines_keep_true_line_numbers(raw_factory, processed):
    # Line 2's name spans two physical lines, so A2 starts on line 4 and A3 on line 5.
    accounts = (
        RAW["accounts.csv"]
        .replace('"Acme, Inc."', '"Acme,\nInc."')
        .replace("Gamma Co,Healthcare,0", "Gamma Co,Healthcare,-1")
    )
    probs = problems_of(raw_factory({"accounts.csv": accounts}), processed)
    assert has(probs, "accounts.csv", 5, "employees", "≥ 0")


def test_ragged_row_named(raw_factory, processed):
    accounts = RAW["accounts.csv"] + "A4,Delta,Retail,5,30303,33.7,-84.4,customer\n"
    probs = problems_of(raw_factory({"accounts.csv": accounts}), processed)
    assert has(probs, "accounts.csv", 5, None, "row has 8 fields, expected 9")


def test_cli_exit_code_and_stderr(raw_factory, tmp_path):
    raw = raw_factory({"accounts.csv": RAW["accounts.csv"].replace(",120,", ",many,")})
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "workbench", "ingest", "--raw", str(raw), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert "accounts.csv:2: column employees: expected a whole number" in run.stderr
    assert not out.exists() or not any(out.iterdir())


def test_round_trip_types_counts_and_hashes(raw_factory, tmp_path):
    raw = raw_factory()
    out = tmp_path / "processed"
    result = ingest(raw, out)
    accounts = load("accounts", out)
    assert list(accounts["account_id"]) == ["A1", "A2", "A3"]
    assert accounts.loc[0, "account_name"] == "Acme, Inc."
    assert accounts["employees"].tolist() == [120, 8, 0]
    assert pd.api.types.is_integer_dtype(accounts["employees"])
    assert accounts["postal_code"].tolist() == ["30303", "31401", "01001"]  # zeros kept
    assert pd.isna(accounts.loc[2, "owner_rep_id"])
    geo = load("geo_units", out)
    assert geo["unit_id"].tolist() == ["13121", "13051", "01001"]
    assert pd.api.types.is_float_dtype(geo["pct_rural"])  # a numeric market driver
    opps = load("opportunities", out)
    assert opps.loc[0, "created_date"] == pd.Timestamp(2026, 1, 10)
    assert pd.api.types.is_datetime64_any_dtype(opps["close_date"])
    assert pd.isna(opps.loc[2, "close_date"])
    manifest = read_manifest(out)
    for name in ("accounts.csv", "opportunities.csv", "reps.csv", "geo_units.csv", "quotas.csv"):
        digest = hashlib.sha256((raw / name).read_bytes()).hexdigest()
        assert manifest["inputs"][name]["sha256"] == digest
    assert manifest["inputs"]["opportunities.csv"]["rows"] == 4
    assert result.rows["accounts"] == 3
    # Latest activity is 2026-07-01, early in Q3, so Q3 is not complete: Q2 is the default.
    assert manifest["default_quarter"] == "2026Q2"
    assert manifest["synthetic"] is False


def test_facts_by_hand(raw_factory, tmp_path):
    out = tmp_path / "processed"
    ingest(raw_factory(), out)
    facts = load("facts_account_quarter", out).set_index(["account_id", "quarter"])
    # O1 won 1000 closed 2026-03-31 (Q1); O2 lost 250.5 closed in Q2; O4 created 2026-06-30
    # (Q2) and won 2000 on 2026-07-01 (Q3); O3 open, created in Q3.
    assert facts.loc[("A1", "2026Q1"), "won_usd"] == 1000
    assert facts.loc[("A1", "2026Q2"), "lost_usd"] == 250.5
    assert facts.loc[("A1", "2026Q2"), "created_n"] == 2
    assert facts.loc[("A1", "2026Q3"), "won_usd"] == 2000
    assert facts.loc[("A1", "2026Q3"), "created_n"] == 0
    assert facts.loc[("A2", "2026Q3"), "created_usd"] == 400
    assert facts["won_usd"].sum() == 3000


def test_removed_optional_file_is_dropped_from_processed(raw_factory, tmp_path):
    out = tmp_path / "processed"
    ingest(raw_factory(), out)
    assert (out / "quotas.parquet").exists()
    ingest(raw_factory({"quotas.csv": None}), out)
    assert not (out / "quotas.parquet").exists()
    assert "quotas.parquet" not in json.loads((out / "manifest.json").read_text())["files"]


def test_default_quarter_rule():
    assert str(default_quarter(dt.date(2026, 9, 30))) == "2026Q3"
    assert str(default_quarter(dt.date(2026, 9, 24))) == "2026Q3"  # 6 days before the end
    assert str(default_quarter(dt.date(2026, 9, 23))) == "2026Q2"  # 7 days before the end
    assert str(default_quarter(dt.date(2026, 9, 1), dt.date(2026, 9, 30))) == "2026Q3"
    assert default_quarter(None) is None


# ---------------------------------------------------------------------------------------------
# Optional columns: absent is fine; present, they are typed and checked like required ones


def test_bad_rep_active_value_named_and_good_ones_typed_as_booleans(raw_factory, tmp_path):
    reps = (
        "rep_id,rep_name,home_lat,home_lon,active\n"
        "R1,Ada Park,33.75,-84.39,Yes\n"
        "R2,Ben Cole,32.08,-81.09,maybe\n"
    )
    out = tmp_path / "processed"
    with pytest.raises(IngestError) as info:
        ingest(raw_factory({"reps.csv": reps}), out)
    assert has(
        info.value.problems,
        "reps.csv",
        3,
        "active",
        "expected true or false (also yes/no, 1/0), got 'maybe'",
    )
    assert not has(info.value.problems, "reps.csv", 2, "active", "")
    ingest(raw_factory({"reps.csv": reps.replace("maybe", "0")}), out)
    active = load("reps", out)["active"]
    assert pd.api.types.is_bool_dtype(active)
    assert active.tolist() == [True, False]


def test_rep_end_date_before_start_date(raw_factory, processed):
    reps = (
        "rep_id,rep_name,home_lat,home_lon,start_date,end_date\n"
        "R1,Ada Park,33.75,-84.39,2020-01-06,\n"
        "R2,Ben Cole,32.08,-81.09,2024-05-01,2024-04-30\n"
    )
    probs = problems_of(raw_factory({"reps.csv": reps}), processed)
    assert has(probs, "reps.csv", 3, "end_date", "end date 2024-04-30 is before start date")
    assert len(probs) == 1


def test_rep_id_may_not_be_the_unassigned_label(raw_factory, processed):
    # "unassigned" marks accounts without an owner in every stage table: a rep of that name
    # would merge with them, so the contract rejects it (any case, any padding).
    reps = (
        "rep_id,rep_name,home_lat,home_lon\n"
        "R1,Ada Park,33.75,-84.39\n"
        " Unassigned ,Ben Cole,32.08,-81.09\n"
    )
    probs = problems_of(raw_factory({"reps.csv": reps}), processed)
    assert has(probs, "reps.csv", 3, "rep_id", "rep id ' Unassigned ' is reserved")
    assert not has(probs, "reps.csv", 2, "rep_id", "")


def test_dangling_account_unit_id(raw_factory, processed):
    accounts = RAW["accounts.csv"].replace("owner_rep_id\n", "owner_rep_id,unit_id\n")
    accounts = (
        accounts.replace(",R1\n", ",R1,13121\n")
        .replace(",R2\n", ",R2,99999\n")
        .replace("prospect,\n", "prospect,,\n")
    )  # A3: no unit (may be empty)
    probs = problems_of(raw_factory({"accounts.csv": accounts}), processed)
    assert has(
        probs, "accounts.csv", 3, "unit_id", "'99999' not found in geo_units.csv column unit_id"
    )
    assert len(probs) == 1


def test_region_stays_text_even_when_numeric_looking(raw_factory, tmp_path):
    geo = RAW["geo_units.csv"].replace("pct_rural\n", "pct_rural,region\n", 1)
    geo = (
        geo.replace(",3.1\n", ",3.1,01\n")
        .replace(",5.0\n", ",5.0,02\n")
        .replace(",50\n", ",50,10\n")
    )
    out = tmp_path / "processed"
    ingest(raw_factory({"geo_units.csv": geo}), out)
    units = load("geo_units", out)
    assert units["region"].tolist() == ["01", "02", "10"]  # zeros kept: text, not numbers
    assert pd.api.types.is_float_dtype(units["pct_rural"])  # undeclared extras still numeric


def test_named_accounts_dangling_id_and_duplicate(raw_factory, processed):
    named = "account_id,team\nA1,Strategic\nA9,Strategic\nA1,Public sector\n"
    probs = problems_of(raw_factory({"named_accounts.csv": named}), processed)
    assert has(
        probs,
        "named_accounts.csv",
        3,
        "account_id",
        "'A9' not found in accounts.csv column account_id",
    )
    assert has(probs, "named_accounts.csv", 4, "account_id", "duplicate id 'A1' (first on line 2)")


def test_optional_columns_typed_when_present(raw_factory, tmp_path):
    opps = RAW["opportunities.csv"].replace("amount_usd\n", "amount_usd,deal_type,product\n")
    opps = (
        opps.replace(",1000\n", ",1000,new business,Core\n")
        .replace(",250.5\n", ",250.5,expansion,\n")
        .replace(",400\n", ",400,,Core\n")
        .replace(",2000\n", ",2000,expansion,Add-on\n")
    )
    out = tmp_path / "processed"
    ingest(raw_factory({"opportunities.csv": opps, "named_accounts.csv": "account_id\nA2\n"}), out)
    loaded = load("opportunities", out)
    assert loaded["product"][0] == "Core" and pd.isna(loaded["product"][1])
    assert loaded["deal_type"][0] == "new business" and pd.isna(loaded["deal_type"][2])
    assert load("named_accounts", out)["account_id"].tolist() == ["A2"]


def test_readme_contract_table_is_the_contract():
    from pathlib import Path

    from workbench.schema import contract_markdown

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert contract_markdown() in readme
    assert "(optional; default: every rep in reps.csv is active)" in contract_markdown()


# --- hardening (issue 12): confinement and output paths ------------------------------------


def test_a_doctored_manifest_deletes_nothing_outside_the_folder(raw_factory, tmp_path):
    out = tmp_path / "processed"
    ingest(raw_factory(), out)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    inside = out / "notes.txt"  # a file of the user's own in the processed folder
    inside.write_text("mine")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"] += ["../victim.txt", str(victim), "notes.txt", "quotas.parquet"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    ingest(raw_factory({"quotas.csv": None}), out)  # quotas.csv removed from raw
    assert victim.read_text() == "keep me" and inside.read_text() == "mine"
    assert not (out / "quotas.parquet").exists()  # a file ingest wrote and no longer writes


def test_outputs_refuse_symlinks_and_special_files(raw_factory, tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("precious")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    bad = raw_factory({"accounts.csv": RAW["accounts.csv"].replace("120", "12x")})
    for path in (link, fifo):
        with pytest.raises(OutputPathError, match="refusing to write"):
            ingest(bad, tmp_path / "processed", problems_file=path)
    assert target.read_text() == "precious" and link.is_symlink()
    rc = main(["ingest", "--raw", str(bad), "--out", str(tmp_path / "p2"), "--problems", str(link)])
    assert rc == 2 and target.read_text() == "precious"


def test_non_finite_driver_values_are_named_by_line(raw_factory, tmp_path):
    geo = RAW["geo_units.csv"].replace(
        "13051,Chatham,31.97,-81.09,216935,5.0", "13051,Chatham,31.97,-81.09,216935,inf"
    )
    geo = geo.replace(
        "01001,Leading Zero,32.5,-86.6,100,50", "01001,Leading Zero,32.5,-86.6,100,NaN"
    )
    out = tmp_path / "processed"
    with pytest.raises(IngestError) as err:
        ingest(raw_factory({"geo_units.csv": geo}), out)
    text = err.value.report()
    assert "geo_units.csv:3: column pct_rural: expected a finite number" in text and "'inf'" in text
    assert "geo_units.csv:4: column pct_rural: expected a finite number" in text and "'NaN'" in text
    assert not out.exists()


def test_line_numbers_stay_exact_after_blank_and_all_empty_rows(raw_factory, tmp_path):
    acc = RAW["accounts.csv"].splitlines()
    # line 1 header, 2 A1, 3 blank, 4 all-empty fields, 5 A2 with a bad count, 6 A3
    lines = [acc[0], acc[1], "", ",,,,,,,,", acc[2].replace(",8,", ",8x,"), acc[3]]
    with pytest.raises(IngestError) as err:
        ingest(raw_factory({"accounts.csv": "\n".join(lines) + "\n"}), tmp_path / "out")
    text = err.value.report()
    assert "accounts.csv:5: column employees: expected a whole number ≥ 0, got '8x'" in text
    assert "accounts.csv:4: column account_id: value is empty" in text
    assert "accounts.csv:3:" not in text  # the blank line itself is no record


def test_cr_only_line_ends_are_read_with_their_own_line_numbers(raw_factory, tmp_path):
    reps = RAW["reps.csv"].replace("\n", "\r")
    out = tmp_path / "processed"
    ingest(raw_factory({"reps.csv": reps}), out)
    assert load("reps", out)["rep_id"].tolist() == ["R1", "R2"]
    bad = reps.replace("32.08", "north")  # R2 is on line 3
    with pytest.raises(IngestError) as err:
        ingest(raw_factory({"reps.csv": bad}), tmp_path / "other")
    assert "reps.csv:3: column home_lat: expected a number in [-90, 90], got 'north'" in (
        err.value.report()
    )


def test_huge_lines_and_quoted_fields_stream_through(raw_factory, tmp_path):
    big = "x" * (50 << 20)  # a 50 MB line: several Arrow parse blocks long
    field = "y\n" * (100 << 10)  # a 200 KB quoted field with newlines: over csv's 128 KiB
    acc = (
        RAW["accounts.csv"]
        .replace('"Acme, Inc."', f'"Acme {big}"')
        .replace("Beta LLC", f'"Beta {field}"')
    )
    out = tmp_path / "processed"
    ingest(raw_factory({"accounts.csv": acc}), out)
    names = load("accounts", out)["account_name"].tolist()
    assert len(names[0]) == len(big) + 5 and names[1].count("\n") == 100 << 10
    # and a problem after the quoted field still carries the file's own line number
    field_lines = field.count("\n")
    bad = acc.replace("Gamma Co,Healthcare,0,", "Gamma Co,Healthcare,0x,")
    with pytest.raises(IngestError) as err:
        ingest(raw_factory({"accounts.csv": bad}), tmp_path / "other")
    assert f"accounts.csv:{4 + field_lines}: column employees" in err.value.report()


@pytest.mark.parametrize(("name", "line"), [("Beta LLC", 3), ("Gamma Co", 4)])
def test_an_unterminated_quote_is_named_with_its_line(raw_factory, tmp_path, name, line):
    acc = RAW["accounts.csv"].replace(name, f'"{name}')
    with pytest.raises(IngestError) as err:
        ingest(raw_factory({"accounts.csv": acc}), tmp_path / "out")
    assert f'accounts.csv:{line}: unterminated quote: a field opened with " on line {line}' in (
        err.value.report()
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"synthetic": true, "as_of": "30/09/2026"}', "as_of must be an ISO date"),
    ],
)
def test_a_malformed_provenance_note_is_a_problem_not_a_traceback(
    raw_factory, tmp_path, text, said
):
    raw = raw_factory()
    (raw / "demo_provenance.json").write_text(text)
    with pytest.raises(IngestError) as err:
        ingest(raw, tmp_path / "out")
    assert f"demo_provenance.json: {said}" in err.value.report()
    assert not (tmp_path / "out").exists()


def test_a_crash_between_renames_is_refused_by_readers(raw_factory, tmp_path, monkeypatch):
    out = tmp_path / "processed"
    ingest(raw_factory(), out)
    assert len(load("accounts", out)) == 3
    # the next ingest dies after its first rename: new accounts, old manifest and the rest
    import workbench.ingest as ingest_module

    real = os.replace
    calls = []

    def dying(src, dst):
        if Path(dst).parent == out:  # a rename of the swap into the processed folder
            calls.append(Path(dst).name)
            if Path(dst).name == "opportunities.parquet":  # accounts went in just before
                raise OSError("power cut")
        real(src, dst)

    monkeypatch.setattr(ingest_module.os, "replace", dying)
    changed = RAW["accounts.csv"].replace("Beta LLC", "Beta Holdings")
    with pytest.raises(OSError, match="power cut"):
        ingest(raw_factory({"accounts.csv": changed}), out)
    monkeypatch.undo()
    assert "accounts.parquet" in calls and "manifest.json" not in calls
    with pytest.raises(FileNotFoundError, match="does not match its manifest"):
        load("accounts", out)  # new accounts beside the old manifest: refused
    ingest(raw_factory({"accounts.csv": changed}), out)  # rerunning heals it
    assert "Beta Holdings" in load("accounts", out)["account_name"].tolist()
