"""One set of expressions, several engines: DuckDB (CSV and Parquet folders), Spark in local
mode and a real PostgreSQL server give identical processed data; a table's problems are named
by key and column; credentials never reach an output.

The oracle for every engine is the CSV folder ingested on DuckDB, which the rest of the suite
checks against hand-computed values (tests/test_io.py)."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.config import shown_path
from workbench.demo import write_demo
from workbench.ingest import FACTS_NAME, IngestError, ingest
from workbench.io import load, read_manifest
from workbench.schema import CONTRACT
from workbench.sources import SourceError, redact

pytestmark = pytest.mark.slow

TABLES = [name for name in CONTRACT if name != "swot"] + [FACTS_NAME]


def _frame(processed: Path, name: str) -> pd.DataFrame:
    df = load(name, processed)
    for c in df.columns:  # money to cents, dtypes as values (Arrow string vs object)
        if pd.api.types.is_float_dtype(df[c]):
            df[c] = df[c].round(2)
        elif not pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df.sort_values(sorted(df.columns), kind="stable").reset_index(drop=True)


def assert_same_processed(a: Path, b: Path) -> None:
    names_a = set(read_manifest(a)["outputs"])
    assert names_a == set(read_manifest(b)["outputs"])
    for name in names_a:
        fa, fb = _frame(a, name), _frame(b, name)
        assert sorted(fa.columns) == sorted(fb.columns), name
        fb = fb[fa.columns]  # a lake's partition columns come last
        pd.testing.assert_frame_equal(fa, fb, check_dtype=False, obj=name)
    ma, mb = read_manifest(a), read_manifest(b)
    assert ma["latest_activity_date"] == mb["latest_activity_date"]
    assert {n: o["rows"] for n, o in ma["outputs"].items()} == {
        n: o["rows"] for n, o in mb["outputs"].items()
    }


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    """A small demo company as CSV exports, its DuckDB ingest (the oracle) and the same
    tables as a Parquet lake: typed columns, three files per table in partition folders."""
    root = tmp_path_factory.mktemp("engines")
    raw = root / "raw"
    write_demo(raw, seed=5, n_accounts=250)
    oracle = root / "oracle"
    ingest(raw, oracle)
    lake = root / "lake"
    for name in CONTRACT:
        if not (oracle / f"{name}.parquet").is_file():
            continue
        table = pq.read_table(oracle / f"{name}.parquet")
        if name == "opportunities":  # hive partitions: the stage lives in the folder names
            pq.write_to_dataset(table, lake / name, partition_cols=["stage"])
            continue
        size = table.num_rows // 3 + 1
        for i in range(3):
            folder = lake / name / f"batch-{i}"
            folder.mkdir(parents=True)
            pq.write_table(table.slice(i * size, size), folder / f"data-{i}.parquet")
    for extra in ("geo_units.geojson", "demo_provenance.json"):
        (lake / extra).write_bytes((raw / extra).read_bytes())
    return raw, oracle, lake


def test_a_parquet_lake_equals_the_csv_exports(company, tmp_path):
    raw, oracle, lake = company
    out = tmp_path / "lake"
    ingest(lake, out)
    assert_same_processed(oracle, out)
    manifest = read_manifest(out)
    assert manifest["default_quarter"] == read_manifest(oracle)["default_quarter"]
    assert (out / "geo_units.geojson").read_bytes() == (raw / "geo_units.geojson").read_bytes()
    where = shown_path(lake)
    assert manifest["source"] == {"kind": "folder", "location": where, "engine": "duckdb"}
    opps = manifest["inputs"]["opportunities/"]
    assert opps["files"] == 3 and opps["format"] == "parquet"  # one per stage
    assert opps["rows"] == manifest["outputs"]["opportunities"]["rows"]


def test_spark_gives_the_same_processed_data(company, spark_backend, tmp_path):
    _raw, oracle, lake = company
    out = tmp_path / "spark"
    ingest(lake, out, engine="spark")
    assert_same_processed(oracle, out)
    assert read_manifest(out)["source"]["engine"] == "spark"


def _contract_tables(processed: Path) -> dict[str, pa.Table]:
    """The typed contract tables of a processed folder, as a warehouse would hold them."""
    return {
        name: pq.read_table(processed / f"{name}.parquet")
        for name in CONTRACT
        if (processed / f"{name}.parquet").is_file()
    }


def _load_postgres(host, port, password, database, tables: dict[str, pa.Table]) -> str:
    admin = ibis.postgres.connect(
        host=host, port=port, user="postgres", password=password, database="postgres"
    )
    admin.raw_sql(f"CREATE DATABASE {database}").close()
    admin.disconnect()
    con = ibis.postgres.connect(
        host=host, port=port, user="postgres", password=password, database=database
    )
    for name, table in tables.items():
        con.create_table(name, table)
    con.disconnect()
    return f"postgres://postgres@{host}:{port}/{database}"


def test_postgres_gives_the_same_processed_data(company, postgres_server, tmp_path, monkeypatch):
    _raw, oracle, _lake = company
    host, port, password = postgres_server
    tables = _contract_tables(oracle)
    # the warehouse keeps its own table names: the mapping points at them
    tables["crm_deals"] = tables.pop("opportunities")
    url = _load_postgres(host, port, password, "parity", tables)
    monkeypatch.setenv("WORKBENCH_SOURCE_PASSWORD", password)
    out = tmp_path / "pg"
    lines: list[str] = []
    ingest(source=url, tables="opportunities=crm_deals", out_dir=out, progress=lines.append)
    assert_same_processed(oracle, out)
    manifest = read_manifest(out)
    assert manifest["source"]["kind"] == "database"
    assert manifest["source"]["tables"]["opportunities"] == "crm_deals"
    assert manifest["inputs"]["crm_deals"]["rows"] == tables["crm_deals"].num_rows
    assert any(line.startswith("read crm_deals:") for line in lines)
    assert any(line.startswith(f"wrote {FACTS_NAME}.parquet") for line in lines)


def test_problems_in_a_database_table_are_named_by_key_and_column(postgres_server, tmp_path):
    """A text-typed warehouse table (as a raw CRM replica often is) with planted problems: each
    is named by the row's key and the column, every cast stays guarded (PostgreSQL raises on a
    failed cast), and nothing is written."""
    host, port, password = postgres_server
    text = pa.string()
    reps = pa.table({"rep_id": ["R1", "R2"], "rep_name": ["Ada", "Ben"],
                     "home_lat": ["33.7", "32.1"], "home_lon": ["-84.4", "-81.1"]})  # fmt: skip
    geo = pa.table({"unit_id": ["U1"], "unit_name": ["One"], "lat": ["33"], "lon": ["-84"],
                    "population": ["100"]})  # fmt: skip
    accounts = pa.table(
        {
            "account_id": ["A1", "A2"], "account_name": ["Acme", "Beta"],
            "industry": ["Retail", "Retail"], "employees": ["12", "7.5"],
            "postal_code": ["30303", "31401"], "lat": ["33.7", "132.0"],
            "lon": ["-84.4", "-81.1"], "status": ["customer", "prospect"],
            "owner_rep_id": ["R1", None],
        }
    )  # fmt: skip
    opps = pa.table(
        {
            "opportunity_id": ["O1", "O2", "O3", "O3", "O5"],
            "account_id": ["A1", "A1", "A9", "A2", "A2"],
            "rep_id": ["R1", "R1", "R2", "R2", "R2"],
            "created_date": ["2026-01-10", "2026-02-30", "2026-03-01", "2026-03-01", "2026-04-01"],
            "close_date": ["2026-03-31", "2026-05-01", None, None, "2026-03-01"],
            "stage": ["won", "lost", "open", "open", "maybe"],
            "amount_usd": ["1000", "abc", "-5", "10", "1e400"],
        },
        schema=pa.schema([(c, text) for c in (
            "opportunity_id", "account_id", "rep_id", "created_date", "close_date", "stage",
            "amount_usd")]),
    )  # fmt: skip
    url = _load_postgres(
        host, port, password, "planted",
        {"reps": reps, "geo_units": geo, "accounts": accounts, "opportunities": opps},
    )  # fmt: skip
    url = url.replace("postgres@", f"postgres:{password}@")
    out = tmp_path / "out"
    with pytest.raises(IngestError) as err:
        ingest(source=url, out_dir=out)
    found = {(p.file, p.key, p.column, p.message) for p in err.value.problems}
    assert all(p.line is None for p in err.value.problems)
    expected = {
        ("accounts", "account_id=A2", "employees", "expected a whole number ≥ 0, got '7.5'"),
        ("accounts", "account_id=A2", "lat", "expected a number in [-90, 90], got '132.0'"),
        ("opportunities", "opportunity_id=O2", "created_date",
         "expected an ISO date (YYYY-MM-DD), got '2026-02-30'"),
        ("opportunities", "opportunity_id=O2", "amount_usd", "expected a number ≥ 0, got 'abc'"),
        ("opportunities", "opportunity_id=O3", "amount_usd", "expected a number ≥ 0, got '-5'"),
        ("opportunities", "opportunity_id=O3", "opportunity_id", "duplicate id 'O3' (2 rows)"),
        ("opportunities", "opportunity_id=O3", "account_id",
         "'A9' not found in accounts column account_id (dangling reference)"),
        ("opportunities", "opportunity_id=O5", "stage",
         "expected one of won, lost, open, got 'maybe'"),
        ("opportunities", "opportunity_id=O5", "amount_usd",
         "expected a number ≥ 0, got '1e400'"),
        ("opportunities", "opportunity_id=O5", "close_date",
         "close date 2026-03-01 is before created date 2026-04-01"),
    }  # fmt: skip
    assert found == expected
    assert str(err.value.problems[0]).startswith("accounts[account_id=A2]: column ")
    assert not out.exists()
    assert password not in err.value.report()


def _every_output_text(folder: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("latin-1") for p in sorted(folder.rglob("*")) if p.is_file()
    )


def test_no_credential_reaches_an_output(company, postgres_server, tmp_path, capsys):
    _raw, oracle, _lake = company
    host, port, password = postgres_server
    tables = _contract_tables(oracle)
    url = _load_postgres(host, port, password, "secrets", tables)
    planted = (
        url.replace("postgres@", f"postgres:{password}@") + f"?sslmode=disable&password={password}"
    )
    out = tmp_path / "out"
    lines: list[str] = []
    ingest(source=planted, out_dir=out, progress=lines.append)
    assert password not in _every_output_text(out)
    assert password not in "\n".join(lines) + capsys.readouterr().err
    assert read_manifest(out)["source"]["location"] == redact(planted)
    assert "sslmode=disable" in redact(planted) and password not in redact(planted)
    # a failed connection names the server, never the password it was given
    wrong = planted.replace(f":{port}/", f":{port}/no_such_db")
    with pytest.raises(SourceError) as err:
        ingest(source=wrong, out_dir=tmp_path / "none")
    assert "no_such_db" in str(err.value) and password not in str(err.value)
    # a profile holds the name of the variable, never the password
    profiles = tmp_path / "sources.yaml"
    profiles.write_text(
        json.dumps({"crm": {"url": url, "password_env": "CRM_PW"}}), encoding="utf-8"
    )
    import os

    env = {"WORKBENCH_PROFILES": str(profiles), "CRM_PW": password}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        ingest(source="profile:crm", out_dir=tmp_path / "profiled")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
    assert password not in _every_output_text(tmp_path / "profiled")
    assert_same_processed(out, tmp_path / "profiled")


def test_no_credential_reaches_a_report(company, postgres_server, tmp_path, monkeypatch):
    """The CLI with a planted password in the URL and in the environment: ingest, then the
    whole quarterly report; every file under data/ and reports/ is searched for both."""
    from workbench.cli import main

    _raw, oracle, _lake = company
    host, port, password = postgres_server
    tables = _contract_tables(oracle)
    url = _load_postgres(host, port, password, "report", tables)
    home = tmp_path / "home"
    processed = home / "data" / "processed"
    monkeypatch.setenv("WORKBENCH_SOURCE_PASSWORD", password)  # used: the URL has none
    assert main(["ingest", "--source", url, "--out", str(processed), "--quiet"]) == 0
    planted = url.replace("postgres@", f"postgres:{password}@")
    assert main(["ingest", "--source", planted, "--out", str(processed), "--quiet"]) == 0
    assert main(["report", "--data", str(home / "data"), "--out", str(home / "reports")]) == 0
    reports = sorted((home / "reports").glob("*/manifest.json"))
    assert reports, "no report written"
    report = json.loads(reports[0].read_text())
    assert report["data"]["source"]["location"] == redact(planted) == url
    assert password not in _every_output_text(home)
