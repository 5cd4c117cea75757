"""Scenario explorer benchmark: time from pressing Solve to redrawn map and panels.

Usage: ``python benchmarks/bench_explorer.py [--accounts 3000] [--runs 7] [--browser]``

The demo company (default 3,000 accounts, about 570 ZIP blocks) is generated, ingested and run
through notebooks 01 and 02 (papermill, default parameters) once into
``benchmarks/out/explorer_<N>_<seed>/`` (git-ignored). Then, in this process, the explorer's
widgets are built as the app builds them and Solve is pressed ``--runs`` times for each of a few
settings (k, disruption budget, locks, rep home bases as centres). Each run reports

* ``solve``: the live search (``live_seconds``, the preview),
* ``redraw``: new GeoJSON for the map, balance bars, KPI cards and table, quotas,
* ``encode``: JSON encoding of what the redraw sends to the browser (done by the kernel in a
  real session; there is no kernel here, so it is timed separately and added).

``--browser`` also serves ``apps/explorer.ipynb`` with Voila and measures, in Chromium, the wall
time from the click on Solve to the redrawn balance panel (network, kernel and rendering
included). The background refinement is off while timing (it would compete for the CPU with
the next run) and timed once at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _machine import machine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def prepare(home: Path, accounts: int, seed: int) -> Path:
    """Demo → ingest → notebooks 01 and 02 (once); returns the processed folder."""
    raw, processed = home / "data" / "raw", home / "data" / "processed"
    if list(processed.glob("workload_*.parquet")):
        return processed
    print(f"preparing a {accounts:,}-account demo in {home} (once) ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "demo",
            "--accounts",
            str(accounts),
            "--seed",
            str(seed),
            "--out",
            str(raw),
        ],
        check=True,
    )
    subprocess.run(
        [sys.executable, "-m", "workbench", "ingest", "--raw", str(raw), "--out", str(processed)],
        check=True,
    )
    import papermill as pm

    for nb in ("01_market_potential", "02_segmentation"):
        pm.execute_notebook(
            str(ROOT / "notebooks" / f"{nb}.ipynb"),
            str(home / f"{nb}.ipynb"),
            parameters={"data_dir": str(home / "data")},
            cwd=str(ROOT),
            kernel_name="python3",
            progress_bar=False,
        )
    return processed


def encode_seconds(ui) -> float:
    """JSON encoding of the state a redraw sends (map layers and HTML panels)."""
    t0 = time.perf_counter()
    json.dumps(ui.blocks_layer.data)
    json.dumps(ui.reps_layer.data)
    for w in (ui.cards, ui.balance_panel, ui.kpi_panel, ui.notes_panel, ui.status):
        json.dumps(w.value)
    return time.perf_counter() - t0


def in_process(processed: Path, runs: int) -> None:
    from workbench import explorer as X

    t0 = time.perf_counter()
    ex = X.ScenarioExplorer.from_processed(processed, scenarios_dir=None)
    ui = X.ExplorerApp(ex, refine=False)
    print(
        f"explorer opened in {time.perf_counter() - t0:.2f} s: {len(ex.data.blocks)} blocks, "
        f"{len(ex.data.accounts):,} accounts, today {ex.plan.k} territories; "
        f"live search {ex.live_seconds:g} s"
    )
    reps = ex.data.n_active_reps
    locks = dict(ex.plan.assignment.iloc[[0, 100, 200]].items())
    settings = [
        (f"k={reps - 2}, budget 30%", {"k": reps - 2, "max_moved": 0.3}),
        (f"k={reps}, budget 30%", {"k": reps, "max_moved": 0.3}),
        (f"k={reps + 2}, no budget", {"k": reps + 2, "max_moved": 1.0}),
        (
            f"k={reps}, 3 locks, tolerance 8%",
            {"k": reps, "max_moved": 0.3, "locks": locks, "tolerance": 0.08},
        ),
        (
            f"k={reps}, rep homes as centres",
            {"k": reps, "max_moved": 0.3, "locks": {}, "rep_home_centers": True},
        ),
    ]
    everything = []
    for label, change in settings:
        ex.update(**{"tolerance": 0.05, "rep_home_centers": False, **change})
        totals = []
        for _ in range(runs):
            ui._sync_controls()  # the controls show the settings, as after a user's edits
            t = ui.solve()
            total = t["total_s"] + encode_seconds(ui)
            totals.append((t["solve_s"], t["refresh_s"], total))
        solve = statistics.median(x[0] for x in totals)
        tot = [x[2] for x in totals]
        if "centres" not in label:
            everything += tot
        print(
            f"  {label:<34} solve {solve:.2f} s + redraw/encode "
            f"{statistics.median(tot) - solve:.2f} s = median {statistics.median(tot):.2f} s "
            f"(min {min(tot):.2f}, max {max(tot):.2f})"
            f"; plan: {ex.plan.k} territories, {ex.plan.n_moved} blocks moved, "
            f"{len(ex.plan.violations)} constraint(s) not met"
        )
    print(
        f"Solve → redrawn panels (without rep-home centres), {len(everything)} runs: median "
        f"{statistics.median(everything):.2f} s, max {max(everything):.2f} s"
    )
    ex.update(k=reps, max_moved=0.3, locks={}, rep_home_centers=False, tolerance=0.05)
    ex.solve()
    t0 = time.perf_counter()
    plan = ex.refine()
    gap = "n/a (plan misses a band)" if plan.gap is None else f"{100 * plan.gap:.1f}%"
    print(
        f"background refinement ({ex.refine_seconds:g} s search + bound): "
        f"{time.perf_counter() - t0:.1f} s; {len(plan.violations)} constraint(s) not met, "
        f"gap {gap} ({plan.bound_method})"
    )


def in_browser(home: Path, runs: int, k: int) -> None:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = HERE / "out" / "explorer_app.ipynb"
    nb = json.loads((ROOT / "apps" / "explorer.ipynb").read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell["source"] = "".join(cell["source"]).replace(
                "refine_seconds: float = 8.0", "refine_seconds: float = 0.0"
            )
    app.write_text(json.dumps(nb))
    env = dict(os.environ, WORKBENCH_HOME=str(home))
    log = open(HERE / "out" / "voila.log", "w")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voila",
            str(app),
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(300):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            time.sleep(0.1)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1250})
            t0 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            page.wait_for_selector('.wbx-status-box [data-state="today"]', timeout=180_000)
            print(f"browser: app open in {time.perf_counter() - t0:.1f} s")
            walls = []
            for i in range(runs):
                page.focus(".wbx-k .noUi-handle")
                page.keyboard.press("ArrowLeft" if i % 2 == 0 else "ArrowRight")
                want = k - 1 if i % 2 == 0 else k
                page.wait_for_selector('.wbx-status-box [data-state="changed"]')
                t0 = time.perf_counter()
                page.click("button.wbx-solve")
                page.wait_for_selector(f'.wbx-status-box [data-state="preview"][data-k="{want}"]')
                page.wait_for_function(
                    f"document.querySelectorAll('.wbx-balance tr.wbx-row').length === {want}"
                )
                walls.append(time.perf_counter() - t0)
            browser.close()
        print(
            f"browser: click on Solve → redrawn balance panel, {runs} runs: median "
            f"{statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f})"
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--browser", action="store_true", help="also time the app in Chromium")
    args = ap.parse_args()
    home = HERE / "out" / f"explorer_{args.accounts}_{args.seed}"
    processed = prepare(home, args.accounts, args.seed)
    print(f"machine: {machine()}")
    in_process(processed, args.runs)
    if args.browser:
        from workbench.explorer import load_explorer_data

        in_browser(home, args.runs, load_explorer_data(processed).default_k)


if __name__ == "__main__":
    main()
