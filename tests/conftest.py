"""Shared fixtures: the CRM sandbox on a loopback port, and stores on SQLite and PostgreSQL.

PostgreSQL tests run when the server is reachable; with CI=true an unreachable server is a
failure, not a skip. Each test gets its own schema, so the suite is parallel-safe.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from connectors.confluence.sandbox import create_app as create_confluence_sandbox
from connectors.crm.sandbox import create_app as create_crm_sandbox
from connectors.sdk.sandbox import serve
from hub.core.settings import Settings
from hub.runtime import Hub

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CRM_KEY = "crm-test-key-5f1d2c9a7b"


@dataclass
class Sandbox:
    url: str
    api_key: str
    app: Any

    @property
    def state(self) -> Any:
        return self.app.state.sandbox


@pytest.fixture
def crm_sandbox() -> Iterator[Sandbox]:
    app = create_crm_sandbox(api_key=CRM_KEY, customers=120)
    with serve(app) as url:
        yield Sandbox(url=url, api_key=CRM_KEY, app=app)


def _postgres_available() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 -- any failure means "not usable here"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    problem = _postgres_available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and unreachable at {POSTGRES_URL}: "
                        f"{problem}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} ({problem})")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    """Redis for tests (database 15); skipped when absent, a failure when CI=true."""
    url = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI and unreachable at {url}: {exc}")
        pytest.skip(f"Redis not reachable at {url} ({exc})")
    finally:
        client.close()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.db'}"


def _make_hub(database_url: str, *, config: Path | None = None,
              mappings_dir: Path | None = None) -> Hub:
    hub = Hub(Settings(database_url=database_url, config=config or ROOT / "configs/hub.yaml",
                       mappings_dir=mappings_dir or ROOT / "mappings"))
    hub.upgrade_db()
    return hub


@pytest.fixture
def hub(database_url: str, crm_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[Hub]:
    """A hub on a fresh store (SQLite and PostgreSQL), its CRM connection on the sandbox."""
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    runtime = _make_hub(database_url)
    yield runtime
    runtime.close()


@pytest.fixture
def kb_hub(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Hub, Any]]:
    """The hub with its `kb` connection on a Confluence sandbox (yields the sandbox too)."""
    app = create_confluence_sandbox(email="kb@example.com", api_token="kb-token",
                                    space_key="KB")
    with serve(app) as url:
        monkeypatch.setenv("KB_BASE_URL", url)
        monkeypatch.setenv("KB_EMAIL", "kb@example.com")
        monkeypatch.setenv("KB_API_TOKEN", "kb-token")
        yield hub, app.state.sandbox


def api_credentials(hub: Hub, *, role: str = "admin",
                    scopes: tuple[str, ...] = ("pii",)) -> dict[str, str]:
    """Headers that authenticate as a new caller with `role` and `scopes`: a real API key,
    made through the same service as `hub apikeys create`."""
    from hub.access.apikeys import create_key

    created = create_key(hub, name=f"test {role}", role=role, scopes=scopes, actor="test")
    return {"Authorization": f"Bearer {created.key}"}


@contextmanager
def _api_client(hub: Hub, *, role: str = "admin", scopes: tuple[str, ...] = ("pii",),
                headers: dict[str, str] | None = None) -> Iterator[httpx.Client]:
    from hub.api import create_app

    with serve(create_app(hub=hub), lifespan="on") as url, httpx.Client(
            base_url=url, timeout=30,
            headers={**api_credentials(hub, role=role, scopes=scopes), **(headers or {})},
    ) as client:
        yield client


@pytest.fixture
def api_client() -> Any:
    """`with api_client(hub, role="agent", scopes=()) as api:` — the hub's API served on a
    loopback port, and an httpx client authenticated as such a caller."""
    return _api_client


@pytest.fixture
def make_hub() -> Any:
    """Build a hub on a given store, config and mappings folder (migrated)."""
    return _make_hub


def _audit_text(hub: Hub) -> str:
    from hub.store.models import AuditRecord

    with hub.sessions() as session:
        rows = session.scalars(sa.select(AuditRecord)).all()
        return "\n".join(
            f"{r.actor}|{r.action}|{r.target}|{r.outcome}|{r.detail}" for r in rows
        )


@pytest.fixture
def audit_text() -> Any:
    """Every audit row of a hub as one string, to search for leaked secrets."""
    return _audit_text
