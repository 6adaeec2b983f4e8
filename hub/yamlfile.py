"""YAML files read with their line numbers, `${VAR}` interpolation, and pydantic errors
turned into problems that name the file, the line and the field."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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

    def problem(self, loc: Sequence[str | int], message: str) -> ConfigProblem:
        return ConfigProblem(
            file=str(self.path), line=self.line_for(loc),
            field=".".join(str(p) for p in self._shown(loc)), message=message,
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

    def validation_error(self, exc: ValidationError, *, prefix: Loc = ()) -> ConfigFileError:
        problems = []
        for item in exc.errors(include_url=False, include_input=False):
            loc = (*prefix, *item["loc"])
            if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
                # Point at the `kind:` (or other discriminator) line itself.
                loc = (*loc, str(item.get("ctx", {}).get("discriminator", "")).strip("'"))
            problems.append(self.problem(loc, _readable(item)))
        return ConfigFileError(problems)


def _readable(item: Mapping[str, Any]) -> str:
    kind = item.get("type")
    if kind == "extra_forbidden":
        return "unknown field (is it misspelled?)"
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
    doc.lines[()] = 1
    doc.data = _plain(raw, (), doc, interpolate)
    return doc


def _plain(node: Any, loc: Loc, doc: YamlDocument, interpolate: bool) -> Any:
    if isinstance(node, CommentedMap):
        result = {}
        for key, value in node.items():
            child = (*loc, str(key))
            line = node.lc.key(key)[0] + 1
            doc.lines[child] = line
            result[str(key)] = _plain(value, child, doc, interpolate)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            child = (*loc, index)
            doc.lines[child] = node.lc.item(index)[0] + 1
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
