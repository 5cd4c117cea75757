"""Quota allocation: a company target split into territory and quarterly quotas.

    share_t   = w × history_share_t + (1 − w) × potential_share_t
    quota_t,q = target × share_t × season_q

``history_share_t`` is territory t's share of trailing-four-quarter won revenue (what its
accounts bought), ``potential_share_t`` its share of market potential (what they could buy;
notebook 01). ``w`` (``history_weight``) trades continuity against opportunity: 1 = last
year's split, 0 = pure potential. ``season_q`` is each quarter's share of a year's revenue
over the history (sums to 1), so quarterly quotas follow the business's own seasonality.

Fairness check: the *expected* attainment of territory t is what it would sell at its
history run-rate grown with the company, ``history_share_t × target / (share_t × target)``;
its spread across territories shows how many reps start from an easy or a hard number.
:class:`QuotaPlan` holds the quota table with that spread.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..config import Quarter
from ..results import Results, Summary
from .odds import EVEN_PP, UNEVEN_PP, PlanOutlook, attainment_probability, fairness

__all__ = [
    "QuotaOdds",
    "QuotaPlan",
    "allocate_quotas",
    "attainment_spread",
    "quota_odds",
    "seasonality",
]


@dataclasses.dataclass(frozen=True, repr=False)
class QuotaPlan(Results):
    """Next year's quotas per territory and how even their starting line is.

    Attributes
    ----------
    table : pandas.DataFrame
        Per territory (index ``territory``): :func:`allocate_quotas`' columns, i.e. the shares,
        ``quota_usd``, ``expected_attainment``, ``implied_growth`` and one ``quota_<quarter>``
        column per quarter.
    spread : dict
        :func:`attainment_spread` of the table: ``min``, ``max`` and ``cv`` of expected
        attainment.
    target_usd : float
        The company's annual target.
    history_weight : float
        ``w`` in the formula (1 = last year's split, 0 = pure potential).
    forecast_weight : float
        ``f``: the weight of the forecast share (:func:`allocate_quotas`).
    target_basis : str
        How the target was set: ``growth``, ``forecast`` (a quantile of the company's
        forecast) or ``bottom_up`` (the sum of the territories' quantiles).
    outlook : PlanOutlook or None
        The plan's forecasts and year distributions (:mod:`~workbench.territory.odds`); with
        it the table carries the odds columns (``forecast_usd``, ``p_attain``,
        ``attain_p10``, ``attain_p90``, ``equal_chance_quota_usd`` …).
    equal_chance : float or None
        Every territory's chance under the equal-chance quotas.

    Examples
    --------
    >>> t = pd.DataFrame({"revenue_usd": [60.0, 40.0], "potential_usd": [100.0, 300.0]},
    ...                  index=["T1", "T2"])
    >>> q = allocate_quotas(t, target_usd=110.0, history_weight=0.5)
    >>> plan = QuotaPlan(q, attainment_spread(q), target_usd=110.0, history_weight=0.5)
    >>> round(plan.company_growth, 2), round(plan.spread["max"], 3)
    (0.1, 1.412)
    """

    table: pd.DataFrame
    spread: dict[str, float]
    target_usd: float
    history_weight: float
    forecast_weight: float = 0.0
    target_basis: str = "growth"
    outlook: PlanOutlook | None = None
    equal_chance: float | None = None

    @property
    def company_growth(self) -> float:
        """The target over the territories' trailing revenue, minus 1."""
        return self.target_usd / float(self.table["revenue_usd"].sum()) - 1

    @property
    def target_chance(self) -> float | None:
        """The chance that the company makes its target, under its reconciled forecast."""
        if self.outlook is None:
            return None
        company = self.outlook.company.to_frame().T
        return float(attainment_probability(company, pd.Series([self.target_usd])).iloc[0])

    def odds_table(self, rep_of: dict[str, str | None] | None = None) -> pd.DataFrame:
        """Per territory (and its rep, from ``RepMatching.rep_of``): quota, forecast median
        and P10–P90, chance of making the quota, attainment band, and the equal-chance quota
        with its chance."""
        if self.outlook is None:
            raise ValueError("these quotas were set without forecasts (odds=False)")
        cols = [
            "quota_usd",
            "forecast_usd",
            "forecast_p10_usd",
            "forecast_p90_usd",
            "p_attain",
            "attain_p10",
            "attain_p90",
            "equal_chance_quota_usd",
            "equal_chance",
        ]
        out = self.table[cols].copy()
        if rep_of is not None:
            out.insert(0, "rep_id", [rep_of.get(t) for t in out.index])
        return out

    def summary(self) -> Summary:
        """Target, growth, history weight and the expected-attainment spread (``metric,
        value``); the quota table as a section."""
        rows: dict[str, object] = {
            "territories": len(self.table),
            "target (USD)": self.target_usd,
            "company growth": self.company_growth,
            "history weight": self.history_weight,
            "expected attainment min": self.spread["min"],
            "expected attainment max": self.spread["max"],
            "expected attainment cv": self.spread["cv"],
        }
        w, s = self.history_weight, self.spread
        share = (
            "Quota share = history share (no potential)"
            if self.table["potential_share"].isna().all()
            else f"Quota share = {w:g} × history share + {1 - w:g} × potential share"
        )
        if self.forecast_weight > 0:
            share = (
                f"Quota share = {1 - self.forecast_weight:g} × ({w:g} × history share + "
                f"{1 - w:g} × potential share) + {self.forecast_weight:g} × forecast share"
            )
        quarters = [c for c in self.table.columns if c.startswith("quota_") and c[6:7].isdigit()]
        notes = [
            share + ("; quarters follow the seasonality." if quarters else "."),
            f"Expected attainment at the history run-rate: {s['min']:.0%} to "
            f"{s['max']:.0%} (cv {s['cv']:.2f}; 0 = every rep equally likely to make quota).",
        ]
        sections = [("Quotas per territory", self.table)]
        if self.outlook is not None:
            c, fair = self.outlook.company, fairness(self.table["p_attain"])
            rows.update(
                {
                    "target basis": self.target_basis,
                    "company forecast median (USD)": float(c["median"]),
                    "company forecast P10 (USD)": float(c["p10"]),
                    "company forecast P90 (USD)": float(c["p90"]),
                    "chance of making the target": self.target_chance,
                    "territory chance min": fair["min"],
                    "territory chance max": fair["max"],
                    "fairness": fair["verdict"],
                    "equal-chance quotas: every territory's chance": self.equal_chance,
                }
            )
            notes.append(
                f"The company makes its target with a {self.target_chance:.0%} chance "
                f"(forecast P10–P90 {c['p10']:,.0f}–{c['p90']:,.0f} USD). Territories' chances "
                f"of making quota run from {fair['min']:.0%} to {fair['max']:.0%} "
                f"({fair['spread_pp']:.0f} pp: {fair['verdict']}); equal-chance quotas give "
                f"every territory {self.equal_chance:.0%}."
            )
            sections.append(("Quota odds per territory", self.odds_table()))
        return Summary(
            {"value": list(rows.values())},
            index=pd.Index(list(rows), name="metric"),
            dtype=object,
            title=f"Quotas: {len(self.table)} territories, target {self.target_usd:,.0f} USD",
            notes=notes,
            sections=sections,
        )


def quota_year(facts: pd.DataFrame, quarter: Quarter | str) -> tuple[pd.Series, list[str]]:
    """The company's :func:`seasonality` from the facts' won revenue up to ``quarter``, and the
    four quarters after it that quotas cover (``YYYYQn``)."""
    q = Quarter.parse(quarter)
    rev_q = facts.groupby("quarter")["won_usd"].sum()
    rev_q = rev_q[[x for x in rev_q.index if Quarter.parse(x) <= q]]
    return seasonality(rev_q), [str(q + i) for i in (1, 2, 3, 4)]


def seasonality(revenue_by_quarter: pd.Series) -> pd.Series:
    """Share of a year's revenue falling in each calendar quarter (Q1..Q4, sums to 1).

    ``revenue_by_quarter``: index ``YYYYQn``, won revenue. Uses complete years' average share
    per quarter number; with less than a year of history every quarter gets 0.25.

    >>> s = pd.Series([10.0, 20.0, 30.0, 40.0], index=["2025Q1", "2025Q2", "2025Q3", "2025Q4"])
    >>> seasonality(s).round(2).tolist()
    [0.1, 0.2, 0.3, 0.4]
    """
    quarters = [Quarter.parse(q) for q in revenue_by_quarter.index]
    frame = pd.DataFrame(
        {
            "year": [q.year for q in quarters],
            "q": [q.q for q in quarters],
            "rev": revenue_by_quarter.to_numpy(float),
        }
    )
    full = frame.groupby("year").filter(lambda g: len(g) == 4 and g["rev"].sum() > 0)
    if full.empty:
        return pd.Series(0.25, index=pd.Index([1, 2, 3, 4], name="q"))
    share = full["rev"] / full.groupby("year")["rev"].transform("sum")
    return share.groupby(full["q"]).mean().rename_axis("q")


def allocate_quotas(
    territories: pd.DataFrame,
    *,
    target_usd: float,
    history_weight: float = 0.5,
    season: pd.Series | None = None,
    year_quarters: list[str] | None = None,
    forecast_weight: float = 0.0,
) -> pd.DataFrame:
    """Split an annual target into territory quotas (and quarterly quotas).

    With ``forecast_weight`` ``f`` > 0 the share also weighs each territory's share of the
    year's forecast (``forecast_usd``, the median of :mod:`~workbench.territory.odds`)::

        share_t = (1 − f) × (w × history_share_t + (1 − w) × potential_share_t)
                  + f × forecast_share_t

    Parameters
    ----------
    territories : DataFrame
        Index = territory id; ``revenue_usd`` (trailing 4 quarters won) and ``potential_usd``
        (annual potential). Missing potential → history only (with ``history_weight`` 1).
    target_usd : float
        The company's annual target.
    history_weight : float
        ``w`` in the formula, in [0, 1].
    season, year_quarters : optional
        Quarter-number shares from :func:`seasonality` and the four quarters (``YYYYQn``) to
        split into; both or neither.
    forecast_weight : float
        ``f``, in [0, 1]; above 0 ``territories`` needs ``forecast_usd``.

    Returns
    -------
    DataFrame
        Per territory: shares, ``quota_usd`` (annual), ``expected_attainment``, and one
        ``quota_<quarter>`` column per quarter when ``season`` is given.

    Examples
    --------
    >>> t = pd.DataFrame({"revenue_usd": [60.0, 40.0], "potential_usd": [100.0, 300.0]},
    ...                  index=["T1", "T2"])
    >>> q = allocate_quotas(t, target_usd=110.0, history_weight=0.5)
    >>> q["quota_usd"].round(2).tolist()  # T1: 110 × (0.5×0.6 + 0.5×0.25) = 46.75
    [46.75, 63.25]
    """
    if not 0 <= history_weight <= 1:
        raise ValueError(f"history_weight must be in [0, 1], got {history_weight}")
    if target_usd < 0:
        raise ValueError(f"target_usd must be ≥ 0, got {target_usd}")
    if not 0 <= forecast_weight <= 1:
        raise ValueError(f"forecast_weight must be in [0, 1], got {forecast_weight}")
    if forecast_weight > 0 and "forecast_usd" not in territories:
        raise ValueError("forecast_weight > 0 needs each territory's forecast_usd")
    rev = territories["revenue_usd"].astype(float)
    if rev.sum() <= 0:
        raise ValueError("no trailing revenue in any territory: history shares are undefined")
    hist = rev / rev.sum()
    pot = territories.get("potential_usd")
    if pot is None or pot.isna().all() or float(pot.sum()) <= 0:
        pot_share = pd.Series(np.nan, index=territories.index)
        share = hist
    else:
        pot_share = pot.astype(float).fillna(0) / float(pot.sum())
        share = history_weight * hist + (1 - history_weight) * pot_share
    columns = {"revenue_usd": rev, "history_share": hist, "potential_share": pot_share}
    if "forecast_usd" in territories:
        fc = territories["forecast_usd"].astype(float).clip(lower=0)
        if fc.sum() <= 0 and forecast_weight > 0:
            raise ValueError("no territory has a positive forecast: forecast shares are undefined")
        columns["forecast_share"] = fc / fc.sum() if fc.sum() > 0 else fc * np.nan
        if forecast_weight > 0:
            share = (1 - forecast_weight) * share + forecast_weight * columns["forecast_share"]
    out = pd.DataFrame(
        {**columns, "quota_share": share, "quota_usd": target_usd * share},
        index=territories.index,
    )
    # Selling at its history run-rate grown with the company, a territory books hist × target.
    out["expected_attainment"] = hist * target_usd / out["quota_usd"].where(out["quota_usd"] > 0)
    out["implied_growth"] = out["quota_usd"] / rev.where(rev > 0) - 1
    if season is not None:
        if not year_quarters or len(year_quarters) != 4:
            raise ValueError("year_quarters must list the four quarters to split the target into")
        for q in year_quarters:
            out[f"quota_{q}"] = out["quota_usd"] * float(season.loc[Quarter.parse(q).q])
    return out


def attainment_spread(quotas: pd.DataFrame) -> dict[str, float]:
    """How uneven the starting line is: range and coefficient of variation of expected
    attainment across territories (0 = every rep equally likely to make quota)."""
    e = quotas["expected_attainment"].dropna()
    return {
        "min": float(e.min()),
        "max": float(e.max()),
        "cv": float(e.std(ddof=0) / e.mean()) if len(e) and e.mean() else float("nan"),
    }


@dataclasses.dataclass(frozen=True, repr=False)
class QuotaOdds(Results):
    """Every quota with the chance of making it, per territory and its rep (notebook 03).

    Attributes
    ----------
    table : DataFrame
        :meth:`QuotaPlan.odds_table` with the rep of each territory (empty with odds off).
    quotas : QuotaPlan
        The quotas, with their :class:`~workbench.territory.odds.PlanOutlook`.
    """

    table: pd.DataFrame
    quotas: QuotaPlan

    def summary(self) -> Summary:
        """The company's chance, the spread of the reps' chances and the per-rep table; the
        territories' forecasts (model, backtest) as a section."""
        q = self.quotas
        if q.outlook is None:
            return Summary(
                pd.DataFrame(),
                title="Quota odds: off",
                notes=["quota_odds is off: the quotas were set without forecasts."],
            )
        fair = fairness(q.table["p_attain"])
        notes = [
            f"Target {q.target_usd:,.0f} USD ({q.target_basis}): the company makes it with a "
            f"{q.target_chance:.0%} chance under its forecast reconciled with the territories'.",
            f"Reps' chances of making quota: {fair['min']:.0%} to {fair['max']:.0%} "
            f"({fair['spread_pp']:.0f} pp, {fair['verdict']}; even ≤ {EVEN_PP:g} pp, uneven ≤ "
            f"{UNEVEN_PP:g} pp). Equal-chance quotas, same total: every rep "
            f"{q.equal_chance:.0%}.",
            "Chance = P(year's revenue ≥ quota) under the territory's forecast (quarters "
            "moving together); band = P10 and P90 of the year over the quota.",
        ]
        fc = pd.DataFrame(q.outlook.forecasts.summary())
        return Summary(
            self.table,
            title=f"Quota odds: {len(self.table)} territories",
            notes=notes,
            float_format=lambda v: f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}",
            sections=[("Territory forecasts (plan histories)", fc)],
        )

    def plot(self):
        """Quota against the forecast fan per territory (:func:`plot_quota_odds`)."""
        from .plots import plot_quota_odds

        return plot_quota_odds(self.quotas, self.table.get("rep_id"))


def quota_odds(quotas: QuotaPlan, rep_of: dict[str, str | None] | None = None) -> QuotaOdds:
    """The quotas' odds per territory and rep (``RepMatching.rep_of``)."""
    table = quotas.odds_table(rep_of) if quotas.outlook is not None else pd.DataFrame()
    return QuotaOdds(table=table, quotas=quotas)
