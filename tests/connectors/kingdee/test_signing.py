"""The signatures against the published vector (§9) and the official SDK's own builder."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from connectors.kingdee._signing import (
    client_secret,
    kdsig,
    login_sign,
    obfuscate_client_secret,
    signed_headers,
    string_to_sign,
)

ACCT, USER = "65f1a2b3c4d5e6", "webapi"
APP_ID = "300123_VlFeUUtQVV4GWEYeR1ZUSgdEFFJTBFAG"
APP_SECRET = "0123456789abcdef0123456789abcdef"
PATH = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc"
VECTOR = {
    "X-Api-ClientID": "300123",
    "X-Api-Auth-Version": "2.0",
    "x-api-timestamp": "1700000000",
    "x-api-nonce": "1700000000",
    "x-api-signheaders": "x-api-timestamp,x-api-nonce",
    "X-Api-Signature": "NTRiMmI4NWFiZGRmN2NmYmU5NDE0MThiZGE2MDJhN2NjNmRhODNjNzM2NDVhNTNkYWNiNjBm"
                       "NzY1NDdjZWNjYg==",
    "X-Kd-Appkey": APP_ID,
    "X-Kd-Appdata": "NjVmMWEyYjNjNGQ1ZTYsd2ViYXBpLDIwNTIsMA==",
    "X-Kd-Signature": "NTk3ZDJjOWUzZTVmNzA4NmQ0YTg3NGMwZjliOWE5MDdiZjkzNjkzOWUwNjBkYjBiNTM2YTBj"
                      "NGYwNTJjOWMwZg==",
}


def test_client_secret__derived_from_the_app_id() -> None:
    assert client_secret(APP_ID) == "ZmFrZS1jbGllbnQtc2VjcmV0LTEyMzQ1"
    assert obfuscate_client_secret(b"fake-client-secret-12345") == APP_ID.split("_")[1]


def test_client_secret__a_part_not_32_chars_gives_an_empty_key() -> None:
    assert client_secret("300123_short") == ""


def test_string_to_sign__matches_the_vector() -> None:
    assert string_to_sign(PATH, "1700000000", "1700000000") == (
        "POST\n%2Fk3cloud%2FKingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery"
        ".common.kdsvc\n\nx-api-nonce:1700000000\nx-api-timestamp:1700000000\n")


def test_signed_headers__match_the_vector() -> None:
    headers = signed_headers(path=PATH, acct_id=ACCT, username=USER, app_id=APP_ID,
                             app_secret=APP_SECRET, timestamp=1700000000)
    assert headers == VECTOR
    assert len(headers["X-Kd-Signature"]) == 88


def test_signed_headers__equal_the_official_sdk_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    from k3cloud_webapi_sdk.core import webapi_client
    from k3cloud_webapi_sdk.main import K3CloudApiSdk

    monkeypatch.setattr(webapi_client.time, "time", lambda: 1700000000.25)
    sdk = K3CloudApiSdk("http://127.0.0.1/k3cloud/")
    sdk.InitConfig(ACCT, USER, APP_ID, APP_SECRET, "http://127.0.0.1/k3cloud/")
    built: dict[str, Any] = sdk.BuildHeader("http://127.0.0.1" + PATH)
    for name, value in VECTOR.items():
        assert built[name] == value, name


def test_kdsig__is_base64_of_the_hex_digest() -> None:
    assert kdsig("k", "m") == __import__("base64").b64encode(
        __import__("hmac").new(b"k", b"m", hashlib.sha256).hexdigest().encode()).decode()


def test_login_sign__sha256_of_the_sorted_concatenation() -> None:
    parts = sorted([ACCT, USER, APP_ID, APP_SECRET, "1700000000"])
    assert login_sign(ACCT, USER, APP_ID, APP_SECRET, 1700000000) == \
        hashlib.sha256("".join(parts).encode()).hexdigest()
    assert login_sign(ACCT, USER, APP_ID, APP_SECRET, 1700000000) == (
        hashlib.sha256(b"0123456789abcdef0123456789abcdef1700000000300123_VlFeUUtQVV4GWEYeR1ZU"
                        b"SgdEFFJTBFAG65f1a2b3c4d5e6webapi").hexdigest())
