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
import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from ..geo import distance_matrix_km, nearest_km
from .problem import TerritoryProblem

__all__ = ["BoundResult", "lower_bound"]

# Above this many units the dense n x n Lagrangian evaluation is done in column chunks.
_CHUNK = 2048


@dataclasses.dataclass(frozen=True)
class BoundResult:
    """A valid lower bound on ``sum_i w_i d(i, centre)`` (weighted km)."""

    value: float
    method: str
    seconds: float
    lp_value: float | None = None  # restricted LP optimum (an upper estimate of the LP)
    y: np.ndarray | None = None  # LP centre values (free centres), for seeding the solver
    infeasible: bool = False  # the balance LP has no solution at all: balance is impossible
    pairs: int = 0


def lower_bound(
    problem: TerritoryProblem,
    *,
    pairs_per_unit: int | None = None,
    time_limit: float = 60.0,
) -> BoundResult:
    """Certified lower bound on the weighted distance of any plan meeting the balance rows.

    Parameters
    ----------
    problem : TerritoryProblem
    pairs_per_unit : int, optional
        Candidate centres per unit in the restricted LP (default: all for <= 120 units, 60
        nearest otherwise). More pairs: slower LP, bound closer to the full LP.
    time_limit : float
        Seconds for HiGHS. On time-out a weaker bound (no balance multipliers) is returned.

    Returns
    -------
    BoundResult
    """
    t0 = time.perf_counter()
    if problem.centers is not None:
        res = _fixed_centre_bound(problem, pairs_per_unit, time_limit)
    else:
        res = _free_centre_bound(problem, pairs_per_unit, time_limit)
    return dataclasses.replace(res, seconds=time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------------
# free centres: balanced p-median


def _candidate_centres(problem: TerritoryProblem, q: int) -> np.ndarray:
    """A spread-out subset of q units as candidate centres for the restricted LP: weighted
    k-means++ picks (deterministic), so dense areas get more candidates."""
    n = problem.n
    if q >= n:
        return np.arange(n)
    rng = np.random.default_rng(12345)
    w = problem.weight + 1e-12 * max(problem.weight.max(), 1.0)
    from ..geo import haversine_km

    chosen = [int(np.argmax(w))]
    d = haversine_km(problem.lat, problem.lon, problem.lat[chosen[0]], problem.lon[chosen[0]])
    for _ in range(1, q):
        prob = w * d**2
        tot = prob.sum()
        nxt = int(rng.choice(n, p=prob / tot)) if tot > 0 else int(np.argmax(d))
        chosen.append(nxt)
        d = np.minimum(
            d, haversine_km(problem.lat, problem.lon, problem.lat[nxt], problem.lon[nxt])
        )
    return np.unique(np.asarray(chosen, dtype=np.int64))


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
    time_limit: float,
    strong: bool = True,
):
    """Restricted LP: x for the (unit, candidate) pairs, y for the candidates (y_c is also the
    candidate unit's own assignment x_cc)."""
    n, k = problem.n, problem.k
    q = len(cand)
    a = problem.values
    mcount = a.shape[1]
    up, lo = problem.upper, problem.lower
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
    if strong:
        rows = [np.arange(p), np.arange(p)]
        cols = [np.arange(p), p + c]
        vals = [np.ones(p), -np.ones(p)]
        off = p
    else:
        # weak form: the balance rows are the only link between x and y (a capacitated
        # p-median LP); far fewer rows, much faster, and its duals still price the strong
        # Lagrangian below
        rows, cols, vals, off = [], [], [], 0
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
        options={"time_limit": float(time_limit), "presolve": True},
    )
    return res, p


def _free_centre_bound(problem: TerritoryProblem, r: int | None, time_limit: float) -> BoundResult:
    n, k = problem.n, problem.k
    mcount = problem.values.shape[1]
    if k >= n:  # every unit its own territory: distance 0
        return BoundResult(0.0, "trivial (k = n)", 0.0, 0.0)
    if n <= 120:
        cand, r_now = np.arange(n), n - 1
    elif n <= 600:
        cand, r_now = np.arange(n), 60
    else:
        # large: candidates reduced to a spread subset; the bound is still over ALL centres
        cand, r_now = _candidate_centres(problem, min(n, max(12 * k, 400))), 24
    # above 600 units the strong LP (n * r linking rows) is too slow for HiGHS: solve the weak
    # LP for starting prices, then improve them by subgradient steps on the strong Lagrangian
    strong = n <= 600
    if r is not None:
        r_now = r
    deadline = time.perf_counter() + time_limit
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        i, c = _cand_pairs(problem, cand, r_now)
        res, p = _free_lp(problem, cand, i, c, left if strong else left / 2, strong=strong)
        full = len(cand) == n and r_now >= n - 1 and strong
        if res.status == 0:
            lam = res.eqlin.marginals[:n]
            u = res.ineqlin.marginals[p if strong else 0 :].reshape(2 * mcount, len(cand))
            uu_c, ul_c = np.minimum(u[0::2], 0.0), np.minimum(u[1::2], 0.0)
            if len(cand) == n:
                uu, ul = uu_c, ul_c
            else:
                # prices for non-candidate centres: those of the nearest candidate (any prices
                # <= 0 give a valid bound; near ones give a good one)
                near, _ = nearest_km(
                    problem.lat, problem.lon, 1, lat2=problem.lat[cand], lon2=problem.lon[cand]
                )
                uu, ul = uu_c[:, near[:, 0]], ul_c[:, near[:, 0]]
                uu[:, cand], ul[:, cand] = uu_c, ul_c
            value = _free_lagrangian(problem, lam, uu, ul)
            if not strong:
                # a few steps only: the plan-based refinement (refine_bound) does the rest
                value, steps = _subgradient(
                    problem, lam, uu, ul, value, min(deadline, time.perf_counter() + 5.0)
                )
                method = (
                    f"Lagrangian bound over all {n} centres: weak-LP prices on "
                    f"{len(cand)} candidates improved by {steps} subgradient steps "
                    f"(weaker than the LP relaxation; valid)"
                )
                y = np.zeros(n)
                y[cand] = res.x[p:]
                return BoundResult(max(value, 0.0), method, 0.0, None, y, False, len(i))
            if full:
                method = "LP relaxation of the balanced p-median (all pairs)"
            elif len(cand) == n:
                method = (
                    f"Lagrangian bound at the duals of the LP restricted to each unit's "
                    f"{r_now} nearest candidate centres"
                )
            else:
                method = (
                    f"Lagrangian bound over all {n} centres at the duals of the LP on "
                    f"{len(cand)} candidate centres ({r_now} nearest per unit)"
                )
            y = np.zeros(n)
            y[cand] = res.x[p:]
            return BoundResult(max(value, 0.0), method, 0.0, float(res.fun), y, False, len(i))
        if res.status == 2:
            if full:
                # the full LP relaxation is infeasible: no plan meets the balance rows
                return BoundResult(0.0, "LP relaxation infeasible", 0.0, None, None, True, len(i))
            if r_now >= len(cand) - 1 and len(cand) < n:
                cand = (
                    np.arange(n)
                    if len(cand) * 2 >= n
                    else _candidate_centres(problem, 2 * len(cand))
                )
                continue
            r_now = min(max(len(cand) - 1, 1), 2 * r_now)  # too few candidates to balance: widen
            continue
        break  # time limit or numerical trouble
    value = _free_lagrangian(
        problem,
        _nearest_lambda(problem),
        np.zeros((mcount, n)),
        np.zeros((mcount, n)),
    )
    return BoundResult(
        max(value, 0.0), "Lagrangian bound without balance prices (LP timed out)", 0.0
    )


def _nearest_lambda(problem: TerritoryProblem) -> np.ndarray:
    """Cheap multipliers: each unit's weighted distance to its nearest other unit (a unit that
    is not a centre pays at least that)."""
    if problem.n < 2:
        return np.zeros(problem.n)
    _, km = nearest_km(problem.lat, problem.lon, 2)
    return problem.weight * km[:, 1]


def _pair_km(problem: TerritoryProblem, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    from ..geo import haversine_km

    return haversine_km(problem.lat[i], problem.lon[i], problem.lat[j], problem.lon[j])


def _free_lagrangian(problem: TerritoryProblem, lam, uu, ul) -> float:
    """L(lambda, uU, uL) of the full balanced p-median (module docstring), exact."""
    s = _centre_values(problem, lam, uu, ul)
    return float(lam.sum() + np.sort(s)[: problem.k].sum())


def _centre_values(problem: TerritoryProblem, lam, uu, ul) -> np.ndarray:
    """s_j = r_j + sum_{i != j} min(0, g_ij) for every unit j as a centre.

    Dense in column chunks up to 8,000 units; beyond, only pairs that can have g_ij < 0 are
    visited: g_ij < 0 needs w_i d_ij < lambda_i + sum_m a_im max_j beta_mj, a radius per unit
    searched with a k-d tree (units of zero weight are scanned in full).
    """
    n = problem.n
    a = problem.values  # (n, M)
    up, lo = problem.upper, problem.lower
    beta = uu - ul  # (M, n): balance price per unit of measure at centre j
    r0 = -lam - ((a.T - up[:, None]) * uu).sum(0) + ((a.T - lo[:, None]) * ul).sum(0)
    s = r0.copy()
    w = problem.weight
    if n <= 8000:
        chunk = max(1, min(_CHUNK, 20_000_000 // max(n, 1)))
        for start in range(0, n, chunk):
            cols = np.arange(start, min(n, start + chunk))
            d = distance_matrix_km(problem.lat, problem.lon, problem.lat[cols], problem.lon[cols])
            g = w[:, None] * d - lam[:, None] - a @ beta[:, cols]
            g[cols, np.arange(len(cols))] = 0.0  # x_jj is y_j, counted in r0
            s[cols] += np.minimum(g, 0.0).sum(axis=0)
        return s
    from scipy.spatial import cKDTree

    from ..geo import EARTH_RADIUS_KM, to_unit_vectors

    reach = lam + a @ beta.max(axis=1)  # g_ij < 0 needs w_i d_ij < reach_i
    xyz = to_unit_vectors(problem.lat, problem.lon)
    tree = cKDTree(xyz)
    active = np.flatnonzero(reach > 0)
    dense = active[w[active] <= 0]
    sparse_rows = active[w[active] > 0]
    km = np.minimum(reach[sparse_rows] / w[sparse_rows], np.pi * EARTH_RADIUS_KM)
    chord = 2 * np.sin(km / (2 * EARTH_RADIUS_KM))
    for start in range(0, len(sparse_rows), 2000):
        rows = sparse_rows[start : start + 2000]
        hits = tree.query_ball_point(xyz[rows], chord[start : start + 2000] * (1 + 1e-9))
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        if counts.sum() == 0:
            continue
        ii = np.repeat(rows, counts)
        jj = np.fromiter((x for h in hits for x in h), dtype=np.int64, count=int(counts.sum()))
        keep = ii != jj
        ii, jj = ii[keep], jj[keep]
        g = w[ii] * _pair_km(problem, ii, jj) - lam[ii] - (a[ii] * beta[:, jj].T).sum(1)
        s += np.bincount(jj, weights=np.minimum(g, 0.0), minlength=n)
    for i in dense:  # zero-weight units: every centre may price them below zero
        g = -lam[i] - a[i] @ beta
        g[i] = 0.0
        s += np.minimum(g, 0.0)
    return s


def _lagrangian_grad(problem: TerritoryProblem, lam, uu, ul):
    """L and a subgradient in (lambda, uU, uL) (see module docstring).

    At the inner minimiser (y_j = 1 for the k centres with the smallest s_j, x_ij = 1 where
    g_ij < 0 for them): dL/dlambda_i = 1 - (times i is served), dL/duU_mj = U_m - load_mj and
    dL/duL_mj = load_mj - L_m for the chosen centres j (0 for the others).
    """
    k = problem.k
    a = problem.values
    up, lo = problem.upper, problem.lower
    beta = uu - ul
    s = _centre_values(problem, lam, uu, ul)
    chosen = np.argsort(s, kind="stable")[:k]
    value = float(lam.sum() + s[chosen].sum())
    d = distance_matrix_km(problem.lat, problem.lon, problem.lat[chosen], problem.lon[chosen])
    g = problem.weight[:, None] * d - lam[:, None] - a @ beta[:, chosen]
    x = g < 0
    x[chosen, np.arange(k)] = False
    grad_lam = 1.0 - x.sum(axis=1)
    grad_lam[chosen] -= 1.0
    load = a.T @ x + a[chosen].T  # (M, k) measure served by each chosen centre
    g_uu = np.zeros_like(uu)
    g_ul = np.zeros_like(ul)
    g_uu[:, chosen] = up[:, None] - load
    g_ul[:, chosen] = load - lo[:, None]
    return value, grad_lam, g_uu, g_ul


def _subgradient(
    problem: TerritoryProblem,
    lam,
    uu,
    ul,
    value,
    deadline,
    *,
    target: float | None = None,
    max_steps: int = 400,
):
    """Projected subgradient ascent with Polyak steps towards ``target`` (a known plan's cost;
    default 1.3 x the best value), step halved after 6 steps without progress. Returns the
    best value seen (each one is a valid bound) and the number of steps."""
    best = value
    lam, uu, ul = lam.copy(), uu.copy(), ul.copy()
    step_scale, stall, steps = 1.0, 0, 0
    for steps in range(1, max_steps + 1):
        if time.perf_counter() > deadline:
            break
        val, g_lam, g_uu, g_ul = _lagrangian_grad(problem, lam, uu, ul)
        if val > best + 1e-9 * max(abs(best), 1.0):
            best, stall = val, 0
        else:
            stall += 1
            if stall >= 6:
                step_scale, stall = step_scale / 2, 0
                if step_scale < 1e-3:
                    break
        norm = float((g_lam**2).sum() + (g_uu**2).sum() + (g_ul**2).sum())
        if norm <= 0:
            break
        goal = target if target is not None and target > best else 1.3 * max(best, 1e-9)
        t = step_scale * (goal - val) / norm
        lam = lam + t * g_lam
        uu = np.minimum(uu + t * g_uu, 0.0)
        ul = np.minimum(ul + t * g_ul, 0.0)
    return best, steps


def refine_bound(
    problem: TerritoryProblem,
    labels: np.ndarray,
    centres: np.ndarray,
    prior: BoundResult | None,
    *,
    seconds: float,
) -> BoundResult | None:
    """Tighten a weak free-centre bound using a plan: multipliers lambda_i = the unit's cost in
    the plan (their sum is the plan's cost), then Polyak subgradient steps aimed at the plan's
    cost. Every value is a valid bound; the best of it and ``prior`` is returned."""
    if problem.centers is not None or problem.k >= problem.n:
        return prior
    t0 = time.perf_counter()
    from ..geo import haversine_km

    c = np.asarray(centres)[labels]
    lam = problem.weight * haversine_km(problem.lat, problem.lon, problem.lat[c], problem.lon[c])
    mcount = problem.values.shape[1]
    uu = np.zeros((mcount, problem.n))
    ul = np.zeros((mcount, problem.n))
    start = _free_lagrangian(problem, lam, uu, ul)
    value, steps = _subgradient(problem, lam, uu, ul, start, t0 + seconds, target=float(lam.sum()))
    if prior is not None and not prior.infeasible and prior.value >= value:
        return prior
    method = (
        f"Lagrangian bound over all {problem.n} centres from the plan's multipliers and "
        f"{steps} subgradient steps (weaker than the LP relaxation; valid)"
    )
    took = time.perf_counter() - t0 + (prior.seconds if prior is not None else 0.0)
    y = prior.y if prior is not None else None
    return BoundResult(max(value, 0.0), method, took, None, y, False, 0)


# ---------------------------------------------------------------------------------------------
# fixed centres: balanced transportation problem


def _fixed_cost(problem: TerritoryProblem, rows: np.ndarray) -> np.ndarray:
    c = problem.centers
    return problem.weight[rows, None] * distance_matrix_km(
        problem.lat[rows], problem.lon[rows], c[:, 0], c[:, 1]
    )


def _fixed_centre_bound(problem: TerritoryProblem, r: int | None, time_limit: float) -> BoundResult:
    n, k = problem.n, problem.k
    a = problem.values
    mcount = a.shape[1]
    r = k if r is None or n * k <= 400_000 else min(k, max(r, 8))
    allowed = _allowed_fixed(problem)
    if r >= k:
        i, j = np.nonzero(allowed)
    else:
        idx, _ = nearest_km(
            problem.lat, problem.lon, r, lat2=problem.centers[:, 0], lon2=problem.centers[:, 1]
        )
        extra = [problem.locked, problem.current if problem.current is not None else None]
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
        b_ub += [np.full(k, problem.upper[m]), np.full(k, -problem.lower[m])]
    nrow = 2 * mcount * k
    budget = problem.max_moved
    if budget is not None:
        rows.append(np.full(p, nrow))
        cols.append(np.arange(p))
        vals.append(moved.astype(float))
        b_ub.append(np.array([budget], float))
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
        options={"time_limit": float(time_limit)},
    )
    if res.status == 2 and r >= k:
        return BoundResult(0.0, "transportation LP infeasible", 0.0, None, None, True, p)
    if res.status != 0:
        lam = np.zeros(n)
        u = np.zeros(nrow)
    else:
        lam = res.eqlin.marginals
        u = np.minimum(res.ineqlin.marginals, 0.0)
    value = _fixed_lagrangian(problem, lam, u, allowed)
    method = (
        "LP relaxation of the balanced assignment to fixed centres"
        if r >= k
        else f"Lagrangian bound at the duals of the LP on {r} nearest centres"
    )
    return BoundResult(
        max(value, 0.0), method, 0.0, float(res.fun) if res.status == 0 else None, None, False, p
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
    return haversine_km(problem.lat[i], problem.lon[i], c[j, 0], c[j, 1])


def _moved_pairs(problem: TerritoryProblem, i, j) -> np.ndarray:
    if problem.current is None:
        return np.zeros(len(i), dtype=bool)
    return problem.current_given[i] & (problem.current[i] != j)


def _move_cost(problem: TerritoryProblem) -> float:
    """Weighted-km cost of moving one unit, from ``move_penalty`` (km of mean distance per 100 %
    of units moved)."""
    if problem.current is None or problem.move_penalty <= 0:
        return 0.0
    return problem.move_penalty * problem.total_weight / max(problem.current_given.sum(), 1)


def _fixed_lagrangian(problem: TerritoryProblem, lam, u, allowed) -> float:
    n, k = problem.n, problem.k
    a = problem.values
    mcount = a.shape[1]
    uu = np.stack([u[2 * m * k : (2 * m + 1) * k] for m in range(mcount)])  # (M, k)
    ul = np.stack([u[(2 * m + 1) * k : (2 * m + 2) * k] for m in range(mcount)])
    nu = u[2 * mcount * k] if problem.max_moved is not None and len(u) > 2 * mcount * k else 0.0
    value = lam.sum() + (problem.upper[:, None] * uu).sum() - (problem.lower[:, None] * ul).sum()
    if problem.max_moved is not None:
        value += problem.max_moved * nu
    mc = _move_cost(problem)
    for start in range(0, n, _CHUNK):
        rows = np.arange(start, min(n, start + _CHUNK))
        g = _fixed_cost(problem, rows) - lam[rows, None] - a[rows] @ (uu - ul)
        if problem.current is not None:
            mv = problem.current_given[rows, None] & (
                problem.current[rows, None] != np.arange(k)[None, :]
            )
            g = g + mv * (mc - nu)
        g[~allowed[rows]] = 0.0
        value += np.minimum(g, 0.0).sum()
    return float(value)
