"""Feature preprocessing shared by the customer segmenter and the lead-scoring models: their
input (:func:`_as_frame`), imputation, ``log1p`` of skewed columns, scaling and one-hot
categories."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_array


def _as_frame(estimator, X, *, reset: bool, ensure_all_finite: bool | str = "allow-nan"):
    """The models' input as a DataFrame whose columns they select by name.

    A DataFrame (the package's own input) is returned untouched. Anything else is read by
    scikit-learn's ``check_array`` (sparse, complex, 1-D, empty and, at fit, single-sample
    input raise clear errors), its columns named ``x0..x{n-1}`` and typed like a DataFrame's
    (numbers numeric, text categorical). ``reset=True`` (fit) records whether the model saw an
    array; later calls then need an array of the same width (``n_features_in_``), or a
    DataFrame when the model was fitted on one.
    """
    name = type(estimator).__name__
    if reset:
        estimator._fitted_on_array = not isinstance(X, pd.DataFrame)
        if not estimator._fitted_on_array:
            return X
    elif not getattr(estimator, "_fitted_on_array", False):
        if isinstance(X, pd.DataFrame):
            return X
        raise ValueError(
            f"{name} was fitted on a DataFrame and selects its columns by name: pass a "
            f"DataFrame with the column(s) {', '.join(map(str, estimator.feature_names_in_))}, "
            f"not a {type(X).__name__}"
        )
    arr = check_array(
        X,
        dtype=None,
        ensure_all_finite=ensure_all_finite,
        ensure_min_samples=2 if reset else 1,
        estimator=estimator,
        input_name="X",
    )
    if not reset and arr.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {arr.shape[1]} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])]).infer_objects()


def _log1p(x):
    return np.log1p(np.clip(np.asarray(x, dtype=float), 0, None))


def _preprocessor(
    numeric: Sequence[str],
    categorical: Sequence[str],
    log_columns: Sequence[str],
    *,
    scale: bool = True,
) -> ColumnTransformer:
    """Imputation (median / most frequent), log1p on skewed columns, scaling and one-hot."""
    logged = [c for c in numeric if c in log_columns]
    plain = [c for c in numeric if c not in log_columns]
    steps = []
    scaler = [StandardScaler()] if scale else []
    if logged:
        log = FunctionTransformer(_log1p, feature_names_out="one-to-one")
        steps.append(("log", make_pipeline(log, SimpleImputer(strategy="median"), *scaler), logged))
    if plain:
        steps.append(("num", make_pipeline(SimpleImputer(strategy="median"), *scaler), plain))
    if categorical:
        steps.append(
            (
                "cat",
                make_pipeline(
                    FunctionTransformer(_as_text, feature_names_out="one-to-one"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                list(categorical),
            )
        )
    return ColumnTransformer(steps, verbose_feature_names_out=False)


def _as_text(frame):
    """Categories as plain text with an explicit '(missing)' level (no NaN in one-hot input)."""
    df = pd.DataFrame(frame)
    return df.astype(object).where(df.notna(), "(missing)").astype(str).to_numpy(dtype=object)


def _split_columns(X: pd.DataFrame, numeric, categorical) -> tuple[list[str], list[str]]:
    if numeric is None:
        numeric = [
            c
            for c in X.columns
            if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
        ]
    if categorical is None:
        categorical = [c for c in X.columns if c not in numeric]
    numeric = [c for c in numeric if c in X.columns and X[c].notna().any()]
    categorical = [c for c in categorical if c in X.columns]
    if not numeric and not categorical:
        raise ValueError("no usable feature columns (every numeric column is empty)")
    return list(numeric), list(categorical)
