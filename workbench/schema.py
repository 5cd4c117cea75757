"""The data contract as code: which raw files exist, their columns, types and rules.

``CONTRACT`` is the single source of truth: :mod:`workbench.checks` validates raw CSV files against
it, and :func:`contract_markdown` renders it for the README. A :class:`Problem` names the file,
the line as numbered in the file (header = line 1), the column and what was expected.

Optional columns are declared here too (``optional=True``) with what later steps assume when a
file does not have them (``default``). When present they are typed and checked exactly like
required columns; when absent nothing is reported.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

Kind = Literal["id", "text", "int", "number", "date", "enum", "quarter", "bool"]

BOOL_TRUE = ("true", "yes", "1")
BOOL_FALSE = ("false", "no", "0")
"""Spellings of a boolean cell (matched case-insensitively); typed Parquet holds a boolean."""


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a raw file.

    ``nullable`` allows empty cells; ``ref`` names ``(file, column)`` that every non-empty
    value must exist in; ``low``/``high`` bound numbers (inclusive). An ``optional`` column may
    be missing from the header; ``default`` says what later steps assume when it is.
    """

    name: str
    kind: Kind
    meaning: str
    nullable: bool = False
    unique: bool = False
    low: float | None = None
    high: float | None = None
    values: tuple[str, ...] = ()
    ref: tuple[str, str] | None = None
    optional: bool = False
    default: str = ""

    def __post_init__(self) -> None:
        # An optional column without a stated default would leave downstream steps guessing.
        if self.optional and not self.default:
            raise ValueError(f"optional column {self.name!r} needs a default (what absent means)")

    def expectation(self) -> str:
        """What a valid value looks like, in words (used in problem messages and docs)."""
        text = {
            "id": "a text id",
            "text": "text",
            "int": "a whole number",
            "number": "a number",
            "date": "an ISO date (YYYY-MM-DD)",
            "enum": "one of " + ", ".join(self.values),
            "quarter": "a quarter like 2026Q3",
            "bool": "true or false (also yes/no, 1/0)",
        }[self.kind]
        if self.low is not None and self.high is not None:
            text += f" in [{self.low:g}, {self.high:g}]"
        elif self.low is not None:
            text += f" ≥ {self.low:g}"
        return text


@dataclasses.dataclass(frozen=True)
class FileSpec:
    """One raw file: its columns, whether it must exist, and whether extra all-numeric
    columns are typed as numbers (market drivers, indicators) or kept as text."""

    name: str
    columns: tuple[Column, ...]
    required: bool = True
    numeric_extras: bool = False
    meaning: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required_columns(self) -> tuple[Column, ...]:
        """The columns every copy of the file must have."""
        return tuple(c for c in self.columns if not c.optional)

    def for_header(self, header: list[str]) -> FileSpec:
        """This file's rules for one header: required columns plus the optional ones present.

        >>> spec = CONTRACT["reps"].for_header(["rep_id", "rep_name", "home_lat", "home_lon",
        ...                                     "active"])
        >>> [c.name for c in spec.columns]
        ['rep_id', 'rep_name', 'home_lat', 'home_lon', 'active']
        """
        present = set(header)
        keep = tuple(c for c in self.columns if not c.optional or c.name in present)
        return dataclasses.replace(self, columns=keep)


def _lat(name: str, meaning: str) -> Column:
    return Column(name, "number", meaning, low=-90, high=90)


def _lon(name: str, meaning: str) -> Column:
    return Column(name, "number", meaning, low=-180, high=180)


CONTRACT: dict[str, FileSpec] = {
    spec.name: spec
    for spec in (
        FileSpec(
            "reps",
            (
                Column("rep_id", "id", "rep id, not `unassigned` (reserved)", unique=True),
                Column("rep_name", "text", "rep's name"),
                _lat("home_lat", "home base latitude, WGS84 degrees"),
                _lon("home_lon", "home base longitude, WGS84 degrees"),
                Column(
                    "active",
                    "bool",
                    "still employed and carrying a territory",
                    optional=True,
                    default="every rep in reps.csv is active",
                ),
                Column(
                    "start_date",
                    "date",
                    "first day in the role; a start date after the planning quarter's end makes "
                    "the rep a new hire for that plan",
                    nullable=True,
                    optional=True,
                    default="no new hires",
                ),
                Column(
                    "end_date",
                    "date",
                    "last day in the role; an end date on or before the planning quarter's end "
                    "makes the rep a leaver for that plan",
                    nullable=True,
                    optional=True,
                    default="no leavers",
                ),
                Column(
                    "district",
                    "text",
                    "the rep's district today (a manager's group of territories)",
                    nullable=True,
                    optional=True,
                    default="the KPI review rolls up by region only",
                ),
            ),
            meaning="sales reps and their home bases",
        ),
        FileSpec(
            "geo_units",
            (
                Column("unit_id", "id", "geographic unit id (leading zeros kept)", unique=True),
                Column("unit_name", "text", "unit name"),
                _lat("lat", "centroid latitude"),
                _lon("lon", "centroid longitude"),
                Column("population", "number", "population; more numeric drivers optional", low=0),
                Column(
                    "region",
                    "text",
                    "sales region the unit belongs to (kept as text)",
                    optional=True,
                    default="regions are derived downstream",
                ),
            ),
            numeric_extras=True,
            meaning="geographic building blocks and market drivers",
        ),
        FileSpec(
            "accounts",
            (
                Column("account_id", "id", "account id", unique=True),
                Column("account_name", "text", "account name"),
                Column("industry", "text", "industry"),
                Column("employees", "int", "employee count", low=0),
                Column("postal_code", "id", "postal code as text (leading zeros kept)"),
                _lat("lat", "latitude, WGS84 degrees"),
                _lon("lon", "longitude, WGS84 degrees"),
                Column("status", "enum", "customer or prospect", values=("customer", "prospect")),
                Column(
                    "owner_rep_id",
                    "id",
                    "current rep (empty = unassigned)",
                    nullable=True,
                    ref=("reps", "rep_id"),
                ),
                Column(
                    "unit_id",
                    "id",
                    "geographic unit the account lies in",
                    nullable=True,
                    ref=("geo_units", "unit_id"),
                    optional=True,
                    default="the nearest geographic unit by lat/lon, computed downstream",
                ),
            ),
            meaning="customers and prospects",
        ),
        FileSpec(
            "opportunities",
            (
                Column("opportunity_id", "id", "opportunity id", unique=True),
                Column("account_id", "id", "the account", ref=("accounts", "account_id")),
                Column("rep_id", "id", "the rep who owned it", ref=("reps", "rep_id")),
                Column("created_date", "date", "date created"),
                Column("close_date", "date", "date closed; empty while open", nullable=True),
                Column("stage", "enum", "won, lost or open", values=("won", "lost", "open")),
                Column("amount_usd", "number", "amount in US dollars", low=0),
                Column(
                    "deal_type",
                    "text",
                    "kind of deal, e.g. new business, expansion, renewal",
                    nullable=True,
                    optional=True,
                    default="derived downstream: new business = a deal on an account with no "
                    "earlier won deal",
                ),
                Column(
                    "product",
                    "text",
                    "product or product line sold",
                    nullable=True,
                    optional=True,
                    default="product breadth is not computed",
                ),
            ),
            meaning="opportunity history and open pipeline",
        ),
        FileSpec(
            "named_accounts",
            (
                Column(
                    "account_id",
                    "id",
                    "an account worked by name, not by territory",
                    unique=True,
                    ref=("accounts", "account_id"),
                ),
                Column(
                    "team",
                    "text",
                    "team or overlay that works the account",
                    nullable=True,
                    optional=True,
                    default="one named-account team",
                ),
            ),
            required=False,
            meaning="accounts assigned by name rather than by geography",
        ),
        FileSpec(
            "quotas",
            (
                Column("quarter", "quarter", "quarter YYYYQn"),
                Column("rep_id", "id", "the rep", ref=("reps", "rep_id")),
                Column("quota_usd", "number", "quota in US dollars", low=0),
            ),
            required=False,
            meaning="quarterly quotas per rep",
        ),
        FileSpec(
            "competitors",
            (
                Column("unit_id", "id", "geographic unit", ref=("geo_units", "unit_id")),
                Column("competitor", "text", "competitor name"),
                Column("presence", "number", "competitor strength, 0 (absent) to 1", low=0, high=1),
            ),
            required=False,
            meaning="competitor presence by unit",
        ),
        FileSpec(
            "economy",
            (
                Column(
                    "quarter",
                    "quarter",
                    "quarter YYYYQn; other columns: numeric indicators",
                    unique=True,
                ),
            ),
            required=False,
            numeric_extras=True,
            meaning="economic indicators by quarter",
        ),
        FileSpec(
            "swot",
            (
                Column("scope", "text", "company, region, territory or rep id"),
                Column(
                    "kind",
                    "enum",
                    "SWOT quadrant",
                    values=("strength", "weakness", "opportunity", "threat"),
                ),
                Column("item", "text", "the analyst's entry"),
            ),
            required=False,
            meaning="the analyst's own SWOT entries",
        ),
    )
}
"""Files in dependency order: a file's references point only to files listed before it."""

GEOJSON_NAME = "geo_units.geojson"
PROVENANCE_NAME = "demo_provenance.json"


@dataclasses.dataclass(frozen=True, order=True)
class Problem:
    """One validation problem. ``line`` is the file's own line number (header = 1); a
    table (Parquet, a warehouse) has no lines, so its problems name the row by ``key``
    (``opportunity_id=O-17``).

    >>> str(Problem("opportunities", None, "amount_usd", "expected a number", key="id=O-1"))
    'opportunities[id=O-1]: column amount_usd: expected a number'
    """

    file: str
    line: int | None
    column: str | None
    message: str
    key: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        where += f"[{self.key}]" if self.key is not None else ""
        col = f" column {self.column}:" if self.column else ""
        return f"{where}:{col} {self.message}"


def contract_markdown() -> str:
    """The contract as a Markdown table (for the README and docs).

    Optional columns say so, with what later steps assume when they are absent.

    >>> table = contract_markdown().splitlines()
    >>> print(table[0])
    | file | column | type | meaning |
    >>> active = next(row for row in table if "| active |" in row)
    >>> active.endswith("(optional; default: every rep in reps.csv is active) |")
    True
    """
    rows = ["| file | column | type | meaning |", "|---|---|---|---|"]
    for spec in CONTRACT.values():
        label = spec.filename + ("" if spec.required else " (optional)")
        for i, col in enumerate(spec.columns):
            extra = []
            if col.unique:
                extra.append("unique")
            if col.nullable:
                extra.append("may be empty")
            if col.ref:
                extra.append(f"→ {col.ref[0]}.{col.ref[1]}")
            meaning = col.meaning + (f" ({', '.join(extra)})" if extra else "")
            if col.optional:
                meaning += f" (optional; default: {col.default})"
            rows.append(
                f"| {label if i == 0 else ''} | {col.name} | {col.expectation()} | {meaning} |"
            )
    return "\n".join(rows)
