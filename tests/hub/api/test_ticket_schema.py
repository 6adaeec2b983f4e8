"""The ticket in the OpenAPI document is typed: a generated client gets models, not blobs.

No free-form object anywhere under TicketPublic but the ones left open on purpose, enums for
every closed set of values, every field of an answer required (present, null when unknown),
request fields named as the answer names them, and examples that hold."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import pytest

from hub.runtime import Hub
from hub.tickets import (
    Channel,
    EnrichmentStatus,
    Priority,
    SourceStatus,
    TicketStatus,
    WritebackStatus,
)

# Open on purpose: the custom fields a customer mapping keeps (each mapping its own).
FREE_FORM = {"TicketCustomer.attributes"}
# Open beside declared fields: vendor records, and a history's further values.
WITH_EXTRAS = {"HistoryOrder", "HistoryDelivery", "HistoryInteraction", "TicketHistory"}
VIEW = ("TicketPublic", "TicketCustomer", "TicketHistory", "HistoryOrder", "HistoryDelivery",
        "HistoryInteraction", "HistorySummary", "EnrichmentSource", "ArticleMatch", "KbLink",
        "TicketResolution", "TicketWriteback")


@pytest.fixture
def document(api_client: Any, hub: Hub) -> dict[str, Any]:
    with api_client(hub) as api:
        served: dict[str, Any] = api.get("/openapi.json").json()
    return served


def _walk(schemas: dict[str, Any], schema: Any, where: str, seen: set[str]
          ) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema under `schema` with where it is, each component once."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            yield from _walk(schemas, schemas[name], name, seen)
        return
    yield where, schema
    for key, value in schema.get("properties", {}).items():
        yield from _walk(schemas, value, f"{where}.{key}", seen)
    for key in ("items", "additionalProperties"):
        yield from _walk(schemas, schema.get(key), f"{where}[]", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from _walk(schemas, option, where, seen)


def _closure(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    schemas = document["components"]["schemas"]
    return list(_walk(schemas, {"$ref": "#/components/schemas/TicketPublic"}, "", set()))


def test_ticket_public__no_free_form_object_but_the_open_ones(document: dict[str, Any]
                                                             ) -> None:
    blobs, untyped, extras = [], [], set()
    for where, schema in _closure(document):
        if schema == {}:
            untyped.append(where)
        if schema.get("additionalProperties") is True:
            if "properties" in schema:
                extras.add(schema["title"])
            elif where not in FREE_FORM:
                blobs.append(where)
    assert blobs == [] and untyped == []
    assert extras == WITH_EXTRAS


def test_ticket_public__every_view_schema_is_reached(document: dict[str, Any]) -> None:
    titles = {schema.get("title") for _, schema in _closure(document)}
    assert set(VIEW) <= titles


@pytest.mark.parametrize(("schema", "field", "values"), [
    ("TicketPublic", "status", TicketStatus),
    ("TicketPublic", "priority", Priority),
    ("TicketPublic", "channel", Channel),
    ("TicketPublic", "enrichment_status", EnrichmentStatus),
    ("EnrichmentSource", "status", SourceStatus),
    ("TicketWriteback", "status", WritebackStatus),
    ("TicketCreate", "channel", Channel),
])
def test_closed_sets_are_enums(document: dict[str, Any], schema: str, field: str,
                               values: Any) -> None:
    found = document["components"]["schemas"][schema]["properties"][field]
    assert found["enum"] == list(get_args(values))


def test_answers_hold_every_field(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in VIEW:
        assert sorted(schemas[name]["required"]) == sorted(schemas[name]["properties"]), name


def test_ticket_create__names_the_contact_as_the_ticket_does(document: dict[str, Any]
                                                            ) -> None:
    schemas = document["components"]["schemas"]
    create = set(schemas["TicketCreate"]["properties"])
    assert {"contact_name", "contact_mobile", "contact_email"} <= create
    assert not {"mobile", "email"} & create  # the old names are read, never shown
    assert create <= set(schemas["TicketPublic"]["properties"])


def test_view_examples_hold(document: dict[str, Any]) -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    schemas = document["components"]["schemas"]
    for name in (*VIEW, "TicketCreate", "TicketPage"):
        validator = jsonschema_rs.Draft202012Validator(
            {**schemas[name], "components": document["components"]}, validate_formats=True)
        assert schemas[name]["examples"], name
        for example in schemas[name]["examples"]:
            assert list(validator.iter_errors(example)) == [], (name, example)
