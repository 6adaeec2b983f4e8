"""Mapping files: a typo is named by file, line and field; good files compile once."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config.mapping_files import MappingLibrary
from hub.errors import ConfigFileError, NotFoundError

ROOT = Path(__file__).resolve().parents[3]


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


def test_library__unknown_mapping_names_the_name_only(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("fields:\n  x: {path: x}\n", encoding="utf-8")
    with pytest.raises(NotFoundError) as caught:
        MappingLibrary(tmp_path).get("b")
    assert str(caught.value) == "no mapping 'b'"  # no folder, no list of the others


def test_library__did_you_mean_is_a_separate_admin_hint(tmp_path: Path) -> None:
    for name in ("crm_customer", "import_tickets"):
        (tmp_path / f"{name}.yaml").write_text("fields:\n  x: {path: x}\n", encoding="utf-8")
    library = MappingLibrary(tmp_path)
    assert library.hint("crm_custmer") == "did you mean 'crm_customer'?"
    assert library.hint("zzz") == "available: crm_customer, import_tickets"


def test_library__a_large_library_is_counted_not_listed_whole(tmp_path: Path) -> None:
    for n in range(20):
        (tmp_path / f"m{n:02d}.yaml").write_text("fields:\n  x: {path: x}\n", encoding="utf-8")
    hint = MappingLibrary(tmp_path).hint("zzz")
    assert hint.startswith("available: m00, m01,") and "m11, … (20 in all" in hint
    assert "m12" not in hint


HOSTILE_NAMES = [
    pytest.param("../outside/secrets", id="parent-traversal"),
    pytest.param("../../../../etc/passwd", id="deep-traversal"),
    pytest.param("sub/inner", id="subfolder"),
    pytest.param("/abs/secrets", id="absolute"),
    pytest.param("a.b", id="dot"),
    pytest.param("", id="empty"),
    pytest.param("-leading-dash", id="leading-dash"),
    pytest.param("x" * 65, id="65-chars"),
    pytest.param("x" * 5000, id="5000-chars"),
    pytest.param("crm\x00customer", id="nul"),
    pytest.param("other\n", id="newline"),
    pytest.param("客户", id="non-ascii"),
]


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A mappings folder beside YAML files an attacker would like it to load."""
    folder = tmp_path / "mappings"
    (folder / "sub").mkdir(parents=True)
    body = "fields:\n  x: {path: x}\n"
    (folder / "crm_customer.yaml").write_text(body, encoding="utf-8")
    (folder / "sub" / "inner.yaml").write_text(body, encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secrets.yaml").write_text(body, encoding="utf-8")
    (folder / "linked_out.yaml").symlink_to(tmp_path / "outside" / "secrets.yaml")
    return folder


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_library__a_name_that_is_not_an_identifier_is_not_found(planted: Path,
                                                                 name: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        MappingLibrary(planted).get(name)
    message = str(caught.value)
    assert len(message) < 200
    assert str(planted.parent) not in message and "crm_customer" not in message
    assert "\x00" not in message and "\n" not in message


def test_library__a_symlink_leading_out_of_the_folder_is_refused(planted: Path) -> None:
    library = MappingLibrary(planted)
    with pytest.raises(NotFoundError) as caught:
        library.get("linked_out")
    assert str(caught.value) == "no mapping 'linked_out'"
    assert "linked_out" not in library.names()


def test_library__a_symlink_inside_the_folder_is_followed(planted: Path) -> None:
    (planted / "alias_of_crm.yaml").symlink_to(planted / "crm_customer.yaml")
    assert "x" in MappingLibrary(planted).get("alias_of_crm").fields


def test_library__names_are_the_identifiers_it_can_load(planted: Path) -> None:
    (planted / "has space.yaml").write_text("fields: {}\n", encoding="utf-8")
    assert MappingLibrary(planted).names() == ["crm_customer"]


def test_library__env_reference_is_refused_and_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_JWT_SECRET", "jwt-secret-must-not-leak-91f2")
    (tmp_path / "leak.yaml").write_text(
        "fields:\n  x: {path: x, default: 'pre ${HUB_JWT_SECRET} post'}\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as caught:
        MappingLibrary(tmp_path).get("leak")
    [problem] = caught.value.problems
    assert (problem.line, problem.column, problem.field) == (2, 30, "fields.x.default")
    assert "${HUB_JWT_SECRET}" in problem.message and "environment" in problem.message
    assert "jwt-secret-must-not-leak" not in str(caught.value)
