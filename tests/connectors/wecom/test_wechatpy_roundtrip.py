"""Round trips with an independent implementation: wechatpy's WeCom crypto (1.8.x).

wechatpy encrypts a callback, the connector opens it over real HTTP; the connector encrypts a
passive reply and the sandbox builds callbacks, and wechatpy decrypts them.
"""

from __future__ import annotations

import base64
import time

import httpx
import pytest
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner

from connectors.wecom._xml import parse_fields
from connectors.wecom.sandbox import xml_fields

from .conftest import AES_KEY, CALLBACK_TOKEN, CORP_ID, Receiver, WeComEnv

TEXT = xml_fields({"ToUserName": CORP_ID, "FromUserName": "lisi", "CreateTime": 1700000123,
                   "MsgType": "text", "Content": "发票开错了 ]]> <&>", "MsgId": 7001,
                   "AgentID": 1000002})


def wechatpy() -> WeChatCrypto:
    return WeChatCrypto(CALLBACK_TOKEN, AES_KEY, CORP_ID)


def signature(*values: str) -> str:
    signer = WeChatSigner()
    signer.add_data(CALLBACK_TOKEN, *values)
    return str(signer.signature)


def test_callback__encrypted_by_wechatpy_is_opened_by_the_connector(
    wecom: WeComEnv, receiver: Receiver
) -> None:
    nonce = "246813579"
    reply_xml = wechatpy().encrypt_message(TEXT, nonce)  # Encrypt, MsgSignature, TimeStamp
    fields = parse_fields(reply_xml)
    query = {"msg_signature": fields["MsgSignature"], "timestamp": fields["TimeStamp"],
             "nonce": nonce}
    response = httpx.post(receiver.url, params=query, content=reply_xml.encode())
    assert (response.status_code, response.content) == (200, b"")
    [event] = receiver.events
    assert (event.sender, event.text, event.event_id) == ("lisi", "发票开错了 ]]> <&>", "7001")


def test_url_check__encrypted_by_wechatpy_is_echoed_exactly(
    wecom: WeComEnv, receiver: Receiver
) -> None:
    echo = "5738291046573829"
    echostr = PrpCrypto(base64.b64decode(AES_KEY + "=")).encrypt(echo, CORP_ID).decode()
    assert any(c in echostr for c in "+/=")  # so the URL encoding is exercised
    timestamp, nonce = str(int(time.time())), "1029384756"
    query = {"msg_signature": signature(timestamp, nonce, echostr), "timestamp": timestamp,
             "nonce": nonce, "echostr": echostr}
    response = httpx.get(receiver.url, params=query)
    assert response.status_code == 200
    assert response.content == echo.encode()


async def test_passive_reply__by_the_connector_is_decrypted_by_wechatpy(wecom: WeComEnv) -> None:
    message = xml_fields({"ToUserName": "lisi", "FromUserName": CORP_ID, "CreateTime": 1,
                          "MsgType": "text", "Content": "已收到，工单 T-1024"})
    async with wecom.connector() as connector:
        reply = connector.passive_reply(message, timestamp="1700000200", nonce="555")
    assert reply.media_type == "application/xml"
    fields = parse_fields(reply.body)
    assert (fields["TimeStamp"], fields["Nonce"]) == ("1700000200", "555")
    plain = wechatpy().decrypt_message(reply.body.decode(), fields["MsgSignature"],
                                       "1700000200", "555")
    assert plain == message


def test_sandbox_callbacks__are_opened_by_wechatpy(wecom: WeComEnv) -> None:
    callback = wecom.callbacks.event(sender="wangwu", event="device_alarm",
                                     fields={"DeviceId": "PUMP-7", "Level": "critical"})
    query = callback.query
    plain = wechatpy().decrypt_message(callback.body.decode(), query["msg_signature"],
                                       query["timestamp"], query["nonce"])
    assert plain == callback.plaintext
    assert parse_fields(plain)["DeviceId"] == "PUMP-7"
    check = wecom.callbacks.verification()
    echoed = wechatpy().check_signature(check.query["msg_signature"], check.query["timestamp"],
                                        check.query["nonce"], check.query["echostr"])
    assert echoed == check.plaintext


def test_wechatpy__refuses_a_reply_signed_with_another_token(wecom: WeComEnv) -> None:
    """The round trips above can fail: wechatpy does check what it is given."""
    callback = wecom.callbacks.text(sender="lisi", content="hi")
    with pytest.raises(InvalidSignatureException):
        WeChatCrypto("OtherToken1", AES_KEY, CORP_ID).decrypt_message(
            callback.body.decode(), callback.query["msg_signature"],
            callback.query["timestamp"], callback.query["nonce"])
