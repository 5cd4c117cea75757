"""Small helpers shared by the segmentation modules: input checks, the one-thread guard of the
models, the results objects' HTML and the owner-rep column."""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from ..config import UNASSIGNED

FIT_SAMPLE = 100_000
"""Default most rows a segmentation or lead model is fitted on (their ``max_samples``): beyond
it, a seeded random sample of this many (:func:`fit_rows`), and every row is then predicted.
Cluster centres and a win-probability model from 100,000 rows differ from full-data ones far
less than the segments are apart or than the model's own test error; fitting on every row of a
million-account company took seven of notebook 02's fourteen minutes (docs/segments.md)."""


def fit_rows(n: int, max_samples: int | None, seed: int) -> np.ndarray:
    """Rows a model is fitted on: all ``n`` when ``max_samples`` is None or not below ``n``,
    else a seeded random sample of ``max_samples`` rows (sorted, so the order is the data's).

    >>> fit_rows(4, None, 0).tolist(), len(fit_rows(1000, 10, 0)), len(set(fit_rows(9, 5, 1)))
    ([0, 1, 2, 3], 10, 5)
    """
    if max_samples is not None and max_samples < 1:
        raise ValueError(f"max_samples must be ≥ 1 or None, got {max_samples}")
    if max_samples is None or n <= max_samples:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_samples, replace=False))


def _one_thread(func):
    """Run ``func`` with one OpenMP/BLAS thread: these models are small, and several threads
    competing for a shared machine's cores make k-means and boosting many times slower."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return func(*args, **kwargs)

    return wrapper


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {', '.join(missing)}")


def _html_block(title: str, frames: Sequence[tuple[str, pd.DataFrame]]) -> str:
    """A results object's HTML: a heading, then captioned tables."""
    parts = [f"<h4>{html.escape(title)}</h4>"]
    for caption, frame in frames:
        parts.append(f"<p><b>{html.escape(caption)}</b></p>{frame.to_html(float_format=_fmt)}")
    return "\n".join(parts)


def _fmt(x: float) -> str:
    return f"{x:,.3f}" if abs(x) < 10 else f"{x:,.0f}"


def _owner(accounts: pd.DataFrame) -> pd.Series:
    return (
        accounts["owner_rep_id"].astype(object).where(accounts["owner_rep_id"].notna(), UNASSIGNED)
    )
