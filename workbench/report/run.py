"""The run: stage the processed data, execute the notebooks with papermill, build the
report in a temporary folder and swap it in only when everything succeeded."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import yaml

from ..config import ParameterError, Quarter, processed_dir, project_root, resolve, shown_path
from ..summary import executive_summary, summary_html
from .base import PathLike, ReportError, ReportResult
from .pages import _now, _write_pages, write_action_files
from .params import _is_parameters, notebook_parameters, plan_parameters
from .pdf import find_chromium, write_pdfs

if TYPE_CHECKING:
    from papermill.exceptions import PapermillExecutionError


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

    from ..io import remove_dead_staging

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
                        # where the data came from (a database URL without credentials)
                        "source": data_manifest.get("source"),
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
    file of ``<data>/processed`` and of its folders (the saved scenarios a report may adopt),
    copies where links cannot be made."""
    staging = Path(tempfile.mkdtemp(prefix=f".report-{os.getpid()}-", dir=data))
    source, target = processed_dir(data), processed_dir(staging)
    target.mkdir()
    for f in sorted(source.rglob("*")) if source.is_dir() else ():
        rel = f.relative_to(source)
        if f.is_symlink() or any(part.startswith(".") for part in rel.parts):
            continue
        to = target / rel
        if f.is_dir():
            to.mkdir(exist_ok=True)
        elif f.is_file():
            try:
                os.link(f, to)
            except OSError:
                shutil.copy2(f, to)
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
