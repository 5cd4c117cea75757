"""All file access to processed data: atomic writes, the manifest, tables and stage files.

Every file the workbench writes goes through :func:`write_bytes_atomic`, :func:`write_json` or
:func:`write_frame` (a temporary file and a rename: never a half-written file). Processed tables
are read with :func:`load`, which refuses a table that does not belong to ``manifest.json``;
notebook outputs are written and read per stage and quarter (:func:`save_stage`,
:func:`load_stage`, :data:`STAGE_PRODUCERS`), checked against the columns each stage declares
in :mod:`workbench.stages`. Raw CSV exports are validated and typed by
:mod:`workbench.ingest`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from .config import OutputPathError, Quarter
from .schema import GEOJSON_NAME
from .stages import RECORD_STAGES, STAGES, StageProblem, StageSchemaError

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


STAGE_PRODUCERS = {name: spec.producer for name, spec in STAGES.items()}
"""Notebook outputs (``<stage>_<quarter>.parquet``) and the notebook that writes each one; the
columns of each are declared in :data:`workbench.stages.STAGES`."""

STAGE_FOLDERS = {name: spec.producer for name, spec in RECORD_STAGES.items()}
"""Folders of notebook records (``<processed>/<folder>/<name>.json``: the explorer's saved
``scenarios``) and the notebook that writes them; keys declared in
:data:`workbench.stages.RECORD_STAGES`."""


def stage_path(processed: str | os.PathLike[str], stage: str, quarter: Quarter | str) -> Path:
    """Where a notebook's output for a quarter lives: ``<processed>/<stage>_<quarter>.parquet``."""
    return Path(processed) / f"{stage}_{Quarter.parse(quarter)}.parquet"


def stage_folder(processed: str | os.PathLike[str], stage: str) -> Path:
    """Where a folder of records lives: ``<processed>/scenarios`` for ``"scenarios"``."""
    return Path(processed) / RECORD_STAGES[stage].folder


def check_stage(df: pd.DataFrame, stage: str, quarter: Quarter | str) -> None:
    """Refuse a frame that is not what ``stage`` declares (:data:`workbench.stages.STAGES`):
    every problem at once, before anything is written.

    Raises
    ------
    StageSchemaError
        Missing required columns or declared columns of another kind.
    ValueError
        A stage that is not declared.
    """
    q = Quarter.parse(quarter)
    spec = STAGES.get(stage)
    if spec is None:
        raise ValueError(
            f"unknown stage {stage!r}: declare it (its notebook and columns) in "
            f"workbench/stages.py first (declared: {', '.join(STAGES)})"
        )
    problems = spec.problems(df)
    if problems:
        raise StageSchemaError(
            f"not saving {stage}_{q}.parquet ({spec.writer}): {_listed(problems)}. Nothing was "
            f"written; stage {stage!r} is declared in workbench/stages.py",
            stage=stage,
            problems=tuple(problems),
        )


def _listed(problems: Sequence[StageProblem]) -> str:
    return "; ".join(str(p) for p in problems)


def save_stage(
    df: pd.DataFrame, processed: str | os.PathLike[str], stage: str, quarter: Quarter | str
) -> Path:
    """Write a notebook output atomically (one writer per file: see ``STAGE_PRODUCERS``), after
    checking it against its declaration (:func:`check_stage`): a frame that is not what the
    stage declares is never written."""
    check_stage(df, stage, quarter)
    return write_frame(df, stage_path(processed, stage, quarter))


def load_stage(
    processed: str | os.PathLike[str], stage: str, quarter: Quarter | str
) -> pd.DataFrame:
    """Read an earlier notebook's output, or say which notebook to run first (also when the
    file lacks a declared column: see :data:`workbench.stages.STAGES`)."""
    path = stage_path(processed, stage, quarter)
    if not path.is_file():
        producer = STAGE_PRODUCERS.get(stage, "the notebook that writes it")
        raise FileNotFoundError(
            f"{path.name} not found in {Path(processed)}: run notebooks/{producer}.ipynb for "
            f"{Quarter.parse(quarter)} first "
            f"(or `workbench report --quarter {Quarter.parse(quarter)}`)"
        )
    frame = _read_parquet(path)
    spec = STAGES.get(stage)
    problems = [] if spec is None else spec.problems(frame)
    if spec is not None and problems:
        raise StageSchemaError(
            f"{path.name} has {_listed(problems)} (written by {spec.writer}): run it for "
            f"{Quarter.parse(quarter)} first",
            stage=stage,
            problems=tuple(problems),
        )
    return frame


def check_stage_record(
    record: Mapping, stage: str, path: str | os.PathLike[str], *, saving: bool
) -> None:
    """Refuse a record (e.g. a saved scenario) that lacks a key its stage declares
    (:data:`workbench.stages.RECORD_STAGES`) or holds another kind of value there."""
    spec = RECORD_STAGES[stage]
    problems = spec.problems(record)
    if not problems:
        return
    path = Path(path)
    if saving:
        message = (
            f"not saving {path.name} ({spec.writer}): {_listed(problems)}. Nothing was written; "
            f"{stage!r} records are declared in workbench/stages.py"
        )
    else:
        message = (
            f"{path.name} in {path.parent} has {_listed(problems)} (written by {spec.writer}): "
            "save it again"
        )
    raise StageSchemaError(message, stage=stage, problems=tuple(problems))


def load_geojson(processed: str | os.PathLike[str]):
    """Unit polygons as a GeoDataFrame (WGS84), or ``None`` when none were supplied."""
    path = Path(processed) / GEOJSON_NAME
    if not path.is_file():
        return None
    import geopandas as gpd

    gdf = gpd.read_file(path)
    gdf["unit_id"] = gdf["unit_id"].astype(str)
    return gdf.set_crs(4326, allow_override=True)
