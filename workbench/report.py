"""The quarterly report: run the notebook sequence with one quarter's parameters.

``run_report`` executes every ``notebooks/*.ipynb`` in name order with papermill, exports each
executed notebook to HTML with the code hidden, and writes an ``index.html`` and a
``manifest.json`` (parameters, timings, package versions, git commit, input hashes)::

    reports/<quarter>/  00_data_health.ipynb  00_data_health.html  …  index.html  manifest.json

Parameters are checked against every notebook's ``parameters`` cell before anything runs, so a
typo in ``reports/params/<quarter>.yaml`` fails in a second rather than twenty minutes in. The
report is built in a hidden temporary folder and swapped in only when every notebook succeeded:
``reports/<quarter>/`` always holds the last complete report. A failed run leaves its partial
output in ``reports/<quarter>.failed/`` for inspection.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import html
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import yaml

from . import __version__
from .config import ParameterError, Quarter, processed_dir, project_root, resolve, shown_path
from .summary import SUMMARY_CSS, executive_summary, summary_html

if TYPE_CHECKING:
    from papermill.exceptions import PapermillExecutionError

PathLike = str | os.PathLike[str]
Spec = dict[str, tuple[str, object]]

# Names every run sets itself; the params file may not override them.
RUN_PARAMETERS = ("quarter", "data_dir")
#: Packages whose version can change a number in a report (recorded in its manifest): HiGHS in
#: scipy and highspy decides the territory plans; the others compute, read or geocode the data.
VERSIONED_PACKAGES = (
    "workbench",
    "pandas",
    "numpy",
    "scipy",
    "highspy",
    "duckdb",
    "pyarrow",
    "statsmodels",
    "scikit-learn",
    "shapely",
    "geopandas",
    "libpysal",
    "papermill",
)
#: The pinned versions `make` installs (see the Makefile's `lock` target).
CONSTRAINTS_FILE = "constraints.txt"
_TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "float": (int, float),  # an int is a fine float; a bool is neither (checked below)
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
}


class ReportError(Exception):
    """The report could not be built; the message says what to fix."""


@dataclasses.dataclass(frozen=True)
class ReportResult:
    """A finished report.

    Attributes
    ----------
    quarter : str
        The planning quarter, ``YYYYQn``.
    folder : Path
        The report folder, ``<out_dir>/<quarter>``.
    notebooks : tuple of (str, float)
        Notebook file name and run time in seconds, in run order.
    seconds : float
        Wall-clock time of the whole run, exports included.
    """

    quarter: str
    folder: Path
    notebooks: tuple[tuple[str, float], ...]
    seconds: float

    @property
    def index(self) -> Path:
        """The report's entry page."""
        return self.folder / "index.html"

    def summary(self) -> str:
        """A few lines for the terminal: where the report is and how long each notebook took."""
        count, width = len(self.notebooks), max((len(n) for n, _ in self.notebooks), default=0)
        lines = [
            f"report {self.quarter}: {count} notebook{'s' * (count != 1)} in {self.seconds:.1f} s",
            *(f"  {name:<{width}}  {sec:7.1f} s" for name, sec in self.notebooks),
            f"open {self.index}",
        ]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Parameters cells


def parse_parameters(source: str, *, where: str = "parameters cell") -> Spec:
    """Read a ``parameters`` cell of annotated literals into ``{name: (type_name, default)}``.

    Parameters
    ----------
    source : str
        The cell's code: one ``name: type = literal`` statement per line (comments allowed).
        Types are ``int``, ``float``, ``str``, ``bool``, ``list``, ``dict``, ``list[T]`` and
        ``T | None``.
    where : str
        What to call the cell in error messages (usually the notebook's file name).

    Returns
    -------
    dict
        Parameter name to (annotation as written, default value), in cell order.

    Raises
    ------
    ReportError
        If a statement is not an annotated literal, or a default does not match its type.

    Examples
    --------
    >>> parse_parameters('quarter: str = "2026Q3"  # planning period\\ntrailing: int = 12')
    {'quarter': ('str', '2026Q3'), 'trailing': ('int', 12)}
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ReportError(
            f"{where}: parameters cell is not valid Python ({exc.msg}, line {exc.lineno})"
        ) from None
    spec: Spec = {}
    for stmt in tree.body:
        line = f"{where}: parameters cell line {stmt.lineno}"
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            raise ReportError(f"{line}: expected `name: type = literal`, got `{ast.unparse(stmt)}`")
        name, type_name = stmt.target.id, ast.unparse(stmt.annotation)
        if not _supported(stmt.annotation):
            raise ReportError(
                f"{line}: unsupported type `{type_name}` of {name!r} "
                "(use int, float, str, bool, list, dict, list[T], T | None)"
            )
        try:
            default = ast.literal_eval(stmt.value)  # type: ignore[arg-type]
        except ValueError:
            value = ast.unparse(stmt.value) if stmt.value else "nothing"
            raise ReportError(f"{line}: {name!r} must be set to a literal, got `{value}`") from None
        if not type_matches(default, type_name):
            raise ReportError(f"{line}: default {default!r} of {name!r} is not {type_name}")
        spec[name] = (type_name, default)
    return spec


def _supported(node: ast.expr) -> bool:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _supported(node.left) and _supported(node.right)
    if isinstance(node, ast.Subscript):
        is_list = isinstance(node.value, ast.Name) and node.value.id == "list"
        return is_list and _supported(node.slice)
    if isinstance(node, ast.Constant):
        return node.value is None
    return isinstance(node, ast.Name) and node.id in _TYPES


def type_matches(value: object, type_name: str) -> bool:
    """Whether ``value`` (from YAML or a literal) fits a parameter annotation.

    An ``int`` is accepted for ``float``; a ``bool`` is accepted only for ``bool``.

    >>> type_matches(3, "float"), type_matches(True, "int"), type_matches([1, 2], "list[int]")
    (True, False, True)
    """
    return _matches(value, ast.parse(type_name, mode="eval").body)


def _matches(value: object, node: ast.expr) -> bool:
    if isinstance(node, ast.BinOp):
        return _matches(value, node.left) or _matches(value, node.right)
    if isinstance(node, ast.Constant):
        return value is None
    if isinstance(node, ast.Subscript):
        return isinstance(value, list) and all(_matches(v, node.slice) for v in value)
    name = node.id  # type: ignore[attr-defined]
    if isinstance(value, bool) and name != "bool":
        return False
    return isinstance(value, _TYPES[name])


def notebook_parameters(notebook_path: PathLike) -> Spec:
    """The parameters a notebook declares in its one cell tagged ``parameters``.

    Parameters
    ----------
    notebook_path : path
        An ``.ipynb`` file.

    Returns
    -------
    dict
        ``{name: (type_name, default)}`` as :func:`parse_parameters` returns it.

    Raises
    ------
    ReportError
        If the notebook cannot be read, has no (or several) ``parameters`` cells, or the cell
        holds anything but annotated literals.

    Examples
    --------
    >>> notebook_parameters("notebooks/01_market_potential.ipynb")  # doctest: +SKIP
    {'quarter': ('str', '2026Q3'), 'data_dir': ('str', 'data'), 'trailing_quarters': ('int', 12)}
    """
    path = Path(notebook_path)
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path.name}: cannot read notebook ({exc})") from None
    cells = [c for c in nb.cells if c.cell_type == "code" and _is_parameters(c)]
    if len(cells) != 1:
        found = "no" if not cells else f"{len(cells)}"
        raise ReportError(f"{path.name}: expected one code cell tagged 'parameters', found {found}")
    return parse_parameters(cells[0].source, where=path.name)


def _is_parameters(cell: Mapping) -> bool:
    return "parameters" in cell.get("metadata", {}).get("tags", [])


def _describe(spec: Spec) -> str:
    return ", ".join(f"{name}: {kind} = {default!r}" for name, (kind, default) in spec.items())


def _check(spec: Spec, values: Mapping[str, object]) -> list[str]:
    problems = []
    for name, value in values.items():
        if name not in spec:
            problems.append(f"unknown parameter {name!r}")
        elif not type_matches(value, spec[name][0]):
            kind = spec[name][0]
            problems.append(
                f"parameter {name!r} must be {kind}, got {value!r} ({type(value).__name__})"
            )
    return problems


def check_parameters(notebook_path: PathLike, values: Mapping[str, object]) -> list[str]:
    """Every problem with running a notebook with ``values``: unknown names and wrong types.

    Parameters
    ----------
    notebook_path : path
        The notebook whose ``parameters`` cell defines the valid names and types.
    values : mapping
        Parameter name to value, as they would be given to papermill.

    Returns
    -------
    list of str
        One message per problem; empty when the values are fine.

    Raises
    ------
    ReportError
        If the notebook's parameters cell itself is malformed (see :func:`notebook_parameters`).

    Examples
    --------
    >>> check_parameters("notebooks/02_segmentation.ipynb", {"n_clusters": "5"})  # doctest: +SKIP
    ["parameter 'n_clusters' must be int, got '5' (str)"]
    """
    return _check(notebook_parameters(notebook_path), values)


def plan_parameters(
    specs: Mapping[str, Spec], run_values: Mapping[str, object], file_values: Mapping[str, object]
) -> dict[str, dict[str, object]]:
    """Work out each notebook's parameters and check them all at once.

    Parameters
    ----------
    specs : mapping
        Notebook file name to its parameters (see :func:`notebook_parameters`), in run order.
    run_values : mapping
        Values every notebook gets if it declares them (``quarter``, ``data_dir``).
    file_values : mapping
        The params file: an optional ``common`` section and sections keyed by notebook stem.

    Returns
    -------
    dict
        Notebook file name to the parameters to pass to papermill.

    Raises
    ------
    ReportError
        Listing every problem found and the valid parameters of each notebook concerned.

    Examples
    --------
    >>> specs = {"01_a.ipynb": {"quarter": ("str", "2026Q3"), "k": ("int", 5)}}
    >>> plan_parameters(specs, {"quarter": "2026Q2"}, {"01_a": {"k": 7}})
    {'01_a.ipynb': {'quarter': '2026Q2', 'k': 7}}
    """
    by_stem = {Path(name).stem: name for name in specs}
    problems: list[str] = []
    concerned: list[str] = []
    if not isinstance(file_values, Mapping):
        raise ReportError("params file must be a mapping of sections (common, <notebook stem>)")
    sections = {}
    for key, section in file_values.items():
        label = "common" if key == "common" else f"section {key!r}"
        if key != "common" and key not in by_stem:
            problems.append(
                f"params file: {label} matches no notebook (notebooks: {', '.join(by_stem)})"
            )
        elif not isinstance(section, Mapping):
            problems.append(f"params file: {label} must be a mapping of name: value")
        else:
            for name in set(section) & set(RUN_PARAMETERS):
                problems.append(
                    f"params file: {label} sets {name!r}; the command sets it (--quarter, --data)"
                )
            sections[key] = {k: v for k, v in section.items() if k not in RUN_PARAMETERS}
    common = sections.pop("common", {})
    declared = set().union(*(spec.keys() for spec in specs.values()))
    for name in sorted(set(common) - declared):
        problems.append(f"params file: common sets {name!r}, which no notebook declares")
    if set(common) - declared:
        concerned.extend(specs)

    plan: dict[str, dict[str, object]] = {}
    for name, spec in specs.items():
        values = {k: v for k, v in {**run_values, **common}.items() if k in spec}
        values.update(sections.get(Path(name).stem, {}))
        found = _check(spec, values)
        problems.extend(f"{name}: {p}" for p in found)
        if found and name not in concerned:
            concerned.append(name)
        plan[name] = values
    if problems:
        valid = [f"  {name}: {_describe(specs[name]) or '(none)'}" for name in concerned]
        raise ReportError(
            "invalid parameters, no notebook was run:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + ("\nvalid parameters:\n" + "\n".join(valid) if valid else "")
        )
    return plan


# ---------------------------------------------------------------------------------------------
# The run


def _print_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from None


def _write_json(path: Path, data: object) -> None:
    text = json.dumps(data, sort_keys=True, indent=2, default=str) + "\n"
    path.write_text(text, encoding="utf-8")


def _read_params_file(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReportError(f"cannot read params file {path}: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ReportError(f"params file {path} must hold sections (common, <notebook stem>)")
    return data or {}


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _pins(root: Path, versions: Mapping[str, str | None]) -> dict[str, object] | None:
    """How the installed versions compare with the project's pins (``constraints.txt``): the
    report's numbers are reproducible exactly when ``matches`` is true. None without the file."""
    path = root / CONSTRAINTS_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    pinned = {}
    for line in lines:
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            pinned[name.strip().lower().replace("_", "-")] = version.strip()
    differs = {
        name: {"installed": have, "pinned": pinned[name]}
        for name, have in versions.items()
        if name in pinned and have != pinned[name]
    }
    return {"file": CONSTRAINTS_FILE, "matches": not differs, "differs": differs}


def _git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def run_report(
    *,
    quarter: str | None = None,
    params_file: PathLike | None = None,
    out_dir: PathLike = "reports",
    data_dir: PathLike = "data",
    notebooks_dir: PathLike = "notebooks",
    kernel_name: str = "python3",
    progress: Callable[[str], None] = _print_progress,
) -> ReportResult:
    """Run the notebook sequence for one quarter into ``<out_dir>/<quarter>/``.

    Parameters
    ----------
    quarter : str, optional
        ``YYYYQn``; default: ``default_quarter`` of ``<data_dir>/processed/manifest.json``.
    params_file : path, optional
        YAML with a ``common`` section and sections keyed by notebook stem; default
        ``<out_dir>/params/<quarter>.yaml`` if it exists.
    out_dir, data_dir, notebooks_dir : path
        Relative paths are taken from the project root. Every ``*.ipynb`` directly in
        ``notebooks_dir`` runs, in name order, with the project root as working directory.
    kernel_name : str
        Jupyter kernel to run the notebooks in.
    progress : callable
        Called with one line of progress text at a time (default: print to stderr).

    Returns
    -------
    ReportResult
        The report folder and timings.

    Raises
    ------
    ReportError
        Before anything runs, for a bad quarter, params file or parameter (all problems at
        once); after a notebook failed, naming the notebook, cell and error, with the partial
        output moved to ``<out_dir>/<quarter>.failed/``. The previous report stays untouched.

    Examples
    --------
    >>> print(run_report(quarter="2026Q3").summary())  # doctest: +SKIP
    report 2026Q3: 4 notebooks in 41.7 s
    ...
    """
    started = time.perf_counter()
    root = project_root()
    out, data, nb_dir = (resolve(p, root) for p in (out_dir, data_dir, notebooks_dir))
    data_manifest = _read_json(processed_dir(data) / "manifest.json")
    if quarter is None:
        quarter = data_manifest.get("default_quarter")
        if not quarter:
            raise ReportError(
                f"no quarter given and {processed_dir(data) / 'manifest.json'} names no "
                "default_quarter: run `workbench ingest` first, or pass --quarter YYYYQn"
            )
    try:
        quarter = str(Quarter.parse(quarter))
    except ParameterError as exc:
        raise ReportError(str(exc)) from None

    notebooks = sorted(nb_dir.glob("*.ipynb")) if nb_dir.is_dir() else []
    if not notebooks:
        raise ReportError(f"no notebooks (*.ipynb) found in {nb_dir}")
    params_path: Path | None
    if params_file is not None:
        params_path = resolve(params_file, root)
        if not params_path.is_file():
            raise ReportError(f"params file {params_path} not found")
    else:
        params_path = out / "params" / f"{quarter}.yaml"
        params_path = params_path if params_path.is_file() else None
    specs = {nb.name: notebook_parameters(nb) for nb in notebooks}
    plan = plan_parameters(
        specs, {"quarter": quarter, "data_dir": str(data)}, _read_params_file(params_path)
    )

    from .io import remove_dead_staging

    out.mkdir(parents=True, exist_ok=True)
    remove_dead_staging(out, ".*.tmp-*")  # staging folders of killed runs
    remove_dead_staging(data, ".report-*")
    tmp = Path(tempfile.mkdtemp(prefix=f".{quarter}.tmp-{os.getpid()}-", dir=out))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the report follows the umask
    # The notebooks write their outputs into a staged copy of the processed folder (hard
    # links: no data is copied); they reach data/processed only when the whole report worked.
    staging = stage_processed(data)
    staged = processed_dir(staging)
    # relative to the project when inside it (the kernels run there): no machine path in pages
    given = shown_path(staging, root) if staging.is_relative_to(root) else str(staging)
    plan = {
        nb: ({**values, "data_dir": given} if "data_dir" in values else values)
        for nb, values in plan.items()
    }
    try:  # the staged copy goes whatever happens; its outputs only after a success
        try:
            timings = _execute_all(notebooks, plan, tmp, root, kernel_name, progress)
            actions = write_action_files(tmp, quarter, staged)
            summary = summary_html(executive_summary(staged, quarter))  # the index and the pack
            _write_pages(
                tmp,
                quarter,
                timings,
                data_manifest,
                pdf=find_chromium() is not None,
                summary=summary,
                actions=actions,
            )
            pdf_note = write_pdfs(
                tmp, [Path(n).stem for n in timings], quarter, progress, summary=summary
            )
            versions = _versions()
            _write_json(
                tmp / "manifest.json",
                {
                    "quarter": quarter,
                    "generated_at": _now(),
                    "params_file": shown_path(params_path, root) if params_path else None,
                    "parameters": {
                        Path(n).stem: {
                            **{k: d for k, (_, d) in specs[n].items()},
                            **plan[n],
                            **(
                                {"data_dir": shown_path(data, root)}
                                if "data_dir" in plan[n]
                                else {}
                            ),
                        }
                        for n in specs
                    },
                    "timings_seconds": {Path(n).stem: round(sec, 3) for n, sec in timings.items()},
                    "total_seconds": round(time.perf_counter() - started, 3),
                    "versions": versions,
                    "pinned_versions": _pins(root, versions),
                    "git_commit": _git_commit(root),
                    "pdf": pdf_note,
                    "data": {
                        "processed_dir": shown_path(processed_dir(data), root),
                        "synthetic": data_manifest.get("synthetic"),
                        "ingested_utc": data_manifest.get("created_utc"),
                        # the raw files' hashes, from ingest
                        "inputs": data_manifest.get("inputs", {}),
                    },
                },
            )
        except ReportError as exc:
            failed = _keep_failed(tmp, out / f"{quarter}.failed")
            raise ReportError(f"{exc}\npartial output kept in {failed}") from exc
        except Exception as exc:
            failed = _keep_failed(tmp, out / f"{quarter}.failed")
            raise ReportError(
                f"{type(exc).__name__}: {exc}\npartial output kept in {failed}"
            ) from exc
        except BaseException:  # KeyboardInterrupt: leave no half-written report behind
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        commit_stages(staged, processed_dir(data), quarter)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    folder = _swap_in(tmp, out / quarter)
    return ReportResult(
        quarter=quarter,
        folder=folder,
        notebooks=tuple(timings.items()),
        seconds=time.perf_counter() - started,
    )


def stage_processed(data: Path) -> Path:
    """A staging data folder: ``<data>/.report-<pid>-*/processed`` holding hard links to every
    file of ``<data>/processed`` (copies where links cannot be made)."""
    staging = Path(tempfile.mkdtemp(prefix=f".report-{os.getpid()}-", dir=data))
    source, target = processed_dir(data), processed_dir(staging)
    target.mkdir()
    for f in sorted(source.iterdir()) if source.is_dir() else ():
        if f.is_file() and not f.is_symlink():
            try:
                os.link(f, target / f.name)
            except OSError:
                shutil.copy2(f, target / f.name)
    return staging


def commit_stages(staged: Path, processed: Path, quarter: str) -> list[str]:
    """Move the quarter's notebook outputs from the staging folder into ``processed`` (one
    rename each); files the notebooks did not rewrite (still the same inode) stay as they
    are."""
    moved = []
    for f in sorted(staged.glob(f"*_{quarter}.parquet")):
        target = processed / f.name
        if target.exists() and os.path.samefile(f, target):
            continue
        os.replace(f, target)
        moved.append(f.name)
    return moved


def _execute_all(
    notebooks: list[Path],
    plan: Mapping[str, dict[str, object]],
    tmp: Path,
    root: Path,
    kernel_name: str,
    progress: Callable[[str], None],
) -> dict[str, float]:
    """Run each notebook into ``tmp``; return seconds per notebook file name."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    timings: dict[str, float] = {}
    for i, src in enumerate(notebooks, 1):
        progress(f"[{i}/{len(notebooks)}] {src.name} ...")
        t0 = time.perf_counter()
        try:
            papermill.execute_notebook(
                src,
                tmp / src.name,
                parameters=plan[src.name],
                cwd=root,
                kernel_name=kernel_name,
                language="python",  # parameters cells are Python (parsed with ast above)
                progress_bar=False,
            )
        except PapermillExecutionError as err:
            raise ReportError(_describe_failure(src, err, injected=bool(plan[src.name]))) from err
        except Exception as exc:
            raise ReportError(f"{src.name} could not run: {type(exc).__name__}: {exc}") from exc
        timings[src.name] = time.perf_counter() - t0
        progress(f"[{i}/{len(notebooks)}] {src.name} done in {timings[src.name]:.1f} s")
    return timings


def _describe_failure(src: Path, err: PapermillExecutionError, *, injected: bool) -> str:
    """Name the failing cell as the author sees it: its position in the source notebook."""
    index = err.cell_index
    cells = nbformat.read(src, as_version=4).cells
    params_at = next((i for i, c in enumerate(cells) if _is_parameters(c)), len(cells))
    # papermill inserts its injected-parameters cell right after the parameters cell
    if injected and index > params_at:
        index -= 1
    first = next((line for line in err.source.splitlines() if line.strip()), "")
    return (
        f"{src.name} failed in cell {index + 1} (In [{err.exec_count}]): {first.strip()}\n"
        f"  {err.ename}: {err.evalue}"
    )


TEMPLATES = Path(__file__).with_name("templates")


def html_exporter():
    """nbconvert's HTML exporter with the code hidden and the package's ``offline`` template:
    the lab template without its CDN scripts, so a page loads nothing from the network."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        template_name="offline",
        extra_template_basedirs=[str(TEMPLATES)],
    )


def write_action_files(folder: Path, quarter: str, processed: Path) -> list[Path]:
    """The files a sales team acts on, from notebook 03's ``alignment`` stage: the account
    list (CSV and xlsx, one sheet per territory), the CRM owner-update file and the territory
    shapes (:func:`workbench.territory.alignment.write_alignment_files`). None when notebook
    03 did not run for the quarter."""
    from .io import load_geojson, load_stage, stage_path
    from .territory.alignment import write_alignment_files

    if not stage_path(processed, "alignment", quarter).is_file():
        return []
    alignment = load_stage(processed, "alignment", quarter)
    plan = load_stage(processed, "territory_plan", quarter)
    blocks = plan.rename(columns={"block_id": "unit_id"})[["unit_id", "lat", "lon"]]
    polygons = None
    if (plan["block_type"] == "unit_id").all():  # blocks are the units: dissolve their polygons
        polygons = load_geojson(processed)
    return write_alignment_files(
        folder, alignment, quarter=quarter, blocks=blocks, polygons=polygons
    )


_ACTION_LABELS = (
    (
        "alignment_{q}.xlsx",
        "Account list per territory (Excel: a summary, one sheet per territory, the changes)",
    ),
    (
        "alignment_{q}.csv",
        "Every account: current and proposed territory and rep, moved or not, and why",
    ),
    ("crm_owner_updates_{q}.csv", "CRM bulk update: the accounts that change owner"),
    ("territories_{q}.geojson", "Territory shapes for GIS tools"),
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _write_pages(
    folder: Path,
    quarter: str,
    timings: Mapping[str, float],
    data_manifest: Mapping,
    *,
    pdf: bool = False,
    summary: str | None = None,
    actions: Sequence[Path] = (),
) -> None:
    """One code-hidden HTML page per executed notebook, and the index page."""

    exporter = html_exporter()
    rows = []
    for name, seconds in timings.items():
        stem = Path(name).stem
        nb = nbformat.read(folder / name, as_version=4)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": stem}})
        (folder / f"{stem}.html").write_text(body, encoding="utf-8")
        rows.append(
            f'<tr><td><a href="{html.escape(stem)}.html">{html.escape(stem)}</a></td>'
            f'<td><a href="{html.escape(name)}">{html.escape(name)}</a></td>'
            + (f'<td><a href="{html.escape(stem)}.pdf">PDF</a></td>' if pdf else "<td>-</td>")
            + f'<td class="num">{seconds:.1f} s</td><td>ok</td></tr>'
        )
    synthetic = data_manifest.get("synthetic")
    origin: dict[object, str] = {
        True: "Data: <strong>synthetic</strong> demo company (not real customers).",
        False: "Data: real CRM exports.",
    }
    data_line = origin.get(synthetic, "Data: origin unknown (no processed manifest).")
    title = f"Quarterly planning report {quarter}"
    written = {p.name for p in actions}
    action_rows = [
        f'<li><a href="{html.escape(name.format(q=quarter))}">{html.escape(name.format(q=quarter))}'
        f"</a>: {html.escape(label)}</li>"
        for name, label in _ACTION_LABELS
        if name.format(q=quarter) in written
    ]
    action_html = (
        "<h2>Files for the sales team</h2>\n<ul>" + "".join(action_rows) + "</ul>"
        if action_rows
        else ""
    )
    headlines = ""
    if summary is not None:
        headlines = "<h2>Executive summary</h2>\n" + summary
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; }}
td.num {{ text-align: right; }}
footer {{ color: #666; font-size: .9rem; margin-top: 2rem; }}
{SUMMARY_CSS}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{data_line}</p>
{headlines}
{action_html}
{"<h2>Sections</h2>" if headlines or action_html else ""}
<table>
<thead><tr><th>report</th><th>notebook</th><th>PDF</th><th>run time</th><th>status</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<footer>Generated {_now()} by workbench {__version__}.</footer>
</body>
</html>
"""
    (folder / "index.html").write_text(page, encoding="utf-8")


CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--no-pings",
    "--bwsi",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater,"
    "InterestFeedContentSuggestions",
    # what Chromium still calls home for (account list, component updates) goes to the local
    # discard port, and so does anything else, through a proxy that points nowhere: no request
    # leaves the machine (tests/test_report_offline.py reads Chromium's own network log)
    "--gaia-url=http://127.0.0.1:9/",
    "--component-updater=url-source=http://127.0.0.1:9/",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--no-pdf-header-footer",
)
"""Headless Chromium flags that make no network requests (the report must work offline)."""


def find_chromium() -> str | None:
    """A headless-capable Chromium: ``$WORKBENCH_CHROMIUM``, else ``chromium`` on the PATH."""
    explicit = os.environ.get("WORKBENCH_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(
    html_path: Path,
    pdf_path: Path,
    *,
    chromium: str,
    timeout: float = 120,
    extra_args: tuple[str, ...] = (),
) -> None:
    """Print one HTML page to PDF with headless Chromium (written atomically)."""
    tmp_pdf = pdf_path.with_name(f".{pdf_path.name}.tmp")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        try:
            run = subprocess.run(
                [
                    chromium,
                    *CHROMIUM_ARGS,
                    *extra_args,
                    f"--user-data-dir={profile}",
                    f"--print-to-pdf={tmp_pdf}",
                    html_path.resolve().as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            tmp_pdf.unlink(missing_ok=True)
            raise ReportError(
                f"Chromium did not finish printing {html_path.name} to PDF within {timeout:.0f} s "
                "(the page may be too large, or the browser stalled); the HTML pages are fine"
            ) from None
    if run.returncode != 0 or not tmp_pdf.is_file() or tmp_pdf.read_bytes()[:5] != b"%PDF-":
        tmp_pdf.unlink(missing_ok=True)
        tail = (run.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise ReportError(f"Chromium could not print {html_path.name} to PDF: {tail[0]}")
    os.replace(tmp_pdf, pdf_path)


def write_pdfs(
    folder: Path,
    stems: list[str],
    quarter: str,
    progress: Callable[[str], None],
    *,
    summary: str | None = None,
) -> str:
    """A PDF per notebook page and one combined planning pack; a note when no browser exists.

    The pack is one HTML page holding every notebook's code-hidden output in run order, so
    leadership gets a single document in the notebooks' order.
    """
    chromium = find_chromium()
    if chromium is None:
        note = (
            "PDF skipped: no headless Chromium found (install Debian's `chromium`, "
            "or set WORKBENCH_CHROMIUM)"
        )
        progress(note)
        return note

    t0 = time.perf_counter()
    pack = nbformat.v4.new_notebook()
    pack.cells.append(nbformat.v4.new_markdown_cell(f"# Quarterly planning pack {quarter}"))
    if summary is not None:  # the pack opens with the executive summary
        pack.cells.append(
            nbformat.v4.new_markdown_cell(
                f"## Executive summary\n\n<style>{SUMMARY_CSS}</style>\n\n{summary}"
            )
        )
    for stem in stems:
        pack.cells.extend(nbformat.read(folder / f"{stem}.ipynb", as_version=4).cells)
    exporter = html_exporter()
    body, _ = exporter.from_notebook_node(pack, resources={"metadata": {"name": "pack"}})
    with tempfile.TemporaryDirectory(prefix="pack-") as scratch:
        pack_html = Path(scratch) / "planning_pack.html"
        pack_html.write_text(body, encoding="utf-8")
        jobs = [(folder / f"{stem}.html", folder / f"{stem}.pdf") for stem in stems]
        jobs.append((pack_html, folder / f"planning_pack_{quarter}.pdf"))
        # Each page is its own browser process: two at a time keep both cores busy.
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda job: html_to_pdf(*job, chromium=chromium), jobs))
    note = f"PDF: {len(stems)} notebook PDFs + planning pack in {time.perf_counter() - t0:.1f} s"
    progress(note)
    return note


def _keep_failed(tmp: Path, failed: Path) -> Path:
    """Move a failed run's partial output to ``failed``, replacing an older one."""
    shutil.rmtree(failed, ignore_errors=True)
    tmp.rename(failed)
    return failed


def _swap_in(tmp: Path, final: Path) -> Path:
    """Replace ``final`` by ``tmp``; on any error put the previous report back."""
    backup = final.with_name(f".{final.name}.old-{tmp.name.rsplit('-', 1)[-1]}")
    had_old = final.exists()
    try:
        if had_old:
            final.rename(backup)
        tmp.rename(final)
    except BaseException as exc:
        if had_old and backup.exists() and not final.exists():
            backup.rename(final)
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, Exception):
            raise ReportError(f"could not move the new report into {final}: {exc}") from exc
        raise
    if had_old:
        shutil.rmtree(backup, ignore_errors=True)
    return final
