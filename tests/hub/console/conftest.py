"""The console's browser tests: a real `hub serve` (uvicorn on an ephemeral port, a SQLite
store of its own, the CRM and Kingdee sandboxes on loopback) and a real Chromium — Debian's
`chromium` package, driven by Playwright's protocol client (never a downloaded browser).

Without Chromium the tests skip, saying why; with CI=true they fail instead (.ci/run
installs it). Every page a test visits is saved as a screenshot in .ci/artifacts/console/,
which CI keeps.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.crm.sandbox import create_app as create_crm_sandbox
from connectors.kingdee.sandbox import create_app as create_kingdee_sandbox
from connectors.sdk.sandbox import serve
from hub.access.apikeys import create_key
from hub.core.settings import Settings
from hub.outbox import Resolution, dispatch
from hub.runtime import Hub
from hub.scheduler.control import pause
from hub.sync import run_pull
from hub.tickets import TicketCreate, create_ticket
from hub.tickets.resolve import resolve_ticket
from tests.conftest import free_port

from .issuer import AUDIENCE, CLIENT_ID, CLIENT_SECRET, Issuer

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / ".ci" / "artifacts" / "console"
CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
CRM_KEY = "crm-console-test-key-0b7e"
AUDIT_KEY = "console-test-audit-key-4d1c9e"


def chromium_or_skip() -> str:
    """The Chromium executable; a skip naming what is missing (a failure when CI=true)."""
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright (the Python package) is not installed"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI needs it for the console's browser tests")
        pytest.skip(reason)
    return CHROMIUM


@dataclass
class Keys:
    admin: str
    agent: str
    integrator: str


@dataclass
class ConsoleServer:
    """A running `hub serve` and what the tests seeded its store with."""

    url: str
    hub: Hub
    env: dict[str, str]
    keys: Keys
    crm: Any
    kingdee: Any
    issuer: Issuer
    tickets: dict[str, int] = field(default_factory=dict)
    dead_letter: int = 0

    def page_url(self, path: str) -> str:
        return f"{self.url}/console{path}"


def _environment(tmp: Path, crm_url: str, kingdee_url: str, issuer_url: str, *,
                 mappings: Path) -> dict[str, str]:
    return {
        "HUB_JWT_ISSUER": issuer_url, "HUB_JWT_JWKS_URL": f"{issuer_url}/jwks.json",
        "HUB_JWT_AUDIENCE": AUDIENCE, "HUB_OIDC_CLIENT_ID": CLIENT_ID,
        "HUB_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "HUB_DATABASE_URL": f"sqlite:///{tmp / 'hub.db'}",
        "HUB_CONFIG": str(ROOT / "configs/hub.yaml"),
        "HUB_MAPPINGS_DIR": str(mappings),
        "HUB_IMPORTS_DIR": str(tmp / "imports"),
        "HUB_AUDIT_KEY": AUDIT_KEY,
        "HUB_AUDIT_CHECKPOINTS": str(tmp / "audit.checkpoints"),
        "CRM_BASE_URL": crm_url, "CRM_API_KEY": CRM_KEY,
        "KINGDEE_BASE_URL": f"{kingdee_url}/k3cloud/",
    }


def _seed(server: ConsoleServer) -> None:
    """Customers pulled from the CRM, three tickets (one of a customer with history), and a
    dead letter: a refund Kingdee refuses (its period closed)."""
    hub = server.hub
    asyncio.run(run_pull(hub, "crm_customers", trigger="test"))
    customer = next(c for c in server.crm.customers
                    if server.crm.history(c["id"])["orders"] and c["contact"]["mobile"])
    for name, data in {
        "vip": TicketCreate(subject="扫地机器人无法回充", channel="phone",
                            description="指示灯闪红，已重启两次。",
                            contact_name=customer["name"],
                            contact_mobile=customer["contact"]["mobile"]),
        "to_resolve": TicketCreate(subject="净水器漏水", channel="web",
                                   contact_name="李雷", contact_mobile="13912345678"),
        "refused": TicketCreate(subject="申请退款：重复扣款", channel="email",
                                contact_name="韩梅梅", contact_email="meimei@example.com"),
    }.items():
        server.tickets[name] = asyncio.run(create_ticket(hub, data, actor="test")).id
    server.kingdee.store.closed_before = (date.today() + timedelta(days=2)).isoformat()
    resolve_ticket(hub, server.tickets["refused"], Resolution.model_validate(
        {"customer_number": "C002", "refund": {"amount": "88.50", "method": "wire"}}),
        actor="test")
    summary = asyncio.run(dispatch(hub))
    assert summary.dead == 1, summary
    server.kingdee.store.closed_before = "2024-01-01"  # finance reopens the period
    from hub.outbox.views import list_dead_letters

    server.dead_letter = list_dead_letters(hub).items[0].id
    for job in hub.config.hub.jobs:  # a scheduler started by a test runs only what it asks
        pause(hub, job, actor="test")


def _wait_until_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, "hub serve exited"
        assert time.monotonic() < deadline, "hub serve did not come up"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def mappings_dir() -> Path:
    """The mappings the server reads; a module that edits them gives a copy of its own."""
    return ROOT / "mappings"


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory,
                   mappings_dir: Path) -> Iterator[ConsoleServer]:
    chromium_or_skip()
    tmp = tmp_path_factory.mktemp("console")
    crm_app = create_crm_sandbox(api_key=CRM_KEY, customers=120)
    kingdee_app = create_kingdee_sandbox(latency_ms=0)
    with ExitStack() as stack, pytest.MonkeyPatch.context() as patch:
        crm_url = stack.enter_context(serve(crm_app))
        kingdee_url = stack.enter_context(serve(kingdee_app))
        issuer = Issuer()
        issuer.url = stack.enter_context(serve(issuer.app))
        env = _environment(tmp, crm_url, kingdee_url, issuer.url, mappings=mappings_dir)
        for name, value in env.items():
            patch.setenv(name, value)
        hub = Hub(Settings())
        stack.callback(hub.close)
        hub.upgrade_db()
        keys = Keys(*(create_key(hub, name=f"console {role}", role=role, actor="test").key
                      for role in ("admin", "agent", "integrator")))
        port = free_port()
        server = ConsoleServer(url=f"http://127.0.0.1:{port}", hub=hub, env=env, keys=keys,
                               crm=crm_app.state.sandbox, kingdee=kingdee_app.state.sandbox,
                               issuer=issuer)
        _seed(server)
        log = stack.enter_context((tmp / "serve.log").open("wb"))
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(port)], cwd=ROOT,
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log)
        stack.callback(_stop, process)
        _wait_until_serving(server.url, process)
        yield server


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable,
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """`new_page(lang="zh-CN")`: a page in a fresh browser context (its own cookies)."""
    contexts: list[Any] = []

    def make(lang: str = "zh-CN") -> Any:
        context = browser.new_context(locale=lang, viewport={"width": 1360, "height": 900},
                                      extra_http_headers={"Accept-Language": lang})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def shoot(page: Any, name: str) -> Path:
    """A full-page screenshot of `page`, kept for CI as .ci/artifacts/console/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, server: ConsoleServer, key: str, *, path: str = "/tickets") -> None:
    page.goto(server.page_url(path))
    assert "/console/signin" in page.url
    page.fill("#api_key", key)
    page.click("form[action$='/signin'] button[type=submit]")
    page.wait_for_url(re.compile(re.escape(server.page_url(path.split("?")[0]))))


def start_scheduler(server: ConsoleServer) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "cli", "scheduler", "--tick", "0.2"],
                            cwd=ROOT, env={**os.environ, **server.env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

