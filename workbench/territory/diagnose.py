"""Why a plan misses a constraint: the pre-checks that find constraints no plan can meet from
the data alone (:func:`precheck`, before any search), and the diagnosis of a finished plan
(:func:`diagnose`), each naming the unit, lock or territory that blocks it.
"""

from __future__ import annotations

import numpy as np

from . import solver as _solver
from .problem import TerritoryProblem, Violation, _shown, band_excess

__all__ = ["diagnose", "precheck"]


def _knapsack_extreme(gain: np.ndarray, cost: np.ndarray, budget: float, *, most: bool) -> float:
    """Fractional knapsack: the most (or least) ``gain`` obtainable from items whose ``cost``
    adds up to ``budget`` (at most ``budget`` when ``most``, at least when not). Items of zero
    cost are free: all taken for the most, none for the least."""
    free = cost <= 0
    total = float(gain[free].sum()) if most else 0.0
    g, c = gain[~free], cost[~free]
    if len(c) == 0 or budget <= 0:
        return total
    ratio = g / c
    order = np.argsort(-ratio if most else ratio, kind="stable")
    cum = np.cumsum(c[order])
    full = int(np.searchsorted(cum, budget, side="right"))
    total += float(g[order][:full].sum())
    if full < len(order):
        used = cum[full - 1] if full else 0.0
        total += float(ratio[order][full] * (budget - used))
    elif not most:
        return np.inf  # even every item does not reach the budget
    return total


def _paired_measure_blocks(problem: TerritoryProblem) -> list[Violation]:
    """Big units, and groups of units locked together, whose territory cannot meet two bands
    at once, named.

    A territory holding a core (one unit i, or the units locked to one territory) has at most
    ``U_m - a_core,m`` of measure m left; filled with the units richest in measure m2 per unit
    of m (a fractional knapsack, so an over-estimate of any real choice) it still may not
    reach m2's floor - or, needing ``L_m - a_core,m`` more of m, it may overshoot m2's cap even
    with the units poorest in m2. Either way no plan can balance that territory. Checked for
    units holding at least half a mean of a measure, and for every lock group.
    """
    out: list[Violation] = []
    a = problem.values
    if a.shape[1] < 2:
        return out
    big = np.flatnonzero((a >= 0.5 * problem.mean).any(axis=1))
    for i in big[:50]:
        core = np.zeros(problem.n, dtype=bool)
        core[i] = True
        # any unit may join a big unit's territory (locks elsewhere only shrink the choice)
        v = _paired_core_block(
            problem,
            core,
            ~core,
            "balance",
            str(problem.ids[i]),
            f"a territory holding unit {problem.ids[i]}",
            ("the unit already has", "the unit's"),
            problem.loosest_upper,
            problem.loosest_lower,
        )
        if v is not None:
            out.append(v)
    for s in np.unique(problem.locked[problem.locked >= 0]):
        core = problem.locked == s
        if core.sum() < 2 and (a[core] >= 0.5 * problem.mean).any():
            continue  # a single big locked unit is checked above
        others = problem.locked < 0  # units locked elsewhere cannot join
        v = _paired_core_block(
            problem,
            core,
            others,
            "lock",
            problem.labels[s],
            f"{problem.labels[s]} (its {int(core.sum())} locked unit(s))",
            ("its locked units already have", "its locked units'"),
            problem.upper[s],
            problem.lower[s],
        )
        if v is not None:
            out.append(v)
    return out


def _paired_core_block(
    problem,
    core,
    others,
    constraint: str,
    subject: str,
    holder: str,
    what: tuple,
    up: np.ndarray,
    lo: np.ndarray,
):
    """The first pair of measures the territory holding ``core`` cannot meet together (see
    :func:`_paired_measure_blocks`), as a Violation, or None. ``up``, ``lo``: ``(M,)`` the band
    of the territory that holds the core (the loosest band when any territory may)."""
    a = problem.values
    mean = problem.mean
    floor, cap = _band_pct(problem, lo, -1), _band_pct(problem, up, 1)
    base = a[core].sum(axis=0)
    for m in range(a.shape[1]):
        if base[m] > up[m]:
            continue  # reported as a single unit or lock group above the cap
        for m2 in range(a.shape[1]):
            if m2 == m:
                continue
            name, name2 = problem.measures[m], problem.measures[m2]
            most = base[m2] + _knapsack_extreme(
                a[others, m2], a[others, m], up[m] - base[m], most=True
            )
            if most < lo[m2] * (1 - 1e-12):
                return Violation(
                    constraint,
                    subject,
                    f"{holder} reaches at most {100 * most / mean[m2]:.0f}% of the mean {name2}: "
                    f"{what[0]} {100 * base[m] / mean[m]:.0f}% of the mean {name}, and "
                    f"what fits under the {name} cap cannot lift {name2} to its floor of "
                    f"{floor(m2)}",
                )
            least = base[m2] + _knapsack_extreme(
                a[others, m2], a[others, m], lo[m] - base[m], most=False
            )
            if least > up[m2] * (1 + 1e-12):
                return Violation(
                    constraint,
                    subject,
                    f"{holder} has at least {100 * least / mean[m2]:.0f}% of the mean {name2}: "
                    f"reaching the {name} floor of {floor(m)} from "
                    f"{what[1]} {100 * base[m] / mean[m]:.0f}% pushes {name2} over its cap of "
                    f"{cap(m2)}",
                )
    return None


def _band_pct(problem: TerritoryProblem, band: np.ndarray, side: int):
    """Text of a band edge as a percentage of the mean: from the tolerance when targets are
    equal (so 5 % reads 95 %/105 % exactly), else from the band itself."""

    def text(m: int) -> str:
        if problem.uniform:
            return f"{100 * (1 + side * problem.tolerance[m]):.0f}%"
        return f"{100 * band[m] / problem.mean[m]:.0f}% of the mean"

    return text


def precheck(problem: TerritoryProblem) -> list[Violation]:
    """Constraints no plan can meet, found from the data alone, each naming its cause.

    * a single unit above a measure's cap ``mean * (1 + tolerance)``: its territory is over
      the cap whatever else it holds;
    * locked units of one territory that already sum above a cap;
    * locks that move units away from their current territory beyond the disruption budget;
    * more units above the floor on their own than territories, and similar counting facts.

    Examples
    --------
    >>> import pandas as pd
    >>> from workbench.territory import build_problem
    >>> units = pd.DataFrame({"unit_id": ["a", "b", "c"], "lat": [0, 0, 0], "lon": [0, 1, 2],
    ...                       "pop": [10.0, 1.0, 1.0]})
    >>> for v in precheck(build_problem(units, k=2, balance="pop")):
    ...     print(v)
    balance [a]: unit a alone has pop 10 = 167% of the territory mean 6, above the cap of 105%: its territory cannot be within tolerance
    """  # noqa: E501 - doctest output / CSV text cannot wrap
    out: list[Violation] = []
    mean = problem.mean
    widest = _band_pct(problem, problem.loosest_upper, 1)
    for m, name in enumerate(problem.measures):
        col = problem.values[:, m]
        over = np.flatnonzero(col > problem.loosest_upper[m] * (1 + 1e-12))
        for i in over[np.argsort(-col[over])][:10]:
            out.append(
                Violation(
                    "balance",
                    str(problem.ids[i]),
                    f"unit {problem.ids[i]} alone has {name} {col[i]:,.6g} = "
                    f"{100 * col[i] / mean[m]:.0f}% of the territory mean {mean[m]:,.6g}, above "
                    f"the {'' if problem.uniform else 'largest '}cap of {widest(m)}: its "
                    f"territory cannot be within tolerance",
                )
            )
        for s in np.unique(problem.locked[problem.locked >= 0]):
            tot = col[problem.locked == s].sum()
            if tot > problem.upper[s, m] * (1 + 1e-12):
                members = problem.ids[problem.locked == s]
                out.append(
                    Violation(
                        "lock",
                        problem.labels[s],
                        f"units locked to {problem.labels[s]} ({_shown(members, 5)}) sum to "
                        f"{name} {tot:,.6g} = {100 * tot / mean[m]:.0f}% of the mean, above the "
                        f"cap of {_band_pct(problem, problem.upper[s], 1)(m)}",
                    )
                )
        # territories with a floor must each reach it: impossible if the measure is held by
        # fewer units than that (a territory with none of them stays at 0)
        need = int((problem.lower[:, m] > 0).sum())
        if (col > 0).sum() < need:
            floors = (
                f"{100 * (1 - problem.tolerance[m]):.0f}% of the mean"
                if problem.uniform
                else "their floor"
            )
            out.append(
                Violation(
                    "balance",
                    name,
                    f"only {(col > 0).sum()} unit(s) have any {name} but k = {problem.k} "
                    f"territories must each reach {floors}",
                )
            )
    out.extend(_paired_measure_blocks(problem))
    if problem.max_moved is not None and problem.current is not None:
        # current territories beyond k have no slot in the plan: their units must all move
        # build_problem sets current, current_given and current_names together
        assert problem.current_given is not None and problem.current_names is not None
        orphans = problem.current_given & (problem.current < 0)
        if orphans.sum() > problem.max_moved:
            gone = sorted({str(x) for x in problem.current_names[orphans]})
            out.append(
                Violation(
                    "disruption",
                    _shown(gone, 5),
                    f"the current alignment has more territories than k = {problem.k}: the "
                    f"{orphans.sum()} units of {_shown(gone, 5)} must change territory, more "
                    f"than the {problem.max_moved} moves allowed",
                )
            )
        forced = (problem.locked >= 0) & problem.current_given & (problem.locked != problem.current)
        if forced.sum() > problem.max_moved:
            out.append(
                Violation(
                    "disruption",
                    _shown(problem.ids[forced], 5),
                    f"{forced.sum()} locked unit(s) are locked to a territory other than their "
                    f"current one, more than the {problem.max_moved} moves allowed",
                )
            )
    return out


def diagnose(
    problem: TerritoryProblem, labels: np.ndarray, pre: list[Violation], bound
) -> list[Violation]:
    """Every constraint the plan does not meet, each with its most specific known cause."""
    out: list[Violation] = []
    names = problem.labels
    sums = np.zeros((problem.k, problem.values.shape[1]))
    np.add.at(sums, labels, problem.values)
    target = problem.target
    of = "the mean" if problem.uniform else "its target"
    over_units = {v.subject for v in pre if v.constraint == "balance"}
    lock_causes: dict[str, Violation] = {}
    for v in pre:
        if v.constraint == "lock":
            lock_causes.setdefault(v.subject, v)
    lp_infeasible = bound is not None and bound.infeasible
    out.extend(pre)
    for m, name in enumerate(problem.measures):
        knock_on: list[str] = []
        excess = band_excess(problem, sums)[:, m]
        for s in range(problem.k):
            v = sums[s, m]
            if excess[s] <= 0:
                continue
            dev = 100 * (v - target[s, m]) / target[s, m]
            side = "above the cap" if v > problem.upper[s, m] else "below the floor"
            members = problem.ids[labels == s]
            blockers = [u for u in members if u in over_units]
            band = f"{name} {dev:+.1f}% from {of}, {side} of ±{100 * problem.tolerance[m]:.1f}%"
            if blockers:
                cause = f"it holds unit {blockers[0]}, which makes the band unreachable (above)"
            elif names[s] in lock_causes and v > problem.upper[s, m]:
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
                    "within the work budget; the balance rows alone are feasible (LP relaxation)"
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
                "balance, so this should not happen unless the safety stop ended it)"
            )
            out.append(
                Violation(
                    "disruption",
                    "max_moved",
                    f"{moved} units change territory, above the budget of "
                    f"{problem.max_moved}: {why}",
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
