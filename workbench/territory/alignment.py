"""The account-level plan: who owns each account after the redesign, and the files to act on it.

A territory plan moves *blocks* (ZIP codes or geographic units); a sales team acts on
*accounts*. :func:`account_alignment` turns the block plan and the reps matched to the proposed
territories into one row per account, and :func:`write_alignment_files` writes what the team
needs: the full alignment (CSV and a workbook), the CRM owner updates, and the territories as a
map layer (GeoJSON).

Territories are geographic: an account's ``current_territory`` and ``proposed_territory`` are
those of its block. Its reps are people: ``current_rep_id`` is the owner in the CRM today and
``proposed_rep_id`` the rep of its proposed territory, except for a named account, which stays
with its named rep wherever its block goes. ``moved`` means the *rep* changes.

Vacant territories (no rep until a hire) and the CRM
    An account whose proposed territory is vacant has no proposed rep (``proposed_rep_id``
    empty, ``moved`` true when it has an owner today, reason ``vacant territory``). It is **not**
    written to the CRM owner updates: it keeps its current owner as interim cover until the
    territory is filled, so no account is orphaned in the CRM. It is listed on the workbook's
    Changes sheet, so a manager sees what is waiting for the hire.

Spreadsheet formulas are neutralised
    A text value that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would
    be run as a formula by a spreadsheet opening the file (CSV injection). In every CSV and
    workbook written here such a value is prefixed with a single quote ``'`` (so ``=1+2``
    becomes ``'=1+2``). Numbers are not text, so negative amounts are untouched; an id that
    starts with one of these characters is changed too, so match it with the quote in the CRM.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from ..config import Quarter
from ..io import neutralise_formulas
from ..xlsx import xlsx_bytes

__all__ = [
    "Reason",
    "account_alignment",
    "crm_owner_updates",
    "excel_sheet_names",
    "neutralise_formulas",
    "territory_features",
    "territory_summary",
    "write_alignment_files",
]


class Reason(enum.StrEnum):
    """Why an account's proposed owner is what it is (first that applies, in this order)."""

    NAMED = "named account"
    VACANT = "vacant territory"
    BLOCK_MOVED = "block moved"
    LOCKED = "locked block"
    REP_CHANGE = "rep change (territory kept)"
    UNCHANGED = "unchanged"


#: Excel: at most 31 characters, none of these, not starting or ending with an apostrophe.
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_MAX = 31
SUMMARY_SHEET, CHANGES_SHEET = "Summary", "Changes"


def _id(value: object) -> str | None:
    """An id as stripped text; empty and missing values are None."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _ids(values: Iterable[object]) -> list[str | None]:
    return [_id(v) for v in values]


def _as_dict(
    mapping: Mapping | pd.Series | pd.DataFrame | None, key: str, value: str
) -> dict[str | None, str | None]:
    """A Series, a dict or a two-column frame (``key``, ``value``) as a text -> text dict."""
    if mapping is None:
        return {}
    if isinstance(mapping, pd.DataFrame):
        mapping = dict(zip(mapping[key], mapping[value], strict=True))
    return {_id(k): _id(v) for k, v in mapping.items()}


def account_alignment(
    accounts: pd.DataFrame,
    current: Mapping[str, str] | pd.Series | pd.DataFrame,
    proposed: Mapping[str, str] | pd.Series | pd.DataFrame,
    rep_of: Mapping[str, str | None] | pd.Series | pd.DataFrame,
    *,
    block: str = "postal_code",
    named: Mapping[str, str] | pd.Series | pd.DataFrame | None = None,
    seats: Mapping[str, str] | pd.Series | None = None,
    locked: Iterable[str] | pd.DataFrame = (),
    carry: Sequence[str] = ("revenue_usd",),
) -> pd.DataFrame:
    """One row per account: its block, territory and rep today and after the redesign.

    Parameters
    ----------
    accounts : pandas.DataFrame
        ``account_id`` (unique), ``account_name``, the ``block`` column and ``owner_rep_id``
        (the CRM owner today; empty = none). Ids are read as text with surrounding spaces
        removed: keep ZIP codes as text.
    current : mapping, pandas.Series or pandas.DataFrame
        Block id -> current territory (a frame: ``unit_id, territory``, as
        ``building_blocks`` returns); blocks missing here have none.
    proposed : mapping, pandas.Series or pandas.DataFrame
        Block id -> proposed territory (e.g. ``TerritoryPlan.assignment``); every account's
        block must be in it.
    rep_of : mapping, pandas.Series or pandas.DataFrame
        Proposed territory -> rep id, ``None`` (or missing) for a vacant territory (e.g.
        ``RepMatching.rep_of``; a frame: ``territory, rep_id``); every proposed territory
        must be in it.
    block : str
        The accounts' block column (``postal_code`` or ``unit_id``).
    named : mapping, pandas.Series or pandas.DataFrame, optional
        Named accounts: account id -> the rep who keeps it (a frame: ``account_id, rep_id``).
    seats : mapping or pandas.Series, optional
        Accounts carved out to the named-account team: account id -> its seat, a territory of
        its own (its proposed territory; its rep is ``rep_of[seat]``, None when the seat is
        still to staff; reason ``named account``). Their blocks need no proposed territory.
    locked : iterable of str or pandas.DataFrame, optional
        Block ids whose territory was locked (a frame: its ``unit_id`` column).
    carry : sequence of str
        Account columns copied to the result when present (``revenue_usd`` feeds the
        workbook's Summary sheet).

    Returns
    -------
    pandas.DataFrame
        Same index as ``accounts``; columns ``account_id``, ``account_name``, ``block_id``,
        ``current_territory``, ``current_rep_id``, ``proposed_territory``,
        ``proposed_rep_id`` (None = vacant), ``moved`` (the rep changes), ``named`` (bool),
        ``reason`` (a :class:`Reason` value), then the ``carry`` columns.

    Raises
    ------
    ValueError
        On missing columns, duplicate account ids, blocks without a proposed territory or
        proposed territories missing from ``rep_of``.

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "account_name": list("ABCD"),
    ...     "postal_code": ["00501", "00501", "02000", "03000"],
    ...     "owner_rep_id": ["R1", "R1", "R2", "R2"]})
    >>> out = account_alignment(acc, {"00501": "R1", "02000": "R2", "03000": "R2"},
    ...     {"00501": "R1", "02000": "R1", "03000": "T3"}, {"R1": "R1", "T3": None},
    ...     named={"b": "R2"})
    >>> out[["account_id", "proposed_rep_id", "moved", "reason"]].values.tolist()
    [['a', 'R1', False, 'unchanged'], ['b', 'R2', True, 'named account'], \
['c', 'R1', True, 'block moved'], ['d', None, True, 'vacant territory']]
    """
    missing = [
        c
        for c in ("account_id", "account_name", block, "owner_rep_id")
        if c not in accounts.columns
    ]
    if missing:
        raise ValueError(f"accounts lack column(s) {', '.join(missing)}")
    acc_ids = _ids(accounts["account_id"])
    seen = pd.Series(acc_ids, dtype=object)
    dup = sorted(set(seen[seen.duplicated() & seen.notna()]))
    if dup or None in acc_ids:
        raise ValueError(f"account_id must be unique and non-empty; duplicated: {dup[:10]}")
    blocks = _ids(accounts[block])
    cur = _as_dict(current, "unit_id", "territory")
    prop = _as_dict(proposed, "unit_id", "territory")
    reps = _as_dict(rep_of, "territory", "rep_id")
    named_rep = _as_dict(named, "account_id", "rep_id")
    if isinstance(locked, pd.DataFrame):
        locked = locked["unit_id"]
    locked_set = {_id(b) for b in locked}

    seat_of = {} if seats is None else {_id(a): str(t) for a, t in dict(seats).items()}
    no_plan = sorted(
        {
            str(b)
            for a, b in zip(acc_ids, blocks, strict=True)
            if a not in seat_of and prop.get(b) is None
        }
    )
    if no_plan:
        raise ValueError(f"{len(no_plan)} block(s) have no proposed territory: {no_plan[:10]}")
    cur_terr = [cur.get(b) for b in blocks]
    # no None: blocks without a proposed territory were rejected just above
    prop_terr = cast(
        list[str], [seat_of.get(a) or prop[b] for a, b in zip(acc_ids, blocks, strict=True)]
    )
    no_rep = sorted({t for t in prop_terr if t not in reps})
    if no_rep:
        raise ValueError(
            f"rep_of lacks proposed territories {no_rep[:10]} (map a vacant territory to None)"
        )
    owner = _ids(accounts["owner_rep_id"])
    is_named = [a in named_rep or a in seat_of for a in acc_ids]
    new_rep = [
        named_rep[a] if a in named_rep else reps[t] for a, t in zip(acc_ids, prop_terr, strict=True)
    ]
    moved = [o != r for o, r in zip(owner, new_rep, strict=True)]

    reason = []
    for b, n, t0, t1, m in zip(blocks, is_named, cur_terr, prop_terr, moved, strict=True):
        if n:
            why = Reason.NAMED
        elif reps[t1] is None:
            why = Reason.VACANT
        elif t0 is not None and t0 != t1:
            why = Reason.BLOCK_MOVED
        elif b in locked_set:
            why = Reason.LOCKED
        elif m:
            why = Reason.REP_CHANGE
        else:
            why = Reason.UNCHANGED
        reason.append(why.value)

    text = {
        "account_id": acc_ids,
        "account_name": accounts["account_name"].tolist(),
        "block_id": blocks,
        "current_territory": cur_terr,
        "current_rep_id": owner,
        "proposed_territory": prop_terr,
        "proposed_rep_id": new_rep,
    }
    # object columns: missing ids stay None (pandas' str dtype would turn them into NaN)
    out = pd.DataFrame(
        {k: pd.Series(v, dtype=object, index=accounts.index) for k, v in text.items()}
    )
    out["moved"] = np.array(moved, dtype=bool)
    out["named"] = np.array(is_named, dtype=bool)
    out["reason"] = pd.Series(reason, dtype=object, index=accounts.index)
    for c in carry:
        if c in accounts.columns and c not in out.columns:
            out[c] = accounts[c].to_numpy()
    return out


# ---------------------------------------------------------------------------------------------
# Tables derived from an alignment


def crm_owner_updates(alignment: pd.DataFrame) -> pd.DataFrame:
    """The CRM owner changes: ``account_id, new_owner_rep_id, old_owner_rep_id``.

    Only accounts whose rep changes and whose new rep exists: accounts of a vacant territory
    keep their owner as interim cover (see the module docstring).

    Examples
    --------
    >>> al = pd.DataFrame({"account_id": ["a", "b", "c"], "current_rep_id": ["R1", None, "R2"],
    ...     "proposed_rep_id": ["R2", "R1", None], "moved": [True, True, True]})
    >>> crm_owner_updates(al).values.tolist()
    [['a', 'R2', 'R1'], ['b', 'R1', None]]
    """
    keep = alignment["moved"].astype(bool) & alignment["proposed_rep_id"].notna()
    rows = alignment.loc[keep]
    cols = {
        "account_id": "account_id",
        "new_owner_rep_id": "proposed_rep_id",
        "old_owner_rep_id": "current_rep_id",
    }
    return pd.DataFrame(
        {new: pd.Series(_ids(rows[old]), dtype=object) for new, old in cols.items()}
    )


def _follows_block(alignment: pd.DataFrame) -> pd.Series:
    """Accounts owned by their territory's rep: all but the named accounts."""
    if "named" not in alignment.columns:
        return pd.Series(True, index=alignment.index)
    return ~alignment["named"].astype(bool)


def _territory_reps(alignment: pd.DataFrame) -> dict[str, str | None]:
    """Proposed territory -> its rep, read from the accounts that follow their block."""
    geo = alignment.loc[_follows_block(alignment)]
    return {
        t: _id(r)
        for t, r in geo.groupby("proposed_territory", sort=True)["proposed_rep_id"]
        .first(skipna=False)
        .items()
    }


def territory_summary(
    alignment: pd.DataFrame, *, territories: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per territory (proposed, then current-only ones): the workbook's Summary.

    Columns: ``territory``, ``rep_id``, the other columns of ``territories``, ``accounts`` (in
    the proposed territory), ``moved_in`` and ``moved_out`` (accounts whose *territory*
    changes, into and out of it), ``owner_changes`` (its accounts whose rep changes) and
    ``revenue_usd`` (when the alignment has it). Columns of ``territories`` with these names
    are ignored.

    Parameters
    ----------
    alignment : pandas.DataFrame
        As returned by :func:`account_alignment`.
    territories : pandas.DataFrame, optional
        One row per proposed territory (``territory`` column, e.g. ``RepMatching.table``):
        adds territories without accounts and extra columns such as ``rep_name``. Its
        ``rep_id`` is used only for territories whose rep the accounts do not show.

    Examples
    --------
    >>> al = pd.DataFrame({"account_id": ["a", "b"], "current_territory": ["T1", "T1"],
    ...     "proposed_territory": ["T1", "T2"], "current_rep_id": ["R1", "R1"],
    ...     "proposed_rep_id": ["R1", "R2"], "moved": [False, True], "named": [False, False]})
    >>> territory_summary(al)[["territory", "accounts", "moved_in", "moved_out"]].values.tolist()
    [['T1', 1, 0, 1], ['T2', 1, 1, 0]]
    """
    prop = alignment["proposed_territory"]
    cur = alignment["current_territory"]
    changed = prop.ne(cur) & cur.notna()
    extra = (
        pd.DataFrame(columns=["territory"])
        if territories is None
        else (territories[territories["territory"].notna()].drop_duplicates("territory"))
    )
    proposed = sorted(set(prop.dropna()) | set(extra["territory"]))
    current_only = sorted(set(cur.dropna()) - set(proposed))
    order = proposed + current_only
    reps = _territory_reps(alignment)
    fallback = (
        dict(zip(extra["territory"], extra["rep_id"], strict=True))
        if ("rep_id" in extra.columns)
        else {}
    )
    out = pd.DataFrame({"territory": order})
    out["rep_id"] = pd.Series(
        [reps[t] if t in reps else _id(fallback.get(t)) for t in order], dtype=object
    )
    computed = (
        "territory",
        "rep_id",
        "accounts",
        "moved_in",
        "moved_out",
        "owner_changes",
        "revenue_usd",
    )
    more = [c for c in extra.columns if c not in computed]
    if more:
        out = out.merge(extra[["territory", *more]], on="territory", how="left")
    out["accounts"] = prop.value_counts().reindex(order, fill_value=0).to_numpy()
    out["moved_in"] = prop[changed].value_counts().reindex(order, fill_value=0).to_numpy()
    out["moved_out"] = cur[changed].value_counts().reindex(order, fill_value=0).to_numpy()
    out["owner_changes"] = (
        prop[alignment["moved"].astype(bool)].value_counts().reindex(order, fill_value=0).to_numpy()
    )
    if "revenue_usd" in alignment.columns:
        rev = pd.to_numeric(alignment["revenue_usd"], errors="coerce")
        out["revenue_usd"] = rev.groupby(prop).sum().reindex(order, fill_value=0.0).to_numpy()
    return out


# ---------------------------------------------------------------------------------------------
# Spreadsheet safety


def excel_sheet_names(
    labels: Iterable[object], *, reserved: Iterable[str] = ()
) -> dict[object, str]:
    """Valid, unique Excel sheet names for labels (label -> name).

    Forbidden characters (``[ ] : * ? / \\``) become ``_``; apostrophes at either end go;
    names are cut to 31 characters; an empty name becomes ``sheet``; and names equal (Excel
    ignores case) to an earlier one or to a ``reserved`` name (and Excel's own ``History``)
    get `` (2)``, `` (3)`` ... within the 31 characters.

    Examples
    --------
    >>> excel_sheet_names(["a/b", "A_B", "Summary", "x" * 40], reserved=["Summary"])
    {'a/b': 'a_b', 'A_B': 'A_B (2)', 'Summary': 'Summary (2)', \
'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'}
    """
    used = {r.lower() for r in reserved} | {"history"}
    out: dict[object, str] = {}
    for label in labels:
        base = SHEET_FORBIDDEN.sub("_", str(label)).strip("'")[:SHEET_MAX].strip("'") or "sheet"
        name, k = base, 1
        while name.lower() in used:
            k += 1
            suffix = f" ({k})"
            name = base[: SHEET_MAX - len(suffix)].rstrip("'") + suffix
        used.add(name.lower())
        out[label] = name
    return out


# ---------------------------------------------------------------------------------------------
# Map layer


def territory_features(
    alignment: pd.DataFrame,
    *,
    blocks: pd.DataFrame | None = None,
    polygons=None,
    territories: pd.DataFrame | None = None,
    point_buffer_deg: float = 0.01,
) -> dict:
    """A GeoJSON FeatureCollection with one feature per proposed territory.

    Properties ``territory``, ``rep_id`` and ``accounts``. The geometry is the union
    (dissolve) of the territory's block polygons where ``polygons`` has any of its blocks,
    else the convex hull of its block points from ``blocks``; a hull of one or two points (or
    of points on a line) is buffered by ``point_buffer_deg`` degrees so it is a polygon. A
    territory with neither gets a null geometry. Coordinates are WGS84 longitude, latitude.

    Parameters
    ----------
    alignment : pandas.DataFrame
        As returned by :func:`account_alignment`.
    blocks : pandas.DataFrame, optional
        Block points: ``unit_id`` (the block id), ``lat``, ``lon``.
    polygons : geopandas.GeoDataFrame, optional
        Block polygons with a ``unit_id`` column (blocks are units).
    territories : pandas.DataFrame, optional
        As for :func:`territory_summary` (territories without accounts, fallback rep ids).

    Examples
    --------
    >>> al = pd.DataFrame({"account_id": ["a", "b"], "block_id": ["1", "2"],
    ...     "current_territory": ["T1", "T1"], "proposed_territory": ["T1", "T1"],
    ...     "current_rep_id": ["R1", "R1"], "proposed_rep_id": ["R1", "R1"],
    ...     "moved": [False, False], "named": [False, False]})
    >>> pts = pd.DataFrame({"unit_id": ["1", "2"], "lat": [0.0, 1.0], "lon": [0.0, 0.0]})
    >>> f = territory_features(al, blocks=pts)["features"][0]
    >>> f["properties"], f["geometry"]["type"]
    ({'territory': 'T1', 'rep_id': 'R1', 'accounts': 2}, 'Polygon')
    """
    import shapely
    from shapely.geometry import MultiPoint, mapping

    summary = territory_summary(alignment, territories=territories)
    proposed = set(alignment["proposed_territory"].dropna())
    if territories is not None:
        proposed |= set(territories["territory"].dropna())
    summary = summary[summary["territory"].isin(proposed)]
    # blocks follow their territory; named accounts do not move their block
    geo_rows = alignment.loc[_follows_block(alignment)]
    block_terr = geo_rows.groupby("block_id")["proposed_territory"].first()
    shapes: dict[str, object] = {}
    if polygons is not None and len(polygons):
        poly = polygons
        if poly.crs is not None and poly.crs.to_epsg() != 4326:
            poly = poly.to_crs(4326)  # GeoJSON (RFC 7946) is WGS84
        terr = pd.Series(_ids(poly["unit_id"]), index=poly.index).map(block_terr)
        for t, geoms in poly.geometry.groupby(terr.to_numpy()):
            shapes[t] = shapely.union_all(geoms.to_numpy())
    if blocks is not None and len(blocks):
        terr = pd.Series(_ids(blocks["unit_id"]), index=blocks.index).map(block_terr)
        for t, pts in blocks.groupby(terr.to_numpy()):
            if t in shapes:
                continue
            hull = MultiPoint(
                np.column_stack([pts["lon"].to_numpy(float), pts["lat"].to_numpy(float)])
            ).convex_hull
            shapes[t] = hull if hull.geom_type == "Polygon" else hull.buffer(point_buffer_deg)
    features = []
    for row in summary.itertuples(index=False):
        geom = shapes.get(row.territory)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "territory": row.territory,
                    "rep_id": _id(row.rep_id),
                    "accounts": int(row.accounts),
                },
                "geometry": None if geom is None else mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}


# ---------------------------------------------------------------------------------------------
# Files


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    # CRLF line ends (RFC 4180): the csv writer then also quotes a field holding a bare CR,
    # which a "\n" terminator would leave unquoted and readers would split into two rows
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """A workbook with one sheet per frame (:func:`workbench.xlsx.xlsx_bytes`: text cells
    stored as text, ``@``, so ids such as ``00501`` stay as written), formulas neutralised."""
    return xlsx_bytes({title: neutralise_formulas(frame) for title, frame in sheets.items()})


def write_alignment_files(
    folder: str | Path,
    alignment: pd.DataFrame,
    *,
    quarter: Quarter | str,
    territories: pd.DataFrame | None = None,
    blocks: pd.DataFrame | None = None,
    polygons=None,
    point_buffer_deg: float = 0.01,
) -> list[Path]:
    """Write the alignment files a sales team acts on; each file is written atomically.

    Files (``<q>`` is the quarter, e.g. ``2026Q3``):

    * ``alignment_<q>.csv``: every account, the columns of :func:`account_alignment`
      (UTF-8, CRLF line ends as RFC 4180 has them, missing values empty);
    * ``alignment_<q>.xlsx``: sheet ``Summary`` (:func:`territory_summary`), one sheet per
      proposed territory with its accounts (names from :func:`excel_sheet_names`) and sheet
      ``Changes`` (the accounts whose rep changes); text cells are stored as text;
    * ``crm_owner_updates_<q>.csv``: :func:`crm_owner_updates`;
    * ``territories_<q>.geojson``: :func:`territory_features`, only when ``blocks`` or
      ``polygons`` are given (there is no geometry otherwise).

    Text that a spreadsheet would run as a formula is neutralised in the CSV and xlsx files
    (:func:`neutralise_formulas`). Each file goes to a temporary file in ``folder`` and is then
    renamed over the target, so a reader never sees half a file; files take the permissions
    the umask gives.

    Parameters
    ----------
    folder : str or Path
        Created when missing.
    alignment : pandas.DataFrame
        As returned by :func:`account_alignment`.
    quarter : Quarter or str
    territories, blocks, polygons, point_buffer_deg
        As for :func:`territory_summary` and :func:`territory_features`.

    Returns
    -------
    list of Path
        The files written, in the order above.

    Examples
    --------
    >>> import tempfile
    >>> al = pd.DataFrame({"account_id": ["a"], "account_name": ["=cmd"], "block_id": ["00501"],
    ...     "current_territory": ["T1"], "current_rep_id": ["R1"], "proposed_territory": ["T1"],
    ...     "proposed_rep_id": ["R2"], "moved": [True], "named": [False],
    ...     "reason": ["rep change (territory kept)"]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = write_alignment_files(d, al, quarter="2026Q3")
    ...     print([p.name for p in paths])
    ...     print(paths[2].read_text())
    ['alignment_2026Q3.csv', 'alignment_2026Q3.xlsx', 'crm_owner_updates_2026Q3.csv']
    account_id,new_owner_rep_id,old_owner_rep_id
    a,R2,R1
    <BLANKLINE>
    """
    from ..io import write_bytes_atomic

    q = str(Quarter.parse(quarter))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary = territory_summary(alignment, territories=territories)
    proposed = sorted(
        set(alignment["proposed_territory"].dropna())
        | (set() if territories is None else set(territories["territory"].dropna()))
    )
    names = excel_sheet_names(proposed, reserved=(SUMMARY_SHEET, CHANGES_SHEET))
    by_terr = dict(tuple(alignment.groupby("proposed_territory", sort=True)))
    sheets = {SUMMARY_SHEET: summary}
    for t in proposed:
        rows = by_terr.get(t, alignment.iloc[:0])
        sheets[names[t]] = rows.sort_values("account_id", kind="stable")
    moved = alignment[alignment["moved"].astype(bool)]
    sheets[CHANGES_SHEET] = moved.sort_values(
        ["proposed_territory", "account_id"], kind="stable", na_position="last"
    )

    written = []
    for name, data in (
        (f"alignment_{q}.csv", lambda: _csv_bytes(alignment)),
        (f"alignment_{q}.xlsx", lambda: _xlsx_bytes(sheets)),
        (f"crm_owner_updates_{q}.csv", lambda: _csv_bytes(crm_owner_updates(alignment))),
    ):
        write_bytes_atomic(folder / name, data())
        written.append(folder / name)
    if blocks is not None or polygons is not None:
        fc = territory_features(
            alignment,
            blocks=blocks,
            polygons=polygons,
            territories=territories,
            point_buffer_deg=point_buffer_deg,
        )
        path = folder / f"territories_{q}.geojson"
        write_bytes_atomic(path, (json.dumps(fc, allow_nan=False) + "\n").encode("utf-8"))
        written.append(path)
    return written
