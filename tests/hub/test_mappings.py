"""Mapping files: a typo is named by file, line and field; good files compile once."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ConfigFileError, NotFoundError
from hub.mappings import MappingLibrary

ROOT = Path(__file__).resolve().parents[2]


def test_library__compiles_shipped_mappings() -> None:
    library = MappingLibrary(ROOT / "mappings")
    assert "crm_customer" in library.names()
    mapping = library.get("crm_customer")
    assert library.get("crm_customer") is mapping  # compiled once
    assert "external_id" in mapping.fields


@pytest.mark.parametrize(
    ("body", "line", "column", "field"),
    [
        ("fields:\n  name:\n    path: name\n    tpye: str\n", 4, 5, "fields.name.tpye"),
        ("fields:\n  id: {path: id}\n  tier:\n    path: level\n    type: strr\n", 5, 11,
         "fields.tier.type"),
        ("target: customer\nfeilds:\n  id: {path: id}\n", 2, 1, "feilds"),
    ],
)
def test_library__typo_named_by_file_line_and_field(
    tmp_path: Path, body: str, line: int, column: int, field: str
) -> None:
    (tmp_path / "broken.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(ConfigFileError) as caught:
        MappingLibrary(tmp_path).get("broken")
    problems = {(p.line, p.column, p.field) for p in caught.value.problems}
    assert (line, column, field) in problems
    assert f"broken.yaml, line {line}, column {column}, field '{field}'" in str(caught.value)


def test_library__unknown_mapping_lists_available(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("fields:\n  x: {path: x}\n", encoding="utf-8")
    with pytest.raises(NotFoundError, match="no mapping 'b' .*available: a"):
        MappingLibrary(tmp_path).get("b")
