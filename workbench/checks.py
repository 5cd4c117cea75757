"""Raw tables checked against the contract: CSV files read as text with their own line
numbers, Parquet and warehouse tables as they are.

Each raw CSV is read with Arrow, every column as text (so nothing is silently coerced), with the
file's own line numbers in a column; through a mapping (:mod:`workbench.mapping`) a CRM's export
is read the same way, its columns renamed and its cells converted as text. The rules of
:data:`workbench.schema.CONTRACT` then run as Ibis expressions on the engine holding each table
(:mod:`workbench.sources`: embedded DuckDB checks a 3-million-row export in seconds); a file's
problems name its line and column, a table's its row key and column. Row rules run in one scan
per table; uniqueness and references are one aggregate or anti-join each.
:func:`workbench.ingest.ingest` writes typed data only when no problem was found.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io as _io
import json
from collections.abc import Callable
from collections.abc import Mapping as Mapping_
from pathlib import Path
from typing import Protocol

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import expressions
from .config import UNASSIGNED
from .mapping import FileMap, convert_column
from .schema import (
    BOOL_FALSE,
    BOOL_TRUE,
    GEOJSON_NAME,
    Column,
    FileSpec,
    Problem,
)

LINE = "__line"
MAX_PER_CHECK = 50
"""Problems printed per (file, column, check); the full list goes to ``--problems FILE``."""


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


class CheckInput(Protocol):
    """What the checks need of a table: a CSV file read as text (:class:`RawTable`) or a
    Parquet or warehouse table (:class:`workbench.sources.SourceTable`)."""

    spec: FileSpec
    expr: ir.Table | None
    locator: tuple[str, ...]
    numeric_extras: list[str]

    @property
    def display(self) -> str: ...

    @property
    def rows(self) -> int: ...

    @property
    def input_name(self) -> str: ...

    @property
    def failures(self) -> dict[str, list[tuple[int, str]]]: ...

    def label(self, column: str | None) -> str | None: ...

    def annotate(self, column: str | None, found: list) -> list: ...

    def manifest_entry(self) -> dict: ...


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
    expr: ir.Table | None = None  # the table on the engine, once loaded (:func:`load`)
    numeric_extras: list[str] = dataclasses.field(default_factory=list)
    locator: tuple[str, ...] = (LINE,)

    @property
    def rows(self) -> int:
        return self.table.num_rows

    @property
    def input_name(self) -> str:
        """The manifest's name for this input: the contract file it supplies."""
        return self.spec.filename

    def manifest_entry(self) -> dict:
        entry = {"sha256": self.sha256, "bytes": self.size, "rows": self.rows}
        return entry | ({"source": self.source} if self.source else {})

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
# Checks (Ibis expressions over the tables, on the engine that holds them)


FETCH_LIMIT = 100_000
"""Problem rows fetched per check and file; beyond it the problems are counted, not listed (a
100-million-row warehouse table with one systematic fault must not come back whole)."""


def _text(table: ir.Table, name: str) -> ir.StringValue:
    return expressions.text(table[name])


@dataclasses.dataclass(frozen=True)
class _Check:
    """A row-level rule: ``bad(v, n, d)`` is true for a row breaking it (``v``, ``n``, ``d``
    give a column's trimmed text, number and date); ``message`` turns the row's raw values
    (a dict) into the problem text."""

    column: str | None
    bad: Callable[..., ir.BooleanValue]
    message: Callable[..., str]  # called with the row dict; lambdas bind loop values as defaults


def _row_checks(spec: FileSpec, typed: Mapping_[str, str] | None = None) -> list[_Check]:
    """Every row-level rule of one file (emptiness, type, range, cross-column).

    ``typed`` names columns the engine already holds in their kind's type (``float``,
    ``exact`` numbers, ``date``, ``bool``: Parquet, a warehouse): they need no parsing, only
    emptiness, ranges and, for floats, finiteness."""
    typed = typed or {}
    checks: list[_Check] = []
    for col in spec.columns:
        want = col.expectation()
        name, exp = col.name, "expected " + want
        if not col.nullable:
            checks.append(
                _Check(
                    name,
                    lambda v, n, d, c=name: v(c).isnull(),
                    lambda r, e=want: f"value is empty; expected {e}",
                )
            )
        got = lambda r, c=name, e=exp: f"{e}, got {r[c]!r}"  # noqa: E731
        if col.kind in ("int", "number"):
            held = typed.get(name)

            def wrong(v, n, d, c=name, integer=col.kind == "int", held=held):
                if held == "float":
                    bad = n(c).isnan() | n(c).isinf()
                elif held == "exact":
                    bad = ibis.literal(False)
                else:
                    bad = v(c).notnull() & n(c).isnull()
                return bad | (n(c) != n(c).floor()) if integer else bad

            checks.append(_Check(name, wrong, got))
            if col.low is not None or col.high is not None:

                def out_of_range(v, n, d, c=name, low=col.low, high=col.high):
                    below = n(c) < low if low is not None else ibis.literal(False)
                    return below | (n(c) > high) if high is not None else below

                checks.append(_Check(name, out_of_range, got))
        elif typed.get(name) in ("date", "bool"):
            pass  # a date or boolean column of its own type: every value is one
        elif col.kind == "date":
            checks.append(_Check(name, lambda v, n, d, c=name: v(c).notnull() & d(c).isnull(), got))
        elif col.kind in ("enum", "bool"):
            values = list(col.values if col.kind == "enum" else BOOL_TRUE + BOOL_FALSE)
            checks.append(
                _Check(name, lambda v, n, d, c=name, a=values: ~v(c).lower().isin(a), got)
            )
        elif col.kind == "quarter":
            checks.append(_Check(name, lambda v, n, d, c=name: ~expressions.quarter_ok(v(c)), got))
    if spec.name == "opportunities":
        checks += [
            _Check(
                "close_date",
                lambda v, n, d: d("close_date") < d("created_date"),
                lambda r: (
                    f"close date {r['close_date']} is before created date {r['created_date']}"
                ),
            ),
            _Check(
                "close_date",
                lambda v, n, d: v("stage").lower().isin(["won", "lost"]) & v("close_date").isnull(),
                lambda r: (
                    f"a {r['stage'].strip().lower()} opportunity needs a close date; found none"
                ),
            ),
            _Check(
                "close_date",
                lambda v, n, d: (v("stage").lower() == "open") & v("close_date").notnull(),
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
                lambda v, n, d: d("end_date") < d("start_date"),
                lambda r: f"end date {r['end_date']} is before start date {r['start_date']}",
            )
        )
    if spec.name == "reps":
        checks.append(
            _Check(
                "rep_id",
                lambda v, n, d: v("rep_id").lower() == UNASSIGNED,
                lambda r: (
                    f"rep id {r['rep_id']!r} is reserved: {UNASSIGNED!r} marks accounts no rep "
                    "owns in every table; rename the rep"
                ),
            )
        )
    return checks


Where = int | str
"""Where a problem is: a file's line number, or a table row's key (``opportunity_id=O-17``)."""


class _Collector:
    """Gathers problems, keeping at most MAX_PER_CHECK lines per check (counting the rest)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        self.counts: dict[tuple, int] = {}
        self.full: list[Problem] = []

    def add(
        self, file: str, column: str | None, found: list[tuple[Where, str]], total: int = 0
    ) -> None:
        """``found``: (line or key, message) pairs of one check, in order (as named in
        problems: the export's file and column label when mapped); ``total``: how many there
        are when more were found than fetched."""
        for i, (where, message) in enumerate(found):
            if isinstance(where, int):
                p = Problem(file, where, column, message)
            else:
                p = Problem(file, None, column, message, key=where)
            self.full.append(p)
            if i < MAX_PER_CHECK:
                self.problems.append(p)
        more = max(len(found), total) - MAX_PER_CHECK
        if more > 0:
            key = (file, column or "", found[0][1].split(", got")[0])
            self.counts[key] = self.counts.get(key, 0) + more


def table_of(raw: CheckInput) -> ir.Table:
    """The engine table of an input (a CSV file has one once its source registered it)."""
    if raw.expr is None:
        raise ValueError(f"{raw.display} is not loaded on an engine")
    return raw.expr


def _key_text(row: dict, locator: tuple[str, ...]) -> str:
    return ", ".join(f"{k}={row[k]}" for k in locator)


def _where(row: dict, locator: tuple[str, ...]) -> Where:
    return int(row[LINE]) if locator == (LINE,) else _key_text(row, locator)


def _fetch(expr: ir.Table, locator: tuple[str, ...]) -> tuple[list[dict], int]:
    """Up to FETCH_LIMIT rows of ``expr`` in locator order, and how many rows it has."""
    total = int(expr.count().to_pyarrow().as_py())
    if not total:
        return [], 0
    rows = expr.order_by(list(locator)).limit(FETCH_LIMIT).to_pyarrow().to_pylist()
    # in Python too: engines order text by their own collation
    rows.sort(key=lambda r: tuple((r[k] is not None, r[k]) for k in locator))
    return rows, total


def check_tables(inputs: Mapping_[str, CheckInput], problems: list[Problem]) -> _Collector:
    """Run every contract check on the tables, each on the engine that holds it.

    Row rules run in **one** scan per table (a valid table returns no row); uniqueness and
    references are one aggregate or anti-join each. Cells a mapping could not convert are
    reported first, once each. A file's problems name its lines; a table's name its key.
    """
    out = _Collector(problems)
    for _name, raw in inputs.items():
        spec, f, t, loc = raw.spec, raw.display, table_of(raw), raw.locator

        def emit(column: str | None, found: list[tuple[Where, str]], total=0, raw=raw, f=f):
            out.add(f, raw.label(column), raw.annotate(column, found), total)

        for column, failed in raw.failures.items():
            out.add(f, raw.label(column), list(failed))
        texts, numbers, dates, typed = _parsed(t, spec)
        checks = _row_checks(spec, typed)
        flags = {
            f"__c{i}": c.bad(texts.__getitem__, numbers.__getitem__, dates.__getitem__).fill_null(
                False
            )
            for i, c in enumerate(checks)
        }
        # a rule that is constant false for this table's types (a typed number is a number)
        flags = {k: flag for k, flag in flags.items() if isinstance(flag, ir.Column)}
        shown = {c.name: t[c.name].cast("string") for c in spec.columns if c.name not in loc}
        # counts first (one scan, no filter: an OR of every rule is slow to filter on), then
        # the rows of the rules that found something
        totals = t.aggregate(**{k: ibis.ifelse(flag, 1, 0).sum() for k, flag in flags.items()})
        per_check = totals.to_pyarrow().to_pylist()[0]
        broken = [k for k in flags if per_check[k]]
        rows: list[dict] = []
        if broken:
            flagged = t.select(*loc, **shown, **flags)
            rows = _fetch(flagged.filter(ibis.or_(*(flagged[k] for k in broken))), loc)[0]
        for i, chk in enumerate(checks):
            if f"__c{i}" not in flags:
                continue
            hits = [r for r in rows if r[f"__c{i}"]]
            emit(
                chk.column,
                [(_where(r, loc), chk.message(r)) for r in hits],
                int(per_check[f"__c{i}"] or 0),
            )
        for col in spec.columns:
            v = texts[col.name]
            if col.unique:
                _check_unique(t, col, v, loc, emit)
            if col.ref and col.ref[0] in inputs:
                target, tcol = col.ref
                tt = table_of(inputs[target])
                known = tt.select(value=_text(tt, tcol)).filter(ibis._.value.notnull())
                dangling = t.select(*loc, __value=v).filter(
                    ibis._.__value.notnull() & ~ibis._.__value.isin(known.value)
                )
                rows, total = _fetch(dangling, loc)
                where = f"{inputs[target].display} column {inputs[target].label(tcol)}"
                emit(
                    col.name,
                    [
                        (
                            _where(r, loc),
                            f"{r['__value']!r} not found in {where} (dangling reference)",
                        )
                        for r in rows
                    ],
                    total,
                )
        for h in raw.numeric_extras:
            v = _text(t, h)
            bad = t.select(*loc, __value=v).filter(expressions.nonfinite(ibis._.__value))
            rows, total = _fetch(bad, loc)
            emit(
                h,
                [
                    (
                        _where(r, loc),
                        f"expected a finite number (a numeric column), got {r['__value']!r}",
                    )
                    for r in rows
                ],
                total,
            )
    return out


def _parsed(t: ir.Table, spec: FileSpec) -> tuple[dict, dict, dict, dict[str, str]]:
    """Each column's value for the checks (trimmed text, or the value itself where the engine
    holds it in its kind's type), number and date, and which columns are so typed."""
    values: dict[str, ir.Value] = {}
    numbers: dict[str, ir.Value] = {}
    dates: dict[str, ir.Value] = {}
    typed: dict[str, str] = {}
    for c in spec.columns:
        value = t[c.name]
        dtype = value.type()
        if c.kind in ("int", "number") and dtype.is_numeric():
            values[c.name], numbers[c.name] = value, value.cast("float64")
            typed[c.name] = "float" if dtype.is_floating() else "exact"
        elif c.kind == "date" and (dtype.is_date() or dtype.is_timestamp()):
            values[c.name] = value
            dates[c.name] = value.date() if dtype.is_timestamp() else value
            typed[c.name] = "date"
        elif c.kind == "bool" and dtype.is_boolean():
            values[c.name], typed[c.name] = value, "bool"
        else:
            v = values[c.name] = _text(t, c.name)
            if c.kind in ("int", "number"):
                numbers[c.name] = expressions.number(v)
            elif c.kind == "date":
                dates[c.name] = expressions.date(v)
    return values, numbers, dates, typed


def _check_unique(t: ir.Table, col: Column, v: ir.StringValue, loc: tuple[str, ...], emit) -> None:
    values = t.select(*(k for k in loc if k != col.name), __value=v).filter(
        ibis._.__value.notnull()
    )
    dupes = values.group_by("__value").aggregate(__n=ibis._.count()).filter(ibis._.__n > 1)
    if loc == (LINE,):
        if not int(dupes.count().to_pyarrow().as_py()):
            return
        first = values.mutate(__first=values[LINE].min().over(group_by=values.__value))
        found, total = _fetch(first.filter(first[LINE] != first.__first), loc)
        emit(
            col.name,
            [
                (_where(r, loc), f"duplicate id {r['__value']!r} (first on line {r['__first']})")
                for r in found
            ],
            total,
        )
        return
    # a table has no lines: one problem per duplicated value, named by that value
    found, total = _fetch(dupes, ("__value",))
    emit(
        col.name,
        [
            (f"{col.name}={r['__value']}", f"duplicate id {r['__value']!r} ({r['__n']} rows)")
            for r in found
        ],
        total,
    )


def numeric_extras(raw: CheckInput) -> list[str]:
    """Extra columns typed as numbers (market drivers, indicators): every non-empty cell is a
    number or spells an infinity or not-a-number (reported by the checks: ``inf`` or ``nan``
    would pass a cast and break the models later, far from the file and line that hold them).
    Other extra columns stay text."""
    if not raw.spec.numeric_extras:
        return []
    known = {c.name for c in raw.spec.columns} | {LINE}
    t = table_of(raw)
    extras = [h for h in t.columns if h not in known]
    if not extras:
        return []
    counts = (
        t.aggregate(
            **{
                f"__x{i}": ibis.ifelse(
                    _text(t, h).notnull()
                    & ~_text(t, h).re_search(expressions.NUMBER_RE)
                    & ~expressions.nonfinite(_text(t, h)),
                    1,
                    0,
                ).sum()
                for i, h in enumerate(extras)
            }
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    return [h for i, h in enumerate(extras) if not counts[f"__x{i}"]]


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
