"""All file access: ingest raw CSV exports, read and write processed data atomically.

Ingest reads each raw CSV with Arrow (all columns as text, so nothing is silently coerced),
checks it against :data:`workbench.schema.CONTRACT` with DuckDB SQL (so a 3-million-row export
is checked in seconds), and only when **no** problem was found writes typed Parquet files, the
account × rep × quarter facts table and ``manifest.json``. Every problem is reported at once.

With a mapping (:mod:`workbench.mapping`) a CRM's own export is read the same way, its columns
renamed and its cells converted (labels, date and currency formats) as text, and then checked by
the very same rules; problems name the export's file, its line and its column.

The facts table is the one heavy aggregation of the pipeline (opportunity history → facts);
it is plain DuckDB SQL so it can move into a customer's warehouse unchanged.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io as _io
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
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import __version__
from .config import OutputPathError, Quarter, last_complete_quarter, shown_path
from .mapping import FileMap, Mapping, MappingError, convert_column, parse_mapping
from .schema import (
    BOOL_FALSE,
    BOOL_TRUE,
    CONTRACT,
    GEOJSON_NAME,
    PROVENANCE_NAME,
    Column,
    FileSpec,
    Problem,
)

LINE = "__line"
MAX_PER_CHECK = 50
"""Problems printed per (file, column, check); the full list goes to ``--problems FILE``."""

FACTS_NAME = "facts_account_quarter"
ISO_DATE = r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"


class IngestError(Exception):
    """Raw data broke the contract; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem], counts: dict[tuple, int] | None = None):
        self.problems = problems
        self.counts = counts or {}
        super().__init__(f"{self.total} problem(s) in raw data")

    @property
    def total(self) -> int:
        return len(self.problems) + sum(self.counts.values())

    def report(self) -> str:
        lines = [str(p) for p in self.problems]
        for (file, column, message), n in sorted(self.counts.items()):
            lines.append(f"{file}: column {column}: {n} more line(s) with this problem: {message}")
        lines.append(f"{self.total} problem(s) found; nothing under the output folder was changed.")
        return "\n".join(lines)


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


# ---------------------------------------------------------------------------------------------
# Reading one raw CSV as text, with the file's own line numbers


@dataclasses.dataclass
class RawTable:
    """One raw file as text. ``spec`` holds the required columns plus the optional ones present.

    Read through a mapping, ``source`` is the export's file name, ``labels`` name contract
    columns as problems should (``Close Date (→ close_date)``), ``original`` keeps converted
    columns as exported and ``failures`` the cells that could not be converted.
    """

    spec: FileSpec
    path: Path
    table: pa.Table  # every column text, plus LINE (int64)
    sha256: str
    size: int
    source: str | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    original: dict[str, pa.Array] = dataclasses.field(default_factory=dict)
    failures: dict[str, list[tuple[int, str]]] = dataclasses.field(default_factory=dict)

    @property
    def display(self) -> str:
        """The file name problems carry: the export's own name when mapped."""
        return self.source or self.spec.filename

    def label(self, column: str | None) -> str | None:
        return self.labels.get(column, column) if column else column

    def annotate(self, column: str | None, found: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Problems of a converted column: drop cells already reported as not convertible
        (one problem per cell), and quote the value as exported where conversion changed it."""
        if column not in self.original:
            return found
        failed = {line for line, _ in self.failures.get(column, [])}
        found = [(line, m) for line, m in found if line not in failed]
        if not found:
            return found
        rows = pa.array(
            np.searchsorted(self.table.column(LINE).to_numpy(), [line for line, _ in found])
        )
        was = self.original[column].take(rows).to_pylist()
        now = self.table.column(column).take(rows).to_pylist()
        return [
            (line, m + (f" (exported as {w!r})" if w is not None and w.strip() != n else ""))
            for (line, m), w, n in zip(found, was, now, strict=True)
        ]


def read_raw(spec: FileSpec, path: Path, problems: list[Problem]) -> RawTable | None:
    """Read ``path`` with every column as text; append problems; ``None`` if unreadable."""
    expected = [(c.name, c.name) for c in spec.required_columns]
    read = _read_text_csv(path, spec.filename, expected, spec.required, problems)
    if read is None:
        return None
    table, digest, size = read
    return RawTable(spec.for_header(table.column_names), path, table, digest, size)


def _exact(name: str, header: list[str]) -> str | None:
    return name if name in header else None


def _loose(name: str, header: list[str]) -> str | None:
    """The header's column for ``name``: exact, else the one column equal to it ignoring case
    and runs of spaces (CRMs relabel ``Deal Owner`` as ``Deal owner`` between releases)."""
    if name in header:
        return name
    key = " ".join(name.split()).casefold()
    hits = [h for h in header if " ".join(h.split()).casefold() == key]
    return hits[0] if len(hits) == 1 else None


def _read_text_csv(
    path: Path,
    fname: str,
    expected: list[tuple[str, str]],
    required: bool,
    problems: list[Problem],
    find: Callable[[str, list[str]], str | None] = _exact,
) -> tuple[pa.Table, str, int] | None:
    """Read a CSV with every column as text plus LINE (the file's own line numbers).

    ``expected``: (header name, how problems name it) of the columns the header must have,
    looked up with ``find``. Returns the table, the sha256 and size of the bytes, or ``None``
    if unreadable.
    """
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    size = len(data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        problems.append(
            Problem(
                fname,
                line,
                None,
                (
                    f"file is not UTF-8 (byte 0x{bad} cannot be decoded); "
                    "re-save the export as UTF-8"
                ),
            )
        )
        return None
    if "\r" in text and "\n" not in text:
        # old Mac line ends (CR only): each CR ends a line, so line numbers stay the file's own
        text = text.replace("\r", "\n")
        data = text.encode("utf-8")
    if not text.strip():
        problems.append(
            Problem(
                fname,
                None,
                None,
                (
                    "file is empty; expected a header row with columns "
                    + ", ".join(dict.fromkeys(name for name, _ in expected))
                ),
            )
        )
        return None
    header_line = text.split("\n", 1)[0]
    header = [h.strip() for h in next(csv.reader([header_line]))]
    missing = [label for name, label in expected if find(name, header) is None]
    for name in missing:
        problems.append(Problem(fname, 1, name, "required column is missing from the header"))
    dupes = sorted({h for h in header if header.count(h) > 1})
    for name in dupes:
        problems.append(Problem(fname, 1, name, "column name appears more than once in the header"))
    if any(not h for h in header):
        problems.append(Problem(fname, 1, None, "header has an empty column name"))
    if missing or dupes or any(not h for h in header):
        return None

    bad_rows: list[Problem] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_rows.append(
            Problem(
                fname,
                None,
                None,
                (
                    f"row has {row.actual_columns} fields, expected {row.expected_columns}: "
                    f"{row.text[:60]!r}"
                ),
            )
        )
        return "skip"

    def parse(block_size: int) -> pa.Table:
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=block_size),
            # Quoted fields may hold newlines; without any quote the faster parallel parse is
            # exact.
            parse_options=pacsv.ParseOptions(
                newlines_in_values=b'"' in data, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )

    try:
        table = parse(16 << 20)
    except pa.ArrowInvalid as exc:
        if "straddling" not in str(exc) and "block" not in str(exc):
            problems.append(Problem(fname, None, None, f"not a readable CSV file ({exc})"))
            return None
        # a record longer than a parse block (a huge line or quoted field): one block
        bad_rows.clear()
        table = parse(len(data) + 1)
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if not bad_rows and n_lines - 1 == table.num_rows:
        lines = pa.array(range(2, table.num_rows + 2), pa.int64())
    else:
        # Quoted newlines, blank lines or ragged rows: number records the exact (slow) way.
        starts = []
        csv.field_size_limit(2**31 - 1)  # valid CSV fields may be far over 128 KiB
        reader = csv.reader(_io.StringIO(text, newline=""))
        prev = 0
        for rec in reader:
            line = prev + 1
            prev = reader.line_num
            # Arrow skips blank lines but keeps a row of empty fields (",,,"): so must we,
            # or every later line number would shift by one
            if line == 1 or not rec:
                continue
            if len(rec) != len(header):
                bad_rows.append(
                    Problem(
                        fname, line, None, (f"row has {len(rec)} fields, expected {len(header)}")
                    )
                )
                continue
            starts.append(line)
        bad_rows = [p for p in bad_rows if p.line is not None]
        if text.count('"') % 2 and bad_rows:
            # an odd number of quotes: the last ragged record is where a quote never closed
            last = bad_rows[-1]
            bad_rows[-1] = dataclasses.replace(
                last,
                message=(
                    f'unterminated quote: a field opened with " on line {last.line} runs to the '
                    f"end of the file ({last.message})"
                ),
            )
        if len(starts) != table.num_rows:  # pragma: no cover - parser disagreement
            starts = list(range(2, table.num_rows + 2))
        lines = pa.array(starts, pa.int64())
    problems.extend(bad_rows)
    if table.num_rows == 0 and required:
        problems.append(Problem(fname, None, None, "file has a header but no data rows"))
    table = table.append_column(LINE, lines)
    return table, digest, size


def _whole(cells: pa.Array | pa.ChunkedArray) -> pa.Array:
    return cells.combine_chunks() if isinstance(cells, pa.ChunkedArray) else cells


def _expected_header(spec: FileSpec, fmap: FileMap) -> list[tuple[str, str]]:
    """(export column, label) pairs an export must have: every column the mapping reads, and
    required contract columns it does not map (expected under their contract names)."""
    expected = []
    for col in spec.columns:
        cmap = fmap.column(col.name)
        if cmap is not None and cmap.source is not None:
            expected.append((cmap.source, cmap.label()))
        elif cmap is None and not col.optional:
            expected.append((col.name, col.name))
    return expected


def read_mapped(
    spec: FileSpec, fmap: FileMap, raw_dir: Path, problems: list[Problem]
) -> RawTable | None:
    """Read a CRM export through a file map: the contract file ``spec`` as text, ready for the
    same checks as a native file.

    Columns are renamed, cells converted (value maps, date and currency formats) and every
    cell that cannot be converted recorded with the export's line and column; the export's
    other columns are kept under their own names.
    """
    expected = _expected_header(spec, fmap)
    path = raw_dir / fmap.file
    read = _read_text_csv(path, fmap.file, expected, spec.required, problems, find=_loose)
    if read is None:
        return None
    table, digest, size = read
    header = [h for h in table.column_names if h != LINE]
    maps = {c.name: m for c in spec.columns if (m := fmap.resolve(c, header)) is not None}
    spec = spec.for_header(header + list(maps))
    lines = table.column(LINE)
    out: dict[str, pa.Array | pa.ChunkedArray] = {}
    consumed: set[str] = set()
    labels: dict[str, str] = {}
    original: dict[str, pa.Array] = {}
    bad: dict[str, tuple[np.ndarray, list[str]]] = {}
    for col in spec.columns:
        cmap = maps.get(col.name)
        if cmap is None:
            continue
        labels[col.name] = cmap.label()
        if cmap.source is None:
            out[col.name] = pa.repeat(pa.scalar(cmap.value, pa.string()), table.num_rows)
            continue
        source = _loose(cmap.source, header)
        assert source is not None  # _read_text_csv returned None if a mapped source is missing
        consumed.add(source)
        cells = table.column(source)
        if not cmap.converts:
            out[col.name] = cells
            continue
        converted = convert_column(cmap, col, cells)
        out[col.name] = converted.values
        original[col.name] = cells.combine_chunks()
        bad[col.name] = (converted.bad_rows, converted.messages)
    # keep_if once every column is converted: it reads another column's contract values
    for name, cmap in maps.items():
        if cmap.keep_if is None:
            continue
        other, allowed = cmap.keep_if
        if other not in out and other not in header:
            continue  # reported as a missing column
        cond = _whole(out[other] if other in out else table.column(other))
        keep = pc.fill_null(
            pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(cond)), pa.array(allowed)), False
        )
        out[name] = pc.if_else(keep, _whole(out[name]), pa.scalar(None, pa.string()))
        if name in bad:  # a cell that is emptied anyway is no problem
            rows, messages = bad[name]
            kept = np.asarray(keep.to_numpy(zero_copy_only=False))[rows] if len(rows) else rows
            bad[name] = (
                rows[kept.astype(bool)],
                [m for m, k in zip(messages, kept, strict=True) if k],
            )
    failures = {
        name: list(zip(lines.take(pa.array(rows)).to_pylist(), messages, strict=True))
        for name, (rows, messages) in bad.items()
        if len(rows)
    }
    for h in header:  # unmapped columns (contract names included) pass through as they are
        if h not in out and h not in consumed:
            out[h] = table.column(h)
    out[LINE] = lines
    mapped = pa.table(out)
    return RawTable(
        spec,
        path,
        mapped,
        digest,
        size,
        source=fmap.file,
        labels=labels,
        original=original,
        failures=failures,
    )


# ---------------------------------------------------------------------------------------------
# Checks (DuckDB SQL over the Arrow tables)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _name(col: Column | str) -> str:
    return col if isinstance(col, str) else col.name


def _trim(col: Column | str) -> str:
    """The trimmed raw text of a column of the raw view."""
    return f"trim({_q(_name(col))})"


# Row checks run on a derived view that computes each column's trimmed text (v:), number (n:)
# and date (d:) once, however many rules use them.
def _val(col: Column | str) -> str:
    return _q("v:" + _name(col))


def _number(col: Column | str) -> str:
    return _q("n:" + _name(col))


def _date(col: Column | str) -> str:
    return _q("d:" + _name(col))


def _derived_columns(spec: FileSpec) -> tuple[str, str]:
    """SELECT lists for the two derived levels: trimmed text, then numbers and dates."""
    texts = ", ".join(f"{_trim(c)} AS {_val(c)}" for c in spec.columns)
    parsed = []
    for c in spec.columns:
        if c.kind in ("int", "number"):
            parsed.append(f"TRY_CAST({_val(c)} AS DOUBLE) AS {_number(c)}")
        elif c.kind == "date":
            # strict ISO: YYYY-MM-DD, optionally followed by a time part that is dropped
            v = _val(c)
            parsed.append(
                f"CASE WHEN substr({v}, 5, 1) = '-' AND substr({v}, 8, 1) = '-' AND "
                f"(length({v}) = 10 OR substr({v}, 11, 1) IN ('T', ' ')) "
                f"THEN TRY_CAST(left({v}, 10) AS DATE) END AS {_date(c)}"
            )
    return texts, ", ".join(parsed)


@dataclasses.dataclass(frozen=True)
class _Check:
    """A row-level rule: ``bad`` is SQL that is true for a row breaking it; ``message``
    turns the row's raw values (a dict) into the problem text."""

    column: str | None
    bad: str
    message: Callable[..., str]  # called with the row dict; lambdas bind loop values as defaults


def _row_checks(spec: FileSpec) -> list[_Check]:
    """Every row-level rule of one file (emptiness, type, range, cross-column)."""
    checks: list[_Check] = []
    for col in spec.columns:
        want = col.expectation()
        v, name, exp = _val(col), col.name, "expected " + want
        if not col.nullable:
            checks.append(
                _Check(
                    name,
                    f"{v} IS NULL OR {v} = ''",
                    lambda r, e=want: f"value is empty; expected {e}",
                )
            )
        present = f"{v} <> ''"
        got = lambda r, n=name, e=exp: f"{e}, got {r[n]!r}"  # noqa: E731
        if col.kind in ("int", "number"):
            n = _number(col)
            wrong = f"{n} IS NULL OR NOT isfinite({n})"
            if col.kind == "int":
                wrong += f" OR {n} <> floor({n})"
            checks.append(_Check(name, f"{present} AND ({wrong})", got))
            rng = [f"{n} < {col.low}"] if col.low is not None else []
            rng += [f"{n} > {col.high}"] if col.high is not None else []
            if rng:
                checks.append(
                    _Check(name, f"{present} AND isfinite({n}) AND ({' OR '.join(rng)})", got)
                )
        elif col.kind == "date":
            checks.append(_Check(name, f"{present} AND {_date(col)} IS NULL", got))
        elif col.kind in ("enum", "bool"):
            values = col.values if col.kind == "enum" else BOOL_TRUE + BOOL_FALSE
            allowed = ", ".join(f"'{x}'" for x in values)
            checks.append(_Check(name, f"{present} AND lower({v}) NOT IN ({allowed})", got))
        elif col.kind == "quarter":
            checks.append(
                _Check(
                    name, f"{present} AND NOT regexp_full_match(upper({v}), '\\d{{4}}Q[1-4]')", got
                )
            )
    if spec.name == "opportunities":
        created, closed = _date("created_date"), _date("close_date")
        stage = f"lower({_val('stage')})"
        checks += [
            _Check(
                "close_date",
                f"{closed} < {created}",
                lambda r: (
                    f"close date {r['close_date']} is before created date {r['created_date']}"
                ),
            ),
            _Check(
                "close_date",
                f"{stage} IN ('won', 'lost') AND coalesce({_val('close_date')}, '') = ''",
                lambda r: (
                    f"a {r['stage'].strip().lower()} opportunity needs a close date; found none"
                ),
            ),
            _Check(
                "close_date",
                f"{stage} = 'open' AND {_val('close_date')} <> ''",
                lambda r: (
                    f"an open opportunity must have an empty close date, got {r['close_date']!r}"
                ),
            ),
        ]
    names = {c.name for c in spec.columns}
    if spec.name == "reps" and {"start_date", "end_date"} <= names:
        checks.append(
            _Check(
                "end_date",
                f"{_date('end_date')} < {_date('start_date')}",
                lambda r: f"end date {r['end_date']} is before start date {r['start_date']}",
            )
        )
    return checks


class _Collector:
    """Gathers problems, keeping at most MAX_PER_CHECK lines per check (counting the rest)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        self.counts: dict[tuple, int] = {}
        self.full: list[Problem] = []

    def add(self, file: str, column: str | None, found: list[tuple[int, str]]) -> None:
        """``found``: (line, message) pairs of one check, in line order (as named in problems:
        the export's file and column label when mapped)."""
        for i, (line, message) in enumerate(found):
            p = Problem(file, line, column, message)
            self.full.append(p)
            if i < MAX_PER_CHECK:
                self.problems.append(p)
        if len(found) > MAX_PER_CHECK:
            key = (file, column or "", found[0][1].split(", got")[0])
            self.counts[key] = self.counts.get(key, 0) + len(found) - MAX_PER_CHECK


def check_tables(con, raws: dict[str, RawTable], problems: list[Problem]) -> _Collector:
    """Run every contract check on the loaded tables (views named after the files).

    Row rules run in **one** scan per file (a valid file returns no row); uniqueness and
    references are one aggregate or anti-join each. Cells a mapping could not convert are
    reported first, once each.
    """
    out = _Collector(problems)
    for name, raw in raws.items():
        spec, f = raw.spec, raw.display

        def emit(column: str | None, found: list[tuple[int, str]], raw=raw, f=f) -> None:
            out.add(f, raw.label(column), raw.annotate(column, found))

        for column, found in raw.failures.items():
            out.add(f, raw.label(column), found)
        checks = _row_checks(spec)
        cols = ", ".join(_q(c.name) for c in spec.columns)
        texts, parsed = _derived_columns(spec)
        flags = ", ".join(f"coalesce({c.bad}, false) AS __c{i}" for i, c in enumerate(checks))
        any_bad = " OR ".join(f"__c{i}" for i in range(len(checks)))
        derived = f"SELECT *, {texts} FROM {name}"
        if parsed:
            derived = f"SELECT *, {parsed} FROM ({derived})"
        bad_rows = con.sql(
            f"SELECT * FROM (SELECT {LINE}, {cols}, {flags} FROM ({derived})) "
            f"WHERE {any_bad} ORDER BY {LINE}"
        ).fetchall()
        names = [LINE, *(c.name for c in spec.columns)]
        rows = [dict(zip(names, r, strict=False)) | {"__flags": r[len(names) :]} for r in bad_rows]
        for i, chk in enumerate(checks):
            emit(chk.column, [(r[LINE], chk.message(r)) for r in rows if r["__flags"][i]])
        for col in spec.columns:
            v = _trim(col)
            if (
                col.unique
                and con.sql(
                    f"SELECT count(*) FROM (SELECT {v} FROM {name} WHERE "
                    f"{v} <> '' GROUP BY 1 HAVING count(*) > 1)"
                ).fetchall()[0][0]
            ):
                dupes = con.sql(f"""
                    SELECT {LINE}, value, first FROM (
                        SELECT {LINE}, {v} AS value, min({LINE}) OVER (PARTITION BY {v}) AS first
                        FROM {name} WHERE {v} <> '')
                    WHERE {LINE} <> first ORDER BY {LINE}""").fetchall()
                emit(
                    col.name,
                    [
                        (line, f"duplicate id {value!r} (first on line {first})")
                        for line, value, first in dupes
                    ],
                )
            if col.ref and col.ref[0] in raws:
                target, tcol = col.ref
                dangling = con.sql(f"""
                    SELECT {LINE}, {v} FROM {name}
                    WHERE {v} <> '' AND {v} NOT IN (SELECT trim({_q(tcol)}) FROM {target}
                                                    WHERE {_q(tcol)} IS NOT NULL)
                    ORDER BY {LINE}""").fetchall()
                where = f"{raws[target].display} column {raws[target].label(tcol)}"
                emit(
                    col.name,
                    [
                        (line, f"{value!r} not found in {where} (dangling reference)")
                        for line, value in dangling
                    ],
                )
        if spec.numeric_extras:
            _check_numeric_extras(con, name, raw, emit)
    return out


def _check_numeric_extras(con, view: str, raw: RawTable, emit) -> None:
    """Extra all-numeric columns (market drivers, indicators) are typed as numbers, so they
    must be finite: ``inf`` or ``nan`` would pass a cast and break the models later, far from
    the file and line that hold them."""
    known = {c.name for c in raw.spec.columns} | {LINE}
    for h in raw.table.column_names:
        if h in known:
            continue
        v = f"NULLIF(trim({_q(h)}), '')"
        text_cells = con.sql(
            f"SELECT count(*) FROM {view} WHERE {v} IS NOT NULL AND TRY_CAST({v} AS DOUBLE) IS NULL"
        ).fetchall()[0][0]
        if text_cells:
            continue  # a text column, kept as text
        bad = con.sql(
            f"SELECT {LINE}, {v} FROM {view} WHERE {v} IS NOT NULL "
            f"AND NOT isfinite(TRY_CAST({v} AS DOUBLE)) ORDER BY {LINE}"
        ).fetchall()
        emit(
            h,
            [
                (line, f"expected a finite number (a numeric column), got {value!r}")
                for line, value in bad
            ],
        )


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


def validate(
    raw_dir: str | os.PathLike[str],
    mapping: Mapping | None = None,
) -> tuple[dict[str, RawTable], list[Problem]]:
    """Read and check every raw file; return the text tables and all problems (no writes).

    Contract files named in ``mapping`` are read from the CRM export it names (an optional
    contract file whose export is absent is skipped, as a native optional file would be).
    """
    raw_dir = Path(raw_dir)
    problems: list[Problem] = []
    if not raw_dir.is_dir():
        raise IngestError([Problem(str(raw_dir), None, None, "raw data folder does not exist")])
    raws: dict[str, RawTable] = {}
    for name, spec in CONTRACT.items():
        fmap = mapping.files.get(name) if mapping is not None else None
        path = raw_dir / (fmap.file if fmap else spec.filename)
        if not path.is_file():
            if spec.required:
                wanted = (
                    [name for name, _ in _expected_header(spec, fmap)]
                    if fmap
                    else [c.name for c in spec.required_columns]
                )
                via = f"; the mapping reads {spec.filename} from it" if fmap else ""
                problems.append(
                    Problem(
                        fmap.file if fmap else spec.filename,
                        None,
                        None,
                        (
                            f"required file is missing from {raw_dir}{via} (expected columns: "
                            + ", ".join(dict.fromkeys(wanted))
                            + ")"
                        ),
                    )
                )
            continue
        raw = read_mapped(spec, fmap, raw_dir, problems) if fmap else read_raw(spec, path, problems)
        if raw is not None:
            raws[name] = raw
    return raws, problems


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


def _check_geojson(path: Path, unit_ids: set[str], problems: list[Problem]) -> None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        features = doc["features"]
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(
            Problem(
                GEOJSON_NAME,
                None,
                None,
                (f"not a GeoJSON FeatureCollection ({exc.__class__.__name__}: {exc})"),
            )
        )
        return
    seen = set()
    for i, feat in enumerate(features):
        uid = str((feat.get("properties") or {}).get("unit_id", ""))
        if not uid:
            problems.append(Problem(GEOJSON_NAME, None, "unit_id", f"feature {i} has no unit_id"))
        elif uid not in unit_ids:
            problems.append(
                Problem(
                    GEOJSON_NAME,
                    None,
                    "unit_id",
                    (f"feature {i}: unit_id {uid!r} is not in geo_units.csv"),
                )
            )
        seen.add(uid)
        if (feat.get("geometry") or {}).get("type") not in ("Polygon", "MultiPolygon"):
            problems.append(
                Problem(
                    GEOJSON_NAME,
                    None,
                    None,
                    (f"feature {i} ({uid}) is not a Polygon or MultiPolygon"),
                )
            )


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
