"""The data-reduction steps as Ibis expressions: written once, run by any engine.

Raw cells are read as text (a CSV export) or come typed (Parquet, a warehouse table); either
way they are cast to text, trimmed and parsed here, so a value means the same on every engine:

* a **number** matches :data:`NUMBER_RE` (digits, an optional fraction and exponent; no
  thousands separators, no ``inf``/``nan``) and is then cast to float64;
* a **date** is ISO ``YYYY-MM-DD`` (a time part after ``T`` or a space is dropped) and a real
  calendar day (month 1–12, day within the month, leap years counted), built with
  ``make_date`` from its parts;
* every cast happens under a ``CASE`` whose condition already proved the text valid, because
  PostgreSQL and Spark (ANSI mode) raise on a failed cast where DuckDB's ``TRY_CAST`` gives
  ``NULL``.

The facts table (:func:`facts`) sums money as ``DECIMAL(18, 2)`` (cents) and returns float64,
so DuckDB, Spark and PostgreSQL return identical sums whatever order they add rows in.

Checked on DuckDB (embedded, the default), PySpark (local mode) and PostgreSQL by the test
suite (``tests/test_engines.py``); any other Ibis SQL backend compiles the same expressions.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from .schema import BOOL_TRUE, Column

NUMBER_RE = r"^[+-]?([0-9]{1,200}([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]{1,2})?$"
"""A number as text: optional sign, digits with an optional fraction (or a bare fraction), an
optional exponent of one or two digits (so every match fits a float64). No backslash in any
pattern here: Spark SQL reads ``\\.`` in a string literal as ``.``."""

NONFINITE_RE = r"^[+-]?(inf|infinity|nan)$"
"""Spellings of infinities and not-a-number (lower case): a numeric column holding one is
reported, never typed."""

ISO_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]|$)"
QUARTER_RE = r"^[0-9]{4}Q[1-4]$"

MONEY = "decimal(18, 2)"
"""Money is summed in cents: exact and the same on every engine."""


@ibis.udf.scalar.builtin(name="trim")
def _trim(value: str) -> str:
    """SQL's one-argument ``trim``: leading and trailing spaces, the same on every engine
    (Ibis's ``strip`` spells the whitespace set as an escaped literal that Spark misreads)."""
    raise NotImplementedError  # a builtin: compiled to SQL, never called in Python


def text(value: ir.Value) -> ir.StringValue:
    """A cell as text without leading and trailing spaces; an empty or blank cell is NULL."""
    return _trim(value.cast("string")).nullif("")


def number(v: ir.StringValue) -> ir.FloatingValue:
    """The float64 of a text cell that matches :data:`NUMBER_RE`, else NULL."""
    return ibis.ifelse(v.re_search(NUMBER_RE), v.cast("float64"), ibis.null("float64"))


def nonfinite(v: ir.StringValue) -> ir.BooleanValue:
    """True where the text spells an infinity or not-a-number."""
    return v.lower().re_search(NONFINITE_RE)


def _part(v: ir.StringValue, ok: ir.BooleanValue, start: int, length: int) -> ir.IntegerValue:
    return ibis.ifelse(ok, v.substr(start, length).cast("int32"), ibis.null("int32"))


def date(v: ir.StringValue) -> ir.DateValue:
    """The calendar date of an ISO text cell (time part dropped), else NULL."""
    ok = v.re_search(ISO_DATE_RE)
    y, m, d = _part(v, ok, 0, 4), _part(v, ok, 5, 2), _part(v, ok, 8, 2)
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = ibis.cases(
        (m.isin([4, 6, 9, 11]), 30),
        (m == 2, ibis.ifelse(leap, 29, 28)),
        else_=31,
    )
    valid = ok & (y >= 1) & m.between(1, 12) & d.between(1, days)
    return ibis.ifelse(valid.fill_null(False), ibis.date(y, m, d), ibis.null("date"))


def quarter_ok(v: ir.StringValue) -> ir.BooleanValue:
    return v.upper().re_search(QUARTER_RE)


def typed(col: Column, value: ir.Value) -> ir.Value:
    """A contract column's typed value (after the checks passed: every cell is valid).

    A column that already has the right type (Parquet, a warehouse table) is kept as it is
    (integers and floats as float64/int64, timestamps cut to dates).
    """
    kind, dtype = col.kind, value.type()
    if kind == "number" and dtype.is_numeric():
        return value.cast("float64")
    if kind == "int" and dtype.is_integer():
        return value.cast("int64")
    if kind == "date" and dtype.is_date():
        return value
    if kind == "date" and dtype.is_timestamp():
        return value.date()
    if kind == "bool" and dtype.is_boolean():
        return value
    v = text(value)
    if kind == "int":
        return v.cast("float64").cast("int64")
    if kind == "number":
        return v.cast("float64")
    if kind == "date":
        return date(v)
    if kind == "enum":
        return v.lower()
    if kind == "bool":
        return ibis.ifelse(v.isnull(), ibis.null("boolean"), v.lower().isin(list(BOOL_TRUE)))
    if kind == "quarter":
        return v.upper()
    return v


def quarter_label(d: ir.DateValue) -> ir.StringValue:
    """``YYYYQn`` of a date."""
    return d.year().cast("string").concat("Q", d.quarter().cast("string"))


KEYS = ("account_id", "rep_id", "quarter")
"""The grain of the facts and the deal sums: account × rep × quarter."""


def _sums_per_key(rows: ir.Table) -> ir.Table:
    """Every non-key column of ``rows`` summed per account, rep and quarter: money (decimal
    cents) returned as float64, counts as int64; in the columns' order, ordered by quarter,
    account, rep."""
    sums = {
        c: rows[c].sum().cast("float64" if rows[c].type().is_decimal() else "int64")
        for c in rows.columns
        if c not in KEYS
    }
    out = rows.group_by(list(KEYS)).aggregate(**sums)
    return out.select(*KEYS, *sums).order_by(["quarter", "account_id", "rep_id"])


def facts(opportunities: ir.Table) -> ir.Table:
    """Account × rep × quarter facts from typed opportunities: won and lost deals (count and
    US dollars) by their close quarter, created deals by their created quarter.

    Two selects (closed deals, created deals) stacked and grouped once, so a row exists for
    every account, rep and quarter with any activity; money summed in cents
    (:data:`MONEY`). Ordered by quarter, account, rep.
    """
    t = opportunities
    amount = t.amount_usd.cast(MONEY)
    zero = ibis.literal(0, MONEY)
    closed = t.filter(t.stage.isin(["won", "lost"])).select(
        account_id=t.account_id,
        rep_id=t.rep_id,
        quarter=quarter_label(t.close_date),
        won_usd=ibis.ifelse(t.stage == "won", amount, zero),
        won_n=ibis.ifelse(t.stage == "won", 1, 0).cast("int64"),
        lost_usd=ibis.ifelse(t.stage == "lost", amount, zero),
        lost_n=ibis.ifelse(t.stage == "lost", 1, 0).cast("int64"),
        created_n=ibis.literal(0, "int64"),
        created_usd=zero,
    )
    created = t.select(
        account_id=t.account_id,
        rep_id=t.rep_id,
        quarter=quarter_label(t.created_date),
        won_usd=zero,
        won_n=ibis.literal(0, "int64"),
        lost_usd=zero,
        lost_n=ibis.literal(0, "int64"),
        created_n=ibis.literal(1, "int64"),
        created_usd=amount,
    )
    return _sums_per_key(closed.union(created, distinct=False))


def activity_span(opportunities: ir.Table) -> ir.Table:
    """One row: the earliest created date (``first``) and the latest created or close date
    (``latest``) of typed opportunities."""
    t = opportunities
    latest = ibis.greatest(t.created_date, t.close_date.fill_null(t.created_date))
    return t.aggregate(first=t.created_date.min(), latest=latest.max())


def quarter_index(d: ir.DateValue) -> ir.IntegerValue:
    """Quarters since year 0 (``4 * year + quarter - 1``): consecutive quarters differ by 1."""
    return d.year().cast("int64") * 4 + d.quarter().cast("int64") - 1


def _quarter_start(index: ir.IntegerValue) -> ir.DateValue:
    year = (index // 4).cast("int32")
    month = ((index % 4) * 3 + 1).cast("int32")
    return ibis.date(year, month, ibis.literal(1, "int32"))


DEAL_SUMS = (
    "revenue_usd",
    "won_n",
    "lost_usd",
    "lost_n",
    "cycle_days_sum",
    "pipeline_start_usd",
    "pipeline_end_usd",
    "worked_opportunities_n",
)
"""The additive sums of :func:`deal_quarters` (after its keys, :data:`KEYS`)."""


def deal_quarters(opportunities: ir.Table, first_index: int, last_index: int) -> ir.Table:
    """Deal sums per account × deal rep × quarter, for every quarter a deal was *worked* in
    (open at some time in it: from its created quarter to its close quarter, an open deal up
    to the quarter ``last_index``, the data's last; ``first_index`` is the earliest created
    quarter: see :func:`quarter_index`).

    Per (deal, quarter): revenue and count of a deal won in the quarter, lost amount and
    count, the won deal's cycle in days (close − created), ``pipeline_start_usd`` (the amount
    when created before the quarter: it was open at its start), ``pipeline_end_usd`` (the
    amount when still open at its end) and ``worked_opportunities_n`` = 1; summed per account,
    rep and quarter. Every KPI of a territory, rep, district, region or the company is a sum of
    these rows (:mod:`workbench.kpi.tables`), so the opportunity lines never have to leave the
    engine. Money in cents (:data:`MONEY`).
    """
    t = opportunities
    first = quarter_index(t.created_date)
    last = ibis.ifelse(
        t.close_date.isnull(), ibis.literal(last_index, "int64"), quarter_index(t.close_date)
    )
    # a range join with the data's quarters (Ibis's range().unnest() drops rows on Spark 4.0)
    quarters = ibis.memtable({"__q": list(range(first_index, last_index + 1))})
    quarters = quarters.cast({"__q": "int64"})
    worked = t.mutate(__first=first, __last=last)
    worked = worked.join(
        quarters, (quarters.__q >= worked.__first) & (quarters.__q <= worked.__last)
    )
    start, nxt = _quarter_start(worked.__q), _quarter_start(worked.__q + 1)
    closed_in = worked.close_date.notnull() & (worked.close_date >= start)
    closed_in = closed_in & (worked.close_date < nxt)
    won = closed_in & (worked.stage == "won")
    lost = closed_in & (worked.stage == "lost")
    amount = worked.amount_usd.cast(MONEY)
    zero = ibis.literal(0, MONEY)
    still_open = worked.close_date.isnull() | (worked.close_date >= nxt)
    rows = worked.select(
        account_id=worked.account_id,
        rep_id=worked.rep_id,
        quarter=quarter_label(start),
        revenue_usd=ibis.ifelse(won, amount, zero),
        won_n=ibis.ifelse(won, 1, 0).cast("int64"),
        lost_usd=ibis.ifelse(lost, amount, zero),
        lost_n=ibis.ifelse(lost, 1, 0).cast("int64"),
        cycle_days_sum=ibis.ifelse(
            won, worked.close_date.delta(worked.created_date, unit="day"), 0
        ).cast("int64"),
        pipeline_start_usd=ibis.ifelse(worked.created_date < start, amount, zero),
        pipeline_end_usd=ibis.ifelse(still_open, amount, zero),
        worked_opportunities_n=ibis.literal(1, "int64"),
    )
    return _sums_per_key(rows)
