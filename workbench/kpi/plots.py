"""Charts of notebook 04: attainment, trend, quota fairness, balance and the KPI map."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.ticker import FuncFormatter, PercentFormatter

from ..config import UNASSIGNED
from ..plots import base_map, usd
from .findings import _BALANCE, _FAIRNESS_FACTORS
from .review import KpiReview
from .tables import territory_of
from .workflow import KpiInputs

# ---------------------------------------------------------------------------------------------
# Charts (static matplotlib, so they survive HTML and PDF export)


def _region_colours(regions: Sequence[str]) -> dict[str, str]:
    palette = ["#3b6ea8", "#d9822b", "#5a9e6f", "#8c6bb1", "#c44e52", "#937860"]
    named = sorted(r for r in set(regions) if r != UNASSIGNED)
    return {r: palette[i % len(palette)] for i, r in enumerate(named)} | {UNASSIGNED: "#9a9a9a"}


def _done(fig):
    fig.tight_layout()
    plt.close(fig)  # returned for display; not left open in pyplot's state
    return fig


def plot_attainment(review: KpiReview):
    """Bars of territory attainment in the quarter, coloured by region, with 100 % and the flag
    line."""
    t = review.territories.dropna(subset=["attainment"]).sort_values("attainment")
    colours = _region_colours(t["region"])
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(t) + 1.6))
    labels = [
        f"{r.territory} {r.rep_name}" if isinstance(r.rep_name, str) else r.territory
        for r in t.itertuples()
    ]
    ax.barh(labels, t["attainment"], color=[colours[r] for r in t["region"]])
    for y, r in enumerate(t.itertuples()):
        money = f"{usd(r.revenue_usd)} / {usd(r.quota_usd)}".replace("$", r"\$")  # not mathtext
        ax.text(r.attainment, y, f" {r.attainment:.0%}  {money}", va="center", fontsize=8)
    ax.axvline(1.0, color="black", lw=1)
    ax.axvline(
        review.thresholds.min_attainment,
        color="#c44e52",
        ls="--",
        lw=1,
        label=f"flag below {review.thresholds.min_attainment:.0%}",
    )
    for region, c in colours.items():
        if region in set(t["region"]):
            ax.barh([labels[0]], [0], color=c, label=region)
    if t.empty:
        ax.text(
            0.5,
            0.5,
            "no territory has a quota this quarter",
            ha="center",
            transform=ax.transAxes,
            color="0.4",
        )
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, max(1.6, t["attainment"].max() * 1.35) if len(t) else 1.6)
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    ax.set_title(f"Quota attainment by territory, {review.quarter} (revenue / quota)")
    ax.grid(axis="y", visible=False)
    return _done(fig)


def plot_trend(review: KpiReview):
    """Revenue by region (stacked) against company quota, and attainment by region, per quarter."""
    reg, co = review.trend["region"], review.trend["company"]
    rev = reg.pivot(index="quarter", columns="region", values="revenue_usd").fillna(0.0)
    colours = _region_colours(rev.columns)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
    bottom = np.zeros(len(rev))
    for region in rev.columns:
        ax1.bar(rev.index, rev[region], bottom=bottom, color=colours[region], label=region)
        bottom += rev[region].to_numpy()
    ax1.plot(
        co["quarter"],
        co["quota_usd"],
        color="black",
        marker="_",
        ms=18,
        lw=0,
        label="company quota",
    )
    ax1.yaxis.set_major_formatter(FuncFormatter(usd))
    ax1.set_title("Won revenue by region")
    ax1.margins(y=0.08)
    att = reg.pivot(index="quarter", columns="region", values="attainment")
    for region in att.columns:
        if att[region].notna().any():
            ax2.plot(att.index, att[region], marker="o", color=colours[region], label=region)
    ax2.plot(co["quarter"], co["attainment"], marker="s", color="black", label="company")
    ax2.axhline(1.0, color="black", lw=0.8, ls=":")
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax2.set_title("Quota attainment")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", rotation=45)
        ax.legend(
            frameon=False, fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.22)
        )
    return _done(fig)


def plot_fairness(review: KpiReview):
    """Attainment against potential, size, growth and win rate, one scatter each, with rho."""
    t = review.territories.dropna(subset=["attainment"])
    colours = _region_colours(t["region"])
    table = review.fairness.table
    fig, axes = plt.subplots(1, len(_FAIRNESS_FACTORS), figsize=(14, 3.6), sharey=True)
    for ax, (col, (role, label)) in zip(axes, _FAIRNESS_FACTORS.items(), strict=True):
        ax.axhline(1.0, color="black", lw=0.8, ls=":")
        if t[col].notna().sum() == 0:
            ax.text(
                0.5,
                0.5,
                f"{label}:\nnot available",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="0.4",
            )
            ax.set_title(label, fontsize=10)
            ax.set_xticks([])
            continue
        ax.scatter(t[col], t["attainment"], c=[colours[r] for r in t["region"]], s=36)
        for r in t.itertuples():
            ax.annotate(
                r.territory,
                (getattr(r, col), r.attainment),
                fontsize=7,
                xytext=(3, 2),
                textcoords="offset points",
            )
        rho = table.loc[col, "spearman_rho"]
        ax.set_title(f"{label}\nρ = {rho:+.2f} ({role})", fontsize=10)
        if col.endswith("_usd"):
            ax.xaxis.set_major_formatter(FuncFormatter(usd))
        elif col in ("growth_yoy", "win_rate_value"):
            ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes[0].yaxis.set_major_formatter(PercentFormatter(1.0))
    axes[0].set_ylabel("attainment")
    fig.suptitle(
        f"Quota fairness, {review.quarter}: does attainment follow the territory?", fontsize=11
    )
    return _done(fig)


def plot_balance(review: KpiReview):
    """Deviation from the mean territory on accounts, potential and workload (bars, ±tolerance
    band)."""
    table, tol = review.balance.table, review.thresholds.max_balance_deviation
    devs = [f"{c}_dev" for c in _BALANCE if f"{c}_dev" in table]
    fig, axes = plt.subplots(
        1, len(devs), figsize=(4 * len(devs), 0.3 * len(table) + 1.6), sharey=True, squeeze=False
    )
    for ax, col in zip(axes[0], devs, strict=True):
        x = table[col].astype(float)
        ax.axvspan(-tol, tol, color="#5a9e6f", alpha=0.15, lw=0)
        ax.barh(table.index, x, color=np.where(x.abs() > tol, "#c44e52", "#3b6ea8"))
        ax.axvline(0, color="black", lw=0.8)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(f"{_BALANCE[col[:-4]]} vs mean", fontsize=10)
        ax.grid(axis="y", visible=False)
    axes[0][0].invert_yaxis()
    fig.suptitle(f"Balance of the current alignment (band = ±{tol:.0%})", fontsize=11)
    return _done(fig)


def plot_kpi_map(review: KpiReview, inputs: KpiInputs):
    """Units coloured by the attainment of the territory holding most of their accounts.

    Polygons when the data has them (``inputs.polygons``), else account points; rep homes are
    marked with their territory id. Grey: no account or an unassigned/unknown territory.
    """
    terr = review.territories.set_index("territory")["attainment"]
    acc = inputs.accounts.assign(territory=territory_of(inputs.accounts).to_numpy())
    acc["attainment"] = acc["territory"].map(terr)
    norm = TwoSlopeNorm(vmin=min(0.5, terr.min()), vcenter=1.0, vmax=max(1.5, terr.max()))
    fig, ax = plt.subplots(figsize=(8, 8))
    polys = inputs.polygons
    if polys is not None and "unit_id" in acc:
        major = acc.groupby("unit_id")["territory"].agg(lambda s: s.value_counts().index[0])
        shade = polys.assign(attainment=polys["unit_id"].map(major).map(terr))
        shade.plot(ax=ax, color="#dddddd", edgecolor="white", linewidth=0.3)
        shade.dropna(subset=["attainment"]).plot(
            ax=ax, column="attainment", cmap="RdYlGn", norm=norm, edgecolor="white", linewidth=0.3
        )
    else:
        ax.scatter(acc["lon"], acc["lat"], c=acc["attainment"], cmap="RdYlGn", norm=norm, s=4)
    homes = inputs.reps[inputs.reps["rep_id"].isin(terr.index)]
    if {"home_lat", "home_lon"} <= set(homes.columns):
        ax.scatter(homes["home_lon"], homes["home_lat"], marker="^", color="black", s=30)
        for i, r in enumerate(homes.sort_values("home_lon").itertuples()):
            ax.annotate(
                f"{r.rep_id} {terr[r.rep_id]:.0%}",
                (r.home_lon, r.home_lat),
                fontsize=8,
                xytext=(4, 3 if i % 2 else -10),
                textcoords="offset points",
                weight="bold",
            )  # alternate above/below: metro homes sit close together
    sm = plt.cm.ScalarMappable(cmap="RdYlGn", norm=norm)
    fig.colorbar(sm, ax=ax, shrink=0.6, format=PercentFormatter(1.0), label="territory attainment")
    ax.set_title(f"Territory attainment, {review.quarter} (▲ rep home)")
    base_map(ax, acc["lat"])
    return _done(fig)
