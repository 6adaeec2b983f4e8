"""`hub config validate` on pulls of history and of another helpdesk's tickets: each target's
mapping must define what its records are matched (and linked) on, and an enrich job on a
connection with no lookup endpoints is valid when it reads `history_from_store`."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import EnrichJob, PullJob, load_config
from hub.config.mapping_files import MappingLibrary
from hub.errors import ConfigFileError

CONFIG = """\
version: 1
connections:
  homecrm:
    type: rest
    config:
      base_url: http://127.0.0.1:9
      streams:
        orders: {path: /orders, primary_key: id}
        tickets: {path: /tickets, primary_key: id}
        customers: {path: /customers, primary_key: id}
jobs:
  homecrm_customers: {kind: pull, connection: homecrm, stream: customers, mapping: customer}
  homecrm_orders: {kind: pull, connection: homecrm, stream: orders, target: orders,
                   mapping: order}  # orders
  helpdesk_tickets: {kind: pull, connection: homecrm, stream: tickets, target: tickets,
                     mapping: ticket}  # tickets
  ticket_enrichment:
    kind: enrich
    connection: homecrm
    mapping: customer
    history_from_store: [orders, interactions]
"""
MAPPINGS = {
    "customer": "target: customer\nfields:\n  external_id: {path: id}\n",
    "order": "target: order\nfields:\n  external_id: {path: id}\n"
             "  customer_external_id: {path: customerId}\n  items: {path: items}\n",
    "ticket": "target: ticket\nfields:\n  external_ref: {path: ref}\n  subject: {path: t}\n",
}


def _load(tmp_path: Path, mappings: dict[str, str]) -> tuple[Path, Path]:
    folder = tmp_path / "mappings"
    folder.mkdir()
    for name, text in mappings.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    path = tmp_path / "hub.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path, folder


def test_load_config__history_targets_and_history_from_store_are_valid(tmp_path: Path) -> None:
    path, folder = _load(tmp_path, MAPPINGS)
    jobs = load_config(path, mappings=MappingLibrary(folder)).hub.jobs
    assert isinstance(jobs["homecrm_orders"], PullJob)
    assert (jobs["homecrm_orders"].target, jobs["helpdesk_tickets"].target) == (
        "orders", "tickets")
    enrich = jobs["ticket_enrichment"]
    assert isinstance(enrich, EnrichJob)
    assert enrich.history_from_store == ["orders", "interactions"]


@pytest.mark.parametrize(("mapping", "text", "marker", "message"), [
    ("order", "target: order\nfields:\n  external_id: {path: id}\n", "# orders",
     "mapping 'order' must define a 'customer_external_id' field: orders are linked to "
     "their customer by it"),
    ("ticket", "target: ticket\nfields:\n  external_id: {path: id}\n", "# tickets",
     "mapping 'ticket' must define an 'external_ref' field: tickets are matched on it"),
    ("order", MAPPINGS["order"].replace("target: order", "target: interaction"), "# orders",
     "job 'homecrm_orders' lands orders, but mapping 'order' makes interaction"),
])
def test_load_config__a_mapping_that_does_not_fit_the_target_is_refused_with_its_line(
        tmp_path: Path, mapping: str, text: str, marker: str, message: str) -> None:
    path, folder = _load(tmp_path, {**MAPPINGS, mapping: text})
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, mappings=MappingLibrary(folder))
    [problem] = caught.value.problems
    line = next(n for n, row in enumerate(CONFIG.splitlines(), 1) if marker in row)
    assert (problem.file, problem.line) == (str(path), line)
    assert message in problem.message
