"""Mapping files in `mappings/`: loaded with line numbers, compiled once, cached."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from .errors import NotFoundError
from .mapping import CompiledMapping, compile_mapping, parse_spec
from .yamlfile import load_yaml

__all__ = ["MappingLibrary"]


class MappingLibrary:
    """The mappings of one folder, by name (the file name without `.yaml`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._compiled: dict[str, CompiledMapping] = {}

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.yaml"))

    def path(self, name: str) -> Path:
        path = self.folder / f"{name}.yaml"
        if not path.is_file():
            available = ", ".join(self.names()) or "none"
            raise NotFoundError(f"no mapping '{name}' in {self.folder}; available: {available}")
        return path

    def get(self, name: str) -> CompiledMapping:
        """The compiled mapping; a bad spec raises ConfigFileError with file, line and field."""
        if name not in self._compiled:
            doc = load_yaml(self.path(name))
            try:
                spec = parse_spec(doc.data)
            except ValidationError as exc:
                raise doc.validation_error(exc) from None
            self._compiled[name] = compile_mapping(spec, name=name)
        return self._compiled[name]
