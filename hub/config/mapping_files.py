"""Mapping files in `mappings/`: loaded with line numbers, compiled once, cached.

A mapping is named by a plain identifier — 1 to 64 ASCII letters, digits, `_` and `-`, not
starting with `-` (NAME_RULE) — and is the file `<name>.yaml` directly inside the folder; a
symlink there may point only to another file of the folder. Any other name is simply not
found: API callers choose names, so a name is never a path. Mapping files get no `${VAR}`
interpolation: a mapping is admin logic, not a place for secrets, and a reference left in
one is refused with its line.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from hub.core.yamlfile import YamlDocument, find_env_refs, load_yaml, load_yaml_text
from hub.errors import ConfigFileError, ConfigProblem, NotFoundError

if TYPE_CHECKING:
    from hub.mapping import CompiledMapping, TransformRegistry

__all__ = ["NAME_RULE", "MappingLibrary"]

NAME_RULE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_SHOWN_NAME = 64  # characters of a refused name repeated in the error
_LISTED = 12  # mapping names an "available:" hint lists before it counts the rest


class MappingLibrary:
    """The mappings of one folder, by name (the file name without `.yaml`)."""

    def __init__(self, folder: Path, *, transforms: TransformRegistry | None = None) -> None:
        self.folder = folder
        self._transforms = transforms
        self._compiled: dict[str, CompiledMapping] = {}

    @property
    def transforms(self) -> TransformRegistry:
        if self._transforms is None:
            from hub.mapping import default_registry

            self._transforms = default_registry()
        return self._transforms

    def names(self) -> list[str]:
        """The mappings this library can load (for admins: the API never lists them)."""
        stems = (p.stem for p in self.folder.glob("*.yaml"))
        return sorted(stem for stem in stems if self._find(stem) is not None)

    def hint(self, name: str) -> str:
        """For an admin who misspelled `name`: the closest mapping, or all of them."""
        known = self.names()
        close = get_close_matches(name[:_SHOWN_NAME], known, n=1, cutoff=0.6)
        if close:
            return f"did you mean '{close[0]}'?"
        if len(known) > _LISTED:  # one readable line, however large the library grows
            return (f"available: {', '.join(known[:_LISTED])}, … ({len(known)} in all: "
                    "hub mappings validate lists them)")
        return f"available: {', '.join(known) or 'none'}"

    def path(self, name: str) -> Path:
        """The file of mapping `name`; NotFoundError naming only the name otherwise."""
        found = self._find(name)
        if found is None:
            raise NotFoundError(f"no mapping {_shown(name)}")
        return found

    def _find(self, name: str) -> Path | None:
        if not isinstance(name, str) or NAME_RULE.fullmatch(name) is None:
            return None
        folder = self.folder.resolve()
        try:
            target = (folder / f"{name}.yaml").resolve(strict=True)
        except (OSError, RuntimeError):  # absent, or a symlink loop
            return None
        if target.parent != folder or not target.is_file():
            return None
        return target

    def get(self, name: str) -> CompiledMapping:
        """The compiled mapping; a bad spec raises ConfigFileError with file, line and field."""
        if name not in self._compiled:
            self._compiled[name] = self._compile(name, load_yaml(self.path(name)))
        return self._compiled[name]

    def compile_text(self, name: str, text: str) -> CompiledMapping:
        """Mapping `name` as `text` would make it (an edit not saved): the same compiler and
        errors as `get`, problems named as in the file `<name>.yaml` of this folder."""
        if NAME_RULE.fullmatch(name) is None:
            raise NotFoundError(f"no mapping {_shown(name)}")
        return self._compile(name, load_yaml_text(text, path=self.folder / f"{name}.yaml"))

    def _compile(self, name: str, doc: YamlDocument) -> CompiledMapping:
        from hub.mapping import compile_mapping, parse_spec
        from hub.mapping.spec import allowed_keys

        _refuse_env_refs(doc)
        key = (name, "\n".join(doc.text_lines))
        compiled = _compiled_before(key, self.transforms)
        if compiled is None:
            try:
                spec = parse_spec(doc.data, transforms=self.transforms)
            except ValidationError as exc:
                raise doc.validation_error(exc, allowed=allowed_keys) from None
            compiled = compile_mapping(spec, name=name, transforms=self.transforms)
            _remember(key, self.transforms, compiled)
        return compiled

    def forget(self, name: str) -> None:
        """Drop what was compiled of `name`: its file changed (a saved edit)."""
        self._compiled.pop(name, None)

    def problem(self, name: str, loc: tuple[str | int, ...], message: str) -> ConfigProblem:
        """A problem found in mapping `name` after it compiled, at the line of `loc`."""
        return load_yaml(self.path(name)).problem(loc, message, at_key=True)

    def validate_all(self) -> dict[str, ConfigFileError | None]:
        """Every mapping's problems (None when it compiles), by name."""
        results: dict[str, ConfigFileError | None] = {}
        for name in self.names():
            try:
                self.get(name)
                results[name] = None
            except ConfigFileError as exc:
                results[name] = exc
        return results


def _shown(name: object) -> str:
    """A refused name, quoted with its control characters escaped and cut to a safe length."""
    text = str(name)
    cut = text[:_SHOWN_NAME] + ("…" if len(text) > _SHOWN_NAME else "")
    return repr(cut)


def _refuse_env_refs(doc: YamlDocument) -> None:
    problems = [
        doc.problem(loc, f"{ref}: mapping files get no environment variables (a mapping is "
                         "logic, not a place for secrets); write the value itself",
                    offset=offset)
        for loc, offset, ref in find_env_refs(doc.data)
    ]
    if problems:
        raise ConfigFileError(problems)


# Mappings compiled lately in this process, by name and text, with the transforms they were
# compiled with: every Hub a process makes (each test, each reload) compiles the same files,
# at ~2 ms each. A compiled mapping is not changed once compiled, so Hubs may share it.
_COMPILED: OrderedDict[tuple[str, str], tuple[TransformRegistry, CompiledMapping]] = \
    OrderedDict()
_COMPILED_LOCK = threading.Lock()
_COMPILED_KEPT = 256


def _compiled_before(key: tuple[str, str], transforms: TransformRegistry
                     ) -> CompiledMapping | None:
    with _COMPILED_LOCK:
        found = _COMPILED.get(key)
        if found is None or found[0] is not transforms:
            return None
        _COMPILED.move_to_end(key)
        return found[1]


def _remember(key: tuple[str, str], transforms: TransformRegistry,
              compiled: CompiledMapping) -> None:
    with _COMPILED_LOCK:
        _COMPILED[key] = (transforms, compiled)
        while len(_COMPILED) > _COMPILED_KEPT:
            _COMPILED.popitem(last=False)
