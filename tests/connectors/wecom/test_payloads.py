"""Message bodies and answers, and the callback XML parser, without a network."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sdk.messaging import Message
from connectors.wecom._payloads import (
    app_delivery,
    app_message_body,
    normalize_mobile,
    robot_body,
    truncate_bytes,
)
from connectors.wecom._xml import UnsafeXmlError, parse_fields


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("short", 10, "short"),
    ("abcdefghij", 10, "abcdefghij"),
    ("abcdefghijk", 10, "abcdefg…"),
    ("退款退款", 10, "退款…"),     # 3-byte characters are never split
    ("退款退款", 8, "退…"),
])
def test_truncate_bytes__cuts_on_a_character_boundary(text: str, limit: int,
                                                       expected: str) -> None:
    cut = truncate_bytes(text, limit)
    assert cut == expected
    assert len(cut.encode()) <= limit


@pytest.mark.parametrize(("raw", "expected"), [
    ("13800000001", "13800000001"), ("+86 138-0000-0001", "13800000001"),
    ("8613800000001", "13800000001"), ("(021) 5555 1234", "02155551234"),
])
def test_normalize_mobile(raw: str, expected: str) -> None:
    assert normalize_mobile(raw) == expected


def test_app_message_body__duplicate_check_and_recipient_bounds() -> None:
    body = app_message_body(Message("text", "", "x"), user_ids=["a", "b"], agent_id=7,
                            duplicate_check_interval=300)
    assert body == {"touser": "a|b", "agentid": 7, "msgtype": "text", "text": {"content": "x"},
                    "enable_duplicate_check": 1, "duplicate_check_interval": 300}
    with pytest.raises(ValueError, match="1..1000"):
        app_message_body(Message("text", "", "x"), user_ids=[f"u{n}" for n in range(1001)],
                         agent_id=7, duplicate_check_interval=None)


@pytest.mark.parametrize(("answer", "unresolved", "status", "failed"), [
    ({"errcode": 0, "invaliduser": "", "msgid": "m"}, [], "sent", ()),
    ({"errcode": 0, "invaliduser": "bob", "msgid": "m"}, [], "partial", ("Bob",)),
    ({"errcode": 0, "unlicenseduser": "amy"}, ["139"], "partial", ("139", "amy")),
    ({"errcode": 0, "invaliduser": "amy|bob"}, [], "failed", ("amy", "Bob")),
])
def test_app_delivery__status_from_the_invalid_lists(
    answer: dict[str, Any], unresolved: list[str], status: str, failed: tuple[str, ...]
) -> None:
    delivery = app_delivery(answer, user_ids=["amy", "Bob"], unresolved=unresolved)
    assert (delivery.status, delivery.failed) == (status, failed)
    assert (delivery.detail is None) == (status == "sent")


def test_robot_body__markdown_keeps_room_for_its_mentions() -> None:
    body = robot_body(Message("markdown", "", "长" * 3000), mention_user_ids=["zhangsan"])
    content = body["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert content.endswith("…\n<@zhangsan>")


@pytest.mark.parametrize(("document", "fields"), [
    (b"<xml><A><![CDATA[x]]></A><B>2</B></xml>", {"A": "x", "B": "2"}),
    (b"<xml><A><![CDATA[a]]]]><![CDATA[>b]]></A></xml>", {"A": "a]]>b"}),
    (b"<xml><L><I>1</I><I>2</I></L></xml>", {"L": {"I": ["1", "2"]}}),
    (b'<?xml version="1.0" encoding="UTF-8"?>\n<xml>\n<A>&lt;&amp;</A>\n</xml>', {"A": "<&"}),
])
def test_parse_fields__reads_wecom_xml(document: bytes, fields: dict[str, Any]) -> None:
    assert parse_fields(document) == fields


@pytest.mark.parametrize("document", [
    b'<!DOCTYPE xml [<!ENTITY a "b">]><xml><A>&a;</A></xml>',
    b'<!DOCTYPE xml SYSTEM "http://evil.example/x.dtd"><xml/>',
    b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><A>&x;</A></xml>',
    b"<xml><A>&undefined;</A></xml>",
    b"<xml><A>unclosed</xml>",
    b"<other><A>1</A></other>",
    b"<xml>" + b"<a>" * 20 + b"</a>" * 20 + b"</xml>",
    b"<xml><A>" + b"x" * 300_000 + b"</A></xml>",
    b"",
], ids=["entity", "external-dtd", "xxe", "undefined-entity", "malformed", "other-root",
        "deep", "huge", "empty"])
def test_parse_fields__refuses_what_xml_attacks_need(document: bytes) -> None:
    with pytest.raises(UnsafeXmlError):
        parse_fields(document)
