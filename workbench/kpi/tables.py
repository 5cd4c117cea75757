"""KPI tables (notebook 04): the KPI columns, the groupings, the additive sums and the ratios.

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

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import expressions
from ..concentration import TOP_SHARE, top_count
from ..config import UNASSIGNED, Quarter
from ..geo import haversine_km
from ..stages import KPI_METRICS
from .workflow import KpiInputs

OUTSIDE_METRO = "outside metro"
COMPANY = "company"
ACTIVE_QUARTERS = 4  # a customer is an account with a win in the last 4 quarters (annual renewals)
LEVEL_IDS = {
    "territory": "territory",
    "rep": "rep_id",
    "district": "district",
    "region": "region",
    "company": "company",
}
"""The roll-up levels and their id columns; ``district`` only when ``reps.csv`` has a
``district`` column (:func:`rep_districts`)."""

# The KPI columns of every level's table, in display order (docs/kpis.md has the formulas).
METRICS = KPI_METRICS


# ---------------------------------------------------------------------------------------------
# Groupings


def rep_districts(reps: pd.DataFrame) -> pd.Series | None:
    """Each rep's district today (``reps.csv``'s optional ``district`` column; a rep without
    one is ``unassigned``), or None when the reps carry no districts.

    >>> reps = pd.DataFrame({"rep_id": ["R1", "R2"], "district": ["North", None]})
    >>> rep_districts(reps).to_dict()
    {'R1': 'North', 'R2': 'unassigned'}
    """
    if "district" not in reps or reps["district"].isna().all():
        return None
    d = reps["district"].astype(object).where(reps["district"].notna()).fillna(UNASSIGNED)
    return pd.Series(d.to_numpy(), index=reps["rep_id"].to_numpy(), name="district").rename_axis(
        "rep_id"
    )


def territory_of(accounts: pd.DataFrame) -> pd.Series:
    """Each account's territory in the current alignment: its owner rep's id, or
    ``unassigned``.

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


def rep_regions(
    reps: pd.DataFrame, geo_units: pd.DataFrame | None, *, metro_km: float = 0.0
) -> pd.Series:
    """Each rep's region from their home.

    By default (``metro_km`` 0) one region definition serves notebooks 01 and 04: a rep's
    region is that of the unit nearest their home, the units' regions being
    :func:`workbench.potential.unit_regions` (the ``region`` column of ``geo_units`` when
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
    >>> rep_regions(reps, units, metro_km=60).to_dict()
    {'R1': 'metro Atlanta', 'R2': 'outside metro'}
    """
    ids = reps["rep_id"].to_numpy()
    if geo_units is None or geo_units.empty or "home_lat" not in reps:
        return pd.Series("all", index=ids, name="region").rename_axis("rep_id")
    if metro_km <= 0:
        # The regions notebook 01 uses: a rep's is their home unit's.
        from ..potential import unit_regions

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


def deal_table(inputs: KpiInputs, through: Quarter) -> pd.DataFrame:
    """Deal sums per account × deal rep × quarter (:func:`workbench.expressions.deal_quarters`):
    the ingest's ``deals_account_quarter`` table when given, else computed from the
    opportunities in memory (embedded DuckDB), open deals counted up to ``through`` or the
    data's last quarter, whichever is later."""
    if inputs.deals is not None:
        return inputs.deals
    import ibis
    import pyarrow as pa

    cols = ["account_id", "rep_id", "created_date", "close_date", "stage", "amount_usd"]
    opps = inputs.opportunities[cols]
    table = pa.table(
        {
            "account_id": pa.array(opps["account_id"].astype(object), pa.string()),
            "rep_id": pa.array(opps["rep_id"].astype(object), pa.string()),
            "created_date": pa.array(pd.to_datetime(opps["created_date"])).cast(pa.date32()),
            "close_date": pa.array(pd.to_datetime(opps["close_date"])).cast(pa.date32()),
            "stage": pa.array(opps["stage"].astype(object), pa.string()),
            "amount_usd": pa.array(opps["amount_usd"].astype(float), pa.float64()),
        }
    )
    dates = pd.concat([opps["created_date"], opps["close_date"]]).dropna()
    if dates.empty:
        return pd.DataFrame(columns=[*expressions.KEYS, *expressions.DEAL_SUMS])
    first = Quarter.from_date(dates.min().date()).index
    last = max(through.index, Quarter.from_date(dates.max().date()).index)
    con = ibis.duckdb.connect()
    try:
        return con.to_pandas(expressions.deal_quarters(con.create_table("o", table), first, last))
    finally:
        con.disconnect()


def _deal_sums(deals: pd.DataFrame, group: pd.Series, quarters: Sequence[Quarter]) -> pd.DataFrame:
    """Won/lost, cycle, pipeline and worked deals per (group, quarter): the account × rep ×
    quarter deal sums (:func:`deal_table`) added up by ``group`` (aligned with ``deals``)."""
    keep = deals["quarter"].isin([str(q) for q in quarters]).to_numpy()
    sums = list(expressions.DEAL_SUMS)
    f = deals.loc[keep, ["quarter", *sums]].assign(group=group.to_numpy()[keep])
    return f.groupby(["group", "quarter"])[sums].sum().astype(float)


def _top_share(ttm: pd.DataFrame, account_group: pd.Series) -> pd.DataFrame:
    """Share of revenue from the top ``TOP_SHARE`` of customers (at least one), per group: the
    definition of :func:`workbench.concentration.top_share`, vectorised over groups."""
    long = ttm.rename_axis(index="account_id", columns="quarter").stack().rename("ttm")
    long = long[long > 0].reset_index()
    long["group"] = long["account_id"].map(account_group)
    by = long.groupby(["group", "quarter"])["ttm"]
    k = top_count(by.transform("size").to_numpy(), TOP_SHARE)
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
    # each window summed directly (a rolling sum over a million account columns took minutes,
    # and a running-sum difference leaves crumbs like 1e-12 where an account bought nothing)
    r = rev.to_numpy(dtype=float)
    window = np.full(r.shape, np.nan)
    for j in range(ACTIVE_QUARTERS - 1, r.shape[1]):
        window[:, j] = r[:, j - ACTIVE_QUARTERS + 1 : j + 1].sum(axis=1)
    ttm = pd.DataFrame(window, index=rev.index, columns=rev.columns)
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
        0 (default): regions of the units (:func:`rep_regions`); > 0: radius of the metro
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
    static = _territory_book(inputs, acc_terr)  # may add UNASSIGNED for uncovered market
    terrs = sorted(set(acc_terr.unique()) | set(static.index))
    rep_region = rep_regions(inputs.reps, inputs.geo_units, metro_km=metro_km)
    terr_region = pd.Series({t: rep_region.get(t, UNASSIGNED) for t in terrs})
    rep_district = rep_districts(inputs.reps)
    if level == "district" and rep_district is None:
        raise ValueError("level 'district' needs a district column in reps.csv")
    terr_district = (
        None
        if rep_district is None
        else pd.Series({t: rep_district.get(t, UNASSIGNED) for t in terrs})
    )
    # revenue from four quarters before the first one, for growth; unknown before the data starts
    span = [Quarter.from_index(i) for i in range(qs[0].index - ACTIVE_QUARTERS, qs[-1].index + 1)]
    dq = deal_table(inputs, qs[-1])
    opp_terr = dq["account_id"].map(acc_terr).fillna(UNASSIGNED)
    reps_n = pd.Series([float(t != UNASSIGNED) for t in terrs], index=terrs)
    if level == "territory":
        terr_group = quota_group = pd.Series(terrs, index=terrs)
        deal_group, groups = opp_terr, terrs
    elif level == "rep":
        owned = [t for t in terrs if t != UNASSIGNED]
        terr_group, deal_group = pd.Series(owned, index=owned), dq["rep_id"]
        groups = sorted(
            set(inputs.reps["rep_id"])
            | set(opps["rep_id"].dropna().unique())
            | set(inputs.quotas["rep_id"])
        )
        quota_group = pd.Series(groups, index=groups)
    elif level == "region":
        terr_group, deal_group = terr_region, opp_terr.map(terr_region)
        quota_group, groups = rep_region, sorted(set(terr_region) | set(rep_region))
    elif level == "district":
        assert terr_district is not None and rep_district is not None  # checked above
        terr_group, deal_group = terr_district, opp_terr.map(terr_district)
        quota_group, groups = rep_district, sorted(set(terr_district) | set(rep_district))
    else:
        terr_group = pd.Series(COMPANY, index=terrs)
        deal_group = pd.Series(COMPANY, index=dq.index)
        quota_group, groups = pd.Series(COMPANY, index=inputs.quotas["rep_id"].unique()), [COMPANY]

    index = pd.MultiIndex.from_product([groups, [str(q) for q in qs]], names=["group", "quarter"])
    deals = _deal_sums(dq, deal_group, span)
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
    return _label(f, level, inputs.reps, rep_region, terr_region, rep_district, terr_district)


def _label(
    f: pd.DataFrame,
    level: str,
    reps: pd.DataFrame,
    rep_region: pd.Series,
    terr_region: pd.Series,
    rep_district: pd.Series | None = None,
    terr_district: pd.Series | None = None,
) -> pd.DataFrame:
    """Id and name columns first, then quarter and the KPI columns; counts as nullable ints."""
    f = f.rename(columns={"group": LEVEL_IDS[level]})
    names = reps.set_index("rep_id")["rep_name"] if "rep_name" in reps else pd.Series(dtype=str)
    district = [] if rep_district is None else ["district"]
    if level == "territory":
        f["rep_id"] = f["territory"].where(f["territory"] != UNASSIGNED)
        f["rep_name"] = f["rep_id"].map(names)
        f["region"] = f["territory"].map(terr_region)
        if terr_district is not None:
            f["district"] = f["territory"].map(terr_district)
        ids = ["territory", "rep_id", "rep_name", *district, "region"]
    elif level == "rep":
        f["rep_name"] = f["rep_id"].map(names)
        f["region"] = f["rep_id"].map(rep_region).fillna(UNASSIGNED)
        if rep_district is not None:
            f["district"] = f["rep_id"].map(rep_district).fillna(UNASSIGNED)
        active = reps.set_index("rep_id")["active"] if "active" in reps else pd.Series(dtype=str)
        f["active"] = f["rep_id"].map(active.astype(str).str.lower().eq("true"))
        ids = ["rep_id", "rep_name", *district, "region", "active"]
    else:
        ids = [LEVEL_IDS[level]]
    out = f[[*ids, "quarter", *METRICS]].copy()
    for c in [c for c in METRICS if c.endswith("_n")]:
        out[c] = out[c].round().astype("Int64")
    return out.sort_values(["quarter", ids[0]]).reset_index(drop=True)
