"""Mapping files in `mappings/`: loaded with line numbers, compiled once, cached."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from .errors import ConfigFileError, NotFoundError
from .yamlfile import load_yaml

if TYPE_CHECKING:
    from .mapping import CompiledMapping, TransformRegistry

__all__ = ["MappingLibrary"]


class MappingLibrary:
    """The mappings of one folder, by name (the file name without `.yaml`).

    Files may use `${VAR}` / `${VAR:-default}` for values kept out of the file (a hash salt).
    """

    def __init__(self, folder: Path, *, transforms: TransformRegistry | None = None) -> None:
        self.folder = folder
        self._transforms = transforms
        self._compiled: dict[str, CompiledMapping] = {}

    @property
    def transforms(self) -> TransformRegistry:
        if self._transforms is None:
            from .mapping import default_registry

            self._transforms = default_registry()
        return self._transforms

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
            from .mapping import compile_mapping, parse_spec
            from .mapping.spec import allowed_keys

            doc = load_yaml(self.path(name), interpolate=True)
            try:
                spec = parse_spec(doc.data, transforms=self.transforms)
            except ValidationError as exc:
                raise doc.validation_error(exc, allowed=allowed_keys) from None
            self._compiled[name] = compile_mapping(spec, name=name, transforms=self.transforms)
        return self._compiled[name]

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
