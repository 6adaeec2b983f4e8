"""Masking personal data in documents shown to a caller without the `pii` scope.

Two rules, both applied everywhere in a document:

- by field name, normalised (`IdNumber`, `id-number` and `ID_NUMBER` are all `id_number`):
  the names `api.masking` lists have any value masked as their kind; names that merely look
  personal (`contact_phone`, `Mobile`, `tel`, `e_mail`, `身份证号`, `手机`, `邮箱`...) have their
  value masked when it could be one (digits for a phone or an ID, an `@` for an email);
- by value, in every string whatever its field: mainland mobile numbers (`+86 138-1234-5678`),
  email addresses and 18-digit ID card numbers, as whole words only (digits inside a longer
  number or code, timestamps, ids and counts are left alone; JSON numbers are never read as
  text).

Pure (no I/O): the API's masking middleware and its downloads call it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from hub.core.field_names import kinds_by_field, normalise_field_name
from hub.mapping import normalize_mobile
from hub.mapping.masking import mask_email, mask_id, mask_text

__all__ = ["FieldMasker", "mask_as", "mask_personal_text"]


def _mobile(text: str) -> str:
    return mask_text(normalize_mobile(text) or text.strip(), 3, 4)


def _email(text: str) -> str:
    masked = mask_email(text)
    if masked is not None:
        return masked
    text = text.strip()
    return text[0] + "***" if len(text) > 1 else "***"


def _id_number(text: str) -> str:
    return mask_id(text) or mask_text(text.strip(), 6, 4)


def _name(text: str) -> str:
    text = text.strip()
    return text[0] + "*" * (len(text) - 1) if len(text) > 1 else "*" * len(text)


_KINDS: dict[str, Callable[[str], str]] = {
    "mobile": _mobile, "email": _email, "id_number": _id_number, "name": _name,
}


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 13812345678.0 read from a workbook is the number
    return value if isinstance(value, str) else str(value)


def mask_as(kind: str, value: Any) -> Any:
    """`value` masked as `kind` (mobile `138****5678`, email `z***@example.com`, id_number
    `110101********1234`, name `张*`); a list has each item masked; a mapping is left to the
    caller's walk. None, booleans and empty text stay as they are."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [mask_as(kind, item) for item in value]
    if isinstance(value, dict):
        return value
    text = _as_text(value)
    if not text.strip():
        return value
    return _KINDS[kind](text)


# ---------------------------------------------------------------- values, in any text

_WORD_START = r"(?<![0-9A-Za-z])(?<!\d[-.])"  # not inside a longer number, code or decimal
_WORD_END = r"(?![0-9A-Za-z]|[-.]\d)"
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}"
                    r"(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])")
# An 18-digit ID card number has a birth date at 7-14; a mobile may carry +86 and separators.
_ID_OR_MOBILE = re.compile(
    _WORD_START + r"(?:(?P<id>[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])"
    r"(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx])"
    r"|(?P<mobile>(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}))" + _WORD_END, re.ASCII)


def _mask_match(match: re.Match[str]) -> str:
    if match["id"] is not None:
        return mask_id(match["id"]) or "*" * len(match["id"])
    return _mobile(match["mobile"])


def _mask_email_match(match: re.Match[str]) -> str:
    return mask_email(match[0]) or "***"


def mask_personal_text(text: str) -> str:
    """`text` with every mobile number, email address and ID card number in it masked."""
    if len(text) < 11 and "@" not in text:  # shorter than any of them
        return text
    if "@" in text:
        text = _EMAIL.sub(_mask_email_match, text)
    return _ID_OR_MOBILE.sub(_mask_match, text)


# A cheap look at a whole serialized body: could a string or number in it hold a personal
# value? (An 11-digit run, or a mobile written with separators; emails are found by "@".)
_VALUE_HINT = re.compile(rb"[0-9]{11}|1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}")
_JSON_KEY = re.compile(rb'"([^"]{1,80})"\s*:')

# ---------------------------------------------------------------- names

_TOKEN_SPLIT = re.compile(r"[_0-9]+")


# Names that look personal, by kind: whole names, parts of names, and words of a name.
_LOOKS_PERSONAL: dict[str, tuple[frozenset[str], tuple[str, ...], frozenset[str]]] = {
    "id_number": (frozenset({"citizen_id", "national_id", "resident_id", "sfz"}),
                  ("idcard", "idnumber", "idno", "idnum", "identitycard", "identitynumber",
                   "身份证", "证件号"),
                  frozenset({"sfzh", "identity"})),
    "mobile": (frozenset(), ("mobile", "phone", "手机", "电话", "联系方式"),
               frozenset({"tel", "telephone", "cell", "msisdn", "fax"})),
    "email": (frozenset(), ("email", "邮箱", "邮件"), frozenset({"mail", "mailbox"})),
}
# A name ending in one of these is about the value, not the value itself (`email_verified`).
_ABOUT = frozenset({"at", "time", "date", "ts", "count", "id", "ids", "type", "kind",
                    "status", "state", "verified", "enabled", "valid", "flag", "sent",
                    "source", "format", "total", "hash", "len", "length", "prefix", "domain",
                    "masked", "template", "label", "field", "fields", "column"})
_PLAUSIBLE: dict[str, Callable[[str], bool]] = {
    "mobile": lambda text: sum(char.isdigit() for char in text) >= 5,
    "email": lambda text: "@" in text,
    "id_number": lambda text: sum(char.isdigit() for char in text) >= 6,
}


def _kind_by_look(name: str) -> str | None:
    """The kind a normalised field name looks like it holds, if any."""
    for kind, (whole, _parts, _words) in _LOOKS_PERSONAL.items():
        if name in whole:
            return kind
    words = [word for word in _TOKEN_SPLIT.split(name) if word]
    if not words or words[-1] in _ABOUT:
        return None
    compact = name.replace("_", "")
    for kind, (_whole, parts, tokens) in _LOOKS_PERSONAL.items():
        if any(part in compact for part in parts) or any(word in tokens for word in words):
            return kind
    return "id_number" if _id_pair(words) else None


def _id_pair(words: list[str]) -> bool:
    return any(first == "id" and second in ("card", "number", "no", "num", "code")
               for first, second in zip(words, words[1:], strict=False))


def _key_text(key: bytes) -> str:
    try:
        return str(json.loads(b'"' + key + b'"')) if b"\\" in key else key.decode()
    except ValueError:  # not a key after all (a quote inside a string): look at it as is
        return key.decode(errors="replace")


# ---------------------------------------------------------------- the masker

_Rule = tuple[str, bool]  # (kind, whatever the value): configured names mask any value
_NO_RULE: _Rule = ("", False)
_CACHE_LIMIT = 4096


class FieldMasker:
    """Masks personal data in documents: by normalised field name and by value."""

    def __init__(self, fields_by_kind: Mapping[str, list[str]]) -> None:
        unknown = sorted(set(fields_by_kind) - set(_KINDS))
        if unknown:
            raise ValueError(f"unknown masking kind(s) {', '.join(unknown)}; "
                             f"known: {', '.join(_KINDS)}")
        self.kinds: dict[str, str] = kinds_by_field(fields_by_kind)
        self._rules: dict[str, _Rule] = {}
        self._personal_keys: dict[bytes, bool] = {}

    def may_apply(self, body: bytes) -> bool:
        """Whether the JSON `body` may hold anything to mask (False: it surely does not):
        a value that looks personal, or a field whose name does."""
        if b"@" in body or _VALUE_HINT.search(body) is not None:
            return True
        known = self._personal_keys
        for key in set(_JSON_KEY.findall(body)):
            personal = known.get(key)
            if personal is None:
                if len(known) >= _CACHE_LIMIT:
                    known.clear()
                personal = known[key] = bool(self.rule_for(_key_text(key))[0])
            if personal:
                return True
        return False

    def rule_for(self, name: str) -> _Rule:
        """(kind, mask whatever the value) for field `name`; kind "" when not personal."""
        rule = self._rules.get(name)
        if rule is None:
            if len(self._rules) >= _CACHE_LIMIT:  # names come from callers' data too
                self._rules.clear()
            normalised = normalise_field_name(name)
            kind = self.kinds.get(normalised)
            if kind is not None:
                rule = (kind, True)
            else:
                looks = _kind_by_look(normalised)
                rule = (looks, False) if looks else _NO_RULE
            self._rules[name] = rule
        return rule

    def mask_value(self, rule: _Rule, value: Any) -> Any:
        """A scalar of a field with `rule`, masked."""
        if type(value) is str:
            masked = mask_personal_text(value)
            if masked != value:
                return masked  # the personal part found and masked, the rest kept
        kind, always = rule
        if not kind or value is None or type(value) is bool:
            return value
        if always or _PLAUSIBLE.get(kind, bool)(_as_text(value)):
            return mask_as(kind, value)
        return value

    def mask_in_place(self, document: Any, rule: _Rule = _NO_RULE) -> bool:
        """Mask a parsed JSON `document` in place (responses are parsed for this alone:
        copying them would double the cost); whether anything changed. `rule` is the one of
        the field holding a list."""
        changed = False
        if type(document) is dict:
            renamed: list[tuple[str, str]] = []
            for key, value in document.items():
                if type(value) is dict:
                    changed = self.mask_in_place(value) or changed
                elif type(value) is list:
                    changed = self.mask_in_place(value, self.rule_for(key)) or changed
                elif (masked := self.mask_value(self.rule_for(key), value)) != value:
                    document[key] = masked  # same keys: safe while iterating
                    changed = True
                if (masked_key := mask_personal_text(key)) != key:
                    renamed.append((key, masked_key))  # a mobile number used as a key
            for key, masked_key in renamed:
                document[masked_key] = document.pop(key)
            changed = changed or bool(renamed)
        elif type(document) is list:
            for index, item in enumerate(document):
                if type(item) is dict or type(item) is list:
                    changed = self.mask_in_place(item, rule) or changed
                elif (masked := self.mask_value(rule, item)) != item:
                    document[index] = masked
                    changed = True
        return changed

    def mask_body(self, body: bytes) -> bytes | None:
        """The JSON `body` with its personal data masked; None when it needs no change
        (nothing personal in it, or not JSON at all)."""
        if not self.may_apply(body):
            return None
        try:
            document = json.loads(body)
        except ValueError:
            return None
        if type(document) is str:
            masked_text = mask_personal_text(document)
            if masked_text == document:
                return None
            return json.dumps(masked_text, ensure_ascii=False).encode()
        if not self.mask_in_place(document):
            return None
        return json.dumps(document, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode()
