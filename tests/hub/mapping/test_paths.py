from typing import Any

import pytest

from hub.mapping.paths import Index, Key, PathSyntaxError, Wildcard, compile_path, parse_path

RECORD: dict[str, Any] = {
    "name": "王芳",
    "contact": {"mobile": "13812345678", "emails": ["a@x.cn", "b@x.cn"]},
    "客户": {"手机号": "13900001111"},
    "order.no": "SO-1",
    "attrs": {"a b": 1, "x]y": 2},
    "lines": [{"sku": "P-1", "qty": 2}, {"sku": "P-2"}, {"qty": 5}],
    "orders": [{"lines": [{"sku": "A"}, {"sku": "B"}]}, {"lines": [{"sku": "C"}]}, {}],
    "by_id": {"0": "zero"},
    "empty": [],
}


@pytest.mark.parametrize(("path", "expected"), [
    ("name", "王芳"),
    ("contact.mobile", "13812345678"),
    ("contact.emails[1]", "b@x.cn"),
    ("contact.emails.0", "a@x.cn"),
    ("contact.emails[-1]", "b@x.cn"),
    ("客户.手机号", "13900001111"),
    ("['order.no']", "SO-1"),
    ('attrs["a b"]', 1),
    ("attrs['x]y']", 2),
    ("lines[*].sku", ["P-1", "P-2"]),
    ("lines.*.qty", [2, 5]),
    ("orders[*].lines[*].sku", ["A", "B", "C"]),
    ("by_id.0", "zero"),
    ("lines[0]", {"sku": "P-1", "qty": 2}),
])
def test_compile_path__reads(path: str, expected: Any) -> None:
    assert compile_path(parse_path(path))(RECORD) == expected


@pytest.mark.parametrize("path", [
    "nope", "contact.nope", "contact.mobile.deeper", "contact.emails[5]", "lines[*].missing",
    "empty[*]", "name[0]", "contact.emails.x", "orders[2].lines[*].sku",
])
def test_compile_path__missing_is_none_never_an_error(path: str) -> None:
    assert compile_path(parse_path(path))(RECORD) is None


@pytest.mark.parametrize("record", [None, 5, "text", [1, 2], {"contact": 7}])
def test_compile_path__any_record_shape_gives_none(record: Any) -> None:
    for path in ("contact.mobile", "lines[*].sku", "contact"):
        result = compile_path(parse_path(path))(record)
        assert result is None or result == 7


def test_parse_path__segments() -> None:
    assert parse_path("a.b[2][*]['c.d']") == (Key("a"), Key("b"), Index(2), Wildcard(), Key("c.d"))
    assert parse_path("items.0") == (Key("items"), Key("0", 0))


@pytest.mark.parametrize(("path", "column", "fragment"), [
    ("", 0, "empty"),
    ("a..b", 2, "empty segment"),
    (".a", 0, "empty segment"),
    ("a.", 1, "ends with '.'"),
    ("a[", 1, "without ']'"),
    ("a[x]", 1, "not an index"),
    ("a['x]", 1, "unterminated"),
    ("a]b", 1, "unmatched ']'"),
    ("a[0]b", 4, "expected '.' or '['"),
    ("a. b", 2, "spaces around"),
])
def test_parse_path__errors_name_the_column(path: str, column: int, fragment: str) -> None:
    with pytest.raises(PathSyntaxError) as caught:
        parse_path(path)
    assert caught.value.column == column
    assert fragment in str(caught.value)
