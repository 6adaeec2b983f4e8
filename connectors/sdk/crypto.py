"""Signing requests and opening signed, encrypted callbacks (with freshness and replay checks)."""

from ._callback_crypto import (
    CallbackCrypto,
    CallbackCryptoError,
    CallbackSignatureError,
    MemoryNonceStore,
    NonceStore,
    ReplayedCallbackError,
    StaleCallbackError,
    check_fresh,
    check_not_replayed,
)
from ._signing import RequestSigner, hmac_sha256_base64, hmac_sha256_digest, hmac_sha256_hex

__all__ = [
    "CallbackCrypto",
    "CallbackCryptoError",
    "CallbackSignatureError",
    "MemoryNonceStore",
    "NonceStore",
    "ReplayedCallbackError",
    "RequestSigner",
    "StaleCallbackError",
    "check_fresh",
    "check_not_replayed",
    "hmac_sha256_base64",
    "hmac_sha256_digest",
    "hmac_sha256_hex",
]
