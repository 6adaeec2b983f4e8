"""The columnar fast path (hub/mapping/columnar.py, _kernels.py) answers exactly what the row
engine answers: every row it decides is the row engine's output (values, their types, the
key order), and it leaves to the row engine every row the row engine refuses. Property-tested
over every cell of the coercion and transform golden tables, nasty variants of them, and
arbitrary text, in batches whose values repeat (the remembered fields)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.core.cells import ExcelError
from hub.mapping import (
    CompiledMapping,
    RecordMappingError,
    TransformRegistry,
    compile_mapping,
    parse_spec,
)
from hub.mapping._kernels import KERNELS, UNDECIDED
from hub.mapping.columnar import columnar_mapping
from hub.mapping.types import COERCERS

from .test_transforms import GOLDEN as TRANSFORM_GOLDEN
from .test_types import BAD, FIELD, OK

ROOT = Path(__file__).resolve().parents[3]
GOLDEN_CELLS = [raw for _, raw, _ in [*OK, *BAD]] + \
    [raw for name, _, raw, _ in TRANSFORM_GOLDEN if name in ("strip", "lower", "upper")]
NASTY = [
    "", " ", "\u3000", " \t", "１２３", "ＡＢＣ", " ＡＢＣ１ ", "王芳", " 王芳 ", "abc", " Abc ",
    "+86 138-1234-5678", "+86 138 1234 5678", "008613812345678", "8613812345678",
    "13812345678", "１３８１２３４５６７８", "+86 (138) 1234-5678", "12812345678", "1381234567",
    "+8613812345678 ", "\t13812345678", "a@b.cn", " A@B.CN ", "a@b", "ａ@ｂ.ｃｎ", "a b@c.cn",
    "¥1,234.50", "￥1,234.50", "1,234", "12,34", "1234.", ".5", "+1,234", "-1,234.5", "¥-12",
    "-¥12", "1.2万", "¥1.2万", "1e3", "NaN", "Infinity", "1_000", " 12 ", "¥ 12", "¥１２",
    "2023年3月5日", "2023年13月5日", "2023-03-05", "20230305", "45356", "0", "007",
    "1" * 19, "1" * 18, "普通", "银卡", " 金卡 ", "钻石", "VIP", "vip", "铜卡", "是", "否",
    None, 0, 1, 12, 12.5, 13812345678, 13812345678.0, True, False, Decimal("1.5"),
    date(2024, 3, 5), datetime(2024, 3, 5, 14, 30), ExcelError("#DIV/0!"), ExcelError("#N/A"),
]
CELL = (st.sampled_from(GOLDEN_CELLS) | st.sampled_from(NASTY)
        | st.text(alphabet="0123456789１２３ ,.-+¥￥万年月日@abcABC\u3000\t", max_size=14)
        | st.text(max_size=8))

FIELDS: dict[str, Any] = {
    "text": {"path": "文本"},
    "code": {"path": "编号", "transforms": ["strip", "upper"], "required": True},
    "lower": {"path": "小写", "transforms": ["lower", "strip"], "default": "none"},
    "count": {"path": "数量", "type": "int"},
    "amount": {"path": "金额", "type": "decimal", "default": "0"},
    "ratio": {"path": "比例", "type": "float"},
    "flag": {"path": "标记", "type": "bool"},
    "day": {"path": "日期", "type": "date"},
    "at": {"path": "时间", "type": "datetime", "timezone": "UTC"},
    "mobile": {"path": "手机", "type": "mobile"},
    "phone": {"path": "电话", "type": "phone"},
    "email": {"path": "邮箱", "type": "email"},
    "status": {"path": "状态", "type": "enum", "values": ["open", "Pending", "已解决"]},
    "tier": {"path": "等级", "map": {"普通": "standard", "金卡": "gold", "VIP": "vip"},
             "strict": True, "default": "standard"},
    "level": {"path": "级别", "map": {"1": "low", "2": "high"}, "type": "str"},
    "tags": {"path": "标签", "type": "list"},
    "missing": {"path": "没有这一列"},
    "same": {"path": "文本", "type": "str", "transforms": ["title"]},
}
HEADERS = ["文本", "编号", "小写", "数量", "金额", "比例", "标记", "日期", "时间", "手机", "电话",
           "邮箱", "状态", "等级", "级别", "标签", "文本"]  # a header twice: the last one is read


def _mapping(fields: dict[str, Any], **spec: Any) -> CompiledMapping:
    return compile_mapping(parse_spec({"fields": fields, **spec}), name="t")


SHIPPED = compile_mapping(parse_spec(yaml.safe_load(
    (ROOT / "mappings/import_customers.yaml").read_text(encoding="utf-8"))),
    name="import_customers")
SHIPPED_HEADERS = ["客户编号", "客户名称", "公司", "手机号", "邮箱", "客户等级", "省份", "城市",
                   "账户余额", "注册日期"]
MAPPINGS = {
    "wide": (_mapping(FIELDS), HEADERS),
    "omit_nulls": (_mapping(FIELDS, omit_nulls=True), HEADERS),
    "shipped": (SHIPPED, SHIPPED_HEADERS),
}
WIDE_ROW = ["王芳", " c1 ", "ABC", "12", "¥1,234.50", "1.5", "是", "2023年3月5日",
            "2024-03-05 14:30", "+86 138-1234-5678", "010-65529988", "a@b.cn", "open", "金卡",
            "1", "a,b", "文本"]
# A good row of each mapping: a row with one strange cell is then decided or not by that cell.
GOOD_ROWS = {
    "wide": WIDE_ROW, "omit_nulls": WIDE_ROW,
    "shipped": ["C00000001", "客户1", "杭州某某科技有限公司", "+86 131-0001-0007",
                "user1@example.cn", "银卡", "广东省", "深圳市", "¥1,001.50", "2011年2月2日"],
}


def row_engine(mapping: CompiledMapping, headers: list[str], row: list[Any]) -> Any:
    """What the row engine answers for a row: its output (with types) or its errors."""
    try:
        out = mapping(dict(zip(headers, row, strict=False)), row=7)
    except RecordMappingError as exc:
        return ("error", [(e.field, e.message, e.rule) for e in exc.errors])
    assert out is not None
    return ("ok", list(out), [(type(v), repr(v)) for v in out.values()])


def assert_same(name: str, rows: list[list[Any]]) -> None:
    mapping, headers = MAPPINGS[name]
    columnar = columnar_mapping(mapping, headers)
    assert columnar is not None
    for batch in (rows, rows):  # twice: the second time, remembered answers
        for row, entity in zip(batch, columnar.map_rows(batch), strict=True):
            if entity is None:
                continue  # the row engine maps it (and raises its own error, if any)
            expected = row_engine(mapping, headers, row)
            assert expected[0] == "ok", (row, entity, expected)
            assert ("ok", list(entity), [(type(v), repr(v)) for v in entity.values()]) \
                == expected, row


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(MAPPINGS)), data=st.data())
def test_columnar_rows_are_the_row_engines(name: str, data: st.DataObject) -> None:
    good = GOOD_ROWS[name]
    pool = data.draw(st.lists(CELL, min_size=1, max_size=12))  # columns repeat values
    cell = st.sampled_from(pool) | CELL
    rows = data.draw(st.lists(st.tuples(*[st.just(value) | cell for value in good])
                              .map(list), min_size=1, max_size=20))
    assert_same(name, rows)


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_every_golden_cell_in_every_column(name: str) -> None:
    good = GOOD_ROWS[name]
    rows = [[*good[:column], cell, *good[column + 1:]]
            for column in range(len(good)) for cell in [*GOLDEN_CELLS, *NASTY]]
    assert_same(name, rows)
    assert_same(name, [good])  # and the good row itself is decided:
    columnar = columnar_mapping(*MAPPINGS[name])
    assert columnar is not None and columnar.map_rows([good]) != [None]


def _columns_of(cells: list[Any]) -> list[list[Any]]:
    """The cells as one mixed column, as a column of the text ones (a kernel reads a column
    of text in one scan) and of the ASCII ones, and each cell alone."""
    text = [cell for cell in cells if type(cell) is str and "\n" not in cell]
    return [cells, text, [cell for cell in text if cell.isascii()], *[[cell] for cell in cells]]


def assert_kernel(kind: str, cells: list[Any]) -> None:
    for column in _columns_of(cells):
        for raw, answer in zip(column, KERNELS[kind](column), strict=True):
            if answer is UNDECIDED:
                continue
            expected = COERCERS[kind](raw, FIELD)  # a decided cell is never one it refuses
            assert (type(answer), repr(answer)) == (type(expected), repr(expected)), raw


@pytest.mark.parametrize("kind", sorted(KERNELS))
def test_each_kernel_answers_as_its_coercer(kind: str) -> None:
    assert_kernel(kind, [*GOLDEN_CELLS, *NASTY, " Wang.Fang@Example.CN", "Wang.Fang@Example.CN",
                         "¥1,234", "+86 138-1234-5678", "１３８", "A\nB"])


@settings(max_examples=200)
@given(kind=st.sampled_from(sorted(KERNELS)), cells=st.lists(CELL, min_size=1, max_size=10))
def test_each_kernel_answers_as_its_coercer_on_any_column(kind: str, cells: list[Any]) -> None:
    assert_kernel(kind, cells)


def test_the_shipped_rows_are_decided_and_the_bad_one_left_to_the_row_engine() -> None:
    good = ["C00000001", "客户1", "杭州某某科技有限公司", "+86 131-0001-0007", "user1@example.cn",
            "银卡", "广东省", "深圳市", "¥1,001.50", "2011年2月2日"]
    bad = [*good[:3], "12345", *good[4:]]
    columnar = columnar_mapping(SHIPPED, SHIPPED_HEADERS)
    assert columnar is not None

    first, second = columnar.map_rows([good, bad])

    assert first == SHIPPED(dict(zip(SHIPPED_HEADERS, good, strict=True)))
    assert second is None
    with pytest.raises(RecordMappingError, match="'mobile' .*is not an 11-digit mobile"):
        SHIPPED(dict(zip(SHIPPED_HEADERS, bad, strict=True)))


def test_rows_of_another_width_are_left_to_the_row_engine() -> None:
    columnar = columnar_mapping(SHIPPED, SHIPPED_HEADERS)
    assert columnar is not None
    assert columnar.map_rows([["C1", "a"], ["C2", "b"]]) == [None, None]


@pytest.mark.parametrize("field", [
    {"path": "a.b"}, {"template": "{{ a }}"}, {"expr": "a"}, {"const": 1},
    {"path": "a", "when": "a"}, {"path": "items[0]"},
])
def test_a_mapping_the_fast_path_cannot_read_is_none(field: dict[str, Any]) -> None:
    assert columnar_mapping(_mapping({"x": field}), ["a"]) is None


def test_a_plugin_transform_is_never_remembered() -> None:
    calls: list[str] = []

    def counter() -> Any:
        def step(value: Any) -> Any:
            calls.append(value)
            return f"{value}-{len(calls)}"
        return step
    registry = TransformRegistry()
    registry.register("counter", counter)
    spec = parse_spec({"fields": {"x": {"path": "a", "transforms": ["counter"]}}},
                      transforms=registry)
    mapping = compile_mapping(spec, name="t", transforms=registry)
    columnar = columnar_mapping(mapping, ["a"])
    assert columnar is not None

    assert columnar.map_rows([["v"], ["v"]]) == [{"x": "v-1"}, {"x": "v-2"}]
