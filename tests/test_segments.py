"""Segmentation, ABC classes, lead scoring and workload (workbench/segments/, notebook 02).

Expected values are worked out by hand in the comments (or by a second, independent method),
never pasted from the code's output.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import demo_project
from sklearn.metrics import adjusted_rand_score, brier_score_loss

from workbench import segments
from workbench.config import ParameterError

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# 1. Pareto / ABC on six customers


@pytest.fixture
def six():
    """Six customers (A1..A6) and a prospect; won revenue in the 4 quarters to 2026Q3:
    A1 500, A2 250, A3 100, A4 80, A5 50, A6 20 (total 1000)."""
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4", "A5", "A6", "P1"],
            "account_name": ["One", "Two", "Three", "Four", "Five", "Six", "Prospect"],
            "industry": ["Retail"] * 7,
            "status": ["customer"] * 6 + ["prospect"],
            "owner_rep_id": ["R1", "R1", "R1", "R2", "R2", "R2", None],
        }
    )
    facts = pd.DataFrame(
        [
            ("A1", "2026Q2", 300.0),
            ("A1", "2026Q3", 200.0),  # 500 inside the window
            ("A1", "2025Q3", 1000.0),  # one quarter before the window (2025Q4..2026Q3): ignored
            ("A2", "2025Q4", 250.0),
            ("A3", "2026Q1", 100.0),
            ("A4", "2026Q3", 80.0),
            ("A5", "2026Q3", 50.0),
            ("A6", "2026Q3", 20.0),
            ("P1", "2026Q3", 999.0),  # not a customer (status prospect): not ranked
        ],
        columns=["account_id", "quarter", "won_usd"],
    )
    return accounts, facts


def test_abc_classes_and_gini_by_hand(six):
    accounts, facts = six
    res = segments.pareto_analysis(
        accounts, facts, quarter="2026Q3", n_quarters=4, a_share=0.8, b_share=0.95
    )
    t = res.table.set_index("account_id")
    assert t["revenue_usd"].to_dict() == {
        "A1": 500,
        "A2": 250,
        "A3": 100,
        "A4": 80,
        "A5": 50,
        "A6": 20,
    }
    # Shares .50 .25 .10 .08 .05 .02; share ranked above each: 0, .50, .75, .85, .93, .98.
    # A = above < .80 (A1, A2, A3: together 85 %); B = above < .95 (A4, A5); C = A6.
    assert t["abc_class"].to_dict() == {
        "A1": "A",
        "A2": "A",
        "A3": "A",
        "A4": "B",
        "A5": "B",
        "A6": "C",
    }
    # Gini = 2 Σ i·x_(i) / (n Σx) − (n+1)/n with x ascending 20, 50, 80, 100, 250, 500:
    # Σ i·x = 20 + 100 + 240 + 400 + 1250 + 3000 = 5010 → 10020/6000 − 7/6 = 0.503333…
    # (check by trapezoids: Lorenz 0 .02 .07 .15 .25 .50 1 → area 1.49/6 → 1 − 2·0.24833.)
    assert res.gini == pytest.approx(0.5033333, abs=1e-6)
    # Top 20 % of 6 customers = ⌈1.2⌉ = 2 customers (workbench.concentration, the same
    # definition as notebook 04's KPI): A1 + A2 = 500 + 250 = 75 %.
    assert res.top20_share == pytest.approx(0.75)
    assert res.lorenz["revenue_share"].round(4).tolist() == [0, 0.02, 0.07, 0.15, 0.25, 0.5, 1]


def test_abc_by_territory_by_hand(six):
    accounts, facts = six
    res = segments.pareto_analysis(accounts, facts, quarter="2026Q3")
    terr = res.by_territory
    assert terr.loc["R1", "revenue_usd"] == 850 and terr.loc["R2", "revenue_usd"] == 150
    assert terr.loc["R2", ["class_A", "class_B", "class_C"]].tolist() == [0, 2, 1]
    # R2 alone: x = 20, 50, 80 → Σ i·x = 360 → 720/450 − 4/3 = 0.26667.
    assert terr.loc["R2", "gini"] == pytest.approx(0.266667, abs=1e-5)
    # Within R2: shares .533 .333 .133, above 0, .533, .867 → A4 A, A5 A, A6 B.
    # Within R1: shares .588 .294 .118, above 0, .588, .882 → A1 A, A2 A, A3 B.
    t = res.table.set_index("account_id")["territory_class"].to_dict()
    assert t == {"A1": "A", "A2": "A", "A3": "B", "A4": "A", "A5": "A", "A6": "B"}


def test_potential_blend_lifts_a_fast_growing_account_out_of_c(six):
    accounts, facts = six
    potential = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4", "A5", "A6"],
            "potential_usd": [100.0, 100, 100, 100, 100, 500],
        }
    )
    res = segments.pareto_analysis(
        accounts, facts, quarter="2026Q3", potential=potential, potential_weight=0.5
    )
    # value = .5·revenue share + .5·potential share:
    # A1 .25+.05=.30, A2 .125+.05=.175, A3 .05+.05=.10, A4 .04+.05=.09, A5 .025+.05=.075,
    # A6 .01+.25=.26. Ranked A1 A6 A2 A3 A4 A5, above: 0 .30 .56 .735 .835 .925 → AAAA BB.
    t = res.table.set_index("account_id")
    assert t["abc_class"].to_dict() == {
        "A1": "A",
        "A6": "A",
        "A2": "A",
        "A3": "A",
        "A4": "B",
        "A5": "B",
    }
    assert res.moved_by_potential["account_id"].tolist() == ["A6"]
    assert t.loc["A6", "revenue_class"] == "C"
    # Gini and the top-20 % share stay about revenue.
    assert res.gini == pytest.approx(0.5033333, abs=1e-6)


def test_cut_off_reached_exactly_closes_the_class():
    # 60 + 20 = 80 % exactly: the third account is not needed to reach 80 %, so it is B.
    v = pd.Series({"x": 60.0, "y": 20.0, "z": 20.0})
    assert segments.abc_classes(v, a_share=0.8, b_share=0.95).tolist() == ["A", "A", "B"]


def test_abc_needs_revenue(six):
    accounts, facts = six
    with pytest.raises(ValueError, match="no won revenue"):
        segments.pareto_analysis(accounts, facts, quarter="2024Q1")


# ---------------------------------------------------------------------------------------------
# 2. Segments on planted clusters


def planted(seed: int = 0, n: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    """Three planted customer groups, well apart in every behaviour feature (continuous
    values: a Gaussian mixture would rightly split a group whose rounded counts are bimodal)."""
    rng = np.random.default_rng(seed)
    groups = [  # industry, employees, revenue, wins, recency days, growth, products
        ("Manufacturing", 500, 4e5, 15, 400, -0.6, 4.5),  # large, lapsing, most revenue
        ("Retail", 10, 1e4, 3, 20, 0.55, 1.5),  # small, growing
        ("Professional Services", 65, 5e4, 6, 40, 0.0, 3.5),  # mid-size, steady
    ]
    parts = []
    for g, (ind, emp, rev, wins, rec, growth, breadth) in enumerate(groups):
        parts.append(
            pd.DataFrame(
                {
                    "industry": ind,
                    "employees": np.round(emp * np.exp(rng.normal(0, 0.1, n))),
                    "revenue_usd": rev * np.exp(rng.normal(0, 0.1, n)),
                    "wins": np.maximum(1, rng.normal(wins, 0.5, n)),
                    "recency_days": np.clip(rng.normal(rec, 8, n), 0, None),
                    "growth": np.clip(rng.normal(growth, 0.05, n), -1, 1),
                    "product_breadth": np.clip(rng.normal(breadth, 0.3, n), 1, 5),
                    "potential_usd": np.nan,
                    "truth": g,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "account_id", [f"C{i:03d}" for i in range(len(frame))])
    return frame.drop(columns="truth"), frame["truth"].to_numpy()


def test_kmeans_recovers_planted_segments_and_names_them():
    features, truth = planted()
    res = segments.segment_customers(features, k_range=[2, 3, 4, 5], seed=0, stability_runs=2)
    assert res.k == 3
    assert adjusted_rand_score(truth, res.frame["segment_id"]) >= 0.9
    assert res.stability >= 0.9
    # Names from the planted profiles: group 0 is 100 % manufacturing, employees ~500 (above
    # the upper tercile), last win ~400 days ago (> 180: lapsing) and ~87 % of revenue for a
    # third of customers (≥ 1.5×: high-value); it carries most revenue, so it is S1. Group 2
    # (~5e4 each) is S2, mid-size (65 lies between the terciles), growth ~0: steady. Group 1
    # is S3: small retail, growth +0.55 (≥ 0.25) but not +1 (not new).
    assert res.names == {
        "S1": "large manufacturing, high-value, lapsing",
        "S2": "mid-size professional services, steady",
        "S3": "small retail, growing",
    }
    first = res.frame.loc[truth == 0, "segment_id"]
    assert (first == "S1").all()


def test_gaussian_mixture_recovers_planted_segments():
    features, truth = planted(seed=1)
    model = segments.AccountSegmenter(
        "gmm",
        [2, 3, 4],
        stability_runs=0,
        numeric=list(segments.SEGMENT_NUMERIC[:-1]),
        categorical=["industry"],
        log_columns=segments.SEGMENT_LOG,
    ).fit(features)
    assert adjusted_rand_score(truth, model.labels_) >= 0.9
    assert model.scores_["bic"].notna().all() and model.scores_["chosen"].sum() == 1


def test_segments_are_reproducible_for_a_seed():
    features, _ = planted(seed=2)
    one = segments.segment_customers(features, k_range=[3, 4], seed=5, stability_runs=1)
    two = segments.segment_customers(features, k_range=[3, 4], seed=5, stability_runs=1)
    pd.testing.assert_frame_equal(one.frame, two.frame)
    assert one.names == two.names


def test_too_few_customers_for_k_is_a_clear_error():
    features, _ = planted()
    with pytest.raises(ValueError, match="too few customers to segment: 4 customer"):
        segments.segment_customers(features.head(4), k_range=[3, 4, 5, 6])


def test_customer_features_by_hand():
    accounts = pd.DataFrame(
        {
            "account_id": ["a", "b"],
            "account_name": ["A", "B"],
            "industry": ["Retail", "Retail"],
            "employees": [10, 20],
            "status": ["customer", "customer"],
            "owner_rep_id": ["R1", None],
            "lat": [0.0, 0.0],
            "lon": [0.0, 0.0],
        }
    )
    opp = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "a", "b"],
            "stage": ["won", "won", "lost", "won", "won"],
            "close_date": pd.to_datetime(
                ["2025-05-01", "2026-08-31", "2026-09-01", "2026-10-02", "2025-01-01"]
            ),
            "amount_usd": [100.0, 300.0, 50.0, 999.0, 40.0],
            "product": ["x", "y", "z", "w", "x"],
        }
    )
    f = segments.customer_features(accounts, opp, quarter="2026Q3").set_index("account_id")
    # a: window 2025Q4..2026Q3 holds the 300 win (the 999 closes after quarter end, the 50 is
    # lost); the prior window 2024Q4..2025Q3 holds 100 → growth (300−100)/(300+100) = 0.5;
    # last win 2026-08-31 → 30 days before 2026-09-30; products won: x, y.
    assert f.loc[
        "a",
        ["revenue_usd", "prior_revenue_usd", "wins", "recency_days", "growth", "product_breadth"],
    ].tolist() == [300, 100, 1, 30, 0.5, 2]
    # b: nothing in the window, 40 before → growth −1; owner empty → UNASSIGNED ("unassigned").
    assert f.loc["b", "growth"] == -1 and f.loc["b", "owner_rep_id"] == "unassigned"


# ---------------------------------------------------------------------------------------------
# 3. Lead scoring: features as of the created date, time split and its leak guard


def lead_fixture(**stage_overrides) -> tuple[pd.DataFrame, pd.DataFrame]:
    accounts = pd.DataFrame(
        {
            "account_id": ["A", "B", "C"],
            "account_name": ["Alpha", "Beta", "Gamma"],
            "industry": ["Retail", "Retail", "Construction"],
            "employees": [40, 8, 300],
            "status": ["customer", "prospect", "prospect"],
            "owner_rep_id": ["R1", "R1", "R2"],
        }
    )
    rows = [  # id, account, rep, created, closed, stage, deal type
        ("O1", "A", "R1", "2025-11-01", "2026-01-15", "lost", "new_business"),
        ("O2", "A", "R1", "2026-02-01", "2026-03-20", "won", "new_business"),
        ("O3", "B", "R1", "2026-03-20", "2026-05-10", "lost", "new_business"),
        ("O7", "A", "R1", "2026-04-01", "2026-05-01", "won", "expansion"),
        ("O4", "B", "R1", "2026-06-01", "2026-08-15", "won", "new_business"),
        ("O5", "C", "R2", "2026-07-10", "2026-09-01", "lost", "new_business"),
        ("O6", "C", "R2", "2026-08-01", None, "open", "new_business"),
    ]
    opp = pd.DataFrame(
        rows,
        columns=[
            "opportunity_id",
            "account_id",
            "rep_id",
            "created_date",
            "close_date",
            "stage",
            "deal_type",
        ],
    )
    opp["created_date"] = pd.to_datetime(opp["created_date"])
    opp["close_date"] = pd.to_datetime(opp["close_date"])
    opp["amount_usd"] = 100.0
    for oid, stage in stage_overrides.items():
        opp.loc[opp["opportunity_id"] == oid, "stage"] = stage
    return accounts, opp


LABELS = ["new_business"]  # the fixture CRM's own label for deals that win a customer


def test_new_business_comes_from_the_data_whatever_the_labels():
    # Relabel every deal with labels the workbench has never seen: by default (deal_types
    # None) new business is "no won deal with the account before this one was created".
    accounts, opp = lead_fixture()
    opp["deal_type"] = ["Net New", "Net New", "Logo", "Upsell", "Logo", "Logo", "Logo"]
    data = segments.lead_features(accounts, opp, quarter="2026Q3")
    # O7 (created 2026-04-01) follows O2's win on account A (2026-03-20): not new business.
    # O4 follows only a loss on B, so it still is; O6 is open.
    assert sorted(data.closed["opportunity_id"]) == ["O1", "O2", "O3", "O4", "O5"]
    assert data.open["opportunity_id"].tolist() == ["O6"]
    assert "deal_type" not in data.feature_columns
    with pytest.raises(ValueError, match=r"deal_types \['new_business'\] not found"):
        segments.lead_features(accounts, opp, quarter="2026Q3", deal_types=LABELS)
    # [] takes every deal, O7 included
    every = segments.lead_features(accounts, opp, quarter="2026Q3", deal_types=[])
    assert sorted(every.closed["opportunity_id"]) == ["O1", "O2", "O3", "O4", "O5", "O7"]


def test_lead_features_use_only_what_was_known_at_creation():
    accounts, opp = lead_fixture()
    data = segments.lead_features(accounts, opp, quarter="2026Q3", deal_types=LABELS)
    closed = data.closed.set_index("opportunity_id")
    # Expansion O7 is not an example, but it is history; O6 is still open.
    assert sorted(closed.index) == ["O1", "O2", "O3", "O4", "O5"]
    assert data.open["opportunity_id"].tolist() == ["O6"]
    # O3, created 2026-03-20: R1's record before that day is O1 lost (O2 closed that same day
    # is not yet known) → (0 + 5) / (1 + 10) = 5/11; account B has no history.
    assert closed.loc["O3", "rep_win_rate"] == pytest.approx(5 / 11)
    assert closed.loc["O3", ["account_prior_wins", "account_prior_losses"]].tolist() == [0, 0]
    # O4, created 2026-06-01: R1 has O1 lost, O2 won, O3 lost, O7 won → (2 + 5) / (4 + 10);
    # account B has lost O3.
    assert closed.loc["O4", "rep_win_rate"] == pytest.approx(7 / 14)
    assert closed.loc["O4", ["account_prior_wins", "account_prior_losses"]].tolist() == [0, 1]
    # Prospects are scored as of 2026-10-01: B has won O4 and lost O3.
    b = data.prospects.set_index("account_id").loc["B"]
    assert (b["account_prior_wins"], b["account_prior_losses"]) == (1, 1)


def test_a_later_outcome_never_changes_earlier_features():
    cols = ["rep_win_rate", "account_prior_wins", "account_prior_losses"]
    base = segments.lead_features(*lead_fixture(), quarter="2026Q3", deal_types=LABELS).closed
    flipped = segments.lead_features(
        *lead_fixture(O4="lost", O5="won"), quarter="2026Q3", deal_types=LABELS
    ).closed
    a, b = base.set_index("opportunity_id"), flipped.set_index("opportunity_id")
    # O4 and O5 closed after every other example was created, and their own outcome is the
    # label: no example's features may move.
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert a.loc["O4", "won"] == 1 and b.loc["O4", "won"] == 0


def test_deals_closed_after_quarter_end_count_as_open():
    data = segments.lead_features(*lead_fixture(), quarter="2026Q2", deal_types=LABELS)
    # As of 2026-06-30: O4 (closed 2026-08-15) was still open, O5/O6 did not exist yet.
    assert data.open["opportunity_id"].tolist() == ["O4"]
    assert data.open["close_date"].isna().all()
    assert "O4" not in set(data.closed["opportunity_id"])


def test_time_split_trains_before_the_test_quarter():
    data = segments.lead_features(*lead_fixture(), quarter="2026Q3", deal_types=LABELS)
    split = segments.time_split(data, quarter="2026Q3", test_quarters=1)
    assert sorted(split.train["opportunity_id"]) == ["O1", "O2", "O3"]
    assert sorted(split.test["opportunity_id"]) == ["O4", "O5"]
    assert split.train["close_date"].max() < pd.Timestamp("2026-07-01") == split.test_start
    split.check()  # a clean split passes


def test_planted_leak_is_caught():
    data = segments.lead_features(*lead_fixture(), quarter="2026Q3", deal_types=LABELS)
    split = segments.time_split(data, quarter="2026Q3")
    # Plant the leak: O4, closed 2026-08-15 inside the test quarter, also in training.
    leaky = segments.TimeSplit(
        train=pd.concat([split.train, split.test.iloc[:1]]),
        test=split.test,
        test_start=split.test_start,
        test_end=split.test_end,
        feature_columns=split.feature_columns,
    )
    with pytest.raises(
        segments.LeakageError,
        match=r"closed on or after the test period starts "
        r"\(2026-07-01\), e\.g\. O4",
    ):
        segments.compare_lead_models(leaky)
    # Features dated after the created date are refused too.
    future = split.train.assign(as_of=split.train["created_date"] + pd.Timedelta(days=1))
    with pytest.raises(segments.LeakageError, match="features dated after their created date"):
        dataclass_replace(split, train=future).check()


def dataclass_replace(obj, **changes):
    import dataclasses

    return dataclasses.replace(obj, **changes)


def test_no_closed_opportunities_is_a_clear_error():
    accounts, opp = lead_fixture()
    opp = opp.assign(stage="open", close_date=pd.NaT)
    data = segments.lead_features(accounts, opp, quarter="2026Q3", deal_types=LABELS)
    with pytest.raises(ValueError, match="no closed \\(won or lost\\) opportunities up to 2026Q3"):
        segments.time_split(data, quarter="2026Q3")


def test_a_single_outcome_class_is_a_clear_error():
    accounts, opp = lead_fixture(O1="won", O3="won", O5="won")
    data = segments.lead_features(accounts, opp, quarter="2026Q3", deal_types=LABELS)
    split = segments.time_split(data, quarter="2026Q3")
    with pytest.raises(ValueError, match="needs both won and lost opportunities; all 3 were won"):
        segments.compare_lead_models(split)


def test_calibration_improves_brier_of_an_overconfident_model():
    # True win probability 0.3 + 0.2·x with x uniform on [-1, 1], plus three pure-noise columns.
    # Best possible Brier score: E[p(1 − p)] = 0.21 − 0.04·E[x²] = 0.1967; the constant
    # forecast 0.3 scores 0.3·0.7 = 0.21. Boosting with a learning rate of 1 and one-deal leaves
    # memorises the noise: probabilities near 0 or 1 (pure 0/1 guesses would score
    # ≈ 2·0.3·0.7 = 0.42).
    rng = np.random.default_rng(0)

    def sample(n):
        x = rng.uniform(-1, 1, n)
        noise = {f"noise{j}": rng.normal(size=n) for j in range(3)}
        return pd.DataFrame({"x": x, **noise}), (rng.random(n) < 0.3 + 0.2 * x).astype(int)

    X, y = sample(1500)
    X_test, y_test = sample(4000)
    settings = dict(learning_rate=1.0, max_iter=100, max_leaf_nodes=63, min_samples_leaf=1)
    raw = segments.LeadScorer("boosting", "none", **settings).fit(X, y)
    cal = segments.LeadScorer("boosting", "sigmoid", **settings).fit(X, y)
    brier_raw = brier_score_loss(y_test, raw.predict_proba(X_test)[:, 1])
    brier_cal = brier_score_loss(y_test, cal.predict_proba(X_test)[:, 1])
    assert cal.calibration_ == "sigmoid" and raw.calibration_ == "none"
    assert brier_raw > 0.25  # badly overconfident
    assert brier_cal < brier_raw - 0.05
    assert brier_cal < 0.21 + 0.01  # at least as good as the constant forecast, give or take


def test_baseline_win_rate_by_hand():
    X = pd.DataFrame({"industry": ["R", "R", "R", "C"], "size_band": ["s", "s", "l", "s"]})
    y = [1, 0, 1, 0]
    base = segments.WinRateBaseline(prior_strength=2).fit(X, y)
    # Overall 2/4 = .5. Industry R: (2 + 2·.5)/(3 + 2) = .6; C: (0 + 1)/(1 + 2) = 1/3.
    # Cell R|s: (1 + 2·.6)/(2 + 2) = .55; R|l: (1 + 1.2)/(1 + 2) = .7333; unseen C|l → C's 1/3.
    p = base.predict_proba(
        pd.DataFrame({"industry": ["R", "R", "C"], "size_band": ["s", "l", "l"]})
    )[:, 1]
    assert p == pytest.approx([0.55, 2.2 / 3, 1 / 3])


def test_lift_and_reliability_by_hand():
    y = [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    lift = segments.lift_table(y, p, groups=5)
    # Pairs by score: (1,0) (1,0) (0,0)…: win rate .5, .5, 0, 0, 0 against .2 overall.
    assert lift["lift"].tolist() == [2.5, 2.5, 0, 0, 0]
    assert lift["cumulative_wins_share"].tolist() == [0.5, 1, 1, 1, 1]
    rel = segments.reliability_table(y, p, bins=2)
    # Low half: scores .05 .1 .2 .3 .4 (mean 1.05/5 = .21), no win; high half .5–.9 (mean .7)
    # with the wins at .7 and .9: 2 of 5.
    assert rel["observed_rate"].tolist() == [0, 0.4]
    assert rel["mean_predicted"].tolist() == pytest.approx([0.21, 0.7])


# ---------------------------------------------------------------------------------------------
# 4. Workload and parameters


def test_workload_by_hand():
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "P1", "P2", "P3"],
            "status": ["customer"] * 3 + ["prospect"] * 3,
            "owner_rep_id": ["R1", "R1", "R2", "R2", None, "R1"],
        }
    )
    classes = pd.DataFrame({"account_id": ["A1", "A2"], "abc_class": ["A", "C"]})
    scores = pd.DataFrame(
        {"account_id": ["P1", "P2"], "win_probability": [0.4, 0.1], "lead_grade": ["hot", "cold"]}
    )
    w = segments.workload_plan(
        accounts,
        classes=classes,
        lead_scores=scores,
        calls_per_year={"A": 10},
        hours_per_call=2.0,
        lookalike_ids=["P2"],
    ).set_index("account_id")
    # A1: A overridden to 10 calls → 20 h; A2: C 2 → 4 h; A3: customer without a class → C;
    # P1 hot 3 → 6 h; P2 cold but a lookalike → warm 1 → 2 h;
    # P3 unscored → cold 0 → 0 h.
    assert w["call_class"].tolist() == ["A", "C", "C", "hot", "warm", "cold"]
    assert w["hours_per_year"].tolist() == [20, 4, 4, 6, 2, 0]
    terr = segments.workload_by_territory(w.reset_index())
    # R1: A1 20 + A2 4 + P3 0 = 24; R2: A3 4 + P1 6 = 10; unassigned: P2 2.
    assert terr["hours_per_year"].to_dict() == {"R1": 24, "R2": 10, "unassigned": 2}


def test_parameters_are_checked():
    with pytest.raises(ParameterError, match="b_share must be above a_share"):
        segments.SegmentationParams.from_mapping({"a_share": 0.9, "b_share": 0.85})
    with pytest.raises(ParameterError, match="calls_per_year: unknown class"):
        segments.SegmentationParams.from_mapping({"calls_per_year": {"D": 3}})
    with pytest.raises(ParameterError, match="k_range must list segment counts ≥ 2"):
        segments.SegmentationParams.from_mapping({"k_range": [1, 2]})


# ---------------------------------------------------------------------------------------------
# Notebook 02 end to end on a small demo


@pytest.fixture(scope="module")
def seg_home(tmp_path_factory):
    """A scratch project: small demo, ingested, plus a potential stage with one planted
    account (so the blend is exercised without notebook 01)."""
    from workbench import io

    home = demo_project(tmp_path_factory.mktemp("seg_home"), seed=11, n_accounts=400)
    processed = home / "data" / "processed"
    accounts = io.load("accounts", processed)
    facts = io.load("facts_account_quarter", processed)
    window = {"2025Q4", "2026Q1", "2026Q2", "2026Q3"}
    revenue = (
        facts[facts["quarter"].isin(window)]
        .groupby("account_id")["won_usd"]
        .sum()
        .reindex(accounts.loc[accounts["status"] == "customer", "account_id"], fill_value=0)
    )
    smallest = revenue[revenue > 0].sort_values(kind="stable").index[0]
    potential = pd.DataFrame(
        {"account_id": accounts["account_id"], "potential_usd": accounts["employees"] * 1000.0}
    )
    others = potential.loc[accounts["status"] == "customer", "potential_usd"].sum()
    # 1.5 × every other customer's potential: its potential share alone is 0.6, so with a
    # weight of .5 its class value is ≥ .3, the largest of all → class A.
    potential.loc[potential["account_id"] == smallest, "potential_usd"] = 1.5 * others
    io.save_stage(potential, processed, "potential_accounts", "2026Q3")
    return home, smallest, revenue


@pytest.mark.slow
def test_notebook_02_through_papermill(seg_home, tmp_path):
    import papermill as pm

    from workbench import io

    home, planted_id, revenue = seg_home
    out = tmp_path / "02.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "02_segmentation.ipynb"),
        str(out),
        parameters={
            "quarter": "2026Q3",
            "data_dir": str(home / "data"),
            "k_range": [3, 4],
            "stability_runs": 2,
            "test_quarters": 2,
            "lookalikes": 5,
            "potential_weight": 0.5,
            "calls_per_year": {"A": 10},
            "fit_sample": 100,  # below the customers and deals: the sampled path, end to end
        },
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
    )
    nb = json.loads(out.read_text())
    text = "\n".join(
        "".join(o.get("text", ""))
        + "".join(o.get("data", {}).get("text/plain", ""))
        + "".join(o.get("data", {}).get("text/html", ""))
        for c in nb["cells"]
        for o in c.get("outputs", [])
    )
    # Top-20 % share by a second method: revenue sorted largest first, cumulative sum read at
    # 0.2·n customers by linear interpolation.
    r = np.sort(revenue.to_numpy())[::-1]
    top20 = np.interp(0.2 * len(r), np.arange(len(r) + 1), np.r_[0, np.cumsum(r)]) / r.sum()
    assert f"share of revenue from the top 20% of customers</th>\n      <td>{top20:.0%}" in text
    assert "Gini coefficient of revenue" in text and "50% potential share" in text
    images = [
        o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(images) == 5  # Lorenz, profiles, map, reliability, lift

    processed = home / "data" / "processed"
    accounts = io.load("accounts", processed)
    seg = io.load_stage(processed, "segments", "2026Q3")
    assert (accounts["status"] == "customer").sum() > 100  # so the clusters came from a sample
    assert len(seg) == (accounts["status"] == "customer").sum()  # and every customer is assigned
    assert seg["segment_id"].nunique() in (3, 4)
    for name in seg["segment_name"].unique():
        assert name in text
    planted = seg.set_index("account_id").loc[planted_id]
    assert (planted["revenue_class"], planted["abc_class"]) == ("C", "A")

    scores = io.load_stage(processed, "lead_scores", "2026Q3")
    assert len(scores) == (accounts["status"] == "prospect").sum()
    assert scores["win_probability"].between(0, 1).all()
    assert set(scores["lead_grade"]) == {"hot", "warm", "cold"}

    work = io.load_stage(processed, "workload", "2026Q3")
    assert len(work) == len(accounts) and work["account_id"].is_unique
    assert (work["hours_per_year"] == work["calls_per_year"] * 1.0).all()
    assert (work.loc[work["abc_class"] == "A", "calls_per_year"] == 10).all()
    assert (work.loc[work["call_class"] == "B", "calls_per_year"] == 6).all()  # default kept


def test_silhouette_of_many_customers_is_estimated_on_a_sample():
    """Beyond SILHOUETTE_SAMPLE customers the silhouette comes from a seeded sample (the exact
    one costs n² distances): within 0.01 of the exact value, and the same for the same seed."""
    from sklearn.metrics import silhouette_score

    from workbench.segments.clusters import SILHOUETTE_SAMPLE, _silhouette

    rng = np.random.default_rng(4)
    n = SILHOUETTE_SAMPLE + 2_000
    labels = rng.integers(0, 3, n)
    Z = rng.normal(size=(n, 2)) + np.array([[0, 0], [2.5, 0], [0, 2.5]])[labels]
    exact = silhouette_score(Z, labels)
    assert _silhouette(Z, labels, 0) == pytest.approx(exact, abs=0.01)
    assert _silhouette(Z, labels, 0) == _silhouette(Z, labels, 0)
    small = Z[:500], labels[:500]
    assert _silhouette(*small, 0) == pytest.approx(silhouette_score(*small), abs=1e-12)


def test_history_as_of_matches_a_loop_over_every_event():
    """Wins and losses closed strictly before each query's date, per key, against a plain
    loop: same-day closes do not count, other keys never leak in, a missing key stays
    missing."""
    from workbench.segments.leads import _history_asof

    rng = np.random.default_rng(11)
    days = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 60, 400), unit="D")
    events = pd.DataFrame(
        {
            "account_id": rng.choice(["a", "b", "c", "d", None], 400),
            "close_date": days,
            "won": rng.integers(0, 2, 400),
        }
    )
    queries = pd.DataFrame(
        {
            "account_id": rng.choice(["a", "b", "c", "e", None], 150),
            "as_of": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.integers(0, 65, 150), unit="D"),
        },
        index=rng.permutation(1000)[:150],  # any index is kept
    )
    got = _history_asof(queries, events, "account_id")
    assert got.index.equals(queries.index)
    for i, q in queries.iterrows():
        if pd.isna(q["account_id"]):
            assert np.isnan(got.loc[i, "wins"]) and np.isnan(got.loc[i, "losses"])
            continue
        mine = events[
            (events["account_id"] == q["account_id"]) & (events["close_date"] < q["as_of"])
        ]
        assert got.loc[i, "wins"] == mine["won"].sum()
        assert got.loc[i, "losses"] == len(mine) - mine["won"].sum()
    assert (got.loc[queries["account_id"].eq("e").to_numpy(), "wins"] == 0).all()


def test_clusters_fitted_on_a_sample_assign_every_customer():
    """Beyond max_samples the clusters come from a seeded sample and every customer is then
    assigned: on well-separated planted groups that recovers the groups as the full fit does."""
    features, truth = planted(seed=3, n=400)  # 1,200 customers
    kwargs = dict(k_range=[2, 3, 4], seed=0, stability_runs=2, cross_check=False)
    full = segments.segment_customers(features, max_samples=None, **kwargs)
    part = segments.segment_customers(features, max_samples=300, **kwargs)
    assert part.model.n_fitted_ == 300 and full.model.n_fitted_ == len(features)
    assert part.k == full.k == 3
    assert len(part.frame) == len(features) and part.frame["segment_id"].notna().all()
    assert adjusted_rand_score(truth, part.frame["segment_id"]) >= 0.9
    assert adjusted_rand_score(full.frame["segment_id"], part.frame["segment_id"]) >= 0.9
    again = segments.segment_customers(features, max_samples=300, **kwargs)
    pd.testing.assert_frame_equal(part.frame, again.frame)  # the sample is seeded
    with pytest.raises(ValueError, match="max_samples must be ≥ 1"):
        segments.segment_customers(features, max_samples=0, **kwargs)


def test_lead_model_fitted_on_a_sample_scores_like_the_truth():
    """A lead model fitted on a 2,000-deal sample of 20,000 ranks new deals by the planted
    win probability almost as well as the planted probability itself (the best possible)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    n = 20_000
    X = pd.DataFrame({"employees": rng.lognormal(3, 1, n), "industry": rng.choice(["A", "B"], n)})
    truth = 1 / (1 + np.exp(-(np.log(X["employees"]) - 3 + np.where(X["industry"] == "A", 1, -1))))
    y = (rng.random(n) < truth).astype(int)
    model = segments.LeadScorer("logistic", max_samples=2_000).fit(X.iloc[:15_000], y[:15_000])
    assert model.n_fitted_ == 2_000
    test = slice(15_000, None)
    best = roc_auc_score(y[test], truth[test])
    assert roc_auc_score(y[test], model.predict_proba(X.iloc[test])[:, 1]) >= best - 0.01
    whole = segments.LeadScorer("logistic", max_samples=None).fit(X.iloc[:15_000], y[:15_000])
    assert whole.n_fitted_ == 15_000


def test_fit_sample_parameter():
    ns = {"quarter": "2026Q3", "data_dir": "data"}
    assert segments.SegmentationParams.from_notebook(ns).max_samples == 100_000
    assert segments.SegmentationParams.from_notebook({**ns, "fit_sample": 0}).max_samples is None
    with pytest.raises(ParameterError, match="fit_sample must be ≥ 0"):
        segments.SegmentationParams.from_notebook({**ns, "fit_sample": -1})


def test_lookalikes_match_brute_force_distances():
    """The k-d tree over distinct profiles gives the brute-force answer: each candidate's mean
    Euclidean distance to its 3 nearest best customers, computed here from every pair."""
    rng = np.random.default_rng(8)
    n = 300
    firmo = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "account_name": [f"Name {i}" for i in range(n)],
            "industry": rng.choice(["Retail", "Farming", "Legal"], n),
            "employees": rng.choice([5, 20, 80, 400], n).astype(float),  # repeated profiles
            "unit_income": rng.choice([40.0, 55.0, 90.0], n),
        }
    )
    best, cand = firmo["account_id"][:40].tolist(), firmo["account_id"][40:].tolist()
    near = segments.lookalike_prospects(firmo, best_ids=best, candidate_ids=cand, n=len(cand))
    # the same feature space by hand: log1p(employees) and the driver standardised over all
    # accounts (population sd), industry one-hot
    emp = np.log1p(firmo["employees"].to_numpy())
    inc = firmo["unit_income"].to_numpy()
    Z = np.column_stack(
        [
            (emp - emp.mean()) / emp.std(),
            (inc - inc.mean()) / inc.std(),
            *[(firmo["industry"] == g).to_numpy(float) for g in ("Farming", "Legal", "Retail")],
        ]
    )
    d = np.sqrt(((Z[40:, None, :] - Z[None, :40, :]) ** 2).sum(axis=2))
    expected = pd.Series(np.sort(d, axis=1)[:, :3].mean(axis=1), index=cand)
    got = near.set_index("account_id")["distance"]
    assert len(got) == len(cand)
    np.testing.assert_allclose(got.reindex(cand), expected, atol=1e-9)
    assert got.is_monotonic_increasing  # ranked by distance
