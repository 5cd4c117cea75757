"""Workload (notebook 02, section 4): recommended calls and hours per account per year from ABC
classes and lead grades (:func:`workload_plan`), and their totals per territory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..frames import isin
from ._common import _owner, _require

# ---------------------------------------------------------------------------------------------
# 4. Workload

DEFAULT_CALLS_PER_YEAR: dict[str, float] = {
    "A": 12.0,  # monthly: the customers that carry the business
    "B": 6.0,  # every other month
    "C": 2.0,  # twice a year; marketing and inside sales do the rest
    "hot": 3.0,  # prospects with the best win odds: a pursuit every four months
    "warm": 1.0,  # a yearly visit
    "cold": 0.0,  # left to marketing and inside sales: no field time
}
"""Recommended calls per account per year by call class (see ``docs/segments.md``)."""

DEFAULT_HOURS_PER_CALL = 1.0
"""Preparation, meeting and follow-up per call, in hours; travel is planned in notebook 03."""

CALL_CLASSES = ("A", "B", "C", "hot", "warm", "cold")


def _check_calls(calls: Mapping[str, object]) -> list[str]:
    problems = []
    unknown = sorted(set(calls) - set(CALL_CLASSES))
    if unknown:
        problems.append(
            f"calls_per_year: unknown class(es) {unknown}; use {', '.join(CALL_CLASSES)}"
        )
    for key, value in calls.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            problems.append(f"calls_per_year[{key!r}] must be a number ≥ 0, got {value!r}")
    return problems


def workload_plan(
    accounts: pd.DataFrame,
    *,
    classes: pd.DataFrame,
    lead_scores: pd.DataFrame,
    calls_per_year: Mapping[str, float] | None = None,
    hours_per_call: float = DEFAULT_HOURS_PER_CALL,
    lookalike_ids: Iterable[str] = (),
) -> pd.DataFrame:
    """Recommended calls and hours per account per year: the workload territories balance.

    Customers get the calls of their ABC class; prospects those of their lead grade
    (lookalikes of the best customers graded *cold* are raised to *warm*). Defaults:
    :data:`DEFAULT_CALLS_PER_YEAR` (A 12, B 6, C 2, hot 3, warm 1, cold 0) and
    :data:`DEFAULT_HOURS_PER_CALL` (1.5 h); ``calls_per_year`` overrides some or all classes.
    A customer without a class counts as C, a prospect without a score as cold.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id``, ``status``, ``owner_rep_id``; ``account_name``, ``unit_id``, ``lat``,
        ``lon`` kept when present.
    classes : DataFrame
        ``account_id``, ``abc_class`` (:attr:`ParetoResult.table`).
    lead_scores : DataFrame
        ``account_id``, ``win_probability``, ``lead_grade`` (:attr:`LeadScores.prospects`).
    calls_per_year : mapping, optional
        Calls per year by class (``A``, ``B``, ``C``, ``hot``, ``warm``, ``cold``).
    hours_per_call : float
        Hours per call (preparation, meeting, follow-up; not travel).
    lookalike_ids : iterable of str

    Returns
    -------
    DataFrame
        One row per account: ``account_id`` [, ``account_name``, ``unit_id``, ``lat``,
        ``lon``], ``owner_rep_id``, ``status``, ``abc_class``, ``lead_grade``,
        ``win_probability``, ``call_class``, ``calls_per_year``, ``hours_per_year``.

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a", "b"], "status": ["customer", "prospect"],
    ...                     "owner_rep_id": ["R1", None]})
    >>> w = workload_plan(acc, classes=pd.DataFrame({"account_id": ["a"], "abc_class": ["A"]}),
    ...                   lead_scores=pd.DataFrame({"account_id": ["b"], "win_probability": [0.4],
    ...                                             "lead_grade": ["hot"]}))
    >>> w[["call_class", "calls_per_year", "hours_per_year"]].values.tolist()
    [['A', 12.0, 12.0], ['hot', 3.0, 3.0]]
    """
    _require(accounts, ["account_id", "status", "owner_rep_id"], "accounts")
    _require(classes, ["account_id", "abc_class"], "classes")
    _require(lead_scores, ["account_id", "win_probability", "lead_grade"], "lead_scores")
    problems = _check_calls(calls_per_year or {})
    if problems:
        raise ValueError("; ".join(problems))
    if hours_per_call <= 0:
        raise ValueError(f"hours_per_call must be > 0, got {hours_per_call}")
    calls = {**DEFAULT_CALLS_PER_YEAR, **{k: float(v) for k, v in (calls_per_year or {}).items()}}
    keep = [c for c in ("account_id", "account_name", "unit_id", "lat", "lon") if c in accounts]
    out = accounts[keep].reset_index(drop=True)
    out["owner_rep_id"] = _owner(accounts).to_numpy()
    out["status"] = accounts["status"].to_numpy()
    ids = out["account_id"]
    out["abc_class"] = ids.map(classes.set_index("account_id")["abc_class"])
    scores = lead_scores.set_index("account_id")
    out["lead_grade"] = ids.map(scores["lead_grade"])
    out["win_probability"] = ids.map(scores["win_probability"]).astype(float)
    is_customer = out["status"] == "customer"
    grade = out["lead_grade"].where(out["lead_grade"].notna(), "cold")
    lookalike = isin(ids, lookalike_ids)
    grade = grade.where(~(lookalike & (grade == "cold")), "warm")
    out["abc_class"] = out["abc_class"].where(~is_customer | out["abc_class"].notna(), "C")
    out["lead_grade"] = out["lead_grade"].where(is_customer, grade)
    out["call_class"] = np.where(is_customer, out["abc_class"], out["lead_grade"])
    out["calls_per_year"] = out["call_class"].map(calls).astype(float)
    out["hours_per_year"] = out["calls_per_year"] * float(hours_per_call)
    return out


def workload_by_territory(workload: pd.DataFrame) -> pd.DataFrame:
    """Accounts, calls and hours per year per territory (owner rep's book), largest first.

    >>> w = pd.DataFrame({"owner_rep_id": ["R1", "R1", "R2"], "status": ["customer"] * 3,
    ...                   "calls_per_year": [12.0, 2.0, 6.0], "hours_per_year": [18.0, 3.0, 9.0]})
    >>> workload_by_territory(w)["hours_per_year"].tolist()
    [21.0, 9.0]
    """
    g = workload.groupby("owner_rep_id")
    out = pd.DataFrame(
        {
            "accounts": g.size(),
            "customers": g["status"].agg(lambda s: int((s == "customer").sum())),
            "calls_per_year": g["calls_per_year"].sum(),
            "hours_per_year": g["hours_per_year"].sum(),
        }
    )
    out["hours_share"] = out["hours_per_year"] / max(out["hours_per_year"].sum(), 1e-300)
    return out.sort_values("hours_per_year", ascending=False).rename_axis("territory")
