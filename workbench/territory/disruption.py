"""Disruption-quality frontier: how much balance and compactness each level of change buys.

The epsilon-constraint method: solve once per disruption budget (share of units allowed to
change territory against the current alignment) and tabulate the results, so a planner can
pick a point ("moving 10 % of the accounts gets every territory within 5 %").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from .designer import design
from .problem import build_problem

__all__ = ["disruption_frontier"]

DEFAULT_BUDGETS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)


def disruption_frontier(
    units: pd.DataFrame,
    *,
    k: int,
    balance: str | Sequence[str],
    current: pd.DataFrame | pd.Series,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    tolerance: float | Sequence[float] | Mapping[str, float] = 0.05,
    adjacency: pd.DataFrame | None = None,
    locked: pd.DataFrame | pd.Series | None = None,
    weight: str | None = None,
    seed: int = 0,
    effort: float = 1.0,
    time_limit: float | None = 60.0,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Best plan found for each disruption budget (epsilon-constraint sweep).

    Parameters
    ----------
    units, adjacency, current, locked, k, balance, tolerance, weight, seed
        As for :class:`~workbench.territory.TerritoryDesigner`; ``current`` is required.
    budgets : sequence of float
        Shares of units (in [0, 1]) allowed to change territory.
    effort : float
        Work budget of each point's search (1 = the designer's default).
    time_limit : float
        Safety stop in seconds per budget.

    Returns
    -------
    pandas.DataFrame
        One row per budget (index ``max_moved``): ``budget_units``, ``n_moved``,
        ``share_moved``, ``max_dev_<measure>`` (share), ``median_km``, ``lower_bound_km``,
        ``gap``, ``contiguous``, ``feasible`` and ``violations`` (text).

    Examples
    --------
    Four units on a line, currently split 3 + 1; balancing to 2 + 2 needs one move.

    >>> import pandas as pd
    >>> units = pd.DataFrame({"unit_id": list("abcd"), "lat": 0.0, "lon": [0, 1, 2, 3],
    ...                       "accounts": 1.0})
    >>> current = pd.DataFrame({"unit_id": list("abcd"), "territory": ["A", "A", "A", "B"]})
    >>> f = disruption_frontier(units, k=2, balance="accounts", current=current,
    ...                         budgets=[0.0, 0.25], tolerance=0.0)
    >>> f[["n_moved", "feasible"]].values.tolist()
    [[0, False], [1, True]]
    """
    rows = []
    bound = None
    for b in budgets:
        problem = build_problem(
            units,
            k=k,
            balance=balance,
            tolerance=tolerance,
            weight=weight,
            adjacency=adjacency,
            current=current,
            locked=locked,
            max_moved=float(b),
        )
        # the free-centre bound ignores the budget: compute it once for the sweep
        plan, bound_used, _ = design(
            problem,
            seed=seed,
            effort=effort,
            time_limit=time_limit,
            max_rounds=1,
            exact=False,
            bound=bound if problem.centers is None else None,
            progress=progress,
        )
        if problem.centers is None:
            bound = bound_used
        row: dict[str, object] = {
            "max_moved": float(b),
            "budget_units": problem.max_moved,
            "n_moved": plan.n_moved,
            "share_moved": plan.share_moved,
        }
        for m, v in plan.max_deviation.items():
            row[f"max_dev_{m}"] = float(v)
        row.update(
            median_km=plan.median_km,
            lower_bound_km=plan.lower_bound_km,
            gap=plan.gap,
            contiguous=plan.contiguous,
            feasible=plan.feasible,
            violations="; ".join(str(v) for v in plan.violations),
        )
        rows.append(row)
        if progress is not None:
            progress(f"budget {b:.0%}: moved {plan.n_moved}, median_km {plan.median_km:.2f}")
    return pd.DataFrame(rows).set_index("max_moved")
