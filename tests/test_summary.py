"""Executive summary: headline numbers read from hand-built stage files."""

from __future__ import annotations

import pandas as pd

from workbench.io import save_stage
from workbench.summary import executive_summary, summary_html

Q = "2026Q3"


def test_headlines_from_stage_files(tmp_path):
    save_stage(
        pd.DataFrame(
            {
                "territory": ["R1", "R2", "unassigned"],
                "revenue_usd": [300_000.0, 400_000.0, 50_000.0],
                "quota_usd": [500_000.0, 500_000.0, None],
            }
        ),
        tmp_path,
        "kpi_territory",
        Q,
    )
    save_stage(
        pd.DataFrame(
            {
                "rep_id": ["R1", "R2", "R3"],
                "quota_usd": [1.0, 1.0, 0.0],
                "attainment": [0.6, 1.25, None],
            }
        ),
        tmp_path,
        "kpi_rep",
        Q,
    )
    save_stage(
        pd.DataFrame(
            {
                "scope_type": ["company", "company", "region"],
                "kind": ["forecast", "actual", "forecast"],
                "period": ["2026Q4", "2026Q3", "2026Q4"],
                "mean_usd": [2e6, 1e6, 5.0],
                "lower_usd": [1.5e6, None, 1.0],
                "upper_usd": [2.5e6, None, 9.0],
                "interval_level": [0.8, None, 0.8],
                "model": ["ets", None, "naive"],
            }
        ),
        tmp_path,
        "forecast",
        Q,
    )
    save_stage(
        pd.DataFrame(
            {
                "whitespace_usd": [600.0, 400.0],
                "potential_usd": [1000.0, 1000.0],
                "revenue_usd": [400.0, 600.0],
            }
        ),
        tmp_path,
        "potential_units",
        Q,
    )
    h = {x.label: x for x in executive_summary(tmp_path, Q)}
    # 750k revenue against 1,000k quota (the unassigned book has no quota): 75%
    assert h["Revenue vs quota, 2026Q3"].value == "$750.0k / $1.0M"
    assert h["Revenue vs quota, 2026Q3"].detail.startswith("75% of quota")
    # R3 has no quota: only R1 (60%) and R2 (125%) count
    assert h["Attainment spread"].value == "60% – 125%"
    assert (
        "2 reps with a quota; 1 below 100% (lowest R1, highest R2)" in h["Attainment spread"].detail
    )
    assert h["Forecast 2026Q4"].value == "$2.0M"
    assert "80% interval $1.5M – $2.5M (ets)" in h["Forecast 2026Q4"].detail
    # whitespace 1,000 of potential 2,000; revenue 1,000 / 2,000 = 50% penetration
    assert h["Whitespace (a year)"].value == "$1.0k"
    assert "penetration 50%" in h["Whitespace (a year)"].detail
    # notebook 03 wrote nothing: said plainly, linked to its page
    assert h["Proposed alignment"].value == "n/a"
    assert h["Proposed alignment"].link == "03_territory_design.html"
    page = summary_html(list(h.values()))
    assert page.count('class="headline"') == 7 and "04_kpi_review.html#Attainment" in page
    assert h["Next year's target"].value == "n/a"  # nor its quota odds


def test_target_headline_states_the_company_and_the_reps_chances(tmp_path):
    rows = {
        "k": 3.0,
        "quota_target_usd": 2_400_000.0,
        "quota_target_chance": 0.38,
        "quota_chance_min": 0.21,
        "quota_chance_max": 0.64,
        "quota_equal_chance": 0.44,
    }
    save_stage(
        pd.DataFrame({"metric": list(rows), "value": list(rows.values())}),
        tmp_path,
        "territory_summary",
        Q,
    )
    (h,) = [x for x in executive_summary(tmp_path, Q) if x.label == "Next year's target"]
    assert h.value == "$2.4M"
    # 64% − 21% = 43 pp: beyond 25 pp, unfair
    assert h.detail == (
        "The company makes it with a 38% chance; reps' chances of making quota run 21%–64% "
        "(unfair); equal-chance quotas would give each 44%."
    )
    assert h.link == "03_territory_design.html#Quotas-with-their-odds"


def test_proposed_alignment_headline_says_when_the_plan_is_proven_optimal(tmp_path):
    rows = {
        "k": 12,
        "max_deviation_potential_usd": 0.049,
        "max_deviation_workload_hours": 0.031,
        "gap": 0.0004,
        "share_moved": 0.41,
        "proven_optimal": 1.0,
    }
    save_stage(
        pd.DataFrame({"metric": list(rows), "value": list(rows.values())}),
        tmp_path,
        "territory_summary",
        Q,
    )
    (h,) = [x for x in executive_summary(tmp_path, Q) if x.label == "Proposed alignment"]
    assert h.value == "±4.9% balance"  # the worse of the two measures
    assert "proven optimal (contiguity included)" in h.detail and "gap" not in h.detail
    assert "41% of blocks move" in h.detail
    rows["proven_optimal"] = 0.0
    save_stage(
        pd.DataFrame({"metric": list(rows), "value": list(rows.values())}),
        tmp_path,
        "territory_summary",
        Q,
    )
    (h,) = [x for x in executive_summary(tmp_path, Q) if x.label == "Proposed alignment"]
    assert "optimality gap 0.0%" in h.detail or "optimality gap 0%" in h.detail


def test_an_infeasible_plan_is_never_a_headline_number(tmp_path):
    rows = {
        "k": 4.0,
        "feasible": 0.0,
        "violations": 2.0,
        "safety_stop": 1.0,
        "proven_infeasible": 0.0,
        "max_deviation_potential_usd": 0.563,
        "gap": float("nan"),
        "share_moved": 0.5,
        "recommended_reps": 6.0,
        "mean_capacity_use": 1.4,
        "headcount_material": 1.0,
    }
    save_stage(
        pd.DataFrame({"metric": list(rows), "value": list(rows.values())}),
        tmp_path,
        "territory_summary",
        Q,
    )
    save_stage(
        pd.DataFrame(
            {
                "constraint": ["balance"],
                "subject": ["T02"],
                "reason": ["potential_usd +56.3% from the mean"],
            }
        ),
        tmp_path,
        "territory_violations",
        Q,
    )
    h = {x.label: x for x in executive_summary(tmp_path, Q)}
    plan = h["Proposed alignment"]
    assert plan.value == "not feasible" and "56.3%" not in plan.value
    assert "misses 2 constraint(s)" in plan.detail and "safety time limit" in plan.detail
    assert "potential_usd +56.3% from the mean" in plan.detail  # the first reason, verbatim
    # 4 territories against 6 needed: more than 15 % apart, so a warning
    head = h["Headcount: designed vs needed"]
    assert head.value == "4 vs 6" and head.detail.startswith("Warning")
    assert "mean capacity use 140%" in head.detail
