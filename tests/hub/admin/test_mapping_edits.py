"""Checking and saving mapping edits: problems with file, line and column; a save writes the
next version atomically, keeps the previous file, audits the diff, refuses what does not
compile."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from hub.admin.mapping_edits import (
    HISTORY,
    check_mapping_text,
    create_mapping,
    mapping_text,
    mapping_versions,
    restore_mapping,
    save_mapping,
    text_digest,
)
from hub.errors import ConfigFileError, ConflictError, InvalidRequestError, NotFoundError
from hub.runtime import Hub
from tests.conftest import ROOT


@pytest.fixture
def hub(make_hub: Any, sqlite_url: str, tmp_path: Path) -> Any:
    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", folder)
    runtime = make_hub(sqlite_url, mappings_dir=folder)
    yield runtime
    runtime.close()


@pytest.mark.parametrize(("old", "new", "column", "field", "message"), [
    ("  company: {path: 公司}", "  company: {path: 公司]", 21, "", "expected ',' or '}'"),
    ("  name: {path: 客户名称, required: true}", "  name: {path: 客户名称, requird: true}", 22,
     "fields.name.requird", "did you mean 'required'?"),
    ("  mobile: {path: 手机号, type: mobile}", "  mobil: {path: 手机号, type: mobile}", 3,
     "fields.mobil", "did you mean 'mobile'?"),
], ids=["syntax", "unknown-key", "dropped-field"])
def test_check__names_line_column_and_field(hub: Hub, old: str, new: str, column: int,
                                            field: str, message: str) -> None:
    text = mapping_text(hub, "import_customers")
    assert old in text.splitlines()
    line = text.splitlines().index(old) + 1
    _, problems = check_mapping_text(hub, "import_customers", text.replace(old, new))
    [problem] = problems
    assert (problem.line, problem.column, problem.field) == (line, column, field)
    assert message in problem.message
    assert Path(problem.file) == hub.mappings.folder / "import_customers.yaml"


def test_save__next_version_previous_kept_diff_audited(hub: Hub) -> None:
    file = hub.mappings.folder / "import_customers.yaml"
    before = file.read_text(encoding="utf-8")
    assert hub.mappings.get("import_customers").version == 1
    saved = save_mapping(hub, "import_customers",
                         before.replace("钻石: vip,", "钻石: vip, 铂金: vip,"), actor="tester")
    assert (saved.previous_version, saved.version) == (1, 2)
    assert "version: 2" in file.read_text(encoding="utf-8")
    assert hub.mappings.get("import_customers").version == 2  # the compiled one forgotten
    [kept] = mapping_versions(hub, "import_customers")
    assert kept.version == 1
    assert (hub.mappings.folder / HISTORY / kept.file).read_text(encoding="utf-8") == before
    assert sorted(p.name for p in hub.mappings.folder.iterdir()
                  if p.name.startswith(".") and p.name != HISTORY) == []  # no temporary left
    [row] = [r for r in hub.audit.tail(10) if r.action == "mapping.save"]
    assert (row.actor, row.target) == ("tester", "mapping:import_customers")
    assert "+version: 2" in row.detail["diff"] and "铂金" in row.detail["diff"]

    raised = file.read_text(encoding="utf-8").replace("version: 2", "version: 7")
    assert save_mapping(hub, "import_customers", raised, actor="tester").version == 7


def test_save__refuses_what_does_not_compile_nothing_written(hub: Hub) -> None:
    file = hub.mappings.folder / "import_tickets.yaml"
    before = file.read_text(encoding="utf-8")
    with pytest.raises(ConfigFileError) as refused:
        save_mapping(hub, "import_tickets", before.replace("key:", "ky:"), actor="tester")
    assert "ky" in str(refused.value)
    assert file.read_text(encoding="utf-8") == before
    assert mapping_versions(hub, "import_tickets") == []
    assert not any(r.action == "mapping.save" for r in hub.audit.tail(10))


def test_save__refuses_an_edit_begun_before_another_save(hub: Hub) -> None:
    file = hub.mappings.folder / "crm_customer.yaml"
    began = text_digest(file.read_text(encoding="utf-8"))
    first = file.read_text(encoding="utf-8") + "# first\n"
    assert save_mapping(hub, "crm_customer", first, actor="a", base=began).version == 2
    with pytest.raises(ConflictError):
        save_mapping(hub, "crm_customer", first + "# second\n", actor="b", base=began)
    assert "# second" not in file.read_text(encoding="utf-8")


def test_restore__a_kept_version_saved_as_the_next_with_its_diff(hub: Hub) -> None:
    file = hub.mappings.folder / "import_customers.yaml"
    original = file.read_text(encoding="utf-8")
    save_mapping(hub, "import_customers", original.replace("钻石: vip,", "钻石: vip, 铂金: vip,"),
                 actor="tester")
    [kept] = mapping_versions(hub, "import_customers")
    with pytest.raises(NotFoundError):
        restore_mapping(hub, "import_customers", "../import_tickets.yaml", actor="tester")
    with pytest.raises(ConflictError):  # the editor began before the save above
        restore_mapping(hub, "import_customers", kept.file, actor="tester",
                        base=text_digest(original))
    restored = restore_mapping(hub, "import_customers", kept.file, actor="tester",
                               base=text_digest(file.read_text(encoding="utf-8")))
    assert (restored.previous_version, restored.version) == (2, 3)
    assert file.read_text(encoding="utf-8") == original.replace("version: 1", "version: 3", 1)
    assert hub.mappings.get("import_customers").version == 3
    assert [v.version for v in mapping_versions(hub, "import_customers")] == [2, 1]
    [row, *_] = [r for r in reversed(hub.audit.tail(10)) if r.action == "mapping.save"]
    assert row.actor == "tester" and row.detail["restored_from"] == kept.file
    removed = [line for line in row.detail["diff"].splitlines() if line.startswith("-")]
    assert any("铂金" in line for line in removed)  # the diff from v2 back to v1's text


def test_create__a_copy_of_a_template_at_version_one(hub: Hub) -> None:
    text = mapping_text(hub, "import_customers")
    save_mapping(hub, "import_customers", text.replace("钻石: vip,", "钻石: vip, 铂金: vip,"),
                 actor="tester")  # the template at v2: the copy starts at v1
    created = create_mapping(hub, "import_members", "import_customers", actor="tester")
    assert (created.name, created.version) == ("import_members", 1)
    assert hub.mappings.get("import_members").version == 1
    assert "import_members" in hub.mappings.names()
    [row] = [r for r in hub.audit.tail(10) if r.action == "mapping.create"]
    assert (row.actor, row.target, row.detail["template"]) == (
        "tester", "mapping:import_members", "import_customers")
    assert "+version: 1" in row.detail["diff"]
    with pytest.raises(ConflictError):
        create_mapping(hub, "import_members", "import_customers", actor="tester")
    with pytest.raises(InvalidRequestError):
        create_mapping(hub, "../evil", "import_customers", actor="tester")
    with pytest.raises(NotFoundError):
        create_mapping(hub, "fresh", "no_such_template", actor="tester")
