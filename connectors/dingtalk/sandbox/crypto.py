"""The DingTalk sandbox's own crypto, written from the protocol notes (§6, §8), not shared with
the connector: a second implementation that disagrees with the client when the client is wrong.

`EventPusher` plays DingTalk's side of the event push: it encrypts and signs an event, POSTs
it to a receiver URL, and opens the encrypted "success" the receiver must answer with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["EventPusher", "PushCipher", "robot_sign"]


def robot_sign(secret: str, timestamp: str) -> str:
    """§6: Base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)), not URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), "sha256").digest()
    return base64.b64encode(digest).decode()


class PushCipher:
    """§8: AES-256-CBC, key = b64decode(aes_key + "="), IV = key[:16], PKCS#7 to 32 bytes,
    plaintext random(16) ‖ len(4, big-endian) ‖ msg ‖ owner_key; SHA1 over sorted values."""

    def __init__(self, token: str, aes_key: str, owner_key: str,
                 random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        self.token, self.owner_key = token, owner_key.encode()
        self.key = base64.b64decode(aes_key + "=")
        self.random_bytes = random_bytes

    def sign(self, *values: str) -> str:
        return hashlib.sha1("".join(sorted((self.token, *values))).encode()).hexdigest()

    def seal(self, message: bytes) -> str:
        padder = padding.PKCS7(256).padder()
        plain = padder.update(self.random_bytes(16) + len(message).to_bytes(4, "big") + message
                              + self.owner_key) + padder.finalize()
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def open(self, sealed: str) -> bytes:
        """The message, or ValueError when the ciphertext is not for this owner key."""
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        padded = dec.update(base64.b64decode(sealed)) + dec.finalize()
        unpadder = padding.PKCS7(256).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        size = int.from_bytes(plain[16:20], "big")
        message, owner = plain[20:20 + size], plain[20 + size:]
        if owner != self.owner_key:
            raise ValueError("sealed for another owner key")
        return message


class EventPusher:
    """DingTalk's side of the HTTP event push, for tests of a receiver.

    Args:
        token: the app's event-push token.
        aes_key: its 43-character aes_key.
        owner_key: the receive id (app key, corp id or suite key).
        clock: Unix-seconds clock for the push's millisecond timestamp.

    Example:
        ```python
        pusher = EventPusher(token=TOKEN, aes_key=KEY, owner_key=APP_KEY)
        response = await pusher.push(f"{hub_url}/webhooks/dingtalk", {"EventType": "check_url"})
        assert pusher.open_reply(response.content) == "success"
        ```
    """

    def __init__(self, *, token: str, aes_key: str, owner_key: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.cipher = PushCipher(token, aes_key, owner_key)
        self.clock = clock

    def build(
        self, event: Mapping[str, Any], *, timestamp: str | None = None,
        nonce: str | None = None, legacy_names: bool = False, signature: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The query and body of one push. `legacy_names` spells the parameters ``signature``
        and ``timeStamp``; `signature` overrides the computed one (a forgery)."""
        stamp = timestamp or str(int(self.clock() * 1000))
        once = nonce or secrets.token_hex(4)
        sealed = self.cipher.seal(json.dumps(event, ensure_ascii=False).encode())
        sig = signature or self.cipher.sign(stamp, once, sealed)
        names = ("signature", "timeStamp") if legacy_names else ("msg_signature", "timestamp")
        query = {names[0]: sig, names[1]: stamp, "nonce": once}
        return query, json.dumps({"encrypt": sealed}).encode()

    async def push(self, url: str, event: Mapping[str, Any], *,
                   client: httpx.AsyncClient | None = None, **options: Any) -> httpx.Response:
        """POST one push to `url` (options as for `build`); returns the receiver's answer."""
        query, body = self.build(event, **options)
        headers = {"Content-Type": "application/json"}
        if client is not None:
            return await client.post(url, params=query, content=body, headers=headers)
        async with httpx.AsyncClient(timeout=10) as own:
            return await own.post(url, params=query, content=body, headers=headers)

    def open_reply(self, body: bytes) -> str:
        """The plaintext of a receiver's reply, after checking its four fields and signature.

        Raises:
            ValueError: the reply is not what DingTalk accepts.
        """
        reply = json.loads(body)
        if not isinstance(reply, dict) or set(reply) != {"msg_signature", "timeStamp", "nonce",
                                                         "encrypt"}:
            raise ValueError("the reply must have exactly msg_signature, timeStamp, nonce, "
                             "encrypt")
        expected = self.cipher.sign(str(reply["timeStamp"]), str(reply["nonce"]),
                                    str(reply["encrypt"]))
        if not hmac.compare_digest(expected, str(reply["msg_signature"])):
            raise ValueError("the reply's msg_signature does not match")
        return self.cipher.open(str(reply["encrypt"])).decode()

    def __repr__(self) -> str:
        return "EventPusher(token=***, aes_key=***)"
