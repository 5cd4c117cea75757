"""Table operations that stay fast at a million accounts.

pandas 3 keeps text in Arrow-backed ``str`` columns. Most operations on them are fast, but
``Series.isin`` builds a Python scalar for every value of the *pool*, so a membership test
against the ids of 17 million opportunity lines took 20 s. :func:`isin` hashes the distinct
pool values once instead (under a second at that size) and gives the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["isin"]

#: Pools up to this size go through ``Series.isin``, which is fast for them.
SMALL_POOL = 1_000


def isin(values: pd.Series | pd.Index | np.ndarray, pool: Iterable[object]) -> np.ndarray:
    """Whether each value is in ``pool``: ``Series.isin`` as a boolean array, for any pool size.

    A missing value matches a missing value in the pool, as in pandas.

    >>> isin(pd.Series(["a", "b", None]), {"b", None})
    array([False,  True,  True])
    """
    if not isinstance(pool, (pd.Series, pd.Index, np.ndarray)):
        pool = list(pool)
    if len(pool) <= SMALL_POOL:
        return np.asarray(pd.Series(values).isin(pool), dtype=bool)
    distinct = pd.Index(pd.unique(pd.Series(pool)))
    return np.asarray(distinct.get_indexer(pd.Index(values)) >= 0, dtype=bool)
