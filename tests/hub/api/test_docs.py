"""The OpenAPI document is built once per process for apps of the same routes (it takes half
a second), and anew for an app whose routes differ."""

from __future__ import annotations

from pathlib import Path

from hub.api.app import create_app
from hub.core.settings import Settings


def _settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'hub.db'}")


def test_apps_of_the_same_routes__serve_one_document_each_its_own_copy(
        tmp_path: Path) -> None:
    first, second = create_app(_settings(tmp_path)), create_app(_settings(tmp_path))
    one, two = first.openapi(), second.openapi()
    assert one == two and one is not two
    one["info"]["title"] = "changed by the first app"
    assert create_app(_settings(tmp_path)).openapi()["info"]["title"] != one["info"]["title"]


def test_an_app_with_another_route__gets_a_document_of_its_own(tmp_path: Path) -> None:
    standard = create_app(_settings(tmp_path)).openapi()
    extended = create_app(_settings(tmp_path))

    @extended.get("/extra/{name}", operation_id="extra.get", tags=["extra"])
    async def extra(name: str) -> dict[str, str]:
        return {"name": name}

    extended.openapi_schema = None  # as FastAPI does when routes are added after a build
    served = extended.openapi()
    assert "/extra/{name}" in served["paths"] and "/extra/{name}" not in standard["paths"]
    assert create_app(_settings(tmp_path)).openapi() == standard
