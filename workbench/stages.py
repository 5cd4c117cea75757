"""The notebooks' outputs as code: which stage files exist, who writes them, their columns.

A notebook writes its results as *stage* files (``<processed>/<stage>_<quarter>.parquet``, see
:func:`workbench.io.save_stage`) that later notebooks, the report and the scenario explorer read
back (:func:`workbench.io.load_stage`). ``STAGES`` declares each one: the notebook that writes
it and its columns with their kinds. ``RECORD_STAGES`` does the same for folders of JSON
records (the explorer's saved scenarios, ``<processed>/scenarios/<name>.json``) and their keys.

Required columns are the ones something reads from the file -- another notebook, the report's
summary and action files, the explorer -- and, as a rule, the key of its rows. Optional columns
are the rest of what the producing notebook writes: their kinds are checked when they are
present, and a file without them is still valid (three read columns are optional for now, each
marked where it is declared: hand-built stage files in the tests leave them out). Families of
columns named after the company's own data (one per quarter, per measure) are declared as
patterns, never by one company's names. Columns not declared at all are allowed and not checked.

Kinds, as checked on a column (a column with no values at all, e.g. a table with no rows, fits
every kind):

* ``str`` -- text; ``quarter`` -- text like ``2026Q3``;
* ``int`` -- whole numbers (an integer column, or a float column holding whole numbers and gaps);
* ``float`` -- numbers (integers allowed); ``bool`` -- true/false; ``datetime`` -- timestamps;
* ``mapping`` -- a JSON object (record keys only).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

Kind = Literal["str", "quarter", "int", "float", "bool", "datetime", "mapping"]

_QUARTER = r"\d{4}Q[1-4]"


@dataclasses.dataclass(frozen=True)
class StageProblem:
    """One column (or record key) that is not as declared: missing (``found`` is ``None``) or
    holding another kind of value (``found`` says what, e.g. ``str (object)``)."""

    column: str
    expected: str
    found: str | None = None
    what: str = "column"

    def __str__(self) -> str:
        if self.found is None:
            return f"no {self.what} {self.column}"
        return f"{self.what} {self.column} holds {self.found}, expected {self.expected}"


class StageSchemaError(ValueError):
    """A stage file or record that does not hold what its stage declares (see :data:`STAGES`).

    ``stage`` names the stage, ``problems`` lists what is wrong (one per column or key).
    """

    def __init__(self, message: str, *, stage: str, problems: tuple[StageProblem, ...]) -> None:
        super().__init__(message)
        self.stage = stage
        self.problems = problems


@dataclasses.dataclass(frozen=True)
class StageColumn:
    """One column of a stage file (or one key of a stage record).

    An ``optional`` column may be absent; a ``pattern`` column is a family of columns whose
    names match the regular expression ``name`` (always optional, e.g. ``quota_2026Q4``).
    """

    name: str
    kind: Kind
    meaning: str = ""
    optional: bool = False
    pattern: bool = False

    def matches(self, column: object) -> bool:
        if self.pattern:
            return re.fullmatch(self.name, str(column)) is not None
        return column == self.name

    @property
    def required(self) -> bool:
        return not (self.optional or self.pattern)


def _opt(name: str, kind: Kind, meaning: str = "") -> StageColumn:
    return StageColumn(name, kind, meaning, optional=True)


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """One stage: its name, the notebook (file stem) that writes it, and its columns."""

    name: str
    producer: str
    columns: tuple[StageColumn, ...]
    meaning: str = ""

    @property
    def required_columns(self) -> tuple[StageColumn, ...]:
        return tuple(c for c in self.columns if c.required)

    @property
    def writer(self) -> str:
        """Who writes the stage, in words (for messages)."""
        return f"notebooks/{self.producer}.ipynb"

    def column_for(self, name: object) -> StageColumn | None:
        """The declaration that covers a column name (``None`` when it is not declared)."""
        return next((c for c in self.columns if c.matches(name)), None)

    def problems(self, frame: pd.DataFrame) -> list[StageProblem]:
        """Everything wrong with ``frame`` as this stage: missing required columns (in the
        declaration's order), then declared columns of another kind (in the frame's order).

        >>> spec = STAGES["workload"]
        >>> [str(p) for p in spec.problems(pd.DataFrame({"hours_per_year": ["6"]}))]
        ['no column account_id', 'column hours_per_year holds str, expected float']
        """
        present = list(frame.columns)
        out = [StageProblem(c.name, c.kind) for c in self.required_columns if c.name not in present]
        for i, name in enumerate(present):
            col = self.column_for(name)
            if col is None:
                continue
            series = frame.iloc[:, i]
            found = column_kind(series)
            if not fits(col.kind, found, series):
                out.append(StageProblem(str(name), col.kind, _found_text(col.kind, found, series)))
        return out


@dataclasses.dataclass(frozen=True)
class RecordSpec:
    """A folder of JSON records (``<processed>/<folder>/<name>.json``) and its keys."""

    name: str
    folder: str
    producer: str
    keys: tuple[StageColumn, ...]
    writer: str
    meaning: str = ""

    def problems(self, record: Mapping) -> list[StageProblem]:
        """Missing required keys, then keys holding another kind of value.

        >>> [str(p) for p in SCENARIOS.problems({"format": "1"})][:2]
        ['no key quarter', 'no key block']
        >>> str(SCENARIOS.problems({"format": "1"})[-1])
        'key format holds str, expected int'
        """
        out = [
            StageProblem(k.name, k.kind, what="key")
            for k in self.keys
            if k.required and k.name not in record
        ]
        for k in self.keys:
            if k.name in record and not value_fits(k.kind, record[k.name]):
                found = type(record[k.name]).__name__
                out.append(StageProblem(k.name, k.kind, found, what="key"))
        return out


# ---------------------------------------------------------------------------------------------
# Kinds


def column_kind(series: pd.Series) -> str:
    """What a column holds: ``empty`` (no values), ``str``, ``int``, ``float``, ``bool``,
    ``datetime``, or pandas' name for anything else (``mixed``, ``bytes``, ...).

    >>> column_kind(pd.Series([1, 2])), column_kind(pd.Series(["a", None])), column_kind(
    ...     pd.Series([None, None]))
    ('int', 'str', 'empty')
    """
    if not series.notna().any():
        return "empty"
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    return {
        "string": "str",
        "integer": "int",
        "floating": "float",
        "mixed-integer-float": "float",
        "decimal": "float",
        "boolean": "bool",
        "datetime64": "datetime",
        "datetime": "datetime",
    }.get(inferred, inferred)


def fits(kind: Kind, found: str, series: pd.Series) -> bool:
    """Whether a column that holds ``found`` (:func:`column_kind`) is of the declared kind."""
    if found == "empty":
        return True
    values = series.dropna()
    if kind == "str":
        return found == "str"
    if kind == "quarter":
        return found == "str" and bool(values.astype(str).str.fullmatch(_QUARTER).all())
    if kind == "int":
        if found == "float":
            number = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            return bool(np.all(np.isfinite(number) & (number == np.round(number))))
        return found == "int"
    if kind == "float":
        return found in ("int", "float")
    return found == kind


def _found_text(kind: Kind, found: str, series: pd.Series) -> str:
    """What a column holds, in words, for a problem message."""
    values = series.dropna()
    if kind == "quarter" and found == "str":
        text = values.astype(str)
        return f"str ({text[~text.str.fullmatch(_QUARTER)].iloc[0]!r} is not like 2026Q3)"
    if kind == "int" and found == "float":
        return "float (not whole numbers)"
    dtype = str(series.dtype)
    return found if dtype == found else f"{found} ({dtype})"


def value_fits(kind: Kind, value: object) -> bool:
    """Whether one JSON value is of the declared kind (``None`` fits every kind)."""
    if value is None:
        return True
    if kind == "mapping":
        return isinstance(value, Mapping)
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, int | float)
    if kind == "quarter":
        return isinstance(value, str) and re.fullmatch(_QUARTER, value) is not None
    return isinstance(value, str) if kind == "str" else False


# ---------------------------------------------------------------------------------------------
# The declarations

_P01, _P02, _P03, _P04 = (
    "01_market_potential",
    "02_segmentation",
    "03_territory_design",
    "04_kpi_review",
)

#: The KPI columns of notebook 04's tables, in display order (``workbench.kpi.tables.METRICS``
#: is this tuple; docs/kpis.md has the formulas). Declared here, not in kpi, so that io can check
#: the KPI stage files without importing the kpi package.
KPI_METRICS = (
    "revenue_usd",
    "growth_qoq",
    "growth_yoy",
    "quota_usd",
    "attainment",
    "pipeline_start_usd",
    "coverage",
    "pipeline_end_usd",
    "won_n",
    "lost_n",
    "win_rate",
    "win_rate_value",
    "avg_deal_usd",
    "cycle_days",
    "accounts_n",
    "reps_n",
    "accounts_per_rep",
    "worked_opportunities_n",
    "customers_n",
    "new_customers_n",
    "churned_customers_n",
    "logo_retention",
    "churn_rate",
    "grr",
    "nrr",
    "revenue_ttm_usd",
    "top20_share",
    "potential_usd",
    "penetration",
    "market_usd",
    "market_share",
    "competitor_presence",
    "share_index",
)
#: Each KPI table's own required columns; the other KPIs are optional (counts are ints).
_KPI_REQUIRED = {
    "territory": ("revenue_usd", "quota_usd"),
    "rep": ("quota_usd", "attainment"),
}


def _kpi_metrics(level: str) -> tuple[StageColumn, ...]:
    """The optional KPI columns of a level's table (its required ones are declared apart)."""
    return tuple(
        _opt(m, "int" if m.endswith("_n") else "float")
        for m in KPI_METRICS
        if m not in _KPI_REQUIRED[level]
    )


_ACCOUNT = StageColumn("account_id", "str", "account id")
_TERRITORY = StageColumn("territory", "str", "territory id (proposed plan)")

STAGES: dict[str, StageSpec] = {
    spec.name: spec
    for spec in (
        StageSpec(
            "potential_units",
            _P01,
            (
                StageColumn("potential_usd", "float", "achievable potential, USD a year"),
                StageColumn("revenue_usd", "float", "won revenue, USD a year"),
                StageColumn("whitespace_usd", "float", "potential not yet won, USD a year"),
                # read by notebook 04, which notes its absence; optional while the summary
                # tests hand-build this stage without it
                _opt("unit_id", "str", "geographic unit id"),
                _opt("unit_name", "str"),
                _opt("region", "str"),
                _opt("lat", "float"),
                _opt("lon", "float"),
                _opt("population", "float"),
                _opt("territory", "str", "territory owning most of the unit's accounts"),
                _opt("accounts", "int"),
                _opt("customers", "int"),
                _opt("prospects", "int"),
                _opt("penetration", "float"),
                _opt("index_share", "float"),
                _opt("index_per_capita", "float"),
                _opt("index_potential_usd", "float"),
                _opt("coverage_ratio", "float"),
                _opt("uncovered_potential_usd", "float"),
                _opt("competitor_pressure", "float"),
                _opt("top_competitor", "str"),
            ),
            "one row per geographic unit (read by notebook 04 and the report's summary)",
        ),
        StageSpec(
            "potential_accounts",
            _P01,
            (
                _ACCOUNT,
                StageColumn("potential_usd", "float", "achievable potential, USD a year"),
                # read by notebook 03; optional while the KPI and segmentation tests hand-build
                # this stage with account_id and potential_usd only
                _opt("revenue_usd", "float", "won revenue, USD a year"),
                _opt("account_name", "str"),
                _opt("unit_id", "str"),
                _opt("owner_rep_id", "str"),
                _opt("status", "str"),
                _opt("industry", "str"),
                _opt("employees", "int"),
                _opt("territory", "str", "current owner's territory"),
                _opt("region", "str"),
                _opt("prior_revenue_usd", "float"),
                _opt("mature", "bool"),
                _opt("model_potential_usd", "float"),
                _opt("competitor_pressure", "float"),
                _opt("competitor_factor", "float"),
                _opt("whitespace_usd", "float"),
                _opt("penetration", "float"),
            ),
            "one row per account (read by notebooks 02, 03 and 04)",
        ),
        StageSpec(
            "forecast",
            _P01,
            (
                StageColumn("scope_type", "str", "company, region, territory, ..."),
                StageColumn("period", "quarter"),
                StageColumn("kind", "str", "actual or forecast"),
                StageColumn("mean_usd", "float"),
                StageColumn("lower_usd", "float"),
                StageColumn("upper_usd", "float"),
                StageColumn("interval_level", "float"),
                StageColumn("model", "str"),
                # the rows' key with period; optional while the summary tests hand-build this
                # stage without it
                _opt("series_id", "str"),
                _opt("scope", "str"),
                _opt("value_usd", "float", "actual won USD"),
            ),
            "history and forecasts of every series, one row per series and quarter",
        ),
        StageSpec(
            "swot",
            _P01,
            (
                StageColumn("scope_type", "str"),
                StageColumn("scope", "str"),
                StageColumn("kind", "str", "strength, weakness, opportunity or threat"),
                StageColumn("item", "str"),
                _opt("evidence", "str"),
                _opt("value", "float"),
                _opt("benchmark", "float"),
                _opt("source", "str"),
            ),
            "SWOT entries per scope",
        ),
        StageSpec(
            "segments",
            _P02,
            (
                _ACCOUNT,
                StageColumn("abc_class", "str", "A, B or C"),
                _opt("rank", "int"),
                _opt("account_name", "str"),
                _opt("industry", "str"),
                _opt("owner_rep_id", "str"),
                _opt("revenue_usd", "float"),
                _opt("potential_usd", "float"),
                _opt("revenue_share", "float"),
                _opt("abc_value", "float"),
                _opt("revenue_class", "str"),
                _opt("territory_class", "str"),
                _opt("cum_value_share", "float"),
                _opt("employees", "float"),
                _opt("unit_id", "str"),
                _opt("lat", "float"),
                _opt("lon", "float"),
                _opt("prior_revenue_usd", "float"),
                _opt("wins", "float"),
                _opt("recency_days", "float"),
                _opt("growth", "float"),
                _opt("product_breadth", "float"),
                _opt("segment_id", "str"),
                _opt("segment_name", "str"),
            ),
            "one row per customer: ABC class, segment and features",
        ),
        StageSpec(
            "lead_scores",
            _P02,
            (
                _ACCOUNT,
                StageColumn("win_probability", "float"),
                StageColumn("lead_grade", "str"),
                _opt("account_name", "str"),
                _opt("industry", "str"),
                _opt("employees", "int"),
                _opt("owner_rep_id", "str"),
                _opt("lead_rank", "int"),
                _opt("open_opportunities", "int"),
                _opt("open_pipeline_usd", "float"),
                _opt("expected_pipeline_usd", "float"),
            ),
            "one row per prospect",
        ),
        StageSpec(
            "workload",
            _P02,
            (
                _ACCOUNT,
                StageColumn(
                    "hours_per_year", "float", "selling hours a year (read by notebook 03)"
                ),
                _opt("account_name", "str"),
                _opt("unit_id", "str"),
                _opt("lat", "float"),
                _opt("lon", "float"),
                _opt("owner_rep_id", "str"),
                _opt("status", "str"),
                _opt("abc_class", "str"),
                _opt("lead_grade", "str"),
                _opt("win_probability", "float"),
                _opt("call_class", "str"),
                _opt("calls_per_year", "float"),
            ),
            "one row per account: call plan and hours",
        ),
        StageSpec(
            "territory_plan",
            _P03,
            (
                StageColumn("block_id", "str"),
                StageColumn("block_type", "str", "postal_code or unit_id"),
                _TERRITORY,
                StageColumn("lat", "float"),
                StageColumn("lon", "float"),
                _opt("current_territory", "str"),
                _opt("rep_id", "str", "rep matched to the territory (empty: vacant)"),
            ),
            "one row per building block (read by the report's action files)",
        ),
        StageSpec(
            "territory_summary",
            _P03,
            (StageColumn("metric", "str"), StageColumn("value", "float")),
            "the plan's figures, one row per metric (read by the report's summary)",
        ),
        StageSpec(
            "territory_violations",
            _P03,
            (
                StageColumn("constraint", "str"),
                StageColumn("subject", "str"),
                StageColumn("reason", "str"),
            ),
            "the constraints the plan misses, one row each (read by the report's summary)",
        ),
        StageSpec(
            "alignment",
            _P03,
            (
                _ACCOUNT,
                StageColumn("block_id", "str"),
                StageColumn("current_territory", "str"),
                StageColumn("current_rep_id", "str"),
                StageColumn("proposed_territory", "str"),
                StageColumn("proposed_rep_id", "str"),
                StageColumn("moved", "bool"),
                StageColumn("named", "bool"),
                StageColumn("reason", "str"),
                _opt("account_name", "str"),
                _opt("revenue_usd", "float"),
                _opt("potential_usd", "float"),
                _opt("proposed_district", "str", "district of the proposed territory"),
                _opt("proposed_region", "str", "region: built from districts, else geo_units'"),
            ),
            "one row per account, today and proposed (read by the report's action files)",
        ),
        StageSpec(
            "rep_matching",
            _P03,
            (
                _TERRITORY,
                StageColumn("rep_id", "str", "empty: vacant"),
                StageColumn("status", "str"),
                _opt("rep_name", "str"),
                _opt("accounts", "int"),
                _opt("revenue_usd", "float"),
                _opt("book_accounts", "float"),
                _opt("book_revenue_usd", "float"),
                _opt("accounts_kept", "float"),
                _opt("revenue_kept_usd", "float"),
                _opt("share_kept", "float"),
                _opt("potential_usd", "float"),
                _opt("performance", "float"),
                _opt("score", "float"),
                _opt("reason", "str"),
            ),
            "one row per proposed territory: its rep and why",
        ),
        StageSpec(
            "quotas_plan",
            _P03,
            (
                _TERRITORY,
                StageColumn("quota_usd", "float"),
                _opt("revenue_usd", "float"),
                _opt("history_share", "float"),
                _opt("potential_share", "float"),
                _opt("quota_share", "float"),
                _opt("expected_attainment", "float"),
                _opt("implied_growth", "float"),
                _opt("forecast_share", "float"),
                _opt("forecast_usd", "float"),
                _opt("forecast_p10_usd", "float"),
                _opt("forecast_p90_usd", "float"),
                _opt("p_attain", "float"),
                _opt("attain_p10", "float"),
                _opt("attain_p90", "float"),
                _opt("equal_chance_quota_usd", "float"),
                _opt("equal_chance", "float"),
                _opt("rep_id", "str"),
                StageColumn(f"quota_{_QUARTER}", "float", "quota per quarter", pattern=True),
            ),
            "one row per proposed territory",
        ),
        StageSpec(
            "sizing",
            _P03,
            (
                _TERRITORY,
                StageColumn("required_hours", "float"),
                StageColumn("capacity_hours", "float"),
                StageColumn("utilisation", "float"),
                _opt("accounts", "int"),
                _opt("status", "str"),
            ),
            "one row per proposed territory: workload against capacity",
        ),
        StageSpec(
            "overlay_plan",
            _P03,
            (
                _ACCOUNT,
                StageColumn("group", "str", "overlay group (parameter overlays)"),
                StageColumn("overlay_territory", "str", "the specialist's territory"),
                _opt("overlay_quota_usd", "float"),
            ),
            "one row per account in an industry overlay (none without overlays)",
        ),
        StageSpec(
            "role_sizing",
            _P03,
            (
                StageColumn("role", "str", "geographic, named-account, overlay: <group>, inside"),
                StageColumn("required_hours", "float"),
                StageColumn("recommended", "int"),
                _opt("accounts", "int"),
                _opt("exact", "float"),
                _opt("planned", "float"),
                _opt("gap", "float", "recommended - planned"),
            ),
            "one row per role: headcount by workload buildup",
        ),
        StageSpec(
            "kpi_territory",
            _P04,
            (
                StageColumn("territory", "str", "territory id (current books)"),
                StageColumn("revenue_usd", "float"),
                StageColumn("quota_usd", "float"),
                _opt("rep_id", "str"),
                _opt("rep_name", "str"),
                _opt("region", "str"),
                _opt("district", "str", "the rep's district (reps.csv), when given"),
                _opt("quarter", "quarter"),
                *_kpi_metrics("territory"),
            ),
            "KPIs per territory (read by the report's summary)",
        ),
        StageSpec(
            "kpi_rep",
            _P04,
            (
                StageColumn("rep_id", "str"),
                StageColumn("quota_usd", "float"),
                StageColumn("attainment", "float"),
                _opt("rep_name", "str"),
                _opt("region", "str"),
                _opt("district", "str", "the rep's district (reps.csv), when given"),
                _opt("active", "bool"),
                _opt("quarter", "quarter"),
                *_kpi_metrics("rep"),
            ),
            "KPIs per rep (read by the report's summary)",
        ),
        StageSpec(
            "kpi_flags",
            _P04,
            (
                StageColumn("rank", "int"),
                StageColumn("level", "str", "territory, rep or territory & rep"),
                StageColumn("id", "str", "territory or rep id"),
                StageColumn("reasons", "str"),
                _opt("rep_name", "str"),
                _opt("region", "str"),
                _opt("failed_n", "int"),
                _opt("shortfall", "float"),
                _opt("attainment", "float"),
                _opt("coverage", "float"),
                _opt("logo_retention", "float"),
                _opt("win_rate", "float"),
                _opt("revenue_usd", "float"),
                _opt("quota_usd", "float"),
                _opt("pipeline_start_usd", "float"),
                _opt("avg_deal_usd", "float"),
                _opt("penetration", "float"),
            ),
            "territories and reps that miss a KPI threshold, worst first",
        ),
    )
}
"""Every stage file (``<stage>_<quarter>.parquet``), in the order the notebooks write them."""

SCENARIOS = RecordSpec(
    "scenarios",
    "scenarios",
    _P03,
    (
        StageColumn("format", "int", "scenario file format (1)"),
        StageColumn("quarter", "quarter", "planning quarter"),
        StageColumn("block", "str", "block type (postal_code or unit_id)"),
        StageColumn("blocks_fingerprint", "str", "the blocks the assignment is for"),
        StageColumn("scenario", "mapping", "the settings"),
        StageColumn("metrics", "mapping", "headline metrics"),
        StageColumn("assignment", "mapping", "block id -> territory"),
        _opt("name", "str"),
        _opt("saved_utc", "str"),
        _opt("workbench_version", "str"),
        _opt("search", "str"),
    ),
    "the scenario explorer: notebooks/03_territory_design.ipynb with interactive = True, or "
    "apps/explorer.ipynb",
    "saved explorer scenarios, one JSON record per name",
)

RECORD_STAGES: dict[str, RecordSpec] = {SCENARIOS.name: SCENARIOS}
"""Folders of JSON records (``<processed>/<folder>/<name>.json``) and their keys."""
