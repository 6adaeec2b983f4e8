"""`hub apikeys create|list|revoke`: the key is printed once, never listed, and revocable."""

from __future__ import annotations

import re

import pytest

from hub.access.apikeys import ApiKeyVerifier
from hub.core.settings import Settings
from hub.errors import AuthenticationError
from hub.runtime import Hub

from .conftest import CliEnv, Run

KEY = re.compile(r"hub_[A-Za-z0-9_-]{8}_[A-Za-z0-9_-]{43,}")


def test_apikeys__create_prints_once_list_hides_revoke_refuses(
    env: CliEnv, run: Run
) -> None:
    code, out, err = run("apikeys", "create", "--name", "service desk", "--role",
                         "agent", "--scope", "pii", "--expires", "90d")
    assert code == 0, err
    [key] = KEY.findall(out)
    assert out.strip() == key  # stdout is the key alone: `KEY=$(hub apikeys create …)`
    prefix = key.split("_")[1]  # letters and digits only; the secret may hold "_"
    assert prefix in err and "not shown again" in err and key not in err

    code, out, err = run("apikeys", "list")
    assert code == 0 and prefix in out and "service desk" in out and "pii" in out
    assert key not in out + err and key.split("_", 2)[2][:8] not in out + err

    hub = Hub(Settings(database_url=env.database_url))
    verifier = ApiKeyVerifier(hub.sessions, cache_seconds=0)
    assert verifier.verify(key).role == "agent"
    code, out, _ = run("apikeys", "revoke", prefix)
    assert code == 0 and f"revoked API key {prefix}" in out
    with pytest.raises(AuthenticationError, match="revoked"):
        verifier.verify(key)
    code, out, _ = run("apikeys", "list")
    assert re.search(rf"{prefix}.*\d{{4}}-\d\d-\d\d.*\d{{4}}-\d\d-\d\d.*\d{{4}}-\d\d-\d\d",
                     out)  # created, expires and revoked all filled in
    assert key not in cli_audit(hub)
    hub.close()


def cli_audit(hub: Hub) -> str:
    return "\n".join(f"{r.actor}|{r.action}|{r.target}|{r.detail}" for r in hub.audit.tail(50))


@pytest.mark.parametrize("args, message", [
    (["--role", "root"], "role 'root'"),
    (["--role", "agent", "--expires", "soon"], "expiry 'soon'"),
])
def test_apikeys__bad_create_is_one_line_exit_2(
    env: CliEnv, run: Run, args: list[str], message: str
) -> None:
    code, out, err = run("apikeys", "create", "--name", "x", *args)
    assert code == 2 and message in err and not KEY.search(out + err)


def test_apikeys__revoking_an_unknown_prefix_is_exit_3(
    env: CliEnv, run: Run
) -> None:
    code, _, err = run("apikeys", "revoke", "nosuchkey")
    assert code == 3 and "no API key with prefix" in err
