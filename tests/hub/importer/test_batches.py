"""A batch mapped a column at a time (hub/mapping/columnar.py) is the batch the row engine
maps: the same prepared rows, in the same order, the same rejected rows with the same
errors (row, column, field, message), the same skipped count."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.core.cells import ExcelError
from hub.importer.batches import map_batch, records_of
from hub.ingest.writers import CustomerWriter
from hub.mapping import compile_mapping, parse_spec
from hub.mapping.columnar import columnar_mapping

from ..mapping.test_columnar import GOLDEN_CELLS, NASTY

ROOT = Path(__file__).resolve().parents[3]
HEADERS = ["客户编号", "客户名称", "公司", "手机号", "邮箱", "客户等级", "省份", "城市", "账户余额",
           "注册日期"]
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def row(i: int) -> list[Any]:
    return [f"C{i:08d}", f"客户{i}", "杭州某某科技有限公司", f"+86 13{i % 10}-{i:04d}-0000",
            f"user{i}@example.cn", ["普通", "银卡", "金卡", "钻石"][i % 4], "浙江省", "杭州市",
            f"¥{i:,}.50", f"20{10 + i % 14}年{1 + i % 12}月{1 + i % 28}日"]


def strange(rows: list[list[Any]]) -> list[list[Any]]:
    """Bad and unusual cells: full-width, ¥/万, spaces, error cells, blanks, a key twice."""
    rows[1][3] = "12345"                      # a bad mobile
    rows[2][8] = "1.2万"                       # an amount the row engine reads
    rows[3][8] = ExcelError("#DIV/0!")         # an error cell in a typed field
    rows[4][0] = " ｃ００００００４ "              # full-width key, trimmed and upper-cased
    rows[5][9] = "2023年13月5日"                # no such month
    rows[6][5] = "铜卡"                         # not in the strict map
    rows[7][4] = " USER7@EXAMPLE.CN "           # trimmed and lower-cased
    rows[8][3] = "１３８１２３４５６７８"            # full-width digits
    rows[9][0] = ""                            # a required key missing
    rows[10][0] = rows[11][0]                  # a key twice: the later row wins
    rows[12][1] = None                         # a required name missing
    rows[13][6] = "\u3000"                      # blank by U+3000
    return rows


@pytest.mark.parametrize("first", [1, 5000])
def test_a_columnar_batch_is_the_row_engines(first: int) -> None:
    spec = yaml.safe_load((ROOT / "mappings/import_customers.yaml").read_text(encoding="utf-8"))
    mapping = compile_mapping(parse_spec(spec), name="import_customers")
    columnar = columnar_mapping(mapping, HEADERS)
    assert columnar is not None
    batch = [(first + i, values) for i, values in
             enumerate(strange([row(first + i) for i in range(40)]))]

    by_rows = map_batch(*records_of(batch, HEADERS), HEADERS, mapping, None, CustomerWriter,
                        "import")
    by_columns = map_batch(batch, None, HEADERS, mapping, None, CustomerWriter, "import",
                           columnar=columnar)

    assert len(by_rows.rejects) == 6
    for made in (by_rows, by_columns):
        made.prepared.now = NOW  # stamped when prepared
        made.prepared.pending = {key: ((*values[:-2], NOW, NOW), print_)
                                 for key, (values, print_) in made.prepared.pending.items()}
    assert by_columns == by_rows
    assert list(by_columns.prepared.pending) == list(by_rows.prepared.pending)


def _same_time(made: Any) -> Any:
    made.prepared.now = NOW
    made.prepared.pending = {key: ((*values[:-2], NOW, NOW), print_)
                             for key, (values, print_) in made.prepared.pending.items()}
    return made


SPEC = yaml.safe_load((ROOT / "mappings/import_customers.yaml").read_text(encoding="utf-8"))
SHIPPED = compile_mapping(parse_spec(SPEC), name="import_customers")
COLUMNAR = columnar_mapping(SHIPPED, HEADERS)
CELLS = [*GOLDEN_CELLS, *NASTY]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_batch_by_columns_is_the_row_engines_values_and_errors(data: st.DataObject) -> None:
    """Rows of the shipped mapping with golden and nasty cells anywhere: the same prepared
    rows and the same rejected rows, each with the same (column, message) errors."""
    assert COLUMNAR is not None
    count = data.draw(st.integers(min_value=1, max_value=12))
    batch = []
    for i in range(count):
        values = row(data.draw(st.integers(min_value=0, max_value=5)))  # keys met twice
        for column in data.draw(st.sets(st.integers(0, len(HEADERS) - 1), max_size=3)):
            values[column] = data.draw(st.sampled_from(CELLS) | st.text(max_size=8))
        batch.append((i + 2, values))

    by_rows = map_batch(*records_of(batch, HEADERS), HEADERS, SHIPPED, None, CustomerWriter,
                        "import")
    by_columns = map_batch(batch, None, HEADERS, SHIPPED, None, CustomerWriter, "import",
                           columnar=COLUMNAR)

    assert _same_time(by_columns) == _same_time(by_rows)
    assert list(by_columns.prepared.pending) == list(by_rows.prepared.pending)
