"""The real notebooks, run twice: through papermill with small parameters (asserting on what
they show), and through ``pytest --nbval-lax`` (every cell runs with its default parameters).

Both run against a small demo company ingested into a scratch project folder, found by the
notebooks through ``WORKBENCH_HOME``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import papermill as pm
import pytest
from conftest import demo_project

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory) -> Path:
    """A scratch project: data/raw from a small demo, data/processed from ingest."""
    return demo_project(tmp_path_factory.mktemp("home"), seed=11, n_accounts=400)


def _outputs(nb: dict) -> str:
    """All text outputs of an executed notebook, joined (what a reader sees)."""
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            parts.append("".join(out.get("text", "")) + "".join(data.get("text/plain", "")))
            parts.append("".join(data.get("text/html", "")))
    return "\n".join(parts)


def test_every_notebook_is_thin_and_stripped():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: exactly one parameters cell"
        for cell in cells:
            if cell["cell_type"] == "code":
                src = "".join(cell["source"])
                assert not cell.get("outputs"), f"{path.name}: commit notebooks without outputs"
                assert "def " not in src and "class " not in src, f"{path.name}: logic in a cell"


def test_data_health_through_papermill(demo_home, tmp_path):
    out = tmp_path / "00.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "00_data_health.ipynb"),
        str(out),
        parameters={
            "quarter": "2026Q2",
            "data_dir": str(demo_home / "data"),
            "trailing_quarters": 4,
        },
        cwd=str(ROOT),
        kernel_name="python3",
        progress_bar=False,
    )
    nb = json.loads(out.read_text())
    text = _outputs(nb)
    # The revenue table covers exactly the four quarters ending 2026Q2.
    for q in ("2025Q3", "2025Q4", "2026Q1", "2026Q2"):
        assert q in text
    assert "2025Q2" not in text.split("Won revenue by quarter")[-1].split("finding")[0]
    # A chart was drawn, and the findings table names the stale-pipeline check.
    assert any("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
    assert "stale_pipeline" in text and "(stale pipeline)" in text


def test_bad_parameter_fails_the_run_with_a_clear_message(demo_home, tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="trailing_quarters must be ≥ 1"):
        pm.execute_notebook(
            str(ROOT / "notebooks" / "00_data_health.ipynb"),
            str(tmp_path / "bad.ipynb"),
            parameters={"data_dir": str(demo_home / "data"), "trailing_quarters": 0},
            cwd=str(ROOT),
            kernel_name="python3",
            progress_bar=False,
        )


def test_nbval_lax_runs_every_notebook(demo_home):
    env = dict(os.environ, WORKBENCH_HOME=str(demo_home))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-q",
            "-p",
            "no:cacheprovider",
            *map(str, NOTEBOOKS),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout
