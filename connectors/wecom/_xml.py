"""The little XML WeCom callbacks use, parsed with expat and nothing that XML can abuse.

A callback's XML is ``<xml>`` with flat fields (``<MsgType><![CDATA[text]]></MsgType>``) and,
for some events, one level of nested fields. The parser refuses what no WeCom callback
contains and what XML attacks need: a DOCTYPE (and so any entity declaration, internal or
external), processing beyond the size limit, and deep nesting.
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

__all__ = ["UnsafeXmlError", "parse_fields"]

MAX_BYTES = 256 * 1024
MAX_DEPTH = 8


class UnsafeXmlError(ValueError):
    """The document is not the plain XML a WeCom callback is (or not XML at all)."""


class _Builder:
    def __init__(self) -> None:
        self.stack: list[tuple[str, dict[str, Any], list[str]]] = []
        self.root: tuple[str, Any] | None = None

    def start(self, name: str, _attributes: dict[str, str]) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise UnsafeXmlError("the XML is nested too deeply")
        self.stack.append((name, {}, []))

    def end(self, name: str) -> None:
        _, children, text = self.stack.pop()
        value: Any = children if children else "".join(text).strip()
        if not self.stack:
            self.root = (name, value)
            return
        siblings = self.stack[-1][1]
        if name in siblings:  # a repeated field becomes a list
            existing = siblings[name]
            siblings[name] = [*existing, value] if isinstance(existing, list) else [existing,
                                                                                      value]
        else:
            siblings[name] = value

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1][2].append(text)


def _forbidden(*_args: object) -> Any:
    raise UnsafeXmlError("the XML declares a DOCTYPE or entities; WeCom never sends those")


def parse_fields(data: bytes | str, *, root: str = "xml") -> dict[str, Any]:
    """The fields of a ``<xml>...</xml>`` document: tag -> text (or dict, or list if repeated).

    Raises:
        UnsafeXmlError: not well-formed, too large, a DOCTYPE/entity, or another root.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise UnsafeXmlError(f"the XML is larger than {MAX_BYTES} bytes")
    builder = _Builder()
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _forbidden
    parser.EntityDeclHandler = _forbidden
    parser.UnparsedEntityDeclHandler = _forbidden
    parser.ExternalEntityRefHandler = _forbidden  # never reached without a DOCTYPE
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code) if exc.code else "unreadable"
        raise UnsafeXmlError(f"the XML is not well-formed ({reason})") from None
    if builder.root is None or builder.root[0] != root:
        found = builder.root[0] if builder.root else None
        raise UnsafeXmlError(f"the XML's root is {found!r}, not {root!r}")
    fields = builder.root[1]
    return fields if isinstance(fields, dict) else {}
