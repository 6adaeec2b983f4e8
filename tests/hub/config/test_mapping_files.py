"""Mapping files as admins write them: every mistake reported with file, line, column, field
and a message they can act on; every shipped mapping and every example in the docs compiles."""

import re
from pathlib import Path

import pytest

from hub.config.mapping_files import MappingLibrary
from hub.errors import ConfigFileError

ROOT = Path(__file__).resolve().parents[3]

# (case, file body, "line:column field: message") — the exact problem the admin sees.
INVALID = [
    ("unknown_key_did_you_mean",
     "fields:\n  mobile: {path: m, tpye: mobile}\n",
     "2:21 fields.mobile.tpye: unknown key 'tpye' (did you mean 'type'?)"),
    ("unknown_key_lists_allowed",
     "fields:\n  a: {path: a}\nzzz: 1\n",
     "3:1 zzz: unknown key 'zzz'; allowed: target, source, version, description, "
     "columns, key, filter, omit_nulls, lookups, fields, sheet, header_row"),
    ("nested_unknown_key",
     "fields:\n  lines:\n    path: lines\n    fields:\n      qty: {path: q, requird: true}\n",
     "5:22 fields.lines.fields.qty.requird: unknown key 'requird' (did you mean 'required'?)"),
    ("lookup_unknown_key",
     "lookups:\n  c: {entity: customer, by: mobile, retrun: id}\nfields:\n  a: {path: a}\n",
     "2:37 lookups.c.retrun: unknown key 'retrun' (did you mean 'return'?)"),
    ("unknown_type",
     "fields:\n  a:\n    path: a\n    type: fone\n",
     "4:11 fields.a.type: Input should be 'str', 'int', 'decimal', 'float', 'bool', 'date', "
     "'datetime', 'mobile', 'phone', 'email', 'enum', 'list', 'object' or 'any'"),
    ("unknown_transform",
     "fields:\n  a:\n    path: a\n    transforms: [strip, trunc]\n",
     "4:25 fields.a.transforms.1: unknown transform 'trunc' (did you mean 'truncate'?)"),
    ("bad_transform_argument",
     "fields:\n  a:\n    path: a\n    transforms: [{truncate: -1}]\n",
     "4:18 fields.a.transforms.0: truncate(length: int, suffix: str = '') — length must be 0 "
     "or more, got -1"),
    ("template_syntax_column",
     "fields:\n  a:\n    template: \"{{ name | }}\"\n",
     "3:26 fields.a.template: expected a filter name after '|', found '}}'"),
    ("expression_unknown_function",
     "fields:\n  a: {expr: 'lowr(name)'}\n",
     "2:14 fields.a.expr: unknown function 'lowr' (did you mean 'lower'?)"),
    ("when_trailing_input",
     "fields:\n  a: {path: a, when: \"x == 1 y\"}\n",
     "2:30 fields.a.when: expected the end of the expression, found name 'y'"),
    ("bad_path",
     "fields:\n  a: {path: 'lines[x].qty'}\n",
     "2:19 fields.a.path: [x] is not an index, '*' or a quoted key"),
    ("unknown_lookup",
     "lookups:\n  customer: {entity: customer, by: mobile}\n"
     "fields:\n  a: {path: a, lookup: custmer}\n",
     "4:24 fields.a.lookup: unknown lookup 'custmer' (did you mean 'customer'?)"),
    ("unknown_column",
     "columns: [FNumber, FName]\nfields:\n  a: {path: FNmae}\n",
     "3:13 fields.a.path: column 'FNmae' is not in columns (did you mean 'FName'?)"),
    ("enum_without_values",
     "fields:\n  a: {path: a, type: enum}\n",
     "2:3 fields.a: an enum field lists its allowed `values`"),
    ("version_zero",
     "version: 0\nfields:\n  a: {path: a}\n",
     "1:10 version: Input should be greater than or equal to 1"),
    ("required_with_default",
     "fields:\n  a: {path: a, required: true, default: x}\n",
     "2:41 fields.a.default: a required field cannot have a default; choose one"),
    ("default_wrong_type",
     "fields:\n  n: {path: n, type: int, default: abc}\n",
     "2:36 fields.n.default: default does not fit type 'int': 'abc' is not a whole number"),
    ("nested_without_path",
     "fields:\n  lines:\n    fields: {a: {path: a}}\n",
     "3:5 fields.lines.fields: nested fields need a path to the list or object they map"),
    ("env_reference_refused",
     "fields:\n  h: {path: m, transforms: [{hash: {salt: '${HASH_SALT}'}}]}\n",
     "2:44 fields.h.transforms.0.hash.salt: ${HASH_SALT}: mapping files get no environment "
     "variables (a mapping is logic, not a place for secrets); write the value itself"),
]


@pytest.mark.parametrize(("body", "expected"), [case[1:] for case in INVALID],
                         ids=[case[0] for case in INVALID])
def test_library__invalid_spec_is_located_exactly(tmp_path: Path, body: str,
                                                  expected: str) -> None:
    (tmp_path / "bad.yaml").write_text(body, encoding="utf-8")

    with pytest.raises(ConfigFileError) as caught:
        MappingLibrary(tmp_path).get("bad")

    shown = [f"{p.line}:{p.column} {p.field}: {p.message}" for p in caught.value.problems]
    assert expected in shown, "\n".join(shown)
    assert str(tmp_path / "bad.yaml") in str(caught.value)


def test_library__every_problem_at_once(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "fields:\n  a: {path: a, tpye: int}\n  b: {path: b, type: fone}\n  c: {path: c}\n",
        encoding="utf-8")

    with pytest.raises(ConfigFileError) as caught:
        MappingLibrary(tmp_path).get("bad")

    assert [p.field for p in caught.value.problems] == ["fields.a.tpye", "fields.b.type"]


def test_library__validate_all_reports_each_file(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("fields:\n  a: {path: a}\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("fields:\n  a: {pth: a}\n", encoding="utf-8")

    results = MappingLibrary(tmp_path).validate_all()

    assert results["good"] is None
    assert results["bad"] is not None and "did you mean 'path'" in str(results["bad"])


@pytest.mark.parametrize("name", MappingLibrary(ROOT / "mappings").names())
def test_shipped_mappings__compile(name: str) -> None:
    mapping = MappingLibrary(ROOT / "mappings").get(name)
    assert mapping.version >= 1


def _doc_examples() -> list[str]:
    text = (ROOT / "docs" / "mappings.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    return [block for block in blocks if re.search(r"^fields:", block, flags=re.MULTILINE)]


@pytest.mark.parametrize("block", _doc_examples(), ids=lambda block: block.splitlines()[0][:40])
def test_docs__every_mapping_example_is_valid(block: str, tmp_path: Path) -> None:
    (tmp_path / "example.yaml").write_text(block, encoding="utf-8")
    MappingLibrary(tmp_path).get("example")  # as the hub reads it: no `${VAR}`, no tags


def test_get__hubs_share_a_compiled_mapping_until_its_file_changes(tmp_path: Path) -> None:
    body = f"# {tmp_path}\ntarget: customer\nfields:\n  external_id: {{path: id, type: str}}\n"
    (tmp_path / "shared.yaml").write_text(body, encoding="utf-8")
    first, second = MappingLibrary(tmp_path), MappingLibrary(tmp_path)
    compiled = first.get("shared")
    assert second.get("shared") is compiled  # compiled once for the process
    (tmp_path / "shared.yaml").write_text(body.replace("type: str", "type: int"),
                                          encoding="utf-8")
    changed = MappingLibrary(tmp_path).get("shared")
    assert changed is not compiled and changed({"id": "7"}) == {"external_id": 7}
    assert compiled({"id": "7"}) == {"external_id": "7"}


def test_get__other_transforms_compile_anew(tmp_path: Path) -> None:
    from hub.mapping import default_registry

    body = f"# {tmp_path}\ntarget: customer\nfields:\n  external_id: {{path: id}}\n"
    (tmp_path / "own.yaml").write_text(body, encoding="utf-8")
    shared = MappingLibrary(tmp_path).get("own")
    own = MappingLibrary(tmp_path, transforms=default_registry().copy()).get("own")
    assert own is not shared


def test_get__a_mapping_of_another_name_with_the_same_text_is_its_own(tmp_path: Path) -> None:
    body = f"# {tmp_path}\ntarget: customer\nfields:\n  external_id: {{path: id}}\n"
    for name in ("one", "two"):
        (tmp_path / f"{name}.yaml").write_text(body, encoding="utf-8")
    library = MappingLibrary(tmp_path)
    assert (library.get("one").name, library.get("two").name) == ("one", "two")
