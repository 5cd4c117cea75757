"""The streaming xlsx writer (workbench/xlsx.py), read back with openpyxl (an independent
reader): every value, its type and its format as written by hand below."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from workbench import xlsx


def read(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_values_types_and_text_format_round_trip():
    frame = pd.DataFrame(
        {
            "id": ["00501", 'a&b <c> "q"', None, "tab\tand\x01control"],
            "usd": [1.5, np.nan, -0.1, np.inf],
            "n": [3, -2, 0, 7],
            "moved": [True, False, True, False],
            "mixed": pd.Series([1, "x", None, 2.5], dtype=object),
            "when": pd.to_datetime(["2026-01-02", None, "2026-03-04", "2026-05-06"]),
        }
    )
    ws = read(xlsx.xlsx_bytes({"Accounts": frame}))["Accounts"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows == [
        ["id", "usd", "n", "moved", "mixed", "when"],
        ["00501", 1.5, 3, True, 1, "2026-01-02 00:00:00"],
        ['a&b <c> "q"', None, -2, False, "x", None],
        [None, -0.1, 0, True, None, "2026-03-04 00:00:00"],
        ["tab\tandcontrol", None, 7, False, 2.5, "2026-05-06 00:00:00"],  # \x01 dropped, inf empty
    ]
    assert ws["A2"].data_type == "s" and ws["A2"].number_format == "@"  # text stays text
    assert ws["B2"].data_type == "n" and ws["B2"].number_format == "General"
    assert ws["D2"].data_type == "b"
    assert ws["B2"].value == 1.5 and ws["C3"].value == -2


def test_a_float_survives_to_the_last_digit():
    x = 1151078.7625330095  # 17 significant digits
    ws = read(xlsx.xlsx_bytes({"s": pd.DataFrame({"v": [x, 1 / 3]})}))["s"]
    assert ws["A2"].value == x and ws["A3"].value == 1 / 3


def test_sheets_keep_their_order_and_long_frames_continue(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 4)  # header + 3 rows per sheet
    long = pd.DataFrame({"k": range(8)})
    wb = read(xlsx.xlsx_bytes({"Summary": pd.DataFrame({"a": [1]}), "T1": long, "Empty": long[:0]}))
    assert wb.sheetnames == ["Summary", "T1", "T1 (2)", "T1 (3)", "Empty"]
    seen = [c.value for s in ("T1", "T1 (2)", "T1 (3)") for (c,) in wb[s].iter_rows(min_row=2)]
    assert seen == list(range(8))
    assert [[c.value for c in r] for r in wb["Empty"].iter_rows()] == [["k"]]


def test_duplicate_sheet_names_are_refused():
    with pytest.raises(ValueError, match="sheet names must be unique"):
        xlsx.xlsx_bytes({"T1": pd.DataFrame({"a": [1]}), "t1": pd.DataFrame({"a": [2]})})
