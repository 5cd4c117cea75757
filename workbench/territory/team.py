"""The team of notebook 03: the reps who hold a territory in the planning year (they set the
default ``k``), their home bases as fixed territory centres, and :func:`design_settings`, the
one adapter from a planner's settings (notebook 03, the frontier, the explorer) to the designer.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from ..config import ParameterError, Quarter
from ..schema import BOOL_TRUE


def active_reps(reps: pd.DataFrame, *, quarter: Quarter | str | None = None) -> pd.DataFrame:
    """The reps who hold a territory in the planning year: the default ``k`` counts them.

    Rule (``docs/territory.md``): every rep in ``reps.csv`` is on the team unless the data
    says otherwise — ``active`` false (an optional column) marks a leaver, and so does an
    ``end_date`` on or before the planning quarter's end. A new hire is counted whatever the
    hire date: a signed hire gets a territory (a vacancy still to fill belongs in ``k``, set
    by hand).

    >>> reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"], "active": [True, False, True],
    ...     "end_date": pd.to_datetime([None, None, "2026-08-31"])})
    >>> active_reps(reps, quarter="2026Q3")["rep_id"].tolist()
    ['R1']
    >>> active_reps(reps, quarter="2026Q2")["rep_id"].tolist()
    ['R1', 'R3']
    """
    keep = pd.Series(True, index=reps.index)
    if "active" in reps:
        flag = reps["active"]
        if not pd.api.types.is_bool_dtype(flag):
            flag = flag.astype(str).str.strip().str.lower().isin(BOOL_TRUE)  # the contract's
        keep &= flag.fillna(True).astype(bool)
    if "end_date" in reps and quarter is not None:
        end = pd.to_datetime(reps["end_date"], errors="coerce")
        keep &= end.isna() | (end > pd.Timestamp(Quarter.parse(quarter).end))
    return reps[keep]


def default_k(
    reps: pd.DataFrame,
    *,
    quarter: Quarter | str | None = None,
    current: pd.DataFrame | None = None,
) -> int:
    """Territories when ``k`` = 0: one per rep on the team (:func:`active_reps`); with no rep
    on it, as many as today's territories (``current``: ``unit_id, territory``); at least 2.

    >>> reps = pd.DataFrame({"rep_id": ["R1", "R2", "R3"]})
    >>> default_k(reps), default_k(reps.iloc[:0]), default_k(reps.iloc[:1])
    (3, 2, 2)
    """
    today = 0 if current is None else current["territory"].nunique()
    return max(len(active_reps(reps, quarter=quarter)) or today, 2)


def resolve_k(
    k: int,
    reps: pd.DataFrame,
    *,
    quarter: Quarter | str | None = None,
    current: pd.DataFrame | None = None,
) -> int:
    """``k`` as set, or :func:`default_k` when it is 0: the one place where ``k = 0`` is read."""
    return int(k) if k else default_k(reps, quarter=quarter, current=current)


def rep_centers(
    reps: pd.DataFrame, k: int, *, quarter: Quarter | str | None = None
) -> pd.DataFrame | None:
    """Active reps' home bases as fixed territory centres (only when there are exactly k)."""
    act = active_reps(reps, quarter=quarter)
    if len(act) != k:
        return None
    return act.rename(columns={"home_lat": "lat", "home_lon": "lon", "rep_id": "territory"})[
        ["territory", "lat", "lon"]
    ].reset_index(drop=True)


@dataclasses.dataclass(frozen=True)
class DesignSettings:
    """What the designer is given for a planner's settings.

    Attributes
    ----------
    k : int
        Territories, ``k = 0`` resolved by :func:`resolve_k`.
    max_moved : float or None
        The disruption budget; None when the setting is 1 or more (every unit may move: no
        budget at all, rather than a budget that binds nothing).
    centers : DataFrame or None
        Active reps' home bases as fixed centres (``territory, lat, lon``) when asked for.
    """

    k: int
    max_moved: float | None
    centers: pd.DataFrame | None


def design_settings(
    reps: pd.DataFrame,
    *,
    k: int,
    max_moved: float,
    rep_home_centers: bool,
    quarter: Quarter | str | None = None,
    current: pd.DataFrame | None = None,
) -> DesignSettings:
    """The one adapter from settings (notebook 03, the frontier, the explorer) to the designer:
    resolves ``k = 0``, ``max_moved >= 1`` and rep home bases as centres.

    Raises
    ------
    ParameterError
        Rep home bases asked for, but k is not the number of active reps.

    >>> reps = pd.DataFrame({"rep_id": ["R1", "R2"], "home_lat": [33.7, 32.1],
    ...                      "home_lon": [-84.4, -81.1]})
    >>> s = design_settings(reps, k=0, max_moved=1.0, rep_home_centers=True)
    >>> s.k, s.max_moved, s.centers["territory"].tolist()
    (2, None, ['R1', 'R2'])
    """
    k = resolve_k(k, reps, quarter=quarter, current=current)
    centers = None
    if rep_home_centers:
        centers = rep_centers(reps, k, quarter=quarter)
        if centers is None:
            n = len(active_reps(reps, quarter=quarter))
            raise ParameterError(
                f"rep home bases as centres need one territory per active rep: k = {n}, got k = {k}"
            )
    return DesignSettings(k=k, max_moved=None if max_moved >= 1 else max_moved, centers=centers)
