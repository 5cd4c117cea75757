"""Quarter arithmetic and notebook parameter validation (hand-checked calendar facts)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from workbench.config import ParameterError, Params, Quarter, last_complete_quarter, project_root


def test_quarter_bounds_by_calendar():
    assert Quarter.parse("2024Q1").end == dt.date(2024, 3, 31)
    assert Quarter.parse("2026Q2").start == dt.date(2026, 4, 1)
    assert Quarter.parse("2026Q4").end == dt.date(2026, 12, 31)
    assert Quarter.from_date(dt.date(2026, 10, 1)) == Quarter(2026, 4)


def test_quarter_arithmetic_crosses_years():
    q = Quarter.parse("2026Q3")
    assert str(q + 2) == "2027Q1"
    assert str(q - 11) == "2023Q4"  # twelve quarters of history end with 2026Q3
    assert [str(x) for x in q.range_back(3)] == ["2026Q1", "2026Q2", "2026Q3"]
    assert Quarter.parse("2025Q4") < q


@pytest.mark.parametrize("bad", ["2026q5", "26Q1", "2026-Q3", "", "2026Q0"])
def test_quarter_rejects_bad_text(bad):
    with pytest.raises(ParameterError, match="YYYYQn"):
        Quarter.parse(bad)


def test_last_complete_quarter():
    assert str(last_complete_quarter(dt.date(2026, 9, 30))) == "2026Q3"
    assert str(last_complete_quarter(dt.date(2026, 9, 29))) == "2026Q2"
    assert str(last_complete_quarter(dt.date(2026, 11, 27))) == "2026Q3"


@dataclasses.dataclass(frozen=True)
class DemoParams(Params):
    quarter: str = "2026Q3"
    k: int = 10
    tolerance: float = 0.05
    measures: list[str] = dataclasses.field(default_factory=lambda: ["population"])

    def check(self):
        return ["k must be ≥ 1"] if self.k < 1 else []


def test_params_from_notebook_reads_declared_names_only():
    ns = {"quarter": "2025Q1", "k": 8, "tolerance": 1, "np": object(), "_ih": []}
    p = DemoParams.from_notebook(ns)
    assert (p.quarter, p.k, p.tolerance) == ("2025Q1", 8, 1.0)
    assert isinstance(p.tolerance, float)


def test_params_lists_every_problem_and_the_valid_names():
    with pytest.raises(ParameterError) as info:
        DemoParams.from_mapping({"k": "10", "tolerance": True, "colour": "red"})
    msg = str(info.value)
    assert "unknown parameter 'colour'" in msg
    assert "parameter 'k' must be int, got '10'" in msg
    assert "parameter 'tolerance' must be float" in msg
    assert "Valid parameters: quarter: str = '2026Q3', k: int = 10" in msg


def test_params_range_check():
    with pytest.raises(ParameterError, match="k must be ≥ 1"):
        DemoParams.from_mapping({"k": 0})


def test_project_root_from_notebooks_folder(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.delenv("WORKBENCH_HOME", raising=False)
    assert project_root(tmp_path / "notebooks") == tmp_path
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "elsewhere"))
    assert project_root(tmp_path / "notebooks") == tmp_path / "elsewhere"
