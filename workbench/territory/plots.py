"""Notebook 03's charts: alignment maps, balance per territory and the disruption–quality
frontier.

Each chart imports matplotlib when it draws: ``import workbench.territory`` stays light, which
matters to the branch-and-bound child process (:mod:`._highs_child`) that imports the package
every time it starts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .hierarchy import district_of
from .odds import fairness
from .plan import TerritoryPlan
from .team import active_reps


def _palette(labels) -> dict[str, tuple]:
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab20")
    return {t: cmap(i % 20) for i, t in enumerate(sorted(set(labels)))}


def _block_map(ax, blocks: pd.DataFrame, labels: pd.Series, polygons=None) -> None:
    """Blocks on the base map, coloured by ``labels`` and sized by potential."""
    from ..plots import base_map

    base_map(ax, blocks["lat"], polygons=polygons)
    size = 8 + 120 * np.sqrt(blocks["potential_usd"] / max(blocks["potential_usd"].max(), 1))
    colours = _palette(labels)
    ax.scatter(
        blocks["lon"],
        blocks["lat"],
        s=size,
        c=[colours[t] for t in labels],
        edgecolors="white",
        linewidths=0.3,
    )


def _grey_blocks(ax, blocks: pd.DataFrame, polygons=None) -> None:
    """The geographic blocks in grey: the backdrop of the named-account and overlay panels."""
    _block_map(ax, blocks, pd.Series("", index=blocks.index), polygons)
    ax.collections[-1].set_facecolor("#d5d9de")


def plot_alignment_maps(
    blocks: pd.DataFrame, plans: dict[str, TerritoryPlan], reps: pd.DataFrame, polygons=None
):
    """Side-by-side static maps: blocks coloured by territory, sized by potential, rep homes."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(plans), figsize=(6.5 * len(plans), 6.5), squeeze=False)
    act = active_reps(reps)
    for ax, (title, plan) in zip(axes[0], plans.items(), strict=True):
        _block_map(ax, blocks, blocks["unit_id"].map(plan.assignment), polygons)
        ax.scatter(act["home_lon"], act["home_lat"], marker="*", s=160, c="black", label="rep home")
        dev = ", ".join(f"{m} ±{v:.0%}" for m, v in plan.max_deviation.items())
        ax.set_title(f"{title}\nworst deviation: {dev}", fontsize=10)
        ax.legend(loc="lower left", frameon=False, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_balance(plans: dict[str, TerritoryPlan], *, tolerance: float):
    """Deviation from the mean per territory and measure, current vs proposed, with the band."""
    import matplotlib.pyplot as plt

    measures = next(iter(plans.values())).measures
    fig, axes = plt.subplots(1, len(measures), figsize=(6 * len(measures), 3.6), squeeze=False)
    for ax, m in zip(axes[0], measures, strict=True):
        for i, (name, plan) in enumerate(plans.items()):
            dev = plan.territories[f"{m}_dev_pct"].sort_index() / 100
            x = np.arange(len(dev)) + (i - 0.5) * 0.4
            ax.bar(x, dev, width=0.4, label=name)
        ax.axhspan(-tolerance, tolerance, color="green", alpha=0.12, label=f"±{tolerance:.0%}")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
        ax.set_title(f"{m}: deviation from the territory mean")
        ax.set_xticks([])
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_frontier(front: pd.DataFrame):
    """Balance and compactness against the share of blocks moved."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for col in [c for c in front.columns if c.startswith("max_dev_")]:
        ax.plot(front["share_moved"], front[col], marker="o", label=col.removeprefix("max_dev_"))
    ax.set_xlabel("share of blocks moved")
    ax.set_ylabel("worst deviation from the mean")
    ax.xaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax2 = ax.twinx()
    ax2.plot(
        front["share_moved"],
        front["median_km"],
        color="grey",
        linestyle="--",
        marker="s",
        label="median_km",
    )
    ax2.set_ylabel("weighted mean distance to centre (km)")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(lines, labels, frameon=False, fontsize=8)
    ax.set_title("Disruption–quality frontier: pick a point knowingly")
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_structure_maps(
    blocks: pd.DataFrame,
    plan: TerritoryPlan,
    *,
    districts: pd.DataFrame | None = None,
    named=None,
    overlays=None,
    accounts: pd.DataFrame | None = None,
    polygons=None,
):
    """The sales structure, one static map per level: blocks coloured by territory, by
    district (``districts``: :func:`~workbench.territory.workflow.district_table`'s table) and
    by region (the blocks' ``region``), sized by potential; with a ``named`` team
    (:class:`~workbench.territory.named.NamedTeam`) and the ``accounts`` (their ``lat``,
    ``lon``), a last panel of the named accounts coloured by seat (diamonds) around each seat's
    home (stars), over the geographic blocks in grey; with ``overlays``
    (:class:`~workbench.territory.overlay.OverlayTeam`), one panel per overlay group: its
    accounts coloured by specialist territory."""
    import matplotlib.pyplot as plt

    territory = blocks["unit_id"].astype(str).map(plan.assignment)
    levels = {f"{plan.k} territories": territory}
    if districts is not None:
        levels[f"{len(districts)} districts"] = territory.map(district_of(districts))
    if districts is not None and "region" in districts:  # regions built from the districts
        region = levels[f"{len(districts)} districts"].map(districts["region"])
        levels[f"{region.nunique()} regions"] = region
    elif "region" in blocks and blocks["region"].notna().any():
        region = blocks["region"]
        levels[f"{region.nunique()} regions"] = region
    show_named = named is not None and not named.empty and accounts is not None
    groups = [] if overlays is None or accounts is None else list(overlays.groups)
    panels = len(levels) + int(show_named) + len(groups)
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 6), squeeze=False)
    for ax, (title, label) in zip(axes[0], levels.items(), strict=False):
        _block_map(ax, blocks, label.fillna("(none)").astype(str), polygons)
        ax.set_title(title, fontsize=10)
    if show_named or groups:
        assert accounts is not None  # both need the accounts
        where = accounts.set_index(accounts["account_id"].astype(str).str.strip())
    for ax, g in zip(axes[0][len(levels) + int(show_named) :], groups, strict=True):
        assert overlays is not None  # groups says so
        _grey_blocks(ax, blocks, polygons)
        mine = overlays.assignment[overlays.group_of == g.name]
        pts = where.loc[mine.index]
        colours = _palette(mine.unique())
        ax.scatter(pts["lon"], pts["lat"], s=14, c=[colours[t] for t in mine], edgecolors="none")
        ax.set_title(
            f"overlay {g.name}: {len(mine)} accounts, {g.specialists} specialists", fontsize=10
        )
    if show_named:
        ax = axes[0][len(levels)]
        _grey_blocks(ax, blocks, polygons)
        seat = named.assignment
        pts = where.loc[seat.index]
        colours = _palette(named.seats.index)
        ax.scatter(
            pts["lon"],
            pts["lat"],
            marker="D",
            s=36,
            c=[colours[t] for t in seat],
            edgecolors="black",
            linewidths=0.5,
        )
        ax.scatter(
            named.seats["home_lon"],
            named.seats["home_lat"],
            marker="*",
            s=260,
            c=[colours[t] for t in named.seats.index],
            edgecolors="black",
            linewidths=0.8,
        )
        ax.set_title(
            f"named-account team: {len(seat)} accounts, {len(named.seats)} seats", fontsize=10
        )
    words = ["territories", "districts", "regions"][: len(levels)]
    if districts is None and len(levels) == 2:
        words = ["territories", "regions"]
    extra = ["named accounts"] * show_named + ["overlays"] * bool(groups)
    fig.suptitle("Sales structure: " + ", ".join(words + extra))
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_quota_odds(quotas, rep_of: pd.Series | None = None):
    """Each territory's forecast year as a fan (P10–P90, with the 25–75 % core and the median)
    against its quota (black tick) and equal-chance quota (hollow diamond), labelled with the
    chance of making the quota; territories sorted by that chance."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
    from scipy import stats

    from ..plots import usd

    if quotas.outlook is None:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "quota odds off (quota_odds=False)", ha="center", va="center")
        return fig
    t = quotas.table.sort_values("p_attain")
    o = quotas.outlook.territories.reindex(t.index)
    z25 = float(stats.norm.ppf(0.25))
    q25, q75 = o["median"] + z25 * o["sigma_low"], o["median"] - z25 * o["sigma_high"]
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(t) + 1.6))
    ax.barh(y, o["p90"] - o["p10"], left=o["p10"], height=0.6, color="#c6dbef", label="P10–P90")
    ax.barh(y, q75 - q25, left=q25, height=0.6, color="#6baed6", label="P25–P75")
    ax.scatter(o["median"], y, marker="|", s=200, color="#08519c", label="median forecast")
    ax.scatter(t["quota_usd"], y, marker="|", s=380, linewidths=2.5, color="black", label="quota")
    ax.scatter(
        t["equal_chance_quota_usd"],
        y,
        marker="D",
        s=30,
        facecolors="none",
        edgecolors="#d62728",
        label="equal-chance quota",
    )
    labels = [
        f"{tid}"
        + (
            f" · {rep_of.get(tid)}"
            if rep_of is not None and rep_of.get(tid) not in (None, tid)
            else ""
        )
        for tid in t.index
    ]
    ax.set_yticks(y, labels)
    right = float(np.nanmax([o["p90"].max(), t["quota_usd"].max()]))
    for yi, p in zip(y, t["p_attain"], strict=True):
        ax.text(right * 1.02, float(yi), f"{p:.0%}", va="center", fontsize=9)
    ax.set_xlim(right=right * 1.12)
    ax.set_xlabel("revenue in the quota year (USD)")
    ax.xaxis.set_major_formatter(FuncFormatter(usd))
    fair = fairness(quotas.table["p_attain"])
    ax.set_title(
        f"Quota vs forecast: chance of making quota {fair['min']:.0%}–{fair['max']:.0%} "
        f"({fair['verdict']}); equal-chance quotas: {quotas.equal_chance:.0%} each"
    )
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.5 / (0.45 * len(t) + 1.6) - 0.08),
        ncol=5,
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout()
    return fig
