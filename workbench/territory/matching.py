"""Reps matched to the proposed territories: who takes which territory (an assignment problem).

The score of giving territory t to rep r
----------------------------------------
::

    keep(r, t)  = w_rev · rev(r, t) / REV  +  w_acc · n(r, t) / N
    perf(r, t)  = w_perf · z_perf(r) · z_pot(t) / sqrt(R · T)
    score(r, t) = keep(r, t) + perf(r, t)

* ``rev(r, t)``, ``n(r, t)``: trailing-year revenue and number of the accounts that r owns
  today and that lie in proposed territory t, i.e. what r keeps when given t.
* ``REV``, ``N``: revenue and number of all accounts owned today by the active reps. Summed
  over a matching, the keep term is the weighted share of today's books that stays with its
  rep (at most ``w_rev + w_acc``). Company-wide shares, not shares of each rep's own book:
  a rep keeping 90 % of a large book must outweigh a rep keeping 100 % of a tiny one.
* ``z_perf(r)``: the rep's performance score, the mean of the standardised ``win_rate`` and
  ``attainment`` (z-scores over the active reps that have the figure, population standard
  deviation; the mean is over the figures the rep has). A rep with no figure (a new hire)
  scores 0: no evidence, so neither pushed up nor held back.
* ``z_pot(t)``: the territory's standardised ``potential_usd``.
* ``R``, ``T``: number of active reps and of territories. Since ``Σ z_perf² ≤ R`` and
  ``Σ z_pot² = T``, Cauchy–Schwarz keeps the performance term of any matching within
  ``[-w_perf, w_perf]``, the same scale as the keep term; and by the rearrangement inequality
  it is largest when reps ordered by performance meet territories ordered by potential (the
  classic advice: put the best reps where the potential is).

Weights are relative: ``keep_revenue_weight = keep_accounts_weight = 1`` (the default) values a
point of revenue share like a point of account share; ``performance_weight = 0`` (the default)
ignores performance.

The matching
------------
The matching maximises the total score, giving every territory at most one rep and every rep
at most one territory, with as many pairs as possible, ``min(R, T)``. When there are more
territories than active reps, the rest stay explicitly **vacant** (hire); when there are more
reps, the rest are explicitly **unassigned** (redeploy them or use them as an overlay). A rep
with no current accounts (a new hire) keeps nothing anywhere, so it only takes a territory where
no incumbent would keep more: that follows from the optimum, no special rule is needed.

Solved with :func:`scipy.optimize.linear_sum_assignment` on the scores rounded to
:data:`RESOLUTION` (a billionth of the score unit, i.e. of the company's revenue share): the
rounded scores are integers held exactly in float64, so equal totals are exactly equal and ties
are real ties. Among the optimal matchings the lexicographically first one is returned, reading
territories in id order and, for each, the smallest rep id an optimal matching allows (vacant
after every rep). The tie-break walks the territories once; for each, the best matching that
gives the territory to rep r differs from the current optimum by one alternating cycle, whose
cheapest cost is a shortest path (Bellman–Ford) among the reps not yet fixed. Cost: one
assignment solve plus at most T shortest-path searches of O(n³) each, n = max(R, T) (in
practice a few rounds of O(n²)): 300 reps by 300 territories take well under a second.
"""

from __future__ import annotations

import dataclasses
import enum

import numpy as np
import pandas as pd

from ..results import TWO_DECIMALS, Results, Summary

__all__ = ["RESOLUTION", "VACANT", "RepMatching", "Status", "match_reps", "performance_score"]

#: Scores are compared at this resolution (in score units): smaller differences are ties.
RESOLUTION = 1e-9

#: Shown as the rep name of a territory that nobody takes.
VACANT = "VACANT"

PERFORMANCE_COLUMNS = ("win_rate", "attainment")


class Status(enum.StrEnum):
    """What became of a territory or a rep in the matching."""

    ASSIGNED = "assigned"
    VACANT = "vacant"
    UNASSIGNED_REP = "unassigned rep"


VACANT_REASON = "vacant: more territories than active reps — hire"
UNASSIGNED_REASON = "unassigned rep: more active reps than territories — redeploy or overlay"
PINNED_REASON = "pinned: the seat's own rep (named-account team)"
NEW_HIRE_REASON = "no current accounts: placed where no incumbent keeps more"


@dataclasses.dataclass(frozen=True, repr=False)
class RepMatching(Results):
    """Reps matched to territories (see the module docstring for the score).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per territory (id order), then one per unassigned rep (id order): ``territory``
        (None for an unassigned rep), ``rep_id`` (None when vacant), ``rep_name`` (``VACANT``
        when vacant), ``status`` (a :class:`Status` value), ``accounts`` and ``revenue_usd``
        (the territory's), ``book_accounts`` and ``book_revenue_usd`` (what the rep owns today;
        0 accounts = a new hire), ``accounts_kept`` and ``revenue_kept_usd`` (the rep's accounts
        that stay with them), ``share_kept`` (revenue kept / the rep's revenue today; NaN without
        revenue today), ``potential_usd``, ``performance`` (``z_perf``), ``score``, ``reason``.
    scores : pandas.DataFrame
        ``score(r, t)``: active reps (rows) by territories (columns), both in id order.
    keep_revenue_weight, keep_accounts_weight, performance_weight : float
    revenue_owned_usd : float
        ``REV``: revenue of the accounts owned today by active reps.
    accounts_owned : int
        ``N``: accounts owned today by active reps.
    """

    table: pd.DataFrame
    scores: pd.DataFrame
    keep_revenue_weight: float
    keep_accounts_weight: float
    performance_weight: float
    revenue_owned_usd: float
    accounts_owned: int

    # -- derived ---------------------------------------------------------------------------
    @property
    def _territory_rows(self) -> pd.DataFrame:
        return self.table[self.table["status"] != Status.UNASSIGNED_REP.value]

    @property
    def rep_of(self) -> dict[str, str | None]:
        """Territory -> rep id, ``None`` for a vacant territory."""
        rows = self._territory_rows
        return {
            t: (None if pd.isna(r) else r)
            for t, r in zip(rows["territory"], rows["rep_id"], strict=True)
        }

    @property
    def vacant(self) -> list[str]:
        """Territories nobody takes (hire)."""
        return self.table.loc[self.table["status"] == Status.VACANT.value, "territory"].tolist()

    @property
    def unassigned(self) -> list[str]:
        """Active reps without a territory (redeploy or overlay)."""
        mask = self.table["status"] == Status.UNASSIGNED_REP.value
        return self.table.loc[mask, "rep_id"].tolist()

    @property
    def accounts_kept(self) -> int:
        return int(self._territory_rows["accounts_kept"].sum())

    @property
    def revenue_kept_usd(self) -> float:
        return float(self._territory_rows["revenue_kept_usd"].sum())

    @property
    def accounts_kept_share(self) -> float:
        """Accounts that stay with their rep / accounts owned by active reps today."""
        return self.accounts_kept / self.accounts_owned if self.accounts_owned else float("nan")

    @property
    def revenue_kept_share(self) -> float:
        """Revenue that stays with its rep / revenue owned by active reps today."""
        rev = self.revenue_owned_usd
        return self.revenue_kept_usd / rev if rev > 0 else float("nan")

    @property
    def objective(self) -> float:
        """Total score of the matching."""
        return float(self._territory_rows["score"].sum())

    # -- tables ----------------------------------------------------------------------------
    def summary(self) -> Summary:
        """Headline figures as a ``metric, value`` table; the vacancies and unassigned reps as
        notes, the matching table as a section."""
        assigned = self.table[self.table["status"] == Status.ASSIGNED.value]
        new_hires = int((assigned["book_accounts"] == 0).sum())
        rows = {
            "territories": len(self._territory_rows),
            "active reps": len(self.scores.index),
            "vacant territories": len(self.vacant),
            "unassigned reps": len(self.unassigned),
            "reps without current accounts placed": new_hires,
            "accounts kept": self.accounts_kept,
            "accounts kept share": self.accounts_kept_share,
            "revenue kept (USD)": self.revenue_kept_usd,
            "revenue kept share": self.revenue_kept_share,
            "objective (total score)": self.objective,
        }
        notes = []
        if self.vacant:
            notes.append(f"Vacant (hire): {', '.join(self.vacant)}.")
        if self.unassigned:
            notes.append(f"Unassigned reps (redeploy or overlay): {', '.join(self.unassigned)}.")
        return Summary(
            {"metric": list(rows), "value": [float(v) for v in rows.values()]},
            title=(
                f"Reps matched to territories: {len(self._territory_rows)} territories, "
                f"{len(self.scores.index)} active reps"
            ),
            notes=notes,
            sections=[("Matching", self.table, TWO_DECIMALS)],
        )

    def to_frame(self) -> pd.DataFrame:
        """The matching table (a copy)."""
        return self.table.copy()


# ---------------------------------------------------------------------------------------------


def _text(values: pd.Series) -> pd.Series:
    """Ids as text, with empty strings and missing values as None."""
    out = values.astype(object).where(values.notna(), None)
    return out.map(lambda v: None if v is None or str(v).strip() == "" else str(v).strip())


def _need(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")


def _zscore(x: pd.Series) -> pd.Series:
    """Standardised values (population sd); 0 where missing or when all values agree."""
    x = pd.to_numeric(x, errors="coerce").astype(float)
    sd = float(x.std(ddof=0)) if x.notna().sum() else 0.0
    if not sd > 0:
        return pd.Series(0.0, index=x.index).where(x.notna())
    return (x - x.mean()) / sd


def performance_score(reps: pd.DataFrame) -> pd.Series:
    """Each rep's performance score ``z_perf``: the mean of their standardised figures.

    Parameters
    ----------
    reps : pandas.DataFrame
        ``rep_id`` and any of ``win_rate`` and ``attainment`` (shares; missing = unknown).

    Returns
    -------
    pandas.Series
        Indexed by ``rep_id``; 0 for a rep with no figure.

    Examples
    --------
    >>> reps = pd.DataFrame({"rep_id": ["a", "b", "c"], "win_rate": [0.2, 0.4, None]})
    >>> performance_score(reps).round(6).tolist()
    [-1.0, 1.0, 0.0]
    """
    ids = _text(reps["rep_id"])
    zs = [_zscore(reps[c]).to_numpy() for c in PERFORMANCE_COLUMNS if c in reps.columns]
    if not zs:
        return pd.Series(0.0, index=pd.Index(ids, name="rep_id"), name="performance")
    stacked = np.vstack(zs)
    have = ~np.isnan(stacked)
    total = np.where(have, stacked, 0.0).sum(axis=0)
    count = have.sum(axis=0)
    score = np.divide(total, count, out=np.zeros(len(ids)), where=count > 0)
    return pd.Series(score, index=pd.Index(ids, name="rep_id"), name="performance")


def _lexicographic_matching(score: np.ndarray) -> np.ndarray:
    """Best matching of rows (reps) to columns (territories) for integer-valued scores.

    Returns, per column, the row index or -1 (vacant); among the optimal matchings the one
    whose sequence of rows, read in column order, is lexicographically first (vacant counts
    after every row).
    """
    from scipy.optimize import linear_sum_assignment

    n_r, n_t = score.shape
    n = max(n_r, n_t)
    if n_r == 0 or n_t == 0:
        return np.full(n_t, -1, dtype=np.int64)
    # square cost matrix: dummy rows are "vacant", dummy columns "unassigned"; both cost 0
    cost = np.zeros((n, n))
    cost[:n_r, :n_t] = -score
    rows, cols = linear_sum_assignment(cost)
    col_of = np.empty(n, dtype=np.int64)
    row_of = np.empty(n, dtype=np.int64)
    col_of[rows], row_of[cols] = cols, rows
    free = np.ones(n, dtype=bool)  # rows not fixed yet
    for t in range(n_t):
        r0 = int(row_of[t])
        # candidates in preference order: real rows by index, then any dummy (vacant) row
        first_free = int(np.flatnonzero(free)[0])
        if r0 == first_free or (r0 >= n_r and first_free >= n_r):
            free[r0] = False
            continue
        dist = _shortest_from(r0, cost, col_of, free)
        # cheapest matching giving t to r: the optimum + delta(r); delta >= 0, 0 = also optimal
        delta = cost[:, t] - cost[r0, t] + dist
        delta[r0] = 0.0
        delta[~free] = np.inf
        ok = np.flatnonzero(delta[:n_r] == 0)
        pick = int(ok[0]) if ok.size else r0  # else only vacant (r0 is a dummy) is optimal
        if pick != r0:
            path = _tight_path(r0, pick, cost, col_of, free, dist)
            old = col_of[path].copy()
            col_of[path[:-1]] = old[1:]
            col_of[pick] = t
            row_of[col_of[path]] = path
        free[pick] = False
    out = row_of[:n_t].copy()
    out[out >= n_r] = -1
    return out


def _moves(cost: np.ndarray, col_of: np.ndarray, free: np.ndarray) -> np.ndarray:
    """``w[a, b]``: cost change when row a takes row b's column and b lets it go (free rows)."""
    own = cost[np.arange(len(col_of)), col_of]
    w = cost[:, col_of] - own[None, :]
    w[~free, :] = np.inf
    w[:, ~free] = np.inf
    np.fill_diagonal(w, np.inf)
    return w


def _shortest_from(
    source: int, cost: np.ndarray, col_of: np.ndarray, free: np.ndarray
) -> np.ndarray:
    """Shortest alternating-path costs from ``source`` to every free row (Bellman–Ford).

    The current matching is optimal, so there is no negative cycle and the loop ends within
    n rounds; the costs are integers in float64, so the sums are exact.
    """
    w = _moves(cost, col_of, free)
    dist = np.full(len(col_of), np.inf)
    dist[source] = 0.0
    for _ in range(len(col_of)):
        best = np.min(dist[:, None] + w, axis=0)
        better = best < dist
        if not better.any():
            break
        dist[better] = best[better]
    return dist


def _tight_path(
    source: int,
    target: int,
    cost: np.ndarray,
    col_of: np.ndarray,
    free: np.ndarray,
    dist: np.ndarray,
) -> np.ndarray:
    """A path source -> target using only edges on shortest paths (breadth-first).

    Every such path costs exactly ``dist[target]``; breadth-first search gives a simple one
    (following stored predecessors could circle on a zero-cost cycle).
    """
    w = _moves(cost, col_of, free)
    tight = np.isfinite(w) & (dist[:, None] + w == dist[None, :])
    prev = np.full(len(col_of), -1, dtype=np.int64)
    seen = np.zeros(len(col_of), dtype=bool)
    seen[source] = True
    frontier = [source]
    while frontier and not seen[target]:
        nxt = []
        for a in frontier:
            for b in np.flatnonzero(tight[a] & ~seen):
                seen[b], prev[b] = True, a
                nxt.append(int(b))
        frontier = nxt
    path = [target]
    while path[-1] != source:
        path.append(int(prev[path[-1]]))
    return np.asarray(path[::-1], dtype=np.int64)


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def match_reps(
    accounts: pd.DataFrame,
    reps: pd.DataFrame,
    territories: pd.DataFrame,
    *,
    keep_revenue_weight: float = 1.0,
    keep_accounts_weight: float = 1.0,
    performance_weight: float = 0.0,
    pinned: dict[str, str] | None = None,
) -> RepMatching:
    """Match the active reps to the proposed territories (see the module docstring).

    Parameters
    ----------
    accounts : pandas.DataFrame
        One row per account: ``account_id``, ``current_rep_id`` (today's owner; empty = none),
        ``proposed_territory``, ``revenue_usd`` (trailing year, USD).
    reps : pandas.DataFrame
        The **active** reps: ``rep_id``, ``rep_name`` and optionally ``win_rate`` and
        ``attainment`` (shares; used only when ``performance_weight > 0``).
    territories : pandas.DataFrame
        The proposed territories: a ``territory`` column (or, without one, the index, as in
        ``TerritoryPlan.territories``) and ``potential_usd`` (required when
        ``performance_weight > 0``).
    keep_revenue_weight, keep_accounts_weight : float
        Weights (≥ 0) of the revenue share and the account share a rep keeps.
    performance_weight : float
        Weight (≥ 0) of placing proven performers on high-potential territories.
    pinned : dict, optional
        Territory -> the rep who must take it (e.g. a named-account seat and its rep); the
        others are matched around them. Their rows' reason says so.

    Returns
    -------
    RepMatching

    Raises
    ------
    ValueError
        On missing columns, duplicate ids, negative weights, or accounts whose proposed
        territory is not among ``territories``.

    Examples
    --------
    Two reps, three territories: each rep keeps most of its book, the third territory is
    vacant.

    >>> acc = pd.DataFrame({"account_id": ["a1", "a2", "a3", "a4"],
    ...     "current_rep_id": ["R1", "R1", "R2", None],
    ...     "proposed_territory": ["T1", "T2", "T2", "T3"],
    ...     "revenue_usd": [80.0, 20.0, 50.0, 0.0]})
    >>> reps = pd.DataFrame({"rep_id": ["R1", "R2"], "rep_name": ["Ann", "Bo"]})
    >>> terr = pd.DataFrame({"territory": ["T1", "T2", "T3"]})
    >>> m = match_reps(acc, reps, terr)
    >>> m.rep_of
    {'T1': 'R1', 'T2': 'R2', 'T3': None}
    >>> m.table["reason"].tolist()
    ['keeps 80% of revenue (1 of 2 accounts)', 'keeps 100% of revenue (1 of 1 accounts)', \
'vacant: more territories than active reps — hire']
    """
    weights = {
        "keep_revenue_weight": keep_revenue_weight,
        "keep_accounts_weight": keep_accounts_weight,
        "performance_weight": performance_weight,
    }
    bad = [k for k, v in weights.items() if not (np.isfinite(v) and v >= 0)]
    if bad:
        raise ValueError(f"{', '.join(bad)} must be finite and ≥ 0")
    _need(
        accounts, ("account_id", "current_rep_id", "proposed_territory", "revenue_usd"), "accounts"
    )
    _need(reps, ("rep_id", "rep_name"), "reps")
    terr = (
        territories
        if "territory" in territories.columns
        else (territories.rename_axis("territory").reset_index())
    )
    if performance_weight > 0:
        _need(terr, ("potential_usd",), "territories (performance_weight > 0)")

    rep_ids = _text(reps["rep_id"])
    terr_ids = _text(terr["territory"])
    for ids, what in ((rep_ids, "rep_id"), (terr_ids, "territory")):
        if ids.isna().any() or ids.duplicated().any():
            dup = sorted(set(ids[ids.duplicated()].dropna()))
            raise ValueError(f"{what} must be unique and non-empty; duplicated: {dup}")
    acc_terr = _text(accounts["proposed_territory"])
    unknown = sorted(set(acc_terr.dropna()) - set(terr_ids)) + (
        ["<empty>"] if acc_terr.isna().any() else []
    )
    if unknown:
        raise ValueError(f"accounts name proposed territories missing from territories: {unknown}")

    rep_order = np.argsort(rep_ids.to_numpy(dtype=str), kind="stable")
    terr_order = np.argsort(terr_ids.to_numpy(dtype=str), kind="stable")
    r_ids = rep_ids.to_numpy(dtype=object)[rep_order]
    t_ids = terr_ids.to_numpy(dtype=object)[terr_order]
    r_pos = {r: i for i, r in enumerate(r_ids)}
    t_pos = {t: j for j, t in enumerate(t_ids)}
    n_r, n_t = len(r_ids), len(t_ids)

    owner = _text(accounts["current_rep_id"]).map(r_pos)  # NaN: no active owner
    revenue = pd.to_numeric(accounts["revenue_usd"], errors="coerce").fillna(0.0).to_numpy(float)
    tj = acc_terr.map(t_pos).to_numpy(dtype=np.int64)
    owned = owner.notna().to_numpy()
    ri = owner[owned].to_numpy(dtype=np.int64)
    rev_rt = np.zeros((n_r, n_t))
    cnt_rt = np.zeros((n_r, n_t))
    np.add.at(rev_rt, (ri, tj[owned]), revenue[owned])
    np.add.at(cnt_rt, (ri, tj[owned]), 1.0)
    rev_total, n_total = float(rev_rt.sum()), int(cnt_rt.sum())

    score = np.zeros((n_r, n_t))
    if rev_total > 0:
        score += keep_revenue_weight * rev_rt / rev_total
    if n_total > 0:
        score += keep_accounts_weight * cnt_rt / n_total
    perf = performance_score(reps).to_numpy()[rep_order]
    potential = (
        pd.to_numeric(terr["potential_usd"], errors="coerce").to_numpy(float)[terr_order]
        if "potential_usd" in terr.columns
        else np.full(n_t, np.nan)
    )
    if performance_weight > 0 and n_r and n_t:
        z_pot = _zscore(pd.Series(potential)).fillna(0.0).to_numpy()
        score += performance_weight * np.outer(perf, z_pot) / np.sqrt(n_r * n_t)

    scale = RESOLUTION * max(1.0, sum(weights.values()))
    guided = np.rint(score / scale)
    pins = {str(t): str(r) for t, r in (pinned or {}).items()}
    bad_pins = sorted(t for t, r in pins.items() if t not in t_pos or r not in r_pos)
    if bad_pins:
        raise ValueError(
            f"pinned territories or reps unknown (the reps must be active): {bad_pins[:10]}"
        )
    twice = sorted({r for r in pins.values() if list(pins.values()).count(r) > 1})
    if twice:
        raise ValueError(f"reps pinned to more than one territory: {twice[:10]}")
    if pins:
        # a pinned pair is worth more than any matching without it; its rep and its territory
        # worth nothing with anyone else (integers far below 2**53 stay exact)
        big = 1e12
        for t, r in pins.items():
            guided[r_pos[r], :] = -big
            guided[:, t_pos[t]] = -big
        for t, r in pins.items():
            guided[r_pos[r], t_pos[t]] = big
    rep_of_terr = _lexicographic_matching(guided)

    # -- the table -------------------------------------------------------------------------
    terr_accounts = np.bincount(tj, minlength=n_t)
    terr_revenue = np.bincount(tj, weights=revenue, minlength=n_t)
    book_rev, book_n = rev_rt.sum(axis=1), cnt_rt.sum(axis=1)
    has_perf = np.zeros(n_r, dtype=bool)
    for c in PERFORMANCE_COLUMNS:
        if c in reps.columns:
            has_perf |= pd.to_numeric(reps[c], errors="coerce").notna().to_numpy()[rep_order]
    # ranks for the reason text: 1 = best performer / highest potential, ties by id
    perf_rank = {
        r: k + 1
        for k, r in enumerate(sorted(np.flatnonzero(has_perf), key=lambda i: (-perf[i], r_ids[i])))
    }
    pot_rank: dict[int | np.integer, int] = {
        t: k + 1
        for k, t in enumerate(
            sorted(np.flatnonzero(~np.isnan(potential)), key=lambda j: (-potential[j], t_ids[j]))
        )
    }
    names = dict(zip(rep_ids, reps["rep_name"].astype(object), strict=True))

    def rep_fields(i: int, j: int | None) -> dict:
        """What rep i owns today and keeps on territory j (None: no territory)."""
        kept_n = int(cnt_rt[i, j]) if j is not None else 0
        kept_rev = float(rev_rt[i, j]) if j is not None else 0.0
        return {
            "rep_id": r_ids[i],
            "rep_name": names[r_ids[i]],
            "book_accounts": int(book_n[i]),
            "book_revenue_usd": float(book_rev[i]),
            "accounts_kept": kept_n,
            "revenue_kept_usd": kept_rev,
            "share_kept": kept_rev / book_rev[i] if book_rev[i] > 0 else np.nan,
            "performance": float(perf[i]),
            "score": float(score[i, j]) if j is not None else 0.0,
        }

    def territory_fields(j: int) -> dict:
        return {
            "territory": t_ids[j],
            "accounts": int(terr_accounts[j]),
            "revenue_usd": float(terr_revenue[j]),
            "potential_usd": float(potential[j]),
        }

    rows = []
    for j, i in enumerate(rep_of_terr):
        if i < 0:
            rows.append(
                territory_fields(j)
                | {
                    "rep_id": None,
                    "rep_name": VACANT,
                    "status": Status.VACANT.value,
                    "accounts_kept": 0,
                    "revenue_kept_usd": 0.0,
                    "score": 0.0,
                    "reason": VACANT_REASON,
                }
            )
            continue
        row = territory_fields(j) | rep_fields(i, j) | {"status": Status.ASSIGNED.value}
        if t_ids[j] in pins:
            reason = f"{PINNED_REASON}; keeps {row['accounts_kept']} of {int(book_n[i])} accounts"
        elif book_n[i] == 0:
            reason = NEW_HIRE_REASON
        elif book_rev[i] > 0:
            reason = (
                f"keeps {row['share_kept']:.0%} of revenue "
                f"({row['accounts_kept']} of {int(book_n[i])} accounts)"
            )
        else:
            reason = f"keeps {row['accounts_kept']} of {int(book_n[i])} accounts"
        if performance_weight > 0 and i in perf_rank and j in pot_rank:
            best = "top" if perf_rank[i] == 1 else f"{_ordinal(perf_rank[i])}-best"
            high = "highest" if pot_rank[j] == 1 else f"{_ordinal(pot_rank[j])}-highest"
            reason += f"; {best} performer placed on {high} potential"
        rows.append(row | {"reason": reason})
    placed = set(rep_of_terr[rep_of_terr >= 0].tolist())
    rows += [
        rep_fields(i, None)
        | {
            "territory": None,
            "status": Status.UNASSIGNED_REP.value,
            "accounts": 0,
            "revenue_usd": 0.0,
            "reason": UNASSIGNED_REASON,
        }
        for i in range(n_r)
        if i not in placed
    ]
    text = ("territory", "rep_id", "rep_name", "status", "reason")
    columns = [
        "territory",
        "rep_id",
        "rep_name",
        "status",
        "accounts",
        "revenue_usd",
        "book_accounts",
        "book_revenue_usd",
        "accounts_kept",
        "revenue_kept_usd",
        "share_kept",
        "potential_usd",
        "performance",
        "score",
        "reason",
    ]
    # object dtype first, then numbers: missing ids stay None (a str dtype would make NaN)
    table = pd.DataFrame(rows, columns=columns, dtype=object)
    for c in columns:
        if c not in text:
            table[c] = pd.to_numeric(table[c]).astype(float if c != "accounts" else int)
    scores = pd.DataFrame(
        score, index=pd.Index(r_ids, name="rep_id"), columns=pd.Index(t_ids, name="territory")
    )
    return RepMatching(
        table=table,
        scores=scores,
        keep_revenue_weight=keep_revenue_weight,
        keep_accounts_weight=keep_accounts_weight,
        performance_weight=performance_weight,
        revenue_owned_usd=rev_total,
        accounts_owned=n_total,
    )
