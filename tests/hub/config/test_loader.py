"""hub.yaml parsing: every mistake names the file, the line and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hub.config import EnrichJob, PullJob, load_config
from hub.config.mapping_files import MappingLibrary
from hub.errors import ConfigFileError

ROOT = Path(__file__).resolve().parents[3]
MAPPINGS = ROOT / "mappings"

VALID = """\
version: 1
connections:
  crm:
    type: crm
    config:
      base_url: ${TEST_CRM_URL:-http://127.0.0.1:9}
      api_key: ${TEST_CRM_KEY}
jobs:
  pull_customers:
    kind: pull
    connection: crm
    stream: customers
    mapping: crm_customer
  enrich:
    kind: enrich
    connection: crm
    mapping: crm_customer
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_load_config__valid_file_with_env_interpolation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CRM_KEY", "key-from-env-1234")
    loaded = load_config(write(tmp_path, VALID), mappings=MappingLibrary(MAPPINGS))
    config = loaded.connection_configs["crm"]
    assert config.base_url == "http://127.0.0.1:9"  # the ${VAR:-default} fallback
    assert config.api_key.get_secret_value() == "key-from-env-1234"  # type: ignore[attr-defined]
    assert "key-from-env-1234" not in repr(config)
    assert isinstance(loaded.hub.jobs["pull_customers"], PullJob)
    assert isinstance(loaded.hub.jobs["enrich"], EnrichJob)


INVALID = [
    pytest.param(VALID.replace("    kind: pull\n", "    kind: pul\n"), 10,
                 "jobs.pull_customers.kind",
                 "does not match any of the expected tags", id="unknown-job-kind"),
    pytest.param(VALID.replace("    stream: customers\n", "    steam: customers\n"), 12,
                 "jobs.pull_customers.steam", "unknown field", id="misspelled-job-key"),
    pytest.param(VALID.replace("    type: crm\n", "    type: crn\n"), 4,
                 "connections.crm.type", "unknown connector type 'crn'", id="unknown-connector"),
    pytest.param(VALID.replace("      api_key:", "      apikey:"), 7,
                 "connections.crm.config.apikey", "unknown field", id="connector-config-typo"),
    pytest.param(VALID.replace("http://127.0.0.1:9", "127.0.0.1:9"), 6,
                 "connections.crm.config.base_url", "must start with http", id="bad-base-url"),
    pytest.param(VALID.replace("    connection: crm\n    stream",
                               "    connection: erp\n    stream"),
                 11, "jobs.pull_customers.connection", "unknown connection 'erp'; defined: crm",
                 id="unknown-connection"),
    pytest.param(VALID.replace("mapping: crm_customer\n  enrich",
                               "mapping: crm_custmer\n  enrich"),
                 13, "jobs.pull_customers.mapping", "no mapping 'crm_custmer'",
                 id="unknown-mapping"),
    pytest.param(VALID.replace("stream: customers", "stream: orders"), 12,
                 "jobs.pull_customers.stream",
                 "connector 'crm' has no stream 'orders'; it has: customers", id="unknown-stream"),
    pytest.param(VALID.replace("version: 1", "version: 2"), 1, "version", "Input should be 1",
                 id="wrong-version"),
    pytest.param("connections: [\n", 2, "", "not valid YAML", id="yaml-syntax"),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), INVALID)
def test_load_config__errors_name_file_line_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: int, field: str,
    message: str,
) -> None:
    monkeypatch.setenv("TEST_CRM_KEY", "key-from-env-1234")
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, mappings=MappingLibrary(MAPPINGS))
    found = {p.field: p for p in caught.value.problems}
    assert field in found, f"no problem on {field}: {caught.value}"
    problem = found[field]
    assert (problem.file, problem.line) == (str(path), line)
    assert message in problem.message
    assert f"{path}, line {line}" in str(caught.value)


def test_load_config__missing_env_var_is_named_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_CRM_KEY", raising=False)
    path = write(tmp_path, VALID)
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, mappings=MappingLibrary(MAPPINGS))
    assert str(caught.value) == (f"{path}, line 7, column 16, "
                                 "field 'connections.crm.config.api_key': "
                                 "environment variable TEST_CRM_KEY is not set")


def test_load_config__reports_every_problem_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CRM_KEY", "key-from-env-1234")
    text = VALID.replace("      api_key:", "      apikey:").replace(
        "mapping: crm_customer\n  enrich", "mapping: nope\n  enrich")
    with pytest.raises(ConfigFileError) as caught:
        load_config(write(tmp_path, text), mappings=MappingLibrary(MAPPINGS))
    fields = {p.field for p in caught.value.problems}
    assert {"connections.crm.config.apikey", "jobs.pull_customers.mapping"} <= fields


def test_load_config__unset_variables_come_with_every_other_problem_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_CRM_KEY", raising=False)
    monkeypatch.delenv("TEST_CRM_URL", raising=False)
    text = VALID.replace("${TEST_CRM_URL:-http://127.0.0.1:9}", "${TEST_CRM_URL}").replace(
        "mapping: crm_customer\n  enrich", "mapping: nope\n  enrich").replace(
        "    connection: crm\n    mapping", "    connection: crn\n    mapping")
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, mappings=MappingLibrary(MAPPINGS))
    assert [(p.line, p.field) for p in caught.value.problems] == [
        (6, "connections.crm.config.base_url"), (7, "connections.crm.config.api_key"),
        (13, "jobs.pull_customers.mapping"), (16, "jobs.enrich.connection")]
    assert "environment variable TEST_CRM_URL is not set" in str(caught.value)
    assert "environment variable TEST_CRM_KEY is not set" in str(caught.value)


def test_load_config__a_bad_job_shape_still_reports_the_connections_configs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_CRM_KEY", raising=False)
    text = VALID.replace("    kind: pull\n", "    kind: pul\n").replace(
        "      api_key:", "      page_size: lots\n      api_key:")
    with pytest.raises(ConfigFileError) as caught:
        load_config(write(tmp_path, text), mappings=MappingLibrary(MAPPINGS))
    assert [p.field for p in caught.value.problems] == [
        "connections.crm.config.page_size", "connections.crm.config.api_key",
        "jobs.pull_customers.kind"]


def test_shipped_config__loads_with_no_variable_set_pointing_at_the_sandboxes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os
    import re

    text = (ROOT / "configs/hub.yaml").read_text(encoding="utf-8")
    for name in set(re.findall(r"\$\{([A-Z_0-9]+)", text)):
        monkeypatch.delenv(name, raising=False)
    assert not any(name in os.environ for name in re.findall(r"\$\{([A-Z_0-9]+)", text))
    loaded = load_config(ROOT / "configs/hub.yaml", mappings=MappingLibrary(MAPPINGS))
    urls = {name: str(config.base_url)  # type: ignore[attr-defined]
            for name, config in loaded.connection_configs.items()}
    assert all(url.startswith("http://127.0.0.1:87") for url in urls.values()), urls


def test_load_config__missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="file not found"):
        load_config(tmp_path / "absent.yaml", mappings=MappingLibrary(MAPPINGS))


def test_shipped_config__is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_API_KEY", "any-key-1234")
    loaded = load_config(ROOT / "configs/hub.yaml", mappings=MappingLibrary(MAPPINGS))
    assert set(loaded.hub.jobs) == {"crm_customers", "kb_articles", "ticket_enrichment",
                                    "erp_refunds", "erp_parts", "kb_publish", "sla_clock",
                                    "yonyou_customers"}
    assert not loaded.hub.jobs["yonyou_customers"].enabled  # until HUB_YONYOU=on
    scheduled = {name: job.schedule.describe() for name, job in loaded.hub.jobs.items()
                 if job.schedule is not None}
    assert scheduled["crm_customers"] == "every 15m"
    assert scheduled["kb_articles"] == "cron 0 * * * * Asia/Shanghai"


def test_load_config__a_writeback_job_needs_a_writer_and_a_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CRM_KEY", "key-from-env-1234")
    job = ("  refunds:\n    kind: writeback\n    on: refund\n    connection: crm\n"
           "    action: refund.create\n    mapping: no_such_mapping\n")
    with pytest.raises(ConfigFileError) as caught:
        load_config(write(tmp_path, VALID + job), mappings=MappingLibrary(MAPPINGS))
    message = str(caught.value)
    assert "jobs.refunds.connection': connector 'crm' cannot write documents" in message
    assert "jobs.refunds.mapping'" in message and "no_such_mapping" in message
    with pytest.raises(ConfigFileError, match="jobs.refunds.code"):  # two to four capitals
        load_config(write(tmp_path, VALID + job + "    code: rf\n"),
                    mappings=MappingLibrary(MAPPINGS))


YONYOU = """\
  yonyou:
    type: yonyou
    config: {tenant_id: t, app_key: k, app_secret: s}
"""


@pytest.mark.parametrize(("action", "mapping", "field", "says"), [
    ("refund.create", "yonyou_refund_bill", None, None),
    ("return.create", "yonyou_sales_return", None, None),
    ("parts.consume", "yonyou_parts_outbound", None, None),
    ("refund.create", "kingdee_refund_bill", "mapping",
     "refund.create on 'yonyou' writes a 收款退款单 (AR collection refund"),
    ("refund.create", "yonyou_sales_return", "mapping",
     "mapping 'yonyou_sales_return' makes yonyou.vouchersalereturn"),
    ("refund.issue", "yonyou_refund_bill", "action",
     "connector 'yonyou' has no action 'refund.issue'; it has parts.consume: 其他出库单"),
])
def test_load_config__a_writeback_job_is_told_which_document_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str, mapping: str,
    field: str | None, says: str | None,
) -> None:
    monkeypatch.setenv("TEST_CRM_KEY", "key-from-env-1234")
    text = VALID.replace("jobs:\n", YONYOU + "jobs:\n") + (
        f"  refunds:\n    kind: writeback\n    on: refund\n    connection: yonyou\n"
        f"    action: {action}\n    mapping: {mapping}\n")
    if field is None:
        load_config(write(tmp_path, text), mappings=MappingLibrary(MAPPINGS))
        return
    with pytest.raises(ConfigFileError) as caught:
        load_config(write(tmp_path, text), mappings=MappingLibrary(MAPPINGS))
    message = str(caught.value)
    assert f"hub.yaml, line {25 if field == 'action' else 26}" in message, message
    assert f"field 'jobs.refunds.{field}'" in message and says in message


def test_load_config__job_mapping_without_external_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CRM_KEY", "key-from-env-1234")
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "crm_customer.yaml").write_text("fields:\n  name: {path: name}\n",
                                              encoding="utf-8")
    with pytest.raises(ConfigFileError, match="must define an 'external_id' field"):
        load_config(write(tmp_path, VALID), mappings=MappingLibrary(folder))


def test_load_config__import_and_notify_jobs_need_no_connection(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        version: 1
        jobs:
          inbox:
            kind: import
            path: imports/inbox/*.xlsx
            mapping: no_such_mapping
            schedule: {every: 5m}
          sla:
            kind: notify
            schedule: {every: 1m}
        """)
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, mappings=MappingLibrary(MAPPINGS))
    assert [p.field for p in caught.value.problems] == ["jobs.inbox.mapping"]
    assert caught.value.problems[0].line == 6


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"],
                         ids=["empty", "blank-lines", "comment-only", "document-marker"])
def test_load_config__an_empty_file_is_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, mappings=MappingLibrary(MAPPINGS))
    [problem] = caught.value.problems
    assert problem.file == str(path)
    assert problem.message.startswith("the file is empty; expected version and connections")


def test_load_config__an_unclosed_quote_is_reported_where_it_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CRM_KEY", "key-from-env-1234")
    text = VALID.replace("base_url: ${TEST_CRM_URL:-http://127.0.0.1:9}",
                         'base_url: "${TEST_CRM_URL:-http://127.0.0.1:9}')
    text += "".join(f"  job_{i}:\n    kind: notify\n    rule: r{i}\n" for i in range(15))
    text += 'rules:\n  r0: {when: "x"}\n'
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, mappings=MappingLibrary(MAPPINGS))
    [problem] = caught.value.problems
    assert problem.line == 6, str(caught.value)
    assert "quote" in problem.message


def test_load_config__an_unknown_mapping_gets_a_did_you_mean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CRM_KEY", "key-from-env-1234")
    path = write(tmp_path, VALID.replace("mapping: crm_customer\n  enrich",
                                         "mapping: crm_custmer\n  enrich"))
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, mappings=MappingLibrary(MAPPINGS))
    assert "no mapping 'crm_custmer'; did you mean 'crm_customer'?" in str(caught.value)
