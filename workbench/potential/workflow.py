"""Notebook 01's workflow: its parameters, the inputs it reads and the stage files it writes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from ..config import NotebookParams, Quarter
from ..io import load, load_geojson, save_stage
from .achievable import PotentialResults
from .index import _weight_problems
from .swot import SwotResults

# ---------------------------------------------------------------------------------------------
# Parameters of notebook 01


@dataclasses.dataclass(frozen=True)
class PotentialParams(NotebookParams):
    """Parameters of ``notebooks/01_market_potential.ipynb``."""

    quantile: float = 0.8
    revenue_quarters: int = 4
    mature_quarters: int = 4
    index_weights: dict = dataclasses.field(default_factory=dict)
    competitor_strength: float = 0.3
    horizon: int = 4
    level: float = 0.8
    backtest_origins: int = 3
    indicators: list[str] | None = None
    economy_scenarios: dict = dataclasses.field(default_factory=dict)
    cv_folds: int = 5
    seed: int = 0

    def check(self) -> list[str]:
        problems = super().check()
        if not 0.5 <= self.quantile < 1:
            problems.append(
                f"quantile must be in [0.5, 1) (an upper quantile), got {self.quantile}"
            )
        if self.revenue_quarters < 1:
            problems.append("revenue_quarters must be ≥ 1")
        if self.mature_quarters < 0:
            problems.append("mature_quarters must be ≥ 0")
        if self.index_weights:
            problems += _weight_problems(self.index_weights)
        if not 0 <= self.competitor_strength < 1:
            problems.append(
                f"competitor_strength must be in [0, 1), got {self.competitor_strength}"
            )
        if not 1 <= self.horizon <= 12:
            problems.append(f"horizon must be 1-12 quarters, got {self.horizon}")
        if not 0 < self.level < 1:
            problems.append(f"level must be between 0 and 1, got {self.level}")
        if self.backtest_origins < 1:
            problems.append("backtest_origins must be ≥ 1")
        for name, spec in self.economy_scenarios.items():
            if not isinstance(spec, dict) or not spec:
                problems.append(
                    f"economy_scenarios[{name!r}] must map indicator columns to values, e.g. "
                    '{"gdp_growth_pct": 0.5}'
                )
        if self.cv_folds < 2:
            problems.append("cv_folds must be ≥ 2")
        return problems


# ---------------------------------------------------------------------------------------------
# Inputs and outputs


@dataclasses.dataclass(frozen=True)
class PotentialInputs:
    """The processed tables notebook 01 needs; optional ones are empty when absent.

    Attributes
    ----------
    quarter : Quarter
        The planning quarter the notebook runs for (recorded only: no table is filtered by it).
    accounts, geo_units, facts_account_quarter : DataFrame
        The required processed tables.
    competitors, economy, swot : DataFrame
        Optional tables; empty (with their key columns) when the project has none.
    polygons : GeoDataFrame or None
        Unit polygons (``io.load_geojson``), ``None`` when none were supplied.
    """

    quarter: Quarter
    accounts: pd.DataFrame
    geo_units: pd.DataFrame
    facts_account_quarter: pd.DataFrame
    competitors: pd.DataFrame
    economy: pd.DataFrame
    swot: pd.DataFrame
    polygons: pd.DataFrame | None


def load_inputs(processed: str | Path, *, quarter: Quarter | str) -> PotentialInputs:
    """Read what notebook 01 needs from ``processed``: see :class:`PotentialInputs`."""
    return PotentialInputs(
        quarter=Quarter.parse(quarter),
        accounts=load("accounts", processed),
        geo_units=load("geo_units", processed),
        facts_account_quarter=load("facts_account_quarter", processed),
        competitors=_optional(processed, "competitors", ["unit_id", "competitor", "presence"]),
        economy=_optional(processed, "economy", ["quarter"]),
        swot=_optional(processed, "swot", ["scope", "kind", "item"]),
        polygons=load_geojson(processed),
    )


def _optional(processed: str | Path, name: str, cols: list[str]) -> pd.DataFrame:
    """An optional processed table, or an empty frame with its key columns when absent."""
    path = Path(processed) / f"{name}.parquet"
    return load(name, processed) if path.is_file() else pd.DataFrame(columns=cols)


def save_outputs(
    processed: str | Path,
    quarter: Quarter | str,
    *,
    potential: PotentialResults,
    forecast: pd.DataFrame,
    swot: SwotResults,
) -> list[Path]:
    """Write notebook 01's stage files for ``quarter`` (one writer per file).

    ``potential_accounts`` and ``potential_units`` (``potential.accounts``/``.units``),
    ``forecast`` (the :func:`workbench.forecast.forecast_stage` table as given) and ``swot``
    (``swot.to_frame()``).

    Returns
    -------
    list of Path
        The files written, in that order.
    """
    return [
        save_stage(potential.accounts, processed, "potential_accounts", quarter),
        save_stage(potential.units, processed, "potential_units", quarter),
        save_stage(forecast, processed, "forecast", quarter),
        save_stage(swot.to_frame(), processed, "swot", quarter),
    ]
