"""`hub sandbox up`: the built-in vendor sandboxes on the ports the shipped configs/hub.yaml
expects, with the sandboxes' own test credentials (the defaults of hub.yaml's variables).

Each sandbox is named after its connection in hub.yaml; `confluence` is another name of `kb`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["SANDBOXES", "RunningSandbox", "Sandbox", "resolve_names", "serve_sandboxes"]


@dataclass(frozen=True)
class Sandbox:
    """One vendor simulator: its port and URL path in hub.yaml's defaults, the variable that
    moves it, and the credentials it accepts (hub.yaml's defaults too)."""

    name: str
    port: int
    variable: str
    path: str
    credentials: dict[str, str]
    make: Callable[[], Any]


@dataclass(frozen=True)
class RunningSandbox:
    sandbox: Sandbox
    url: str  # what hub.yaml's variable reads: the base URL and the vendor's path

    @property
    def moved(self) -> bool:
        """Whether it listens elsewhere than hub.yaml's default (its variable must be set)."""
        return not self.url.endswith(f":{self.sandbox.port}{self.sandbox.path}")


def _crm() -> Any:
    from connectors.crm.sandbox import create_app

    return create_app(api_key="sandbox-crm-key")


def _kb() -> Any:
    from connectors.confluence.sandbox import create_app

    return create_app(email="kb-bot@example.com", api_token="sandbox-confluence-token",
                      space_key="KB")


def _kingdee() -> Any:
    from connectors.kingdee.sandbox import create_app

    return create_app(latency_ms=0)


def _yonyou() -> Any:
    from connectors.yonyou.sandbox import create_app

    return create_app(latency_ms=0)


_DINGTALK_ROBOT = ("sandbox-ops-robot-token", "SECsandbox0ops0robot0signing0secret")
_DINGTALK_CALLBACK = ("sandboxCallbackToken", "p9N2z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs")


def _dingtalk() -> Any:
    from connectors.dingtalk.sandbox import create_app

    token, aes_key = _DINGTALK_CALLBACK
    return create_app(app_key="dingsandboxkey", app_secret="sandbox-app-secret",
                      agent_id=1000001, robots=dict([_DINGTALK_ROBOT]),
                      callback={"token": token, "aes_key": aes_key,
                                "owner_key": "dingsandboxkey"})


def _wecom() -> Any:
    from connectors.wecom.sandbox import create_app

    return create_app(corp_secret="sandbox-wecom-app-secret",
                      robots={"ops": "sandbox-robot-key-ops"})


SANDBOXES: dict[str, Sandbox] = {sandbox.name: sandbox for sandbox in (
    Sandbox("crm", 8765, "CRM_BASE_URL", "", {"api_key": "sandbox-crm-key"}, _crm),
    Sandbox("kb", 8766, "KB_BASE_URL", "", {
        "email": "kb-bot@example.com", "api_token": "sandbox-confluence-token",
        "space_key": "KB"}, _kb),
    Sandbox("kingdee", 8767, "KINGDEE_BASE_URL", "/k3cloud/", {
        "acct_id": "65f1a2b3c4d5e6", "username": "webapi", "password": "Kd-sandbox-2026!"},
        _kingdee),
    Sandbox("yonyou", 8768, "YONYOU_GATEWAY_LOOKUP_URL", "", {
        "tenant_id": "sandbox-tenant-0001", "app_key": "sandbox-app-key-0001",
        "app_secret": "sandbox-app-secret-0001"}, _yonyou),
    Sandbox("dingtalk", 8769, "DINGTALK_BASE_URL", "", {
        "app_key": "dingsandboxkey", "app_secret": "sandbox-app-secret",
        "robot ops": "access_token={} secret={}".format(*_DINGTALK_ROBOT)}, _dingtalk),
    Sandbox("wecom", 8770, "WECOM_BASE_URL", "", {
        "corp_id": "ww1234567890abcdef", "corp_secret": "sandbox-wecom-app-secret",
        "robot ops": "key=sandbox-robot-key-ops"}, _wecom),
)}
_ALIASES = {"confluence": "kb"}


def resolve_names(names: list[str]) -> list[Sandbox]:
    """The sandboxes named (every one when none is), in a fixed order; ValueError names an
    unknown one and the known ones."""
    wanted = {_ALIASES.get(name.lower(), name.lower()) for name in names}
    unknown = sorted(wanted - SANDBOXES.keys())
    if unknown:
        known = ", ".join([*SANDBOXES, *_ALIASES])
        raise ValueError(f"no sandbox named {', '.join(unknown)} (known: {known})")
    return [sandbox for name, sandbox in SANDBOXES.items() if not wanted or name in wanted]


@contextmanager
def serve_sandboxes(sandboxes: list[Sandbox], *, host: str = "127.0.0.1",
                    port_offset: int | None = 0) -> Iterator[list[RunningSandbox]]:
    """Serve `sandboxes` until the block ends: each on its hub.yaml port plus `port_offset`,
    or on a free ephemeral port when `port_offset` is None. OSError when a port is taken."""
    from connectors.sdk.sandbox import serve

    with ExitStack() as stack:
        running = []
        for sandbox in sandboxes:
            port = 0 if port_offset is None else sandbox.port + port_offset
            base = stack.enter_context(serve(sandbox.make(), host=host, port=port))
            running.append(RunningSandbox(sandbox, base + sandbox.path))
        yield running
