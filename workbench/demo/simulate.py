"""The demo's generative model (see :mod:`workbench.demo`): real Georgia geography, then the
market, the sales force, the accounts and the deal history drawn from one random generator."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from scipy.optimize import linear_sum_assignment

from .company import (
    _AS_OF,
    _COMPETITORS,
    _FIRST_NAMES,
    _GROWTH,
    _INDUSTRIES,
    _KINDS,
    _LAST_NAMES,
    _NQ,
    _PREFIXES,
    _PRODUCTS,
    _QS,
    _QUARTERS,
    _REPS,
    _SEASON,
    _SUFFIXES,
    N_QUARTERS,
)

# ---------------------------------------------------------------------------------------------
# Geography


def _load_georgia() -> NS:
    """Counties (units frame + WGS84 polygons) and the Georgia ZIPs inside them."""
    import geopandas as gpd
    import libpysal
    import zipcodes

    shp = gpd.read_file(libpysal.examples.get_path("G_utm.shp"))  # UTM 16N, CRS not in file
    shp = shp.set_crs(26916, allow_override=True).sort_values("AreaKey", ignore_index=True)
    simple = shapely.coverage_simplify(np.asarray(shp.geometry.values), 500.0)  # metres
    wgs = np.asarray(gpd.GeoSeries(simple, crs=26916).to_crs(4326).values)
    # round once here so the polygons we test points against are exactly the ones written
    polys = shapely.transform(shapely.set_precision(wgs, 1e-5), lambda c: np.round(c, 5))
    shapely.prepare(polys)

    zips = pd.DataFrame(
        [
            (
                z["zip_code"],
                z["city"],
                z["county"],
                z["zip_code_type"] == "STANDARD",
                float(z["lat"]),
                float(z["long"]),
            )
            for z in zipcodes.list_all()
            if z["state"] == "GA"
        ],
        columns=["postal_code", "city", "county", "standard", "lat", "lon"],
    )
    inside = shapely.contains_xy(polys[:, None], zips["lon"].to_numpy(), zips["lat"].to_numpy())
    found = inside.any(axis=0)  # drops the few ZIPs without coordinates (0, 0)
    zips = zips[found].assign(unit=inside.argmax(axis=0)[found])
    fips = shp["AreaKey"].astype(int).astype(str).to_numpy()
    # each ZIP county name goes to the polygon holding most ZIPs of that name, largest first
    counts = zips[zips["county"] != ""].groupby(["unit", "county"]).size().reset_index(name="n")
    counts = counts.sort_values(["n", "unit", "county"], ascending=[False, True, True])
    names: dict[int, str] = {}
    for unit, county, _ in counts.itertuples(index=False):
        if unit not in names and county not in names.values():
            names[unit] = county
    units = pd.DataFrame(
        {
            "unit_id": fips,
            "unit_name": [names.get(i, f"County {f}") for i, f in enumerate(fips)],
            "lat": shp["Latitude"].round(5),
            "lon": shp["Longitud"].round(5),
            "population": shp["TotPop90"].astype(np.int64),
            **{
                f"pct_{c[3:].lower()}": shp[c].astype(float)
                for c in ("PctRural", "PctBach", "PctEld", "PctFB", "PctPov", "PctBlack")
            },
            "area_km2": (shp.geometry.area / 1e6).round(1),
        }
    )
    # Sales regions: metro Atlanta (60 km around the most populous county), then latitude bands
    core = units["population"].idxmax()
    km = _km(
        units["lat"].to_numpy(),
        units["lon"].to_numpy(),
        units.at[core, "lat"],
        units.at[core, "lon"],
    )
    units["region"] = np.select(
        [km <= 60, units["lat"] >= 33.0, units["lat"] >= 32.0],
        ["Metro Atlanta", "North Georgia", "Central Georgia"],
        "South Georgia",
    )
    # accounts sit at street-delivery ZIPs; a county without one falls back to all its ZIPs
    has_std = zips.groupby("unit")["standard"].transform("any")
    pool = zips[zips["standard"] | ~has_std].sort_values(["unit", "postal_code"], ignore_index=True)
    return NS(units=units, polys=polys, zips=zips, pool=pool)


def _geojson(units: pd.DataFrame, polys: np.ndarray) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"unit_id": uid, "unit_name": name},
                "geometry": shapely.geometry.mapping(poly),
            }
            for uid, name, poly in zip(units["unit_id"], units["unit_name"], polys, strict=True)
        ],
    }


def _km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Equirectangular distance in km; plenty accurate within one state."""
    dx = (lon1 - lon2) * np.cos(np.radians((lat1 + lat2) / 2))
    return 111.2 * np.hypot(dx, lat1 - lat2)


# ---------------------------------------------------------------------------------------------
# The company


def _cat(codes: np.ndarray, labels: Sequence[str] | pa.Array) -> pa.DictionaryArray:
    """Text column from integer codes without materialising millions of strings."""
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(labels))


def _ids(prefix: str, n: int, width: int, start: int = 0) -> pa.Array:
    """``prefix`` + the numbers ``start + 1 .. start + n``, zero-padded to ``width``."""
    numbers = pa.array(np.arange(start + 1, start + n + 1)).cast(pa.string())
    digits = pc.utf8_lpad(numbers, width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype("datetime64[D]"), mask=mask, type=pa.date32())


def _quarter_of(days: np.ndarray) -> np.ndarray:
    return np.searchsorted(_QS, days, side="right") - 1


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column index of every event in a (rows x quarters) count matrix."""
    return np.divmod(np.repeat(np.arange(counts.size), counts.ravel()), counts.shape[1])


def _market(units: pd.DataFrame, rng: np.random.Generator) -> NS:
    """Synthetic economy, activity multiplier per quarter and competitor presence per county."""
    gdp = np.full(_NQ, 2.3)
    for k in range(1, _NQ):
        gdp[k] = 2.2 + 0.6 * (gdp[k - 1] - 2.2) + rng.normal(0, 0.5)
    unemployment = 3.8 + np.cumsum(rng.normal(0.02, 0.08, _NQ))
    confidence = 101 + 4 * (gdp - 2.2) + rng.normal(0, 2.5, _NQ)
    season = np.array([_SEASON[q.q] for q in _QUARTERS[:_NQ]])
    activity = season * (1 + _GROWTH) ** (np.arange(_NQ) / 4) * (1 + 0.03 * (gdp - 2.2))

    lat, lon, uid = units["lat"].to_numpy(), units["lon"].to_numpy(), units["unit_id"].to_numpy()
    density = np.log(units["population"].to_numpy() / units["area_km2"].to_numpy())
    urban = (density - density.min()) / (density.max() - density.min())
    presence = np.empty((len(_COMPETITORS), len(units)))
    for c, (_, base, w_urban, home, reach, scale) in enumerate(_COMPETITORS):
        h = np.flatnonzero(uid == home)[:1]  # empty for a competitor without a home city
        near = reach * np.exp(-_km(lat, lon, lat[h], lon[h]) / scale) if h.size else 0.0
        noise = rng.normal(0, 0.06, len(units))
        presence[c] = np.clip(base + w_urban * urban + near + noise, 0, 1).round(3)
    competitors = pa.table(
        {
            "unit_id": np.tile(uid, len(_COMPETITORS)),
            "competitor": np.repeat([c[0] for c in _COMPETITORS], len(uid)),
            "presence": presence.ravel(),
        }
    )
    economy = pa.table(
        {
            "quarter": [str(q) for q in _QUARTERS[:N_QUARTERS]],
            "gdp_growth_pct": gdp[:N_QUARTERS].round(2),
            "unemployment_pct": unemployment[:N_QUARTERS].round(2),
            "consumer_confidence": confidence[:N_QUARTERS].round(1),
            "source": ["synthetic"] * N_QUARTERS,
        }
    )
    return NS(activity=activity, presence=presence, competitors=competitors, economy=economy)


def _bisect(x: np.ndarray, y: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Recursive coordinate bisection into ``k`` parts of equal weight (part number per point):
    split along the longer side where the cumulative weight reaches the parts' share."""
    part = np.zeros(len(x), dtype=np.int64)
    if k == 1 or len(x) <= 1:
        return part
    k1 = k // 2
    axis = x if np.ptp(x) >= np.ptp(y) else y
    order = np.lexsort((y, x, axis))
    cum = np.cumsum(w[order])
    cut = int(np.searchsorted(cum, cum[-1] * k1 / k)) + 1
    lo, hi = order[:cut], order[cut:]
    part[lo] = _bisect(x[lo], y[lo], w[lo], k1)
    part[hi] = k1 + _bisect(x[hi], y[hi], w[hi], k - k1)
    return part


def _sales_force(geo: NS, value: np.ndarray, rng: np.random.Generator) -> NS:
    """Reps, their tenure and skill, and the owner rep of every ZIP in every quarter.

    Books drift as real ones do: a balanced alignment drawn some years ago (recursive
    bisection of the ZIPs on their accounts as they were then: today's account values with the
    growth since taken out), then growth where degrees are, a leaver's book split among the nearest
    remaining reps, and a new hire taking the ZIPs nearest home (80 % of an average book).
    """
    uid = geo.units["unit_id"].to_numpy()
    first = np.array([-1 if a is None else a for *_, a, _ in _REPS])
    last = np.array([_NQ if b is None else b for *_, b in _REPS])
    std = geo.zips[geo.zips["standard"]].sort_values("postal_code")
    home = pd.concat(
        [
            std[(std["unit"] == np.flatnonzero(uid == u)[0]) & (std["city"] == c)][:1]
            for u, c, *_ in _REPS
        ]
    )
    ks = np.arange(_NQ)[:, None]
    active = (first <= ks) & (ks <= last)  # quarters x reps
    pool = geo.pool
    zu = pool["unit"].to_numpy()
    plat, plon = pool["lat"].to_numpy(), pool["lon"].to_numpy()
    dist = _km(plat[:, None], plon[:, None], home["lat"].to_numpy(), home["lon"].to_numpy())
    # the legacy plan: balanced on the accounts as they were then (``value`` per ZIP, with
    # the growth since taken out), each part to the nearest rep home
    growth = np.sqrt(0.6 + geo.units["pct_bach"].to_numpy() / 25)[zu]  # more where degrees are
    w_old = value / growth + 1e-6  # ZIPs without accounts still count (and never divide by 0)
    start = np.flatnonzero(active[0])
    part = _bisect(plon * np.cos(np.radians(plat.mean())), plat, w_old, len(start))
    centre = np.array(
        [
            np.average(dist[part == p][:, start], axis=0, weights=w_old[part == p])
            if (part == p).any()
            else np.zeros(len(start))  # fewer ZIPs than reps
            for p in range(len(start))
        ]
    )
    rows, cols = linear_sum_assignment(centre)
    owner_now = start[cols[np.argsort(rows)]][part]
    owner = np.empty((_NQ, len(pool)), dtype=np.int64)
    xy = (plon * np.cos(np.radians(plat.mean())), plat)
    for q in range(_NQ):
        for r in np.unique(owner_now[~active[q, owner_now]]):
            # a leaver's book is split in four, each part to the nearest remaining rep
            mine = np.flatnonzero(owner_now == r)
            half = _bisect(xy[0][mine], xy[1][mine], w_old[mine], 4)
            free = np.flatnonzero(active[q])
            parts = np.unique(half)  # a small book may fill fewer than four parts
            cost = np.array(
                [
                    np.average(
                        dist[mine[half == h]][:, free], axis=0, weights=w_old[mine[half == h]]
                    )
                    for h in parts
                ]
            )
            hr, hc = linear_sum_assignment(cost)
            owner_now[mine] = free[hc[np.argsort(hr)]][np.searchsorted(parts, half)]
        hires = np.flatnonzero(active[q] & (first == q))
        for r in hires:
            # a hire takes the ZIPs nearest home until the book is 80 % of an average one
            order = np.argsort(dist[:, r], kind="stable")
            book = np.cumsum(value[order])
            n_take = int(np.searchsorted(book, 0.8 * value.sum() / active[q].sum())) + 1
            owner_now[order[:n_take]] = r
        owner[q] = owner_now
    n = len(_REPS)
    names = zip(
        rng.permutation(len(_FIRST_NAMES))[:n], rng.permutation(len(_LAST_NAMES))[:n], strict=True
    )
    hired = np.where(first < 0, _QS[0] - 4300 + rng.integers(0, 4200, n), _QS[first.clip(0)])
    gone = last < _NQ
    ids = np.array([f"R{i + 1:02d}" for i in range(n)])
    table = pa.table(
        {
            "rep_id": ids,
            "rep_name": [f"{_FIRST_NAMES[a]} {_LAST_NAMES[b]}" for a, b in names],
            "home_lat": home["lat"].to_numpy(),
            "home_lon": home["lon"].to_numpy(),
            "home_city": home["city"].to_numpy(),
            "home_unit_id": uid[home["unit"].to_numpy()],
            "start_date": _dates(hired),
            "end_date": _dates(_QS[np.minimum(last + 1, _NQ)] - 1, mask=~gone),
            "active": ~gone,
        }
    )
    skill = rng.permutation(np.linspace(-0.6, 0.6, n))
    return NS(ids=ids, skill=skill, active=active, owner=owner, gone=gone, table=table)


def _accounts(geo: NS, mkt: NS, n: int, rng: np.random.Generator) -> NS:
    """Where accounts are, what they do and how big they are."""
    units, pool = geo.units, geo.pool
    w_unit = units["population"].to_numpy() * (0.6 + units["pct_bach"].to_numpy() / 25)
    unit = rng.choice(len(units), size=n, p=w_unit / w_unit.sum())
    starts = np.searchsorted(pool["unit"].to_numpy(), np.arange(len(units)))
    counts = np.bincount(pool["unit"], minlength=len(units))
    z = starts[unit] + (rng.random(n) * counts[unit]).astype(np.int64)
    zlat, zlon = pool["lat"].to_numpy()[z], pool["lon"].to_numpy()[z]
    lat = np.round(zlat + rng.normal(0, 0.008, n), 5)
    lon = np.round(zlon + rng.normal(0, 0.010, n), 5)
    inside = shapely.contains_xy(geo.polys[unit], lon, lat)
    lat, lon = np.where(inside, lat, zlat), np.where(inside, lon, zlon)

    col = list(zip(*_INDUSTRIES, strict=True))
    share, med_emp, spend, ind_win, tilt = (np.array(col[i], dtype=float) for i in range(1, 6))
    w_ind = share * np.exp(2 * tilt * (units["pct_rural"].to_numpy()[:, None] / 100 - 0.5))
    cum = np.cumsum(w_ind / w_ind.sum(axis=1, keepdims=True), axis=1)
    ind = np.minimum((rng.random(n)[:, None] > cum[unit]).sum(axis=1), len(share) - 1)
    emp = np.clip(np.round(med_emp[ind] * np.exp(1.3 * rng.standard_normal(n))), 1, 50_000)
    v = 2500 * emp**0.8 * spend[ind] * np.exp(0.55 * rng.standard_normal(n))

    nouns = np.array([t[6] for t in _INDUSTRIES])[ind, rng.integers(0, 5, n)]
    city = pool["city"].to_numpy()[z]
    prefix = np.array(_PREFIXES)[rng.integers(0, len(_PREFIXES), n)]
    lead = np.where(rng.random(n) < 0.35, city, prefix)
    suffix = np.array(_SUFFIXES)[rng.integers(0, len(_SUFFIXES), n)]
    return NS(
        n=n,
        unit=unit,
        z=z,
        lat=lat,
        lon=lon,
        city=city,
        ind=ind,
        emp=emp.astype(np.int64),
        v=v,
        size=np.log10(emp / 30),
        win=ind_win[ind],
        press=mkt.presence.mean(axis=0)[unit],
        rate=np.clip(2.4 * (v / np.median(v)) ** 0.45, 0.4, 40.0),  # expansions per quarter
        name=np.char.add(np.char.add(np.char.add(lead, " "), nouns), suffix),
    )


def _named_accounts(a: NS, reps: NS, rng: np.random.Generator) -> np.ndarray:
    """A few large accounts held by a long-serving rep other than the ZIP's (rep per account,
    -1 for the rest)."""
    n, v, z = a.n, a.v, a.z
    steady = np.flatnonzero(reps.active.all(axis=0))
    big = np.flatnonzero(v >= np.quantile(v, 0.95))
    named = rng.choice(big, size=min(len(big), max(3, round(0.005 * n))), replace=False)
    pick = rng.choice(steady, size=len(named))
    clash = pick == reps.owner[-1, z[named]]
    pick[clash] = steady[(np.searchsorted(steady, pick[clash]) + 1) % len(steady)]
    named_rep = np.full(n, -1)
    named_rep[named] = pick
    return named_rep


def _deals(a: NS, reps: NS, acc: np.ndarray, k: np.ndarray, kind: int, rng) -> dict:
    """Dates, rep, outcome, amount and product of opportunities (account, decision quarter)."""
    m = acc.size
    decision = _QS[k] + ((_QS[k + 1] - _QS[k]) * rng.random(m) ** 0.6).astype(np.int64)
    median = (60.0, 75.0, 30.0)[kind] * (1 + 0.15 * np.log10(a.emp[acc]))
    cycle = np.clip(median * np.exp(0.5 * rng.standard_normal(m)), 1, 170).astype(np.int64)
    created = decision - cycle  # may precede the window: the export holds every deal closed in it
    county_rep = reps.owner[np.clip(_quarter_of(created), 0, _NQ - 1), a.z[acc]]
    rep = np.where(a.named_rep[acc] >= 0, a.named_rep[acc], county_rep)
    s, p, w, size = reps.skill[rep], a.press[acc], a.win[acc], a.size[acc]
    logit = (
        -1.0 + w + s - 0.3 * size - 1.2 * p,
        2.6 + 0.5 * s + 0.4 * size + 0.5 * w - 1.5 * p,
        0.4 + s + 0.5 * w - 0.8 * p,
    )[kind]
    won = rng.random(m) < 1 / (1 + np.exp(-logit))
    if kind == 2:
        product = rng.choice([2, 3, 4, 0], size=m, p=[0.4, 0.3, 0.15, 0.15])
        scale = np.array([0.8, 1.0, 1.0, 1.5, 0.3])[product] / (4 * a.rate[acc])
    else:
        product, scale = np.full(m, kind), (0.5, 0.35)[kind]
    noise = np.exp(rng.normal(0, (0.35, 0.15, 0.6)[kind], m))
    amount = np.maximum(np.round(a.v[acc] * scale * noise, 2), 50.0)
    return dict(
        acc=acc,
        kind=np.full(m, kind, dtype=np.int8),
        decision=decision,
        created=created,
        rep=rep,
        won=won,
        amount=amount,
        product=product,
    )


def _first_day(n: int, deals: dict, mask: np.ndarray) -> np.ndarray:
    """Per account, the earliest decision day among ``deals[mask]`` (int64 max if none)."""
    day = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(day, deals["acc"][mask], deals["decision"][mask])
    return day


def _history(a: NS, mkt: NS, reps: NS, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """All opportunities, sorted by created date, and the current customer flag."""
    n, kk, act = a.n, np.arange(_NQ), mkt.activity
    # customers before the history starts; everybody else may be won by new-business deals
    logit = -0.35 + 0.35 * a.size + a.win + 0.5 * reps.skill[reps.owner[0, a.z]] - a.press
    start = rng.random(n) < 1 / (1 + np.exp(-logit))
    rho = np.where(start, 0.0, 0.13 * (a.emp / 30) ** 0.15)
    nb = _deals(a, reps, *_expand(rng.poisson(rho[:, None] * act)), 0, rng)
    won_day = _first_day(n, nb, nb["won"] & (nb["decision"] <= _AS_OF))
    since = np.where(start, -1, np.where(won_day <= _AS_OF, _quarter_of(won_day), 10**6))
    # yearly renewals in the anniversary quarter; the first lost one is churn
    anniv = np.where(start, rng.choice(4, n, p=[0.4, 0.15, 0.22, 0.23]), since % 4)  # Q4 first
    due = (kk > since[:, None]) & ((kk - anniv[:, None]) % 4 == 0)
    rn = _deals(a, reps, *_expand(due.astype(np.int64)), 1, rng)
    churn_day = _first_day(n, rn, ~rn["won"] & (rn["decision"] <= _AS_OF))
    # expansions in every quarter strictly between winning and churning
    live = (kk > since[:, None]) & (kk < _quarter_of(churn_day)[:, None])
    ex = _deals(a, reps, *_expand(rng.poisson(a.rate[:, None] * act * live)), 2, rng)

    keep_nb, keep_rn = nb["decision"] <= won_day[nb["acc"]], rn["decision"] <= churn_day[rn["acc"]]
    opp = {c: np.concatenate([nb[c][keep_nb], rn[c][keep_rn], ex[c]]) for c in nb}
    del nb, rn, ex
    rows = np.flatnonzero(opp["created"] <= _AS_OF)
    lo = _QS[0] - 200  # one int64 sort key: created date, account, decision date
    key = ((opp["created"][rows] - lo) * n + opp["acc"][rows]) * int(_QS[-1] - lo)
    rows = rows[np.argsort(key + opp["decision"][rows] - lo, kind="stable")]
    del key
    customer = (since < N_QUARTERS) & (churn_day > _AS_OF)
    return {c: v[rows] for c, v in opp.items()}, customer


def _simulate(geo: NS, rng: np.random.Generator, n: int) -> tuple[dict[str, pa.Table], dict]:
    """The whole company from one random stream (the CSV demo)."""
    mkt = _market(geo.units, rng)
    a = _accounts(geo, mkt, n, rng)
    reps = _sales_force(geo, _zip_weight(geo, a), rng)
    acc_width, opp_width = max(6, len(str(n))), None
    shard = _shard(geo, mkt, reps, a, rng, 0, 0, acc_width, opp_width)
    stats = _Stats(reps)
    stats.add(shard)
    tables = {
        "geo_units.csv": pa.Table.from_pandas(geo.units, preserve_index=False),
        "accounts.csv": shard.accounts,
        "opportunities.csv": shard.opportunities,
        "reps.csv": reps.table,
        "quotas.csv": _quotas(stats, mkt, reps, rng),
        "competitors.csv": mkt.competitors,
        "economy.csv": mkt.economy,
        "swot.csv": _swot(stats, geo, mkt, reps),
    }
    return tables, stats.facts()


def _zip_weight(geo: NS, a: NS) -> np.ndarray:
    """A ZIP's weight in the legacy plan: half its share of accounts, half its share of value
    (the two things books are balanced on: workload and potential)."""
    count = np.bincount(a.z, minlength=len(geo.pool))
    value = np.bincount(a.z, weights=a.v, minlength=len(geo.pool))
    return count / count.sum() + value / value.sum()


def _shard(
    geo: NS,
    mkt: NS,
    reps: NS,
    a: NS,
    rng: np.random.Generator,
    acc_start: int,
    opp_start: int,
    acc_width: int,
    opp_width: int | None,
) -> NS:
    """Accounts ``a`` (ids from ``acc_start + 1``) with their named reps, deal history and
    owners as tables, and the sums the company's quotas and notes are made of."""
    n = a.n
    a.named_rep = _named_accounts(a, reps, rng)
    opp, customer = _history(a, mkt, reps, rng)
    is_open = opp["decision"] > _AS_OF
    stage = np.where(is_open, 2, np.where(opp["won"], 0, 1))

    owner = np.where(a.named_rep >= 0, a.named_rep, reps.owner[N_QUARTERS - 1, a.z])
    prospects = np.flatnonzero(~customer & (a.named_rep < 0))
    unassigned = np.zeros(n, dtype=bool)
    unassigned[rng.choice(prospects, size=round(0.02 * len(prospects)), replace=False)] = True
    acc_ids = _ids("A", n, acc_width, acc_start)
    uid = geo.units["unit_id"].to_numpy()
    accounts = pa.table(
        {
            "account_id": acc_ids,
            "account_name": a.name,
            "industry": _cat(a.ind, [t[0] for t in _INDUSTRIES]),
            "employees": a.emp,
            "size_band": _cat(
                np.searchsorted([50, 250, 1000], a.emp, side="right"),
                ["1-49", "50-249", "250-999", "1000+"],
            ),
            "postal_code": geo.pool["postal_code"].to_numpy()[a.z],
            "city": a.city,
            "unit_id": uid[a.unit],
            "lat": a.lat,
            "lon": a.lon,
            "status": _cat(np.where(customer, 0, 1), ["customer", "prospect"]),
            "owner_rep_id": pa.array(reps.ids[owner], mask=unassigned),
        }
    )
    n_opp = len(stage)
    opportunities = pa.table(
        {
            "opportunity_id": _ids("O", n_opp, opp_width or max(7, len(str(n_opp))), opp_start),
            "account_id": _cat(opp["acc"], acc_ids),
            "rep_id": _cat(opp["rep"], reps.ids),
            "created_date": _dates(opp["created"]),
            "close_date": _dates(opp["decision"], mask=is_open),
            "stage": _cat(stage, ("won", "lost", "open")),
            "amount_usd": pa.array(opp["amount"]).cast(pa.decimal128(14, 2)),
            "product": _cat(opp["product"], _PRODUCTS),
            "deal_type": _cat(opp["kind"], _KINDS),
        }
    )
    won = stage == 0
    kq = _quarter_of(opp["decision"][won])
    n_reps = len(_REPS)
    booked = np.bincount(
        opp["rep"][won] * _NQ + kq, weights=opp["amount"][won], minlength=n_reps * _NQ
    ).reshape(-1, _NQ)[:, :N_QUARTERS]
    recent = won & (opp["decision"] >= _QS[N_QUARTERS - 4])
    rev = np.bincount(opp["acc"][recent], weights=opp["amount"][recent], minlength=n)
    decided = ~is_open
    renewals = decided & (opp["kind"] == 1)
    return NS(
        accounts=accounts,
        opportunities=opportunities,
        n=n,
        n_opp=n_opp,
        booked=booked,
        customers=int(customer.sum()),
        customer_rev=rev[customer],
        book=np.bincount(owner, weights=rev, minlength=n_reps),
        tries=np.bincount(opp["rep"][decided], minlength=n_reps),
        wins=np.bincount(opp["rep"][decided], weights=won[decided], minlength=n_reps),
        renewals=int(renewals.sum()),
        renewals_won=int((won & renewals).sum()),
        big_prospects=int(((a.emp >= 250) & ~customer).sum()),
    )


class _Stats:
    """Company-wide sums over shards of accounts (one shard for the CSV demo)."""

    def __init__(self, reps: NS):
        n_reps = len(reps.ids)
        self.now = np.flatnonzero(~reps.gone)  # the active reps
        self.n = self.n_opp = self.customers = 0
        self.renewals = self.renewals_won = self.big_prospects = 0
        self.booked = np.zeros((n_reps, N_QUARTERS))
        self.book = np.zeros(n_reps)
        self.tries = np.zeros(n_reps)
        self.wins = np.zeros(n_reps)
        self.customer_rev: list[np.ndarray] = []

    def add(self, shard: NS) -> None:
        for name in ("n", "n_opp", "customers", "renewals", "renewals_won", "big_prospects"):
            setattr(self, name, getattr(self, name) + getattr(shard, name))
        for name in ("booked", "book", "tries", "wins"):
            setattr(self, name, getattr(self, name) + getattr(shard, name))
        self.customer_rev.append(shard.customer_rev)

    def facts(self) -> dict:
        """Headline facts, which also feed the data-driven SWOT entries."""
        cust_rev = np.sort(np.concatenate(self.customer_rev))[::-1]
        return {
            "customer_share": self.customers / self.n,
            "top20_share": float(cust_rev[: -(-len(cust_rev) // 5)].sum() / max(cust_rev.sum(), 1)),
            "book_ratio": float(self.book_now.max() / max(self.book_now.min(), 1.0)),
            "opportunities_per_account": self.n_opp / self.n,
        }

    @property
    def book_now(self) -> np.ndarray:
        return self.book[self.now]


def _quotas(stats: _Stats, mkt: NS, reps: NS, rng: np.random.Generator) -> pa.Table:
    """Quotas from each rep's seasonally adjusted bookings in the quarters they were active."""
    act, activity = reps.active[:N_QUARTERS].T, mkt.activity[:N_QUARTERS]
    base = (stats.booked / activity).sum(axis=1) / act.sum(axis=1)
    quota = np.round(base[:, None] * activity * 1.06 * np.exp(rng.normal(0, 0.08, act.shape)), -3)
    k, r = np.nonzero(act.T)  # quarter-major (quarter, rep) pairs of active reps
    return pa.table(
        {
            "quarter": [str(_QUARTERS[i]) for i in k],
            "rep_id": reps.ids[r],
            "quota_usd": np.maximum(quota[r, k], 10_000.0),
        }
    )


def _swot(stats: _Stats, geo: NS, mkt: NS, reps: NS) -> pa.Table:
    """The demo's SWOT entries, some from the data."""
    now = stats.now
    facts = stats.facts()
    rate = stats.wins / np.maximum(stats.tries, 1)
    best, worst = now[np.argmax(rate[now])], now[np.argmin(rate[now])]
    metro = np.argsort(geo.units["population"].to_numpy())[-10:]
    strong = _COMPETITORS[int(np.argmax(mkt.presence[:, metro].mean(axis=1)))][0]
    book = stats.book_now
    big, small = reps.ids[now[np.argmax(book)]], reps.ids[now[np.argmin(book)]]
    renewal_rate = stats.renewals_won / max(stats.renewals, 1)
    swot = [
        (
            "company",
            "strength",
            f"Renewal rate {renewal_rate:.0%} across an installed "
            f"base of {stats.customers} customers",
        ),
        ("company", "strength", "Broad industry mix anchored in Manufacturing and Logistics"),
        (
            "company",
            "weakness",
            f"Unbalanced books: {big} carries {facts['book_ratio']:.1f}x the revenue of {small}",
        ),
        ("company", "weakness", "Thin coverage of rural south Georgia counties"),
        (
            "company",
            "opportunity",
            f"{stats.big_prospects} prospects with 250+ employees are not yet customers",
        ),
        ("company", "opportunity", "Healthcare demand growing in metro Atlanta and on the coast"),
        ("company", "threat", f"{strong} is the strongest competitor in metro Atlanta"),
        ("company", "threat", "An economic downturn would hit small-business purchases first"),
        (reps.ids[best], "strength", f"Highest win rate of the active reps ({rate[best]:.0%})"),
        (reps.ids[worst], "weakness", f"Lowest win rate of the active reps ({rate[worst]:.0%})"),
    ]
    return pa.table(dict(zip(("scope", "kind", "item"), zip(*swot, strict=True), strict=True)))
