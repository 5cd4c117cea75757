"""PDF export through headless Chromium, with every network request switched off."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from ..summary import SUMMARY_CSS
from .base import ReportError
from .pages import html_exporter

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--no-pings",
    "--bwsi",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater,"
    "InterestFeedContentSuggestions",
    # what Chromium still calls home for (account list, component updates) goes to the local
    # discard port, and so does anything else, through a proxy that points nowhere: no request
    # leaves the machine (tests/test_report_offline.py reads Chromium's own network log)
    "--gaia-url=http://127.0.0.1:9/",
    "--component-updater=url-source=http://127.0.0.1:9/",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--no-pdf-header-footer",
)
"""Headless Chromium flags that make no network requests (the report must work offline)."""


def find_chromium() -> str | None:
    """A headless-capable Chromium: ``$WORKBENCH_CHROMIUM``, else ``chromium`` on the PATH."""
    explicit = os.environ.get("WORKBENCH_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(
    html_path: Path,
    pdf_path: Path,
    *,
    chromium: str,
    timeout: float = 120,
    extra_args: tuple[str, ...] = (),
) -> None:
    """Print one HTML page to PDF with headless Chromium (written atomically)."""
    tmp_pdf = pdf_path.with_name(f".{pdf_path.name}.tmp")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        try:
            run = subprocess.run(
                [
                    chromium,
                    *CHROMIUM_ARGS,
                    *extra_args,
                    f"--user-data-dir={profile}",
                    f"--print-to-pdf={tmp_pdf}",
                    html_path.resolve().as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            tmp_pdf.unlink(missing_ok=True)
            raise ReportError(
                f"Chromium did not finish printing {html_path.name} to PDF within {timeout:.0f} s "
                "(the page may be too large, or the browser stalled); the HTML pages are fine"
            ) from None
    if run.returncode != 0 or not tmp_pdf.is_file() or tmp_pdf.read_bytes()[:5] != b"%PDF-":
        tmp_pdf.unlink(missing_ok=True)
        tail = (run.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise ReportError(f"Chromium could not print {html_path.name} to PDF: {tail[0]}")
    os.replace(tmp_pdf, pdf_path)


def write_pdfs(
    folder: Path,
    stems: list[str],
    quarter: str,
    progress: Callable[[str], None],
    *,
    summary: str | None = None,
) -> str:
    """A PDF per notebook page and one combined planning pack; a note when no browser exists.

    The pack is one HTML page holding every notebook's code-hidden output in run order, so
    leadership gets a single document in the notebooks' order.
    """
    chromium = find_chromium()
    if chromium is None:
        note = (
            "PDF skipped: no headless Chromium found (install Debian's `chromium`, "
            "or set WORKBENCH_CHROMIUM)"
        )
        progress(note)
        return note

    t0 = time.perf_counter()
    pack = nbformat.v4.new_notebook()
    pack.cells.append(nbformat.v4.new_markdown_cell(f"# Quarterly planning pack {quarter}"))
    if summary is not None:  # the pack opens with the executive summary
        pack.cells.append(
            nbformat.v4.new_markdown_cell(
                f"## Executive summary\n\n<style>{SUMMARY_CSS}</style>\n\n{summary}"
            )
        )
    for stem in stems:
        pack.cells.extend(nbformat.read(folder / f"{stem}.ipynb", as_version=4).cells)
    exporter = html_exporter()
    body, _ = exporter.from_notebook_node(pack, resources={"metadata": {"name": "pack"}})
    with tempfile.TemporaryDirectory(prefix="pack-") as scratch:
        pack_html = Path(scratch) / "planning_pack.html"
        pack_html.write_text(body, encoding="utf-8")
        jobs = [(folder / f"{stem}.html", folder / f"{stem}.pdf") for stem in stems]
        jobs.append((pack_html, folder / f"planning_pack_{quarter}.pdf"))
        # Each page is its own browser process: two at a time keep both cores busy.
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda job: html_to_pdf(*job, chromium=chromium), jobs))
    note = f"PDF: {len(stems)} notebook PDFs + planning pack in {time.perf_counter() - t0:.1f} s"
    progress(note)
    return note
