"""/customers: search, the profile, and the history across systems."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from hub.api.admission import admitted_router
from hub.api.deps import HubDep, RowId
from hub.core.pages import DEFAULT_LIMIT, MAX_LIMIT, Page
from hub.customers.queries import (
    CustomerHistory,
    CustomerPublic,
    customer_history,
    get_customer,
    search_customers,
)

router = admitted_router("customers", prefix="/customers", tags=["customers"])

_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such customer (problem+json)."}}


@router.get("")
def list_(hub: HubDep,
          q: Annotated[str | None, Query(max_length=200, description="Part of the name or "
                                         "company.", examples=["华联"])] = None,
          mobile: Annotated[str | None, Query(max_length=40, examples=["13812345678"])] = None,
          email: Annotated[str | None, Query(max_length=254)] = None,
          cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of "
                                              "the previous page.")] = None,
          limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
          ) -> Page[CustomerPublic]:
    """Customers matching every filter given, newest first."""
    return search_customers(hub, q=q, mobile=mobile, email=email, cursor=cursor, limit=limit)


@router.get("/{customer_id}", responses=_404)
def get(customer_id: RowId, hub: HubDep) -> CustomerPublic:
    return get_customer(hub, customer_id)


@router.get("/{customer_id}/history", responses=_404)
def history(customer_id: RowId, hub: HubDep) -> CustomerHistory:
    """The profile, the latest orders and interactions fetched from the source systems, and
    the customer's tickets: each piece names its source and when it was fetched."""
    return customer_history(hub, customer_id)
