"""``TerritoryDesigner`` (scikit-learn/spopt contract) and ``build_territories``.

The designer stores its parameters unchanged; :meth:`TerritoryDesigner.solve` validates the
data, starts the lower bound alongside the search (a background thread read only at fixed
points, so timing never changes the plan), runs the multi-start heuristic in rounds until a
plan is feasible, tries to prove it optimal on small instances, names the territories and
explains every constraint the plan does not meet.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from . import exact as _exact
from . import solver as _solver
from .bound import (
    BoundMethod,
    BoundResult,
    ascent_steps,
    lagrangian_bound,
    lower_bound,
    near_lagrangian,
    relative_gap,
)
from .budget import Budget
from .diagnose import _bridge_notes, diagnose, precheck
from .plan import TerritoryPlan, build_plan
from .problem import TerritoryProblem, build_problem

__all__ = ["TerritoryDesigner", "build_territories", "design"]

#: Stop early once a feasible plan is certified within this gap.
DEFAULT_TARGET_GAP = 0.01
#: Feasibility rounds (effort doubles each round) before giving up short of the safety stop.
MAX_ROUNDS = 5
#: Extra starts (x effort) before the exact proof, on their own random streams (seed +
#: EXACT_STREAM): on Georgia's counties they took the worst of five seeds from 1.8 % above the
#: best plan known to 0.2 %, and the proof runs against a better incumbent.
EXACT_STARTS = 24
EXACT_STREAM = 1_000_003


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
        Heuristic starts (default by size, times ``effort``).
    effort : float, default 1
        Work budget of the search and the bound (starts, iterations, nodes; see
        :mod:`workbench.territory.budget`). Doubled each round while no feasible plan is found.
    time_limit : float, default 60
        Safety stop in seconds (None: none). Only this reads the clock; a plan that ends on it
        says so (``plan.info["safety_stop"]``).
    target_gap : float, default 0.01
        Stop early once a feasible plan's certified gap is at most this.
    compute_bound : bool, default True
        Compute the lower bound and the gap.
    max_rounds : int, default 5
        Feasibility rounds at most (effort doubles each round).
    exact : bool, default True
        Small instances: try to prove the plan optimal (or improve it) by branch and bound
        with contiguity cuts (:mod:`workbench.territory.exact`).
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
        effort: float = 1.0,
        time_limit: float | None = 60.0,
        target_gap: float = DEFAULT_TARGET_GAP,
        max_rounds: int = MAX_ROUNDS,
        compute_bound: bool = True,
        exact: bool = True,
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
        self.effort = effort
        self.time_limit = time_limit
        self.target_gap = target_gap
        self.max_rounds = max_rounds
        self.compute_bound = compute_bound
        self.exact = exact
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
        "effort",
        "time_limit",
        "target_gap",
        "max_rounds",
        "compute_bound",
        "exact",
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
        targets: pd.DataFrame | Mapping[str, float] | None = None,
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
        targets : pandas.DataFrame or mapping, optional
            Per-territory targets as relative sizes (``territory, weight`` and/or one column
            per balanced measure; unlisted territories weigh 1): see
            :func:`~workbench.territory.problem.build_problem`.

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
            targets=targets,
            max_moved=self.max_moved,
            move_penalty=self.move_penalty,
            names=names,
        )
        self.problem_ = problem
        plan, bound, result = design(
            problem,
            seed=self.seed,
            n_starts=self.n_starts,
            effort=self.effort,
            time_limit=self.time_limit,
            target_gap=self.target_gap,
            max_rounds=self.max_rounds,
            compute_bound=self.compute_bound,
            exact=self.exact,
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
    targets: pd.DataFrame | Mapping[str, float] | None = None,
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
        units,
        adjacency=adjacency,
        current=current,
        locked=locked,
        centers=centers,
        targets=targets,
    )


def design(
    problem: TerritoryProblem,
    *,
    seed: int = 0,
    n_starts: int | None = None,
    effort: float = 1.0,
    time_limit: float | None = 60.0,
    target_gap: float = DEFAULT_TARGET_GAP,
    max_rounds: int = MAX_ROUNDS,
    compute_bound: bool = True,
    exact: bool = True,
    bound: BoundResult | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[TerritoryPlan, BoundResult | None, _solver.SolveResult]:
    """Solve a validated problem: bound (alongside), search rounds, exact proof, diagnosis.

    Feasibility first: the search runs at ``effort``; while its plan misses a constraint that
    the data does not force (no :func:`precheck` finding, balance LP feasible), it runs again
    at twice the effort (another seed), up to ``max_rounds`` rounds, or until the safety stop
    ``time_limit``. Within a round it stops early once the plan is feasible and its certified
    gap is at most ``target_gap``. Every stop is a count, never the clock (but the safety
    stop, which the plan reports), so the plan is the same on any machine.
    """
    switch = sys.getswitchinterval()
    # the bound thread needs the GIL between its numpy calls: hand it over more often than
    # every 5 ms, or the Python-heavy search starves it (timing only; results are the same)
    sys.setswitchinterval(min(switch, 2e-4))
    try:
        return _design(
            problem,
            seed=seed,
            n_starts=n_starts,
            effort=effort,
            time_limit=time_limit,
            target_gap=target_gap,
            max_rounds=max_rounds,
            compute_bound=compute_bound,
            exact=exact,
            bound=bound,
            progress=progress,
        )
    finally:
        sys.setswitchinterval(switch)


def _design(
    problem: TerritoryProblem,
    *,
    seed: int,
    n_starts: int | None,
    effort: float,
    time_limit: float | None,
    target_gap: float,
    max_rounds: int,
    compute_bound: bool,
    exact: bool,
    bound: BoundResult | None,
    progress: Callable[[str], None] | None,
) -> tuple[TerritoryPlan, BoundResult | None, _solver.SolveResult]:
    t0 = time.perf_counter()
    pre = precheck(problem)
    clock = Budget(effort, safety_seconds=time_limit)  # the one safety clock of this design
    bounds = _BoundWorker(problem, clock, compute_bound=compute_bound, given=bound)
    W = problem.total_weight

    def good_enough(obj: float, viol: float) -> bool:
        if viol > 1e-12 or target_gap is None or not compute_bound:
            return False
        b = bounds.now()
        return b is not None and not b.infeasible and relative_gap(obj * W, b.value) <= target_gap

    best: _solver.SolveResult | None = None
    rounds = 0
    history: list = []
    for rounds in range(1, max(max_rounds, 1) + 1):
        budget = clock.sharing_clock(effort * 2 ** (rounds - 1))
        result = _solver.solve(
            problem,
            seed=seed + 1000 * (rounds - 1),
            n_starts=n_starts,
            budget=budget,
            lp_centres=bounds.lp_centres,
            progress=progress,
            good_enough=good_enough,
            first_plan=bounds.first_plan if rounds == 1 else None,
        )
        history += [(f"round {rounds}: {h[0]}", *h[1:]) for h in result.history]
        if best is None or (result.violation, result.objective) < (best.violation, best.objective):
            best = result
        clock.safety_stop |= result.safety_stop
        b = bounds.now()
        proven_infeasible = bool(pre) or (b is not None and b.infeasible)
        if best.violation <= 1e-12 or proven_infeasible or clock.expired():
            break
        if progress is not None and rounds < max_rounds:
            progress(
                f"round {rounds}: no feasible plan yet; searching again at {2**rounds}x the effort"
            )
    assert best is not None  # the loop runs at least one round
    result = best
    bound = bounds.final(result)
    feasible = result.violation <= 1e-12
    gap = None if bound is None or not feasible else relative_gap(result.objective * W, bound.value)
    exact_next = bool(
        exact
        and compute_bound
        and bound is not None
        and gap is not None
        and gap > _exact.PROOF_GAP
        and (gap <= _exact.EXACT_MAX_GAP or problem.n <= _exact.EXACT_ANY_GAP_UNITS)
        and _exact.applicable(problem)
    )
    if exact_next and bound is not None:  # (exact_next says bound is not None)
        if gap is not None and gap > target_gap and not clock.expired():
            # branch and bound prunes and fixes against the incumbent: more starts first (their
            # own random streams), cheap on instances this small
            more = _solver.solve(
                problem,
                seed=seed + EXACT_STREAM,
                n_starts=clock.scaled(EXACT_STARTS),
                budget=clock.sharing_clock(effort),
                progress=progress,  # (the start at the LP's centres ran in the search already)
            )
            history += [(f"before the proof: {h[0]}", *h[1:]) for h in more.history]
            if (more.violation, more.objective) < (result.violation, result.objective):
                result = more
        bound, labels_x = _exact.prove(
            problem,
            result.labels,
            result.centres,
            result.objective,
            bound,
            clock,
            target_gap=target_gap,
            progress=progress,
        )
        if labels_x is not None:
            obj, viol, centres_x = _solver.evaluate(problem, labels_x)
            if viol <= 1e-12 and obj < result.objective - 1e-12:
                result = dataclasses.replace(
                    result, labels=labels_x, centres=centres_x, objective=obj, violation=viol
                )
                history.append(("exact", -1, obj, viol))
    if (
        bound is not None
        and not bound.proven
        and not bound.infeasible
        and bound.method != BoundMethod.NONE
        and result.violation <= 1e-12
        and relative_gap(result.objective * W, bound.value) <= _exact.PROOF_GAP
    ):
        # the plan meets every constraint and costs no more than a bound on a relaxation of
        # them: no plan is better (to 0.01 %), whatever the bound relaxed
        bound = dataclasses.replace(bound, proven=True)
    if bound is not None and progress is not None:
        progress(f"bound: {bound.value / W:.3f} km ({bound.detail}, {bound.seconds:.1f} s)")
    labels, centres = relabel(problem, result.labels, result.centres)
    violations = diagnose(problem, labels, pre, bound)
    notes = list(problem.notes) + _bridge_notes(problem, labels)
    if bounds.error is not None:
        notes.append(f"lower bound failed: {bounds.error}")
    safety = clock.safety_stop or result.safety_stop or (bound is not None and bound.safety_stop)
    if safety:
        notes.append(
            f"the safety stop ({time_limit:g} s) ended the search before its work budget: this "
            "plan may differ on a faster or less loaded machine"
        )
    info = {
        "seed": seed,
        "effort": effort,
        "starts": sum(1 for h in history if "start" in str(h[0])),
        "search_rounds": rounds,
        "proven_infeasible": bool(pre) or (bound is not None and bound.infeasible),
        "safety_stop": bool(safety),
        "target_gap": target_gap,
        "history": history,
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


class _BoundWorker:
    """The lower bound, computed alongside the search in one background thread.

    The thread solves the LP relaxation (small instances, fixed centres) or, without one, runs
    a first Lagrangian ascent from scratch; then it waits for the first start's plan and
    continues the ascent aimed at that plan's cost. Every read joins the thread at a fixed
    point of the search, so what the search sees never depends on timing. HiGHS and numpy
    release the GIL, so on two cores the bound costs little wall time.
    """

    def __init__(self, problem, clock: Budget, *, compute_bound: bool, given: BoundResult | None):
        self.problem = problem
        self.clock = clock
        self.error: Exception | None = None
        self.result: BoundResult | None = given
        self._plan = None
        self._lp_done = threading.Event()
        self._plan_ready = threading.Event()
        self.thread = None
        if given is not None or not compute_bound:
            self._lp_done.set()
            return
        self.thread = threading.Thread(target=self._run, name="territory-bound", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        problem = self.problem
        try:
            self.result = lower_bound(problem, budget=self.clock.sharing_clock())
        except Exception as exc:
            self.error = exc
        finally:
            self._lp_done.set()
        if problem.centers is not None or self.error is not None:
            return
        if self.result is not None and (self.result.infeasible or self.result.proven):
            return
        try:
            lag = near_lagrangian(problem)
            budget = self.clock.sharing_clock()
            if self.result is None or self.result.lam is None:
                self.result = lagrangian_bound(problem, self.result, budget=budget, lag=lag)
            self._plan_ready.wait()
            if self._plan is not None:
                self.result = lagrangian_bound(
                    problem,
                    self.result,
                    budget=budget,
                    upper=self._plan,
                    lag=lag,
                    steps=budget.scaled(ascent_steps(lag) // 3),
                )
        except Exception as exc:
            self.error = exc

    def first_plan(self, labels, centres, objective: float, violation: float) -> None:
        """The first start's plan (called once by the search): the ascent's target."""
        if self._plan_ready.is_set():
            return
        if violation <= 1e-12:
            self._plan = objective * self.problem.total_weight
        self._plan_ready.set()

    def lp_centres(self):
        self._lp_done.wait()
        return None if self.result is None else self.result.y

    def now(self) -> BoundResult | None:
        """The finished bound (joins the thread; it needs the first plan to finish)."""
        if self.thread is not None:
            self.thread.join()
        return self.result

    def final(self, result) -> BoundResult | None:
        if not self._plan_ready.is_set():
            self.first_plan(result.labels, result.centres, result.objective, result.violation)
        return self.now()


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
        assert problem.current_given is not None  # set together with current (build_problem)
        for i in np.flatnonzero(problem.current_given & (problem.current >= 0)):
            a, b = labels[i], problem.current[i]
            if a in idx and b in idx:
                ov[idx[a], idx[b]] += 1
        r, c = linear_sum_assignment(-ov)
        for a, b in zip(r, c, strict=True):
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
