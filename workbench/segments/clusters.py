"""Customer segments (notebook 02, section 2): behaviour and firmographic features per customer
(:func:`customer_features`), the clustering estimator (:class:`AccountSegmenter`), and segments
with profiles and readable names (:func:`segment_customers`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..config import Quarter
from ._common import FIT_SAMPLE, _html_block, _one_thread, _owner, _require, fit_rows
from ._preprocess import _as_frame, _preprocessor, _split_columns

# ---------------------------------------------------------------------------------------------
# 2. Segmentation

SEGMENT_NUMERIC = (
    "employees",
    "revenue_usd",
    "wins",
    "recency_days",
    "growth",
    "product_breadth",
    "potential_usd",
)
SEGMENT_LOG = ("employees", "revenue_usd", "wins", "potential_usd")
SEGMENT_CATEGORICAL = ("industry",)
FEATURE_LABELS = {
    "employees": "employees",
    "revenue_usd": "won revenue",
    "wins": "won deals",
    "recency_days": "days since last win",
    "growth": "revenue growth",
    "product_breadth": "products bought",
    "potential_usd": "potential",
}


def customer_features(
    accounts: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    quarter: Quarter | str,
    n_quarters: int = 4,
    potential: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Firmographic and behaviour features of current customers at the end of ``quarter``.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id``, ``account_name``, ``industry``, ``employees``, ``status``,
        ``owner_rep_id``, ``lat``, ``lon`` (degrees); ``unit_id`` kept when present.
    opportunities : DataFrame
        ``account_id``, ``stage``, ``close_date`` (datetime), ``amount_usd``; ``product``
        (optional) gives product breadth.
    quarter : Quarter or str
        Features describe the customer as of this quarter's last day; later deals are ignored.
    n_quarters : int
        Length of the behaviour window (4 = trailing year) and of the earlier window that
        growth compares it with.
    potential : DataFrame, optional
        ``account_id``, ``potential_usd`` (notebook 01).

    Returns
    -------
    DataFrame
        One row per customer: the account columns plus ``revenue_usd`` (won in the window,
        USD), ``prior_revenue_usd`` (the ``n_quarters`` before), ``wins`` (won deals in the
        window), ``recency_days`` (days from the last win to quarter end; a customer with no
        win on record gets the length of the whole history), ``growth`` (symmetric change
        ``(now - before) / (now + before)`` in [-1, 1], 0 when both are 0), ``product_breadth``
        (distinct products ever won; NaN without a ``product`` column) and ``potential_usd``
        (NaN without potential).

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a"], "account_name": ["A"], "industry": ["Retail"],
    ...     "employees": [10], "status": ["customer"], "owner_rep_id": ["R1"], "lat": [0.0],
    ...     "lon": [0.0]})
    >>> opp = pd.DataFrame({"account_id": ["a", "a"], "stage": ["won", "won"],
    ...     "close_date": pd.to_datetime(["2025-08-01", "2026-09-20"]),
    ...     "amount_usd": [100.0, 300.0], "product": ["x", "y"]})
    >>> f = customer_features(acc, opp, quarter="2026Q3")
    >>> cols = ["revenue_usd", "prior_revenue_usd", "recency_days", "growth", "product_breadth"]
    >>> f[cols].iloc[0].tolist()
    [300.0, 100.0, 10.0, 0.5, 2.0]
    """
    _require(
        accounts,
        [
            "account_id",
            "account_name",
            "industry",
            "employees",
            "status",
            "owner_rep_id",
            "lat",
            "lon",
        ],
        "accounts",
    )
    _require(opportunities, ["account_id", "stage", "close_date", "amount_usd"], "opportunities")
    q = Quarter.parse(quarter)
    end = pd.Timestamp(q.end)
    start = pd.Timestamp((q - (n_quarters - 1)).start)
    prior_start = pd.Timestamp((q - (2 * n_quarters - 1)).start)
    keep = [
        c
        for c in (
            "account_id",
            "account_name",
            "industry",
            "employees",
            "owner_rep_id",
            "unit_id",
            "lat",
            "lon",
        )
        if c in accounts.columns
    ]
    out = accounts.loc[accounts["status"] == "customer", keep].reset_index(drop=True)
    out["owner_rep_id"] = _owner(out)
    close = pd.to_datetime(opportunities["close_date"])
    closed = opportunities.loc[close.notna() & (close <= end)]
    won = closed.loc[closed["stage"] == "won"]
    won_close = pd.to_datetime(won["close_date"])
    now = won.loc[won_close >= start]
    before = won.loc[(won_close >= prior_start) & (won_close < start)]
    ids = out["account_id"]
    out["revenue_usd"] = ids.map(now.groupby("account_id")["amount_usd"].sum()).fillna(0.0)
    out["prior_revenue_usd"] = ids.map(before.groupby("account_id")["amount_usd"].sum()).fillna(0.0)
    out["wins"] = ids.map(now.groupby("account_id").size()).fillna(0).astype(float)
    last = ids.map(won.assign(close_date=won_close).groupby("account_id")["close_date"].max())
    first_close = pd.to_datetime(closed["close_date"]).min()
    history_days = float((end - first_close).days) if len(closed) else 0.0
    out["recency_days"] = (end - pd.to_datetime(last)).dt.days.astype(float).fillna(history_days)
    both = out["revenue_usd"] + out["prior_revenue_usd"]
    out["growth"] = ((out["revenue_usd"] - out["prior_revenue_usd"]) / both.where(both > 0)).fillna(
        0.0
    )
    if "product" in opportunities.columns:
        out["product_breadth"] = ids.map(won.groupby("account_id")["product"].nunique()).fillna(0)
        out["product_breadth"] = out["product_breadth"].astype(float)
    else:
        out["product_breadth"] = np.nan
    if potential is not None:
        _require(potential, ["account_id", "potential_usd"], "potential")
        out["potential_usd"] = ids.map(potential.groupby("account_id")["potential_usd"].sum())
    else:
        out["potential_usd"] = np.nan
    out["employees"] = out["employees"].astype(float)
    return out


SILHOUETTE_SAMPLE = 10_000
"""Customers the silhouette is computed on: all of them up to this many, else a seeded random
sample of this size (the silhouette costs n² distances: 400,000 customers would take hours;
a 10,000-customer sample estimates it within about ±0.01)."""


def _silhouette(Z: np.ndarray, labels: np.ndarray, seed: int) -> float:
    if len(set(labels)) < 2:
        return float("nan")
    if len(Z) <= SILHOUETTE_SAMPLE:
        return float(silhouette_score(Z, labels))
    return float(silhouette_score(Z, labels, sample_size=SILHOUETTE_SAMPLE, random_state=seed))


class AccountSegmenter(ClusterMixin, BaseEstimator):
    """Clusters of accounts: preprocessing Pipeline + k-means or a Gaussian mixture.

    For every ``k`` in ``k_range`` the model is fitted on the preprocessed features (median
    imputation, ``log1p`` on ``log_columns``, standard scaling, one-hot categories; for the
    Gaussian mixture then the principal components carrying 90 % of the variance, because a
    mixture on raw 0/1 columns collapses onto single categories). ``k`` is chosen by the
    silhouette score (k-means, higher is better) or by BIC (Gaussian mixture, lower is better).
    Stability: ``stability_runs`` refits on bootstrap samples, each predicting every account,
    compared with the chosen labels by the adjusted Rand index (1 = identical partition,
    0 = chance). Beyond ``max_samples`` accounts, the fits, refits and scores use a seeded
    sample of that many (:func:`fit_rows`) and every account is assigned to its nearest
    segment (``predict``).

    ``X`` is a DataFrame (columns selected by name; others are ignored) or any 2-D array,
    whose columns are then named ``x0..x{n-1}`` (numbers numeric, text categorical).
    Missing values are imputed; sparse input is refused.

    Parameters
    ----------
    method : {"kmeans", "gmm"}
    k_range : sequence of int
        Segment counts to try (each ≥ 2 and below the number of accounts).
    random_state : int
        Seed: the same seed gives the same segments.
    n_init : int
        Restarts per fit (the best one is kept).
    stability_runs : int
        Bootstrap refits per ``k`` (0 skips the check).
    max_samples : int or None
        Most accounts the models are fitted on (default :data:`FIT_SAMPLE`; None: all).
    numeric, categorical : sequence of str, optional
        Feature columns; by default numeric columns by dtype and all others categorical.
    log_columns : sequence of str
        Skewed numeric columns taken as ``log1p``.

    Attributes
    ----------
    k_ : int
        Chosen number of segments.
    labels_ : ndarray
        Segment of every fitted account, ``0..k_-1``.
    scores_ : DataFrame
        Per ``k``: ``silhouette``, ``bic`` (Gaussian mixture only), ``inertia`` (k-means only),
        ``stability_ari`` (mean) and ``stability_ari_min``, ``chosen``.
    pipeline_ : Pipeline
        Fitted preprocessing and the model at ``k_``.
    stability_ : float
        Mean bootstrap adjusted Rand index at ``k_``.
    n_fitted_ : int
        Accounts the models were fitted on (all, or the sample).
    feature_names_in_, numeric_, categorical_ : list of str
        Feature columns used (all, numeric, categorical); ``x0``… for an array.
    n_features_in_ : int
        Input columns ``predict`` expects: the feature columns of a DataFrame, or the width
        of an array.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": np.r_[rng.normal(0, 1, 30), rng.normal(9, 1, 30)],
    ...                   "y": np.r_[rng.normal(0, 1, 30), rng.normal(9, 1, 30)]})
    >>> seg = AccountSegmenter(k_range=[2, 3], stability_runs=2).fit(X)
    >>> seg.k_, len(set(seg.labels_[:30])), len(set(seg.labels_[30:]))
    (2, 1, 1)
    """

    def __init__(
        self,
        method: str = "kmeans",
        k_range: Sequence[int] = (3, 4, 5, 6),
        *,
        random_state: int = 0,
        n_init: int = 10,
        stability_runs: int = 5,
        max_samples: int | None = FIT_SAMPLE,
        numeric: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        log_columns: Sequence[str] = (),
    ):
        self.method = method
        self.k_range = k_range
        self.random_state = random_state
        self.n_init = n_init
        self.stability_runs = stability_runs
        self.max_samples = max_samples
        self.numeric = numeric
        self.categorical = categorical
        self.log_columns = log_columns

    def _model(self, k: int, seed: int):
        if self.method == "kmeans":
            return KMeans(n_clusters=k, n_init=self.n_init, random_state=seed)
        return GaussianMixture(
            n_components=k,
            covariance_type="full",
            reg_covar=1e-3,
            n_init=max(1, self.n_init // 5),
            random_state=seed,
        )

    def _embedding(self, prep: ColumnTransformer) -> Pipeline:
        # A Gaussian mixture on raw one-hot columns collapses onto single industries (a 0/1
        # column has zero variance inside a pure cluster, so the likelihood soars): it gets the
        # principal components carrying 90 % of the variance instead. k-means uses all columns.
        if self.method == "gmm":
            return Pipeline([("prep", prep), ("pca", PCA(n_components=0.9, svd_solver="full"))])
        return Pipeline([("prep", prep)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # median imputation
        tags.input_tags.string = True  # text columns are one-hot categories
        return tags

    @_one_thread
    def fit(self, X: pd.DataFrame, y=None) -> AccountSegmenter:
        if self.method not in ("kmeans", "gmm"):
            raise ValueError(f"method must be 'kmeans' or 'gmm', got {self.method!r}")
        ks = sorted({int(k) for k in self.k_range})
        if not ks or ks[0] < 2:
            raise ValueError(f"k_range must list segment counts ≥ 2, got {list(self.k_range)}")
        X = _as_frame(self, X, reset=True)
        n = len(X)
        if n <= ks[-1]:
            raise ValueError(
                f"too few customers to segment: {n} customer(s) for up to "
                f"{ks[-1]} segments (need more customers than segments)"
            )
        self.numeric_, self.categorical_ = _split_columns(X, self.numeric, self.categorical)
        self.feature_names_in_ = self.numeric_ + self.categorical_
        self.n_features_in_ = X.shape[1] if self._fitted_on_array else len(self.feature_names_in_)
        embed = self._embedding(_preprocessor(self.numeric_, self.categorical_, self.log_columns))
        Z = embed.fit_transform(X[self.feature_names_in_])
        distinct = len(np.unique(np.round(Z, 9), axis=0))
        if distinct <= ks[-1]:
            raise ValueError(
                f"too few distinct customers to segment: {distinct} distinct feature "
                f"rows for up to {ks[-1]} segments"
            )
        Zf = Z[fit_rows(n, self.max_samples, self.random_state)]
        self.n_fitted_ = len(Zf)
        rng = np.random.default_rng(self.random_state)
        boots = [rng.integers(0, len(Zf), len(Zf)) for _ in range(self.stability_runs)]
        rows, fitted = [], {}
        for k in ks:
            model = self._model(k, self.random_state).fit(Zf)
            labels = model.predict(Zf)
            fitted[k] = model
            aris = []
            for b, idx in enumerate(boots):
                refit = self._model(k, self.random_state + b + 1).fit(Zf[idx])
                aris.append(adjusted_rand_score(labels, refit.predict(Zf)))
            rows.append(
                {
                    "k": k,
                    "silhouette": _silhouette(Zf, labels, self.random_state),
                    "bic": model.bic(Zf) if self.method == "gmm" else np.nan,
                    "inertia": model.inertia_ if self.method == "kmeans" else np.nan,
                    "stability_ari": float(np.mean(aris)) if aris else np.nan,
                    "stability_ari_min": float(np.min(aris)) if aris else np.nan,
                }
            )
        scores = pd.DataFrame(rows).set_index("k")
        if self.method == "kmeans":
            best = int(scores["silhouette"].fillna(-np.inf).idxmax())
        else:
            best = int(scores["bic"].idxmin())
        scores["chosen"] = scores.index == best
        self.scores_ = scores
        self.k_ = best
        model = fitted[best]
        self.labels_ = np.asarray(model.predict(Z))
        self.pipeline_ = Pipeline([*embed.steps, ("cluster", model)])
        self.stability_ = float(scores.loc[best, "stability_ari"])
        return self

    @_one_thread
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "pipeline_")
        X = _as_frame(self, X, reset=False)
        return self.pipeline_.predict(X[self.feature_names_in_])


def name_segment(profile: Mapping[str, float | str], reference: Mapping[str, float]) -> str:
    """A readable segment name from its profile, e.g. ``"large manufacturing, lapsing"``.

    Parameters
    ----------
    profile : mapping
        ``median_employees``, ``top_industry``, ``top_industry_share``,
        ``median_recency_days``, ``median_growth``, ``revenue_share``, ``customer_share``.
    reference : mapping
        All customers: ``employees_p33`` and ``employees_p67`` (employee terciles) and
        ``lapsing_days`` (no win for this long = lapsing).

    Notes
    -----
    Size: median employees up to the lower tercile is *small*, from the upper tercile *large*,
    else *mid-size*. Industry: named when at least half of the segment is in one industry
    (else just *customers*). *High-value* when the segment's share of revenue is at least 1.5
    times its share of customers. Behaviour, first match: *lapsing* (median days since last
    win above ``lapsing_days``), *new* (the median customer bought nothing in the earlier
    window: growth +1), *growing* (median growth ≥ +0.25), *shrinking* (≤ −0.25), else
    *steady*.

    Examples
    --------
    >>> ref = {"employees_p33": 20, "employees_p67": 60, "lapsing_days": 180}
    >>> name_segment({"median_employees": 150, "top_industry": "Manufacturing",
    ...               "top_industry_share": 0.7, "median_recency_days": 400,
    ...               "median_growth": -0.6, "revenue_share": 0.1, "customer_share": 0.2}, ref)
    'large manufacturing, lapsing'
    >>> name_segment({"median_employees": 8, "top_industry": "Retail",
    ...               "top_industry_share": 0.3, "median_recency_days": 30,
    ...               "median_growth": 1.0, "revenue_share": 0.02, "customer_share": 0.1}, ref)
    'small customers, new'
    """
    emp = float(profile["median_employees"])
    size = (
        "small"
        if emp <= reference["employees_p33"]
        else "large"
        if emp >= reference["employees_p67"]
        else "mid-size"
    )
    industry = (
        str(profile["top_industry"]).lower()
        if float(profile["top_industry_share"]) >= 0.5
        else "customers"
    )
    growth = float(profile["median_growth"])
    if float(profile["median_recency_days"]) > reference["lapsing_days"]:
        trend = "lapsing"
    elif growth >= 1 - 1e-9:
        trend = "new"
    elif growth >= 0.25:
        trend = "growing"
    elif float(profile["median_growth"]) <= -0.25:
        trend = "shrinking"
    else:
        trend = "steady"
    value = float(profile["revenue_share"]) >= 1.5 * float(profile["customer_share"])
    return f"{size} {industry}, {'high-value, ' if value else ''}{trend}"


@dataclasses.dataclass(frozen=True)
class SegmentationResult:
    """Customer segments (see :func:`segment_customers`).

    Attributes
    ----------
    frame : DataFrame
        The features frame plus ``segment_id`` (``S1`` = the segment with the most revenue)
        and ``segment_name``.
    profiles : DataFrame
        One row per segment (index ``segment_id``): name, size, revenue, medians of the
        features, top industry, share of class-A customers (when ``abc_class`` was given).
    k_scan : DataFrame
        Per ``k``: k-means silhouette, Gaussian-mixture BIC, bootstrap stability (adjusted Rand
        index) of the chosen method, and which ``k`` each method chose.
    method, k, stability : str, int, float
        Chosen method and ``k``; mean bootstrap adjusted Rand index at ``k``.
    cross_check_k, agreement : int, float
        ``k`` the other method chose and the adjusted Rand index between both partitions.
    model : AccountSegmenter
        The fitted segmenter (``model.predict`` segments new customers).
    """

    frame: pd.DataFrame
    profiles: pd.DataFrame
    k_scan: pd.DataFrame
    method: str
    k: int
    stability: float
    cross_check_k: int | None
    agreement: float
    model: AccountSegmenter
    label_map: Mapping[int, str]

    @property
    def names(self) -> dict[str, str]:
        return self.profiles["segment_name"].to_dict()

    def summary(self) -> pd.DataFrame:
        other = "Gaussian mixture (BIC)" if self.method == "kmeans" else "k-means (silhouette)"
        rows = [
            ("customers segmented", f"{len(self.frame):,}"),
            (
                "method",
                "k-means, k by silhouette"
                if self.method == "kmeans"
                else "Gaussian mixture, k by BIC",
            ),
            ("segments (k)", str(self.k)),
            ("stability (mean bootstrap adjusted Rand index)", f"{self.stability:.2f}"),
            (f"cross-check: {other} chose k", str(self.cross_check_k)),
            ("agreement with the cross-check (adjusted Rand index)", f"{self.agreement:.2f}"),
        ]
        edge = max(self.k_scan.index)
        if self.k == edge or self.cross_check_k == edge:
            rows.append(
                (
                    "note",
                    f"a method chose the largest k tried ({edge}): the data may "
                    "support more segments (widen k_range) or have no clear cluster count",
                )
            )
        rows += [(sid, name) for sid, name in self.names.items()]
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def _repr_html_(self) -> str:
        return _html_block(
            "Customer segments", [("Summary", self.summary()), ("Choice of k", self.k_scan)]
        )


def _profiles(frame: pd.DataFrame) -> pd.DataFrame:
    g = frame.groupby("segment_id", sort=True)
    total_rev = max(frame["revenue_usd"].sum(), 1e-300)
    top = g["industry"].agg(lambda s: s.value_counts().sort_index().idxmax())
    top_share_ = g["industry"].agg(lambda s: s.value_counts().max() / len(s))
    out = pd.DataFrame(
        {
            "customers": g.size(),
            "customer_share": g.size() / len(frame),
            "revenue_usd": g["revenue_usd"].sum(),
            "revenue_share": g["revenue_usd"].sum() / total_rev,
            "median_employees": g["employees"].median(),
            "top_industry": top,
            "top_industry_share": top_share_,
            "median_revenue_usd": g["revenue_usd"].median(),
            "median_wins": g["wins"].median(),
            "median_recency_days": g["recency_days"].median(),
            "median_growth": g["growth"].median(),
            "mean_product_breadth": g["product_breadth"].mean(),
        }
    )
    if frame["potential_usd"].notna().any():
        out["median_potential_usd"] = g["potential_usd"].median()
    if "abc_class" in frame.columns:
        out["class_a_share"] = g["abc_class"].agg(lambda s: (s == "A").mean())
    return out


@_one_thread
def segment_customers(
    features: pd.DataFrame,
    *,
    k_range: Sequence[int] = (3, 4, 5, 6),
    method: str = "kmeans",
    seed: int = 0,
    stability_runs: int = 5,
    max_samples: int | None = FIT_SAMPLE,
    cross_check: bool = True,
    lapsing_days: float = 180.0,
    classes: pd.DataFrame | None = None,
) -> SegmentationResult:
    """Segment customers with an :class:`AccountSegmenter`, profile and name the segments.

    Parameters
    ----------
    features : DataFrame
        :func:`customer_features` output (``account_id``, ``industry``, ``employees``,
        ``revenue_usd``, ``wins``, ``recency_days``, ``growth``, ``product_breadth``,
        ``potential_usd``; all-empty columns such as a missing potential are left out).
    k_range, method, seed, stability_runs, max_samples
        Passed to :class:`AccountSegmenter` (``max_samples``: most customers the models are
        fitted on; beyond it a seeded sample, and every customer is then assigned).
    cross_check : bool
        Also fit the other method (its own ``k`` choice) and report the agreement.
    lapsing_days : float
        A segment whose median customer has not won for longer is named *lapsing*.
    classes : DataFrame, optional
        ``account_id``, ``abc_class`` (from :func:`pareto_analysis`): profiles then show the
        share of class-A customers per segment.

    Returns
    -------
    SegmentationResult
        Segment ids ``S1..Sk`` are ordered by revenue (S1 the largest), so a rerun with the
        same seed gives the same ids and names.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> big = pd.DataFrame({"employees": rng.normal(400, 20, 40), "revenue_usd": 9e5,
    ...                     "recency_days": 20.0, "industry": "Logistics"})
    >>> small = pd.DataFrame({"employees": rng.normal(10, 2, 40), "revenue_usd": 5e3,
    ...                       "recency_days": 500.0, "industry": "Retail"})
    >>> f = pd.concat([big, small], ignore_index=True).assign(
    ...     account_id=[f"a{i}" for i in range(80)], wins=2.0, growth=0.0,
    ...     product_breadth=1.0, potential_usd=np.nan)
    >>> res = segment_customers(f, k_range=[2, 3], stability_runs=0)
    >>> sorted(res.names.values())
    ['large logistics, high-value, steady', 'small retail, lapsing']
    """
    _require(features, ["account_id", *SEGMENT_CATEGORICAL, *SEGMENT_NUMERIC], "features")
    numeric = [c for c in SEGMENT_NUMERIC if features[c].notna().any()]
    kwargs: dict[str, Any] = dict(
        k_range=k_range,
        random_state=seed,
        max_samples=max_samples,
        numeric=numeric,
        categorical=list(SEGMENT_CATEGORICAL),
        log_columns=SEGMENT_LOG,
    )
    model = AccountSegmenter(method=method, stability_runs=stability_runs, **kwargs).fit(features)
    frame = features.copy()
    if classes is not None:
        frame["abc_class"] = frame["account_id"].map(classes.set_index("account_id")["abc_class"])
    # stable ids: S1 = the segment with the most revenue (ties: more customers, then label)
    raw = pd.Series(model.labels_, index=frame.index)
    rank = (
        frame.groupby(raw)["revenue_usd"]
        .agg(["sum", "size"])
        .assign(label=lambda d: d.index)
        .sort_values(["sum", "size", "label"], ascending=[False, False, True])
    )
    label_map = {int(lab): f"S{i + 1}" for i, lab in enumerate(rank.index)}
    frame["segment_id"] = raw.map(label_map)
    profiles = _profiles(frame)
    profiles = profiles.loc[sorted(profiles.index, key=lambda sid: int(sid[1:]))]
    reference = {
        "employees_p33": float(frame["employees"].quantile(1 / 3)),
        "employees_p67": float(frame["employees"].quantile(2 / 3)),
        "lapsing_days": float(lapsing_days),
    }
    names = {sid: name_segment(row, reference) for sid, row in profiles.iterrows()}
    seen: dict[str, int] = {}
    for sid in sorted(names, key=lambda s: int(s[1:])):
        seen[names[sid]] = seen.get(names[sid], 0) + 1
    for sid, name in names.items():
        if seen[name] > 1:  # two segments read the same: keep both, tell them apart by id
            names[sid] = f"{name} ({sid})"
    profiles.insert(0, "segment_name", pd.Series(names))
    frame["segment_name"] = frame["segment_id"].map(names)

    scan = model.scores_.rename(columns={"silhouette": f"{method}_silhouette", "bic": "gmm_bic"})
    other_k, agreement = None, np.nan
    if cross_check:
        other = "gmm" if method == "kmeans" else "kmeans"
        alt = AccountSegmenter(method=other, stability_runs=0, **kwargs).fit(features)
        other_k = alt.k_
        agreement = float(adjusted_rand_score(model.labels_, alt.labels_))
        if other == "gmm":
            scan["gmm_bic"] = alt.scores_["bic"]
        else:
            scan["kmeans_silhouette"] = alt.scores_["silhouette"]
        scan[f"{other}_chosen"] = alt.scores_["chosen"]
    scan = scan.rename(columns={"chosen": f"{method}_chosen"}).dropna(axis=1, how="all")
    return SegmentationResult(
        frame=frame,
        profiles=profiles,
        k_scan=scan,
        method=method,
        k=model.k_,
        stability=model.stability_,
        cross_check_k=other_k,
        agreement=agreement,
        model=model,
        label_map=label_map,
    )
