"""Building blocks (notebook 03): accounts grouped into blocks with their measures, today's
territory and their adjacency.

Building blocks
    Accounts are grouped into blocks: ZIP codes by default (``postal_code``: fine enough that
    no metro block outweighs a territory; adjacency by Delaunay triangulation of the block
    points), or the geographic units (``unit_id``: county polygons, Queen contiguity). A
    block's measures are the sums over its accounts: ``potential_usd`` (notebook 01),
    ``workload_hours`` (notebook 02's call plan), ``accounts`` and ``revenue_usd`` (trailing
    four quarters). Its current territory is the owner rep holding most of its potential;
    a block of unassigned prospects only takes the territory of the nearest assigned block.
"""

from __future__ import annotations

import pandas as pd

from .. import geo

MEASURES = ("potential_usd", "workload_hours", "accounts", "revenue_usd")
BLOCKS = ("postal_code", "unit_id")


def building_blocks(accounts: pd.DataFrame, *, block: str = "postal_code") -> pd.DataFrame:
    """Blocks with their measures and current territory (see the module docstring).

    Requires ``account_id``, the block column, ``lat``, ``lon``, ``owner_rep_id``,
    ``potential_usd``, ``hours_per_year``, ``revenue_usd``. With a ``region`` column, each
    block takes the region holding most of its accounts (ties: the first by name).

    >>> acc = pd.DataFrame({"account_id": ["a", "b", "c"], "postal_code": ["1", "1", "2"],
    ...     "lat": [0.0, 0.2, 1.0], "lon": [0.0, 0.0, 1.0], "owner_rep_id": ["R1", "R2", None],
    ...     "potential_usd": [5.0, 9.0, 1.0], "hours_per_year": [1.0, 2.0, 3.0],
    ...     "revenue_usd": [1.0, 0.0, 0.0]})
    >>> building_blocks(acc)[["unit_id", "potential_usd", "accounts", "territory"]].values.tolist()
    [['1', 14.0, 2.0, 'R2'], ['2', 1.0, 1.0, 'R2']]
    """
    g = accounts.groupby(block, sort=True)
    out = pd.DataFrame(
        {
            "lat": g["lat"].mean(),
            "lon": g["lon"].mean(),
            "potential_usd": g["potential_usd"].sum(),
            "workload_hours": g["hours_per_year"].sum(),
            "accounts": g.size().astype(float),
            "revenue_usd": g["revenue_usd"].sum(),
        }
    )
    owned = accounts.dropna(subset=["owner_rep_id"])
    top = (
        owned.groupby([block, "owner_rep_id"])["potential_usd"]
        .sum()
        .reset_index()
        .sort_values(["potential_usd", "owner_rep_id"], kind="stable")
        .drop_duplicates(block, keep="last")
        .set_index(block)["owner_rep_id"]
    )
    out["territory"] = top.reindex(out.index)
    missing = out["territory"].isna().to_numpy()
    if missing.any() and (~missing).any():
        km = geo.distance_matrix_km(
            out["lat"].to_numpy()[missing],
            out["lon"].to_numpy()[missing],
            out["lat"].to_numpy()[~missing],
            out["lon"].to_numpy()[~missing],
        )
        out.loc[missing, "territory"] = out["territory"].to_numpy()[~missing][km.argmin(axis=1)]
    if "region" in accounts:
        out["region"] = dominant(accounts[block], accounts["region"]).reindex(out.index)
    return out.rename_axis("unit_id").reset_index()


def dominant(keys: pd.Series, labels: pd.Series, weights=1.0) -> pd.Series:
    """Per key, the label holding the largest total weight (ties: the first label by name;
    missing labels ignored).

    >>> dominant(pd.Series(["a", "a", "a", "b"]), pd.Series(["N", "S", "S", "N"])).to_dict()
    {'a': 'S', 'b': 'N'}
    """
    frame = pd.DataFrame({"key": keys.to_numpy(), "label": labels.to_numpy(), "w": weights})
    total = frame.dropna().groupby(["key", "label"])["w"].sum().reset_index()
    total = total.sort_values(["key", "w", "label"], ascending=[True, False, True])
    return total.drop_duplicates("key").set_index("key")["label"]


def block_adjacency(blocks: pd.DataFrame, *, block: str, polygons=None) -> pd.DataFrame:
    """Adjacent block pairs: Delaunay on ZIP points, Queen contiguity on unit polygons."""
    if block == "unit_id" and polygons is not None:
        adj = geo.adjacency_from_polygons(polygons)
        keep = set(blocks["unit_id"])
        return adj[adj["a"].isin(keep) & adj["b"].isin(keep)].reset_index(drop=True)
    return geo.adjacency_from_points(blocks[["unit_id", "lat", "lon"]])
