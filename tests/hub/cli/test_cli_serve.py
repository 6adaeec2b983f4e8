"""`hub serve`: the REST API answers on its port, and refuses a caller without a key;
`hub openapi` prints its contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, CliEnv


def _agent_key() -> str:
    from hub.access.apikeys import create_key
    from hub.core.settings import get_settings
    from hub.runtime import Hub

    hub = Hub(get_settings())
    try:
        return create_key(hub, name="serve test", role="agent", actor="test").key
    finally:
        hub.close()


@pytest.mark.slow  # runs `hub serve` in a process of its own
def test_serve__answers_on_its_port(crm_env: CliEnv, tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "cli", "serve", "--port", str(port)]
    with subprocess.Popen(command, cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL) as process:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                    break
                except httpx.TransportError:
                    assert process.poll() is None, "hub serve exited"
                    assert time.monotonic() < deadline, "hub serve did not come up"
                    time.sleep(0.1)
            assert health.json()["status"] == "ok"
            anonymous = httpx.post(f"http://127.0.0.1:{port}/tickets", timeout=30,
                                   json={"subject": "屏幕碎了"})
            assert anonymous.status_code == 401
            key = _agent_key()
            created = httpx.post(f"http://127.0.0.1:{port}/tickets", timeout=30,
                                 headers={"Authorization": f"Bearer {key}"},
                                 json={"subject": "屏幕碎了", "contact_mobile": "13900000000"})
            assert created.status_code == 201
        finally:
            process.terminate()


def test_openapi__prints_the_served_contract_without_a_server(
        env: CliEnv, run: Any, tmp_path: Path) -> None:
    from hub.api import create_app
    from hub.api.contract import CONTRACT_VERSION
    from hub.core.settings import get_settings

    code, out, err = run("openapi")
    assert code == 0, err
    printed = json.loads(out)
    assert printed["info"]["version"] == CONTRACT_VERSION
    assert printed == create_app(get_settings()).openapi()
    target = tmp_path / "contract.json"
    assert run("openapi", "-o", str(target))[0] == 0
    assert json.loads(target.read_text("utf-8")) == printed
