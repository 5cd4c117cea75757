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


def _range(spec: str) -> str:
    """The version range of a requirement, without its extras (``ibis-framework[duckdb]>=12``
    → ``>=12``)."""
    rest = spec.split("#")[0].strip()[len(_name(spec)) :].strip()
    return re.sub(r"^\[[^\]]*\]\s*", "", rest)


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _env_specs() -> dict[str, str]:
    """environment.yml's dependencies: name -> version spec (without comments)."""
    deps_section = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    lines = re.findall(r"^\s*-\s+(\S.*)$", deps_section, re.M)
    out = {}
    for line in lines:
        spec = line.split("#", 1)[0].strip()
        name = _name(spec)
        if name not in {"python", "pip", "pip:", "-e"}:
            out[name] = spec[len(name) :].strip()
    return out


def _pins() -> dict[str, str]:
    text = (ROOT / "constraints.txt").read_text()
    return {_name(n): v.strip() for n, v in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", text, re.M)}


def test_environment_yml_matches_pyproject():
    project = _project()
    runtime = {_name(d) for d in project["dependencies"]}
    test_extra = {_name(d) for d in project["optional-dependencies"]["test"]}
    env = set(_env_specs())
    assert runtime | test_extra == env, (
        f"only in pyproject.toml: {sorted((runtime | test_extra) - env)}; "
        f"only in environment.yml: {sorted(env - runtime - test_extra)}"
    )
    # the same ranges on both sides
    ranges = {
        _name(d): _range(d)
        for d in [*project["dependencies"], *project["optional-dependencies"]["test"]]
    }
    assert {n: ranges[n] for n in env} == _env_specs()
    assert "python=3.11" in (ROOT / "environment.yml").read_text()
    assert project["requires-python"] == ">=3.11"


def test_test_tools_are_not_runtime_dependencies():
    runtime = {_name(d) for d in _project()["dependencies"]}
    assert not runtime & {"pytest", "hypothesis", "nbval", "playwright", "ruff", "mypy"}
    extras = _project()["optional-dependencies"]
    assert {"pytest", "hypothesis", "nbval", "playwright"} <= {_name(d) for d in extras["test"]}
    assert {"ruff", "mypy", "pre-commit", "nbstripout"} <= {_name(d) for d in extras["dev"]}


def test_the_lock_pins_every_dependency_inside_its_range():
    """constraints.txt (what `make` installs) pins every runtime, test and dev dependency, each
    inside the ranges of pyproject.toml and environment.yml. Conda cannot reach conda-forge
    here, so this is the part of "environment.yml solves" that can be checked: the pinned set
    is one solution of its ranges."""
    from packaging.specifiers import SpecifierSet

    project = _project()
    pins = _pins()
    extras = project["optional-dependencies"]
    wanted = [*project["dependencies"], *extras["test"], *extras["dev"]]
    problems = []
    for dep in wanted:
        name = _name(dep)
        if name == "workbench":  # the dev extra includes the test extra by name
            continue
        spec = _range(dep)
        if name not in pins:
            problems.append(f"{name}: not pinned")
        elif pins[name] not in SpecifierSet(spec):
            problems.append(f"{name}: pinned {pins[name]} outside {spec}")
    for name, spec in _env_specs().items():
        if name in pins and pins[name] not in SpecifierSet(spec):
            problems.append(f"environment.yml {name}{spec}: pinned {pins[name]}")
    assert not problems
    # the versions that decide the numbers are all pinned
    assert {"scipy", "numpy", "pandas", "statsmodels", "scikit-learn", "duckdb", "highspy"} <= set(
        pins
    )
    assert "workbench" not in pins  # the package itself is installed editable, never pinned


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
