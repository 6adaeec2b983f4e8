"""The clients the pull benchmark times: the SDK, hand-written loops, and bytes-only fetchers.

Every pull returns `(records, requests)`. The record pulls parse each page as JSON; the
`bytes` pulls only download it, finding `next_cursor` with a byte search at the end of the
body, so that they show what the sandbox alone costs.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.crm.connector import CrmConnector

__all__ = ["GETTERS", "Target", "aiohttp_installed", "fetch_all", "getter", "pull_bytes",
           "page_path", "pull_raw", "pull_sdk"]

PATH = "/api/v1/customers"
API_KEY_HEADER = "X-API-Key"
Get = Callable[[str], Awaitable[bytes]]
GETTERS = ("httpx", "httpx+aiohttp", "aiohttp", "sdk", "sdk+aiohttp")


@dataclass(frozen=True, slots=True)
class Target:
    """The sandbox to pull from."""

    url: str
    api_key: str
    page_size: int


def aiohttp_installed() -> bool:
    return all(importlib.util.find_spec(m) for m in ("aiohttp", "httpx_aiohttp"))


def _aiohttp_transport() -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport

    return AiohttpTransport()


def _connector(target: Target, *, aiohttp: bool) -> CrmConnector:
    return CrmConnector.from_dict(
        {"base_url": target.url, "api_key": target.api_key, "page_size": target.page_size},
        connection="crm",
        transport=_aiohttp_transport() if aiohttp else None,
    )


async def pull_sdk(target: Target, *, aiohttp: bool = False) -> tuple[int, int]:
    """The SDK as the hub uses it: `connector.read("customers")`, counting records."""
    records = requests = 0
    async with _connector(target, aiohttp=aiohttp) as connector:
        async for batch in connector.read("customers"):
            records += len(batch.records)
            requests += 1
    return records, requests


async def pull_raw(target: Target, *, aiohttp: bool = False) -> tuple[int, int]:
    """A minimal hand-written loop on httpx.AsyncClient: GET, check, parse, follow the cursor."""
    records = requests = 0
    transport = _aiohttp_transport() if aiohttp else None
    async with httpx.AsyncClient(
        base_url=target.url, headers={API_KEY_HEADER: target.api_key}, transport=transport
    ) as client:
        params: dict[str, Any] = {"limit": target.page_size}
        while True:
            response = await client.get(PATH, params=params)
            response.raise_for_status()
            body = response.json()
            records += len(body["data"])
            requests += 1
            if not body["next_cursor"]:
                return records, requests
            params = {"limit": target.page_size, "cursor": body["next_cursor"]}


@asynccontextmanager
async def getter(kind: str, target: Target) -> AsyncIterator[Get]:
    """A function that GETs a path (with its query) and returns the body's bytes.

    Kinds: `httpx` (AsyncClient), `httpx+aiohttp` (AsyncClient on the httpx-aiohttp transport),
    `aiohttp` (a plain aiohttp ClientSession), `sdk` / `sdk+aiohttp` (the SDK's HttpClient.send,
    with its retries, error classification and call records).
    """
    headers = {API_KEY_HEADER: target.api_key}
    if kind in ("httpx", "httpx+aiohttp"):
        transport = _aiohttp_transport() if kind == "httpx+aiohttp" else None
        async with httpx.AsyncClient(
            base_url=target.url, headers=headers, transport=transport
        ) as client:

            async def get_httpx(path: str) -> bytes:
                response = await client.get(path)
                response.raise_for_status()
                return response.content

            yield get_httpx
    elif kind == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession(base_url=target.url, headers=headers) as session:

            async def get_aiohttp(path: str) -> bytes:
                async with session.get(path) as response:
                    response.raise_for_status()
                    return await response.read()

            yield get_aiohttp
    elif kind in ("sdk", "sdk+aiohttp"):
        async with _connector(target, aiohttp=kind == "sdk+aiohttp") as connector:

            async def get_sdk(path: str) -> bytes:
                return (await connector.http.send("GET", path, operation="bench")).content

            yield get_sdk
    else:
        raise ValueError(f"unknown client kind {kind!r}; known: {', '.join(GETTERS)}")


def _next_cursor(body: bytes) -> str | None:
    """`next_cursor` from the end of a page body, without parsing the JSON."""
    at = body.rfind(b'"next_cursor":')
    if at < 0:
        raise ValueError("no next_cursor in the page")
    tail = body[at + len(b'"next_cursor":') :]
    if tail.startswith(b"null"):
        return None
    return tail[1 : tail.index(b'"', 1)].decode()


def page_path(page_size: int, cursor: str | None) -> str:
    query = f"limit={page_size}" + (f"&cursor={cursor}" if cursor else "")
    return f"{PATH}?{query}"


async def pull_bytes(
    target: Target, *, kind: str, paths: list[str] | None = None
) -> tuple[int, int]:
    """Download every page, parse nothing; counts records by their `"id":` keys.

    Appends each page's path to `paths` when given, for `fetch_all` to replay.
    """
    records = requests = 0
    cursor: str | None = None
    async with getter(kind, target) as get:
        while True:
            path = page_path(target.page_size, cursor)
            if paths is not None:
                paths.append(path)
            body = await get(path)
            records += body.count(b'"id":"')
            requests += 1
            cursor = _next_cursor(body)
            if cursor is None:
                return records, requests


async def fetch_all(
    target: Target, *, kind: str, paths: list[str], concurrency: int
) -> tuple[int, int]:
    """GET every path, `concurrency` at a time, on one client; bodies are counted, not parsed."""
    records = 0
    queue = iter(paths)

    async def worker(get: Get) -> None:
        nonlocal records
        for path in queue:  # one shared iterator: each path is taken once
            body = await get(path)  # awaited first: `records +=` must not span the await
            records += body.count(b'"id":"')

    async with getter(kind, target) as get:
        await asyncio.gather(*(worker(get) for _ in range(concurrency)))
    return records, len(paths)

