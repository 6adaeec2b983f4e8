"""Confluence storage format (XHTML with `ac:`/`ri:` macros) and plain HTML → readable text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["storage_to_text"]

# Elements that end a paragraph; their text is set off by a blank line.
_BLOCKS = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "tr", "pre",
    "blockquote", "section", "article", "header", "footer", "ac:layout-section",
    "ac:layout-cell", "ac:structured-macro",
})
_LINES = frozenset({"br", "li", "td", "th", "dt", "dd", "hr"})
# Whose text is never shown to a reader.
_HIDDEN = frozenset({"script", "style", "head", "title", "ac:parameter"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag in _LINES:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
        if tag in _LINES or tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def storage_to_text(markup: str | None) -> str:
    """The text of a page body: tags stripped, entities decoded, paragraphs kept.

    Paragraphs are separated by one blank line, line breaks and list items by a newline;
    runs of spaces collapse to one. CDATA sections (code macros) keep their text.
    """
    if not markup:
        return ""
    markup = markup.replace("<![CDATA[", "").replace("]]>", "")
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    raw = "".join(parser.parts)
    lines = [_SPACES.sub(" ", line).strip() for line in raw.split("\n")]
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)
