"""``workbench adjacency`` and the newer ``workbench design`` options (issue 13, CLI part):
expected pairs and plans worked out by hand on tiny geometries."""

from __future__ import annotations

import json

import pandas as pd

from workbench.cli import main

SQUARE = """unit_id,lat,lon,m
a,0,0,1
b,0,1,1
c,1,0,1
d,1,1,1
e,0.5,0.5,1
f,10,10,1
"""


def pairs(path) -> set[tuple[str, str]]:
    frame = pd.read_csv(path, dtype=str)
    return set(zip(frame["a"], frame["b"], strict=True))


def test_adjacency_from_points_with_a_distance_cut(tmp_path, capsys):
    units = tmp_path / "u.csv"
    units.write_text(SQUARE)
    out = tmp_path / "adj.csv"
    # f lies ~1,500 km away: with a 200 km cut it is an island; the square's corners each touch
    # their two neighbouring corners and the centre, never the opposite corner
    assert main(["adjacency", "--units", str(units), "--max-km", "200", "--out", str(out)]) == 0
    assert pairs(out) == {
        ("a", "b"),
        ("a", "c"),
        ("a", "e"),
        ("b", "d"),
        ("b", "e"),
        ("c", "d"),
        ("c", "e"),
        ("d", "e"),
    }
    assert "2 connected components" in capsys.readouterr().out


def test_adjacency_from_polygons_is_queen(tmp_path):
    def square(x, y):
        return {
            "type": "Polygon",
            "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]],
        }

    # 1-2-3 in a row share edges; 4 touches 3 only at a corner (Queen counts it)
    cells = {"1": (0, 0), "2": (1, 0), "3": (2, 0), "4": (3, 1)}
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"unit_id": k}, "geometry": square(*xy)}
            for k, xy in cells.items()
        ],
    }
    poly = tmp_path / "p.geojson"
    poly.write_text(json.dumps(doc))
    units = tmp_path / "u.csv"
    units.write_text("unit_id,lat,lon\n1,0.5,0.5\n2,0.5,1.5\n3,0.5,2.5\n4,1.5,3.5\n")
    out = tmp_path / "adj.csv"
    assert (
        main(["adjacency", "--units", str(units), "--polygons", str(poly), "--out", str(out)]) == 0
    )
    assert pairs(out) == {("1", "2"), ("2", "3"), ("3", "4")}


def test_design_with_fixed_centres_no_bound_and_quiet(tmp_path, capsys):
    units = tmp_path / "u.csv"
    units.write_text(SQUARE.replace("f,10,10,1\n", ""))
    centres = tmp_path / "c.csv"
    centres.write_text("lat,lon\n0,0\n1,1\n")
    out = tmp_path / "plan.csv"
    rc = main(
        [
            "design",
            "--units",
            str(units),
            "--k",
            "2",
            "--balance",
            "m",
            "--tolerance",
            "0.3",
            "--centers",
            str(centres),
            "--time-limit",
            "5",
            "--no-bound",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    plan = pd.read_csv(out, dtype=str).set_index("unit_id")["territory"]
    # the corners at the two centres end up apart; with ±30 % of 2.5 the split is 2 + 3
    assert plan["a"] != plan["d"]
    assert sorted(plan.value_counts().tolist()) == [2, 3]
    captured = capsys.readouterr()
    assert "lower bound: none" in captured.out and captured.err == ""


def test_design_reports_progress_unless_quiet(tmp_path, capsys):
    units = tmp_path / "u.csv"
    units.write_text(SQUARE.replace("f,10,10,1\n", ""))
    out = tmp_path / "plan.csv"
    assert (
        main(
            [
                "design",
                "--units",
                str(units),
                "--k",
                "2",
                "--balance",
                "m",
                "--tolerance",
                "0.3",
                "--time-limit",
                "5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "start 1:" in capsys.readouterr().err


def test_bad_centres_file_is_named_by_line(tmp_path, capsys):
    units = tmp_path / "u.csv"
    units.write_text(SQUARE)
    centres = tmp_path / "c.csv"
    centres.write_text("lat,lon\n0,0\nnorth,1\n")
    rc = main(
        [
            "design",
            "--units",
            str(units),
            "--k",
            "2",
            "--balance",
            "m",
            "--centers",
            str(centres),
            "--out",
            str(tmp_path / "plan.csv"),
        ]
    )
    assert rc == 2
    assert f"{centres}:3: column lat: expected a number, got 'north'" in capsys.readouterr().err
    assert not (tmp_path / "plan.csv").exists()
