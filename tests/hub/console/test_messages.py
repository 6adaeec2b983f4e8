"""The console's catalog: every key the pages use is there in both languages, with the same
placeholders; the language is the switch's cookie, else Accept-Language, else zh-CN."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from starlette.requests import Request

from hub.console.messages import LANGUAGE_COOKIE, MESSAGES, Translator, language_of
from hub.console.web import NAVIGATION

CONSOLE = Path(__file__).resolve().parents[3] / "hub" / "console"
# t("literal.key"), and the prefixes pages build keys from: t("status." ~ value)
LITERAL = re.compile(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z_0-9]+)+)["']""")
BUILT = re.compile(r"""\bt\(\s*["']([a-z_]+)\.["']\s*~|badge\(t,\s*["']([a-z_]+)["']""")


def _sources() -> list[Path]:
    return sorted([*CONSOLE.rglob("*.py"), *CONSOLE.rglob("*.html")])


def test_every_literal_key_is_in_the_catalog() -> None:
    used = {key for path in _sources() for key in LITERAL.findall(path.read_text("utf-8"))}
    used |= {label for _, label, _ in NAVIGATION}
    assert used, "the pattern found no key: it is wrong"
    assert sorted(used - MESSAGES.keys()) == []


def test_every_built_key_prefix_has_messages() -> None:
    prefixes = {prefix for path in _sources() for match in BUILT.findall(path.read_text("utf-8"))
                for prefix in match if prefix}
    assert {"status", "channel", "run", "outbox"} <= prefixes
    for prefix in prefixes:
        assert any(key.startswith(prefix + ".") for key in MESSAGES), prefix


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_both_languages_say_it_with_the_same_placeholders(key: str) -> None:
    chinese, english = MESSAGES[key]
    assert chinese.strip() and english.strip()

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    assert fields(chinese) == fields(english)


def _request(headers: dict[str, str]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/console/tickets",
                    "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]})


@pytest.mark.parametrize(("headers", "language"), [
    ({}, "zh-CN"),
    ({"Accept-Language": "en-US,en;q=0.9"}, "en"),
    ({"Accept-Language": "fr-FR, en;q=0.5, zh-TW;q=0.8"}, "zh-CN"),
    ({"Accept-Language": "de"}, "zh-CN"),
    ({"Accept-Language": "en", "Cookie": f"{LANGUAGE_COOKIE}=zh-CN"}, "zh-CN"),
    ({"Cookie": f"{LANGUAGE_COOKIE}=xx"}, "zh-CN"),
])
def test_language__cookie_then_accept_language_then_chinese(headers: dict[str, str],
                                                            language: str) -> None:
    assert language_of(_request(headers)) == language


def test_translator__fills_values_and_shows_an_unknown_key_as_itself() -> None:
    assert Translator("en")("age.minutes", n=3) == "3 min ago"
    assert Translator("zh-CN")("age.minutes", n=3) == "3 分钟前"
    assert Translator("en")("no.such.key") == "no.such.key"
