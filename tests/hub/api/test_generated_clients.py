"""The contract, proved with clients the hub did not write: openapi-python-client generates a
Python client from the served document with no warning, and that client drives every route
family against a live hub, every error status the document declares parsed as the problem
model it names; openapi-typescript generates TypeScript types that `tsc --strict` accepts.

The generators are pinned under tools/clients/ and installed by `scripts/client-tools` (.ci/run
does); without them the tests skip, except in CI, where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.api import create_app
from hub.core.settings import Settings
from hub.customers.store import upsert_customers
from hub.jobs.runs import finish_run, start_run
from hub.runtime import Hub
from hub.store.models import OutboxMessage

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
TOOLS = ROOT / "tools" / "clients"
PYTHON = TOOLS / ".venv" / "bin" / "python"
GENERATOR = TOOLS / ".venv" / "bin" / "openapi-python-client"
OPENAPI_TS = TOOLS / "node_modules" / ".bin" / "openapi-typescript"
TSC = TOOLS / "node_modules" / ".bin" / "tsc"
HERE = Path(__file__).with_name("clients")
IMPORT_MAX_BYTES = 256 * 1024
GENERATOR_CONFIG = "project_name_override: hub-client\npackage_name_override: hub_client\n"


def _require(*tools: Path) -> None:
    missing = [str(tool.relative_to(ROOT)) for tool in tools if not tool.exists()]
    if not missing:
        return
    reason = f"{', '.join(missing)} missing: run scripts/client-tools"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contract as `hub openapi` writes it (the served document: no store needed)."""
    folder = tmp_path_factory.mktemp("contract")
    settings = Settings(database_url=f"sqlite:///{folder / 'hub.db'}",
                        config=ROOT / "configs/hub.yaml", mappings_dir=ROOT / "mappings")
    path = folder / "openapi.json"
    path.write_text(json.dumps(create_app(settings).openapi(), ensure_ascii=False), "utf-8")
    return path


def _generate(document: Path, into: Path) -> subprocess.CompletedProcess[str]:
    config = into / "generator.yaml"
    config.write_text(GENERATOR_CONFIG, "utf-8")
    return subprocess.run(
        [str(GENERATOR), "generate", "--path", str(document), "--meta", "none",
         "--config", str(config), "--output-path", str(into / "hub_client")],
        capture_output=True, text=True, timeout=300, check=False, cwd=into,
        # its post-hooks (ruff) come from its own venv
        env={**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ['PATH']}"})


@pytest.fixture(scope="module")
def python_client(document: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the generated package `hub_client`."""
    _require(PYTHON, GENERATOR)
    folder = tmp_path_factory.mktemp("python-client")
    result = _generate(document, folder)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


def test_python_client__generates_without_a_warning(document: Path, tmp_path: Path) -> None:
    _require(GENERATOR)
    result = _generate(document, tmp_path)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    assert output.splitlines() == [f"Generating {tmp_path / 'hub_client'}"], output
    assert (tmp_path / "hub_client" / "api" / "tickets" / "tickets_list.py").exists()


def test_typescript_types__generate_and_typecheck_strictly(document: Path,
                                                           tmp_path: Path) -> None:
    _require(OPENAPI_TS, TSC)
    types = tmp_path / "hub-api.d.ts"
    # Defaults are what the hub fills in for a request that leaves a field out; by default
    # openapi-typescript would make such fields required (docs/api.md says so).
    generated = subprocess.run([str(OPENAPI_TS), str(document), "-o", str(types),
                                "--default-non-nullable=false"],
                               capture_output=True, text=True, timeout=300, check=False)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "error" not in (generated.stdout + generated.stderr).lower(), generated.stderr
    shutil.copy(HERE / "usage.ts", tmp_path / "usage.ts")
    checked = subprocess.run(
        [str(TSC), "--noEmit", "--strict", "--target", "es2022", "--moduleResolution", "node",
         "usage.ts", "hub-api.d.ts"],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture
def live_hub(tmp_path: Path, crm_sandbox: Any, monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[Hub]:
    """A hub whose request and upload limits are small enough to reach (413, 507)."""
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    hub = Hub(Settings(database_url=f"sqlite:///{tmp_path / 'hub.db'}",
                       config=ROOT / "configs/hub.yaml", mappings_dir=ROOT / "mappings",
                       imports_dir=tmp_path / "imports", import_max_bytes=IMPORT_MAX_BYTES,
                       max_request_bytes=64 * 1024))
    hub.upgrade_db()
    yield hub
    hub.close()


def _seed(hub: Hub) -> None:
    """What the API cannot make by itself: customers, runs, dead letters."""
    with hub.sessions.begin() as session:
        upsert_customers(session, "import", [
            {"external_id": f"G{i}", "name": f"客户{i}", "mobile": f"1390000{i:04d}"}
            for i in range(3)])
        for job in ("crm_customers", "kb_articles"):
            finish_run(start_run(session, job=job, kind="pull", trigger="manual"),
                       status="succeeded")
        now = datetime.now(UTC)
        session.add_all(OutboxMessage(
            job="erp_refunds", ticket_id=None, ordering_key=f"o{i}", connection="kingdee",
            action="refund.create", idempotency_key=f"G{i}", mapping="kingdee_refund_bill@1",
            payload={}, document={}, status="dead" if i else "pending", attempts=1, replays=0,
            next_attempt_at=now, created_at=now, updated_at=now) for i in range(3))


def _declared(document: Path) -> tuple[set[str], set[int]]:
    """The document's tags and the error statuses it declares anywhere."""
    contract = json.loads(document.read_text("utf-8"))
    tags = {tag["name"] for tag in contract["tags"]}
    statuses = {int(code) for ops in contract["paths"].values() for op in ops.values()
                if isinstance(op, dict) for code in op.get("responses", {})
                if code.isdigit() and int(code) >= 300}
    return tags, statuses


def test_generated_python_client__drives_every_route_family_and_error(
        python_client: Path, document: Path, live_hub: Hub, api_client: Any,
        tmp_path: Path) -> None:
    from tests.conftest import api_credentials

    _seed(live_hub)
    csv = tmp_path / "customers.csv"
    csv.write_text("客户编号,客户名称,手机号\nC1,王芳,13812345678\nC2,李雷,bad\n", "utf-8")
    with api_client(live_hub) as api:
        env = {**os.environ, "HUB_CLIENT_DIR": str(python_client),
               "HUB_URL": str(api.base_url).rstrip("/"),
               "HUB_ADMIN_KEY": api.headers["Authorization"].removeprefix("Bearer "),
               "HUB_AGENT_KEY": api_credentials(live_hub, role="agent", scopes=())[
                   "Authorization"].removeprefix("Bearer "),
               "HUB_UPLOADS_DIR": str(tmp_path / "imports" / "uploads"),
               "HUB_UPLOAD_ROOM": str(4 * IMPORT_MAX_BYTES), "HUB_IMPORT_CSV": str(csv)}
        result = subprocess.run([str(PYTHON), str(HERE / "drive.py")], capture_output=True,
                                text=True, timeout=600, check=False, env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    seen = {tag: set(codes) for tag, codes in json.loads(result.stdout.splitlines()[-1]).items()}
    tags, statuses = _declared(document)
    assert tags - seen.keys() == set(), "route families the client never drove"
    assert statuses - set().union(*seen.values()) == set(), "declared statuses never seen"
