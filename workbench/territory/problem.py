"""The territory design problem as validated arrays.

:func:`build_problem` turns the user's frames into a :class:`TerritoryProblem` (positions instead
of ids, one matrix of measures, territory "slots" with stable labels) and reports *every* input
problem at once. The checks that explain infeasibility are in :mod:`.diagnose`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components as _cc
from scipy.spatial import cKDTree

from ..config import ParameterError
from ..geo import haversine_km, to_unit_vectors

__all__ = [
    "BAND_TOL",
    "TerritoryProblem",
    "Violation",
    "band_excess",
    "build_problem",
    "territory_labels",
]

#: The one balance test (solver, diagnosis, plan): a territory is inside a band when its sum
#: is at most ``BAND_TOL`` x the mean outside it (float rounding only).
BAND_TOL = 1e-9


def band_excess(problem: TerritoryProblem, sums: np.ndarray) -> np.ndarray:
    """Relative distance outside each band, ``(k, M)`` in shares of the mean; 0 inside the band
    or within ``BAND_TOL`` of it."""
    mean = problem.mean
    safe = np.where(mean > 0, mean, 1.0)
    out = (np.maximum(sums - problem.upper, 0) + np.maximum(problem.lower - sums, 0)) / safe
    return np.where(out <= BAND_TOL, 0.0, out)


@dataclasses.dataclass(frozen=True)
class Violation:
    """One constraint a plan does not meet (or an input fact that forces that).

    Attributes
    ----------
    constraint : str
        ``"balance"``, ``"contiguity"``, ``"lock"``, ``"disruption"`` or ``"graph"``.
    subject : str
        What blocks it: a unit id, a lock's territory, a territory id or a measure.
    reason : str
        One sentence a planner can act on.
    """

    constraint: str
    subject: str
    reason: str

    def __str__(self) -> str:
        return f"{self.constraint} [{self.subject}]: {self.reason}"


@dataclasses.dataclass(frozen=True, eq=False)
class TerritoryProblem:
    """A validated instance. Positions ``0..n-1`` index units, ``0..k-1`` index territories.

    Built by :func:`build_problem`; the solver and the bound read only this.
    """

    ids: np.ndarray  # (n,) unit ids as str objects
    lat: np.ndarray  # (n,) degrees
    lon: np.ndarray  # (n,)
    measures: tuple[str, ...]
    values: np.ndarray  # (n, M) measure per unit
    tolerance: np.ndarray  # (M,) allowed relative deviation from the mean
    weight: np.ndarray  # (n,) activity weight of the compactness objective
    weight_name: str
    k: int
    labels: tuple[str, ...]  # territory id per slot
    graph: sp.csr_matrix | None  # adjacency used for contiguity (islands bridged)
    raw_graph: sp.csr_matrix | None  # adjacency as given
    bridges: tuple[tuple[int, int, float], ...]  # (i, j, km) links added between components
    current: np.ndarray | None  # (n,) current slot, -1 = none / label without a slot
    current_given: np.ndarray | None  # (n,) bool: the unit has a current territory
    locked: np.ndarray  # (n,) slot, -1 = free
    max_moved: int | None  # units allowed to change territory
    move_penalty: float  # km of median_km traded per 100 % of units moved
    centers: np.ndarray | None  # (k, 2) lat, lon of fixed centres (rep homes)
    notes: tuple[str, ...] = ()
    # where each slot's label came from: "centre", "lock", "current" or "new"
    label_kinds: tuple[str, ...] = ()
    current_names: np.ndarray | None = None  # (n,) current territory name per unit (or None)
    # (k, M) each territory's share of each measure's total (columns sum to 1); None = equal
    share: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.ids)

    @cached_property  # hot in the local search; the dataclass is frozen, so caching is safe
    def mean(self) -> np.ndarray:
        """``(M,)`` the mean of each measure over the k territories: the scale that balance
        excesses are measured in, and every territory's target when targets are equal."""
        return self.values.sum(axis=0) / self.k

    @cached_property
    def target(self) -> np.ndarray:
        """``(k, M)`` each territory's target: its share of the measure's total (the mean when
        no per-territory targets are given)."""
        if self.share is None:
            return np.broadcast_to(self.mean, (self.k, len(self.mean)))
        return self.share * self.values.sum(axis=0)

    @cached_property  # hot in the local search; the dataclass is frozen, so caching is safe
    def lower(self) -> np.ndarray:
        """``(k, M)`` floor of each territory's band, ``target * (1 - tolerance)``."""
        return self.target * (1 - self.tolerance)

    @cached_property  # hot in the local search; the dataclass is frozen, so caching is safe
    def upper(self) -> np.ndarray:
        """``(k, M)`` cap of each territory's band, ``target * (1 + tolerance)``."""
        return self.target * (1 + self.tolerance)

    @property
    def uniform(self) -> bool:
        """Every territory has the same target (no per-territory targets)."""
        return self.share is None

    @cached_property
    def loosest_lower(self) -> np.ndarray:
        """``(M,)`` the lowest floor of any territory: what a relaxation that does not know
        which territory a centre serves may assume (the floor itself when targets are equal)."""
        return self.lower.min(axis=0)

    @cached_property
    def loosest_upper(self) -> np.ndarray:
        """``(M,)`` the highest cap of any territory (see :attr:`loosest_lower`)."""
        return self.upper.max(axis=0)

    @cached_property  # hot in the local search; the dataclass is frozen, so caching is safe
    def total_weight(self) -> float:
        return float(self.weight.sum())

    @property
    def contiguity(self) -> bool:
        return self.graph is not None


def _as_list(value, name: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def territory_labels(k: int, taken: Sequence[str] = ()) -> list[str]:
    """``k`` stable ids ``T01, T02, ...`` (wider when k > 99), skipping any already ``taken``.

    >>> territory_labels(3)
    ['T01', 'T02', 'T03']
    >>> territory_labels(2, taken=["T01"])
    ['T02', 'T03']
    """
    width = max(2, len(str(k + len(taken))))
    out: list[str]
    out, i, used = [], 1, set(taken)
    while len(out) < k:
        label = f"T{i:0{width}d}"
        if label not in used:
            out.append(label)
        i += 1
    return out


def _unit_ids(frame: pd.DataFrame, column: str) -> pd.Series:
    # ids are text: ZIP and FIPS codes carry leading zeros that a numeric cast would lose
    return frame[column].astype(str).str.strip()


def build_problem(
    units: pd.DataFrame,
    *,
    k: int,
    balance: str | Sequence[str],
    tolerance: float | Sequence[float] | Mapping[str, float] = 0.05,
    weight: str | None = None,
    adjacency: pd.DataFrame | None = None,
    current: pd.DataFrame | pd.Series | None = None,
    locked: pd.DataFrame | pd.Series | None = None,
    centers: pd.DataFrame | None = None,
    targets: pd.DataFrame | Mapping[str, float] | None = None,
    max_moved: float | None = None,
    move_penalty: float = 0.0,
    id_column: str = "unit_id",
    names: Mapping[str, str] | None = None,
) -> TerritoryProblem:
    """Validate the inputs and build a :class:`TerritoryProblem`.

    Every problem found is reported at once in one :class:`~workbench.config.ParameterError`
    (one line each, naming the input, the column and what was expected).

    Parameters
    ----------
    units : pandas.DataFrame
        ``id_column``, ``lat``, ``lon`` (WGS84 degrees) and the measure columns (numbers >= 0).
    k : int
        Number of territories, 1 <= k <= number of units.
    balance : str or sequence of str
        Measure columns to balance (comma-separated string allowed).
    tolerance : float, sequence or mapping
        Allowed relative deviation from the mean, one for all or one per measure.
    weight : str, optional
        Activity column weighting the compactness objective (default: first measure).
    adjacency : pandas.DataFrame, optional
        ``a, b`` pairs of unit ids; when given, territories must be contiguous.
    current, locked : pandas.DataFrame or Series, optional
        ``unit_id, territory`` (or a Series unit id -> territory).
    centers : pandas.DataFrame, optional
        k rows with ``lat, lon`` of fixed territory centres (rep home bases) and optionally a
        ``territory`` column naming them.
    targets : pandas.DataFrame or mapping, optional
        Per-territory targets as relative sizes: a ``territory`` column and a ``weight``
        column (all measures) and/or one column per balanced measure, or a mapping territory
        -> weight. Territory t's target for measure m is ``total_m * w_tm / sum_t w_tm``;
        territories not listed weigh 1. A half-time rep's territory weighs 0.5, a region's
        book weighs its head count. Without targets every territory targets the mean.
    max_moved : float, optional
        Share of units (with a current territory) allowed to change territory, in [0, 1].
    move_penalty : float
        Km of mean distance worth keeping every unit in place (a soft disruption cost).
    names : mapping, optional
        How to call each input in messages, e.g. ``{"units": "units.csv"}``.

    Returns
    -------
    TerritoryProblem
    """
    names = {
        "units": "units",
        "adjacency": "adjacency",
        "current": "current",
        "locked": "locked",
        "centers": "centers",
        "targets": "targets",
        **(names or {}),
    }
    problems: list[str] = []
    un = names["units"]
    measures = _as_list(balance, "balance")
    if not measures:
        problems.append("balance: expected at least one measure column name")
    if len(set(measures)) != len(measures):
        problems.append(f"balance: measure names repeat: {measures}")

    # k
    n = len(units)
    k_ok = isinstance(k, (int, np.integer)) and not isinstance(k, bool)
    if not k_ok:
        problems.append(f"k: expected an integer, got {k!r}")
    elif k < 1 or k > max(n, 1):
        problems.append(f"k: expected 1 <= k <= {n} (the number of units), got {k}")

    # columns
    required = [id_column, "lat", "lon", *measures]
    if weight is not None and weight not in measures:
        required.append(weight)
    missing = [c for c in required if c not in units.columns]
    if missing:
        problems.append(
            f"{un}: missing column(s) {', '.join(missing)}; "
            f"found {', '.join(map(str, units.columns)) or 'none'}"
        )
    ids = pd.Series([], dtype=str)
    if id_column in units.columns:
        ids = _unit_ids(units, id_column)
        empty = ids[(ids == "") | units[id_column].isna().to_numpy()]
        if len(empty):
            problems.append(f"{un}: column {id_column} is empty at {_lines(empty.index, units)}")
        dup = ids[ids.duplicated(keep=False)]
        if len(dup):
            problems.append(
                f"{un}: column {id_column} must be unique; repeated: {_shown(dup.unique())}"
            )
    numeric: dict[str, np.ndarray] = {}
    for col in dict.fromkeys(["lat", "lon", *measures, *([weight] if weight else [])]):
        if col not in units.columns:
            continue
        vals = pd.to_numeric(units[col], errors="coerce")
        bad = vals.isna() | ~np.isfinite(vals.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            problems.append(
                f"{un}: column {col} must be a finite number; not numeric at "
                f"{_lines(units.index[bad.to_numpy()], units)} "
                f"(e.g. {units[col][bad].iloc[0]!r})"
            )
            continue
        arr = vals.to_numpy(dtype=float)
        if col == "lat" and ((arr < -90) | (arr > 90)).any():
            problems.append(f"{un}: column lat must be in [-90, 90] (WGS84 degrees)")
        elif col == "lon" and ((arr < -180) | (arr > 180)).any():
            problems.append(f"{un}: column lon must be in [-180, 180] (WGS84 degrees)")
        elif col not in ("lat", "lon") and (arr < 0).any():
            neg = units.index[arr < 0]
            problems.append(f"{un}: column {col} must be >= 0; negative at {_lines(neg, units)}")
        numeric[col] = arr

    # tolerance
    tol = _tolerances(tolerance, measures, problems)

    for col in measures:
        if col in numeric and numeric[col].sum() <= 0 and n:
            problems.append(f"{un}: measure {col} sums to 0: nothing to balance")

    id_index = pd.Index(ids.to_numpy(), dtype=object)

    # adjacency
    raw_graph = None
    if adjacency is not None:
        an = names["adjacency"]
        miss = [c for c in ("a", "b") if c not in adjacency.columns]
        if miss:
            problems.append(
                f"{an}: missing column(s) {', '.join(miss)}; expected a,b pairs of unit ids"
            )
        elif len(id_index):
            a = _unit_ids(adjacency, "a")
            b = _unit_ids(adjacency, "b")
            ia = id_index.get_indexer(a)
            ib = id_index.get_indexer(b)
            for col, s, ix in (("a", a, ia), ("b", b, ib)):
                if (ix < 0).any():
                    bad = s[ix < 0]
                    problems.append(
                        f"{an}: column {col} names unit id(s) not in {un}: "
                        f"{_shown(bad.unique())} at {_lines(bad.index, adjacency)}"
                    )
            if not problems:
                keep = ia != ib
                m = sp.csr_matrix(
                    (
                        np.ones(2 * keep.sum()),
                        (np.r_[ia[keep], ib[keep]], np.r_[ib[keep], ia[keep]]),
                    ),
                    shape=(n, n),
                )
                m.data[:] = 1.0
                raw_graph = m

    # current / locked
    cur_lab = _assignment(current, "current", names, id_index, problems)
    lock_lab = _assignment(locked, "locked", names, id_index, problems)

    # centres
    center_xy = None
    center_names: list[str] = []
    if centers is not None:
        cn = names["centers"]
        miss = [c for c in ("lat", "lon") if c not in centers.columns]
        if miss:
            problems.append(f"{cn}: missing column(s) {', '.join(miss)}")
        else:
            xy = centers[["lat", "lon"]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
            if not np.isfinite(xy).all():
                problems.append(f"{cn}: lat and lon must be numbers")
            center_xy = xy
        if k_ok and len(centers) != k:
            problems.append(
                f"{cn}: expected k = {k} rows (one centre per territory), got {len(centers)}"
            )
        if "territory" in centers.columns:
            center_names = centers["territory"].astype(str).str.strip().tolist()
            if len(set(center_names)) != len(center_names):
                problems.append(f"{cn}: column territory must be unique")

    # disruption
    if max_moved is not None:
        if not (isinstance(max_moved, (int, float)) and 0 <= float(max_moved) <= 1):
            problems.append(f"max_moved: expected a share in [0, 1], got {max_moved!r}")
        if current is None:
            problems.append("max_moved: a disruption budget needs the current alignment (current)")
    if not (isinstance(move_penalty, (int, float)) and move_penalty >= 0):
        problems.append(f"move_penalty: expected a number >= 0, got {move_penalty!r}")

    # territory labels (slots)
    lock_names = sorted(set(lock_lab.dropna())) if lock_lab is not None else []
    if k_ok and len(lock_names) > k:
        problems.append(
            f"{names['locked']}: {len(lock_names)} distinct territories locked "
            f"({_shown(lock_names)}) but k = {k}"
        )
    if center_names:
        stray = [t for t in lock_names if t not in center_names]
        if stray:
            problems.append(
                f"{names['locked']}: territory {_shown(stray)} is not one of the centres' "
                f"territories {_shown(center_names)}"
            )

    target_w = _targets(targets, measures, names["targets"], problems)
    if target_w and k_ok:
        named = list(target_w)
        if center_names:
            stray = [t for t in named if t not in center_names]
            if stray:
                problems.append(
                    f"{names['targets']}: territory {_shown(stray)} is not one of the centres' "
                    f"territories {_shown(center_names)}"
                )
        elif len(set(named) | set(lock_names)) > k:
            problems.append(
                f"{names['targets']}: {len(set(named) | set(lock_names))} distinct territories "
                f"named (with the locked ones) but k = {k}"
            )

    if problems:
        raise ParameterError("\n".join(problems))

    values = np.column_stack([numeric[m] for m in measures])
    wname = weight or measures[0]
    w = numeric[wname].copy()
    if w.sum() <= 0:  # all-zero activity: fall back to plain distance
        w = np.ones(n)
        wname = "units"

    labels = _slot_labels(k, center_names, list(dict.fromkeys([*lock_names, *target_w])), cur_lab)
    cur_set = set(cur_lab) if cur_lab is not None else set()
    kinds = tuple(
        "centre"
        if center_names
        else "lock"
        if lab in lock_names
        else "target"
        if lab in target_w
        else "current"
        if lab in cur_set
        else "new"
        for lab in labels
    )
    share = None
    if target_w:
        raw_w = np.array([target_w.get(lab, np.ones(len(measures))) for lab in labels])
        share = raw_w / raw_w.sum(axis=0)
    slot = {lab: s for s, lab in enumerate(labels)}
    locked_arr = np.full(n, -1, dtype=np.int64)
    if lock_lab is not None:
        for uid, lab in lock_lab.items():
            locked_arr[id_index.get_loc(uid)] = slot[lab]
    cur_arr = given = cur_names = None
    budget = None
    if cur_lab is not None:
        cur_arr = np.full(n, -1, dtype=np.int64)
        given = np.zeros(n, dtype=bool)
        cur_names = np.full(n, None, dtype=object)
        for uid, lab in cur_lab.items():
            pos = id_index.get_loc(uid)
            given[pos] = True
            cur_arr[pos] = slot.get(lab, -1)
            cur_names[pos] = lab
        if max_moved is not None:
            # rounding down: "at most 10 %" must never allow 10.4 %
            budget = math.floor(float(max_moved) * given.sum() + 1e-9)

    lat = numeric["lat"]
    lon = numeric["lon"]
    notes: list[str] = []
    graph = raw_graph
    bridges: tuple = ()
    if raw_graph is not None:
        graph, bridges, note = _bridge_components(raw_graph, lat, lon, ids.to_numpy())
        if note:
            notes.append(note)
    return TerritoryProblem(
        ids=ids.to_numpy(dtype=object),
        lat=lat,
        lon=lon,
        measures=tuple(measures),
        values=values,
        tolerance=tol,
        weight=w,
        weight_name=wname,
        k=int(k),
        labels=tuple(labels),
        graph=graph,
        raw_graph=raw_graph,
        bridges=bridges,
        current=cur_arr,
        current_given=given,
        locked=locked_arr,
        max_moved=budget,
        move_penalty=float(move_penalty),
        centers=center_xy,
        notes=tuple(notes),
        label_kinds=kinds,
        current_names=cur_names,
        share=share,
    )


def _shown(values, limit: int = 8) -> str:
    values = [str(v) for v in values]
    text = ", ".join(repr(v) for v in values[:limit])
    return text + (f" ... ({len(values)} in all)" if len(values) > limit else "")


def _lines(index, frame: pd.DataFrame, limit: int = 8) -> str:
    """Line numbers as in the CSV file (header = line 1) for a default RangeIndex frame."""
    pos = [frame.index.get_loc(i) for i in list(index)[: limit + 1]]
    shown = ", ".join(str(p + 2) for p in pos[:limit])
    more = f" ... ({len(index)} in all)" if len(index) > limit else ""
    return f"line {shown}{more}" if len(pos) == 1 else f"lines {shown}{more}"


def _tolerances(tolerance, measures: list[str], problems: list[str]) -> np.ndarray:
    mcount = len(measures)
    if isinstance(tolerance, Mapping):
        unknown = [m for m in tolerance if m not in measures]
        if unknown:
            problems.append(f"tolerance: names measure(s) not balanced: {unknown}")
        raw = [tolerance.get(m, 0.05) for m in measures]
    elif isinstance(tolerance, str):
        raw = [t.strip() for t in tolerance.split(",") if t.strip()]
    elif isinstance(tolerance, (int, float, np.floating)):
        raw = [tolerance]
    else:
        raw = list(tolerance)
    vals = []
    for t in raw:
        try:
            vals.append(float(t))
        except (TypeError, ValueError):
            problems.append(f"tolerance: expected a number such as 0.05, got {t!r}")
            return np.full(mcount, 0.05)
    if len(vals) == 1:
        vals = vals * mcount
    if len(vals) != mcount:
        problems.append(
            f"tolerance: expected 1 value or {mcount} (one per measure: {', '.join(measures)}), "
            f"got {len(vals)}"
        )
        return np.full(mcount, 0.05)
    for m, t in zip(measures, vals, strict=True):
        if not (0 <= t < 1) or not math.isfinite(t):
            problems.append(f"tolerance for {m}: expected a share in [0, 1) such as 0.05, got {t}")
    return np.asarray(vals, dtype=float)


def _targets(targets, measures: list[str], what: str, problems: list[str]) -> dict:
    """``territory -> (M,) relative weights`` from a frame or mapping (empty when None);
    problems appended."""
    if targets is None:
        return {}
    if isinstance(targets, Mapping):
        targets = pd.DataFrame({"territory": list(targets), "weight": list(targets.values())})
    if not isinstance(targets, pd.DataFrame):
        problems.append(
            f"{what}: expected a table (territory, weight) or a mapping, "
            f"got {type(targets).__name__}"
        )
        return {}
    cols = [c for c in ["weight", *measures] if c in targets.columns]
    if "territory" not in targets.columns or not cols:
        problems.append(
            f"{what}: expected a territory column and a weight column (or one column per "
            f"balanced measure: {', '.join(measures)}); found "
            f"{', '.join(map(str, targets.columns)) or 'none'}"
        )
        return {}
    terr = targets["territory"]
    blank = terr.isna() | (terr.astype(str).str.strip() == "")
    if blank.any():
        problems.append(
            f"{what}: column territory is empty at {_lines(targets.index[blank], targets)}"
        )
    terr = terr.astype(str).str.strip()
    dup = terr[terr.duplicated(keep=False) & ~blank]
    if len(dup):
        problems.append(
            f"{what}: column territory must be unique; repeated: {_shown(dup.unique())}"
        )
    weights = np.ones((len(targets), len(measures)))
    ok = True
    for col in cols:
        vals = pd.to_numeric(targets[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        given = (targets[col].notna() & (targets[col].astype(str).str.strip() != "")).to_numpy()
        bad = given & ~(np.isfinite(vals) & (vals > 0))
        if bad.any():
            problems.append(
                f"{what}: column {col} must be a number > 0 (a relative size such as 1 or 0.5); "
                f"got {targets[col][bad].iloc[0]!r} at {_lines(targets.index[bad], targets)}"
            )
            ok = False
            continue
        if col == "weight":
            weights[given] = vals[given, None]
        else:
            m = measures.index(col)
            weights[given, m] = vals[given]
    if not ok or blank.any() or len(dup):
        return {}
    return {t: weights[r] for r, t in enumerate(terr)}


def _assignment(frame, what: str, names, id_index: pd.Index, problems: list[str]):
    """``unit_id -> territory`` Series from a frame or Series; problems appended."""
    if frame is None:
        return None
    fname = names[what]
    if isinstance(frame, pd.Series):
        frame = pd.DataFrame({"unit_id": frame.index.astype(str), "territory": frame.to_numpy()})
    miss = [c for c in ("unit_id", "territory") if c not in frame.columns]
    if miss:
        problems.append(f"{fname}: missing column(s) {', '.join(miss)}; expected unit_id,territory")
        return None
    uid = _unit_ids(frame, "unit_id")
    terr = frame["territory"]
    blank = terr.isna() | (terr.astype(str).str.strip() == "")
    if blank.any():
        problems.append(
            f"{fname}: column territory is empty at {_lines(frame.index[blank], frame)}"
        )
    terr = terr.astype(str).str.strip()
    if len(id_index):
        unknown = uid[id_index.get_indexer(uid) < 0]
        if len(unknown):
            problems.append(
                f"{fname}: column unit_id names unit id(s) not in units: "
                f"{_shown(unknown.unique())} at {_lines(unknown.index, frame)}"
            )
    both = pd.DataFrame({"u": uid, "t": terr})[~blank.to_numpy()]
    conflict = both.groupby("u")["t"].nunique()
    conflict = conflict[conflict > 1]
    if len(conflict):
        problems.append(
            f"{fname}: unit(s) listed with different territories: {_shown(conflict.index)}"
        )
    both = both.drop_duplicates("u")
    both = both[id_index.get_indexer(both["u"]) >= 0] if len(id_index) else both
    return pd.Series(both["t"].to_numpy(), index=both["u"].to_numpy(), dtype=object)


def _slot_labels(k: int, center_names, lock_names, cur_lab) -> list[str]:
    """Territory id per slot: named centres, else locked (or targeted) names, then the largest
    current territories (so the plan keeps their names), then fresh T-ids."""
    if center_names:
        return list(center_names)
    labels = list(lock_names)
    if cur_lab is not None:
        sizes = cur_lab.value_counts()
        # largest first; ties by name so the choice is deterministic
        order = sorted(sizes.index, key=lambda t: (-sizes[t], t))
        for lab in order:
            if len(labels) >= k:
                break
            if lab not in labels:
                labels.append(lab)
    labels += territory_labels(k - len(labels), taken=labels)
    return labels


def _bridge_components(graph: sp.csr_matrix, lat, lon, ids) -> tuple:
    """Link disconnected pieces of the adjacency graph by their closest unit pairs.

    Islands (a unit or group with no land link) are real: an offshore county, a ZIP on an
    island, an account in another state. Contiguity is then impossible in the strict sense, so
    the graph gets "bridges" - the shortest links joining the pieces (a minimum spanning tree of
    the components, Boruvka-style) - and the plan says which territories rely on one.
    """
    ncomp, comp = _cc(graph, directed=False)
    if ncomp <= 1:
        return graph, (), ""
    sizes = np.bincount(comp)
    xyz = to_unit_vectors(lat, lon)
    tree = cKDTree(xyz)
    n = len(lat)
    bridges: list[tuple[int, int, float]] = []
    group = comp.copy()  # merged component id
    r: int | np.integer  # numpy positions in the search, plain ints read back from ``best``
    j: int | np.ndarray
    for _ in range(64):  # Boruvka: at least halves the pieces per round
        groups = np.unique(group)
        if len(groups) <= 1:
            break
        best: dict[int, tuple[float, int, int]] = {}
        kq = min(n, 16)
        dist, nbr = tree.query(xyz, k=kq)
        dist = np.atleast_2d(dist)
        nbr = np.atleast_2d(nbr)
        for g in groups:
            members = np.flatnonzero(group == g)
            d, j = dist[members], nbr[members]
            other = group[j] != g
            if other.any():
                flat = np.where(other, d, np.inf)
                r, c = np.unravel_index(np.argmin(flat), flat.shape)
                best[g] = (flat[r, c], members[r], j[r, c])
            else:  # every near neighbour is inside: search the rest of the units directly
                rest = np.flatnonzero(group != g)
                sub = cKDTree(xyz[rest])
                dd, jj = sub.query(xyz[members], k=1)
                r = int(np.argmin(dd))
                best[g] = (dd[r], members[r], rest[jj[r]])
        for _, i, j in sorted(best.values(), key=lambda v: v[0]):
            gi, gj = group[i], group[j]
            if gi == gj:
                continue
            km = float(haversine_km(lat[i], lon[i], lat[j], lon[j]))
            bridges.append((int(i), int(j), km))
            group[group == gj] = gi
    bi = np.array([b[0] for b in bridges])
    bj = np.array([b[1] for b in bridges])
    add = sp.csr_matrix((np.ones(2 * len(bi)), (np.r_[bi, bj], np.r_[bj, bi])), shape=(n, n))
    augmented = (graph + add).tocsr()
    augmented.data[:] = 1.0
    order = np.argsort(-sizes)
    desc = ", ".join(str(s) for s in sizes[order][:6]) + (" ..." if ncomp > 6 else "")
    links = "; ".join(f"{ids[i]}-{ids[j]} ({km:.1f} km)" for i, j, km in bridges[:6])
    more = f"; ... ({len(bridges)} in all)" if len(bridges) > 6 else ""
    note = (
        f"adjacency graph has {ncomp} separate pieces (sizes {desc}): islands cannot be "
        f"contiguous with the mainland, so each piece was linked to its nearest unit elsewhere "
        f"by {len(bridges)} bridge(s): {links}{more}"
    )
    return augmented, tuple(bridges), note
