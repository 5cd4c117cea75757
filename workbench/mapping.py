"""CRM exports as they come: a mapping turns a CRM's own columns and labels into the contract.

A mapping is a small YAML document with one entry per contract file it maps (contract files it
does not name are read natively, as ``<file>.csv``)::

    name: Salesforce standard reports        # optional label, shown in the manifest
    opportunities:                            # a contract file (schema.CONTRACT)
      file: "Opportunities Report.csv"        # the export's own file name in the raw folder
      date_format: "%m/%d/%Y"                 # default for every date column of this file
      columns:                                # contract column: the export's column
        opportunity_id: "Opportunity ID"
        amount_usd: {from: "Amount", currency: true}
        stage:
          from: "Stage"
          values: {"Closed Won": won, "Closed Lost": lost, "*": open}
        close_date: {from: "Close Date", keep_if: {stage: [won, lost]}}

A column entry is either the export's column name, or a mapping with ``from`` (the export's
column) or ``value`` (a constant for every row) and these optional conversions, applied in
this order:

``split``
    keep the first of several values separated by this text (``"123;456"`` → ``"123"``).
``values``
    label → contract value. ``"*"`` matches any other non-empty label and ``""`` an empty
    cell. A label with no entry (and no ``"*"``) is a problem when the contract column has a
    fixed set of values (stage, status, active); in a text or id column it passes unchanged.
``date_format``
    a ``strptime`` format (``"%m/%d/%Y"``); a trailing time of day is accepted and dropped.
``number: true``
    number text as reports print it: thousands commas, accounting parentheses for negatives.
``currency: true``
    as ``number``, also with a US dollar sign or code (``$1,234.50``, ``USD 1,234.50``);
    another currency is a problem, never silently mixed into US dollars.
``keep_if``
    ``{contract column: [values]}``: keep the cell only on rows where that (mapped) column has
    one of the values, empty elsewhere (CRMs fill *Close Date* with the expected date on open
    deals; the contract leaves it empty until the deal closes).

Presets for common CRMs live in ``workbench/presets/`` (``docs/mapping.md`` lists the columns
each expects). This module is pure: :func:`parse_mapping` checks a mapping's text against the
contract (any mistake is one clear line, before data is read) and :func:`convert_column`
converts one text column. Reading files, line numbers and problem messages live in
:mod:`workbench.checks`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from .schema import BOOL_FALSE, BOOL_TRUE, CONTRACT, Column, FileSpec

__all__ = [
    "ColumnMap",
    "Converted",
    "FileMap",
    "Mapping",
    "MappingError",
    "convert_column",
    "converter",
    "date_like",
    "parse_date",
    "parse_mapping",
    "parse_number",
]

ANY = "*"
"""The value-map key that matches any other non-empty label."""

_META_KEYS = ("name", "description")
_FILE_KEYS = ("file", "date_format", "columns")
_CONVERSIONS = ("split", "values", "date_format", "number", "currency", "keep_if")
_COLUMN_KEYS = ("from", "value", *_CONVERSIONS)


class MappingError(ValueError):
    """The mapping itself is wrong (not the data): one line saying where and why."""


@dataclasses.dataclass(frozen=True)
class ColumnMap:
    """How one contract column is filled from the export (see the module docstring).

    ``source`` names the export's column (``None`` for a constant ``value``); ``values`` holds
    (label, contract value) pairs; ``keep_if`` is (contract column, allowed values) or ``None``.
    """

    target: str
    source: str | None = None
    value: str | None = None
    values: tuple[tuple[str, str], ...] = ()
    date_format: str | None = None
    number: bool = False
    currency: bool = False
    split: str | None = None
    keep_if: tuple[str, tuple[str, ...]] | None = None

    @property
    def converts(self) -> bool:
        """Whether cells change beyond the column's name (so originals are worth keeping)."""
        return bool(self.values or self.date_format or self.number or self.currency or self.split)

    def label(self) -> str:
        """How problems name the column: the export's name and the contract name."""
        if self.source is None:
            return f"{self.target} (mapping constant {self.value!r})"
        if self.source == self.target:
            return self.target
        return f"{self.source} (→ {self.target})"


@dataclasses.dataclass(frozen=True)
class FileMap:
    """One contract file read from an export file ``file`` with column maps ``columns``;
    ``date_format`` is the default for date columns the export names like the contract."""

    contract: str
    file: str
    columns: tuple[ColumnMap, ...] = ()
    date_format: str | None = None

    def column(self, target: str) -> ColumnMap | None:
        """The explicit map of a contract column, if the mapping lists it."""
        return next((c for c in self.columns if c.target == target), None)

    def resolve(self, col: Column, header: list[str]) -> ColumnMap | None:
        """How ``col`` is filled from an export with this ``header``: its explicit map, or for
        a date column named as in the contract, the file's default ``date_format``."""
        cmap = self.column(col.name)
        if cmap is None and col.kind == "date" and self.date_format and col.name in header:
            cmap = ColumnMap(col.name, col.name, date_format=self.date_format)
        return cmap


@dataclasses.dataclass(frozen=True)
class Mapping:
    """A checked mapping: file maps by contract file, plus its text, the sha256 of its bytes
    and where it came from (a preset or a path)."""

    name: str
    files: dict[str, FileMap]
    text: str
    origin: str
    sha256: str

    def manifest(self) -> dict:
        """What ``manifest.json`` records: the mapping's text verbatim and its hash."""
        return {
            "name": self.name,
            "origin": self.origin,
            "sha256": self.sha256,
            "text": self.text,
            "files": {k: f.file for k, f in self.files.items()},
        }


# ---------------------------------------------------------------------------------------------
# Parsing and checking a mapping


def parse_mapping(text: str | bytes, *, origin: str = "mapping") -> Mapping:
    """Parse and check a mapping's YAML (text, or the file's bytes) against the contract.

    Raises :class:`MappingError` (one line, naming ``origin`` and the entry) for bad YAML, an
    unknown contract file, column or key, a bad date format, a conversion that does not fit
    the column's type, or a value map yielding a value the contract does not allow.

    >>> m = parse_mapping('opportunities: {file: deals.csv, columns: {stage: {from: Stage, '
    ...                   'values: {"Closed Won": won, "*": open}}}}')
    >>> m.files["opportunities"].column("stage").values
    (('Closed Won', 'won'), ('*', 'open'))
    >>> try:
    ...     parse_mapping("accounts: {colour: red}")
    ... except MappingError as exc:
    ...     print(exc)
    mapping: accounts: unknown key 'colour' (allowed: file, date_format, columns)
    """
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MappingError(f"{origin}: not UTF-8 text; save the mapping as UTF-8") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        what = getattr(exc, "problem", None) or exc.__class__.__name__
        raise MappingError(f"{origin}: not valid YAML{where}: {what}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise MappingError(
            f"{origin}: expected a mapping of contract files, got {type(doc).__name__}"
        )
    files: dict[str, FileMap] = {}
    for key, entry in doc.items():
        key = str(key)
        if key in _META_KEYS:
            continue
        if key not in CONTRACT:
            raise MappingError(
                f"{origin}: unknown contract file {key!r} (contract files: "
                f"{', '.join(CONTRACT)}; other keys: {', '.join(_META_KEYS)})"
            )
        files[key] = _parse_file(CONTRACT[key], entry, f"{origin}: {key}")
    exports = [f.file for f in files.values()]
    twice = next((f for f in exports if exports.count(f) > 1), None)
    if twice is not None:
        raise MappingError(
            f"{origin}: {twice!r} is the export of two contract files; each "
            "contract file needs its own export"
        )
    return Mapping(str(doc.get("name") or origin), files, text, origin, digest)


def _parse_file(spec: FileSpec, entry: object, where: str) -> FileMap:
    if entry is None:
        entry = {}
    if not isinstance(entry, dict):
        raise MappingError(
            f"{where}: expected keys {', '.join(_FILE_KEYS)}, got {type(entry).__name__}"
        )
    _no_unknown(entry, _FILE_KEYS, where)
    file = entry.get("file", spec.filename)
    if not isinstance(file, str) or not file.strip():
        raise MappingError(f"{where}: file must be the export's file name, got {file!r}")
    default_format = entry.get("date_format")
    if default_format is not None:
        _check_date_format(default_format, f"{where}: date_format")
    columns = entry.get("columns") or {}
    if not isinstance(columns, dict):
        raise MappingError(
            f"{where}: columns must map contract columns to the export's "
            f"columns, got {type(columns).__name__}"
        )
    known = {c.name: c for c in spec.columns}
    maps = []
    for target, col_entry in columns.items():
        target = str(target)
        if target not in known:
            raise MappingError(
                f"{where}: unknown contract column {target!r} (columns: {', '.join(known)})"
            )
        maps.append(
            _parse_column(
                spec, known[target], col_entry, default_format, f"{where}: column {target}"
            )
        )
    return FileMap(spec.name, file.strip(), tuple(maps), default_format)


def _parse_column(
    spec: FileSpec, col: Column, entry: object, default_format: str | None, where: str
) -> ColumnMap:
    if isinstance(entry, str):
        entry = {"from": entry}
    if not isinstance(entry, dict):
        raise MappingError(
            f"{where}: expected the export's column name or keys "
            f"{', '.join(_COLUMN_KEYS)}, got {entry!r}"
        )
    _no_unknown(entry, _COLUMN_KEYS, where)
    if ("from" in entry) == ("value" in entry):
        raise MappingError(
            f"{where}: give exactly one of 'from' (the export's column) or 'value' (a constant)"
        )
    if "value" in entry:
        value = _scalar(entry["value"], where)
        _check_target(col, value, f"{where}: value")
        extra = [k for k in _CONVERSIONS if k in entry]
        if extra:
            raise MappingError(
                f"{where}: {extra[0]!r} converts an export's column; a constant "
                "'value' is written as the contract value itself"
            )
        return ColumnMap(col.name, value=value)
    source = entry["from"]
    if not isinstance(source, str) or not source.strip():
        raise MappingError(f"{where}: 'from' must be a column name, got {source!r}")
    values = entry.get("values") or {}
    if not isinstance(values, dict):
        raise MappingError(f"{where}: values must map labels to contract values")
    pairs = []
    for label, target in values.items():
        label = _scalar(label, where)
        target = _scalar(target, f"{where}: values[{label!r}]")
        _check_target(col, target, f"{where}: values[{label!r}]")
        pairs.append((label, target))
    date_format = entry.get("date_format")
    if date_format is not None:
        if col.kind != "date":
            raise MappingError(
                f"{where}: date_format applies to date columns; {col.name} is {col.expectation()}"
            )
        _check_date_format(date_format, f"{where}: date_format")
    elif col.kind == "date":
        date_format = default_format
    flags = {}
    for key in ("number", "currency"):
        flags[key] = entry.get(key, False)
        if not isinstance(flags[key], bool):
            raise MappingError(f"{where}: {key} must be true or false, got {flags[key]!r}")
        if flags[key] and col.kind not in ("int", "number"):
            raise MappingError(
                f"{where}: {key} applies to number columns; {col.name} is {col.expectation()}"
            )
    split = entry.get("split")
    if split is not None and (not isinstance(split, str) or not split):
        raise MappingError(f"{where}: split must be the separator text, got {split!r}")
    keep_if = _parse_keep_if(spec, col, entry.get("keep_if"), where)
    return ColumnMap(
        col.name,
        source.strip(),
        None,
        tuple(pairs),
        date_format,
        flags["number"],
        flags["currency"],
        split,
        keep_if,
    )


def _parse_keep_if(
    spec: FileSpec, col: Column, entry: object, where: str
) -> tuple[str, tuple[str, ...]] | None:
    if entry is None:
        return None
    if not isinstance(entry, dict) or len(entry) != 1:
        raise MappingError(
            f"{where}: keep_if must name one contract column and its values, "
            "e.g. {stage: [won, lost]}"
        )
    ((other, allowed),) = entry.items()
    known = {c.name: c for c in spec.columns}
    if str(other) not in known or str(other) == col.name:
        raise MappingError(
            f"{where}: keep_if names {other!r}, not another column of "
            f"{spec.filename} ({', '.join(known)})"
        )
    if not isinstance(allowed, list) or not allowed:
        allowed = [allowed]
    values = tuple(_scalar(v, where).lower() for v in allowed)
    for v in values:
        _check_target(known[str(other)], v, f"{where}: keep_if")
    if not col.nullable:
        raise MappingError(f"{where}: keep_if empties cells, but {col.name} may not be empty")
    return str(other), values


def _no_unknown(entry: dict, allowed: tuple[str, ...], where: str) -> None:
    unknown = [str(k) for k in entry if str(k) not in allowed]
    if unknown:
        raise MappingError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(allowed)})")


def _scalar(x: object, where: str) -> str:
    """A YAML scalar as contract text: YAML reads ``yes``/``true`` as booleans, ``1`` as int."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (dict, list)):
        raise MappingError(f"{where}: expected a single value, got {x!r}")
    return str(x).strip()


def _check_target(col: Column, value: str, where: str) -> None:
    """A constant or mapped value the contract would reject is a mapping mistake."""
    if value == "":
        if not col.nullable:
            raise MappingError(f"{where}: maps to an empty value, but {col.name} may not be empty")
        return
    allowed = {"enum": col.values, "bool": BOOL_TRUE + BOOL_FALSE}.get(col.kind)
    if allowed and value.lower() not in allowed:
        raise MappingError(f"{where}: {value!r} is not {col.expectation()}")


def _check_date_format(fmt: object, where: str) -> None:
    """A format must print and read back a full date (year, month and day)."""
    probe = dt.datetime(2001, 2, 3, 4, 5, 6)
    ok = isinstance(fmt, str) and "%" in fmt
    if ok:
        assert isinstance(fmt, str)  # ok implies it
        try:
            ok = dt.datetime.strptime(probe.strftime(fmt), fmt).date() == probe.date()
        except ValueError:
            ok = False
    if not ok:
        raise MappingError(
            f"{where}: {fmt!r} is not a strptime date format naming year, month "
            "and day (e.g. '%m/%d/%Y')"
        )


# ---------------------------------------------------------------------------------------------
# Converting cells


_LIKE = {
    "%Y": "YYYY",
    "%y": "YY",
    "%m": "MM",
    "%d": "DD",
    "%b": "Mon",
    "%B": "Month",
    "%H": "hh",
    "%I": "hh",
    "%M": "mm",
    "%S": "ss",
    "%p": "AM",
    "%j": "DDD",
    "%%": "%",
}
_TIME_TAIL = re.compile(
    r"[ T]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp]\.?[Mm]\.?)?"
    r"(\s*(Z|[A-Z]{3,4}|[+-]\d{2}:?\d{2}))?$"
)


def date_like(fmt: str) -> str:
    """A format in words a CRM user reads: ``%m/%d/%Y`` → ``MM/DD/YYYY``.

    >>> date_like("%m/%d/%Y"), date_like("%d.%m.%y %H:%M")
    ('MM/DD/YYYY', 'DD.MM.YY hh:mm')
    """
    return re.sub(r"%.", lambda m: _LIKE.get(m.group(0), m.group(0)), fmt)


def parse_date(text: str, fmt: str) -> dt.date | None:
    """``text`` read with ``fmt``; a trailing time of day (``10:15``, ``10:15:00 AM``, with a
    zone) is accepted and dropped, as reports often add one. ``None`` when it does not fit.

    >>> parse_date("3/31/2026", "%m/%d/%Y"), parse_date("12/01/2025 4:05 PM", "%m/%d/%Y")
    (datetime.date(2026, 3, 31), datetime.date(2025, 12, 1))
    >>> parse_date("31/12/2025", "%m/%d/%Y") is None
    True
    """
    for candidate in (text, _TIME_TAIL.sub("", text)):
        try:
            return dt.datetime.strptime(candidate, fmt).date()
        except ValueError:
            continue
    return None


_AMOUNT = re.compile(r"(\d{1,3}(,\d{3})+|\d+)(\.\d*)?|\.\d+")
_DOLLAR = re.compile(r"^(USD|US\$|\$)\s*|\s*USD$", re.I)
_OTHER_CURRENCY = re.compile(r"^([A-Z]{3})\s|\s([A-Z]{3})$|([€£¥₹])")


def parse_number(text: str, *, currency: bool = False) -> tuple[str | None, str | None]:
    """Number text as reports print it, as a plain number: ``(value, None)`` or
    ``(None, why not)`` (``why`` is ``None`` when it is simply not a number).

    Thousands commas, a leading minus and accounting parentheses (a negative amount) are
    accepted; with ``currency``, also ``$``, ``US$`` or ``USD`` before (``USD`` after) the
    number. Another currency is named: amounts are compared in US dollars, never mixed.

    >>> parse_number("$1,234.50", currency=True), parse_number("(1,234.50)", currency=True)
    (('1234.50', None), ('-1234.50', None))
    >>> parse_number("USD 1,234.50", currency=True), parse_number("1,200")
    (('1234.50', None), ('1200', None))
    >>> parse_number("EUR 99", currency=True)
    (None, 'amount is in EUR; expected US dollars')
    """
    s = text.strip()
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s.startswith("-"):
        negative, s = not negative, s[1:].strip()
    if currency:
        other = _OTHER_CURRENCY.search(s)
        if other and not _DOLLAR.search(s):
            return None, f"amount is in {next(g for g in other.groups() if g)}; expected US dollars"
        s = _DOLLAR.sub("", s).strip()
        if s.startswith("-"):  # "$-5" and "USD -5"
            negative, s = not negative, s[1:].strip()
    if not _AMOUNT.fullmatch(s):
        return None, None
    return ("-" if negative else "") + s.replace(",", ""), None


Convert = Callable[[str | None], tuple[str | None, str | None]]


def converter(cmap: ColumnMap, col: Column) -> Convert:
    """One cell's conversion for ``cmap``: text in, ``(text, None)`` or ``(None, problem)`` out.

    Order: split, value map, then date or number parsing. Empty cells stay empty (no
    problem) unless the value map has an ``""`` entry.

    >>> cm = ColumnMap("stage", "Stage", values=(("Closed Won", "won"), ("Closed Lost", "lost")))
    >>> f = converter(cm, CONTRACT["opportunities"].column("stage"))
    >>> f("Closed Won"), f(" closed lost ")
    (('won', None), ('lost', None))
    >>> print(f("Negotiation")[1])
    label 'Negotiation' has no mapping (mapped: Closed Won, Closed Lost) and no "*" entry
    """
    exact = dict(cmap.values)
    folded = {k.lower(): v for k, v in cmap.values}
    fallback = exact.get(ANY)
    complete = col.kind in ("enum", "bool")  # a fixed set of values: every label needs an entry
    labels = ", ".join(k for k, _ in cmap.values if k != ANY)
    if cmap.date_format:
        expect = f"expected a date like {date_like(cmap.date_format)}"
    elif cmap.currency:
        expect = "expected a US dollar amount like 1,234.50, $1,234.50 or (1,234.50)"
    else:
        expect = "expected " + col.expectation()

    def convert(cell: str | None) -> tuple[str | None, str | None]:
        text = (cell or "").strip()
        if cmap.split and text:
            text = text.split(cmap.split)[0].strip()
        if exact:
            if text in exact:
                text = exact[text]
            elif text.lower() in folded:
                text = folded[text.lower()]
            elif text and fallback is not None:
                text = fallback
            elif text and complete:
                return None, (f'label {text!r} has no mapping (mapped: {labels}) and no "*" entry')
        if not text:
            return None, None
        if cmap.date_format:
            day = parse_date(text, cmap.date_format)
            if day is None:
                return None, f"{expect}, got {text!r}"
            return day.isoformat(), None
        if cmap.number or cmap.currency:
            number, why = parse_number(text, currency=cmap.currency)
            if number is None:
                return None, f"{why or expect}, got {text!r}"
            return number, None
        return text, None

    return convert


@dataclasses.dataclass(frozen=True)
class Converted:
    """A converted column: ``values`` (text), the rows that failed and their problems."""

    values: pa.Array
    bad_rows: np.ndarray
    messages: list[str]


def convert_column(cmap: ColumnMap, col: Column, cells: pa.ChunkedArray | pa.Array) -> Converted:
    """Convert a text column with :func:`converter`, once per distinct value (an export of
    millions of rows holds few distinct dates, stages or amounts).

    >>> cm = ColumnMap("close_date", "Close Date", date_format="%m/%d/%Y")
    >>> out = convert_column(cm, CONTRACT["opportunities"].column("close_date"),
    ...                      pa.array(["3/31/2026", None, "31/12/2025", "3/31/2026"]))
    >>> out.values.to_pylist(), out.bad_rows.tolist()
    (['2026-03-31', None, None, '2026-03-31'], [2])
    >>> out.messages
    ["expected a date like MM/DD/YYYY, got '31/12/2025'"]
    """
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    encoded = pc.dictionary_encode(cells.cast(pa.string()))
    convert = converter(cmap, col)
    results = [convert(v) for v in encoded.dictionary.to_pylist()]
    indices = encoded.indices
    values = pc.take(pa.array([r[0] for r in results], pa.string()), indices)
    on_empty = convert(None)[0]
    if on_empty is not None:  # an "" entry maps empty cells too
        values = pc.if_else(pc.is_null(indices), pa.scalar(on_empty), values)
    failed = np.array([i for i, r in enumerate(results) if r[1] is not None], np.int64)
    if not len(failed):
        return Converted(values, np.zeros(0, np.int64), [])
    codes = pc.fill_null(indices, -1).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(np.isin(codes, failed))
    return Converted(values, bad, [results[codes[r]][1] for r in bad])
