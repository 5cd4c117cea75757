"""Benchmark: workbench territory design against k-means style baselines, on real geography.

Instances (all data ships inside installed packages; nothing is downloaded):

* ``georgia``  - 159 Georgia counties (libpysal ``G_utm.shp``, EPSG:26916), Queen contiguity,
  k = 10, balance population (TotPop90) and workload = population x (1 + PctPov/100), +-5 %.
* ``counties`` - 3,108 contiguous-US counties (plotly-geo ``cb_2016_us_county_500k.shp``,
  EPSG:4269), Queen contiguity (4 pieces: 3 island counties), k = 20. No population ships
  with the file, so the measure (and the activity weight) is LAND AREA (ALAND, km2).
* ``zips``     - 29,742 standard ZIP codes of the contiguous US (``zipcodes`` package),
  Delaunay adjacency, k = 300, balance the NUMBER of ZIP codes (no population ships).

Baselines, scored by the same code (balance per measure, activity-weighted mean distance to
the best member unit "median_km", contiguity, time, gap against our lower bound):

* scikit-learn ``KMeans`` on 3-D unit-sphere coordinates, weighted by the activity;
* ``k-means-constrained`` (cluster SIZES balanced: counts, not population) if installed;
* spopt ``RegionKMeansHeuristic`` (contiguous k-means) and spopt's capacitated ``PMedian``
  (CBC, population cap = mean x 1.05, 60 s limit) on Georgia, if installed.

* ``texas``    - 254 Texas counties (plotly-geo polygons), k = 4: few, large territories, balancing
  standard ZIP codes per county against land area (two measures that pull apart).
* ``realign``  - the 1,500 standard ZIP codes nearest Atlanta, k = 16, SYNTHETIC accounts and
  revenue (seeded), a current alignment of 15 books, at most 50 % of the ZIPs moved.

Each run is ``workbench design`` as a user runs it (default effort, target gap 1 %, 60 s safety
stop); ``--set all`` ends with the issue's targets table, every instance side by side.

Run: ``python benchmarks/bench_territory.py [--set NAME|all] [--repeats N]``.
Times are medians over the repeats (seeds 0..N-1); quality is reported per seed 0 and as the
worst over seeds. ``--set all`` runs each instance in its own process so peak memory (max RSS)
is per instance.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

from _machine import machine  # noqa: E402 - after the warnings filter, on purpose

from workbench import geo  # noqa: E402
from workbench.territory import build_problem, build_territories  # noqa: E402
from workbench.territory.solver import component_pieces, evaluate  # noqa: E402

# ---------------------------------------------------------------------------------------------
# instances


def georgia():
    import geopandas as gpd
    import libpysal

    g = gpd.read_file(libpysal.examples.get_path("G_utm.shp")).set_crs(26916)
    g["unit_id"] = g["AreaKey"].astype(str)
    pts = g.geometry.centroid.to_crs(4326)
    units = pd.DataFrame(
        {
            "unit_id": g["unit_id"],
            "lat": pts.y.to_numpy(),
            "lon": pts.x.to_numpy(),
            "population": g["TotPop90"].astype(float).to_numpy(),
            "workload": (g["TotPop90"] * (1 + g["PctPov"] / 100)).to_numpy(),
        }
    )
    return units, geo.adjacency_from_polygons(g), ["population", "workload"], 10, 0.05


def counties():
    import _plotly_geo
    import geopandas as gpd

    path = os.path.join(
        os.path.dirname(_plotly_geo.__file__), "package_data", "cb_2016_us_county_500k.shp"
    )
    g = gpd.read_file(path).set_crs(4269, allow_override=True)
    g = g[~g["STATEFP"].isin(["02", "15", "60", "66", "69", "72", "78"])].reset_index(drop=True)
    g["unit_id"] = g["GEOID"].astype(str)
    pts = g.to_crs(5070).geometry.representative_point().to_crs(4326)
    units = pd.DataFrame(
        {
            "unit_id": g["unit_id"],
            "lat": pts.y.to_numpy(),
            "lon": pts.x.to_numpy(),
            "aland_km2": g["ALAND"].astype(float).to_numpy() / 1e6,
        }
    )
    return units, geo.adjacency_from_polygons(g), ["aland_km2"], 20, 0.05


def zips():
    import zipcodes

    z = pd.DataFrame(zipcodes.list_all())
    z = z[z["zip_code_type"] == "STANDARD"].copy()
    z["lat"] = z["lat"].astype(float)
    z["lon"] = z["long"].astype(float)
    z = z[
        z["lat"].between(24, 50)
        & z["lon"].between(-125, -66)
        & ~z["state"].isin(["AK", "HI", "PR"])
    ].reset_index(drop=True)
    units = pd.DataFrame(
        {"unit_id": z["zip_code"].astype(str), "lat": z["lat"], "lon": z["lon"], "zip_codes": 1.0}
    )
    return units, geo.adjacency_from_points(units), ["zip_codes"], 300, 0.05


def texas():
    """254 Texas counties, k = 4 (few, large territories), two measures that pull apart: the
    number of standard ZIP codes (where people are) and land area (where they are not)."""
    import _plotly_geo
    import geopandas as gpd
    import zipcodes

    path = os.path.join(
        os.path.dirname(_plotly_geo.__file__), "package_data", "cb_2016_us_county_500k.shp"
    )
    g = gpd.read_file(path).set_crs(4269, allow_override=True)
    g = g[g["STATEFP"] == "48"].reset_index(drop=True)
    g["unit_id"] = g["GEOID"].astype(str)
    z = pd.DataFrame(zipcodes.list_all())
    z = z[(z["zip_code_type"] == "STANDARD") & (z["state"] == "TX")]
    pts = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(z["long"].astype(float), z["lat"].astype(float)), crs=4326
    ).to_crs(4269)
    hit = gpd.sjoin(pts, g[["GEOID", "geometry"]], predicate="within")
    zips_per = hit.groupby("GEOID").size()
    rep = g.to_crs(5070).geometry.representative_point().to_crs(4326)
    units = pd.DataFrame(
        {
            "unit_id": g["GEOID"].astype(str),
            "lat": rep.y.to_numpy(),
            "lon": rep.x.to_numpy(),
            # every county counts at least one ZIP's worth (a few hold only PO boxes)
            "zip_codes": g["GEOID"].map(zips_per).fillna(0).clip(lower=1).to_numpy(float),
            "aland_km2": g["ALAND"].astype(float).to_numpy() / 1e6,
        }
    )
    return units, geo.adjacency_from_polygons(g), ["zip_codes", "aland_km2"], 4, 0.05


def realign():
    """A realignment: the 1,500 standard ZIP codes nearest Atlanta (GA, AL, SC, TN...), two
    SYNTHETIC measures (accounts and revenue, seeded), a current alignment of 15 books (k-means
    on the map, so unbalanced) and k = 16 with at most 50 % of the ZIPs moving."""
    import zipcodes
    from sklearn.cluster import KMeans

    z = pd.DataFrame(zipcodes.list_all())
    z = z[(z["zip_code_type"] == "STANDARD") & ~z["state"].isin(["AK", "HI", "PR"])].copy()
    z["lat"], z["lon"] = z["lat"].astype(float), z["long"].astype(float)
    d = geo.haversine_km(z["lat"].to_numpy(), z["lon"].to_numpy(), 33.749, -84.388)
    z = z.iloc[np.argsort(d, kind="stable")[:1500]].reset_index(drop=True)
    rng = np.random.default_rng(20261129)
    units = pd.DataFrame(
        {
            "unit_id": z["zip_code"].astype(str),
            "lat": z["lat"],
            "lon": z["lon"],
            "accounts": rng.poisson(6, len(z)).astype(float) + 1.0,
            "revenue": np.round(rng.lognormal(11, 1.0, len(z)), 2),
        }
    )
    km = KMeans(15, n_init=4, random_state=0).fit(geo.to_unit_vectors(units["lat"], units["lon"]))
    current = pd.DataFrame(
        {"unit_id": units["unit_id"], "territory": [f"B{c + 1:02d}" for c in km.labels_]}
    )
    return units, geo.adjacency_from_points(units), ["accounts", "revenue"], 16, 0.05, current


INSTANCES = {
    "georgia": georgia,
    "texas": texas,
    "realign": realign,
    "counties": counties,
    "zips": zips,
}
#: The issue's targets: (feasible plan, certified gap at most, wall seconds at most)
TARGETS = {
    "georgia": (0.005, 30.0),
    "texas": (None, 10.0),
    "realign": (0.10, 15.0),
    "counties": (0.15, 30.0),
    "zips": (0.15, 60.0),
}
REPEATS = {"georgia": 3, "texas": 3, "realign": 3, "counties": 3, "zips": 3}
MAX_MOVED = {"realign": 0.5}


# ---------------------------------------------------------------------------------------------
# scoring (the same for every method)


def score(units, adj, measures, k, tol, labels, seconds, lower_km):
    """Balance, compactness (best member centres), contiguity and gap for any labelling."""
    problem = build_problem(units, k=k, balance=measures, tolerance=tol, adjacency=adj)
    codes = pd.factorize(pd.Series(labels))[0]
    n_terr = len(np.unique(codes))
    row = {"territories": n_terr}
    sums = pd.DataFrame(units[measures].to_numpy()).groupby(codes).sum().to_numpy()
    mean = units[measures].sum().to_numpy() / k
    for m, name in enumerate(measures):
        row[f"maxdev_{name}_%"] = round(float(np.abs(sums[:, m] / mean[m] - 1).max() * 100), 2)
    row["balanced"] = bool(all(row[f"maxdev_{name}_%"] <= 100 * tol + 1e-7 for name in measures))
    if n_terr == k:
        obj, _, _ = evaluate(problem, codes)
        row["median_km"] = round(obj, 3)
    else:
        row["median_km"] = float("nan")
    piece = component_pieces(problem.graph, codes)  # graph with islands bridged
    split = sum(len(np.unique(piece[codes == t])) > 1 for t in range(n_terr))
    row["non_contiguous"] = int(split)
    row["seconds"] = round(seconds, 2)
    row["gap_vs_our_bound_%"] = (
        round(100 * (row["median_km"] / lower_km - 1), 2)
        if lower_km and np.isfinite(row["median_km"])
        else None
    )
    return row


def unit_xyz(units):
    return geo.to_unit_vectors(units["lat"], units["lon"]) * geo.EARTH_RADIUS_KM


# ---------------------------------------------------------------------------------------------
# methods


def run_ours(units, adj, measures, k, tol, seed, extra):
    """``workbench design`` as a user runs it: default effort, target gap and safety stop."""
    t, c = time.perf_counter(), time.process_time()
    plan = build_territories(
        units, k=k, balance=measures, tolerance=tol, adjacency=adj, seed=seed, **extra
    )
    return plan, time.perf_counter() - t, time.process_time() - c


def run_kmeans(units, measures, k, seed):
    from sklearn.cluster import KMeans

    t = time.perf_counter()
    km = KMeans(n_clusters=k, n_init=10, random_state=seed)
    labels = km.fit_predict(unit_xyz(units), sample_weight=units[measures[0]].to_numpy() + 1e-9)
    return labels, time.perf_counter() - t


def run_kmeans_constrained(units, k, seed):
    from k_means_constrained import KMeansConstrained

    n = len(units)
    t = time.perf_counter()
    km = KMeansConstrained(
        n_clusters=k,
        size_min=int(np.floor(n / k * 0.95)),
        size_max=int(np.ceil(n / k * 1.05)),
        random_state=seed,
        n_init=3,
    )
    labels = km.fit_predict(unit_xyz(units))
    return labels, time.perf_counter() - t


def run_spopt_regionkmeans(units, adj, k, seed):
    import libpysal
    from spopt.region import RegionKMeansHeuristic

    ids = units["unit_id"].tolist()
    neighbors = {u: [] for u in ids}
    for a, b in adj[["a", "b"]].itertuples(index=False):
        neighbors[a].append(b)
        neighbors[b].append(a)
    w = libpysal.weights.W(neighbors, id_order=ids, silence_warnings=True)
    t = time.perf_counter()
    model = RegionKMeansHeuristic(unit_xyz(units), k, w, seed=seed)
    model.solve()
    return np.asarray(model.labels_), time.perf_counter() - t


def run_spopt_pmedian(units, measures, k, tol, limit=60):
    import pulp
    from spopt.locate import PMedian

    lat, lon = units["lat"].to_numpy(), units["lon"].to_numpy()
    d = geo.distance_matrix_km(lat, lon)
    w = units[measures[0]].to_numpy()
    cap = np.full(len(units), w.sum() / k * (1 + tol))
    t = time.perf_counter()
    model = PMedian.from_cost_matrix(d, w, p_facilities=k, facility_capacities=cap)
    model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=limit))
    labels = np.full(len(units), -1)
    for fac, clients in enumerate(model.fac2cli):
        labels[np.asarray(clients, dtype=int)] = fac
    return labels, time.perf_counter() - t


def with_timeout(fn, args, seconds: float):
    """Run a baseline in a forked child process; (labels, seconds) or None after ``seconds``
    (some third-party heuristics run for many minutes on these instances)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()

    def target():
        try:
            queue.put(fn(*args))
        except Exception as exc:
            queue.put(exc)

    proc = ctx.Process(target=target, daemon=True)
    proc.start()
    try:
        out = queue.get(timeout=seconds)
    except Exception:
        out = None
    proc.join(timeout=1)
    if proc.is_alive():
        proc.terminate()
        proc.join()
    if isinstance(out, Exception):
        print(f"  baseline failed: {out!r}")
        return None
    return out


# ---------------------------------------------------------------------------------------------


def bench(name: str, repeats: int) -> None:
    print(f"\n=== {name} ===", flush=True)
    t = time.perf_counter()
    units, adj, measures, k, tol, *more = INSTANCES[name]()
    extra = {"current": more[0], "max_moved": MAX_MOVED[name]} if more else {}
    books = (
        f", current alignment of {more[0].territory.nunique()} books, "
        f"at most {MAX_MOVED[name]:.0%} moved"
        if more
        else ""
    )
    print(
        f"{len(units)} units, {len(adj)} adjacency pairs, k = {k}, balance {measures} +-"
        f"{100 * tol:.0f}%{books}"
        f"  (data load + adjacency {time.perf_counter() - t:.1f} s)",
        flush=True,
    )
    rows, plans, times, cpus = [], [], [], []
    for seed in range(repeats):
        plan, secs, cpu = run_ours(units, adj, measures, k, tol, seed, extra)
        plans.append(plan)
        times.append(secs)
        cpus.append(cpu)
        lb_text = "none" if plan.lower_bound_km is None else f"{plan.lower_bound_km:.3f}"
        print(
            f"  ours seed {seed}: {secs:.2f} s wall ({cpu:.2f} s CPU, all threads), median_km "
            f"{plan.median_km:.3f}, bound {lb_text} ({plan.bound_method}), gap "
            f"{100 * (plan.gap if plan.gap is not None else float('nan')):.2f}%, proven "
            f"{plan.proven_optimal}, max dev "
            f"{', '.join(f'{100 * v:.2f}%' for v in plan.max_deviation)}, contiguous "
            f"{plan.contiguous}, moved {plan.n_moved}, violations {len(plan.violations)}, "
            f"safety stop {plan.info['safety_stop']}",
            flush=True,
        )
    gap_target, time_target = TARGETS[name]
    rss_now = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "instance": name,
        "n": len(units),
        "k": k,
        "feasible": all(p.feasible for p in plans),
        "worst_gap_%": None
        if any(p.gap is None for p in plans)
        else round(100 * max(p.gap for p in plans), 2),
        "proven": sum(p.proven_optimal for p in plans),
        "runs": len(plans),
        "median_s": round(float(np.median(times)), 1),
        "max_s": round(max(times), 1),
        "safety_stops": sum(p.info["safety_stop"] for p in plans),
        "peak_MB": round(rss_now),
        "target_gap_%": None if gap_target is None else 100 * gap_target,
        "target_s": time_target,
    }
    result["meets"] = bool(
        result["feasible"]
        and (
            gap_target is None
            or (result["worst_gap_%"] is not None and result["worst_gap_%"] <= 100 * gap_target)
        )
        and result["max_s"] <= time_target
    )
    print("RESULT " + json.dumps(result), flush=True)
    lb = plans[0].lower_bound_km
    ours = score(
        units, adj, measures, k, tol, plans[0].assignment.to_numpy(), float(np.median(times)), lb
    )
    ours["gap_vs_our_bound_%"] = round(100 * plans[0].gap, 2) if plans[0].gap is not None else None
    rows.append({"method": f"workbench (median time of {repeats})", **ours})
    worst_gap = max((p.gap or 0) for p in plans)
    if name in MAX_MOVED:  # baselines know nothing of the current alignment: skip them
        return
    print(
        f"  ours over {repeats} seeds: all feasible {all(p.feasible for p in plans)}, median time "
        f"{np.median(times):.2f} s wall (min {min(times):.2f}, max {max(times):.2f}; median CPU "
        f"{np.median(cpus):.2f} s), median_km median {np.median([p.median_km for p in plans]):.3f},"
        f" worst gap "
        f"{100 * worst_gap:.2f}%, bound: {plans[0].bound_method}",
        flush=True,
    )

    labels, secs = run_kmeans(units, measures, k, 0)
    rows.append(
        {
            "method": "sklearn KMeans (weighted)",
            **score(units, adj, measures, k, tol, labels, secs, lb),
        }
    )
    try:
        if len(units) <= 5000:
            labels, secs = run_kmeans_constrained(units, k, 0)
            rows.append(
                {
                    "method": "k-means-constrained (sizes)",
                    **score(units, adj, measures, k, tol, labels, secs, lb),
                }
            )
    except ImportError:
        print("  (k-means-constrained not installed)")
    if name == "georgia":
        try:
            import spopt  # noqa: F401
        except ImportError:
            print("  (spopt not installed)")
        else:
            for label, fn, fargs in (
                ("spopt RegionKMeansHeuristic", run_spopt_regionkmeans, (units, adj, k, 0)),
                (
                    "spopt PMedian capacitated (CBC 60 s)",
                    run_spopt_pmedian,
                    (units, measures, k, tol),
                ),
            ):
                out = with_timeout(fn, fargs, 180)
                if out is None:
                    rows.append({"method": label, "territories": None, "seconds": ">180 (stopped)"})
                    continue
                labels, secs = out
                rows.append(
                    {"method": label, **score(units, adj, measures, k, tol, labels, secs, lb)}
                )
    table = pd.DataFrame(rows).set_index("method")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory (max RSS of this process): {rss:.0f} MB", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="georgia", choices=[*INSTANCES, "all"])
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args(argv)
    print(machine(), flush=True)
    if args.set == "all":
        results = []
        for name in INSTANCES:  # one process each: peak memory per instance
            cmd = [sys.executable, __file__, "--set", name]
            if args.repeats:
                cmd += ["--repeats", str(args.repeats)]
            out = subprocess.run(cmd, check=False, capture_output=True, text=True)
            print(out.stdout, end="", flush=True)
            results += [
                json.loads(line[7:])
                for line in out.stdout.splitlines()
                if line.startswith("RESULT ")
            ]
        print("\n=== targets (issue 13), side by side ===")
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(pd.DataFrame(results).set_index("instance").to_string())
        return 0
    bench(args.set, args.repeats or REPEATS[args.set])
    return 0


if __name__ == "__main__":
    sys.exit(main())
