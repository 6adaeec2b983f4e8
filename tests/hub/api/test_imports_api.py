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


def uploads(hub: Hub) -> list[str]:
    folder = hub.settings.imports_dir / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_upload__refused_or_done_uploads_leave_no_file_behind(api_hub: Hub,
                                                              api_client: Any) -> None:
    good = csv_bytes([["C1", "客户1", "13800000001", "金卡"]])
    with api_client(api_hub, role="integrator", scopes=()) as api:
        refused = {
            "unknown mapping": api.post("/imports", data={"mapping": "nope"},
                                        files={"file": ("a.csv", good, "text/csv")}),
            "mapping path": api.post("/imports", data={"mapping": "../mappings/import_customers"},
                                     files={"file": ("a.csv", good, "text/csv")}),
            "bad encoding": api.post("/imports", data={"mapping": "import_customers",
                                                       "encoding": "no-such-codec"},
                                     files={"file": ("a.csv", good, "text/csv")}),
            "bad header row": api.post("/imports", data={"mapping": "import_customers",
                                                         "header_row": "0"},
                                       files={"file": ("a.csv", good, "text/csv")}),
        }
        assert {why: r.status_code for why, r in refused.items()} == {
            "unknown mapping": 404, "mapping path": 422, "bad encoding": 422,
            "bad header row": 422}
        assert uploads(api_hub) == []

        broken = api.post("/imports", data={"mapping": "import_customers"},
                          files={"file": ("客户.xlsx", b"PK\x03\x04 not a workbook", "x")})
        assert wait(api, broken.headers["location"])["status"] == "failed"
        done = api.post("/imports", data={"mapping": "import_customers"},
                        files={"file": ("客户.csv", good, "text/csv")})
        assert wait(api, done.headers["location"])["status"] == "succeeded"
        duplicate = api.post("/imports", data={"mapping": "import_customers"},
                             files={"file": ("客户.csv", good, "text/csv")})
        assert duplicate.status_code == 200, duplicate.text

    assert uploads(api_hub) == []


def test_upload__too_large_leaves_no_file_behind(api_hub: Hub, api_client: Any) -> None:
    api_hub.settings.import_max_bytes = 1000
    with api_client(api_hub) as api:
        declared = api.post("/imports", data={"mapping": "import_customers"},
                            files={"file": ("a.csv", b"x" * 5000, "text/csv")})
        # Chunked, without a length: the size is only known as the bytes arrive.
        request = httpx.Request("POST", "/", data={"mapping": "import_customers"},
                                files={"file": ("a.csv", b"x" * 5000, "text/csv")})
        body = request.read()
        streamed = api.post("/imports", content=iter([body[:600], body[600:]]),
                            headers={"content-type": request.headers["content-type"]})
    assert declared.status_code == streamed.status_code == 413
    assert uploads(api_hub) == []


def test_upload__a_failed_import_can_be_retried(api_hub: Hub, api_client: Any) -> None:
    data = csv_bytes([["C1", "客户1", "13800000001", "金卡"],
                      ["C2", "客户2", "13800000002", "银卡"]])
    upload = {"file": ("客户.csv", data, "text/csv")}
    with api_client(api_hub) as api:
        wrong = api.post("/imports", data={"mapping": "import_customers", "encoding": "ascii"},
                         files=upload)
        failed = wait(api, wrong.headers["location"])
        same = api.post("/imports", data={"mapping": "import_customers", "encoding": "ascii"},
                        files=upload)
        failed_again = wait(api, same.headers["location"])
        fixed = api.post("/imports", data={"mapping": "import_customers"}, files=upload)
        succeeded = wait(api, fixed.headers["location"])
        duplicate = api.post("/imports", data={"mapping": "import_customers"}, files=upload)
        forced = api.post("/imports", data={"mapping": "import_customers", "force": "true"},
                          files=upload)
        forced_body = wait(api, forced.headers["location"])

    assert failed["status"] == failed_again["status"] == "failed"
    assert "ascii" in failed["error"]
    assert (same.status_code, fixed.status_code, forced.status_code) == (202, 202, 202)
    ids = [failed["id"], failed_again["id"], succeeded["id"], forced_body["id"]]
    assert len(set(ids)) == 4, ids  # each attempt its own import
    assert (succeeded["status"], succeeded["created"]) == ("succeeded", 2)
    assert duplicate.status_code == 200 and duplicate.json()["duplicate_of"] == succeeded["id"]
    assert (forced_body["status"], forced_body["unchanged"]) == ("succeeded", 2)
    assert uploads(api_hub) == []


@pytest.mark.parametrize("name", [
    "客" * 100 + ".csv",                           # 304 bytes of UTF-8
    "a" * 300 + ".csv",
    "evil\x00name.csv",
    "../../etc/passwd.csv",
    "..\\..\\windows\\客户.csv",
    "tab\tnew\nline\x1b[31m.csv",
])
def test_upload__any_file_name_is_stored_safely_and_shown_short(api_hub: Hub, api_client: Any,
                                                                name: str) -> None:
    rows = [["C1", "客户1", "13800000001", "金卡"], ["C2", "客户2", "13800000002", "黑卡"]]
    with api_client(api_hub) as api:
        created = api.post("/imports", data={"mapping": "import_customers"},
                           files={"file": (name, csv_bytes(rows), "text/csv")})
        assert created.status_code == 202, created.text
        body = wait(api, created.headers["location"])
        report = api.get(f"{created.headers['location']}/report.csv")

    shown = body["file_name"]
    assert (body["status"], body["rejected"]) == ("partial", 1), body
    assert report.status_code == 200 and "黑卡" in report.content.decode("utf-8-sig")
    assert len(shown.encode()) <= 200 and shown.endswith(".csv")
    assert not any(ch in shown for ch in "/\\\x00\t\n\x1b")


def test_upload__a_5000_character_mapping_name_is_422(api_hub: Hub, api_client: Any) -> None:
    with api_client(api_hub) as api:
        response = api.post("/imports", data={"mapping": "m" * 5000},
                            files={"file": ("a.csv", csv_bytes([]), "text/csv")})
    assert response.status_code == 422, response.text
    assert "m" * 200 not in response.text


def test_upload__refused_while_waiting_uploads_fill_the_room(api_hub: Hub,
                                                             api_client: Any) -> None:
    api_hub.settings.import_max_bytes = 2000  # the folder holds 4 × 2,000 bytes at most
    folder = api_hub.settings.imports_dir / "uploads"
    folder.mkdir(parents=True)
    waiting = folder / "waiting.csv"  # an interrupted import's upload, say
    waiting.write_bytes(b"x" * 7500)
    data = csv_bytes([[f"C{i}", f"客户{i}", f"138000000{i:02d}", "金卡"] for i in range(20)])
    with api_client(api_hub, role="integrator", scopes=()) as api:
        full = api.post("/imports", data={"mapping": "import_customers"},
                        files={"file": ("客户.csv", data, "text/csv")})
        left = uploads(api_hub)
        waiting.unlink()
        room = api.post("/imports", data={"mapping": "import_customers"},
                        files={"file": ("客户.csv", data, "text/csv")})
        done = wait(api, room.headers["location"])

    assert 500 < len(data) < 1500
    assert full.status_code == 507 and left == ["waiting.csv"]
    assert room.status_code == 202 and done["status"] == "succeeded"


def test_upload__a_header_only_file_fails_the_import_naming_it(api_hub: Hub,
                                                               api_client: Any) -> None:
    with api_client(api_hub) as api:
        created = api.post("/imports", data={"mapping": "import_customers"},
                           files={"file": ("只有表头.csv", csv_bytes([]), "text/csv")})
        assert created.status_code == 202
        body = wait(api, created.headers["location"])
    assert (body["status"], body["read"], body["created"]) == ("failed", 0, 0)
    assert body["error"].startswith("只有表头.csv: has no data rows")
