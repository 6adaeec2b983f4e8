"""The built-in transforms' factories (documented in `hub.mapping.transforms`)."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from hub.mapping.masking import halfwidth, mask_email, mask_id, mask_text, quote_value
from hub.mapping.steps import Step, TransformFactory
from hub.mapping.types import is_missing, map_key, normalize_mobile

__all__ = ["BUILTINS"]


# ---------------------------------------------------------------- step helpers

def _as_text(value: Any, *, personal: bool = False) -> str:
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return map_key(value)
    raise ValueError(f"expected text, got {quote_value(value, personal=personal)}")


def _text_step(function: Callable[[str], Any], *, personal: bool = False) -> Step:
    """A step applying `function` to text: None passes, a list item by item, a number as text."""

    def step(value: Any) -> Any:
        if type(value) is str:
            return function(value)
        if value is None:
            return None
        if isinstance(value, list | tuple):
            return [step(item) for item in value]
        return function(_as_text(value, personal=personal))

    return step


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def _at_least(name: str, number: int, minimum: int = 0) -> None:
    if number < minimum:
        raise ValueError(f"{name} must be {minimum} or more, got {number}")


# ---------------------------------------------------------------- built-in factories

def _strip() -> Step:
    return _text_step(str.strip)


def _lower() -> Step:
    return _text_step(str.lower)


def _upper() -> Step:
    return _text_step(str.upper)


def _title() -> Step:
    return _text_step(str.title)


def _halfwidth_factory() -> Step:
    return _text_step(halfwidth)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _collapse_spaces() -> Step:
    return _text_step(_collapse)


_NOT_DIGIT = re.compile("[^0-9]")


def _digits() -> Step:
    return _text_step(lambda text: _NOT_DIGIT.sub("", halfwidth(text)))


def _replace(old: str, new: str) -> Step:
    if not old:
        raise ValueError("old must not be empty")
    return _text_step(lambda text: text.replace(old, new))


def _regex_extract(pattern: str, group: int = 1) -> Step:
    compiled = _compile(pattern)
    if not 0 <= group <= compiled.groups:
        hint = " (group 0 is the whole match)" if compiled.groups == 0 else ""
        raise ValueError(f"the pattern has no group {group}{hint}")

    def extract(text: str) -> str | None:
        match = compiled.search(text)
        return None if match is None else match.group(group)

    return _text_step(extract)


def _regex_replace(pattern: str, replacement: str) -> Step:
    compiled = _compile(pattern)
    try:
        compiled.sub(replacement, "")  # checks the replacement's group references now
    except re.error as exc:
        raise ValueError(f"invalid replacement {replacement!r}: {exc}") from None
    return _text_step(lambda text: compiled.sub(replacement, text))


_SEPARATORS = re.compile("[,，、;；]")


def _split(sep: str | None = None) -> Step:
    if sep == "":
        raise ValueError("sep must not be empty (leave it out to split on , ， 、 ; ；)")

    def split_text(text: str) -> list[str]:
        parts = _SEPARATORS.split(text) if sep is None else text.split(sep)
        return [item for item in (part.strip() for part in parts) if item]

    def step(value: Any) -> list[Any] | None:
        if value is None:
            return None
        if isinstance(value, list | tuple):  # split each item, one flat list
            return [part for item in value for part in step(item) or ()]
        return split_text(_as_text(value))

    return step


def _join(sep: str = ",") -> Step:
    def step(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, list | tuple):
            return sep.join(_as_text(item) for item in value if not is_missing(item))
        return _as_text(value)

    return step


def _truncate(length: int, suffix: str = "") -> Step:
    _at_least("length", length)
    if len(suffix) > length:
        raise ValueError(f"the suffix is longer than length {length}")
    keep = length - len(suffix)
    return _text_step(lambda text: text if len(text) <= length else text[:keep] + suffix)


def _prefix(text: str) -> Step:
    return _text_step(lambda value: text + value)


def _suffix(text: str) -> Step:
    return _text_step(lambda value: value + text)


def _zfill(width: int) -> Step:
    _at_least("width", width)
    return _text_step(lambda text: text.zfill(width))


def _first_item(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def _last_item(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return value[-1] if value else None
    return value


def _unique_items(value: Any) -> Any:
    if not isinstance(value, list | tuple):
        return value
    seen: set[Any] = set()
    items: list[Any] = []
    for item in value:
        try:
            if item in seen:
                continue
            seen.add(item)
        except TypeError:  # unhashable (a dict, a list): compare by equality
            if item in items:
                continue
        items.append(item)
    return items


def _first() -> Step:
    return _first_item


def _last() -> Step:
    return _last_item


def _unique() -> Step:
    return _unique_items


def _to_mobile(text: str) -> str:
    mobile = normalize_mobile(text)
    if mobile is None:
        raise ValueError(f"{quote_value(text, personal=True)} is not a mobile number")
    return mobile


def _mobile() -> Step:
    return _text_step(_to_mobile, personal=True)


def _mask(keep_start: int = 3, keep_end: int = 4, char: str = "*") -> Step:
    _at_least("keep_start", keep_start)
    _at_least("keep_end", keep_end)
    if len(char) != 1:
        raise ValueError(f"char must be one character, got {char!r}")
    return _text_step(lambda text: mask_text(text, keep_start, keep_end, char), personal=True)


def _email_masked(text: str) -> str:
    masked = mask_email(text)
    if masked is None:
        raise ValueError(f"{quote_value(text, personal=True)} is not an email address")
    return masked


def _mask_email_factory() -> Step:
    return _text_step(_email_masked, personal=True)


def _id_masked(text: str) -> str:
    masked = mask_id(text)
    if masked is None:
        raise ValueError(f"{quote_value(text, personal=True)} is not an ID card number "
                         f"(18 characters or 15 digits)")
    return masked


def _mask_id_factory() -> Step:
    return _text_step(_id_masked, personal=True)


_HASH_ALGORITHMS = ("sha256", "sha512", "blake2b")


def _hash(salt: str = "", algorithm: str = "sha256") -> Step:
    if algorithm not in _HASH_ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(_HASH_ALGORITHMS)}")
    key = salt.encode()
    return _text_step(
        lambda text: hmac.digest(key, text.encode(), algorithm).hex(), personal=True
    )


BUILTINS: Mapping[str, TransformFactory] = {
    "strip": _strip, "lower": _lower, "upper": _upper, "title": _title,
    "halfwidth": _halfwidth_factory, "collapse_spaces": _collapse_spaces, "digits": _digits,
    "replace": _replace, "regex_extract": _regex_extract, "regex_replace": _regex_replace,
    "split": _split, "join": _join, "truncate": _truncate, "prefix": _prefix,
    "suffix": _suffix, "zfill": _zfill, "first": _first, "last": _last, "unique": _unique,
    "mobile": _mobile, "mask": _mask, "mask_email": _mask_email_factory,
    "mask_id": _mask_id_factory, "hash": _hash,
}
