"""Project paths, the ``Quarter`` type and notebook parameter validation.

Everything that needs to know *where* the project lives asks :func:`project_root`, so the same
code works from the repository root (``make report``, papermill) and from ``notebooks/``
(JupyterLab sets the kernel's working directory to the notebook's folder).
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import json
import os
import re
import types
import typing
from functools import total_ordering
from pathlib import Path

_QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")

#: The owner and territory of accounts that no rep owns, in every table and stage file (a rep id
#: may not take this value: the contract check rejects it).
UNASSIGNED = "unassigned"


class ParameterError(ValueError):
    """A notebook or command parameter is unknown, ill-typed or out of range."""


class OutputPathError(ValueError):
    """An output path the atomic writers refuse (a symlink, a device, a FIFO, a folder)."""


@total_ordering
@dataclasses.dataclass(frozen=True)
class Quarter:
    """A calendar quarter written ``YYYYQn`` (e.g. ``2026Q3``).

    >>> q = Quarter.parse("2026Q3")
    >>> q.start, q.end
    (datetime.date(2026, 7, 1), datetime.date(2026, 9, 30))
    >>> str(q + 2), str(q - 3)
    ('2027Q1', '2025Q4')
    >>> Quarter.from_date(dt.date(2024, 2, 29))
    Quarter(year=2024, q=1)
    """

    year: int
    q: int

    def __post_init__(self) -> None:
        if not 1 <= self.q <= 4:
            raise ParameterError(f"quarter number must be 1-4, got {self.q}")

    @classmethod
    def parse(cls, text: str | Quarter) -> Quarter:
        if isinstance(text, Quarter):
            return text
        m = _QUARTER_RE.match(str(text).strip())
        if not m:
            raise ParameterError(f"quarter must look like 2026Q3 (YYYYQn), got {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def from_date(cls, day: dt.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def index(self) -> int:
        """Quarters since year 0; differences of indexes count quarters."""
        return self.year * 4 + self.q - 1

    @classmethod
    def from_index(cls, index: int) -> Quarter:
        return cls(index // 4, index % 4 + 1)

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> dt.date:
        nxt = (self + 1).start
        return nxt - dt.timedelta(days=1)

    def __add__(self, n: int) -> Quarter:
        return Quarter.from_index(self.index + int(n))

    def __sub__(self, n: int) -> Quarter:
        return Quarter.from_index(self.index - int(n))

    def __lt__(self, other: Quarter) -> bool:
        return self.index < Quarter.parse(other).index

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"

    def range_back(self, n: int) -> list[Quarter]:
        """The ``n`` quarters ending with this one, oldest first."""
        return [self - k for k in range(n - 1, -1, -1)]


def last_complete_quarter(as_of: dt.date) -> Quarter:
    """The last quarter that ended on or before ``as_of``.

    >>> str(last_complete_quarter(dt.date(2026, 9, 30))), str(last_complete_quarter(dt.date(2026, 10, 5)))
    ('2026Q3', '2026Q3')
    """  # noqa: E501 - doctest output / CSV text cannot wrap
    q = Quarter.from_date(as_of)
    return q if as_of == q.end else q - 1


# ---------------------------------------------------------------------------------------------
# Paths


def project_root(start: Path | None = None) -> Path:
    """The project folder: ``$WORKBENCH_HOME`` if set, else the nearest parent holding both
    ``notebooks/`` and ``workbench/`` (or ``pyproject.toml``), else the working directory."""
    env = os.environ.get("WORKBENCH_HOME")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "notebooks").is_dir() and (
            (folder / "workbench").is_dir() or (folder / "pyproject.toml").is_file()
        ):
            return folder
    return here


def resolve(path: str | os.PathLike[str], root: Path | None = None) -> Path:
    """An absolute path: relative paths are taken from the project root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else (root or project_root()) / p


def progress_printer(stream: typing.TextIO | None = None) -> typing.Callable[[str], None]:
    """A progress callback: each message as a line ``[  12.3 s] message`` (seconds since this
    call) on ``stream`` (standard output by default: a notebook shows it under the cell)."""
    import sys
    import time

    t0 = time.perf_counter()

    def progress(message: str) -> None:
        out = stream or sys.stdout
        print(f"[{time.perf_counter() - t0:7.1f} s] {message}", file=out, flush=True)

    return progress


def shown_path(path: str | os.PathLike[str], root: Path | None = None) -> str:
    """A path as manifests and report pages record it: relative to the project root when it
    lies inside the project, else only its last part (``…/name``), so no home directory or
    machine layout ends up in a report that leaves the machine.

    >>> shown_path("/srv/project/data/raw", root=Path("/srv/project"))
    'data/raw'
    >>> shown_path("/home/ana/exports/raw", root=Path("/srv/project"))
    '…/raw'
    """
    p = Path(path).expanduser().absolute()
    base = (root or project_root()).absolute()
    try:
        return p.relative_to(base).as_posix() or "."
    except ValueError:
        return f"…/{p.name}"


def raw_dir(data_dir: str | os.PathLike[str] = "data") -> Path:
    return resolve(data_dir) / "raw"


def processed_dir(data_dir: str | os.PathLike[str] = "data") -> Path:
    return resolve(data_dir) / "processed"


# ---------------------------------------------------------------------------------------------
# Notebook parameters


#: The types a notebook parameter may have, by the name a parameters cell writes.
PARAMETER_TYPES: dict[str, type] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
}


def _annotation(node: ast.expr) -> object:
    """The annotation a parameters cell's type expression means (``list[int] | None`` ...)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _annotation(node.left) | _annotation(node.right)  # type: ignore[operator]
    if isinstance(node, ast.Constant) and node.value is None:
        return type(None)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return PARAMETER_TYPES[node.value.id][_annotation(node.slice)]  # type: ignore[index]
    if isinstance(node, ast.Name):
        return PARAMETER_TYPES[node.id]
    raise ValueError(f"unsupported parameter type `{ast.unparse(node)}`")


def type_matches(value: object, annotation: object) -> bool:
    """Whether ``value`` fits a parameter's type: an annotation (``list[int] | None``) or its
    text as a parameters cell writes it (``"list[int] | None"``). The one type check of
    notebook parameters (``Params`` classes and the report's run values).

    An ``int`` is accepted for ``float``; a ``bool`` only for ``bool``; a tuple for a list.

    >>> type_matches(3, "float"), type_matches(True, "int"), type_matches([1, 2], "list[int]")
    (True, False, True)
    >>> type_matches(None, float | None), type_matches("x", "list[str]")
    (True, False)
    """
    if isinstance(annotation, str):
        annotation = _annotation(ast.parse(annotation, mode="eval").body)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(type_matches(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(annotation) or (object,)
        return isinstance(value, (list, tuple)) and all(type_matches(v, inner) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def _type_name(annotation: object) -> str:
    if typing.get_origin(annotation) is not None:
        return str(annotation).replace("typing.", "")
    return getattr(annotation, "__name__", None) or str(annotation)


@dataclasses.dataclass(frozen=True)
class Params:
    """Base class for a notebook's parameters.

    Subclasses declare one field per name in the notebook's ``parameters`` cell, with the same
    type and default. :meth:`from_notebook` picks those names out of the notebook namespace
    (after papermill's injected cell has run), checks every type and lists all problems at once;
    ``check`` methods of subclasses add range checks and derived values.
    """

    @classmethod
    def names(cls) -> dict[str, tuple[object, object]]:
        hints = typing.get_type_hints(cls)
        out = {}
        for f in dataclasses.fields(cls):
            default = f.default
            if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            out[f.name] = (hints[f.name], default)
        return out

    @classmethod
    def from_mapping(cls, values: typing.Mapping[str, object], *, strict: bool = True):
        """Build from a mapping; unknown names are errors when ``strict``."""
        spec = cls.names()
        problems = []
        if strict:
            for name in sorted(set(values) - set(spec)):
                problems.append(f"unknown parameter {name!r}")
        kwargs = {}
        for name, (annotation, default) in spec.items():
            value = values.get(name, default)
            if value is dataclasses.MISSING:
                problems.append(
                    f"parameter {name!r} is missing (expected {_type_name(annotation)})"
                )
                continue
            if not type_matches(value, annotation):
                problems.append(
                    f"parameter {name!r} must be {_type_name(annotation)}, got {value!r} "
                    f"({type(value).__name__})"
                )
                continue
            if annotation is float and isinstance(value, int):
                value = float(value)
            kwargs[name] = value
        if not problems:
            obj = cls(**kwargs)
            problems.extend(obj.check())
            if not problems:
                return obj
        valid = ", ".join(f"{n}: {_type_name(a)} = {d!r}" for n, (a, d) in spec.items())
        raise ParameterError(
            f"{cls.__name__}: " + "; ".join(problems) + f". Valid parameters: {valid}"
        )

    @classmethod
    def from_notebook(cls, namespace: typing.Mapping[str, object]):
        """Validate the parameters a notebook namespace holds (``Params.from_notebook(locals())``).

        Only the declared names are read: a notebook namespace also holds imports and IPython
        variables. Unknown parameters are caught before the run by
        :func:`workbench.report.check_parameters`.
        """
        spec = cls.names()
        return cls.from_mapping({k: namespace[k] for k in spec if k in namespace}, strict=False)

    def check(self) -> list[str]:
        """Range checks; return a list of problems (empty when all is well)."""
        return []

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class NotebookParams(Params):
    """Parameters every notebook shares: the planning quarter and the data folder.

    ``quarter`` empty (the default) means the last complete quarter in the data, as the
    ingest manifest records it (``default_quarter``); no notebook names a quarter of its own.

    >>> p = NotebookParams.from_mapping({"quarter": "2025Q4"})
    >>> str(p.period), p.processed.name
    ('2025Q4', 'processed')
    """

    quarter: str = ""
    data_dir: str = "data"

    def check(self) -> list[str]:
        if not self.quarter:
            return []
        try:
            Quarter.parse(self.quarter)
        except ParameterError as exc:
            return [str(exc)]
        return []

    @property
    def period(self) -> Quarter:
        """The planning quarter: ``quarter`` when given, else the data's default quarter."""
        if self.quarter:
            return Quarter.parse(self.quarter)
        return data_quarter(self.processed)

    @property
    def processed(self) -> Path:
        return processed_dir(self.data_dir)


def data_quarter(processed: str | os.PathLike[str]) -> Quarter:
    """The last complete quarter of the ingested data (``default_quarter`` in the manifest).

    Raises
    ------
    ParameterError
        When the folder holds no manifest or the manifest names no quarter: the message says
        to run ``workbench ingest`` or to give the quarter explicitly.
    """
    path = Path(processed) / "manifest.json"
    try:
        text = json.loads(path.read_text(encoding="utf-8")).get("default_quarter")
    except (OSError, ValueError, AttributeError):
        text = None
    if not text:
        raise ParameterError(
            f"no quarter given and {path} names no default quarter: run `workbench ingest` "
            'first, or set quarter = "YYYYQn"'
        )
    return Quarter.parse(text)
