"""A certified lower bound on the compactness objective under the balance constraints.

The objective of a plan is ``sum_i w_i * d(i, centre of i's territory)`` (activity-weighted
haversine km; the centre is the territory's best member unit, or a fixed rep home base).

Free centres - the LP relaxation of the balanced p-median::

    min  sum_ij c_ij x_ij                      c_ij = w_i d_ij
    s.t. sum_j x_ij = 1              (all i)    dual lambda_i
         x_ij <= y_j                 (i != j)   (the "strong" linking rows)
         x_jj  = y_j                            a centre belongs to its own territory
         sum_j y_j = k
         L_m y_j <= sum_i a_im x_ij <= U_m y_j  (all j, m)   duals uL, uU <= 0
         0 <= x, y <= 1

Solving it on all n^2 pairs is slow (a few seconds for 159 units), so the LP is solved on a
*restricted* set of pairs (each unit to its R nearest candidate centres). A restricted LP is
NOT a bound (dropping variables raises the minimum). Its duals are then plugged into the
Lagrangian function of the FULL problem::

    L(lambda, uU, uL) = sum_i lambda_i + sum of the k smallest s_j,
    s_j = r_j + sum_{i != j} min(0, g_ij),
    g_ij = c_ij - lambda_i - sum_m a_im (uU_mj - uL_mj),
    r_j  = -lambda_j - sum_m [(a_jm - U_m) uU_mj - (a_jm - L_m) uL_mj],

which is a valid lower bound for ANY lambda and any uU, uL <= 0 (weak duality; every variable
is boxed in [0, 1]), and equals the full LP optimum at the full LP's duals. So the bound is
valid however coarse the restriction, and tight when the restricted LP happens to be optimal
for the full one (checked: the same value as the full LP on Georgia). The bound ignores
contiguity, locks and the disruption budget (relaxing constraints keeps it valid).

Fixed centres (rep home bases): the transportation LP ``min c x, sum_j x_ij = 1, balance rows,
locks, disruption budget`` with the same restricted-then-Lagrangian treatment.
"""

from __future__ import annotations

import dataclasses
import enum
import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from ..geo import distance_matrix_km, nearest_km
from .budget import Budget, unlimited_if_none
from .lagrangian import NearLagrangian
from .problem import TerritoryProblem

__all__ = [
    "BoundMethod",
    "BoundResult",
    "ascent_steps",
    "lagrangian_bound",
    "lower_bound",
    "relative_gap",
    "relevant_constraints",
]

# Above this many units the dense n x n Lagrangian evaluation is done in column chunks.
_CHUNK = 2048
#: Free centres: the restricted LP relaxation is solved up to this many units (beyond, HiGHS
#: needs more than its iteration budget on the strong linking rows; the ascent does better).
LP_UNITS = 200
#: The Lagrangian uses all n^2 pairs (and prices the lower bands) up to this many units.
ALL_PAIRS_UNITS = 1000
#: Simplex iterations of one LP solve (x effort): the LP's work budget.
LP_ITERATIONS = 20_000
#: Lagrangian ascent steps (x effort) on candidate lists, and on all pairs (evaluated densely,
#: about 12x cheaper a pair: 1,500 steps take about 1 s on 570 units).
ASCENT_STEPS = 300
ASCENT_STEPS_ALL_PAIRS = 1_500


def ascent_steps(lag: NearLagrangian) -> int:
    """Steps (effort 1) of a first ascent on ``lag``."""
    return ASCENT_STEPS_ALL_PAIRS if lag.dense is not None else ASCENT_STEPS


class BoundMethod(str, enum.Enum):  # noqa: UP042 - str() and format() appear in outputs
    """How a lower bound was obtained (``plan.bound_method``). Code branches on these values,
    never on the prose in ``BoundResult.detail``."""

    NONE = "none"  # not computed
    TRIVIAL = "trivial"  # k = n: every unit its own territory
    LP = "lp"  # the LP relaxation itself (all pairs)
    LP_DUALS = "lp_duals"  # Lagrangian at the duals of a restricted LP (exact over all pairs)
    LAGRANGIAN = "lagrangian"  # Lagrangian dual ascent (exact over all pairs)
    TRANSPORT_LP = "transport_lp"  # fixed centres: the transportation LP (all pairs)
    TRANSPORT_DUALS = "transport_duals"  # fixed centres: Lagrangian at restricted-LP duals
    MIP = "mip"  # branch and bound with contiguity cuts: the MIP's best bound
    REGIONS = "regions"  # fixed regions: the sum of the regions' own bounds (hierarchy.py)
    INFEASIBLE = "infeasible"  # the relaxation has no solution: no plan meets the bands


#: The constraints a bound can cover (``BoundResult.covers``).
#: ``"targets"``: each territory's own band (per-territory targets); a free-centre bound does
#: not know which territory a centre serves and relaxes every band to the loosest one.
CONSTRAINTS = ("balance", "targets", "contiguity", "locks", "budget", "fixed_centres")


def relative_gap(cost: float, bound: float) -> float:
    """``cost / bound - 1``, never clipped (a negative gap would expose an invalid bound);
    0 when both are 0, infinite when only the bound is."""
    if bound <= 0:
        return 0.0 if cost <= 1e-12 else float("inf")
    return cost / bound - 1.0


def relevant_constraints(problem: TerritoryProblem) -> tuple[str, ...]:
    """The constraints of ``CONSTRAINTS`` that this problem actually has."""
    have = {
        "balance": True,
        "targets": not problem.uniform,
        "contiguity": problem.graph is not None,
        "locks": bool((problem.locked >= 0).any()),
        "budget": problem.max_moved is not None,
        "fixed_centres": problem.centers is not None,
    }
    return tuple(c for c in CONSTRAINTS if have[c])


@dataclasses.dataclass(frozen=True)
class BoundResult:
    """A valid lower bound on ``sum_i w_i d(i, centre)`` (weighted km).

    ``covers`` names the constraints the bound respects: a plan's gap measures its distance
    from the best plan meeting *those* constraints (the others are relaxed, so their price is
    inside the gap). ``proven`` means the bound equals the plan's objective (optimality proof).
    """

    value: float
    method: BoundMethod
    seconds: float
    lp_value: float | None = None  # restricted LP optimum (an upper estimate of the LP)
    y: np.ndarray | None = None  # LP centre values (free centres), for seeding the solver
    infeasible: bool = False  # the balance LP has no solution at all: balance is impossible
    pairs: int = 0
    detail: str = ""
    covers: frozenset = frozenset({"balance"})
    # multipliers of the Lagrangian of .lagrangian (free centres), for warm starts and fixing
    lam: np.ndarray | None = dataclasses.field(default=None, repr=False)
    mu: np.ndarray | None = dataclasses.field(default=None, repr=False)  # (M, n) upper bands
    nu: np.ndarray | None = dataclasses.field(default=None, repr=False)  # (M, n) lower bands
    proven: bool = False
    safety_stop: bool = False


def lower_bound(
    problem: TerritoryProblem,
    *,
    pairs_per_unit: int | None = None,
    budget: Budget | None = None,
) -> BoundResult:
    """Certified lower bound from the LP relaxation (restricted, then exact by duality).

    Free centres: up to ``LP_UNITS`` units (beyond, :func:`lagrangian_bound` from a plan is
    the bound). Fixed centres: the transportation LP on each unit's nearest centres.

    Parameters
    ----------
    problem : TerritoryProblem
    pairs_per_unit : int, optional
        Candidate centres per unit in the restricted LP (default: all for <= 120 units, 60
        nearest otherwise). More pairs: slower LP, bound closer to the full LP.
    budget : Budget, optional
        Work budget: each LP solve stops after ``LP_ITERATIONS x effort`` simplex iterations
        (then the result is method ``NONE``); wall-clock time only as the safety stop.

    Returns
    -------
    BoundResult
    """
    budget = unlimited_if_none(budget)
    t0 = time.perf_counter()
    if problem.centers is not None:
        res = _fixed_centre_bound(problem, pairs_per_unit, budget)
    elif problem.n > LP_UNITS:
        res = BoundResult(
            0.0,
            BoundMethod.NONE,
            0.0,
            detail="no LP above "
            f"{LP_UNITS} units: the Lagrangian ascent from a plan gives the bound",
        )
    else:
        res = _free_centre_bound(problem, pairs_per_unit, budget)
    return dataclasses.replace(
        res, seconds=time.perf_counter() - t0, safety_stop=budget.safety_stop
    )


def lagrangian_bound(
    problem: TerritoryProblem,
    prior: BoundResult | None,
    *,
    budget: Budget | None = None,
    upper: float | None = None,
    steps: int | None = None,
    lag: NearLagrangian | None = None,
) -> BoundResult | None:
    """Free centres: the Lagrangian dual ascent of :mod:`.lagrangian`, for ``steps`` steps
    (default :func:`ascent_steps` x effort).

    Warm start: ``prior``'s multipliers (the LP's duals, or an earlier ascent); without them
    each unit's cost to its ``n / 2k``-th nearest unit (about a territory's radius). Polyak
    target: ``upper`` (a feasible plan's weighted cost), else the cost of serving every unit
    from the nearest of k balanced bisection seeds. Returns the better of it and ``prior``.
    """
    if problem.centers is not None or problem.k >= problem.n:
        return prior
    if prior is not None and (prior.infeasible or prior.proven):
        return prior
    budget = unlimited_if_none(budget)
    t0 = time.perf_counter()
    n, k = problem.n, problem.k
    lag = lag if lag is not None else near_lagrangian(problem)
    mcount = problem.values.shape[1]
    if prior is not None and prior.lam is not None:
        assert prior.mu is not None  # the LP and the ascent set lam and mu together
        lam, mu, nu = prior.lam, prior.mu, prior.nu
    else:
        radius = min(max(int(n / (2 * k)), 1), lag.neighbours) - 1
        lam, mu, nu = lag.cost[:, radius].copy(), np.zeros((mcount, n)), None
    target = upper if upper is not None else _seed_estimate(problem)
    steps = budget.scaled(ascent_steps(lag)) if steps is None else steps
    res = lag.ascend(
        lam,
        mu,
        nu,
        steps=steps,
        target=target,
        patience=15,
        theta=1.0,
        alpha=0.5,
        stop=budget.expired,
    )
    took = time.perf_counter() - t0 + (prior.seconds if prior is not None else 0.0)
    if prior is not None and prior.method != BoundMethod.NONE and prior.value >= res.value:
        return dataclasses.replace(prior, seconds=took)
    detail = (
        f"Lagrangian dual ascent over all {n} centres ({lag.neighbours} nearest candidate "
        f"centres per unit, exact by the multiplier caps; "
        + ("both bands priced" if lag.full else "upper bands priced")
        + f"; {res.steps} steps)"
    )
    return BoundResult(
        max(res.value, 0.0),
        BoundMethod.LAGRANGIAN,
        took,
        None,
        prior.y if prior is not None else None,
        False,
        lag.pairs,
        detail,
        frozenset({"balance"}),
        res.lam,
        res.mu,
        res.nu,
        False,
        budget.safety_stop,
    )


def near_lagrangian(problem: TerritoryProblem) -> NearLagrangian:
    """The Lagrangian on all pairs up to ``ALL_PAIRS_UNITS`` units, else on each unit's
    ``max(2 n / k, 100)`` nearest candidate centres."""
    n, k = problem.n, problem.k
    full = n <= ALL_PAIRS_UNITS
    return NearLagrangian(problem, n - 1 if full else max(2 * int(np.ceil(n / k)), 100))


def _seed_estimate(problem: TerritoryProblem) -> float:
    """Weighted cost of serving every unit from its nearest of k bisection seeds: a cheap
    estimate of the optimum (the ascent's first target)."""
    from .solver import _bisection_seeds

    seeds = _bisection_seeds(problem, np.random.default_rng(0), problem.k)
    _, km = nearest_km(
        problem.lat, problem.lon, 1, lat2=problem.lat[seeds], lon2=problem.lon[seeds]
    )
    return float(problem.weight @ km[:, 0])


# ---------------------------------------------------------------------------------------------
# free centres: balanced p-median


def _cand_pairs(problem: TerritoryProblem, cand: np.ndarray, r: int):
    """(unit, candidate index) pairs: each unit with its r nearest candidates, not itself."""
    r = min(r, len(cand))
    idx, _ = nearest_km(
        problem.lat,
        problem.lon,
        min(len(cand), r + 1),
        lat2=problem.lat[cand],
        lon2=problem.lon[cand],
    )
    i = np.repeat(np.arange(problem.n), idx.shape[1])
    c = idx.ravel()
    keep = cand[c] != i
    i, c = i[keep], c[keep]
    # at most r per unit (a unit that is a candidate lost its own slot, others drop the last)
    first = np.r_[0, np.flatnonzero(np.diff(i)) + 1]
    rank = np.arange(len(i)) - np.repeat(first, np.diff(np.r_[first, len(i)]))
    keep = rank < r
    return i[keep], c[keep]


def _free_lp(
    problem: TerritoryProblem,
    cand: np.ndarray,
    i: np.ndarray,
    c: np.ndarray,
    budget: Budget,
):
    """Restricted LP: x for the (unit, candidate) pairs, y for the candidates (y_c is also the
    candidate unit's own assignment x_cc)."""
    n, k = problem.n, problem.k
    q = len(cand)
    a = problem.values
    mcount = a.shape[1]
    # free centres serve no named territory: the loosest band holds for every one
    up, lo = problem.loosest_upper, problem.loosest_lower
    p = len(i)
    j = cand[c]
    cost = np.r_[problem.weight[i] * _pair_km(problem, i, j), np.zeros(q)]
    yv = p + np.arange(q)
    a_eq = sp.csr_matrix(
        (
            np.ones(p + 2 * q),
            (np.r_[i, cand, np.full(q, n)], np.r_[np.arange(p), yv, yv]),
        ),
        shape=(n + 1, p + q),
    )
    b_eq = np.r_[np.ones(n), k]
    rows = [np.arange(p), np.arange(p)]
    cols = [np.arange(p), p + c]
    vals = [np.ones(p), -np.ones(p)]
    off = p
    for m in range(mcount):
        # upper row of candidate c: sum_i a_im x_ic + (a_cm - U) y_c <= 0
        rows += [off + c, off + np.arange(q)]
        cols += [np.arange(p), yv]
        vals += [a[i, m], a[cand, m] - up[m]]
        off += q
        # lower row: -sum_i a_im x_ic - (a_cm - L) y_c <= 0
        rows += [off + c, off + np.arange(q)]
        cols += [np.arange(p), yv]
        vals += [-a[i, m], -(a[cand, m] - lo[m])]
        off += q
    a_ub = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(off, p + q)
    )
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=np.zeros(off),
        A_eq=a_eq,
        b_eq=b_eq,
        bounds=(0, 1),
        method="highs",
        options=budget.highs(presolve=True, maxiter=budget.scaled(LP_ITERATIONS)),
    )
    return res, p


def _free_centre_bound(problem: TerritoryProblem, r: int | None, budget: Budget) -> BoundResult:
    n, k = problem.n, problem.k
    mcount = problem.values.shape[1]
    if k >= n:  # every unit its own territory: distance 0
        return BoundResult(
            0.0,
            BoundMethod.TRIVIAL,
            0.0,
            0.0,
            detail="k = n: distance 0",
            covers=frozenset(CONSTRAINTS),
        )
    cand = np.arange(n)
    r_now = n - 1 if n <= 120 else 60
    if r is not None:
        r_now = r
    while not budget.expired():
        i, c = _cand_pairs(problem, cand, r_now)
        res, p = _free_lp(problem, cand, i, c, budget)
        full = r_now >= n - 1
        if res.status == 0:
            # the LP's duals priced on the full problem: the Lagrangian of .lagrangian on all
            # pairs (band prices per share of the mean: -u x mean)
            safe = np.where(problem.mean > 0, problem.mean, 1.0)
            u = np.minimum(res.ineqlin.marginals[p:].reshape(2 * mcount, n), 0.0)
            lam = res.eqlin.marginals[:n].copy()
            mu, nu = -u[0::2] * safe[:, None], -u[1::2] * safe[:, None]
            value = NearLagrangian(problem, n - 1).evaluate(lam, mu, nu)[0]
            if full:
                method, detail = (
                    BoundMethod.LP,
                    "LP relaxation of the balanced p-median (all pairs)",
                )
            else:
                method, detail = (
                    BoundMethod.LP_DUALS,
                    (
                        f"Lagrangian bound (all pairs) at the duals of the LP restricted to each "
                        f"unit's {r_now} nearest candidate centres"
                    ),
                )
            return BoundResult(
                max(value, 0.0),
                method,
                0.0,
                float(res.fun),
                res.x[p:].copy(),
                False,
                len(i),
                detail,
                frozenset({"balance"}),
                lam,
                mu,
                nu,
            )
        if res.status == 2:
            if full:
                # the full LP relaxation is infeasible: no plan meets the balance rows
                return BoundResult(
                    0.0,
                    BoundMethod.INFEASIBLE,
                    0.0,
                    None,
                    None,
                    True,
                    len(i),
                    "LP relaxation infeasible: no plan meets every band",
                )
            r_now = min(n - 1, 2 * r_now)  # too few candidates to balance: widen
            continue
        break  # iteration limit or numerical trouble
    return BoundResult(
        0.0,
        BoundMethod.NONE,
        0.0,
        detail=("LP relaxation not solved within its simplex iteration budget"),
    )


def _pair_km(problem: TerritoryProblem, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    from ..geo import haversine_km

    return haversine_km(problem.lat[i], problem.lon[i], problem.lat[j], problem.lon[j])


# ---------------------------------------------------------------------------------------------
# fixed centres: balanced transportation problem


def _fixed_cost(problem: TerritoryProblem, rows: np.ndarray) -> np.ndarray:
    c = problem.centers
    assert c is not None  # fixed centres only
    return problem.weight[rows, None] * distance_matrix_km(
        problem.lat[rows], problem.lon[rows], c[:, 0], c[:, 1]
    )


def _fixed_centre_bound(problem: TerritoryProblem, r: int | None, budget: Budget) -> BoundResult:
    assert problem.centers is not None  # called only with fixed centres
    n, k = problem.n, problem.k
    a = problem.values
    mcount = a.shape[1]
    if r is None:
        # all pairs while the LP stays small; at ZIP scale each unit's 8 nearest centres (plus
        # its lock and current territory): the Lagrangian below is exact over all pairs anyway
        r = k if n * k <= 400_000 else 8
    r = min(k, max(r, 1))
    allowed = _allowed_fixed(problem)
    if r >= k:
        i, j = np.nonzero(allowed)
    else:
        idx, _ = nearest_km(
            problem.lat, problem.lon, r, lat2=problem.centers[:, 0], lon2=problem.centers[:, 1]
        )
        extra = [problem.locked, problem.current if problem.current is not None else None]
        cand: list[np.ndarray] | np.ndarray
        cand = [idx]
        for e in extra:
            if e is not None:
                cand.append(np.where(e >= 0, e, idx[:, 0])[:, None])
        cand = np.concatenate(cand, axis=1)
        i = np.repeat(np.arange(n), cand.shape[1])
        j = cand.ravel()
        pairs = np.unique(np.c_[i, j], axis=0)
        i, j = pairs[:, 0], pairs[:, 1]
        keep = allowed[i, j]
        i, j = i[keep], j[keep]
    p = len(i)
    dist = _pair_km_fixed(problem, i, j)
    moved = _moved_pairs(problem, i, j)
    cost = problem.weight[i] * dist + _move_cost(problem) * moved
    a_eq = sp.csr_matrix((np.ones(p), (i, np.arange(p))), shape=(n, p))
    rows, cols, vals, b_ub = [], [], [], []
    for m in range(mcount):
        rows += [j + 2 * m * k, j + (2 * m + 1) * k]
        cols += [np.arange(p), np.arange(p)]
        vals += [a[i, m], -a[i, m]]
        b_ub += [problem.upper[:, m], -problem.lower[:, m]]
    nrow = 2 * mcount * k
    if problem.max_moved is not None:
        rows.append(np.full(p, nrow))
        cols.append(np.arange(p))
        vals.append(moved.astype(float))
        b_ub.append(np.array([problem.max_moved], float))
        nrow += 1
    a_ub = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nrow, p)
    )
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=np.concatenate(b_ub),
        A_eq=a_eq,
        b_eq=np.ones(n),
        bounds=(0, 1),
        method="highs",
        options=budget.highs(maxiter=budget.scaled(LP_ITERATIONS)),
    )
    if res.status == 2 and r >= k:
        return BoundResult(
            0.0,
            BoundMethod.INFEASIBLE,
            0.0,
            None,
            None,
            True,
            p,
            "transportation LP infeasible: no assignment meets every band",
        )
    if res.status != 0:
        lam = np.zeros(n)
        u = np.zeros(nrow)
    else:
        lam = res.eqlin.marginals
        u = np.minimum(res.ineqlin.marginals, 0.0)
    value = _fixed_lagrangian(problem, lam, u, allowed)
    if res.status != 0:
        method, detail = (
            BoundMethod.TRANSPORT_DUALS,
            (
                "Lagrangian bound (all pairs) at zero balance prices: the assignment LP was not "
                "solved within its iteration budget"
            ),
        )
    elif r >= k:
        method, detail = (
            BoundMethod.TRANSPORT_LP,
            ("LP relaxation of the balanced assignment to fixed centres"),
        )
    else:
        method, detail = (
            BoundMethod.TRANSPORT_DUALS,
            (
                "Lagrangian bound (all pairs) at the duals of the assignment LP on each unit's "
                f"{r} nearest centres"
            ),
        )
    covers = {"balance", "targets", "fixed_centres", "locks"} | (
        {"budget"} if problem.max_moved is not None else set()
    )
    return BoundResult(
        max(value, 0.0),
        method,
        0.0,
        float(res.fun) if res.status == 0 else None,
        None,
        False,
        p,
        detail,
        frozenset(covers),
    )


def _allowed_fixed(problem: TerritoryProblem) -> np.ndarray:
    allowed = np.ones((problem.n, problem.k), dtype=bool)
    lk = problem.locked >= 0
    allowed[lk] = False
    allowed[np.flatnonzero(lk), problem.locked[lk]] = True
    return allowed


def _pair_km_fixed(problem: TerritoryProblem, i, j) -> np.ndarray:
    from ..geo import haversine_km

    c = problem.centers
    assert c is not None  # fixed centres only
    return haversine_km(problem.lat[i], problem.lon[i], c[j, 0], c[j, 1])


def _moved_pairs(problem: TerritoryProblem, i, j) -> np.ndarray:
    if problem.current is None:
        return np.zeros(len(i), dtype=bool)
    assert problem.current_given is not None  # set together with current (build_problem)
    return problem.current_given[i] & (problem.current[i] != j)


def _move_cost(problem: TerritoryProblem) -> float:
    """Weighted-km cost of moving one unit, from ``move_penalty`` (km of mean distance per 100 %
    of units moved)."""
    if problem.current is None or problem.move_penalty <= 0:
        return 0.0
    assert problem.current_given is not None  # set together with current (build_problem)
    return problem.move_penalty * problem.total_weight / max(problem.current_given.sum(), 1)


def _fixed_lagrangian(problem: TerritoryProblem, lam, u, allowed) -> float:
    n, k = problem.n, problem.k
    a = problem.values
    mcount = a.shape[1]
    uu = np.stack([u[2 * m * k : (2 * m + 1) * k] for m in range(mcount)])  # (M, k)
    ul = np.stack([u[(2 * m + 1) * k : (2 * m + 2) * k] for m in range(mcount)])
    nu = u[2 * mcount * k] if problem.max_moved is not None and len(u) > 2 * mcount * k else 0.0
    value = lam.sum() + (problem.upper.T * uu).sum() - (problem.lower.T * ul).sum()
    if problem.max_moved is not None:
        value += problem.max_moved * nu
    mc = _move_cost(problem)
    for start in range(0, n, _CHUNK):
        rows = np.arange(start, min(n, start + _CHUNK))
        g = _fixed_cost(problem, rows) - lam[rows, None] - a[rows] @ (uu - ul)
        if problem.current is not None:
            assert problem.current_given is not None  # set together with current (build_problem)
            mv = problem.current_given[rows, None] & (
                problem.current[rows, None] != np.arange(k)[None, :]
            )
            g = g + mv * (mc - nu)
        g[~allowed[rows]] = 0.0
        value += np.minimum(g, 0.0).sum()
    return float(value)
