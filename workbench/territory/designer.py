"""``TerritoryDesigner`` (scikit-learn/spopt contract) and ``build_territories``.

The designer stores its parameters unchanged; :meth:`TerritoryDesigner.solve` validates the
data, starts the lower bound (HiGHS, in a background thread: HiGHS releases the GIL, so on two
cores the bound costs no wall time), runs the multi-start heuristic, names the territories
and explains every constraint the plan does not meet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from . import solver as _solver
from .bound import BoundResult, lower_bound, refine_bound
from .plan import TerritoryPlan, build_plan
from .problem import TerritoryProblem, Violation, build_problem, precheck

__all__ = ["TerritoryDesigner", "build_territories", "design"]


class TerritoryDesigner:
    """Design k balanced, contiguous, compact territories with a certified optimality gap.

    Parameters
    ----------
    k : int
        Number of territories.
    balance : str or sequence of str
        Measure columns to balance at once (e.g. ``("population", "workload")``).
    tolerance : float, sequence or mapping, default 0.05
        Allowed deviation from each measure's mean, one value or one per measure.
    weight : str, optional
        Activity column weighting the compactness objective; default the first measure.
    max_moved : float, optional
        Disruption budget: share of units (with a current territory) allowed to move.
    move_penalty : float, default 0
        Soft disruption cost: km of weighted mean distance worth keeping all units in place.
    seed : int, default 0
        Same seed, same plan.
    n_starts : int, optional
        Heuristic starts (default by size).
    time_limit : float, default 60
        Seconds for the search (the bound gets the same budget in parallel).
    compute_bound : bool, default True
        Compute the LP/Lagrangian lower bound and the gap.
    progress : callable, optional
        Called with short progress messages (the library never prints).

    Attributes
    ----------
    problem_ : TerritoryProblem
    bound_ : BoundResult or None
    result_ : solver.SolveResult
    plan_ : TerritoryPlan

    Examples
    --------
    A 2 x 3 grid of six equal units split in two: each territory gets three units.

    >>> import pandas as pd
    >>> units = pd.DataFrame({"unit_id": list("abcdef"), "lat": [0, 0, 0, 1, 1, 1],
    ...                       "lon": [0, 1, 2, 0, 1, 2], "accounts": [1.0] * 6})
    >>> plan = TerritoryDesigner(k=2, balance="accounts", tolerance=0.0).solve(units)
    >>> plan.territories["n_units"].tolist()
    [3, 3]
    """

    def __init__(
        self,
        k: int,
        balance: str | Sequence[str],
        tolerance: float | Sequence[float] | Mapping[str, float] = 0.05,
        *,
        weight: str | None = None,
        max_moved: float | None = None,
        move_penalty: float = 0.0,
        seed: int = 0,
        n_starts: int | None = None,
        time_limit: float = 60.0,
        compute_bound: bool = True,
        progress: Callable[[str], None] | None = None,
    ):
        self.k = k
        self.balance = balance
        self.tolerance = tolerance
        self.weight = weight
        self.max_moved = max_moved
        self.move_penalty = move_penalty
        self.seed = seed
        self.n_starts = n_starts
        self.time_limit = time_limit
        self.compute_bound = compute_bound
        self.progress = progress

    _PARAMS = (
        "k",
        "balance",
        "tolerance",
        "weight",
        "max_moved",
        "move_penalty",
        "seed",
        "n_starts",
        "time_limit",
        "compute_bound",
        "progress",
    )

    def get_params(self, deep: bool = True) -> dict:
        """Parameters as given (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params) -> TerritoryDesigner:
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"unknown parameter {name!r}; valid: {', '.join(self._PARAMS)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in ("k", "balance", "tolerance"))
        return f"TerritoryDesigner({args})"

    def solve(
        self,
        units: pd.DataFrame,
        adjacency: pd.DataFrame | None = None,
        current: pd.DataFrame | pd.Series | None = None,
        locked: pd.DataFrame | pd.Series | None = None,
        centers: pd.DataFrame | None = None,
        *,
        names: Mapping[str, str] | None = None,
    ) -> TerritoryPlan:
        """Design territories for ``units``; returns the best plan found, always.

        Parameters
        ----------
        units : pandas.DataFrame
            ``unit_id``, ``lat``, ``lon`` (WGS84 degrees) and the measure columns.
        adjacency : pandas.DataFrame, optional
            ``a, b`` unit id pairs; territories must then be contiguous.
        current, locked : pandas.DataFrame or Series, optional
            ``unit_id, territory``; the disruption budget counts moves against ``current``.
        centers : pandas.DataFrame, optional
            k rows ``lat, lon`` (and optional ``territory``) of fixed centres (rep home bases).

        Raises
        ------
        workbench.config.ParameterError
            Listing every input problem at once.
        """
        problem = build_problem(
            units,
            k=self.k,
            balance=self.balance,
            tolerance=self.tolerance,
            weight=self.weight,
            adjacency=adjacency,
            current=current,
            locked=locked,
            centers=centers,
            max_moved=self.max_moved,
            move_penalty=self.move_penalty,
            names=names,
        )
        self.problem_ = problem
        plan, bound, result = design(
            problem,
            seed=self.seed,
            n_starts=self.n_starts,
            time_limit=self.time_limit,
            compute_bound=self.compute_bound,
            progress=self.progress,
        )
        self.bound_ = bound
        self.result_ = result
        self.plan_ = plan
        return plan


def build_territories(
    units: pd.DataFrame,
    *,
    k: int,
    balance: str | Sequence[str],
    tolerance: float | Sequence[float] | Mapping[str, float] = 0.05,
    adjacency: pd.DataFrame | None = None,
    current: pd.DataFrame | pd.Series | None = None,
    locked: pd.DataFrame | pd.Series | None = None,
    centers: pd.DataFrame | None = None,
    **options,
) -> TerritoryPlan:
    """Balanced, contiguous, compact territories in one call (see :class:`TerritoryDesigner`).

    Examples
    --------
    Six accounts on a line, two territories of equal revenue: the cut falls where the revenue
    halves, between c and d.

    >>> import pandas as pd
    >>> units = pd.DataFrame({"unit_id": list("abcdef"), "lat": 0.0,
    ...                       "lon": [0, 1, 2, 3, 4, 5], "revenue": [2.0, 1, 1, 1, 1, 2]})
    >>> adj = pd.DataFrame({"a": list("abcde"), "b": list("bcdef")})
    >>> plan = build_territories(units, k=2, balance="revenue", tolerance=0.0, adjacency=adj)
    >>> plan.assignment.tolist(), plan.balanced, plan.contiguous
    (['T01', 'T01', 'T01', 'T02', 'T02', 'T02'], True, True)
    """
    designer = TerritoryDesigner(k=k, balance=balance, tolerance=tolerance, **options)
    return designer.solve(
        units, adjacency=adjacency, current=current, locked=locked, centers=centers
    )


def design(
    problem: TerritoryProblem,
    *,
    seed: int = 0,
    n_starts: int | None = None,
    time_limit: float = 60.0,
    compute_bound: bool = True,
    bound: BoundResult | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[TerritoryPlan, BoundResult | None, _solver.SolveResult]:
    """Solve a validated problem: bound (in parallel), heuristic, names, diagnosis."""
    t0 = time.perf_counter()
    pre = precheck(problem)
    box: dict[str, BoundResult] = {}
    thread = None
    if bound is not None:
        box["bound"] = bound
    elif compute_bound and problem.n > 8000 and problem.centers is None:
        pass  # no LP at this size: the plan-based Lagrangian bound is computed afterwards
    elif compute_bound:

        def run_bound():
            try:
                box["bound"] = lower_bound(problem, time_limit=time_limit)
            except Exception as exc:  # noqa: BLE001 - a failed bound must not lose the plan
                box["error"] = exc

        thread = threading.Thread(target=run_bound, name="territory-bound", daemon=True)
        thread.start()

    def lp_centres():
        # waits for the bound: the LP-seeded start must not depend on thread timing
        if thread is not None:
            thread.join()
        b = box.get("bound")
        return None if b is None else b.y

    # large free-centre instances refine the bound from the plan afterwards: the time limit
    # covers both, so the search gets 70 % of it
    refine = problem.centers is None and problem.n > 600 and compute_bound
    search_limit = 0.7 * time_limit if refine else time_limit
    result = _solver.solve(
        problem,
        seed=seed,
        n_starts=n_starts,
        time_limit=search_limit,
        lp_centres=lp_centres,
        progress=progress,
    )
    if thread is not None:
        thread.join()
    bound = box.get("bound")
    if refine and (bound is None or "weaker" in bound.method) and result.violation <= 1e-12:
        # large instance: the LP is out of reach; tighten the Lagrangian bound from the plan
        left = t0 + time_limit - time.perf_counter()
        bound = refine_bound(
            problem, result.labels, result.centres, bound, seconds=max(left, 0.1 * time_limit)
        )
    if bound is not None and progress is not None:
        progress(
            f"bound: {bound.value / problem.total_weight:.3f} km ({bound.method}, "
            f"{bound.seconds:.1f} s)"
        )
    labels, centres = relabel(problem, result.labels, result.centres)
    violations = diagnose(problem, labels, pre, bound)
    notes = list(problem.notes) + _bridge_notes(problem, labels)
    if "error" in box:
        notes.append(f"lower bound failed: {box['error']}")
    info = {
        "seed": seed,
        "starts": result.starts,
        "search_seconds": round(result.seconds, 3),
        "bound_seconds": None if bound is None else round(bound.seconds, 3),
        "history": result.history,
    }
    plan = build_plan(
        problem,
        labels,
        centres,
        bound=bound,
        violations=violations,
        notes=notes,
        seconds=time.perf_counter() - t0,
        info=info,
    )
    return plan, bound, result


# ---------------------------------------------------------------------------------------------
# naming


def relabel(problem: TerritoryProblem, labels: np.ndarray, centres):
    """Permute free slots so the plan keeps current territory names where it can, and number
    new territories north to south (T01 northernmost), so ids are stable and meaningful.

    Slots tied to a lock or a fixed centre keep their identity.
    """
    k = problem.k
    kinds = problem.label_kinds or tuple("new" for _ in range(k))
    free = [s for s in range(k) if kinds[s] in ("current", "new")]
    perm = np.arange(k)
    if problem.current is not None and len(free) > 1:
        # overlap[s, s'] = units now in slot s that are currently in slot s'
        idx = {s: t for t, s in enumerate(free)}
        ov = np.zeros((len(free), len(free)))
        for i in np.flatnonzero(problem.current_given & (problem.current >= 0)):
            a, b = labels[i], problem.current[i]
            if a in idx and b in idx:
                ov[idx[a], idx[b]] += 1
        r, c = linear_sum_assignment(-ov)
        for a, b in zip(r, c):
            perm[free[a]] = free[b]
    new_labels = perm[labels]
    new_centres = None
    if centres is not None:
        new_centres = np.full(k, -1, dtype=np.int64)
        new_centres[perm] = centres
    # new territories: T-ids in north-to-south order of their centres
    fresh = [s for s in range(k) if kinds[s] == "new"]
    if len(fresh) > 1 and new_centres is not None and problem.centers is None:
        lat = np.array([problem.lat[new_centres[s]] if new_centres[s] >= 0 else -90 for s in fresh])
        lon = np.array([problem.lon[new_centres[s]] if new_centres[s] >= 0 else 180 for s in fresh])
        order = np.lexsort((lon, -lat))  # north first, then west
        remap = np.arange(k)
        for rank, pos in enumerate(order):
            remap[fresh[pos]] = fresh[rank]
        new_labels = remap[new_labels]
        c2 = np.full(k, -1, dtype=np.int64)
        c2[remap] = new_centres
        new_centres = c2
    return new_labels, new_centres


# ---------------------------------------------------------------------------------------------
# explaining what failed


def diagnose(
    problem: TerritoryProblem, labels: np.ndarray, pre: list[Violation], bound
) -> list[Violation]:
    """Every constraint the plan does not meet, each with its most specific known cause."""
    out: list[Violation] = []
    names = problem.labels
    sums = np.zeros((problem.k, problem.values.shape[1]))
    np.add.at(sums, labels, problem.values)
    mean = problem.mean
    over_units = {v.subject for v in pre if v.constraint == "balance"}
    lock_causes = {}
    for v in pre:
        if v.constraint == "lock":
            lock_causes.setdefault(v.subject, v)
    lp_infeasible = bound is not None and bound.infeasible
    out.extend(pre)
    for m, name in enumerate(problem.measures):
        knock_on: list[str] = []
        for s in range(problem.k):
            v = sums[s, m]
            slack = 1e-9 * max(mean[m], 1)
            if problem.lower[m] - slack <= v <= problem.upper[m] + slack:
                continue
            dev = 100 * (v - mean[m]) / mean[m]
            side = "above the cap" if v > problem.upper[m] else "below the floor"
            members = problem.ids[labels == s]
            blockers = [u for u in members if u in over_units]
            band = f"{name} {dev:+.1f}% from the mean, {side} of ±{100 * problem.tolerance[m]:.1f}%"
            if blockers:
                cause = f"it holds unit {blockers[0]}, which makes the band unreachable (above)"
            elif names[s] in lock_causes and v > problem.upper[m]:
                cause = f"its locked units alone exceed the cap ({lock_causes[names[s]].reason})"
            elif pre:
                # other territories pay for a blocked one: report them together, once
                knock_on.append(f"{names[s]} {dev:+.1f}%")
                continue
            elif lp_infeasible:
                cause = (
                    "no assignment can meet every band: the balance constraints are "
                    "infeasible even without contiguity (the LP relaxation has no solution)"
                )
            else:
                extra = []
                if problem.graph is not None:
                    extra.append("contiguity")
                if (problem.locked >= 0).any():
                    extra.append("the locks")
                if problem.max_moved is not None:
                    extra.append("the disruption budget")
                what = " and ".join(extra) or "the sizes of the units"
                cause = (
                    f"the search found no plan meeting every band together with {what} "
                    "in the time allowed; the balance rows alone are feasible (LP relaxation)"
                )
            out.append(Violation("balance", names[s], f"{band}: {cause}"))
        if knock_on:
            out.append(
                Violation(
                    "balance",
                    ", ".join(t.split()[0] for t in knock_on),
                    f"{name} out of band in {len(knock_on)} more territories "
                    f"({', '.join(knock_on)}): a consequence of the blocking units or locks above",
                )
            )
    if problem.graph is not None:
        piece = _solver.component_pieces(problem.graph, labels)
        for s in range(problem.k):
            mem = np.flatnonzero(labels == s)
            pids, counts = np.unique(piece[mem], return_counts=True)
            if len(pids) <= 1:
                continue
            main = pids[np.argmax(counts)]
            cut = mem[piece[mem] != main]
            locked_cut = cut[problem.locked[cut] == s]
            if len(locked_cut):
                reason = (
                    f"split into {len(pids)} pieces: unit {problem.ids[locked_cut[0]]} is "
                    f"locked to {names[s]} but cut off from the rest by other territories"
                )
            else:
                reason = (
                    f"split into {len(pids)} pieces; detached: "
                    f"{', '.join(map(str, problem.ids[cut][:5]))}"
                )
            out.append(Violation("contiguity", names[s], reason))
    bad_lock = np.flatnonzero((problem.locked >= 0) & (problem.locked != labels))
    for i in bad_lock[:10]:
        out.append(
            Violation(
                "lock",
                str(problem.ids[i]),
                f"unit {problem.ids[i]} is locked to {names[problem.locked[i]]} "
                f"but placed in {names[labels[i]]}",
            )
        )
    if problem.max_moved is not None and problem.current is not None:
        moved = int((problem.current_given & (problem.current != labels)).sum())
        if moved > problem.max_moved:
            forced = [v for v in pre if v.constraint == "disruption"]
            why = (
                "see above: those moves are forced"
                if forced
                else "the search found no plan within the budget (it ranks the budget above "
                "balance, so this should not happen unless time ran out)"
            )
            out.append(
                Violation(
                    "disruption",
                    "max_moved",
                    f"{moved} units change territory, above the budget of {problem.max_moved}: {why}",
                )
            )
    return out


def _bridge_notes(problem: TerritoryProblem, labels: np.ndarray) -> list[str]:
    if not problem.bridges:
        return []
    notes = []
    raw = _solver.component_pieces(problem.raw_graph, labels)
    for s in range(problem.k):
        mem = labels == s
        if len(np.unique(raw[mem])) > 1:
            used = [
                f"{problem.ids[i]}-{problem.ids[j]}"
                for i, j, _ in problem.bridges
                if labels[i] == s and labels[j] == s
            ]
            if used:
                notes.append(
                    f"{problem.labels[s]} is contiguous only through bridge(s) "
                    f"{', '.join(used)} between separate pieces of the adjacency graph"
                )
    return notes
