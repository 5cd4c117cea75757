"""Table operations that hold at a million rows (workbench/frames.py).

The oracle is a plain Python set: a value is in the pool when the set holds it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.frames import SMALL_POOL, isin


@pytest.mark.parametrize("pool_size", [3, SMALL_POOL + 500])
def test_isin_matches_a_python_set(pool_size):
    rng = np.random.default_rng(pool_size)
    pool = [f"id{i}" for i in rng.integers(0, 2 * pool_size, pool_size)]
    values = pd.Series([f"id{i}" for i in rng.integers(0, 4 * pool_size, 3_000)])
    expected = np.array([v in set(pool) for v in values])
    assert expected.any() and not expected.all()  # both outcomes occur
    assert np.array_equal(isin(values, pool), expected)
    assert np.array_equal(isin(values, set(pool)), expected)  # any iterable
    assert np.array_equal(isin(pd.Index(values), pd.Series(pool)), expected)


def test_isin_missing_values_match_only_a_missing_value():
    big = [f"x{i}" for i in range(SMALL_POOL + 1)]
    values = pd.Series(["x1", None, "y"])
    # as in pandas: a missing value is in the pool exactly when the pool has one
    assert isin(values, big).tolist() == [True, False, False]
    assert isin(values, [*big, None]).tolist() == [True, True, False]
    assert isin(values, ["x1", None]).tolist() == [True, True, False]
