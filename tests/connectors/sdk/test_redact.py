"""Redaction of secrets in text, URLs and nested values."""

from __future__ import annotations

import logging

import pytest
from pydantic import BaseModel, SecretStr

from connectors.sdk import MASK, Redactor, install_log_redaction, secret_values


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
