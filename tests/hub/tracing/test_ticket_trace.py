"""One ticket, one trace, received by a real OTLP/HTTP collector on loopback: a signed DingTalk
webhook to `hub serve` (with a W3C traceparent) opens a ticket, which is enriched from the CRM,
notifies the ops robot, is resolved through the API (the same traceparent) and written to the
Kingdee sandbox as a refund bill by the outbox — by `hub outbox dispatch` (the enrichment
inline), or by a Celery `hub worker` (its default prefork pool: the work runs in a forked
child, whose exporter must still send) that `hub scheduler --executor celery` sends the jobs to
(the enrichment then from the queue, the bill from the outbox). On SQLite and PostgreSQL.
The collector must get every step in one tree with the right parents, and no secret or
personal data in any attribute."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from connectors.crm.sandbox import create_app as create_crm
from connectors.dingtalk.sandbox import EventPusher
from connectors.dingtalk.sandbox import create_app as create_dingtalk
from connectors.kingdee.sandbox import create_app as create_kingdee
from connectors.kingdee.sandbox.auth import Credentials
from connectors.sdk.sandbox import serve
from hub.access.apikeys import create_key
from hub.core.settings import Settings
from hub.runtime import Hub
from hub.store.models import Ticket

from .conftest import (
    ROOT,
    ReceivedSpan,
    Receiver,
    hub_environment,
    hub_process,
    output,
    run_hub,
    serve_hub,
    stop,
)

pytestmark = pytest.mark.slow  # a collector, sandboxes and hub processes

DT_APP_KEY = "dingtracekey01"
DT_APP_SECRET = "dt-trace-app-secret-4d2e9b"
DT_ROBOT_TOKEN = "dt-trace-robot-token-8c7d6e"
DT_ROBOT_SECRET = "SECtracerobotsecret1a2b3c4d5e6f7a8b"
DT_CALLBACK_TOKEN = "dtTraceCallbackToken5"
DT_AES_KEY = "r7M3z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs"
CRM_KEY = "crm-trace-key-3b9e1f"
REFUND = {"customer_number": "C002", "refund": {"amount": "88.50", "method": "wire"}}
MESSAGE = "我要退款，订单 8812 的净水器漏水"


@dataclass
class World:
    """The sandboxes, the store and the config every hub process of the test shares."""

    crm: Any
    dingtalk: Any
    kingdee: Any
    dingtalk_url: str
    env: dict[str, str]
    hub: Hub
    secrets: set[str]


def _config(crm_url: str, dingtalk_url: str, kingdee_url: str, *,
            queued: bool) -> dict[str, Any]:
    """The test's hub.yaml; `queued`: the enrichment is left to the queue's scheduled drain
    (no inline wait), as on the Celery executor."""
    creds = Credentials()
    enrich: dict[str, Any] = {"kind": "enrich", "connection": "crm", "mapping": "crm_customer"}
    if queued:
        enrich.update(inline_wait=0, schedule={"every": "1s"})
    return {
        "version": 1,
        "public_url": "https://hub.example.test",
        "connections": {
            "crm": {"type": "crm", "config": {"base_url": crm_url, "api_key": CRM_KEY}},
            "dingtalk": {"type": "dingtalk", "config": {
                "base_url": dingtalk_url, "app_key": DT_APP_KEY, "app_secret": DT_APP_SECRET,
                "agent_id": 3000457, "callback_token": DT_CALLBACK_TOKEN,
                "callback_aes_key": DT_AES_KEY,
                "robots": {"ops": {"access_token": DT_ROBOT_TOKEN,
                                   "secret": DT_ROBOT_SECRET}}}},
            "kingdee": {"type": "kingdee", "config": {
                "base_url": f"{kingdee_url}/k3cloud/", "acct_id": creds.acct_id,
                "username": creds.username, "auth": "password",
                "password": creds.password}},
        },
        "jobs": {
            "ticket_enrichment": enrich,
            "erp_refunds": {"kind": "writeback", "on": "refund", "connection": "kingdee",
                            "action": "refund.create", "mapping": "kingdee_refund_bill",
                            "org": "100", "schedule": {"every": "1s"}},
        },
        "webhooks": {"dingtalk": {"mapping": "dingtalk_inbound_ticket",
                                  "events": ["customer_message"]}},
        "rules": {"to_ops": {
            "when": "status == 'open'", "notify": [{"connection": "dingtalk", "robot": "ops"}],
            "message": {"kind": "card", "title": "工单 #{{ id }}", "text": "{{ subject }}"}}},
    }


@contextmanager
def _world(database_url: str, tmp_path: Path, receiver: Receiver, *, queued: bool = False,
           **settings: str) -> Iterator[World]:
    crm_app = create_crm(api_key=CRM_KEY, customers=30)
    dingtalk_app = create_dingtalk(
        app_key=DT_APP_KEY, app_secret=DT_APP_SECRET, agent_id=3000457,
        robots={DT_ROBOT_TOKEN: DT_ROBOT_SECRET},
        callback={"token": DT_CALLBACK_TOKEN, "aes_key": DT_AES_KEY, "owner_key": DT_APP_KEY},
        app_qps=None)
    kingdee_app = create_kingdee(latency_ms=0)
    with ExitStack() as stack:
        crm_url = stack.enter_context(serve(crm_app))
        dingtalk_url = stack.enter_context(serve(dingtalk_app))
        kingdee_url = stack.enter_context(serve(kingdee_app))
        config = tmp_path / "hub.yaml"
        config.write_text(json.dumps(_config(crm_url, dingtalk_url, kingdee_url,
                                             queued=queued), ensure_ascii=False),
                          encoding="utf-8")
        hub = Hub(Settings(database_url=database_url, config=config,
                           mappings_dir=ROOT / "mappings"))
        hub.upgrade_db()
        stack.callback(hub.close)
        env = hub_environment(
            HUB_DATABASE_URL=database_url, HUB_CONFIG=str(config),
            HUB_MAPPINGS_DIR=str(ROOT / "mappings"), HUB_LOG_FORMAT="json",
            HUB_LOG_LEVEL="DEBUG",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_BSP_SCHEDULE_DELAY="200",
            OTEL_SERVICE_NAME="hub-under-test",
            **{f"HUB_{name.upper()}": value for name, value in settings.items()})
        creds = Credentials()
        yield World(crm_app.state.sandbox, dingtalk_app.state.sandbox,
                    kingdee_app.state.sandbox, dingtalk_url, env, hub,
                    {CRM_KEY, DT_APP_SECRET, DT_ROBOT_TOKEN, DT_ROBOT_SECRET,
                     DT_CALLBACK_TOKEN, DT_AES_KEY, creds.password})


def _eventually(check: Any, what: str, *, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _enriched(hub: Hub) -> Ticket | None:
    with hub.sessions() as session:
        ticket = session.scalars(sa.select(Ticket)).first()
        if ticket is None or ticket.enrichment_status is None:
            return None
        session.expunge(ticket)
        return ticket


def _drive_one_ticket(world: World, tmp_path: Path, traceparent: str, *,
                      celery: bool) -> dict[str, Any]:
    """Webhook → enrichment → notify → resolve → outbox → Kingdee; what the test saw. With
    `celery`, a worker enriches the ticket from the queue and writes the bill."""
    customer = world.crm.customers[0]
    key = create_key(world.hub, name="trace test", role="admin", scopes=("pii",), actor="test")
    with ExitStack() as processes:
        if celery:
            for args in (["worker", "--concurrency", "1"],  # prefork: the default pool
                         ["scheduler", "--executor", "celery", "--tick", "0.2"]):
                processes.callback(stop, hub_process(args, world.env, cwd=tmp_path))
        ticket_id = _through_the_api(world, tmp_path, customer, key.key, traceparent)
        if celery:
            _eventually(lambda: _bills(world), "the Celery worker wrote no bill", within=90)
    if not celery:
        run_hub(["outbox", "dispatch"], world.env, cwd=tmp_path)
    assert len(_bills(world)) == 1
    logs = {name: (tmp_path / f"{name}.log").read_text(encoding="utf-8", errors="replace")
            for name in ("serve", "worker") if (tmp_path / f"{name}.log").exists()}
    return {"customer": customer, "api_key": key.key, "ticket_id": ticket_id, "logs": logs}


def _bills(world: World) -> list[dict[str, Any]]:
    return [bill for bill in world.kingdee.bills("AR_REFUNDBILL")
            if str(bill["FBILLNO"]).startswith("TK")]


def _through_the_api(world: World, tmp_path: Path, customer: dict[str, Any], key: str,
                     traceparent: str) -> int:
    """`hub serve`: the signed webhook, its enrichment and notify send, the resolve call —
    the webhook and the resolve call with the caller's traceparent. The ticket's id."""
    pusher = EventPusher(token=DT_CALLBACK_TOKEN, aes_key=DT_AES_KEY, owner_key=DT_APP_KEY)
    event = {"EventType": "customer_message", "msgId": f"m-{uuid.uuid4().hex[:8]}",
             "senderStaffId": "user-trace-1", "mobile": customer["contact"]["mobile"],
             "text": {"content": MESSAGE}}
    query, body = pusher.build(event)
    world.secrets.update(str(value) for value in query.values())  # signature, nonce, time
    headers = {"traceparent": traceparent}
    serve_process, url = serve_hub(world.env, cwd=tmp_path)
    try:
        pushed = httpx.post(f"{url}/webhooks/dingtalk", params=query, content=body,
                            headers={**headers, "Content-Type": "application/json"}, timeout=30)
        assert pushed.status_code == 200, output(serve_process, tmp_path)
        _eventually(lambda: _enriched(world.hub) is not None, "the ticket was not enriched")
        _eventually(lambda: world.dingtalk.robots[DT_ROBOT_TOKEN].posted, "no robot post")
        ticket = _enriched(world.hub)
        assert ticket is not None and ticket.enrichment_status == "enriched"
        resolved = httpx.post(f"{url}/tickets/{ticket.id}/resolve", json=REFUND,
                              headers={**headers, "Authorization": f"Bearer {key}"},
                              timeout=30)
        assert resolved.status_code == 200, resolved.text
        return ticket.id
    finally:
        stop(serve_process)


def _check_tree(spans: list[ReceivedSpan], root_parent: str) -> dict[str, ReceivedSpan]:
    """One tree under the caller's span: every parent is the caller or a received span."""
    by_id = {span.span_id: span for span in spans}
    assert len(by_id) == len(spans)
    for span in spans:
        assert span.parent_id == root_parent or span.parent_id in by_id, span
    return by_id


def _ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[str]:
    names = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        names.append(span.name)
    return names


def _one(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, (name, [span.name for span in spans])
    return found[0]


def _assert_no_secret(receiver: Receiver, forbidden: set[str]) -> None:
    with receiver.lock:
        everything = [(span.name, key, str(value)) for span in receiver.spans
                      for key, value in span.attributes.items()]
    assert everything
    for name, key, value in everything:
        for secret in forbidden:
            assert secret not in value, (name, key)


def _run(world: World, receiver: Receiver, tmp_path: Path, *, celery: bool) -> None:
    trace_id, caller = secrets.token_hex(16), secrets.token_hex(8)
    seen = _drive_one_ticket(world, tmp_path, f"00-{trace_id}-{caller}-01", celery=celery)
    wanted = {"POST /webhooks/{connection}", "webhook.receive", "enrichment.enrich",
              "notify.send", "POST /tickets/{ticket_id}/resolve", "ticket.resolve",
              "outbox.write"}
    receiver.wait_for(lambda: wanted <= {s.name for s in receiver.trace(trace_id)} and any(
        s.attributes.get("hub.connector") == "kingdee" for s in receiver.trace(trace_id)))
    spans = receiver.trace(trace_id)
    by_id = _check_tree(spans, caller)
    webhook, resolve = _one(spans, "POST /webhooks/{connection}"), _one(
        spans, "POST /tickets/{ticket_id}/resolve")
    assert webhook.parent_id == caller and resolve.parent_id == caller
    assert webhook.attributes["http.response.status_code"] == 200
    assert _one(spans, "webhook.receive").parent_id == webhook.span_id
    assert _one(spans, "webhook.receive").attributes["hub.outcome"] == "ticket"
    enrich = _one(spans, "enrichment.enrich")
    if celery:  # through the enrichment queue's row, in the worker
        assert enrich.parent_id == _one(spans, "webhook.receive").span_id
    else:  # inline, once the vendor was answered
        assert enrich.parent_id == webhook.span_id
    assert enrich.attributes == {"hub.ticket_id": seen["ticket_id"], "hub.outcome": "enriched"}
    crm = [s for s in spans if s.attributes.get("hub.connector") == "crm"]
    assert crm and all("enrichment.enrich" in _ancestors(s, by_id) for s in crm)
    notify = _one(spans, "notify.send")
    assert notify.attributes["hub.outcome"] == "sent" and webhook.name in _ancestors(
        notify, by_id)
    robot = [s for s in spans if s.attributes.get("hub.connection") == "dingtalk"
             and s.parent_id == notify.span_id]
    assert robot and robot[0].attributes["hub.outcome"] == "ok"
    resolving = _one(spans, "ticket.resolve")
    assert resolving.parent_id == resolve.span_id
    write = _one(spans, "outbox.write")
    assert write.parent_id == resolving.span_id  # through the outbox row
    assert write.attributes["hub.connection"] == "kingdee"
    kingdee = [s for s in spans if s.attributes.get("hub.connector") == "kingdee"]
    assert kingdee and all("outbox.write" in _ancestors(s, by_id) for s in kingdee)
    for call in kingdee:
        assert call.attributes["hub.connection"] == "kingdee"
        assert call.attributes["hub.outcome"] == "ok" and call.attributes["hub.retries"] == 0
        assert set(call.attributes) <= {
            "hub.connector", "hub.connection", "hub.operation", "hub.outcome",
            "hub.retries", "http.request.method", "http.response.status_code"}
    assert {s.service for s in spans} == {"hub-under-test"}
    customer = seen["customer"]
    _assert_no_secret(receiver, world.secrets | {
        seen["api_key"], customer["contact"]["mobile"], customer["name"], MESSAGE,
        *world.dingtalk.issued})
    _check_logs(seen["logs"], trace_id, celery=celery)


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            found = json.loads(line)
        except ValueError:
            continue  # Celery's own start-up banner
        if isinstance(found, dict):
            lines.append(found)
    return lines


def _check_logs(logs: dict[str, str], trace_id: str, *, celery: bool) -> None:
    """`hub serve`'s access lines and the JSON log lines of the ticket's work (the SDK's
    DEBUG line of each vendor call: CRM and DingTalk, in `hub serve` or the worker; Kingdee
    too in the worker) carry its trace id."""
    access = [line for line in _json_lines(logs["serve"]) if line.get("event") == "access"]
    assert [line["trace_id"] for line in access if line["method"] == "POST"] == [trace_id] * 2
    calls = [line for line in _json_lines(logs["worker" if celery else "serve"])
             if line.get("logger") == "connectors.http"]
    assert calls and {line.get("trace_id") for line in calls} == {trace_id}
    if celery:
        assert any("refund.create.save" in line["message"] for line in calls)


def test_one_ticket_is_one_trace__webhook_to_erp_bill(
        database_url: str, tmp_path: Path, otlp_receiver: Receiver) -> None:
    with _world(database_url, tmp_path, otlp_receiver) as world:
        _run(world, otlp_receiver, tmp_path, celery=False)


@pytest.mark.postgres
def test_one_ticket_is_one_trace__through_the_celery_executor(
        postgres_url: str, redis_url: str, tmp_path: Path, otlp_receiver: Receiver) -> None:
    queue = f"hub-trace-{uuid.uuid4().hex[:8]}"
    with _world(postgres_url, tmp_path, otlp_receiver, queued=True, broker_url=redis_url,
                celery_queue=queue) as world:
        _run(world, otlp_receiver, tmp_path, celery=True)
        celery_tasks = [s for s in otlp_receiver.spans if s.name == "celery hub.job"]
        assert celery_tasks, otlp_receiver.names()
        submits = {s.span_id for s in otlp_receiver.spans if s.name == "job.submit"}
        assert any(task.parent_id in submits for task in celery_tasks)
