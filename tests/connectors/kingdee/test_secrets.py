"""Passwords, app secrets, session ids and signatures never reach logs, errors or CallRecords."""

from __future__ import annotations

import httpx
import pytest

from connectors.sdk import ConnectorError
from connectors.sdk.testing import capture_logs

from .conftest import CREDS, Kingdee
from .test_writes import parts


@pytest.mark.parametrize("auth", ["password", "app_secret", "sign", "signed_headers"])
async def test_secrets__never_shown_on_any_path(kingdee: Kingdee, auth: str) -> None:
    errors: list[str] = []
    with capture_logs() as records:
        async with kingdee.connector(auth=auth) as erp:
            await erp.check()
            httpx.post(f"{kingdee.root}/_sandbox/expire_sessions").raise_for_status()
            await erp.client.query("BD_Customer", ["FNumber"], limit=2)
            try:
                await erp.write("parts.consume", "TK000124-PC1",
                                parts("TK000124-PC1", material="P-404"), check_first=False)
            except ConnectorError as exc:
                errors += [str(exc), repr(exc)]
            errors.append(repr(erp))
        bad = {"password": "wrong-pw-1234"} if auth == "password" else {"app_secret": "d" * 32}
        async with kingdee.connector(auth=auth, **bad) as erp:
            try:
                await erp.client.query("BD_Customer", ["FNumber"])
            except ConnectorError as exc:
                errors += [str(exc), repr(exc)]
            errors.append(str((await erp.check()).detail))
    secrets = [CREDS["password"], CREDS["app_secret"], "wrong-pw-1234", "d" * 32,
               *kingdee.state.sessions.ever_issued]
    assert len(errors) >= 4
    shown = [r.getMessage() for r in records] + errors + [str(c) for c in kingdee.calls]
    for text in shown:
        for secret in secrets:
            assert secret not in text, f"secret leaked in: {text[:200]}"
