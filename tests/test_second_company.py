"""The second company (North Carolina, CRM labels, all fields quoted) is valid contract data that
the workbench was never tuned on: it must ingest cleanly and look like the company it claims."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zipcodes

sys.path.insert(0, str(Path(__file__).parent))
from second_company import REQUIRED_FILES, write_second_company

CONTRACT_HEADERS = {
    "reps.csv": ["rep_id", "rep_name", "home_lat", "home_lon"],
    "geo_units.csv": [
        "unit_id",
        "unit_name",
        "lat",
        "lon",
        "population",
        "median_income_k",
        "broadband_share",
    ],
    "accounts.csv": [
        "account_id",
        "account_name",
        "industry",
        "employees",
        "postal_code",
        "lat",
        "lon",
        "status",
        "owner_rep_id",
    ],
    "opportunities.csv": [
        "opportunity_id",
        "account_id",
        "rep_id",
        "created_date",
        "close_date",
        "stage",
        "amount_usd",
        "deal_type",
    ],
}


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    folder = tmp_path_factory.mktemp("second") / "raw"
    facts = write_second_company(folder)
    return folder, facts


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False, encoding="utf-8")


def _km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 12742.0 * np.arcsin(np.sqrt(a))


def test_ingests_cleanly_and_plans_the_last_complete_quarter(company, tmp_path):
    from workbench.ingest import IngestError, ingest
    from workbench.io import read_manifest

    folder, facts = company
    try:
        result = ingest(folder, tmp_path / "processed")
    except IngestError as exc:  # valid contract data: every problem is a workbench bug
        pytest.fail("the second company did not ingest:\n" + exc.report())
    assert result.default_quarter == facts["last_quarter"] == "2025Q2"
    manifest = read_manifest(tmp_path / "processed")
    assert manifest["default_quarter"] == "2025Q2"
    assert manifest["latest_activity_date"] == facts["latest_date"]
    assert result.rows["accounts"] == facts["n_accounts"]
    assert result.rows["opportunities"] == facts["n_opportunities"]
    assert result.rows["reps"] == facts["n_reps"]
    assert result.rows["geo_units"] == facts["n_units"] == 100
    acc = pd.read_parquet(tmp_path / "processed" / "accounts.parquet")
    assert acc["postal_code"].map(lambda z: isinstance(z, str) and len(z) == 5).all()
    assert "Café" in " ".join(acc["account_name"])
    units = pd.read_parquet(tmp_path / "processed" / "geo_units.parquet")
    for driver in facts["drivers"]:
        assert pd.api.types.is_float_dtype(units[driver])
    assert units["unit_id"].str.fullmatch(r"37\d{3}").all()
    opp = pd.read_parquet(tmp_path / "processed" / "opportunities.parquet")
    assert set(opp["deal_type"]) == set(facts["deal_types"])


def test_same_seed_same_bytes_and_another_seed_differs(company, tmp_path):
    folder, facts = company
    again = write_second_company(tmp_path / "again")
    other = write_second_company(tmp_path / "other", seed=12)
    assert again == facts
    for name in (*REQUIRED_FILES, "README.txt"):
        assert (tmp_path / "again" / name).read_bytes() == (folder / name).read_bytes(), name

    def same(name: str) -> bool:
        return (tmp_path / "other" / name).read_bytes() == (folder / name).read_bytes()

    assert not same("accounts.csv") and not same("opportunities.csv")
    assert same("geo_units.csv")  # the market is real and fixed: only the company changes
    assert other["last_quarter"] == "2025Q2"


def test_every_field_is_quoted_utf8_one_header(company):
    folder, _ = company
    for name, header in CONTRACT_HEADERS.items():
        raw = (folder / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), f"{name} has a BOM"
        text = raw.decode("utf-8")  # strict
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[0] == header, name
        assert header not in rows[1:], f"{name} repeats its header"
        assert {len(r) for r in rows} == {len(header)}, name
        # re-quoting every field reproduces the file exactly: every field was quoted
        out = io.StringIO(newline="")
        csv.writer(out, quoting=csv.QUOTE_ALL).writerows(rows)
        assert out.getvalue() == text, f"{name}: some field is not quoted"
        for line in raw.split(b"\r\n")[:-1]:
            assert line.startswith(b'"') and line.endswith(b'"'), (name, line)
    names = _read(folder, "accounts.csv")["account_name"]
    assert names.str.contains(",").any()
    assert names.str.contains('"').any()
    assert names.map(lambda s: not s.isascii()).any()
    assert not _read(folder, "reps.csv")["rep_name"].map(str.isascii).all()


def test_only_required_files_and_contract_columns(company):
    folder, facts = company
    assert sorted(p.name for p in folder.iterdir()) == sorted([*REQUIRED_FILES, "README.txt"])
    assert facts["files"] == sorted(REQUIRED_FILES)
    assert "SYNTHETIC" in (folder / "README.txt").read_text(encoding="utf-8")
    reps = _read(folder, "reps.csv")
    assert list(reps.columns) == ["rep_id", "rep_name", "home_lat", "home_lon"]
    assert reps["rep_id"].str.fullmatch(r"NC-REP-\d{2}").all()
    assert list(reps["rep_id"]) == facts["rep_ids"] and 8 <= facts["n_reps"] <= 10
    assert "unit_id" not in _read(folder, "accounts.csv").columns
    assert "region" not in _read(folder, "geo_units.csv").columns
    opp = _read(folder, "opportunities.csv")
    assert "product" not in opp.columns
    assert set(opp["deal_type"]) == {"New Logo", "Upsell", "Renewal"}
    units = _read(folder, "geo_units.csv")
    base = ("unit_id", "unit_name", "lat", "lon", "population")
    extras = [c for c in units.columns if c not in base]
    assert extras == facts["drivers"] and not any(c.startswith("pct_") for c in extras)


def test_accounts_sit_at_real_north_carolina_zips(company):
    folder, facts = company
    acc = _read(folder, "accounts.csv")
    assert acc["account_id"].is_unique and acc["account_id"].str.fullmatch(r"ACC-\d{6}").all()
    assert acc["postal_code"].str.fullmatch(r"\d{5}").all()
    points = {}
    for z in acc["postal_code"].unique():
        match = zipcodes.matching(z)
        assert match and match[0]["state"] == "NC", z
        points[z] = (float(match[0]["lat"]), float(match[0]["long"]))
    zlat = acc["postal_code"].map(lambda z: points[z][0]).to_numpy()
    zlon = acc["postal_code"].map(lambda z: points[z][1]).to_numpy()
    d = _km(acc["lat"].astype(float).to_numpy(), acc["lon"].astype(float).to_numpy(), zlat, zlon)
    assert d.max() <= 2.1
    assert set(acc["industry"]) <= set(facts["industries"]) and acc["industry"].nunique() >= 5
    assert set(acc["status"]) == {"customer", "prospect"}
    emp = acc["employees"].astype(int)
    assert (emp >= 0).all() and (emp == 0).any()
    assert emp.max() > 20 * emp.median()  # skewed sizes
    reps = _read(folder, "reps.csv")
    for lat, lon in zip(
        reps["home_lat"].astype(float), reps["home_lon"].astype(float), strict=True
    ):
        assert 33.8 < lat < 36.6 and -84.4 < lon < -75.4


def test_history_is_ten_quarters_ending_2025q2_with_a_q2_peak(company):
    folder, facts = company
    opp = _read(folder, "opportunities.csv")
    assert opp["opportunity_id"].is_unique
    assert set(opp["stage"]) == {"won", "lost", "open"}
    amount = opp["amount_usd"].astype(float)
    assert (amount >= 0).all() and (amount == 0).any()
    closed, open_ = opp[opp["stage"] != "open"], opp[opp["stage"] == "open"]
    assert (open_["close_date"] == "").all() and (closed["close_date"] != "").all()
    close = pd.to_datetime(closed["close_date"])
    quarters = close.dt.to_period("Q")
    assert str(quarters.min()) == "2023Q1" and str(quarters.max()) == "2025Q2"
    assert quarters.nunique() == 10
    latest = max(opp["created_date"].max(), opp["close_date"].max())
    assert latest == facts["latest_date"]
    assert dt.date(2025, 6, 24) <= dt.date.fromisoformat(latest) <= dt.date(2025, 6, 30)
    created_open = pd.to_datetime(open_["created_date"])
    assert (created_open <= "2025-06-30").all()
    assert (created_open.dt.to_period("Q").astype(str) == "2025Q2").mean() > 0.7
    assert len(open_) == facts["n_open"] > 0
    assert (pd.to_datetime(closed["created_date"]) <= close).all()
    won = closed.assign(q=quarters, amount=amount)[closed["stage"] == "won"]
    by_q = won.groupby("q")["amount"].sum()
    for year in (2023, 2024):  # Q2 peaks every full year, unlike the demo's Q4
        year_q = by_q[[str(p).startswith(str(year)) for p in by_q.index]]
        assert str(year_q.idxmax()) == f"{year}Q2"
    # every deal's rep and account exist
    assert set(opp["rep_id"]) <= set(facts["rep_ids"])
    assert set(opp["account_id"]) <= set(_read(folder, "accounts.csv")["account_id"])


def test_current_books_are_unbalanced_but_a_balanced_plan_exists(company):
    folder, facts = company
    acc = _read(folder, "accounts.csv")
    opp = _read(folder, "opportunities.csv")
    owned = acc[acc["owner_rep_id"] != ""]
    assert 0 < facts["n_unassigned"] == (acc["owner_rep_id"] == "").sum() < 0.1 * len(acc)
    assert (acc.loc[acc["owner_rep_id"] == "", "status"] == "prospect").all()
    counts = owned.groupby("owner_rep_id").size().reindex(facts["rep_ids"], fill_value=0)
    assert (counts > 0).all()
    cv = counts.std(ddof=0) / counts.mean()
    assert 0.1 <= cv <= 0.45, cv  # visibly uneven, not absurd
    won = opp[(opp["stage"] == "won") & (opp["close_date"] >= "2024-07-01")]
    won = won.merge(owned[["account_id", "owner_rep_id"]], on="account_id")
    revenue = won.groupby("owner_rep_id")["amount_usd"].apply(lambda s: s.astype(float).sum())
    rcv = revenue.std(ddof=0) / revenue.mean()
    assert 0.1 <= rcv <= 0.8, rcv
    assert 0.2 <= facts["owner_potential_spread"] <= 0.45
    assert 0.2 <= facts["owner_count_spread"] <= 0.6
    # counties are small enough for an even split, and a quick heuristic finds one
    assert facts["max_unit_share"] < 0.8 / facts["n_reps"]
    assert facts["balanced_plan_spread"] < 0.1
    assert facts["top5pct_value_share"] > 0.2  # a few big accounts carry much of the market


def test_small_company_and_speed(tmp_path):
    write_second_company(tmp_path / "warm", n_accounts=50, seed=3)  # data loaded once
    t0 = time.perf_counter()
    facts = write_second_company(tmp_path / "timed")
    assert time.perf_counter() - t0 < 2.0
    assert facts["n_accounts"] == 600
    small = write_second_company(tmp_path / "small", n_accounts=50, seed=3)
    assert small["n_accounts"] == 50 and small["last_quarter"] == "2025Q2"
    assert dt.date(2025, 6, 24) <= dt.date.fromisoformat(small["latest_date"])
    assert not json.dumps(small).count("NaN")
