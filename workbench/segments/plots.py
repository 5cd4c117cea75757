"""Charts of notebook 02: the Pareto and Lorenz curves, segment profiles and map, and the
reliability and lift of the lead-scoring models."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from ..plots import base_map, usd
from .abc import ParetoResult
from .clusters import FEATURE_LABELS, SEGMENT_LOG, SEGMENT_NUMERIC, SegmentationResult
from .lead_models import LeadModelComparison

# ---------------------------------------------------------------------------------------------
# 1. Pareto / ABC


def plot_lorenz(result: ParetoResult):
    """Two panels: the Pareto curve with the ABC cut-offs, and the Lorenz curve with the Gini."""
    t = result.table
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    n = len(t)
    x = np.r_[0, np.arange(1, n + 1) / n]
    largest_first = np.sort(t["revenue_usd"].to_numpy())[::-1]
    by_rev = np.r_[0, np.cumsum(largest_first) / largest_first.sum()]
    colours = {"A": "#2f6b9a", "B": "#7fa9cc", "C": "#d6e2ee"}
    start = 0
    for c in "ABC":
        k = int((t["abc_class"] == c).sum())
        if k:
            ax1.axvspan(start / n, (start + k) / n, color=colours[c], alpha=0.5, lw=0)
            ax1.text((start + k / 2) / n, 0.04, c, ha="center", fontsize=11, weight="bold")
        start += k
    ax1.plot(x, by_rev, color="#1b3a57", lw=2, label="cumulative share of revenue")
    ax1.axvline(0.2, color="#d9822b", ls="--", lw=1)
    ax1.annotate(
        f"top 20% of customers:\n{result.top20_share:.0%} of revenue",
        xy=(0.2, result.top20_share),
        xytext=(0.35, 0.45),
        arrowprops={"arrowstyle": "->", "color": "#d9822b"},
    )
    ax1.set_xlabel("share of customers (largest first; bands: ABC class by class value)")
    ax1.set_ylabel("share of won revenue")
    ax1.set_title(f"Pareto curve, {result.n_quarters} quarter(s) to {result.quarter}")
    lz = result.lorenz
    ax2.fill_between(
        lz["customer_share"],
        lz["revenue_share"],
        lz["customer_share"],
        color="#d9822b",
        alpha=0.25,
        label=f"Gini = {result.gini:.2f}",
    )
    ax2.plot(lz["customer_share"], lz["revenue_share"], color="#1b3a57", lw=2, label="Lorenz curve")
    ax2.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfect equality")
    ax2.set_xlabel("share of customers (smallest first)")
    ax2.set_title("Lorenz curve of revenue per customer")
    ax2.legend(loc="upper left", frameon=False)
    for ax in (ax1, ax2):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    fig.tight_layout()
    plt.close(fig)
    return fig


# ---------------------------------------------------------------------------------------------
# 2. Segmentation


def plot_segment_profiles(result: SegmentationResult):
    """Heat map: each segment's median feature against all customers (in standard deviations)."""
    f = result.frame
    cols = [c for c in SEGMENT_NUMERIC if f[c].notna().any()]
    tx = pd.DataFrame({c: np.log1p(f[c].clip(lower=0)) if c in SEGMENT_LOG else f[c] for c in cols})
    z = (tx.groupby(f["segment_id"]).median() - tx.median()) / tx.std(ddof=0).replace(0, 1)
    z = z.loc[result.profiles.index]
    med = f.groupby("segment_id")[cols].median().loc[z.index]
    fig, ax = plt.subplots(figsize=(1.5 * len(cols) + 3, 0.7 * len(z) + 1.6))
    im = ax.imshow(z.to_numpy(), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    for i in range(z.shape[0]):
        for j, c in enumerate(cols):
            v = med.iloc[i, j]
            text = usd(v) if c.endswith("_usd") else (f"{v:+.2f}" if c == "growth" else f"{v:,.0f}")
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=9,
                color="white" if abs(z.iloc[i, j]) > 1.2 else "black",
            )
    ax.set_xticks(range(len(cols)), [FEATURE_LABELS[c] for c in cols], rotation=20, ha="right")
    sizes = result.profiles["customers"]
    ax.set_yticks(range(len(z)), [f"{sid} {result.names[sid]} (n={sizes[sid]})" for sid in z.index])
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="vs all customers (SD)", shrink=0.8)
    ax.set_title("Segment profiles (numbers: segment medians)")
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_segment_map(result: SegmentationResult, *, units=None):
    """Customers on the map coloured by segment; unit polygons (a GeoDataFrame) underneath."""
    f = result.frame
    fig, ax = plt.subplots(figsize=(8, 8.5), layout="constrained")
    base_map(ax, f["lat"], polygons=units)
    cmap = plt.get_cmap("tab10")
    for i, sid in enumerate(result.profiles.index):
        pts = f.loc[f["segment_id"] == sid]
        ax.scatter(
            pts["lon"],
            pts["lat"],
            s=10,
            color=cmap(i % 10),
            alpha=0.8,
            label=f"{sid} {result.names[sid]} ({len(pts)})",
            edgecolor="none",
        )
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.07),
        frameon=False,
        fontsize=9,
        markerscale=2,
        ncols=1,
        title="segment (customers)",
    )
    ax.set_title("Customers by segment")
    plt.close(fig)
    return fig


# ---------------------------------------------------------------------------------------------
# 3. Lead scoring


_COLOURS = {"baseline": "#999999", "logistic": "#2f6b9a", "boosting": "#d9822b"}


def plot_reliability(comparison: LeadModelComparison):
    """Reliability diagram: observed win rate against predicted probability, per model."""
    fig, ax = plt.subplots(figsize=(5.6, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="perfectly calibrated")
    for name, part in comparison.reliability.groupby("model", sort=False):
        brier = comparison.metrics.loc[name, "brier"]
        ax.plot(
            part["mean_predicted"],
            part["observed_rate"],
            marker="o",
            color=_COLOURS[name],
            label=f"{name} (Brier {brier:.3f})",
        )
    top = float(max(comparison.reliability[["mean_predicted", "observed_rate"]].max().max(), 0.1))
    lim = min(1.0, top * 1.1)
    ax.set_xlim(0, lim)
    ax.set_ylim(0, lim)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("predicted win probability (bin mean)")
    ax.set_ylabel("observed win rate")
    ax.set_title("Reliability on the held-out period")
    ax.legend(frameon=False, loc="upper left")
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_lift(comparison: LeadModelComparison):
    """Lift by decile (bars; 1 = no better than calling at random) and cumulative gains."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), width_ratios=[3, 2])
    names = list(comparison.metrics.index)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        part = comparison.lift.loc[comparison.lift["model"] == name]
        auc = comparison.metrics.loc[name, "roc_auc"]
        ax.bar(
            part["decile"] + (i - (len(names) - 1) / 2) * width,
            part["lift"],
            width=width,
            color=_COLOURS[name],
            label=f"{name} (AUC {auc:.2f})",
        )
        share = np.r_[0, part["n"].cumsum() / part["n"].sum()]
        ax2.plot(
            share,
            np.r_[0, part["cumulative_wins_share"]],
            marker=".",
            color=_COLOURS[name],
            label=name,
        )
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(range(1, int(comparison.lift["decile"].max()) + 1))
    ax.set_xlabel("decile of predicted win probability (1 = highest)")
    ax.set_ylabel("lift (win rate ÷ average)")
    ax.set_title("Lift by decile, held-out period")
    ax.legend(frameon=False, fontsize=9)
    ax2.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="random order")
    ax2.set_xlabel("share of opportunities, best scored first")
    ax2.set_ylabel("share of wins found")
    ax2.set_title("Cumulative gains")
    for axis in (ax2.xaxis, ax2.yaxis):
        axis.set_major_formatter(PercentFormatter(1.0))
    ax2.legend(frameon=False, fontsize=9, loc="lower right")
    fig.tight_layout()
    plt.close(fig)
    return fig
