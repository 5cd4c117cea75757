"""Named accounts: the largest accounts carved out of their blocks and given, one by one, to a
named-account team.

**The rule** (:class:`NamedRule`). An account is named when it meets any of the rule's tests:
at least ``min_employees`` employees, among the ``top_potential`` accounts by potential (ties
broken by account id), in ABC class ``abc_class`` (the segmentation's Pareto classes), or listed
in ``ids`` (e.g. ``data/raw/named_accounts.csv``). :func:`select_named` says which test named
each account.

**The team's book** (:func:`design_named`). The same engine, with the named accounts as units
and the named-account reps' home bases as fixed centres: each rep's book balanced on the chosen
measures (within the tolerance) and compact around the rep's home - the activity-weighted mean
distance from a rep's home to their accounts, minimised. No adjacency: a named book is a list
of accounts, not a map region. The geographic design then runs on the accounts that are left
(:func:`carve`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..config import ParameterError
from .designer import build_territories
from .plan import TerritoryPlan
from .problem import _as_list

__all__ = ["NamedRule", "carve", "design_named", "select_named"]


@dataclasses.dataclass(frozen=True)
class NamedRule:
    """Which accounts are named (any test that is set names an account)."""

    min_employees: int | None = None
    top_potential: int | None = None
    abc_class: str | None = None
    ids: tuple[str, ...] = ()
    potential: str = "potential_usd"

    def check(self) -> list[str]:
        problems = []
        if self.min_employees is not None and self.min_employees < 0:
            problems.append(f"min_employees: expected a count >= 0, got {self.min_employees}")
        if self.top_potential is not None and self.top_potential < 0:
            problems.append(f"top_potential: expected a count >= 0, got {self.top_potential}")
        return problems

    @property
    def empty(self) -> bool:
        return (
            self.min_employees is None
            and not self.top_potential
            and self.abc_class is None
            and not self.ids
        )


def select_named(accounts: pd.DataFrame, rule: NamedRule) -> pd.Series:
    """Per account (index: ``account_id``), the first test of ``rule`` that names it
    (``"list"``, ``"employees"``, ``"potential"``, ``"abc"``), or None.

    >>> acc = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "employees": [5, 900, 40, 7],
    ...                     "potential_usd": [10.0, 50, 80, 20]})
    >>> select_named(acc, NamedRule(min_employees=500, top_potential=1, ids=("d",))).tolist()
    [None, 'employees', 'potential', 'list']
    """
    problems = rule.check()
    need = []
    if rule.min_employees is not None:
        need.append("employees")
    if rule.top_potential:
        need.append(rule.potential)
    if rule.abc_class is not None:
        need.append("abc_class")
    problems += [
        f"accounts: column {c!r} is missing (named-account rule)" for c in need if c not in accounts
    ]
    ids = accounts["account_id"].astype(str).str.strip()
    unknown = sorted(set(map(str, rule.ids)) - set(ids))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        problems.append(f"named accounts: {len(unknown)} id(s) are not in the accounts: {shown}")
    if problems:
        raise ParameterError("\n".join(problems))
    why = pd.Series(np.full(len(ids), None, dtype=object), index=ids.to_numpy(), name="named_by")
    tests: list[tuple[str, np.ndarray]] = [("list", ids.isin(set(map(str, rule.ids))).to_numpy())]
    if rule.min_employees is not None:
        emp = pd.to_numeric(accounts["employees"], errors="coerce").fillna(0).to_numpy()
        tests.append(("employees", emp >= rule.min_employees))
    if rule.top_potential:
        pot = pd.to_numeric(accounts[rule.potential], errors="coerce").fillna(0.0).to_numpy()
        order = np.lexsort((ids.to_numpy(), -pot))  # largest first, ties by account id
        top = np.zeros(len(ids), dtype=bool)
        top[order[: rule.top_potential]] = True
        tests.append(("potential", top))
    if rule.abc_class is not None:
        tests.append(("abc", (accounts["abc_class"].astype(str) == rule.abc_class).to_numpy()))
    for name, hit in tests:
        fill = hit & why.isna().to_numpy()
        why.iloc[np.flatnonzero(fill)] = name
    return why


def carve(accounts: pd.DataFrame, named: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(named accounts, the others)``: ``named`` is :func:`select_named`'s result."""
    ids = accounts["account_id"].astype(str).str.strip()
    hit = ids.map(named).notna().to_numpy()
    return accounts.loc[hit], accounts.loc[~hit]


def design_named(
    accounts: pd.DataFrame,
    homes: pd.DataFrame,
    *,
    balance: str | Sequence[str],
    tolerance: float | Sequence[float] = 0.05,
    rep: str = "rep_id",
    **options,
) -> TerritoryPlan:
    """Each named account to one rep of the named-account team (``homes``: ``rep``,
    ``home_lat``, ``home_lon``, one row per rep): books balanced on ``balance`` and compact
    around the homes. The plan's territories are the rep ids; its units the account ids."""
    problems = []
    for c in (rep, "home_lat", "home_lon"):
        if c not in homes:
            problems.append(f"named-account team: column {c!r} is missing")
    if len(homes) == 0:
        problems.append("named-account team: no reps")
    elif rep in homes and homes[rep].duplicated().any():
        problems.append(
            f"named-account team: rep ids repeat: {sorted(homes[rep][homes[rep].duplicated()])}"
        )
    if len(accounts) == 0:
        problems.append("named accounts: none selected by the rule")
    if problems:
        raise ParameterError("\n".join(problems))
    measures = _as_list(balance, "balance")
    units = pd.DataFrame(
        {
            "unit_id": accounts["account_id"].astype(str).str.strip().to_numpy(),
            "lat": accounts["lat"].to_numpy(float),
            "lon": accounts["lon"].to_numpy(float),
        }
    )
    for m in measures:
        units[m] = accounts[m].to_numpy(float)
    centers = pd.DataFrame(
        {
            "lat": homes["home_lat"].to_numpy(float),
            "lon": homes["home_lon"].to_numpy(float),
            "territory": homes[rep].astype(str).to_numpy(),
        }
    )
    return build_territories(
        units, k=len(centers), balance=measures, tolerance=tolerance, centers=centers, **options
    )
