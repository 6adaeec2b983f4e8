"""A PII sweep of the whole API: every route and download, walked from the app itself.

The store is seeded with known mobiles, emails and ID card numbers everywhere the API can
show them — columns, free text (subjects, descriptions, notes, messages, errors), enrichment
history, webhook payloads under oddly named fields (`Mobile`, `tel`, `contact_phone`,
`IdNumber`, `手机号码`), outbox documents, audit details, run errors and import error reports
(.csv and .xlsx, decoded). An agent and an integrator without `pii` must find none of them in
any answer, whatever its status or media type; an admin and a `pii` holder still see them;
the OpenAPI document is served unchanged.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from openpyxl import Workbook, load_workbook

from connectors.sdk.sandbox import serve
from hub.api import create_app
from hub.audit import AuditEntry
from hub.importer.pipeline import ImportOptions, resume_import, start_import
from hub.runtime import Hub
from hub.store.models import (
    Article,
    Customer,
    OutboxMessage,
    Run,
    Ticket,
    WebhookEvent,
)
from tests.conftest import api_credentials

MOBILE = "15987654321"
MOBILE_SPACED = "+86 137-0000-1111"
MOBILE_NUMBER = 13698765432  # a JSON number under `Mobile`
LANDLINE = "0755-86013388"  # no pattern: only its field's name (`tel`) says it is personal
EMAIL = "li.planted@example.org"
EMAIL_2 = "wang.secret@corp-mail.cn"
ID_NUMBER = "44030519851231002X"
ID_IN_TEXT = "110105198807074321"
PLANTED = (MOBILE, "13700001111", "137-0000-1111", str(MOBILE_NUMBER), LANDLINE, "86013388",
           EMAIL, "li.planted", EMAIL_2, "wang.secret", ID_NUMBER, ID_NUMBER[:17], ID_IN_TEXT)
VISIBLE_TO_ADMIN = (MOBILE, MOBILE_SPACED, str(MOBILE_NUMBER), LANDLINE, EMAIL, EMAIL_2,
                    ID_NUMBER, ID_IN_TEXT)


@dataclass
class Seeded:
    ids: dict[str, list[str]] = field(default_factory=dict)


def _seed_rows(hub: Hub) -> dict[str, list[str]]:
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        customer = Customer(
            source="crm", external_id="C-PII-1", name="李四", company="华联",
            mobile=MOBILE, email=EMAIL, content_hash="x", mapping="crm_customers@1",
            attributes={"IdNumber": ID_NUMBER, "backupPhone": MOBILE_SPACED,
                        "note": f"备用邮箱 {EMAIL_2}"},
            created_at=now, updated_at=now)
        session.add(customer)
        session.flush()
        enrichment = {
            # the profile as enrichment stores it; oddly named fields among its attributes
            "customer": {"id": customer.id, "source": "crm", "external_id": "C-PII-1",
                         "name": "李四", "company": "华联", "mobile": MOBILE, "email": EMAIL,
                         "tier": None, "mapping": "crm_customers@1",
                         "attributes": {"Mobile": MOBILE, "E-Mail": EMAIL}},
            "history": {
                "orders": [{"order_no": "SO20241103000000000001", "total": "99.00",
                            "receiver": {"Mobile": MOBILE_NUMBER, "tel": LANDLINE,
                                         "contact_phone": MOBILE_SPACED}}],
                "interactions": [{"at": now.isoformat(), "channel": "phone",
                                  "subject": f"回访 {EMAIL}",
                                  "note": f"客户来电 {MOBILE_SPACED}，身份证{ID_IN_TEXT}"}]},
            "sources": [{"connection": "crm", "status": "ok",
                         "fetched_at": now.isoformat()}]}
        tickets = [Ticket(
            subject=f"客户 {MOBILE} 来电投诉", description=f"邮箱 {EMAIL_2}，身份证 {ID_IN_TEXT}",
            channel="phone", status=status, contact_name="李四", contact_mobile=MOBILE,
            contact_email=EMAIL, customer_id=customer.id, enrichment_status="enriched",
            enrichment=enrichment, enriched_at=now, resolutions=resolutions,
            resolution={"note": f"已电话联系 {MOBILE}"} if resolutions else None,
            resolved_at=now if resolutions else None, created_at=now, updated_at=now)
            for status, resolutions in (("open", 0), ("resolved", 1))]
        session.add_all(tickets)
        session.flush()
        outbox = [OutboxMessage(
            job="erp_refunds", ticket_id=tickets[1].id, ordering_key=f"t{tickets[1].id}",
            connection="kingdee", action="refund.create", idempotency_key=f"k{status}",
            mapping="kingdee_refund@1", status=status, attempts=3, replays=0,
            payload={"contact_mobile": MOBILE, "note": f"联系 {EMAIL}"},
            document={"FContact": "李四", "FTEL": MOBILE, "FContactPhone": MOBILE_SPACED,
                      "FNote": f"客户电话 {MOBILE}，邮箱 {EMAIL_2}"},
            error=f"vendor refused: contact {EMAIL} / {MOBILE}", error_kind="rejected",
            next_attempt_at=now, created_at=now, updated_at=now)
            for status in ("pending", "dead")]
        session.add_all(outbox)
        event = WebhookEvent(
            connection="dingtalk", event_id="evt-pii", event_type="customer_message",
            sender="user001", status="ticket", ticket_id=tickets[0].id,
            payload={"EventType": "customer_message", "Mobile": MOBILE_NUMBER, "tel": LANDLINE,
                     "contact_phone": MOBILE_SPACED, "IdNumber": ID_NUMBER,
                     "senderProfile": {"手机号码": MOBILE, "邮箱": EMAIL},
                     "text": {"content": f"我的手机 {MOBILE}，邮箱 {EMAIL_2}，"
                                         f"身份证 {ID_IN_TEXT}"}},
            error=f"could not match {EMAIL}", received_at=now, updated_at=now)
        run = Run(job="crm_customers", kind="pull", trigger="schedule", status="partial",
                  started_at=now - timedelta(seconds=5), finished_at=now, duration_ms=5000,
                  error=f"row 3: mobile {MOBILE} already used by {EMAIL}",
                  errors={"samples": [{"row": 3, "mobile": MOBILE, "email": EMAIL}]})
        article = Article(source="kb", external_id="A-PII", title="保修政策",
                          body_text=f"保修问题请联系 {EMAIL_2} 或 {MOBILE}", labels=["保修"],
                          content_hash="x", created_at=now, updated_at=now)
        session.add_all([event, run, article])
        session.flush()
        ids = {"ticket_id": [str(t.id) for t in tickets], "customer_id": [str(customer.id)],
               "run_id": [str(run.id)], "row_id": [str(row.id) for row in outbox]}
    hub.audit.record([AuditEntry(actor="api:test", action="ticket.update",
                                 target=f"ticket:{ids['ticket_id'][0]}",
                                 detail={"contact_mobile": MOBILE, "Tel": LANDLINE,
                                         "note": f"changed by {EMAIL}",
                                         "IdNumber": ID_NUMBER})])
    return ids


def _seed_import(hub: Hub, folder: Path) -> str:
    """A real import whose error report carries the planted values (a mobile as a number)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["客户编号", "客户名称", "手机号", "邮箱", "客户等级", "备注"])
    sheet.append(["C1", "张三", 13812340000, "ok@example.com", "金卡", "-"])
    sheet.append(["C2", "李四", int(MOBILE), EMAIL, "黑卡", f"身份证 {ID_NUMBER}"])
    sheet.append(["C3", "王五", LANDLINE, EMAIL_2, "黑卡", f"备用 {MOBILE_SPACED}"])
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "客户.xlsx"
    workbook.save(source)
    summary = start_import(hub, source, mapping="import_customers", options=ImportOptions(),
                           actor="test")
    done = asyncio.run(resume_import(hub, summary.id, actor="test"))
    assert done.status == "partial" and done.report_xlsx and done.report_csv, done
    return str(summary.id)


@pytest.fixture
def sweep(make_hub: Any, sqlite_url: str, crm_sandbox: Any, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Hub, FastAPI, str,
                                                            dict[str, list[str]]]]:
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    hub: Hub = make_hub(sqlite_url)
    hub.settings.imports_dir = tmp_path / "imports"
    ids = _seed_rows(hub)
    ids["import_id"] = [_seed_import(hub, tmp_path / "source")]
    ids["kind"] = ["csv", "xlsx"]
    ids["name"] = ["crm_customers", "crm"]  # a job, a connection
    ids["connection"] = ["dingtalk"]
    app = create_app(hub=hub)
    with serve(app, lifespan="on") as url:
        yield hub, app, url, ids
    hub.close()


_QUERIES = {"/customers": {"mobile": MOBILE}, "/kb/search": {"q": "保修"},
            "/tickets": {"q": "来电"}}
_PLANTED_BODY = {"subject": f"新工单 {MOBILE}", "description": f"邮箱 {EMAIL}",
                 "mobile": MOBILE, "contact_mobile": MOBILE_SPACED, "email": EMAIL_2,
                 "note": f"身份证 {ID_NUMBER}", "IdNumber": ID_NUMBER}


def _requests(app: FastAPI, ids: dict[str, list[str]]
              ) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(route template, method, concrete path, request options) for every route: reads
    first, then writes carrying planted values (answered with anything from 201 to 422)."""
    reads, writes = [], []
    for route in iter_route_contexts(app.routes):
        template = route.path or ""
        methods = sorted(getattr(route, "methods", None) or ())
        if not methods:
            continue  # the docs' static files
        paths = [template]
        for name in re.findall(r"\{([^}]+)\}", template):
            assert name in ids, f"{template}: no seeded value for {{{name}}}"
            paths = [path.replace(f"{{{name}}}", value) for path in paths
                     for value in ids[name]]
        for method in methods:
            for path in paths:
                if method in ("GET", "HEAD"):
                    reads.append((template, method, path, {"params": _QUERIES.get(template)}))
                else:
                    writes.append((template, method, path, {"json": _PLANTED_BODY}))
    yield from reads
    yield from writes


def _text(response: httpx.Response) -> str:
    media = response.headers.get("content-type", "")
    if media.startswith("application/vnd.openxmlformats"):
        workbook = load_workbook(io.BytesIO(response.content), read_only=True)
        cells = [str(cell) for sheet in workbook.worksheets
                 for row in sheet.iter_rows(values_only=True) for cell in row]
        workbook.close()
        return "\n".join(cells)
    return response.content.decode("utf-8", errors="replace")


def _walk(app: FastAPI, url: str, ids: dict[str, list[str]],
          headers: dict[str, str]) -> tuple[dict[str, str], set[str]]:
    """Every answer's decoded body by `<METHOD> <path>`, and the route templates walked."""
    bodies: dict[str, str] = {}
    walked: set[str] = set()
    with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
        for template, method, path, options in _requests(app, ids):
            response = client.request(method, path, **options)
            assert response.status_code < 500, f"{method} {path}: {response.text[:300]}"
            bodies[f"{method} {path} {response.status_code}"] = _text(response)
            walked.add(template)
    return bodies, walked


@pytest.mark.parametrize("role", ["agent", "integrator"])
def test_sweep__no_planted_value_in_any_answer_without_pii(sweep: Any, role: str) -> None:
    hub, app, url, ids = sweep
    bodies, walked = _walk(app, url, ids, api_credentials(hub, role=role, scopes=()))
    every_route = {route.path for route in iter_route_contexts(app.routes)
                   if getattr(route, "methods", None)}
    assert walked == every_route
    leaks = [f"{request}: {value!r}" for request, text in bodies.items()
             for value in PLANTED if value in text]
    assert leaks == []
    # The sweep saw the data, masked: not answers empty of it.
    if role == "agent":
        ticket = json.loads(bodies[f"GET /tickets/{ids['ticket_id'][0]} 200"])
        assert ticket["contact_mobile"] == "159****4321"
        assert ticket["subject"] == "客户 159****4321 来电投诉"
    else:
        report = bodies[f"GET /imports/{ids['import_id'][0]}/report.csv 200"]
        assert "159****4321" in report and "l***@example.org" in report


@pytest.mark.parametrize(("role", "scopes"), [("admin", ()), ("agent", ("pii",))])
def test_sweep__admin_and_pii_holder_see_the_data(sweep: Any, role: str,
                                                   scopes: tuple[str, ...]) -> None:
    hub, app, url, ids = sweep
    bodies, _ = _walk(app, url, ids, api_credentials(hub, role=role, scopes=scopes))
    seen = "\n".join(bodies.values())
    expected = VISIBLE_TO_ADMIN if role == "admin" else (MOBILE, EMAIL, EMAIL_2, ID_IN_TEXT,
                                                          LANDLINE, ID_NUMBER)
    assert [value for value in expected if value not in seen] == []
    if role == "admin":
        for kind in ("csv", "xlsx"):
            report = bodies[f"GET /imports/{ids['import_id'][0]}/report.{kind} 200"]
            assert MOBILE in report and EMAIL in report and ID_NUMBER in report


def test_sweep__the_api_description_is_never_rewritten(sweep: Any) -> None:
    hub, _app, url, _ids = sweep
    with httpx.Client(base_url=url, timeout=60) as client:
        documents = [client.get("/openapi.json", headers=api_credentials(
            hub, role=role, scopes=scopes)) for role, scopes in (("agent", ()),
                                                                  ("admin", ("pii",)))]
        anonymous = client.get("/openapi.json")
    assert documents[0].content == documents[1].content == anonymous.content
    assert '"mobile":"13812345678"' in documents[0].text  # the examples stay valid
    assert "****" not in documents[0].text
