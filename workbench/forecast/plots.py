"""The forecast fan chart: history, forecast and prediction interval, one panel per series."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .engine import ForecastResults

# ---------------------------------------------------------------------------------------------
# Chart


def plot_fan_chart(
    results: ForecastResults,
    series_ids: Sequence[str] | None = None,
    *,
    history: int = 12,
    title: str | None = None,
):
    """History and forecast with the prediction interval shaded, one panel per series.

    Parameters
    ----------
    results : ForecastResults
    series_ids : sequence of str, optional
        Series to draw (default: up to four, ``company`` first).
    history : int
        Most recent periods of history to show.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from ..plots import usd

    ids = (
        list(series_ids)
        if series_ids is not None
        else list(dict.fromkeys(["company", *results.history["series_id"]]))[:4]
    )
    ids = [s for s in ids if s in set(results.history["series_id"])]
    cols = min(2, len(ids)) or 1
    rows = math.ceil(len(ids) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.2 * rows), squeeze=False)
    for ax, sid in zip(axes.flat, ids, strict=False):
        h = results.history[results.history["series_id"] == sid].tail(history)
        f = results.forecasts[results.forecasts["series_id"] == sid]
        x_h = np.arange(len(h))
        x_f = np.arange(len(h), len(h) + len(f))
        ax.plot(x_h, h["value"], color="#3b6ea8", marker="o", ms=3, label="actual")
        ax.plot(
            np.r_[x_h[-1:], x_f],
            np.r_[h["value"].iloc[-1:], f["mean"]],
            color="#d9822b",
            marker="o",
            ms=3,
            label="forecast",
        )
        ax.fill_between(
            x_f,
            f["lower"],
            f["upper"],
            color="#d9822b",
            alpha=0.25,
            label=f"{results.level:.0%} interval",
        )
        labels = list(h["period"]) + list(f["period"])
        step = max(1, len(labels) // 8)
        ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right")
        ax.yaxis.set_major_formatter(FuncFormatter(usd))
        model = f["model"].iloc[0] if len(f) else ""
        ax.set_title(f"{sid} ({model})", fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in list(axes.flat)[len(ids) :]:
        ax.set_visible(False)
    axes.flat[0].legend(frameon=False, fontsize=8, loc="upper left")
    fig.suptitle(title or f"Won revenue: history and {results.horizon}-period forecast")
    fig.tight_layout()
    plt.close(fig)
    return fig
