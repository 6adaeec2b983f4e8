"""The rest sandbox on a loopback port, for the rest connector's tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connectors.rest.sandbox import RestSandbox, create_app
from connectors.sdk.sandbox import serve

REST_KEY = "rest-test-key-3b7f9e21"


@dataclass
class RestServer:
    url: str
    api_key: str
    state: RestSandbox

    def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        """The sandbox's request log, read over HTTP like any client would."""
        log: list[dict[str, Any]] = httpx.get(f"{self.url}/_sandbox/requests").json()
        return [r for r in log if method is None or r["method"] == method]

    def clear(self) -> None:
        httpx.delete(f"{self.url}/_sandbox/requests").raise_for_status()


@pytest.fixture
def rest_sandbox() -> Iterator[RestServer]:
    app = create_app(api_key=REST_KEY, records=60)
    with serve(app) as url:
        yield RestServer(url=url, api_key=REST_KEY, state=app.state.sandbox)
