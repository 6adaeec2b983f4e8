"""YAML files read with their line numbers, `${VAR}` interpolation, and pydantic errors
turned into problems that name the file, the line and the field."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from .errors import ConfigFileError, ConfigProblem

__all__ = ["YamlDocument", "load_yaml"]

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
    """Read a YAML file; with `interpolate`, replace `${VAR}` / `${VAR:-default}` in strings."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError([ConfigProblem(str(path), None, "", "file not found")]) from None
    try:
        raw = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = f"not valid YAML: {exc.problem or exc.context}"
        raise ConfigFileError([ConfigProblem(str(path), line, "", message)]) from None
    doc = YamlDocument(path=path, data=None)
    doc.text_lines = text.splitlines()
    doc.lines[()] = 1
    doc.data = _plain(raw, (), doc, interpolate)
    return doc


def _plain(node: Any, loc: Loc, doc: YamlDocument, interpolate: bool) -> Any:
    if isinstance(node, CommentedMap):
        result = {}
        for key, value in node.items():
            child = (*loc, str(key))
            line, column = node.lc.key(key)
            doc.lines[child] = line + 1
            doc.columns[child] = column + 1
            if not isinstance(value, CommentedMap | CommentedSeq):
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
        raise doc.error(loc, f"environment variable {name} is not set")

    return _ENV_REF.sub(replace, value) if "${" in value else value
