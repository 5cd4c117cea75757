"""Go-to-market structure benchmark (issue 15): what the hybrid adds to notebook 03, and how fast
a hand edit and a level toggle answer in the explorer.

Usage: ``python benchmarks/bench_structure.py [--accounts 3000] [--runs 5]``

The demo company is prepared once as for ``bench_explorer.py`` (demo, ingest, notebooks 01 and
02 into ``benchmarks/out/explorer_<N>_<seed>/``). Then, in this process, with notebook 03's
functions and settings a planner would use on it:

* ``named``: the named-account team (the 30 accounts with the most potential, 2 seats placed
  by the engine): selection, carve-out and the team's books;
* ``overlay``: one overlay (the data's most common industry, 2 specialists);
* ``districts``: the proposed plan's territories in 3 districts, then 2 regions of districts;
* ``roles``: headcount by role (with inside sales at 1 h per cold prospect);
* ``move``: one hand move in the explorer, re-scored (median over 20 moves);
* ``level``: the explorer's district toggle on a new plan (group_territories on the plan).

Each figure is the median of ``--runs`` runs (``move`` of 20 moves per run); the machine and its
load are printed with them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from _machine import machine
from bench_explorer import prepare

HERE = Path(__file__).resolve().parent


def one_run(processed: Path) -> dict[str, float]:
    from workbench import explorer as X
    from workbench import territory as td
    from workbench.io import read_manifest

    quarter = read_manifest(processed)["default_quarter"]
    inputs = td.load_inputs(processed, quarter=quarter)
    industry = inputs.accounts["industry"].value_counts().index[0]
    params = td.DesignParams(
        named_top_potential=30,
        named_seats=2,
        overlays={"overlay": {"industries": [industry], "specialists": 2}},
        inside_sales=1.0,
        districts=3,
        region_groups=2,
    )
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    named = td.named_accounts(inputs, **params.named_options())
    geo = td.geographic_team(inputs, named, inside_sales=params.inside_sales)
    out["named"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    overlays = td.overlay_teams(inputs, **params.overlay_options())
    out["overlay"] = time.perf_counter() - t0
    blocks = td.building_blocks(geo.accounts, block=params.building_block)
    adjacency = td.block_adjacency(blocks, block=params.building_block, polygons=inputs.polygons)
    ex = X.ScenarioExplorer.from_design(
        params, geo, blocks, adjacency, scenarios_dir=None, report_params=None
    )
    plan = ex.solve()  # the preview: a quick plan to group and to edit
    t0 = time.perf_counter()
    td.district_table(plan, blocks, adjacency, **params.district_options())
    out["districts"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    td.role_table(
        inputs.accounts,
        plan,
        capacity=params.capacity,
        named=named,
        overlays=overlays,
        inside_sales=params.inside_sales,
    )
    out["roles"] = time.perf_counter() - t0
    moves = []
    for i in range(20):
        a = ex.plan.assignment
        big = a.value_counts().index[i % 3]
        small = a.value_counts().index[-1 - i % 3]
        t0 = time.perf_counter()
        ex.move(a[a == big].index[:1].tolist(), small)
        moves.append(time.perf_counter() - t0)
    out["move"] = statistics.median(moves)
    t0 = time.perf_counter()
    ex.groups("district", 3)
    out["level"] = time.perf_counter() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    processed = prepare(
        HERE / "out" / f"explorer_{args.accounts}_{args.seed}", args.accounts, args.seed
    )
    print(machine())
    runs = [one_run(processed) for _ in range(args.runs)]
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(
            f"{key:10s} median {statistics.median(values):7.3f} s   "
            f"min {min(values):7.3f}   max {max(values):7.3f}   ({args.runs} runs)"
        )


if __name__ == "__main__":
    main()
