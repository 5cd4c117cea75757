"""Customer segmentation, Pareto/ABC classes and predictive lead scoring (notebook 02).

Territory balance and workload depend on knowing which customers matter and which prospects
are worth a call. This module answers four questions, in the order of the notebook:

1. **Pareto / ABC** (:func:`pareto_analysis`): how concentrated is revenue (Lorenz curve, share
   of the top 20 % of customers, Gini coefficient), and which customers are class A, B or C,
   optionally valuing each customer by a blend of revenue and potential (notebook 01).
2. **Segments** (:func:`customer_features`, :class:`AccountSegmenter`,
   :func:`segment_customers`): clusters of customers by firmographics and buying behaviour
   (recency, frequency and value of wins, growth, product breadth), each with a profile and a
   readable name.
3. **Lead scores** (:func:`lead_features`, :func:`time_split`, :func:`compare_lead_models`,
   :func:`score_prospects`): the win probability of open opportunities and prospects, learnt
   from closed opportunities with features known at each opportunity's created date, tested on
   the latest quarter(s) against a naive baseline; plus the ideal customer profile
   (:func:`ideal_customer_profile`) and lookalike prospects (:func:`lookalike_prospects`).
4. **Workload** (:func:`workload_plan`): recommended calls and hours per account per year, the
   input notebook 03 balances territories on.

Methods, defaults and their reasons: ``docs/segments.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin, ClusterMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    adjusted_rand_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
    silhouette_score,
)
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from . import io
from .config import NotebookParams, Quarter
from .geo import unit_drivers
from .plots import usd

__all__ = [
    "DEFAULT_CALLS_PER_YEAR",
    "AccountSegmenter",
    "LeadData",
    "LeadModelComparison",
    "LeadScorer",
    "LeadScores",
    "LeakageError",
    "ParetoResult",
    "SegmentationParams",
    "SegmentationResult",
    "TimeSplit",
    "WinRateBaseline",
    "abc_classes",
    "compare_lead_models",
    "customer_features",
    "gini",
    "ideal_customer_profile",
    "lead_features",
    "lift_table",
    "load_segmentation_inputs",
    "lookalike_prospects",
    "lorenz_curve",
    "name_segment",
    "pareto_analysis",
    "plot_lift",
    "plot_lorenz",
    "plot_reliability",
    "plot_segment_map",
    "plot_segment_profiles",
    "reliability_table",
    "save_outputs",
    "score_prospects",
    "segment_customers",
    "size_band",
    "time_split",
    "top_share",
    "workload_by_territory",
    "workload_plan",
]

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
SIZE_BANDS = ((0, "1-49"), (50, "50-249"), (250, "250-999"), (1000, "1000+"))
UNASSIGNED = "(unassigned)"


# ---------------------------------------------------------------------------------------------
# Parameters and inputs


@dataclasses.dataclass(frozen=True)
class SegmentationParams(NotebookParams):
    """Parameters of ``notebooks/02_segmentation.ipynb`` (defaults: ``docs/segments.md``)."""

    seed: int = 0
    revenue_quarters: int = 4
    a_share: float = 0.8
    b_share: float = 0.95
    potential_weight: float = 0.3
    k_range: list[int] = dataclasses.field(default_factory=lambda: [3, 4, 5, 6])
    cluster_method: str = "kmeans"
    stability_runs: int = 5
    deal_types: list[str] | None = None
    test_quarters: int = 1
    hot_share: float = 0.2
    warm_share: float = 0.3
    lookalikes: int = 15
    calls_per_year: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_CALLS_PER_YEAR))
    hours_per_call: float = DEFAULT_HOURS_PER_CALL

    def check(self) -> list[str]:
        problems = super().check()
        if self.revenue_quarters < 1:
            problems.append("revenue_quarters must be ≥ 1")
        if not 0 < self.a_share < 1:
            problems.append(f"a_share must be between 0 and 1, got {self.a_share}")
        if not self.a_share < self.b_share <= 1:
            problems.append(
                f"b_share must be above a_share ({self.a_share}) and ≤ 1, got {self.b_share}"
            )
        if not 0 <= self.potential_weight <= 1:
            problems.append(
                f"potential_weight must be between 0 and 1, got {self.potential_weight}"
            )
        if not self.k_range or min(self.k_range) < 2:
            problems.append(f"k_range must list segment counts ≥ 2, got {self.k_range}")
        if self.cluster_method not in ("kmeans", "gmm"):
            problems.append(
                f"cluster_method must be 'kmeans' or 'gmm', got {self.cluster_method!r}"
            )
        if self.stability_runs < 0:
            problems.append("stability_runs must be ≥ 0")
        if self.test_quarters < 1:
            problems.append("test_quarters must be ≥ 1")
        if not (
            self.hot_share >= 0 and self.warm_share >= 0 and self.hot_share + self.warm_share <= 1
        ):
            problems.append("hot_share and warm_share must be ≥ 0 and add up to at most 1")
        if self.lookalikes < 0:
            problems.append("lookalikes must be ≥ 0")
        problems += _check_calls(self.calls_per_year)
        if self.hours_per_call <= 0:
            problems.append("hours_per_call must be > 0")
        return problems


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


def load_segmentation_inputs(processed: str | Path, *, quarter: Quarter | str) -> dict:
    """The processed tables notebook 02 needs, plus the optional ones (``None`` if absent).

    Required: ``accounts``, ``opportunities``, ``facts_account_quarter``, ``geo_units``.
    Optional: ``competitors`` (competitor presence per unit), ``potential`` (notebook 01's
    ``potential_accounts`` stage for ``quarter``) and ``units_geojson`` (unit polygons).
    """
    data: dict = {
        name: io.load(name, processed)
        for name in ("accounts", "opportunities", "facts_account_quarter", "geo_units")
    }
    try:
        data["competitors"] = io.load("competitors", processed)
    except FileNotFoundError:
        data["competitors"] = None
    try:
        data["potential"] = io.load_stage(processed, "potential_accounts", quarter)
    except FileNotFoundError:
        data["potential"] = None
    data["units_geojson"] = io.load_geojson(processed)
    return data


# ---------------------------------------------------------------------------------------------
# Small helpers


def _one_thread(func):
    """Run ``func`` with one OpenMP/BLAS thread: these models are small, and several threads
    competing for a shared machine's cores make k-means and boosting many times slower."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return func(*args, **kwargs)

    return wrapper


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {', '.join(missing)}")


def _html_block(title: str, frames: Sequence[tuple[str, pd.DataFrame]]) -> str:
    """A results object's HTML: a heading, then captioned tables."""
    parts = [f"<h4>{html.escape(title)}</h4>"]
    for caption, frame in frames:
        parts.append(f"<p><b>{html.escape(caption)}</b></p>{frame.to_html(float_format=_fmt)}")
    return "\n".join(parts)


def _fmt(x: float) -> str:
    return f"{x:,.3f}" if abs(x) < 10 else f"{x:,.0f}"


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def size_band(employees: pd.Series) -> pd.Series:
    """Employee size bands ``1-49``, ``50-249``, ``250-999``, ``1000+`` (same index).

    >>> size_band(pd.Series([3, 50, 999, 5000])).tolist()
    ['1-49', '50-249', '250-999', '1000+']
    """
    edges = [lo for lo, _ in SIZE_BANDS[1:]]
    labels = np.array([label for _, label in SIZE_BANDS])
    codes = np.searchsorted(edges, employees.fillna(0).to_numpy(), side="right")
    return pd.Series(labels[codes], index=employees.index, dtype=object)


def _owner(accounts: pd.DataFrame) -> pd.Series:
    return (
        accounts["owner_rep_id"].astype(object).where(accounts["owner_rep_id"].notna(), UNASSIGNED)
    )


# ---------------------------------------------------------------------------------------------
# 1. Pareto / ABC


def lorenz_curve(values: Iterable[float]) -> pd.DataFrame:
    """The Lorenz curve of non-negative values (e.g. revenue per customer).

    Customers are sorted from smallest to largest; row ``i`` holds the share of customers
    ``i / n`` and the share of the total they carry together. The first row is ``(0, 0)``.

    >>> lorenz_curve([10, 30, 60])["revenue_share"].round(2).tolist()
    [0.0, 0.1, 0.4, 1.0]
    """
    v = np.sort(
        np.asarray(list(values) if not hasattr(values, "__array__") else values, dtype=float)
    )
    if v.size == 0:
        raise ValueError("Lorenz curve of no customers: there is nothing to rank")
    if np.isnan(v).any() or (v < 0).any():
        raise ValueError("Lorenz curve needs non-negative values without gaps")
    total = v.sum()
    if total <= 0:
        raise ValueError("Lorenz curve: total revenue is zero, so there is no share to rank")
    n = v.size
    return pd.DataFrame(
        {
            "customer_share": np.r_[0.0, np.arange(1, n + 1) / n],
            "revenue_share": np.r_[0.0, np.cumsum(v) / total],
        }
    )


def gini(values: Iterable[float]) -> float:
    """Gini coefficient: 1 − 2 × the area under the Lorenz curve (0 = all equal).

    >>> gini([5, 5, 5, 5]), round(gini([0, 0, 0, 10]), 2)
    (0.0, 0.75)
    """
    curve = lorenz_curve(values)
    x, y = curve["customer_share"].to_numpy(), curve["revenue_share"].to_numpy()
    area = float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))  # trapezoids, exact on a polyline
    return max(0.0, 1.0 - 2.0 * area)


def top_share(values: Iterable[float], *, share: float = 0.2) -> float:
    """Share of the total carried by the largest ``share`` of customers.

    Read off the Lorenz curve (linear between customers, so 20 % of 6 customers is the largest
    one plus a fifth of the second).

    >>> round(top_share([10, 30, 60], share=1 / 3), 6)
    0.6
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    curve = lorenz_curve(values)
    return float(1.0 - np.interp(1.0 - share, curve["customer_share"], curve["revenue_share"]))


def abc_classes(values: pd.Series, *, a_share: float = 0.8, b_share: float = 0.95) -> pd.Series:
    """A/B/C class per customer from cumulative shares of ``values`` (same index).

    Customers are ranked by value (largest first, ties by index). **A** is the smallest set of
    top customers that together carry at least ``a_share`` of the total; **B** the next ones
    until ``b_share`` is reached; the rest (zero values included) are **C**.

    Parameters
    ----------
    values : Series
        Non-negative value per customer (revenue in USD, or a blended share); index = id.
    a_share, b_share : float
        Cumulative cut-offs, ``0 < a_share < b_share <= 1``.

    Examples
    --------
    >>> v = pd.Series({"x": 70.0, "y": 20.0, "z": 10.0})
    >>> abc_classes(v, a_share=0.6, b_share=0.9).tolist()
    ['A', 'B', 'C']
    """
    if not 0 < a_share < b_share <= 1:
        raise ValueError(
            f"cut-offs must satisfy 0 < a_share < b_share <= 1, "
            f"got a_share={a_share}, b_share={b_share}"
        )
    v = pd.Series(values, dtype=float)
    if v.isna().any() or (v < 0).any():
        raise ValueError("ABC classes need non-negative values without gaps")
    total = v.sum()
    if total <= 0:
        raise ValueError("ABC classes: total value is zero (no revenue in the period?)")
    frame = pd.DataFrame({"v": v.to_numpy(), "key": v.index.astype(str), "pos": np.arange(len(v))})
    frame = frame.sort_values(["v", "key"], ascending=[False, True], kind="stable")
    before = (frame["v"].cumsum() - frame["v"]).to_numpy() / total  # share ranked above
    eps = 1e-12  # a cumulative share equal to the cut-off has reached it
    label = np.where(before < a_share - eps, "A", np.where(before < b_share - eps, "B", "C"))
    label = np.where(frame["v"].to_numpy() > 0, label, "C")
    out = np.empty(len(v), dtype=object)
    out[frame["pos"].to_numpy()] = label
    return pd.Series(out, index=v.index, name="abc_class")


@dataclasses.dataclass(frozen=True)
class ParetoResult:
    """Revenue concentration and ABC classes of the customers (see :func:`pareto_analysis`).

    Attributes
    ----------
    table : DataFrame
        One row per customer: ``account_id``, ``account_name``, ``industry``,
        ``owner_rep_id`` (``"(unassigned)"`` when empty), ``revenue_usd``, ``potential_usd``
        (0 when no potential was given), ``revenue_share``, ``abc_value`` (the blended value
        share the classes are cut on), ``rank``, ``cum_value_share``, ``abc_class``,
        ``revenue_class`` (class by revenue alone) and ``territory_class`` (class within the
        owner rep's book).
    lorenz : DataFrame
        :func:`lorenz_curve` of revenue.
    gini, top20_share : float
        Gini coefficient and share of revenue carried by the top 20 % of customers.
    """

    table: pd.DataFrame
    lorenz: pd.DataFrame
    gini: float
    top20_share: float
    quarter: str
    n_quarters: int
    a_share: float
    b_share: float
    potential_weight: float

    @property
    def potential_used(self) -> bool:
        return self.potential_weight > 0

    @property
    def class_summary(self) -> pd.DataFrame:
        """Customers, revenue and potential per class, with their shares."""
        g = self.table.groupby("abc_class")
        out = pd.DataFrame(
            {
                "customers": g.size(),
                "revenue_usd": g["revenue_usd"].sum(),
                "potential_usd": g["potential_usd"].sum(),
            }
        ).reindex(["A", "B", "C"], fill_value=0)
        out["customer_share"] = out["customers"] / max(len(self.table), 1)
        out["revenue_share"] = out["revenue_usd"] / max(self.table["revenue_usd"].sum(), 1e-300)
        if self.potential_used:
            out["potential_share"] = out["potential_usd"] / self.table["potential_usd"].sum()
        else:
            out = out.drop(columns="potential_usd")
        return out.rename_axis("abc_class")

    @property
    def moved_by_potential(self) -> pd.DataFrame:
        """Customers whose class the potential blend changed (revenue class → blended class)."""
        t = self.table
        return t.loc[
            t["abc_class"] != t["revenue_class"],
            [
                "account_id",
                "account_name",
                "industry",
                "revenue_usd",
                "potential_usd",
                "revenue_class",
                "abc_class",
            ],
        ].reset_index(drop=True)

    @property
    def by_territory(self) -> pd.DataFrame:
        """Per territory (owner rep's book): customers, revenue, class counts, concentration."""
        rows = []
        for rep, book in self.table.groupby("owner_rep_id", sort=True):
            rev = book["revenue_usd"]
            counts = book["abc_class"].value_counts()
            positive = rev.sum() > 0
            rows.append(
                {
                    "territory": rep,
                    "customers": len(book),
                    "revenue_usd": rev.sum(),
                    "revenue_share": rev.sum() / max(self.table["revenue_usd"].sum(), 1e-300),
                    "class_A": int(counts.get("A", 0)),
                    "class_B": int(counts.get("B", 0)),
                    "class_C": int(counts.get("C", 0)),
                    "top20_share": top_share(rev) if positive else np.nan,
                    "gini": gini(rev) if positive else np.nan,
                }
            )
        return pd.DataFrame(rows).set_index("territory")

    def class_ids(self, abc_class: str) -> list[str]:
        """Account ids of one class."""
        return self.table.loc[self.table["abc_class"] == abc_class, "account_id"].tolist()

    def summary(self) -> pd.DataFrame:
        """Headline figures as a two-column table."""
        cs = self.class_summary
        rows = [
            ("period", f"{self.n_quarters} quarter(s) to {self.quarter}"),
            ("customers", f"{len(self.table):,}"),
            ("won revenue", usd(self.table["revenue_usd"].sum())),
            ("share of revenue from the top 20% of customers", _pct(self.top20_share)),
            ("Gini coefficient of revenue", f"{self.gini:.2f}"),
            (
                "class value",
                "revenue"
                if not self.potential_used
                else f"{1 - self.potential_weight:.0%} revenue share + "
                f"{self.potential_weight:.0%} potential share",
            ),
        ]
        for c in "ABC":
            rows.append(
                (
                    f"class {c}",
                    f"{cs.loc[c, 'customers']:,} customers "
                    f"({_pct(cs.loc[c, 'customer_share'])}), "
                    f"{_pct(cs.loc[c, 'revenue_share'])} of revenue",
                )
            )
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def _repr_html_(self) -> str:
        return _html_block(
            "Pareto / ABC analysis", [("Summary", self.summary()), ("Classes", self.class_summary)]
        )


def pareto_analysis(
    accounts: pd.DataFrame,
    facts: pd.DataFrame,
    *,
    quarter: Quarter | str,
    n_quarters: int = 4,
    a_share: float = 0.8,
    b_share: float = 0.95,
    potential: pd.DataFrame | None = None,
    potential_weight: float = 0.0,
) -> ParetoResult:
    """Revenue concentration and ABC classes of current customers.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id``, ``account_name``, ``industry``, ``status`` (``customer``/``prospect``),
        ``owner_rep_id`` (may be empty). Customers are accounts with status ``customer``.
    facts : DataFrame
        Account × quarter facts: ``account_id``, ``quarter`` (``YYYYQn``), ``won_usd`` (won
        revenue in USD by close quarter).
    quarter : Quarter or str
        Last quarter of the revenue window.
    n_quarters : int
        Quarters of won revenue counted (4 = the trailing year).
    a_share, b_share : float
        ABC cut-offs on the cumulative value share (see :func:`abc_classes`).
    potential : DataFrame, optional
        ``account_id``, ``potential_usd`` (notebook 01). Customers missing from it count 0.
    potential_weight : float
        Weight ``w`` of potential in the class value
        ``(1 - w) × revenue share + w × potential share``; ignored (0) without ``potential``.

    Returns
    -------
    ParetoResult

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a", "b", "c"], "account_name": ["A", "B", "C"],
    ...                     "industry": "Retail", "status": "customer", "owner_rep_id": "R1"})
    >>> facts = pd.DataFrame({"account_id": ["a", "b", "c"], "quarter": "2026Q3",
    ...                       "won_usd": [80.0, 15.0, 5.0]})
    >>> res = pareto_analysis(acc, facts, quarter="2026Q3", a_share=0.8, b_share=0.95)
    >>> res.table["abc_class"].tolist(), round(res.gini, 3)
    (['A', 'B', 'C'], 0.5)
    """
    _require(
        accounts, ["account_id", "account_name", "industry", "status", "owner_rep_id"], "accounts"
    )
    _require(facts, ["account_id", "quarter", "won_usd"], "facts")
    if not 0 <= potential_weight <= 1:
        raise ValueError(f"potential_weight must be between 0 and 1, got {potential_weight}")
    q = Quarter.parse(quarter)
    window = {str(x) for x in q.range_back(n_quarters)}
    customers = accounts.loc[accounts["status"] == "customer"]
    if customers.empty:
        raise ValueError("no customers (accounts with status 'customer'): nothing to classify")
    revenue = (
        facts.loc[facts["quarter"].astype(str).isin(window)].groupby("account_id")["won_usd"].sum()
    )
    table = pd.DataFrame(
        {
            "account_id": customers["account_id"].to_numpy(),
            "account_name": customers["account_name"].to_numpy(),
            "industry": customers["industry"].to_numpy(),
            "owner_rep_id": _owner(customers).to_numpy(),
        }
    )
    table["revenue_usd"] = table["account_id"].map(revenue).fillna(0.0).astype(float)
    total = table["revenue_usd"].sum()
    if total <= 0:
        raise ValueError(
            f"customers have no won revenue in the {n_quarters} quarter(s) to {q}: "
            "nothing to rank (check the quarter)"
        )
    weight = potential_weight if potential is not None else 0.0
    if potential is not None:
        _require(potential, ["account_id", "potential_usd"], "potential")
        pot = potential.groupby("account_id")["potential_usd"].sum()
        table["potential_usd"] = (
            table["account_id"].map(pot).fillna(0.0).clip(lower=0).astype(float)
        )
    else:
        table["potential_usd"] = 0.0
    pot_total = table["potential_usd"].sum()
    if pot_total <= 0:
        weight = 0.0
    table["revenue_share"] = table["revenue_usd"] / total
    pot_share = table["potential_usd"] / pot_total if pot_total > 0 else 0.0
    table["abc_value"] = (1 - weight) * table["revenue_share"] + weight * pot_share
    value = table.set_index("account_id")["abc_value"]
    table["abc_class"] = abc_classes(value, a_share=a_share, b_share=b_share).to_numpy()
    table["revenue_class"] = abc_classes(
        table.set_index("account_id")["revenue_usd"], a_share=a_share, b_share=b_share
    ).to_numpy()
    territory = pd.Series("C", index=table.index, dtype=object)
    for _, book in table.groupby("owner_rep_id"):
        v = book.set_index("account_id")["abc_value"]
        if v.sum() > 0:
            territory.loc[book.index] = abc_classes(v, a_share=a_share, b_share=b_share).to_numpy()
    table["territory_class"] = territory
    table = table.sort_values(
        ["abc_value", "account_id"], ascending=[False, True], ignore_index=True
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table["cum_value_share"] = table["abc_value"].cumsum()
    return ParetoResult(
        table=table,
        lorenz=lorenz_curve(table["revenue_usd"]),
        gini=gini(table["revenue_usd"]),
        top20_share=top_share(table["revenue_usd"], share=0.2),
        quarter=str(q),
        n_quarters=n_quarters,
        a_share=a_share,
        b_share=b_share,
        potential_weight=weight,
    )


def plot_lorenz(result: ParetoResult):
    """Two panels: the Pareto curve with the ABC cut-offs, and the Lorenz curve with the Gini."""
    t = result.table
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    n = len(t)
    x = np.r_[0, np.arange(1, n + 1) / n]
    largest_first = np.sort(t["revenue_usd"].to_numpy())[::-1]
    by_rev = np.r_[0, np.cumsum(largest_first) / largest_first.sum()]
    colours = {"A": "#2f6b9a", "B": "#7fa9cc", "C": "#d6e2ee"}
    start = 0
    for c in "ABC":
        k = int((t["abc_class"] == c).sum())
        if k:
            ax1.axvspan(start / n, (start + k) / n, color=colours[c], alpha=0.5, lw=0)
            ax1.text((start + k / 2) / n, 0.04, c, ha="center", fontsize=11, weight="bold")
        start += k
    ax1.plot(x, by_rev, color="#1b3a57", lw=2, label="cumulative share of revenue")
    ax1.axvline(0.2, color="#d9822b", ls="--", lw=1)
    ax1.annotate(
        f"top 20% of customers:\n{result.top20_share:.0%} of revenue",
        xy=(0.2, result.top20_share),
        xytext=(0.35, 0.45),
        arrowprops={"arrowstyle": "->", "color": "#d9822b"},
    )
    ax1.set_xlabel("share of customers (largest first; bands: ABC class by class value)")
    ax1.set_ylabel("share of won revenue")
    ax1.set_title(f"Pareto curve, {result.n_quarters} quarter(s) to {result.quarter}")
    lz = result.lorenz
    ax2.fill_between(
        lz["customer_share"],
        lz["revenue_share"],
        lz["customer_share"],
        color="#d9822b",
        alpha=0.25,
        label=f"Gini = {result.gini:.2f}",
    )
    ax2.plot(lz["customer_share"], lz["revenue_share"], color="#1b3a57", lw=2, label="Lorenz curve")
    ax2.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfect equality")
    ax2.set_xlabel("share of customers (smallest first)")
    ax2.set_title("Lorenz curve of revenue per customer")
    ax2.legend(loc="upper left", frameon=False)
    for ax in (ax1, ax2):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    fig.tight_layout()
    plt.close(fig)
    return fig


# ---------------------------------------------------------------------------------------------
# 2. Segmentation

SEGMENT_NUMERIC = (
    "employees",
    "revenue_usd",
    "wins",
    "recency_days",
    "growth",
    "product_breadth",
    "potential_usd",
)
SEGMENT_LOG = ("employees", "revenue_usd", "wins", "potential_usd")
SEGMENT_CATEGORICAL = ("industry",)
FEATURE_LABELS = {
    "employees": "employees",
    "revenue_usd": "won revenue",
    "wins": "won deals",
    "recency_days": "days since last win",
    "growth": "revenue growth",
    "product_breadth": "products bought",
    "potential_usd": "potential",
}


def customer_features(
    accounts: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    quarter: Quarter | str,
    n_quarters: int = 4,
    potential: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Firmographic and behaviour features of current customers at the end of ``quarter``.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id``, ``account_name``, ``industry``, ``employees``, ``status``,
        ``owner_rep_id``, ``lat``, ``lon`` (degrees); ``unit_id`` kept when present.
    opportunities : DataFrame
        ``account_id``, ``stage``, ``close_date`` (datetime), ``amount_usd``; ``product``
        (optional) gives product breadth.
    quarter : Quarter or str
        Features describe the customer as of this quarter's last day; later deals are ignored.
    n_quarters : int
        Length of the behaviour window (4 = trailing year) and of the earlier window that
        growth compares it with.
    potential : DataFrame, optional
        ``account_id``, ``potential_usd`` (notebook 01).

    Returns
    -------
    DataFrame
        One row per customer: the account columns plus ``revenue_usd`` (won in the window,
        USD), ``prior_revenue_usd`` (the ``n_quarters`` before), ``wins`` (won deals in the
        window), ``recency_days`` (days from the last win to quarter end; a customer with no
        win on record gets the length of the whole history), ``growth`` (symmetric change
        ``(now - before) / (now + before)`` in [-1, 1], 0 when both are 0), ``product_breadth``
        (distinct products ever won; NaN without a ``product`` column) and ``potential_usd``
        (NaN without potential).

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a"], "account_name": ["A"], "industry": ["Retail"],
    ...     "employees": [10], "status": ["customer"], "owner_rep_id": ["R1"], "lat": [0.0],
    ...     "lon": [0.0]})
    >>> opp = pd.DataFrame({"account_id": ["a", "a"], "stage": ["won", "won"],
    ...     "close_date": pd.to_datetime(["2025-08-01", "2026-09-20"]),
    ...     "amount_usd": [100.0, 300.0], "product": ["x", "y"]})
    >>> f = customer_features(acc, opp, quarter="2026Q3")
    >>> cols = ["revenue_usd", "prior_revenue_usd", "recency_days", "growth", "product_breadth"]
    >>> f[cols].iloc[0].tolist()
    [300.0, 100.0, 10.0, 0.5, 2.0]
    """
    _require(
        accounts,
        [
            "account_id",
            "account_name",
            "industry",
            "employees",
            "status",
            "owner_rep_id",
            "lat",
            "lon",
        ],
        "accounts",
    )
    _require(opportunities, ["account_id", "stage", "close_date", "amount_usd"], "opportunities")
    q = Quarter.parse(quarter)
    end = pd.Timestamp(q.end)
    start = pd.Timestamp((q - (n_quarters - 1)).start)
    prior_start = pd.Timestamp((q - (2 * n_quarters - 1)).start)
    keep = [
        c
        for c in (
            "account_id",
            "account_name",
            "industry",
            "employees",
            "owner_rep_id",
            "unit_id",
            "lat",
            "lon",
        )
        if c in accounts.columns
    ]
    out = accounts.loc[accounts["status"] == "customer", keep].reset_index(drop=True)
    out["owner_rep_id"] = _owner(out)
    close = pd.to_datetime(opportunities["close_date"])
    closed = opportunities.loc[close.notna() & (close <= end)]
    won = closed.loc[closed["stage"] == "won"]
    won_close = pd.to_datetime(won["close_date"])
    now = won.loc[won_close >= start]
    before = won.loc[(won_close >= prior_start) & (won_close < start)]
    ids = out["account_id"]
    out["revenue_usd"] = ids.map(now.groupby("account_id")["amount_usd"].sum()).fillna(0.0)
    out["prior_revenue_usd"] = ids.map(before.groupby("account_id")["amount_usd"].sum()).fillna(0.0)
    out["wins"] = ids.map(now.groupby("account_id").size()).fillna(0).astype(float)
    last = ids.map(won.assign(close_date=won_close).groupby("account_id")["close_date"].max())
    first_close = pd.to_datetime(closed["close_date"]).min()
    history_days = float((end - first_close).days) if len(closed) else 0.0
    out["recency_days"] = (end - pd.to_datetime(last)).dt.days.astype(float).fillna(history_days)
    both = out["revenue_usd"] + out["prior_revenue_usd"]
    out["growth"] = ((out["revenue_usd"] - out["prior_revenue_usd"]) / both.where(both > 0)).fillna(
        0.0
    )
    if "product" in opportunities.columns:
        out["product_breadth"] = ids.map(won.groupby("account_id")["product"].nunique()).fillna(0)
        out["product_breadth"] = out["product_breadth"].astype(float)
    else:
        out["product_breadth"] = np.nan
    if potential is not None:
        _require(potential, ["account_id", "potential_usd"], "potential")
        out["potential_usd"] = ids.map(potential.groupby("account_id")["potential_usd"].sum())
    else:
        out["potential_usd"] = np.nan
    out["employees"] = out["employees"].astype(float)
    return out


def _log1p(x):
    return np.log1p(np.clip(np.asarray(x, dtype=float), 0, None))


def _preprocessor(
    numeric: Sequence[str],
    categorical: Sequence[str],
    log_columns: Sequence[str],
    *,
    scale: bool = True,
) -> ColumnTransformer:
    """Imputation (median / most frequent), log1p on skewed columns, scaling and one-hot."""
    logged = [c for c in numeric if c in log_columns]
    plain = [c for c in numeric if c not in log_columns]
    steps = []
    scaler = [StandardScaler()] if scale else []
    if logged:
        log = FunctionTransformer(_log1p, feature_names_out="one-to-one")
        steps.append(("log", make_pipeline(log, SimpleImputer(strategy="median"), *scaler), logged))
    if plain:
        steps.append(("num", make_pipeline(SimpleImputer(strategy="median"), *scaler), plain))
    if categorical:
        steps.append(
            (
                "cat",
                make_pipeline(
                    FunctionTransformer(_as_text, feature_names_out="one-to-one"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                list(categorical),
            )
        )
    return ColumnTransformer(steps, verbose_feature_names_out=False)


def _as_text(frame):
    """Categories as plain text with an explicit '(missing)' level (no NaN in one-hot input)."""
    df = pd.DataFrame(frame)
    return df.astype(object).where(df.notna(), "(missing)").astype(str).to_numpy(dtype=object)


def _split_columns(X: pd.DataFrame, numeric, categorical) -> tuple[list[str], list[str]]:
    if numeric is None:
        numeric = [
            c
            for c in X.columns
            if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
        ]
    if categorical is None:
        categorical = [c for c in X.columns if c not in numeric]
    numeric = [c for c in numeric if c in X.columns and X[c].notna().any()]
    categorical = [c for c in categorical if c in X.columns]
    if not numeric and not categorical:
        raise ValueError("no usable feature columns (every numeric column is empty)")
    return list(numeric), list(categorical)


class AccountSegmenter(ClusterMixin, BaseEstimator):
    """Clusters of accounts: preprocessing Pipeline + k-means or a Gaussian mixture.

    For every ``k`` in ``k_range`` the model is fitted on the preprocessed features (median
    imputation, ``log1p`` on ``log_columns``, standard scaling, one-hot categories; for the
    Gaussian mixture then the principal components carrying 90 % of the variance, because a
    mixture on raw 0/1 columns collapses onto single categories). ``k`` is chosen by the
    silhouette score (k-means, higher is better) or by BIC (Gaussian mixture, lower is better).
    Stability: ``stability_runs`` refits on bootstrap samples, each predicting every account,
    compared with the chosen labels by the adjusted Rand index (1 = identical partition,
    0 = chance).

    Parameters
    ----------
    method : {"kmeans", "gmm"}
    k_range : sequence of int
        Segment counts to try (each ≥ 2 and below the number of accounts).
    random_state : int
        Seed: the same seed gives the same segments.
    n_init : int
        Restarts per fit (the best one is kept).
    stability_runs : int
        Bootstrap refits per ``k`` (0 skips the check).
    numeric, categorical : sequence of str, optional
        Feature columns; by default numeric columns by dtype and all others categorical.
    log_columns : sequence of str
        Skewed numeric columns taken as ``log1p``.

    Attributes
    ----------
    k_ : int
        Chosen number of segments.
    labels_ : ndarray
        Segment of every fitted account, ``0..k_-1``.
    scores_ : DataFrame
        Per ``k``: ``silhouette``, ``bic`` (Gaussian mixture only), ``inertia`` (k-means only),
        ``stability_ari`` (mean) and ``stability_ari_min``, ``chosen``.
    pipeline_ : Pipeline
        Fitted preprocessing and the model at ``k_``.
    stability_ : float
        Mean bootstrap adjusted Rand index at ``k_``.
    feature_names_in_, numeric_, categorical_ : list of str

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": np.r_[rng.normal(0, 1, 30), rng.normal(9, 1, 30)],
    ...                   "y": np.r_[rng.normal(0, 1, 30), rng.normal(9, 1, 30)]})
    >>> seg = AccountSegmenter(k_range=[2, 3], stability_runs=2).fit(X)
    >>> seg.k_, len(set(seg.labels_[:30])), len(set(seg.labels_[30:]))
    (2, 1, 1)
    """

    def __init__(
        self,
        method: str = "kmeans",
        k_range: Sequence[int] = (3, 4, 5, 6),
        *,
        random_state: int = 0,
        n_init: int = 10,
        stability_runs: int = 5,
        numeric: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        log_columns: Sequence[str] = (),
    ):
        self.method = method
        self.k_range = k_range
        self.random_state = random_state
        self.n_init = n_init
        self.stability_runs = stability_runs
        self.numeric = numeric
        self.categorical = categorical
        self.log_columns = log_columns

    def _model(self, k: int, seed: int):
        if self.method == "kmeans":
            return KMeans(n_clusters=k, n_init=self.n_init, random_state=seed)
        return GaussianMixture(
            n_components=k,
            covariance_type="full",
            reg_covar=1e-3,
            n_init=max(1, self.n_init // 5),
            random_state=seed,
        )

    def _embedding(self, prep: ColumnTransformer) -> Pipeline:
        # A Gaussian mixture on raw one-hot columns collapses onto single industries (a 0/1
        # column has zero variance inside a pure cluster, so the likelihood soars): it gets the
        # principal components carrying 90 % of the variance instead. k-means uses all columns.
        if self.method == "gmm":
            return Pipeline([("prep", prep), ("pca", PCA(n_components=0.9, svd_solver="full"))])
        return Pipeline([("prep", prep)])

    @_one_thread
    def fit(self, X: pd.DataFrame, y=None) -> AccountSegmenter:
        if self.method not in ("kmeans", "gmm"):
            raise ValueError(f"method must be 'kmeans' or 'gmm', got {self.method!r}")
        ks = sorted({int(k) for k in self.k_range})
        if not ks or ks[0] < 2:
            raise ValueError(f"k_range must list segment counts ≥ 2, got {list(self.k_range)}")
        n = len(X)
        if n <= ks[-1]:
            raise ValueError(
                f"too few customers to segment: {n} customer(s) for up to "
                f"{ks[-1]} segments (need more customers than segments)"
            )
        self.numeric_, self.categorical_ = _split_columns(X, self.numeric, self.categorical)
        self.feature_names_in_ = self.numeric_ + self.categorical_
        embed = self._embedding(_preprocessor(self.numeric_, self.categorical_, self.log_columns))
        Z = embed.fit_transform(X[self.feature_names_in_])
        distinct = len(np.unique(np.round(Z, 9), axis=0))
        if distinct <= ks[-1]:
            raise ValueError(
                f"too few distinct customers to segment: {distinct} distinct feature "
                f"rows for up to {ks[-1]} segments"
            )
        rng = np.random.default_rng(self.random_state)
        boots = [rng.integers(0, n, n) for _ in range(self.stability_runs)]
        rows, fitted = [], {}
        for k in ks:
            model = self._model(k, self.random_state).fit(Z)
            labels = model.predict(Z)
            fitted[k] = (model, labels)
            aris = []
            for b, idx in enumerate(boots):
                refit = self._model(k, self.random_state + b + 1).fit(Z[idx])
                aris.append(adjusted_rand_score(labels, refit.predict(Z)))
            rows.append(
                {
                    "k": k,
                    "silhouette": silhouette_score(Z, labels) if len(set(labels)) > 1 else np.nan,
                    "bic": model.bic(Z) if self.method == "gmm" else np.nan,
                    "inertia": model.inertia_ if self.method == "kmeans" else np.nan,
                    "stability_ari": float(np.mean(aris)) if aris else np.nan,
                    "stability_ari_min": float(np.min(aris)) if aris else np.nan,
                }
            )
        scores = pd.DataFrame(rows).set_index("k")
        if self.method == "kmeans":
            best = int(scores["silhouette"].fillna(-np.inf).idxmax())
        else:
            best = int(scores["bic"].idxmin())
        scores["chosen"] = scores.index == best
        self.scores_ = scores
        self.k_ = best
        model, labels = fitted[best]
        self.labels_ = np.asarray(labels)
        self.pipeline_ = Pipeline([*embed.steps, ("cluster", model)])
        self.stability_ = float(scores.loc[best, "stability_ari"])
        return self

    @_one_thread
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict(X[self.feature_names_in_])


def name_segment(profile: Mapping[str, float | str], reference: Mapping[str, float]) -> str:
    """A readable segment name from its profile, e.g. ``"large manufacturing, lapsing"``.

    Parameters
    ----------
    profile : mapping
        ``median_employees``, ``top_industry``, ``top_industry_share``,
        ``median_recency_days``, ``median_growth``, ``revenue_share``, ``customer_share``.
    reference : mapping
        All customers: ``employees_p33`` and ``employees_p67`` (employee terciles) and
        ``lapsing_days`` (no win for this long = lapsing).

    Notes
    -----
    Size: median employees up to the lower tercile is *small*, from the upper tercile *large*,
    else *mid-size*. Industry: named when at least half of the segment is in one industry
    (else just *customers*). *High-value* when the segment's share of revenue is at least 1.5
    times its share of customers. Behaviour, first match: *lapsing* (median days since last
    win above ``lapsing_days``), *new* (the median customer bought nothing in the earlier
    window: growth +1), *growing* (median growth ≥ +0.25), *shrinking* (≤ −0.25), else
    *steady*.

    Examples
    --------
    >>> ref = {"employees_p33": 20, "employees_p67": 60, "lapsing_days": 180}
    >>> name_segment({"median_employees": 150, "top_industry": "Manufacturing",
    ...               "top_industry_share": 0.7, "median_recency_days": 400,
    ...               "median_growth": -0.6, "revenue_share": 0.1, "customer_share": 0.2}, ref)
    'large manufacturing, lapsing'
    >>> name_segment({"median_employees": 8, "top_industry": "Retail",
    ...               "top_industry_share": 0.3, "median_recency_days": 30,
    ...               "median_growth": 1.0, "revenue_share": 0.02, "customer_share": 0.1}, ref)
    'small customers, new'
    """
    emp = float(profile["median_employees"])
    size = (
        "small"
        if emp <= reference["employees_p33"]
        else "large"
        if emp >= reference["employees_p67"]
        else "mid-size"
    )
    industry = (
        str(profile["top_industry"]).lower()
        if float(profile["top_industry_share"]) >= 0.5
        else "customers"
    )
    growth = float(profile["median_growth"])
    if float(profile["median_recency_days"]) > reference["lapsing_days"]:
        trend = "lapsing"
    elif growth >= 1 - 1e-9:
        trend = "new"
    elif growth >= 0.25:
        trend = "growing"
    elif float(profile["median_growth"]) <= -0.25:
        trend = "shrinking"
    else:
        trend = "steady"
    value = float(profile["revenue_share"]) >= 1.5 * float(profile["customer_share"])
    return f"{size} {industry}, {'high-value, ' if value else ''}{trend}"


@dataclasses.dataclass(frozen=True)
class SegmentationResult:
    """Customer segments (see :func:`segment_customers`).

    Attributes
    ----------
    frame : DataFrame
        The features frame plus ``segment_id`` (``S1`` = the segment with the most revenue)
        and ``segment_name``.
    profiles : DataFrame
        One row per segment (index ``segment_id``): name, size, revenue, medians of the
        features, top industry, share of class-A customers (when ``abc_class`` was given).
    k_scan : DataFrame
        Per ``k``: k-means silhouette, Gaussian-mixture BIC, bootstrap stability (adjusted Rand
        index) of the chosen method, and which ``k`` each method chose.
    method, k, stability : str, int, float
        Chosen method and ``k``; mean bootstrap adjusted Rand index at ``k``.
    cross_check_k, agreement : int, float
        ``k`` the other method chose and the adjusted Rand index between both partitions.
    model : AccountSegmenter
        The fitted segmenter (``model.predict`` segments new customers).
    """

    frame: pd.DataFrame
    profiles: pd.DataFrame
    k_scan: pd.DataFrame
    method: str
    k: int
    stability: float
    cross_check_k: int | None
    agreement: float
    model: AccountSegmenter
    label_map: Mapping[int, str]

    @property
    def names(self) -> dict[str, str]:
        return self.profiles["segment_name"].to_dict()

    def summary(self) -> pd.DataFrame:
        other = "Gaussian mixture (BIC)" if self.method == "kmeans" else "k-means (silhouette)"
        rows = [
            ("customers segmented", f"{len(self.frame):,}"),
            (
                "method",
                "k-means, k by silhouette"
                if self.method == "kmeans"
                else "Gaussian mixture, k by BIC",
            ),
            ("segments (k)", str(self.k)),
            ("stability (mean bootstrap adjusted Rand index)", f"{self.stability:.2f}"),
            (f"cross-check: {other} chose k", str(self.cross_check_k)),
            ("agreement with the cross-check (adjusted Rand index)", f"{self.agreement:.2f}"),
        ]
        edge = max(self.k_scan.index)
        if self.k == edge or self.cross_check_k == edge:
            rows.append(
                (
                    "note",
                    f"a method chose the largest k tried ({edge}): the data may "
                    "support more segments (widen k_range) or have no clear cluster count",
                )
            )
        rows += [(sid, name) for sid, name in self.names.items()]
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def _repr_html_(self) -> str:
        return _html_block(
            "Customer segments", [("Summary", self.summary()), ("Choice of k", self.k_scan)]
        )


def _profiles(frame: pd.DataFrame) -> pd.DataFrame:
    g = frame.groupby("segment_id", sort=True)
    total_rev = max(frame["revenue_usd"].sum(), 1e-300)
    top = g["industry"].agg(lambda s: s.value_counts().sort_index().idxmax())
    top_share_ = g["industry"].agg(lambda s: s.value_counts().max() / len(s))
    out = pd.DataFrame(
        {
            "customers": g.size(),
            "customer_share": g.size() / len(frame),
            "revenue_usd": g["revenue_usd"].sum(),
            "revenue_share": g["revenue_usd"].sum() / total_rev,
            "median_employees": g["employees"].median(),
            "top_industry": top,
            "top_industry_share": top_share_,
            "median_revenue_usd": g["revenue_usd"].median(),
            "median_wins": g["wins"].median(),
            "median_recency_days": g["recency_days"].median(),
            "median_growth": g["growth"].median(),
            "mean_product_breadth": g["product_breadth"].mean(),
        }
    )
    if frame["potential_usd"].notna().any():
        out["median_potential_usd"] = g["potential_usd"].median()
    if "abc_class" in frame.columns:
        out["class_a_share"] = g["abc_class"].agg(lambda s: (s == "A").mean())
    return out


@_one_thread
def segment_customers(
    features: pd.DataFrame,
    *,
    k_range: Sequence[int] = (3, 4, 5, 6),
    method: str = "kmeans",
    seed: int = 0,
    stability_runs: int = 5,
    cross_check: bool = True,
    lapsing_days: float = 180.0,
    classes: pd.DataFrame | None = None,
) -> SegmentationResult:
    """Segment customers with an :class:`AccountSegmenter`, profile and name the segments.

    Parameters
    ----------
    features : DataFrame
        :func:`customer_features` output (``account_id``, ``industry``, ``employees``,
        ``revenue_usd``, ``wins``, ``recency_days``, ``growth``, ``product_breadth``,
        ``potential_usd``; all-empty columns such as a missing potential are left out).
    k_range, method, seed, stability_runs
        Passed to :class:`AccountSegmenter`.
    cross_check : bool
        Also fit the other method (its own ``k`` choice) and report the agreement.
    lapsing_days : float
        A segment whose median customer has not won for longer is named *lapsing*.
    classes : DataFrame, optional
        ``account_id``, ``abc_class`` (from :func:`pareto_analysis`): profiles then show the
        share of class-A customers per segment.

    Returns
    -------
    SegmentationResult
        Segment ids ``S1..Sk`` are ordered by revenue (S1 the largest), so a rerun with the
        same seed gives the same ids and names.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> big = pd.DataFrame({"employees": rng.normal(400, 20, 40), "revenue_usd": 9e5,
    ...                     "recency_days": 20.0, "industry": "Logistics"})
    >>> small = pd.DataFrame({"employees": rng.normal(10, 2, 40), "revenue_usd": 5e3,
    ...                       "recency_days": 500.0, "industry": "Retail"})
    >>> f = pd.concat([big, small], ignore_index=True).assign(
    ...     account_id=[f"a{i}" for i in range(80)], wins=2.0, growth=0.0,
    ...     product_breadth=1.0, potential_usd=np.nan)
    >>> res = segment_customers(f, k_range=[2, 3], stability_runs=0)
    >>> sorted(res.names.values())
    ['large logistics, high-value, steady', 'small retail, lapsing']
    """
    _require(
        features,
        [
            "account_id",
            "industry",
            "employees",
            "revenue_usd",
            "wins",
            "recency_days",
            "growth",
            "product_breadth",
            "potential_usd",
        ],
        "features",
    )
    numeric = [c for c in SEGMENT_NUMERIC if features[c].notna().any()]
    kwargs: dict[str, Any] = dict(
        k_range=k_range,
        random_state=seed,
        numeric=numeric,
        categorical=list(SEGMENT_CATEGORICAL),
        log_columns=SEGMENT_LOG,
    )
    model = AccountSegmenter(method=method, stability_runs=stability_runs, **kwargs).fit(features)
    frame = features.copy()
    if classes is not None:
        frame["abc_class"] = frame["account_id"].map(classes.set_index("account_id")["abc_class"])
    # stable ids: S1 = the segment with the most revenue (ties: more customers, then label)
    raw = pd.Series(model.labels_, index=frame.index)
    rank = (
        frame.groupby(raw)["revenue_usd"]
        .agg(["sum", "size"])
        .assign(label=lambda d: d.index)
        .sort_values(["sum", "size", "label"], ascending=[False, False, True])
    )
    label_map = {int(lab): f"S{i + 1}" for i, lab in enumerate(rank.index)}
    frame["segment_id"] = raw.map(label_map)
    profiles = _profiles(frame)
    profiles = profiles.loc[sorted(profiles.index, key=lambda sid: int(sid[1:]))]
    reference = {
        "employees_p33": float(frame["employees"].quantile(1 / 3)),
        "employees_p67": float(frame["employees"].quantile(2 / 3)),
        "lapsing_days": float(lapsing_days),
    }
    names = {sid: name_segment(row, reference) for sid, row in profiles.iterrows()}
    seen: dict[str, int] = {}
    for sid in sorted(names, key=lambda s: int(s[1:])):
        seen[names[sid]] = seen.get(names[sid], 0) + 1
    for sid, name in names.items():
        if seen[name] > 1:  # two segments read the same: keep both, tell them apart by id
            names[sid] = f"{name} ({sid})"
    profiles.insert(0, "segment_name", pd.Series(names))
    frame["segment_name"] = frame["segment_id"].map(names)

    scan = model.scores_.rename(columns={"silhouette": f"{method}_silhouette", "bic": "gmm_bic"})
    other_k, agreement = None, np.nan
    if cross_check:
        other = "gmm" if method == "kmeans" else "kmeans"
        alt = AccountSegmenter(method=other, stability_runs=0, **kwargs).fit(features)
        other_k = alt.k_
        agreement = float(adjusted_rand_score(model.labels_, alt.labels_))
        if other == "gmm":
            scan["gmm_bic"] = alt.scores_["bic"]
        else:
            scan["kmeans_silhouette"] = alt.scores_["silhouette"]
        scan[f"{other}_chosen"] = alt.scores_["chosen"]
    scan = scan.rename(columns={"chosen": f"{method}_chosen"}).dropna(axis=1, how="all")
    return SegmentationResult(
        frame=frame,
        profiles=profiles,
        k_scan=scan,
        method=method,
        k=model.k_,
        stability=model.stability_,
        cross_check_k=other_k,
        agreement=agreement,
        model=model,
        label_map=label_map,
    )


def plot_segment_profiles(result: SegmentationResult):
    """Heat map: each segment's median feature against all customers (in standard deviations)."""
    f = result.frame
    cols = [c for c in SEGMENT_NUMERIC if f[c].notna().any()]
    tx = pd.DataFrame({c: np.log1p(f[c].clip(lower=0)) if c in SEGMENT_LOG else f[c] for c in cols})
    z = (tx.groupby(f["segment_id"]).median() - tx.median()) / tx.std(ddof=0).replace(0, 1)
    z = z.loc[result.profiles.index]
    med = f.groupby("segment_id")[cols].median().loc[z.index]
    fig, ax = plt.subplots(figsize=(1.5 * len(cols) + 3, 0.7 * len(z) + 1.6))
    im = ax.imshow(z.to_numpy(), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    for i in range(z.shape[0]):
        for j, c in enumerate(cols):
            v = med.iloc[i, j]
            text = usd(v) if c.endswith("_usd") else (f"{v:+.2f}" if c == "growth" else f"{v:,.0f}")
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=9,
                color="white" if abs(z.iloc[i, j]) > 1.2 else "black",
            )
    ax.set_xticks(range(len(cols)), [FEATURE_LABELS[c] for c in cols], rotation=20, ha="right")
    sizes = result.profiles["customers"]
    ax.set_yticks(range(len(z)), [f"{sid} {result.names[sid]} (n={sizes[sid]})" for sid in z.index])
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="vs all customers (SD)", shrink=0.8)
    ax.set_title("Segment profiles (numbers: segment medians)")
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_segment_map(result: SegmentationResult, *, units=None):
    """Customers on the map coloured by segment; unit polygons (a GeoDataFrame) underneath."""
    f = result.frame
    fig, ax = plt.subplots(figsize=(8, 8.5), layout="constrained")
    if units is not None:
        units.plot(ax=ax, color="#f2f2f2", edgecolor="#bbbbbb", linewidth=0.4)
    cmap = plt.get_cmap("tab10")
    for i, sid in enumerate(result.profiles.index):
        pts = f.loc[f["segment_id"] == sid]
        ax.scatter(
            pts["lon"],
            pts["lat"],
            s=10,
            color=cmap(i % 10),
            alpha=0.8,
            label=f"{sid} {result.names[sid]} ({len(pts)})",
            edgecolor="none",
        )
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect(1 / np.cos(np.radians(f["lat"].mean())) if len(f) else 1)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.07),
        frameon=False,
        fontsize=9,
        markerscale=2,
        ncols=1,
        title="segment (customers)",
    )
    ax.set_title("Customers by segment")
    plt.close(fig)
    return fig


# ---------------------------------------------------------------------------------------------
# 3. Lead scoring

LEAD_FEATURE_LABELS = {
    "industry": "industry",
    "employees": "company size (employees)",
    "competitor_presence": "competitor presence in the account's unit (0-1)",
    "rep_win_rate": "the rep's win rate on earlier deals",
    "account_prior_wins": "earlier won deals with the account",
    "account_prior_losses": "earlier lost deals with the account",
    "deal_type": "deal type",
}
NEW_BUSINESS = "new business (no earlier win with the account)"
"""The default lead-scoring population, derived from the data rather than a CRM's labels."""
UNIT_PREFIX = "unit_"
"""Lead features from the account's geographic unit are its drivers, ``unit_<column>``."""
LEAD_LOG = ("employees", "account_prior_wins", "account_prior_losses")


def lead_feature_label(column: str) -> str:
    """Plain words for a lead feature (unit drivers keep their column name)."""
    if column in LEAD_FEATURE_LABELS:
        return LEAD_FEATURE_LABELS[column]
    if column.startswith(UNIT_PREFIX):
        return f"{column.removeprefix(UNIT_PREFIX)} of the account's geographic unit"
    return column


REP_PRIOR_DEALS = 10.0
"""Pseudo-deals at a 50 % win rate added to every rep's record (a new rep is average)."""


class LeakageError(ValueError):
    """A lead-scoring split lets the model learn from outcomes of its test period."""


@dataclasses.dataclass(frozen=True)
class LeadData:
    """Lead-scoring examples with features as of each row's date (see :func:`lead_features`).

    Attributes
    ----------
    closed : DataFrame
        Opportunities closed (won or lost) by quarter end: ids, ``created_date``,
        ``close_date``, ``amount_usd``, ``won`` (1/0), ``as_of`` (= created date), features.
    open : DataFrame
        Opportunities still open at quarter end (same columns, ``won`` empty).
    prospects : DataFrame
        Prospect accounts with features as of the day after quarter end (rep = owner rep).
    firmographics : DataFrame
        Static features of every account (industry, employees, county drivers), for
        lookalikes.
    feature_columns : tuple of str
        Model features, those :data:`LEAD_FEATURE_LABELS` names that the data supports.
    """

    closed: pd.DataFrame
    open: pd.DataFrame
    prospects: pd.DataFrame
    firmographics: pd.DataFrame
    feature_columns: tuple[str, ...]
    quarter: str
    deal_types: tuple[str, ...]

    def summary(self) -> pd.DataFrame:
        won = int(self.closed["won"].sum()) if len(self.closed) else 0
        rows = [
            ("deal types", ", ".join(self.deal_types) or "all"),
            (
                "closed opportunities (won / lost)",
                f"{len(self.closed):,} ({won:,} / {len(self.closed) - won:,})",
            ),
            ("open opportunities at quarter end", f"{len(self.open):,}"),
            ("prospects to score", f"{len(self.prospects):,}"),
            ("features", ", ".join(self.feature_columns)),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def _repr_html_(self) -> str:
        return _html_block(f"Lead-scoring data to {self.quarter}", [("", self.summary())])


def _unit_features(
    geo_units: pd.DataFrame | None, competitors: pd.DataFrame | None
) -> pd.DataFrame:
    """Per unit id: every market driver the data has (``unit_<column>``, see
    :func:`workbench.geo.unit_drivers`) and the mean competitor presence."""
    out = pd.DataFrame(index=pd.Index([], name="unit_id"))
    if geo_units is not None:
        g = geo_units.set_index(geo_units["unit_id"].astype(str))
        out = g[unit_drivers(geo_units)].astype(float).rename(columns=lambda c: UNIT_PREFIX + c)
    if competitors is not None and len(competitors):
        pres = competitors.groupby(competitors["unit_id"].astype(str))["presence"].mean()
        out = out.join(pres.rename("competitor_presence"), how="outer")
    return out


def _history_asof(queries: pd.DataFrame, events: pd.DataFrame, key: str) -> pd.DataFrame:
    """Won and lost counts per ``key`` from events closed strictly before each query's date.

    ``queries``: ``key``, ``as_of``; ``events``: ``key``, ``close_date``, ``won``. Returns
    ``wins``, ``losses`` aligned with ``queries``' index (0 when nothing closed before).
    """
    ev = events.loc[events[key].notna(), [key, "close_date", "won"]].copy()
    ev[key] = ev[key].astype(str).astype(object)  # merge_asof needs one key dtype on both sides
    ev["close_date"] = ev["close_date"].astype("datetime64[ns]")
    ev = ev.sort_values(["close_date", key], kind="stable")
    ev["wins"] = ev.groupby(key)["won"].cumsum()
    ev["losses"] = ev.groupby(key).cumcount() + 1 - ev["wins"]
    q = queries[[key, "as_of"]].copy()
    known = q[key].notna()
    q[key] = q[key].astype(object).where(~known, q[key].astype(str))
    q["as_of"] = q["as_of"].astype("datetime64[ns]")
    q["_row"] = np.arange(len(q))
    merged = pd.merge_asof(
        q.loc[known].sort_values("as_of", kind="stable"),
        ev[[key, "close_date", "wins", "losses"]],
        left_on="as_of",
        right_on="close_date",
        by=key,
        direction="backward",
        allow_exact_matches=False,  # closed the same day as created: not yet known
    )
    out = pd.DataFrame({"wins": 0.0, "losses": 0.0}, index=np.arange(len(q)))
    out.loc[merged["_row"].to_numpy(), "wins"] = merged["wins"].fillna(0).to_numpy(dtype=float)
    out.loc[merged["_row"].to_numpy(), "losses"] = merged["losses"].fillna(0).to_numpy(dtype=float)
    out.loc[~known.to_numpy(), ["wins", "losses"]] = np.nan
    out.index = queries.index
    return out


def _features_at(
    queries: pd.DataFrame, firmographics: pd.DataFrame, events: pd.DataFrame
) -> pd.DataFrame:
    """Features of (account, rep, as_of) queries from information dated before ``as_of``."""
    out = queries.join(firmographics, on="account_id", how="left")
    acc = _history_asof(queries, events, "account_id")
    out["account_prior_wins"] = acc["wins"]
    out["account_prior_losses"] = acc["losses"]
    rep = _history_asof(queries, events, "rep_id")
    out["rep_win_rate"] = (rep["wins"] + REP_PRIOR_DEALS / 2) / (
        rep["wins"] + rep["losses"] + REP_PRIOR_DEALS
    )
    return out


def lead_features(
    accounts: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    quarter: Quarter | str,
    geo_units: pd.DataFrame | None = None,
    competitors: pd.DataFrame | None = None,
    deal_types: Sequence[str] | None = None,
) -> LeadData:
    """Lead-scoring examples whose features use only what was known at the time.

    An opportunity's features are taken **as of its created date**: the account's firmographics
    (industry, employees; county drivers and competitor presence of its unit when given), the
    account's wins and losses closed *before* that date, and its rep's win rate on deals closed
    before that date (smoothed towards 50 % by :data:`REP_PRIOR_DEALS` pseudo-deals). Nothing
    about the opportunity's own or any later outcome enters; the account's current ``status``
    and owner are never used for history. Prospects are scored as of the day after quarter
    end, with their owner rep. Deals closed after quarter end count as open at quarter end.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id``, ``account_name``, ``industry``, ``employees``, ``status``,
        ``owner_rep_id``; ``unit_id`` (for county drivers), ``size_band`` (derived if absent).
    opportunities : DataFrame
        ``opportunity_id``, ``account_id``, ``rep_id``, ``created_date``, ``close_date``
        (datetime), ``stage``, ``amount_usd`` (USD); ``deal_type`` optional.
    quarter : Quarter or str
        Information cut-off: the end of this quarter.
    geo_units : DataFrame, optional
        ``unit_id`` and the market drivers it has (every one becomes ``unit_<column>``).
    competitors : DataFrame, optional
        ``unit_id``, ``presence`` (0-1); the mean per unit becomes ``competitor_presence``.
    deal_types : sequence of str, optional
        Which opportunities to learn from and score. ``None`` (default): **new business
        from the data** — deals on an account with no won deal closed before the deal was
        created, whatever a CRM calls them (:data:`NEW_BUSINESS`). A list: those labels of
        the ``deal_type`` column (a company's own mapping). Empty: every deal. Account and
        rep history always use every deal.

    Returns
    -------
    LeadData

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a", "b"], "account_name": ["A", "B"],
    ...     "industry": ["Retail", "Retail"], "employees": [10, 20],
    ...     "status": ["customer", "prospect"], "owner_rep_id": ["R1", "R1"]})
    >>> opp = pd.DataFrame({"opportunity_id": ["o1", "o2"], "account_id": ["a", "a"],
    ...     "rep_id": ["R1", "R1"], "created_date": pd.to_datetime(["2026-01-05", "2026-05-01"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-06-01"]), "stage": ["lost", "won"],
    ...     "amount_usd": [10.0, 20.0]})
    >>> data = lead_features(acc, opp, quarter="2026Q2", deal_types=None)
    >>> data.closed[["opportunity_id", "won", "account_prior_losses"]].values.tolist()
    [['o1', 0, 0.0], ['o2', 1, 1.0]]
    """
    _require(
        accounts,
        ["account_id", "account_name", "industry", "employees", "status", "owner_rep_id"],
        "accounts",
    )
    _require(
        opportunities,
        [
            "opportunity_id",
            "account_id",
            "rep_id",
            "created_date",
            "close_date",
            "stage",
            "amount_usd",
        ],
        "opportunities",
    )
    q = Quarter.parse(quarter)
    end = pd.Timestamp(q.end)
    opp = opportunities.copy()
    opp["created_date"] = pd.to_datetime(opp["created_date"])
    opp["close_date"] = pd.to_datetime(opp["close_date"])
    opp = opp.loc[opp["created_date"] <= end]
    decided = (
        opp["stage"].isin(["won", "lost"]) & opp["close_date"].notna() & (opp["close_date"] <= end)
    )
    events = opp.loc[decided, ["account_id", "rep_id", "close_date"]].assign(
        won=(opp.loc[decided, "stage"] == "won").astype(int)
    )

    firmo = accounts[["account_id", "account_name", "industry", "employees"]].copy()
    firmo["employees"] = firmo["employees"].astype(float)
    firmo["size_band"] = (
        accounts["size_band"].astype(object)
        if "size_band" in accounts.columns
        else size_band(accounts["employees"])
    )
    units = _unit_features(geo_units, competitors)
    if "unit_id" in accounts.columns and len(units.columns):
        firmo["unit_id"] = accounts["unit_id"].astype(str)
        firmo = firmo.join(units, on="unit_id").drop(columns="unit_id")
    firmo = firmo.set_index("account_id")

    derived = deal_types is None
    # not derived: deal_types is not None
    types = (NEW_BUSINESS,) if derived else tuple(cast(Sequence[str], deal_types))
    if types and not derived:
        if "deal_type" not in opp.columns:
            raise ValueError(
                f"deal_types {list(types)} name deal_type labels, but opportunities "
                "have no deal_type column: use deal_types=None (new business "
                "from the data) or [] (every deal)"
            )
        unknown = sorted(set(types) - set(opp["deal_type"].dropna().astype(str)))
        if unknown:
            raise ValueError(
                f"deal_types {unknown} not found in opportunities.deal_type; its "
                f"labels: {sorted(opp['deal_type'].dropna().astype(str).unique())}"
            )
        examples = opp.loc[opp["deal_type"].isin(types)]
    else:
        examples = opp
    keep = [
        "opportunity_id",
        "account_id",
        "rep_id",
        "created_date",
        "close_date",
        "stage",
        "amount_usd",
    ] + (["deal_type"] if "deal_type" in examples.columns else [])
    ex = examples[keep].assign(as_of=examples["created_date"])
    ex = _features_at(ex, firmo, events)
    if derived:  # new business: nothing was won with the account before this deal
        ex = ex.loc[ex["account_prior_wins"] == 0]
        ex = ex.drop(columns=[c for c in ("deal_type",) if c in ex.columns])
    is_closed = decided.loc[ex.index]
    ex["won"] = np.where(is_closed, (ex["stage"] == "won").astype(int), np.nan)
    closed = ex.loc[is_closed].copy()
    closed["won"] = closed["won"].astype(int)
    open_ = ex.loc[~is_closed].assign(close_date=pd.NaT)

    prospect_rows = accounts.loc[accounts["status"] == "prospect", ["account_id", "owner_rep_id"]]
    pq = pd.DataFrame(
        {
            "account_id": prospect_rows["account_id"].to_numpy(),
            "rep_id": prospect_rows["owner_rep_id"].astype(object).to_numpy(),
            "as_of": end + pd.Timedelta(days=1),
        }
    )
    if "deal_type" in ex.columns:
        # a prospect's next deal is of the first type listed, or else the type that first
        # deals with an account most often have in this CRM
        first_deals = ex.loc[ex["account_prior_wins"] == 0, "deal_type"].dropna().astype(str)
        pool = first_deals if len(first_deals) else ex["deal_type"].dropna().astype(str)
        pq["deal_type"] = (
            types[0]
            if types
            else (pool.value_counts().sort_index().idxmax() if len(pool) else None)
        )
    prospects = _features_at(pq, firmo, events)

    features = [
        "industry",
        "employees",
        *(c for c in units.columns if c.startswith(UNIT_PREFIX)),
        "competitor_presence",
        "rep_win_rate",
        "account_prior_wins",
        "account_prior_losses",
    ]
    if "deal_type" in ex.columns and ex["deal_type"].nunique() > 1:
        features.append("deal_type")
    features = [c for c in features if c in closed.columns]
    return LeadData(
        closed=closed.sort_values(["close_date", "opportunity_id"], ignore_index=True),
        open=open_.sort_values(["created_date", "opportunity_id"], ignore_index=True),
        prospects=prospects.reset_index(drop=True),
        firmographics=firmo.reset_index(),
        feature_columns=tuple(features),
        quarter=str(q),
        deal_types=types,
    )


@dataclasses.dataclass(frozen=True)
class TimeSplit:
    """Train on opportunities closed before ``test_start``, test on those closed in
    ``[test_start, test_end]``. :meth:`check` refuses a split that leaks."""

    train: pd.DataFrame
    test: pd.DataFrame
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    feature_columns: tuple[str, ...]

    def check(self) -> None:
        """Raise :class:`LeakageError` if the model could learn from its test period.

        A training opportunity that closed on or after ``test_start`` carries an outcome the
        model is tested on (or a later one); features dated after an example's created date
        would use the future. Both are refused with the offending ids.
        """
        late = self.train.loc[pd.to_datetime(self.train["close_date"]) >= self.test_start]
        if len(late):
            ids = ", ".join(late["opportunity_id"].astype(str).head(5))
            raise LeakageError(
                f"{len(late)} training opportunit{'y' if len(late) == 1 else 'ies'} closed on or "
                f"after the test period starts ({self.test_start:%Y-%m-%d}), e.g. {ids}: "
                "the model would learn outcomes it is tested on"
            )
        for name, frame in (("training", self.train), ("test", self.test)):
            if "as_of" in frame.columns:
                late_as_of = pd.to_datetime(frame["as_of"]) > pd.to_datetime(frame["created_date"])
                bad = frame.loc[late_as_of]
                if len(bad):
                    ids = ", ".join(bad["opportunity_id"].astype(str).head(5))
                    raise LeakageError(
                        f"{len(bad)} {name} opportunities have features dated "
                        f"after their created date, e.g. {ids}"
                    )
        outside = self.test.loc[
            (pd.to_datetime(self.test["close_date"]) < self.test_start)
            | (pd.to_datetime(self.test["close_date"]) > self.test_end)
        ]
        if len(outside):
            raise LeakageError(f"{len(outside)} test opportunities closed outside the test period")

    def summary(self) -> pd.DataFrame:
        rows = [
            ("training: closed before", f"{self.test_start:%Y-%m-%d}"),
            (
                "training opportunities (win rate)",
                f"{len(self.train):,} ({self.train['won'].mean():.0%})",
            ),
            ("test period", f"{self.test_start:%Y-%m-%d} to {self.test_end:%Y-%m-%d}"),
            (
                "test opportunities (win rate)",
                f"{len(self.test):,} ({self.test['won'].mean():.0%})",
            ),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def _repr_html_(self) -> str:
        return _html_block("Time-based split", [("", self.summary())])


def time_split(
    closed: pd.DataFrame | LeadData,
    *,
    quarter: Quarter | str,
    test_quarters: int = 1,
    feature_columns: Sequence[str] | None = None,
) -> TimeSplit:
    """Hold out the latest ``test_quarters`` quarters (ending with ``quarter``) for testing.

    Parameters
    ----------
    closed : DataFrame or LeadData
        Closed opportunities with features (:attr:`LeadData.closed`): ``opportunity_id``,
        ``created_date``, ``close_date``, ``won``; a :class:`LeadData` also gives its features.
    quarter : Quarter or str
        Last test quarter.
    test_quarters : int
        Quarters in the test period.
    feature_columns : sequence of str, optional
        Model features (default: :data:`LEAD_FEATURE_LABELS` names present).

    Examples
    --------
    >>> closed = pd.DataFrame({"opportunity_id": ["a", "b", "c"], "won": [1, 0, 1],
    ...     "created_date": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-05-01"]),
    ...     "close_date": pd.to_datetime(["2026-03-01", "2026-04-15", "2026-09-01"])})
    >>> s = time_split(closed, quarter="2026Q3")
    >>> s.train["opportunity_id"].tolist(), s.test["opportunity_id"].tolist()
    (['a', 'b'], ['c'])
    """
    if isinstance(closed, LeadData):
        feature_columns = feature_columns or closed.feature_columns
        closed = closed.closed
    q = Quarter.parse(quarter)
    if len(closed) == 0:
        raise ValueError(
            f"no closed (won or lost) opportunities up to {q}: lead scoring needs "
            "closed deals to learn from (check deal_types and the quarter)"
        )
    start = pd.Timestamp((q - (test_quarters - 1)).start)
    end = pd.Timestamp(q.end)
    close = pd.to_datetime(closed["close_date"])
    train, test = closed.loc[close < start], closed.loc[(close >= start) & (close <= end)]
    if len(train) == 0:
        raise ValueError(
            f"no closed opportunities before the test period starts ({start:%Y-%m-%d})"
            ": choose a later quarter or fewer test_quarters"
        )
    if len(test) == 0:
        raise ValueError(
            f"no opportunities closed in the test period {start:%Y-%m-%d} to "
            f"{end:%Y-%m-%d}: choose another quarter or more test_quarters"
        )
    cols = tuple(
        feature_columns
        or [c for c in closed.columns if c in LEAD_FEATURE_LABELS or c.startswith(UNIT_PREFIX)]
    )
    return TimeSplit(
        train=train.reset_index(drop=True),
        test=test.reset_index(drop=True),
        test_start=start,
        test_end=end,
        feature_columns=cols,
    )


def _two_classes(y: np.ndarray, what: str) -> None:
    values = set(np.unique(y).tolist())
    if values != {0, 1}:
        only = "won" if values == {1} else "lost" if values == {0} else str(values)
        raise ValueError(f"{what} needs both won and lost opportunities; all {len(y)} were {only}")


class WinRateBaseline(ClassifierMixin, BaseEstimator):
    """Naive baseline: the historical win rate of the example's industry and size band.

    Rates are smoothed: a cell's rate shrinks towards its industry's rate, which shrinks
    towards the overall rate, by ``prior_strength`` pseudo-deals each (a cell with few deals
    gets nearly its industry's rate; unseen cells get it exactly).

    >>> X = pd.DataFrame({"industry": ["a", "a", "b", "b"], "size_band": ["s", "s", "s", "s"]})
    >>> WinRateBaseline(prior_strength=0).fit(X, [1, 1, 0, 1]).predict_proba(X)[:, 1].tolist()
    [1.0, 1.0, 0.5, 0.5]
    """

    def __init__(
        self, columns: Sequence[str] = ("industry", "size_band"), prior_strength: float = 10.0
    ):
        self.columns = columns
        self.prior_strength = prior_strength

    def _key(self, X: pd.DataFrame, depth: int) -> pd.Series:
        key = X[self.columns[0]].astype(str)
        for c in self.columns[1:depth]:
            key = key + "\x1f" + X[c].astype(str)
        return key

    def fit(self, X: pd.DataFrame, y) -> WinRateBaseline:
        y = np.asarray(y).astype(int)
        _two_classes(y, "the baseline")
        self.classes_ = np.array([0, 1])
        self.overall_ = float(y.mean())
        m = float(self.prior_strength)
        self.rates_ = []
        parent = np.full(len(X), self.overall_)
        for depth in range(1, len(self.columns) + 1):
            key = self._key(X, depth)
            g = pd.DataFrame({"key": key.to_numpy(), "y": y, "parent": parent}).groupby("key")
            rate = (g["y"].sum() + m * g["parent"].first()) / (g.size() + m)
            self.rates_.append(rate)
            parent = key.map(rate).to_numpy(dtype=float)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = np.full(len(X), self.overall_)
        for depth, rate in enumerate(self.rates_, start=1):
            found = self._key(X, depth).map(rate).to_numpy(dtype=float)
            p = np.where(np.isnan(found), p, found)  # unseen cell: the coarser level's rate
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class LeadScorer(ClassifierMixin, BaseEstimator):
    """Win probability of an opportunity: preprocessing Pipeline + a classifier, calibrated.

    Parameters
    ----------
    model : {"logistic", "boosting"}
        L2-regularised logistic regression (scaled features) or histogram gradient boosting.
    calibration : {"sigmoid", "isotonic", "none"}
        Probability calibration (:class:`~sklearn.calibration.CalibratedClassifierCV`): the
        calibrator is fitted on ``cv``-fold out-of-fold predictions within the training data,
        the model itself on all of it. ``cv`` drops to the minority-class count when that is
        smaller, and calibration is skipped below 2 (``calibration_`` says what ran).
    C : float
        Inverse regularisation strength of the logistic regression.
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf : float, int, int, int
        Gradient-boosting settings (modest defaults keep the notebook fast).
    random_state : int
    numeric, categorical, log_columns
        Feature columns (default: by dtype) and skewed columns taken as ``log1p``.

    Attributes
    ----------
    estimator_ : estimator
        The fitted (calibrated) pipeline.
    classes_ : ndarray ``[0, 1]`` (lost, won)
    feature_names_in_ : list of str
    calibration_ : str

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=400), "kind": rng.choice(["a", "b"], 400)})
    >>> y = (rng.random(400) < 1 / (1 + np.exp(-2 * X["x"]))).astype(int)
    >>> p = LeadScorer().fit(X, y).predict_proba(X)[:, 1]
    >>> bool(p[X["x"] > 1].mean() > 0.8 > 0.2 > p[X["x"] < -1].mean())
    True
    """

    def __init__(
        self,
        model: str = "logistic",
        calibration: str = "sigmoid",
        *,
        cv: int = 3,
        C: float = 1.0,
        learning_rate: float = 0.05,
        max_iter: int = 100,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 20,
        random_state: int = 0,
        numeric: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        log_columns: Sequence[str] = (),
    ):
        self.model = model
        self.calibration = calibration
        self.cv = cv
        self.C = C
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state
        self.numeric = numeric
        self.categorical = categorical
        self.log_columns = log_columns

    def _pipeline(self) -> Pipeline:
        if self.model == "logistic":
            clf = LogisticRegression(C=self.C, max_iter=2000)
            scale = True
        elif self.model == "boosting":
            clf = HistGradientBoostingClassifier(
                learning_rate=self.learning_rate,
                max_iter=self.max_iter,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf,
                l2_regularization=1.0,
                early_stopping=False,
                random_state=self.random_state,
            )
            scale = False
        else:
            raise ValueError(f"model must be 'logistic' or 'boosting', got {self.model!r}")
        prep = _preprocessor(self.numeric_, self.categorical_, self.log_columns, scale=scale)
        return Pipeline([("prep", prep), ("model", clf)])

    @_one_thread
    def fit(self, X: pd.DataFrame, y) -> LeadScorer:
        if self.calibration not in ("sigmoid", "isotonic", "none"):
            raise ValueError(
                f"calibration must be 'sigmoid', 'isotonic' or 'none', got {self.calibration!r}"
            )
        y = np.asarray(y).astype(int)
        if len(y) == 0:
            raise ValueError("lead scoring needs closed opportunities to learn from; got none")
        _two_classes(y, "lead scoring")
        self.numeric_, self.categorical_ = _split_columns(X, self.numeric, self.categorical)
        self.feature_names_in_ = self.numeric_ + self.categorical_
        self.classes_ = np.array([0, 1])
        X = X[self.feature_names_in_]
        folds = min(self.cv, int(np.bincount(y).min()))
        if self.calibration == "none" or folds < 2:
            self.calibration_ = "none"
            self.estimator_ = self._pipeline().fit(X, y)
        else:
            self.calibration_ = self.calibration
            self.estimator_ = CalibratedClassifierCV(
                self._pipeline(), method=self.calibration, cv=folds, ensemble=False
            ).fit(X, y)
        return self

    @_one_thread
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator_.predict_proba(X[self.feature_names_in_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


MODEL_LABELS = {
    "baseline": "baseline: win rate by industry × size band",
    "logistic": "logistic regression (calibrated)",
    "boosting": "gradient boosting (calibrated)",
}


def reliability_table(y_true, probability, *, bins: int = 10) -> pd.DataFrame:
    """Reliability (calibration) table: equal-count bins of predicted probability.

    Returns ``bin``, ``n``, ``mean_predicted``, ``observed_rate`` per bin; a calibrated model
    has ``observed_rate`` ≈ ``mean_predicted``.

    >>> reliability_table([0, 1, 0, 1], [0.1, 0.2, 0.8, 0.9], bins=2)["observed_rate"].tolist()
    [0.5, 0.5]
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probability, dtype=float)
    bins = max(1, min(bins, len(y)))
    order = np.argsort(p, kind="stable")
    b = np.empty(len(y), dtype=int)
    b[order] = np.arange(len(y)) * bins // len(y)
    frame = pd.DataFrame({"bin": b + 1, "y": y, "p": p})
    g = frame.groupby("bin")
    return pd.DataFrame(
        {"n": g.size(), "mean_predicted": g["p"].mean(), "observed_rate": g["y"].mean()}
    ).reset_index()


def lift_table(y_true, probability, *, groups: int = 10) -> pd.DataFrame:
    """Lift by decile: rank by score (decile 1 = the highest 10 %), win rate per decile.

    Returns ``decile``, ``n``, ``wins``, ``win_rate``, ``lift`` (win rate ÷ overall win rate)
    and ``cumulative_wins_share`` (share of all wins found in deciles 1..d).

    >>> lift_table([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1], groups=2)["lift"].tolist()
    [2.0, 0.0]
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probability, dtype=float)
    groups = max(1, min(groups, len(y)))
    order = np.argsort(-p, kind="stable")
    d = np.empty(len(y), dtype=int)
    d[order] = np.arange(len(y)) * groups // len(y)
    g = pd.DataFrame({"decile": d + 1, "y": y}).groupby("decile")["y"]
    out = pd.DataFrame({"n": g.size(), "wins": g.sum()})
    out["win_rate"] = out["wins"] / out["n"]
    overall = y.mean()
    out["lift"] = out["win_rate"] / overall if overall > 0 else np.nan
    out["cumulative_wins_share"] = out["wins"].cumsum() / max(y.sum(), 1e-300)
    return out.reset_index()


@dataclasses.dataclass(frozen=True)
class LeadModelComparison:
    """Held-out comparison of the baseline and both lead-scoring models.

    Attributes
    ----------
    metrics : DataFrame
        Per model (index ``baseline``, ``logistic``, ``boosting``): ``model`` label, ``roc_auc``,
        ``brier``, ``log_loss``, ``top_decile_lift``.
    reliability, lift : DataFrame
        :func:`reliability_table` and :func:`lift_table` per model (column ``model``).
    predictions : DataFrame
        Test opportunities with ``won`` and one probability column per model.
    best : str
        The model with the lowest Brier score (``logistic`` or ``boosting``); it scores leads.
    models : dict
        Fitted estimators (trained on the training period only).
    split : TimeSplit
    """

    metrics: pd.DataFrame
    reliability: pd.DataFrame
    lift: pd.DataFrame
    predictions: pd.DataFrame
    best: str
    models: Mapping[str, WinRateBaseline | LeadScorer]
    split: TimeSplit
    seed: int

    @property
    def beats_baseline(self) -> bool:
        m = self.metrics
        return bool(m.loc[self.best, "brier"] < m.loc["baseline", "brier"])

    def summary(self) -> pd.DataFrame:
        m = self.metrics
        verdict = "better" if self.beats_baseline else "NOT better"
        rows = [
            ("test period", f"{self.split.test_start:%Y-%m-%d} to {self.split.test_end:%Y-%m-%d}"),
            (
                "training / test opportunities",
                f"{len(self.split.train):,} / {len(self.split.test):,}",
            ),
            ("best model (lowest Brier score)", MODEL_LABELS[self.best]),
            (
                "ROC AUC: best model vs baseline",
                f"{m.loc[self.best, 'roc_auc']:.3f} vs {m.loc['baseline', 'roc_auc']:.3f}",
            ),
            (
                "Brier score: best model vs baseline",
                f"{m.loc[self.best, 'brier']:.4f} vs {m.loc['baseline', 'brier']:.4f} ({verdict})",
            ),
        ]
        if not math.isnan(m.loc[self.best, "brier_gain_low"]):
            lo, hi = m.loc[self.best, ["brier_gain_low", "brier_gain_high"]]
            sure = (
                "clearly better"
                if lo > 0
                else "clearly worse"
                if hi < 0
                else "within the noise of one test period"
            )
            rows.append(
                (
                    "Brier gain over baseline, 95% bootstrap interval",
                    f"{lo:+.4f} to {hi:+.4f} ({sure})",
                )
            )
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def to_frame(self) -> pd.DataFrame:
        return self.metrics.copy()

    def _repr_html_(self) -> str:
        return _html_block(
            "Lead-scoring models on the held-out period",
            [("Summary", self.summary()), ("Metrics", self.metrics)],
        )


@_one_thread
def compare_lead_models(
    split: TimeSplit,
    *,
    seed: int = 0,
    calibration: str = "sigmoid",
    bins: int = 10,
    bootstrap: int = 200,
) -> LeadModelComparison:
    """Fit the baseline, a calibrated logistic regression and calibrated gradient boosting on the
    training period; compare them on the test period.

    The split is checked first (:meth:`TimeSplit.check`): a training opportunity closed in or
    after the test period raises :class:`LeakageError`.

    Parameters
    ----------
    split : TimeSplit
        From :func:`time_split`.
    seed : int
        Seed of the gradient boosting.
    calibration : str
        Calibration method of both models (see :class:`LeadScorer`).
    bins : int
        Bins of the reliability table (fewer when the test period has under 30 opportunities
        per bin).
    bootstrap : int
        Resamples of the test opportunities for 95 % intervals of ROC AUC and of each model's
        Brier-score gain over the baseline (0 skips them).

    Returns
    -------
    LeadModelComparison
        ROC AUC (ranking: 0.5 = random, 1 = perfect), Brier score (mean squared error of the
        probability, lower is better), log loss and the win-rate lift of the top decile, with
        bootstrap intervals.
    """
    split.check()
    train, test = split.train, split.test
    y_train = train["won"].to_numpy(dtype=int)
    y_test = test["won"].to_numpy(dtype=int)
    _two_classes(y_train, "lead scoring (training period)")
    if len(set(y_test.tolist())) < 2:
        raise ValueError(
            "the test period's opportunities were all "
            f"{'won' if y_test[0] else 'lost'}: ROC AUC is undefined "
            "(use more test_quarters)"
        )
    features = list(split.feature_columns)
    cats = [c for c in features if c in ("industry", "deal_type")]
    nums = [c for c in features if c not in cats]
    models: dict[str, WinRateBaseline | LeadScorer] = {
        "baseline": WinRateBaseline(),
        "logistic": LeadScorer(
            "logistic",
            calibration,
            numeric=nums,
            categorical=cats,
            log_columns=LEAD_LOG,
            random_state=seed,
        ),
        "boosting": LeadScorer(
            "boosting",
            calibration,
            numeric=nums,
            categorical=cats,
            log_columns=LEAD_LOG,
            random_state=seed,
        ),
    }
    base_cols = list(models["baseline"].columns)
    bins = max(2, min(bins, len(test) // 30))  # ≥ 30 opportunities per bin, or the curve is noise
    preds = test[["opportunity_id", "account_id", "created_date", "close_date", "won"]].copy()
    rows, rel, lifts = [], [], []
    for name, model in models.items():
        cols = base_cols if name == "baseline" else features
        model.fit(train[cols], y_train)
        p = model.predict_proba(test[cols])[:, 1]
        preds[name] = p
        lt = lift_table(y_test, p)
        rows.append(
            {
                "model": MODEL_LABELS[name],
                "roc_auc": roc_auc_score(y_test, p),
                "brier": brier_score_loss(y_test, p),
                "log_loss": log_loss(y_test, np.clip(p, 1e-6, 1 - 1e-6)),
                "top_decile_lift": float(lt["lift"].iloc[0]),
            }
        )
        rel.append(reliability_table(y_test, p, bins=bins).assign(model=name))
        lifts.append(lt.assign(model=name))
    metrics = pd.DataFrame(rows, index=list(models)).rename_axis("key")
    metrics = metrics.join(_bootstrap_intervals(y_test, preds[list(models)], bootstrap, seed))
    best = str(metrics.loc[["logistic", "boosting"], "brier"].idxmin())
    return LeadModelComparison(
        metrics=metrics,
        reliability=pd.concat(rel, ignore_index=True),
        lift=pd.concat(lifts, ignore_index=True),
        predictions=preds,
        best=best,
        models=models,
        split=split,
        seed=seed,
    )


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (average ranks for ties): the chance that a won
    deal scores above a lost one. Same value as ``roc_auc_score``, without its input checks."""
    ranks = rankdata(p)
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _bootstrap_intervals(y: np.ndarray, probs: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """95 % percentile intervals of ROC AUC and of the Brier gain over the baseline (paired:
    every model is scored on the same resampled opportunities)."""
    cols = ["roc_auc_low", "roc_auc_high", "brier_gain", "brier_gain_low", "brier_gain_high"]
    if n <= 0:
        return pd.DataFrame(np.nan, index=probs.columns, columns=cols)
    rng = np.random.default_rng(seed)
    P = probs.to_numpy()
    aucs: list[list[float]] | np.ndarray
    gains: list[np.ndarray] | np.ndarray
    aucs, gains = [], []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        yb = y[idx]
        if yb.min() == yb.max():
            continue
        aucs.append([_auc(yb, P[idx, j]) for j in range(P.shape[1])])
        brier = ((P[idx] - yb[:, None]) ** 2).mean(axis=0)
        gains.append(brier[0] - brier)  # column 0 is the baseline
    aucs, gains = np.array(aucs), np.array(gains)
    full = ((P - y[:, None]) ** 2).mean(axis=0)
    return pd.DataFrame(
        {
            "roc_auc_low": np.percentile(aucs, 2.5, axis=0),
            "roc_auc_high": np.percentile(aucs, 97.5, axis=0),
            "brier_gain": full[0] - full,
            "brier_gain_low": np.percentile(gains, 2.5, axis=0),
            "brier_gain_high": np.percentile(gains, 97.5, axis=0),
        },
        index=probs.columns,
    )


_COLOURS = {"baseline": "#999999", "logistic": "#2f6b9a", "boosting": "#d9822b"}


def plot_reliability(comparison: LeadModelComparison):
    """Reliability diagram: observed win rate against predicted probability, per model."""
    fig, ax = plt.subplots(figsize=(5.6, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfectly calibrated")
    for name, part in comparison.reliability.groupby("model", sort=False):
        brier = comparison.metrics.loc[name, "brier"]
        ax.plot(
            part["mean_predicted"],
            part["observed_rate"],
            marker="o",
            color=_COLOURS[name],
            label=f"{name} (Brier {brier:.3f})",
        )
    top = float(max(comparison.reliability[["mean_predicted", "observed_rate"]].max().max(), 0.1))
    lim = min(1.0, top * 1.1)
    ax.set_xlim(0, lim)
    ax.set_ylim(0, lim)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("predicted win probability (bin mean)")
    ax.set_ylabel("observed win rate")
    ax.set_title("Reliability on the held-out period")
    ax.legend(frameon=False, loc="upper left")
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_lift(comparison: LeadModelComparison):
    """Lift by decile (bars; 1 = no better than calling at random) and cumulative gains."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), width_ratios=[3, 2])
    names = list(comparison.metrics.index)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        part = comparison.lift.loc[comparison.lift["model"] == name]
        auc = comparison.metrics.loc[name, "roc_auc"]
        ax.bar(
            part["decile"] + (i - (len(names) - 1) / 2) * width,
            part["lift"],
            width=width,
            color=_COLOURS[name],
            label=f"{name} (AUC {auc:.2f})",
        )
        share = np.r_[0, part["n"].cumsum() / part["n"].sum()]
        ax2.plot(
            share,
            np.r_[0, part["cumulative_wins_share"]],
            marker=".",
            color=_COLOURS[name],
            label=name,
        )
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(range(1, int(comparison.lift["decile"].max()) + 1))
    ax.set_xlabel("decile of predicted win probability (1 = highest)")
    ax.set_ylabel("lift (win rate ÷ average)")
    ax.set_title("Lift by decile, held-out period")
    ax.legend(frameon=False, fontsize=9)
    ax2.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="random order")
    ax2.set_xlabel("share of opportunities, best scored first")
    ax2.set_ylabel("share of wins found")
    ax2.set_title("Cumulative gains")
    for axis in (ax2.xaxis, ax2.yaxis):
        axis.set_major_formatter(PercentFormatter(1.0))
    ax2.legend(frameon=False, fontsize=9, loc="lower right")
    fig.tight_layout()
    plt.close(fig)
    return fig


@_one_thread
def ideal_customer_profile(comparison: LeadModelComparison, *, repeats: int = 5) -> pd.DataFrame:
    """What drives wins, in business words: the ideal customer profile.

    Importance is the drop in held-out ROC AUC when a feature's values are shuffled
    (permutation importance of the best model on the test period: model-agnostic, and honest
    because the model never saw those deals). The direction comes from the logistic
    regression fitted on the training period: the change in win odds when the feature moves
    from its 25th to its 75th percentile (others at their median), or, for industry, the
    industries with the best and worst odds.

    Returns
    -------
    DataFrame
        ``driver`` (business label), ``importance_auc`` (mean AUC drop), ``importance_sd``,
        ``odds_ratio`` (75th vs 25th percentile; NaN for categories), ``effect`` (a sentence),
        sorted by importance.
    """
    split = comparison.split
    features = list(split.feature_columns)
    best = comparison.models[comparison.best]
    imp = permutation_importance(
        best,
        split.test[features],
        split.test["won"].to_numpy(dtype=int),
        scoring="roc_auc",
        n_repeats=repeats,
        random_state=comparison.seed,
    )
    logit = comparison.models["logistic"]
    lr = LeadScorer(
        "logistic",
        "none",
        numeric=logit.numeric_,
        categorical=logit.categorical_,
        log_columns=logit.log_columns,
    ).fit(split.train[features], split.train["won"].to_numpy(dtype=int))
    X = split.train[features]
    ref = {c: (X[c].median() if c in lr.numeric_ else X[c].mode().iloc[0]) for c in features}

    def log_odds(column: str, values: Sequence) -> np.ndarray:
        rows = pd.DataFrame([{**ref, column: v} for v in values])[features]
        p = np.clip(lr.predict_proba(rows)[:, 1], 1e-9, 1 - 1e-9)
        return np.log(p / (1 - p))

    rows = []
    for i, col in enumerate(features):
        label = lead_feature_label(col)
        if col in lr.numeric_:
            lo, hi = X[col].quantile([0.25, 0.75]).to_numpy(dtype=float)
            if hi == lo:
                lo, hi = float(X[col].min()), float(X[col].max())
            ratio = float(np.exp(np.diff(log_odds(col, [lo, hi]))[0])) if hi > lo else 1.0
            direction = "raises" if ratio > 1 else "lowers"
            effect = (
                (
                    f"from {lo:,.3g} to {hi:,.3g} (25th to 75th percentile) {direction} the odds "
                    f"of winning ×{ratio:.2f}"
                )
                if hi > lo
                else "hardly varies"
            )
        else:
            levels = sorted(X[col].dropna().astype(str).unique())
            lo_ = log_odds(col, levels)
            order = np.argsort(-lo_)
            best_l = ", ".join(levels[j] for j in order[:2])
            worst_l = ", ".join(levels[j] for j in order[::-1][:2])
            ratio = np.nan
            spread = float(np.exp(lo_.max() - lo_.min()))
            effect = f"best odds: {best_l}; worst: {worst_l} (odds ×{spread:.2f} best vs worst)"
        rows.append(
            {
                "driver": label,
                "feature": col,
                "importance_auc": float(imp.importances_mean[i]),
                "importance_sd": float(imp.importances_std[i]),
                "odds_ratio": ratio,
                "effect": effect,
            }
        )
    return pd.DataFrame(rows).sort_values("importance_auc", ascending=False, ignore_index=True)


@dataclasses.dataclass(frozen=True)
class LeadScores:
    """Scores from the chosen model refitted on every closed opportunity up to quarter end.

    Attributes
    ----------
    prospects : DataFrame
        One row per prospect account: ``account_id``, ``account_name``, ``industry``,
        ``employees``, ``owner_rep_id``, ``win_probability``, ``lead_rank`` (1 = best),
        ``lead_grade`` (``hot``/``warm``/``cold``), ``open_opportunities``,
        ``open_pipeline_usd`` and ``expected_pipeline_usd`` (Σ probability × amount of its
        open opportunities of the modelled deal types).
    open_opportunities : DataFrame
        Open opportunities (modelled deal types) with ``win_probability`` and
        ``expected_usd``.
    model : str
    """

    prospects: pd.DataFrame
    open_opportunities: pd.DataFrame
    model: str
    quarter: str

    def summary(self) -> pd.DataFrame:
        p = self.prospects
        grades = p["lead_grade"].value_counts()
        rows = [
            (
                "model",
                f"{MODEL_LABELS[self.model]}, refitted on all closed deals to {self.quarter}",
            ),
            ("prospects scored", f"{len(p):,}"),
            (
                "hot / warm / cold",
                " / ".join(f"{grades.get(g, 0):,}" for g in ("hot", "warm", "cold")),
            ),
            (
                "mean win probability: hot vs cold prospects",
                f"{p.loc[p['lead_grade'] == 'hot', 'win_probability'].mean():.0%} vs "
                f"{p.loc[p['lead_grade'] == 'cold', 'win_probability'].mean():.0%}",
            ),
            ("open opportunities scored", f"{len(self.open_opportunities):,}"),
            (
                "open pipeline: amount / expected value",
                f"{usd(self.open_opportunities['amount_usd'].sum())} / "
                f"{usd(self.open_opportunities['expected_usd'].sum())}",
            ),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def to_frame(self) -> pd.DataFrame:
        return self.prospects.copy()

    def _repr_html_(self) -> str:
        top = self.prospects.head(10)[
            [
                "account_id",
                "account_name",
                "industry",
                "employees",
                "owner_rep_id",
                "win_probability",
                "lead_grade",
            ]
        ]
        return _html_block("Lead scores", [("Summary", self.summary()), ("Top 10 prospects", top)])


@_one_thread
def score_prospects(
    data: LeadData,
    comparison: LeadModelComparison,
    *,
    hot_share: float = 0.2,
    warm_share: float = 0.3,
) -> LeadScores:
    """Score every prospect and open opportunity with the better model.

    The chosen model (``comparison.best``, same settings) is refitted on **all** closed
    opportunities up to quarter end (training and test periods: the evaluation is done, and
    the latest quarter carries the most current signal). Prospects are graded by rank: the top
    ``hot_share`` are *hot*, the next ``warm_share`` *warm*, the rest *cold*.

    Parameters
    ----------
    data : LeadData
    comparison : LeadModelComparison
    hot_share, warm_share : float
        Shares of prospects graded hot and warm (``hot_share + warm_share <= 1``).
    """
    if not (hot_share >= 0 and warm_share >= 0 and hot_share + warm_share <= 1):
        raise ValueError("hot_share and warm_share must be ≥ 0 and add up to at most 1")
    features = list(comparison.split.feature_columns)
    model = clone(comparison.models[comparison.best])
    model.fit(data.closed[features], data.closed["won"].to_numpy(dtype=int))
    opens = data.open[
        ["opportunity_id", "account_id", "rep_id", "created_date", "amount_usd"]
    ].copy()
    opens["win_probability"] = model.predict_proba(data.open[features])[:, 1] if len(opens) else []
    opens["expected_usd"] = opens["win_probability"] * opens["amount_usd"]
    p = data.prospects
    out = pd.DataFrame(
        {
            "account_id": p["account_id"],
            "account_name": p["account_name"],
            "industry": p["industry"],
            "employees": p["employees"].round().astype("Int64"),
            "owner_rep_id": p["rep_id"].where(p["rep_id"].notna(), UNASSIGNED),
        }
    )
    out["win_probability"] = model.predict_proba(p[features])[:, 1] if len(p) else []
    out = out.sort_values(
        ["win_probability", "account_id"], ascending=[False, True], ignore_index=True
    )
    out["lead_rank"] = np.arange(1, len(out) + 1)
    share = (out["lead_rank"] - 0.5) / max(len(out), 1)
    out["lead_grade"] = np.where(
        share < hot_share, "hot", np.where(share < hot_share + warm_share, "warm", "cold")
    )
    g = opens.groupby("account_id")
    out["open_opportunities"] = out["account_id"].map(g.size()).fillna(0).astype(int)
    out["open_pipeline_usd"] = out["account_id"].map(g["amount_usd"].sum()).fillna(0.0)
    out["expected_pipeline_usd"] = out["account_id"].map(g["expected_usd"].sum()).fillna(0.0)
    return LeadScores(
        prospects=out,
        open_opportunities=opens.sort_values("expected_usd", ascending=False, ignore_index=True),
        model=comparison.best,
        quarter=data.quarter,
    )


def lookalike_prospects(
    firmographics: pd.DataFrame,
    *,
    best_ids: Iterable[str],
    candidate_ids: Iterable[str],
    n: int = 15,
    neighbors: int = 3,
    scores: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Prospects that look most like the best customers (firmographic nearest neighbours).

    Feature space: industry (one-hot), ``log1p(employees)`` and the unit drivers present
    (``unit_<driver>`` columns, ``competitor_presence``), each numeric
    standardised over all accounts. A candidate's distance is the mean distance to its
    ``neighbors`` nearest best customers; the ``n`` closest candidates are returned.

    Parameters
    ----------
    firmographics : DataFrame
        ``account_id``, ``account_name``, ``industry``, ``employees`` (+ drivers), e.g.
        :attr:`LeadData.firmographics`.
    best_ids, candidate_ids : iterable of str
        The best customers (e.g. class A) and the prospects to rank.
    scores : DataFrame, optional
        ``account_id``, ``win_probability`` (added to the output).

    Returns
    -------
    DataFrame
        ``lookalike_rank``, ``account_id``, ``account_name``, ``industry``, ``employees``,
        ``distance``, ``most_like`` (name of the nearest best customer)
        [, ``win_probability``].

    Examples
    --------
    >>> firmo = pd.DataFrame({"account_id": ["c1", "p1", "p2"], "account_name": ["C", "P1", "P2"],
    ...                       "industry": ["Retail", "Retail", "Farming"],
    ...                       "employees": [100, 90, 5]})
    >>> near = lookalike_prospects(firmo, best_ids=["c1"], candidate_ids=["p1", "p2"], n=1)
    >>> near["account_id"].tolist()
    ['p1']
    """
    best_ids, candidate_ids = list(best_ids), list(candidate_ids)
    if not best_ids:
        raise ValueError("lookalikes need at least one best customer")
    if not candidate_ids or n == 0:
        return pd.DataFrame(
            columns=[
                "lookalike_rank",
                "account_id",
                "account_name",
                "industry",
                "employees",
                "distance",
                "most_like",
            ]
        )
    nums = [
        c
        for c in firmographics.columns
        if c in ("employees", "competitor_presence") or c.startswith(UNIT_PREFIX)
    ]
    prep = _preprocessor(nums, ["industry"], ("employees",))
    Z = prep.fit_transform(firmographics[[*nums, "industry"]])
    pos = pd.Series(np.arange(len(firmographics)), index=firmographics["account_id"].to_numpy())
    best_pos = pos.reindex(best_ids).dropna().astype(int).to_numpy()
    cand_pos = pos.reindex(candidate_ids).dropna().astype(int).to_numpy()
    k = min(neighbors, len(best_pos))
    nn = NearestNeighbors(n_neighbors=k).fit(Z[best_pos])
    dist, idx = nn.kneighbors(Z[cand_pos])
    f = firmographics.iloc[cand_pos]
    out = pd.DataFrame(
        {
            "account_id": f["account_id"].to_numpy(),
            "account_name": f["account_name"].to_numpy(),
            "industry": f["industry"].to_numpy(),
            "employees": pd.array(f["employees"].round(), dtype="Int64"),
            "distance": dist.mean(axis=1),
            "most_like": firmographics["account_name"].to_numpy()[best_pos[idx[:, 0]]],
        }
    )
    if scores is not None:
        probability = scores.set_index("account_id")["win_probability"]
        out["win_probability"] = out["account_id"].map(probability)
    out = out.sort_values(["distance", "account_id"], ignore_index=True).head(n)
    out.insert(0, "lookalike_rank", np.arange(1, len(out) + 1))
    return out


# ---------------------------------------------------------------------------------------------
# 4. Workload


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
    lookalike = ids.isin(set(lookalike_ids))
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


# ---------------------------------------------------------------------------------------------
# Outputs


def save_outputs(
    processed: str | Path,
    quarter: Quarter | str,
    *,
    pareto: ParetoResult,
    segmentation: SegmentationResult,
    lead_scores: LeadScores,
    workload: pd.DataFrame,
) -> pd.DataFrame:
    """Write the notebook's stages ``segments``, ``lead_scores`` and ``workload`` for ``quarter``.

    ``segments`` holds one row per customer: the Pareto table (classes) joined with the
    segment id, name and features. Returns the files written with their row counts.
    """
    seg_cols = [
        c for c in segmentation.frame.columns if c not in pareto.table.columns or c == "account_id"
    ]
    segments_frame = pareto.table.merge(segmentation.frame[seg_cols], on="account_id", how="left")
    written = []
    for stage, frame in (
        ("segments", segments_frame),
        ("lead_scores", lead_scores.prospects),
        ("workload", workload),
    ):
        path = io.save_stage(frame, processed, stage, quarter)
        written.append({"stage": stage, "file": path.name, "rows": len(frame)})
    return pd.DataFrame(written)
