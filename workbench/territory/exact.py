"""Proof of optimality, contiguity included, for small instances: reduced-cost fixing, then
branch and bound (HiGHS through ``highspy``) with contiguity cuts added in rounds.

The model is the balanced p-median (free centres, no locks, budget or current alignment)::

    min  sum c_ij x_ij
    s.t. sum_j x_ij = 1 (all i),  x_ij <= x_jj,  sum_j x_jj = k,
         L_m x_jj <= sum_i a_im x_ij <= U_m x_jj  (all j, m),  x binary

**Reduced-cost fixing.** With Lagrangian multipliers (:mod:`.lagrangian`, all pairs) of value
``L``, chosen centres ``C`` and ``s_(k)`` the largest chosen ``s_j``, any plan that makes ``j``
a centre costs at least ``L + max(0, s_j - s_(k))`` and any plan that puts ``i`` with centre
``j`` at least that plus ``max(0, g_ij)``. Whatever exceeds the incumbent's cost ``UB`` is
fixed to 0: no better plan uses it. Nothing else is dropped.

**Contiguity cuts** (a,b-separators, Validi, Buchanan & Lykhovyd 2022). When the MIP's optimum
has a territory ``j`` whose unit ``i`` lies in a piece ``S`` cut off from the centre, every
contiguous plan that puts ``i`` with ``j`` also puts with ``j`` some vertex of the separator
``N(S)`` (the neighbours of ``S`` that still reach ``j`` outside ``S``)::

    x_ij <= sum_{v in N(S)} x_vj            (for every i in S)

The cut removes this solution and no contiguous plan; the MIP is solved again (the incumbent
plan's cost as a cutoff: nodes that cannot beat it by ``PROOF_GAP / 2`` are pruned, and a tree
pruned whole proves the incumbent optimal) until its optimum is contiguous - then it is
optimal among all contiguous plans - or the work budget (rounds x nodes) ends. Either way
HiGHS's dual bound is a valid lower bound (a relaxation of the contiguous problem).

HiGHS runs in a child process (:mod:`._highs_child`) that is killed if it outlives the safety
stop: HiGHS 1.16 can run past its own time limit on these models.
"""

from __future__ import annotations

import dataclasses
import pickle
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..geo import distance_matrix_km
from .bound import BoundMethod, BoundResult, relative_gap
from .budget import Budget
from .lagrangian import NearLagrangian
from .problem import TerritoryProblem

__all__ = ["applicable", "prove"]

#: Instances up to this many units get the exact attempt.
EXACT_UNITS = 300
#: Work limits (x effort): branch-and-bound nodes per MIP solve, simplex iterations over all
#: cut rounds (checked between rounds), and cut rounds.
EXACT_NODES = 2_000
EXACT_ITERATIONS = 400_000
EXACT_ROUNDS = 50
#: Relative gap at which HiGHS may stop (0.01 %): below it the plan counts as proven optimal.
PROOF_GAP = 1e-4
#: The exact attempt runs only when the search's certified gap is at most this (beyond, the
#: relaxation is too weak for branch and bound to close in its budget).
EXACT_MAX_GAP = 0.05
#: ... except on instances this small, where branch and bound closes any gap at once.
EXACT_ANY_GAP_UNITS = 60


#: HiGHS threads (its parallel tree search's workers) of the proof. HiGHS hands work to its
#: workers deterministically, so the result depends on this count, never on the machine or its
#: load; it is therefore fixed, not the CPU count (Georgia: 24 s with 2, 39 s with 1).
EXACT_WORKERS = 2

#: Seconds the child process may take beyond the safety stop before it is killed.
CHILD_GRACE = 5.0


class _Child:
    """HiGHS in a child process (:mod:`._highs_child`), killed if it outlives the safety
    stop."""

    def __init__(self, spec: dict, options: dict):
        # run as a script, not ``-m``: importing the workbench package would cost 0.7 s;
        # ``-P`` keeps this folder off the child's import path
        self.proc = subprocess.Popen(
            [sys.executable, "-P", str(Path(__file__).with_name("_highs_child.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._send((spec, options))

    def _send(self, msg) -> None:
        assert self.proc.stdin is not None  # opened with PIPE
        pickle.dump(msg, self.proc.stdin)
        self.proc.stdin.flush()

    def run(self, seconds: float | None, cutoff: float) -> dict | None:
        """One branch and bound; None when it did not answer within ``seconds`` + grace (the
        child is then killed)."""
        limit = float("inf") if seconds is None else max(seconds, 0.0)
        self._send(("run", limit, cutoff))
        wait = None if seconds is None else limit + CHILD_GRACE
        assert self.proc.stdout is not None  # opened with PIPE
        ready, _, _ = select.select([self.proc.stdout], [], [], wait)
        if not ready:
            self.proc.kill()
            return None
        try:
            return pickle.load(self.proc.stdout)
        except EOFError:
            raise RuntimeError("the branch-and-bound process ended unexpectedly") from None

    def add_rows(self, rows) -> None:
        self._send(("rows", rows))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            try:
                self._send(("stop",))
                self.proc.wait(timeout=CHILD_GRACE)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            assert pipe is not None  # both opened with PIPE
            pipe.close()


def applicable(problem: TerritoryProblem) -> bool:
    """Free centres, equal targets, no locks, no current alignment or budget, and small enough."""
    return (
        problem.centers is None
        and problem.current is None
        and problem.max_moved is None
        and not (problem.locked >= 0).any()
        and problem.uniform  # centres are unnamed in the MIP: one band for all
        and 2 <= problem.k < problem.n <= EXACT_UNITS
    )


@dataclasses.dataclass
class _Model:
    pi: np.ndarray  # pair unit
    pj: np.ndarray  # pair centre (j == i: the centre variable x_jj)
    cost: np.ndarray
    col: dict  # (i, j) -> column


def _fixing(problem: TerritoryProblem, bound: BoundResult, upper: float):
    """Columns that survive reduced-cost fixing against ``upper`` (weighted km)."""
    n = problem.n
    lag = NearLagrangian(problem, n - 1)
    mcount = problem.values.shape[1]
    zeros = np.zeros((mcount, n))
    lam = bound.lam if bound.lam is not None else np.zeros(n)
    mu = bound.mu if bound.mu is not None else zeros
    nu = bound.nu if bound.nu is not None else zeros
    lam, mu, nu = lag.project(lam, mu, nu)
    value, _, s, chosen = lag.evaluate(lam, mu, nu)
    g = lag.reduced(lam, mu, nu)
    kth = s[chosen].max()
    centre_lb = value + np.maximum(s - kth, 0.0)
    slack = 1e-9 * max(abs(upper), 1.0)
    ok_centre = centre_lb <= upper + slack
    pair_lb = centre_lb[lag.nbr] + np.maximum(g, 0.0)
    ok_pair = (pair_lb <= upper + slack) & ok_centre[lag.nbr]
    rows, cols = np.nonzero(ok_pair)
    pi = np.r_[np.flatnonzero(ok_centre), rows]
    pj = np.r_[np.flatnonzero(ok_centre), lag.nbr[rows, cols]]
    return pi, pj, value


def _build(problem: TerritoryProblem, pi: np.ndarray, pj: np.ndarray):
    """The MIP as arrays for :mod:`._highs_child` (rows: assignment, linking, k, balance)."""
    n, k = problem.n, problem.k
    w = problem.weight
    d = distance_matrix_km(problem.lat, problem.lon, problem.lat, problem.lon)
    cost = w[pi] * d[pi, pj]
    p = len(pi)
    col = {(int(a), int(b)): c for c, (a, b) in enumerate(zip(pi, pj, strict=True))}
    centre_col = {int(a): c for c, (a, b) in enumerate(zip(pi, pj, strict=True)) if a == b}
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0
    # assignment
    rows.append(pi)
    cols.append(np.arange(p))
    vals.append(np.ones(p))
    lo.append(np.ones(n))
    hi.append(np.ones(n))
    r += n
    # linking x_ij <= x_jj
    link = np.flatnonzero(pi != pj)
    jc = np.array([centre_col[int(b)] for b in pj[link]], dtype=np.int64)
    rr = r + np.arange(len(link))
    rows += [rr, rr]
    cols += [link, jc]
    vals += [np.ones(len(link)), -np.ones(len(link))]
    lo.append(np.full(len(link), -np.inf))
    hi.append(np.zeros(len(link)))
    r += len(link)
    # k centres
    cc = np.array(sorted(centre_col.values()), dtype=np.int64)
    rows.append(np.full(len(cc), r))
    cols.append(cc)
    vals.append(np.ones(len(cc)))
    lo.append(np.array([float(k)]))
    hi.append(np.array([float(k)]))
    r += 1
    # balance, per centre and measure: sum a x_ij + (a_j - U) x_jj <= 0, >= 0 with L
    safe = np.where(problem.mean > 0, problem.mean, 1.0)
    centres = np.array(sorted(centre_col), dtype=np.int64)
    row_of = {int(j): t for t, j in enumerate(centres)}
    rj = np.array([row_of[int(b)] for b in pj], dtype=np.int64)
    for m in range(problem.values.shape[1]):
        a = problem.values[:, m] / safe[m]
        up, low = problem.upper[0, m] / safe[m], problem.lower[0, m] / safe[m]  # equal targets
        coef = a[pi] - np.where(pi == pj, up, 0.0)
        rows.append(r + rj)
        cols.append(np.arange(p))
        vals.append(coef)
        lo.append(np.full(len(centres), -np.inf))
        hi.append(np.zeros(len(centres)))
        r += len(centres)
        coef = a[pi] - np.where(pi == pj, low, 0.0)
        rows.append(r + rj)
        cols.append(np.arange(p))
        vals.append(coef)
        lo.append(np.zeros(len(centres)))
        hi.append(np.full(len(centres), np.inf))
        r += len(centres)
    mat = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, p)
    )
    spec = {
        "num_col": p,
        "num_row": r,
        "cost": cost.astype(float),
        "row_lower": np.concatenate(lo).astype(float),
        "row_upper": np.concatenate(hi).astype(float),
        "start": mat.indptr.astype(np.int32),
        "index": mat.indices.astype(np.int32),
        "value": mat.data.astype(float),
    }
    return spec, _Model(pi, pj, cost, col)


def _cuts(problem: TerritoryProblem, model: _Model, x: np.ndarray) -> list[tuple[list, list]]:
    """Separator cuts for every piece cut off from its centre in the solution ``x``."""
    from scipy.sparse.csgraph import connected_components

    graph = problem.graph
    assert graph is not None  # cuts are only separated under contiguity
    pick = x > 0.5
    labels = np.full(problem.n, -1, dtype=np.int64)
    labels[model.pi[pick]] = model.pj[pick]
    out = []
    for j in np.unique(labels):
        members = np.flatnonzero(labels == j)
        sub = graph[members][:, members]
        ncomp, comp = connected_components(sub, directed=False)
        if ncomp <= 1:
            continue
        home = comp[np.searchsorted(members, j)]
        for c in range(ncomp):
            if c == home:
                continue
            piece = members[comp == c]
            in_piece = np.zeros(problem.n, dtype=bool)
            in_piece[piece] = True
            nbrs = np.unique(graph[piece].indices)
            nbrs = nbrs[~in_piece[nbrs]]
            # keep the neighbours that still reach j outside the piece (a minimal-ish separator)
            keep = ~in_piece
            rest = np.flatnonzero(keep)
            _, reach = connected_components(graph[rest][:, rest], directed=False)
            pos = np.full(problem.n, -1, dtype=np.int64)
            pos[rest] = np.arange(len(rest))
            sep = [int(v) for v in nbrs if reach[pos[v]] == reach[pos[j]]]
            for i in piece:
                if (int(i), int(j)) not in model.col:
                    continue
                idx = [model.col[(int(i), int(j))]]
                val = [1.0]
                for v in sep:
                    cv = model.col.get((v, int(j)))
                    if cv is not None:
                        idx.append(cv)
                        val.append(-1.0)
                out.append((idx, val))
    return out


def prove(
    problem: TerritoryProblem,
    labels: np.ndarray,
    centres: np.ndarray,
    objective: float,
    bound: BoundResult,
    budget: Budget,
    *,
    target_gap: float = 0.0,
    progress: Callable[[str], None] | None = None,
) -> tuple[BoundResult, np.ndarray | None]:
    """Try to prove the plan optimal (contiguity included), or find a better one.

    Rounds of branch and bound (``EXACT_ROUNDS x effort``, each at most ``EXACT_NODES x
    effort`` nodes) stop once the certified gap of the best contiguous plan is at most
    ``target_gap``, or it is proven optimal. Returns the (possibly stronger) bound and better
    labels (or None). ``objective`` is the plan's weighted mean distance (km).
    """
    if not applicable(problem) or bound.infeasible:
        return bound, None
    t0 = time.perf_counter()
    W = problem.total_weight
    upper = objective * W
    pi, pj, _ = _fixing(problem, bound, upper)
    # the incumbent's columns always survive fixing (its cost is UB); make sure of rounding
    n = problem.n
    own = np.asarray(centres)[labels]
    missing = ~np.isin(np.arange(n) * n + own, pi * n + pj)
    pi, pj = np.r_[pi, np.arange(n)[missing]], np.r_[pj, own[missing]]
    spec, model = _build(problem, pi, pj)
    kept = len(pi) / float(n * n)
    options = {
        "output_flag": False,
        "mip_heuristic_effort": 0.0,  # the incumbent comes from the search
        # no restarts: HiGHS 1.16 can loop past its time limit after a chain of root restarts
        "mip_allow_restart": False,
        # the model is already reduced (reduced-cost fixing); HiGHS's presolve removes ~3 % of
        # its rows and makes the tree slower: Georgia's round took 15-18 s without it, 24-25 s
        # with it (three seeds)
        "presolve": "off",
        "threads": EXACT_WORKERS,  # fixed, never the machine's count: see EXACT_WORKERS
        "mip_rel_gap": PROOF_GAP,
        "mip_max_nodes": budget.scaled(EXACT_NODES),
        "random_seed": 0,
    }
    best_x = np.zeros(len(pi))
    best_x[[model.col[(i, int(own[i]))] for i in range(n)]] = 1.0
    best_cost = float(model.cost @ best_x)
    dual = -np.inf
    proven = False
    rounds = 0
    why = "its work budget ended"
    iterations = 0
    cut = False  # once cuts are in, HiGHS's bounds hold for contiguous plans only
    with _Child(spec, options) as child:
        for rounds in range(1, budget.scaled(EXACT_ROUNDS) + 1):
            if budget.expired():
                break
            # the incumbent enters as a cutoff: any node that cannot beat it by half of
            # PROOF_GAP is pruned (HiGHS 1.16 can loop while mapping a starting solution
            # through presolve); a tree pruned whole leaves a gap of PROOF_GAP / 2
            cutoff = best_cost * (1.0 - PROOF_GAP / 2)
            res = child.run(budget.seconds_left(), cutoff)
            if res is None or res["status"] == "kTimeLimit":
                budget.safety_stop = True  # the wall clock is only the safety stop
                if res is None:
                    why = "the safety stop ended it"
                    break
            iterations += res["iterations"]
            if res["status"] in ("kInfeasible", "kObjectiveBound"):
                # the whole tree is pruned: no plan of the relaxation beats the cutoff
                dual = max(dual, cutoff)
                proven, why = True, "proven optimal"
                break
            if np.isfinite(res["dual"]):  # plans at or above the cutoff were pruned
                dual = max(dual, min(res["dual"], cutoff))
            if not res["has_solution"]:  # nothing below the cutoff within the node budget
                why = "stopped by its node budget"
                break
            x = res["x"]
            cuts = [] if problem.graph is None else _cuts(problem, model, x)
            if not cuts:
                best_x, best_cost = (x > 0.5).astype(float), float(model.cost @ x)
                if res["status"] == "kOptimal":
                    proven, why = True, "proven optimal"
                else:
                    why = "stopped by its node budget"
                break  # the dual bound stands
            if np.isfinite(dual) and relative_gap(best_cost, dual) <= target_gap:
                why = f"stopped within the target gap of {100 * target_gap:g}%"
                break  # certified within the target: further rounds only tighten the proof
            if iterations >= budget.scaled(EXACT_ITERATIONS):
                break
            child.add_rows(cuts)
            cut = True
            if progress is not None:
                progress(
                    f"exact: round {rounds}, {len(cuts)} contiguity cuts, "
                    f"{iterations:,} simplex iterations so far"
                )
    new_labels = None
    if best_cost < upper - 1e-9 * max(upper, 1.0):
        pick = best_x > 0.5
        centre_ids = np.unique(model.pj[pick])
        slot = {int(c): s for s, c in enumerate(centre_ids)}
        new_labels = np.empty(problem.n, dtype=np.int64)
        new_labels[model.pi[pick]] = [slot[int(c)] for c in model.pj[pick]]
    # HiGHS's dual bound (within PROOF_GAP of its incumbent when proven) is valid at any stop
    value = max(dual, bound.value)
    took = time.perf_counter() - t0
    covers = set(bound.covers)
    if (proven or cut) and problem.graph is not None:
        # proven: the optimum found is contiguous. Cut: the MIP excludes non-contiguous plans,
        # so its bound may exceed the best non-contiguous one and holds for contiguous plans
        covers.add("contiguity")
    detail = (
        f"branch and bound (HiGHS) on the {100 * kept:.1f}% of pairs left by reduced-cost "
        f"fixing, {rounds} round(s) with contiguity cuts; {why}"
    )
    if value <= bound.value and not proven:
        return dataclasses.replace(bound, seconds=bound.seconds + took), new_labels
    return (
        BoundResult(
            value,
            BoundMethod.MIP,
            bound.seconds + took,
            bound.lp_value,
            bound.y,
            False,
            len(pi),
            detail,
            frozenset(covers),
            bound.lam,
            bound.mu,
            bound.nu,
            proven,
            budget.safety_stop,
        ),
        new_labels,
    )
