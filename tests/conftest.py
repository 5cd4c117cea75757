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


# ---------------------------------------------------------------------------------------------
# Real engines: Spark in local mode and a throw-away PostgreSQL server. Locally a missing
# engine skips its tests; under CI=true it fails them (.ci/run installs both).


def missing_engine(what: str) -> None:
    import os

    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{what} is required under CI=true (.ci/run installs it)")
    pytest.skip(f"{what} not available on this machine")


@pytest.fixture(scope="session")
def spark_backend():
    """An Ibis PySpark backend on a local Spark session (Java 17), shared by the run."""
    import glob
    import os

    if "JAVA_HOME" not in os.environ and not glob.glob("/usr/lib/jvm/java-17-openjdk-*"):
        missing_engine("Java 17 (Debian: openjdk-17-jre-headless) for Spark")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing_engine("pyspark (the [test] extra)")
    from workbench.sources import connect, spark_session

    session = spark_session()
    try:
        yield connect("spark")
    finally:
        session.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of Debian's packages on a free local port, started as the
    ``postgres`` user in a temporary folder and removed afterwards. The superuser
    ``postgres`` has a password (returned) for TCP logins; yields (host, port, password)."""
    import glob
    import shutil
    import socket
    import subprocess
    import tempfile

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins or shutil.which("runuser") is None:
        missing_engine("the PostgreSQL server (Debian: postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing_engine("psycopg (the [test] extra)")
    bindir = Path(bins[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="wb-pg-"))  # pytest's tmp_path is private to root
    shutil.chown(folder, "postgres")
    folder.chmod(0o700)
    password = "Pg-test-" + hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    (folder / "pw").write_text(password)
    shutil.chown(folder / "pw", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def as_postgres(*cmd: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True, text=True
        )

    data = folder / "data"
    as_postgres(
        str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
        "--locale=C.UTF-8", "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256",
        f"--pwfile={folder / 'pw'}",
    )  # fmt: skip
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-o", options,
                "-l", str(folder / "log"), "start")  # fmt: skip
    try:
        yield "127.0.0.1", port, password
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(bindir / "pg_ctl"), "-D", str(data),
             "-m", "fast", "stop"],
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
