"""`hub config validate`: a config error names its file, line and field, and exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ROOT, CliEnv, Run


def test_config_error__names_file_line_field_and_exits_2(
    crm_env: CliEnv, tmp_path: Path, run: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = tmp_path / "hub.yaml"
    broken.write_text((ROOT / "configs/hub.yaml").read_text(encoding="utf-8")
                      .replace("stream: customers", "stream: customers\n    strem: x"),
                      encoding="utf-8")
    monkeypatch.setenv("HUB_CONFIG", str(broken))
    code, _, err = run("config", "validate")
    assert code == 2
    line = broken.read_text(encoding="utf-8").splitlines().index("    strem: x") + 1
    assert f"{broken}, line {line}, field 'jobs.crm_customers.strem': unknown field" in " ".join(
        err.split())


def _mappings_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """The shipped mappings in a folder of their own, `name` edited."""
    folder = tmp_path / "mappings"
    folder.mkdir()
    for shipped in (ROOT / "mappings").glob("*.yaml"):
        (folder / shipped.name).write_text(shipped.read_text(encoding="utf-8"),
                                           encoding="utf-8")
    edited = folder / f"{name}.yaml"
    text = edited.read_text(encoding="utf-8")
    assert old in text
    edited.write_text(text.replace(old, new), encoding="utf-8")
    return edited


@pytest.mark.parametrize(("name", "old", "new", "message"), [
    # a pull's mapping: a slip of a column, and an attribute not written attributes.*
    ("crm_customer", "  mobile: {path: contact.mobile", "  mobil: {path: contact.mobile",
     "'mobil' is not a customer field: did you mean 'mobile'? to keep it in the customer's "
     "attributes, write 'attributes.mobil'"),
    ("crm_customer", "  attributes.city: {path: address.city}", "  city: {path: address.city}",
     "to keep it in the customer's attributes, write 'attributes.city'"),
    # a webhook's ticket is a TicketCreate: no status, and no attributes
    ("wecom_inbound_ticket", "  channel: {const: wecom}", "  status: {const: open}",
     "'status' is not a ticket field: its fields: category, channel, contact_email, "
     "contact_mobile, contact_name, description, email, external_ref, mobile, priority, "
     "subject; a ticket an inbound event opens takes no other field (it keeps no "
     "attributes): every event would be refused"),
])
def test_config_validate__a_mapped_field_with_no_place_in_its_target(
        crm_env: CliEnv, tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch,
        name: str, old: str, new: str, message: str) -> None:
    edited = _mappings_copy(tmp_path, name, old, new)
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(edited.parent))

    code, _, err = run("config", "validate")

    lines = edited.read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.startswith(new))
    field = new.strip().split(":")[0]
    assert code == 2, err
    assert f"{edited}, line {line}, column 3, field 'fields.{field}'" in " ".join(err.split())
    assert message in " ".join(err.split())


def test_config_validate__the_shipped_config_and_mappings_pass(crm_env: CliEnv,
                                                               run: Run) -> None:
    code, out, err = run("config", "validate")
    assert code == 0, err
    assert out.startswith("ok: ")
