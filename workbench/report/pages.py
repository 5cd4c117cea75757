"""The report's pages: code-hidden HTML per notebook, the index page, and the files a sales
team acts on."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import nbformat

from .. import __version__
from ..summary import SUMMARY_CSS

TEMPLATES = Path(__file__).parent.parent / "templates"


def html_exporter():
    """nbconvert's HTML exporter with the code hidden and the package's ``offline`` template:
    the lab template without its CDN scripts, so a page loads nothing from the network."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        template_name="offline",
        extra_template_basedirs=[str(TEMPLATES)],
    )


def write_action_files(folder: Path, quarter: str, processed: Path) -> list[Path]:
    """The files a sales team acts on, from notebook 03's ``alignment`` stage: the account
    list (CSV and xlsx, one sheet per territory), the CRM owner-update file and the territory
    shapes (:func:`workbench.territory.alignment.write_alignment_files`). None when notebook
    03 did not run for the quarter."""
    from ..io import load_geojson, load_stage, stage_path
    from ..territory.alignment import write_alignment_files

    if not stage_path(processed, "alignment", quarter).is_file():
        return []
    alignment = load_stage(processed, "alignment", quarter)
    plan = load_stage(processed, "territory_plan", quarter)
    blocks = plan.rename(columns={"block_id": "unit_id"})[["unit_id", "lat", "lon"]]
    polygons = None
    if (plan["block_type"] == "unit_id").all():  # blocks are the units: dissolve their polygons
        polygons = load_geojson(processed)
    return write_alignment_files(
        folder, alignment, quarter=quarter, blocks=blocks, polygons=polygons
    )


_ACTION_LABELS = (
    (
        "alignment_{q}.xlsx",
        "Account list per territory (Excel: a summary, one sheet per territory, the changes)",
    ),
    (
        "alignment_{q}.csv",
        "Every account: current and proposed territory and rep, moved or not, and why",
    ),
    ("crm_owner_updates_{q}.csv", "CRM bulk update: the accounts that change owner"),
    ("territories_{q}.geojson", "Territory shapes for GIS tools"),
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _write_pages(
    folder: Path,
    quarter: str,
    timings: Mapping[str, float],
    data_manifest: Mapping,
    *,
    pdf: bool = False,
    summary: str | None = None,
    actions: Sequence[Path] = (),
) -> None:
    """One code-hidden HTML page per executed notebook, and the index page."""

    exporter = html_exporter()
    rows = []
    for name, seconds in timings.items():
        stem = Path(name).stem
        nb = nbformat.read(folder / name, as_version=4)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": stem}})
        (folder / f"{stem}.html").write_text(body, encoding="utf-8")
        rows.append(
            f'<tr><td><a href="{html.escape(stem)}.html">{html.escape(stem)}</a></td>'
            f'<td><a href="{html.escape(name)}">{html.escape(name)}</a></td>'
            + (f'<td><a href="{html.escape(stem)}.pdf">PDF</a></td>' if pdf else "<td>-</td>")
            + f'<td class="num">{seconds:.1f} s</td><td>ok</td></tr>'
        )
    synthetic = data_manifest.get("synthetic")
    origin: dict[object, str] = {
        True: "Data: <strong>synthetic</strong> demo company (not real customers).",
        False: "Data: real CRM exports.",
    }
    data_line = origin.get(synthetic, "Data: origin unknown (no processed manifest).")
    title = f"Quarterly planning report {quarter}"
    written = {p.name for p in actions}
    action_rows = [
        f'<li><a href="{html.escape(name.format(q=quarter))}">{html.escape(name.format(q=quarter))}'
        f"</a>: {html.escape(label)}</li>"
        for name, label in _ACTION_LABELS
        if name.format(q=quarter) in written
    ]
    action_html = (
        "<h2>Files for the sales team</h2>\n<ul>" + "".join(action_rows) + "</ul>"
        if action_rows
        else ""
    )
    headlines = ""
    if summary is not None:
        headlines = "<h2>Executive summary</h2>\n" + summary
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; }}
td.num {{ text-align: right; }}
footer {{ color: #666; font-size: .9rem; margin-top: 2rem; }}
{SUMMARY_CSS}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{data_line}</p>
{headlines}
{action_html}
{"<h2>Sections</h2>" if headlines or action_html else ""}
<table>
<thead><tr><th>report</th><th>notebook</th><th>PDF</th><th>run time</th><th>status</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<footer>Generated {_now()} by workbench {__version__}.</footer>
</body>
</html>
"""
    (folder / "index.html").write_text(page, encoding="utf-8")
