"""Parameters cells: read a notebook's typed literals, check a run's values against them
and work out every notebook's parameters before anything runs."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import nbformat

from ..config import PARAMETER_TYPES, type_matches
from .base import PathLike, ReportError, Spec

# Names every run sets itself; the params file may not override them.
RUN_PARAMETERS = ("quarter", "data_dir")


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
    return isinstance(node, ast.Name) and node.id in PARAMETER_TYPES


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
