"""The FaultInjector's HTTP controls, for driving a sandbox from outside its process.

    GET    /_faults            the active faults
    POST   /_faults            add one: {"kind": "status", "status": 503, "count": 2}
                               {"kind": "status", "status": 429, "retry_after": 1}
                               {"kind": "drop", "count": 1, "reset": true}
                               {"kind": "lose", "count": 1, "path_prefix": "/api/orders"}
                               {"kind": "latency", "seconds": 0.2}
                               {"kind": "error_rate", "probability": 0.3, "status": 503, "seed": 1}
                               {"kind": "rate_limit", "limit": 5, "per": 1}
                               {"kind": "chaos", "error": 0.1, "timeout": 0.05, "lose": 0.05,
                                "hang": 3, "seed": 1}
    DELETE /_faults            remove every fault
    GET    /_faults/requests   the request log
    DELETE /_faults/requests   clear the log

`status`, `drop` and `lose` also take `count`, `path_prefix` and `method`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

if TYPE_CHECKING:
    from ._faults import FaultInjector

__all__ = ["handle_control", "send_json"]


async def send_json(
    send: Send, status: int, body: Any, *, retry_after: str | None = None
) -> None:
    """Send a whole JSON response on a raw ASGI `send` (`None` body: an empty 204-style one)."""
    headers: list[tuple[bytes, bytes]] = []
    content = b""
    if body is not None:
        content = json.dumps(body, ensure_ascii=False).encode()
        headers += [(b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(content)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", retry_after.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _read_json(receive: Receive) -> Any:
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    return json.loads(body or b"{}")


def _add(injector: FaultInjector, spec: dict[str, Any]) -> None:
    kind = spec.pop("kind", None)
    adders: dict[str, Callable[..., None]] = {
        "status": injector.fail_next,
        "drop": injector.drop_next,
        "lose": injector.lose_next,
        "latency": injector.latency,
        "error_rate": injector.error_rate,
        "rate_limit": injector.rate_limit,
        "chaos": injector.chaos,
    }
    if kind not in adders:
        known = ", ".join(adders)
        raise ValueError(f"unknown fault kind {kind!r}; known kinds: {known}")
    adders[kind](**spec)


async def handle_control(
    injector: FaultInjector, scope: Scope, receive: Receive, send: Send
) -> None:
    """Serve one request to the control routes."""
    sub = scope["path"][len(injector.control_path):].rstrip("/")
    method = scope["method"]
    if sub == "" and method == "GET":
        await send_json(send, 200, injector.state())
    elif sub == "" and method == "POST":
        try:
            spec = await _read_json(receive)
            if not isinstance(spec, dict):
                raise ValueError("the body must be a JSON object")
            _add(injector, spec)
        except (TypeError, ValueError) as exc:  # json errors are ValueErrors
            error = {"code": "invalid_fault", "message": str(exc)}
            await send_json(send, 400, {"error": error})
            return
        await send_json(send, 200, injector.state())
    elif sub == "" and method == "DELETE":
        injector.reset()
        await send_json(send, 204, None)
    elif sub == "/requests" and method == "GET":
        await send_json(send, 200, [entry.to_dict() for entry in injector.requests()])
    elif sub == "/requests" and method == "DELETE":
        injector.clear_requests()
        await send_json(send, 204, None)
    else:
        error = {"code": "not_found", "message": f"no control route {method} {scope['path']}"}
        await send_json(send, 404, {"error": error})
