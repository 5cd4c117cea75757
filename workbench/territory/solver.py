"""Location-allocation heuristic for balanced, contiguous, compact territories.

Phase 1 runs several cheap *starts*; each one (Hess & Samuels location-allocation, then a
Rios-Mercado-style local search):

1. **Seeds**: weighted k-means++ or recursive coordinate bisection (balanced by construction),
   the LP relaxation's centres when the bound is ready, or the current alignment.
2. **Allocate** units to the k fixed centres by a balanced transportation LP (HiGHS): minimise
   weighted distance subject to every measure of every territory within its band (soft, with
   a large penalty so the LP is always solvable), locks (forbidden pairs) and the disruption
   budget. A basic LP solution splits at most about ``2 * M * k`` units between territories;
   the final allocation resolves them by a small exact MILP (split units and neighbours).
3. **Relocate** each centre to its territory's weighted 1-median among member units; repeat
   2-3 until the centres stop moving.
4. **Repair contiguity**: pieces of a territory not connected to its centre go to the adjacent
   territory that costs least.
5. **Descent and tabu search** on the adjacency graph: boundary moves (and swaps / chains) that
   keep both territories contiguous; the tabu search oscillates the balance penalty.

Phase 2 polishes the best starts by a **MILP large-neighbourhood search** (a territory and its
neighbours re-optimised exactly, contiguity by shortest-path constraints) and, on tiny
instances, a Teitz-Bart vertex substitution. Everything is deterministic for a seed.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import cast

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse.csgraph import connected_components as _cc

from ..geo import distance_matrix_km, haversine_km, nearest_km
from .budget import Budget, search_threads, unlimited_if_none
from .problem import TerritoryProblem, band_excess

__all__ = ["SolveResult", "centres_of", "component_pieces", "evaluate", "solve"]

log = logging.getLogger(__name__)

#: Penalty (in km of mean distance) per 100 % relative deviation outside a band: large enough
#: that no distance saving ever pays for a balance violation, small enough for LP numerics.
BALANCE_PENALTY = 1.0e4
#: Violation units per unit moved beyond the disruption budget. The budget is a business
#: limit ("move at most 10 %"): one unit over it weighs more than any balance miss, so the
#: search gives up balance before it breaks the budget (and the frontier is an honest
#: epsilon-constraint sweep).
BUDGET_WEIGHT = 10.0
BUDGET_PENALTY = BALANCE_PENALTY * BUDGET_WEIGHT  # per unit, in the LP/MILP objectives

# Neighbours freed with each split unit when rounding the allocation LP (-1: no MILP, the
# largest share wins; the LNS repairs balance afterwards).
ROUND_NEAR = 8
# Work limits (see budget.py): branch-and-bound nodes of the rounding and LNS MILPs, tabu
# iterations, LNS group solves per territory.
ROUND_NODES = 50
GROUP_NODES = 50
TABU_CAP = 20_000  # at most this many tabu iterations (x effort)
TABU_LARGE = 1_500  # on large instances (n k > 200,000)
LNS_TRIES_PER_TERRITORY = 1
LNS_FAILS = None  # default k
SUBSTITUTION_SIZE = 40  # n * k up to which the vertex substitution polish runs
# A further elite is polished only while its start is within this share of the best polished
# (feasible) plan: the LNS gained 0-1.5 % on the benchmark instances (Georgia, counties, ZIPs,
# the demo), so a start 5 % behind cannot overtake and its polish (9 s on the demo) is wasted.
POLISH_BEHIND = 0.05
STALL_BASE = 120  # tabu iterations without a new best before it stops (+ n/4)

# Dense n x k work above this many pairs switches to each unit's nearest centres only.
_DENSE_PAIRS = 600_000


@dataclasses.dataclass
class SolveResult:
    labels: np.ndarray  # (n,) slot per unit
    centres: np.ndarray  # (k,) centre unit per slot (-1 with fixed centres)
    objective: float  # distance part (weighted km / W) + move penalty
    violation: float  # balance + budget violation (relative units), 0 = feasible
    starts: int = 0
    seconds: float = 0.0
    history: list = dataclasses.field(default_factory=list)
    safety_stop: bool = False  # the wall-clock safety stop ended the search


# ---------------------------------------------------------------------------------------------
# evaluation


def _move_unit_cost(problem: TerritoryProblem) -> float:
    """Objective (km of mean distance) per unit moved, from ``move_penalty``."""
    if problem.current is None or problem.move_penalty <= 0:
        return 0.0
    assert problem.current_given is not None  # set together with current (build_problem)
    return problem.move_penalty / max(int(problem.current_given.sum()), 1)


def _moved(problem: TerritoryProblem, labels: np.ndarray) -> np.ndarray:
    if problem.current is None:
        return np.zeros(problem.n, dtype=bool)
    return problem.current_given & (problem.current != labels)


def centres_of(problem: TerritoryProblem, labels: np.ndarray, previous=None) -> np.ndarray:
    """Best member unit of each territory: the weighted 1-median ``argmin_c sum w_i d(i, c)``.

    Only units allowed in the territory (not locked elsewhere) can be centres; a territory with
    no member gets -1. ``previous = (labels, centres)`` of an earlier call: territories whose
    members have not changed since keep their centre (the same result, less work).
    """
    k = problem.k
    out = np.full(k, -1, dtype=np.int64)
    todo: range | np.ndarray = range(k)
    if previous is not None:
        old_labels, old_centres = previous
        diff = old_labels != labels
        out[:] = old_centres
        todo = np.union1d(labels[diff], old_labels[diff])
        out[todo] = -1
    for s in todo:
        members = np.flatnonzero(labels == s)
        if len(members) == 0:
            continue
        out[s] = _one_median(problem, members)
    return out


def _one_median(problem: TerritoryProblem, members: np.ndarray) -> int:
    w = problem.weight[members]
    cand = members
    if len(members) > 400:
        # big territory: the 1-median is near the weighted centroid; test its 400 nearest
        # members instead of all |T|^2 pairs
        xyz_lat = np.average(problem.lat[members], weights=w + 1e-12)
        xyz_lon = np.average(problem.lon[members], weights=w + 1e-12)
        d0 = haversine_km(xyz_lat, xyz_lon, problem.lat[members], problem.lon[members])
        cand = members[np.argsort(d0, kind="stable")[:400]]
    d = distance_matrix_km(
        problem.lat[cand], problem.lon[cand], problem.lat[members], problem.lon[members]
    )
    return int(cand[np.argmin(d @ w)])


def evaluate(
    problem: TerritoryProblem, labels: np.ndarray, centres: np.ndarray | None = None, previous=None
):
    """(objective, violation, centres) of a complete assignment; centres re-optimised if None
    (``previous``: as in :func:`centres_of`).

    objective = sum_i w_i d(i, centre) / W + move cost; violation = relative balance excess
    summed over territories and measures + budget excess (in units / n).
    """
    if centres is None:
        centres = centres_of(problem, labels, previous) if problem.centers is None else None
    d = _unit_centre_km(problem, labels, centres)
    obj = float(problem.weight @ d) / problem.total_weight
    moved = _moved(problem, labels)
    obj += _move_unit_cost(problem) * moved.sum()
    sums = _territory_sums(problem, labels)
    viol = float(band_excess(problem, sums).sum())
    if problem.max_moved is not None:
        viol += BUDGET_WEIGHT * max(0, int(moved.sum()) - problem.max_moved)
    return obj, viol, centres


def _territory_sums(problem: TerritoryProblem, labels: np.ndarray) -> np.ndarray:
    sums = np.zeros((problem.k, problem.values.shape[1]))
    np.add.at(sums, labels, problem.values)
    return sums


def _centre_xy(problem: TerritoryProblem, centres) -> tuple[np.ndarray, np.ndarray]:
    if problem.centers is not None:
        return problem.centers[:, 0], problem.centers[:, 1]
    c = np.asarray(centres)
    return problem.lat[c], problem.lon[c]


def _unit_centre_km(problem: TerritoryProblem, labels, centres) -> np.ndarray:
    clat, clon = _centre_xy(problem, centres)
    return haversine_km(problem.lat, problem.lon, clat[labels], clon[labels])


# ---------------------------------------------------------------------------------------------
# allocation: balanced transportation LP + exact rounding of split units


def _allowed_pairs(problem: TerritoryProblem, centres) -> tuple[np.ndarray, np.ndarray]:
    """(unit, slot) pairs the locks allow: all, or each unit's nearest centres when n*k is
    large (then they depend on ``centres``)."""
    n, k = problem.n, problem.k
    if n * k <= _DENSE_PAIRS:
        i = np.repeat(np.arange(n), k)
        j = np.tile(np.arange(k), n)
    else:
        clat, clon = _centre_xy(problem, centres)
        q = min(k, 8)
        idx, _ = nearest_km(problem.lat, problem.lon, q, lat2=clat, lon2=clon)
        extra = []
        if problem.current is not None:
            extra.append(np.where(problem.current >= 0, problem.current, idx[:, 0])[:, None])
        cand = np.concatenate([idx, *extra], axis=1)
        i = np.repeat(np.arange(n), cand.shape[1])
        j = cand.ravel()
        key = np.unique(i * k + j)
        i, j = key // k, key % k
    # locks: a locked unit may only go to its slot
    lk = problem.locked
    keep = (lk[i] < 0) | (lk[i] == j)
    i, j = i[keep], j[keep]
    # a locked unit whose slot was not among its nearest centres: add that pair
    missing = np.setdiff1d(np.flatnonzero(lk >= 0), i)
    if len(missing):
        i = np.r_[i, missing]
        j = np.r_[j, lk[missing]]
    return i.astype(np.int64), j.astype(np.int64)


def _centre_slot(problem: TerritoryProblem, centres) -> np.ndarray:
    """(n,) the slot each unit is the centre of, -1 for the others."""
    is_c = np.full(problem.n, -1, dtype=np.int64)
    if problem.centers is None:
        c = np.asarray(centres)
        is_c[c[c >= 0]] = np.flatnonzero(c >= 0)
    return is_c


def _candidate_pairs(problem: TerritoryProblem, centres) -> tuple[np.ndarray, np.ndarray]:
    """Allowed (unit, slot) pairs (:func:`_allowed_pairs`), a centre unit with its own slot
    only."""
    i, j = _allowed_pairs(problem, centres)
    if problem.centers is None:
        is_c = _centre_slot(problem, centres)
        keep = (is_c[i] < 0) | (is_c[i] == j)
        i, j = i[keep], j[keep]
        c = np.asarray(centres)
        lost = np.setdiff1d(c[c >= 0], i)
        if len(lost):
            i = np.r_[i, lost]
            j = np.r_[j, is_c[lost]]
    return i, j


class _AllocationLP:
    """The allocation LP of :func:`allocate` in HiGHS (``highspy``) over fixed pairs ``(i, j)``.

    Only the pair costs (distances to the centres) and the pairs closed to centre units change
    from one location-allocation step to the next, so the model is kept and each solve starts
    from the previous optimal basis: on 1,500 blocks and 16 territories a re-solve takes a few
    hundred simplex iterations (0.02-0.03 s) instead of a cold 0.13 s. The simplex is
    deterministic, so the result depends only on the sequence of solves.

    Columns: pairs | over[j, m] | under[j, m] | budget excess. Rows: the two band rows per slot
    and measure (in shares of the measure's mean, slack priced at ``BALANCE_PENALTY``), the
    disruption budget (slack at ``BUDGET_PENALTY``), one assignment row per unit.
    """

    def __init__(self, problem: TerritoryProblem, i: np.ndarray, j: np.ndarray):
        import highspy

        n, k = problem.n, problem.k
        mcount = problem.values.shape[1]
        self.i, self.j = i, j
        p = len(i)
        self.moved = np.zeros(p, dtype=bool)
        if problem.current is not None:
            assert problem.current_given is not None  # set together with current
            self.moved = problem.current_given[i] & (problem.current[i] != j)
        safe = np.where(problem.mean > 0, problem.mean, 1.0)
        nslack = 2 * k * mcount
        has_budget = problem.max_moved is not None
        nv = p + nslack + int(has_budget)
        rows, cols, vals, lo, hi = [], [], [], [], []
        r = 0
        for m in range(mcount):
            over = p + m * k + np.arange(k)
            under = p + k * mcount + m * k + np.arange(k)
            a = problem.values[i, m] / safe[m]  # relative units keep the LP well scaled
            rows += [r + j, r + np.arange(k), r + k + j, r + k + np.arange(k)]
            cols += [np.arange(p), over, np.arange(p), under]
            vals += [a, -np.ones(k), a, np.ones(k)]
            lo += [np.full(k, -np.inf), problem.lower[:, m] / safe[m]]  # sum a x - over <= U
            hi += [problem.upper[:, m] / safe[m], np.full(k, np.inf)]  # sum a x + under >= L
            r += 2 * k
        if has_budget:
            assert problem.max_moved is not None  # has_budget
            rows += [np.full(p, r), np.array([r])]
            cols += [np.arange(p), np.array([nv - 1])]
            vals += [self.moved.astype(float), np.array([-1.0])]
            lo.append(np.array([-np.inf]))
            hi.append(np.array([float(problem.max_moved)]))
            r += 1
        rows.append(r + i)
        cols.append(np.arange(p))
        vals.append(np.ones(p))
        lo.append(np.ones(n))
        hi.append(np.ones(n))
        r += n
        mat = sp.csc_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, nv)
        )
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = nv, r
        lp.col_cost_ = np.r_[
            np.zeros(p), np.full(nslack, BALANCE_PENALTY), np.full(int(has_budget), BUDGET_PENALTY)
        ]
        lp.col_lower_ = np.zeros(nv)
        lp.col_upper_ = np.r_[np.ones(p), np.full(nv - p, np.inf)]
        lp.row_lower_ = np.concatenate(lo)
        lp.row_upper_ = np.concatenate(hi)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
        lp.a_matrix_.index_ = mat.indices.astype(np.int32)
        lp.a_matrix_.value_ = mat.data
        # the core class: highspy.Highs() prints HiGHS's banner to the process's stdout on
        # construction, before output_flag can be turned off (it adds only callbacks)
        core = getattr(highspy.highs, "_Highs", highspy.Highs)
        self.highs = core()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("threads", 1)
        self.highs.passModel(lp)
        self.p = p
        self.cols = np.arange(p, dtype=np.int32)
        self.closed = np.zeros(p, dtype=bool)

    def solve(self, cost: np.ndarray, closed: np.ndarray, seconds: float) -> np.ndarray | None:
        """Pair values ``x`` at these pair costs with the ``closed`` pairs at 0 (None when
        HiGHS did not reach the optimum)."""
        h = self.highs
        h.changeColsCost(self.p, self.cols, cost)
        change = np.flatnonzero(closed != self.closed).astype(np.int32)
        if len(change):
            upper = np.where(closed[change], 0.0, 1.0)
            h.changeColsBounds(len(change), change, np.zeros(len(change)), upper)
            self.closed = closed.copy()
        h.setOptionValue("time_limit", float(seconds))
        h.run()
        if h.getModelStatus().name != "kOptimal":
            return None
        return np.asarray(h.getSolution().col_value)[: self.p]

    @classmethod
    def for_starts(cls, problem: TerritoryProblem) -> _AllocationLP | None:
        """A model to keep through one start's location-allocation: when the pairs do not
        depend on the centres (dense pairs, free centres), else None."""
        if problem.n * problem.k > _DENSE_PAIRS or problem.centers is not None:
            return None
        return cls(problem, *_allowed_pairs(problem, None))


def allocate(
    problem: TerritoryProblem,
    centres,
    *,
    budget: Budget | None = None,
    dist: np.ndarray | None = None,
    round_near: int | None = None,
    lp: _AllocationLP | None = None,
) -> np.ndarray:
    """Balanced assignment of every unit to one of the given centres (slots).

    Minimises weighted distance with soft balance rows and a soft disruption budget; split
    units of the LP are then rounded by an exact MILP over just those units. ``lp``: a model
    kept from the previous call (:meth:`_AllocationLP.for_starts`), re-solved warm.
    """
    n = problem.n
    budget = unlimited_if_none(budget)
    if lp is not None:
        is_c = _centre_slot(problem, centres)
        own = (is_c[lp.i] >= 0) & (is_c[lp.i] == lp.j)  # at most one pair per centre unit
        closed = (is_c[lp.i] >= 0) & ~own
        if own.sum() < (is_c >= 0).sum():  # a centre locked elsewhere: its own pair is missing
            lp = None
    if lp is None:
        i, j = _candidate_pairs(problem, centres)
        lp = _AllocationLP(problem, i, j)
        closed = np.zeros(len(i), dtype=bool)
    i, j = lp.i, lp.j
    clat, clon = _centre_xy(problem, centres)
    if dist is None:
        km = haversine_km(problem.lat[i], problem.lon[i], clat[j], clon[j])
    else:  # e.g. shortest paths along the adjacency graph (see module docstring)
        km = dist[i, j]
    cost = problem.weight[i] * km / problem.total_weight
    if problem.current is not None:
        cost = cost + _move_unit_cost(problem) * lp.moved
    x = lp.solve(cost, closed, budget.seconds_left())
    if x is None:
        # fall back to nearest allowed centre (only on HiGHS trouble)
        log.warning("allocation LP not solved to optimality; using nearest centres")
        return _nearest_allowed(problem, i[~closed], j[~closed], cost[~closed])
    # per unit: the pair with the largest share
    order = np.lexsort((-x, i))
    first = np.r_[True, i[order][1:] != i[order][:-1]]
    best = order[first]
    labels = np.empty(n, dtype=np.int64)
    labels[i[best]] = j[best]
    share = np.zeros(n)
    share[i[best]] = x[best]
    split = np.flatnonzero(share < 1 - 1e-6)
    if round_near is None:
        round_near = ROUND_NEAR
    if len(split) and round_near >= 0:
        labels = _round_split(problem, labels, split, i, j, x, centres, budget, near=round_near)
    return labels


def _nearest_allowed(problem, i, j, cost) -> np.ndarray:
    order = np.lexsort((cost, i))
    first = np.r_[True, i[order][1:] != i[order][:-1]]
    labels = np.empty(problem.n, dtype=np.int64)
    labels[i[order][first]] = j[order][first]
    return labels


def _round_split(problem, labels, split, i, j, x, centres, budget, *, near: int = 8):
    """Round the LP's split units by an exact MILP over a small neighbourhood.

    The split units alone are not enough when units are big (a county holding a quarter of a
    territory's population): no rounding of it alone stays within the bands. So each split
    unit's ``near`` nearest units are freed too, and each freed unit may take its own LP
    territory or any territory its split neighbour was spread over. Everything else stays.
    """
    n, k = problem.n, problem.k
    mcount = problem.values.shape[1]
    safe = np.where(problem.mean > 0, problem.mean, 1.0)
    # territories each split unit is spread over
    pos = x > 1e-9
    spread: dict[int, set[int]] = {}
    for u, t in zip(i[pos], j[pos], strict=True):
        spread.setdefault(int(u), set()).add(int(t))
    allowed: dict[int, set[int]] = {}
    nb_idx, _ = nearest_km(
        problem.lat, problem.lon, min(n, near + 1), lat2=problem.lat, lon2=problem.lon
    )
    for u in split:
        u = int(u)
        slots = spread.get(u, {int(labels[u])})
        for v in nb_idx[u]:
            v = int(v)
            allowed.setdefault(v, {int(labels[v])}).update(slots)
        allowed.setdefault(u, set()).update(slots)
    # locks and centres restrict the freed units
    is_c = _centre_slot(problem, centres)
    pairs = []
    for v, slots in allowed.items():
        if problem.locked[v] >= 0:
            slots = {int(problem.locked[v])}
        elif is_c[v] >= 0:
            slots = {int(is_c[v])}
        for t in sorted(slots):
            pairs.append((v, t))
    free = np.array(sorted(allowed), dtype=np.int64)
    si = np.array([p_[0] for p_ in pairs], dtype=np.int64)
    sj = np.array([p_[1] for p_ in pairs], dtype=np.int64)
    clat, clon = _centre_xy(problem, centres)
    sc = problem.weight[si] * haversine_km(problem.lat[si], problem.lon[si], clat[sj], clon[sj])
    sc = sc / problem.total_weight
    smv = np.zeros(len(si), dtype=bool)
    if problem.current is not None:
        smv = problem.current_given[si] & (problem.current[si] != sj)
        sc = sc + _move_unit_cost(problem) * smv
    fixed = np.ones(n, dtype=bool)
    fixed[free] = False
    base = _territory_sums_subset(problem, labels, fixed)
    q = len(si)
    loc = {int(u): t for t, u in enumerate(free)}
    ui = np.array([loc[int(u)] for u in si], dtype=np.int64)
    nslack = 2 * k * mcount
    has_budget = problem.max_moved is not None
    nv = q + nslack + int(has_budget)
    c = np.r_[sc, np.full(nslack, BALANCE_PENALTY), np.full(int(has_budget), BUDGET_PENALTY)]
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0
    for m in range(mcount):
        over = q + m * k + np.arange(k)
        under = q + k * mcount + m * k + np.arange(k)
        a = problem.values[si, m] / safe[m]
        b = base[:, m] / safe[m]
        rows += [r + sj, r + np.arange(k)]
        cols += [np.arange(q), over]
        vals += [a, -np.ones(k)]
        lo.append(np.full(k, -np.inf))
        hi.append(problem.upper[:, m] / safe[m] - b)
        r += k
        rows += [r + sj, r + np.arange(k)]
        cols += [np.arange(q), under]
        vals += [a, np.ones(k)]
        lo.append(problem.lower[:, m] / safe[m] - b)
        hi.append(np.full(k, np.inf))
        r += k
    rows.append(r + ui)
    cols.append(np.arange(q))
    vals.append(np.ones(q))
    lo.append(np.ones(len(free)))
    hi.append(np.ones(len(free)))
    r += len(free)
    if has_budget:
        already = int((_moved(problem, labels) & fixed).sum())
        r = _budget_row(rows, cols, vals, lo, hi, r, smv, nv, problem.max_moved - already)
    a = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, nv)
    )
    res = milp(
        c,
        constraints=LinearConstraint(a, np.concatenate(lo), np.concatenate(hi)),
        integrality=np.r_[np.ones(q), np.zeros(nv - q)],
        bounds=Bounds(np.zeros(nv), np.r_[np.ones(q), np.full(nv - q, np.inf)]),
        options=budget.highs(node_limit=ROUND_NODES, mip_rel_gap=1e-2),
    )
    out = labels.copy()
    if res.x is not None:
        pick = res.x[:q] > 0.5
        out[si[pick]] = sj[pick]
    return out


def _moved_fixed(problem, labels):
    return _moved(problem, labels)


def _territory_sums_subset(problem, labels, mask) -> np.ndarray:
    sums = np.zeros((problem.k, problem.values.shape[1]))
    np.add.at(sums, labels[mask], problem.values[mask])
    return sums


# ---------------------------------------------------------------------------------------------
# contiguity


def component_pieces(graph: sp.csr_matrix, labels: np.ndarray) -> np.ndarray:
    """Piece id of every unit: connected components of the graph restricted to edges inside
    one territory. A territory is contiguous iff all its units share one piece id."""
    g = graph.tocoo()
    same = labels[g.row] == labels[g.col]
    sub = sp.csr_matrix((np.ones(same.sum()), (g.row[same], g.col[same])), shape=graph.shape)
    return _cc(sub, directed=False)[1]


def repair_contiguity(problem: TerritoryProblem, labels: np.ndarray, centres) -> np.ndarray:
    """Give every piece of a territory that is cut off from its main piece to a neighbouring
    territory, cheapest first, until every territory is one piece.

    The main piece is the one holding the centre (or, with fixed centres, the most locked
    units, then the most weight). Pieces holding units locked to this territory cannot leave
    it; if one exists apart from the main piece, it stays and the plan reports it.
    """
    graph = problem.graph
    labels = labels.copy()
    clat, clon = (
        _centre_xy(problem, centres)
        if problem.centers is not None or centres is not None
        else (None, None)
    )
    for _ in range(problem.n):
        piece = component_pieces(graph, labels)
        changed = False
        for s in range(problem.k):
            members = np.flatnonzero(labels == s)
            if len(members) == 0:
                continue
            pids = np.unique(piece[members])
            if len(pids) <= 1:
                continue
            main = _main_piece(problem, labels, piece, members, s, centres)
            for pid in pids:
                if pid == main:
                    continue
                part = members[piece[members] == pid]
                if (problem.locked[part] == s).any():
                    continue  # locked here: cannot move, reported later
                target = _best_neighbour_territory(problem, labels, part, s, clat, clon)
                if target is None:
                    continue
                labels[part] = target
                changed = True
        if not changed:
            break
    return labels


def _main_piece(problem, labels, piece, members, s, centres) -> int:
    if (
        problem.centers is None
        and centres is not None
        and centres[s] >= 0
        and labels[centres[s]] == s
    ):
        return int(piece[centres[s]])
    pids = piece[members]
    locked = (problem.locked[members] == s).astype(float)
    wt = problem.weight[members] + 1e-9
    score = {}
    for pid in np.unique(pids):
        sel = pids == pid
        score[pid] = (locked[sel].sum(), wt[sel].sum())
    return int(max(score, key=score.__getitem__))


def _best_neighbour_territory(problem, labels, part, s, clat, clon):
    g = problem.graph
    nb = np.unique(g[part].indices)
    cand = np.unique(labels[nb])
    cand = cand[cand != s]
    # locked units in the piece restrict where it can go
    lk = problem.locked[part]
    if (lk >= 0).any():
        allowed = np.unique(lk[lk >= 0])
        cand = np.intersect1d(cand, allowed)
    if len(cand) == 0:
        return None
    if clat is None:
        return int(cand[0])
    w = problem.weight[part]
    costs = [
        float(w @ haversine_km(problem.lat[part], problem.lon[part], clat[t], clon[t]))
        for t in cand
    ]
    return int(cand[int(np.argmin(costs))])


# ---------------------------------------------------------------------------------------------
# local search


def _band_pen(st, sums, slots) -> np.ndarray:
    """Balance excess (in shares of the mean) of sums ``(..., M)`` held by territories
    ``slots`` (an index, an array of them aligned with ``sums``, or ``slice(None)``)."""
    p = st.p
    ex = np.maximum(sums - p.upper[slots], 0) + np.maximum(p.lower[slots] - sums, 0)
    return (ex / st.safe).sum(-1)


class _State:
    """Incremental bookkeeping of one plan for the local search."""

    def __init__(self, problem: TerritoryProblem, labels: np.ndarray, centres):
        self.p = problem
        self.labels = labels.copy()
        self.centres = None if centres is None else np.asarray(centres).copy()
        self._centres_at = None  # (labels, centres) when the centres were last computed
        self.sums = _territory_sums(problem, self.labels)
        self.safe = np.where(problem.mean > 0, problem.mean, 1.0)
        self.W = problem.total_weight
        self.move_cost = _move_unit_cost(problem)
        self.moved = int(_moved(problem, self.labels).sum())
        g = _move_graph(problem)
        self.graph = g
        self.contiguity = problem.graph is not None
        self.indptr = g.indptr
        self.indices = g.indices
        self.refresh_centres()

    def refresh_centres(self):
        p = self.p
        if p.centers is None:
            self.centres = centres_of(p, self.labels, self._centres_at)
            self._centres_at = (self.labels.copy(), self.centres.copy())
        clat, clon = _centre_xy(p, self.centres)
        self.clat, self.clon = clat, clon
        self.is_centre = np.zeros(p.n, dtype=bool)
        if p.centers is None:
            self.is_centre[self.centres[self.centres >= 0]] = True

    def pen(self, s: int, sums_row: np.ndarray) -> float:
        """Balance excess of territory ``s`` if its sums were ``sums_row``."""
        p = self.p
        ex = np.maximum(sums_row - p.upper[s], 0) + np.maximum(p.lower[s] - sums_row, 0)
        return float((ex / self.safe).sum())

    def budget_pen(self, moved: int) -> float:
        b = self.p.max_moved
        return 0.0 if b is None else BUDGET_WEIGHT * max(0, moved - b)

    def dist(self, i: int, s: int) -> float:
        return float(haversine_km(self.p.lat[i], self.p.lon[i], self.clat[s], self.clon[s]))

    def move_delta(self, moves: list[tuple[int, int]]) -> tuple[float, float]:
        """(violation change, objective change) of applying moves (unit, to-slot) together."""
        p = self.p
        sums = {}
        dobj = 0.0
        dmoved = 0
        for i, t in moves:
            s = self.labels[i]
            for slot, sign in ((s, -1), (t, 1)):
                if slot not in sums:
                    sums[slot] = self.sums[slot].copy()
                sums[slot] += sign * p.values[i]
            dobj += p.weight[i] * (self.dist(i, t) - self.dist(i, s)) / self.W
            # current_given is set together with current (build_problem)
            if p.current is not None and cast(np.ndarray, p.current_given)[i]:
                dmoved += int(p.current[i] != t) - int(p.current[i] != s)
        dviol = sum(self.pen(s, v) - self.pen(s, self.sums[s]) for s, v in sums.items())
        dviol += self.budget_pen(self.moved + dmoved) - self.budget_pen(self.moved)
        dobj += self.move_cost * dmoved
        return dviol, dobj

    def apply(self, moves):
        p = self.p
        for i, t in moves:
            s = self.labels[i]
            self.sums[s] -= p.values[i]
            self.sums[t] += p.values[i]
            if p.current is not None and p.current_given[i]:
                self.moved += int(p.current[i] != t) - int(p.current[i] != s)
            self.labels[i] = t

    def can_leave(self, i: int, exclude: frozenset = frozenset()) -> bool:
        """Does territory labels[i] stay connected without i (and without ``exclude``)?
        Without contiguity: only that the territory does not become empty."""
        s = self.labels[i]
        if not self.contiguity:
            return bool(((self.labels == s).sum() - 1 - len(exclude)) > 0)
        nbrs = [
            v
            for v in self.indices[self.indptr[i] : self.indptr[i + 1]]
            if self.labels[v] == s and v not in exclude
        ]
        if len(nbrs) <= 1:
            if len(nbrs) == 0:
                # i is alone in its territory (or cut off): leaving empties it or heals it
                return bool(((self.labels == s).sum() - 1 - len(exclude)) > 0)
            return True
        targets = set(nbrs[1:])
        seen = {i, nbrs[0], *exclude}
        stack = [nbrs[0]]
        labels, indptr, indices = self.labels, self.indptr, self.indices
        while stack and targets:
            u = stack.pop()
            for v in indices[indptr[u] : indptr[u + 1]]:
                if v not in seen and labels[v] == s:
                    seen.add(v)
                    targets.discard(v)
                    stack.append(v)
        return not targets

    def movable(self, i: int) -> bool:
        return self.p.locked[i] < 0 and not self.is_centre[i]


def _move_graph(problem: TerritoryProblem, knn: int = 8) -> sp.csr_matrix:
    """Where a unit may move: along the adjacency graph, or (no contiguity required) to the
    territories of its ``knn`` nearest units."""
    if problem.graph is not None:
        return problem.graph
    n = problem.n
    if n < 2:
        return sp.csr_matrix((n, n))
    idx, _ = nearest_km(problem.lat, problem.lon, min(n, knn + 1))
    i = np.repeat(np.arange(n), idx.shape[1])
    j = idx.ravel()
    keep = i != j
    m = sp.csr_matrix(
        (np.ones(2 * keep.sum()), (np.r_[i[keep], j[keep]], np.r_[j[keep], i[keep]])), shape=(n, n)
    )
    m.data[:] = 1.0
    return m


def _boundary_pairs(units: np.ndarray, territories: np.ndarray, k: int) -> np.ndarray:
    """Distinct (unit, neighbouring territory) rows, sorted by unit then territory (the
    order of ``np.unique(..., axis=0)``, through one integer key: much faster)."""
    key = np.unique(units.astype(np.int64) * k + territories)
    return np.c_[key // k, key % k]


def _key(dviol: float, dobj: float) -> float:
    return dviol * BALANCE_PENALTY + dobj


def local_search(
    problem: TerritoryProblem,
    labels: np.ndarray,
    centres,
    *,
    budget: Budget,
    rng: np.random.Generator,
    max_passes: int = 60,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Improve a contiguous plan by boundary moves, swaps and chains (see module docstring)."""
    st = _State(problem, labels, centres)
    g = st.graph.tocoo()
    eps = 1e-12
    for _ in range(max_passes):
        if budget.expired():
            break
        improved = False
        # -- single boundary moves, best first
        cross = st.labels[g.row] != st.labels[g.col]
        cand = _boundary_pairs(g.row[cross], st.labels[g.col[cross]], problem.k)
        if len(cand):
            scores = _vector_scores(st, cand)
            for idx in np.argsort(scores, kind="stable"):
                if scores[idx] >= -eps:
                    break
                i, t = int(cand[idx, 0]), int(cand[idx, 1])
                if st.labels[i] == t or not st.movable(i):
                    continue
                if not _touches(st, i, t):
                    continue
                dv, do = st.move_delta([(i, t)])
                if _key(dv, do) < -eps and st.can_leave(i):
                    st.apply([(i, t)])
                    improved = True
        viol = sum(st.pen(s, st.sums[s]) for s in range(problem.k)) + st.budget_pen(st.moved)
        if not improved:
            # -- pairs: swap across a boundary, or chain a->b, b->c
            improved = _pair_moves(st, g, rng, budget, balance_only=viol > 1e-12)
        old = st.centres.copy() if st.centres is not None else None
        st.refresh_centres()
        # old is not None: there were centres, and refresh_centres keeps or recomputes them
        if not improved and (old is None or np.array_equal(old, cast(np.ndarray, st.centres))):
            break
    return st.labels, st.centres


def _vector_scores(st: _State, cand: np.ndarray) -> np.ndarray:
    """Approximate move scores for many (unit, to-slot) candidates at once (exact per move
    before it is applied)."""
    p = st.p
    i, t = cand[:, 0], cand[:, 1]
    s = st.labels[i]
    d_new = haversine_km(p.lat[i], p.lon[i], st.clat[t], st.clon[t])
    d_old = haversine_km(p.lat[i], p.lon[i], st.clat[s], st.clon[s])
    dobj = p.weight[i] * (d_new - d_old) / st.W
    a = p.values[i]
    dviol = _band_pen(st, st.sums[s] - a, s) - _band_pen(st, st.sums[s], s)
    dviol += _band_pen(st, st.sums[t] + a, t) - _band_pen(st, st.sums[t], t)
    if p.current is not None:
        assert p.current_given is not None  # set together with current (build_problem)
        given = p.current_given[i]
        dm = given * ((p.current[i] != t).astype(int) - (p.current[i] != s).astype(int))
        dobj = dobj + st.move_cost * dm
        if p.max_moved is not None:
            over0 = max(0, st.moved - p.max_moved)
            dviol = dviol + BUDGET_WEIGHT * (np.maximum(0, st.moved + dm - p.max_moved) - over0)
    return dviol * BALANCE_PENALTY + dobj


def _touches(st: _State, i: int, t: int) -> bool:
    nb = st.indices[st.indptr[i] : st.indptr[i + 1]]
    return bool((st.labels[nb] == t).any())


def _pair_moves(st: _State, g, rng, budget: Budget, *, balance_only: bool) -> bool:
    """Try two coordinated moves: a swap (i: a->b, j: b->a) or a chain (i: a->b, j: b->c).

    Single moves get stuck when balance is tight: moving i out of a makes a too light. A pair
    keeps sums nearly level. Candidates are boundary units (the most promising ``limit`` per
    territory by single-move score); pair scores are computed vectorised and the best
    improving pair whose moves keep every territory contiguous is applied.
    """
    p = st.p
    cross = st.labels[g.row] != st.labels[g.col]
    cand = _boundary_pairs(g.row[cross], st.labels[g.col[cross]], st.p.k)
    if len(cand) == 0:
        return False
    keep = np.array([st.movable(int(i)) for i in cand[:, 0]])
    cand = cand[keep]
    if len(cand) == 0:
        return False
    single = _vector_scores(st, cand)
    src = st.labels[cand[:, 0]]
    limit = 40 if p.k <= 50 else 12  # pairs are checked in Python: fewer per territory at large k
    trimmed: dict[int, np.ndarray] = {}
    for s in np.unique(src):
        rows = np.flatnonzero(src == s)
        trimmed[int(s)] = rows[np.argsort(single[rows], kind="stable")[:limit]]
    # per-candidate pieces of the score that simply add up
    i_all, t_all = cand[:, 0], cand[:, 1]
    s_all = src
    d_obj = (
        p.weight[i_all]
        * (
            haversine_km(p.lat[i_all], p.lon[i_all], st.clat[t_all], st.clon[t_all])
            - haversine_km(p.lat[i_all], p.lon[i_all], st.clat[s_all], st.clon[s_all])
        )
        / st.W
    )
    dm = np.zeros(len(cand), dtype=np.int64)
    if p.current is not None:
        assert p.current_given is not None  # set together with current (build_problem)
        given = p.current_given[i_all]
        dm = given * (
            (p.current[i_all] != t_all).astype(int) - (p.current[i_all] != s_all).astype(int)
        )
    d_obj = d_obj + st.move_cost * dm
    vals = p.values[i_all]
    base_pen = _band_pen(st, st.sums, slice(None))  # (k,)
    over0 = st.budget_pen(st.moved)
    best_key, best_pair = -1e-12, None
    for s, rows in trimmed.items():
        if budget.expired():
            break
        for r in rows:
            t = int(t_all[r])
            if t not in trimmed:
                continue
            js = trimmed[t]
            js = js[i_all[js] != i_all[r]]
            if len(js) == 0:
                continue
            u = t_all[js]
            ai, aj = vals[r], vals[js]
            swap = u == s
            # new sums: s loses a_i (gains a_j on a swap); t gains a_i, loses a_j; u gains a_j
            ns = st.sums[s] - ai + np.where(swap[:, None], aj, 0.0)
            nt = st.sums[t] + ai - aj
            nu = st.sums[u] + aj
            dviol = _band_pen(st, ns, s) - base_pen[s] + _band_pen(st, nt, t) - base_pen[t]
            dviol = dviol + np.where(swap, 0.0, _band_pen(st, nu, u) - base_pen[u])
            if p.max_moved is not None:
                over = BUDGET_WEIGHT * np.maximum(0, st.moved + dm[r] + dm[js] - p.max_moved)
                dviol = dviol + over - over0
            key = dviol * BALANCE_PENALTY + d_obj[r] + d_obj[js]
            if balance_only:
                key = np.where(dviol < -1e-12, key, np.inf)
            b = int(np.argmin(key))
            if key[b] < best_key:
                pair = ((int(i_all[r]), t), (int(i_all[js[b]]), int(u[b])))
                if _pair_ok(st, pair):
                    best_key, best_pair = float(key[b]), pair
    if best_pair is None:
        return False
    (i, t), (j, u) = best_pair
    st.apply([(i, t)])
    st.apply([(j, u)])
    return True


def _pair_ok(st: _State, pair) -> bool:
    """Both moves keep contiguity when applied in order (checked, then undone)."""
    (i, t), (j, u) = pair
    s = int(st.labels[i])
    if not st.can_leave(i):
        return False
    st.apply([(i, t)])
    ok = st.labels[j] == t and _touches(st, j, u) and st.can_leave(j)
    st.apply([(i, s)])
    return bool(ok)


def _vector_parts(st: _State, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(violation change, objective change) for many single moves (unit, to-slot) at once."""
    p = st.p
    i, t = cand[:, 0], cand[:, 1]
    s = st.labels[i]
    dobj = (
        p.weight[i]
        * (
            haversine_km(p.lat[i], p.lon[i], st.clat[t], st.clon[t])
            - haversine_km(p.lat[i], p.lon[i], st.clat[s], st.clon[s])
        )
        / st.W
    )
    a = p.values[i]
    dviol = _band_pen(st, st.sums[s] - a, s) - _band_pen(st, st.sums[s], s)
    dviol += _band_pen(st, st.sums[t] + a, t) - _band_pen(st, st.sums[t], t)
    if p.current is not None:
        assert p.current_given is not None  # set together with current (build_problem)
        given = p.current_given[i]
        dm = given * ((p.current[i] != t).astype(int) - (p.current[i] != s).astype(int))
        dobj = dobj + st.move_cost * dm
        if p.max_moved is not None:
            over0 = max(0, st.moved - p.max_moved)
            dviol = dviol + BUDGET_WEIGHT * (np.maximum(0, st.moved + dm - p.max_moved) - over0)
    return dviol, dobj


def tabu_search(
    problem: TerritoryProblem,
    labels: np.ndarray,
    centres,
    *,
    budget: Budget,
    rng: np.random.Generator,
    max_iter: int | None = None,
    stall: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Tabu search over boundary moves with an oscillating balance penalty.

    The search minimises ``distance + alpha * violation``; ``alpha`` grows while the plan is
    infeasible and shrinks while it is feasible (strategic oscillation), so the search can
    cross infeasible ground between feasible plans instead of stalling at the first
    balance-tight local optimum. A unit may not return to the territory it just left for a
    few iterations (the tabu list) unless that gives a new best plan. Every move keeps both
    territories contiguous. The best plan by (violation, distance) is returned, with centres
    re-optimised.
    """
    st = _State(problem, labels, centres)
    g = st.graph.tocoo()
    row, col = g.row, g.col
    n, k = problem.n, problem.k
    if max_iter is None:
        max_iter = budget.scaled(min(400 + 4 * n, TABU_CAP))
    if stall is None:
        stall = budget.scaled(STALL_BASE + n // 4)

    last = None  # (labels, centres) of the previous evaluation: unchanged territories keep theirs

    def true_eval():
        nonlocal last
        if problem.centers is not None:
            return evaluate(problem, st.labels, st.centres)
        obj, viol, c = evaluate(problem, st.labels, previous=last)
        last = (st.labels.copy(), c)
        return obj, viol, c

    obj0, viol0, c0 = true_eval()
    best = (viol0, obj0, st.labels.copy(), c0)
    viol_now = float(sum(st.pen(s, st.sums[s]) for s in range(k)) + st.budget_pen(st.moved))
    obj_now = _fixed_centre_objective(st)
    alpha = max(obj_now, 1.0)
    tabu_until: dict[tuple[int, int], int] = {}
    last_improve = 0
    feasible_streak = infeasible_streak = 0
    for it in range(max_iter):
        if it - last_improve > stall or budget.expired():
            break
        cross = st.labels[row] != st.labels[col]
        if not cross.any():
            break
        cand = _boundary_pairs(row[cross], st.labels[col[cross]], k)
        ok = (problem.locked[cand[:, 0]] < 0) & ~st.is_centre[cand[:, 0]]
        cand = cand[ok]
        if len(cand) == 0:
            break
        dviol, dobj = _vector_parts(st, cand)
        score = dobj + alpha * dviol
        # random tie-break keeps different seeds exploring differently
        score = score + 1e-12 * rng.random(len(score))
        chosen = None
        for idx in np.argsort(score, kind="stable")[:64]:
            i, t = int(cand[idx, 0]), int(cand[idx, 1])
            new_viol = viol_now + dviol[idx]
            new_obj = obj_now + dobj[idx]
            is_tabu = tabu_until.get((i, t), -1) >= it
            if is_tabu and not (new_viol <= best[0] + 1e-12 and new_obj < best[1] - 1e-9):
                continue
            if not st.can_leave(i):
                continue
            chosen = (i, t, idx)
            break
        if chosen is None:
            break
        i, t, idx = chosen
        s = int(st.labels[i])
        st.apply([(i, t)])
        tabu_until[(i, s)] = it + 5 + int(rng.integers(0, 6))
        viol_now += float(dviol[idx])
        obj_now += float(dobj[idx])
        feasible = viol_now <= 1e-12
        if feasible:
            feasible_streak += 1
            infeasible_streak = 0
        else:
            infeasible_streak += 1
            feasible_streak = 0
        if (viol_now < best[0] - 1e-12) or (
            feasible and viol_now <= best[0] + 1e-12 and obj_now < best[1] - 1e-9
        ):
            obj, viol, c = true_eval()
            if (viol, obj) < (best[0], best[1]):
                best = (viol, obj, st.labels.copy(), c)
                last_improve = it
        if infeasible_streak >= 8:
            alpha *= 1.5
            infeasible_streak = 0
        elif feasible_streak >= 8:
            alpha = max(alpha / 1.5, 1e-3)
            feasible_streak = 0
        if it % 25 == 24:
            st.refresh_centres()
            viol_now = float(sum(st.pen(q, st.sums[q]) for q in range(k)) + st.budget_pen(st.moved))
            obj_now = _fixed_centre_objective(st)
    return best[2], best[3]


def _fixed_centre_objective(st: _State) -> float:
    p = st.p
    d = haversine_km(p.lat, p.lon, st.clat[st.labels], st.clon[st.labels])
    return float(p.weight @ d) / st.W + st.move_cost * st.moved


def _territory_graph(problem: TerritoryProblem, labels: np.ndarray) -> list[set[int]]:
    """Which territories touch which (through at least one adjacency edge; without a graph,
    each territory's three nearest by weighted centroid)."""
    if problem.graph is None:
        k = problem.k
        w = problem.weight + 1e-12
        lat = np.bincount(labels, w * problem.lat, k) / np.bincount(labels, w, k).clip(1e-12)
        lon = np.bincount(labels, w * problem.lon, k) / np.bincount(labels, w, k).clip(1e-12)
        d = distance_matrix_km(lat, lon)
        np.fill_diagonal(d, np.inf)
        near = np.argsort(d, axis=1)[:, :3]
        out: list[set[int]] = [set(map(int, row)) for row in near]
        for a in range(k):
            for b in out[a].copy():
                out[b].add(a)
        return out
    g = problem.graph.tocoo()
    a, b = labels[g.row], labels[g.col]
    cross = a != b
    out = [set() for _ in range(problem.k)]
    for x, y in set(zip(a[cross].tolist(), b[cross].tolist(), strict=True)):
        out[x].add(y)
    return out


def _budget_row(rows, cols, vals, lo, hi, r: int, moved: np.ndarray, nv: int, room: float) -> int:
    """Append the disruption-budget row of a MILP (moves among the free variables, less the
    last variable's slack, at most ``room``); return the next row index."""
    q = len(moved)
    rows += [np.full(q, r), np.array([r])]
    cols += [np.arange(q), np.array([nv - 1])]
    vals += [moved.astype(float), np.array([-1.0])]
    lo.append(np.array([-np.inf]))
    hi.append(np.array([float(room)]))
    return r + 1


def group_milp(
    problem: TerritoryProblem,
    labels: np.ndarray,
    centres,
    group: list[int],
    *,
    budget: Budget | None = None,
    edge_km: sp.csr_matrix | None = None,
) -> np.ndarray | None:
    """Re-assign every unit of the territories in ``group`` optimally (MILP), contiguously.

    Units outside the group stay. The MILP minimises weighted distance to the (fixed) centres
    with the balance rows of the group's territories (soft, heavy penalty), locks, centres
    pinned to their territory and the disruption budget.

    Contiguity uses the shortest-path constraints of Zoltners & Sinha (1983): with
    ``dist_j(u)`` the shortest path (km along adjacency edges, inside the group) from
    territory j's root unit, a unit may join j only with a neighbour that is closer to the
    root and also joins j: ``x_uj <= sum_{v in N(u), dist_j(v) < dist_j(u)} x_vj``. Every unit
    of j then has a path to the root inside j, so j is contiguous after one solve. (The
    constraint excludes some contiguous plans; as a neighbourhood of a heuristic that is fine.)

    Returns the new labels, or None when the MILP found nothing within its node limit.
    """
    from scipy.sparse.csgraph import dijkstra

    n = problem.n
    mcount = problem.values.shape[1]
    gset = set(group)
    free = np.flatnonzero(np.isin(labels, group))
    if len(free) == 0:
        return None
    local = np.full(n, -1, dtype=np.int64)
    local[free] = np.arange(len(free))
    # roots: the centre unit, or (fixed homes) the member nearest the home, or a locked unit
    clat, clon = _centre_xy(problem, centres)
    roots = {}
    for t in group:
        mem = np.flatnonzero(labels == t)
        if len(mem) == 0:
            return None
        if problem.centers is None and centres[t] >= 0 and labels[centres[t]] == t:
            roots[t] = int(centres[t])
        else:
            d = haversine_km(problem.lat[mem], problem.lon[mem], clat[t], clon[t])
            lk = mem[problem.locked[mem] == t]
            roots[t] = int(lk[0]) if len(lk) else int(mem[np.argmin(d)])
    if problem.graph is None:  # no contiguity: every free unit may join any group territory
        dist = np.zeros((len(group), len(free)))
    else:
        if edge_km is None:
            edge_km = _edge_km(problem)
        sub = edge_km[free][:, free]
        dist = dijkstra(sub, directed=False, indices=[int(local[roots[t]]) for t in group])
    pi, pj = [], []
    for t_idx, t in enumerate(group):
        reach = np.isfinite(dist[t_idx])
        for u in free[reach]:
            lk = problem.locked[u]
            if lk >= 0 and lk != t:
                continue
            if u in roots.values() and roots[t] != u:
                continue
            pi.append(int(u))
            pj.append(int(t))
    si = np.asarray(pi, dtype=np.int64)
    sj = np.asarray(pj, dtype=np.int64)
    # every free unit needs somewhere to go; locked units whose territory is outside the group
    # (cannot happen: they are in their territory) and unreachable ones stay put
    covered = np.zeros(n, dtype=bool)
    covered[si] = True
    stay = free[~covered[free]]
    for u in stay:
        if labels[u] in gset:
            si = np.r_[si, u]
            sj = np.r_[sj, labels[u]]
    q = len(si)
    col_of = {(int(u), int(t)): c_ for c_, (u, t) in enumerate(zip(si, sj, strict=True))}
    W = problem.total_weight
    cost = (
        problem.weight[si] * haversine_km(problem.lat[si], problem.lon[si], clat[sj], clon[sj]) / W
    )
    moved = np.zeros(q, dtype=bool)
    if problem.current is not None:
        assert problem.current_given is not None  # set together with current (build_problem)
        moved = problem.current_given[si] & (problem.current[si] != sj)
        cost = cost + _move_unit_cost(problem) * moved
    safe = np.where(problem.mean > 0, problem.mean, 1.0)
    gk = len(group)
    gpos = {t: r for r, t in enumerate(group)}
    nslack = 2 * gk * mcount
    has_budget = problem.max_moved is not None
    nv = q + nslack + int(has_budget)
    c_vec = np.r_[cost, np.full(nslack, BALANCE_PENALTY), np.full(int(has_budget), BUDGET_PENALTY)]
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0
    gr = np.array([gpos[int(t)] for t in sj], dtype=np.int64)
    for m in range(mcount):
        a = problem.values[si, m] / safe[m]
        over = q + m * gk + np.arange(gk)
        under = q + gk * mcount + m * gk + np.arange(gk)
        rows += [r + gr, r + np.arange(gk)]
        cols += [np.arange(q), over]
        vals += [a, -np.ones(gk)]
        lo.append(np.full(gk, -np.inf))
        hi.append(problem.upper[group, m] / safe[m])
        r += gk
        rows += [r + gr, r + np.arange(gk)]
        cols += [np.arange(q), under]
        vals += [a, np.ones(gk)]
        lo.append(problem.lower[group, m] / safe[m])
        hi.append(np.full(gk, np.inf))
        r += gk
    rows.append(r + local[si])
    cols.append(np.arange(q))
    vals.append(np.ones(q))
    lo.append(np.ones(len(free)))
    hi.append(np.ones(len(free)))
    r += len(free)
    # shortest-path contiguity rows
    pairs_sp = (
        [] if problem.graph is None else list(enumerate(zip(si.tolist(), sj.tolist(), strict=True)))
    )
    if problem.graph is not None:
        indptr, indices = problem.graph.indptr, problem.graph.indices
    for c_, (u, t) in pairs_sp:
        if u == roots[t]:
            continue
        du = dist[gpos[t], local[u]]
        if not np.isfinite(du):
            continue
        closer = []
        for v in indices[indptr[u] : indptr[u + 1]]:
            lv = local[v]
            if lv >= 0 and dist[gpos[t], lv] < du:
                cv = col_of.get((int(v), t))
                if cv is not None:
                    closer.append(cv)
        rows.append(np.full(1 + len(closer), r))
        cols.append(np.r_[c_, closer].astype(np.int64))
        vals.append(np.r_[1.0, -np.ones(len(closer))])
        lo.append(np.array([-np.inf]))
        hi.append(np.array([0.0]))
        r += 1
    if has_budget:
        outside = np.ones(n, dtype=bool)
        outside[free] = False
        already = int((_moved(problem, labels) & outside).sum())
        assert problem.max_moved is not None  # has_budget
        r = _budget_row(rows, cols, vals, lo, hi, r, moved, nv, problem.max_moved - already)
    mat = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, nv)
    )
    res = milp(
        c_vec,
        constraints=LinearConstraint(mat, np.concatenate(lo), np.concatenate(hi)),
        integrality=np.r_[np.ones(q), np.zeros(nv - q)],
        bounds=Bounds(np.zeros(nv), np.r_[np.ones(q), np.full(nv - q, np.inf)]),
        options=unlimited_if_none(budget).highs(node_limit=GROUP_NODES, mip_rel_gap=2e-3),
    )
    if res.x is None:
        return None
    pick = res.x[:q] > 0.5
    new = labels.copy()
    new[si[pick]] = sj[pick]
    return new


def _edge_km(problem: TerritoryProblem) -> sp.csr_matrix:
    """Adjacency graph weighted by haversine km between unit centroids (a tiny floor keeps
    coincident units connected: csgraph treats 0 as no edge)."""
    assert problem.graph is not None  # called only with an adjacency graph
    g = problem.graph.tocoo()
    km = haversine_km(
        problem.lat[g.row], problem.lon[g.row], problem.lat[g.col], problem.lon[g.col]
    )
    return sp.csr_matrix((np.maximum(km, 1e-6), (g.row, g.col)), shape=g.shape)


def _repair_groups(problem, t, sums, tgraph, limit: int = 14) -> list[list[int]]:
    """Candidate groups for re-balancing territory t: t with two direct neighbours, then t
    with three territories from its first two rings, ranked by how much room they have in the
    direction t needs (a heavy territory needs light neighbours)."""
    from itertools import combinations

    scale = np.where(problem.mean > 0, problem.mean, 1.0)
    target = problem.target
    need = np.sign(sums[t] - target[t])
    room = {u: float(-((sums[u] - target[u]) * need / scale).sum()) for u in range(problem.k)}
    near = sorted(tgraph[t])
    ring: set[int] | list[int]
    ring = set(near)
    for u in near:
        ring |= tgraph[u]
    ring.discard(t)
    ring = sorted(ring)
    out = []
    for a, b in combinations(near, 2):
        out.append((room[a] + room[b], sorted([t, a, b])))
    out.sort(key=lambda x: -x[0])
    groups = [g for _, g in out[: limit // 2]] if len(near) > 1 else [sorted([t, *near])]
    wide = []
    for trio in combinations(ring, 3):
        if not any(u in near for u in trio):
            continue
        # the group must be connected through t's neighbours
        if not all(u in near or any(u in tgraph[v] for v in trio if v in near) for u in trio):
            continue
        wide.append((sum(room[u] for u in trio), sorted([t, *trio])))
    wide.sort(key=lambda x: -x[0])
    groups += [g for _, g in wide[: limit - len(groups)]]
    return groups


def lns(
    problem: TerritoryProblem,
    labels: np.ndarray,
    centres,
    *,
    budget: Budget,
    rng: np.random.Generator,
    group_size: int | None = None,
    max_fails: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Large-neighbourhood search with :func:`group_milp`.

    While a territory is out of balance, groups around it are tried in turn
    (:func:`_repair_groups`); otherwise a random territory and neighbours are re-optimised for
    distance. A group result is accepted when (violation, distance) improves; ``max_fails``
    (default k) attempts in a row without improvement end the search.
    """
    k = problem.k
    if k < 2:
        return labels, centres
    if group_size is None:
        # three territories at a time, but never more than half of them: with few large
        # territories a group of three is most of the problem and its MILP is slow
        group_size = max(2, min(3, k // 2))
    if max_fails is None:
        # large instances: repair and a short improvement run only (each group MILP is big)
        max_fails = max(k, 6) if problem.n * k <= 20_000 else 3
    max_fails = budget.scaled(max_fails)
    max_tries = budget.scaled(LNS_TRIES_PER_TERRITORY * k)
    edge_km = _edge_km(problem) if problem.graph is not None else None
    labels = labels.copy()
    obj, viol, c_now = evaluate(problem, labels, None if problem.centers is None else centres)
    centres = c_now if problem.centers is None else centres
    fails = 0
    attempts: dict[tuple[int, bytes], int] = {}
    seen: set[tuple] = set()
    tries = 0
    while fails < max_fails and tries < max_tries and not budget.expired():
        tries += 1
        sums = _territory_sums(problem, labels)
        excess = band_excess(problem, sums).sum(axis=1)
        tgraph = _territory_graph(problem, labels)
        group = None
        state = labels.tobytes()
        for t in np.argsort(-excess, kind="stable"):
            if excess[t] <= 1e-12:
                break
            key = (int(t), state)
            idx = attempts.get(key, 0)
            cands = _repair_groups(problem, int(t), sums, tgraph)
            if idx < len(cands):
                group = cands[idx]
                attempts[key] = idx + 1
                break
        if group is None:
            t = int(rng.integers(k))
            nbrs = sorted(tgraph[t])
            if not nbrs:
                fails += 1
                continue
            pick = rng.choice(nbrs, size=min(group_size - 1, len(nbrs)), replace=False)
            group = sorted({t, *map(int, pick)})
            key2 = (tuple(group), hash(state))
            if key2 in seen:
                fails += 1
                continue
            seen.add(key2)
        new = group_milp(problem, labels, centres, group, budget=budget, edge_km=edge_km)
        if new is None:
            fails += 1
            continue
        o2, v2, c2 = evaluate(problem, new, None if problem.centers is None else centres)
        if (v2 < viol - 1e-12) or (v2 <= viol + 1e-12 and o2 < obj - 1e-9):
            labels, obj, viol = new, o2, v2
            if problem.centers is None:
                centres = c2
            fails = 0
        else:
            fails += 1
    return labels, centres


def vertex_substitution(
    problem: TerritoryProblem,
    labels: np.ndarray,
    centres,
    *,
    budget: Budget,
) -> tuple[np.ndarray, np.ndarray]:
    """Teitz-Bart vertex substitution for small instances: replace one centre by another unit,
    re-allocate exactly, keep the change when (violation, distance) improves; repeat until no
    substitution helps.

    Location-allocation and boundary moves only change one territory's centre at a time;
    lumpy balanced instances can need two centres to move together, which the exact
    re-allocation after a substitution finds. Each re-allocation is a balanced assignment
    MILP (with adjacency: :func:`group_milp` over all territories, shortest-path contiguous).
    Cost: n * k re-allocations per pass, so it runs only when n * k is small.
    """
    n, k = problem.n, problem.k
    labels = labels.copy()
    centres = np.asarray(centres).copy()
    obj, viol, _ = evaluate(problem, labels, centres)
    everyone = list(range(k))
    new: np.ndarray | None  # group_milp: None when it finds no plan
    improved = True
    while improved and not budget.expired():
        improved = False
        for s in range(k):
            for u in range(n):
                if budget.expired():
                    return labels, centres
                if u in centres or (problem.locked[u] >= 0 and problem.locked[u] != s):
                    continue
                trial_c = centres.copy()
                trial_c[s] = u
                if problem.graph is None:
                    new = allocate(problem, trial_c, budget=budget)
                else:
                    start = labels.copy()
                    start[u] = s  # the new centre's territory must contain it
                    new = group_milp(problem, start, trial_c, everyone, budget=budget)
                    if new is None:
                        continue
                o2, v2, c2 = evaluate(problem, new)
                if (v2 < viol - 1e-12) or (v2 <= viol + 1e-12 and o2 < obj - 1e-9):
                    labels, centres, obj, viol = new, c2, o2, v2
                    improved = True
    return labels, centres


# ---------------------------------------------------------------------------------------------
# starts


def _kmeanspp(problem: TerritoryProblem, rng: np.random.Generator, k: int) -> np.ndarray:
    """Weighted k-means++ seeding on haversine distance (units as candidate centres)."""
    n = problem.n
    w = problem.weight + 1e-12
    first = int(rng.choice(n, p=w / w.sum()))
    chosen = [first]
    d = haversine_km(problem.lat, problem.lon, problem.lat[first], problem.lon[first])
    for _ in range(1, k):
        prob = w * d**2
        if prob.sum() <= 0:
            rest = np.setdiff1d(np.arange(n), chosen)
            nxt = int(rng.choice(rest))
        else:
            nxt = int(rng.choice(n, p=prob / prob.sum()))
        chosen.append(nxt)
        d = np.minimum(
            d, haversine_km(problem.lat, problem.lon, problem.lat[nxt], problem.lon[nxt])
        )
    return np.asarray(chosen, dtype=np.int64)


def _bisection_seeds(problem: TerritoryProblem, rng: np.random.Generator, k: int) -> np.ndarray:
    """Centres from recursive coordinate bisection: split the units along the longer side at
    the quantile of the (normalised, summed) measures that gives each side its share of the k
    territories, recursively; the centre of each cell is its weighted 1-median.

    The cells are balanced by construction, so their centres sit where the measure is - unlike
    k-means++ seeding, which over-seeds sparse regions (far points have large D^2). A random
    rotation of the axes per start gives different seeds.
    """
    lat0 = np.radians(np.average(problem.lat))
    x = np.radians(problem.lon) * np.cos(lat0)
    y = np.radians(problem.lat)
    ang = rng.uniform(0, np.pi)
    xr = x * np.cos(ang) - y * np.sin(ang)
    yr = x * np.sin(ang) + y * np.cos(ang)
    mean = np.where(problem.mean > 0, problem.mean, 1.0)
    mass = (problem.values / mean).sum(axis=1) + 1e-9
    cells: list[np.ndarray] = []

    def split(members: np.ndarray, parts: int) -> None:
        if parts == 1 or len(members) <= 1:
            cells.append(members)
            return
        left_parts = parts // 2
        coords = xr[members] if np.ptp(xr[members]) >= np.ptp(yr[members]) else yr[members]
        order = members[np.argsort(coords, kind="stable")]
        cum = np.cumsum(mass[order])
        cut = int(np.searchsorted(cum, cum[-1] * left_parts / parts))
        cut = min(max(cut, left_parts), len(order) - (parts - left_parts))
        split(order[:cut], left_parts)
        split(order[cut:], parts - left_parts)

    split(np.arange(problem.n), k)
    return np.array([_one_median(problem, c) for c in cells if len(c)], dtype=np.int64)


def _anchors(problem: TerritoryProblem) -> dict[int, np.ndarray]:
    """Units that tie a slot to a place: its locked units, else its current units."""
    out: dict[int, np.ndarray] = {}
    for s in range(problem.k):
        members = np.flatnonzero(problem.locked == s)
        if len(members) == 0 and problem.current is not None:
            members = np.flatnonzero(problem.current == s)
        if len(members):
            out[s] = members
    return out


def _seed_to_slots(problem: TerritoryProblem, seeds: np.ndarray) -> np.ndarray:
    """Give each seed centre a slot: anchored slots take the nearest seeds (Hungarian), locked
    slots get an allowed centre."""
    k = problem.k
    anchors = _anchors(problem)
    centres = np.full(k, -1, dtype=np.int64)
    if anchors:
        slots = sorted(anchors)
        anchor_pts = np.array([_one_median(problem, anchors[s]) for s in slots])
        d = distance_matrix_km(
            problem.lat[anchor_pts], problem.lon[anchor_pts], problem.lat[seeds], problem.lon[seeds]
        )
        r, c = linear_sum_assignment(d)
        for a_idx, s_idx in zip(r, c, strict=True):
            centres[slots[a_idx]] = seeds[s_idx]
        rest = np.setdiff1d(np.arange(len(seeds)), c)
        free = [s for s in range(k) if centres[s] < 0]
        centres[free] = seeds[rest[: len(free)]]
    else:
        centres[:] = seeds[:k]
    # a centre must be allowed in its slot (not locked elsewhere) and distinct
    for s in range(k):
        c = centres[s]
        if problem.locked[c] >= 0 and problem.locked[c] != s:
            if s in anchors:
                centres[s] = _one_median(problem, anchors[s])
            else:
                free_units = np.flatnonzero(
                    (problem.locked < 0) & ~np.isin(np.arange(problem.n), centres)
                )
                dd = haversine_km(
                    problem.lat[free_units], problem.lon[free_units], problem.lat[c], problem.lon[c]
                )
                centres[s] = free_units[int(np.argmin(dd))]
    # locked slot: the centre must be an allowed unit; fine. Duplicates (rare): replace
    seen: set[int] = set()
    for s in range(k):
        if int(centres[s]) in seen:
            pool = np.setdiff1d(
                np.flatnonzero((problem.locked < 0) | (problem.locked == s)), centres
            )
            centres[s] = pool[0]
        seen.add(int(centres[s]))
    return centres


def _location_allocation(problem, centres, *, budget: Budget, max_iter=12):
    labels = None
    best = None
    seen = set()
    lp = _AllocationLP.for_starts(problem)  # one model, re-solved warm at each step
    for _ in range(max_iter):
        if budget.expired() and labels is not None:
            break
        # intermediate allocations only move the centres: round split units the cheap way
        labels = allocate(problem, centres, budget=budget, round_near=-1, lp=lp)
        if problem.centers is not None:
            break
        new = centres_of(problem, labels)
        new = _fix_centres(problem, new, labels)
        obj, viol, _ = evaluate(problem, labels, new)
        if best is None or (viol, obj) < best[0]:
            best = ((viol, obj), labels.copy(), new.copy())
        key = tuple(new)
        if np.array_equal(new, centres) or key in seen:
            break
        seen.add(key)
        centres = new
    if problem.centers is not None:
        return allocate(problem, centres, budget=budget), centres
    # the final allocation at the best centres, with split units rounded exactly
    assert best is not None  # set on the first pass (max_iter >= 1)
    centres = best[2]
    labels = allocate(problem, centres, budget=budget, lp=lp)
    return labels, centres


def _current_start(problem: TerritoryProblem) -> np.ndarray:
    """Current territories as a plan: units without one (or whose territory has no slot) go
    to the nearest slot; locks win over the current territory."""
    assert problem.current is not None  # run only when there is a current alignment
    labels = problem.current.copy()
    missing = labels < 0
    if missing.any():
        have = ~missing
        if have.any():
            src = np.flatnonzero(have)
            near, _ = nearest_km(
                problem.lat[missing],
                problem.lon[missing],
                1,
                lat2=problem.lat[src],
                lon2=problem.lon[src],
            )
            labels[missing] = labels[src[near[:, 0]]]
        else:
            labels[:] = 0
    lk = problem.locked >= 0
    labels[lk] = problem.locked[lk]
    # every slot needs a unit: an empty slot takes the heaviest free unit of the largest
    # territory (the search then grows it)
    counts = np.bincount(labels, minlength=problem.k)
    for s in np.flatnonzero(counts == 0):
        big = int(np.argmax(np.bincount(labels, minlength=problem.k)))
        cand = np.flatnonzero((labels == big) & (problem.locked < 0))
        if len(cand):
            labels[cand[np.argmax(problem.weight[cand])]] = s
    return labels


def _stream(seed: int, name: int | str) -> np.random.Generator:
    """The random stream of one part of the search (a start's index, "current", "polish"):
    independent of the others, so the parts may run in any order or in parallel."""
    key = name if isinstance(name, int) else 1_000_000 + zlib.crc32(name.encode())
    return np.random.default_rng([seed, key])


def _fix_centres(problem, centres, labels):
    """Empty territories (rare after the LP) get the heaviest unit of the largest territory."""
    out = centres.copy()
    for s in np.flatnonzero(out < 0):
        big = np.bincount(labels, minlength=problem.k).argmax()
        members = np.flatnonzero((labels == big) & (problem.locked < 0))
        members = members[~np.isin(members, out)]
        if len(members):
            out[s] = members[np.argmax(problem.weight[members])]
    return out


def solve(
    problem: TerritoryProblem,
    *,
    seed: int = 0,
    n_starts: int | None = None,
    n_polish: int | None = None,
    budget: Budget | None = None,
    lp_centres: Callable[[], np.ndarray | None] | None = None,
    progress: Callable[[str], None] | None = None,
    good_enough: Callable[[float, float], bool] | None = None,
    first_plan: Callable[[np.ndarray, np.ndarray, float, float], None] | None = None,
    workers: int | None = None,
) -> SolveResult:
    """Run the multi-start heuristic and return the best plan found.

    Phase 1 builds ``n_starts`` plans cheaply (location-allocation, contiguity repair, tabu
    search); phase 2 polishes the ``n_polish`` best of them ("elites") with the MILP
    large-neighbourhood search, which also repairs any balance violation left.

    Parameters
    ----------
    problem : TerritoryProblem
    seed : int
        Seeds the k-means++ starts and tie-breaking; same seed, same plan.
    n_starts, n_polish : int, optional
        Starts and elites (defaults by size; the starts scale with the budget's effort).
    budget : Budget, optional
        Work counts and the safety stop (:mod:`workbench.territory.budget`). Nothing here
        reads the clock except the safety stop, so the plan is the same on any machine.
    lp_centres : callable, optional
        Returns the LP relaxation's centre values y (n,) or None; called once, after phase 1
        (it may wait for the bound), for one extra start from the k largest.
    progress : callable, optional
        Called with a short message after every start.
    good_enough : callable, optional
        ``good_enough(objective, violation)`` is asked after phase 1 (a fixed point of the
        search, so the answer cannot depend on timing); True skips the polish.
    first_plan : callable, optional
        Called once with ``(labels, centres, objective, violation)`` of the first start (the
        bound's warm start).
    workers : int, optional
        Threads for the starts (default :func:`~.budget.search_threads`). Each start has its
        own random stream and the results are taken in start order: the plan does not depend
        on it.
    """
    budget = budget if budget is not None else Budget()
    t0 = time.perf_counter()
    n, k = problem.n, problem.k
    size = n * k
    if n_starts is None:
        n_starts = budget.scaled(8 if size <= 5_000 else (4 if size <= 200_000 else 1))
    if n_polish is None:
        n_polish = 2 if size <= 200_000 and budget.effort >= 1 else 1
    if problem.centers is not None:
        n_starts = 1  # fixed centres: the allocation is deterministic
    workers = search_threads() if workers is None else workers
    workers = max(1, min(workers, n_starts + int(problem.current is not None)))
    # large instances: the tabu search (one move per step) gets a share of the work only
    tabu_iter = None if size <= 200_000 else budget.scaled(TABU_LARGE)
    history = []
    pool = []

    def run_current():
        """The current alignment, repaired and improved: the natural start when moves are
        limited or penalised."""
        rng = _stream(seed, "current")
        labels = _current_start(problem)
        centres = centres_of(problem, labels) if problem.centers is None else None
        if problem.centers is None:
            centres = _fix_centres(problem, centres, labels)
        if problem.graph is not None:
            labels = repair_contiguity(problem, labels, centres)
        labels, centres = tabu_search(problem, labels, centres, budget=budget, rng=rng)
        obj, viol, centres = evaluate(problem, labels, None if problem.centers is None else centres)
        return labels, centres, obj, viol

    def run_start(start: int, seeds: np.ndarray | None):
        """One start on its own random stream (so starts may run in any order, in parallel);
        None when the safety stop came first (the first start always runs)."""
        if start > 0 and budget.expired():
            return None
        rng = _stream(seed, start)
        centres = None
        if problem.centers is None:
            if seeds is None:
                # large instances: balanced bisection seeds; small: k-means++ for diversity,
                # with every other start from bisection
                use_rcb = size > 200_000 or start % 2 == 1
                seeds = _bisection_seeds(problem, rng, k) if use_rcb else _kmeanspp(problem, rng, k)
                if len(seeds) < k:
                    seeds = _kmeanspp(problem, rng, k)
            centres = _seed_to_slots(problem, seeds)
        labels, centres = _location_allocation(
            problem, centres, budget=budget, max_iter=12 if size <= 200_000 else 5
        )
        if problem.graph is not None:
            labels = repair_contiguity(problem, labels, centres)
        labels, centres = local_search(problem, labels, centres, budget=budget, rng=rng)
        labels, centres = tabu_search(
            problem, labels, centres, budget=budget, rng=rng, max_iter=tabu_iter
        )
        obj, viol, centres = evaluate(problem, labels, None if problem.centers is None else centres)
        return start, labels, centres, obj, viol

    def record(out) -> None:
        if out is None:
            return
        start, labels, centres, obj, viol = out
        history.append(("start", start, obj, viol))
        pool.append((obj + 100.0 * viol, start, labels, centres))
        msg = f"start {start + 1}: distance {obj:.3f} km, violation {viol:.2e}"
        log.info(msg)
        if progress is not None:
            progress(msg)

    def done(labels, centres) -> bool:
        if budget.expired():
            return True
        if good_enough is None:
            return False
        obj, viol, _ = evaluate(problem, labels, None if problem.centers is None else centres)
        return good_enough(obj, viol)

    # the starts run on `workers` threads (HiGHS and numpy release the GIL); results are
    # recorded in start order, so the thread count never changes the plan
    with ThreadPoolExecutor(workers, thread_name_prefix="territory-start") as ex:
        current = ex.submit(run_current) if problem.current is not None else None
        futures = [ex.submit(run_start, start, None) for start in range(n_starts)]
        if current is not None:
            labels, centres, obj, viol = current.result()
            history.append(("current", -1, obj, viol))
            # ranked first among equals: it is the only start that respects a tight budget
            pool.append((obj + 100.0 * viol - 1e-9, -1, labels, centres))
        for start, fut in enumerate(futures):
            out = fut.result()
            record(out)
            if start == 0 and first_plan is not None:
                first_plan(*out[1:])
    if lp_centres is not None and problem.centers is None and not budget.expired():
        # one more start from the LP relaxation's centres (the k largest y_j). It runs at this
        # fixed point - after phase 1, waiting for the LP if need be - so that the plan does
        # not depend on when the background bound happens to finish.
        y = lp_centres()
        if y is not None and np.count_nonzero(y > 1e-9) >= k:
            record(run_start(n_starts, np.argsort(-y, kind="stable")[:k]))
    pool.sort(key=lambda x: (x[0], x[1]))
    _, _, labels, centres = pool[0]
    if done(labels, centres):
        obj, viol, centres = evaluate(problem, labels, None if problem.centers is None else centres)
        best = SolveResult(labels.copy(), centres, obj, viol)
    else:
        best = _polish(problem, pool, n_polish, budget, seed, workers, history, progress)
    best.starts = sum(1 for h in history if h[0] == "start")
    best.seconds = time.perf_counter() - t0
    best.history = history
    best.safety_stop = budget.safety_stop
    return best


def _polish(problem, pool, n_polish, budget, seed, workers, history, progress) -> SolveResult:
    """Phase 2: the MILP large-neighbourhood search on the elite starts (in parallel, each on
    its own random stream), then (tiny instances) the vertex substitution.

    The elites are the ``n_polish`` best starts, less those more than ``POLISH_BEHIND`` behind
    a feasible best start (chosen before any polish, so the choice does not depend on which
    polish ends first); under a disruption budget the current alignment follows when every
    polished plan is still infeasible (it is the one start that surely respects a tight budget).
    """
    top = pool[: max(n_polish, 1)]
    first = top[0][0]  # (objective + 100 x violation) of the best start
    elites = [e for r, e in enumerate(top) if r == 0 or first > e[0] / (1 + POLISH_BEHIND)]
    current = [e for e in pool[max(n_polish, 1) :] if e[1] == -1 and problem.max_moved is not None]

    def run(elite):
        _, start, labels, centres = elite
        rng = _stream(seed, f"polish {start}")
        labels, centres = lns(problem, labels, centres, budget=budget, rng=rng, max_fails=LNS_FAILS)
        obj, viol, centres = evaluate(problem, labels, None if problem.centers is None else centres)
        return start, labels, centres, obj, viol

    best: SolveResult | None = None
    for batch in (elites, current):
        if best is not None and (best.violation <= 0 or budget.expired()):
            break
        # HiGHS releases the GIL; results are taken in elite order, so the plan does not
        # depend on the thread count
        with ThreadPoolExecutor(max(1, min(workers, len(batch)))) as ex:
            outs = list(ex.map(run, batch))
        for start, labels, centres, obj, viol in outs:
            history.append(("polish", start, obj, viol))
            msg = f"polished start {start + 1}: distance {obj:.3f} km, violation {viol:.2e}"
            log.info(msg)
            if progress is not None:
                progress(msg)
            if best is None or (viol, obj) < (best.violation, best.objective):
                best = SolveResult(labels.copy(), centres, obj, viol)
    assert best is not None  # the first elite is always polished
    n, k = problem.n, problem.k
    if problem.centers is None and n * k <= SUBSTITUTION_SIZE and k > 1:
        labels, centres = vertex_substitution(problem, best.labels, best.centres, budget=budget)
        obj, viol, centres = evaluate(problem, labels)
        history.append(("substitution", -1, obj, viol))
        if (viol, obj) < (best.violation, best.objective):
            best = SolveResult(labels.copy(), centres, obj, viol)
    return best
