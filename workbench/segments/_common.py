"""Small helpers shared by the segmentation modules: input checks, the one-thread guard of the
models, the results objects' HTML and the owner-rep column."""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Sequence

import pandas as pd
from threadpoolctl import threadpool_limits  # installed with scikit-learn

from ..config import UNASSIGNED


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
