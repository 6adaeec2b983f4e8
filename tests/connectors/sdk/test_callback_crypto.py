"""CallbackCrypto against the vendors' worked vectors, a third-party implementation, and abuse."""

from __future__ import annotations

import base64
import json

import pytest

from connectors.sdk import AuthError, ConfigError
from connectors.sdk.crypto import (
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

# /work/shared/vendor-protocols/dingtalk.md §8, vectors A (official debug example), B (official
# crypto repo sample) and C (computed, random prefix pinned, cross-checked with dingtalk-sdk).
VECTOR_A = {
    "token": "123456", "aes_key": "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij",
    "owner": "suite4xxxxxxxxxxxxxxx", "timestamp": "1445827045067", "nonce": "nEXhMP4r",
    "encrypt": "1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrH"
               "MeiZI7gTRWVdUBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr"
               "0rgUathB6zRHP8PYrfgnNOS9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==",
    "signature": "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0",
    "plain": b'{"EventType":"check_create_suite_url","Random":"LPIdSnlF",'
             b'"TestSuiteKey":"suite4xxxxxxxxxxxxxxx"}',
}
VECTOR_B = {
    "token": "mryue", "aes_key": "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7",
    "owner": "ding6ccabc44d2c8d38b", "timestamp": "1608001896814", "nonce": "WL4PK6yA",
    "encrypt": "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NR"
               "PvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3",
    "signature": "03044561471240d4a14bb09372dfcfd4fd0e40cb",
    "plain": b'{"EventType":"check_url"}',
}
C_TOKEN, C_KEY, C_OWNER = ("HubDingToken", "p9N2z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs",
                           "dingcorp0123456789")
C_TS, C_NONCE = "1700000000000", "hubNonce"
C_EVENT_ENCRYPT = ("uNiTms+JKL3KeNdesxXoaYWioPHBTTTC3udp1CZW4v7iSh2cOcXXr3hqgHEv4nRdNMBpeikLh/"
                   "X9Xc2sV7ptFg==")
C_EVENT_SIGNATURE = "52479256cbcda83c88687d57a153c794d853b869"
C_REPLY_ENCRYPT = ("uNiTms+JKL3KeNdesxXoafRpWEKy9fzqe9Lcdv5oGTeOMV48wvzWglrbpEkfWdlVyMtaTTgyYF"
                   "lq/2ZGoxYffg==")
C_REPLY_SIGNATURE = "6fdf248b19a3e5e6e6aa193a1dd518697f006f83"


def _pinned(n: int) -> bytes:
    return b"0123456789abcdef"[:n]


def vector_c() -> CallbackCrypto:
    return CallbackCrypto(token=C_TOKEN, encoding_aes_key=C_KEY, receive_id=C_OWNER,
                          random_bytes=_pinned)


def crypto_of(vector: dict[str, object]) -> CallbackCrypto:
    return CallbackCrypto(token=str(vector["token"]), encoding_aes_key=str(vector["aes_key"]),
                          receive_id=str(vector["owner"]))


@pytest.mark.parametrize("vector", [VECTOR_A, VECTOR_B], ids=["A", "B"])
def test_signature__matches_the_official_vectors(vector: dict[str, str]) -> None:
    crypto = crypto_of(vector)
    assert crypto.signature(vector["timestamp"], vector["nonce"], vector["encrypt"]) \
        == vector["signature"]
    crypto.verify(vector["signature"], vector["timestamp"], vector["nonce"], vector["encrypt"])


@pytest.mark.parametrize("vector", [VECTOR_A, VECTOR_B], ids=["A", "B"])
def test_decrypt__matches_the_official_vectors(vector: dict[str, object]) -> None:
    assert crypto_of(vector).decrypt(str(vector["encrypt"])) == vector["plain"]


def test_encrypt__matches_vector_c_with_the_random_prefix_pinned() -> None:
    crypto = vector_c()
    encrypt = crypto.encrypt('{"EventType":"check_url"}')
    assert encrypt == C_EVENT_ENCRYPT
    assert crypto.signature(C_TS, C_NONCE, encrypt) == C_EVENT_SIGNATURE
    reply = crypto.encrypt(b"success")
    assert reply == C_REPLY_ENCRYPT
    assert crypto.signature(C_TS, C_NONCE, reply) == C_REPLY_SIGNATURE


def test_decrypt__round_trips_unicode_with_random_prefixes() -> None:
    crypto = CallbackCrypto(token=C_TOKEN, encoding_aes_key=C_KEY, receive_id=C_OWNER)
    message = json.dumps({"EventType": "device_alarm", "text": "设备告警 紧急" * 20})
    first, second = crypto.encrypt(message), crypto.encrypt(message)
    assert first != second  # a fresh random prefix each time
    assert crypto.decrypt(first).decode("utf-8") == message


@pytest.mark.parametrize("signature", [
    "0" * 40, C_EVENT_SIGNATURE[:-1], "", C_REPLY_SIGNATURE, "not-hex-at-all-签名",
])
def test_verify__rejects_a_wrong_signature(signature: str) -> None:
    with pytest.raises(CallbackSignatureError) as caught:
        vector_c().verify(signature, C_TS, C_NONCE, C_EVENT_ENCRYPT)
    assert isinstance(caught.value, CallbackCryptoError)
    assert isinstance(caught.value, AuthError)
    assert C_TOKEN not in str(caught.value) and C_EVENT_SIGNATURE not in str(caught.value)


def test_verify__rejects_a_tampered_timestamp() -> None:
    with pytest.raises(CallbackSignatureError):
        vector_c().verify(C_EVENT_SIGNATURE, "1700000000001", C_NONCE, C_EVENT_ENCRYPT)


def _encrypt_raw(key_text: str, plain: bytes) -> str:
    """AES-256-CBC with the scheme's key and IV over bytes padded by the caller."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = base64.b64decode(key_text + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def _padded(body: bytes) -> bytes:
    pad = 32 - len(body) % 32
    return body + bytes([pad]) * pad


@pytest.mark.parametrize(("ciphertext", "reason"), [
    ("!!not base64!!", "base64"),
    ("", "whole number"),
    (base64.b64encode(b"x" * 20).decode(), "whole number"),
    (_encrypt_raw(C_KEY, b"0123456789abcdef" + b"\x00" * 15 + b"\x00"), "padding"),
    (_encrypt_raw(C_KEY, b"0123456789abcdef" + b"\x00" * 15 + b"\x21"), "padding"),
    (_encrypt_raw(C_KEY, _padded(b"0123456789abcdef" + b"\x00\x00\x01\x00{}")), "length"),
    (_encrypt_raw(C_KEY, _padded(b"0123456789abcdef" + b"\x00\x00")), "too short"),
    (_encrypt_raw(C_KEY, _padded(b"0123456789abcdef" + b"\x00\x00\x00\x02{}dingcorpOTHER")),
     "another receive id"),
])
def test_decrypt__rejects_malformed_ciphertexts(ciphertext: str, reason: str) -> None:
    with pytest.raises(CallbackCryptoError, match=reason) as caught:
        vector_c().decrypt(ciphertext)
    assert C_KEY not in str(caught.value) and C_TOKEN not in str(caught.value)


def test_decrypt__rejects_a_ciphertext_for_another_receiver() -> None:
    other = CallbackCrypto(token=C_TOKEN, encoding_aes_key=C_KEY, receive_id="dingOTHERcorp")
    with pytest.raises(CallbackCryptoError, match="another receive id"):
        vector_c().decrypt(other.encrypt("{}"))


def test_decrypt__rejects_a_ciphertext_under_another_key() -> None:
    with pytest.raises(CallbackCryptoError):
        vector_c().decrypt(VECTOR_B["encrypt"])  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "reason"), [
    (C_KEY[:-1], "43 characters"),
    (C_KEY + "A", "43 characters"),
    ("!" * 43, "base64"),
])
def test_init__rejects_a_bad_encoding_aes_key_without_showing_it(key: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        CallbackCrypto(token=C_TOKEN, encoding_aes_key=key, receive_id=C_OWNER)
    assert key not in str(caught.value)


def test_encrypt__refuses_a_short_random_prefix() -> None:
    crypto = CallbackCrypto(token=C_TOKEN, encoding_aes_key=C_KEY, receive_id=C_OWNER,
                            random_bytes=lambda n: b"short")
    with pytest.raises(ValueError, match="16"):
        crypto.encrypt("x")


def test_repr__never_shows_the_token_or_key() -> None:
    crypto = vector_c()
    assert C_TOKEN not in repr(crypto) and C_KEY not in repr(crypto)
    assert C_OWNER in repr(crypto)
    assert set(crypto.secret_values()) == {C_TOKEN, C_KEY}


def test_wechatpy__decrypts_ours_and_we_decrypt_its() -> None:
    wechat = pytest.importorskip("wechatpy.enterprise.crypto")
    key = base64.b64decode(C_KEY + "=")
    ours = CallbackCrypto(token=C_TOKEN, encoding_aes_key=C_KEY, receive_id="wwcorp01")
    theirs = wechat.PrpCrypto(key)
    message = "<xml><Content><![CDATA[退款 紧急]]></Content></xml>"
    assert theirs.decrypt(ours.encrypt(message), "wwcorp01") == message
    assert ours.decrypt(theirs.encrypt(message, "wwcorp01")).decode() == message
    xml = wechat.WeChatCrypto(C_TOKEN, C_KEY, "wwcorp01").encrypt_message(message, "n0nce",
                                                                          "1700000000")
    encrypt = xml.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    signature = xml.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    ours.verify(signature, "1700000000", "n0nce", encrypt)


@pytest.mark.parametrize(("timestamp", "now", "milliseconds", "fresh"), [
    ("1700000000", 1700000000.0, False, True),
    ("1700000000", 1700000299.0, False, True),
    ("1700000000", 1700000301.0, False, False),
    ("1700000400", 1700000000.0, False, False),  # from the future, beyond the window
    ("1700000000000", 1700000100.0, True, True),
    ("1700000000000", 1700000100.0, False, False),  # ms read as s: far in the future
    ("1700000000000", 1700000400.5, True, False),
    ("17e8", 1700000000.0, False, False),
    ("", 1700000000.0, True, False),
])
def test_check_fresh__accepts_only_the_window(
    timestamp: str, now: float, milliseconds: bool, fresh: bool
) -> None:
    if fresh:
        assert check_fresh(timestamp, now=now, milliseconds=milliseconds) == pytest.approx(
            int(timestamp) / (1000 if milliseconds else 1))
    else:
        with pytest.raises(StaleCallbackError):
            check_fresh(timestamp, now=now, milliseconds=milliseconds)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_memory_nonce_store__remembers_until_the_ttl() -> None:
    clock = _Clock()
    store = MemoryNonceStore(clock=clock)
    assert isinstance(store, NonceStore)
    assert await store.remember("a", ttl=10) is True
    assert await store.remember("a", ttl=10) is False
    assert await store.remember("b", ttl=10) is True
    clock.now += 10.5
    assert await store.remember("a", ttl=10) is True
    clock.now += 100
    await store.remember("c", ttl=10)
    assert store.size == 1  # expired keys were purged
    assert MemoryNonceStore()  # truthy even when empty: `nonces or default` keeps it


async def test_check_not_replayed__raises_on_the_second_use() -> None:
    store = MemoryNonceStore()
    await check_not_replayed(store, "dingtalk:n1", ttl=60)
    with pytest.raises(ReplayedCallbackError) as caught:
        await check_not_replayed(store, "dingtalk:n1", ttl=60)
    assert isinstance(caught.value, StaleCallbackError)
    assert isinstance(caught.value, CallbackCryptoError)
