"""YAML files read with their line numbers, `${VAR}` interpolation, and pydantic errors
turned into problems that name the file, the line and the field.

Config and mapping files are small, plain text written by admins, but the loader treats them
as hostile input (an API caller can name a mapping; a file may come from anywhere): it refuses
files over MAX_BYTES, anything but UTF-8 text, nesting deeper than MAX_DEPTH, aliases that
expand to more than MAX_ALIASED_NODES nodes (the "billion laughs"), and every explicit tag
(`!!python/...`, `!foo`, even `!!str`): values are plain YAML scalars, lists and mappings.
Each refusal is one ConfigFileError naming the file and, when known, the line.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    Event,
    NodeEvent,
)
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.tokens import ScalarToken

from hub.errors import ConfigFileError, ConfigProblem

__all__ = ["MAX_ALIASED_NODES", "MAX_BYTES", "MAX_DEPTH", "YamlDocument", "find_env_refs",
           "load_yaml", "load_yaml_text"]

MAX_BYTES = 1 << 20  # 1 MiB: the shipped hub.yaml is 10 KiB, the largest mapping 4 KiB
MAX_DEPTH = 64  # lists and mappings inside each other
MAX_ALIASED_NODES = 10_000  # nodes an alias may repeat, counted as expanded, in all

Loc = tuple[str | int, ...]
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class YamlDocument:
    """Plain Python data from a YAML file, and the line of every key and list item."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    columns: dict[Loc, int] = field(default_factory=dict)  # 1-based column of each key / item
    # Where a one-line scalar value starts: (line, 1-based column, opening quote or "").
    scalars: dict[Loc, tuple[int, int, str]] = field(default_factory=dict)
    text_lines: list[str] = field(default_factory=list, repr=False)
    # What interpolation found wrong (a variable not set), for the caller to report with the
    # rest of the file's problems in one pass; the value reads as "" meanwhile.
    problems: list[ConfigProblem] = field(default_factory=list)

    def line_for(self, loc: Sequence[str | int]) -> int | None:
        """The line of the deepest part of `loc` present in the file (skipping union tags)."""
        best: int | None = self.lines.get(())
        prefix: Loc = ()
        for part in loc:
            candidate = (*prefix, part)
            if candidate in self.lines:
                prefix = candidate
                best = self.lines[candidate]
        return best

    def problem(self, loc: Sequence[str | int], message: str, *,
                offset: int | None = None, at_key: bool = False) -> ConfigProblem:
        """A problem at `loc`: at its value when that is a one-line scalar (`offset`, 0-based,
        points inside it), else at its key; `at_key` points at the key regardless."""
        line, column = self.line_for(loc), self.columns.get(tuple(loc))
        scalar = self.scalars.get(tuple(loc))
        if scalar is not None and not at_key:
            line, start, quote = scalar  # point at the value itself, inside it with an offset
            column = start + (len(quote) + offset if offset is not None else 0)
        return ConfigProblem(
            file=str(self.path), line=line,
            field=".".join(str(p) for p in self._shown(loc)), message=message, column=column,
        )

    def _shown(self, loc: Sequence[str | int]) -> Loc:
        """`loc` as the admin wrote it: without the union tags pydantic inserts."""
        shown: Loc = ()
        for index, part in enumerate(loc):
            if (*shown, part) in self.lines or index == len(loc) - 1:
                shown = (*shown, part)
        return shown

    def error(self, loc: Sequence[str | int], message: str) -> ConfigFileError:
        return ConfigFileError([self.problem(loc, message)])

    def validation_error(self, exc: ValidationError, *, prefix: Loc = (),
                         allowed: Callable[[Loc], Sequence[str]] | None = None
                         ) -> ConfigFileError:
        """Every error of `exc` as a problem; `allowed(loc)` lists the keys valid where an
        unknown key was found, for a did-you-mean."""
        problems = []
        for item in exc.errors(include_url=False, include_input=False):
            loc = (*prefix, *item["loc"])
            if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
                # Point at the `kind:` (or other discriminator) line itself.
                loc = (*loc, str(item.get("ctx", {}).get("discriminator", "")).strip("'"))
            cause = item.get("ctx", {}).get("error")
            offset = getattr(cause, "column", None)
            known = allowed(tuple(item["loc"])) if allowed and item["type"] == "extra_forbidden" \
                else None
            located = isinstance(offset, int) and isinstance(getattr(cause, "message", None), str)
            message = cause.message if located else _readable(item, known)  # type: ignore[union-attr]
            problems.append(self.problem(loc, message, offset=offset if located else None,
                                         at_key=item["type"] == "extra_forbidden"))
        return ConfigFileError(problems)


def _readable(item: Mapping[str, Any], known: Sequence[str] | None = None) -> str:
    kind = item.get("type")
    if kind == "extra_forbidden":
        if not known:
            return "unknown field (is it misspelled?)"
        name = str(item["loc"][-1])
        close = get_close_matches(name, list(known), n=1, cutoff=0.6)
        if close:
            return f"unknown key '{name}' (did you mean '{close[0]}'?)"
        return f"unknown key '{name}'; allowed: {', '.join(known)}"
    if kind == "missing":
        return "is required"
    message = str(item.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def load_yaml(path: Path, *, interpolate: bool = False) -> YamlDocument:
    """Read a YAML file; with `interpolate`, replace `${VAR}` / `${VAR:-default}` in strings
    (every variable not set is a problem in `doc.problems`, its reference read as "").

    Raises ConfigFileError (one problem, naming the file and line) for a file that is not
    small, plain YAML: see the module docstring."""
    return load_yaml_text(_read_text(path), path=path, interpolate=interpolate)


def load_yaml_text(text: str, *, path: Path, interpolate: bool = False) -> YamlDocument:
    """`load_yaml` of text not (yet) in a file — an edit about to be saved as `path`: held to
    the same limits as a file (MAX_BYTES of UTF-8, no NUL)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise _refused(path, None, f"is larger than {MAX_BYTES >> 20} MiB; a config or "
                                   "mapping file is a small text file")
    if (nul := text.find("\0")) >= 0:
        raise _refused(path, text.count("\n", 0, nul) + 1, "contains a NUL character")
    text = text.removeprefix("\ufeff")
    raw = _parsed(path, text)
    doc = YamlDocument(path=path, data=None)
    doc.text_lines = text.splitlines()
    doc.lines[()] = 1
    doc.data = _plain(raw, (), doc, interpolate)
    return doc


def _parsed(path: Path, text: str) -> Any:
    """The text's YAML tree, checked and parsed once per text: the same config and mappings
    are read by every Hub a process makes (and on each reload), and the round-trip parser
    costs milliseconds a file. The tree is only read, never changed (`_plain` copies it)."""
    with _PARSED_LOCK:
        raw = _PARSED.get(text)
        if raw is not None:
            _PARSED.move_to_end(text)
            return raw
    try:
        _check_shape(path, text)
        raw = YAML(typ="rt").load(text)
    except ReaderError as exc:  # a character YAML does not allow, e.g. U+0001
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise _refused(path, line, f"contains the control character U+{exc.character:04X}, "
                                   "which YAML does not allow (a binary file?)") from None
    except MarkedYAMLError as exc:
        raise ConfigFileError([_syntax_problem(path, text, exc)]) from None
    except YAMLError as exc:
        reason = next(iter(str(exc).splitlines()), type(exc).__name__)
        raise _refused(path, None, f"not valid YAML: {reason}") from None
    if len(text) <= _CACHED_TEXT_MAX:
        with _PARSED_LOCK:
            _PARSED[text] = raw
            while len(_PARSED) > _CACHED_TEXTS:
                _PARSED.popitem(last=False)
    return raw


# Texts parsed lately, the least recently read dropped first: at most 256 of 64 KiB or less.
_PARSED: OrderedDict[str, Any] = OrderedDict()
_PARSED_LOCK = threading.Lock()
_CACHED_TEXTS, _CACHED_TEXT_MAX = 256, 64 * 1024


def _refused(path: Path, line: int | None, message: str) -> ConfigFileError:
    return ConfigFileError([ConfigProblem(str(path), line, "", message)])


def _read_text(path: Path) -> str:
    """The file as text: at most MAX_BYTES of UTF-8, no NUL."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise _refused(path, None, "file not found") from None
    except OSError as exc:
        raise _refused(path, None, f"cannot be read: {exc.strerror or type(exc).__name__}") \
            from None
    if len(data) > MAX_BYTES:
        raise _refused(path, None, f"is larger than {MAX_BYTES >> 20} MiB; a config or "
                                   "mapping file is a small text file")
    if (nul := data.find(b"\0")) >= 0:
        raise _refused(path, data.count(b"\n", 0, nul) + 1,
                       "contains a NUL byte: a binary file, or text not saved as UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refused(path, data.count(b"\n", 0, exc.start) + 1,
                       f"is not UTF-8 text (byte 0x{data[exc.start]:02x}): a binary file, "
                       "or text saved in another encoding; save it as UTF-8") from None
    return text.removeprefix("\ufeff")


def _check_shape(path: Path, text: str) -> None:
    """Walk the parser's events (no recursion, nothing built) and refuse explicit tags,
    nesting deeper than MAX_DEPTH, and aliases that repeat more than MAX_ALIASED_NODES
    nodes in all (each alias counted with everything under its anchor, aliases included)."""
    sizes: list[int] = [0]  # nodes so far in each open collection; the root's slot first
    anchors: list[str | None] = []  # the anchor of each open collection
    closed: dict[str, int] = {}  # anchor -> nodes under it
    aliased = 0
    for event in YAML(typ="rt").parse(text):
        line = event.start_mark.line + 1
        if isinstance(event, AliasEvent):
            aliased += _alias_size(path, line, event.anchor, closed, anchors)
            sizes[-1] += closed[event.anchor]
            if aliased > MAX_ALIASED_NODES:
                raise _refused(path, line, f"its aliases repeat more than "
                                           f"{MAX_ALIASED_NODES:,} nodes (an alias bomb?)")
            continue
        _refuse_tag(path, line, event)
        if isinstance(event, CollectionStartEvent):
            if len(sizes) > MAX_DEPTH:
                raise _refused(path, line, f"lists and mappings are nested more than "
                                           f"{MAX_DEPTH} levels deep")
            sizes.append(1)
            anchors.append(event.anchor)
        elif isinstance(event, CollectionEndEvent):
            size, anchor = sizes.pop(), anchors.pop()
            sizes[-1] += size
            if anchor is not None:
                closed[anchor] = size
        elif isinstance(event, NodeEvent):  # a scalar
            sizes[-1] += 1
            if event.anchor is not None:
                closed[event.anchor] = 1


def _alias_size(path: Path, line: int, anchor: str, closed: Mapping[str, int],
                open_anchors: Sequence[str | None]) -> int:
    if anchor in open_anchors:
        raise _refused(path, line, f"alias *{anchor} is used inside the node it names "
                                   "(a recursive structure)")
    if anchor not in closed:
        raise _refused(path, line, f"alias *{anchor} names no anchor (&{anchor}) above it")
    return closed[anchor]


def _refuse_tag(path: Path, line: int, event: Event) -> None:
    tag = getattr(event, "tag", None)
    if tag is None:
        return
    shown = str(tag).replace("tag:yaml.org,2002:", "!!")
    raise _refused(path, line, f"tag '{shown}' is not allowed: write plain values (tags "
                               "could make the loader build objects)")


def _syntax_problem(path: Path, text: str, exc: MarkedYAMLError) -> ConfigProblem:
    """The problem where the mistake is: an unclosed quote swallows the lines after it and
    the parser fails far below, so point at the line where the quote opens."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    reason = exc.problem or exc.context
    if exc.context_mark is not None and "quoted scalar" in (exc.context or ""):
        return ConfigProblem(str(path), exc.context_mark.line + 1, "",
                             "this quote is never closed: add the closing quote")
    opened = _first_multiline_quote(text, before=line)
    if opened is not None:
        return ConfigProblem(str(path), opened, "", f"the quote opened on this line is not "
                             f"closed on it; YAML then fails at line {line}: {reason}")
    return ConfigProblem(str(path), line, "", f"not valid YAML: {reason}",
                         column=mark.column + 1 if mark is not None else None)


def _first_multiline_quote(text: str, *, before: int | None) -> int | None:
    """The line of the first quoted value that runs over several lines, ahead of `before`."""
    if before is None:
        return None
    for token in _tokens(text):
        if token.start_mark.line + 1 >= before:
            return None
        if isinstance(token, ScalarToken) and token.style in ("'", '"') \
                and token.end_mark.line > token.start_mark.line:
            return int(token.start_mark.line) + 1
    return None


def _tokens(text: str) -> Iterator[Any]:
    """The scanner's tokens up to the first error."""
    try:
        yield from YAML(typ="rt").scan(text)
    except YAMLError:
        return


def _plain(node: Any, loc: Loc, doc: YamlDocument, interpolate: bool) -> Any:
    if isinstance(node, CommentedMap):
        result = {}
        for key, value in node.items():
            child = (*loc, str(key))
            # A key merged in by `<<: *anchor` has no position of its own: use the mapping's.
            line, column = node.lc.key(key) if key in node.lc.data else (node.lc.line,
                                                                            node.lc.col)
            doc.lines[child] = line + 1
            doc.columns[child] = column + 1
            if not isinstance(value, CommentedMap | CommentedSeq) and key in node.lc.data:
                _note_scalar(doc, child, node.lc.value(key))
            result[str(key)] = _plain(value, child, doc, interpolate)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            child = (*loc, index)
            line, column = node.lc.item(index)
            doc.lines[child] = line + 1
            doc.columns[child] = column + 1
            if not isinstance(value, CommentedMap | CommentedSeq):
                _note_scalar(doc, child, (line, column))
            items.append(_plain(value, child, doc, interpolate))
        return items
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return _interpolate(str(node), loc, doc) if interpolate else str(node)
    return node


def _note_scalar(doc: YamlDocument, loc: Loc, position: tuple[int, int]) -> None:
    line, column = position
    text = doc.text_lines[line] if line < len(doc.text_lines) else ""
    opening = text[column : column + 1]
    if opening in ("|", ">"):
        return  # a block scalar spans lines: no single column to point at
    doc.scalars[loc] = (line + 1, column + 1, opening if opening in ("'", '"') else "")


def _interpolate(value: str, loc: Loc, doc: YamlDocument) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found is not None and found != "":
            return found
        if default is not None:
            return default
        doc.problems.append(doc.problem(loc, f"environment variable {name} is not set",
                                        offset=match.start()))
        return ""

    return _ENV_REF.sub(replace, value) if "${" in value else value


def find_env_refs(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, int, str]]:
    """Every `${VAR}` / `${VAR:-default}` left in plain data: (where, offset in the
    string, the reference) — for files that get no interpolation, to say so."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from find_env_refs(value, (*loc, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from find_env_refs(value, (*loc, index))
    elif isinstance(data, str) and "${" in data:
        for match in _ENV_REF.finditer(data):
            yield loc, match.start(), match.group(0)
