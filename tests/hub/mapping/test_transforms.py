import hashlib
import hmac
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from hub.mapping.transforms import (
    Step,
    TransformArgsError,
    TransformRegistrationError,
    TransformRegistry,
    UnknownTransformError,
    default_registry,
    mask_value,
)

BUILTINS = [
    "collapse_spaces", "digits", "first", "halfwidth", "hash", "join", "last", "lower", "mask",
    "mask_email", "mask_id", "mobile", "prefix", "regex_extract", "regex_replace", "replace",
    "split", "strip", "suffix", "title", "truncate", "unique", "upper", "zfill",
]


@pytest.fixture(name="registry", scope="module")
def _registry() -> TransformRegistry:
    return default_registry(entry_points=[])


def _hmac(salt: str, text: str, algorithm: str = "sha256") -> str:
    return hmac.new(salt.encode(), text.encode(), getattr(hashlib, algorithm)).hexdigest()


GOLDEN: list[tuple[str, Any, Any, Any]] = [
    # (name, YAML arguments, input, output)
    ("strip", None, "\u3000 王芳 \t", "王芳"),
    ("strip", None, ["  老客户 ", "VIP\u3000"], ["老客户", "VIP"]),
    ("lower", None, "VIP客户 ABC", "vip客户 abc"),
    ("upper", None, "vip客户 od2024", "VIP客户 OD2024"),
    ("upper", None, ["gold", None, "金卡"], ["GOLD", None, "金卡"]),
    ("title", None, "wang fang 王芳", "Wang Fang 王芳"),
    ("halfwidth", None, "ＯＤ－２０２４，急！（加急）", "OD-2024,急!(加急)"),
    ("halfwidth", None, "价格：￥１２　元。", "价格:¥12 元。"),
    ("halfwidth", None, "plain ascii", "plain ascii"),
    ("collapse_spaces", None, "  请尽快\n\n处理　 谢谢 ", "请尽快 处理 谢谢"),
    ("digits", None, "+86 １３８-1234-5678", "8613812345678"),
    ("digits", None, "订单号：OD2024001", "2024001"),
    ("digits", None, 13812345678, "13812345678"),
    ("replace", ["－", "-"], "OD－2024－01", "OD-2024-01"),
    ("replace", {"old": "有限公司", "new": ""}, "杭州某某科技有限公司", "杭州某某科技"),
    ("regex_extract", r"订单号[:：]\s*(\w+)", "您好，订单号：OD123 还没到", "OD123"),
    ("regex_extract", r"订单号[:：]\s*(\w+)", "您好，请回电", None),
    ("regex_extract", {"pattern": r"\d{11}", "group": 0}, "电话13812345678谢谢", "13812345678"),
    ("regex_extract", [r"(\d+)-(\d+)", 2], "分机 010-8888", "8888"),
    ("regex_replace", {"pattern": r"\s+", "replacement": " "}, "请  尽快\n处理", "请 尽快 处理"),
    ("regex_replace", [r"(\d{3})\d{4}(\d{4})", r"\1****\2"], "13812345678", "138****5678"),
    ("split", None, "老客户、VIP，金卡; 银卡；  ,铜卡", ["老客户", "VIP", "金卡", "银卡", "铜卡"]),
    ("split", "、", "老客户、 VIP 、、金卡", ["老客户", "VIP", "金卡"]),
    ("split", "|", "a,b|c", ["a,b", "c"]),
    ("split", None, ["老客户、VIP", "金卡", None], ["老客户", "VIP", "金卡"]),
    ("split", None, "  ", []),
    ("join", None, ["老客户", "VIP"], "老客户,VIP"),
    ("join", "、", ["老客户", None, " ", "VIP", 3], "老客户、VIP、3"),
    ("join", "、", "已经是文本", "已经是文本"),
    ("truncate", 5, "一二三四五六七", "一二三四五"),
    ("truncate", 5, "一二三", "一二三"),
    ("truncate", {"length": 5, "suffix": "…"}, "一二三四五六七", "一二三四…"),
    ("truncate", [4, "..."], "abcdef", "a..."),
    ("truncate", {"length": 5, "suffix": "…"}, "一二三四五", "一二三四五"),
    ("prefix", "CRM-", "C000123", "CRM-C000123"),
    ("suffix", "（测试）", "王芳", "王芳（测试）"),
    ("zfill", 6, "42", "000042"),
    ("zfill", 6, 42, "000042"),
    ("zfill", 3, "12345", "12345"),
    ("first", None, ["13812345678", "13900001111"], "13812345678"),
    ("first", None, [], None),
    ("first", None, "单个值", "单个值"),
    ("last", None, ["北京", "上海"], "上海"),
    ("last", None, [], None),
    ("unique", None, ["金卡", "VIP", "金卡", "vip"], ["金卡", "VIP", "vip"]),
    ("unique", None, [{"k": 1}, {"k": 1}, ["a"], ["a"]], [{"k": 1}, ["a"]]),
    ("unique", None, "金卡", "金卡"),
    ("mobile", None, "+86 138-1234-5678", "13812345678"),
    ("mobile", None, "８６１３８１２３４５６７８", "13812345678"),
    ("mobile", None, 13812345678, "13812345678"),
    ("mobile", None, ["(+86)13812345678", "139 0000 1111"], ["13812345678", "13900001111"]),
    ("mask", None, "13812345678", "138****5678"),
    ("mask", None, "张三", "张*"),
    ("mask", None, "王小明", "王**"),
    ("mask", None, "张", "*"),
    ("mask", None, "", ""),
    ("mask", {"keep_start": 1, "keep_end": 0}, "欧阳娜娜", "欧***"),
    ("mask", {"keep_start": 6, "keep_end": 4, "char": "#"}, "110101199003071234",
     "110101########1234"),
    ("mask", None, 13812345678, "138****5678"),
    ("mask_email", None, "zhangsan@example.com", "z***@example.com"),
    ("mask_email", None, " Wang.Fang@Example.CN ", "W***@Example.CN"),
    ("mask_id", None, "11010119900307123X", "110101********123X"),
    ("mask_id", None, "11010119900307123x", "110101********123X"),
    ("mask_id", None, "１１０１０１１９９００３０７１２３４", "110101********1234"),
    ("mask_id", None, "110101900307123", "110101*****7123"),
    ("hash", None, "13812345678", _hmac("", "13812345678")),
    ("hash", {"salt": "盐"}, "13812345678", _hmac("盐", "13812345678")),
    ("hash", {"algorithm": "sha512"}, "王芳", _hmac("", "王芳", "sha512")),
    ("hash", ["k", "blake2b"], "王芳", _hmac("k", "王芳", "blake2b")),
]


@pytest.mark.parametrize(
    ("name", "args", "raw", "expected"), GOLDEN,
    ids=[f"{case[0]}-{case[1]!r}-{case[2]!r}" for case in GOLDEN],
)
def test_transform__golden(
    registry: TransformRegistry, name: str, args: Any, raw: Any, expected: Any
) -> None:
    assert registry.build(name, args)(raw) == expected


@pytest.mark.parametrize("name", BUILTINS)
def test_transform__passes_none_through(registry: TransformRegistry, name: str) -> None:
    args = {"replace": ["a", "b"], "regex_extract": "(a)", "regex_replace": ["a", "b"],
            "truncate": 3, "prefix": "x", "suffix": "x", "zfill": 3}.get(name)

    assert registry.build(name, args)(None) is None


def test_transform__a_text_step_on_a_list_maps_each_item(registry: TransformRegistry) -> None:
    step = registry.build("truncate", 2)

    assert step(["一二三", ("四五六", None)]) == ["一二", ["四五", None]]


BAD_ARGS: list[tuple[str, Any, str]] = [
    ("truncate", None, "truncate(length: int, suffix: str = '') — missing argument 'length'"),
    ("truncate", -1, "truncate(length: int, suffix: str = '') — length must be 0 or more, got -1"),
    ("truncate", "20", "truncate(length: int, suffix: str = '') — argument 'length' must be int, "
                       "got str"),
    ("truncate", True, "truncate(length: int, suffix: str = '') — argument 'length' must be int, "
                       "got bool"),
    ("truncate", {"lenght": 20}, "truncate(length: int, suffix: str = '') — unknown argument "
                                 "'lenght' (did you mean 'length'?)"),
    ("truncate", [1, "…", 3], "truncate(length: int, suffix: str = '') — takes at most "
                              "2 argument(s), got 3"),
    ("truncate", {"length": 1, "suffix": "……"}, "truncate(length: int, suffix: str = '') — "
                                               "the suffix is longer than length 1"),
    ("strip", "x", "strip() — takes no arguments, got 1"),
    ("strip", {"chars": "x"}, "strip() — unknown argument 'chars'"),
    ("replace", {"old": ""}, "replace(old: str, new: str) — missing argument 'new'"),
    ("replace", ["", "x"], "replace(old: str, new: str) — old must not be empty"),
    ("regex_extract", "(", "regex_extract(pattern: str, group: int = 1) — invalid regular "
                           "expression '(': missing ), unterminated subpattern at position 0"),
    ("regex_extract", r"\d+", "regex_extract(pattern: str, group: int = 1) — the pattern has "
                              "no group 1 (group 0 is the whole match)"),
    ("regex_extract", [r"(\d+)", 2], "regex_extract(pattern: str, group: int = 1) — the "
                                     "pattern has no group 2"),
    ("regex_replace", {"pattern": r"(\d)", "replacement": r"\2"}, "regex_replace(pattern: str, "
     "replacement: str) — invalid replacement '\\\\2': invalid group reference 2 at position 1"),
    ("split", "", "split(sep: str | None = None) — sep must not be empty "
                  "(leave it out to split on , ， 、 ; ；)"),
    ("split", 3, "split(sep: str | None = None) — argument 'sep' must be str | None, got int"),
    ("zfill", -2, "zfill(width: int) — width must be 0 or more, got -2"),
    ("mask", {"char": "**"}, "mask(keep_start: int = 3, keep_end: int = 4, char: str = '*') — "
                             "char must be one character, got '**'"),
    ("mask", {"keep_end": -1}, "mask(keep_start: int = 3, keep_end: int = 4, char: str = '*') — "
                               "keep_end must be 0 or more, got -1"),
    ("hash", {"algorithm": "md5"}, "hash(salt: str = '', algorithm: str = 'sha256') — "
                                   "algorithm must be one of sha256, sha512, blake2b"),
]


@pytest.mark.parametrize(("name", "args", "message"), BAD_ARGS,
                         ids=[f"{case[0]}-{case[1]!r}" for case in BAD_ARGS])
def test_build__rejects_bad_arguments(
    registry: TransformRegistry, name: str, args: Any, message: str
) -> None:
    with pytest.raises(TransformArgsError) as caught:
        registry.build(name, args)

    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


RUN_ERRORS: list[tuple[str, Any, Any, str]] = [
    ("strip", None, {"a": 1}, "expected text, got {'a': 1}"),
    ("upper", None, True, "expected text, got True"),
    ("split", None, {"a": 1}, "expected text, got {'a': 1}"),
    ("join", None, [["nested"]], "expected text, got ['nested']"),
    # personal values are quoted masked
    ("mobile", None, "23812345678", "'2***' is not a mobile number"),
    ("mobile", None, "1381234567", "'1***' is not a mobile number"),
    ("mobile", None, {"tel": "13812345678"}, "expected text, got <dict>"),
    ("mask_email", None, "王芳", "'王***' is not an email address"),
    ("mask_id", None, "11010119900307", "'1***' is not an ID card number "
                                         "(18 characters or 15 digits)"),
    ("mask_id", None, "13812345678", "'138****5678' is not an ID card number "
                                     "(18 characters or 15 digits)"),
]


@pytest.mark.parametrize(("name", "args", "raw", "message"), RUN_ERRORS,
                         ids=[f"{case[0]}-{case[2]!r}" for case in RUN_ERRORS])
def test_step__rejects_a_value_it_cannot_handle(
    registry: TransformRegistry, name: str, args: Any, raw: Any, message: str
) -> None:
    step = registry.build(name, args)

    with pytest.raises(ValueError) as caught:
        step(raw)

    assert str(caught.value) == message


def test_hash__the_salt_never_shows(registry: TransformRegistry) -> None:
    salt = "s3cr3t-盐-value"
    step = registry.build("hash", {"salt": salt})
    with pytest.raises(TransformArgsError) as bad_algorithm:
        registry.build("hash", {"salt": salt, "algorithm": "md5"})
    with pytest.raises(TransformArgsError) as bad_type:
        registry.build("hash", {"salt": 12345678, "algorithm": "sha256"})
    with pytest.raises(ValueError) as bad_value:
        step({"x": 1})

    for text in (repr(step), str(bad_algorithm.value), str(bad_type.value), str(bad_value.value)):
        assert salt not in text
        assert "12345678" not in text


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        (13812345678, "138****5678"),
        ("zhangsan@example.com", "z***@example.com"),
        ("11010119900307123X", "110101********123X"),
        ("110101199003071234", "110101********1234"),
        ("王芳", "王***"),
        ("杭州市西湖区文三路 100 号", "杭***"),
        (Decimal("1234.50"), "1***"),
        ("张", "***"),
        ("", "***"),
        (None, "None"),
        (True, "True"),
        ({"mobile": "13812345678"}, "<dict>"),
        (["13812345678"], "<list>"),
    ],
)
def test_mask_value__table(value: Any, masked: str) -> None:
    assert mask_value(value) == masked


# ---------------------------------------------------------------- the registry


def test_registry__lists_the_builtins(registry: TransformRegistry) -> None:
    assert registry.names() == BUILTINS
    assert "strip" in registry
    assert "nope" not in registry


@pytest.mark.parametrize(
    ("name", "signature"),
    [("truncate", "truncate(length: int, suffix: str = '')"), ("strip", "strip()"),
     ("split", "split(sep: str | None = None)"),
     ("hash", "hash(salt: str = '', algorithm: str = 'sha256')")],
)
def test_registry__signature(registry: TransformRegistry, name: str, signature: str) -> None:
    assert registry.signature(name) == signature


@pytest.mark.parametrize(
    ("name", "suggestion"), [("trunc", "truncate"), ("mask_mail", "mask_email"), ("uper", "upper")]
)
def test_registry__unknown_name_suggests(
    registry: TransformRegistry, name: str, suggestion: str
) -> None:
    with pytest.raises(UnknownTransformError) as caught:
        registry.build(name, None)

    assert str(caught.value) == f"unknown transform '{name}' (did you mean '{suggestion}'?)"
    assert isinstance(caught.value, ValueError)
    assert not isinstance(caught.value, KeyError)


def test_registry__unknown_name_without_a_close_one_lists_all(
    registry: TransformRegistry,
) -> None:
    with pytest.raises(UnknownTransformError) as caught:
        registry.build("pinyin", None)

    assert str(caught.value) == f"unknown transform 'pinyin'; known: {', '.join(BUILTINS)}"


def test_registry__unknown_name_without_a_close_one(registry: TransformRegistry) -> None:
    with pytest.raises(UnknownTransformError, match=r"^unknown transform '拼音'; known: "):
        registry.get("拼音")


def test_registry__get_returns_the_factory(registry: TransformRegistry) -> None:
    assert registry.get("truncate")(3)("一二三四") == "一二三"


def _pinyin_initials(upper: bool = False) -> Step:
    table = {"王": "w", "芳": "f"}

    def step(value: Any) -> Any:
        text = "".join(table.get(char, char) for char in value)
        return text.upper() if upper else text

    return step


def _keep(values: list[str]) -> Step:
    return lambda value: value if value in values else None


def test_registry__register_checks_argument_types_from_annotations() -> None:
    registry = TransformRegistry()
    registry.register("pinyin_initials", _pinyin_initials)
    registry.register("keep", _keep)

    assert registry.build("pinyin_initials", {"upper": True})("王芳") == "WF"
    assert registry.build("keep", ["金卡", "银卡"])("金卡") == "金卡"  # a list for a list
    with pytest.raises(TransformArgsError, match=r"argument 'upper' must be bool, got str$"):
        registry.build("pinyin_initials", "yes")
    with pytest.raises(TransformArgsError, match=r"'values' must be list\[str\], got list\[int\]$"):
        registry.build("keep", [1, 2])


@pytest.mark.parametrize(
    ("name", "factory", "message"),
    [
        ("strip", _pinyin_initials, "transform 'strip' from a register() call clashes with "
                                    "the built-in transform of that name"),
        ("pin-yin", _pinyin_initials, "transform name 'pin-yin' is not an identifier"),
        ("pinyin", "not callable", "transform 'pinyin' is not callable: 'not callable'"),
    ],
)
def test_registry__register_refuses(name: str, factory: Any, message: str) -> None:
    registry = default_registry(entry_points=[])

    with pytest.raises(TransformRegistrationError) as caught:
        registry.register(name, factory)

    assert str(caught.value) == message


def test_registry__a_factory_must_return_a_step() -> None:
    def broken() -> Any:
        return "not a step"

    registry = TransformRegistry()
    registry.register("broken", broken)

    with pytest.raises(TypeError, match="transform 'broken' .* returned str, not a step"):
        registry.build("broken")


def test_registry__copy_is_independent(registry: TransformRegistry) -> None:
    extended = registry.copy()
    extended.register("pinyin_initials", _pinyin_initials)

    assert "pinyin_initials" in extended
    assert "pinyin_initials" not in registry


# ---------------------------------------------------------------- plugins


@dataclass(frozen=True)
class FakeDistribution:
    name: str


@dataclass(frozen=True)
class FakeEntryPoint:
    """Stands in for an importlib.metadata.EntryPoint: a name, a distribution and load()."""

    name: str
    target: Any
    dist: FakeDistribution | None = field(default=FakeDistribution("hub-pinyin"))

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def test_default_registry__adds_plugins_from_entry_points() -> None:
    registry = default_registry(entry_points=[FakeEntryPoint("pinyin_initials", _pinyin_initials)])

    assert registry.names() == sorted([*BUILTINS, "pinyin_initials"])
    assert registry.build("pinyin_initials", {"upper": True})("王芳") == "WF"
    assert registry.signature("pinyin_initials") == "pinyin_initials(upper: bool = False)"


def test_default_registry__a_plugin_cannot_replace_a_builtin() -> None:
    loaded: list[str] = []

    @dataclass(frozen=True)
    class Watched(FakeEntryPoint):
        def load(self) -> Any:
            loaded.append(self.name)
            return super().load()

    with pytest.raises(TransformRegistrationError) as caught:
        default_registry(entry_points=[Watched("mask", _pinyin_initials)])

    assert str(caught.value) == (
        "transform plugin 'mask' from distribution 'hub-pinyin' would replace the built-in "
        "transform 'mask'; rename it"
    )
    assert loaded == []  # refused before importing it


def test_default_registry__two_plugins_with_one_name_name_both_distributions() -> None:
    points = [FakeEntryPoint("pinyin", _pinyin_initials),
              FakeEntryPoint("pinyin", _pinyin_initials, FakeDistribution("other-pinyin"))]

    with pytest.raises(TransformRegistrationError) as caught:
        default_registry(entry_points=points)

    assert str(caught.value) == (
        "transform 'pinyin' from distribution 'other-pinyin' clashes with the distribution "
        "'hub-pinyin' transform of that name"
    )


def test_default_registry__a_plugin_that_fails_to_load_is_named() -> None:
    point = FakeEntryPoint("pinyin", ModuleNotFoundError("No module named 'pypinyin'"), None)

    with pytest.raises(TransformRegistrationError) as caught:
        default_registry(entry_points=[point])

    assert str(caught.value) == (
        "transform plugin 'pinyin' from an unknown distribution failed to load: "
        "ModuleNotFoundError: No module named 'pypinyin'"
    )


def test_default_registry__installed_one_is_shared_per_process() -> None:
    first = default_registry()

    assert default_registry() is first
    assert set(BUILTINS) <= set(first.names())
