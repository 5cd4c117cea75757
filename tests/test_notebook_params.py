"""Every notebook's parameters cell and the ``Params`` class it validates against declare the
same names, in the same order, with the same types and defaults.

The notebook side is read from the cell's source (``notebook_parameters``), the class side from
its dataclass fields; each notebook names its class in its ``Params.from_notebook(locals())``
call, so a new notebook is covered without touching this test.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

from workbench.config import Params, _type_name
from workbench.report import notebook_parameters

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "apps").glob("*.ipynb"))


def params_class(path: Path) -> type[Params]:
    """The class a notebook validates its parameters with: ``alias.Class.from_notebook(...)``,
    the alias resolved through the notebook's ``from workbench import x [as alias]`` lines."""
    aliases, target = {}, None
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("workbench"):
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "from_notebook"
            ):
                target = ast.unparse(node.func.value)
    assert target, f"{path.name}: no Params.from_notebook(locals()) call"
    alias, _, name = target.rpartition(".")
    return getattr(importlib.import_module(aliases[alias]), name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_matches_its_params_class(path):
    cls = params_class(path)
    cell = notebook_parameters(path)
    declared = cls.names()
    assert list(cell) == list(declared), f"{path.name} vs {cls.__name__}: names or order differ"
    for name, (type_name, default) in cell.items():
        annotation, class_default = declared[name]
        assert type_name == _type_name(annotation), f"{name}: {type_name} vs {annotation}"
        assert default == class_default, f"{name}: {default!r} vs {class_default!r}"
        assert type(default) is type(class_default), name  # 1 is not 1.0 for a float parameter
    # and the defaults pass the class's own checks
    cls.from_mapping({n: d for n, (_, d) in cell.items()})
