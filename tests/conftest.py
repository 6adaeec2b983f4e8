"""Shared fixtures: the CRM sandbox on a loopback port, and stores on SQLite and PostgreSQL.

PostgreSQL tests run when the server is reachable; with CI=true an unreachable server is a
failure, not a skip. Each test gets its own store, so the suite is parallel-safe.

Migrations run once per xdist worker, not once per test: a test whose fixtures build a hub
(`hub`, `make_hub`, `messaging_hub`) starts from a copy of a store migrated at the session's
start — on SQLite a copy of the template file, on PostgreSQL a database created from a
per-worker template database (`CREATE DATABASE ... TEMPLATE`). `hub.upgrade_db()` still runs
and finds the copy at head. Tests that use `postgres_url`/`database_url` without a hub (the
migration tests) get an empty schema of their own and run the real migrations.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
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
from hub.store import migrate
from hub.store.engine import create_engine

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


def free_port() -> int:
    """A loopback port nothing listens on (bound, then closed again): for a server a test
    starts, or for a connection that must find nobody there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


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


# Fixtures whose hub migrates the test's store: with one of them in a test's closure, its
# PostgreSQL store is a copy of the worker's migrated template.
_MIGRATING_FIXTURES = frozenset({"hub", "make_hub", "messaging_hub"})


def _require_postgres() -> None:
    problem = _postgres_available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and unreachable at {POSTGRES_URL}: "
                        f"{problem}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} ({problem})")


def _worker_name(prefix: str) -> str:
    """A database object name unique to this xdist worker and this session."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}_{worker}_{uuid.uuid4().hex[:10]}"


def _database_url(database: str) -> str:
    return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{database}"


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[str]:
    """A database migrated to head once per worker, the template of each test's database."""
    _require_postgres()
    name = _worker_name("hub_tpl")
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        engine = create_engine(_database_url(name))
        migrate.upgrade(engine)
        engine.dispose()  # CREATE DATABASE ... TEMPLATE needs the template without sessions
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _postgres_copy(template: str) -> Iterator[str]:
    """A database of its own for one test, created from the migrated template."""
    name = _worker_name("hub_t")
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _database_url(name)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _postgres_schema() -> Iterator[str]:
    """An empty schema of its own for one test, in the shared test database."""
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
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The test's PostgreSQL store: a copy of the migrated template when a fixture of the test
    builds a hub on it, else an empty schema (for tests that run the migrations themselves)."""
    _require_postgres()
    if _MIGRATING_FIXTURES.intersection(request.fixturenames):
        template: str = request.getfixturevalue("_postgres_template")
        with _postgres_copy(template) as url:
            yield url
    else:
        with _postgres_schema() as url:
            yield url


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


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store migrated to head once per worker, copied into each test's path."""
    path = tmp_path_factory.mktemp("store-template") / "hub.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # checkpoints the WAL: the file alone is the whole store
    return path


def _sqlite_path(database_url: str) -> Path | None:
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == f"{prefix}:memory:":
        return None
    return Path(database_url[len(prefix):].split("?", 1)[0])


def _make_hub(database_url: str, *, config: Path | None = None,
              mappings_dir: Path | None = None, template: Path | None = None) -> Hub:
    path = _sqlite_path(database_url)
    if template is not None and path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
    hub = Hub(Settings(database_url=database_url, config=config or ROOT / "configs/hub.yaml",
                       mappings_dir=mappings_dir or ROOT / "mappings"))
    hub.upgrade_db()  # at head already on a copy: Alembic finds nothing to do
    return hub


@pytest.fixture
def hub(database_url: str, crm_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch,
        _sqlite_template: Path) -> Iterator[Hub]:
    """A hub on a fresh store (SQLite and PostgreSQL), its CRM connection on the sandbox."""
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    runtime = _make_hub(database_url, template=_sqlite_template)
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
def make_hub(_sqlite_template: Path) -> Any:
    """Build a hub on a given store, config and mappings folder (migrated; a new SQLite store
    starts as a copy of the worker's migrated template)."""
    return functools.partial(_make_hub, template=_sqlite_template)


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
