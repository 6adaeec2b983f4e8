"""No app secret, access token, robot key, callback token, AES key or signature is ever shown:
not in logs (DEBUG, httpx's included), CallRecords, errors, tracebacks, reprs or results."""

from __future__ import annotations

import traceback
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

from connectors.sdk import ConnectorError
from connectors.sdk.auth import MemoryTokenCache
from connectors.sdk.crypto import MemoryNonceStore
from connectors.sdk.messaging import Message, Recipient
from connectors.sdk.testing import capture_logs
from connectors.wecom.sandbox import SandboxLimits

from .conftest import EnvFactory

BAD_SECRET = "bad-secret-7c1e9f3a55"
BAD_ROBOT_KEY = "bad-robot-key-4a8e7d"


async def _failure(shown: list[tuple[str, str]], where: str, call: Awaitable[Any]) -> None:
    try:
        await call
    except ConnectorError as exc:
        shown += [(where, str(exc)), (where, repr(exc)),
                  (f"{where} traceback", "".join(traceback.format_exception(exc)))]
    else:
        raise AssertionError(f"{where}: expected a failure")


async def test_secrets__never_in_logs_call_records_errors_or_reprs(make_env: EnvFactory) -> None:
    wecom = make_env(limits=SandboxLimits(robot=1, robot_window=0.3))
    shown: list[tuple[str, str]] = []
    signatures: list[str] = []
    message = Message("card", "工单", "请处理", url="https://hub.example.com/t/1")
    with capture_logs() as records:
        async with wecom.connector(max_retry_after=0.35, max_attempts=2) as connector:
            shown += [("repr(connector)", repr(connector)), ("config", str(connector.config)),
                      ("repr(config)", repr(connector.config)),
                      ("repr(auth)", repr(connector.auth())),
                      ("repr(provider)", repr(connector.auth().provider)),
                      ("repr(callbacks)", repr(connector.callbacks())),
                      ("check", repr(await connector.check()))]
            to = [Recipient.user("lisi"), Recipient.by_mobile("13800000001")]
            shown.append(("delivery", repr(await connector.notify(message, to=to))))
            wecom.sandbox.expire_tokens()
            wecom.faults.fail_next(1, status=503, path_prefix="/cgi-bin/message/send")
            shown.append(("delivery", repr(await connector.notify(message, to=to[:1]))))
            for _ in range(2):  # the second meets the robot's limit: 45009, then a retry
                shown.append(("robot", repr(await connector.post("ops", message))))
            wecom.faults.fail_next(2, status=503, path_prefix="/cgi-bin/message/send")
            await _failure(shown, "503s exhausted", connector.notify(message, to=to[:1]))
            wecom.faults.drop_next(2, path_prefix="/cgi-bin/message/send")
            await _failure(shown, "dropped", connector.notify(message, to=to[:1]))
            nonces = MemoryNonceStore()
            callback = wecom.callbacks.text(sender="lisi", content="hi")
            signatures.append(callback.query["msg_signature"])
            event, _ = await connector.open_webhook(method="POST", query=callback.query,
                                                    body=callback.body, nonces=nonces)
            shown.append(("event", repr(event)))
            await _failure(shown, "replay", connector.open_webhook(
                method="POST", query=callback.query, body=callback.body, nonces=nonces))
            forged = replace(callback, query=callback.query | {"msg_signature": "f" * 40})
            await _failure(shown, "forged", connector.open_webhook(
                method="POST", query=forged.query, body=forged.body, nonces=nonces))
            reply = connector.passive_reply("<xml><Content>ok</Content></xml>")
            signatures.append(reply.body.decode().split("<MsgSignature><![CDATA[")[1][:40])
            shown.append(("repr(reply)", repr(reply)[:60]))  # its body must carry a signature
        async with wecom.connector(corp_secret=BAD_SECRET, token_cache=MemoryTokenCache(),
                                   robots={"ops": {"key": BAD_ROBOT_KEY}}) as bad:
            await _failure(shown, "bad secret", bad.notify(message, to=to[:1]))
            shown.append(("bad check", repr(await bad.check())))
            await _failure(shown, "bad robot key", bad.post("ops", message))
    shown += [(f"CallRecord {n}", repr(call)) for n, call in enumerate(wecom.calls)]
    shown += [(f"log {r.name}", r.getMessage()) for r in records]
    assert any("access_token" in text for _, text in shown)  # the token's place was shown...
    secrets = wecom.secrets() | {BAD_SECRET, BAD_ROBOT_KEY, *signatures}
    assert len(wecom.sandbox.issued_tokens()) >= 2
    for where, text in shown:  # ...but never a value
        for secret in secrets:
            assert secret not in text, f"a secret appears in the {where}: {text[:300]}"
