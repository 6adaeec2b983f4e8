"""The mappings editor's live sample, kept versions and new mappings in a real Chromium
against `hub serve` (reading a copy of mappings/): live records read from a connection
(the service of `hub mappings preview --from`, its calls audited as the person, masked for a
role without personal data) previewed; a kept version restored as a new save with its diff
audited; a new mapping made from a template; CSRF and agents refused."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from hub.audit.query import query_audit

from .conftest import ROOT, ConsoleServer, shoot, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mappings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of mappings/: the tests save mappings, never into the repository's."""
    copy = tmp_path_factory.mktemp("mappings") / "mappings"
    shutil.copytree(ROOT / "mappings", copy)
    return copy


def _prefix(key: str) -> str:
    return key.split("_")[1]  # hub_<prefix>_<secret>


def _audit(server: ConsoleServer, action: str, **filters: str) -> list[Any]:
    return query_audit(server.hub.sessions, action=action, limit=500, **filters).items


def test_mapping_editor__live_records_from_a_connection_previewed_and_audited(
        console_server: ConsoleServer, new_page: Any) -> None:
    actor = f"console:apikey:{_prefix(console_server.keys.integrator)}"
    calls_before = len(_audit(console_server, "http.call", actor=actor))
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.integrator, path="/mappings/crm_customer")
    source = page.locator("#live-source")
    assert source.input_value() == "crm:customers"  # the stream its own job reads, first
    page.click("#live-read")
    page.locator("#live-state:text('20 records read.')").wait_for()
    records = json.loads(page.locator("#sample-records").input_value())
    assert len(records) == 20
    by_id = {c["id"]: c for c in console_server.crm.customers}
    assert all(r["id"] in by_id for r in records)
    with_mobile = [r for r in records if by_id[r["id"]]["contact"]["mobile"]]
    assert with_mobile, "the sandbox's customers have mobiles"
    for record in with_mobile:  # an integrator sees no personal data: masked as the API
        assert record["contact"]["mobile"] != by_id[record["id"]]["contact"]["mobile"]
        assert "****" in record["contact"]["mobile"]
    page.locator("#preview tbody tr").nth(19).wait_for()
    assert page.locator("#preview tbody tr").count() == 20
    shoot(page, "mapping-live-records")
    calls = _audit(console_server, "http.call", actor=actor)
    assert len(calls) > calls_before  # the read's calls, as the person
    assert {row.target.split(":")[0] for row in calls[:len(calls) - calls_before]} == {"crm"}

    # an unknown stream: the reason shown, nothing in the box changed
    page.evaluate("""() => { const o = document.createElement('option');
        o.value = 'crm:nope'; o.text = 'crm:nope';
        document.getElementById('live-source').appendChild(o); }""")
    source.select_option("crm:nope")
    page.click("#live-read")
    page.locator("#sample-error:not([hidden])").wait_for()
    assert "nope" in page.locator("#sample-error").inner_text()
    assert len(json.loads(page.locator("#sample-records").input_value())) == 20


def test_mapping_editor__a_kept_version_restored_as_a_new_save(
        console_server: ConsoleServer, new_page: Any, mappings_dir: Path) -> None:
    name = "confluence_article"
    file = mappings_dir / f"{name}.yaml"
    original = file.read_text(encoding="utf-8")
    found = re.search(r"^version: (\d+)$", original, re.MULTILINE)
    assert found is not None
    version = int(found[1])
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.admin, path=f"/mappings/{name}")
    page.fill("#mapping-text", original + "# a change to undo\n")
    page.click("#save")
    page.wait_for_url(re.compile(rf"saved={version + 1}$"))
    [kept] = page.locator("#versions tbody tr").all()
    assert kept.locator("td").first.inner_text() == f"v{version}"
    page.once("dialog", lambda dialog: dialog.accept())  # the confirmation step
    kept.locator("button.restore").click()
    page.wait_for_url(re.compile(rf"saved={version + 2}&restored="))
    shoot(page, "mapping-restored")
    assert page.locator("#saved").inner_text().startswith(f"Restored {name}.v{version}.")
    assert file.read_text(encoding="utf-8") == original.replace(
        f"version: {version}", f"version: {version + 2}", 1)
    assert page.locator("#versions tbody tr td:first-child").all_inner_texts() == [
        f"v{version + 1}", f"v{version}"]
    [row, *_] = _audit(console_server, "mapping.save", target=f"mapping:{name}")
    assert row.actor == f"console:apikey:{_prefix(console_server.keys.admin)}"
    assert (row.detail["from_version"], row.detail["version"]) == (version + 1, version + 2)
    assert row.detail["restored_from"].startswith(f"{name}.v{version}.")
    assert "-# a change to undo" in row.detail["diff"]


def test_mappings__a_new_mapping_from_a_template(console_server: ConsoleServer,
                                                 new_page: Any, mappings_dir: Path) -> None:
    page = new_page("zh-CN")
    sign_in(page, console_server, console_server.keys.integrator, path="/mappings")
    page.fill("#new-name", "crm_customer_vip")
    page.select_option("#new-template", "crm_customer")
    page.click("#new-create")
    page.wait_for_url(re.compile(r"/mappings/crm_customer_vip\?created=1$"))
    assert "已新建映射 crm_customer_vip（v1）" in page.locator("#created").inner_text()
    shoot(page, "mapping-created")
    template = (mappings_dir / "crm_customer.yaml").read_text(encoding="utf-8")
    created = (mappings_dir / "crm_customer_vip.yaml").read_text(encoding="utf-8")
    assert created == re.sub(r"^version: \d+$", "version: 1", template, count=1,
                             flags=re.MULTILINE)  # the template's text at version 1
    assert page.locator("#mapping-text").input_value() == created
    [row] = _audit(console_server, "mapping.create")
    assert (row.actor, row.target, row.detail["template"]) == (
        f"console:apikey:{_prefix(console_server.keys.integrator)}",
        "mapping:crm_customer_vip", "crm_customer")

    page.goto(console_server.page_url("/mappings"))  # a taken name: shown back
    page.fill("#new-name", "crm_customer_vip")
    with page.expect_response(re.compile(r"/mappings$")) as answer:
        page.click("#new-create")
    assert answer.value.status == 409
    assert "exists already" in page.locator("#new-error").inner_text()
    assert page.locator("#mappings tr[data-mapping=crm_customer_vip] .version").inner_text() \
        == "v1"
    assert len(_audit(console_server, "mapping.create")) == 1


def test_mappings__csrf_and_agents_refused(console_server: ConsoleServer, new_page: Any,
                                          mappings_dir: Path) -> None:
    calls = len(_audit(console_server, "http.call"))
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.integrator, path="/mappings")
    for path, form in (("/mappings", {"name": "no_token", "template": "crm_customer"}),
                       ("/mappings/crm_customer/sample.json", {"source": "crm:customers"}),
                       ("/mappings/crm_customer/restore", {"file": "x"})):
        answer = page.request.post(console_server.page_url(path), form=form, max_redirects=0)
        assert answer.status == 403, path
    agent = new_page("en")
    sign_in(agent, console_server, console_server.keys.agent)
    csrf = agent.locator("input[name=csrf]").first.get_attribute("value") or ""
    for path, form in (("/mappings", {"name": "by_agent", "template": "crm_customer"}),
                       ("/mappings/crm_customer/sample.json", {"source": "crm:customers"})):
        answer = agent.request.post(console_server.page_url(path), form={"csrf": csrf, **form},
                                    max_redirects=0)
        assert answer.status == 403, path
    assert not (mappings_dir / "no_token.yaml").exists()
    assert not (mappings_dir / "by_agent.yaml").exists()
    assert len(_audit(console_server, "http.call")) == calls  # nothing read
