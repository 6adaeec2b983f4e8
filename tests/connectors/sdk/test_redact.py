"""Redaction of secrets in text, URLs and nested values."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest
from pydantic import BaseModel, SecretStr

from connectors.sdk.auth import BasicAuth
from connectors.sdk.redaction import (
    MASK,
    PROCESS_REDACTOR,
    Redactor,
    install_log_redaction,
    register_credential,
    secret_values,
)


class Nested(BaseModel):
    password: SecretStr


class Config(BaseModel):
    api_key: SecretStr
    name: str
    inner: Nested


def test_secret_values__finds_nested_secretstr() -> None:
    config = Config(api_key=SecretStr("k-123456"), name="crm", inner=Nested(password="pw-98765"))
    assert sorted(secret_values(config)) == ["k-123456", "pw-98765"]


def test_redactor__masks_known_values_anywhere_in_text() -> None:
    redactor = Redactor(["abcd-secret", "abcd-secret-longer"])
    assert redactor.text("x abcd-secret-longer y abcd-secret") == f"x {MASK} y {MASK}"


def test_redactor__ignores_values_too_short_to_mask_safely() -> None:
    assert Redactor(["ab"]).text("about") == "about"


def test_redactor__masks_sensitive_query_parameters_and_userinfo() -> None:
    url = Redactor().url("https://user:pw@api.test/x?access_token=abc&sign=zz&page=2")
    assert "abc" not in url and "zz" not in url and "pw" not in url
    assert "page=2" in url


def test_redactor__masks_sensitive_keys_in_mappings() -> None:
    value = Redactor(["topsecret1"]).mapping(
        {"Authorization": "Bearer x", "items": [{"note": "has topsecret1"}], "n": 3})
    assert value == {"Authorization": MASK, "items": [{"note": f"has {MASK}"}], "n": 3}


def test_redactor__masks_sensitive_name_value_pairs_in_free_text() -> None:
    text = Redactor().text('GET /x?access_token=abc123&page=2 "Authorization: Bearer tok-9" '
                           "x-api-key=kkk sign=s1g")
    assert "abc123" not in text and "tok-9" not in text and "kkk" not in text
    assert "s1g" not in text and "page=2" in text


def test_log_redaction__masks_secrets_in_third_party_loggers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_log_redaction("very-secret-app-key")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").info("HTTP Request: GET %s",
                                    "https://v.test/t?appkey=very-secret-app-key")
    logging.getLogger("httpx").info("HTTP Request: GET https://v.test/t?access_token=zzz999")
    assert "very-secret-app-key" not in caplog.text and "zzz999" not in caplog.text


def test_log_redaction__masks_callback_signatures_in_access_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_log_redaction()
    caplog.set_level(logging.DEBUG, logger="uvicorn.access")  # uvicorn may have raised it
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "POST",
        "/webhooks/wecom?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&nonce=1", "1.1",
        200)
    assert "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3" not in caplog.text
    assert "msg_signature=***" in caplog.text and "nonce=1" in caplog.text


SECRET_WITH_SPECIALS = "s3cr+t/k=y ä"


@pytest.mark.parametrize("shown", [
    SECRET_WITH_SPECIALS,
    json.dumps(SECRET_WITH_SPECIALS)[1:-1],  # ä as \u00e4
    json.dumps(SECRET_WITH_SPECIALS)[1:-1].replace("/", "\\/").replace("+", "\\u002B"),
    json.dumps(json.dumps(SECRET_WITH_SPECIALS)[1:-1].replace("/", "\\/"))[1:-1],  # twice
    quote(SECRET_WITH_SPECIALS, safe=""),
    quote(SECRET_WITH_SPECIALS, safe="").lower(),
    quote(quote(SECRET_WITH_SPECIALS, safe=""), safe=""),  # encoded twice
    quote_plus(SECRET_WITH_SPECIALS),
    base64.b64encode(SECRET_WITH_SPECIALS.encode()).decode(),
])
def test_redactor__masks_a_secret_in_every_encoding(shown: str) -> None:
    assert Redactor([SECRET_WITH_SPECIALS]).text(f"echo [{shown}] end") == f"echo [{MASK}] end"


@pytest.mark.parametrize(("text", "kept"), [
    ('{"Authorization": "Basic dXNlcjpwdw=="}', '{"Authorization": "Basic ***"}'),
    ('{\\"authorization\\": \\"Bearer a\\/b\\u002bc\\"}',
     '{\\"authorization\\": \\"Bearer ***\\"}'),
    ("{'access_token': 'tok-1'}", "{'access_token': '***'}"),
    ('"KDSVCSessionId":"6512ab"', '"KDSVCSessionId":"***"'),
    ("next=%2Fcb%3Faccess_token%3Dtok-2", "next=%2Fcb%3Faccess_token%3D***"),
    ("timestamp=1&sign=ab%2Bc%3D", "timestamp=1&sign=***"),
    ("Cookie: kdservice-sessionid=abc; lang=zh", "Cookie: ***; lang=zh"),
    ("the token endpoint refused the key", "the token endpoint refused the key"),
    # the hub's own fixed texts stay whole; a value that follows them is still masked
    ("send Authorization: Bearer <token or API key> or X-API-Key",
     "send Authorization: Bearer <token or API key> or X-API-Key"),
    ("token: token endpoint unreachable (ConnectError)",
     "token: token endpoint unreachable (ConnectError)"),
    ("kb: token: the token endpoint refused", "kb: token: the token endpoint refused"),
    ("Authorization: Token abcdef", "Authorization: Token ***"),
    ("password: hunter2 is wrong", "password: *** is wrong"),
    ('{"token": "plain words"}', '{"token": "*** words"}'),
])
def test_redactor__masks_credential_fields_by_name(text: str, kept: str) -> None:
    assert Redactor().text(text) == kept


def test_register_credential__every_redactor_masks_it_and_keeps_the_latest_only() -> None:
    register_credential("derived-val-0001", slot="test:window")
    assert Redactor().text("x derived-val-0001") == f"x {MASK}"
    assert PROCESS_REDACTOR.text("derived-val-0001") == MASK
    for n in range(2, 200):
        register_credential(f"derived-val-{n:04d}", slot="test:window")
    assert Redactor().text("derived-val-0199") == MASK
    assert Redactor().text("derived-val-0001") == "derived-val-0001"  # long since renewed


def test_basic_auth__registers_the_header_value() -> None:
    BasicAuth("agent@example.com", SecretStr("pw-for-basic-7"))
    value = base64.b64encode(b"agent@example.com:pw-for-basic-7").decode()
    assert Redactor().text(f'"Authorization": "Basic {value}"') == '"Authorization": "Basic ***"'
    assert Redactor().text(f"echo {value}") == f"echo {MASK}"


@pytest.mark.parametrize("text_of", [
    lambda v: v,
    lambda v: json.dumps({"sig": v}),
    lambda v: json.dumps(json.dumps({"sig": v})),  # JSON inside JSON
    lambda v: quote(v, safe=""),
    lambda v: quote(quote(v, safe=""), safe=""),
    lambda v: base64.b64encode(v.encode()).decode(),
], ids=["raw", "json", "json-in-json", "percent", "percent-twice", "base64"])
def test_register_credential__a_signature_is_masked_in_every_written_form(text_of: object) -> None:
    signature = "q+8/Zx0=Kd/9T+ab="  # reserved characters split it into short runs
    register_credential(signature, slot="test:forms")
    text = f"echo {text_of(signature)} done"  # type: ignore[operator]
    masked = Redactor().text(text)
    assert "Kd" not in masked and "Zx0" not in masked and masked.endswith(" done")


def test_register_credential__a_value_of_no_ascii_letters_is_masked_too() -> None:
    register_credential("口令：秘密值", slot="test:cjk")
    assert Redactor().text("密码 口令：秘密值 错误") == f"密码 {MASK} 错误"


def test_register_credential__a_value_that_holds_another_is_masked_whole() -> None:
    register_credential("inner-token-77", slot="test:inner")
    register_credential("outer-inner-token-77-tail", slot="test:outer")
    assert Redactor().text("a outer-inner-token-77-tail b inner-token-77") == f"a {MASK} b {MASK}"


def test_register_credential__a_text_as_short_as_the_value_is_masked() -> None:
    register_credential("sid-0000-short", slot="test:short")
    assert Redactor().text("sid-0000-short") == MASK


def test_register_credential__many_per_request_signatures_all_masked() -> None:
    signatures = [base64.b64encode(bytes([n]) * 32).decode() for n in range(40)]
    for signature in signatures:
        register_credential(signature, slot="test:per-request")
    text = " ".join(signatures)
    assert Redactor().text(text) == " ".join([MASK] * 40)
