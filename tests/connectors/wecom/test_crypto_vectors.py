"""The callback crypto against the worked test vectors of the protocol notes (wecom.md §7).

Vector A is WeCom's own example ("加解密方案说明"), plus the URL-check example of WeCom's
sample libraries for the same company; vector B was computed for the notes and cross-checked
with wechatpy 1.8.18 and 2.0.0a26.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from connectors.sdk.crypto import MemoryNonceStore
from connectors.wecom._callbacks import WeComCallbacks
from connectors.wecom.connector import WeComConnector
from connectors.wecom.sandbox import xml_fields

A_TOKEN = "QDG6eK"
A_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
A_CORP = "wx5823bf96d3bd56c7"
A_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczc"
    "dCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjv"
    "d4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw"
    "2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22N"
    "cx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2u"
    "yPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
A_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
A_TIMESTAMP, A_NONCE = "1409659813", "1372623149"
# The URL check of WeCom's sample libraries, same company.
A_ECHOSTR = ("P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXv"
             "naqQ==")
A_ECHO_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
A_ECHO_TIMESTAMP, A_ECHO_NONCE = "1409659589", "263014780"
A_ECHO_PLAIN = b"1616140317555161061"

B_TOKEN = "HubToken2024"
B_KEY = "MQ84cWtMVGeyU6GDDgoP4urdvPXE7Qa11VC1F6e08ts"
B_CORP = "ww1234567890abcdef"
B_TIMESTAMP, B_NONCE = "1700000000", "1357924680"
B_RANDOM = b"0123456789abcdef"
B_MSG = (
    "<xml><ToUserName><![CDATA[ww1234567890abcdef]]></ToUserName><FromUserName><![CDATA[zhang"
    "san]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType"
    "><Content><![CDATA[hello hub]]></Content><MsgId>1234567890123456</MsgId><AgentID>1000002<"
    "/AgentID></xml>"
)
B_ENCRYPT = (
    "jn2jSCRqnpwEbasXGkrIYqgKQZFDwykkrNXcOfomJ9cWf37eOEZupZpawgA9pkL8SesZ23Rn4z8EBOUpRkfaj4w3S"
    "PaAjaXCHQwXGrtu3sjwZsw5Ps9CVSVJBxoC+2M/fmw0sv8Rznt3e2r0RxukoDk2RqYiliETDk+1CbHLtbzRPG4Ul1"
    "4Kt25ha/LHDxv/ha60GLJHFolOoa9WjxlC4EpQ9PTaSGZjTCuvtxpJCsbz8edSx1qN4bupKxRnKZYFQPt2TwhA9qY"
    "VrrqYmdx4q1pMbX/MVPyqQI3eFHewfYidCNOAlX01mlj8RwAvsBFgKxgsKnVT68EeKm1swP7lWvB55rnMhKVZaxbw"
    "1mm1xcm5+IlkwNvjU1wIsHx+oy9RuNj3eFOFiHS9N2q8rDaWRV2HICLjZKIfJ9QtrQND0Bj8Awc5LO2h+exh85WAO"
    "7sKPoJqVRAEDj6w9ouueloKSw=="
)
B_SIGNATURE = "975515ff16d9c2c2cd4a3192da0247c69e8ec52c"
B_ECHO_PLAIN = "8374659201746352"
B_ECHOSTR = ("jn2jSCRqnpwEbasXGkrIYsElYZZvmW1pvt/EmrdushJvKgIRNEXnae2McpMNoaA3rTSxjEkhBeyHZRKjMU0y"
             "xQ==")
B_ECHO_SIGNATURE = "896b9043fdbd58aadd9a1428637e7b5150cad4eb"


def wecom(token: str, key: str, corp: str) -> WeComConnector:
    return WeComConnector.from_dict({
        "corp_id": corp, "corp_secret": "unused-secret", "agent_id": 1,
        "callback_token": token, "callback_aes_key": key})


def callbacks(token: str, key: str, corp: str) -> WeComCallbacks:
    return WeComCallbacks(connector="wecom", connection="wecom", corp_id=corp,
                          token=SecretStr(token), aes_key=SecretStr(key),
                          random_bytes=lambda n: B_RANDOM[:n])


def post_body(corp: str, encrypt: str, agent: str) -> bytes:
    return xml_fields({"ToUserName": corp, "Encrypt": encrypt, "AgentID": agent}).encode()


@pytest.mark.parametrize(("token", "key", "corp", "timestamp", "nonce", "encrypt", "signature"), [
    (A_TOKEN, A_KEY, A_CORP, A_TIMESTAMP, A_NONCE, A_ENCRYPT, A_SIGNATURE),
    (A_TOKEN, A_KEY, A_CORP, A_ECHO_TIMESTAMP, A_ECHO_NONCE, A_ECHOSTR, A_ECHO_SIGNATURE),
    (B_TOKEN, B_KEY, B_CORP, B_TIMESTAMP, B_NONCE, B_ENCRYPT, B_SIGNATURE),
    (B_TOKEN, B_KEY, B_CORP, B_TIMESTAMP, B_NONCE, B_ECHOSTR, B_ECHO_SIGNATURE),
], ids=["A-post", "A-echo", "B-post", "B-echo"])
def test_signature__matches_the_vectors(
    token: str, key: str, corp: str, timestamp: str, nonce: str, encrypt: str, signature: str
) -> None:
    crypto = callbacks(token, key, corp).crypto
    assert crypto.signature(timestamp, nonce, encrypt) == signature


def test_encrypt__with_the_pinned_prefix_reproduces_vector_b() -> None:
    crypto = callbacks(B_TOKEN, B_KEY, B_CORP).crypto
    assert crypto.encrypt(B_MSG) == B_ENCRYPT
    assert crypto.encrypt(B_ECHO_PLAIN) == B_ECHOSTR


async def test_open_webhook__vector_a_post_is_the_hello_from_mycreate() -> None:
    connector = wecom(A_TOKEN, A_KEY, A_CORP)
    query = {"msg_signature": A_SIGNATURE, "timestamp": A_TIMESTAMP, "nonce": A_NONCE}
    event, reply = await connector.open_webhook(
        method="POST", query=query, body=post_body(A_CORP, A_ENCRYPT, "218"),
        nonces=MemoryNonceStore(), now=float(A_TIMESTAMP) + 1)
    assert event is not None
    assert (event.event_type, event.sender, event.text, event.event_id) == (
        "text", "mycreate", "hello", "4561255354251345929")
    assert event.payload["AgentID"] == "218"
    assert event.payload["ToUserName"] == A_CORP
    assert (reply.status_code, reply.body) == (200, b"")


async def test_open_webhook__vector_b_post_is_hello_hub_from_zhangsan() -> None:
    connector = wecom(B_TOKEN, B_KEY, B_CORP)
    query = {"msg_signature": B_SIGNATURE, "timestamp": B_TIMESTAMP, "nonce": B_NONCE}
    event, _ = await connector.open_webhook(
        method="POST", query=query, body=post_body(B_CORP, B_ENCRYPT, "1000002"),
        nonces=MemoryNonceStore(), now=float(B_TIMESTAMP))
    assert event is not None
    assert (event.event_type, event.sender, event.text, event.event_id) == (
        "text", "zhangsan", "hello hub", "1234567890123456")
    assert callbacks(B_TOKEN, B_KEY, B_CORP).crypto.decrypt(B_ENCRYPT) == B_MSG.encode()


@pytest.mark.parametrize(("token", "key", "corp", "query", "plain"), [
    (A_TOKEN, A_KEY, A_CORP, {"msg_signature": A_ECHO_SIGNATURE, "timestamp": A_ECHO_TIMESTAMP,
                              "nonce": A_ECHO_NONCE, "echostr": A_ECHOSTR}, A_ECHO_PLAIN),
    (B_TOKEN, B_KEY, B_CORP, {"msg_signature": B_ECHO_SIGNATURE, "timestamp": B_TIMESTAMP,
                              "nonce": B_NONCE, "echostr": B_ECHOSTR}, B_ECHO_PLAIN.encode()),
], ids=["A", "B"])
async def test_open_webhook__url_check_answers_the_echostr_plaintext_exactly(
    token: str, key: str, corp: str, query: dict[str, str], plain: bytes
) -> None:
    event, reply = await wecom(token, key, corp).open_webhook(
        method="GET", query=query, body=b"", nonces=MemoryNonceStore(),
        now=float(query["timestamp"]))
    assert event is None
    assert reply.status_code == 200
    assert reply.body == plain  # no quotes, no BOM, no newline
