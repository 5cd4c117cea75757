"""Lead-scoring data (notebook 02, section 3): examples whose features use only what was known
at each opportunity's created date (:func:`lead_features`), and the time-based split that
holds out the latest quarter(s) and refuses leaks (:func:`time_split`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import cast

import numpy as np
import pandas as pd

from ..config import Quarter
from ..geo import unit_drivers
from ..schema import CONTRACT
from ._common import _html_block, _require

# ---------------------------------------------------------------------------------------------
# 3. Lead scoring

LEAD_FEATURE_LABELS = {
    "industry": "industry",
    "employees": "company size (employees)",
    "competitor_presence": "competitor presence in the account's unit (0-1)",
    "rep_win_rate": "the rep's win rate on earlier deals",
    "account_prior_wins": "earlier won deals with the account",
    "account_prior_losses": "earlier lost deals with the account",
    "deal_type": "deal type",
}
NEW_BUSINESS = "new business (no earlier win with the account)"
"""The default lead-scoring population, derived from the data rather than a CRM's labels."""
UNIT_PREFIX = "unit_"
"""Lead features from the account's geographic unit are its drivers, ``unit_<column>``."""
#: The opportunity columns lead features read (and keep, with deal_type when present): the
#: contract's required ones.
_OPPORTUNITY_COLUMNS = tuple(c.name for c in CONTRACT["opportunities"].required_columns)
SIZE_BANDS = ((0, "1-49"), (50, "50-249"), (250, "250-999"), (1000, "1000+"))


def size_band(employees: pd.Series) -> pd.Series:
    """Employee size bands ``1-49``, ``50-249``, ``250-999``, ``1000+`` (same index).

    >>> size_band(pd.Series([3, 50, 999, 5000])).tolist()
    ['1-49', '50-249', '250-999', '1000+']
    """
    edges = [lo for lo, _ in SIZE_BANDS[1:]]
    labels = np.array([label for _, label in SIZE_BANDS])
    codes = np.searchsorted(edges, employees.fillna(0).to_numpy(), side="right")
    return pd.Series(labels[codes], index=employees.index, dtype=object)


def lead_feature_label(column: str) -> str:
    """Plain words for a lead feature (unit drivers keep their column name)."""
    if column in LEAD_FEATURE_LABELS:
        return LEAD_FEATURE_LABELS[column]
    if column.startswith(UNIT_PREFIX):
        return f"{column.removeprefix(UNIT_PREFIX)} of the account's geographic unit"
    return column


REP_PRIOR_DEALS = 10.0
"""Pseudo-deals at a 50 % win rate added to every rep's record (a new rep is average)."""


class LeakageError(ValueError):
    """A lead-scoring split lets the model learn from outcomes of its test period."""


@dataclasses.dataclass(frozen=True)
class LeadData:
    """Lead-scoring examples with features as of each row's date (see :func:`lead_features`).

    Attributes
    ----------
    closed : DataFrame
        Opportunities closed (won or lost) by quarter end: ids, ``created_date``,
        ``close_date``, ``amount_usd``, ``won`` (1/0), ``as_of`` (= created date), features.
    open : DataFrame
        Opportunities still open at quarter end (same columns, ``won`` empty).
    prospects : DataFrame
        Prospect accounts with features as of the day after quarter end (rep = owner rep).
    firmographics : DataFrame
        Static features of every account (industry, employees, county drivers), for
        lookalikes.
    feature_columns : tuple of str
        Model features, those :data:`LEAD_FEATURE_LABELS` names that the data supports.
    """

    closed: pd.DataFrame
    open: pd.DataFrame
    prospects: pd.DataFrame
    firmographics: pd.DataFrame
    feature_columns: tuple[str, ...]
    quarter: str
    deal_types: tuple[str, ...]

    def summary(self) -> pd.DataFrame:
        won = int(self.closed["won"].sum()) if len(self.closed) else 0
        rows = [
            ("deal types", ", ".join(self.deal_types) or "all"),
            (
                "closed opportunities (won / lost)",
                f"{len(self.closed):,} ({won:,} / {len(self.closed) - won:,})",
            ),
            ("open opportunities at quarter end", f"{len(self.open):,}"),
            ("prospects to score", f"{len(self.prospects):,}"),
            ("features", ", ".join(self.feature_columns)),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def _repr_html_(self) -> str:
        return _html_block(f"Lead-scoring data to {self.quarter}", [("", self.summary())])


def _unit_features(
    geo_units: pd.DataFrame | None, competitors: pd.DataFrame | None
) -> pd.DataFrame:
    """Per unit id: every market driver the data has (``unit_<column>``, see
    :func:`workbench.geo.unit_drivers`) and the mean competitor presence."""
    out = pd.DataFrame(index=pd.Index([], name="unit_id"))
    if geo_units is not None:
        g = geo_units.set_index(geo_units["unit_id"].astype(str))
        out = g[unit_drivers(geo_units)].astype(float).rename(columns=lambda c: UNIT_PREFIX + c)
    if competitors is not None and len(competitors):
        pres = competitors.groupby(competitors["unit_id"].astype(str))["presence"].mean()
        out = out.join(pres.rename("competitor_presence"), how="outer")
    return out


def _history_asof(queries: pd.DataFrame, events: pd.DataFrame, key: str) -> pd.DataFrame:
    """Won and lost counts per ``key`` from events closed strictly before each query's date.

    ``queries``: ``key``, ``as_of``; ``events``: ``key``, ``close_date``, ``won``. Returns
    ``wins``, ``losses`` aligned with ``queries``' index (0 when nothing closed before; missing
    when the query has no ``key``).

    Events are sorted by (key, close date) once; a query's history is then the run of its key's
    events before its date, found by binary search, and the counts are differences of running
    sums. Keys and dates are replaced by integer codes and ranks first, so this costs
    O((events + queries) log events) with no per-key Python work (17 million deals of a million
    accounts take about ten seconds, where a keyed merge_asof took a minute).
    """
    ev = events.loc[events[key].notna(), [key, "close_date", "won"]]
    known = queries[key].notna().to_numpy()
    q = queries.loc[known]
    codes, _ = pd.factorize(pd.concat([ev[key].astype(str), q[key].astype(str)], ignore_index=True))
    ev_code, q_code = codes[: len(ev)].astype(np.int64), codes[len(ev) :].astype(np.int64)
    ev_t = ev["close_date"].to_numpy("datetime64[ns]").view(np.int64)
    q_t = q["as_of"].to_numpy("datetime64[ns]").view(np.int64)
    times = np.unique(np.concatenate([ev_t, q_t]))
    span = len(times) + 1
    ev_key = ev_code * span + np.searchsorted(times, ev_t)
    q_key = q_code * span + np.searchsorted(times, q_t)
    order = np.argsort(ev_key, kind="stable")
    ev_key = ev_key[order]
    won = np.concatenate([[0], np.cumsum(ev["won"].to_numpy(dtype=np.int64)[order])])
    # binary searches with sorted needles walk the events once, in memory order
    asked = np.argsort(q_key, kind="stable")
    before = np.empty(len(q_key), dtype=np.int64)
    first = np.empty(len(q_key), dtype=np.int64)
    before[asked] = np.searchsorted(ev_key, q_key[asked], side="left")  # closed before as_of
    first[asked] = np.searchsorted(ev_key, q_code[asked] * span, side="left")  # key's first
    wins = won[before] - won[first]
    out = pd.DataFrame({"wins": np.nan, "losses": np.nan}, index=queries.index)
    out.loc[known, "wins"] = wins.astype(float)
    out.loc[known, "losses"] = (before - first - wins).astype(float)
    return out


def _features_at(
    queries: pd.DataFrame, firmographics: pd.DataFrame, events: pd.DataFrame
) -> pd.DataFrame:
    """Features of (account, rep, as_of) queries from information dated before ``as_of``."""
    out = queries.join(firmographics, on="account_id", how="left")
    acc = _history_asof(queries, events, "account_id")
    out["account_prior_wins"] = acc["wins"]
    out["account_prior_losses"] = acc["losses"]
    rep = _history_asof(queries, events, "rep_id")
    out["rep_win_rate"] = (rep["wins"] + REP_PRIOR_DEALS / 2) / (
        rep["wins"] + rep["losses"] + REP_PRIOR_DEALS
    )
    return out


def lead_features(
    accounts: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    quarter: Quarter | str,
    geo_units: pd.DataFrame | None = None,
    competitors: pd.DataFrame | None = None,
    deal_types: Sequence[str] | None = None,
) -> LeadData:
    """Lead-scoring examples whose features use only what was known at the time.

    An opportunity's features are taken **as of its created date**: the account's firmographics
    (industry, employees; county drivers and competitor presence of its unit when given), the
    account's wins and losses closed *before* that date, and its rep's win rate on deals closed
    before that date (smoothed towards 50 % by :data:`REP_PRIOR_DEALS` pseudo-deals). Nothing
    about the opportunity's own or any later outcome enters; the account's current ``status``
    and owner are never used for history. Prospects are scored as of the day after quarter
    end, with their owner rep. Deals closed after quarter end count as open at quarter end.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id``, ``account_name``, ``industry``, ``employees``, ``status``,
        ``owner_rep_id``; ``unit_id`` (for county drivers), ``size_band`` (derived if absent).
    opportunities : DataFrame
        ``opportunity_id``, ``account_id``, ``rep_id``, ``created_date``, ``close_date``
        (datetime), ``stage``, ``amount_usd`` (USD); ``deal_type`` optional.
    quarter : Quarter or str
        Information cut-off: the end of this quarter.
    geo_units : DataFrame, optional
        ``unit_id`` and the market drivers it has (every one becomes ``unit_<column>``).
    competitors : DataFrame, optional
        ``unit_id``, ``presence`` (0-1); the mean per unit becomes ``competitor_presence``.
    deal_types : sequence of str, optional
        Which opportunities to learn from and score. ``None`` (default): **new business
        from the data** — deals on an account with no won deal closed before the deal was
        created, whatever a CRM calls them (:data:`NEW_BUSINESS`). A list: those labels of
        the ``deal_type`` column (a company's own mapping). Empty: every deal. Account and
        rep history always use every deal.

    Returns
    -------
    LeadData

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a", "b"], "account_name": ["A", "B"],
    ...     "industry": ["Retail", "Retail"], "employees": [10, 20],
    ...     "status": ["customer", "prospect"], "owner_rep_id": ["R1", "R1"]})
    >>> opp = pd.DataFrame({"opportunity_id": ["o1", "o2"], "account_id": ["a", "a"],
    ...     "rep_id": ["R1", "R1"], "created_date": pd.to_datetime(["2026-01-05", "2026-05-01"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-06-01"]), "stage": ["lost", "won"],
    ...     "amount_usd": [10.0, 20.0]})
    >>> data = lead_features(acc, opp, quarter="2026Q2", deal_types=None)
    >>> data.closed[["opportunity_id", "won", "account_prior_losses"]].values.tolist()
    [['o1', 0, 0.0], ['o2', 1, 1.0]]
    """
    _require(
        accounts,
        ["account_id", "account_name", "industry", "employees", "status", "owner_rep_id"],
        "accounts",
    )
    _require(opportunities, _OPPORTUNITY_COLUMNS, "opportunities")
    q = Quarter.parse(quarter)
    end = pd.Timestamp(q.end)
    opp = opportunities.copy()
    opp["created_date"] = pd.to_datetime(opp["created_date"])
    opp["close_date"] = pd.to_datetime(opp["close_date"])
    opp = opp.loc[opp["created_date"] <= end]
    decided = (
        opp["stage"].isin(["won", "lost"]) & opp["close_date"].notna() & (opp["close_date"] <= end)
    )
    events = opp.loc[decided, ["account_id", "rep_id", "close_date"]].assign(
        won=(opp.loc[decided, "stage"] == "won").astype(int)
    )

    firmo = accounts[["account_id", "account_name", "industry", "employees"]].copy()
    firmo["employees"] = firmo["employees"].astype(float)
    firmo["size_band"] = (
        accounts["size_band"].astype(object)
        if "size_band" in accounts.columns
        else size_band(accounts["employees"])
    )
    units = _unit_features(geo_units, competitors)
    if "unit_id" in accounts.columns and len(units.columns):
        firmo["unit_id"] = accounts["unit_id"].astype(str)
        firmo = firmo.join(units, on="unit_id").drop(columns="unit_id")
    firmo = firmo.set_index("account_id")

    derived = deal_types is None
    # not derived: deal_types is not None
    types = (NEW_BUSINESS,) if derived else tuple(cast(Sequence[str], deal_types))
    if types and not derived:
        if "deal_type" not in opp.columns:
            raise ValueError(
                f"deal_types {list(types)} name deal_type labels, but opportunities "
                "have no deal_type column: use deal_types=None (new business "
                "from the data) or [] (every deal)"
            )
        unknown = sorted(set(types) - set(opp["deal_type"].dropna().astype(str)))
        if unknown:
            raise ValueError(
                f"deal_types {unknown} not found in opportunities.deal_type; its "
                f"labels: {sorted(opp['deal_type'].dropna().astype(str).unique())}"
            )
        examples = opp.loc[opp["deal_type"].isin(types)]
    else:
        examples = opp
    keep = [*_OPPORTUNITY_COLUMNS] + (["deal_type"] if "deal_type" in examples.columns else [])
    ex = examples[keep].assign(as_of=examples["created_date"])
    ex = _features_at(ex, firmo, events)
    if derived:  # new business: nothing was won with the account before this deal
        ex = ex.loc[ex["account_prior_wins"] == 0]
        ex = ex.drop(columns=[c for c in ("deal_type",) if c in ex.columns])
    is_closed = decided.loc[ex.index]
    ex["won"] = np.where(is_closed, (ex["stage"] == "won").astype(int), np.nan)
    closed = ex.loc[is_closed].copy()
    closed["won"] = closed["won"].astype(int)
    open_ = ex.loc[~is_closed].assign(close_date=pd.NaT)

    prospect_rows = accounts.loc[accounts["status"] == "prospect", ["account_id", "owner_rep_id"]]
    pq = pd.DataFrame(
        {
            "account_id": prospect_rows["account_id"].to_numpy(),
            "rep_id": prospect_rows["owner_rep_id"].astype(object).to_numpy(),
            "as_of": end + pd.Timedelta(days=1),
        }
    )
    if "deal_type" in ex.columns:
        # a prospect's next deal is of the first type listed, or else the type that first
        # deals with an account most often have in this CRM
        first_deals = ex.loc[ex["account_prior_wins"] == 0, "deal_type"].dropna().astype(str)
        pool = first_deals if len(first_deals) else ex["deal_type"].dropna().astype(str)
        pq["deal_type"] = (
            types[0]
            if types
            else (pool.value_counts().sort_index().idxmax() if len(pool) else None)
        )
    prospects = _features_at(pq, firmo, events)

    features = [
        "industry",
        "employees",
        *(c for c in units.columns if c.startswith(UNIT_PREFIX)),
        "competitor_presence",
        "rep_win_rate",
        "account_prior_wins",
        "account_prior_losses",
    ]
    if "deal_type" in ex.columns and ex["deal_type"].nunique() > 1:
        features.append("deal_type")
    features = [c for c in features if c in closed.columns]
    return LeadData(
        closed=closed.sort_values(["close_date", "opportunity_id"], ignore_index=True),
        open=open_.sort_values(["created_date", "opportunity_id"], ignore_index=True),
        prospects=prospects.reset_index(drop=True),
        firmographics=firmo.reset_index(),
        feature_columns=tuple(features),
        quarter=str(q),
        deal_types=types,
    )


@dataclasses.dataclass(frozen=True)
class TimeSplit:
    """Train on opportunities closed before ``test_start``, test on those closed in
    ``[test_start, test_end]``. :meth:`check` refuses a split that leaks."""

    train: pd.DataFrame
    test: pd.DataFrame
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    feature_columns: tuple[str, ...]

    def check(self) -> None:
        """Raise :class:`LeakageError` if the model could learn from its test period.

        A training opportunity that closed on or after ``test_start`` carries an outcome the
        model is tested on (or a later one); features dated after an example's created date
        would use the future. Both are refused with the offending ids.
        """
        late = self.train.loc[pd.to_datetime(self.train["close_date"]) >= self.test_start]
        if len(late):
            ids = ", ".join(late["opportunity_id"].astype(str).head(5))
            raise LeakageError(
                f"{len(late)} training opportunit{'y' if len(late) == 1 else 'ies'} closed on or "
                f"after the test period starts ({self.test_start:%Y-%m-%d}), e.g. {ids}: "
                "the model would learn outcomes it is tested on"
            )
        for name, frame in (("training", self.train), ("test", self.test)):
            if "as_of" in frame.columns:
                late_as_of = pd.to_datetime(frame["as_of"]) > pd.to_datetime(frame["created_date"])
                bad = frame.loc[late_as_of]
                if len(bad):
                    ids = ", ".join(bad["opportunity_id"].astype(str).head(5))
                    raise LeakageError(
                        f"{len(bad)} {name} opportunities have features dated "
                        f"after their created date, e.g. {ids}"
                    )
        outside = self.test.loc[
            (pd.to_datetime(self.test["close_date"]) < self.test_start)
            | (pd.to_datetime(self.test["close_date"]) > self.test_end)
        ]
        if len(outside):
            raise LeakageError(f"{len(outside)} test opportunities closed outside the test period")

    def summary(self) -> pd.DataFrame:
        rows = [
            ("training: closed before", f"{self.test_start:%Y-%m-%d}"),
            (
                "training opportunities (win rate)",
                f"{len(self.train):,} ({self.train['won'].mean():.0%})",
            ),
            ("test period", f"{self.test_start:%Y-%m-%d} to {self.test_end:%Y-%m-%d}"),
            (
                "test opportunities (win rate)",
                f"{len(self.test):,} ({self.test['won'].mean():.0%})",
            ),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def _repr_html_(self) -> str:
        return _html_block("Time-based split", [("", self.summary())])


def time_split(
    closed: pd.DataFrame | LeadData,
    *,
    quarter: Quarter | str,
    test_quarters: int = 1,
    feature_columns: Sequence[str] | None = None,
) -> TimeSplit:
    """Hold out the latest ``test_quarters`` quarters (ending with ``quarter``) for testing.

    Parameters
    ----------
    closed : DataFrame or LeadData
        Closed opportunities with features (:attr:`LeadData.closed`): ``opportunity_id``,
        ``created_date``, ``close_date``, ``won``; a :class:`LeadData` also gives its features.
    quarter : Quarter or str
        Last test quarter.
    test_quarters : int
        Quarters in the test period.
    feature_columns : sequence of str, optional
        Model features (default: :data:`LEAD_FEATURE_LABELS` names present).

    Examples
    --------
    >>> closed = pd.DataFrame({"opportunity_id": ["a", "b", "c"], "won": [1, 0, 1],
    ...     "created_date": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-05-01"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-04-15", "2026-09-01"])})
    >>> s = time_split(closed, quarter="2026Q3")
    >>> s.train["opportunity_id"].tolist(), s.test["opportunity_id"].tolist()
    (['a', 'b'], ['c'])
    """
    if isinstance(closed, LeadData):
        feature_columns = feature_columns or closed.feature_columns
        closed = closed.closed
    q = Quarter.parse(quarter)
    if len(closed) == 0:
        raise ValueError(
            f"no closed (won or lost) opportunities up to {q}: lead scoring needs "
            "closed deals to learn from (check deal_types and the quarter)"
        )
    start = pd.Timestamp((q - (test_quarters - 1)).start)
    end = pd.Timestamp(q.end)
    close = pd.to_datetime(closed["close_date"])
    train, test = closed.loc[close < start], closed.loc[(close >= start) & (close <= end)]
    if len(train) == 0:
        raise ValueError(
            f"no closed opportunities before the test period starts ({start:%Y-%m-%d})"
            ": choose a later quarter or fewer test_quarters"
        )
    if len(test) == 0:
        raise ValueError(
            f"no opportunities closed in the test period {start:%Y-%m-%d} to "
            f"{end:%Y-%m-%d}: choose another quarter or more test_quarters"
        )
    cols = tuple(
        feature_columns
        or [c for c in closed.columns if c in LEAD_FEATURE_LABELS or c.startswith(UNIT_PREFIX)]
    )
    return TimeSplit(
        train=train.reset_index(drop=True),
        test=test.reset_index(drop=True),
        test_start=start,
        test_end=end,
        feature_columns=cols,
    )
