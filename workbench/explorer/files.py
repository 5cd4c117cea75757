"""The explorer's scenario files: ``<folder>/<name>.json`` records (settings, assignment block →
territory, headline metrics and provenance), written atomically, listed, read back and compared
side by side.

The folder (``<processed>/scenarios``, :func:`workbench.io.stage_folder`) is the ``scenarios``
stage: its writer and the keys every record must hold are declared in
:data:`workbench.stages.RECORD_STAGES`, checked on save and load."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .. import __version__ as _version
from ..io import check_stage_record, write_json
from ..territory import TerritoryPlan
from ..territory.adopt import SCENARIO_FORMAT, list_scenarios, load_scenario, scenario_path
from .scenario import MEASURE_LABELS, ExplorerData, Scenario, scenario_metrics

__all__ = [
    "compare_scenarios",
    "list_scenarios",
    "load_scenario",
    "save_scenario",
    "scenario_path",
    "scenario_record",
]

# ---------------------------------------------------------------------------------------------
# Scenario files (paths, listing and reading: workbench.territory.adopt)


def scenario_record(
    name: str,
    scenario: Scenario,
    plan: TerritoryPlan,
    quotas: pd.DataFrame | None,
    data: ExplorerData,
    *,
    search: str = "",
) -> dict:
    """What a saved scenario holds: settings, assignment, headline metrics and provenance."""
    return {
        "format": SCENARIO_FORMAT,
        "name": name,
        "saved_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "workbench_version": _version,
        "quarter": str(data.quarter),
        "block": data.block,
        "blocks_fingerprint": data.fingerprint,
        "search": search,
        "scenario": scenario.to_dict(),
        "metrics": scenario_metrics(plan, quotas, data.blocks),
        "assignment": {str(u): str(t) for u, t in plan.assignment.items()},
    }


def save_scenario(folder: str | Path, name: str, record: Mapping) -> Path:
    """Write a scenario record to ``<folder>/<name>.json`` atomically (replacing one of the
    same name)."""
    path = scenario_path(folder, name)
    check_stage_record(record, "scenarios", path, saving=True)
    write_json(path, dict(record))
    return path


def compare_scenarios(records: Mapping[str, Mapping]) -> pd.DataFrame:
    """Scenarios side by side: one column per scenario, one row per headline metric.

    Parameters
    ----------
    records : mapping
        Column name → record with ``metrics`` and ``scenario`` (as :func:`scenario_record`
        writes them).

    Returns
    -------
    DataFrame
        Rows: territories, worst deviation and band per measure (%), compactness (km),
        optimality gap (%), blocks and accounts moved, share moved (%), contiguity,
        constraints not met, quota spread (cv %), expected attainment range, history
        weight, locks, search.

    Examples
    --------
    >>> rec = {"metrics": {"k": 2, "max_dev_accounts": 0.04, "tolerance_accounts": 0.05,
    ...                    "median_km": 12.5, "gap": 0.1, "n_moved": 3, "share_moved": 0.5,
    ...                    "contiguous": True, "violations": 0, "quota_cv": 0.2},
    ...        "scenario": {"history_weight": 0.5, "locks": {"a": "T01"}}}
    >>> table = compare_scenarios({"base": rec})
    >>> table.loc[["worst Accounts deviation (%)", "locks"], "base"].tolist()
    [4.0, 1]
    """
    measures: list[str] = []
    for rec in records.values():
        for key in rec.get("metrics", {}):
            m = key.removeprefix("max_dev_")
            if key.startswith("max_dev_") and m not in measures:
                measures.append(m)

    def pct(v):
        return None if v is None else round(100 * float(v), 1)

    rows: dict[str, dict[str, object]] = {}
    for name, rec in records.items():
        met, sc = rec.get("metrics", {}), rec.get("scenario", {})
        col: dict[str, object] = {"territories": met.get("k")}
        for m in measures:
            label = MEASURE_LABELS.get(m, m)
            col[f"worst {label} deviation (%)"] = pct(met.get(f"max_dev_{m}"))
            col[f"{label} band (±%)"] = pct(met.get(f"tolerance_{m}"))
        lo, hi = met.get("attainment_min"), met.get("attainment_max")
        col |= {
            "compactness: mean km to centre": (
                None if met.get("median_km") is None else round(float(met["median_km"]), 1)
            ),
            "optimality gap (%)": pct(met.get("gap")),
            "blocks moved": met.get("n_moved"),
            "share of blocks moved (%)": pct(met.get("share_moved")),
            "accounts moved": met.get("accounts_moved"),
            "contiguous": met.get("contiguous"),
            "constraints not met": met.get("violations"),
            "quota spread (cv %)": pct(met.get("quota_cv")),
            "expected attainment range": (
                None if lo is None or hi is None else f"{lo:.2f}–{hi:.2f}"
            ),
            "history weight": sc.get("history_weight"),
            "locks": len(sc.get("locks", {}) or {}),
            "search": rec.get("search") or None,
        }
        rows[name] = col
    return pd.DataFrame(rows)
