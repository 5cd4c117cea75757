"""All file access to processed data: atomic writes, the manifest, tables and stage files.

Every file the workbench writes goes through :func:`write_bytes_atomic`, :func:`write_json` or
:func:`write_frame` (a temporary file and a rename: never a half-written file). Processed tables
are read with :func:`load`, which refuses a table that does not belong to ``manifest.json``;
notebook outputs are written and read per stage and quarter (:func:`save_stage`,
:func:`load_stage`, :data:`STAGE_PRODUCERS`). Raw CSV exports are validated and typed by
:mod:`workbench.ingest`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from .config import OutputPathError, Quarter
from .schema import GEOJSON_NAME

# ---------------------------------------------------------------------------------------------
# Atomic writes


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def check_output_path(path: Path) -> Path:
    """The rule for every file the workbench writes: the target is a new file or an existing
    *regular* file, which is replaced whole by a rename. A symlink, device, FIFO, socket or
    folder at the target is refused (a rename would replace the link or the device itself,
    not write through it), so ``--problems /dev/null`` or a link planted in an output folder
    can never destroy what it points to.

    >>> check_output_path(Path("/dev/null"))
    Traceback (most recent call last):
    ...
    workbench.config.OutputPathError: refusing to write /dev/null: it is a device or special file, not a regular file
    """  # noqa: E501 - doctest output / CSV text cannot wrap
    path = Path(path)
    if path.is_symlink():
        raise OutputPathError(
            f"refusing to write {path}: it is a symbolic link (write to the "
            "file it points to instead)"
        )
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "a device or special file"
        raise OutputPathError(f"refusing to write {path}: it is {kind}, not a regular file")
    return path


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename: never a half-written file
    (the target must pass :func:`check_output_path`)."""
    check_output_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, obj: object) -> None:
    """Deterministic JSON (sorted keys), written atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    write_bytes_atomic(Path(path), text.encode())


def write_frame(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a DataFrame as Parquet (or CSV when the name ends in .csv) atomically (the
    target must pass :func:`check_output_path`)."""
    path = check_output_path(Path(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    try:
        if path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a text cell as a formula."""


def _neutral(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in which text that a spreadsheet would run as a formula starts with ``'``.

    Text values (and column names) starting with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return are prefixed with a single quote; numbers are left alone.

    Examples
    --------
    >>> df = pd.DataFrame({"id": ["=1+2", "-3", "ok"], "usd": [-5.0, 1.0, 2.0]})
    >>> neutralise_formulas(df).values.tolist()
    [["'=1+2", -5.0], ["'-3", 1.0], ['ok', 2.0]]
    """
    out = frame.rename(columns=_neutral)
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype(object).map(_neutral)
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_dead_staging(folder: Path, pattern: str) -> list[Path]:
    """Remove the staging folders of killed runs in ``folder``: names matching ``pattern``
    that carry the writer's pid (``.<what>-<pid>-<random>``) whose process is gone. A run
    going on at the same time keeps its own."""
    removed = []
    for path in sorted(folder.glob(pattern)) if folder.is_dir() else ():
        pid = next((int(p) for p in path.name.split("-")[1:] if p.isdigit()), None)
        if path.is_dir() and pid is not None and not _pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


# ---------------------------------------------------------------------------------------------
# Reading processed data


def read_manifest(processed: str | os.PathLike[str]) -> dict:
    path = Path(processed) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run `workbench ingest` (or `make report`) to create processed data"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def load(name: str, processed: str | os.PathLike[str]) -> pd.DataFrame:
    """A processed table (``accounts``, ``opportunities``, ``facts_account_quarter``, …)."""
    path = Path(processed) / f"{name}.parquet"
    if not path.is_file():
        known = sorted(p.stem for p in Path(processed).glob("*.parquet"))
        raise FileNotFoundError(
            f"{path} not found; processed tables here: {', '.join(known) or 'none'} "
            "(run `workbench ingest` first)"
        )
    _verify(path, name, Path(processed))
    return _read_parquet(path)


_VERIFIED: dict[tuple, bool] = {}


def _verify(path: Path, name: str, processed: Path) -> None:
    """Refuse a table that is not the one the manifest names (a mix of two ingests, left by a
    crash between renames, or a file changed by hand). Checked once per file version."""
    manifest_path = processed / "manifest.json"
    if not manifest_path.is_file():
        return
    stat, mstat = path.stat(), manifest_path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino, mstat.st_mtime_ns, mstat.st_ino)
    if key not in _VERIFIED:  # the manifest is read and the file hashed once per version
        expected = (read_manifest(processed).get("outputs", {}).get(name) or {}).get("sha256")
        # an older manifest without hashes cannot tell: the file is taken as it is
        _VERIFIED[key] = expected is None or sha256_file(path) == expected
    if not _VERIFIED[key]:
        raise FileNotFoundError(
            f"{path.name} in {processed} does not match its manifest (an ingest was interrupted "
            "between renames, or the file was changed by hand): run `workbench ingest` again"
        )


def columns_of(name: str, processed: str | os.PathLike[str]) -> list[str]:
    """A processed table's column names, from the Parquet footer (no data is read)."""
    import pyarrow.parquet as pq

    return pq.read_schema(Path(processed) / f"{name}.parquet").names


def _read_parquet(path: Path) -> pd.DataFrame:
    """Parquet to pandas with dates as ``datetime64`` (not Python ``date`` objects)."""
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas(date_as_object=False)


STAGE_PRODUCERS = {
    "potential_units": "01_market_potential",
    "potential_accounts": "01_market_potential",
    "forecast": "01_market_potential",
    "swot": "01_market_potential",
    "segments": "02_segmentation",
    "lead_scores": "02_segmentation",
    "workload": "02_segmentation",
    "territory_plan": "03_territory_design",
    "territory_summary": "03_territory_design",
    "territory_violations": "03_territory_design",
    "alignment": "03_territory_design",
    "rep_matching": "03_territory_design",
    "quotas_plan": "03_territory_design",
    "sizing": "03_territory_design",
    "kpi_territory": "04_kpi_review",
    "kpi_rep": "04_kpi_review",
    "kpi_flags": "04_kpi_review",
}
"""Notebook outputs (``<stage>_<quarter>.parquet``) and the notebook that writes each one."""


def stage_path(processed: str | os.PathLike[str], stage: str, quarter: Quarter | str) -> Path:
    """Where a notebook's output for a quarter lives: ``<processed>/<stage>_<quarter>.parquet``."""
    return Path(processed) / f"{stage}_{Quarter.parse(quarter)}.parquet"


def save_stage(
    df: pd.DataFrame, processed: str | os.PathLike[str], stage: str, quarter: Quarter | str
) -> Path:
    """Write a notebook output atomically (one writer per file: see ``STAGE_PRODUCERS``)."""
    return write_frame(df, stage_path(processed, stage, quarter))


def load_stage(
    processed: str | os.PathLike[str], stage: str, quarter: Quarter | str
) -> pd.DataFrame:
    """Read an earlier notebook's output, or say which notebook to run first."""
    path = stage_path(processed, stage, quarter)
    if not path.is_file():
        producer = STAGE_PRODUCERS.get(stage, "the notebook that writes it")
        raise FileNotFoundError(
            f"{path.name} not found in {Path(processed)}: run notebooks/{producer}.ipynb for "
            f"{Quarter.parse(quarter)} first "
            f"(or `workbench report --quarter {Quarter.parse(quarter)}`)"
        )
    return _read_parquet(path)


def load_geojson(processed: str | os.PathLike[str]):
    """Unit polygons as a GeoDataFrame (WGS84), or ``None`` when none were supplied."""
    path = Path(processed) / GEOJSON_NAME
    if not path.is_file():
        return None
    import geopandas as gpd

    gdf = gpd.read_file(path)
    gdf["unit_id"] = gdf["unit_id"].astype(str)
    return gdf.set_crs(4326, allow_override=True)
