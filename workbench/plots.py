"""The shared plotting kit of the notebooks (static matplotlib, so charts survive HTML and PDF
export): display defaults, the money and percent formatters every step writes numbers with, and
the one base map under every map chart. Each step's own charts live in its ``plots.py``.

matplotlib is imported by the functions that draw, so the formatters cost nothing to import.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def setup_notebook() -> None:
    """Display defaults for the notebooks: readable tables and figures, no truncated text."""
    import matplotlib.pyplot as plt

    pd.set_option("display.max_colwidth", 120)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 160)
    pd.set_option("display.float_format", "{:,.2f}".format)
    plt.rcParams.update({"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3})


#: How a missing number is written in tables, and in sentences.
MISSING, NOT_AVAILABLE = "–", "n/a"
#: The base map's land and border colours.
MAP_LAND, MAP_EDGE = "#f2f2f2", "#c8c8c8"


def _missing(x: object) -> bool:
    try:
        return x is None or not math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def usd(x: object, _pos: int | None = None, *, missing: str = MISSING) -> str:
    """Compact dollars (also a matplotlib axis formatter): $1.2M, $350.0k, $12.

    >>> usd(1_234_567), usd(350_000), usd(12), usd(None)
    ('$1.2M', '$350.0k', '$12', '–')
    """
    if _missing(x):
        return missing
    v = float(x)  # type: ignore[arg-type]
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"${v / size:,.1f}{unit}"
    return f"${v:,.0f}"


def pct(x: object, digits: int = 0, *, sign: bool = False, missing: str = MISSING) -> str:
    """A share as a percentage: ``pct(0.123)`` is 12%, ``pct(0.123, 1, sign=True)`` +12.3%.

    >>> pct(0.123), pct(0.123, 1, sign=True), pct(float("nan"), missing=NOT_AVAILABLE)
    ('12%', '+12.3%', 'n/a')
    """
    if _missing(x):
        return missing
    return format(float(x), f"{'+' if sign else ''}.{digits}%")  # type: ignore[arg-type]


def base_map(ax, lat=None, *, polygons=None) -> None:
    """The one base map: unit polygons (a GeoDataFrame) in light grey underneath, x and y in
    degrees at the true aspect of the latitude (``1 / cos(mean latitude)``), no axes."""
    if polygons is not None:
        polygons.plot(ax=ax, facecolor=MAP_LAND, edgecolor=MAP_EDGE, linewidth=0.4)
    if lat is not None and len(lat):
        ax.set_aspect(1 / np.cos(np.radians(float(np.mean(lat)))))
    ax.set_axis_off()


def plot_revenue_by_quarter(frame: pd.DataFrame, *, title: str = "Won revenue by quarter"):
    """Bars of won revenue with the win rate on a second axis.

    ``frame`` is :func:`workbench.health.revenue_by_quarter`'s output (index = quarter).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    fig, ax = plt.subplots(figsize=(9, 3.6))
    x = range(len(frame))
    ax.bar(x, frame["won_usd"], color="#3b6ea8", label="won revenue")
    ax.set_xticks(list(x), frame.index, rotation=45, ha="right")
    ax.yaxis.set_major_formatter(FuncFormatter(usd))
    ax.set_ylabel("won revenue")
    ax2 = ax.twinx()
    ax2.plot(list(x), frame["win_rate"], color="#d9822b", marker="o", label="win rate (count)")
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("win rate")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, ["won revenue", "win rate (count)"], loc="upper left", frameon=False)
    ax.set_title(title)
    ax.spines[["top"]].set_visible(False)
    fig.tight_layout()
    plt.close(fig)  # returned for display; do not leave it open in pyplot's state
    return fig
