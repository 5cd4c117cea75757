"""Packaging: environment.yml and pyproject.toml list the same dependencies; the CLI runs."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;#]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pyproject = {_name(d) for d in project["dependencies"]}
    deps_section = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    env_lines = re.findall(r"^\s*-\s+(\S.*)$", deps_section, re.M)
    env = {_name(x) for x in env_lines} - {"python", "pip", "pip:", "-e"}
    assert pyproject == env, (
        f"only in pyproject.toml: {sorted(pyproject - env)}; "
        f"only in environment.yml: {sorted(env - pyproject)}"
    )
    assert "python=3.11" in (ROOT / "environment.yml").read_text()
    assert project["requires-python"] == ">=3.11"


def test_console_script_and_module_are_the_same_program():
    out = subprocess.run(
        [sys.executable, "-m", "workbench", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("demo", "ingest", "design", "forecast", "report"):
        assert command in out
    exe = Path(sys.executable).with_name("workbench")
    assert exe.exists(), "console script `workbench` not installed"
    assert subprocess.run(
        [str(exe), "--help"], capture_output=True, text=True
    ).stdout == out.replace("python -m workbench", "workbench")


def test_generated_data_is_git_ignored():
    ignore = (ROOT / ".gitignore").read_text()
    assert "data/raw/*" in ignore and "!data/raw/README.md" in ignore
    assert "data/processed/*" in ignore and "reports/*" in ignore
    assert "read-only" in (ROOT / "data/raw/README.md").read_text()
