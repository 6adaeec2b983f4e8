"""Signing in to the console: a key checked against the store, re-checked on every request
(revoked: refused at once), a session bound to its very key; refusals audited, a flood of
them counted in one row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.access.apikeys import create_key, revoke_key
from hub.audit.query import query_audit
from hub.console.auth import ConsoleAuth
from hub.console.sessions import SessionSigner, derive_secret
from hub.errors import AuthenticationError
from hub.runtime import Hub


@pytest.fixture
def auth(make_hub: Any, tmp_path: Path) -> Iterator[ConsoleAuth]:
    hub: Hub = make_hub(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        yield ConsoleAuth(hub, signer=SessionSigner(derive_secret(b"test-audit-key")))
    finally:
        hub.close()


def _rows(hub: Hub, action: str) -> list[Any]:
    return list(query_audit(hub.sessions, action=action, limit=100).items)


def test_sign_in__gives_the_keys_principal_and_a_session_bound_to_it(auth: ConsoleAuth) -> None:
    created = create_key(auth.hub, name="agent", role="agent", scopes=("pii",), actor="test")
    principal, session = auth.sign_in(f"  {created.key} ", client="10.0.0.7")
    assert principal.roles == frozenset({"agent"}) and principal.sees_personal_data
    assert session.key_prefix == created.info.prefix and created.key not in str(session)
    assert auth.recheck(session) == principal
    [row] = _rows(auth.hub, "console.signin")
    assert row.actor == f"console:apikey:{created.info.prefix}" and row.outcome == "ok"

    revoke_key(auth.hub, created.info.prefix, actor="test")
    with pytest.raises(AuthenticationError, match="revoked"):
        auth.recheck(session)


def test_a_session_forged_for_another_key_of_that_prefix_is_refused(auth: ConsoleAuth) -> None:
    created = create_key(auth.hub, name="agent", role="agent", actor="test")
    _, session = auth.sign_in(created.key, client="-")
    forged = auth.signer.new(key_prefix=created.info.prefix, key_hash="0" * 64)
    with pytest.raises(AuthenticationError, match="replaced"):
        auth.recheck(forged)
    assert auth.recheck(session).subject == f"apikey:{created.info.prefix}"


@pytest.mark.parametrize("key", ["", "not-a-key", "hub_AbCdEfGh_" + "x" * 43])
def test_a_bad_key_is_refused_and_audited_without_the_key(auth: ConsoleAuth, key: str) -> None:
    with pytest.raises(AuthenticationError):
        auth.sign_in(key, client="10.0.0.9")
    [row] = _rows(auth.hub, "console.signin")
    assert row.outcome == "401" and row.actor == "anonymous"
    assert (key or "@@") not in str(row.detail)


def test_a_flood_of_bad_keys_is_one_row_and_a_count(auth: ConsoleAuth) -> None:
    for _ in range(25):
        with pytest.raises(AuthenticationError):
            auth.sign_in("hub_AbCdEfGh_" + "y" * 43, client="10.0.0.9")
    assert len(_rows(auth.hub, "console.signin")) == 1
    auth.flush_denials()
    [repeats] = _rows(auth.hub, "console.signin.repeats")
    assert repeats.detail["count"] == 24
