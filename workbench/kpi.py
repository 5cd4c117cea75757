"""KPI review (notebook 04): who hit their number, why, and is the plan itself fair?

Every KPI is defined once here and documented with its formula in ``docs/kpis.md``. The same
additive sums (won revenue, deal counts, pipeline, customers …) are built for four levels and
turned into ratios by one function, so a ratio is never averaged and the levels agree:

* **territory** — the current alignment: an account's territory is its owner rep's book (id =
  the owner's ``rep_id``; accounts without an owner form ``"unassigned"``). All history is
  recast onto today's books.
* **rep** — deal KPIs follow the rep *on the deal* (who worked it, even if the account moved
  since); book KPIs (accounts, customers, retention, potential) follow the *current owner*.
* **region** — territories grouped by the owner rep's home unit's region, the regions notebook
  01 uses (``geo_units.region``, else latitude thirds); with ``metro_km`` > 0 instead
  ``metro <city>`` within ``metro_km`` of the most populous unit, else ``outside metro``.
* **company** — everything.

Every ratio is empty (NaN) when its denominator is zero or unknown — never ``inf`` and never a
misleading 0 % — and KPIs needing quarters before the first closed deal in the data are empty.
"""

from __future__ import annotations

import dataclasses
import html
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import SupportsFloat

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.ticker import FuncFormatter, PercentFormatter
from scipy import stats

from .config import NotebookParams, Quarter
from .geo import haversine_km
from .io import load, load_geojson, load_stage, save_stage
from .plots import usd

UNASSIGNED = "unassigned"
OUTSIDE_METRO = "outside metro"
COMPANY = "company"
ACTIVE_QUARTERS = 4  # a customer is an account with a win in the last 4 quarters (annual renewals)
TOP_SHARE = 0.2  # revenue concentration: share of the top 20 % of customers
FAIRNESS_RHO = 0.5  # |Spearman rho| from which attainment "tracks" a territory factor
LEVEL_IDS = {"territory": "territory", "rep": "rep_id", "region": "region", "company": "company"}

# The KPI columns of every level's table, in display order (docs/kpis.md has the formulas).
METRICS = (
    "revenue_usd",
    "growth_qoq",
    "growth_yoy",
    "quota_usd",
    "attainment",
    "pipeline_start_usd",
    "coverage",
    "pipeline_end_usd",
    "won_n",
    "lost_n",
    "win_rate",
    "win_rate_value",
    "avg_deal_usd",
    "cycle_days",
    "accounts_n",
    "reps_n",
    "accounts_per_rep",
    "worked_opportunities_n",
    "customers_n",
    "new_customers_n",
    "churned_customers_n",
    "logo_retention",
    "churn_rate",
    "grr",
    "nrr",
    "revenue_ttm_usd",
    "top20_share",
    "potential_usd",
    "penetration",
    "market_usd",
    "market_share",
    "competitor_presence",
    "share_index",
)


# ---------------------------------------------------------------------------------------------
# Parameters and inputs


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Flag limits: a territory or rep below any of them is flagged (ratios, 0.8 = 80 %)."""

    min_attainment: float = 0.8
    min_coverage: float = 0.8
    min_logo_retention: float = 0.85
    min_win_rate: float = 0.4
    max_balance_deviation: float = 0.25


@dataclasses.dataclass(frozen=True)
class KpiParams(NotebookParams):
    """Parameters of ``notebooks/04_kpi_review.ipynb``."""

    trailing_quarters: int = 8
    min_attainment: float = 0.8
    min_coverage: float = 0.8
    min_logo_retention: float = 0.85
    min_win_rate: float = 0.4
    max_balance_deviation: float = 0.25
    metro_km: float = 0.0

    def check(self) -> list[str]:
        problems = super().check()
        if self.trailing_quarters < 1:
            problems.append("trailing_quarters must be ≥ 1")
        for name in ("min_attainment", "min_coverage", "max_balance_deviation", "metro_km"):
            if not getattr(self, name) >= 0:
                problems.append(f"{name} must be ≥ 0")
        for name in ("min_logo_retention", "min_win_rate"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be a share between 0 and 1")
        return problems

    @property
    def thresholds(self) -> Thresholds:
        names = [f.name for f in dataclasses.fields(Thresholds)]
        return Thresholds(**{n: getattr(self, n) for n in names})


@dataclasses.dataclass(frozen=True)
class KpiInputs:
    """The tables a KPI review reads (processed data plus optional notebook-01 potential).

    ``opportunities`` needs ``account_id, rep_id, created_date, close_date`` (datetime64, NaT
    while open), ``stage`` (won/lost/open) and ``amount_usd``; ``accounts`` needs
    ``account_id, owner_rep_id`` (NA = unassigned) and, for markets and maps, ``lat, lon`` and
    ``unit_id``; ``quotas`` ``quarter, rep_id, quota_usd``; ``reps`` ``rep_id`` (``rep_name``,
    ``home_lat``, ``home_lon``, ``home_city``, ``active`` used when present). Potential tables
    hold annual ``potential_usd`` per ``account_id`` / ``unit_id``; ``competitors`` holds
    ``unit_id, competitor, presence`` (0-1).
    """

    accounts: pd.DataFrame
    opportunities: pd.DataFrame
    reps: pd.DataFrame
    quotas: pd.DataFrame
    geo_units: pd.DataFrame | None = None
    competitors: pd.DataFrame | None = None
    potential_accounts: pd.DataFrame | None = None
    potential_units: pd.DataFrame | None = None
    polygons: pd.DataFrame | None = None  # GeoDataFrame of unit polygons, for the map
    notes: tuple[str, ...] = ()


def load_kpi_inputs(processed: str | Path, *, quarter: Quarter | str) -> KpiInputs:
    """Read what notebook 04 needs; optional tables that are missing become notes."""
    q, notes, opt = Quarter.parse(quarter), [], {}
    for name in ("quotas", "competitors"):
        try:
            opt[name] = load(name, processed)
        except FileNotFoundError:
            notes.append(
                f"no {name} table: "
                + (
                    "attainment and coverage are empty."
                    if name == "quotas"
                    else "share index is empty."
                )
            )
    for stage, key in (("potential_accounts", "account_id"), ("potential_units", "unit_id")):
        what = "penetration" if key == "account_id" else "market share"
        try:
            frame = load_stage(processed, stage, q)
        except FileNotFoundError:
            notes.append(
                f"{stage}_{q} not found: {what} is empty; run "
                f"notebooks/01_market_potential.ipynb for {q} first."
            )
            continue
        if {key, "potential_usd"} <= set(frame.columns):
            opt[stage] = frame
        else:
            notes.append(f"{stage}_{q} has no {key} and potential_usd columns: {what} is empty.")
    return KpiInputs(
        accounts=load("accounts", processed),
        opportunities=load("opportunities", processed),
        reps=load("reps", processed),
        geo_units=load("geo_units", processed),
        quotas=opt.pop("quotas", pd.DataFrame(columns=["quarter", "rep_id", "quota_usd"])),
        polygons=load_geojson(processed),
        notes=tuple(notes),
        **opt,
    )


# ---------------------------------------------------------------------------------------------
# Groupings


def territory_of(accounts: pd.DataFrame) -> pd.Series:
    """Each account's territory in the current alignment: its owner rep's id, or ``unassigned``.

    >>> a = pd.DataFrame({"account_id": ["A1", "A2"], "owner_rep_id": ["R1", None]})
    >>> territory_of(a).to_dict()
    {'A1': 'R1', 'A2': 'unassigned'}
    """
    owner = accounts["owner_rep_id"].astype("object").where(accounts["owner_rep_id"].notna())
    return pd.Series(
        owner.fillna(UNASSIGNED).to_numpy(),
        index=accounts["account_id"].to_numpy(),
        name="territory",
    ).rename_axis("account_id")


def assign_regions(
    reps: pd.DataFrame, geo_units: pd.DataFrame | None, *, metro_km: float = 0.0
) -> pd.Series:
    """Each rep's region from their home.

    By default (``metro_km`` 0) one region definition serves notebooks 01 and 04: a rep's
    region is that of the unit nearest their home, the units' regions being
    :func:`workbench.potential.assign_regions` (the ``region`` column of ``geo_units`` when
    it has one, else latitude thirds). With ``metro_km`` > 0 (an explicit choice, whatever
    the units carry): ``metro <city>`` or ``outside metro``, as follows.

    The metro core is the most populous geographic unit; a rep whose home (``home_lat``,
    ``home_lon``) lies within ``metro_km`` of its centroid is in the metro, named after the
    ``home_city`` of the rep nearest the core (else the unit's name). Without geographic units
    every rep is in one region, ``all``.

    >>> reps = pd.DataFrame({"rep_id": ["R1", "R2"], "home_lat": [33.75, 32.08],
    ...                      "home_lon": [-84.39, -81.09], "home_city": ["Atlanta", "Savannah"]})
    >>> units = pd.DataFrame({"unit_name": ["Fulton", "Chatham"], "population": [900, 200],
    ...                       "lat": [33.79, 31.97], "lon": [-84.47, -81.09]})
    >>> assign_regions(reps, units, metro_km=60).to_dict()
    {'R1': 'metro Atlanta', 'R2': 'outside metro'}
    """
    ids = reps["rep_id"].to_numpy()
    if geo_units is None or geo_units.empty or "home_lat" not in reps:
        return pd.Series("all", index=ids, name="region").rename_axis("rep_id")
    if metro_km <= 0:
        # The regions notebook 01 uses: a rep's is their home unit's.
        from .potential import assign_regions as unit_regions

        units = geo_units.reset_index(drop=True)
        km = haversine_km(
            reps["home_lat"].to_numpy(float)[:, None],
            reps["home_lon"].to_numpy(float)[:, None],
            units["lat"].to_numpy(float)[None, :],
            units["lon"].to_numpy(float)[None, :],
        )
        home = unit_regions(units).astype(str).to_numpy()[np.nanargmin(km, axis=1)]
        return pd.Series(home, index=ids, name="region").rename_axis("rep_id")
    core = geo_units.loc[geo_units["population"].idxmax()]
    km = haversine_km(
        reps["home_lat"].to_numpy(float), reps["home_lon"].to_numpy(float), core["lat"], core["lon"]
    )
    name = str(core.get("unit_name", "core"))
    if "home_city" in reps and np.nanmin(km) <= metro_km:
        name = str(reps["home_city"].iloc[int(np.nanargmin(km))])
    region = np.where(km <= metro_km, f"metro {name}", OUTSIDE_METRO)
    return pd.Series(region, index=ids, name="region").rename_axis("rep_id")


def history_start(opportunities: pd.DataFrame) -> Quarter:
    """The first quarter with a closed deal: revenue before it is unknown, not zero."""
    closed = opportunities["close_date"].dropna()
    if closed.empty:
        raise ValueError("no closed opportunity in the data: no KPI can be computed")
    return Quarter.from_date(closed.min().date())


# ---------------------------------------------------------------------------------------------
# Additive sums and the ratios derived from them


def _div(num: pd.Series | pd.DataFrame, den: pd.Series | pd.DataFrame):
    """``num / den`` as floats, empty where ``den`` is zero, negative or missing (never inf)."""
    num, den = num.astype("float64"), den.astype("float64")
    return num / den.where(den > 0)


def _deal_sums(opps: pd.DataFrame, group: pd.Series, quarters: Sequence[Quarter]) -> pd.DataFrame:
    """Won/lost, cycle, pipeline and worked deals per (group, quarter) — by exact dates.

    Every non-zero contribution comes from a quarter in which the deal was *worked* (open at some
    time in it), so only those (deal, quarter) pairs are built: about two per deal.
    """
    created = opps["created_date"].to_numpy("datetime64[ns]")
    closed = opps["close_date"].to_numpy("datetime64[ns]")
    days = (opps["close_date"] - opps["created_date"]).dt.days.to_numpy(float)
    starts = np.array([np.datetime64(q.start, "ns") for q in quarters])
    nexts = np.array([np.datetime64((q + 1).start, "ns") for q in quarters])
    still_open = np.isnat(closed)
    worked = (created[:, None] < nexts) & (still_open[:, None] | (closed[:, None] >= starts))
    i, j = np.nonzero(worked)
    c, x, open_i, amount = (
        created[i],
        closed[i],
        still_open[i],
        opps["amount_usd"].to_numpy(float)[i],
    )
    closed_in = ~open_i & (x >= starts[j]) & (x < nexts[j])
    w = closed_in & opps["stage"].eq("won").to_numpy()[i]
    lo = closed_in & opps["stage"].eq("lost").to_numpy()[i]
    f = pd.DataFrame(
        {
            "group": group.to_numpy()[i],
            "quarter": np.array([str(q) for q in quarters])[j],
            "revenue_usd": np.where(w, amount, 0.0),
            "won_n": w.astype(int),
            "lost_usd": np.where(lo, amount, 0.0),
            "lost_n": lo.astype(int),
            "cycle_days_sum": np.where(w, days[i], 0.0),
            "pipeline_start_usd": np.where(c < starts[j], amount, 0.0),  # and not closed before
            "pipeline_end_usd": np.where(
                open_i | (x >= nexts[j]), amount, 0.0
            ),  # created before end
            "worked_opportunities_n": 1,
        }
    )
    return f.groupby(["group", "quarter"]).sum()


def _top_share(ttm: pd.DataFrame, account_group: pd.Series) -> pd.DataFrame:
    """Share of revenue from the top ``TOP_SHARE`` of customers (at least one), per group."""
    long = ttm.rename_axis(index="account_id", columns="quarter").stack().rename("ttm")
    long = long[long > 0].reset_index()
    long["group"] = long["account_id"].map(account_group)
    by = long.groupby(["group", "quarter"])["ttm"]
    # round: 0.2 * 15 is 3.0000000000000004, whose ceiling would be 4
    k = np.ceil((TOP_SHARE * by.transform("size")).round(9))
    top = long["ttm"].where(by.rank(method="first", ascending=False) <= k, 0.0)
    return (top.groupby([long["group"], long["quarter"]]).sum() / by.sum()).unstack("quarter")


def _book_sums(
    opps: pd.DataFrame,
    account_group: pd.Series,
    groups: Sequence[str],
    quarters: Sequence[Quarter],
    start: Quarter,
) -> pd.DataFrame:
    """Customer counts and retention sums per (group, quarter), from trailing-4-quarter revenue.

    ``ttm(a, q)`` = won revenue of account a closed in quarters q-3..q; a is a customer at the end
    of q when ``ttm(a, q) > 0``. Quarters before ``start`` are unknown, so a KPI whose window
    reaches back before it is empty (NaN) rather than counted from a partial history.
    """
    lo, hi = quarters[0] - (2 * ACTIVE_QUARTERS - 1), quarters[-1]
    cols = [str(lo + k) for k in range(hi.index - lo.index + 1)]
    won = opps[opps["stage"].eq("won") & opps["close_date"].notna()]
    rev = won.assign(q=won["close_date"].dt.to_period("Q").astype(str)).pivot_table(
        index="account_id", columns="q", values="amount_usd", aggfunc="sum"
    )
    rev = rev.reindex(index=account_group.index, columns=cols).fillna(0.0)
    ttm = rev.T.rolling(ACTIVE_QUARTERS).sum().T
    names = [str(q) for q in quarters]

    def back(n: int) -> pd.DataFrame:  # ttm n quarters earlier, labelled by the quarter
        return ttm[[str(q - n) for q in quarters]].set_axis(names, axis=1)

    t0, t1, t4 = back(0), back(1), back(ACTIVE_QUARTERS)
    a0, a1, a4 = t0 > 0, t1 > 0, t4 > 0
    wide = {
        "revenue_ttm_usd": t0,
        "customers_n": a0,
        "new_customers_n": a0 & ~a1,
        "churned_customers_n": a1 & ~a0,
        "base_customers_n": a4,
        "retained_customers_n": a4 & a0,
        "base_usd": t4.where(a4, 0.0),
        "grr_usd": np.minimum(t0, t4).where(a4, 0.0),
        "nrr_usd": t0.where(a4, 0.0),
    }
    sums = {
        k: v.astype(float).groupby(account_group).sum().reindex(groups, fill_value=0.0)
        for k, v in wide.items()
    }
    sums["top20_share"] = _top_share(t0, account_group).reindex(index=groups, columns=names)
    reach = {
        "new_customers_n": ACTIVE_QUARTERS,
        "churned_customers_n": ACTIVE_QUARTERS,
    } | dict.fromkeys(
        ("base_customers_n", "retained_customers_n", "base_usd", "grr_usd", "nrr_usd"),
        2 * ACTIVE_QUARTERS - 1,
    )
    for name, frame in sums.items():  # windows reaching before the data are unknown
        early = [str(q) for q in quarters if q - reach.get(name, ACTIVE_QUARTERS - 1) < start]
        frame.loc[:, early] = np.nan
    out = pd.DataFrame({k: v.stack(future_stack=True) for k, v in sums.items()})
    return out.rename_axis(["group", "quarter"])


def _territory_book(inputs: KpiInputs, acc_terr: pd.Series) -> pd.DataFrame:
    """Quarter-independent book measures per territory: accounts, potential, market, rivals."""
    acc = inputs.accounts.set_index("account_id")
    out = pd.DataFrame({"accounts_n": acc_terr.value_counts().astype(float)})
    for col in ("potential_usd", "market_usd", "presence_sum"):
        out[col] = np.nan
    if inputs.potential_accounts is not None:
        pot = inputs.potential_accounts.groupby("account_id")["potential_usd"].sum()
        out["potential_usd"] = pot.reindex(acc_terr.index).fillna(0.0).groupby(acc_terr).sum()
    unit = acc["unit_id"].astype(str) if "unit_id" in acc else None
    if unit is None and inputs.geo_units is not None:  # nearest unit centroid
        g = inputs.geo_units
        d = haversine_km(
            acc["lat"].to_numpy()[:, None],
            acc["lon"].to_numpy()[:, None],
            g["lat"].to_numpy()[None, :],
            g["lon"].to_numpy()[None, :],
        )
        unit = pd.Series(g["unit_id"].astype(str).to_numpy()[d.argmin(1)], index=acc.index)
    if unit is not None and inputs.potential_units is not None:
        market = inputs.potential_units.assign(unit_id=lambda u: u["unit_id"].astype(str))
        market = market.groupby("unit_id")["potential_usd"].sum()
        counts = pd.crosstab(unit.reindex(acc_terr.index), acc_terr)  # units x territories
        share = counts.div(counts.sum(axis=1), axis=0)
        alloc = share.mul(market.reindex(share.index).fillna(0.0), axis=0).sum()
        uncovered = market[~market.index.isin(share.index)].sum()  # units without accounts
        alloc[UNASSIGNED] = alloc.get(UNASSIGNED, 0.0) + uncovered
        out = out.reindex(out.index.union(alloc.index))
        out["market_usd"] = alloc.reindex(out.index).fillna(0.0)
        out["accounts_n"] = out["accounts_n"].fillna(0.0)
    if unit is not None and inputs.competitors is not None:
        pres = inputs.competitors.assign(unit_id=lambda c: c["unit_id"].astype(str))
        pres = pres.groupby("unit_id")["presence"].sum()
        per_account = unit.reindex(acc_terr.index).map(pres).fillna(0.0)
        out["presence_sum"] = per_account.groupby(acc_terr).sum()
    return out


def _ratios(f: pd.DataFrame) -> pd.DataFrame:
    """The KPI ratios from the additive sums (docs/kpis.md); every denominator guarded."""
    return f.assign(
        attainment=_div(f["revenue_usd"], f["quota_usd"]),
        coverage=_div(f["pipeline_start_usd"], f["quota_usd"]),
        win_rate=_div(f["won_n"], f["won_n"] + f["lost_n"]),
        win_rate_value=_div(f["revenue_usd"], f["revenue_usd"] + f["lost_usd"]),
        avg_deal_usd=_div(f["revenue_usd"], f["won_n"]),
        cycle_days=_div(f["cycle_days_sum"], f["won_n"]),
        accounts_per_rep=_div(f["accounts_n"], f["reps_n"]),
        logo_retention=_div(f["retained_customers_n"], f["base_customers_n"]),
        churn_rate=1 - _div(f["retained_customers_n"], f["base_customers_n"]),
        grr=_div(f["grr_usd"], f["base_usd"]),
        nrr=_div(f["nrr_usd"], f["base_usd"]),
        penetration=_div(f["revenue_ttm_usd"], f["potential_usd"]),
        market_share=_div(f["revenue_ttm_usd"], f["market_usd"]),
        competitor_presence=_div(f["presence_sum"], f["accounts_n"]),
        # fair share = 1 / (1 + presence): an even split with the competitors present
        share_index=_div(f["revenue_ttm_usd"], f["market_usd"])
        * (1 + _div(f["presence_sum"], f["accounts_n"])),
    )


def kpi_table(
    inputs: KpiInputs, *, level: str, quarters: Sequence[Quarter | str], metro_km: float = 0.0
) -> pd.DataFrame:
    """Every KPI per group of ``level`` and quarter (see ``docs/kpis.md`` for formulas).

    Parameters
    ----------
    inputs : KpiInputs
        Accounts, opportunities (dates as datetime64), reps, quotas (USD per rep and quarter),
        optional geography, competitors and potential.
    level : {"territory", "rep", "region", "company"}
    quarters : sequence of Quarter or str
        The quarters to report (e.g. ``Quarter.parse("2026Q3").range_back(8)``).
    metro_km : float
        0 (default): regions of the units (:func:`assign_regions`); > 0: radius of the metro
        region around the most populous unit, km.

    Returns
    -------
    pandas.DataFrame
        One row per group and quarter: the id column(s) of the level (``territory, rep_id,
        rep_name, region`` / ``rep_id, rep_name, region, active`` / ``region`` / ``company``),
        ``quarter`` and the columns of :data:`METRICS` (USD columns end in ``_usd``; rates are
        ratios, 0.75 = 75 %; counts end in ``_n``). Reps appear in quarters where they had a
        quota, a deal or a book.

    Examples
    --------
    >>> ts = pd.to_datetime
    >>> opps = pd.DataFrame({"account_id": ["A1", "A1"], "rep_id": ["R1", "R1"],
    ...     "created_date": ts(["2026-05-01", "2026-07-01"]),
    ...     "close_date": ts(["2026-07-01", "2026-09-30"]), "stage": ["won", "lost"],
    ...     "amount_usd": [400.0, 100.0]})
    >>> inputs = KpiInputs(
    ...     accounts=pd.DataFrame({"account_id": ["A1"], "owner_rep_id": ["R1"]}),
    ...     opportunities=opps, reps=pd.DataFrame({"rep_id": ["R1"]}),
    ...     quotas=pd.DataFrame({"quarter": ["2026Q3"], "rep_id": ["R1"], "quota_usd": [500.0]}))
    >>> row = kpi_table(inputs, level="territory", quarters=["2026Q3"]).iloc[0]
    >>> row["revenue_usd"], row["attainment"], row["coverage"], row["win_rate"]
    (np.float64(400.0), np.float64(0.8), np.float64(0.8), np.float64(0.5))
    """
    if level not in LEVEL_IDS:
        raise ValueError(f"level must be one of {', '.join(LEVEL_IDS)}, got {level!r}")
    qs = sorted({Quarter.parse(q) for q in quarters})
    opps, start = inputs.opportunities, history_start(inputs.opportunities)
    acc_terr = territory_of(inputs.accounts)
    static = _territory_book(inputs, acc_terr)  # may add "unassigned" for uncovered market
    terrs = sorted(set(acc_terr) | set(static.index))
    rep_region = assign_regions(inputs.reps, inputs.geo_units, metro_km=metro_km)
    terr_region = pd.Series({t: rep_region.get(t, UNASSIGNED) for t in terrs})
    opp_terr = opps["account_id"].map(acc_terr).fillna(UNASSIGNED)
    reps_n = pd.Series([float(t != UNASSIGNED) for t in terrs], index=terrs)
    if level == "territory":
        terr_group = quota_group = pd.Series(terrs, index=terrs)
        deal_group, groups = opp_terr, terrs
    elif level == "rep":
        owned = [t for t in terrs if t != UNASSIGNED]
        terr_group, deal_group = pd.Series(owned, index=owned), opps["rep_id"]
        groups = sorted(
            set(inputs.reps["rep_id"]) | set(opps["rep_id"].dropna()) | set(inputs.quotas["rep_id"])
        )
        quota_group = pd.Series(groups, index=groups)
    elif level == "region":
        terr_group, deal_group = terr_region, opp_terr.map(terr_region)
        quota_group, groups = rep_region, sorted(set(terr_region) | set(rep_region))
    else:
        terr_group = pd.Series(COMPANY, index=terrs)
        deal_group = pd.Series(COMPANY, index=opps.index)
        quota_group, groups = pd.Series(COMPANY, index=inputs.quotas["rep_id"].unique()), [COMPANY]

    index = pd.MultiIndex.from_product([groups, [str(q) for q in qs]], names=["group", "quarter"])
    # revenue from four quarters before the first one, for growth; unknown before the data starts
    span = [Quarter.from_index(i) for i in range(qs[0].index - ACTIVE_QUARTERS, qs[-1].index + 1)]
    deals = _deal_sums(opps, deal_group, span)
    rev = (
        deals["revenue_usd"]
        .unstack("quarter")
        .reindex(index=groups, columns=[str(q) for q in span])
    )
    rev = rev.fillna(0.0)
    rev.loc[:, [str(q) for q in span if q < start]] = np.nan
    growth = pd.DataFrame(
        {
            "growth_qoq": _div(rev, rev.shift(1, axis=1)).stack(future_stack=True) - 1,
            "growth_yoy": _div(rev, rev.shift(ACTIVE_QUARTERS, axis=1)).stack(future_stack=True)
            - 1,
        }
    ).rename_axis(["group", "quarter"])
    book = _book_sums(opps, acc_terr.map(terr_group), groups, qs, start)
    static = static.reindex(terrs).assign(reps_n=reps_n)
    static = static.groupby(terr_group.reindex(terrs)).sum(min_count=1).reindex(groups)
    static["accounts_n"] = static["accounts_n"].fillna(0.0)
    static["reps_n"] = 1.0 if level == "rep" else static["reps_n"].fillna(0.0)
    quota = (
        inputs.quotas.assign(
            group=inputs.quotas["rep_id"].map(quota_group),
            quarter=inputs.quotas["quarter"].astype(str),
        )
        .groupby(["group", "quarter"])["quota_usd"]
        .sum(min_count=1)
    )
    f = (
        deals.reindex(index, fill_value=0)
        .join(growth)
        .join(book)
        .join(static, on="group")
        .assign(quota_usd=quota.reindex(index))
    )
    f = _ratios(f).reset_index()
    if level == "rep":  # a rep appears while they had a quota, a deal or a book
        busy = f["quota_usd"].notna() | (
            f[["won_n", "lost_n", "worked_opportunities_n", "accounts_n"]].sum(axis=1) > 0
        )
        f = f[busy]
    return _label(f, level, inputs.reps, rep_region, terr_region)


def _label(
    f: pd.DataFrame, level: str, reps: pd.DataFrame, rep_region: pd.Series, terr_region: pd.Series
) -> pd.DataFrame:
    """Id and name columns first, then quarter and the KPI columns; counts as nullable ints."""
    f = f.rename(columns={"group": LEVEL_IDS[level]})
    names = reps.set_index("rep_id")["rep_name"] if "rep_name" in reps else pd.Series(dtype=str)
    if level == "territory":
        f["rep_id"] = f["territory"].where(f["territory"] != UNASSIGNED)
        f["rep_name"] = f["rep_id"].map(names)
        f["region"] = f["territory"].map(terr_region)
        ids = ["territory", "rep_id", "rep_name", "region"]
    elif level == "rep":
        f["rep_name"] = f["rep_id"].map(names)
        f["region"] = f["rep_id"].map(rep_region).fillna(UNASSIGNED)
        active = reps.set_index("rep_id")["active"] if "active" in reps else pd.Series(dtype=str)
        f["active"] = f["rep_id"].map(active.astype(str).str.lower().eq("true"))
        ids = ["rep_id", "rep_name", "region", "active"]
    else:
        ids = [LEVEL_IDS[level]]
    out = f[[*ids, "quarter", *METRICS]].copy()
    for c in [c for c in METRICS if c.endswith("_n")]:
        out[c] = out[c].round().astype("Int64")
    return out.sort_values(["quarter", ids[0]]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Quota fairness, flags and balance


@dataclasses.dataclass(frozen=True)
class Finding:
    """A plain-language verdict with the table behind it (renders as both in a notebook)."""

    verdict: str
    table: pd.DataFrame

    def __repr__(self) -> str:
        return f"{self.verdict}\n\n{self.table.to_string()}"

    def _repr_html_(self) -> str:
        return f"<p><b>{html.escape(self.verdict)}</b></p>{self.table.to_html()}"


def gini(values: Sequence[float] | pd.Series) -> float:
    """Gini coefficient of non-negative values: 0 when all are equal, towards 1 when one has all.

    ``G = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x))``; missing values are ignored; empty (NaN)
    for no values or a zero mean.

    >>> round(gini([0.5, 1.0, 1.5]), 4), gini([1.0, 1.0]), gini([])
    (0.2222, 0.0, nan)
    """
    x = pd.Series(values, dtype="float64").dropna().to_numpy()
    if x.size == 0 or x.mean() <= 0:
        return float("nan")
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean()))


_FAIRNESS_FACTORS = {
    "potential_usd": ("structure", "territory potential"),
    "accounts_n": ("structure", "territory size (accounts)"),
    "growth_yoy": ("market", "territory growth (revenue YoY)"),
    "win_rate_value": ("performance", "win rate (value)"),
}


def quota_fairness(territories: pd.DataFrame, *, min_rho: float = FAIRNESS_RHO) -> Finding:
    """Does attainment follow the territory (size, potential) rather than the rep's performance?

    Spearman rank correlation of ``attainment`` with each factor over the territories that have
    a quota, and the Gini coefficient of attainment. The verdict says the territories decide who
    wins when attainment correlates with potential or size at ``|rho| >= min_rho`` and more
    strongly than with win rate (the performance signal).

    Parameters
    ----------
    territories : pandas.DataFrame
        One quarter of :func:`kpi_table` at territory level (``territory``, ``attainment``,
        ``potential_usd``, ``accounts_n``, ``growth_yoy``, ``win_rate_value``).

    Examples
    --------
    >>> t = pd.DataFrame({"territory": list("ABCDE"),
    ...     "attainment": [0.6, 0.8, 1.0, 1.2, 1.4], "potential_usd": [1, 2, 3, 4, 5],
    ...     "accounts_n": [5, 1, 4, 2, 3], "growth_yoy": [0.1] * 5,
    ...     "win_rate_value": [0.5, 0.3, 0.4, 0.6, 0.2]})
    >>> quota_fairness(t).verdict.split(":")[0]
    'Attainment tracks territory potential (Spearman ρ = +1.00, n = 5) more than performance (win rate ρ = -0.30)'
    """  # noqa: E501 - doctest output / CSV text cannot wrap
    t = territories[territories["attainment"].notna()]
    rows = []
    for col, (role, label) in _FAIRNESS_FACTORS.items():
        pair = t[["attainment", col]].astype(float).dropna()
        rho = p = np.nan
        if len(pair) >= 3 and pair[col].nunique() > 1 and pair["attainment"].nunique() > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rho, p = stats.spearmanr(pair["attainment"], pair[col])
        rows.append(
            {
                "factor": col,
                "role": role,
                "meaning": label,
                "n": len(pair),
                "spearman_rho": float(rho),
                "p_value": float(p),
            }
        )
    table = pd.DataFrame(rows).set_index("factor")
    g = gini(t["attainment"])
    spread = (
        (
            f"Gini of attainment {g:.2f} (0 = everyone equal; from {t['attainment'].min():.0%}"
            f" to {t['attainment'].max():.0%} over {len(t)} territories)."
        )
        if len(t)
        else ""
    )
    structure = table[(table["role"] == "structure") & table["spearman_rho"].notna()]
    perf = table.loc["win_rate_value", "spearman_rho"]
    if len(t) < 4:
        verdict = f"Too few territories with a quota ({len(t)}) to judge fairness."
    elif structure.empty:
        verdict = "No territory size or potential varies across territories: fairness untested."
    else:
        top = structure["spearman_rho"].abs().idxmax()
        rho = structure.loc[top, "spearman_rho"]
        perf_text = "n/a" if np.isnan(perf) else f"{perf:+.2f}"
        if abs(rho) >= min_rho and (np.isnan(perf) or abs(rho) > abs(perf)):
            who = "larger" if rho > 0 else "smaller"
            verdict = (
                f"Attainment tracks {structure.loc[top, 'meaning']} (Spearman ρ = {rho:+.2f},"
                f" n = {len(t)}) more than performance (win rate ρ = {perf_text}): the "
                f"territories, not the reps, decide who wins — {who} territories beat "
                "their quota. Rebalance (notebook 03) or set quotas in proportion to "
                "potential."
            )
        else:
            verdict = (
                f"Attainment does not track territory size or potential (largest |ρ| = "
                f"{abs(rho):.2f} < {min_rho:.2f}; win rate ρ = {perf_text}): differences "
                "in attainment look like performance, not territory."
            )
    if len(t) >= 4 and table.loc["potential_usd", "n"] == 0:
        verdict += " Potential is not available, so only size was tested."
    return Finding(f"{verdict} {spread}".strip(), table)


_CHECKS = (  # column, threshold field, format, plain words
    ("attainment", "min_attainment", "{:.0%}", "missed quota"),
    ("coverage", "min_coverage", "{:.2f}x", "thin pipeline going in"),
    ("logo_retention", "min_logo_retention", "{:.0%}", "losing customers"),
    ("win_rate", "min_win_rate", "{:.0%}", "losing deals"),
)


def flag_kpis(
    territories: pd.DataFrame, reps: pd.DataFrame, *, thresholds: Thresholds = Thresholds()
) -> pd.DataFrame:
    """Territories and reps below a threshold, with the reasons and the metrics behind them.

    A check fails when the metric is known and below its threshold (an empty metric — no quota,
    no closed deal — is not judged; unassigned accounts have no one to act and are skipped). A
    rep who fails exactly the checks their territory fails shares its row (level ``territory &
    rep``, the territory's numbers). Rows are ranked by the number of failed checks, then by the
    total relative shortfall ``sum((threshold - value) / threshold)``.

    Parameters
    ----------
    territories, reps : pandas.DataFrame
        One quarter of :func:`kpi_table` at territory and rep level.
    thresholds : Thresholds

    Returns
    -------
    pandas.DataFrame
        ``rank, level, id, rep_name, region, failed_n, shortfall, reasons`` and the explaining
        metrics (attainment, coverage, logo_retention, win_rate, revenue_usd, quota_usd,
        pipeline_start_usd, avg_deal_usd, penetration).

    Examples
    --------
    >>> t = pd.DataFrame({"territory": ["R1"], "rep_name": ["Ada"], "region": ["metro"],
    ...     "attainment": [0.6], "coverage": [2.0], "logo_retention": [0.9], "win_rate": [0.5],
    ...     "revenue_usd": [600.0], "quota_usd": [1000.0], "pipeline_start_usd": [2000.0],
    ...     "avg_deal_usd": [300.0], "penetration": [0.1]})
    >>> flag_kpis(t, t.iloc[:0].rename(columns={"territory": "rep_id"}))["reasons"].tolist()
    ['attainment 60% < 80% (missed quota)']
    """
    explain = [
        "attainment",
        "coverage",
        "logo_retention",
        "win_rate",
        "revenue_usd",
        "quota_usd",
        "pipeline_start_usd",
        "avg_deal_usd",
        "penetration",
    ]
    seen: dict[tuple, dict[str, object]]
    rows, seen = [], {}
    for level, frame, idcol in (("territory", territories, "territory"), ("rep", reps, "rep_id")):
        for rec in frame.to_dict("records"):
            failed = [
                (col, rec[col], getattr(thresholds, field), fmt, words)
                for col, field, fmt, words in _CHECKS
                if pd.notna(rec.get(col)) and rec[col] < getattr(thresholds, field)
            ]
            if not failed or rec[idcol] == UNASSIGNED:  # no one to act on unassigned accounts
                continue
            key = (rec[idcol], tuple(c for c, *_ in failed))
            if key in seen:  # the rep failed exactly what their territory failed: one row
                seen[key]["level"] = "territory & rep"
                continue
            rows.append(
                seen.setdefault(
                    key,
                    {
                        "level": level,
                        "id": rec[idcol],
                        "rep_name": rec.get("rep_name"),
                        "region": rec.get("region"),
                        "failed_n": len(failed),
                        "shortfall": sum((lim - v) / lim for _, v, lim, _, _ in failed if lim > 0),
                        "reasons": "; ".join(
                            f"{c} {fmt.format(v)} < {fmt.format(lim)} ({w})"
                            for c, v, lim, fmt, w in failed
                        ),
                        **{c: rec.get(c) for c in explain},
                    },
                )
            )
    cols = ["level", "id", "rep_name", "region", "failed_n", "shortfall", "reasons", *explain]
    out = pd.DataFrame(rows, columns=cols)
    out = out.sort_values(
        ["failed_n", "shortfall", "id", "level"], ascending=[False, False, True, False]
    ).reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    return out.astype(dict.fromkeys(explain, "float64"))


_BALANCE = {
    "accounts_n": "accounts",
    "potential_usd": "potential",
    "worked_opportunities_n": "workload (deals worked)",
}


def balance_review(territories: pd.DataFrame, *, tolerance: float = 0.25) -> Finding:
    """Accounts, potential and workload per territory against the mean (``x / mean - 1``).

    Unassigned accounts are left out; a measure with no data (potential before notebook 01 ran)
    is skipped. The verdict says whether any territory lies outside ``±tolerance`` — the case for
    a redesign in notebook 03.

    Examples
    --------
    >>> t = pd.DataFrame({"territory": ["R1", "R2"], "rep_name": ["A", "B"], "region": "x",
    ...     "accounts_n": [2, 3], "potential_usd": [30.0, 20.0], "worked_opportunities_n": [4, 4]})
    >>> balance_review(t, tolerance=0.25).table["accounts_n_dev"].round(2).tolist()
    [-0.2, 0.2]
    """
    t = territories[territories["territory"] != UNASSIGNED].set_index("territory")
    table = t[["rep_name", "region"]].copy()
    devs = []
    for col in _BALANCE:
        x = t[col].astype("float64")
        if x.notna().any():
            table[col] = x
            table[f"{col}_dev"] = _div(x, pd.Series(x.mean(), index=x.index)) - 1
            devs.append(f"{col}_dev")
    table["max_abs_dev"] = table[devs].abs().max(axis=1)
    table["balanced"] = table["max_abs_dev"] <= tolerance
    out = table[~table["balanced"]]
    if table.empty:
        verdict = "No territory to review."
    elif out.empty:
        verdict = (
            f"All {len(table)} territories lie within ±{tolerance:.0%} of the mean on "
            f"{', '.join(_BALANCE[d[:-4]] for d in devs)}: no redesign needed for balance."
        )
    else:
        worst = table["max_abs_dev"].idxmax()
        col = table.loc[worst, devs].abs().astype(float).idxmax()
        verdict = (
            f"{len(out)} of {len(table)} territories lie outside ±{tolerance:.0%} of the "
            f"mean (largest: {worst} {_BALANCE[col[:-4]]} "
            f"{table.loc[worst, col]:+.0%}): the alignment is unbalanced, so a redesign "
            "(notebook 03) is warranted."
        )
    return Finding(verdict, table)


# ---------------------------------------------------------------------------------------------
# The review: results object, entry point, outputs


_SUMMARY = (  # label, column, format
    ("Revenue (won, by close date)", "revenue_usd", "usd"),
    ("Growth QoQ", "growth_qoq", "pct"),
    ("Growth YoY", "growth_yoy", "pct"),
    ("Quota", "quota_usd", "usd"),
    ("Attainment", "attainment", "pct"),
    ("Pipeline coverage (start)", "coverage", "x"),
    ("Win rate (count)", "win_rate", "pct"),
    ("Win rate (value)", "win_rate_value", "pct"),
    ("Average deal", "avg_deal_usd", "usd"),
    ("Sales cycle (days)", "cycle_days", "num"),
    ("Customers", "customers_n", "num"),
    ("New customers", "new_customers_n", "num"),
    ("Churned customers", "churned_customers_n", "num"),
    ("Logo retention (YoY)", "logo_retention", "pct"),
    ("Gross revenue retention", "grr", "pct"),
    ("Net revenue retention", "nrr", "pct"),
    ("Penetration (TTM ÷ potential)", "penetration", "pct"),
    ("Market share", "market_share", "pct"),
    ("Accounts per rep", "accounts_per_rep", "num"),
    ("Top-20% customers' share", "top20_share", "pct"),
)


def _fmt(value: SupportsFloat | None, kind: str) -> str:
    if value is None or pd.isna(value):
        return "–"
    v = float(value)
    return {"usd": usd(v), "pct": f"{v:.0%}", "x": f"{v:.2f}x", "num": f"{v:,.0f}"}[kind]


@dataclasses.dataclass(frozen=True, repr=False)
class KpiReview:
    """One quarter's KPI review: KPI tables per level, flags, fairness and balance findings.

    Attributes
    ----------
    quarter : str
    trend : dict of str to DataFrame
        :func:`kpi_table` per level (``territory``, ``rep``, ``region``, ``company``) over the
        trailing quarters; the properties below cut out the review quarter.
    flags : DataFrame
        :func:`flag_kpis` for the quarter.
    fairness, balance : Finding
    thresholds : Thresholds
    notes : tuple of str
        What is missing or limited (e.g. no potential yet).
    """

    quarter: str
    trend: Mapping[str, pd.DataFrame]
    flags: pd.DataFrame
    fairness: Finding
    balance: Finding
    thresholds: Thresholds
    notes: tuple[str, ...] = ()

    def at(self, level: str) -> pd.DataFrame:
        """The review quarter's rows of one level."""
        f = self.trend[level]
        return f[f["quarter"] == self.quarter].reset_index(drop=True)

    territories = property(lambda self: self.at("territory"), doc="Territory KPIs, the quarter.")
    reps = property(lambda self: self.at("rep"), doc="Rep KPIs, the quarter.")
    regions = property(lambda self: self.at("region"), doc="Region KPIs, the quarter.")
    company = property(lambda self: self.at("company"), doc="Company KPIs, the quarter.")

    @property
    def gini_attainment(self) -> float:
        return gini(self.territories["attainment"])

    def summary(self) -> pd.DataFrame:
        """Headline KPIs of the quarter (formatted text): company and each region."""
        cols = {COMPANY: self.company.iloc[0]} if len(self.company) else {}
        cols |= {r["region"]: r for _, r in self.regions.iterrows()}
        return pd.DataFrame(
            {name: [_fmt(row[c], k) for _, c, k in _SUMMARY] for name, row in cols.items()},
            index=pd.Index([lab for lab, _, _ in _SUMMARY], name=self.quarter),
        )

    def to_frame(self) -> pd.DataFrame:
        """All levels for the quarter, stacked: ``level``, ``id`` and every KPI column."""
        parts = [
            self.at(lv).rename(columns={LEVEL_IDS[lv]: "id"}).assign(level=lv) for lv in LEVEL_IDS
        ]
        return pd.concat(parts, ignore_index=True)[["level", "id", "quarter", *METRICS]]

    def headline(self) -> str:
        c = self.company.iloc[0]
        return (
            f"KPI review {self.quarter}: revenue {_fmt(c['revenue_usd'], 'usd')} "
            f"({_fmt(c['attainment'], 'pct')} of quota, YoY {_fmt(c['growth_yoy'], 'pct')}); "
            f"{len(self.flags)} flag(s); Gini of territory attainment "
            f"{self.gini_attainment:.2f}."
        )

    def __repr__(self) -> str:
        lines = [self.headline(), self.fairness.verdict, self.balance.verdict, *self.notes]
        return "\n".join(lines) + "\n\n" + self.summary().to_string()

    def _repr_html_(self) -> str:
        paras = [f"<p><b>{html.escape(self.headline())}</b></p>"]
        paras += [f"<p>{html.escape(t)}</p>" for t in (self.fairness.verdict, self.balance.verdict)]
        paras += [f"<p><i>Note: {html.escape(n)}</i></p>" for n in self.notes]
        return "".join(paras) + self.summary().to_html()


def review_kpis(
    inputs: KpiInputs,
    *,
    quarter: Quarter | str,
    trailing_quarters: int = 8,
    thresholds: Thresholds = Thresholds(),
    metro_km: float = 0.0,
) -> KpiReview:
    """The quarter's KPI review: KPI tables per level with a trailing trend, flags, fairness, balance.

    Parameters
    ----------
    inputs : KpiInputs
    quarter : Quarter or str
        The review quarter; must lie within the data's closed-deal history.
    trailing_quarters : int
        Quarters in the trend, ending with ``quarter`` (cut at the start of the data).
    thresholds : Thresholds
    metro_km : float

    Raises
    ------
    ValueError
        When ``quarter`` lies outside the data.

    Examples
    --------
    >>> ts = pd.to_datetime
    >>> opps = pd.DataFrame({"account_id": ["A1", "A2"], "rep_id": ["R1", "R2"],
    ...     "created_date": ts(["2026-05-01", "2026-06-01"]),
    ...     "close_date": ts(["2026-07-01", "2026-08-01"]), "stage": "won",
    ...     "amount_usd": [400.0, 900.0]})
    >>> inputs = KpiInputs(opportunities=opps, reps=pd.DataFrame({"rep_id": ["R1", "R2"]}),
    ...     accounts=pd.DataFrame({"account_id": ["A1", "A2"], "owner_rep_id": ["R1", "R2"]}),
    ...     quotas=pd.DataFrame({"quarter": "2026Q3", "rep_id": ["R1", "R2"],
    ...                          "quota_usd": [500.0, 1000.0]}))
    >>> review = review_kpis(inputs, quarter="2026Q3", trailing_quarters=1)
    >>> review.territories["attainment"].tolist(), len(review.flags)
    ([0.8, 0.9], 0)
    >>> review.headline()
    'KPI review 2026Q3: revenue $1.3k (87% of quota, YoY –); 0 flag(s); Gini of territory attainment 0.03.'
    """  # noqa: E501 - doctest output / CSV text cannot wrap
    q = Quarter.parse(quarter)
    first = history_start(inputs.opportunities)
    dates = pd.concat([inputs.opportunities["close_date"], inputs.opportunities["created_date"]])
    last = Quarter.from_date(dates.max().date())
    if not first <= q <= last:
        raise ValueError(
            f"quarter {q} is outside the data (closed deals from {first}, activity to {last})"
        )
    quarters = [p for p in q.range_back(trailing_quarters) if p >= first]
    notes = list(inputs.notes)
    if len(quarters) < trailing_quarters:
        notes.append(f"the trend starts at {first}, the first quarter with closed deals.")
    trend = {
        lv: kpi_table(inputs, level=lv, quarters=quarters, metro_km=metro_km) for lv in LEVEL_IDS
    }
    at = {lv: f[f["quarter"] == str(q)] for lv, f in trend.items()}
    return KpiReview(
        quarter=str(q),
        trend=trend,
        thresholds=thresholds,
        notes=tuple(notes),
        flags=flag_kpis(at["territory"], at["rep"], thresholds=thresholds),
        fairness=quota_fairness(at["territory"]),
        balance=balance_review(at["territory"], tolerance=thresholds.max_balance_deviation),
    )


def save_kpi_outputs(review: KpiReview, processed: str | Path) -> pd.DataFrame:
    """Write ``kpi_territory``, ``kpi_rep`` and ``kpi_flags`` for the quarter; list what was
    written."""
    frames = {
        "kpi_territory": review.territories,
        "kpi_rep": review.reps,
        "kpi_flags": review.flags,
    }
    paths = {stage: save_stage(f, processed, stage, review.quarter) for stage, f in frames.items()}
    return pd.DataFrame(
        {
            "stage": list(paths),
            "rows": [len(f) for f in frames.values()],
            "file": [p.name for p in paths.values()],
        }
    )


# ---------------------------------------------------------------------------------------------
# Charts (static matplotlib, so they survive HTML and PDF export)


def _region_colours(regions: Sequence[str]) -> dict[str, str]:
    palette = ["#3b6ea8", "#d9822b", "#5a9e6f", "#8c6bb1", "#c44e52", "#937860"]
    named = sorted(r for r in set(regions) if r != UNASSIGNED)
    return {r: palette[i % len(palette)] for i, r in enumerate(named)} | {UNASSIGNED: "#9a9a9a"}


def _done(fig):
    fig.tight_layout()
    plt.close(fig)  # returned for display; not left open in pyplot's state
    return fig


def plot_attainment(review: KpiReview):
    """Bars of territory attainment in the quarter, coloured by region, with 100 % and the flag
    line."""
    t = review.territories.dropna(subset=["attainment"]).sort_values("attainment")
    colours = _region_colours(t["region"])
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(t) + 1.6))
    labels = [
        f"{r.territory} {r.rep_name}" if isinstance(r.rep_name, str) else r.territory
        for r in t.itertuples()
    ]
    ax.barh(labels, t["attainment"], color=[colours[r] for r in t["region"]])
    for y, r in enumerate(t.itertuples()):
        money = f"{usd(r.revenue_usd)} / {usd(r.quota_usd)}".replace("$", r"\$")  # not mathtext
        ax.text(r.attainment, y, f" {r.attainment:.0%}  {money}", va="center", fontsize=8)
    ax.axvline(1.0, color="black", lw=1)
    ax.axvline(
        review.thresholds.min_attainment,
        color="#c44e52",
        ls="--",
        lw=1,
        label=f"flag below {review.thresholds.min_attainment:.0%}",
    )
    for region, c in colours.items():
        if region in set(t["region"]):
            ax.barh([labels[0]], [0], color=c, label=region)
    if t.empty:
        ax.text(
            0.5,
            0.5,
            "no territory has a quota this quarter",
            ha="center",
            transform=ax.transAxes,
            color="0.4",
        )
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, max(1.6, t["attainment"].max() * 1.35) if len(t) else 1.6)
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    ax.set_title(f"Quota attainment by territory, {review.quarter} (revenue / quota)")
    ax.grid(axis="y", visible=False)
    return _done(fig)


def plot_trend(review: KpiReview):
    """Revenue by region (stacked) against company quota, and attainment by region, per quarter."""
    reg, co = review.trend["region"], review.trend["company"]
    rev = reg.pivot(index="quarter", columns="region", values="revenue_usd").fillna(0.0)
    colours = _region_colours(rev.columns)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
    bottom = np.zeros(len(rev))
    for region in rev.columns:
        ax1.bar(rev.index, rev[region], bottom=bottom, color=colours[region], label=region)
        bottom += rev[region].to_numpy()
    ax1.plot(
        co["quarter"],
        co["quota_usd"],
        color="black",
        marker="_",
        ms=18,
        lw=0,
        label="company quota",
    )
    ax1.yaxis.set_major_formatter(FuncFormatter(usd))
    ax1.set_title("Won revenue by region")
    ax1.margins(y=0.08)
    att = reg.pivot(index="quarter", columns="region", values="attainment")
    for region in att.columns:
        if att[region].notna().any():
            ax2.plot(att.index, att[region], marker="o", color=colours[region], label=region)
    ax2.plot(co["quarter"], co["attainment"], marker="s", color="black", label="company")
    ax2.axhline(1.0, color="black", lw=0.8, ls=":")
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax2.set_title("Quota attainment")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", rotation=45)
        ax.legend(
            frameon=False, fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.22)
        )
    return _done(fig)


def plot_fairness(review: KpiReview):
    """Attainment against potential, size, growth and win rate, one scatter each, with rho."""
    t = review.territories.dropna(subset=["attainment"])
    colours = _region_colours(t["region"])
    table = review.fairness.table
    fig, axes = plt.subplots(1, len(_FAIRNESS_FACTORS), figsize=(14, 3.6), sharey=True)
    for ax, (col, (role, label)) in zip(axes, _FAIRNESS_FACTORS.items(), strict=True):
        ax.axhline(1.0, color="black", lw=0.8, ls=":")
        if t[col].notna().sum() == 0:
            ax.text(
                0.5,
                0.5,
                f"{label}:\nnot available",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="0.4",
            )
            ax.set_title(label, fontsize=10)
            ax.set_xticks([])
            continue
        ax.scatter(t[col], t["attainment"], c=[colours[r] for r in t["region"]], s=36)
        for r in t.itertuples():
            ax.annotate(
                r.territory,
                (getattr(r, col), r.attainment),
                fontsize=7,
                xytext=(3, 2),
                textcoords="offset points",
            )
        rho = table.loc[col, "spearman_rho"]
        ax.set_title(f"{label}\nρ = {rho:+.2f} ({role})", fontsize=10)
        if col.endswith("_usd"):
            ax.xaxis.set_major_formatter(FuncFormatter(usd))
        elif col in ("growth_yoy", "win_rate_value"):
            ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes[0].yaxis.set_major_formatter(PercentFormatter(1.0))
    axes[0].set_ylabel("attainment")
    fig.suptitle(
        f"Quota fairness, {review.quarter}: does attainment follow the territory?", fontsize=11
    )
    return _done(fig)


def plot_balance(review: KpiReview):
    """Deviation from the mean territory on accounts, potential and workload (bars, ±tolerance
    band)."""
    table, tol = review.balance.table, review.thresholds.max_balance_deviation
    devs = [f"{c}_dev" for c in _BALANCE if f"{c}_dev" in table]
    fig, axes = plt.subplots(
        1, len(devs), figsize=(4 * len(devs), 0.3 * len(table) + 1.6), sharey=True, squeeze=False
    )
    for ax, col in zip(axes[0], devs, strict=True):
        x = table[col].astype(float)
        ax.axvspan(-tol, tol, color="#5a9e6f", alpha=0.15, lw=0)
        ax.barh(table.index, x, color=np.where(x.abs() > tol, "#c44e52", "#3b6ea8"))
        ax.axvline(0, color="black", lw=0.8)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(f"{_BALANCE[col[:-4]]} vs mean", fontsize=10)
        ax.grid(axis="y", visible=False)
    axes[0][0].invert_yaxis()
    fig.suptitle(f"Balance of the current alignment (band = ±{tol:.0%})", fontsize=11)
    return _done(fig)


def plot_kpi_map(review: KpiReview, inputs: KpiInputs):
    """Units coloured by the attainment of the territory holding most of their accounts.

    Polygons when the data has them (``inputs.polygons``), else account points; rep homes are
    marked with their territory id. Grey: no account or an unassigned/unknown territory.
    """
    terr = review.territories.set_index("territory")["attainment"]
    acc = inputs.accounts.assign(territory=territory_of(inputs.accounts).to_numpy())
    acc["attainment"] = acc["territory"].map(terr)
    norm = TwoSlopeNorm(vmin=min(0.5, terr.min()), vcenter=1.0, vmax=max(1.5, terr.max()))
    fig, ax = plt.subplots(figsize=(8, 8))
    polys = inputs.polygons
    if polys is not None and "unit_id" in acc:
        major = acc.groupby("unit_id")["territory"].agg(lambda s: s.value_counts().index[0])
        shade = polys.assign(attainment=polys["unit_id"].map(major).map(terr))
        shade.plot(ax=ax, color="#dddddd", edgecolor="white", linewidth=0.3)
        shade.dropna(subset=["attainment"]).plot(
            ax=ax, column="attainment", cmap="RdYlGn", norm=norm, edgecolor="white", linewidth=0.3
        )
    else:
        ax.scatter(acc["lon"], acc["lat"], c=acc["attainment"], cmap="RdYlGn", norm=norm, s=4)
    homes = inputs.reps[inputs.reps["rep_id"].isin(terr.index)]
    if {"home_lat", "home_lon"} <= set(homes.columns):
        ax.scatter(homes["home_lon"], homes["home_lat"], marker="^", color="black", s=30)
        for i, r in enumerate(homes.sort_values("home_lon").itertuples()):
            ax.annotate(
                f"{r.rep_id} {terr[r.rep_id]:.0%}",
                (r.home_lon, r.home_lat),
                fontsize=8,
                xytext=(4, 3 if i % 2 else -10),
                textcoords="offset points",
                weight="bold",
            )  # alternate above/below: metro homes sit close together
    sm = plt.cm.ScalarMappable(cmap="RdYlGn", norm=norm)
    fig.colorbar(sm, ax=ax, shrink=0.6, format=PercentFormatter(1.0), label="territory attainment")
    ax.set_title(f"Territory attainment, {review.quarter} (▲ rep home)")
    ax.set_aspect(1 / np.cos(np.radians(acc["lat"].mean())))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    return _done(fig)
