"""Concentration of revenue (or of any non-negative measure): the one Gini coefficient and the one
top-share definition, used by notebook 02 (Pareto analysis) and notebook 04 (KPI review).

* ``gini(x) = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x))`` over the ``n`` values given (zeros
  count; missing values are ignored). 0 when all are equal, ``1 - 1/n`` when one holds all.
  It equals one minus twice the area under the Lorenz curve.
* ``top_share(x, share)`` = the part of the total held by the largest ``ceil(share * n)``
  values, ``n`` the number of positive values (customers with revenue): "the top 20 % of
  customers" is a whole number of customers, at least one.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["TOP_SHARE", "gini", "top_count", "top_share"]

#: The share of customers that "the top customers" means by default (the top 20 %).
TOP_SHARE = 0.2


def gini(values: Iterable[float] | pd.Series) -> float:
    """Gini coefficient of non-negative values: 0 when all are equal, towards 1 when one has all.

    ``G = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x))``, computed from the sorted values as
    ``sum_i (2i - n - 1) x_(i) / (n sum(x))``; missing values are ignored; empty (NaN) for no
    values or a zero mean.

    >>> round(gini([0.5, 1.0, 1.5]), 4), gini([1.0, 1.0]), gini([]), gini([0, 0, 0, 10])
    (0.2222, 0.0, nan, 0.75)
    """
    x = pd.Series(list(values) if not hasattr(values, "__len__") else values, dtype="float64")
    x = x.dropna().to_numpy()
    if x.size == 0 or x.mean() <= 0:
        return float("nan")
    # the pairwise sum in O(n log n): sum_i sum_j |x_i - x_j| = 2 sum_i (2i - n - 1) x_(i)
    # over the sorted values (a million customers would need a terabyte as an n x n array)
    x = np.sort(x)
    n = x.size
    rank = np.arange(1, n + 1, dtype="float64")
    return float(((2 * rank - n - 1) * x).sum() / (n * x.sum()))


def top_count(n: int | np.ndarray, share: float = TOP_SHARE) -> int | np.ndarray:
    """How many customers "the top ``share``" of ``n`` customers are: ``ceil(share * n)``.

    The product is rounded to 9 decimals first: 0.2 x 15 is 3.0000000000000004 in floating
    point, whose ceiling would be 4.

    >>> top_count(15), top_count(16), top_count(1)
    (3, 4, 1)
    """
    k = np.ceil(np.round(share * np.asarray(n, dtype=float), 9))
    return int(k) if np.ndim(k) == 0 else k.astype(np.int64)


def top_share(values: Iterable[float] | pd.Series, *, share: float = TOP_SHARE) -> float:
    """Part of the total held by the largest ``top_count(n, share)`` values, ``n`` the number
    of positive values; NaN when no value is positive.

    >>> top_share([10, 30, 60], share=1 / 3)  # the largest of three customers
    0.6
    >>> round(top_share([1, 1, 1, 1, 1, 5]), 4)  # 20 % of 6 customers: the top 2
    0.6
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    x = np.asarray(list(values) if not hasattr(values, "__len__") else values, dtype=float)
    x = np.sort(x[x > 0])[::-1]
    if x.size == 0:
        return float("nan")
    return float(x[: top_count(x.size, share)].sum() / x.sum())
