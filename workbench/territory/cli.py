"""``workbench design``: files in, plan file out, summary on stdout, problems on stderr.

Exit codes: 0 plan meets every constraint; 2 bad input (nothing written); 3 a plan was written
but some constraint could not be met (each one explained on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import ParameterError
from .problem import BAND_TOL

__all__ = ["EXIT_BAD_INPUT", "EXIT_CONSTRAINT", "EXIT_OK", "run_adjacency", "run_design"]

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_CONSTRAINT = 3


def _read_csv(path: Path | None, label: str, problems: list[str]) -> pd.DataFrame | None:
    """Read a CSV with every column as text (ids keep their leading zeros; numbers are
    converted and checked later, so a bad value is reported with its line)."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        problems.append(f"{path}: file not found (--{label})")
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        problems.append(f"{path}: file is empty; expected a header row (--{label})")
        return None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot be read as UTF-8 CSV ({exc})")
        return None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _parse_tolerance(text: str, problems: list[str]) -> list[float] | None:
    values = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            values.append(float(part))
        except ValueError:
            problems.append(f"--tolerance: expected numbers such as 0.05, got {part!r}")
            return None
    if not values:
        problems.append("--tolerance: expected one number, or one per measure")
        return None
    return values


def _write_atomic(frame: pd.DataFrame, out: Path) -> None:
    """Write the CSV through :func:`workbench.io.write_bytes_atomic`: readers never see half a
    plan, symlinks and special files are refused, and the file follows the umask."""
    from ..io import write_bytes_atomic

    write_bytes_atomic(Path(out), frame.to_csv(index=False).encode("utf-8"))


def format_plan(plan, *, source: str = "") -> str:
    """The text the command prints: balance per measure, compactness, contiguity, disruption,
    bound and gap, then the territory table."""
    lines = [f"{plan.k} territories from {len(plan.units)} units{f' ({source})' if source else ''}"]
    lines.append("balance (worst territory's deviation from the mean):")
    for m in plan.measures:
        dev = 100 * plan.max_deviation[m]
        tol = 100 * plan.tolerance[m]
        lines.append(
            f"  {m:<20} {dev:6.2f}%  (tolerance {tol:.2f}%)  "
            f"{'ok' if plan.max_deviation[m] <= plan.tolerance[m] + BAND_TOL else 'NOT MET'}"
        )
    lines.append(
        f"compactness: median_km {plan.median_km:.3f} km "
        "(activity-weighted mean distance to the territory centre)"
    )
    if plan.lower_bound_km is not None:
        lines.append(f"lower bound: {plan.lower_bound_km:.3f} km ({plan.bound_detail})")
        if plan.proven_optimal:
            lines.append("proven optimal: no plan meeting every constraint is more compact")
        if plan.gap is not None:
            relaxed = (
                f"; the bound relaxes {', '.join(plan.bound_ignores)}, so their price is "
                "inside the gap"
                if plan.bound_ignores
                else ""
            )
            lines.append(
                f"gap: {100 * plan.gap:.2f}% (objective / bound - 1: the plan is at most "
                f"this far from the best possible{relaxed})"
            )
        else:
            lines.append(
                "gap: n/a (the plan misses a balance band; the bound covers balanced plans only)"
            )
    else:
        lines.append(f"lower bound: none ({plan.bound_detail})")
    c = plan.contiguous
    if c is None:
        lines.append("contiguity: not checked (no --adjacency)")
    else:
        bad = plan.territories.index[~plan.territories["contiguous"].astype(bool)].tolist()
        lines.append(
            "contiguity: every territory is contiguous"
            if c
            else f"contiguity: NOT MET for {', '.join(bad)}"
        )
    if plan.current_given:
        budget = "" if plan.max_moved is None else f", budget {plan.max_moved}"
        lines.append(
            f"disruption: {plan.n_moved} units moved ({100 * plan.share_moved:.1f}%{budget})"
        )
    else:
        lines.append("disruption: no current alignment given")
    for note in plan.notes:
        lines.append(f"note: {note}")
    cols = ["n_units"]
    for m in plan.measures:
        cols += [c for c in (f"{m}_target", f"{m}_dev_pct") if c in plan.territories]
    cols += ["distance_km"]
    cols += [c for c in ("contiguous", "moved_in") if c in plan.territories]
    table = plan.territories[cols].copy()
    for m in plan.measures:
        table[f"{m}_dev_pct"] = table[f"{m}_dev_pct"].round(2)
    table["distance_km"] = table["distance_km"].round(2)
    lines.append(table.to_string())
    return "\n".join(lines)


def run_design(args: argparse.Namespace) -> int:
    """Run ``workbench design`` from parsed arguments; returns the exit code."""
    from .designer import TerritoryDesigner

    problems: list[str] = []
    units = _read_csv(args.units, "units", problems)
    centers = _read_csv(getattr(args, "centers", None), "centers", problems)
    if centers is not None:
        for col in ("lat", "lon"):
            if col not in centers.columns:
                problems.append(f"{args.centers}: column {col} is missing (--centers: lat,lon)")
        _numeric(centers, args.centers, ("lat", "lon"), problems)
    adjacency = _read_csv(getattr(args, "adjacency", None), "adjacency", problems)
    current = _read_csv(getattr(args, "current", None), "current", problems)
    locked = _read_csv(getattr(args, "locked", None), "locked", problems)
    targets = _read_csv(getattr(args, "targets", None), "targets", problems)
    balance = [b.strip() for b in str(args.balance).split(",") if b.strip()]
    if not balance:
        problems.append("--balance: expected one or more measure column names, comma-separated")
    tolerance = _parse_tolerance(getattr(args, "tolerance", "0.05"), problems)
    if tolerance is not None and balance and len(tolerance) not in (1, len(balance)):
        problems.append(
            f"--tolerance: got {len(tolerance)} values for {len(balance)} measures "
            f"({', '.join(balance)}); give one value or one per measure"
        )
        tolerance = None
    if problems and units is None:
        return _fail(problems)
    names = {
        "units": str(args.units),
        "adjacency": str(getattr(args, "adjacency", "") or "adjacency"),
        "current": str(getattr(args, "current", "") or "current"),
        "locked": str(getattr(args, "locked", "") or "locked"),
        "centers": str(getattr(args, "centers", "") or "centers"),
        "targets": str(getattr(args, "targets", "") or "targets"),
    }
    time_limit = getattr(args, "time_limit", 60.0)
    if not time_limit > 0:
        problems.append(f"--time-limit: expected seconds > 0, got {time_limit}")
    target_gap = getattr(args, "target_gap", 0.01)
    if not target_gap >= 0:
        problems.append(f"--target-gap: expected a share >= 0 (0.01 = 1 %), got {target_gap}")
    effort = getattr(args, "effort", 1.0)
    if not effort > 0:
        problems.append(f"--effort: expected a number > 0, got {effort}")
    quiet = getattr(args, "quiet", False)
    region = getattr(args, "region", None)
    options: dict[str, Any] = {
        "tolerance": tolerance if tolerance is not None else 0.05,
        "max_moved": getattr(args, "max_moved", None),
        "seed": getattr(args, "seed", 0),
        "time_limit": time_limit if time_limit > 0 else 60.0,
        "target_gap": target_gap if target_gap >= 0 else 0.01,
        "effort": effort if effort > 0 else 1.0,
        "compute_bound": not getattr(args, "no_bound", False),
        "progress": None if quiet else (lambda msg: print(msg, file=sys.stderr, flush=True)),
    }
    try:
        if region:
            plan = _design_in_regions(
                args, units, region, balance, adjacency, current, locked, centers, targets,
                options, problems,
            )  # fmt: skip
            if plan is None:
                return _fail(problems)
        else:
            designer = TerritoryDesigner(k=args.k, balance=balance, **options)
            plan = designer.solve(
                units,
                adjacency=adjacency,
                current=current,
                locked=locked,
                names=names,
                centers=centers,
                targets=targets,
            )
    except ParameterError as exc:
        problems.extend(str(exc).splitlines())
        return _fail(problems)
    if problems:  # e.g. a file that could not be read while the units were fine
        return _fail(problems)
    out = plan.assignment.rename_axis("unit_id").reset_index()
    columns = ["unit_id", "territory"]
    if region:
        out["region"] = plan.units["region"].reindex(out["unit_id"]).to_numpy()
        columns.append("region")
    _write_atomic(out[columns], args.out)
    print(format_plan(plan, source=str(args.units)))
    if region:
        from .hierarchy import rollup

        parent = plan.territories["region"]
        print("by region (per-territory mean against the company's, %):")
        print(rollup(plan, parent, level="region").round(2).to_string())
    print(f"wrote {args.out} ({len(out)} units, {plan.k} territories)")
    if plan.violations:
        print(
            f"workbench design: {len(plan.violations)} constraint(s) not met; the best plan "
            f"found was still written to {args.out}:",
            file=sys.stderr,
        )
        for v in plan.violations:
            print(f"  {v}", file=sys.stderr)
        return EXIT_CONSTRAINT
    return EXIT_OK


def _design_in_regions(
    args, units, region, balance, adjacency, current, locked, centers, targets, options, problems
):
    """``--region``: :func:`~workbench.territory.hierarchy.design_within_regions` (None, with
    the problems listed, when the input cannot be used)."""
    from .hierarchy import design_within_regions

    if centers is not None:
        problems.append("--centers cannot be combined with --region (the regions pick the seats)")
    if targets is not None:
        problems.append("--targets cannot be combined with --region (each region targets its mean)")
    if region not in units.columns:
        problems.append(f"{args.units}: column {region} is missing (--region)")
    else:
        blank = units[region].astype(str).str.strip() == ""
        problems += [
            f"{args.units}:{i + 2}: column {region}: no region" for i in units.index[blank]
        ]
    missing = [m for m in balance if m not in units.columns]
    problems += [f"{args.units}: column {m} is missing (--balance)" for m in missing]
    _numeric(units, args.units, [m for m in balance if m not in missing], problems)
    if problems:
        return None
    return design_within_regions(
        units,
        region=region,
        k=args.k,
        balance=balance,
        adjacency=adjacency,
        current=current,
        locked=locked,
        **options,
    )


def run_adjacency(args: argparse.Namespace) -> int:
    """``workbench adjacency``: Queen contiguity from polygons (``--polygons``), else Delaunay
    adjacency of the unit points (edges longer than ``--max-km`` dropped; none by default).
    Writes ``a,b`` pairs (text ids, ``a < b``) and says how many components the graph has."""
    from ..geo import adjacency_from_points, adjacency_from_polygons, connected_components

    problems: list[str] = []
    units = _read_csv(args.units, "units", problems)
    if units is not None:
        need = ["unit_id"] + ([] if args.polygons else ["lat", "lon"])
        for col in need:
            if col not in units.columns:
                problems.append(f"{args.units}: column {col} is missing")
        if not args.polygons:
            _numeric(units, args.units, ("lat", "lon"), problems)
    if args.polygons is not None and not Path(args.polygons).is_file():
        problems.append(f"{args.polygons}: file not found (--polygons)")
    if problems:
        return _fail(problems, "adjacency")
    assert units is not None  # --units is required; an unreadable file is among the problems
    if args.polygons is not None:
        import geopandas as gpd

        polys = gpd.read_file(args.polygons)
        if "unit_id" not in polys.columns:
            print(
                f"workbench adjacency: {args.polygons}: features have no unit_id property",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        polys["unit_id"] = polys["unit_id"].astype(str)
        keep = set(units["unit_id"].astype(str))
        polys = polys[polys["unit_id"].isin(keep)]
        pairs = adjacency_from_polygons(polys)
        how = "Queen contiguity of the polygons"
    else:
        pairs = adjacency_from_points(units, max_km=args.max_km)
        how = "Delaunay triangulation of the points" + (
            f", edges over {args.max_km:g} km dropped" if args.max_km else ""
        )
    _write_atomic(pairs[["a", "b"]], args.out)
    parts = connected_components(units["unit_id"].astype(str), pairs).nunique()
    print(
        f"wrote {args.out}: {len(pairs)} pairs among {len(units)} units ({how}); "
        f"{parts} connected component{'s' * (parts != 1)}"
    )
    return EXIT_OK


def _numeric(frame: pd.DataFrame, path, columns, problems: list[str]) -> None:
    """Parse ``columns`` (those present) of a CSV read as text as numbers, in place; every
    cell that is not one becomes a problem naming the file, line and column."""
    for col in columns:
        if col not in frame.columns:
            continue
        values = pd.to_numeric(frame[col], errors="coerce")
        for i in values.index[values.isna()]:
            problems.append(
                f"{path}:{i + 2}: column {col}: expected a number, got {frame.at[i, col]!r}"
            )
        frame[col] = values


def _fail(problems: list[str], command: str = "design") -> int:
    print(
        f"workbench {command}: {len(problems)} input problem(s); nothing written:", file=sys.stderr
    )
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    return EXIT_BAD_INPUT
