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

from .base import PathLike, ReportError, ReportResult, Spec
from .pages import html_exporter, write_action_files
from .params import (
    RUN_PARAMETERS,
    check_parameters,
    notebook_parameters,
    parse_parameters,
    plan_parameters,
    type_matches,
)
from .pdf import CHROMIUM_ARGS, find_chromium, html_to_pdf, write_pdfs
from .run import VERSIONED_PACKAGES, commit_stages, run_report, stage_processed

__all__ = [
    "CHROMIUM_ARGS",
    "RUN_PARAMETERS",
    "VERSIONED_PACKAGES",
    "PathLike",
    "ReportError",
    "ReportResult",
    "Spec",
    "check_parameters",
    "commit_stages",
    "find_chromium",
    "html_exporter",
    "html_to_pdf",
    "notebook_parameters",
    "parse_parameters",
    "plan_parameters",
    "run_report",
    "stage_processed",
    "type_matches",
    "write_action_files",
    "write_pdfs",
]
