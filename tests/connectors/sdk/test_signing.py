"""Request signing: the base class, fitting Kingdee's and Yonyou's recipes.

Vectors are from /work/shared/vendor-protocols (kingdee.md §9, yonyou.md §2); each is also
recomputed here with hmac/base64 directly. DingTalk's robot recipe is tested with its connector.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

import httpx
from pydantic import SecretStr
from typing_extensions import override

from connectors.sdk.crypto import (
    RequestSigner,
    hmac_sha256_base64,
    hmac_sha256_digest,
    hmac_sha256_hex,
)

SECRET = "query-signing-secret-0123456789"
URL = "https://vendor.example.test/send?access_token=static-token"


class QuerySigner(RequestSigner):
    """A recipe that puts `timestamp` and `sign` in the query, as robot webhooks do."""

    placement = "query"
    signature_name = "sign"
    timestamp_name = "timestamp"

    @override
    def canonical_string(self, request: httpx.Request, timestamp: str, nonce: str) -> str:
        return f"{request.method}\n{timestamp}"


async def sent_through(auth: httpx.Auth, method: str, url: str, **kwargs: object) -> httpx.Request:
    """The request as it reaches the wire, captured by a small handler."""
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    return captured[0]


def test_hmac_helpers__match_hashlib() -> None:
    digest = hmac.new(b"key", "消息".encode(), hashlib.sha256).digest()
    assert hmac_sha256_digest("key", "消息") == digest
    assert hmac_sha256_base64(b"key", "消息") == base64.b64encode(digest).decode()
    assert hmac_sha256_hex("key", "消息".encode()) == digest.hex()


def test_request_signer__resigning_replaces_the_old_signature() -> None:
    now = [1_700_000_000.0]
    signer = QuerySigner(SecretStr(SECRET), clock=lambda: now[0])
    request = httpx.Request("POST", URL)
    next(signer.sync_auth_flow(request))
    now[0] += 5  # a retry is signed afresh
    next(signer.sync_auth_flow(request))
    assert request.url.params.get_list("sign") == [request.url.params["sign"]]
    assert request.url.params["timestamp"] == "1700000005000"


def test_request_signer__repr_hides_the_secret() -> None:
    assert SECRET not in repr(QuerySigner(SecretStr(SECRET)))


# -- Kingdee K/3 Cloud (kingdee.md §3.2, vector §9): header placement, hex-then-Base64 -------

_KD_XOR = b"0054f397c6234378b09ca7d3e5debce7"


def _kdsig(key: str, message: str) -> str:
    return base64.b64encode(hmac_sha256_hex(key, message).encode()).decode()


class KingdeeSigner(RequestSigner):
    """The 8.x SDK's stateless signed headers, written as a small RequestSigner."""

    signature_name = "X-Api-Signature"
    timestamp_name = "x-api-timestamp"
    nonce_name = "x-api-nonce"

    def __init__(self, *, acct_id: str, user: str, app_id: str, app_secret: SecretStr,
                 lcid: int = 2052, org_num: int = 0, **kwargs: object) -> None:
        client_id, _, obfuscated = app_id.partition("_")
        raw = base64.b64decode(obfuscated)
        mixed = bytes(a ^ b for a, b in zip(raw, _KD_XOR[:len(raw)], strict=True))
        client_secret = base64.b64encode(mixed).decode()
        super().__init__(SecretStr(client_secret), **kwargs)  # type: ignore[arg-type]
        self.client_id, self.app_id, self.app_secret = client_id, app_id, app_secret
        self.app_data = f"{acct_id},{user},{lcid},{org_num}"

    @override
    def timestamp(self) -> str:
        return str(int(self.clock()))  # seconds

    @override
    def nonce(self, timestamp: str) -> str:
        return timestamp  # the Python SDK sends the timestamp as the nonce

    @override
    def canonical_string(self, request: httpx.Request, timestamp: str, nonce: str) -> str:
        path = quote(request.url.path, safe="")
        return f"POST\n{path}\n\nx-api-nonce:{nonce}\nx-api-timestamp:{timestamp}\n"

    @override
    def sign(self, message: str) -> str:
        return _kdsig(self.secret.get_secret_value(), message)

    @override
    def attach(self, request: httpx.Request, *, timestamp: str, nonce: str,
               signature: str) -> None:
        super().attach(request, timestamp=timestamp, nonce=nonce, signature=signature)
        request.headers.update({
            "X-Api-ClientID": self.client_id,
            "X-Api-Auth-Version": "2.0",
            "x-api-signheaders": "x-api-timestamp,x-api-nonce",
            "X-Kd-Appkey": self.app_id,
            "X-Kd-Appdata": base64.b64encode(self.app_data.encode()).decode(),
            "X-Kd-Signature": _kdsig(self.app_secret.get_secret_value(),
                                     self.app_id + self.app_data),
        })


async def test_request_signer__expresses_kingdee_vector() -> None:
    signer = KingdeeSigner(
        acct_id="65f1a2b3c4d5e6", user="webapi", app_id="300123_VlFeUUtQVV4GWEYeR1ZUSgdEFFJTBFAG",
        app_secret=SecretStr("0123456789abcdef0123456789abcdef"), clock=lambda: 1700000000.25,
    )
    assert signer.secret.get_secret_value() == "ZmFrZS1jbGllbnQtc2VjcmV0LTEyMzQ1"
    request = await sent_through(
        signer, "POST", "https://erp.example.test/k3cloud/"
        "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc",
        json={"data": {}},
    )
    assert {name: request.headers[name] for name in (
        "X-Api-ClientID", "x-api-timestamp", "x-api-nonce", "x-api-signheaders",
        "X-Api-Signature", "X-Kd-Appdata", "X-Kd-Signature",
    )} == {
        "X-Api-ClientID": "300123",
        "x-api-timestamp": "1700000000",
        "x-api-nonce": "1700000000",
        "x-api-signheaders": "x-api-timestamp,x-api-nonce",
        "X-Api-Signature": "NTRiMmI4NWFiZGRmN2NmYmU5NDE0MThiZGE2MDJhN2NjNmRhODNjNzM2NDVhNTNk"
                           "YWNiNjBmNzY1NDdjZWNjYg==",
        "X-Kd-Appdata": "NjVmMWEyYjNjNGQ1ZTYsd2ViYXBpLDIwNTIsMA==",
        "X-Kd-Signature": "NTk3ZDJjOWUzZTVmNzA4NmQ0YTg3NGMwZjliOWE5MDdiZjkzNjkzOWUwNjBkYjBi"
                          "NTM2YTBjNGYwNTJjOWMwZg==",
    }


# -- Yonyou YonBIP token request (yonyou.md §2): sorted query parameters, Base64, query ------

class YonyouTokenSigner(RequestSigner):
    placement = "query"
    signature_name = "signature"
    timestamp_name = "timestamp"

    @override
    def canonical_string(self, request: httpx.Request, timestamp: str, nonce: str) -> str:
        params = {k: v for k, v in request.url.params.items() if k != "signature"}
        params["timestamp"] = timestamp
        return "".join(f"{name}{params[name]}" for name in sorted(params))


async def test_request_signer__expresses_yonyou_token_signature() -> None:
    signer = YonyouTokenSigner(SecretStr("fake-app-secret-0001"), clock=lambda: 1_700_000_000.0)
    request = await sent_through(
        signer, "GET", "https://dc.example.test/iuap-api-auth/open-auth/selfAppAuth/base/v1/"
        "getAccessToken", params={"appKey": "fake-app-key-0001"},
    )
    assert signer.canonical_string(request, "1700000000000", "") == (
        "appKeyfake-app-key-0001timestamp1700000000000")
    assert request.url.params["signature"] == "XWcTMvWF3uhOWDoXEdaxoMRFnpw6vIVr1+taVi++Dco="
    wire = request.url.raw_path.decode()
    assert "signature=XWcTMvWF3uhOWDoXEdaxoMRFnpw6vIVr1%2BtaVi%2B%2BDco%3D" in wire  # once
