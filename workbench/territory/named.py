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

from ..config import ParameterError, Quarter
from ..frames import isin
from ..results import TWO_DECIMALS, Results, Summary
from .designer import build_territories
from .plan import TerritoryPlan
from .problem import _as_list
from .sizing import Capacity, recommend_headcount
from .team import active_reps

__all__ = [
    "NamedRule",
    "NamedTeam",
    "account_measures",
    "carve",
    "design_named",
    "named_team",
    "select_named",
]


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
    tests: list[tuple[str, np.ndarray]] = [("list", isin(ids, list(map(str, rule.ids))))]
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


def account_measures(accounts: pd.DataFrame) -> pd.DataFrame:
    """The block measures (:data:`~workbench.territory.blocks.MEASURES`) of single accounts:
    ``potential_usd``, ``workload_hours`` (the call plan's ``hours_per_year``), ``accounts``
    (1 each) and ``revenue_usd`` - so a named book is balanced on what a territory is."""
    return pd.DataFrame(
        {
            "potential_usd": accounts["potential_usd"].to_numpy(float),
            "workload_hours": accounts["hours_per_year"].to_numpy(float),
            "accounts": 1.0,
            "revenue_usd": accounts["revenue_usd"].to_numpy(float),
        },
        index=accounts["account_id"].astype(str).str.strip().to_numpy(),
    )


#: Names of the named-account seats: ``NAM01``, ``NAM02`` ... (a seat's rep, if any, is in
#: ``NamedTeam.seats``)
SEAT_PREFIX = "NAM"


@dataclasses.dataclass(frozen=True, repr=False)
class NamedTeam(Results):
    """The named-account team: which accounts are named, why, and whose book each joins.

    Attributes
    ----------
    plan : TerritoryPlan or None
        The team's books (units: account ids; territories: the seats). None when the rule
        names no account (an empty team).
    named_by : pandas.Series
        Account id -> the rule's test that named it (``list``, ``employees``, ``potential``,
        ``abc``), named accounts only.
    seats : pandas.DataFrame
        One row per seat (index ``seat``): ``rep_id`` (None: a seat to staff), ``home_lat``,
        ``home_lon`` and ``home``: ``rep home`` (the rep's home base, a fixed centre) or
        ``placed`` (no rep given: the engine placed the seat at the account that minimises its
        book's travel - where to base a hire).
    rule : NamedRule
    note : str
        How the team was sized when no team was given (else empty).
    """

    plan: TerritoryPlan | None
    named_by: pd.Series
    seats: pd.DataFrame
    rule: NamedRule
    note: str = ""

    @property
    def empty(self) -> bool:
        return self.plan is None

    @property
    def assignment(self) -> pd.Series:
        """Account id -> seat (named accounts only; empty for an empty team)."""
        if self.plan is None:
            return pd.Series(dtype=object, name="territory")
        return self.plan.assignment.astype(str)

    @property
    def reps(self) -> list[str]:
        """The team's rep ids (seats with a rep)."""
        return [str(r) for r in self.seats["rep_id"].dropna()]

    @property
    def pinned(self) -> dict[str, str]:
        """Seat -> its rep, for the seats that have one (the rep matching keeps them)."""
        return {str(t): str(r) for t, r in self.seats["rep_id"].dropna().items()}

    def geographic(self, accounts: pd.DataFrame, reps: pd.DataFrame | None = None):
        """The accounts left to the geographic design (the named ones carved out), and with
        ``reps`` also the reps left to it (the team's reps taken out): ``(accounts, reps)``."""
        ids = accounts["account_id"].astype(str).str.strip()
        rest = accounts.loc[~isin(ids, self.assignment.index)]
        if reps is None:
            return rest
        return rest, reps.loc[~reps["rep_id"].astype(str).isin(set(self.reps)).to_numpy()]

    def table(self) -> pd.DataFrame:
        """One row per seat: its rep, accounts, every measure's sum and deviation from the
        team's mean (%), and the mean distance from the seat's home to its accounts (km,
        activity-weighted)."""
        if self.plan is None:
            return pd.DataFrame()
        t = self.plan.territories
        cols = ["n_units", *self.plan.measures]
        out = t[cols].rename(columns={"n_units": "accounts"}).copy()
        for m in self.plan.measures:
            out[f"{m}_dev_pct"] = t[f"{m}_dev_pct"]
        out["home_km"] = t["home_km"] if "home_km" in t else t["distance_km"]
        out.insert(0, "home", self.seats["home"].reindex(out.index))
        out.insert(0, "rep_id", self.seats["rep_id"].reindex(out.index))
        return out.rename_axis("seat")

    def summary(self) -> Summary:
        if self.plan is None:
            return Summary(
                {"value": [0]},
                index=pd.Index(["named accounts"], name="metric"),
                title="Named-account team: none (no rule is set, or it names no account)",
            )
        by = self.named_by.value_counts()
        notes = [
            f"{len(self.named_by)} named accounts ("
            + ", ".join(f"{n} by {why}" for why, n in by.items())
            + f") carved out of their blocks, in {len(self.seats)} books balanced on "
            + ", ".join(self.plan.measures)
            + f" within ±{float(self.plan.tolerance.max()):.0%}"
            + ("" if self.plan.balanced else " - NOT all within the band")
            + "."
        ]
        if self.note:
            notes.append(self.note)
        placed = self.seats.index[self.seats["home"] == "placed"].tolist()
        if placed:
            notes.append(
                f"Seats {', '.join(placed)} have no rep: the engine placed each at the account "
                "that minimises its book's travel (where to base the hire); the rep matching may "
                "give them to an incumbent."
            )
        return Summary(
            self.table(),
            title="Named-account team",
            notes=notes,
            float_format=TWO_DECIMALS,
        )


def named_team(
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    rule: NamedRule,
    team_reps: Sequence[str] = (),
    seats: int = 0,
    balance: str | Sequence[str] = ("potential_usd", "workload_hours"),
    tolerance: float = 0.05,
    quarter: Quarter | str | None = None,
    seed: int = 0,
    capacity: Capacity | None = None,
    **options,
) -> NamedTeam:
    """Select the named accounts (:func:`select_named`) and give each to one seat of the
    named-account team: the same engine with accounts as units, books balanced on ``balance``.

    ``team_reps`` (active rep ids) are the team: their home bases are the fixed centres (seats
    ``NAM01`` ... in rep id order, each with its rep). Without them, ``seats`` seats are placed
    by the engine (free centres), without a rep; with neither, the team gets the seats the
    named accounts' workload needs (:func:`~workbench.territory.sizing.recommend_headcount` at
    ``capacity``), and the summary says so. A rule that names nothing gives an empty team.

    Raises
    ------
    ParameterError
        Every problem at once: a rule naming a missing column or unknown ids, team reps that
        are not active reps, both or neither of ``team_reps`` and ``seats`` while accounts are
        named, more seats than named accounts.
    """
    measures = _as_list(balance, "balance")
    empty_seats = pd.DataFrame(
        {"rep_id": pd.Series(dtype=object), "home_lat": [], "home_lon": [], "home": []},
        index=pd.Index([], name="seat"),
    )
    if rule.empty:
        return NamedTeam(None, pd.Series(dtype=object, name="named_by"), empty_seats, rule)
    why = select_named(accounts, rule)
    named_by = why.dropna()
    problems = []
    team = [str(r) for r in team_reps]
    active = active_reps(reps, quarter=quarter)
    unknown = sorted(set(team) - set(active["rep_id"].astype(str)))
    if unknown:
        problems.append(f"named-account team: {unknown} are not active reps")
    if team and seats and seats != len(team):
        problems.append(
            f"named-account team: {len(team)} reps given but seats = {seats}; give one or the other"
        )
    n_seats = len(team) or seats
    sized = ""
    if len(named_by) and n_seats < 1:  # neither given: the seats the workload needs
        hours = accounts.loc[
            isin(accounts["account_id"].astype(str).str.strip(), named_by.index),
            ["hours_per_year"],
        ]
        rec = recommend_headcount(hours, capacity=capacity or Capacity())
        n_seats = min(int(rec["recommended_reps"]), len(named_by))
        sized = (
            f"No team was given (named_reps, named_seats): {n_seats} seat(s), what the named "
            f"accounts' workload needs ({rec['exact_reps']:.2f} reps by workload buildup)."
        )
    if n_seats > len(named_by) > 0:
        problems.append(
            f"named-account team: {n_seats} seats for {len(named_by)} named accounts (at most "
            "one seat per account)"
        )
    if problems:
        raise ParameterError("\n".join(problems))
    if named_by.empty:
        return NamedTeam(None, named_by.rename("named_by"), empty_seats, rule)
    ids = accounts["account_id"].astype(str).str.strip()
    chosen = accounts.loc[isin(ids, named_by.index)]
    book = account_measures(chosen)
    book["lat"] = chosen["lat"].to_numpy(float)
    book["lon"] = chosen["lon"].to_numpy(float)
    book = book.rename_axis("account_id").reset_index()
    if team:
        homes = active.loc[active["rep_id"].astype(str).isin(team)].copy()
        homes["rep_id"] = homes["rep_id"].astype(str)
        homes = homes.sort_values("rep_id", kind="stable")
        plan = design_named(
            book, homes, balance=measures, tolerance=tolerance, seed=seed, **options
        )
        names = {r: f"{SEAT_PREFIX}{i:02d}" for i, r in enumerate(homes["rep_id"], 1)}
        plan = plan.renamed(names)
        seat_rows = pd.DataFrame(
            {
                "rep_id": homes["rep_id"].to_numpy(dtype=object),
                "home_lat": homes["home_lat"].to_numpy(float),
                "home_lon": homes["home_lon"].to_numpy(float),
                "home": "rep home",
            },
            index=pd.Index(list(names.values()), name="seat"),
        )
    else:
        units = book.rename(columns={"account_id": "unit_id"})
        plan = build_territories(
            units, k=n_seats, balance=measures, tolerance=tolerance, seed=seed, **options
        )
        names = {
            t: f"{SEAT_PREFIX}{i:02d}" for i, t in enumerate(sorted(plan.territories.index), 1)
        }
        plan = plan.renamed(names)
        centre = plan.territories["centre"].astype(str)
        where = units.set_index("unit_id")
        seat_rows = pd.DataFrame(
            {
                "rep_id": pd.Series([None] * len(centre), index=centre.index, dtype=object),
                "home_lat": where.loc[centre.to_numpy(), "lat"].to_numpy(float),
                "home_lon": where.loc[centre.to_numpy(), "lon"].to_numpy(float),
                "home": "placed",
            },
            index=pd.Index(centre.index, name="seat"),
        )
    return NamedTeam(plan, named_by.rename("named_by"), seat_rows.sort_index(), rule, sized)
