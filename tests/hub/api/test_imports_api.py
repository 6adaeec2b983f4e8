"""/imports over real HTTP: upload, background import, progress, the error report."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.runtime import Hub

HEADERS = ["客户编号", "客户名称", "手机号", "客户等级"]


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def wait(api: httpx.Client, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = api.get(location).json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"import still {body['status']}")


@pytest.fixture
def api_hub(hub: Hub, tmp_path: Path) -> Hub:
    hub.settings.imports_dir = tmp_path / "imports"
    return hub


def test_upload__imports_in_the_background_and_serves_the_report(api_hub: Hub,
                                                                 api_client: Any) -> None:
    rows = [[f"C{i}", f"客户{i}", f"1380000{i:04d}", "金卡"] for i in range(1, 31)]
    rows[4][3] = "黑卡"
    with api_client(api_hub) as api:
        created = api.post("/imports", data={"mapping": "import_customers"},
                           files={"file": ("客户.csv", csv_bytes(rows), "text/csv")})
        assert created.status_code == 202, created.text
        location = created.headers["location"]

        body = wait(api, location)

        assert (body["status"], body["created"], body["rejected"]) == ("partial", 29, 1)
        assert body["report"] == {"xlsx": f"{location}/report.xlsx",
                                  "csv": f"{location}/report.csv"}
        report = api.get(body["report"]["csv"])
        assert report.status_code == 200
        assert "黑卡" in report.content.decode("utf-8-sig")
        xlsx = api.get(body["report"]["xlsx"])
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

        again = api.post("/imports", data={"mapping": "import_customers"},
                         files={"file": ("客户.csv", csv_bytes(rows), "text/csv")})
        assert again.status_code == 200 and again.json()["duplicate_of"] == body["id"]


def test_upload__a_bad_file_fails_the_import_with_a_clear_error(api_hub: Hub,
                                                                api_client: Any) -> None:
    with api_client(api_hub) as api:
        created = api.post("/imports", data={"mapping": "import_customers"},
                           files={"file": ("客户.xlsx", b"this is not a workbook", "x")})
        assert created.status_code == 202
        body = wait(api, created.headers["location"])
    assert body["status"] == "failed"
    assert "客户.xlsx" in body["error"] or "upload" in body["error"]


def test_upload__unknown_mapping_is_problem_json(api_hub: Hub, api_client: Any) -> None:
    with api_client(api_hub) as api:
        response = api.post("/imports", data={"mapping": "nope"},
                            files={"file": ("a.csv", csv_bytes([]), "text/csv")})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "no mapping 'nope'" in response.json()["detail"]


def test_upload__too_large_is_413(api_hub: Hub, api_client: Any) -> None:
    api_hub.settings.import_max_bytes = 1000
    with api_client(api_hub) as api:
        response = api.post("/imports", data={"mapping": "import_customers"},
                            files={"file": ("a.csv", b"x" * 5000, "text/csv")})
    assert response.status_code == 413


def test_report__missing_is_404(api_hub: Hub, api_client: Any) -> None:
    with api_client(api_hub) as api:
        assert api.get("/imports/99/report.csv").status_code == 404
