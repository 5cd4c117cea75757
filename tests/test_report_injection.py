"""Stored script injection (issue 12): a script payload in every CRM text field of a company's
export — account names, industries, rep names, unit names, deal labels — goes through the whole
report; the report completes and no page carries the payload as markup."""

from __future__ import annotations

import csv
import re

import pytest
from second_company import write_second_company

from workbench.cli import main

pytestmark = pytest.mark.slow
PAYLOAD = "<script>alert(1)</script>"
FIELDS = {
    "accounts.csv": ("account_name", "industry"),
    "reps.csv": ("rep_name",),
    "geo_units.csv": ("unit_name",),
    "opportunities.csv": ("deal_type",),
}


def _inject(folder):
    for name, columns in FIELDS.items():
        path = folder / name
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for i, row in enumerate(rows):
            for col in columns:
                if i % 3 == 0:  # every third row carries the payload
                    row[col] = f"{row[col]} {PAYLOAD}"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), quoting=csv.QUOTE_ALL)
            writer.writeheader()
            writer.writerows(rows)


def test_script_payloads_in_crm_text_never_become_markup(tmp_path):
    raw = tmp_path / "data" / "raw"
    write_second_company(raw, n_accounts=300)
    _inject(raw)
    assert main(["ingest", "--raw", str(raw), "--out", str(tmp_path / "data" / "processed")]) == 0
    rc = main(["report", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "reports")])
    assert rc == 0  # the report completes (no page blocks the PDF step on a dialog)
    pages = sorted((tmp_path / "reports").rglob("*.html"))
    assert len(pages) >= 6
    escaped = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script>alert\(1\)", text), page.name
        escaped += text.count("&lt;script&gt;alert(1)&lt;/script&gt;")
    assert escaped > 0  # the text is there, shown as text
