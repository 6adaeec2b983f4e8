"""A `rest` connection as a customer directory: finding a customer by mobile or email, and
their history (orders, interactions, deliveries …), declared in YAML under `customers:`.

```yaml
customers:
  find:                         # GET path with the params of the contact the ticket has
    path: /customers
    by:
      mobile: {mobile: "{mobile}"}
      email: {email: "{email}"}
    records_path: ""            # the records in the body ('' = the body is the list)
  history:                      # one listing per kind, `{id}` = the customer's external id
    orders:
      path: /customers/{id}/orders
      params: {_sort: createdAt, _order: desc}
      fields: {order_no: orderNo, total: amount, ordered_at: createdAt, status: state}
    interactions:
      path: /interactions
      params: {customerId: "{id}"}
```

`fields` adds the hub's names (what the summary reads: an order's `total`, `ordered_at`,
`status`) beside the fields the system sent, read from a dotted path. History listings page
with any paginator (default: one page).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.sdk.errors import ConfigError
from connectors.sdk.paging import PaginatorSpec, SinglePagePaginator, find_path, paginate

if TYPE_CHECKING:
    from connectors.sdk import HttpClient

__all__ = ["CustomersSpec", "FindSpec", "HistorySpec", "customer_history", "find_customer"]

_NAME = r"[A-Za-z][A-Za-z0-9_-]{0,63}"
_DOTTED = r"[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*"
_TEMPLATE = re.compile(r"\{([^{}]*)\}")
Contact = Literal["mobile", "email"]


def _path(value: str, allowed: tuple[str, ...]) -> str:
    if not value.startswith("/") or "://" in value:
        raise ValueError("must be a path under base_url, like /customers/{id}/orders")
    _check_templates(value, allowed)
    return value


def _check_templates(value: str, allowed: tuple[str, ...]) -> None:
    for name in _TEMPLATE.findall(value):
        if name not in allowed:
            known = ", ".join("{" + a + "}" for a in allowed) or "no placeholder"
            raise ValueError(f"{{{name}}} is not known here; use {known}")
    if "{" in _TEMPLATE.sub("", value) or "}" in _TEMPLATE.sub("", value):
        raise ValueError("has an unbalanced { or }")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindSpec(_Spec):
    """GET `path` with the params of the first contact the ticket has (in `by`'s order)."""

    path: str
    by: dict[Contact, dict[str, str]] = Field(min_length=1)
    records_path: str = Field(default="", pattern=f"^({_DOTTED})?$")

    @field_validator("path")
    @classmethod
    def _plain_path(cls, value: str) -> str:
        return _path(value, ())

    @field_validator("by")
    @classmethod
    def _templates(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for contact, params in value.items():
            if not params:
                raise ValueError(f"{contact}: needs at least one parameter")
            for param in params.values():
                _check_templates(param, (contact,))
        return value


class HistorySpec(_Spec):
    """One kind of history: a listing per customer (`{id}` in `path` or `params`)."""

    path: str
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    records_path: str = Field(default="", pattern=f"^({_DOTTED})?$")
    paginator: PaginatorSpec = Field(default_factory=lambda: SinglePagePaginator(
        type="single_page"))
    fields: dict[str, str] = Field(default_factory=dict)

    @field_validator("path")
    @classmethod
    def _id_path(cls, value: str) -> str:
        return _path(value, ("id",))

    @field_validator("params")
    @classmethod
    def _id_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        for param in value.values():
            if isinstance(param, str):
                _check_templates(param, ("id",))
        return value

    @field_validator("fields")
    @classmethod
    def _field_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            if not re.fullmatch(_NAME, name):
                raise ValueError(f"{name!r}: a hub field name such as total or ordered_at")
            if not re.fullmatch(_DOTTED, path):
                raise ValueError(f"{name}: {path!r} must be a field path such as amount or "
                                 "meta.created")
        return value


class CustomersSpec(_Spec):
    """How the connection finds a customer and reads their history."""

    find: FindSpec
    history: dict[str, HistorySpec] = Field(min_length=1)

    @field_validator("history")
    @classmethod
    def _kind_names(cls, value: dict[str, HistorySpec]) -> dict[str, HistorySpec]:
        for kind in value:
            if not re.fullmatch(_NAME, kind):
                raise ValueError(f"{kind!r}: a kind such as orders, interactions, deliveries")
        return value


def _filled(template: str, values: dict[str, str], *, escape: bool) -> str:
    return _TEMPLATE.sub(lambda m: quote(values[m.group(1)], safe="") if escape
                         else values[m.group(1)], template)


async def find_customer(http: HttpClient, spec: CustomersSpec, *, mobile: str | None,
                        email: str | None) -> dict[str, Any] | None:
    """The first record the directory answers for the ticket's contacts, in `by`'s order."""
    contacts = {"mobile": mobile, "email": email}
    for contact, params in spec.find.by.items():
        value = contacts.get(contact)
        if not value:
            continue
        filled = {name: _filled(param, {contact: value}, escape=False)
                  for name, param in params.items()}
        response = await http.send("GET", spec.find.path, operation="customers.find",
                                   params=filled)
        found = _records(response.json(), spec.find.records_path)
        if found:
            return found[0]
    return None


async def customer_history(http: HttpClient, spec: CustomersSpec, external_id: str, *,
                           base_url: str) -> dict[str, Any]:
    """Each declared kind's listing for the customer, every page, with `fields` added."""
    values = {"id": str(external_id)}
    history: dict[str, Any] = {}
    for kind, listing in spec.history.items():
        params = {name: _filled(value, values, escape=False) if isinstance(value, str)
                  else value for name, value in listing.params.items()}
        items: list[dict[str, Any]] = []
        async for records, _ in paginate(
                http, listing.paginator, path=_filled(listing.path, values, escape=True),
                operation=f"customers.history.{kind}", params=params,
                records_path=listing.records_path, base_url=base_url):
            items.extend(_with_fields(record, listing.fields) for record in records)
        history[kind] = items
    return history


def _records(body: Any, records_path: str) -> list[dict[str, Any]]:
    found = find_path(body, records_path) if records_path else body
    if found is None:
        return []
    if isinstance(found, dict):
        return [found]  # an API answering the one match as an object
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        raise ConfigError(f"customers.find: records_path {records_path!r} holds no records")
    return found


def _with_fields(record: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    if not fields:
        return record
    added = {name: find_path(record, path) for name, path in fields.items()}
    return {**record, **{name: value for name, value in added.items() if value is not None}}
