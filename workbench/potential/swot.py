"""SWOT inputs (notebook 01, section "SWOT inputs"): the evidence per company, region and
territory, the thresholds that turn it into entries, and the entries merged with the analyst's."""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Sequence

import pandas as pd

from ..config import UNASSIGNED, Quarter
from ..plots import usd
from ..results import Results, Summary
from .achievable import PotentialResults, account_history

SWOT_KINDS = ("strength", "weakness", "opportunity", "threat")
_QUADRANT_TITLES = {
    "strength": "Strengths",
    "weakness": "Weaknesses",
    "opportunity": "Opportunities",
    "threat": "Threats",
}


# ---------------------------------------------------------------------------------------------
# SWOT inputs


@dataclasses.dataclass(frozen=True)
class SwotThresholds:
    """When a number becomes a SWOT entry (all documented in ``docs/potential.md``).

    Comparisons are against the company as a whole unless stated.
    """

    win_rate_gap: float = 0.05
    """Win rate this many points above (strength) or below (weakness) the company's."""
    penetration_high: float = 1.25
    """Penetration at least this multiple of the company's: strength (share of wallet)."""
    penetration_low: float = 0.75
    """Penetration at most this multiple of the company's: weakness."""
    growth_strong: float = 0.10
    """Trailing-year revenue growth at least this: strength."""
    retention_drop: float = 0.05
    """Customer retention falling by this many points year on year: weakness."""
    whitespace_high: float = 1.25
    """Whitespace at least this multiple of the average scope of its kind: opportunity."""
    forecast_change: float = 0.05
    """Forecast for the next quarters vs the same quarters a year earlier: ≥ +this is an
    opportunity, ≤ −this a threat."""
    high_potential_quantile: float = 0.75
    """Units with an index share in this top quantile are high-potential…"""
    coverage_low: float = 0.5
    """…and under-covered when account-based potential is below this share of the index's."""
    pressure_gap: float = 0.05
    """Competitor pressure this much above the company's: threat."""
    decline: float = -0.05
    """Trailing-year revenue growth at most this: threat."""
    large_account_quantile: float = 0.8
    """Large accounts: the top fifth by prior-year revenue (company-wide)."""
    churn_share: float = 0.05
    """Large accounts lost (revenue last year, none this year) carrying at least this share
    of the scope's prior-year revenue: threat."""


def scope_metrics(
    potential: PotentialResults,
    facts: pd.DataFrame,
    *,
    quarter: Quarter | str,
    forecast: pd.DataFrame | None = None,
    thresholds: SwotThresholds | None = None,
) -> pd.DataFrame:
    """The evidence behind the SWOT entries, one row per company, region and territory.

    Parameters
    ----------
    potential : PotentialResults
    facts : DataFrame
        ``account_id``, ``quarter``, ``won_usd``, ``won_n``, ``lost_n``.
    quarter : Quarter or str
        Planning quarter (end of the trailing year).
    forecast : DataFrame, optional
        :func:`workbench.forecast.forecast_stage` output (``scope_type``, ``scope``,
        ``period``, ``kind``, ``value_usd``, ``mean_usd``).
    thresholds : SwotThresholds, optional

    Returns
    -------
    DataFrame
        Index (``scope_type``, ``scope``): ``revenue_usd``, ``prior_revenue_usd``, ``growth``,
        ``potential_usd``, ``whitespace_usd``, ``penetration``, ``win_rate``, ``retention``,
        ``prior_retention``, ``competitor_pressure``, ``top_competitor``, ``forecast_change``,
        ``large_churned``, ``large_churned_usd``, ``hidden_units``, ``hidden_unit_names``.
    """
    t = thresholds or SwotThresholds()
    q = Quarter.parse(quarter)
    quarters = int(potential.settings.get("revenue_quarters", 4))
    hist = account_history(facts, quarter=q, quarters=quarters)
    acc = potential.accounts.join(hist[["prior2_revenue_usd", "won_n", "lost_n"]], on="account_id")
    acc[["prior2_revenue_usd", "won_n", "lost_n"]] = acc[
        ["prior2_revenue_usd", "won_n", "lost_n"]
    ].fillna(0)
    big_cut = (
        acc.loc[acc["prior_revenue_usd"] > 0, "prior_revenue_usd"].quantile(
            t.large_account_quantile
        )
        if (acc["prior_revenue_usd"] > 0).any()
        else math.inf
    )
    acc["large_churn"] = (
        (acc["prior_revenue_usd"] >= big_cut)
        & (acc["revenue_usd"] == 0)
        & (acc["prior_revenue_usd"] > 0)
    )

    units = potential.units
    hp_cut = units["index_share"].quantile(t.high_potential_quantile)
    hidden = units[
        (units["index_share"] >= hp_cut) & (units["coverage_ratio"].fillna(0) < t.coverage_low)
    ]
    name_col = "unit_name" if "unit_name" in units.columns else "unit_id"

    rows = []
    scopes = [("company", acc.assign(_s="company"), "_s")]
    scopes.append(("region", acc, "region"))
    scopes.append(("territory", acc[acc["territory"] != UNASSIGNED], "territory"))
    fc_change = _forecast_change(forecast, q) if forecast is not None else {}
    all_regions = sorted(set(units["region"].astype(str)) | set(acc["region"].dropna().astype(str)))
    for scope_type, frame, col in scopes:
        groups = dict(list(frame.groupby(col, sort=True)))
        if scope_type == "region":  # a region of units without accounts still has a SWOT
            groups = {r: groups.get(r, frame.iloc[:0]) for r in all_regions}
        for scope, g in groups.items():
            won, lost = g["won_n"].sum(), g["lost_n"].sum()
            prev_cust = g["prior_revenue_usd"] > 0
            prev2_cust = g["prior2_revenue_usd"] > 0
            if scope_type == "company":
                hu = hidden
            elif scope_type == "region":
                hu = hidden[hidden["region"] == scope]
            else:
                hu = hidden[hidden["territory"] == scope]
            pot = g["potential_usd"].sum()
            rows.append(
                {
                    "scope_type": scope_type,
                    "scope": str(scope),
                    "revenue_usd": g["revenue_usd"].sum(),
                    "prior_revenue_usd": g["prior_revenue_usd"].sum(),
                    "potential_usd": pot,
                    "whitespace_usd": g["whitespace_usd"].sum(),
                    "win_rate": won / (won + lost) if won + lost else math.nan,
                    "retention": float((g.loc[prev_cust, "revenue_usd"] > 0).mean())
                    if prev_cust.any()
                    else math.nan,
                    "prior_retention": float((g.loc[prev2_cust, "prior_revenue_usd"] > 0).mean())
                    if prev2_cust.any()
                    else math.nan,
                    "competitor_pressure": float(
                        (g["competitor_pressure"] * g["potential_usd"]).sum() / pot
                    )
                    if pot > 0
                    else math.nan,
                    "top_competitor": _top_competitor(g, units),
                    "forecast_change": fc_change.get((scope_type, str(scope)), math.nan),
                    "large_churned": int(g["large_churn"].sum()),
                    "large_churned_usd": float(g.loc[g["large_churn"], "prior_revenue_usd"].sum()),
                    "hidden_units": len(hu),
                    "hidden_unit_names": ", ".join(
                        hu.sort_values("index_share", ascending=False)[name_col].astype(str).head(4)
                    ),
                }
            )
    out = pd.DataFrame(rows).set_index(["scope_type", "scope"])
    prior = out["prior_revenue_usd"]
    out["growth"] = out["revenue_usd"] / prior.where(prior > 0) - 1
    out["penetration"] = out["revenue_usd"] / out["potential_usd"].where(out["potential_usd"] > 0)
    order = [
        "revenue_usd",
        "prior_revenue_usd",
        "growth",
        "potential_usd",
        "whitespace_usd",
        "penetration",
        "win_rate",
        "retention",
        "prior_retention",
        "competitor_pressure",
        "top_competitor",
        "forecast_change",
        "large_churned",
        "large_churned_usd",
        "hidden_units",
        "hidden_unit_names",
    ]
    return out[order]


def _top_competitor(g: pd.DataFrame, units: pd.DataFrame) -> object:
    top = units.set_index("unit_id")["top_competitor"]
    names = g["unit_id"].map(top).dropna()
    if names.empty:
        return None
    weights = g.loc[names.index, "potential_usd"]
    return str(weights.groupby(names).sum().sort_values(ascending=False).index[0])


def _forecast_change(forecast: pd.DataFrame, q: Quarter) -> dict[tuple[str, str], float]:
    """Sum of the next (≤ 4) forecast quarters vs the same quarters a year earlier."""
    out = {}
    fc = forecast[forecast["kind"] == "forecast"]
    act = forecast[forecast["kind"] == "actual"]
    for (st, sc), g in fc.groupby(["scope_type", "scope"], sort=False):
        ahead = [str(q + k) for k in range(1, 5)]
        g = g[g["period"].isin(ahead)]
        if g.empty:
            continue
        year_ago = [str(Quarter.parse(p) - 4) for p in g["period"]]
        a = act[(act["scope_type"] == st) & (act["scope"] == sc) & act["period"].isin(year_ago)]
        base = a["value_usd"].sum()
        if len(a) == len(g) and base > 0:
            out[(st, sc)] = float(g["mean_usd"].sum() / base - 1)
    return out


def swot_inputs(
    potential: PotentialResults,
    facts: pd.DataFrame,
    *,
    quarter: Quarter | str,
    forecast: pd.DataFrame | None = None,
    analyst: pd.DataFrame | None = None,
    thresholds: SwotThresholds | None = None,
) -> SwotResults:
    """SWOT entries per company, region and territory, derived from the numbers and merged
    with the analyst's own.

    Parameters
    ----------
    potential : PotentialResults
    facts : DataFrame
        The facts table (``account_id``, ``quarter``, ``won_usd``, ``won_n``, ``lost_n``).
    quarter : Quarter or str
        Planning quarter.
    forecast : DataFrame, optional
        The ``forecast`` stage (:func:`workbench.forecast.forecast_stage`).
    analyst : DataFrame, optional
        The ``swot`` table: ``scope`` (``company``, a region, a territory/rep id), ``kind``,
        ``item``.
    thresholds : SwotThresholds, optional

    Returns
    -------
    SwotResults
        ``.to_frame()``: ``scope_type``, ``scope``, ``kind``, ``item``, ``evidence`` (metric
        name), ``value``, ``benchmark`` (what it was compared with), ``source``
        (``derived`` or ``analyst``).
    """
    t = thresholds or SwotThresholds()
    m = scope_metrics(potential, facts, quarter=quarter, forecast=forecast, thresholds=t)
    company = m.loc[("company", "company")]
    rows: list[dict] = []

    def add(st, sc, kind, item, evidence, value, benchmark):
        rows.append(
            {
                "scope_type": st,
                "scope": sc,
                "kind": kind,
                "item": item,
                "evidence": evidence,
                "value": float(value),
                "benchmark": float(benchmark),
                "source": "derived",
            }
        )

    mean_ws = m.groupby(level="scope_type")["whitespace_usd"].mean()
    for (st, sc), r in m.iterrows():
        rel = st != "company"
        if rel and _ge(r.win_rate, company.win_rate + t.win_rate_gap):
            add(
                st,
                sc,
                "strength",
                f"Win rate {r.win_rate:.0%} vs company {company.win_rate:.0%}",
                "win_rate",
                r.win_rate,
                company.win_rate,
            )
        if rel and _le(r.win_rate, company.win_rate - t.win_rate_gap):
            add(
                st,
                sc,
                "weakness",
                f"Win rate {r.win_rate:.0%} vs company {company.win_rate:.0%}",
                "win_rate",
                r.win_rate,
                company.win_rate,
            )
        if rel and _ge(r.penetration, t.penetration_high * company.penetration):
            add(
                st,
                sc,
                "strength",
                f"High share of wallet: {r.penetration:.0%} of achievable "
                f"potential vs company {company.penetration:.0%}",
                "penetration",
                r.penetration,
                company.penetration,
            )
        if rel and _le(r.penetration, t.penetration_low * company.penetration):
            add(
                st,
                sc,
                "weakness",
                f"Low penetration: {r.penetration:.0%} of achievable "
                f"potential vs company {company.penetration:.0%}",
                "penetration",
                r.penetration,
                company.penetration,
            )
        if _ge(r.growth, t.growth_strong):
            add(
                st,
                sc,
                "strength",
                f"Revenue {r.growth:+.0%} on the year before",
                "growth",
                r.growth,
                t.growth_strong,
            )
        if _le(r.retention, r.prior_retention - t.retention_drop):
            add(
                st,
                sc,
                "weakness",
                f"Customer retention fell from {r.prior_retention:.0%} to {r.retention:.0%}",
                "retention",
                r.retention,
                r.prior_retention,
            )
        if rel and _ge(r.whitespace_usd, t.whitespace_high * mean_ws[st]):
            add(
                st,
                sc,
                "opportunity",
                f"Large whitespace: {usd(r.whitespace_usd)} a year "
                f"({r.whitespace_usd / mean_ws[st]:.1f}x the average {st})",
                "whitespace_usd",
                r.whitespace_usd,
                mean_ws[st],
            )
        if _ge(r.forecast_change, t.forecast_change):
            add(
                st,
                sc,
                "opportunity",
                f"Forecast {r.forecast_change:+.0%} on the same quarters a year earlier",
                "forecast_change",
                r.forecast_change,
                t.forecast_change,
            )
        if r.hidden_units > 0:
            add(
                st,
                sc,
                "opportunity",
                f"{r.hidden_units} high-potential unit(s) with few accounts: {r.hidden_unit_names}",
                "hidden_units",
                r.hidden_units,
                0,
            )
        if rel and _ge(r.competitor_pressure, company.competitor_pressure + t.pressure_gap):
            add(
                st,
                sc,
                "threat",
                f"Competitor pressure {r.competitor_pressure:.2f} vs company "
                f"{company.competitor_pressure:.2f} (strongest: {r.top_competitor})",
                "competitor_pressure",
                r.competitor_pressure,
                company.competitor_pressure,
            )
        if _le(r.growth, t.decline):
            add(
                st,
                sc,
                "threat",
                f"Revenue {r.growth:+.0%} on the year before",
                "growth",
                r.growth,
                t.decline,
            )
        if _le(r.forecast_change, -t.forecast_change):
            add(
                st,
                sc,
                "threat",
                f"Forecast {r.forecast_change:+.0%} on the same quarters a year earlier",
                "forecast_change",
                r.forecast_change,
                -t.forecast_change,
            )
        share = r.large_churned_usd / r.prior_revenue_usd if r.prior_revenue_usd > 0 else 0.0
        if r.large_churned > 0 and share >= t.churn_share:
            add(
                st,
                sc,
                "threat",
                f"{r.large_churned} large account(s) lost: "
                f"{usd(r.large_churned_usd)} ({share:.0%}) of last year's revenue",
                "large_churned_usd",
                r.large_churned_usd,
                t.churn_share * r.prior_revenue_usd,
            )
    derived = pd.DataFrame(
        rows,
        columns=["scope_type", "scope", "kind", "item", "evidence", "value", "benchmark", "source"],
    )
    table = pd.concat([derived, _analyst_rows(analyst, m)], ignore_index=True)
    rank = {"company": 0, "region": 1, "territory": 2, "other": 3}
    table = table.sort_values(
        ["scope_type", "scope", "kind", "source"],
        key=lambda s: (
            s.map(rank)
            if s.name == "scope_type"
            else (s.map({k: i for i, k in enumerate(SWOT_KINDS)}) if s.name == "kind" else s)
        ),
        kind="stable",
    ).reset_index(drop=True)
    return SwotResults(table=table, metrics=m, thresholds=t)


def _ge(a: float, b: float) -> bool:
    return bool(pd.notna(a) and pd.notna(b) and a >= b)


def _le(a: float, b: float) -> bool:
    return bool(pd.notna(a) and pd.notna(b) and a <= b)


def _analyst_rows(analyst: pd.DataFrame | None, metrics: pd.DataFrame) -> pd.DataFrame:
    cols = ["scope_type", "scope", "kind", "item", "evidence", "value", "benchmark", "source"]
    if analyst is None or analyst.empty:
        return pd.DataFrame(columns=cols)
    regions = (
        set(metrics.xs("region", level="scope_type").index)
        if "region" in metrics.index.get_level_values(0)
        else set()
    )
    territories = (
        set(metrics.xs("territory", level="scope_type").index)
        if "territory" in metrics.index.get_level_values(0)
        else set()
    )

    def scope_type(s: str) -> str:
        if s == "company":
            return "company"
        if s in regions:
            return "region"
        if s in territories:
            return "territory"
        return "other"

    a = analyst.assign(
        scope=analyst["scope"].astype(str), kind=analyst["kind"].astype(str).str.lower()
    )
    return pd.DataFrame(
        {
            "scope_type": a["scope"].map(scope_type),
            "scope": a["scope"],
            "kind": a["kind"],
            "item": a["item"].astype(str),
            "evidence": "analyst",
            "value": math.nan,
            "benchmark": math.nan,
            "source": "analyst",
        }
    )[cols]


@dataclasses.dataclass(frozen=True, repr=False)
class SwotResults(Results):
    """SWOT entries and the evidence behind them.

    Attributes
    ----------
    table : DataFrame
        Stage ``swot``: ``scope_type``, ``scope``, ``kind``, ``item``, ``evidence``,
        ``value``, ``benchmark``, ``source``.
    metrics : DataFrame
        :func:`scope_metrics` output (the evidence for every scope).
    thresholds : SwotThresholds
    """

    table: pd.DataFrame
    metrics: pd.DataFrame
    thresholds: SwotThresholds

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> Summary:
        """Entries per scope and quadrant; then, one section per scope (company, regions,
        territories), its entries quadrant by quadrant (``none`` where a quadrant is empty;
        the analyst's marked ``(analyst)``)."""
        t = self.table
        out = t.pivot_table(
            index=["scope_type", "scope"],
            columns="kind",
            values="item",
            aggfunc="count",
            fill_value=0,
        )
        sections = []
        for st, sc in self._scopes(("company", "region", "territory")):
            g = t[(t["scope_type"] == st) & (t["scope"] == sc)]
            rows = []
            for kind in SWOT_KINDS:
                items = g[g["kind"] == kind]
                entries = [
                    r.item + (" (analyst)" if r.source == "analyst" else "")
                    for r in items.itertuples()
                ] or ["none"]
                rows += [(_QUADRANT_TITLES[kind], e) for e in entries]
            frame = pd.DataFrame(rows, columns=["quadrant", "entry"]).set_index("quadrant")
            sections.append((_scope_title(st, sc), frame.rename_axis(None)))
        return Summary(
            out.reindex(columns=list(SWOT_KINDS), fill_value=0),
            title=f"SWOT inputs: {len(t)} entries",
            sections=sections,
        )

    def _scopes(self, scope_types: Sequence[str]) -> list[tuple[str, str]]:
        """``(scope_type, scope)`` of the given types with entries or evidence, in their order."""
        t = self.table
        scopes = t[t["scope_type"].isin(scope_types)][["scope_type", "scope"]].drop_duplicates()
        scopes = pd.concat(
            [
                scopes,
                self.metrics.reset_index()[["scope_type", "scope"]].query(
                    "scope_type in @scope_types"
                ),
            ]
        ).drop_duplicates()
        rank = {k: i for i, k in enumerate(scope_types)}
        scopes = scopes.sort_values(
            ["scope_type", "scope"], key=lambda s: s.map(rank) if s.name == "scope_type" else s
        )
        return list(scopes.itertuples(index=False, name=None))

    def quadrants_html(
        self, scope_types: Sequence[str] = ("company", "region", "territory")
    ) -> str:
        """Four quadrants per scope, as an HTML grid (survives the report's HTML export)."""
        colours = {
            "strength": "#e3f1e3",
            "weakness": "#fbe7e1",
            "opportunity": "#e1ecf8",
            "threat": "#fdf3d7",
        }
        parts = ['<div style="display:flex;flex-wrap:wrap;gap:14px">']
        t = self.table
        for st, sc in self._scopes(scope_types):
            g = t[(t["scope_type"] == st) & (t["scope"] == sc)]
            title = _scope_title(st, sc)
            cells = []
            for kind in SWOT_KINDS:
                items = g[g["kind"] == kind]
                lis = "".join(
                    f"<li>{html.escape(r.item)}"
                    + (" <i>(analyst)</i>" if r.source == "analyst" else "")
                    + "</li>"
                    for r in items.itertuples()
                )
                cells.append(
                    f'<div style="background:{colours[kind]};padding:6px 8px;min-height:60px">'
                    f"<b>{_QUADRANT_TITLES[kind]}</b><ul style='margin:2px 0 0 16px;padding:0'>"
                    f"{lis or '<li><i>none</i></li>'}</ul></div>"
                )
            parts.append(
                '<div style="width:460px;font-size:12px">'
                f"<div style='font-weight:bold;margin-bottom:3px'>{html.escape(title)}</div>"
                '<div style="display:grid;grid-template-columns:1fr 1fr;gap:3px">'
                + "".join(cells)
                + "</div></div>"
            )
        parts.append("</div>")
        return "".join(parts)


def _scope_title(scope_type: str, scope: str) -> str:
    return "Company" if scope_type == "company" else f"{scope_type.capitalize()} {scope}"
