"""The console's imports and mappings pages in a real Chromium against a real `hub serve`
(reading a copy of mappings/): an upload with a bad row, its progress and summary, its error
report downloaded (masked for a role without personal data); roles and CSRF refused."""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hub.importer.background import finish_upload_import, start_upload_import, upload_options
from hub.importer.pipeline import list_imports
from hub.importer.uploads import new_upload_path

from .conftest import ROOT, ConsoleServer, shoot, sign_in

pytestmark = pytest.mark.slow

CUSTOMERS_CSV = ("客户编号,客户名称,手机号,客户等级\n"
                 "c-901,王芳,13800138000,金卡\n"
                 "c-902,赵强,13911112222,铂金\n"
                 "c-903,孙丽,13700001111,普通\n")


@pytest.fixture(scope="module")
def mappings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of mappings/: the tests save mappings, never into the repository's."""
    copy = tmp_path_factory.mktemp("mappings") / "mappings"
    shutil.copytree(ROOT / "mappings", copy)
    return copy


def _upload(page: Any, server: ConsoleServer, tmp_path: Path, name: str) -> int:
    sample = tmp_path / name
    sample.write_text(CUSTOMERS_CSV, encoding="utf-8")
    form = page.locator("#upload-form")
    form.locator("input[type=file]").set_input_files(str(sample))
    form.locator("select[name=mapping]").select_option("import_customers")
    form.locator("#upload").click()
    page.wait_for_url(re.compile(re.escape(server.page_url("/imports/")) + r"\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_import__upload_with_a_bad_row_shows_progress_summary_and_its_report(
        console_server: ConsoleServer, new_page: Any, tmp_path: Path) -> None:
    page = new_page("zh-CN")
    sign_in(page, console_server, console_server.keys.admin, path="/imports")
    shoot(page, "imports")
    import_id = _upload(page, console_server, tmp_path, "客户名单.csv")
    # the page follows the import (polling) until it ends, then shows its summary
    page.locator("#import-status .run-partial").wait_for()
    shoot(page, "import-summary")
    counts = {name: page.locator(f"#import-counts [data-count={name}]").inner_text()
              for name in ("read", "created", "rejected")}
    assert counts == {"read": "3", "created": "2", "rejected": "1"}
    progress = page.request.get(console_server.page_url(f"/imports/{import_id}/progress.json"))
    assert progress.json() == {"status": "partial", "finished": True, "estimated_rows": 3,
                               "counts": {"read": 3, "created": 2, "updated": 0,
                                          "unchanged": 0, "rejected": 1, "skipped": 0}}

    with page.expect_download() as download:
        page.click("#report-csv")
    report = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert download.value.suggested_filename == "客户名单.errors.csv"
    [bad] = [line for line in report.splitlines() if "c-902" in line]
    assert "铂金" in bad and "客户等级" in bad  # the row, the field and its reason
    assert "13911112222" in bad  # an admin sees personal data
    assert "c-901" not in report and "c-903" not in report

    page.goto(console_server.page_url("/imports"))
    row = page.locator("#imports tbody tr", has_text="客户名单.csv").first
    assert row.locator("a").first.inner_text() == str(import_id)


def test_import__page_follows_an_import_under_way_until_it_ends(
        console_server: ConsoleServer, new_page: Any) -> None:
    hub = console_server.hub
    path = new_upload_path(hub.settings.imports_dir, "进行中.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CUSTOMERS_CSV.replace("铂金", "钻石").replace("c-90", "c-80"),
                    encoding="utf-8")  # customers of their own: all three created
    queued = start_upload_import(hub, path, mapping="import_customers", force=True,
                                 options=upload_options(sheet=None, header_row=None,
                                                        encoding=None, delimiter=None,
                                                        source="import"),
                                 actor="test", file_name="进行中.csv")
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.admin, path=f"/imports/{queued.id}")
    assert page.locator("#import-live[data-progress] .spinner").count() == 1
    assert page.locator("#import-status .run-queued").inner_text() == "queued"
    shoot(page, "import-under-way")
    with ThreadPoolExecutor(1) as worker:  # as the server would: in a thread of its own
        worker.submit(finish_upload_import, hub, queued.id, actor="test").result()
    page.locator("#import-status .run-succeeded").wait_for()  # polled, then reloaded
    assert page.locator("#import-live[data-progress]").count() == 0
    assert page.locator("#import-counts [data-count=created]").inner_text() == "3"
    assert page.locator("#import-report .empty").inner_text() == "No row was refused."


def test_import__report_masked_for_an_integrator_agent_refused_csrf_refused(
        console_server: ConsoleServer, new_page: Any) -> None:
    [done] = [s for s in list_imports(console_server.hub).items
              if s.file_name == "客户名单.csv"] or [None]
    assert done is not None, "runs after the upload test"
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.integrator, path=f"/imports/{done.id}")
    shoot(page, "import-integrator")
    report = page.request.get(console_server.page_url(f"/imports/{done.id}/report.csv"))
    assert report.status == 200 and "c-902" in report.text()
    assert "13911112222" not in report.text() and "139****2222" in report.text()

    before = len(list_imports(console_server.hub).items)
    refused = page.request.post(console_server.page_url("/imports"), multipart={
        "mapping": "import_customers",
        "file": {"name": "x.csv", "mimeType": "text/csv", "buffer": CUSTOMERS_CSV.encode()}},
        max_redirects=0)
    assert refused.status == 403  # no CSRF token
    assert len(list_imports(console_server.hub).items) == before

    agent = new_page("en")
    sign_in(agent, console_server, console_server.keys.agent)
    answer = agent.goto(console_server.page_url("/imports"))
    assert answer is not None and answer.status == 403
    assert "Imports" not in agent.locator("header nav").inner_text()


def _edit(page: Any, text: str) -> None:
    """Replace the editor's text as typing would (an input event)."""
    page.fill("#mapping-text", text)


def test_mapping_editor__errors_with_line_and_column_preview_and_save_a_version(
        console_server: ConsoleServer, new_page: Any, mappings_dir: Path,
        tmp_path: Path) -> None:
    file = mappings_dir / "import_customers.yaml"
    original = file.read_text(encoding="utf-8")
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.admin, path="/mappings")
    shoot(page, "mappings")
    assert page.locator("#mappings tr[data-mapping=import_customers] .version").inner_text() \
        == "v1"
    page.click("#mappings a:text-is('import_customers')")
    page.wait_for_url(re.compile(r"/mappings/import_customers$"))

    # a syntax error: its line and column, as typed (the compiler's check, debounced)
    company = "  company: {path: 公司}"
    line = original.splitlines().index(company) + 1
    _edit(page, original.replace(company, "  company: {path: 公司]"))
    problem = page.locator("#problems li").first
    problem.wait_for()
    assert problem.inner_text().startswith(f"import_customers.yaml, line {line}, column 21")
    assert "expected ',' or '}'" in problem.inner_text()
    shoot(page, "mapping-syntax-error")

    # a valid edit: sample records beside what the mapping makes of them
    edited = original.replace("钻石: vip,", "钻石: vip, 铂金: vip,")
    _edit(page, edited)
    page.fill("#sample-records", '[{"客户编号": "c-7", "客户名称": "王芳", "客户等级": "铂金"},'
                                 ' {"客户编号": "c-8", "客户名称": "李四", "客户等级": "黑卡"}]')
    page.locator("#preview tbody tr").nth(1).wait_for()
    assert page.locator("#problems li").count() == 0
    good, bad = page.locator("#preview tbody tr").all()
    assert '"客户等级": "铂金"' in good.locator("td").nth(1).inner_text()
    assert '"tier": "vip"' in good.locator("td").nth(2).inner_text()
    assert '"external_id": "C-7"' in good.locator("td").nth(2).inner_text()
    assert bad.locator("td.error-text").inner_text().startswith("tier:")  # on the field
    shoot(page, "mapping-preview")
    # a sample file: read as an import reads it, rows numbered as its error report numbers
    sample = tmp_path / "样例.csv"
    sample.write_text(CUSTOMERS_CSV, encoding="utf-8")
    page.set_input_files("#sample-file", str(sample))
    page.locator("#preview tbody tr").nth(2).wait_for()  # two rows before: pasted records
    numbers = page.locator("#preview tbody tr td:first-child").all_inner_texts()
    assert numbers == ["2", "3", "4"]
    assert '"tier": "vip"' in page.locator("#preview tbody tr").nth(1).inner_text()

    page.click("#save")
    page.wait_for_url(re.compile(r"/mappings/import_customers\?saved=2$"))
    shoot(page, "mapping-saved")
    assert page.locator("#saved").inner_text() == "Saved as v2."
    assert page.locator("#versions tbody tr").first.inner_text().startswith("v1")
    saved = file.read_text(encoding="utf-8")
    assert "version: 2" in saved and "铂金: vip" in saved
    [kept] = (mappings_dir / ".versions").glob("import_customers.v1.*.yaml")
    assert kept.read_text(encoding="utf-8") == original
    page.goto(console_server.page_url("/mappings"))
    assert page.locator("#mappings tr[data-mapping=import_customers] .version").inner_text() \
        == "v2"
    [row] = [r for r in console_server.hub.audit.tail(50) if r.action == "mapping.save"]
    assert row.actor.startswith("console:apikey:") and row.target == "mapping:import_customers"
    assert row.detail["from_version"] == 1 and row.detail["version"] == 2
    assert "-version: 1" in row.detail["diff"] and "+version: 2" in row.detail["diff"]
    assert "铂金: vip" in row.detail["diff"]

    # a mapping that does not compile is shown back with its problem, never saved
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    refused = page.request.post(console_server.page_url("/mappings/import_customers"),
                                form={"csrf": csrf, "text": saved.replace("key:", "ky:")},
                                max_redirects=0)
    assert refused.status == 422 and "unknown key" in refused.text()
    assert file.read_text(encoding="utf-8") == saved


def test_mapping_editor__agent_refused_csrf_refused(
        console_server: ConsoleServer, new_page: Any, mappings_dir: Path) -> None:
    file = mappings_dir / "crm_customer.yaml"
    before = file.read_text(encoding="utf-8")
    page = new_page("en")
    sign_in(page, console_server, console_server.keys.integrator, path="/mappings")
    no_token = page.request.post(console_server.page_url("/mappings/crm_customer"),
                                 form={"text": before + "\n# changed\n"}, max_redirects=0)
    assert no_token.status == 403
    check = page.request.post(console_server.page_url("/mappings/crm_customer/check.json"),
                              form={"text": before}, max_redirects=0)
    assert check.status == 403
    assert file.read_text(encoding="utf-8") == before

    agent = new_page("zh-CN")
    sign_in(agent, console_server, console_server.keys.agent)
    answer = agent.goto(console_server.page_url("/mappings/crm_customer"))
    shoot(agent, "refused-agent-mappings")
    assert answer is not None and answer.status == 403
    csrf = agent.locator("input[name=csrf]").first.get_attribute("value") or ""
    refused = agent.request.post(console_server.page_url("/mappings/crm_customer"),
                                 form={"csrf": csrf, "text": before + "\n# changed\n"},
                                 max_redirects=0)
    assert refused.status == 403
    assert file.read_text(encoding="utf-8") == before
