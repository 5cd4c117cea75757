"""Headcount by role, by workload buildup (:mod:`.sizing`'s formula, once per role).

Roles and the hours each carries
    * ``geographic``: the call plan (notebook 02) of every account not named, plus travel;
      a cold prospect's field calls (none in notebook 02's default plan) go to inside sales when
      there is one;
    * ``named-account``: the named accounts' call plan, plus travel;
    * ``overlay: <group>``: ``share`` (``overlay_share``) of the group's accounts' call plan,
      plus travel - the specialist's part, on top of the owner's;
    * ``inside sales`` (``inside_hours`` > 0): ``inside_hours`` a year on each cold prospect
      (notebook 02's ``call_class`` ``cold``, which gets no field calls), by phone: no travel.
      The accounts stay in their territories for ownership and crediting; only the calls are
      inside sales'.

Each role's recommended headcount is ``ceil(hours / (hours_per_rep × target_utilisation))``
with the same capacity as the geographic reps, and its what-if grid varies call frequency and
selling time (:func:`~workbench.territory.sizing.headcount_what_if`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..frames import isin
from ..results import Results, Summary
from .sizing import Capacity, headcount_what_if, recommend_headcount

__all__ = ["COLD", "RoleSizing", "role_sizing", "role_workloads"]

#: notebook 02's ``call_class`` of prospects left to inside sales
COLD = "cold"


def role_workloads(
    accounts: pd.DataFrame,
    *,
    named=None,
    overlays=None,
    inside_hours: float = 0.0,
) -> dict[str, pd.DataFrame]:
    """Role -> the accounts it works, with ``hours_per_year`` as that role spends them (see the
    module docstring). Every account's hours are in exactly one of the non-overlay roles."""
    ids = accounts["account_id"].astype(str).str.strip()
    is_named = np.zeros(len(accounts), dtype=bool)
    if named is not None and not named.empty:
        is_named = isin(ids, named.assignment.index)
    cold = np.zeros(len(accounts), dtype=bool)
    if inside_hours > 0 and "call_class" in accounts:
        cold = (accounts["call_class"].astype(str) == COLD).to_numpy()
    out = {"geographic": accounts.loc[~is_named & ~cold]}
    if is_named.any():
        out["named-account"] = accounts.loc[is_named]
    if overlays is not None and not overlays.empty:
        for g in overlays.groups:
            mine = accounts.loc[ids.map(overlays.group_of).eq(g.name).to_numpy()]
            out[f"overlay: {g.name}"] = mine.assign(
                hours_per_year=overlays.share * mine["hours_per_year"].astype(float)
            )
    if inside_hours > 0:
        out["inside sales"] = accounts.loc[~is_named & cold].assign(hours_per_year=inside_hours)
    return out


@dataclasses.dataclass(frozen=True, repr=False)
class RoleSizing(Results):
    """Headcount by role.

    Attributes
    ----------
    table : pandas.DataFrame
        Per role (index ``role``): ``accounts``, ``required_hours``, ``exact`` and
        ``recommended`` reps, ``planned`` (seats the plan sets: territories, named seats,
        specialists; NaN where the plan sets none) and ``gap`` (recommended - planned).
    what_if : pandas.DataFrame
        Recommended reps per role (outer index) and call-frequency scale (inner) by selling
        share of the day (columns).
    """

    table: pd.DataFrame
    what_if: pd.DataFrame

    def summary(self) -> Summary:
        total = int(self.table["recommended"].sum())
        return Summary(
            self.table,
            title="Headcount by role (workload buildup)",
            notes=[
                f"{total} people recommended across {len(self.table)} roles; overlay hours are "
                "the specialist's share on top of the owner's, inside sales calls by phone "
                "(no travel)."
            ],
            sections=[
                (
                    "Recommended per role: what if call frequency or selling time change",
                    self.what_if,
                )
            ],
        )


def role_sizing(
    accounts: pd.DataFrame,
    *,
    capacity: Capacity,
    named=None,
    overlays=None,
    inside_hours: float = 0.0,
    planned: Mapping[str, float] | None = None,
) -> RoleSizing:
    """Headcount per role from the workload buildup (module docstring); ``planned``: role ->
    the seats the plan sets, shown beside the recommendation."""
    rows, grids = [], {}
    for role, work in role_workloads(
        accounts, named=named, overlays=overlays, inside_hours=inside_hours
    ).items():
        cap = (
            dataclasses.replace(capacity, travel_share=0.0) if role == "inside sales" else capacity
        )
        rec = recommend_headcount(work, capacity=cap)
        rows.append(
            {
                "role": role,
                "accounts": len(work),
                "required_hours": rec["required_hours"],
                "exact": rec["exact_reps"],
                # no hours, nobody (the buildup's floor of one rep is for a territory plan)
                "recommended": int(rec["recommended_reps"]) if rec["required_hours"] > 0 else 0,
            }
        )
        grid = headcount_what_if(work, capacity=cap)
        grids[role] = grid if rec["required_hours"] > 0 else grid * 0
    table = pd.DataFrame(rows).set_index("role")
    table["planned"] = pd.Series(dict(planned or {}), dtype=float).reindex(table.index)
    table["gap"] = table["recommended"] - table["planned"]
    what_if = pd.concat(grids, names=["role"])
    return RoleSizing(table=table, what_if=what_if)
