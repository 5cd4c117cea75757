"""Notebook 02's workflow: its parameters (:class:`SegmentationParams`), its inputs
(:func:`load_inputs`) and the stage files it writes (:func:`save_outputs`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from .. import io
from ..config import NotebookParams, Quarter
from ._common import FIT_SAMPLE
from .abc import ParetoResult
from .clusters import SegmentationResult
from .prospects import LeadScores
from .workload import DEFAULT_CALLS_PER_YEAR, DEFAULT_HOURS_PER_CALL, _check_calls

# ---------------------------------------------------------------------------------------------
# Parameters and inputs


@dataclasses.dataclass(frozen=True)
class SegmentationParams(NotebookParams):
    """Parameters of ``notebooks/02_segmentation.ipynb`` (defaults: ``docs/segments.md``)."""

    seed: int = 0
    revenue_quarters: int = 4
    a_share: float = 0.8
    b_share: float = 0.95
    potential_weight: float = 0.3
    k_range: list[int] = dataclasses.field(default_factory=lambda: [3, 4, 5, 6])
    cluster_method: str = "kmeans"
    stability_runs: int = 5
    fit_sample: int = FIT_SAMPLE
    deal_types: list[str] | None = None
    test_quarters: int = 1
    hot_share: float = 0.2
    warm_share: float = 0.3
    lookalikes: int = 15
    calls_per_year: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_CALLS_PER_YEAR))
    hours_per_call: float = DEFAULT_HOURS_PER_CALL

    def check(self) -> list[str]:
        problems = super().check()
        if self.revenue_quarters < 1:
            problems.append("revenue_quarters must be ≥ 1")
        if not 0 < self.a_share < 1:
            problems.append(f"a_share must be between 0 and 1, got {self.a_share}")
        if not self.a_share < self.b_share <= 1:
            problems.append(
                f"b_share must be above a_share ({self.a_share}) and ≤ 1, got {self.b_share}"
            )
        if not 0 <= self.potential_weight <= 1:
            problems.append(
                f"potential_weight must be between 0 and 1, got {self.potential_weight}"
            )
        if not self.k_range or min(self.k_range) < 2:
            problems.append(f"k_range must list segment counts ≥ 2, got {self.k_range}")
        if self.cluster_method not in ("kmeans", "gmm"):
            problems.append(
                f"cluster_method must be 'kmeans' or 'gmm', got {self.cluster_method!r}"
            )
        if self.stability_runs < 0:
            problems.append("stability_runs must be ≥ 0")
        if self.fit_sample < 0:
            problems.append(f"fit_sample must be ≥ 0 (0: fit on every row), got {self.fit_sample}")
        if self.test_quarters < 1:
            problems.append("test_quarters must be ≥ 1")
        if not (
            self.hot_share >= 0 and self.warm_share >= 0 and self.hot_share + self.warm_share <= 1
        ):
            problems.append("hot_share and warm_share must be ≥ 0 and add up to at most 1")
        if self.lookalikes < 0:
            problems.append("lookalikes must be ≥ 0")
        problems += _check_calls(self.calls_per_year)
        if self.hours_per_call <= 0:
            problems.append("hours_per_call must be > 0")
        return problems

    @property
    def max_samples(self) -> int | None:
        """Most rows the clusters and lead models are fitted on (None: all)."""
        return self.fit_sample or None


@dataclasses.dataclass(frozen=True)
class SegmentationInputs:
    """The processed tables notebook 02 needs (see :func:`load_inputs`).

    Attributes
    ----------
    accounts, opportunities, facts_account_quarter, geo_units : DataFrame
        The required processed tables.
    competitors : DataFrame or None
        Competitor presence per unit; ``None`` when the project has none.
    potential : DataFrame or None
        Notebook 01's ``potential_accounts`` stage for the quarter; ``None`` when not run.
    units_geojson : GeoDataFrame or None
        Unit polygons; ``None`` when none were supplied.
    """

    accounts: pd.DataFrame
    opportunities: pd.DataFrame
    facts_account_quarter: pd.DataFrame
    geo_units: pd.DataFrame
    competitors: pd.DataFrame | None
    potential: pd.DataFrame | None
    units_geojson: Any


def load_inputs(processed: str | Path, *, quarter: Quarter | str) -> SegmentationInputs:
    """The processed tables notebook 02 needs, plus the optional ones (``None`` if absent).

    Required: ``accounts``, ``opportunities``, ``facts_account_quarter``, ``geo_units``.
    Optional: ``competitors`` (competitor presence per unit), ``potential`` (notebook 01's
    ``potential_accounts`` stage for ``quarter``) and ``units_geojson`` (unit polygons).
    """
    tables = {
        name: io.load(name, processed)
        for name in ("accounts", "opportunities", "facts_account_quarter", "geo_units")
    }
    competitors: pd.DataFrame | None
    try:
        competitors = io.load("competitors", processed)
    except FileNotFoundError:
        competitors = None
    potential: pd.DataFrame | None
    try:
        potential = io.load_stage(processed, "potential_accounts", quarter)
    except FileNotFoundError:
        potential = None
    return SegmentationInputs(
        **tables,
        competitors=competitors,
        potential=potential,
        units_geojson=io.load_geojson(processed),
    )


# ---------------------------------------------------------------------------------------------
# Outputs


def save_outputs(
    processed: str | Path,
    quarter: Quarter | str,
    *,
    pareto: ParetoResult,
    segmentation: SegmentationResult,
    lead_scores: LeadScores,
    workload: pd.DataFrame,
) -> pd.DataFrame:
    """Write the notebook's stages ``segments``, ``lead_scores`` and ``workload`` for ``quarter``.

    ``segments`` holds one row per customer: the Pareto table (classes) joined with the
    segment id, name and features. Returns the files written with their row counts.
    """
    seg_cols = [
        c for c in segmentation.frame.columns if c not in pareto.table.columns or c == "account_id"
    ]
    segments_frame = pareto.table.merge(segmentation.frame[seg_cols], on="account_id", how="left")
    written = []
    for stage, frame in (
        ("segments", segments_frame),
        ("lead_scores", lead_scores.prospects),
        ("workload", workload),
    ):
        path = io.save_stage(frame, processed, stage, quarter)
        written.append({"stage": stage, "file": path.name, "rows": len(frame)})
    return pd.DataFrame(written)
