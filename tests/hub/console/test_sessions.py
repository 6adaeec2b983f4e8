"""The console's session cookie: signed, expiring, bound to its key; CSRF tokens bound to
the session."""

from __future__ import annotations

from hub.console.sessions import SessionSigner, derive_secret

SIGNER = SessionSigner(derive_secret(b"audit-key-for-tests"))


def test_a_session_reads_back_only_as_signed_and_before_it_ends() -> None:
    session = SIGNER.new(key_prefix="AbCd1234", key_hash="ab" * 32, now=1_000_000)
    cookie = SIGNER.dumps(session)
    assert SIGNER.loads(cookie, now=1_000_001) == session
    assert "AbCd1234" not in cookie or "ab" * 32 not in cookie  # never the key's hash
    assert SIGNER.loads(cookie, now=1_000_000 + SIGNER.lifetime) is None  # expired
    body, signature = cookie.split(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    assert SIGNER.loads(f"{forged_body}.{signature}", now=1_000_001) is None
    other = SessionSigner(derive_secret(b"another-audit-key"))
    assert other.loads(cookie, now=1_000_001) is None
    for junk in ("", "x", "a.b.c", "..", "€.€", None):
        assert SIGNER.loads(junk, now=1_000_001) is None


def test_the_fingerprint_ties_a_session_to_its_key_without_carrying_it() -> None:
    one, two = SIGNER.fingerprint("ab" * 32), SIGNER.fingerprint("cd" * 32)
    assert one != two and "ab" * 32 not in one


def test_csrf_tokens_are_bound_to_their_session() -> None:
    first, second = SIGNER.new(), SIGNER.new()
    token = SIGNER.csrf_token(first)
    assert SIGNER.csrf_ok(first, token)
    assert not SIGNER.csrf_ok(second, token)
    assert not SIGNER.csrf_ok(first, None) and not SIGNER.csrf_ok(first, "")
    assert not SIGNER.csrf_ok(first, token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_a_single_sign_on_session_carries_the_principal_and_ends_with_its_token() -> None:
    session = SIGNER.for_token(subject="jwt:alice", roles={"agent"}, scopes={"pii"},
                               token_expires=1_000_600, now=1_000_000)
    assert session.expires == 1_000_600 and session.signed_in
    back = SIGNER.loads(SIGNER.dumps(session), now=1_000_001)
    assert back is not None and (back.subject, back.roles, back.scopes) == (
        "jwt:alice", ("agent",), ("pii",))
    assert SIGNER.loads(SIGNER.dumps(session), now=1_000_600) is None


def test_sealed_values_read_back_only_for_their_purpose() -> None:
    sealed = SIGNER.seal("oidc", {"state": "s1"}, seconds=60)
    assert SIGNER.unseal("oidc", sealed) == {"state": "s1"}
    assert SIGNER.unseal("session", sealed) is None
    body, signature = sealed.split(".")
    forged = signature[:-5] + ("A" if signature[-5] != "A" else "B") + signature[-4:]
    assert SIGNER.unseal("oidc", f"{body}.{forged}") is None


def test_a_signature_is_read_only_as_written() -> None:
    # A 32-byte MAC is 43 Base64 characters; the last one's two low bits are dropped by a
    # decoder, so four spellings decode alike: only the one the signer wrote is accepted.
    sealed = SIGNER.seal("oidc", {"state": "s1"}, seconds=60)
    body, signature = sealed.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    twin = alphabet[last ^ 1]  # the same four data bits, another dropped bit
    assert SIGNER.unseal("oidc", f"{body}.{signature[:-1]}{twin}") is None
    cookie = SIGNER.dumps(SIGNER.new(key_prefix="hub_abcd", key_hash="h", now=1_000_000))
    body, signature = cookie.split(".")
    twin = alphabet[alphabet.index(signature[-1]) ^ 1]
    assert SIGNER.loads(f"{body}.{signature[:-1]}{twin}", now=1_000_001) is None
    assert SIGNER.loads(cookie, now=1_000_001) is not None
    assert SIGNER.unseal("oidc", SIGNER.seal("oidc", {"state": "s1"}, seconds=-1)) is None
