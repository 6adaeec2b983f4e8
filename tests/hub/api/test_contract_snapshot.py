"""docs/openapi.json is the contract as served: a change to the API shows in review as a
change to that file, and docs/api.md says when it needs a new version."""

from __future__ import annotations

import json
from pathlib import Path

from hub.api import create_app
from hub.api.contract import CONTRACT_VERSION
from hub.core.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "docs" / "openapi.json"


def test_the_committed_contract_is_the_served_one(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hub.db'}",
                        config=ROOT / "configs/hub.yaml", mappings_dir=ROOT / "mappings")
    served = create_app(settings).openapi()
    committed = json.loads(COMMITTED.read_text("utf-8"))
    assert committed["info"]["version"] == CONTRACT_VERSION
    assert served == committed, (
        "the API's contract changed: check docs/api.md (a change that can break a generated "
        "client needs a new major version), then `hub openapi -o docs/openapi.json`")
