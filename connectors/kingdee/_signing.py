"""Kingdee signatures: LoginBySign's `sign` and the 8.x SDK's per-request signed headers.

Both are pure functions of their inputs (no clock, no I/O) so the published vector of the
protocol notes (§9) pins them, and the sandbox verifies with the very same arithmetic.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

__all__ = [
    "XOR_KEY",
    "app_data",
    "client_id",
    "client_secret",
    "encode_path",
    "kdsig",
    "login_sign",
    "obfuscate_client_secret",
    "signed_headers",
    "string_to_sign",
]

# The constant the SDKs XOR the AppID's obfuscated part with (Python derives it by ROT13 of a
# seed with random digits it then skips; Java and Go hard-code it).
XOR_KEY = b"0054f397c6234378b09ca7d3e5debce7"


def kdsig(key: str, message: str) -> str:
    """HMAC-SHA256 → lowercase hex text → Base64 of that text (88 chars)."""
    digest = hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def client_id(app_id: str) -> str:
    return app_id.split("_", 1)[0]


def client_secret(app_id: str) -> str:
    """The HMAC key of the X-Api layer, recovered from the AppID's 32-char obfuscated part.

    Like the Python SDK, a part that is not exactly 32 chars gives an empty key.
    """
    parts = app_id.split("_")
    if len(parts) != 2 or len(parts[1]) != 32:
        return ""
    raw = base64.b64decode(parts[1])
    return base64.b64encode(bytes(b ^ XOR_KEY[i] for i, b in enumerate(raw))).decode()


def obfuscate_client_secret(secret: bytes) -> str:
    """The inverse of `client_secret` for a 24-byte secret: builds an AppID's second part."""
    if len(secret) != 24:
        raise ValueError("the client secret must be exactly 24 bytes")
    return base64.b64encode(bytes(b ^ XOR_KEY[i] for i, b in enumerate(secret))).decode()


def encode_path(path: str) -> str:
    """Percent-encode a request path with every `/` as `%2F` (unreserved chars kept)."""
    return quote(path, safe="")


def string_to_sign(path: str, nonce: str, timestamp: str) -> str:
    return (f"POST\n{encode_path(path)}\n\n"
            f"x-api-nonce:{nonce}\nx-api-timestamp:{timestamp}\n")


def app_data(acct_id: str, username: str, lcid: int, org_num: int) -> str:
    return f"{acct_id},{username},{lcid},{org_num}"


def signed_headers(
    *, path: str, acct_id: str, username: str, app_id: str, app_secret: str,
    lcid: int = 2052, org_num: int = 0, timestamp: int,
) -> dict[str, str]:
    """Every header of §3.2 for one request to `path` (from the first `/` after the host).

    The nonce equals the timestamp (seconds), as in the Python and Go SDKs.
    """
    stamp = str(timestamp)
    data = app_data(acct_id, username, lcid, org_num)
    return {
        "X-Api-ClientID": client_id(app_id),
        "X-Api-Auth-Version": "2.0",
        "x-api-timestamp": stamp,
        "x-api-nonce": stamp,
        "x-api-signheaders": "x-api-timestamp,x-api-nonce",
        "X-Api-Signature": kdsig(client_secret(app_id), string_to_sign(path, stamp, stamp)),
        "X-Kd-Appkey": app_id,
        "X-Kd-Appdata": base64.b64encode(data.encode()).decode(),
        "X-Kd-Signature": kdsig(app_secret, app_id + data),
    }


def login_sign(acct_id: str, username: str, app_id: str, app_secret: str, timestamp: int) -> str:
    """LoginBySign's `sign`: SHA-256 hex of the five strings sorted and concatenated."""
    parts = sorted([acct_id, username, app_id, app_secret, str(timestamp)])
    return hashlib.sha256("".join(parts).encode()).hexdigest()
