"""The ``workbench`` command (``python -m workbench`` is the same program).

Each subcommand parses its arguments here and calls one function of the package; heavy imports
happen inside the subcommand so ``workbench --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .config import OutputPathError, ParameterError


class CommandError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


def _cmd_demo(args: argparse.Namespace) -> int:
    from .config import progress_printer
    from .demo import write_demo

    progress = progress_printer(sys.stderr)
    out = write_demo(
        args.out,
        region=args.region,
        seed=args.seed,
        n_accounts=args.accounts,
        format=args.format,
        progress=progress,
    )
    print(out.summary())
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    import os

    from .config import progress_printer
    from .ingest import IngestError, ingest
    from .mapping import MappingError
    from .sources import SourceError

    progress = None if args.quiet else progress_printer(sys.stderr)
    if args.source and args.raw is not None:
        raise CommandError("give either --raw (a folder) or --source (a database), not both")
    source = args.source or (None if args.raw else os.environ.get("WORKBENCH_SOURCE") or None)
    if args.tables and source is None:
        raise CommandError("--tables maps table names of a --source; a folder needs none")
    try:
        result = ingest(
            args.raw or Path("data/raw"),
            args.out,
            problems_file=args.problems,
            mapping=args.mapping,
            source=source,
            tables=args.tables,
            engine=args.engine,
            progress=progress,
        )
    except (MappingError, SourceError) as exc:  # the mapping or source is wrong: a usage error
        raise CommandError(str(exc)) from None
    except IngestError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def _cmd_design(args: argparse.Namespace) -> int:
    from .territory.cli import run_design

    return run_design(args)


def _cmd_adjacency(args: argparse.Namespace) -> int:
    from .territory.cli import run_adjacency

    return run_adjacency(args)


def _cmd_forecast(args: argparse.Namespace) -> int:
    from .forecast import run_forecast_command

    return run_forecast_command(args)


def _cmd_adopt(args: argparse.Namespace) -> int:
    from .config import processed_dir, project_root, resolve
    from .io import stage_folder
    from .territory.adopt import load_scenario, params_file, set_report_scenario

    folder = stage_folder(processed_dir(args.data), "scenarios")
    quarter = args.quarter
    if not args.clear and not args.name:
        raise CommandError("name the saved scenario to adopt, or give --clear")
    if args.clear:
        if not quarter and not args.params:
            raise CommandError(
                "--clear needs --quarter (or --params): the report that stops adopting"
            )
    else:
        try:
            record = load_scenario(folder, args.name)
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        quarter = quarter or record["quarter"]
    path = resolve(args.params) if args.params else params_file(project_root(), quarter)
    try:
        set_report_scenario(path, "" if args.clear else args.name)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.clear:
        print(f"the report designs its plan again ({path})")
    else:
        blocks, k = len(record["assignment"]), len(set(record["assignment"].values()))
        print(
            f"the {quarter} report adopts scenario {args.name!r}: {blocks} {record['block']} "
            f"blocks in {k} territories, exactly as saved ({path})"
        )
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import ReportError, run_report

    try:
        result = run_report(
            quarter=args.quarter,
            params_file=args.params,
            out_dir=args.out,
            data_dir=args.data,
            notebooks_dir=args.notebooks,
        )
    except ReportError as exc:
        print(f"report failed: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description=(
            "Territory Planning Workbench: data, territories, quotas and quarterly reports."
        ),
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="write a deterministic synthetic company on real geography")
    p.add_argument("--region", default="GA", help="region of the demo market (default GA: Georgia)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--accounts", type=int, default=3000, help="number of accounts (default 3000)")
    p.add_argument("--out", type=Path, default=Path("data/raw"), help="output folder (data/raw)")
    p.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default="csv",
        help="csv (default) or parquet: a large company as a Parquet lake, written one shard "
        "of 100,000 accounts at a time (up to 50,000,000 accounts)",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("ingest", help="validate data/raw and write typed data/processed")
    p.add_argument(
        "--raw",
        type=Path,
        default=None,
        help="raw folder: CSV exports, Parquet files or Parquet folders (default data/raw)",
    )
    p.add_argument(
        "--source",
        default=None,
        metavar="URL",
        help="read a database or warehouse instead: an Ibis URL (postgres://user@host:5432/db, "
        "snowflake://…) or profile:NAME; the password comes from WORKBENCH_SOURCE_PASSWORD or "
        "the profile's password_env, never from a file the workbench writes "
        "(default: $WORKBENCH_SOURCE)",
    )
    p.add_argument(
        "--tables",
        default=None,
        metavar="MAP",
        help="with --source: contract tables to table names, e.g. "
        "opportunities=crm.deals,accounts=crm.accounts (default: the contract names)",
    )
    p.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="engine for a folder: embedded DuckDB (default) or Spark in local mode "
        "(SPARK_MASTER to use a cluster; needs Java 17 and the [warehouse] extra)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--out", type=Path, default=Path("data/processed"), help="output folder")
    p.add_argument(
        "--problems", type=Path, default=None, help="also write every problem found to this CSV"
    )
    p.add_argument(
        "--mapping",
        default=None,
        metavar="FILE",
        help="read CRM exports through a mapping: a YAML file or a preset (salesforce, hubspot)",
    )
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("design", help="design balanced, contiguous, compact territories")
    p.add_argument("--units", type=Path, required=True, help="unit_id,lat,lon + measure columns")
    p.add_argument("--k", type=int, required=True, help="number of territories")
    p.add_argument("--balance", required=True, help="measure columns to balance, comma-separated")
    p.add_argument(
        "--tolerance",
        default="0.05",
        help="allowed deviation from the mean: one value, or one per measure (comma-separated)",
    )
    p.add_argument("--adjacency", type=Path, default=None, help="a,b pairs of adjacent unit ids")
    p.add_argument("--current", type=Path, default=None, help="current unit_id,territory")
    p.add_argument("--locked", type=Path, default=None, help="locked unit_id,territory")
    p.add_argument(
        "--max-moved", type=float, default=None, help="share of units allowed to change territory"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--centers",
        type=Path,
        default=None,
        help="k fixed territory centres: lat,lon (and an optional territory name)",
    )
    p.add_argument(
        "--targets",
        type=Path,
        default=None,
        help="per-territory targets as relative sizes: territory,weight (and/or one "
        "column per balanced measure); unlisted territories weigh 1",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        dest="time_limit",
        help="safety stop in seconds (default 60): the search normally ends on its "
        "work budget, and a plan that ends on this stop says so",
    )
    p.add_argument(
        "--target-gap",
        type=float,
        default=0.01,
        dest="target_gap",
        help="stop once a feasible plan is certified within this gap (default 0.01)",
    )
    p.add_argument(
        "--effort",
        type=float,
        default=1.0,
        help="work budget multiplier (default 1; the same effort gives the same plan "
        "on any machine)",
    )
    p.add_argument(
        "--no-bound",
        action="store_true",
        dest="no_bound",
        help="skip the lower bound and the gap (faster; the plan is not certified)",
    )
    p.add_argument(
        "--region",
        default=None,
        help="column of --units naming each unit's region: no territory crosses a region line "
        "(the regions get territories in proportion to the measures and are solved one by one)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--out", type=Path, required=True, help="output plan unit_id,territory")
    p.set_defaults(func=_cmd_design)

    p = sub.add_parser("adjacency", help="adjacent unit pairs from polygons or points")
    p.add_argument("--units", type=Path, required=True, help="unit_id,lat,lon CSV")
    p.add_argument(
        "--polygons",
        type=Path,
        default=None,
        help="GeoJSON of unit polygons (property unit_id): Queen contiguity",
    )
    p.add_argument(
        "--max-km",
        type=float,
        default=None,
        dest="max_km",
        help="points only: drop Delaunay edges longer than this (km)",
    )
    p.add_argument("--out", type=Path, required=True, help="output a,b pairs CSV")
    p.set_defaults(func=_cmd_adjacency)

    p = sub.add_parser("forecast", help="forecast many series with prediction intervals")
    p.add_argument("--series", type=Path, required=True, help="series_id,period,value CSV")
    p.add_argument("--horizon", type=int, required=True, help="periods ahead")
    p.add_argument("--level", type=float, default=0.8, help="interval level (default 0.8)")
    p.add_argument(
        "--jobs", type=int, default=1, help="series fitted in parallel processes (default 1)"
    )
    p.add_argument("--out", type=Path, required=True, help="output CSV")
    p.set_defaults(func=_cmd_forecast)

    p = sub.add_parser(
        "adopt", help="make a quarter's report use a saved explorer scenario as its plan"
    )
    p.add_argument("name", nargs="?", default="", help="scenario name (data/processed/scenarios)")
    p.add_argument(
        "--quarter", default=None, help="YYYYQn of the report (default: the scenario's quarter)"
    )
    p.add_argument(
        "--params",
        type=Path,
        default=None,
        help="parameters file to edit (default: reports/params/<quarter>.yaml)",
    )
    p.add_argument("--data", type=Path, default=Path("data"), help="data folder (data)")
    p.add_argument("--clear", action="store_true", help="stop adopting: design the plan again")
    p.set_defaults(func=_cmd_adopt)

    p = sub.add_parser("report", help="run the notebook sequence into reports/<quarter>/")
    p.add_argument(
        "--quarter", default=None, help="YYYYQn (default: last complete quarter in the data)"
    )
    p.add_argument("--params", type=Path, default=None, help="YAML file of parameter overrides")
    p.add_argument("--out", type=Path, default=Path("reports"), help="reports folder (reports)")
    p.add_argument("--data", type=Path, default=Path("data"), help="data folder (data)")
    p.add_argument(
        "--notebooks", type=Path, default=Path("notebooks"), help="notebook folder (notebooks)"
    )
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CommandError, ParameterError, OutputPathError) as exc:
        print(f"workbench {args.command}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a read-only folder, a full disk, a path into /proc: one line
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"workbench {args.command}: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing was half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
