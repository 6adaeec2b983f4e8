"""Base64url without padding (RFC 4648 §5, as JWTs, PKCE and the hub's cursors and
console cookies write it)."""

from __future__ import annotations

import base64

__all__ = ["b64url_decode", "b64url_encode"]


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of `text`, its padding restored; binascii.Error (a ValueError) when it is
    not Base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
