"""Notebook 04's workflow: its parameters (:class:`KpiParams`, :class:`Thresholds`), the
inputs it reads (:class:`KpiInputs`, :func:`load_inputs`) and the stage files it writes
(:func:`save_outputs`)."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..config import NotebookParams, Quarter
from ..ingest import DEALS_NAME
from ..io import load, load_geojson, load_stage, save_stage
from ..stages import StageSchemaError

if TYPE_CHECKING:  # the review imports this module; only its type is needed here
    from .review import KpiReview


# ---------------------------------------------------------------------------------------------
# Parameters and inputs


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Flag limits: a territory or rep below any of them is flagged (ratios, 0.8 = 80 %)."""

    min_attainment: float = 0.8
    min_coverage: float = 0.8
    min_logo_retention: float = 0.85
    min_win_rate: float = 0.4
    max_balance_deviation: float = 0.25


@dataclasses.dataclass(frozen=True)
class KpiParams(NotebookParams):
    """Parameters of ``notebooks/04_kpi_review.ipynb``."""

    trailing_quarters: int = 8
    min_attainment: float = 0.8
    min_coverage: float = 0.8
    min_logo_retention: float = 0.85
    min_win_rate: float = 0.4
    max_balance_deviation: float = 0.25
    metro_km: float = 0.0

    def check(self) -> list[str]:
        problems = super().check()
        if self.trailing_quarters < 1:
            problems.append("trailing_quarters must be ≥ 1")
        for name in ("min_attainment", "min_coverage", "max_balance_deviation", "metro_km"):
            if not getattr(self, name) >= 0:
                problems.append(f"{name} must be ≥ 0")
        for name in ("min_logo_retention", "min_win_rate"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} must be a share between 0 and 1")
        return problems

    @property
    def thresholds(self) -> Thresholds:
        names = [f.name for f in dataclasses.fields(Thresholds)]
        return Thresholds(**{n: getattr(self, n) for n in names})


@dataclasses.dataclass(frozen=True)
class KpiInputs:
    """The tables a KPI review reads (processed data plus optional notebook-01 potential).

    ``opportunities`` needs ``account_id, rep_id, created_date, close_date`` (datetime64, NaT
    while open), ``stage`` (won/lost/open) and ``amount_usd``; ``accounts`` needs
    ``account_id, owner_rep_id`` (NA = unassigned) and, for markets and maps, ``lat, lon`` and
    ``unit_id``; ``quotas`` ``quarter, rep_id, quota_usd``; ``reps`` ``rep_id`` (``rep_name``,
    ``home_lat``, ``home_lon``, ``home_city``, ``active`` used when present). Potential tables
    hold annual ``potential_usd`` per ``account_id`` / ``unit_id``; ``competitors`` holds
    ``unit_id, competitor, presence`` (0-1).
    """

    accounts: pd.DataFrame
    opportunities: pd.DataFrame
    reps: pd.DataFrame
    quotas: pd.DataFrame
    geo_units: pd.DataFrame | None = None
    competitors: pd.DataFrame | None = None
    potential_accounts: pd.DataFrame | None = None
    potential_units: pd.DataFrame | None = None
    polygons: pd.DataFrame | None = None  # GeoDataFrame of unit polygons, for the map
    overlays: pd.DataFrame | None = None  # notebook 03's overlay_plan (account -> specialist)
    notes: tuple[str, ...] = ()
    # the ingest's deal sums per account x rep x quarter (computed from the opportunities
    # when absent): workbench.expressions.deal_quarters
    deals: pd.DataFrame | None = None


def load_inputs(processed: str | Path, *, quarter: Quarter | str) -> KpiInputs:
    """Read what notebook 04 needs; optional tables that are missing become notes."""
    q, notes, opt = Quarter.parse(quarter), [], {}
    for name in ("quotas", "competitors"):
        try:
            opt[name] = load(name, processed)
        except FileNotFoundError:
            notes.append(
                f"no {name} table: "
                + (
                    "attainment and coverage are empty."
                    if name == "quotas"
                    else "share index is empty."
                )
            )
    for stage, key in (("potential_accounts", "account_id"), ("potential_units", "unit_id")):
        what = "penetration" if key == "account_id" else "market share"
        try:
            frame = load_stage(processed, stage, q)
        except FileNotFoundError:
            notes.append(
                f"{stage}_{q} not found: {what} is empty; run "
                f"notebooks/01_market_potential.ipynb for {q} first."
            )
            continue
        except StageSchemaError:  # another schema (an older or hand-made file): a note
            notes.append(f"{stage}_{q} has no {key} and potential_usd columns: {what} is empty.")
            continue
        if {key, "potential_usd"} <= set(frame.columns):
            opt[stage] = frame
        else:
            notes.append(f"{stage}_{q} has no {key} and potential_usd columns: {what} is empty.")
    # notebook 03's industry overlays for the quarter: the KPI review credits them too
    with contextlib.suppress(FileNotFoundError):
        opt["overlays"] = load_stage(processed, "overlay_plan", q)
    with contextlib.suppress(FileNotFoundError):  # an older ingest: computed from the deals
        opt["deals"] = load(DEALS_NAME, processed)
    return KpiInputs(
        accounts=load("accounts", processed),
        opportunities=load("opportunities", processed),
        reps=load("reps", processed),
        geo_units=load("geo_units", processed),
        quotas=opt.pop("quotas", pd.DataFrame(columns=["quarter", "rep_id", "quota_usd"])),
        polygons=load_geojson(processed),
        notes=tuple(notes),
        **opt,
    )


# ---------------------------------------------------------------------------------------------
# Outputs


def save_outputs(review: KpiReview, processed: str | Path) -> pd.DataFrame:
    """Write ``kpi_territory``, ``kpi_rep`` and ``kpi_flags`` for the quarter; list what was
    written."""
    frames = {
        "kpi_territory": review.territories,
        "kpi_rep": review.reps,
        "kpi_flags": review.flags,
    }
    paths = {stage: save_stage(f, processed, stage, review.quarter) for stage, f in frames.items()}
    return pd.DataFrame(
        {
            "stage": list(paths),
            "rows": [len(f) for f in frames.values()],
            "file": [p.name for p in paths.values()],
        }
    )
