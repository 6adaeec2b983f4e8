"""Request signing: HMAC over a canonical string, attached to headers or the query.

`RequestSigner` is an httpx.Auth with one required method, `canonical_string`, and named
hooks for the rest of a vendor's recipe: `timestamp`, `nonce`, `sign` and `attach`. Each
attempt is signed afresh (a retry gets a new timestamp), and a re-sent request has its old
signature replaced, not duplicated.

Example (a vendor that signs ``METHOD\\npath\\ntimestamp`` into headers)::

    class AcmeSigner(RequestSigner):
        signature_name = "X-Acme-Signature"
        timestamp_name = "X-Acme-Timestamp"

        def canonical_string(self, request, timestamp, nonce):
            return f"{request.method}\\n{request.url.path}\\n{timestamp}"
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from typing import ClassVar, Literal

import httpx
from pydantic import SecretStr

from ._redact import install_log_redaction, register_credential

__all__ = [
    "RequestSigner",
    "hmac_sha256_base64",
    "hmac_sha256_digest",
    "hmac_sha256_hex",
]


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def hmac_sha256_digest(secret: str | bytes, message: str | bytes) -> bytes:
    """The raw 32-byte HMAC-SHA256 of `message` under `secret` (str is taken as UTF-8)."""
    return hmac.new(_bytes(secret), _bytes(message), hashlib.sha256).digest()


def hmac_sha256_base64(secret: str | bytes, message: str | bytes) -> str:
    """Standard Base64 of the raw HMAC-SHA256 digest (DingTalk, Yonyou)."""
    return base64.b64encode(hmac_sha256_digest(secret, message)).decode("ascii")


def hmac_sha256_hex(secret: str | bytes, message: str | bytes) -> str:
    """Lowercase hex of the HMAC-SHA256 digest (Kingdee Base64-encodes this text again)."""
    return hmac.new(_bytes(secret), _bytes(message), hashlib.sha256).hexdigest()


class RequestSigner(httpx.Auth, ABC):
    """Signs each request with HMAC over a canonical string. Subclass it and implement
    `canonical_string`; set the class attributes, or override the hooks, for the rest.

    Attributes:
        placement: "header" or "query": where `attach` puts the values by default.
        signature_name: name of the header/parameter carrying the signature.
        timestamp_name: name carrying the timestamp (None: not sent).
        nonce_name: name carrying the nonce (None: not sent).

    Args:
        secret: the signing key.
        clock: Unix-seconds clock (tests pin it).
    """

    requires_request_body = True  # canonical strings may cover the body

    placement: ClassVar[Literal["header", "query"]] = "header"
    signature_name: ClassVar[str] = "X-Signature"
    timestamp_name: ClassVar[str | None] = "X-Timestamp"
    nonce_name: ClassVar[str | None] = None

    def __init__(self, secret: SecretStr, *, clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.clock = clock
        if self.placement == "query":
            install_log_redaction()

    @abstractmethod
    def canonical_string(self, request: httpx.Request, timestamp: str, nonce: str) -> str:
        """The text the vendor's recipe signs, built from the request as it will be sent."""

    def timestamp(self) -> str:
        """The request's timestamp (default: Unix milliseconds)."""
        return str(int(self.clock() * 1000))

    def nonce(self, timestamp: str) -> str:  # noqa: ARG002 -- a hook: some vendors derive it
        """A one-time value (default: 16 random hex characters)."""
        return secrets.token_hex(8)

    def sign(self, message: str) -> str:
        """The signature of `message` (default: Base64 of HMAC-SHA256 under the secret)."""
        return hmac_sha256_base64(self.secret.get_secret_value(), message)

    def attach(
        self, request: httpx.Request, *, timestamp: str, nonce: str, signature: str
    ) -> None:
        """Put the signature (and timestamp and nonce, when named) on the request. Query
        values are given raw: httpx percent-encodes them exactly once."""
        values = {self.signature_name: signature}
        if self.timestamp_name is not None:
            values[self.timestamp_name] = timestamp
        if self.nonce_name is not None:
            values[self.nonce_name] = nonce
        for name, value in values.items():
            if self.placement == "query":
                request.url = request.url.copy_set_param(name, value)
            else:
                request.headers[name] = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = self.timestamp()
        nonce = self.nonce(timestamp)
        signature = self.sign(self.canonical_string(request, timestamp, nonce))
        register_credential(signature, slot=f"signature:{type(self).__name__}")
        self.attach(request, timestamp=timestamp, nonce=nonce, signature=signature)
        yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(secret=***)"

