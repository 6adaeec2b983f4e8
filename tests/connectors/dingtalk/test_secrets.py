"""No token, secret, AES key or signature in logs, CallRecords, errors, reprs or results."""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from connectors.dingtalk.sandbox.crypto import robot_sign
from connectors.sdk import ConnectorError
from connectors.sdk.crypto import MemoryNonceStore
from connectors.sdk.http import CallRecord
from connectors.sdk.messaging import Message, Recipient
from connectors.sdk.testing import capture_logs

WRONG_ROBOT_SECRET = "SECwrong0000000000000000000000000000beef"
FORGED = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"


def shown_error(where: str, exc: ConnectorError) -> list[tuple[str, str]]:
    chain = "".join(traceback.format_exception(exc))
    return [(where, str(exc)), (where, repr(exc)), (f"{where} traceback", chain)]


async def test_secrets__never_shown_on_any_path(sandbox: Any) -> None:
    now = time.time()
    stamp = str(int(now * 1000))
    shown: list[tuple[str, str]] = []
    signatures: set[str] = {robot_sign(sandbox.robot_secret, stamp),
                            robot_sign(WRONG_ROBOT_SECRET, stamp), FORGED}
    with capture_logs() as records:
        async with sandbox.connector(clock=lambda: now) as dingtalk:
            shown += [("repr(connector)", repr(dingtalk)), ("repr(config)", repr(dingtalk.config)),
                      ("str(config)", str(dingtalk.config)), ("repr(auth)", repr(dingtalk.auth())),
                      ("repr(tokens)", repr(dingtalk.tokens))]
            shown.append(("check()", repr(await dingtalk.check())))
            delivery = await dingtalk.notify(Message("card", "工单", "退款", url="https://t/1"),
                                             to=[Recipient.by_mobile("13800000001")])
            sandbox.state.expire_tokens()
            shown.append(("follow_up()", repr(await dingtalk.follow_up(delivery))))
            shown.append(("post()", repr(await dingtalk.post("ops", Message("text", "", "hi")))))
            nonces = MemoryNonceStore()
            query, body = sandbox.pusher.build({"EventType": "device_alarm", "text": "告警"})
            signatures.add(query["msg_signature"])
            event, _reply = await dingtalk.open_webhook(method="POST", query=query, body=body,
                                                        nonces=nonces)
            shown.append(("event", repr(event)))
            for where, call in [
                ("replayed push", dingtalk.open_webhook(method="POST", query=query, body=body,
                                                        nonces=nonces)),
                ("forged push", dingtalk.open_webhook(
                    method="POST", query={**query, "msg_signature": FORGED, "nonce": "x1"},
                    body=body, nonces=nonces)),
            ]:
                try:
                    await call
                except ConnectorError as exc:
                    shown += shown_error(where, exc)
        robots = {"ops": {"access_token": sandbox.robot_token, "secret": WRONG_ROBOT_SECRET}}
        async with sandbox.connector(clock=lambda: now, robots=robots,
                                     app_secret="wrong-app-secret-12ab") as wrong:
            for where, call in [("bad robot secret", wrong.post("ops", Message("text", "", "x"))),
                                ("bad app secret", wrong.user_id_by_mobile("13800000001"))]:
                try:
                    await call
                except ConnectorError as exc:
                    shown += shown_error(where, exc)
            shown.append(("bad check()", repr(await wrong.check())))
    assert len([w for w, _ in shown if w.endswith("traceback")]) == 4  # every error path ran
    calls: list[CallRecord] = sandbox.calls  # the audit hook's view of both connectors
    shown += [(f"CallRecord {n}", repr(call)) for n, call in enumerate(calls)]
    formatter = logging.Formatter()
    shown += [(f"log {r.name}", formatter.format(r)) for r in records]
    secrets = sandbox.secrets() | signatures | {WRONG_ROBOT_SECRET, "wrong-app-secret-12ab"}
    assert len(sandbox.state.issued) == 2 and any(c.operation == "robot.send" for c in calls)
    for where, text in shown:
        for secret in secrets:
            assert secret not in text, f"a secret appears in the {where}: " + text.replace(
                secret, "<SECRET>")[:300]
