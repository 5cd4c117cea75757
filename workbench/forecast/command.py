"""The ``workbench forecast`` command: read a ``series_id,period,value`` CSV, forecast every
series, write the forecasts."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .engine import ShortSeriesWarning, _series_problems, forecast_series
from .methods import parse_period


class ForecastInputError(ValueError):
    """The series input is unusable; the message names the file, column and line."""


# ---------------------------------------------------------------------------------------------
# The `workbench forecast` command


def read_series_csv(path: str | Path) -> pd.DataFrame:
    """Read and check a ``series_id,period,value`` CSV; every problem named with file, line,
    column.

    Raises
    ------
    ForecastInputError
        Missing file or column, unparseable period or value, mixed frequencies, duplicates,
        gaps. Line numbers are the file's (header = line 1).
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise ForecastInputError(f"{name}: file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ForecastInputError(f"{name}: cannot be read as CSV ({exc})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("series_id", "period", "value") if c not in df.columns]
    if missing:
        raise ForecastInputError(
            f"{name}: missing column(s) {', '.join(missing)} (expected series_id,period,value; "
            f"found {','.join(df.columns)})"
        )
    if df.empty:
        raise ForecastInputError(f"{name}: no rows below the header")
    lines = pd.Series(np.arange(len(df)) + 2, index=df.index)
    problems: list[str] = []
    periods = []
    for i, text in df["period"].items():
        try:
            periods.append(parse_period(text))
        except ValueError:
            periods.append(None)
            problems.append(
                f"{name}:{lines[i]}: column period: {text!r} is not a quarter "
                "(YYYYQn, e.g. 2024Q3) or a month (YYYY-MM, e.g. 2024-07)"
            )
    values = pd.to_numeric(df["value"].str.strip(), errors="coerce")
    for i in df.index[values.isna() | ~np.isfinite(values.fillna(0.0))]:
        problems.append(f"{name}:{lines[i]}: column value: {df.at[i, 'value']!r} is not a number")
    for i in df.index[df["series_id"].str.strip() == ""]:
        problems.append(f"{name}:{lines[i]}: column series_id: empty series id")
    if problems:
        raise ForecastInputError(_join(problems))
    out = pd.DataFrame(
        {"series_id": df["series_id"].str.strip(), "period": periods, "value": values.astype(float)}
    )
    structural = _series_problems(out, lines)
    if structural:
        raise ForecastInputError(_join([f"{name}: {p}" for p in structural]))
    return out


def _join(problems: list[str], limit: int = 20) -> str:
    more = len(problems) - limit
    text = "\n".join(problems[:limit])
    return text + (f"\n… and {more} more problem(s)" if more > 0 else "")


def run_forecast_command(args: argparse.Namespace) -> int:
    """``workbench forecast --series S.csv --horizon H [--level L] [--jobs N] --out F.csv``.

    Writes ``series_id,period,mean,lower,upper`` atomically; returns 0, or 2 with the problem
    on stderr (nothing written).
    """
    from ..io import write_frame

    prog = "workbench forecast"
    problems = []
    if args.horizon < 1:
        problems.append(f"--horizon must be ≥ 1, got {args.horizon}")
    if not 0 < args.level < 1:
        problems.append(f"--level must be between 0 and 1 (e.g. 0.8), got {args.level}")
    jobs = getattr(args, "jobs", 1)
    if jobs < 1:
        problems.append(f"--jobs must be ≥ 1, got {jobs}")
    if problems:
        print(f"{prog}: " + "; ".join(problems), file=sys.stderr)
        return 2
    try:
        series = read_series_csv(args.series)
    except ForecastInputError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ShortSeriesWarning)
        results = forecast_series(series, horizon=args.horizon, level=args.level, n_jobs=jobs)
    for w in caught:
        if issubclass(w.category, ShortSeriesWarning):
            print(f"{prog}: warning: {w.message}", file=sys.stderr)
    frame = results.to_frame()
    write_frame(frame, args.out)
    chosen = results.chosen.value_counts()
    print(
        f"{prog}: {series['series_id'].nunique()} series, {args.horizon} periods ahead, "
        f"{args.level:.0%} intervals -> {args.out}"
    )
    print("  forecast with: " + ", ".join(f"{k} {v}" for k, v in chosen.items()))
    return 0
