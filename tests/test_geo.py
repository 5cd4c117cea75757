"""Tests for workbench.geo: distances, adjacency, components.

Expected values come from hand calculation (arc length = R * angle) or from counting by hand on
small drawn grids.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench import geo

R = geo.EARTH_RADIUS_KM
KM_PER_DEGREE = 2 * math.pi * R / 360  # arc of one degree on a great circle: 111.195 km


def test_haversine_one_degree_of_latitude_is_an_arc_of_r_times_angle():
    assert geo.haversine_km(10.0, 20.0, 11.0, 20.0) == pytest.approx(KM_PER_DEGREE, rel=1e-12)


def test_haversine_along_equator_and_antipodes():
    assert geo.haversine_km(0.0, 0.0, 0.0, 90.0) == pytest.approx(R * math.pi / 2, rel=1e-12)
    # antipodal points: half the circumference, no nan from rounding above 1
    assert geo.haversine_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(R * math.pi, rel=1e-12)
    assert geo.haversine_km(45.0, 10.0, -45.0, -170.0) == pytest.approx(R * math.pi, rel=1e-9)


def test_haversine_shrinks_with_cos_latitude_for_short_east_west_steps():
    # 0.01 degree of longitude at latitude 60: R * cos(60) * angle (hand formula, short arc)
    expected = R * math.cos(math.radians(60)) * math.radians(0.01)
    assert geo.haversine_km(60.0, 5.0, 60.0, 5.01) == pytest.approx(expected, rel=1e-6)


def test_distance_matrix_is_symmetric_with_zero_diagonal():
    lat = np.array([33.7, 34.0, 31.5, 32.1])
    lon = np.array([-84.4, -83.0, -82.9, -81.1])
    d = geo.distance_matrix_km(lat, lon)
    assert d.shape == (4, 4)
    np.testing.assert_allclose(d, d.T)
    np.testing.assert_array_equal(np.diag(d), 0.0)
    assert d[0, 1] == pytest.approx(float(geo.haversine_km(33.7, -84.4, 34.0, -83.0)))


def test_distance_matrix_to_other_points():
    d = geo.distance_matrix_km([0.0], [0.0], [1.0, 2.0], [0.0, 0.0])
    np.testing.assert_allclose(d, [[KM_PER_DEGREE, 2 * KM_PER_DEGREE]], rtol=1e-12)


def test_nearest_km_matches_the_full_matrix():
    rng = np.random.default_rng(3)
    lat = rng.uniform(30, 35, 40)
    lon = rng.uniform(-86, -80, 40)
    idx, km = geo.nearest_km(lat, lon, 4)
    d = geo.distance_matrix_km(lat, lon)
    for i in range(40):
        expected = np.sort(d[i])[:4]
        np.testing.assert_allclose(km[i], expected, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(d[i, idx[i]], km[i], rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-80, 80), st.floats(-179, 179)), min_size=3, max_size=3))
def test_haversine_is_a_metric(points):
    (a, b), (c, d), (e, f) = points
    ab = float(geo.haversine_km(a, b, c, d))
    ba = float(geo.haversine_km(c, d, a, b))
    bc = float(geo.haversine_km(c, d, e, f))
    ac = float(geo.haversine_km(a, b, e, f))
    assert ab == pytest.approx(ba, abs=1e-9)
    assert 0 <= ab <= R * math.pi + 1e-9
    assert ac <= ab + bc + 1e-6


# ---------------------------------------------------------------------------------------------
# adjacency


def _grid_squares(rows: int, cols: int, skip=()):
    import geopandas as gpd
    from shapely.geometry import box

    ids, geoms = [], []
    for r in range(rows):
        for c in range(cols):
            if (r, c) in skip:
                continue
            ids.append(f"{r}{c}")
            geoms.append(box(c, r, c + 1, r + 1))
    return gpd.GeoDataFrame({"unit_id": ids}, geometry=geoms)


def test_queen_adjacency_on_a_3x3_grid_counts_by_hand():
    # 3x3 grid: 12 shared edges (rook) + 8 shared corners (diagonals) = 20 Queen pairs;
    # the centre cell touches all 8 others, a corner cell touches 3
    adj = geo.adjacency_from_polygons(_grid_squares(3, 3))
    assert len(adj) == 20
    assert (adj["a"] < adj["b"]).all()
    degree = pd.concat([adj.a, adj.b]).value_counts()
    assert degree["11"] == 8
    assert degree["00"] == 3
    assert degree["01"] == 5


def test_queen_adjacency_with_a_hole_and_an_island():
    import geopandas as gpd
    from shapely.geometry import box

    grid = _grid_squares(3, 3, skip={(1, 1)})  # a ring around a hole
    island = gpd.GeoDataFrame({"unit_id": ["far"]}, geometry=[box(10, 10, 11, 11)])
    frame = pd.concat([grid, island], ignore_index=True)
    adj = geo.adjacency_from_polygons(frame)
    # ring of 8 cells around the hole: 8 edge-sharing pairs, plus 4 corner touches at the
    # hole's corners (01-10, 01-12, 10-21, 12-21) = 12 Queen pairs
    assert len(adj) == 12
    assert ("01", "10") in {tuple(p) for p in adj.values.tolist()}
    comp = geo.connected_components(frame["unit_id"], adj)
    assert comp["far"] == 1 and (comp.drop("far") == 0).all()


def test_adjacency_keeps_text_ids_with_leading_zeros():
    import geopandas as gpd
    from shapely.geometry import box

    frame = gpd.GeoDataFrame(
        {"unit_id": ["01001", "01003"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)]
    )
    adj = geo.adjacency_from_polygons(frame)
    assert adj.values.tolist() == [["01001", "01003"]]


def test_delaunay_adjacency_of_a_square_with_centre():
    pts = pd.DataFrame(
        {"unit_id": list("abcde"), "lat": [0, 0, 1, 1, 0.5], "lon": [0, 1, 0, 1, 0.5]}
    )
    adj = geo.adjacency_from_points(pts)
    pairs = {tuple(p) for p in adj.values.tolist()}
    # the centre is joined to every corner; the hull's four sides are edges; the two
    # diagonals would cross the centre's edges, so neither is present
    assert {("a", "e"), ("b", "e"), ("c", "e"), ("d", "e")} <= pairs
    assert {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")} <= pairs
    assert ("a", "d") not in pairs and ("b", "c") not in pairs
    assert len(pairs) == 8


def test_delaunay_chains_units_at_identical_coordinates():
    pts = pd.DataFrame(
        {"unit_id": ["x1", "x2", "y", "z", "w"], "lat": [0, 0, 1, 0, 1], "lon": [0, 0, 0, 1, 1]}
    )
    adj = geo.adjacency_from_points(pts)
    comp = geo.connected_components(pts["unit_id"], adj)
    assert (comp == 0).all()
    assert ("x1", "x2") in {tuple(p) for p in adj.values.tolist()}


def test_delaunay_max_km_drops_long_edges_and_splits_the_graph():
    pts = pd.DataFrame(
        {"unit_id": list("abcdef"), "lat": [0, 0, 0.1, 5, 5, 5.1], "lon": [0, 0.1, 0, 0, 0.1, 0]}
    )
    adj = geo.adjacency_from_points(pts, max_km=50)
    comp = geo.connected_components(pts["unit_id"], adj)
    assert comp.nunique() == 2
    assert comp["a"] == comp["b"] == comp["c"] != comp["d"]


def test_delaunay_on_collinear_and_tiny_inputs():
    line = pd.DataFrame({"unit_id": list("abcd"), "lat": 0.0, "lon": [0, 1, 2, 3]})
    comp = geo.connected_components(line["unit_id"], geo.adjacency_from_points(line))
    assert (comp == 0).all()
    two = pd.DataFrame({"unit_id": ["a", "b"], "lat": [0, 1], "lon": [0, 1]})
    assert geo.adjacency_from_points(two).values.tolist() == [["a", "b"]]
    one = pd.DataFrame({"unit_id": ["a"], "lat": [0], "lon": [0]})
    assert len(geo.adjacency_from_points(one)) == 0


def test_adjacency_matrix_rejects_unknown_ids_naming_them():
    adj = pd.DataFrame({"a": ["x", "q"], "b": ["y", "y"]})
    with pytest.raises(ValueError, match=r"unknown unit id.*'q'"):
        geo.adjacency_matrix(["x", "y"], adj)


def test_connected_components_numbers_largest_first():
    adj = pd.DataFrame({"a": ["d", "e"], "b": ["e", "f"]})
    comp = geo.connected_components(["a", "b", "c", "d", "e", "f"], adj)
    assert comp[["d", "e", "f"]].tolist() == [0, 0, 0]
    # three one-unit islands, numbered by first appearance
    assert comp[["a", "b", "c"]].tolist() == [1, 2, 3]


def test_georgia_counties_queen_graph_is_one_component():
    import geopandas as gpd
    import libpysal

    g = gpd.read_file(libpysal.examples.get_path("G_utm.shp"))
    g["unit_id"] = g["AreaKey"].astype(str)
    adj = geo.adjacency_from_polygons(g)
    comp = geo.connected_components(g["unit_id"], adj)
    assert len(comp) == 159
    assert comp.nunique() == 1
