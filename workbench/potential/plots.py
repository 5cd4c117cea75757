"""Charts of notebook 01: potential map, revenue and whitespace bars, the regression's fit."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .achievable import PotentialResults


def plot_potential_map(
    units: pd.DataFrame,
    polygons,
    *,
    columns: Sequence[str] = ("potential_usd", "whitespace_usd", "penetration"),
    title: str | None = None,
):
    """Choropleth panels of unit measures (static matplotlib; survives HTML/PDF export).

    Parameters
    ----------
    units : DataFrame
        ``potential_units``: ``unit_id`` and the ``columns`` to draw.
    polygons : GeoDataFrame or None
        Unit polygons (``io.load_geojson``); without them, unit centroids are drawn as
        sized points (``lat``/``lon`` from ``units`` must then be present).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    from ..plots import base_map, usd

    labels = {
        "potential_usd": "Achievable potential (USD/yr)",
        "whitespace_usd": "Whitespace (USD/yr)",
        "penetration": "Penetration",
        "index_potential_usd": "Index-method potential (USD/yr)",
        "uncovered_potential_usd": "Index potential without accounts (USD/yr)",
        "competitor_pressure": "Competitor pressure",
    }
    fig, axes = plt.subplots(1, len(columns), figsize=(4.6 * len(columns), 5.0), squeeze=False)
    for ax, col in zip(axes.flat, columns, strict=True):
        fmt = (
            PercentFormatter(1.0, decimals=0)
            if col in ("penetration",)
            else FuncFormatter(lambda v, _p: f"{v:.2f}")
            if col == "competitor_pressure"
            else FuncFormatter(usd)
        )
        values = units[col].astype(float)
        if "accounts" in units.columns and col != "index_potential_usd":
            values = values.where(units["accounts"] > 0)  # grey: no account in the CRM
        norm = None
        if col.endswith("_usd") and (values > 0).any():
            # dollars are heavily skewed (metro counties dwarf rural ones): a log colour scale
            # keeps the rural differences visible
            pos = values[values > 0]
            norm = LogNorm(vmin=float(max(pos.min(), pos.max() / 1e4)), vmax=float(pos.max()))
        if polygons is not None:
            gdf = polygons[["unit_id", "geometry"]].merge(
                pd.DataFrame({"unit_id": units["unit_id"], col: values}), on="unit_id", how="left"
            )
            if norm is not None:
                gdf[col] = gdf[col].clip(lower=norm.vmin)
            cmap = "RdYlGn" if col == "penetration" else "viridis"
            gdf.plot(
                column=col,
                ax=ax,
                cmap=cmap,
                norm=norm,
                legend=True,
                linewidth=0.2,
                edgecolor="white",
                missing_kwds={"color": "#dddddd", "label": "no accounts"},
                legend_kwds={"shrink": 0.6, "format": fmt},
            )
        else:  # no polygons (an optional file): unit centroids, grey where no accounts
            known = values.notna().to_numpy()
            ax.scatter(units["lon"][~known], units["lat"][~known], s=10, c="#dddddd")
            cmap = "RdYlGn" if col == "penetration" else "viridis"
            sc = ax.scatter(
                units["lon"][known],
                units["lat"][known],
                c=values[known],
                s=14,
                cmap=cmap,
                norm=norm,
            )
            fig.colorbar(sc, ax=ax, shrink=0.6, format=fmt)
        # geopandas sets the polygons' aspect itself
        base_map(ax, units["lat"] if polygons is None else None)
        ax.set_title(labels.get(col, col), fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_whitespace(table: pd.DataFrame, *, title: str = "Revenue and whitespace"):
    """Horizontal bars: revenue and whitespace (USD/yr) per territory or region, largest
    potential first, with penetration labelled."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from ..plots import usd

    t = table.sort_values("potential_usd")
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(t) + 1.2))
    y = np.arange(len(t))
    ax.barh(y, t["revenue_usd"], color="#3b6ea8", label="revenue (trailing year)")
    ax.barh(y, t["whitespace_usd"], left=t["revenue_usd"], color="#b9cde5", label="whitespace")
    for i, (pot, pen) in enumerate(zip(t["potential_usd"], t["penetration"], strict=True)):
        ax.text(pot, i, f" {pen:.0%}", va="center", fontsize=8)
    ax.set_yticks(y, t.index.astype(str))
    ax.xaxis.set_major_formatter(FuncFormatter(usd))
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    ax.set_title(title + " (label: penetration)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_potential_fit(potential: PotentialResults):
    """Mature customers' actual spend against their fitted achievable potential (log axes):
    about ``quantile`` of the points should lie below the diagonal."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from ..plots import usd

    a = potential.accounts[potential.accounts["mature"]]
    fig, ax = plt.subplots(figsize=(5.4, 4.6))
    ax.scatter(a["model_potential_usd"], a["revenue_usd"], s=6, alpha=0.4, color="#3b6ea8")
    lo = float(min(a["model_potential_usd"].min(), a["revenue_usd"].min()))
    hi = float(max(a["model_potential_usd"].max(), a["revenue_usd"].max()))
    ax.plot([lo, hi], [lo, hi], color="#d9822b", label="spend = potential")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(usd))
    ax.yaxis.set_major_formatter(FuncFormatter(usd))
    below = float((a["revenue_usd"] <= a["model_potential_usd"]).mean())
    ax.set_xlabel("fitted achievable potential (USD/yr, before competitor adjustment)")
    ax.set_ylabel("actual spend, trailing year")
    ax.set_title(
        f"Mature customers: {below:.0%} below their potential "
        f"(target {potential.settings['quantile']:.0%})",
        fontsize=10,
    )
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig
