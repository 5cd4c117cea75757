"""Invariants that hold for any input, checked by hypothesis on generated data.

* the Gini coefficient of non-negative values is in [0, 1 - 1/n] and equals one minus twice the
  area under the Lorenz curve (trapezoids, computed here as the oracle);
* the top share is between the share itself and 1, and grows with the share;
* ABC classes partition the customers: one class each, ranked by value, A carrying at least
  its share;
* quotas sum to the company's target, and each territory's quarters sum to its year;
* whitespace (potential minus revenue) is never negative, per account and in every roll-up.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_potential import make_world

from workbench import potential, segments
from workbench.concentration import gini, top_count, top_share
from workbench.territory.quota import allocate_quotas, seasonality

money = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(money, min_size=1, max_size=40))
def test_gini_is_between_0_and_1_and_both_formulas_agree(values):
    assume(sum(values) > 1e-6)
    g = gini(values)
    n = len(values)
    assert -1e-12 <= g <= 1 - 1 / n + 1e-9
    x = np.sort(np.asarray(values, dtype=float))
    y = np.r_[0.0, np.cumsum(x) / x.sum()]  # the Lorenz curve at 0, 1/n, ..., 1
    area = float(np.sum((y[1:] + y[:-1]) / 2) / n)
    assert g == pytest.approx(1 - 2 * area, abs=1e-9)
    # and the definition: every pair's absolute difference (gini sorts instead)
    pairs = np.abs(x[:, None] - x[None, :]).sum() / (2 * n * n * x.mean())
    assert g == pytest.approx(pairs, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(money, min_size=1, max_size=40), st.floats(0.01, 1.0))
def test_top_share_is_at_least_the_share_and_grows_with_it(values, share):
    positive = [v for v in values if v > 0]
    assume(positive and sum(positive) > 1e-6)
    t = top_share(values, share=share)
    k = top_count(len(positive), share)
    assert 1 <= k <= len(positive)
    assert k / len(positive) - 1e-9 <= t <= 1 + 1e-9  # the top k hold at least their head count
    assert top_share(values, share=min(1.0, share + 0.1)) >= t - 1e-12


@settings(max_examples=200, deadline=None)
@given(
    st.lists(money, min_size=1, max_size=40),
    st.floats(0.05, 0.9),
    st.floats(0.01, 0.5),
)
def test_abc_classes_partition_the_customers(values, a_share, gap):
    b_share = min(a_share + gap, 1.0)
    assume(a_share < b_share and sum(values) > 0)  # no value at all is refused (below)
    v = pd.Series(values, index=[f"c{i:02d}" for i in range(len(values))])
    classes = segments.abc_classes(v, a_share=a_share, b_share=b_share)
    assert list(classes.index) == list(v.index)  # every customer, once
    assert set(classes) <= {"A", "B", "C"}
    rank = {"A": 0, "B": 1, "C": 2}
    order = v.sort_values(ascending=False, kind="stable")
    # classes never go back up the ranking: a bigger customer is never in a lower class
    assert all(
        rank[classes[a]] <= rank[classes[b]] for a, b in pairwise(order.index) if v[a] > v[b]
    )
    assert v[classes == "A"].sum() >= a_share * v.sum() * (1 - 1e-9)
    assert v[classes != "C"].sum() >= b_share * v.sum() * (1 - 1e-9)


def test_abc_classes_refuse_customers_without_any_value():
    with pytest.raises(ValueError, match="total value is zero"):
        segments.abc_classes(pd.Series([0.0, 0.0], index=["a", "b"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(money, st.one_of(st.none(), money)), min_size=1, max_size=12),
    st.floats(0, 1e10, allow_nan=False),
    st.floats(0, 1),
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=8, max_size=8),
)
def test_quotas_sum_to_the_target_and_quarters_to_the_year(rows, target, weight, history):
    frame = pd.DataFrame(rows, columns=["revenue_usd", "potential_usd"], dtype=float)
    frame.index = [f"T{i:02d}" for i in range(len(rows))]
    assume(frame["revenue_usd"].sum() > 1e-6)
    quarters = ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    season = seasonality(pd.Series(history, index=quarters))
    year = ["2027Q1", "2027Q2", "2027Q3", "2027Q4"]
    q = allocate_quotas(
        frame, target_usd=target, history_weight=weight, season=season, year_quarters=year
    )
    assert q["quota_usd"].sum() == pytest.approx(target, rel=1e-9, abs=1e-6)
    assert (q["quota_usd"] >= 0).all()
    assert q[[f"quota_{x}" for x in year]].sum(axis=1).to_numpy() == pytest.approx(
        q["quota_usd"].to_numpy(), rel=1e-9, abs=1e-6
    )


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    quantile=st.sampled_from([0.5, 0.8, 0.9]),
    strength=st.floats(0, 1),
)
def test_whitespace_is_never_negative(seed, quantile, strength):
    accounts, units, facts, competitors = make_world(seed)
    res = potential.score_potential(
        accounts,
        units,
        facts,
        quarter="2026Q3",
        competitors=competitors,
        quantile=quantile,
        competitor_strength=strength,
        index_weights={"population": 1.0},
        cv_folds=3,
    )
    acc = res.accounts
    assert (acc["whitespace_usd"] >= 0).all()
    assert np.allclose(acc["whitespace_usd"], acc["potential_usd"] - acc["revenue_usd"])
    for table in (res.units, res.territories, res.regions):
        assert (table["whitespace_usd"].dropna() >= -1e-6).all()
