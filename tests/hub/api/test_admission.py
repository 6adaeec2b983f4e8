"""Admission on every protected route (hub/api/admission.py): the caller is admitted before
anything of the request is read, and a route that reads a form cannot forget the NUL guard."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, Form

from hub.api.admission import admitted_router, area_of
from hub.api.input_guard import refuse_nul_in_form
from hub.runtime import Hub


def test_an_unauthenticated_caller_is_refused_before_its_body_is_read(
        hub: Hub, api_client: Any) -> None:
    """A malformed body is a 400 for a caller admitted, a 401 for anyone else: nothing about
    what was sent is judged before the caller is known."""
    with api_client(hub) as api:
        admitted = api.post("/tickets", content=b'{"subject": ',
                            headers={"Content-Type": "application/json"})
        assert admitted.status_code == 400, admitted.text
        anonymous = httpx.post(f"{api.base_url}/tickets", content=b'{"subject": ',
                               headers={"Content-Type": "application/json"})
        assert anonymous.status_code == 401, anonymous.text
        assert "WWW-Authenticate" in anonymous.headers
        assert anonymous.json()["type"] == "/problems/authentication"


def test_a_nul_in_a_json_body_is_refused_once_the_caller_is_admitted(
        hub: Hub, api_client: Any) -> None:
    with api_client(hub) as api:
        response = api.post("/tickets", json={"subject": "a\x00b", "description": ""})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["body.subject"]
        anonymous = httpx.post(f"{api.base_url}/tickets", json={"subject": "a\x00b"})
        assert anonymous.status_code == 401


def test_a_route_reading_a_form_must_take_the_form_nul_guard() -> None:
    router = admitted_router("imports", prefix="/example")

    async def upload(name: Annotated[str, Form()]) -> dict[str, str]:
        return {"name": name}

    with pytest.raises(TypeError, match="refuse_nul_in_form"):
        router.post("")(upload)
    router.post("/guarded", dependencies=[Depends(refuse_nul_in_form)])(upload)
    assert [area_of(route) for route in router.routes] == ["imports"]
