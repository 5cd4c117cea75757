"""Revenue concentration and ABC classes (notebook 02, section 1): the Lorenz curve, the Gini
coefficient, the share of the top customers, and A/B/C classes, optionally on a blend of revenue
and potential (:func:`pareto_analysis`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..concentration import gini, top_share
from ..config import Quarter
from ..plots import NOT_AVAILABLE, pct, usd
from ._common import _html_block, _owner, _require

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
        ``owner_rep_id`` (:data:`~workbench.config.UNASSIGNED` when empty), ``revenue_usd``,
        ``potential_usd`` (0 when no potential was given), ``revenue_share``, ``abc_value``
        (the blended value share the classes are cut on), ``rank``, ``cum_value_share``,
        ``abc_class``, ``revenue_class`` (class by revenue alone) and ``territory_class``
        (class within the owner rep's book).
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
            (
                "share of revenue from the top 20% of customers",
                pct(self.top20_share, missing=NOT_AVAILABLE),
            ),
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
                    f"({pct(cs.loc[c, 'customer_share'], missing=NOT_AVAILABLE)}), "
                    f"{pct(cs.loc[c, 'revenue_share'], missing=NOT_AVAILABLE)} of revenue",
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
