"""The enrich job's settings: durations in seconds or text (90s, 15m, 500ms), and further
`sources`, each a defined connection that can look customers up — a mistake is named with
the file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hub.config import EnrichJob, load_config
from hub.config.mapping_files import MappingLibrary
from hub.errors import ConfigFileError

from .conftest import _ANCHOR, ROOT

BASE = {"kind": "enrich", "connection": "crm", "mapping": "crm_customer"}


def test_enrich_job__defaults() -> None:
    job = EnrichJob.model_validate(BASE)
    assert (job.cache_ttl, job.source_timeout, job.inline_wait) == (900.0, 5.0, 3.0)
    assert (job.retry.attempts, job.retry.backoff_initial, job.concurrency) == (8, 30.0, 8)


@pytest.mark.parametrize(("field", "value", "seconds"), [
    ("cache_ttl", "15m", 900.0),
    ("cache_ttl", "1h30m", 5400.0),
    ("cache_ttl", 0, 0.0),
    ("cache_ttl", "0s", 0.0),
    ("source_timeout", "5s", 5.0),
    ("source_timeout", 2.5, 2.5),
    ("source_timeout", "500ms", 0.5),
    ("inline_wait", "0", 0.0),
    ("inline_wait", "1500ms", 1.5),
])
def test_enrich_job__valid_durations(field: str, value: Any, seconds: float) -> None:
    assert getattr(EnrichJob.model_validate({**BASE, field: value}), field) == seconds


@pytest.mark.parametrize(("field", "value", "message"), [
    ("cache_ttl", "soon", "'soon' is not a duration"),
    ("cache_ttl", "15 minutes", "is not a duration"),
    ("cache_ttl", "-1s", "is not a duration"),
    ("cache_ttl", "8d", "less than or equal to 604800"),
    ("cache_ttl", True, "is a number of seconds"),
    ("source_timeout", "0s", "more than zero"),
    ("source_timeout", "2h", "less than or equal to 600"),
    ("inline_wait", "2m", "less than or equal to 60"),
    ("retry", {"attempts": 0}, "greater than or equal to 1"),
    ("timeout_source", "5s", "Extra inputs are not permitted"),
])
def test_enrich_job__invalid_settings(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EnrichJob.model_validate({**BASE, field: value})


def test_enrich_job__sources_default_to_none_and_read_key_and_id_field() -> None:
    assert EnrichJob.model_validate(BASE).sources == []
    job = EnrichJob.model_validate({**BASE, "sources": [
        {"connection": "kingdee", "key": "erp_number", "id_field": "FNumber"}]})
    assert [(s.connection, s.key, s.id_field) for s in job.sources] == [
        ("kingdee", "erp_number", "FNumber")]


# A source block in the shipped hub.yaml; `marker` is on the line the problem must name.
_SOURCES = "    sources:\n{items}"
INVALID_SOURCES = [
    pytest.param("      - connection: erp  # marker\n        key: erp_number\n",
                 "jobs.ticket_enrichment.sources.0.connection",
                 "unknown connection 'erp'; defined: crm, ",
                 id="unknown-connection"),
    pytest.param("      - connection: kb  # marker\n        id_field: id\n",
                 "jobs.ticket_enrichment.sources.0.connection",
                 "connector 'confluence' cannot look customers up (no CustomerDirectory",
                 id="not-a-customer-directory"),
    pytest.param("      - connection: crm  # marker\n        key: crm_id\n",
                 "jobs.ticket_enrichment.sources.0.connection",
                 "'crm' is the job's own connection", id="the-primary-again"),
    pytest.param("      - {connection: kingdee, key: erp_number}\n"
                 "      - {connection: kingdee, id_field: FNumber}  # marker\n",
                 "jobs.ticket_enrichment.sources.1.connection",
                 "connection 'kingdee' is listed more than once", id="listed-twice"),
    pytest.param("      - connection: kingdee  # marker\n",
                 "jobs.ticket_enrichment.sources.0",
                 "a source needs `key`", id="no-way-to-find-the-number"),
    pytest.param("      - connection: kingdee  # marker\n        keys: erp_number\n",
                 "jobs.ticket_enrichment.sources.0.keys",
                 "unknown field (is it misspelled?)", id="misspelled-field"),
]


@pytest.mark.parametrize(("items", "field", "message"), INVALID_SOURCES)
def test_load_config__a_bad_source_is_named_with_file_line_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, items: str, field: str, message: str
) -> None:
    monkeypatch.setenv("CRM_API_KEY", "any-key-1234")
    text = (ROOT / "configs/hub.yaml").read_text(encoding="utf-8")
    text = text.replace(_ANCHOR, _ANCHOR + _SOURCES.format(items=items))
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "# marker" in row)
    if field.endswith(".keys"):
        line += 1
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, mappings=MappingLibrary(ROOT / "mappings"))
    found = {p.field: p for p in caught.value.problems}
    assert field in found, f"no problem on {field}: {caught.value}"
    assert (found[field].file, found[field].line) == (str(path), line)
    assert message in found[field].message


def test_load_config__kingdee_as_a_source_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_API_KEY", "any-key-1234")
    text = (ROOT / "configs/hub.yaml").read_text(encoding="utf-8").replace(
        _ANCHOR, _ANCHOR + _SOURCES.format(
            items="      - {connection: kingdee, key: erp_number, id_field: FNumber}\n"))
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    job = load_config(path, mappings=MappingLibrary(ROOT / "mappings")).hub.jobs[
        "ticket_enrichment"]
    assert isinstance(job, EnrichJob) and [s.connection for s in job.sources] == ["kingdee"]


@pytest.mark.parametrize("connector_name", ["kb", "rest_orders"])
def test_load_config__an_enrich_job_on_a_connection_that_cannot_look_customers_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, connector_name: str
) -> None:
    """Refused at load with file and line, not found out ticket by ticket at run time (every
    ticket `partial`, "this connector cannot look customers up", retried in vain)."""
    monkeypatch.setenv("CRM_API_KEY", "any-key-1234")
    text = (ROOT / "configs/hub.yaml").read_text(encoding="utf-8")
    if connector_name == "rest_orders":  # a declarative REST connection: pulls, no lookups
        text = text.replace("connections:\n", "connections:\n  rest_orders:\n    type: rest\n"
                            "    config:\n      base_url: http://127.0.0.1:9\n      streams:\n"
                            "        orders: {path: /orders, primary_key: id}\n", 1)
    block = "  ticket_enrichment:\n    kind: enrich\n"
    start = text.index(block)
    own = text.index("    connection: crm\n", start)
    text = text[:own] + f"    connection: {connector_name}  # marker\n" + \
        text[own + len("    connection: crm\n"):]
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "# marker" in row)
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, mappings=MappingLibrary(ROOT / "mappings"))
    found = {p.field: p for p in caught.value.problems}
    problem = found["jobs.ticket_enrichment.connection"]
    assert (problem.file, problem.line) == (str(path), line)
    assert "cannot look customers up" in problem.message
    assert ("declare `customers:`" if connector_name == "rest_orders"
            else "enrichment needs a customer directory") in problem.message
