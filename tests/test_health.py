"""Data health on the hand-built fixture (conftest.RAW); expected values worked out by hand."""

from __future__ import annotations

import math

import pytest

from workbench import health
from workbench.ingest import ingest


@pytest.fixture
def data(raw_factory, tmp_path):
    out = tmp_path / "processed"
    ingest(raw_factory(), out)
    return health.load_health_inputs(out), out


def count(findings, text):
    (row,) = findings.loc[findings["finding"].str.contains(text, regex=False)].itertuples()
    return row.count, row.examples


def test_revenue_by_quarter_by_hand(data):
    tables, _ = data
    rev = health.revenue_by_quarter(tables["facts_account_quarter"], quarter="2026Q3", n=4)
    assert rev.index.tolist() == ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    assert rev["won_usd"].tolist() == [0, 1000, 0, 2000]
    # 2025Q4 closed nothing: no win rate rather than 0%; Q1 one win; Q2 one loss; Q3 one win.
    assert math.isnan(rev.loc["2025Q4", "win_rate"])
    assert rev.loc[["2026Q1", "2026Q2", "2026Q3"], "win_rate"].tolist() == [1.0, 0.0, 1.0]


def test_quality_findings_by_hand(data):
    t, _ = data
    f = health.quality_findings(
        t["accounts"],
        t["opportunities"],
        t["reps"],
        t["geo_units"],
        quarter="2026Q2",
        stale_days=60,
    )
    assert count(f, "accounts without an owner") == (1, "A3")
    assert count(f, "accounts with no opportunity") == (1, "A3")
    # O3 created 2026-07-01 and O4 closed 2026-07-01 both fall after 2026Q2's end.
    assert count(f, "after 2026Q2 end")[0] == 2
    assert count(f, "customers with no won")[0] == 0
    assert count(f, "more than 100 km")[0] == 0
    assert f["severity"].iloc[0] == "error"  # errors sort first, even with a zero count


def test_stale_pipeline_threshold(data):
    t, _ = data
    # O3 is open since 2026-07-01: 91 days old at 2026-09-30.
    args = (t["accounts"], t["opportunities"], t["reps"], t["geo_units"])
    assert count(health.quality_findings(*args, quarter="2026Q3", stale_days=90), "stale")[0] == 1
    assert count(health.quality_findings(*args, quarter="2026Q3", stale_days=91), "stale")[0] == 0


def test_far_account_is_flagged(data):
    t, _ = data
    accounts = t["accounts"].copy()
    accounts.loc[1, ["lat", "lon"]] = [40.71, -74.01]  # New York: ~1,100 km from every unit
    f = health.quality_findings(
        accounts, t["opportunities"], t["reps"], t["geo_units"], quarter="2026Q3"
    )
    assert count(f, "more than 100 km") == (1, "A2")


def test_table_overview_lists_hashes(data):
    _, out = data
    ov = health.table_overview(out).set_index("table")
    assert ov.loc["opportunities", "rows"] == 4
    assert ov.loc["facts_account_quarter", "raw_file"] == "(derived)"
    assert len(ov.loc["accounts", "raw_sha256"]) == 12


def test_optional_inputs_say_what_came_in(data):
    # conftest.RAW ships quotas.csv and a pct_rural driver, no other optional file, and none
    # of the optional columns (active, start/end dates, region, unit_id, deal_type, product).
    _, out = data
    table = health.optional_inputs(out).set_index("input")
    supplied = table["supplied"]
    assert supplied["quotas.csv"] and not supplied["competitors.csv"]
    assert not supplied["economy.csv"] and not supplied["swot.csv"]
    assert not supplied["geo_units.geojson"] and not supplied["named_accounts.csv"]
    for col in (
        "reps.csv: active",
        "geo_units.csv: region",
        "accounts.csv: unit_id",
        "opportunities.csv: deal_type",
        "opportunities.csv: product",
    ):
        assert not supplied[col]
    assert "points" in table.loc["geo_units.geojson", "adds"]
