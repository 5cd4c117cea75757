"""Shared fixtures: small hand-built raw data sets that tests edit to plant one problem."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

# A tiny, valid company. Line numbers in tests refer to these rows (header = line 1).
RAW = {
    "reps.csv": """rep_id,rep_name,home_lat,home_lon
R1,Ada Park,33.75,-84.39
R2,Ben Cole,32.08,-81.09
""",
    "geo_units.csv": """unit_id,unit_name,lat,lon,population,pct_rural
13121,Fulton,33.79,-84.47,648951,3.1
13051,Chatham,31.97,-81.09,216935,5.0
01001,Leading Zero,32.5,-86.6,100,50
""",
    "accounts.csv": """account_id,account_name,industry,employees,postal_code,lat,lon,status,owner_rep_id
A1,"Acme, Inc.",Manufacturing,120,30303,33.75,-84.39,customer,R1
A2,Beta LLC,Retail,8,31401,32.08,-81.09,prospect,R2
A3,Gamma Co,Healthcare,0,01001,32.5,-86.6,prospect,
""",  # noqa: E501 - doctest output / CSV text cannot wrap
    "opportunities.csv": """opportunity_id,account_id,rep_id,created_date,close_date,stage,amount_usd
O1,A1,R1,2026-01-10,2026-03-31,won,1000
O2,A1,R1,2026-04-01,2026-05-15,lost,250.5
O3,A2,R2,2026-07-01,,open,400
O4,A1,R1,2026-06-30,2026-07-01,won,2000
""",  # noqa: E501 - doctest output / CSV text cannot wrap
    "quotas.csv": """quarter,rep_id,quota_usd
2026Q1,R1,900
2026Q3,R2,1000
""",
}


def write_raw(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def raw_factory(tmp_path):
    """``raw_factory(**edits)`` writes the valid fixture with some files replaced or removed
    (``None`` removes a file) and returns the folder."""

    calls = iter(range(1_000))

    def make(edits: dict[str, str | bytes | None] | None = None) -> Path:
        files = dict(RAW)
        for name, text in (edits or {}).items():
            if text is None:
                files.pop(name, None)
            else:
                files[name] = text
        return write_raw(tmp_path / f"raw{next(calls)}", files)

    return make


def tree_hash(folder: Path) -> str:
    """One hash over every file's relative path and bytes (for "nothing changed" checks)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def demo_project(home: Path, *, seed: int, n_accounts: int) -> Path:
    """A scratch project folder: ``data/raw`` from a small demo, ``data/processed`` ingested."""
    from workbench.demo import write_demo
    from workbench.ingest import ingest

    write_demo(home / "data" / "raw", seed=seed, n_accounts=n_accounts)
    ingest(home / "data" / "raw", home / "data" / "processed")
    return home


def design_ready(home: Path) -> Path:
    """Write notebook 01's account potential and notebook 02's workload into
    ``home``'s processed data, with the same workbench functions the notebooks call (prospects
    without a lead score count as cold), so notebook 03 and the explorer can run on it."""
    import pandas as pd

    from workbench import potential, segments
    from workbench.io import read_manifest, save_stage

    processed = home / "data" / "processed"
    quarter = read_manifest(processed)["default_quarter"]
    d = potential.load_inputs(processed, quarter=quarter)
    pot = potential.score_potential(
        d.accounts,
        d.geo_units,
        d.facts_account_quarter,
        quarter=quarter,
        competitors=d.competitors,
        cv_folds=2,
    )
    save_stage(pot.accounts, processed, "potential_accounts", quarter)
    s = segments.load_inputs(processed, quarter=quarter)
    pareto = segments.pareto_analysis(
        s.accounts,
        s.facts_account_quarter,
        quarter=quarter,
        potential=s.potential,
        potential_weight=0.3,
    )
    no_scores = pd.DataFrame(
        {
            "account_id": pd.Series(dtype=str),
            "win_probability": pd.Series(dtype=float),
            "lead_grade": pd.Series(dtype=str),
        }
    )
    workload = segments.workload_plan(s.accounts, classes=pareto.table, lead_scores=no_scores)
    save_stage(workload, processed, "workload", quarter)
    return home
