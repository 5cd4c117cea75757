"""The synthetic demo company: data contract, real geography and the realism it promises.

One small demo (600 accounts) is generated per module and every check recomputes its measure
from the written files. Expected values come from outside the generator: the contract
(DESIGN.md), the realism targets agreed for the demo (top-20 % share 60-85 %, book ratio >= 2,
Q4 > Q1, growth), published facts (Georgia had 159 counties and 6,478,216 people in the 1990
census; 13121 is Fulton, 13067 Cobb, 13051 Chatham County) and the ``zipcodes`` package.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
import shapely
import zipcodes

from workbench.demo import DemoResult, write_demo

N_ACCOUNTS = 600
AS_OF = pd.Timestamp("2026-09-30")
START = pd.Timestamp("2023-10-01")  # first day of 2023Q4, the first history quarter
FILES = {
    "accounts.csv",
    "opportunities.csv",
    "reps.csv",
    "geo_units.csv",
    "geo_units.geojson",
    "quotas.csv",
    "competitors.csv",
    "economy.csv",
    "swot.csv",
    "demo_provenance.json",
}
REQUIRED = {  # DESIGN.md, data contract
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
    ],
    "reps.csv": ["rep_id", "rep_name", "home_lat", "home_lon"],
    "geo_units.csv": ["unit_id", "unit_name", "lat", "lon", "population"],
    "quotas.csv": ["quarter", "rep_id", "quota_usd"],
    "competitors.csv": ["unit_id", "competitor", "presence"],
    "economy.csv": ["quarter"],
    "swot.csv": ["scope", "kind", "item"],
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoResult:
    return write_demo(tmp_path_factory.mktemp("demo") / "raw", seed=7, n_accounts=N_ACCOUNTS)


def _read(folder: Path, name: str) -> pd.DataFrame:
    """Every column as text, empty cells as ""; numeric columns are converted where used."""
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def data(demo) -> dict[str, pd.DataFrame]:
    d = {name.removesuffix(".csv"): _read(demo.out, name) for name in REQUIRED}
    opp = d["opportunities"]
    for col in ("created_date", "close_date"):
        opp[col] = pd.to_datetime(opp[col].where(opp[col] != ""), format="%Y-%m-%d")
    opp["amount_usd"] = opp["amount_usd"].astype(float)
    return d


@pytest.fixture(scope="module")
def polygons(demo) -> gpd.GeoDataFrame:
    return gpd.read_file(demo.out / "geo_units.geojson").set_index("unit_id")


def _won_by_quarter(opp: pd.DataFrame) -> pd.Series:
    won = opp[opp["stage"] == "won"]
    return won.groupby(won["close_date"].dt.to_period("Q"))["amount_usd"].sum()


def _trailing_revenue(data) -> pd.Series:
    """Won revenue per account over the last four quarters (2025Q4..2026Q3), 0 if none."""
    opp = data["opportunities"]
    recent = opp[(opp["stage"] == "won") & (opp["close_date"] >= pd.Timestamp("2025-10-01"))]
    rev = recent.groupby("account_id")["amount_usd"].sum()
    return data["accounts"]["account_id"].map(rev).fillna(0.0)


# ---------------------------------------------------------------------------------------------
# The call, the files, determinism


def test_result_lists_the_files_and_rows(demo, data):
    assert set(demo.files) == FILES
    assert {p.name for p in demo.out.iterdir()} == FILES
    assert not [p for p in demo.out.parent.iterdir() if p.name.startswith(".")]  # no temp left
    assert demo.rows["accounts.csv"] == N_ACCOUNTS == len(data["accounts"])
    assert demo.rows["opportunities.csv"] == len(data["opportunities"])
    text = demo.summary()
    assert isinstance(text, str) and "synthetic" in text and "600" in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        demo.seed = 8  # type: ignore[misc]


def test_same_seed_gives_identical_files_and_another_seed_differs(demo, tmp_path):
    again = write_demo(tmp_path / "again", seed=7, n_accounts=N_ACCOUNTS)
    other = write_demo(tmp_path / "other", seed=8, n_accounts=N_ACCOUNTS)
    for name in FILES:
        assert (again.out / name).read_bytes() == (demo.out / name).read_bytes(), name
    for name in ("accounts.csv", "opportunities.csv", "quotas.csv"):
        assert (other.out / name).read_bytes() != (demo.out / name).read_bytes(), name


def test_every_contract_column_is_present(data):
    for name, columns in REQUIRED.items():
        missing = set(columns) - set(data[name.removesuffix(".csv")].columns)
        assert not missing, f"{name} lacks {missing}"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"region": "TX"}, r"unknown region 'TX'.*supported regions: GA"),
        ({"n_accounts": 49}, r"n_accounts must be between 50"),
        ({"n_accounts": 10.5}, r"n_accounts must be an integer"),
        ({"seed": -1}, r"seed must be >= 0"),
        ({"seed": "7"}, r"seed must be an integer"),
    ],
)
def test_bad_arguments_are_refused_clearly(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_demo(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_a_failure_leaves_the_output_folder_untouched(tmp_path, monkeypatch):
    import workbench.demo as demo_module

    out = tmp_path / "raw"
    out.mkdir()
    (out / "accounts.csv").write_text("an older file\n")
    calls = []

    def failing(table, path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        path.write_text("partial")

    monkeypatch.setattr(demo_module, "_write_csv", failing)
    with pytest.raises(OSError, match="disk full"):
        write_demo(out, n_accounts=50)
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]  # the temporary folder is gone
    assert [p.name for p in out.iterdir()] == ["accounts.csv"]
    assert (out / "accounts.csv").read_text() == "an older file\n"


# ---------------------------------------------------------------------------------------------
# Real geography


def test_geo_units_are_the_159_georgia_counties(data):
    units = data["geo_units"]
    assert len(units) == 159 and units["unit_id"].is_unique
    assert units["unit_id"].str.fullmatch(r"13\d{3}").all()
    assert units["unit_name"].is_unique
    names = units.set_index("unit_id")["unit_name"]
    assert (names["13121"], names["13067"], names["13051"]) == (
        "Fulton County",
        "Cobb County",
        "Chatham County",
    )
    assert units["population"].astype(int).sum() == 6_478_216  # Georgia, 1990 census
    lat, lon = units["lat"].astype(float), units["lon"].astype(float)
    assert lat.between(30.3, 35.0).all() and lon.between(-85.7, -80.8).all()
    drivers = ["pct_rural", "pct_bach", "pct_eld", "pct_fb", "pct_pov", "pct_black", "area_km2"]
    assert units[drivers].astype(float).ge(0).all().all()


def test_geojson_polygons_are_wgs84_hold_their_centroid_and_keep_contiguity(data, polygons):
    assert polygons.index.is_unique and set(polygons.index) == set(data["geo_units"]["unit_id"])
    units = data["geo_units"].set_index("unit_id")
    pts = shapely.points(units["lon"].astype(float), units["lat"].astype(float))
    assert shapely.contains(polygons.geometry.loc[units.index].to_numpy(), pts).all()
    # shared borders survive simplification: the same Queen neighbours as the source shapefile
    source = gpd.read_file(libpysal.examples.get_path("G_utm.shp"))
    ids = source["AreaKey"].astype(int).astype(str)
    queen = libpysal.weights.Queen.from_dataframe(source, use_index=False, silence_warnings=True)
    want = {ids[i]: {ids[j] for j in nb} for i, nb in queen.neighbors.items()}
    ours = polygons.loc[sorted(want)].reset_index()
    w = libpysal.weights.Queen.from_dataframe(ours, use_index=False, silence_warnings=True)
    got = {ours["unit_id"][i]: {ours["unit_id"][j] for j in nb} for i, nb in w.neighbors.items()}
    assert got == want


def test_geojson_coordinates_have_at_most_five_decimals(demo):
    text = (demo.out / "geo_units.geojson").read_text()
    coords = np.array(
        shapely.get_coordinates(
            [shapely.geometry.shape(f["geometry"]) for f in json.loads(text)["features"]]
        )
    )
    assert np.allclose(coords, coords.round(5), rtol=0, atol=1e-9)
    assert len(text) < 1_000_000


def test_every_account_lies_inside_its_own_county(data, polygons):
    acc = data["accounts"]
    pts = shapely.points(acc["lon"].astype(float), acc["lat"].astype(float))
    inside = shapely.contains(polygons.geometry.loc[acc["unit_id"]].to_numpy(), pts)
    assert inside.all(), acc.loc[~inside, ["account_id", "unit_id", "lat", "lon"]]


def test_postal_codes_are_real_georgia_zips_near_the_account(data):
    ga = {z["zip_code"]: z for z in zipcodes.list_all() if z["state"] == "GA"}
    acc = data["accounts"]
    assert acc["postal_code"].str.fullmatch(r"\d{5}").all()
    assert acc["postal_code"].isin(ga).all()
    zlat = acc["postal_code"].map(lambda z: float(ga[z]["lat"]))
    zlon = acc["postal_code"].map(lambda z: float(ga[z]["long"]))
    km = 111 * np.hypot(acc["lat"].astype(float) - zlat, acc["lon"].astype(float) - zlon)
    assert km.max() < 10  # the ZIP's point plus a small jitter


# ---------------------------------------------------------------------------------------------
# Accounts, reps, opportunities: contract rules


def test_accounts_follow_the_contract(data):
    acc, reps = data["accounts"], data["reps"]
    assert acc["account_id"].is_unique and acc["account_id"].str.fullmatch(r"A\d{6}").all()
    assert (acc["account_name"] != "").all()
    assert acc["industry"].nunique() >= 6
    emp = acc["employees"].astype(int)
    assert (emp >= 0).all()
    assert set(acc["status"]) == {"customer", "prospect"}
    band = np.select([emp < 50, emp < 250, emp < 1000], ["1-49", "50-249", "250-999"], "1000+")
    assert (acc["size_band"] == band).all()
    assert set(acc["unit_id"]) <= set(data["geo_units"]["unit_id"])
    owned = acc["owner_rep_id"]
    active = set(reps.loc[reps["active"] == "true", "rep_id"])
    assert set(owned[owned != ""]) == active  # every active rep owns accounts, nobody else
    unassigned = acc[owned == ""]
    assert 1 <= len(unassigned) <= 0.05 * len(acc)
    assert (unassigned["status"] == "prospect").all()


def test_reps_have_homes_in_georgia_and_two_left(data):
    reps = data["reps"]
    assert reps["rep_id"].is_unique and (reps["rep_name"] != "").all()
    assert reps["home_lat"].astype(float).between(30.3, 35.0).all()
    assert reps["home_lon"].astype(float).between(-85.7, -80.8).all()
    assert 10 <= (reps["active"] == "true").sum() <= 14
    gone = reps[reps["active"] == "false"]
    assert 1 <= len(gone) <= 2 and (gone["end_date"] != "").all()
    opp = data["opportunities"]
    for rep in gone.itertuples():  # departed reps appear in old deals only
        theirs = opp[opp["rep_id"] == rep.rep_id]
        assert len(theirs) > 0
        assert (theirs["created_date"] <= pd.Timestamp(rep.end_date)).all()


def test_opportunities_follow_the_contract(data):
    opp, acc = data["opportunities"], data["accounts"]
    assert opp["opportunity_id"].is_unique
    assert opp["account_id"].isin(acc["account_id"]).all()
    assert opp["rep_id"].isin(data["reps"]["rep_id"]).all()
    assert set(opp["stage"]) == {"won", "lost", "open"}
    assert (opp["amount_usd"] >= 0).all()
    assert np.allclose(opp["amount_usd"], opp["amount_usd"].round(2), rtol=0, atol=1e-9)
    is_open = opp["stage"] == "open"
    assert opp.loc[is_open, "close_date"].isna().all()
    assert opp.loc[~is_open, "close_date"].notna().all()
    closed = opp[~is_open]
    assert (closed["close_date"] >= closed["created_date"]).all()
    assert closed["close_date"].between(START, AS_OF).all()
    assert opp["created_date"].max() <= AS_OF
    # the open pipeline was created in the last two quarters
    assert is_open.sum() > 0
    assert (opp.loc[is_open, "created_date"] >= pd.Timestamp("2026-04-01")).all()


# ---------------------------------------------------------------------------------------------
# Realism


def test_volumes_and_customer_share(data):
    acc, opp = data["accounts"], data["opportunities"]
    assert 12 <= len(opp) / len(acc) <= 25
    assert 0.30 <= (acc["status"] == "customer").mean() <= 0.50


def test_top_fifth_of_customers_carry_most_revenue(data):
    rev = _trailing_revenue(data)[data["accounts"]["status"] == "customer"]
    ranked = np.sort(rev.to_numpy())[::-1]
    top = ranked[: int(np.ceil(0.2 * len(ranked)))].sum() / ranked.sum()
    assert 0.60 <= top <= 0.85


def test_current_alignment_is_visibly_unbalanced(data):
    acc = data["accounts"].assign(revenue=_trailing_revenue(data))
    books = acc[acc["owner_rep_id"] != ""].groupby("owner_rep_id")
    assert books["revenue"].sum().max() >= 2 * books["revenue"].sum().min()
    assert books.size().max() >= 2 * books.size().min()


def test_seasonality_and_growth(data):
    won = _won_by_quarter(data["opportunities"])
    assert len(won) == 12 and str(won.index[0]) == "2023Q4" and str(won.index[-1]) == "2026Q3"
    for year in (2024, 2025):
        assert won[pd.Period(f"{year}Q4")] > won[pd.Period(f"{year}Q1")]
    assert won.iloc[-4:].sum() > won.iloc[:4].sum()


def test_win_rates_differ_between_reps(data):
    opp = data["opportunities"]
    decided = opp[opp["stage"] != "open"]
    counts = decided.groupby("rep_id")["stage"].agg(["size", lambda s: (s == "won").mean()])
    rates = counts[counts["size"] >= 200].iloc[:, 1]
    assert len(rates) >= 5 and rates.max() - rates.min() >= 0.10


def test_customers_are_won_and_lost(data):
    opp, acc = data["opportunities"], data["accounts"]
    won = opp[opp["stage"] == "won"]
    recent = set(won.loc[won["close_date"] >= pd.Timestamp("2025-10-01"), "account_id"])
    churned = set(won["account_id"]) - recent  # won earlier, nothing in the last 4 quarters
    assert len(churned) >= 0.02 * len(acc)
    # new logos: accounts whose first won deal closed inside the history, after a lost one
    first_win = won.groupby("account_id")["close_date"].min()
    lost = opp[opp["stage"] == "lost"].groupby("account_id")["close_date"].min()
    late = first_win[first_win > pd.Timestamp("2024-06-30")]
    assert (lost.reindex(late.index) < late).sum() >= 1


def test_quotas_cover_every_active_rep_each_quarter(data):
    quotas, reps = data["quotas"], data["reps"]
    quarters = pd.period_range("2023Q4", "2026Q3", freq="Q")
    assert [str(q) for q in quarters] == sorted(set(quotas["quarter"]))
    for q in quarters:
        hired = pd.to_datetime(reps["start_date"]) <= q.end_time
        left = pd.to_datetime(reps["end_date"].where(reps["end_date"] != "")) < q.start_time
        want = set(reps.loc[hired & ~left, "rep_id"])
        assert set(quotas.loc[quotas["quarter"] == str(q), "rep_id"]) == want, str(q)
    assert (quotas["quota_usd"].astype(float) > 0).all()


def test_competitors_are_stronger_in_urban_counties(data):
    comp, units = data["competitors"], data["geo_units"]
    presence = comp["presence"].astype(float)
    assert presence.between(0, 1).all() and 3 <= comp["competitor"].nunique() <= 4
    assert set(comp["unit_id"]) <= set(units["unit_id"])
    big = set(units.assign(p=units["population"].astype(int)).nlargest(20, "p")["unit_id"])
    urban = comp["unit_id"].isin(big)
    assert presence[urban].mean() > presence[~urban].mean()


def test_economy_swot_and_provenance_are_labelled(demo, data):
    eco = data["economy"]
    assert list(eco["quarter"]) == [str(q) for q in pd.period_range("2023Q4", "2026Q3", freq="Q")]
    assert (eco["source"] == "synthetic").all()
    numeric = eco.drop(columns=["quarter", "source"]).astype(float)
    assert numeric.shape[1] >= 3 and numeric.notna().all().all()
    swot = data["swot"]
    assert set(swot["kind"]) == {"strength", "weakness", "opportunity", "threat"}
    assert set(swot["scope"]) <= {"company"} | set(data["reps"]["rep_id"])
    prov = json.loads((demo.out / "demo_provenance.json").read_text())
    assert prov["synthetic"] is True and prov["as_of"] == "2026-09-30"
    assert (prov["seed"], prov["region"], prov["n_accounts"]) == (7, "GA", N_ACCOUNTS)
    sources = json.dumps(prov["sources"])
    assert "libpysal" in sources and "zipcodes" in sources and "synthetic" in prov["note"]
