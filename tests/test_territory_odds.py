"""Quotas with their odds (issue 16): the year's distribution, the chance of making a quota
against a Monte Carlo, equal-chance quotas, fairness, and the reconciled plan forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.territory import odds
from workbench.territory.quota import allocate_quotas

Z80 = stats.norm.ppf(0.9)


def _forecasts() -> pd.DataFrame:
    """Three territories, four quarters, skewed 80 % intervals of different widths."""
    rows = []
    rng = np.random.default_rng(7)
    for t, base in (("T1", 100.0), ("T2", 250.0), ("T3", 60.0)):
        for i, period in enumerate(["2027Q1", "2027Q2", "2027Q3", "2027Q4"]):
            mean = base * (1 + 0.1 * i)
            down, up = rng.uniform(0.05, 0.3) * mean, rng.uniform(0.1, 0.5) * mean
            rows.append((t, period, mean, mean - down, mean + up))
    return pd.DataFrame(rows, columns=["series_id", "period", "mean", "lower", "upper"])


YEAR = ["2027Q1", "2027Q2", "2027Q3", "2027Q4"]


def _monte_carlo_years(f: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Years drawn quarter by quarter: each quarter a split normal through its own interval,
    the quarters of one territory moving together (one standard normal per year), summed."""
    rng = np.random.default_rng(seed)
    out = {}
    for sid, g in f.groupby("series_id"):
        z = rng.standard_normal(n)
        total = np.zeros(n)
        for _, r in g.iterrows():
            lo, hi = (r["mean"] - r["lower"]) / Z80, (r["upper"] - r["mean"]) / Z80
            total += r["mean"] + np.where(z < 0, lo, hi) * z
        out[sid] = total
    return pd.DataFrame(out)


def test_year_outlook_is_the_sum_of_the_quarters_intervals():
    f = _forecasts()
    o = odds.year_outlook(f, level=0.8, periods=YEAR)
    g = f.groupby("series_id")
    # comonotonic quarters: the year's P10 / P90 are the sums of the quarters' bounds
    np.testing.assert_allclose(o["p10"], g["lower"].sum().loc[o.index], rtol=1e-12)
    np.testing.assert_allclose(o["p90"], g["upper"].sum().loc[o.index], rtol=1e-12)
    np.testing.assert_allclose(o["median"], g["mean"].sum().loc[o.index], rtol=1e-12)
    with pytest.raises(ValueError, match="no forecast"):
        odds.year_outlook(f[f["period"] != "2027Q4"], level=0.8, periods=YEAR)


def test_attainment_probability_matches_a_monte_carlo():
    f = _forecasts()
    o = odds.year_outlook(f, level=0.8, periods=YEAR)
    years = _monte_carlo_years(f, 200_000, seed=3)
    for factor in (0.8, 1.0, 1.1, 1.3):
        quota = o["median"] * factor
        closed = odds.attainment_probability(o, quota)
        simulated = (years[o.index] >= quota).mean()
        # 200k draws: sampling error below 0.0012 (3σ)
        np.testing.assert_allclose(closed.to_numpy(), simulated.to_numpy(), atol=0.004)


def test_equal_chance_quotas_sum_to_the_target_with_one_chance():
    f = _forecasts()
    o = odds.year_outlook(f, level=0.8, periods=YEAR)
    years = _monte_carlo_years(f, 200_000, seed=5)
    for target in (0.9 * o["median"].sum(), o["median"].sum(), 1.15 * o["median"].sum()):
        quotas, p = odds.equal_chance_quotas(o, target)
        assert quotas.sum() == pytest.approx(target, rel=1e-12)
        chances = odds.attainment_probability(o, quotas)
        assert chances.max() - chances.min() < 0.005
        assert chances.mean() == pytest.approx(p, abs=1e-12)
        simulated = (years[o.index] >= quotas).mean()
        assert simulated.max() - simulated.min() < 0.005 + 0.006  # + Monte Carlo error
    # at the sum of the medians every territory has even odds
    _, p = odds.equal_chance_quotas(o, o["median"].sum())
    assert p == pytest.approx(0.5)


def test_equal_chance_quotas_by_hand():
    o = pd.DataFrame(
        {"median": [100.0, 300.0], "sigma_low": [10.0, 30.0], "sigma_high": [20.0, 20.0]},
        index=["A", "B"],
    )
    # below the medians' 400 the lower scales count: ζ = (360 − 400) / 40 = −1
    q, p = odds.equal_chance_quotas(o, 360.0)
    assert q.tolist() == [90.0, 270.0]
    assert p == pytest.approx(1 - stats.norm.cdf(-1))


def test_fairness_verdicts():
    assert odds.fairness(pd.Series([0.5, 0.55]))["verdict"] == "even"
    assert odds.fairness(pd.Series([0.3, 0.5]))["verdict"] == "uneven"
    v = odds.fairness(pd.Series([0.1, 0.9, 0.5]))
    assert v["verdict"] == "unfair" and v["spread_pp"] == pytest.approx(80)


def test_reconciled_company_adds_up():
    f = _forecasts()
    company = f.groupby("period", as_index=False)[["mean", "lower", "upper"]].sum()
    company["mean"] *= 1.07  # the company's own model disagrees with its parts
    company["lower"] = company["mean"] - 30
    company["upper"] = company["mean"] + 50
    both = pd.concat([f, company.assign(series_id="company")], ignore_index=True)
    rec = odds.reconcile_bottom_up(both, parts=["T1", "T2", "T3"], total="company")
    c = rec[rec["series_id"] == "company"].set_index("period")
    np.testing.assert_allclose(c["mean"], f.groupby("period")["mean"].sum().loc[c.index])
    # its own spread is kept: 30 below, 50 above
    np.testing.assert_allclose(c["mean"] - c["lower"], 30.0)
    np.testing.assert_allclose(c["upper"] - c["mean"], 50.0)
    assert rec.loc[rec["series_id"] != "company", "mean"].equals(f["mean"])


def test_forecast_weight_blends_the_shares_by_hand():
    t = pd.DataFrame(
        {
            "revenue_usd": [60.0, 40.0],
            "potential_usd": [100.0, 300.0],
            "forecast_usd": [30.0, 70.0],
        },
        index=["T1", "T2"],
    )
    q = allocate_quotas(t, target_usd=100.0, history_weight=0.5, forecast_weight=0.5)
    # T1: 0.5 × (0.5×0.6 + 0.5×0.25) + 0.5 × 0.3 = 0.3625
    assert q.loc["T1", "quota_usd"] == pytest.approx(36.25)
    assert q["quota_usd"].sum() == pytest.approx(100.0)
    with pytest.raises(ValueError, match="forecast_usd"):
        allocate_quotas(t.drop(columns="forecast_usd"), target_usd=1.0, forecast_weight=0.2)


def _plan_facts() -> tuple[pd.DataFrame, pd.Series]:
    """Six accounts over 16 quarters, three territories under the plan, one account out."""
    rng = np.random.default_rng(11)
    quarters = [f"{y}Q{q}" for y in range(2022, 2026) for q in range(1, 5)]
    rows = []
    for a in range(6):
        level = 50 + 20 * a
        for i, qq in enumerate(quarters):
            season = (1.0, 0.8, 1.1, 1.3)[i % 4]
            rows.append((f"A{a}", qq, level * season * (1 + 0.02 * i) + rng.normal(0, 3)))
    facts = pd.DataFrame(rows, columns=["account_id", "quarter", "won_usd"])
    plan = pd.Series(["T1", "T1", "T2", "T3", "T3", None], index=[f"A{a}" for a in range(6)])
    return facts, plan


def test_plan_outlook_re_aggregates_and_reconciles():
    facts, plan = _plan_facts()
    out = odds.plan_outlook(
        facts, plan, quarter="2025Q4", periods=["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    )
    hist = out.forecasts.history
    # the territory's history is its plan accounts' history; A5 (no territory) is left out
    t3 = hist[hist["series_id"] == "territory:T3"].set_index("period")["value"]
    by_hand = facts[facts["account_id"].isin(["A3", "A4"])].groupby("quarter")["won_usd"].sum()
    np.testing.assert_allclose(t3.to_numpy(), by_hand.loc[t3.index].to_numpy())
    company = hist[hist["series_id"] == "company"]["value"].sum()
    assert company == pytest.approx(facts.loc[facts["account_id"] != "A5", "won_usd"].sum())
    # reconciled: the company's forecast is the sum of the territories', quarter by quarter
    f = out.forecasts.forecasts
    parts = f[f["series_id"].str.startswith("territory:")].groupby("period")["mean"].sum()
    total = f[f["series_id"] == "company"].set_index("period")["mean"]
    np.testing.assert_allclose(total.to_numpy(), parts.loc[total.index].to_numpy())
    assert out.company["median"] == pytest.approx(out.territories["median"].sum())
    assert sorted(out.territories.index) == ["T1", "T2", "T3"]
