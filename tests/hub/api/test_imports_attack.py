"""/imports attacked with an integrator key: mapping names that are paths, uploaded YAML
used as a mapping, and secrets in the environment. Nothing the API answers may carry a
secret, an absolute path or where uploads are kept."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.runtime import Hub

ROOT = Path(__file__).resolve().parents[3]
JWT_SECRET = "planted-jwt-secret-4be1c0d9a7f2"
KINGDEE_PASSWORD = "planted-kingdee-password-93ce51"
# A "mapping" that would print both secrets if the library interpolated or loaded it.
EVIL_MAPPING = ("target: '${HUB_JWT_SECRET}'\nsource: '${KINGDEE_PASSWORD}'\nversion: 1\n"
                "key: external_id\nfields:\n  external_id: {path: '${KINGDEE_PASSWORD}'}\n")


def wait(api: httpx.Client, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = api.get(location).json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"import still {body.get('status')}")


@pytest.fixture
def attacked_hub(hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Hub:
    monkeypatch.setenv("HUB_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("KINGDEE_PASSWORD", KINGDEE_PASSWORD)
    hub.settings.imports_dir = tmp_path / "imports"
    return hub


def leaks(text: str, *, sent: str, hub: Hub) -> list[str]:
    """What of the secrets and storage locations `text` shows (the caller's own input,
    `sent`, echoed back does not count)."""
    text = text.replace(sent, "").replace(sent.replace("\\", "\\\\"), "")
    found = [secret for secret in (JWT_SECRET, KINGDEE_PASSWORD) if secret in text]
    imports_dir = hub.settings.imports_dir.resolve()
    places = {str(imports_dir), str(imports_dir / "uploads"), str(ROOT), str(ROOT / "mappings"),
              "uploads/", "uploads\\"}
    return found + [place for place in places if place in text]


def traversal_names(target: Path, hub: Hub) -> list[str]:
    """The ways of naming `target` (without `.yaml`) as a mapping."""
    mappings = hub.mappings.folder.resolve()
    relative = os.path.relpath(target, mappings)
    return [relative, str(target), relative.replace("/", "\\"), relative.replace("/", "%2f"),
            relative.replace("/", "..%2f", 1), f"import_customers\x00{relative}",
            f"import_customers/../{relative}", "..", ".", "../import_customers"]


def test_integrator__cannot_load_an_uploaded_yaml_as_a_mapping(attacked_hub: Hub,
                                                               api_client: Any,
                                                               tmp_path: Path) -> None:
    hub = attacked_hub
    planted = tmp_path / "planted" / "evil"  # any YAML on disk the attacker can guess
    planted.parent.mkdir()
    planted.with_suffix(".yaml").write_text(EVIL_MAPPING)
    with api_client(hub, role="integrator", scopes=()) as api:
        uploaded = api.post("/imports", data={"mapping": "import_customers"},
                            files={"file": ("evil.yaml", EVIL_MAPPING.encode(), "text/yaml")})
        answers = [(uploaded.text, "")]
        assert uploaded.status_code in (202, 422), uploaded.text
        if uploaded.status_code == 202:
            location = uploaded.headers["location"]
            answers.append((str(wait(api, location)), ""))
            answers.extend((api.get(f"{location}/report.{kind}").text, "")
                           for kind in ("csv", "xlsx"))
        stored = [p for p in (hub.settings.imports_dir / "uploads").glob("*") if p.is_file()]
        targets = [planted] + [p.with_suffix("") for p in stored]

        for target in targets:
            for name in traversal_names(target, hub):
                response = api.post("/imports", data={"mapping": name},
                                    files={"file": ("a.csv", b"a,b\n1,2\n", "text/csv")})
                answers.append((response.text, name))
                assert response.status_code in (404, 422), (name, response.text)
        answers.append((api.get("/imports").text, ""))

    for text, sent in answers:
        assert not leaks(text, sent=sent, hub=hub), (leaks(text, sent=sent, hub=hub), text)
        assert "available:" not in text, text  # no listing of the mappings for non-admins


def test_integrator__upload_answers_never_show_the_storage_location(attacked_hub: Hub,
                                                                    api_client: Any) -> None:
    with api_client(attacked_hub, role="integrator", scopes=()) as api:
        created = api.post("/imports", data={"mapping": "import_customers"},
                           files={"file": ("客户.xlsx", b"not a workbook", "x")})
        assert created.status_code == 202, created.text
        body = wait(api, created.headers["location"])
        listed = api.get("/imports").text

    assert body["status"] == "failed"
    assert body["file_name"] == "客户.xlsx"
    assert body["error"].startswith("客户.xlsx: "), body["error"]
    for text in (created.text, str(body), listed):
        assert not leaks(text, sent="", hub=attacked_hub), text
