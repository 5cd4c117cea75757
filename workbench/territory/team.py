"""The team of notebook 03: the reps who hold a territory in the planning year (they set the
default ``k``) and their home bases as fixed territory centres."""

from __future__ import annotations

import pandas as pd

from ..config import Quarter
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


def default_k(reps: pd.DataFrame, *, quarter: Quarter | str | None = None) -> int:
    """Territories when ``k`` = 0: one per rep on the team (:func:`active_reps`), at least 2."""
    return max(len(active_reps(reps, quarter=quarter)), 2)


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
