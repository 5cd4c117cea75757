"""Prospect scores and lookalikes (notebook 02, section 3): every prospect and open opportunity
scored by the better lead model (:func:`score_prospects`), and the prospects that look most
like the best customers (:func:`lookalike_prospects`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors

from ..config import UNASSIGNED
from ..plots import usd
from ._common import _html_block, _one_thread
from ._preprocess import _preprocessor
from .lead_models import MODEL_LABELS, LeadModelComparison
from .leads import UNIT_PREFIX, LeadData

# ---------------------------------------------------------------------------------------------
# 3. Lead scoring: prospect scores, lookalike prospects


@dataclasses.dataclass(frozen=True)
class LeadScores:
    """Scores from the chosen model refitted on every closed opportunity up to quarter end.

    Attributes
    ----------
    prospects : DataFrame
        One row per prospect account: ``account_id``, ``account_name``, ``industry``,
        ``employees``, ``owner_rep_id``, ``win_probability``, ``lead_rank`` (1 = best),
        ``lead_grade`` (``hot``/``warm``/``cold``), ``open_opportunities``,
        ``open_pipeline_usd`` and ``expected_pipeline_usd`` (Σ probability × amount of its
        open opportunities of the modelled deal types).
    open_opportunities : DataFrame
        Open opportunities (modelled deal types) with ``win_probability`` and
        ``expected_usd``.
    model : str
    """

    prospects: pd.DataFrame
    open_opportunities: pd.DataFrame
    model: str
    quarter: str

    def summary(self) -> pd.DataFrame:
        p = self.prospects
        grades = p["lead_grade"].value_counts()
        rows = [
            (
                "model",
                f"{MODEL_LABELS[self.model]}, refitted on all closed deals to {self.quarter}",
            ),
            ("prospects scored", f"{len(p):,}"),
            (
                "hot / warm / cold",
                " / ".join(f"{grades.get(g, 0):,}" for g in ("hot", "warm", "cold")),
            ),
            (
                "mean win probability: hot vs cold prospects",
                f"{p.loc[p['lead_grade'] == 'hot', 'win_probability'].mean():.0%} vs "
                f"{p.loc[p['lead_grade'] == 'cold', 'win_probability'].mean():.0%}",
            ),
            ("open opportunities scored", f"{len(self.open_opportunities):,}"),
            (
                "open pipeline: amount / expected value",
                f"{usd(self.open_opportunities['amount_usd'].sum())} / "
                f"{usd(self.open_opportunities['expected_usd'].sum())}",
            ),
        ]
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def to_frame(self) -> pd.DataFrame:
        return self.prospects.copy()

    def _repr_html_(self) -> str:
        top = self.prospects.head(10)[
            [
                "account_id",
                "account_name",
                "industry",
                "employees",
                "owner_rep_id",
                "win_probability",
                "lead_grade",
            ]
        ]
        return _html_block("Lead scores", [("Summary", self.summary()), ("Top 10 prospects", top)])


@_one_thread
def score_prospects(
    data: LeadData,
    comparison: LeadModelComparison,
    *,
    hot_share: float = 0.2,
    warm_share: float = 0.3,
) -> LeadScores:
    """Score every prospect and open opportunity with the better model.

    The chosen model (``comparison.best``, same settings) is refitted on **all** closed
    opportunities up to quarter end (training and test periods: the evaluation is done, and
    the latest quarter carries the most current signal). Prospects are graded by rank: the top
    ``hot_share`` are *hot*, the next ``warm_share`` *warm*, the rest *cold*.

    Parameters
    ----------
    data : LeadData
    comparison : LeadModelComparison
    hot_share, warm_share : float
        Shares of prospects graded hot and warm (``hot_share + warm_share <= 1``).
    """
    if not (hot_share >= 0 and warm_share >= 0 and hot_share + warm_share <= 1):
        raise ValueError("hot_share and warm_share must be ≥ 0 and add up to at most 1")
    features = list(comparison.split.feature_columns)
    model = clone(comparison.models[comparison.best])
    model.fit(data.closed[features], data.closed["won"].to_numpy(dtype=int))
    opens = data.open[
        ["opportunity_id", "account_id", "rep_id", "created_date", "amount_usd"]
    ].copy()
    opens["win_probability"] = model.predict_proba(data.open[features])[:, 1] if len(opens) else []
    opens["expected_usd"] = opens["win_probability"] * opens["amount_usd"]
    p = data.prospects
    out = pd.DataFrame(
        {
            "account_id": p["account_id"],
            "account_name": p["account_name"],
            "industry": p["industry"],
            "employees": p["employees"].round().astype("Int64"),
            "owner_rep_id": p["rep_id"].where(p["rep_id"].notna(), UNASSIGNED),
        }
    )
    out["win_probability"] = model.predict_proba(p[features])[:, 1] if len(p) else []
    out = out.sort_values(
        ["win_probability", "account_id"], ascending=[False, True], ignore_index=True
    )
    out["lead_rank"] = np.arange(1, len(out) + 1)
    share = (out["lead_rank"] - 0.5) / max(len(out), 1)
    out["lead_grade"] = np.where(
        share < hot_share, "hot", np.where(share < hot_share + warm_share, "warm", "cold")
    )
    g = opens.groupby("account_id")
    out["open_opportunities"] = out["account_id"].map(g.size()).fillna(0).astype(int)
    out["open_pipeline_usd"] = out["account_id"].map(g["amount_usd"].sum()).fillna(0.0)
    out["expected_pipeline_usd"] = out["account_id"].map(g["expected_usd"].sum()).fillna(0.0)
    return LeadScores(
        prospects=out,
        open_opportunities=opens.sort_values("expected_usd", ascending=False, ignore_index=True),
        model=comparison.best,
        quarter=data.quarter,
    )


def lookalike_prospects(
    firmographics: pd.DataFrame,
    *,
    best_ids: Iterable[str],
    candidate_ids: Iterable[str],
    n: int = 15,
    neighbors: int = 3,
    scores: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Prospects that look most like the best customers (firmographic nearest neighbours).

    Feature space: industry (one-hot), ``log1p(employees)`` and the unit drivers present
    (``unit_<driver>`` columns, ``competitor_presence``), each numeric
    standardised over all accounts. A candidate's distance is the mean distance to its
    ``neighbors`` nearest best customers; the ``n`` closest candidates are returned.

    Parameters
    ----------
    firmographics : DataFrame
        ``account_id``, ``account_name``, ``industry``, ``employees`` (+ drivers), e.g.
        :attr:`LeadData.firmographics`.
    best_ids, candidate_ids : iterable of str
        The best customers (e.g. class A) and the prospects to rank.
    scores : DataFrame, optional
        ``account_id``, ``win_probability`` (added to the output).

    Returns
    -------
    DataFrame
        ``lookalike_rank``, ``account_id``, ``account_name``, ``industry``, ``employees``,
        ``distance``, ``most_like`` (name of the nearest best customer)
        [, ``win_probability``].

    Examples
    --------
    >>> firmo = pd.DataFrame({"account_id": ["c1", "p1", "p2"], "account_name": ["C", "P1", "P2"],
    ...                       "industry": ["Retail", "Retail", "Farming"],
    ...                       "employees": [100, 90, 5]})
    >>> near = lookalike_prospects(firmo, best_ids=["c1"], candidate_ids=["p1", "p2"], n=1)
    >>> near["account_id"].tolist()
    ['p1']
    """
    best_ids, candidate_ids = list(best_ids), list(candidate_ids)
    if not best_ids:
        raise ValueError("lookalikes need at least one best customer")
    if not candidate_ids or n == 0:
        return pd.DataFrame(
            columns=[
                "lookalike_rank",
                "account_id",
                "account_name",
                "industry",
                "employees",
                "distance",
                "most_like",
            ]
        )
    nums = [
        c
        for c in firmographics.columns
        if c in ("employees", "competitor_presence") or c.startswith(UNIT_PREFIX)
    ]
    prep = _preprocessor(nums, ["industry"], ("employees",))
    Z = prep.fit_transform(firmographics[[*nums, "industry"]])
    pos = pd.Series(np.arange(len(firmographics)), index=firmographics["account_id"].to_numpy())
    best_pos = pos.reindex(best_ids).dropna().astype(int).to_numpy()
    cand_pos = pos.reindex(candidate_ids).dropna().astype(int).to_numpy()
    k = min(neighbors, len(best_pos))
    # exact neighbours from a k-d tree, asked once per distinct profile (prospects with the
    # same industry, size and unit are one point): accounts sharing units and industries
    # cluster tightly, so the tree prunes well; 600,000 prospects took 90 s by brute force
    nn = NearestNeighbors(n_neighbors=k, algorithm="kd_tree").fit(Z[best_pos])
    points, which = np.unique(Z[cand_pos], axis=0, return_inverse=True)
    dist, idx = nn.kneighbors(points)
    which = which.ravel()  # numpy 2.0 and 2.1 give it the input's dimensions
    dist, idx = dist[which], idx[which]
    f = firmographics.iloc[cand_pos]
    out = pd.DataFrame(
        {
            "account_id": f["account_id"].to_numpy(),
            "account_name": f["account_name"].to_numpy(),
            "industry": f["industry"].to_numpy(),
            "employees": pd.array(f["employees"].round(), dtype="Int64"),
            "distance": dist.mean(axis=1),
            "most_like": firmographics["account_name"].to_numpy()[best_pos[idx[:, 0]]],
        }
    )
    if scores is not None:
        probability = scores.set_index("account_id")["win_probability"]
        out["win_probability"] = out["account_id"].map(probability)
    out = out.sort_values(["distance", "account_id"], ignore_index=True).head(n)
    out.insert(0, "lookalike_rank", np.arange(1, len(out) + 1))
    return out
