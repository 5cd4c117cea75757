"""scikit-learn's estimator checks on the package's estimators (issue 14, item 7).

``parametrize_with_checks`` runs scikit-learn's common checks (API, input validation, cloning,
pickling, fitting on plain arrays, lists and DataFrames, …) on each estimator. The models are
built for DataFrames with named columns and won (1) / lost (0) labels; on a plain array they
name the columns ``x0..x{n-1}``, and their tags (``__sklearn_tags__``) declare what they
accept: binary classifiers only, missing values and text columns allowed, no sparse input.
Fits are kept small (two candidate ``k``, few restarts, few boosting rounds) so the whole
module runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from workbench.segments import AccountSegmenter, LeadScorer, WinRateBaseline

ESTIMATORS = [
    AccountSegmenter(k_range=(2, 3), stability_runs=0, n_init=2),
    AccountSegmenter("gmm", k_range=(2, 3), stability_runs=1, n_init=2),
    WinRateBaseline(columns=None),  # an array has no industry/size_band: key on all columns
    LeadScorer(),
    LeadScorer("boosting", max_iter=10),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------------------------
# What the tags and the array path promise, spelled out


def test_tags_declare_binary_classifiers_with_missing_values_and_text():
    for est in ESTIMATORS:
        tags = get_tags(est)
        assert tags.input_tags.allow_nan and tags.input_tags.string
        assert not tags.input_tags.sparse
        if tags.classifier_tags is not None:
            assert tags.classifier_tags.multi_class is False
    assert get_tags(WinRateBaseline()).input_tags.categorical
    assert get_tags(AccountSegmenter()).estimator_type == "clusterer"


def frame_and_labels(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "x": x,
            "employees": rng.lognormal(3, 1, n),
            "industry": rng.choice(["Retail", "Logistics"], n),
            "size_band": rng.choice(["s", "l"], n),
            "notes": "not a feature",
        }
    )
    return X, (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)


def test_a_frame_keeps_named_columns_and_won_lost_classes():
    X, y = frame_and_labels()
    scorer = LeadScorer(numeric=["x", "employees"], categorical=["industry"]).fit(X, y)
    assert scorer.feature_names_in_ == ["x", "employees", "industry"]
    assert scorer.n_features_in_ == 3  # the columns it reads; "notes" and "size_band" ignored
    assert scorer.classes_.tolist() == [0, 1] and scorer.n_iter_ >= 1
    # column order and extra columns of a later frame do not matter: selection is by name
    p = scorer.predict_proba(X[["industry", "notes", "employees", "x"]])
    np.testing.assert_array_equal(p, scorer.predict_proba(X))
    with pytest.raises(ValueError, match="fitted on a DataFrame and selects its columns by name"):
        scorer.predict(X[["x", "employees", "industry"]].to_numpy())
    base = WinRateBaseline().fit(X, y)
    assert base.feature_names_in_ == ["industry", "size_band"] and base.n_features_in_ == 2


def test_a_plain_array_gets_columns_x0_to_xn():
    X, y = frame_and_labels()
    arr = X[["x", "employees"]].to_numpy()
    scorer = LeadScorer().fit(arr, y)
    assert scorer.feature_names_in_ == ["x0", "x1"] and scorer.n_features_in_ == 2
    frame = pd.DataFrame(arr, columns=["x0", "x1"])
    named = LeadScorer().fit(frame, y)
    np.testing.assert_array_equal(scorer.predict_proba(arr), named.predict_proba(frame))
    # fitted on an array, a frame is read by position (as scikit-learn does)
    np.testing.assert_array_equal(
        scorer.predict_proba(frame[::-1]), scorer.predict_proba(arr[::-1])
    )
    with pytest.raises(ValueError, match="X has 1 features, but LeadScorer is expecting 2"):
        scorer.predict(arr[:, :1])
    seg = AccountSegmenter(k_range=(2, 3), stability_runs=0).fit(arr)
    assert seg.predict(arr).tolist() == seg.labels_.tolist()
    with pytest.raises(ValueError, match="array without column\\(s\\) industry, size_band"):
        WinRateBaseline().fit(arr, y)


def test_any_two_labels_work_and_the_second_counts_as_won():
    X, y = frame_and_labels()
    words = np.where(y == 1, "won", "lost")
    scorer = LeadScorer(numeric=["x"], categorical=[]).fit(X, words)
    ref = LeadScorer(numeric=["x"], categorical=[]).fit(X, y)
    assert scorer.classes_.tolist() == ["lost", "won"]
    np.testing.assert_allclose(scorer.predict_proba(X), ref.predict_proba(X))
    assert (scorer.predict(X) == np.where(ref.predict(X) == 1, "won", "lost")).all()


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (np.linspace(0, 1, 120), ValueError, "Unknown label type: continuous"),
        (np.arange(120) % 3, ValueError, "Only binary classification is supported"),
        (np.arange(119) % 2, ValueError, "inconsistent numbers of samples"),
        (None, ValueError, "requires y to be passed"),
    ],
)
def test_targets_a_won_lost_model_cannot_learn_are_refused(y, error, match):
    X, _ = frame_and_labels()
    for est in (LeadScorer(), WinRateBaseline()):
        with pytest.raises(error, match=match):
            clone(est).fit(X, y)


def test_unfitted_and_sparse_input_are_clear_errors():
    from scipy import sparse

    X, y = frame_and_labels()
    for est in (LeadScorer(), WinRateBaseline(), AccountSegmenter()):
        with pytest.raises(NotFittedError):
            est.predict(X)
    with pytest.raises(TypeError, match="Sparse data was passed"):
        LeadScorer().fit(sparse.csr_array(X[["x", "employees"]].to_numpy()), y)
