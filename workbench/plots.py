"""Matplotlib charts used by the notebooks (static, so they survive HTML and PDF export)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter, PercentFormatter


def setup_notebook() -> None:
    """Display defaults for the notebooks: readable tables and figures, no truncated text."""
    pd.set_option("display.max_colwidth", 120)
    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 160)
    pd.set_option("display.float_format", "{:,.2f}".format)
    plt.rcParams.update({"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3})


def usd(x: float, _pos: int | None = None) -> str:
    """Compact dollars for axes: 1.2M, 350k."""
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"${x / size:.1f}{unit}"
    return f"${x:.0f}"


def plot_revenue_by_quarter(frame: pd.DataFrame, *, title: str = "Won revenue by quarter"):
    """Bars of won revenue with the win rate on a second axis.

    ``frame`` is :func:`workbench.health.revenue_by_quarter`'s output (index = quarter).
    """
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
