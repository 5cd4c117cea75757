"""Lead-scoring models (notebook 02, section 3): the naive baseline (:class:`WinRateBaseline`),
the calibrated scorer (:class:`LeadScorer`), their comparison on the held-out period with
reliability and lift tables (:func:`compare_lead_models`), and the ideal customer profile
(:func:`ideal_customer_profile`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.utils import assert_all_finite
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from ._common import FIT_SAMPLE, _html_block, _one_thread, fit_rows
from ._preprocess import _as_frame, _preprocessor, _split_columns
from .leads import TimeSplit, lead_feature_label

# ---------------------------------------------------------------------------------------------
# 3. Lead scoring: models against the baseline, ideal customer profile

LEAD_LOG = ("employees", "account_prior_wins", "account_prior_losses")
BASELINE_COLUMNS = ("industry", "size_band")


def _two_classes(y: np.ndarray, what: str) -> None:
    values = set(np.unique(y).tolist())
    if values != {0, 1}:
        only = "won" if values == {1} else "lost" if values == {0} else str(values)
        raise ValueError(
            f"{what} needs both won and lost opportunities; all {len(y)} were {only} "
            "(a single class)"
        )


def _won_lost(values) -> bool:
    """Labels are the package's own: 1 = won, 0 = lost (ints, bools or floats)."""
    try:
        return set(np.unique(values).tolist()) <= {0, 1}
    except TypeError:  # labels of mixed types
        return False


def _binary_target(estimator, X, y, what: str, *, empty: str | None = None) -> np.ndarray:
    """``y`` as 0/1 ints (1 = won) for ``estimator.fit``, setting ``estimator.classes_``.

    Won/lost labels (0/1) keep ``classes_ = [0, 1]`` and the messages of :func:`_two_classes`
    (``empty``: the message for no labels at all). Any other two labels (text, -1/1, …) work
    too, sorted as in ``classes_`` with the second one as *won*; a continuous target or more
    than two classes is refused.
    """
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None"
        )
    y = np.asarray(y)
    if y.ndim != 1:
        y = column_or_1d(y, warn=True)  # a column vector passes with a warning
    check_consistent_length(X, y)
    if _won_lost(y):
        y = y.astype(int)
        if empty is not None and len(y) == 0:
            raise ValueError(empty)
        _two_classes(y, what)
        estimator.classes_ = np.array([0, 1])
        return y
    if y.dtype.kind == "f":
        assert_all_finite(y, input_name="y")  # "Input y contains NaN."
    check_classification_targets(y)  # "Unknown label type: continuous…"
    classes = np.unique(y)
    if len(classes) > 2:
        raise ValueError(
            f"Only binary classification is supported. The type of the target is "
            f"{type_of_target(y, input_name='y')}: {what} predicts won vs lost, but y has "
            f"{len(classes)} classes"
        )
    if len(classes) < 2:
        raise ValueError(
            f"{what} needs two classes (won and lost); all {len(y)} were {classes.tolist()[0]!r}"
        )
    estimator.classes_ = classes
    return (y == classes[1]).astype(int)


class WinRateBaseline(ClassifierMixin, BaseEstimator):
    """Naive baseline: the historical win rate of the example's industry and size band.

    Rates are smoothed: a cell's rate shrinks towards its industry's rate, which shrinks
    towards the overall rate, by ``prior_strength`` pseudo-deals each (a cell with few deals
    gets nearly its industry's rate; unseen cells get it exactly).

    ``columns`` are read in order (the first is the coarsest level); ``None`` reads every
    column of ``X``. ``X`` is a DataFrame or any 2-D array, whose columns are then named
    ``x0..x{n-1}``; every value, missing ones included, is a category. Labels are 1 (won) and
    0 (lost), or any two labels (the second in sorted order counts as won).

    >>> X = pd.DataFrame({"industry": ["a", "a", "b", "b"], "size_band": ["s", "s", "s", "s"]})
    >>> WinRateBaseline(prior_strength=0).fit(X, [1, 1, 0, 1]).predict_proba(X)[:, 1].tolist()
    [1.0, 1.0, 0.5, 0.5]
    """

    def __init__(
        self,
        columns: Sequence[str] | None = BASELINE_COLUMNS,
        prior_strength: float = 10.0,
    ):
        self.columns = columns
        self.prior_strength = prior_strength

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # won vs lost
        tags.input_tags.allow_nan = True  # a missing value is a category of its own
        tags.input_tags.categorical = True  # every column is read as categories
        tags.input_tags.string = True
        return tags

    def _key(self, X: pd.DataFrame, depth: int) -> pd.Series:
        columns = self.feature_names_in_
        key = X[columns[0]].astype(str)
        for c in columns[1:depth]:
            key = key + "\x1f" + X[c].astype(str)
        return key

    def fit(self, X: pd.DataFrame, y) -> WinRateBaseline:
        X = _as_frame(self, X, reset=True, ensure_all_finite=False)
        y = _binary_target(self, X, y, "the baseline")
        self.feature_names_in_ = list(X.columns if self.columns is None else self.columns)
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if self._fitted_on_array and missing:
            raise ValueError(
                f"X is an array without column(s) {', '.join(map(str, missing))}: its columns "
                f"are x0..x{X.shape[1] - 1}; name them in `columns`, or pass None for all"
            )
        self.n_features_in_ = X.shape[1] if self._fitted_on_array else len(self.feature_names_in_)
        self.overall_ = float(y.mean())
        m = float(self.prior_strength)
        self.rates_ = []
        parent = np.full(len(X), self.overall_)
        for depth in range(1, len(self.feature_names_in_) + 1):
            key = self._key(X, depth)
            g = pd.DataFrame({"key": key.to_numpy(), "y": y, "parent": parent}).groupby("key")
            rate = (g["y"].sum() + m * g["parent"].first()) / (g.size() + m)
            self.rates_.append(rate)
            parent = key.map(rate).to_numpy(dtype=float)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "rates_")
        X = _as_frame(self, X, reset=False, ensure_all_finite=False)
        p = np.full(len(X), self.overall_)
        for depth, rate in enumerate(self.rates_, start=1):
            found = self._key(X, depth).map(rate).to_numpy(dtype=float)
            p = np.where(np.isnan(found), p, found)  # unseen cell: the coarser level's rate
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        won = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[won.astype(int)]


class LeadScorer(ClassifierMixin, BaseEstimator):
    """Win probability of an opportunity: preprocessing Pipeline + a classifier, calibrated.

    Parameters
    ----------
    model : {"logistic", "boosting"}
        L2-regularised logistic regression (scaled features) or histogram gradient boosting.
    calibration : {"sigmoid", "isotonic", "none"}
        Probability calibration (:class:`~sklearn.calibration.CalibratedClassifierCV`): the
        calibrator is fitted on ``cv``-fold out-of-fold predictions within the training data,
        the model itself on all of it. ``cv`` drops to the minority-class count when that is
        smaller, and calibration is skipped below 2 (``calibration_`` says what ran).
    C : float
        Inverse regularisation strength of the logistic regression.
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf : float, int, int, int
        Gradient-boosting settings (modest defaults keep the notebook fast).
    max_samples : int or None
        Most rows the model is fitted on (default :data:`FIT_SAMPLE`; None: all): beyond it a
        seeded random sample of that many (calibration folds included).
    random_state : int
    numeric, categorical, log_columns
        Feature columns (default: by dtype) and skewed columns taken as ``log1p``.

    ``X`` is a DataFrame (columns selected by name; others are ignored) or any 2-D array,
    whose columns are then named ``x0..x{n-1}`` (numbers numeric, text categorical). Missing
    values are imputed; sparse input is refused. Labels are 1 (won) and 0 (lost), or any two
    labels (the second in sorted order counts as won).

    Attributes
    ----------
    estimator_ : estimator
        The fitted (calibrated) pipeline.
    classes_ : ndarray ``[0, 1]`` (lost, won), or the two labels of ``y``
    feature_names_in_, numeric_, categorical_ : list of str
        Feature columns used (all, numeric, categorical); ``x0``… for an array.
    n_features_in_ : int
        Input columns ``predict`` expects: the feature columns of a DataFrame, or the width
        of an array.
    calibration_ : str
    n_iter_ : int
        Iterations of the final model (solver iterations or boosting rounds).
    n_fitted_ : int
        Rows the model was fitted on (all, or the sample).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=400), "kind": rng.choice(["a", "b"], 400)})
    >>> y = (rng.random(400) < 1 / (1 + np.exp(-2 * X["x"]))).astype(int)
    >>> p = LeadScorer().fit(X, y).predict_proba(X)[:, 1]
    >>> bool(p[X["x"] > 1].mean() > 0.8 > 0.2 > p[X["x"] < -1].mean())
    True
    """

    def __init__(
        self,
        model: str = "logistic",
        calibration: str = "sigmoid",
        *,
        cv: int = 3,
        C: float = 1.0,
        learning_rate: float = 0.05,
        max_iter: int = 100,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 20,
        max_samples: int | None = FIT_SAMPLE,
        random_state: int = 0,
        numeric: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        log_columns: Sequence[str] = (),
    ):
        self.model = model
        self.calibration = calibration
        self.cv = cv
        self.C = C
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.max_samples = max_samples
        self.random_state = random_state
        self.numeric = numeric
        self.categorical = categorical
        self.log_columns = log_columns

    def _pipeline(self) -> Pipeline:
        if self.model == "logistic":
            clf = LogisticRegression(C=self.C, max_iter=2000)
            scale = True
        elif self.model == "boosting":
            clf = HistGradientBoostingClassifier(
                learning_rate=self.learning_rate,
                max_iter=self.max_iter,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf,
                l2_regularization=1.0,
                early_stopping=False,
                random_state=self.random_state,
            )
            scale = False
        else:
            raise ValueError(f"model must be 'logistic' or 'boosting', got {self.model!r}")
        prep = _preprocessor(self.numeric_, self.categorical_, self.log_columns, scale=scale)
        return Pipeline([("prep", prep), ("model", clf)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # won vs lost
        tags.input_tags.allow_nan = True  # median imputation
        tags.input_tags.string = True  # text columns are one-hot categories
        return tags

    @_one_thread
    def fit(self, X: pd.DataFrame, y) -> LeadScorer:
        if self.calibration not in ("sigmoid", "isotonic", "none"):
            raise ValueError(
                f"calibration must be 'sigmoid', 'isotonic' or 'none', got {self.calibration!r}"
            )
        X = _as_frame(self, X, reset=True)
        y = _binary_target(
            self,
            X,
            y,
            "lead scoring",
            empty="lead scoring needs closed opportunities to learn from; got none",
        )
        self.numeric_, self.categorical_ = _split_columns(X, self.numeric, self.categorical)
        self.feature_names_in_ = self.numeric_ + self.categorical_
        self.n_features_in_ = X.shape[1] if self._fitted_on_array else len(self.feature_names_in_)
        rows = fit_rows(len(X), self.max_samples, self.random_state)
        X, y = X[self.feature_names_in_].iloc[rows], y[rows]
        self.n_fitted_ = len(rows)
        folds = min(self.cv, int(np.bincount(y).min()))
        if self.calibration == "none" or folds < 2:
            self.calibration_ = "none"
            self.estimator_ = self._pipeline().fit(X, y)
        else:
            self.calibration_ = self.calibration
            self.estimator_ = CalibratedClassifierCV(
                self._pipeline(), method=self.calibration, cv=folds, ensemble=False
            ).fit(X, y)
        final = (
            self.estimator_
            if self.calibration_ == "none"
            else self.estimator_.calibrated_classifiers_[0].estimator
        )
        self.n_iter_ = int(np.max(final[-1].n_iter_))
        return self

    @_one_thread
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        X = _as_frame(self, X, reset=False)
        return self.estimator_.predict_proba(X[self.feature_names_in_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        won = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[won.astype(int)]


MODEL_LABELS = {
    "baseline": "baseline: win rate by industry × size band",
    "logistic": "logistic regression (calibrated)",
    "boosting": "gradient boosting (calibrated)",
}


def reliability_table(y_true, probability, *, bins: int = 10) -> pd.DataFrame:
    """Reliability (calibration) table: equal-count bins of predicted probability.

    Returns ``bin``, ``n``, ``mean_predicted``, ``observed_rate`` per bin; a calibrated model
    has ``observed_rate`` ≈ ``mean_predicted``.

    >>> reliability_table([0, 1, 0, 1], [0.1, 0.2, 0.8, 0.9], bins=2)["observed_rate"].tolist()
    [0.5, 0.5]
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probability, dtype=float)
    bins = max(1, min(bins, len(y)))
    order = np.argsort(p, kind="stable")
    b = np.empty(len(y), dtype=int)
    b[order] = np.arange(len(y)) * bins // len(y)
    frame = pd.DataFrame({"bin": b + 1, "y": y, "p": p})
    g = frame.groupby("bin")
    return pd.DataFrame(
        {"n": g.size(), "mean_predicted": g["p"].mean(), "observed_rate": g["y"].mean()}
    ).reset_index()


def lift_table(y_true, probability, *, groups: int = 10) -> pd.DataFrame:
    """Lift by decile: rank by score (decile 1 = the highest 10 %), win rate per decile.

    Returns ``decile``, ``n``, ``wins``, ``win_rate``, ``lift`` (win rate ÷ overall win rate)
    and ``cumulative_wins_share`` (share of all wins found in deciles 1..d).

    >>> lift_table([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1], groups=2)["lift"].tolist()
    [2.0, 0.0]
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probability, dtype=float)
    groups = max(1, min(groups, len(y)))
    order = np.argsort(-p, kind="stable")
    d = np.empty(len(y), dtype=int)
    d[order] = np.arange(len(y)) * groups // len(y)
    g = pd.DataFrame({"decile": d + 1, "y": y}).groupby("decile")["y"]
    out = pd.DataFrame({"n": g.size(), "wins": g.sum()})
    out["win_rate"] = out["wins"] / out["n"]
    overall = y.mean()
    out["lift"] = out["win_rate"] / overall if overall > 0 else np.nan
    out["cumulative_wins_share"] = out["wins"].cumsum() / max(y.sum(), 1e-300)
    return out.reset_index()


@dataclasses.dataclass(frozen=True)
class LeadModelComparison:
    """Held-out comparison of the baseline and both lead-scoring models.

    Attributes
    ----------
    metrics : DataFrame
        Per model (index ``baseline``, ``logistic``, ``boosting``): ``model`` label, ``roc_auc``,
        ``brier``, ``log_loss``, ``top_decile_lift``.
    reliability, lift : DataFrame
        :func:`reliability_table` and :func:`lift_table` per model (column ``model``).
    predictions : DataFrame
        Test opportunities with ``won`` and one probability column per model.
    best : str
        The model with the lowest Brier score (``logistic`` or ``boosting``); it scores leads.
    models : dict
        Fitted estimators (trained on the training period only).
    split : TimeSplit
    """

    metrics: pd.DataFrame
    reliability: pd.DataFrame
    lift: pd.DataFrame
    predictions: pd.DataFrame
    best: str
    models: Mapping[str, WinRateBaseline | LeadScorer]
    split: TimeSplit
    seed: int

    @property
    def beats_baseline(self) -> bool:
        m = self.metrics
        return bool(m.loc[self.best, "brier"] < m.loc["baseline", "brier"])

    def summary(self) -> pd.DataFrame:
        m = self.metrics
        verdict = "better" if self.beats_baseline else "NOT better"
        rows = [
            ("test period", f"{self.split.test_start:%Y-%m-%d} to {self.split.test_end:%Y-%m-%d}"),
            (
                "training / test opportunities",
                f"{len(self.split.train):,} / {len(self.split.test):,}",
            ),
            ("best model (lowest Brier score)", MODEL_LABELS[self.best]),
            (
                "ROC AUC: best model vs baseline",
                f"{m.loc[self.best, 'roc_auc']:.3f} vs {m.loc['baseline', 'roc_auc']:.3f}",
            ),
            (
                "Brier score: best model vs baseline",
                f"{m.loc[self.best, 'brier']:.4f} vs {m.loc['baseline', 'brier']:.4f} ({verdict})",
            ),
        ]
        if not math.isnan(m.loc[self.best, "brier_gain_low"]):
            lo, hi = m.loc[self.best, ["brier_gain_low", "brier_gain_high"]]
            sure = (
                "clearly better"
                if lo > 0
                else "clearly worse"
                if hi < 0
                else "within the noise of one test period"
            )
            rows.append(
                (
                    "Brier gain over baseline, 95% bootstrap interval",
                    f"{lo:+.4f} to {hi:+.4f} ({sure})",
                )
            )
        return pd.DataFrame(rows, columns=["measure", "value"]).set_index("measure")

    def to_frame(self) -> pd.DataFrame:
        return self.metrics.copy()

    def _repr_html_(self) -> str:
        return _html_block(
            "Lead-scoring models on the held-out period",
            [("Summary", self.summary()), ("Metrics", self.metrics)],
        )


@_one_thread
def compare_lead_models(
    split: TimeSplit,
    *,
    seed: int = 0,
    calibration: str = "sigmoid",
    bins: int = 10,
    bootstrap: int = 200,
    max_samples: int | None = FIT_SAMPLE,
) -> LeadModelComparison:
    """Fit the baseline, a calibrated logistic regression and calibrated gradient boosting on the
    training period; compare them on the test period.

    The split is checked first (:meth:`TimeSplit.check`): a training opportunity closed in or
    after the test period raises :class:`LeakageError`.

    Parameters
    ----------
    split : TimeSplit
        From :func:`time_split`.
    seed : int
        Seed of the gradient boosting.
    calibration : str
        Calibration method of both models (see :class:`LeadScorer`).
    bins : int
        Bins of the reliability table (fewer when the test period has under 30 opportunities
        per bin).
    bootstrap : int
        Resamples of the test opportunities for 95 % intervals of ROC AUC and of each model's
        Brier-score gain over the baseline (0 skips them).
    max_samples : int or None
        Most training deals each model is fitted on (a seeded sample beyond it; None: all).
        The baseline counts every deal, and every test deal is scored.

    Returns
    -------
    LeadModelComparison
        ROC AUC (ranking: 0.5 = random, 1 = perfect), Brier score (mean squared error of the
        probability, lower is better), log loss and the win-rate lift of the top decile, with
        bootstrap intervals.
    """
    split.check()
    train, test = split.train, split.test
    y_train = train["won"].to_numpy(dtype=int)
    y_test = test["won"].to_numpy(dtype=int)
    _two_classes(y_train, "lead scoring (training period)")
    if len(set(y_test.tolist())) < 2:
        raise ValueError(
            "the test period's opportunities were all "
            f"{'won' if y_test[0] else 'lost'}: ROC AUC is undefined "
            "(use more test_quarters)"
        )
    features = list(split.feature_columns)
    cats = [c for c in features if c in ("industry", "deal_type")]
    nums = [c for c in features if c not in cats]
    models: dict[str, WinRateBaseline | LeadScorer] = {
        "baseline": WinRateBaseline(),
        "logistic": LeadScorer(
            "logistic",
            calibration,
            numeric=nums,
            categorical=cats,
            log_columns=LEAD_LOG,
            max_samples=max_samples,
            random_state=seed,
        ),
        "boosting": LeadScorer(
            "boosting",
            calibration,
            numeric=nums,
            categorical=cats,
            log_columns=LEAD_LOG,
            max_samples=max_samples,
            random_state=seed,
        ),
    }
    base_cols = list(BASELINE_COLUMNS)
    bins = max(2, min(bins, len(test) // 30))  # ≥ 30 opportunities per bin, or the curve is noise
    preds = test[["opportunity_id", "account_id", "created_date", "close_date", "won"]].copy()
    rows, rel, lifts = [], [], []
    for name, model in models.items():
        cols = base_cols if name == "baseline" else features
        model.fit(train[cols], y_train)
        p = model.predict_proba(test[cols])[:, 1]
        preds[name] = p
        lt = lift_table(y_test, p)
        rows.append(
            {
                "model": MODEL_LABELS[name],
                "roc_auc": roc_auc_score(y_test, p),
                "brier": brier_score_loss(y_test, p),
                "log_loss": log_loss(y_test, np.clip(p, 1e-6, 1 - 1e-6)),
                "top_decile_lift": float(lt["lift"].iloc[0]),
            }
        )
        rel.append(reliability_table(y_test, p, bins=bins).assign(model=name))
        lifts.append(lt.assign(model=name))
    metrics = pd.DataFrame(rows, index=list(models)).rename_axis("key")
    metrics = metrics.join(_bootstrap_intervals(y_test, preds[list(models)], bootstrap, seed))
    best = str(metrics.loc[["logistic", "boosting"], "brier"].idxmin())
    return LeadModelComparison(
        metrics=metrics,
        reliability=pd.concat(rel, ignore_index=True),
        lift=pd.concat(lifts, ignore_index=True),
        predictions=preds,
        best=best,
        models=models,
        split=split,
        seed=seed,
    )


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (average ranks for ties): the chance that a won
    deal scores above a lost one. Same value as ``roc_auc_score``, without its input checks."""
    ranks = rankdata(p)
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _bootstrap_intervals(y: np.ndarray, probs: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """95 % percentile intervals of ROC AUC and of the Brier gain over the baseline (paired:
    every model is scored on the same resampled opportunities)."""
    cols = ["roc_auc_low", "roc_auc_high", "brier_gain", "brier_gain_low", "brier_gain_high"]
    if n <= 0:
        return pd.DataFrame(np.nan, index=probs.columns, columns=cols)
    rng = np.random.default_rng(seed)
    P = probs.to_numpy()
    aucs: list[list[float]] | np.ndarray
    gains: list[np.ndarray] | np.ndarray
    aucs, gains = [], []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        yb = y[idx]
        if yb.min() == yb.max():
            continue
        aucs.append([_auc(yb, P[idx, j]) for j in range(P.shape[1])])
        brier = ((P[idx] - yb[:, None]) ** 2).mean(axis=0)
        gains.append(brier[0] - brier)  # column 0 is the baseline
    aucs, gains = np.array(aucs), np.array(gains)
    full = ((P - y[:, None]) ** 2).mean(axis=0)
    return pd.DataFrame(
        {
            "roc_auc_low": np.percentile(aucs, 2.5, axis=0),
            "roc_auc_high": np.percentile(aucs, 97.5, axis=0),
            "brier_gain": full[0] - full,
            "brier_gain_low": np.percentile(gains, 2.5, axis=0),
            "brier_gain_high": np.percentile(gains, 97.5, axis=0),
        },
        index=probs.columns,
    )


@_one_thread
def ideal_customer_profile(comparison: LeadModelComparison, *, repeats: int = 5) -> pd.DataFrame:
    """What drives wins, in business words: the ideal customer profile.

    Importance is the drop in held-out ROC AUC when a feature's values are shuffled
    (permutation importance of the best model on the test period: model-agnostic, and honest
    because the model never saw those deals; on a seeded sample of the best model's
    ``max_samples`` test deals when there are more). The direction comes from the logistic
    regression fitted on the training period: the change in win odds when the feature moves
    from its 25th to its 75th percentile (others at their median), or, for industry, the
    industries with the best and worst odds.

    Returns
    -------
    DataFrame
        ``driver`` (business label), ``importance_auc`` (mean AUC drop), ``importance_sd``,
        ``odds_ratio`` (75th vs 25th percentile; NaN for categories), ``effect`` (a sentence),
        sorted by importance.
    """
    split = comparison.split
    features = list(split.feature_columns)
    best = comparison.models[comparison.best]
    limit = best.max_samples if isinstance(best, LeadScorer) else None
    test = split.test.iloc[fit_rows(len(split.test), limit, comparison.seed)]
    imp = permutation_importance(
        best,
        test[features],
        test["won"].to_numpy(dtype=int),
        scoring="roc_auc",
        n_repeats=repeats,
        random_state=comparison.seed,
    )
    logit = comparison.models["logistic"]
    lr = LeadScorer(
        "logistic",
        "none",
        numeric=logit.numeric_,
        categorical=logit.categorical_,
        log_columns=logit.log_columns,
        max_samples=logit.max_samples,
    ).fit(split.train[features], split.train["won"].to_numpy(dtype=int))
    X = split.train[features]
    ref = {c: (X[c].median() if c in lr.numeric_ else X[c].mode().iloc[0]) for c in features}

    def log_odds(column: str, values: Sequence) -> np.ndarray:
        rows = pd.DataFrame([{**ref, column: v} for v in values])[features]
        p = np.clip(lr.predict_proba(rows)[:, 1], 1e-9, 1 - 1e-9)
        return np.log(p / (1 - p))

    rows = []
    for i, col in enumerate(features):
        label = lead_feature_label(col)
        if col in lr.numeric_:
            lo, hi = X[col].quantile([0.25, 0.75]).to_numpy(dtype=float)
            if hi == lo:
                lo, hi = float(X[col].min()), float(X[col].max())
            ratio = float(np.exp(np.diff(log_odds(col, [lo, hi]))[0])) if hi > lo else 1.0
            direction = "raises" if ratio > 1 else "lowers"
            effect = (
                (
                    f"from {lo:,.3g} to {hi:,.3g} (25th to 75th percentile) {direction} the odds "
                    f"of winning ×{ratio:.2f}"
                )
                if hi > lo
                else "hardly varies"
            )
        else:
            levels = sorted(X[col].dropna().astype(str).unique())
            lo_ = log_odds(col, levels)
            order = np.argsort(-lo_)
            best_l = ", ".join(levels[j] for j in order[:2])
            worst_l = ", ".join(levels[j] for j in order[::-1][:2])
            ratio = np.nan
            spread = float(np.exp(lo_.max() - lo_.min()))
            effect = f"best odds: {best_l}; worst: {worst_l} (odds ×{spread:.2f} best vs worst)"
        rows.append(
            {
                "driver": label,
                "feature": col,
                "importance_auc": float(imp.importances_mean[i]),
                "importance_sd": float(imp.importances_std[i]),
                "odds_ratio": ratio,
                "effect": effect,
            }
        )
    return pd.DataFrame(rows).sort_values("importance_auc", ascending=False, ignore_index=True)
