"""Data health (notebook 00): what the processed data holds and what looks wrong in it.

Ingest rejects data that breaks the contract; these checks find data that is *valid but
suspicious* — the findings a sales-ops analyst fixes in the CRM before trusting a plan.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from .config import NotebookParams, Quarter
from .frames import isin
from .geo import nearest_km
from .io import columns_of, load, read_manifest
from .schema import CONTRACT, GEOJSON_NAME

OPTIONAL_FILE_ADDS = {
    "quotas": "quota attainment and the fairness verdict (notebook 04); without it, attainment "
    "is empty and quotas come only from notebook 03's plan",
    "competitors": "the competitor adjustment of potential (notebook 01) and competitor "
    "features in lead scoring; without it, no adjustment",
    "economy": "economic indicators as forecast regressors (notebook 01); without it, "
    "forecasts use history alone",
    "swot": "the analyst's own SWOT entries beside the data-driven ones (notebook 01)",
    "named_accounts": "accounts worked by name rather than by territory",
    GEOJSON_NAME: "unit polygons: choropleth maps and county-block contiguity; without them, "
    "maps draw unit centroids as points",
}
"""What each optional file adds, and what the workbench does without it."""


@dataclasses.dataclass(frozen=True)
class DataHealthParams(NotebookParams):
    """Parameters of ``notebooks/00_data_health.ipynb``."""

    trailing_quarters: int = 12
    stale_days: int = 180

    def check(self) -> list[str]:
        problems = super().check()
        if self.trailing_quarters < 1:
            problems.append("trailing_quarters must be ≥ 1")
        if self.stale_days < 1:
            problems.append("stale_days must be ≥ 1")
        return problems


def table_overview(processed: str | Path) -> pd.DataFrame:
    """Rows per processed table, with the raw file or table it came from and the file's hash
    prefix (from ``manifest.json``; a warehouse table has no hash)."""
    manifest = read_manifest(processed)
    inputs = manifest["inputs"]
    source = {entry.get("contract", key.removesuffix(".csv")): key for key, entry in inputs.items()}
    rows = []
    for name, info in manifest["outputs"].items():
        key = source.get(name)
        raw = inputs.get(key, {}) if key else {}
        rows.append(
            {
                "table": name,
                "rows": info["rows"],
                "raw_file": key if raw else "(derived)",
                "raw_sha256": raw.get("sha256", "")[:12],
            }
        )
    return pd.DataFrame(rows)


def optional_inputs(processed: str | Path) -> pd.DataFrame:
    """Which optional files and columns of the data contract this company supplied, and
    what each missing one would add (every step runs without them).

    Columns: ``input``, ``supplied`` (bool), ``adds`` (what it brings, or the default used
    when absent).
    """
    manifest = read_manifest(processed)
    given = set(manifest.get("inputs", {}))
    rows = []
    for name, spec in CONTRACT.items():
        if not spec.required:
            rows.append(
                (spec.filename, spec.filename in given, OPTIONAL_FILE_ADDS.get(name, spec.meaning))
            )
    rows.append((GEOJSON_NAME, GEOJSON_NAME in given, OPTIONAL_FILE_ADDS[GEOJSON_NAME]))
    for name, spec in CONTRACT.items():
        if not spec.required or spec.filename not in given:
            continue
        columns = set(columns_of(name, processed))
        for col in spec.columns:
            if getattr(col, "optional", False):
                rows.append(
                    (
                        f"{spec.filename}: {col.name}",
                        col.name in columns,
                        f"{col.meaning} (when absent: {col.default})",
                    )
                )
    return pd.DataFrame(rows, columns=["input", "supplied", "adds"])


def date_coverage(opportunities: pd.DataFrame) -> pd.DataFrame:
    """First and last dates and counts per stage.

    Requires ``stage``, ``created_date``, ``close_date`` (dates), ``amount_usd``.
    """
    g = opportunities.groupby("stage", sort=True)
    out = pd.DataFrame(
        {
            "opportunities": g.size(),
            "amount_usd": g["amount_usd"].sum(),
            "first_created": g["created_date"].min(),
            "last_created": g["created_date"].max(),
            "first_closed": g["close_date"].min(),
            "last_closed": g["close_date"].max(),
        }
    )
    return out


def revenue_by_quarter(facts: pd.DataFrame, *, quarter: Quarter | str, n: int) -> pd.DataFrame:
    """Won revenue, deal counts and win rate for the ``n`` quarters ending with ``quarter``.

    Requires the facts table (``quarter``, ``won_usd``, ``won_n``, ``lost_n``, ``created_n``).
    Win rate = won / (won + lost) by count, for deals closed in the quarter; quarters with no
    closed deal get an empty win rate, not zero.

    >>> f = pd.DataFrame({"quarter": ["2026Q2", "2026Q3"], "won_usd": [10.0, 30.0],
    ...                   "won_n": [1, 3], "lost_n": [1, 1], "created_n": [2, 4]})
    >>> revenue_by_quarter(f, quarter="2026Q3", n=3)["win_rate"].round(2).tolist()
    [nan, 0.5, 0.75]
    """
    quarters = [str(q) for q in Quarter.parse(quarter).range_back(n)]
    agg = facts.groupby("quarter")[["won_usd", "won_n", "lost_n", "created_n"]].sum()
    out = agg.reindex(quarters, fill_value=0).rename_axis("quarter")
    closed = out["won_n"] + out["lost_n"]
    out["win_rate"] = (out["won_n"] / closed.where(closed > 0)).astype(float)
    prior_year = out["won_usd"].shift(4)
    out["yoy_growth"] = (out["won_usd"] / prior_year.where(prior_year > 0) - 1).astype(float)
    return out


def quality_findings(
    accounts: pd.DataFrame,
    opportunities: pd.DataFrame,
    reps: pd.DataFrame,
    geo_units: pd.DataFrame,
    *,
    quarter: Quarter | str,
    stale_days: int = 180,
) -> pd.DataFrame:
    """Valid-but-suspicious data, one row per finding: severity, finding, count, examples.

    Checks: unassigned accounts; customers with no won deal and prospects with one (status out
    of date); open deals older than ``stale_days`` at quarter end (stale pipeline); deals
    after the quarter end; zero-amount deals; accounts far (> 100 km) from every geographic
    unit; reps who own no account; accounts with no opportunity at all; possible duplicate
    accounts (same name and postal code).
    """
    q = Quarter.parse(quarter)
    end = pd.Timestamp(q.end)
    opp = opportunities
    findings: list[tuple[str, str, str, pd.Series]] = []

    def add(severity: str, check: str, text: str, ids: pd.Series) -> None:
        ids = pd.Series(ids).dropna().astype(str).drop_duplicates()
        findings.append((severity, check, text, ids))

    add(
        "warning",
        "unassigned_accounts",
        "accounts without an owner rep",
        accounts.loc[accounts["owner_rep_id"].isna(), "account_id"],
    )
    won_accounts = pd.Index(opp.loc[opp["stage"] == "won", "account_id"].unique())  # used twice
    is_cust = accounts["status"] == "customer"
    add(
        "warning",
        "customers_without_wins",
        "customers with no won opportunity ever",
        accounts.loc[is_cust & ~isin(accounts["account_id"], won_accounts), "account_id"],
    )
    add(
        "warning",
        "prospects_with_wins",
        "prospects with a won opportunity (churned customers, or status out of date)",
        accounts.loc[~is_cust & isin(accounts["account_id"], won_accounts), "account_id"],
    )
    created = pd.to_datetime(opp["created_date"])
    is_open = opp["stage"] == "open"
    add(
        "warning",
        "stale_pipeline",
        f"open opportunities older than {stale_days} days at {q} end (stale pipeline)",
        opp.loc[is_open & ((end - created).dt.days > stale_days), "opportunity_id"],
    )
    closed = pd.to_datetime(opp["close_date"])
    add(
        "info",
        "after_period",
        f"opportunities created or closed after {q} end (outside the planning period)",
        opp.loc[(created > end) | (closed > end), "opportunity_id"],
    )
    add(
        "warning",
        "zero_amounts",
        "opportunities with a zero amount",
        opp.loc[opp["amount_usd"] == 0, "opportunity_id"],
    )
    far = (
        nearest_km(
            accounts["lat"], accounts["lon"], 1, lat2=geo_units["lat"], lon2=geo_units["lon"]
        )[1][:, 0]
        if len(geo_units)
        else np.inf
    )
    add(
        "error",
        "far_from_units",
        "accounts more than 100 km from every geographic unit (wrong coordinates?)",
        accounts.loc[far > 100, "account_id"],
    )
    add(
        "info",
        "reps_without_accounts",
        "reps who own no account (left, or new)",
        reps.loc[~isin(reps["rep_id"], accounts["owner_rep_id"]), "rep_id"],
    )
    add(
        "info",
        "accounts_without_opportunities",
        "accounts with no opportunity at all",
        accounts.loc[~isin(accounts["account_id"], opp["account_id"]), "account_id"],
    )
    key = accounts["account_name"].str.lower().str.strip() + "|" + accounts["postal_code"]
    add(
        "warning",
        "possible_duplicates",
        "possible duplicate accounts (same name and postal code)",
        accounts.loc[key.duplicated(keep=False), "account_id"],
    )
    rows = [
        {
            "severity": sev,
            "check": check,
            "finding": text,
            "count": len(ids),
            "examples": ", ".join(ids.head(5)),
        }
        for sev, check, text, ids in findings
    ]
    order = {"error": 0, "warning": 1, "info": 2}
    out = pd.DataFrame(rows)
    return (
        out.sort_values(["count"], ascending=False)
        .sort_values("severity", key=lambda s: s.map(order), kind="stable")
        .reset_index(drop=True)
    )


def load_health_inputs(processed: str | Path) -> dict[str, pd.DataFrame]:
    """The processed tables notebook 00 needs."""
    names = ("accounts", "opportunities", "reps", "geo_units", "facts_account_quarter")
    return {name: load(name, processed) for name in names}
