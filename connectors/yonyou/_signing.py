"""The token request's signature (protocol notes §2), shared by the client and the sandbox.

Sort the parameters except `signature` by name, concatenate ``name + value`` without
separators, HMAC-SHA256 under the app secret, Base64 (standard alphabet, not hex). The result
is returned raw: httpx `params=` percent-encodes it exactly once on the wire; quoting it here
as well would double-encode it and the gateway would refuse the token call.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.sdk.crypto import hmac_sha256_base64

__all__ = ["string_to_sign", "token_signature"]


def string_to_sign(params: Mapping[str, str]) -> str:
    """``appKey<appKey>timestamp<ms>``: every parameter but `signature`, sorted by name."""
    return "".join(f"{name}{params[name]}" for name in sorted(params) if name != "signature")


def token_signature(app_key: str, timestamp_ms: str, app_secret: str) -> str:
    """The raw Base64 signature of a self-built app's token request."""
    return hmac_sha256_base64(
        app_secret, string_to_sign({"appKey": app_key, "timestamp": timestamp_ms}))
