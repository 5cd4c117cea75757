"""A second synthetic company, deliberately unlike the demo, for "never tune to the demo" tests.

:func:`write_second_company` writes only the data contract's *required* files (``reps.csv``,
``geo_units.csv``, ``accounts.csv``, ``opportunities.csv``) plus a ``README.txt`` saying what is
synthetic. It differs from :mod:`workbench.demo` wherever a workbench default could have been
tuned to the demo:

* **Geography**: North Carolina, not Georgia -- the 100 counties of libpysal's bundled ``sids2``
  example (polygons in NAD27 lon/lat; the NAD27-WGS84 shift in NC is tens of metres, below the
  precision kept here), centroids computed in an equal-area projection and returned to degrees.
  ``population`` is the county's live births 1979-84 (``BIR79``), a real count: the data set has
  no population column. Two extra drivers, ``median_income_k`` and ``broadband_share``, are
  **synthetic** (derived from birth density plus fixed noise). No ``region`` column, no
  ``geo_units.geojson``.
* **Addresses**: real NC street-delivery ZIP points from the ``zipcodes`` package; account points
  are jittered at most ~2 km. No ``accounts.unit_id``.
* **Company**: 9 reps with ids like ``NC-REP-07`` (gaps in the numbering) and only the contract
  columns; accounts ``ACC-004711`` in unsorted order; industries Agriculture, Furniture,
  Biotech, Textiles, Banking, Logistics, Hospitality; Pareto (not lognormal) sizes with a few
  zero-employee accounts; a ``deal_type`` column with CRM labels ``New Logo``/``Upsell``/
  ``Renewal`` and no ``product``; 10 quarters of history 2023Q1..2025Q2 with a **Q2 peak**
  (fiscal years ending in June); open deals created in 2025Q2 (and a few stale ones from
  2025Q1); a few zero-amount lost deals; a reorganisation after 2024Q2 (older deals carry the
  old owner).
* **Current books** are unbalanced on purpose: a weighted Voronoi split of half potential, half
  account count aimed at books 30 % above to 30 % below the mean (the worst rep ends up 20-45 %
  off in potential and in accounts). No single account holds over 2 % of the market, so a
  balanced county-level plan exists; the generator checks it with a quick heuristic.
* **Format**: every field quoted (``csv.QUOTE_ALL``), CRLF line ends as the ``csv`` module
  writes them, UTF-8; names with commas, quotes and non-ASCII letters.

Same seed, same bytes. Everything about the company is invented.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from pathlib import Path

import numpy as np

FIRST_QUARTER = (2023, 1)
N_QUARTERS = 10  # 2023Q1 .. 2025Q2
LAST_QUARTER = "2025Q2"
REORG_INDEX = 6  # owners changed at the start of 2024Q3
SEASON = {1: 0.85, 2: 1.45, 3: 0.70, 4: 1.00}  # Q2 peak: customers' fiscal years end in June
GROWTH = 0.04  # per year
DEAL_TYPES = ("New Logo", "Upsell", "Renewal")
GEO_SEED = 20250630  # the synthetic market drivers do not change with the company seed
REQUIRED_FILES = ("reps.csv", "geo_units.csv", "accounts.csv", "opportunities.csv")

# name, base share, size scale, spend rate, win shift
INDUSTRIES = (
    ("Agriculture", 0.16, 0.5, 0.7, 0.15),
    ("Furniture", 0.13, 1.2, 1.0, 0.00),
    ("Biotech", 0.10, 1.1, 2.2, -0.30),
    ("Textiles", 0.12, 1.3, 0.9, 0.10),
    ("Banking", 0.12, 1.6, 1.6, -0.20),
    ("Logistics", 0.19, 1.0, 1.1, 0.20),
    ("Hospitality", 0.18, 0.7, 0.6, 0.00),
)
# industry clusters by county FIPS (multipliers on the base share)
CLUSTERS = {
    "Biotech": ({"37183", "37063", "37135"}, 5.0),  # Research Triangle
    "Furniture": ({"37035", "37081", "37057", "37151", "37027", "37023"}, 4.0),
    "Textiles": ({"37071", "37001", "37025", "37159", "37045"}, 3.5),
    "Banking": ({"37119", "37067"}, 2.0),
    "Hospitality": ({"37055", "37021", "37129", "37189", "37019", "37031"}, 2.5),
}
NOUNS = {
    "Agriculture": ("Farms", "Tobacco Growers", "Sweet Potato Co-op", "Nursery", "Grain & Feed"),
    "Furniture": ("Furniture", "Upholstery", "Casegoods", "Woodworks", "Chair Company"),
    "Biotech": ("Biosciences", "Therapeutics", "Diagnostics", "Genomics", "Clinical Research"),
    "Textiles": ("Mills", "Hosiery", "Yarns", "Knitting", "Dye & Finishing"),
    "Banking": ("Bank", "Savings & Loan", "Credit Union", "Trust", "Capital"),
    "Logistics": ("Freight Lines", "Distribution", "Cold Storage", "Port Services", "Couriers"),
    "Hospitality": ("Inn", "Café", "BBQ", "Resort", "Brewing"),
}
PREFIXES = (
    "Tar Heel",
    "Cape Fear",
    "Yadkin Valley",
    "Neuse River",
    "Pamlico",
    "Catawba",
    "Uwharrie",
    "Haw River",
    "Crabtree",
    "Outer Banks",
    "Tidewater",
    "Mountain Laurel",
    "Eno",
    "Roanoke",
    "Old Salem",
    "Triad",
    "Queen City",
    "Lumber River",
    "Pisgah",
    "Hatteras",
    "Albemarle",
    "Brushy Mountain",
    "Currituck",
    "Occoneechee",
)
FAMILIES = ("Hargrove", "Nguyễn", "Müller", "Peña", "Whitfield", "Lefèvre", "Batts", "Sauls")
SUFFIXES = ("", ", LLC", ", Inc.", " Co.", " Holdings", " PLLC")
# rep id number, name, home ZIP (a real street-delivery ZIP in the home city)
REPS = (
    (2, "Renée Castillo", "28202"),  # Charlotte
    (3, "Darnell Whitaker", "27601"),  # Raleigh
    (5, "Priya Raman", "27401"),  # Greensboro
    (7, "Tomás Ortega", "28401"),  # Wilmington
    (8, "Hannah Byrd", "28801"),  # Asheville
    (11, "Marcus Lowery", "28301"),  # Fayetteville
    (12, "Grace Oxendine", "27834"),  # Greenville
    (14, "Wei Chen", "28601"),  # Hickory
    (15, "Lucy McAllister", "27101"),  # Winston-Salem
)
# current book size relative to the mean (in potential); the balanced plan is 1.0 for everyone
BOOK_FACTORS = (1.30, 1.22, 1.12, 1.04, 0.98, 0.92, 0.84, 0.78, 0.70)


@functools.lru_cache(maxsize=1)
def _load_nc() -> dict:
    """NC counties (real): FIPS, name, centroid (WGS84), births 1979-84."""
    import geopandas as gpd
    import libpysal

    gdf = gpd.read_file(libpysal.examples.get_path("sids2.shp"))
    gdf = gdf.set_crs(4326, allow_override=True)  # NAD27 lon/lat; shift < 0.001 degree here
    cent = gdf.to_crs(5070).geometry.centroid.to_crs(4326)
    order = np.argsort(gdf["FIPS"].to_numpy())
    return {
        "fips": gdf["FIPS"].astype(str).to_numpy()[order],
        "name": gdf["NAME"].astype(str).to_numpy()[order],
        "lat": np.round(cent.y.to_numpy()[order], 5),
        "lon": np.round(cent.x.to_numpy()[order], 5),
        "births": gdf["BIR79"].to_numpy(dtype=float)[order],
        "area": gdf["AREA"].to_numpy(dtype=float)[order],
    }


@functools.lru_cache(maxsize=1)
def _load_zips(names: tuple[str, ...]) -> dict:
    """Active street-delivery NC ZIPs (real points), with the county index they name."""
    import zipcodes

    index = {n: i for i, n in enumerate(names)}
    rows = sorted(
        (
            r
            for r in zipcodes.filter_by(state="NC")
            if r["zip_code_type"] == "STANDARD" and r["active"]
        ),
        key=lambda r: r["zip_code"],
    )
    return {
        "zip": np.array([r["zip_code"] for r in rows]),
        "city": np.array([r["city"] for r in rows]),
        "county": np.array([index[r["county"].removesuffix(" County")] for r in rows]),
        "lat": np.array([float(r["lat"]) for r in rows]),
        "lon": np.array([float(r["long"]) for r in rows]),
    }


def _km(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 12742.0 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def _weighted_voronoi(
    dist: np.ndarray, load: np.ndarray, target: np.ndarray, iterations: int = 300
) -> tuple[np.ndarray, float]:
    """Assign rows to columns by ``argmin dist / w``; tune ``w`` so column loads meet
    ``target``. Returns the best assignment and its largest relative miss."""
    w = np.ones(dist.shape[1])
    best, best_err = np.argmin(dist, axis=1), np.inf
    for _ in range(iterations):
        assign = np.argmin(dist / w, axis=1)
        got = np.bincount(assign, weights=load, minlength=dist.shape[1])
        err = float(np.max(np.abs(got - target) / target))
        if err < best_err:
            best, best_err = assign, err
        w *= np.clip((target / np.maximum(got, 1e-9)) ** 0.15, 0.8, 1.25)
    return best, best_err


def _balance(dist: np.ndarray, load: np.ndarray, near: int = 3) -> float:
    """Largest relative miss of an even split: weighted Voronoi, then greedy moves of a unit
    to one of its ``near`` nearest columns while the worst miss shrinks."""
    k = dist.shape[1]
    mean = load.sum() / k
    assign, _ = _weighted_voronoi(dist, load, np.full(k, mean))
    allowed = np.argsort(dist, axis=1)[:, :near]
    got = np.bincount(assign, weights=load, minlength=k)
    for _ in range(10 * len(load)):
        worst = float(np.max(np.abs(got - mean)))
        best = None
        for i in range(len(load)):
            for c in allowed[i]:
                if c == assign[i]:
                    continue
                trial = got.copy()
                trial[assign[i]] -= load[i]
                trial[c] += load[i]
                w = float(np.max(np.abs(trial - mean)))
                if w < worst - 1e-9 and (best is None or w < best[0]):
                    best = (w, i, c)
        if best is None:
            break
        _, i, c = best
        got[assign[i]] -= load[i]
        got[c] += load[i]
        assign[i] = c
    return float(np.max(np.abs(got - mean)) / mean)


def _spread(values: np.ndarray) -> float:
    return float(np.max(np.abs(values - values.mean())) / values.mean())


def _quarter_start(k: int) -> dt.date:
    y, q = FIRST_QUARTER
    m = (q - 1) + 3 * k
    return dt.date(y + m // 12, m % 12 + 1, 1)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)  # CRLF line ends, every field quoted
        w.writerow(header)
        w.writerows(rows)


def write_second_company(folder: Path, *, seed: int = 11, n_accounts: int = 600) -> dict:
    """Write the second company's required CSV files into ``folder``; return facts about them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    nc = _load_nc()
    zips = _load_zips(tuple(nc["name"]))
    n_units = len(nc["fips"])

    # --- market drivers (synthetic, fixed): richer, better connected where births are dense
    grng = np.random.default_rng(GEO_SEED)
    dens = np.log(nc["births"] / nc["area"])
    dens_z = (dens - dens.mean()) / dens.std()
    income = np.clip(36 + 7.5 * dens_z + grng.normal(0, 3.5, n_units), 22, 90)
    broadband = np.clip(
        1 / (1 + np.exp(-(0.9 + 0.8 * dens_z + grng.normal(0, 0.3, n_units)))), 0.35, 0.97
    )

    # --- reps at real city ZIP points
    zip_at = {z: i for i, z in enumerate(zips["zip"])}
    home = np.array([zip_at[z] for _, _, z in REPS])
    rep_ids = np.array([f"NC-REP-{num:02d}" for num, _, _ in REPS])
    n_reps = len(REPS)
    rep_lat, rep_lon = zips["lat"][home], zips["lon"][home]
    skill = rng.permutation(np.linspace(-0.5, 0.5, n_reps))

    # --- accounts: county ~ births^0.8 x (income x broadband)^0.3, ZIP uniform within the county
    weight = nc["births"] ** 0.8 * (income / income.mean()) ** 0.3 * broadband**0.3
    county = rng.choice(n_units, size=n_accounts, p=weight / weight.sum())
    zip_idx = np.empty(n_accounts, dtype=int)
    for u in np.unique(county):
        pool = np.flatnonzero(zips["county"] == u)
        hit = county == u
        zip_idx[hit] = rng.choice(pool, size=hit.sum())
    r_km = 2.0 * np.sqrt(rng.uniform(0, 1, n_accounts))
    theta = rng.uniform(0, 2 * np.pi, n_accounts)
    zlat = zips["lat"][zip_idx]
    lat = zlat + r_km * np.cos(theta) / 111.2
    lon = zips["lon"][zip_idx] + r_km * np.sin(theta) / (111.2 * np.cos(np.radians(zlat)))

    fips = nc["fips"]
    share = np.array([[s for _, s, *_ in INDUSTRIES]] * n_units)
    for j, (name, *_rest) in enumerate(INDUSTRIES):
        if name == "Agriculture":
            share[:, j] *= np.exp(-0.8 * dens_z)
        if name == "Biotech":
            share[:, j] *= np.exp(0.5 * dens_z)
        if name in CLUSTERS:
            members, mult = CLUSTERS[name]
            share[np.isin(fips, list(members)), j] *= mult
    share /= share.sum(axis=1, keepdims=True)
    ind = (rng.uniform(0, 1, n_accounts)[:, None] > np.cumsum(share[county], axis=1)).sum(axis=1)
    ind = np.minimum(ind, len(INDUSTRIES) - 1)
    size_scale = np.array([x[2] for x in INDUSTRIES])[ind]
    rate = np.array([x[3] for x in INDUSTRIES])[ind]
    win_shift = np.array([x[4] for x in INDUSTRIES])[ind]

    employees = np.minimum(np.round(5 * size_scale * (1 + rng.pareto(1.3, n_accounts))), 1_200)
    employees[rng.uniform(0, 1, n_accounts) < 0.015] = 0  # sole proprietors / unknown
    employees = employees.astype(int)
    noise = np.exp(np.clip(rng.normal(0, 0.35, n_accounts), -0.7, 0.7))
    value = 1500 * (employees + 2) ** 0.72 * rate * noise  # annual spend potential, USD
    for _ in range(3):  # no single account holds over 2 % of the market
        value = np.minimum(value, 0.02 * value.sum())

    # --- owners: nearest rep before the reorganisation; now books tuned to be unbalanced
    dist = _km(lat[:, None], lon[:, None], rep_lat[None, :], rep_lon[None, :])
    old_owner = np.argmin(dist, axis=1)
    factors = np.array(BOOK_FACTORS) / np.mean(BOOK_FACTORS)
    book = value / value.sum() + 1 / n_accounts  # half potential, half account count (workload)
    owner, _ = _weighted_voronoi(dist, book, book.sum() / n_reps * rng.permutation(factors))

    # a balanced plan exists: counties (the workbench's building blocks) split evenly
    unit_value = np.bincount(county, weights=value, minlength=n_units)
    occupied = unit_value > 0
    udist = _km(nc["lat"][occupied, None], nc["lon"][occupied, None], rep_lat[None], rep_lon[None])
    balanced_err = _balance(udist, unit_value[occupied])

    # --- history, quarter by quarter
    cust = rng.uniform(0, 1, n_accounts) < 1 / (
        1 + np.exp(-(-1.3 + 0.5 * np.log10(employees + 1) + win_shift))
    )
    renew_q = np.where(rng.uniform(0, 1, n_accounts) < 0.55, 2, rng.integers(1, 5, n_accounts))
    v_med = np.median(value)
    cycle_median = {0: 70.0, 1: 35.0, 2: 25.0}
    deals: list[tuple] = []  # account, rep, created, closed (-1 open), stage, amount, kind
    epoch = dt.date(1970, 1, 1)

    def add(acc: np.ndarray, kind: int, k: int, won: np.ndarray, amount: np.ndarray) -> None:
        start = (_quarter_start(k) - epoch).days
        length = (_quarter_start(k + 1) - _quarter_start(k)).days
        close = start + np.floor(length * rng.beta(2.5, 1.0, acc.size)).astype(int)
        close = np.minimum(close, start + length - 1)
        cycle = np.clip(rng.lognormal(np.log(cycle_median[kind]), 0.5, acc.size), 3, 200)
        created = close - cycle.astype(int)
        rep = old_owner[acc] if k < REORG_INDEX else owner[acc]
        zero = (~won) & (rng.uniform(0, 1, acc.size) < 0.02)  # placeholder lost deals
        amount = np.where(zero, 0.0, amount)
        for row in zip(acc, rep, created, close, np.where(won, 0, 1), amount, strict=True):
            deals.append(
                (
                    int(row[0]),
                    int(row[1]),
                    int(row[2]),
                    int(row[3]),
                    int(row[4]),
                    float(row[5]),
                    kind,
                )
            )

    for k in range(N_QUARTERS):
        qoy = (FIRST_QUARTER[1] - 1 + k) % 4 + 1
        s = SEASON[qoy] * (1 + GROWTH) ** (k / 4)
        sk = skill[old_owner if k < REORG_INDEX else owner]
        # renewals in the anniversary quarter; a lost renewal is churn
        acc = np.flatnonzero(cust & (renew_q == qoy))
        won = rng.uniform(0, 1, acc.size) < 1 / (1 + np.exp(-(2.0 + sk[acc])))
        add(acc, 2, k, won, value[acc] * rng.uniform(0.9, 1.1, acc.size))
        cust[acc[~won]] = False
        # upsells to customers, more for big ones
        n_up = np.where(cust, rng.poisson(0.2 * s * (value / v_med) ** 0.35), 0)
        acc = np.repeat(np.arange(n_accounts), np.minimum(n_up, 3))
        won = rng.uniform(0, 1, acc.size) < 1 / (1 + np.exp(-(0.2 + sk[acc] + win_shift[acc])))
        add(acc, 1, k, won, value[acc] * rng.uniform(0.08, 0.35, acc.size))
        # new logos among prospects
        p = 0.05 * s * (1 + 0.4 * np.log10(employees + 1))
        acc = np.flatnonzero(~cust & (rng.uniform(0, 1, n_accounts) < p))
        logit = -0.9 + sk[acc] + win_shift[acc] - 0.2 * np.log10(employees[acc] + 1)
        won = rng.uniform(0, 1, acc.size) < 1 / (1 + np.exp(-logit))
        add(acc, 0, k, won, value[acc] * rng.uniform(0.4, 0.9, acc.size))
        cust[acc[won]] = True
        renew_q[acc[won]] = qoy

    # --- open pipeline: created in the final quarter (and a few stale ones from the one before)
    last_start = (_quarter_start(N_QUARTERS - 1) - epoch).days
    last_end = (_quarter_start(N_QUARTERS) - epoch).days - 1  # 2025-06-30
    open_kind = np.full(n_accounts, -1)
    u = rng.uniform(0, 1, n_accounts)
    open_kind[cust & (renew_q == 3) & (u < 0.6)] = 2
    open_kind[cust & (open_kind < 0) & (u < 0.25)] = 1
    open_kind[~cust & (u < 0.07)] = 0
    acc = np.flatnonzero(open_kind >= 0)
    stale = rng.uniform(0, 1, acc.size) < 0.1
    created = np.where(
        stale,
        last_start - rng.integers(1, 90, acc.size),
        last_start + rng.integers(0, last_end - last_start + 1, acc.size),
    )
    frac = np.array([0.65, 0.2, 1.0])[open_kind[acc]] * rng.uniform(0.8, 1.2, acc.size)
    for a, c, f in zip(acc, created, frac, strict=True):
        deals.append((int(a), int(owner[a]), int(c), -1, 2, float(value[a] * f), int(open_kind[a])))

    # the export was made right after quarter end: the last activity is in its last week
    latest = max(max(d[2], d[3]) for d in deals)
    if latest < last_end - 6:
        i = max(range(len(deals)), key=lambda j: (deals[j][3], j))
        deals[i] = (*deals[i][:3], last_end - 3, *deals[i][4:])

    # --- status and owners now
    status = np.where(cust, "customer", "prospect")
    unassigned = (~cust) & (rng.uniform(0, 1, n_accounts) < 0.05)
    unassigned[np.unique([d[0] for d in deals if d[4] == 2])] = False  # open deals have an owner

    # --- names and ids
    acc_ids = np.array([f"ACC-{x:06d}" for x in rng.choice(999_999, n_accounts, replace=False) + 1])
    names = []
    for i in range(n_accounts):
        nouns = NOUNS[INDUSTRIES[ind[i]][0]]
        noun = nouns[rng.integers(len(nouns))]
        suffix = SUFFIXES[rng.integers(len(SUFFIXES))]
        if rng.uniform() < 0.75:
            names.append(f"{PREFIXES[rng.integers(len(PREFIXES))]} {noun}{suffix}")
        else:
            names.append(f"{FAMILIES[rng.integers(len(FAMILIES))]} & Sons {noun}{suffix}")
    names[0] = f"Café {zips['city'][zip_idx[0]].title()}, LLC"  # comma and non-ASCII, always
    if n_accounts > 1:
        names[1] = f'The "Whole Hog" {NOUNS[INDUSTRIES[ind[1]][0]][0]}'  # embedded quotes

    deals.sort(key=lambda d: (d[2], d[0], d[6], d[3]))
    day = lambda n: (epoch + dt.timedelta(days=n)).isoformat()  # noqa: E731
    opp_rows = [
        [
            f"OPP-{day(c)[:4]}-{j + 1:05d}",
            acc_ids[a],
            rep_ids[r],
            day(c),
            "" if stage == 2 else day(cl),
            ("won", "lost", "open")[stage],
            f"{amt:.2f}",
            DEAL_TYPES[kind],
        ]
        for j, (a, r, c, cl, stage, amt, kind) in enumerate(deals)
    ]

    # --- write
    _write(
        folder / "geo_units.csv",
        ["unit_id", "unit_name", "lat", "lon", "population", "median_income_k", "broadband_share"],
        [
            [
                fips[u],
                nc["name"][u],
                f"{nc['lat'][u]:.5f}",
                f"{nc['lon'][u]:.5f}",
                f"{nc['births'][u]:.0f}",
                f"{income[u]:.1f}",
                f"{broadband[u]:.3f}",
            ]
            for u in range(n_units)
        ],
    )
    _write(
        folder / "reps.csv",
        ["rep_id", "rep_name", "home_lat", "home_lon"],
        [[rep_ids[r], REPS[r][1], f"{rep_lat[r]:.4f}", f"{rep_lon[r]:.4f}"] for r in range(n_reps)],
    )
    _write(
        folder / "accounts.csv",
        [
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
        [
            [
                acc_ids[i],
                names[i],
                INDUSTRIES[ind[i]][0],
                str(employees[i]),
                zips["zip"][zip_idx[i]],
                f"{lat[i]:.6f}",
                f"{lon[i]:.6f}",
                status[i],
                "" if unassigned[i] else rep_ids[owner[i]],
            ]
            for i in range(n_accounts)
        ],
    )
    _write(
        folder / "opportunities.csv",
        [
            "opportunity_id",
            "account_id",
            "rep_id",
            "created_date",
            "close_date",
            "stage",
            "amount_usd",
            "deal_type",
        ],
        opp_rows,
    )
    (folder / "README.txt").write_text(
        "SYNTHETIC DATA on real North Carolina geography (test fixture, not a real company).\n"
        "Real: county names, FIPS codes, centroids (from the county polygons) and population =\n"
        "live births 1979-84 (BIR79), all from libpysal's bundled sids2 example; ZIP codes and\n"
        "points from the zipcodes package. Synthetic: median_income_k and broadband_share,\n"
        f"and every account, rep, owner and opportunity (seed {seed}).\n"
        f"History 2023Q1..{LAST_QUARTER}; every CSV field is quoted.\n",
        encoding="utf-8",
    )

    pot = np.bincount(owner[~unassigned], weights=value[~unassigned], minlength=n_reps)
    cnt = np.bincount(owner[~unassigned], minlength=n_reps)
    return {
        "region": "NC",
        "files": sorted(REQUIRED_FILES),
        "first_quarter": "2023Q1",
        "last_quarter": LAST_QUARTER,
        "latest_date": max(max(r[3], r[4]) for r in opp_rows),
        "n_units": n_units,
        "n_reps": n_reps,
        "rep_ids": rep_ids.tolist(),
        "n_accounts": n_accounts,
        "n_customers": int(cust.sum()),
        "n_unassigned": int(unassigned.sum()),
        "n_opportunities": len(opp_rows),
        "n_open": sum(r[5] == "open" for r in opp_rows),
        "industries": [x[0] for x in INDUSTRIES],
        "deal_types": list(DEAL_TYPES),
        "drivers": ["median_income_k", "broadband_share"],
        "owner_potential_spread": round(_spread(pot), 4),
        "owner_count_spread": round(_spread(cnt.astype(float)), 4),
        "balanced_plan_spread": round(balanced_err, 4),
        "max_account_share": round(float(value.max() / value.sum()), 4),
        "max_unit_share": round(float(unit_value.max() / unit_value.sum()), 4),
        "top5pct_value_share": round(
            float(np.sort(value)[::-1][: max(1, n_accounts // 20)].sum() / value.sum()), 4
        ),
    }
