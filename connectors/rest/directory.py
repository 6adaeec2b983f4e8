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
  history:                      # one listing per kind (asked at once), `{id}` = the customer's id
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
with any paginator (default: one page). The config's types: spec.py (`CustomersSpec`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from connectors.sdk.paging import find_path, paginate, select_records

from .spec import CustomersSpec, HistorySpec, render_path

if TYPE_CHECKING:
    from connectors.sdk import HttpClient

__all__ = ["customer_history", "find_customer"]


async def find_customer(http: HttpClient, spec: CustomersSpec, *, mobile: str | None,
                        email: str | None) -> dict[str, Any] | None:
    """The first record the directory answers for the ticket's contacts, in `by`'s order."""
    contacts = {"mobile": mobile, "email": email}
    for contact, params in spec.find.by.items():
        value = contacts.get(contact)
        if not value:
            continue
        filled = {name: render_path(param, lambda _, given=value: given)
                  for name, param in params.items()}
        response = await http.send("GET", spec.find.path, operation="customers.find",
                                   params=filled)
        found = _records(response.json(), spec.find.records_path)
        if found:
            return found[0]
    return None


async def customer_history(http: HttpClient, spec: CustomersSpec, external_id: str, *,
                           base_url: str) -> dict[str, Any]:
    """Each declared kind's listing for the customer, every page, with `fields` added. The
    kinds are asked at once (one round trip for all, not one each); the first that fails
    cancels the others and its error is raised."""
    customer = str(external_id)
    listings = [asyncio.ensure_future(_listing(http, kind, listing, customer,
                                               base_url=base_url))
                for kind, listing in spec.history.items()]
    try:
        found = await asyncio.gather(*listings)
    except BaseException:
        for listing in listings:
            listing.cancel()
        raise
    return dict(zip(spec.history, found, strict=True))


async def _listing(http: HttpClient, kind: str, listing: HistorySpec, customer: str, *,
                   base_url: str) -> list[dict[str, Any]]:
    params = {name: render_path(value, lambda _: customer) if isinstance(value, str)
              else value for name, value in listing.params.items()}
    items: list[dict[str, Any]] = []
    async for records, _ in paginate(
            http, listing.paginator,
            path=render_path(listing.path, lambda _: quote(customer, safe="")),
            operation=f"customers.history.{kind}", params=params,
            records_path=listing.records_path, base_url=base_url):
        items.extend(_with_fields(record, listing.fields) for record in records)
    return items


def _records(body: Any, records_path: str) -> list[dict[str, Any]]:
    """The matches in a find's answer: none when the path holds nothing, the one object an
    API answers for a single match, else the page's records."""
    found = find_path(body, records_path) if records_path else body
    if found is None:
        return []
    if isinstance(found, dict):
        return [found]
    return select_records(body, records_path)


def _with_fields(record: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    if not fields:
        return record
    added = {name: find_path(record, path) for name, path in fields.items()}
    return {**record, **{name: value for name, value in added.items() if value is not None}}
