"""Revenue series for notebook 01: won revenue by company, region and territory, its
forecast (optionally with economic indicators) and the ``forecast`` stage table."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..config import UNASSIGNED, Quarter
from .engine import ForecastResults, forecast_series
from .methods import METHODS

# ---------------------------------------------------------------------------------------------
# Revenue series for notebook 01


def revenue_series(
    facts: pd.DataFrame,
    scopes: pd.DataFrame,
    *,
    quarter: Quarter | str,
) -> pd.DataFrame:
    """Quarterly won revenue by company, region and territory, ready for :func:`forecast_series`.

    Parameters
    ----------
    facts : DataFrame
        The facts table: ``account_id``, ``quarter`` (``YYYYQn``), ``won_usd`` (USD).
    scopes : DataFrame
        One row per account: ``account_id``, ``territory`` (the current owner's book) and
        ``region`` — e.g. ``PotentialResults.accounts``. Revenue is mapped to the *current*
        alignment, so a territory's history is what its present accounts bought.
    quarter : Quarter or str
        Last quarter of history (later facts are ignored).

    Returns
    -------
    DataFrame
        ``series_id`` (``company``, ``region:<name>``, ``territory:<id>``), ``scope_type``,
        ``scope``, ``period`` (``YYYYQn``), ``value`` (won USD in the quarter). Quarters run
        from the first quarter with company revenue to ``quarter``; empty quarters are 0.
        Accounts without an owner count in the company and region series only.

    Examples
    --------
    >>> facts = pd.DataFrame({"account_id": ["A", "B", "A"], "quarter": ["2026Q1", "2026Q1",
    ...                       "2026Q2"], "won_usd": [10.0, 5.0, 20.0]})
    >>> scopes = pd.DataFrame({"account_id": ["A", "B"], "territory": ["R1", "R2"],
    ...                        "region": ["North", "North"]})
    >>> s = revenue_series(facts, scopes, quarter="2026Q2")
    >>> s[s["series_id"] == "territory:R2"]["value"].tolist()
    [5.0, 0.0]
    """
    q = Quarter.parse(quarter)
    f = facts.loc[facts["quarter"] <= str(q), ["account_id", "quarter", "won_usd"]]
    f = f.merge(scopes[["account_id", "territory", "region"]], on="account_id", how="left")
    f["territory"] = f["territory"].fillna(UNASSIGNED)
    f["region"] = f["region"].fillna("unknown")
    company = f.groupby("quarter")["won_usd"].sum()
    positive = company[company > 0]
    if positive.empty:
        return pd.DataFrame(columns=["series_id", "scope_type", "scope", "period", "value"])
    first = Quarter.parse(positive.index.min())
    quarters = [str(x) for x in q.range_back(q.index - first.index + 1)]
    parts: list[tuple[str, str | None, pd.DataFrame]] = [
        ("company", "company", f.assign(_s="company"))
    ]
    parts.append(("region", None, f.assign(_s=f["region"])))
    # accounts without an owner are nobody's book: they count in company and region only
    owned = f[f["territory"] != UNASSIGNED]
    parts.append(("territory", None, owned.assign(_s=owned["territory"])))
    out = []
    for scope_type, _, frame in parts:
        table = frame.pivot_table(
            index="quarter", columns="_s", values="won_usd", aggfunc="sum", fill_value=0.0
        )
        table = table.reindex(quarters, fill_value=0.0)
        for scope in sorted(table.columns, key=str):
            sid = "company" if scope_type == "company" else f"{scope_type}:{scope}"
            out.append(
                pd.DataFrame(
                    {
                        "series_id": sid,
                        "scope_type": scope_type,
                        "scope": str(scope),
                        "period": quarters,
                        "value": table[scope].to_numpy(dtype=float),
                    }
                )
            )
    return pd.concat(out, ignore_index=True)


def plan_revenue_series(
    facts: pd.DataFrame, alignment: pd.DataFrame, *, quarter: Quarter | str
) -> pd.DataFrame:
    """Quarterly won revenue re-aggregated by a **proposed** plan (issue 16): each account's
    whole history counted in its proposed territory or named seat (notebook 03's account list,
    ``proposed_territory``) and, when the list carries one, its ``proposed_region``; the
    company series is unchanged. The same layout as :func:`revenue_series`, ready for
    :func:`forecast_series`: a territory's history is what its proposed accounts bought.

    >>> facts = pd.DataFrame({"account_id": ["A", "B", "A"], "quarter": ["2026Q1", "2026Q1",
    ...                       "2026Q2"], "won_usd": [10.0, 5.0, 20.0]})
    >>> al = pd.DataFrame({"account_id": ["A", "B"], "proposed_territory": ["T1", "T1"]})
    >>> s = plan_revenue_series(facts, al, quarter="2026Q2")
    >>> s[s["series_id"] == "territory:T1"]["value"].tolist()
    [15.0, 20.0]
    """
    region = (
        alignment["proposed_region"].astype(object)
        if "proposed_region" in alignment
        else pd.Series("all", index=alignment.index, dtype=object)
    )
    scopes = pd.DataFrame(
        {
            "account_id": alignment["account_id"].to_numpy(),
            "territory": alignment["proposed_territory"].astype(object).to_numpy(),
            "region": region.to_numpy(),
        }
    )
    return revenue_series(facts, scopes, quarter=quarter)


def forecast_revenue(
    series: pd.DataFrame,
    *,
    horizon: int,
    level: float = 0.8,
    n_origins: int = 3,
    economy: pd.DataFrame | None = None,
    indicators: Sequence[str] | None = None,
    n_jobs: int = 1,
    scenarios: dict | None = None,
) -> ForecastResults:
    """Forecast :func:`revenue_series` output, optionally with economic indicators.

    Parameters
    ----------
    series : DataFrame
        ``series_id``, ``period`` (``YYYYQn``), ``value`` (won USD per quarter).
    horizon, level, n_origins
        As in :func:`forecast_series`.
    economy : DataFrame, optional
        The ``economy`` table: ``quarter`` and indicator columns.
    indicators : sequence of str, optional
        Which economy columns to offer the ``sarimax_x`` candidate; ``None`` (default): every
        numeric column ``economy`` has; empty: none. The backtest keeps the regression only
        where it beats the candidates without it.
    n_jobs : int
        Series fitted in parallel.
    scenarios : dict, optional
        Future paths of the indicators per scenario, e.g. ``{"low": {"gdp_growth_pct": 0.5},
        "high": {"gdp_growth_pct": 3.0}}`` (:meth:`~workbench.forecast.Forecaster.fit`); the
        main forecast holds the indicators at their last value.

    Returns
    -------
    ForecastResults
    """
    exog = None
    if economy is not None and indicators is None:
        indicators = [
            c
            for c in economy.columns
            if c != "quarter" and pd.api.types.is_numeric_dtype(economy[c])
        ]
    if economy is not None and indicators:
        unknown = [c for c in indicators if c not in economy.columns]
        if unknown:
            raise ValueError(
                f"economy has no indicator(s) {unknown}; it holds "
                f"{[c for c in economy.columns if c != 'quarter']}"
            )
        exog = economy[["quarter", *indicators]]
    methods = METHODS if exog is not None else tuple(k for k in METHODS if k != "sarimax_x")
    return forecast_series(
        series[["series_id", "period", "value"]],
        horizon=horizon,
        level=level,
        n_origins=n_origins,
        exog=exog,
        methods=methods,
        n_jobs=n_jobs,
        scenarios=scenarios if exog is not None else None,
    )


def forecast_stage(results: ForecastResults, series: pd.DataFrame) -> pd.DataFrame:
    """The ``forecast`` stage table: history and forecasts of every series, one row each.

    Columns: ``series_id``, ``scope_type``, ``scope``, ``period``, ``kind`` (``actual`` or
    ``forecast``), ``value_usd`` (actual won USD, empty for forecasts), ``mean_usd``,
    ``lower_usd``, ``upper_usd`` (forecasts), ``interval_level``, ``model``.
    """
    meta = series[["series_id", "scope_type", "scope"]].drop_duplicates("series_id")
    hist = series[["series_id", "period", "value"]].rename(columns={"value": "value_usd"})
    hist = hist.assign(kind="actual")
    fc = results.forecasts.rename(
        columns={"mean": "mean_usd", "lower": "lower_usd", "upper": "upper_usd"}
    )
    fc = fc[["series_id", "period", "mean_usd", "lower_usd", "upper_usd", "model"]]
    fc = fc.assign(kind="forecast", interval_level=results.level)
    out = pd.concat([hist, fc], ignore_index=True).merge(meta, on="series_id", how="left")
    cols = [
        "series_id",
        "scope_type",
        "scope",
        "period",
        "kind",
        "value_usd",
        "mean_usd",
        "lower_usd",
        "upper_usd",
        "interval_level",
        "model",
    ]
    return out[cols].sort_values(["series_id", "period"], kind="stable").reset_index(drop=True)
