"""Ingest raw CSV exports: check them against the contract, then write typed processed data.

Ingest reads each raw CSV with Arrow (all columns as text, so nothing is silently coerced),
checks it against :data:`workbench.schema.CONTRACT` with DuckDB SQL (so a 3-million-row export
is checked in seconds; both in :mod:`workbench.checks`), and only when **no** problem was found
writes typed Parquet files, the account × rep × quarter facts table and ``manifest.json``.
Every problem is reported at once.

With a mapping (:mod:`workbench.mapping`) a CRM's own export is read the same way, its columns
renamed and its cells converted (labels, date and currency formats) as text, and then checked by
the very same rules; problems name the export's file, its line and its column.

The facts table is the one heavy aggregation of the pipeline (opportunity history → facts);
it is plain DuckDB SQL so it can move into a customer's warehouse unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from . import __version__
from .checks import LINE, IngestError, RawTable, _check_geojson, _q, check_tables, validate
from .config import Quarter, last_complete_quarter, shown_path
from .io import (
    neutralise_formulas,
    read_manifest,
    remove_dead_staging,
    sha256_file,
    write_frame,
    write_json,
)
from .mapping import Mapping, MappingError, parse_mapping
from .schema import BOOL_TRUE, CONTRACT, GEOJSON_NAME, PROVENANCE_NAME, FileSpec, Problem

__all__ = [
    "FACTS_NAME",
    "FACTS_SQL",
    "IngestError",
    "IngestResult",
    "default_quarter",
    "ingest",
    "preset_names",
    "read_mapping",
    "validate",
]


FACTS_NAME = "facts_account_quarter"


# ---------------------------------------------------------------------------------------------
# Typed output


def _typed_select(spec: FileSpec, con, view: str, header: list[str]) -> str:
    known = {c.name: c for c in spec.columns}
    parts = []
    for h in header:
        if h == LINE:
            continue
        col = known.get(h)
        v = f"NULLIF(trim({_q(h)}), '')"
        if col is None:
            numeric = (
                spec.numeric_extras
                and con.execute(
                    f"SELECT count(*) FROM {view} WHERE {v} IS NOT NULL "
                    f"AND TRY_CAST({v} AS DOUBLE) IS NULL"
                ).fetchall()[0][0]
                == 0
            )
            expr = f"TRY_CAST({v} AS DOUBLE)" if numeric else v
        elif col.kind == "int":
            expr = f"CAST(CAST({v} AS DOUBLE) AS BIGINT)"
        elif col.kind == "number":
            expr = f"CAST({v} AS DOUBLE)"
        elif col.kind == "date":
            expr = f"CAST(left({v}, 10) AS DATE)"
        elif col.kind == "enum":
            expr = f"lower({v})"
        elif col.kind == "bool":
            expr = f"lower({v}) IN ({', '.join(repr(x) for x in BOOL_TRUE)})"
        elif col.kind == "quarter":
            expr = f"upper({v})"
        else:
            expr = v
        parts.append(f"{expr} AS {_q(h)}")
    # no ORDER BY: DuckDB keeps the scan order of the file (preserve_insertion_order)
    return f"SELECT {', '.join(parts)} FROM {view}"


FACTS_SQL = """
WITH closed AS (
    SELECT account_id, rep_id,
           CAST(year(close_date) AS VARCHAR) || 'Q'
             || CAST(quarter(close_date) AS VARCHAR) AS quarter,
           sum(amount_usd) FILTER (WHERE stage = 'won')  AS won_usd,
           count(*)        FILTER (WHERE stage = 'won')  AS won_n,
           sum(amount_usd) FILTER (WHERE stage = 'lost') AS lost_usd,
           count(*)        FILTER (WHERE stage = 'lost') AS lost_n
    FROM typed_opportunities WHERE stage IN ('won', 'lost')
    GROUP BY ALL),
created AS (
    SELECT account_id, rep_id,
           CAST(year(created_date) AS VARCHAR) || 'Q'
             || CAST(quarter(created_date) AS VARCHAR) AS quarter,
           count(*) AS created_n, sum(amount_usd) AS created_usd
    FROM typed_opportunities GROUP BY ALL)
SELECT account_id, rep_id, quarter,
       coalesce(won_usd, 0)::DOUBLE AS won_usd, coalesce(won_n, 0)::BIGINT AS won_n,
       coalesce(lost_usd, 0)::DOUBLE AS lost_usd, coalesce(lost_n, 0)::BIGINT AS lost_n,
       coalesce(created_n, 0)::BIGINT AS created_n,
       coalesce(created_usd, 0)::DOUBLE AS created_usd
FROM closed FULL OUTER JOIN created USING (account_id, rep_id, quarter)
ORDER BY quarter, account_id, rep_id
"""
"""Account × rep × quarter facts: won/lost by close quarter, created by created quarter."""


def default_quarter(latest: dt.date | None, as_of: dt.date | None = None) -> Quarter | None:
    """The planning quarter: the last complete quarter of the data.

    With an explicit ``as_of`` (the demo's provenance), the last quarter ended by then.
    Otherwise the latest activity date stands in for the export date: its quarter counts as
    complete when that date is in the quarter's last 7 days (a CRM export made a few days
    after quarter end shows activity up to the last business day).

    >>> str(default_quarter(dt.date(2026, 9, 28))), str(default_quarter(dt.date(2026, 8, 1)))
    ('2026Q3', '2026Q2')
    """
    if as_of is not None:
        return last_complete_quarter(as_of)
    if latest is None:
        return None
    q = Quarter.from_date(latest)
    return q if (q.end - latest).days < 7 else q - 1


@dataclasses.dataclass(frozen=True)
class IngestResult:
    out_dir: Path
    rows: dict[str, int]
    default_quarter: str | None
    seconds: float
    mapping: str | None = None

    def summary(self) -> str:
        lines = [f"ingested into {self.out_dir} in {self.seconds:.1f} s"]
        if self.mapping:
            lines.append(f"  mapping: {self.mapping}")
        lines += [f"  {name:<24} {n:>10,} rows" for name, n in self.rows.items()]
        lines.append(f"  default planning quarter: {self.default_quarter}")
        return "\n".join(lines)


def preset_names() -> list[str]:
    """The mappings shipped in ``workbench/presets/`` (``--mapping NAME`` selects one).

    >>> preset_names()
    ['hubspot', 'salesforce']
    """
    folder = resources.files("workbench").joinpath("presets")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def read_mapping(mapping: str | os.PathLike[str] | Mapping) -> Mapping:
    """A checked mapping from a preset's bare name or a YAML file's path.

    Raises :class:`workbench.mapping.MappingError` (one line) when it cannot be found or is
    malformed: that happens before any data is read.

    >>> m = read_mapping("salesforce")
    >>> m.files["opportunities"].file, m.origin
    ('Opportunities Report.csv', 'preset salesforce')
    """
    if isinstance(mapping, Mapping):
        return mapping
    ref = os.fspath(mapping)
    path = Path(ref)
    if ref in preset_names() and not path.is_file():
        data = resources.files("workbench").joinpath("presets", f"{ref}.yaml").read_bytes()
        return parse_mapping(data, origin=f"preset {ref}")
    if not path.is_file():
        raise MappingError(
            f"mapping {ref!r} is neither a file nor a preset ({', '.join(preset_names())})"
        )
    return parse_mapping(path.read_bytes(), origin=str(path))


def ingest(
    raw_dir: str | os.PathLike[str] = "data/raw",
    out_dir: str | os.PathLike[str] = "data/processed",
    *,
    problems_file: str | os.PathLike[str] | None = None,
    mapping: str | os.PathLike[str] | Mapping | None = None,
) -> IngestResult:
    """Validate ``raw_dir`` against the contract and write typed data to ``out_dir``.

    Writes ``<file>.parquet`` for every raw file present, ``facts_account_quarter.parquet``,
    ``geo_units.geojson`` (if given) and ``manifest.json`` (input hashes, row counts, version,
    time, default planning quarter, the mapping used). Raises :class:`IngestError` with
    **every** problem found; then nothing under ``out_dir`` is touched.

    ``mapping`` (a preset name such as ``"salesforce"``, a YAML path or a parsed mapping) reads
    contract files from CRM exports; a malformed mapping raises
    :class:`workbench.mapping.MappingError` before any data is read.
    """
    t0 = time.perf_counter()
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    mapping = read_mapping(mapping) if mapping is not None else None
    raws, problems = validate(raw_dir, mapping)
    con = duckdb.connect()
    try:
        for name, raw in raws.items():
            con.register(name, raw.table)
        collector = check_tables(con, raws, problems)
        geojson = raw_dir / GEOJSON_NAME
        if geojson.is_file() and "geo_units" in raws:
            ids = {str(x).strip() for x in raws["geo_units"].table.column("unit_id").to_pylist()}
            _check_geojson(geojson, ids, problems)
        provenance = _read_provenance(raw_dir, problems)
        if problems_file is not None and (problems or collector.counts):
            full = collector.full + [p for p in problems if p not in collector.full]
            key = _sort_key(mapping)
            frame = pd.DataFrame([dataclasses.asdict(p) for p in sorted(full, key=key)])
            write_frame(neutralise_formulas(frame), problems_file)  # people open it in Excel
        if problems or collector.counts:
            raise IngestError(sorted(problems, key=_sort_key(mapping)), collector.counts)
        return _write_processed(con, raws, raw_dir, out_dir, t0, mapping, provenance)
    finally:
        con.close()


def _sort_key(mapping: Mapping | None) -> Callable[[Problem], tuple]:
    """Problems in contract file order (an export counts as the file it maps), then by line."""
    order = list(CONTRACT)
    exports = {f.file: order.index(name) for name, f in (mapping.files if mapping else {}).items()}

    def key(p: Problem) -> tuple:
        stem = p.file.rsplit(".", 1)[0]
        rank = exports.get(p.file, order.index(stem) if stem in order else len(order))
        return (rank, p.file, p.line or 0, p.column or "", p.message)

    return key


def _write_processed(
    con,
    raws: dict[str, RawTable],
    raw_dir: Path,
    out_dir: Path,
    t0: float,
    mapping: Mapping | None,
    provenance: dict,
) -> IngestResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_dead_staging(out_dir, ".ingest-*")
    stage = Path(tempfile.mkdtemp(prefix=f".ingest-{os.getpid()}-", dir=out_dir))
    try:
        rows: dict[str, int] = {}
        for name, raw in raws.items():
            sql = _typed_select(raw.spec, con, name, raw.table.column_names)
            con.execute(f"CREATE TEMP TABLE typed_{name} AS {sql}")
            _copy_parquet(con, f"SELECT * FROM typed_{name}", stage / f"{name}.parquet")
            rows[name] = raw.table.num_rows
        rows[FACTS_NAME] = _copy_parquet(con, FACTS_SQL, stage / f"{FACTS_NAME}.parquet")
        latest = con.execute(
            "SELECT max(greatest(created_date, coalesce(close_date, created_date))) "
            "FROM typed_opportunities"
        ).fetchall()[0][0]
        as_of = provenance.get("as_of")
        quarter = default_quarter(latest, dt.date.fromisoformat(as_of) if as_of else None)
        outputs = [f"{n}.parquet" for n in rows]
        geojson = raw_dir / GEOJSON_NAME
        if geojson.is_file():
            shutil.copyfile(geojson, stage / GEOJSON_NAME)
            outputs.append(GEOJSON_NAME)
        manifest: dict[str, Any] = {
            "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "workbench_version": __version__,
            "raw_dir": shown_path(raw_dir),
            "inputs": {
                raw.spec.filename: {
                    "sha256": raw.sha256,
                    "bytes": raw.size,
                    "rows": raw.table.num_rows,
                }
                | ({"source": raw.source} if raw.source else {})
                for raw in raws.values()
            },
            "mapping": mapping.manifest() if mapping is not None else None,
            # each output's hash: readers check that a file belongs to this manifest, so a
            # crash between two renames of the swap can never be read as one ingest
            "outputs": {
                name: {"rows": n, "sha256": sha256_file(stage / f"{name}.parquet")}
                for name, n in rows.items()
            },
            "files": sorted(outputs),
            "latest_activity_date": latest.isoformat() if latest else None,
            "default_quarter": str(quarter) if quarter else None,
            "synthetic": bool(provenance.get("synthetic", False)),
            "provenance": provenance,
        }
        if geojson.is_file():
            manifest["inputs"][GEOJSON_NAME] = {
                "sha256": sha256_file(geojson),
                "bytes": geojson.stat().st_size,
            }
        write_json(stage / "manifest.json", manifest)
        _swap_in(stage, out_dir, [*outputs, "manifest.json"])
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return IngestResult(
        out_dir,
        rows,
        manifest["default_quarter"],
        time.perf_counter() - t0,
        f"{mapping.name} ({mapping.origin})" if mapping is not None else None,
    )


def _copy_parquet(con, sql: str, path: Path) -> int:
    """DuckDB writes Parquet in parallel, keeping the query's row order; returns the rows."""
    target = str(path).replace("'", "''")
    return con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)").fetchall()[
        0
    ][0]


def _read_provenance(raw_dir: Path, problems: list[Problem] | None = None) -> dict:
    """The demo's provenance note (optional): a JSON object; ``as_of``, when given, an ISO
    date. A malformed one is a problem (named, like any other file's), never a traceback."""
    path = raw_dir / PROVENANCE_NAME
    if not path.is_file():
        return {}
    found: list[str] = []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        doc, found = {}, [f"not valid JSON ({exc.__class__.__name__}: {exc})"]
    if not isinstance(doc, dict):
        doc, found = {}, ["expected a JSON object (the demo's provenance note)"]
    as_of = doc.get("as_of")
    if as_of is not None:
        try:
            dt.date.fromisoformat(str(as_of))
        except ValueError:
            found.append(f"as_of must be an ISO date (YYYY-MM-DD), got {as_of!r}")
            doc = {k: v for k, v in doc.items() if k != "as_of"}
    if problems is not None:
        problems.extend(Problem(PROVENANCE_NAME, None, None, text) for text in found)
    return doc


def _swap_in(stage: Path, out_dir: Path, names: Iterable[str]) -> None:
    """Move staged files into ``out_dir`` (one rename each), then drop files an earlier ingest
    wrote that this one did not (an optional file that was removed from raw)."""
    old = read_manifest(out_dir) if (out_dir / "manifest.json").is_file() else {}
    names = list(names)
    for name in names:
        if name != "manifest.json":
            os.replace(stage / name, out_dir / name)
    os.replace(stage / "manifest.json", out_dir / "manifest.json")
    # Only files an ingest can write are ever removed, by their own plain names: never a path
    # read from the old manifest (a doctored manifest must not delete anything else).
    for stale in set(old.get("files", [])) & (_ingest_outputs() - set(names)):
        target = out_dir / stale
        if target.is_file() and not target.is_symlink():
            target.unlink()


def _ingest_outputs() -> set[str]:
    """Every file name an ingest may write into the processed folder (besides the manifest)."""
    return {f"{name}.parquet" for name in CONTRACT} | {f"{FACTS_NAME}.parquet", GEOJSON_NAME}
