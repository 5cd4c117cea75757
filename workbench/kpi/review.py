"""The KPI review of notebook 04: the results object (:class:`KpiReview`) and its entry point
(:func:`review_kpis`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import SupportsFloat

import pandas as pd

from ..concentration import gini
from ..config import Quarter
from ..plots import pct, usd
from ..results import Results, Summary
from .findings import Finding, balance_review, flag_kpis, quota_fairness
from .tables import COMPANY, LEVEL_IDS, METRICS, history_start, kpi_table, rep_districts
from .workflow import KpiInputs, Thresholds

# ---------------------------------------------------------------------------------------------
# The review: results object, entry point


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
    return {"usd": usd(v), "pct": pct(v), "x": f"{v:.2f}x", "num": f"{v:,.0f}"}[kind]


@dataclasses.dataclass(frozen=True, repr=False)
class KpiReview(Results):
    """One quarter's KPI review: KPI tables per level, flags, fairness and balance findings.

    Attributes
    ----------
    quarter : str
    trend : dict of str to DataFrame
        :func:`kpi_table` per level (``territory``, ``rep``, ``district`` when the reps carry
        one, ``region``, ``company``) over the
        trailing quarters; the properties below cut out the review quarter.
    flags : DataFrame
        :func:`flag_kpis` for the quarter.
    fairness, balance : Finding
    thresholds : Thresholds
    overlay_credit : DataFrame or None
        With notebook 03's industry overlays for the quarter (``overlay_plan``, the proposed
        books): per overlay specialist territory, the quarter's won deals and revenue on its
        accounts, credited to the specialist on top of the owner (:func:`overlay_credit`) - as
        the proposed overlays would credit them; None without overlays.
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
    overlay_credit: pd.DataFrame | None = None

    def at(self, level: str) -> pd.DataFrame:
        """The review quarter's rows of one level."""
        f = self.trend[level]
        return f[f["quarter"] == self.quarter].reset_index(drop=True)

    territories = property(lambda self: self.at("territory"), doc="Territory KPIs, the quarter.")
    reps = property(lambda self: self.at("rep"), doc="Rep KPIs, the quarter.")
    regions = property(lambda self: self.at("region"), doc="Region KPIs, the quarter.")

    @property
    def districts(self) -> pd.DataFrame | None:
        """District KPIs, the quarter (None when ``reps.csv`` has no ``district`` column)."""
        return self.at("district") if "district" in self.trend else None

    company = property(lambda self: self.at("company"), doc="Company KPIs, the quarter.")

    @property
    def gini_attainment(self) -> float:
        return gini(self.territories["attainment"])

    def summary(self) -> Summary:
        """Headline KPIs of the quarter (formatted text): company and each region.

        Titled ``KPI review <quarter>``; the notes are the headline numbers, the fairness and
        balance verdicts and what is missing or limited (``Note: ...``).
        """
        cols = {COMPANY: self.company.iloc[0]} if len(self.company) else {}
        cols |= {r["region"]: r for _, r in self.regions.iterrows()}
        table = pd.DataFrame(
            {name: [_fmt(row[c], k) for _, c, k in _SUMMARY] for name, row in cols.items()},
            index=pd.Index([lab for lab, _, _ in _SUMMARY], name=self.quarter),
        )
        facts = self._headline_facts()
        notes = [facts[:1].upper() + facts[1:]] if facts else []
        notes += [self.fairness.verdict, self.balance.verdict]
        notes += [f"Note: {n}" for n in self.notes]
        return Summary(table, title=f"KPI review {self.quarter}", notes=notes)

    def to_frame(self) -> pd.DataFrame:
        """All levels for the quarter, stacked: ``level``, ``id`` and every KPI column."""
        parts = [
            self.at(lv).rename(columns={LEVEL_IDS[lv]: "id"}).assign(level=lv) for lv in self.trend
        ]
        return pd.concat(parts, ignore_index=True)[["level", "id", "quarter", *METRICS]]

    def _headline_facts(self) -> str:
        if not len(self.company):
            return ""
        c = self.company.iloc[0]
        return (
            f"revenue {_fmt(c['revenue_usd'], 'usd')} "
            f"({_fmt(c['attainment'], 'pct')} of quota, YoY {_fmt(c['growth_yoy'], 'pct')}); "
            f"{len(self.flags)} flag(s); Gini of territory attainment "
            f"{self.gini_attainment:.2f}."
        )

    def headline(self) -> str:
        return f"KPI review {self.quarter}: {self._headline_facts()}"


def review_kpis(
    inputs: KpiInputs,
    *,
    quarter: Quarter | str,
    trailing_quarters: int = 8,
    thresholds: Thresholds = Thresholds(),  # noqa: B008 - a frozen dataclass, safe as a default
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
    levels = [lv for lv in LEVEL_IDS if lv != "district" or rep_districts(inputs.reps) is not None]
    trend = {lv: kpi_table(inputs, level=lv, quarters=quarters, metro_km=metro_km) for lv in levels}
    at = {lv: f[f["quarter"] == str(q)] for lv, f in trend.items()}
    has_overlays = inputs.overlays is not None and len(inputs.overlays) > 0
    credit = overlay_credit(inputs, quarter=q) if has_overlays else None
    if credit is not None:
        notes.append(
            "overlay_credit credits the quarter's won deals to the specialist territories of "
            "notebook 03's proposed overlays (as the proposed books would credit them), on top "
            "of the owners."
        )
    return KpiReview(
        overlay_credit=credit,
        quarter=str(q),
        trend=trend,
        thresholds=thresholds,
        notes=tuple(notes),
        flags=flag_kpis(at["territory"], at["rep"], thresholds=thresholds),
        fairness=quota_fairness(at["territory"]),
        balance=balance_review(at["territory"], tolerance=thresholds.max_balance_deviation),
    )


def overlay_credit(inputs: KpiInputs, *, quarter: Quarter | str) -> pd.DataFrame:
    """The quarter's won deals on overlay accounts (``inputs.overlays``: notebook 03's
    ``overlay_plan``), credited to each specialist territory: ``group``, ``deals``,
    and ``credit_usd``: the same dollars the owners' territories hold (one deal, two holders,
    never twice to one).

    >>> ts = pd.to_datetime
    >>> opps = pd.DataFrame({"account_id": ["A1", "A2", "A1"], "rep_id": "R1",
    ...     "created_date": ts(["2026-07-01"] * 3),
    ...     "close_date": ts(["2026-08-01", "2026-08-02", "2026-08-03"]),
    ...     "stage": ["won", "won", "lost"], "amount_usd": [100.0, 50.0, 70.0]})
    >>> inputs = KpiInputs(accounts=pd.DataFrame({"account_id": ["A1", "A2"],
    ...     "owner_rep_id": "R1"}), opportunities=opps, reps=pd.DataFrame({"rep_id": ["R1"]}),
    ...     quotas=pd.DataFrame(columns=["quarter", "rep_id", "quota_usd"]),
    ...     overlays=pd.DataFrame({"account_id": ["A1"], "group": ["hc"],
    ...                            "overlay_territory": ["hc-01"]}))
    >>> overlay_credit(inputs, quarter="2026Q3").to_dict("index")
    {'hc-01': {'group': 'hc', 'deals': 1, 'credit_usd': 100.0}}
    """
    q = Quarter.parse(quarter)
    ov = inputs.overlays
    assert ov is not None
    opps = inputs.opportunities
    won = opps[(opps["stage"] == "won") & opps["close_date"].notna()]
    won = won[won["close_date"].dt.to_period("Q").astype(str) == str(q)]
    where = ov.set_index(ov["account_id"].astype(str))
    territory = won["account_id"].astype(str).map(where["overlay_territory"])
    won = won.assign(overlay_territory=territory.to_numpy()).dropna(subset=["overlay_territory"])
    g = won.groupby("overlay_territory")
    out = pd.DataFrame(
        {
            "group": where.drop_duplicates("overlay_territory").set_index("overlay_territory")[
                "group"
            ],
        }
    )
    out["deals"] = g.size().reindex(out.index).fillna(0).astype(int)
    out["credit_usd"] = g["amount_usd"].sum().reindex(out.index).fillna(0.0)
    return out.rename_axis("overlay_territory")
