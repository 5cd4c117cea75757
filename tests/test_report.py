"""Tests for workbench.report: tiny hand-built notebooks; real papermill and kernels where slow."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workbench.cli import main
from workbench.report import (
    ReportError,
    ReportResult,
    check_parameters,
    find_chromium,
    notebook_parameters,
    parse_parameters,
    run_report,
    type_matches,
)

QUARTER = "2026Q2"  # deliberately not the demo's 2026Q3, so a hard-coded default would show


# ---------------------------------------------------------------------------------------------
# Factories


def write_notebook(path: Path, params: str | None, *cells: str) -> Path:
    """Title, a parameters cell (if given), then one code cell per string."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells.append(new_markdown_cell(f"# {path.stem}"))
    if params is not None:
        nb.cells.append(new_code_cell(params, metadata={"tags": ["parameters"]}))
    nb.cells.extend(new_code_cell(c) for c in cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def write_data(folder: Path, **manifest: object) -> Path:
    """A data folder whose processed/manifest.json holds ``manifest``."""
    (folder / "processed").mkdir(parents=True)
    (folder / "processed" / "manifest.json").write_text(json.dumps(manifest))
    return folder


HEALTH_PARAMS = 'quarter: str = "2000Q1"  # planning period\ndata_dir: str = "data"\n'
PLAN_PARAMS = 'quarter: str = "2000Q1"\ngreeting: str = "hello"\nrate: float = 0.5\nn: int = 3\n'


def make_project(root: Path) -> dict[str, Path]:
    """Two notebooks, processed data of a synthetic company, and a quarter's params file."""
    nbs = root / "notebooks"
    write_notebook(
        nbs / "00_health.ipynb",
        HEALTH_PARAMS,
        'import os\nprint("quarter is", quarter, "absolute", os.path.isabs(data_dir))',
        'print("answer", 6 * 7)',
    )
    write_notebook(nbs / "01_plan.ipynb", PLAN_PARAMS, 'print(f"greeting={greeting} rate={rate}")')
    data = write_data(
        root / "data",
        default_quarter=QUARTER,
        synthetic=True,
        inputs={"accounts.csv": "sha256:aaa", "reps.csv": "sha256:bbb"},
    )
    out = root / "reports"
    (out / "params").mkdir(parents=True)
    (out / "params" / f"{QUARTER}.yaml").write_text(
        yaml.safe_dump({"common": {"rate": 2}, "01_plan": {"greeting": "from yaml"}})
    )
    return {"notebooks": nbs, "data": data, "out": out}


def run(paths: dict[str, Path], **kwargs) -> ReportResult:
    kwargs.setdefault("progress", lambda line: None)
    return run_report(
        out_dir=paths["out"], data_dir=paths["data"], notebooks_dir=paths["notebooks"], **kwargs
    )


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def stream_text(nb_path: Path) -> str:
    nb = nbformat.read(nb_path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def fake_execute(src, dst, parameters=None, **kwargs):
    """Stands in for papermill.execute_notebook where only the file handling is under test."""
    nbformat.write(nbformat.read(src, as_version=4), dst)


# ---------------------------------------------------------------------------------------------
# One real run, shared


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    paths = make_project(tmp_path_factory.mktemp("project"))
    lines: list[str] = []
    result = run(paths, progress=lines.append)  # quarter from the manifest, params file found
    return paths, result, lines


@pytest.mark.slow
def test_success_writes_notebooks_pages_index_and_manifest(built):
    paths, result, lines = built
    folder = paths["out"] / QUARTER
    assert result.quarter == QUARTER and result.folder == folder
    pdfs = ["00_health.pdf", "01_plan.pdf", f"planning_pack_{QUARTER}.pdf"]
    expected = [
        "00_health.html",
        "00_health.ipynb",
        "01_plan.html",
        "01_plan.ipynb",
        "index.html",
        "manifest.json",
    ]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        expected + (pdfs if find_chromium() else [])
    )
    # only the report and the params folder remain: no temp, backup or .failed folders
    assert sorted(p.name for p in paths["out"].iterdir()) == [QUARTER, "params"]
    assert [name for name, _ in result.notebooks] == ["00_health.ipynb", "01_plan.ipynb"]
    assert result.seconds >= sum(sec for _, sec in result.notebooks) > 0
    assert len(lines) == 4 + bool(find_chromium()) and "00_health.ipynb" in lines[1]
    assert lines[3].endswith(" s")
    assert "00_health.ipynb" in result.summary() and str(result.index) in result.summary()


@pytest.mark.slow
def test_parameters_reach_the_notebooks(built):
    paths, _, _ = built
    folder = paths["out"] / QUARTER
    # quarter defaulted from the processed manifest; data_dir passed as an absolute path
    assert f"quarter is {QUARTER} absolute True" in stream_text(folder / "00_health.ipynb")
    # the YAML's per-notebook section and its common section (int accepted for float)
    assert "greeting=from yaml rate=2" in stream_text(folder / "01_plan.ipynb")


@pytest.mark.slow
def test_manifest_shows_no_machine_path_and_the_folder_follows_the_umask(built):
    paths, _, _ = built
    folder = paths["out"] / QUARTER
    text = (folder / "manifest.json").read_text()
    assert str(paths["data"]) not in text and str(paths["out"]) not in text
    assert json.loads(text)["data"]["processed_dir"] == "…/processed"
    umask = os.umask(0)
    os.umask(umask)
    assert folder.stat().st_mode & 0o777 == 0o777 & ~umask


@pytest.mark.slow
def test_html_hides_code_but_keeps_output(built):
    paths, _, _ = built
    page = (paths["out"] / QUARTER / "00_health.html").read_text()
    assert "answer 42" in page
    assert "6 * 7" not in page and "os.path.isabs" not in page


@pytest.mark.slow
def test_index_links_every_notebook(built):
    paths, _, _ = built
    index = (paths["out"] / QUARTER / "index.html").read_text()
    assert f"<title>Quarterly planning report {QUARTER}</title>" in index
    assert "synthetic" in index
    for stem in ("00_health", "01_plan"):
        assert f'href="{stem}.html"' in index and f'href="{stem}.ipynb"' in index


@pytest.mark.slow
def test_manifest_records_parameters_versions_and_inputs(built):
    paths, _result, _ = built
    path = paths["out"] / QUARTER / "manifest.json"
    text = path.read_text()
    manifest = json.loads(text)
    assert text == json.dumps(manifest, sort_keys=True, indent=2) + "\n"  # deterministic layout
    assert manifest["quarter"] == QUARTER
    assert manifest["parameters"]["00_health"] == {
        "quarter": QUARTER,
        "data_dir": "…/data",  # outside the project: no machine path in the manifest
    }
    # overrides and the defaults they leave alone
    assert manifest["parameters"]["01_plan"] == {
        "quarter": QUARTER,
        "greeting": "from yaml",
        "rate": 2,
        "n": 3,
    }
    assert set(manifest["timings_seconds"]) == {"00_health", "01_plan"}
    assert manifest["versions"]["workbench"] and manifest["versions"]["papermill"]
    assert {"pandas", "numpy", "statsmodels", "scikit-learn"} <= set(manifest["versions"])
    assert {"scipy", "highspy", "duckdb"} <= set(manifest["versions"])  # they decide numbers
    assert "pinned_versions" in manifest  # None here: the test project has no constraints.txt
    assert "git_commit" in manifest
    assert manifest["data"]["synthetic"] is True
    assert manifest["data"]["inputs"] == {"accounts.csv": "sha256:aaa", "reps.csv": "sha256:bbb"}
    assert manifest["params_file"] == f"…/{QUARTER}.yaml"  # found, named without its path


@pytest.mark.slow
def test_failing_notebook_keeps_previous_report(built, tmp_path):
    paths = make_project(tmp_path)
    shutil.copytree(built[0]["out"] / QUARTER, paths["out"] / QUARTER)  # the previous report
    (paths["out"] / f"{QUARTER}.failed").mkdir()
    (paths["out"] / f"{QUARTER}.failed" / "stale.txt").write_text("older failure")
    before = tree_hashes(paths["out"] / QUARTER)
    write_notebook(
        paths["notebooks"] / "01_plan.ipynb",
        PLAN_PARAMS,
        "x = 1",
        'raise ValueError("boom in " + quarter)',
        'print("never")',
    )

    with pytest.raises(ReportError) as info:
        run(paths, quarter=QUARTER)

    message = str(info.value)
    assert "01_plan.ipynb" in message
    # the author's cell numbering: title, parameters, x = 1, then the failing cell
    assert "cell 4" in message and 'raise ValueError("boom in " + quarter)' in message
    assert f"ValueError: boom in {QUARTER}" in message
    failed = paths["out"] / f"{QUARTER}.failed"
    assert str(failed) in message
    assert tree_hashes(paths["out"] / QUARTER) == before
    assert sorted(p.name for p in failed.iterdir()) == ["00_health.ipynb", "01_plan.ipynb"]
    assert sorted(p.name for p in paths["out"].iterdir()) == [QUARTER, failed.name, "params"]


# ---------------------------------------------------------------------------------------------
# Checks before anything runs (no kernels)


def test_unknown_and_ill_typed_parameters_fail_before_running(tmp_path, monkeypatch):
    paths = make_project(tmp_path)
    shutil.rmtree(paths["out"])
    params = tmp_path / "bad.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "common": {"nope": 1},
                "01_plan": {"greeting": 5, "typo": 1, "n": True},
                "02_missing": {"a": 1},
            }
        )
    )
    monkeypatch.setattr("papermill.execute_notebook", pytest.fail)  # nothing may run

    with pytest.raises(ReportError) as info:
        run(paths, quarter=QUARTER, params_file=params)

    message = str(info.value)
    assert "no notebook was run" in message
    assert "common sets 'nope', which no notebook declares" in message
    assert "01_plan.ipynb: unknown parameter 'typo'" in message
    assert "01_plan.ipynb: parameter 'greeting' must be str, got 5 (int)" in message
    assert "01_plan.ipynb: parameter 'n' must be int, got True (bool)" in message
    assert "section '02_missing' matches no notebook" in message
    assert "01_plan.ipynb: quarter: str = '2000Q1', greeting: str = 'hello', rate: float" in message
    assert not paths["out"].exists()


def test_params_file_may_not_set_the_quarter(tmp_path):
    paths = make_project(tmp_path)
    (paths["out"] / "params" / f"{QUARTER}.yaml").write_text("common:\n  quarter: 2025Q1\n")
    with pytest.raises(ReportError, match="sets 'quarter'; the command sets it"):
        run(paths, quarter=QUARTER)


def test_cli_reports_parameter_problems(tmp_path, capsys):
    paths = make_project(tmp_path)
    (paths["out"] / "params" / f"{QUARTER}.yaml").write_text("01_plan:\n  rate: fast\n")
    argv = ["report", "--out", str(paths["out"]), "--data", str(paths["data"])]
    code = main([*argv, "--notebooks", str(paths["notebooks"])])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("report failed: ") and "parameter 'rate' must be float" in err


def test_missing_default_quarter_asks_for_ingest(tmp_path):
    paths = make_project(tmp_path)
    (paths["data"] / "processed" / "manifest.json").unlink()
    with pytest.raises(ReportError, match=r"run `workbench ingest` first, or pass --quarter"):
        run(paths)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"quarter": "2026Q5"}, "YYYYQn"),
        ({"quarter": QUARTER, "params_file": "/no/such/params.yaml"}, "not found"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ReportError, match=match):
        run(make_project(tmp_path), **kwargs)


def test_no_notebooks(tmp_path):
    paths = make_project(tmp_path)
    paths["notebooks"] = tmp_path / "empty"
    with pytest.raises(ReportError, match=r"no notebooks \(\*\.ipynb\) found"):
        run(paths, quarter=QUARTER)


def test_notebook_without_parameters_cell_is_named(tmp_path):
    paths = make_project(tmp_path)
    write_notebook(paths["notebooks"] / "02_loose.ipynb", None, "print(1)")
    with pytest.raises(ReportError, match=r"02_loose\.ipynb: expected one code cell tagged"):
        run(paths, quarter=QUARTER)
    assert not (paths["out"] / QUARTER).exists()


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ('n: int = len("ab")', r"'n' must be set to a literal, got `len\('ab'\)`"),
        ("n = 3", "expected `name: type = literal`, got `n = 3`"),
        ("n: int", "'n' must be set to a literal, got `nothing`"),
        ('n: int = "3"', "default '3' of 'n' is not int"),
        ("n: set = {1}", "unsupported type `set`"),
        ("n: int = ", "not valid Python"),
    ],
)
def test_parameters_cell_must_hold_annotated_literals(source, match):
    with pytest.raises(ReportError, match=match):
        parse_parameters(source, where="07_x.ipynb")


def test_parse_parameters_reads_types_and_defaults():
    source = (
        "# comment lines are fine\n"
        'quarter: str = "2026Q3"  # planning period\n'
        "share: float = 1\n"
        "regions: list[str] = ['GA', 'FL']\n"
        "cap: int | None = None\n"
        "interactive: bool = False\n"
    )
    assert parse_parameters(source) == {
        "quarter": ("str", "2026Q3"),
        "share": ("float", 1),
        "regions": ("list[str]", ["GA", "FL"]),
        "cap": ("int | None", None),
        "interactive": ("bool", False),
    }


@pytest.mark.parametrize(
    ("value", "type_name", "ok"),
    [
        (3, "float", True),
        (3.5, "int", False),
        (True, "int", False),
        (True, "float", False),
        (False, "bool", True),
        ("3", "int", False),
        ([1, 2], "list", True),
        ([1, "a"], "list[int]", False),
        (None, "int | None", True),
        (4, "int | None", True),
        ({"a": 1}, "dict", True),
    ],
)
def test_type_matches(value, type_name, ok):
    assert type_matches(value, type_name) is ok


def test_check_parameters_lists_every_problem(tmp_path):
    nb = write_notebook(tmp_path / "01_plan.ipynb", PLAN_PARAMS)
    assert notebook_parameters(nb)["rate"] == ("float", 0.5)
    assert check_parameters(nb, {"rate": 1, "n": 4, "greeting": "hi"}) == []
    assert check_parameters(nb, {"rate": "1", "typo": 0}) == [
        "parameter 'rate' must be float, got '1' (str)",
        "unknown parameter 'typo'",
    ]


# ---------------------------------------------------------------------------------------------
# Folder handling, with papermill replaced (fast)


def test_rerun_replaces_previous_report(tmp_path, monkeypatch):
    monkeypatch.setattr("papermill.execute_notebook", fake_execute)
    paths = make_project(tmp_path)
    run(paths, quarter=QUARTER)
    (paths["out"] / QUARTER / "leftover.txt").write_text("from the old report")
    result = run(paths, quarter=QUARTER)
    assert not (result.folder / "leftover.txt").exists()
    assert (result.folder / "index.html").is_file()
    assert sorted(p.name for p in paths["out"].iterdir()) == [QUARTER, "params"]


def test_failed_swap_restores_previous_report(tmp_path, monkeypatch):
    monkeypatch.setattr("papermill.execute_notebook", fake_execute)
    paths = make_project(tmp_path)
    run(paths, quarter=QUARTER)
    before = tree_hashes(paths["out"] / QUARTER)
    rename = Path.rename

    def flaky_rename(self, target):
        if self.name.startswith(f".{QUARTER}.tmp-"):
            raise OSError("disk full")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", flaky_rename)
    with pytest.raises(ReportError, match=r"could not move the new report.*disk full"):
        run(paths, quarter=QUARTER)
    assert tree_hashes(paths["out"] / QUARTER) == before
    assert sorted(p.name for p in paths["out"].iterdir()) == [QUARTER, "params"]


def test_interrupt_leaves_no_half_written_report(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("papermill.execute_notebook", interrupted)
    paths = make_project(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run(paths, quarter=QUARTER)
    assert sorted(p.name for p in paths["out"].iterdir()) == ["params"]


def test_summary_lists_notebooks():
    result = ReportResult(QUARTER, Path("/r") / QUARTER, (("00_a.ipynb", 1.34),), 2.0)
    assert result.summary().splitlines() == [
        f"report {QUARTER}: 1 notebook in 2.0 s",
        "  00_a.ipynb      1.3 s",
        f"open /r/{QUARTER}/index.html",
    ]


@pytest.mark.slow
def test_pdfs_have_pages_when_chromium_is_installed(built):
    """CI installs Debian's chromium: there a missing browser is a failure, not a skip."""
    if find_chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no chromium found: .ci/run must install it")
        pytest.skip("no headless Chromium on this machine")
    paths, _, _ = built
    folder = paths["out"] / QUARTER
    for name in ("00_health.pdf", f"planning_pack_{QUARTER}.pdf"):
        data = (folder / name).read_bytes()
        assert data.startswith(b"%PDF-")
        assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 1
    # the pack holds both notebooks' outputs, so it is at least as long as either page
    pages = {
        n: len(re.findall(rb"/Type\s*/Page\b", (folder / n).read_bytes()))
        for n in ("00_health.pdf", "01_plan.pdf", f"planning_pack_{QUARTER}.pdf")
    }
    assert pages[f"planning_pack_{QUARTER}.pdf"] >= max(
        pages["00_health.pdf"], pages["01_plan.pdf"]
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["pdf"].startswith("PDF: 2 notebook PDFs + planning pack")


@pytest.mark.slow
def test_stage_outputs_reach_processed_only_when_the_report_succeeds(tmp_path):
    paths = make_project(tmp_path)
    processed = paths["data"] / "processed"
    # a notebook that writes a stage file for the quarter, and one that then fails
    write_notebook(
        paths["notebooks"] / "03_write.ipynb",
        HEALTH_PARAMS,
        "from workbench.io import save_stage\nimport pandas as pd\n"
        "save_stage(pd.DataFrame({'account_id': ['A1'], 'abc_class': ['A']}), "
        "data_dir + '/processed', 'segments', quarter)",
    )
    write_notebook(paths["notebooks"] / "04_fail.ipynb", HEALTH_PARAMS, "1 / 0")
    # a staging folder left by a killed run (pid 1 is alive: kept; a dead pid: removed)
    dead = paths["data"] / ".report-999999-abc"
    alive = paths["data"] / ".report-1-abc"
    dead.mkdir(), alive.mkdir()
    with pytest.raises(ReportError):
        run(paths)
    assert not (processed / f"segments_{QUARTER}.parquet").exists()  # not committed
    assert not dead.exists() and alive.exists()
    assert [p.name for p in paths["data"].glob(".report-*")] == [alive.name]
    (paths["notebooks"] / "04_fail.ipynb").unlink()
    run(paths)
    assert (processed / f"segments_{QUARTER}.parquet").is_file()  # committed with the report
    assert [p.name for p in paths["data"].glob(".report-*")] == [alive.name]


def test_manifest_compares_installed_versions_with_the_pins(tmp_path):
    from workbench.report.run import _pins

    (tmp_path / "constraints.txt").write_text(
        "# pinned\nscipy==1.17.1\nnumpy==2.4.6  # comment\nscikit_learn==1.9.1\n"
    )
    same = {"scipy": "1.17.1", "numpy": "2.4.6", "scikit-learn": "1.9.1", "workbench": "0.1.0"}
    assert _pins(tmp_path, same) == {"file": "constraints.txt", "matches": True, "differs": {}}
    other = {**same, "numpy": "2.3.0"}
    assert _pins(tmp_path, other) == {
        "file": "constraints.txt",
        "matches": False,
        "differs": {"numpy": {"installed": "2.3.0", "pinned": "2.4.6"}},
    }
    assert _pins(tmp_path / "elsewhere", same) is None
