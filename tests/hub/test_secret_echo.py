"""Vendors that echo credentials back never make them show: planted secrets and every value the
SDK derives or fetches from them (Basic credentials, app tokens, robot signatures, session
ids, signed headers) stay out of CLI output, logs, run rows, audit rows and errors.

Real sandboxes over loopback, each behind `CredentialEcho`: a request to an armed path is
answered with an error that repeats the request's credentials in every form a vendor might
use (headers, JSON with `"Authorization": "Basic …"`, JSON escapes `\\/` and `\\u002b`, the
query string as sent and decoded, percent-encoded again, `Set-Cookie`). The wrapper also
notes every credential it saw travel, so the test greps for what was really sent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import pytest
import sqlalchemy as sa
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import cli
from connectors.confluence.sandbox import create_app as confluence_sandbox
from connectors.dingtalk.sandbox import create_app as dingtalk_sandbox
from connectors.kingdee.sandbox import create_app as kingdee_sandbox
from connectors.kingdee.sandbox.auth import Credentials
from connectors.sdk import ConnectorError
from connectors.sdk.messaging import Message as Notice
from connectors.sdk.sandbox import serve
from connectors.wecom.sandbox import create_app as wecom_sandbox
from hub.core.settings import Settings
from hub.runtime import Hub
from hub.store.models import AuditRecord, Run

ROOT = Path(__file__).resolve().parents[2]

# Planted secrets. The Confluence token makes a Basic value with both `+` and `/` in it.
KB_EMAIL = "kb-bot@example.com"
KB_TOKEN = "kb-tok->aa?>?-planted"
KD_PASSWORD = "Kd-planted-pw-2026!"
KD_APP_ID = "300123_VlFeUUtQVV4GWEYeR1ZUSgdEFFJTBFAG"
KD_APP_SECRET = "0123456789abcdef0123456789abcdef"
DT_APP_SECRET = "dt-planted-app-secret-77aa"
DT_ROBOT_TOKEN = "dt-planted-robot-token-31"
DT_ROBOT_SECRET = "SECplanted0robot0signing0secret0abc"
WC_SECRET = "wc-planted-corp-secret-5e5e"
PLANTED = [KB_TOKEN, KD_PASSWORD, KD_APP_SECRET, DT_APP_SECRET, DT_ROBOT_TOKEN,
           DT_ROBOT_SECRET, WC_SECRET]

# Where credentials travel: header names, query/body fields, response fields.
_HEADERS = ("authorization", "cookie", "kdservice-sessionid", "x-acs-dingtalk-access-token",
            "x-api-signature", "x-kd-signature")
_FIELDS = ("access_token", "sign", "password", "appsecret", "corpsecret", "kdsvcsessionid",
           "sessionid", "usertoken", "key", "signature")


@dataclass
class CredentialEcho:
    """Wraps a sandbox: requests whose path contains an armed fragment are answered with
    `status` and an error echoing their credentials; every credential seen is noted."""

    app: ASGIApp
    armed: dict[str, int] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    echoed: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self._note_request(scope, body)
        status = next((s for fragment, s in self.armed.items() if fragment in scope["path"]),
                      None)
        if status is not None:
            self.echoed += 1
            await self._echo(scope, body, status, send)
            return

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                for name, value in message.get("headers", []):
                    if name.lower() == b"set-cookie":
                        self._note(value.decode().split(";", 1)[0].split("=", 1)[-1])
            elif message["type"] == "http.response.body":
                self._note_json(message.get("body", b""))
            await send(message)

        await self.app(scope, replay, watch)

    def _note(self, value: Any) -> None:
        if isinstance(value, str) and len(value) >= 8:
            self.seen.add(value)

    def _note_json(self, raw: bytes) -> None:
        try:
            value = json.loads(raw or b"null")
        except ValueError:
            return
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for key, inner in item.items():
                    if key.lower() in _FIELDS:
                        self._note(inner)
                    stack.append(inner)
            elif isinstance(item, list):
                stack.extend(item)

    def _note_request(self, scope: Scope, body: bytes) -> None:
        for name, value in _headers(scope).items():
            if name.lower() in _HEADERS:
                self._note(value)
                self._note(value.split(" ", 1)[-1])  # the credential after its scheme
                for cookie in value.split(";"):
                    self._note(cookie.strip().split("=", 1)[-1])
        for name, value in parse_qsl(scope["query_string"].decode()):
            if name.lower() in _FIELDS:
                self._note(value)
        self._note_json(body)

    async def _echo(self, scope: Scope, body: bytes, status: int, send: Send) -> None:
        headers = _headers(scope)
        query = scope["query_string"].decode()
        as_json = json.dumps(headers)
        cookies = [c.strip() for c in headers.get("cookie", "").split(";") if c.strip()]
        text = "; ".join([
            "refused these credentials",
            f"headers {as_json}",
            as_json.replace("/", "\\/").replace("+", "\\u002b"),
            "\n".join(f"{name}: {value}" for name, value in headers.items()),
            f"url {scope['path']}?{query}",
            f"query {unquote(query)}",
            f"encoded {quote(query, safe='')}",
            f"body {body.decode(errors='replace')}",
            *(f"Set-Cookie: {cookie}; Path=/" for cookie in cookies),
        ])
        payload = json.dumps({"code": "ECHO", "errcode": 60011, "message": text, "errmsg": text,
                              "msg": text, "request": {"headers": headers, "query": query}})
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"),
            *((b"set-cookie", f"{cookie}; Path=/".encode()) for cookie in cookies)]})
        await send({"type": "http.response.body", "body": payload.encode()})


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in scope["headers"]}


def forms(secret: str) -> set[str]:
    """The ways a vendor may write a secret back: raw, JSON-escaped, percent-encoded, Base64."""
    escaped = json.dumps(secret)[1:-1]
    return {secret, escaped.replace("/", "\\/"), escaped.replace("+", "\\u002b"),
            quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}


@dataclass
class Vendors:
    kb: CredentialEcho
    kingdee: CredentialEcho
    dingtalk: CredentialEcho
    wecom: CredentialEcho
    kingdee_state: Any

    def credentials(self) -> set[str]:
        found = set(PLANTED) | set(self.kingdee_state.sessions.ever_issued)
        for echo in (self.kb, self.kingdee, self.dingtalk, self.wecom):
            found |= echo.seen
        return found


HUB_YAML = """
connections:
  kb:
    type: confluence
    config: {{base_url: "{kb}", email: "{kb_email}", api_token: "{kb_token}", space_key: KB,
             max_attempts: 2}}
  kingdee:
    type: kingdee
    config: {{base_url: "{kingdee}/k3cloud/", acct_id: "65f1a2b3c4d5e6", username: webapi,
             auth: password, password: "{kd_password}"}}
  kingdee_signed:
    type: kingdee
    config: {{base_url: "{kingdee}/k3cloud/", acct_id: "65f1a2b3c4d5e6", username: webapi,
             auth: signed_headers, app_id: "{kd_app_id}", app_secret: "{kd_app_secret}"}}
  dingtalk:
    type: dingtalk
    config:
      base_url: "{dingtalk}"
      app_key: dingsandboxkey
      app_secret: "{dt_app_secret}"
      agent_id: 1000001
      robots: {{ops: {{access_token: "{dt_robot_token}", secret: "{dt_robot_secret}"}}}}
  wecom:
    type: wecom
    config: {{base_url: "{wecom}", corp_id: ww1234567890abcdef, corp_secret: "{wc_secret}",
             agent_id: 1000002}}
jobs:
  kb_articles:
    kind: pull
    connection: kb
    stream: articles
    mapping: confluence_article
    target: articles
  kingdee_customers:
    kind: pull
    connection: kingdee
    stream: customers
    mapping: kingdee_customer
  kingdee_signed_customers:
    kind: pull
    connection: kingdee_signed
    stream: customers
    mapping: kingdee_customer
"""


@pytest.fixture
def vendors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Vendors]:
    kingdee_app = kingdee_sandbox(latency_ms=0, credentials=Credentials(password=KD_PASSWORD))
    echoes = {
        "kb": CredentialEcho(confluence_sandbox(email=KB_EMAIL, api_token=KB_TOKEN)),
        "kingdee": CredentialEcho(kingdee_app),
        "dingtalk": CredentialEcho(dingtalk_sandbox(
            app_secret=DT_APP_SECRET, robots={DT_ROBOT_TOKEN: DT_ROBOT_SECRET})),
        "wecom": CredentialEcho(wecom_sandbox(corp_secret=WC_SECRET)),
    }
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve(echo)) for name, echo in echoes.items()}
        config = tmp_path / "hub.yaml"
        config.write_text(HUB_YAML.format(
            **urls, kb_email=KB_EMAIL, kb_token=KB_TOKEN, kd_password=KD_PASSWORD,
            kd_app_id=KD_APP_ID, kd_app_secret=KD_APP_SECRET, dt_app_secret=DT_APP_SECRET,
            dt_robot_token=DT_ROBOT_TOKEN, dt_robot_secret=DT_ROBOT_SECRET,
            wc_secret=WC_SECRET), encoding="utf-8")
        monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
        monkeypatch.setenv("HUB_CONFIG", str(config))
        monkeypatch.setenv("HUB_MAPPINGS_DIR", str(ROOT / "mappings"))
        monkeypatch.setenv("HUB_LOG_FORMAT", "json")
        monkeypatch.setenv("HUB_LOG_LEVEL", "DEBUG")
        monkeypatch.setenv("COLUMNS", "400")  # each run's console reads it
        yield Vendors(kingdee_state=kingdee_app.state.sandbox, **echoes)


async def _messaging_errors(hub: Hub) -> list[str]:
    """DingTalk and WeCom calls made with a freshly fetched app token / robot signature, each
    answered by an echo; returns the errors as a caller would show them."""
    shown: list[str] = []
    calls = [("dingtalk", lambda c: c.user_id_by_mobile("13800000001")),
             ("dingtalk", lambda c: c.post("ops", Notice("text", "", "hi"))),
             ("wecom", lambda c: c.user_id_for_mobile("13800000001"))]
    for connection, call in calls:
        async with hub.connector(connection, actor="test:echo") as connector:
            try:
                await call(connector)
            except ConnectorError as exc:
                shown += [str(exc), repr(exc)]
                logging.getLogger("hub.notify").warning("send failed: %s", exc)
    return shown


def test_echoed_credentials__never_shown(
    vendors: Vendors, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    vendors.kb.armed.update({"/content/search": 503,  # retried: several audit rows per failure
                             "/rest/api/space": 401})
    vendors.kingdee.armed["ExecuteBillQuery"] = 400
    vendors.dingtalk.armed.update({"getbymobile": 400, "/robot/send": 400})
    vendors.wecom.armed["getuserid"] = 400

    outputs: list[tuple[str, str]] = []
    for args in (["connectors", "check", "kb"], ["sync", "run", "kb_articles"],
                 ["sync", "run", "kingdee_customers"],
                 ["sync", "run", "kingdee_signed_customers"]):
        code = cli.main(args)
        captured = capsys.readouterr()
        outputs.append((" ".join(args), f"{code}\n{captured.out}\n{captured.err}"))
        assert code != 0, f"hub {' '.join(args)} should have failed on the echo"

    hub = Hub(Settings())
    try:
        outputs += [("error", text) for text in asyncio.run(_messaging_errors(hub))]
    finally:
        hub.close()
    for args in (["runs", "list"], ["audit", "tail", "-n", "200"]):
        assert cli.main(args) == 0
        captured = capsys.readouterr()
        outputs.append((" ".join(args), captured.out + captured.err))
    hub = Hub(Settings())
    with hub.sessions() as session:
        runs = session.scalars(sa.select(Run)).all()
        audit = session.scalars(sa.select(AuditRecord)).all()
        outputs += [(f"runs.error {r.id}", f"{r.error} {r.errors}") for r in runs]
        outputs += [(f"audit row {r.seq}", f"{r.target} {json.dumps(r.detail)}") for r in audit]
    hub.close()
    outputs += [(f"log record {r.name}", r.getMessage()) for r in caplog.records]

    credentials = vendors.credentials()
    basic = base64.b64encode(f"{KB_EMAIL}:{KB_TOKEN}".encode()).decode()
    assert "+" in basic and "/" in basic and basic in credentials
    assert all(e.echoed for e in (vendors.kb, vendors.kingdee, vendors.dingtalk, vendors.wecom))
    assert len([r for r in runs if r.error]) == 3 and len(audit) >= 7
    assert vendors.kingdee_state.sessions.ever_issued
    assert len(credentials) > len(PLANTED) + 4  # tokens, signatures, sessions were seen
    leaks = [f"{where}: …{text[max(0, at - 60):at + len(form) + 20]!r}…"
             for where, text in outputs for secret in credentials for form in forms(secret)
             if (at := text.find(form)) >= 0]
    assert not leaks, f"{len(leaks)} leaks, e.g.\n" + "\n".join(leaks[:12])
