"""Encrypted vendor callbacks: the WXBizMsgCrypt scheme shared by WeCom and DingTalk.

Both vendors push events as ``{"encrypt": "<base64>"}`` (WeCom wraps it in XML) with a
signature ``SHA1_hex(sorted(token, timestamp, nonce, encrypt))`` in the query string. The
ciphertext is AES-256-CBC with ``key = base64decode(encoding_aes_key + "=")`` and
``iv = key[:16]``, PKCS#7-padded to 32-byte blocks, over
``random(16) ‖ len(msg) (4 bytes, big-endian) ‖ msg ‖ receive_id`` — the receive id being the
WeCom corp id, or DingTalk's owner key (corp id, app key or suite key).

A receiver verifies the signature, checks that the timestamp is fresh (`check_fresh`) and the
nonce unused (`check_not_replayed`, over a `NonceStore`), then decrypts. Errors never show the
token, the key or a signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import SecretStr

from ._errors import AuthError, ConfigError

__all__ = [
    "CallbackCrypto",
    "CallbackCryptoError",
    "CallbackSignatureError",
    "MemoryNonceStore",
    "NonceStore",
    "ReplayedCallbackError",
    "StaleCallbackError",
    "check_fresh",
    "check_not_replayed",
]

BLOCK = 32  # PKCS#7 block size of the scheme (not AES's 16)
_RANDOM_PREFIX = 16
_LENGTH_BYTES = 4
_AES_KEY_CHARS = 43
DEFAULT_WINDOW = 300.0  # seconds a callback's timestamp may be off from ours


class CallbackCryptoError(AuthError):
    """A callback that cannot be trusted: bad base64, bad padding, another receiver's."""


class CallbackSignatureError(CallbackCryptoError):
    """The callback's signature does not match: forged, or signed with another token."""


class StaleCallbackError(CallbackCryptoError):
    """The callback's timestamp is outside the accepted window (or not a timestamp)."""


class ReplayedCallbackError(StaleCallbackError):
    """The callback's nonce was seen before: a replay."""


def _secret(value: SecretStr | str) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


def _aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != _AES_KEY_CHARS:
        raise ConfigError(f"the EncodingAESKey must be {_AES_KEY_CHARS} characters, "
                          f"not {len(encoding_aes_key)}")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("the EncodingAESKey is not valid base64") from None
    if len(key) != BLOCK:  # pragma: no cover -- 43 valid base64 chars always give 32 bytes
        raise ConfigError("the EncodingAESKey does not decode to 32 bytes")
    return key


class CallbackCrypto:
    """Signs, verifies, encrypts and decrypts callbacks of one app. Its repr shows no secret.

    Args:
        token: the callback token configured with the vendor.
        encoding_aes_key: the 43-character EncodingAESKey (``aes_key``).
        receive_id: the id the plaintext must end with (WeCom corp id; DingTalk owner key).
        random_bytes: source of the 16-byte random prefix (tests pin it).

    Raises:
        ConfigError: the EncodingAESKey is not 43 characters of base64.

    Example:
        ```python
        crypto = CallbackCrypto(token=cfg.callback_token, encoding_aes_key=cfg.aes_key,
                                receive_id=cfg.corp_id)
        crypto.verify(query["msg_signature"], query["timestamp"], query["nonce"], encrypted)
        event = json.loads(crypto.decrypt(encrypted))
        ```
    """

    def __init__(
        self,
        *,
        token: SecretStr | str,
        encoding_aes_key: SecretStr | str,
        receive_id: str,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._token = _secret(token)
        self._aes_key_text = _secret(encoding_aes_key)
        self._key = _aes_key(self._aes_key_text.get_secret_value())
        self.receive_id = receive_id
        self._random_bytes = random_bytes

    def secret_values(self) -> list[str]:
        """The token and key, for a Redactor: values never to be shown."""
        return [self._token.get_secret_value(), self._aes_key_text.get_secret_value()]

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """``SHA1_hex`` of the token, timestamp, nonce and ciphertext, sorted and joined."""
        parts = sorted([self._token.get_secret_value(), timestamp, nonce, encrypt])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def verify(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        """Check a callback's signature in constant time.

        Raises:
            CallbackSignatureError: it does not match.
        """
        expected = self.signature(timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("utf-8")):
            raise CallbackSignatureError("callback signature does not match",
                                         operation="callback.verify")

    def encrypt(self, message: str | bytes) -> str:
        """Base64 ciphertext of `message` for this receiver (a reply, or a test's callback)."""
        raw = message.encode("utf-8") if isinstance(message, str) else message
        prefix = self._random_bytes(_RANDOM_PREFIX)
        if len(prefix) != _RANDOM_PREFIX:
            raise ValueError(f"random_bytes returned {len(prefix)} bytes, not {_RANDOM_PREFIX}")
        plain = (prefix + len(raw).to_bytes(_LENGTH_BYTES, "big") + raw
                 + self.receive_id.encode("utf-8"))
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypt: str) -> bytes:
        """The message inside a callback's ciphertext, after checking padding and receiver.

        Raises:
            CallbackCryptoError: not base64, not whole blocks, bad padding or length, or
                meant for another receive id.
        """
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise self._error("the ciphertext is not valid base64") from None
        if not data or len(data) % 16:
            raise self._error("the ciphertext is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise self._error("the ciphertext has bad padding (wrong key?)")
        body = plain[_RANDOM_PREFIX:-pad]
        if len(body) < _LENGTH_BYTES:
            raise self._error("the plaintext is too short")
        length = int.from_bytes(body[:_LENGTH_BYTES], "big")
        if _LENGTH_BYTES + length > len(body):
            raise self._error("the plaintext's length field is out of range")
        message = body[_LENGTH_BYTES:_LENGTH_BYTES + length]
        receiver = body[_LENGTH_BYTES + length:]
        if not hmac.compare_digest(receiver, self.receive_id.encode("utf-8")):
            raise self._error("the callback is meant for another receive id")
        return message

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    @staticmethod
    def _error(message: str) -> CallbackCryptoError:
        return CallbackCryptoError(message, operation="callback.decrypt")

    def __repr__(self) -> str:
        return f"CallbackCrypto(receive_id={self.receive_id!r}, token=***, encoding_aes_key=***)"


def check_fresh(
    timestamp: str, *, now: float | None = None, window: float = DEFAULT_WINDOW,
    milliseconds: bool = False,
) -> float:
    """Check that a callback's timestamp is within `window` seconds of `now`.

    Args:
        timestamp: the callback's timestamp, Unix seconds (WeCom) or milliseconds (DingTalk).
        now: the current Unix time in seconds (default: the clock).
        window: how far off, either way, is still fresh.
        milliseconds: the timestamp is in milliseconds.

    Returns:
        The timestamp in Unix seconds.

    Raises:
        StaleCallbackError: not a number, or outside the window.
    """
    try:
        value = int(timestamp)
    except ValueError:
        raise StaleCallbackError("the callback timestamp is not a number",
                                 operation="callback.verify") from None
    seconds = value / 1000 if milliseconds else float(value)
    current = time.time() if now is None else now
    if abs(current - seconds) > window:
        raise StaleCallbackError(
            f"the callback timestamp is {round(current - seconds)} s off (window {window:g} s)",
            operation="callback.verify",
        )
    return seconds


@runtime_checkable
class NonceStore(Protocol):
    """Remembers callback nonces for a while; the hub shares one store between processes."""

    async def remember(self, key: str, *, ttl: float) -> bool:
        """Record `key` for `ttl` seconds; True if it was not already recorded (first use)."""
        ...


async def check_not_replayed(nonces: NonceStore, key: str, *, ttl: float) -> None:
    """Record a callback's nonce key; a key seen within `ttl` seconds is a replay.

    Raises:
        ReplayedCallbackError: the key was recorded before.
    """
    if not await nonces.remember(key, ttl=ttl):
        raise ReplayedCallbackError("the callback nonce was already used (replay)",
                                    operation="callback.verify")


class MemoryNonceStore:
    """A NonceStore for one process: a dict of keys to expiry times, purged as it goes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._next_purge = 0.0

    async def remember(self, key: str, *, ttl: float) -> bool:
        with self._lock:
            now = self._clock()
            if now >= self._next_purge:
                self._expiry = {k: t for k, t in self._expiry.items() if t > now}
                self._next_purge = now + min(ttl, 60.0)
            expiry = self._expiry.get(key)
            if expiry is not None and expiry > now:
                return False
            self._expiry[key] = now + ttl
            return True

    @property
    def size(self) -> int:
        """Keys held, expired ones not yet purged included. (No ``__len__``: an empty store
        must stay truthy, or ``nonces or MemoryNonceStore()`` would swap it.)"""
        return len(self._expiry)

    def __repr__(self) -> str:
        return f"MemoryNonceStore(keys={len(self._expiry)})"
