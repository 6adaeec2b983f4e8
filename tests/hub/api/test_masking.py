"""Field-level masking: the rules of hub.yaml's `api.masking`, applied to every JSON response
of a caller without the `pii` scope; admins and `pii` holders see the data as stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from connectors.sdk.sandbox import serve
from hub.access.masking import FieldMasker, mask_as, mask_personal_text
from hub.api.masking import MaskingMiddleware
from hub.api.principal import Principal
from hub.config import HubConfig, MaskingSpec
from hub.core.field_names import normalise_field_name
from hub.core.settings import Settings
from hub.runtime import Hub
from hub.store.models import WebhookEvent

MOBILE, EMAIL, ID_NUMBER = "13812345678", "zhang.wei@example.com", "110101199001011234"


@pytest.mark.parametrize(("kind", "value", "masked"), [
    ("mobile", MOBILE, "138****5678"),
    ("mobile", "+86 138-1234-5678", "138****5678"),
    ("mobile", 13812345678, "138****5678"),
    ("email", EMAIL, "z***@example.com"),
    ("email", "not-an-email", "n***"),
    ("id_number", ID_NUMBER, "110101********1234"),
    ("id_number", "11010119900101123x", "110101********123X"),
    ("name", "张三", "张*"),
    ("name", "欧阳娜娜", "欧***"),
    ("mobile", None, None),
    ("mobile", "", ""),
    ("mobile", [MOBILE, None], ["138****5678", None]),
])
def test_mask_as__each_kind(kind: str, value: Any, masked: Any) -> None:
    assert mask_as(kind, value) == masked


def test_masker__fields_at_any_depth_and_values_in_free_text() -> None:
    masker = FieldMasker(MaskingSpec().by_kind())
    document = {"contact_mobile": MOBILE, "subject": f"回电 {MOBILE}", "id": 13812345678,
                "customer": {"mobile": MOBILE, "email": EMAIL, "name": "张三",
                             "attributes": {"id_number": ID_NUMBER}},
                "events": [{"payload": {"mobile": MOBILE, "text": "hello"}}]}
    masked = json.loads(masker.mask_body(json.dumps(document).encode()) or b"")
    assert masked["contact_mobile"] == "138****5678"
    assert masked["subject"] == "回电 138****5678"  # free text: by value
    assert masked["id"] == 13812345678  # a JSON number is an id or a count, never text
    assert masked["customer"] == {"mobile": "138****5678", "email": "z***@example.com",
                                  "name": "张三", "attributes": {"id_number":
                                                                "110101********1234"}}
    assert masked["events"][0]["payload"] == {"mobile": "138****5678", "text": "hello"}


def test_masker__body_without_a_configured_key_is_not_parsed() -> None:
    masker = FieldMasker(MaskingSpec().by_kind())
    assert masker.mask_body(b'{"subject": "mobile"}') is None  # a value, not a key
    assert masker.mask_body(b'{"mobile": null}') is None  # nothing to hide: unchanged
    assert masker.mask_body(b'{"mobile": "1380000') is None  # not JSON: left alone
    assert masker.mask_body(b'{"at": "2026-11-03T10:15:30.123456Z", "id": 7}') is None


def test_masker__a_personal_name_alone_is_enough_to_look_inside() -> None:
    masker = FieldMasker(MaskingSpec().by_kind())
    for document in ({"Tel": "010 8888 7777"}, {"手机": "010 8888 7777"}):
        for ascii_only in (True, False):  # CJK names written as \\uXXXX escapes too
            body = json.dumps(document, ensure_ascii=ascii_only).encode()
            assert json.loads(masker.mask_body(body) or b"null") == {
                next(iter(document)): "010******7777"}


@pytest.mark.parametrize(("name", "normalised"), [
    ("IdNumber", "id_number"), ("IDNumber", "id_number"), ("contactPhone", "contact_phone"),
    ("Contact-Phone", "contact_phone"), ("CONTACT_PHONE", "contact_phone"), ("FTEL", "ftel"),
    ("e-mail", "e_mail"), ("手机号码", "手机号码"),
])
def test_normalise_field_name(name: str, normalised: str) -> None:
    assert normalise_field_name(name) == normalised


@pytest.mark.parametrize(("field", "value", "masked"), [
    # configured names, in any case or spelling: any value
    ("Mobile", 13812345678, "138****5678"),
    ("MOBILE", "n/a", "n**"),
    ("IdNumber", ID_NUMBER, "110101********1234"),
    ("Contact-Email", "ZHANG@example.com", "Z***@example.com"),
    # names that look personal: a value that could be one
    ("tel", "0755-86013388", "075******3388"),
    ("contact_phone", "+86 138 1234 5678", "138****5678"),
    ("home_tel2", "0755 8601 3388", "075*******3388"),
    ("手机", "138 1234 5678", "138****5678"),
    ("联系电话", "010-88887777", "010*****7777"),
    ("邮箱", "li@example.org", "l***@example.org"),
    ("身份证号", "440305851231002", "440305*****1002"),
    ("idCard", "44030519851231002X", "440305********002X"),
    ("e_mail", "zhang@example.com", "z***@example.com"),
    ("senderTel", "13812345678", "138****5678"),
    # ...and what is about the value, or not personal at all, stays
    ("phone_count", 3, 3), ("email_verified", True, True), ("email_sent_at",
     "2026-11-03T10:15:30.123456+00:00", "2026-11-03T10:15:30.123456+00:00"),
    ("phone_type", "work", "work"), ("email_status", "sent", "sent"),
    ("hotel", "13 Nanjing Rd 20001", "13 Nanjing Rd 20001"),
    ("title", "telemetry 200", "telemetry 200"), ("order_id", 13812345678, 13812345678),
])
def test_masker__by_normalised_name(field: str, value: Any, masked: Any) -> None:
    masker = FieldMasker(MaskingSpec().by_kind())
    document = {"outer": [{field: value}]}
    masker.mask_in_place(document)
    assert document["outer"][0][field] == masked


@pytest.mark.parametrize(("text", "masked"), [
    ("客户 13812345678 来电", "客户 138****5678 来电"),
    ("请回电13812345678。", "请回电138****5678。"),
    ("+86 138-1234-5678", "138****5678"),
    ("(0086)138 1234 5678", "(0086)138****5678"),
    ("tel:+8613812345678;", "tel:138****5678;"),
    ("mail zhang.wei@example.com.", "mail z***@example.com."),
    ("13812345678@163.com", "1***@163.com"),  # an email named after a mobile: one email
    ("身份证 11010119900101123x 已核验", "身份证 110101********123X 已核验"),
    # numbers that only contain the digits stay whole
    ("order 20241103138123456789", "order 20241103138123456789"),
    ("SO13812345678", "SO13812345678"),
    ("13812345678901", "13812345678901"),
    ("1738123456789", "1738123456789"),  # a timestamp in milliseconds
    ("2026-11-03T10:15:30.123456+00:00", "2026-11-03T10:15:30.123456+00:00"),
    ("amount 13812345678.50", "amount 13812345678.50"),
    ("serial 138-1234-5678-0001", "serial 138-1234-5678-0001"),
    ("batch 202411031234567890", "batch 202411031234567890"),  # no birth date inside
    ("/imports/3/report.xlsx?cursor=MTM4MTIzNDU2Nzg", "/imports/3/report.xlsx?cursor="
                                                      "MTM4MTIzNDU2Nzg"),
])
def test_mask_personal_text__whole_values_only(text: str, masked: str) -> None:
    assert mask_personal_text(text) == masked


def test_config__rules_default_and_a_field_under_two_kinds_is_refused() -> None:
    assert HubConfig().api.masking.mobile[:2] == ["contact_mobile", "mobile"]
    with pytest.raises(ValueError, match="'mobile' is listed under both mobile and email"):
        MaskingSpec(email=["mobile"])
    with pytest.raises(ValueError, match="'Sender-Mobile' is listed under both mobile and"):
        MaskingSpec(email=["Sender-Mobile"])  # senderMobile, however it is written


def test_config__hub_yaml_defines_the_rules(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_API_KEY", "unused")
    root = Path(__file__).resolve().parents[3]
    rules = Hub(Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}",
                         config=root / "configs/hub.yaml",
                         mappings_dir=root / "mappings")).config.hub.api.masking
    assert {"contact_mobile", "mobile"} <= set(rules.mobile)
    assert {"contact_email", "email"} <= set(rules.email)
    assert {"id_number", "id_card"} <= set(rules.id_number)


# The middleware on a tiny app, with the caller's principal injected as require_area does.

def _principal(request: Request) -> None:
    role = request.headers.get("x-role")
    if role:
        scopes = request.headers.get("x-scopes", "")
        request.state.principal = Principal(subject="t", roles=frozenset({role}),
                                            scopes=frozenset(filter(None, scopes.split(","))))


def _tiny_app() -> FastAPI:
    app = FastAPI(dependencies=[Depends(_principal)])
    app.add_middleware(MaskingMiddleware, masker=FieldMasker(MaskingSpec().by_kind()))
    record = {"id": 1, "contact_mobile": MOBILE,
              "customer": {"mobile": MOBILE, "email": EMAIL, "id_card": ID_NUMBER}}

    @app.get("/record")
    def _record() -> dict[str, Any]:
        return record

    @app.get("/text", response_class=PlainTextResponse)
    def _text() -> str:
        return f'{{"mobile": "{MOBILE}"}}'

    @app.get("/stream")
    def _stream() -> StreamingResponse:
        return StreamingResponse(iter([b'{"mobile": "', MOBILE.encode(), b'"}']),
                                 media_type="application/json")

    @app.get("/problem")
    def _problem() -> Any:
        from fastapi.responses import JSONResponse
        return JSONResponse({"type": "x", "detail": "dup", "mobile": MOBILE},
                            status_code=409, media_type="application/problem+json")

    return app


@contextmanager
def _tiny() -> Iterator[httpx.Client]:
    with serve(_tiny_app()) as url, httpx.Client(base_url=url) as client:
        yield client


@pytest.mark.parametrize(("role", "scopes", "masked"), [
    ("agent", "", True), ("integrator", "", True), (None, "", True),
    ("agent", "pii", False), ("admin", "", False),
])
def test_middleware__by_role_and_scope(role: str | None, scopes: str, masked: bool) -> None:
    headers = {"x-role": role, "x-scopes": scopes} if role else {}
    with _tiny() as api:
        response = api.get("/record", headers=headers)
    body = response.json()
    assert int(response.headers["content-length"]) == len(response.content)
    if masked:
        assert body == {"id": 1, "contact_mobile": "138****5678",
                        "customer": {"mobile": "138****5678", "email": "z***@example.com",
                                     "id_card": "110101********1234"}}
        assert MOBILE not in response.text and EMAIL not in response.text
    else:
        assert body["contact_mobile"] == MOBILE and body["customer"]["email"] == EMAIL


def test_middleware__problem_json_and_text_masked_streams_untouched() -> None:
    with _tiny() as api:
        problem = api.get("/problem", headers={"x-role": "agent"})
        text = api.get("/text", headers={"x-role": "agent"})
        stream = api.get("/stream", headers={"x-role": "agent"})
    assert problem.status_code == 409 and problem.json()["mobile"] == "138****5678"
    assert problem.headers["content-type"] == "application/problem+json"
    assert text.text == '{"mobile": "138****5678"}'  # plain text: personal values masked
    assert int(text.headers["content-length"]) == len(text.content)
    assert stream.json() == {"mobile": MOBILE}  # streamed: passed through


# Through the hub's API, per role.

def _ticket(api: httpx.Client, crm_sandbox: Any) -> tuple[int, dict[str, Any]]:
    vendor = crm_sandbox.state.customers[3]
    mobile = vendor["contact"]["mobile"]
    created = api.post("/tickets", json={"subject": "洗碗机不出水", "contact_mobile": mobile})
    assert created.status_code == 201, created.text
    return created.json()["id"], vendor


def _event(hub: Hub, mobile: str) -> None:
    now = datetime.now(UTC)
    with hub.sessions.begin() as session:
        session.add(WebhookEvent(connection="dingtalk", event_id="evt-1",
                                 event_type="customer_message", sender="user001",
                                 status="ticket", payload={"EventType": "customer_message",
                                                           "mobile": mobile,
                                                           "email": EMAIL},
                                 received_at=now, updated_at=now))


def _readings(api: httpx.Client, ticket_id: int) -> tuple[dict[str, Any], dict[str, Any],
                                                        dict[str, Any]]:
    ticket = api.get(f"/tickets/{ticket_id}")
    assert ticket.status_code == 200, ticket.text
    customer = api.get(f"/customers/{ticket.json()['customer_id']}")
    assert customer.status_code == 200, customer.text
    events = api.get("/webhook-events")
    assert events.status_code in (200, 403), events.text
    return ticket.json(), customer.json(), events.json() if events.status_code == 200 else {}


def test_api__agent_without_pii_sees_masked_data(hub: Hub, crm_sandbox: Any,
                                                 api_client: Any) -> None:
    with api_client(hub, role="agent", scopes=()) as api:
        ticket_id, vendor = _ticket(api, crm_sandbox)
        ticket, customer, _ = _readings(api, ticket_id)
    mobile = vendor["contact"]["mobile"]
    masked = mask_as("mobile", mobile)
    assert ticket["contact_mobile"] == masked
    assert ticket["customer"]["mobile"] == masked
    assert customer["mobile"] == masked
    assert mobile not in json.dumps([ticket, customer], ensure_ascii=False)


def test_api__webhook_payloads_are_masked_for_a_caller_without_pii(
        hub: Hub, api_client: Any) -> None:
    _event(hub, MOBILE)
    with api_client(hub, role="integrator", scopes=()) as api:
        events = api.get("/webhook-events")
    assert events.status_code == 200, events.text
    [event] = events.json()["items"]
    assert event["payload"]["mobile"] == "138****5678"
    assert event["payload"]["email"] == "z***@example.com"
    assert MOBILE not in events.text


@pytest.mark.parametrize(("role", "scopes"), [("agent", ("pii",)), ("admin", ())])
def test_api__pii_scope_or_admin_sees_data_unmasked(hub: Hub, crm_sandbox: Any,
                                                    api_client: Any, role: str,
                                                    scopes: tuple[str, ...]) -> None:
    _event(hub, MOBILE)
    with api_client(hub, role=role, scopes=scopes) as api:
        ticket_id, vendor = _ticket(api, crm_sandbox)
        ticket, customer, events = _readings(api, ticket_id)
    mobile = vendor["contact"]["mobile"]
    assert ticket["contact_mobile"] == mobile
    assert ticket["customer"]["mobile"] == mobile
    assert customer["mobile"] == mobile
    assert customer["email"] == vendor["contact"]["email"]
    if role == "admin":  # an agent may not list webhook events at all
        assert events["items"][0]["payload"]["mobile"] == MOBILE
