"""Headcount sizing by workload buildup, and a capacity check per territory.

The workload buildup method (Zoltners, Sinha & Lorimer, *Sales Force Design for Strategic
Advantage*, ch. 5):

    required hours / year = Σ_accounts calls_per_year × hours_per_call × (1 + travel_share)
    capacity hours / rep  = selling_days × hours_per_day × selling_share
    recommended reps      = ceil(required hours / (capacity hours × target_utilisation))

Call frequencies per account come from notebook 02 (``workload_<quarter>``: class and score
→ calls per year, hours per year). Travel is a share on top of face time, because call
hours in the workload file exclude driving. Defaults are documented in
``docs/assumptions.md`` and are parameters of notebook 03. :class:`Sizing` holds the three
tables notebook 03 shows.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from ..results import Results, Summary

__all__ = [
    "Capacity",
    "Sizing",
    "capacity_check",
    "headcount_what_if",
    "recommend_headcount",
    "required_hours",
]


@dataclasses.dataclass(frozen=True)
class Capacity:
    """A rep's yearly selling capacity.

    >>> Capacity(selling_days=220, hours_per_day=8, selling_share=0.6).hours_per_rep
    1056.0
    """

    selling_days: float = 220.0
    hours_per_day: float = 8.0
    selling_share: float = 0.6  # the rest: admin, internal meetings, training
    travel_share: float = 0.35  # travel time as a share of face time
    target_utilisation: float = 0.9  # plan for 90% so a territory can absorb growth

    def __post_init__(self) -> None:
        for name in ("selling_days", "hours_per_day"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("selling_share", "target_utilisation"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.travel_share < 0:
            raise ValueError(f"travel_share must be ≥ 0, got {self.travel_share}")

    @property
    def hours_per_rep(self) -> float:
        """Selling hours a rep has in a year."""
        return float(self.selling_days * self.hours_per_day * self.selling_share)


def required_hours(workload: pd.DataFrame, *, capacity: Capacity) -> pd.Series:
    """Hours per account per year including travel.

    Requires ``hours_per_year`` (face time, hours). Returns a Series on the same index.

    >>> w = pd.DataFrame({"hours_per_year": [10.0, 20.0]})
    >>> required_hours(w, capacity=Capacity(travel_share=0.5)).tolist()
    [15.0, 30.0]
    """
    if "hours_per_year" not in workload:
        raise ValueError("workload needs an hours_per_year column (notebook 02's workload file)")
    hours = workload["hours_per_year"].astype(float)
    if (hours < 0).any() or hours.isna().any():
        raise ValueError("hours_per_year must be a number ≥ 0 for every account")
    return hours * (1 + capacity.travel_share)


def recommend_headcount(workload: pd.DataFrame, *, capacity: Capacity) -> dict[str, float]:
    """Recommended number of reps (territories) by workload buildup.

    >>> w = pd.DataFrame({"hours_per_year": [950.4] * 10})
    >>> recommend_headcount(w, capacity=Capacity(travel_share=0.0))["recommended_reps"]
    10
    """
    total = float(required_hours(workload, capacity=capacity).sum())
    effective = capacity.hours_per_rep * capacity.target_utilisation
    exact = total / effective
    return {
        "required_hours": total,
        "hours_per_rep": capacity.hours_per_rep,
        "effective_hours_per_rep": effective,
        "exact_reps": exact,
        "recommended_reps": max(1, math.ceil(exact - 1e-9)),
    }


def headcount_what_if(
    workload: pd.DataFrame,
    *,
    capacity: Capacity,
    call_scales: tuple[float, ...] = (0.8, 1.0, 1.2),
    selling_shares: tuple[float, ...] = (0.5, 0.6, 0.7),
) -> pd.DataFrame:
    """Recommended reps when call frequencies and selling time change (a what-if grid).

    Rows: call-frequency scale (1.0 = notebook 02's plan); columns: selling share of the day.
    """
    rows = {}
    for scale in call_scales:
        scaled = workload.assign(hours_per_year=workload["hours_per_year"] * scale)
        rows[f"calls x{scale:g}"] = {
            f"selling {share:.0%}": recommend_headcount(
                scaled, capacity=dataclasses.replace(capacity, selling_share=share)
            )["recommended_reps"]
            for share in selling_shares
        }
    return pd.DataFrame(rows).T.rename_axis("call frequency")


def capacity_check(
    workload: pd.DataFrame,
    assignment: pd.Series,
    *,
    capacity: Capacity,
    account_unit: str = "unit_id",
) -> pd.DataFrame:
    """Required hours per territory against one rep's capacity.

    ``workload`` needs ``hours_per_year`` and the unit column; ``assignment`` maps unit id to
    territory. Utilisation above 100% means the territory needs more than one rep's time.
    """
    hours = required_hours(workload, capacity=capacity)
    territory = workload[account_unit].astype(str).map(assignment)
    if territory.isna().any():
        missing = sorted(workload.loc[territory.isna(), account_unit].astype(str).unique())[:5]
        raise ValueError(f"accounts in units without a territory: {', '.join(missing)}")
    out = hours.groupby(territory).agg(required_hours="sum", accounts="size")
    out["capacity_hours"] = capacity.hours_per_rep
    out["utilisation"] = out["required_hours"] / capacity.hours_per_rep
    out["status"] = np.where(
        out["utilisation"] > 1,
        "over capacity",
        np.where(out["utilisation"] < 0.7, "under-used", "ok"),
    )
    return out.rename_axis("territory")


@dataclasses.dataclass(frozen=True, repr=False)
class Sizing(Results):
    """Headcount sizing of a plan: the recommendation, the what-if grid and the capacity check.

    Attributes
    ----------
    recommendation : pandas.Series
        :func:`recommend_headcount` as a Series named ``value``: ``required_hours``,
        ``hours_per_rep``, ``effective_hours_per_rep``, ``exact_reps``, ``recommended_reps``.
    what_if : pandas.DataFrame
        :func:`headcount_what_if`: recommended reps by call frequency (rows) and selling share.
    capacity : pandas.DataFrame
        :func:`capacity_check` of the plan: per territory required hours, capacity,
        utilisation and status.

    Examples
    --------
    >>> w = pd.DataFrame({"hours_per_year": [950.4] * 10, "unit": list("aabbccddee")})
    >>> cap = Capacity(travel_share=0.0)
    >>> s = Sizing.of(w, pd.Series(["T1"] * 5, index=list("abcde")), capacity=cap,
    ...               account_unit="unit")
    >>> s.summary().loc["recommended_reps", "value"]
    np.float64(10.0)
    >>> s.capacity["status"].tolist()
    ['over capacity']
    """

    recommendation: pd.Series
    what_if: pd.DataFrame
    capacity: pd.DataFrame

    @classmethod
    def of(
        cls,
        workload: pd.DataFrame,
        assignment: pd.Series,
        *,
        capacity: Capacity,
        account_unit: str = "unit_id",
    ) -> Sizing:
        """Size the team for ``workload`` and check ``assignment``'s territories (unit id ->
        territory) against one rep's ``capacity``."""
        return cls(
            recommendation=pd.Series(
                recommend_headcount(workload, capacity=capacity), name="value"
            ),
            what_if=headcount_what_if(workload, capacity=capacity),
            capacity=capacity_check(
                workload, assignment, capacity=capacity, account_unit=account_unit
            ),
        )

    def summary(self) -> Summary:
        """The recommendation (index: its keys, column ``value``); the what-if grid and the
        capacity check as sections."""
        rec = self.recommendation
        use = self.capacity["utilisation"]
        over = int((use > 1).sum())
        return Summary(
            rec.to_frame(),
            title="Headcount sizing by workload buildup",
            notes=[
                f"The workload needs {int(rec['recommended_reps'])} reps "
                f"({float(rec['exact_reps']):.1f} at the target utilisation); the "
                f"{len(self.capacity)} territories use {float(use.mean()):.0%} of one rep's "
                f"capacity on average, {over} over it."
            ],
            sections=[
                ("Recommended reps: what if call frequency or selling time change", self.what_if),
                ("Capacity per territory", self.capacity),
            ],
        )
