"""The streaming XLSX reader gives what python-calamine gives: number formats classified the
same way, serial numbers turned into the same dates, times and durations."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from hub.importer import ReadLimits, open_table
from hub.importer._xlsx_stream import DATETIME, TIMEDELTA, format_kind

OTHER = 0


@pytest.mark.parametrize(("code", "kind"), [
    ("yyyy-mm-dd", DATETIME),
    ("DD/MM/YY", DATETIME),
    ("H:MM:SS;@", DATETIME),
    ('m"M"d"D";@', DATETIME),
    ("[$-404]e\"年\"m\"月\"d\"日\"", DATETIME),
    ("[$-F800]dddd, mmmm dd, yyyy", DATETIME),
    ("h:mm AM/PM", DATETIME),
    ("AM", DATETIME),
    ("*-yyyy-mm-dd", DATETIME),
    ("[h]:mm:ss", TIMEDELTA),
    ("[mm]:ss", TIMEDELTA),
    ("[s].000", TIMEDELTA),
    ("[Blue]\\+[h]:mm;[Red]\\-[h]:mm", TIMEDELTA),
    ("[>=100][Magenta][s].00", TIMEDELTA),
    ("General", OTHER),
    ("0.00%", OTHER),
    ('"$"#,##0_);[Red]("$"#,##0)', OTHER),
    ("#,##0\\ [$\\u20bd-46D]", OTHER),
    ("\\Y000000", OTHER),
    ('#,##0.0####" YMD"', OTHER),
    ("[>=100][Magenta].00", OTHER),
    ("#,##0*y", OTHER),
    ("0_ ;[Red]\\-0\\ ", OTHER),
    ('"Y: "0.00"m";"Y: "-0.00"m"', OTHER),
])
def test_format_kind__like_calamine(code: str, kind: int) -> None:
    assert format_kind(code) == kind


SERIALS = [0, 0.5, 0.18737500000000001, 0.999999, 1, 1.5, 59, 59.75, 60, 61, 25569,
           44484.7916666667, 45352.520833333336, 45352.99999999, 2958465, 2958465.9999, -1.5]
FORMATS = [14, 22, 20, 45, 46, 47, "yyyy/mm/dd hh:mm:ss.000", "[h]:mm", "mm:ss", "0.00",
           "General"]


@pytest.mark.parametrize("date1904", [False, True])
def test_stream_reader__same_values_as_calamine(raw_xlsx: Any, xml: SimpleNamespace,
                                                date1904: bool) -> None:
    letters = [chr(65 + i) for i in range(len(FORMATS))]
    header = '<row r="1">' + "".join(xml.inline(f"{c}1", f"f{c}") for c in letters) + "</row>"
    rows = "".join(
        f'<row r="{r}">' + "".join(xml.number(f"{c}{r}", value, style)
                                   for style, c in enumerate(letters, 1)) + "</row>"
        for r, value in enumerate(SERIALS, 2))
    extra = (f'<row r="{len(SERIALS) + 2}"><c r="A{len(SERIALS) + 2}" t="b"><v>0</v></c>'
             f'<c r="B{len(SERIALS) + 2}" t="e"><v>#N/A</v></c>'
             f'<c r="C{len(SERIALS) + 2}" t="str"><v>text</v></c>'
             f'<c r="D{len(SERIALS) + 2}" t="inlineStr"><is><t></t></is></c></row>')
    path = raw_xlsx("serials.xlsx", xml.sheet(header + rows + extra),
                    styles=xml.styles(FORMATS), date1904=date1904)

    results = []
    for limits in (ReadLimits(), ReadLimits(max_loaded_cells=0)):
        with open_table(path, limits=limits) as table:
            results.append((table.engine, list(table.rows())))

    (loaded, loaded_rows), (streamed, streamed_rows) = results
    assert (loaded, streamed) == ("calamine", "stream")
    assert len(loaded_rows) == len(SERIALS) + 1
    for a, b in zip(loaded_rows, streamed_rows, strict=True):
        assert a == b
        assert [type(x) for x in a[1]] == [type(x) for x in b[1]]
