"""The executive summary on the report's index page: the quarter's headline numbers.

Every number is read from the stage files the notebooks wrote for the quarter (never
recomputed here, so the summary and the notebook sections cannot disagree), and each links to
the section of the report that explains it. A headline whose notebook did not write its file
says so instead of showing a number.
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Quarter
from .io import stage_path
from .plots import NOT_AVAILABLE, pct, usd
from .territory.odds import fairness_verdict


@dataclasses.dataclass(frozen=True)
class Headline:
    """One headline: a label, the number as text, a sentence of context and a link."""

    label: str
    value: str
    detail: str
    link: str

    def to_html(self) -> str:
        return (
            f'<div class="headline"><div class="label">{html.escape(self.label)}</div>'
            f'<div class="value">{html.escape(self.value)}</div>'
            f'<div class="detail">{html.escape(self.detail)} '
            f'<a href="{html.escape(self.link)}">explained here →</a></div></div>'
        )


def _read(processed: Path, stage: str, quarter: str) -> pd.DataFrame | None:
    path = stage_path(processed, stage, quarter)
    return pd.read_parquet(path) if path.is_file() else None


def _missing(label: str, notebook: str) -> Headline:
    return Headline(
        label, "n/a", f"{notebook} did not write its output for this quarter.", f"{notebook}.html"
    )


def revenue_vs_quota(processed: Path, quarter: str) -> Headline:
    """Company revenue against quota: sums over territories (a ratio is never averaged)."""
    kt = _read(processed, "kpi_territory", quarter)
    if kt is None:
        return _missing("Revenue vs quota", "04_kpi_review")
    rev, quota = float(kt["revenue_usd"].sum()), float(kt["quota_usd"].sum())
    att = rev / quota if quota > 0 else float("nan")
    return Headline(
        f"Revenue vs quota, {quarter}",
        f"{usd(rev)} / {usd(quota)}",
        f"{pct(att, missing=NOT_AVAILABLE)} of quota company-wide.",
        "04_kpi_review.html#Attainment",
    )


def attainment_spread(processed: Path, quarter: str) -> Headline:
    """Range of rep attainment among reps with a quota."""
    kr = _read(processed, "kpi_rep", quarter)
    if kr is None:
        return _missing("Attainment spread", "04_kpi_review")
    att = kr.loc[kr["quota_usd"] > 0].set_index("rep_id")["attainment"].dropna()
    if att.empty:
        return Headline(
            "Attainment spread",
            "n/a",
            "No rep had a quota this quarter.",
            "04_kpi_review.html#Attainment",
        )
    below = int((att < 1).sum())
    return Headline(
        "Attainment spread",
        f"{pct(att.min(), missing=NOT_AVAILABLE)} – {pct(att.max(), missing=NOT_AVAILABLE)}",
        f"{len(att)} reps with a quota; {below} below 100% "
        f"(lowest {att.idxmin()}, highest {att.idxmax()}).",
        "04_kpi_review.html#Quota-fairness",
    )


def next_quarter_forecast(processed: Path, quarter: str) -> Headline:
    """The company's revenue forecast for the quarter after the planning quarter."""
    fc = _read(processed, "forecast", quarter)
    label = f"Forecast {Quarter.parse(quarter) + 1}"
    if fc is None:
        return _missing(label, "01_market_potential")
    nxt = str(Quarter.parse(quarter) + 1)
    row = fc[(fc["scope_type"] == "company") & (fc["kind"] == "forecast") & (fc["period"] == nxt)]
    if row.empty:
        return Headline(
            label,
            "n/a",
            "No company forecast for the next quarter.",
            "01_market_potential.html#Revenue-forecasts",
        )
    r = row.iloc[0]
    return Headline(
        label,
        usd(r["mean_usd"]),
        f"{r['interval_level']:.0%} interval {usd(r['lower_usd'])} – {usd(r['upper_usd'])} "
        f"({r['model']}).",
        "01_market_potential.html#Revenue-forecasts",
    )


def whitespace(processed: Path, quarter: str) -> Headline:
    """Annual potential not yet captured, and penetration."""
    pu = _read(processed, "potential_units", quarter)
    if pu is None:
        return _missing("Whitespace", "01_market_potential")
    ws, pot, rev = (float(pu[c].sum()) for c in ("whitespace_usd", "potential_usd", "revenue_usd"))
    return Headline(
        "Whitespace (a year)",
        usd(ws),
        f"Achievable potential {usd(pot)}; "
        f"penetration {pct(rev / pot if pot else np.nan, missing=NOT_AVAILABLE)}.",
        "01_market_potential.html#Where-the-whitespace-is",
    )


def proposed_alignment(processed: Path, quarter: str) -> Headline:
    """The proposed plan's worst balance deviation, optimality gap and disruption — or, when
    the plan misses a constraint, "not feasible" with the reason (never a headline number)."""
    ts = _read(processed, "territory_summary", quarter)
    if ts is None:
        return _missing("Proposed alignment", "03_territory_design")
    s = ts.set_index("metric")["value"]
    dev = {
        k.removeprefix("max_deviation_"): float(v)
        for k, v in s.items()
        if str(k).startswith("max_deviation_")
    }
    worst = max(dev.values()) if dev else float("nan")
    k = int(float(s.get("k", 0)))
    link = "03_territory_design.html#Proposed-plan"
    if float(s.get("feasible", 1)) != 1:
        issues = _read(processed, "territory_violations", quarter)
        first = "" if issues is None or issues.empty else f" First: {issues['reason'].iloc[0]}"
        why = (
            "the search reached its safety time limit without a feasible plan"
            if float(s.get("safety_stop", 0)) == 1
            else "the data rules a feasible plan out"
            if float(s.get("proven_infeasible", 0)) == 1
            else "the search found no feasible plan"
        )
        n = int(float(s.get("violations", 0)))
        return Headline(
            "Proposed alignment",
            "not feasible",
            f"{k} territories: the best plan found misses {n} constraint(s); {why}.{first} "
            "Relax the tolerance or the disruption budget, or change k.",
            link,
        )
    gap = float(s.get("gap", np.nan))
    gap_text = f"optimality gap {pct(gap, missing=NOT_AVAILABLE)}"
    if s.get("proven_optimal", 0) == 1:
        gap_text = "proven optimal (contiguity included)"
    return Headline(
        "Proposed alignment",
        f"±{worst:.1%} balance" if np.isfinite(worst) else "n/a",
        f"{k} territories, every constraint met; worst deviation across "
        f"{', '.join(dev) or 'measures'}; {gap_text}; "
        f"{pct(float(s.get('share_moved', np.nan)), missing=NOT_AVAILABLE)} of blocks move.",
        link,
    )


def headcount(processed: Path, quarter: str) -> Headline:
    """Territories designed against the headcount the workload needs."""
    ts = _read(processed, "territory_summary", quarter)
    if ts is None or "recommended_reps" not in set(ts["metric"]):
        return _missing("Headcount", "03_territory_design")
    s = ts.set_index("metric")["value"]
    k, rec = int(float(s["k"])), int(float(s["recommended_reps"]))
    use = float(s.get("mean_capacity_use", np.nan))
    material = float(s.get("headcount_material", 0)) == 1
    detail = (
        f"{k} territories designed; the workload needs {rec} reps; "
        f"mean capacity use {pct(use, missing=NOT_AVAILABLE)}."
    )
    if material:
        detail = (
            "Warning: material difference. " + detail + " The plan at the recommended k "
            "is in the section."
        )
    return Headline(
        "Headcount: designed vs needed",
        f"{k} vs {rec}",
        detail,
        "03_territory_design.html#Headcount-sizing",
    )


def quota_odds(processed: Path, quarter: str) -> Headline:
    """Next year's target with the company's chance of making it, and the spread of the
    reps' chances of making their quotas (notebook 03's quota odds)."""
    ts = _read(processed, "territory_summary", quarter)
    label = "Next year's target"
    if ts is None or "quota_target_chance" not in set(ts["metric"]):
        return _missing(label, "03_territory_design")
    s = ts.set_index("metric")["value"].astype(float)
    lo, hi = s["quota_chance_min"], s["quota_chance_max"]
    verdict = fairness_verdict(100 * (hi - lo))
    return Headline(
        label,
        usd(s["quota_target_usd"]),
        f"The company makes it with a {pct(s['quota_target_chance'])} chance; reps' chances of "
        f"making quota run {pct(lo)}–{pct(hi)} ({verdict}); equal-chance quotas would give "
        f"each {pct(s['quota_equal_chance'])}.",
        "03_territory_design.html#Quotas-with-their-odds",
    )


HEADLINES = (
    revenue_vs_quota,
    attainment_spread,
    next_quarter_forecast,
    quota_odds,
    whitespace,
    proposed_alignment,
    headcount,
)


def executive_summary(processed: str | Path, quarter: str) -> list[Headline]:
    """All headlines for a quarter, in reading order."""
    processed = Path(processed)
    return [make(processed, str(Quarter.parse(quarter))) for make in HEADLINES]


SUMMARY_CSS = """
.headlines { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr));
             gap: .8rem; margin: 1rem 0 2rem; }
.headline { border: 1px solid #ddd; border-radius: 6px; padding: .7rem .9rem; }
.headline .label { color: #555; font-size: .85rem; }
.headline .value { font-size: 1.5rem; font-weight: 600; margin: .2rem 0; }
.headline .detail { font-size: .85rem; color: #333; }
"""


def summary_html(headlines: list[Headline]) -> str:
    """The headlines as an HTML block (styled by ``SUMMARY_CSS``)."""
    return '<div class="headlines">' + "\n".join(h.to_html() for h in headlines) + "</div>"
