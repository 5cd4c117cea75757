"""Distances and adjacency between geographic units.

Everything here works on WGS84 latitude/longitude in degrees and returns kilometres. Distances are
great-circle (haversine) distances on a sphere of radius :data:`EARTH_RADIUS_KM`: for sales
territory work (drive times are not modelled) the 0.3 % error of the sphere against the
ellipsoid is far below the noise of using unit centroids at all.

Adjacency is a table of unordered pairs ``a, b`` of unit ids (each pair once, ``a < b``), the
same shape ``workbench design --adjacency`` reads. It comes from polygons (Queen contiguity:
units sharing at least one boundary point) or, for point units such as ZIP codes or accounts,
from a Delaunay triangulation of their locations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components as _cc
from scipy.spatial import ConvexHull, cKDTree

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088

__all__ = [
    "EARTH_RADIUS_KM",
    "adjacency_from_points",
    "adjacency_from_polygons",
    "adjacency_matrix",
    "connected_components",
    "distance_matrix_km",
    "haversine_km",
    "nearest_km",
    "to_unit_vectors",
    "unit_drivers",
]

NON_DRIVERS = frozenset({"unit_id", "unit_name", "lat", "lon", "latitude", "longitude", "region"})
"""Columns of ``geo_units`` that are never market drivers: ids, names, coordinates, regions."""


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points, with numpy broadcasting.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : array_like
        WGS84 degrees; shapes must broadcast.

    Returns
    -------
    numpy.ndarray
        Distances in km (float64).

    Examples
    --------
    One degree of latitude is about 111.2 km:

    >>> round(float(haversine_km(0.0, 0.0, 1.0, 0.0)), 1)
    111.2
    """
    la1, lo1, la2, lo2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    # clip: rounding can push h a hair above 1 for antipodal points, and arcsin would give nan
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def distance_matrix_km(lat, lon, lat2=None, lon2=None) -> np.ndarray:
    """Matrix of haversine distances (km) from every point to every (other) point.

    Parameters
    ----------
    lat, lon : array_like, shape (n,)
        Origins, WGS84 degrees.
    lat2, lon2 : array_like, shape (m,), optional
        Destinations; default the origins themselves (a symmetric n x n matrix, zero diagonal).

    Returns
    -------
    numpy.ndarray, shape (n, m)

    Examples
    --------
    >>> d = distance_matrix_km([0.0, 0.0], [0.0, 1.0])
    >>> d.shape, float(d[0, 0]), round(float(d[0, 1]), 1)
    ((2, 2), 0.0, 111.2)
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if lat2 is None:
        lat2, lon2 = lat, lon
    lat2 = np.asarray(lat2, dtype=float)
    lon2 = np.asarray(lon2, dtype=float)
    return haversine_km(lat[:, None], lon[:, None], lat2[None, :], lon2[None, :])


def to_unit_vectors(lat, lon) -> np.ndarray:
    """Points on the unit sphere (n x 3): straight-line (chord) distance between them grows with
    the great-circle distance, so a k-d tree on these vectors finds true nearest neighbours."""
    la = np.radians(np.asarray(lat, dtype=float))
    lo = np.radians(np.asarray(lon, dtype=float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _chord_to_km(chord: np.ndarray) -> np.ndarray:
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2, 0.0, 1.0))


def nearest_km(lat, lon, k: int, *, lat2=None, lon2=None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest destinations of every origin, without an n x m matrix.

    Parameters
    ----------
    lat, lon : array_like, shape (n,)
        Origins.
    k : int
        Neighbours per origin (capped at the number of destinations).
    lat2, lon2 : array_like, optional
        Destinations; default the origins (then each point is its own nearest, at 0 km).

    Returns
    -------
    index : numpy.ndarray, shape (n, k)
        Destination positions, nearest first.
    km : numpy.ndarray, shape (n, k)
        Their haversine distances.

    Examples
    --------
    >>> idx, km = nearest_km([0, 0, 0], [0, 1, 3], 2)
    >>> idx.tolist()
    [[0, 1], [1, 0], [2, 1]]
    """
    src = to_unit_vectors(lat, lon)
    dst = src if lat2 is None else to_unit_vectors(lat2, lon2)
    k = int(min(k, len(dst)))
    chord, idx = cKDTree(dst).query(src, k=k)
    if k == 1:
        chord, idx = chord[:, None], idx[:, None]
    return idx.astype(np.int64), _chord_to_km(chord)


def _pairs_frame(ids: np.ndarray, i: np.ndarray, j: np.ndarray) -> pd.DataFrame:
    """Unordered unique id pairs (a < b as text) from positional pairs."""
    a = ids[i].astype(object)
    b = ids[j].astype(object)
    keep = a != b
    a, b = a[keep], b[keep]
    lo = np.where(a < b, a, b)
    hi = np.where(a < b, b, a)
    out = pd.DataFrame({"a": lo.astype(str), "b": hi.astype(str)})
    return out.drop_duplicates().sort_values(["a", "b"], kind="stable").reset_index(drop=True)


def adjacency_from_polygons(polygons, *, id_column: str = "unit_id") -> pd.DataFrame:
    """Queen contiguity between polygons (sharing an edge or a corner), as ``a, b`` id pairs.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        One (multi)polygon per unit, with an ``id_column``. Any CRS: contiguity is topological.
    id_column : str
        Column holding the unit ids (kept as text).

    Returns
    -------
    pandas.DataFrame
        Columns ``a``, ``b`` (text ids, ``a < b``), one row per adjacent pair. Units with no
        neighbour (islands) simply appear in no row; :func:`connected_components` finds them.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> squares = gpd.GeoDataFrame({"unit_id": ["01", "02", "03"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 1, 2, 2), box(5, 5, 6, 6)])
    >>> adjacency_from_polygons(squares).values.tolist()   # corner touch counts (Queen)
    [['01', '02']]
    """
    from libpysal.weights import Queen  # imported here: libpysal is slow to import

    ids = polygons[id_column].astype(str).to_numpy()
    if len(ids) < 2:
        return pd.DataFrame({"a": pd.Series([], dtype=str), "b": pd.Series([], dtype=str)})
    frame = polygons.reset_index(drop=True)
    # use_index=False: positions 0..n-1 as ids so duplicates in the caller's index cannot bite;
    # silence_warnings: islands are reported by the caller, not printed by libpysal
    w = Queen.from_dataframe(frame, use_index=False, silence_warnings=True)
    i, j = [], []
    for src, nbrs in w.neighbors.items():
        for dst in nbrs:
            i.append(src)
            j.append(dst)
    return _pairs_frame(ids, np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64))


def adjacency_from_points(
    units: pd.DataFrame,
    *,
    id_column: str = "unit_id",
    lat: str = "lat",
    lon: str = "lon",
    max_km: float | None = None,
) -> pd.DataFrame:
    """Delaunay adjacency between point units, triangulated on the sphere.

    The spherical Delaunay triangulation is the convex hull of the points on the unit sphere
    (``scipy.spatial.ConvexHull``); hull faces that do not face outward (the "lid" spanning the
    edge of a regional point set) are dropped. Units at identical coordinates are chained to each
    other and share the neighbours of the first of them.

    Parameters
    ----------
    units : pandas.DataFrame
        Columns ``id_column``, ``lat``, ``lon`` (WGS84 degrees).
    max_km : float, optional
        Drop triangulation edges longer than this (e.g. across a bay). Dropping edges can
        split the graph; :func:`connected_components` reports the pieces.

    Returns
    -------
    pandas.DataFrame
        Columns ``a``, ``b`` (text ids, ``a < b``).

    Examples
    --------
    Four points on a square plus its centre: the centre touches all four corners.

    >>> pts = pd.DataFrame({"unit_id": list("abcde"), "lat": [0, 0, 1, 1, 0.5],
    ...                     "lon": [0, 1, 0, 1, 0.5]})
    >>> adj = adjacency_from_points(pts)
    >>> sorted(adj.loc[(adj.a == "e") | (adj.b == "e")].a)
    ['a', 'b', 'c', 'd']
    """
    ids = units[id_column].astype(str).to_numpy()
    la = units[lat].to_numpy(dtype=float)
    lo = units[lon].to_numpy(dtype=float)
    n = len(ids)
    if n < 2:
        return _pairs_frame(ids, np.zeros(0, np.int64), np.zeros(0, np.int64))
    # identical coordinates break the triangulation: triangulate one representative each
    key = pd.DataFrame({"la": np.round(la, 9), "lo": np.round(lo, 9)})
    rep = key.groupby(["la", "lo"], sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(n)).groupby(rep).first().to_numpy()  # position of each rep
    pi, pj = [], []
    # chain duplicates: rep's first unit - second - third ...
    dup_order = np.argsort(rep, kind="stable")
    same = rep[dup_order][1:] == rep[dup_order][:-1]
    pi.append(dup_order[:-1][same])
    pj.append(dup_order[1:][same])
    m = len(first)
    if m == 2:
        pi.append(first[:1])
        pj.append(first[1:])
    elif m > 2:
        xyz = to_unit_vectors(la[first], lo[first])
        tri = _spherical_triangles(xyz)
        for u, v in ((0, 1), (1, 2), (0, 2)):
            pi.append(first[tri[:, u]])
            pj.append(first[tri[:, v]])
    i = np.concatenate(pi).astype(np.int64)
    j = np.concatenate(pj).astype(np.int64)
    if max_km is not None:
        keep = haversine_km(la[i], lo[i], la[j], lo[j]) <= max_km
        i, j = i[keep], j[keep]
    return _pairs_frame(ids, i, j)


def _spherical_triangles(xyz: np.ndarray) -> np.ndarray:
    """Delaunay triangles (rows of 3 positions) of distinct points on the unit sphere."""
    m = len(xyz)
    # a regional point set is nearly coplanar for qhull at small extents only if it is tiny;
    # collinear or 3-point sets have no proper hull, so fall back to a path / single triangle
    if m == 3:
        return np.array([[0, 1, 2]])
    try:
        hull = ConvexHull(xyz, qhull_options="Qt")
    except Exception:
        order = np.lexsort((xyz[:, 1], xyz[:, 0]))
        return np.column_stack([order[:-1], order[1:], order[1:]])
    normals = hull.equations[:, :3]
    offsets = hull.equations[:, 3]
    # An outward (Delaunay) face has the sphere centre on its inner side: offset < 0. The lid
    # of a regional point set has the centre outside it (offset > 0): drop it.
    facing = offsets < -1e-12
    if not facing.any():  # pragma: no cover - only for pathological inputs
        facing = np.ones(len(offsets), dtype=bool)
    del normals
    return hull.simplices[facing]


def adjacency_matrix(
    ids: Sequence[str] | pd.Index, adjacency: pd.DataFrame | None
) -> sp.csr_matrix:
    """Symmetric 0/1 sparse matrix (positions follow ``ids``) from an ``a, b`` table.

    Raises
    ------
    ValueError
        Listing every id in ``adjacency`` that is not in ``ids``.

    Examples
    --------
    >>> m = adjacency_matrix(["x", "y", "z"], pd.DataFrame({"a": ["x"], "b": ["z"]}))
    >>> m.toarray().tolist()
    [[0, 0, 1], [0, 0, 0], [1, 0, 0]]
    """
    ids = pd.Index(pd.Series(list(ids), dtype=str))
    n = len(ids)
    if adjacency is None or len(adjacency) == 0:
        return sp.csr_matrix((n, n), dtype=np.int8)
    a = adjacency["a"].astype(str).to_numpy()
    b = adjacency["b"].astype(str).to_numpy()
    ia = ids.get_indexer(a)
    ib = ids.get_indexer(b)
    bad = sorted(set(a[ia < 0]) | set(b[ib < 0]))
    if bad:
        shown = ", ".join(repr(x) for x in bad[:10]) + (" ..." if len(bad) > 10 else "")
        raise ValueError(f"adjacency names {len(bad)} unknown unit id(s): {shown}")
    keep = ia != ib  # self-pairs carry no information
    ia, ib = ia[keep], ib[keep]
    data = np.ones(2 * len(ia), dtype=np.int8)
    m = sp.csr_matrix((data, (np.r_[ia, ib], np.r_[ib, ia])), shape=(n, n))
    m.data[:] = 1  # duplicates summed: back to 0/1
    return m


def connected_components(ids: Sequence[str], adjacency: pd.DataFrame | None) -> pd.Series:
    """Component number of every unit; 0 is the largest component, then by size.

    Parameters
    ----------
    ids : sequence of str
        All unit ids (units absent from ``adjacency`` are one-unit islands).
    adjacency : pandas.DataFrame or None
        ``a, b`` pairs.

    Returns
    -------
    pandas.Series
        Indexed by unit id, integer component numbers.

    Examples
    --------
    >>> adj = pd.DataFrame({"a": ["1", "2"], "b": ["2", "3"]})
    >>> connected_components(["1", "2", "3", "4"], adj).tolist()
    [0, 0, 0, 1]
    """
    ids = [str(x) for x in ids]
    m = adjacency_matrix(ids, adjacency)
    _, labels = _cc(m, directed=False)
    sizes = np.bincount(labels)
    # rank components by size (ties: first appearance) so the numbering is deterministic
    first_seen = np.full(len(sizes), len(labels))
    np.minimum.at(first_seen, labels, np.arange(len(labels)))
    order = np.lexsort((first_seen, -sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return pd.Series(rank[labels], index=pd.Index(ids, name="unit_id"), name="component")


def unit_drivers(geo_units: pd.DataFrame) -> list[str]:
    """The market drivers ``geo_units`` carries: every numeric column but ids, coordinates
    and regions (booleans and constant columns are no drivers), in file order.

    One rule for every step that reads drivers (potential index and regression, lead and
    lookalike features), so a company's own columns are used whatever their names.

    >>> u = pd.DataFrame({"unit_id": ["1", "2"], "lat": [0.0, 1.0], "lon": [0.0, 1.0],
    ...     "population": [10.0, 20.0], "income_k": [40.0, 55.0], "flag": [True, False],
    ...     "same": [1.0, 1.0], "region": ["N", "S"]})
    >>> unit_drivers(u)
    ['population', 'income_k']
    """
    out = []
    for col in geo_units.columns:
        s = geo_units[col]
        if (
            col in NON_DRIVERS
            or pd.api.types.is_bool_dtype(s)
            or not pd.api.types.is_numeric_dtype(s)
        ):
            continue
        if s.notna().sum() >= 2 and s.astype(float).std() > 0:
            out.append(col)
    return out
