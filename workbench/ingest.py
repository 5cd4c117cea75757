"""Ingest raw data: check it against the contract, then write typed processed data.

The raw data is a folder of CSV exports, Parquet files or Parquet folders, or tables in a
database or warehouse (:mod:`workbench.sources`). A CSV export is read with Arrow (all columns
as text, so nothing is silently coerced, with the file's own line numbers); every table is then
checked against :data:`workbench.schema.CONTRACT` by Ibis expressions on the engine that holds
it (:mod:`workbench.checks`: embedded DuckDB by default, Spark, or the warehouse itself), and
only when **no** problem was found are typed Parquet files, the account × rep × quarter facts
table and ``manifest.json`` written. Every problem is reported at once.

With a mapping (:mod:`workbench.mapping`) a CRM's own export is read the same way, its columns
renamed and its cells converted (labels, date and currency formats) as text, and then checked by
the very same rules; problems name the export's file, its line and its column.

The facts table is the heavy aggregation of ingest (opportunity history → facts): an Ibis
expression (:func:`workbench.expressions.facts`) that runs where the data lives.
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

import ibis.expr.types as ir
import pandas as pd

from . import __version__, expressions
from .checks import (
    LINE,
    CheckInput,
    IngestError,
    _check_geojson,
    check_tables,
    numeric_extras,
    table_of,
)
from .config import Quarter, last_complete_quarter, progress_printer
from .io import (
    neutralise_formulas,
    read_manifest,
    remove_dead_staging,
    sha256_file,
    write_frame,
    write_json,
)
from .mapping import Mapping, MappingError, parse_mapping
from .schema import CONTRACT, GEOJSON_NAME, PROVENANCE_NAME, Problem
from .sources import FolderSource, Source, open_source

__all__ = [
    "DEALS_NAME",
    "FACTS_NAME",
    "IngestError",
    "IngestResult",
    "default_quarter",
    "ingest",
    "preset_names",
    "read_mapping",
    "typed_table",
]


FACTS_NAME = "facts_account_quarter"
DEALS_NAME = "deals_account_quarter"
"""Deal sums per account × rep × quarter for the KPI review
(:func:`workbench.expressions.deal_quarters`)."""


# ---------------------------------------------------------------------------------------------
# Typed output


def typed_table(raw: CheckInput) -> ir.Table:
    """A checked table with every contract column typed (:func:`workbench.expressions.typed`),
    numeric extra columns as float64 and other extra columns as trimmed text; a table's rows
    in key order (a file keeps its own order)."""
    t = table_of(raw)
    known = {c.name: c for c in raw.spec.columns}
    columns = {}
    for h in t.columns:
        if h == LINE:
            continue
        col = known.get(h)
        if col is not None:
            columns[h] = expressions.typed(col, t[h])
        elif h in raw.numeric_extras:
            columns[h] = expressions.number(expressions.text(t[h]))
        else:
            columns[h] = expressions.text(t[h])
    if raw.locator == (LINE,):
        return t.order_by(LINE).select(**columns)
    return t.select(**columns).order_by(list(raw.locator))


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
    source: str | Source | None = None,
    tables: dict[str, str] | str | None = None,
    engine: str = "duckdb",
    progress: Callable[[str], None] | bool | None = None,
) -> IngestResult:
    """Validate the raw data against the contract and write typed data to ``out_dir``.

    Reads the folder ``raw_dir`` (CSV exports, Parquet files or Parquet folders) on
    ``engine`` (``"duckdb"``, embedded, or ``"spark"``, local mode), or ``source``: a
    database or warehouse URL or ``profile:NAME`` with ``tables`` mapping contract names to
    table names (:mod:`workbench.sources`; credentials from the environment, never recorded).

    Writes ``<file>.parquet`` for every contract table present, ``facts_account_quarter.parquet``,
    ``geo_units.geojson`` (if given) and ``manifest.json`` (the source and engine, input
    hashes or table names, row counts, version, time, default planning quarter, the mapping
    used). Raises :class:`IngestError` with **every** problem found; then nothing under
    ``out_dir`` is touched. ``progress`` receives a line per step (rows read, checked,
    written); ``True`` prints them with the elapsed time (in a notebook, under the cell).

    ``mapping`` (a preset name such as ``"salesforce"``, a YAML path or a parsed mapping) reads
    contract files from CRM exports; a malformed mapping raises
    :class:`workbench.mapping.MappingError` before any data is read.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    mapping = read_mapping(mapping) if mapping is not None else None
    if progress is True:
        progress = progress_printer()
    say = progress or (lambda message: None)
    if not isinstance(source, Source):
        source = open_source(raw_dir, source, tables=tables, mapping=mapping, engine=engine)
    with source:
        raws, problems = source.open(say)
        for raw in raws.values():
            raw.numeric_extras = numeric_extras(raw)
        collector = check_tables(raws, problems)
        found = len(problems) + sum(collector.counts.values())
        say(f"checked {len(raws)} tables: {found} problem(s)")
        folder = source.raw_dir if isinstance(source, FolderSource) else None
        geojson = folder / GEOJSON_NAME if folder is not None else None
        if geojson is not None and geojson.is_file() and "geo_units" in raws:
            units = raws["geo_units"].expr
            ids = {
                str(x).strip() for x in units.select("unit_id").to_pyarrow().column(0).to_pylist()
            }
            _check_geojson(geojson, ids, problems)
        provenance = _read_provenance(folder, problems) if folder is not None else {}
        if problems_file is not None and (problems or collector.counts):
            full = collector.full + [p for p in problems if p not in collector.full]
            key = _sort_key(mapping)
            frame = pd.DataFrame([dataclasses.asdict(p) for p in sorted(full, key=key)])
            write_frame(neutralise_formulas(frame), problems_file)  # people open it in Excel
        if problems or collector.counts:
            raise IngestError(sorted(problems, key=_sort_key(mapping)), collector.counts)
        return _write_processed(source, raws, out_dir, t0, mapping, provenance, say)


def _sort_key(mapping: Mapping | None) -> Callable[[Problem], tuple]:
    """Problems in contract file order (an export counts as the file it maps), then by line
    or key."""
    order = list(CONTRACT)
    exports = {f.file: order.index(name) for name, f in (mapping.files if mapping else {}).items()}

    def key(p: Problem) -> tuple:
        stem = p.file.rsplit(".", 1)[0].rstrip("/").rsplit(".", 1)[-1]
        rank = exports.get(p.file, order.index(stem) if stem in order else len(order))
        return (rank, p.file, p.line or 0, p.key or "", p.column or "", p.message)

    return key


def _write_processed(
    source: Source,
    raws: dict[str, CheckInput],
    out_dir: Path,
    t0: float,
    mapping: Mapping | None,
    provenance: dict,
    say: Callable[[str], None],
) -> IngestResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_dead_staging(out_dir, ".ingest-*")
    stage = Path(tempfile.mkdtemp(prefix=f".ingest-{os.getpid()}-", dir=out_dir))
    try:
        rows: dict[str, int] = {}
        typed: dict[str, ir.Table] = {}
        for name, raw in raws.items():
            table = typed_table(raw)
            rows[name] = write_table(source, table, stage / f"{name}.parquet")
            typed[name] = _materialized(source, table, stage / f"{name}.parquet")
            say(f"wrote {name}.parquet: {rows[name]:,} rows")
        opportunities = typed["opportunities"]
        facts_path = stage / f"{FACTS_NAME}.parquet"
        rows[FACTS_NAME] = write_table(source, expressions.facts(opportunities), facts_path)
        say(f"wrote {FACTS_NAME}.parquet: {rows[FACTS_NAME]:,} rows")
        span_row = source.con.to_pyarrow(expressions.activity_span(opportunities)).to_pylist()
        first, latest = span_row[0]["first"], span_row[0]["latest"]
        span = [Quarter.from_date(d).index if d else 0 for d in (first, latest)]
        deals = expressions.deal_quarters(opportunities, *span)
        rows[DEALS_NAME] = write_table(source, deals, stage / f"{DEALS_NAME}.parquet")
        say(f"wrote {DEALS_NAME}.parquet: {rows[DEALS_NAME]:,} rows")
        as_of = provenance.get("as_of")
        quarter = default_quarter(latest, dt.date.fromisoformat(as_of) if as_of else None)
        outputs = [f"{n}.parquet" for n in rows]
        folder = source.raw_dir if isinstance(source, FolderSource) else None
        geojson = folder / GEOJSON_NAME if folder is not None else None
        if geojson is not None and geojson.is_file():
            shutil.copyfile(geojson, stage / GEOJSON_NAME)
            outputs.append(GEOJSON_NAME)
        described = source.describe()
        manifest: dict[str, Any] = {
            "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "workbench_version": __version__,
            "source": described,
            "raw_dir": described["location"],
            "inputs": {raw.input_name: raw.manifest_entry() for raw in raws.values()},
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
        if geojson is not None and geojson.is_file():
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


def write_table(source: Source, expr: ir.Table, path: Path) -> int:
    """Write an expression's rows to Parquet (zstd) in its order; returns the row count.

    DuckDB writes the file itself (in parallel, out of core); another engine streams Arrow
    record batches to a local writer, so the result never has to fit in memory at once.
    """
    import pyarrow.parquet as pq

    con = source.con
    if source.engine == "duckdb":
        con.to_parquet(expr, path, compression="zstd")
        return pq.ParquetFile(path).metadata.num_rows
    n = 0
    reader = con.to_pyarrow_batches(expr, chunk_size=1 << 17)
    with reader, pq.ParquetWriter(path, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
            n += batch.num_rows
    return n


def _materialized(source: Source, expr: ir.Table, written: Path) -> ir.Table:
    """A typed table to reduce further: DuckDB reads back the Parquet it just wrote
    (columnar, out of core); other engines keep the table where it is (cached)."""
    if source.engine == "duckdb":
        return source.con.read_parquet(written)
    return expr.cache()


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
    derived = {f"{FACTS_NAME}.parquet", f"{DEALS_NAME}.parquet", GEOJSON_NAME}
    return {f"{name}.parquet" for name in CONTRACT} | derived
