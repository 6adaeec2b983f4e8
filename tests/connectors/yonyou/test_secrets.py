"""The app secret, tokens and signatures never show in logs, errors or CallRecords."""

from __future__ import annotations

import pytest

from connectors.sdk import ConnectorError
from connectors.sdk.testing import capture_logs

from .conftest import Server
from .test_write import parts


async def test_secrets__absent_from_logs_errors_and_call_records(sandbox: Server) -> None:
    errors: list[str] = []
    with capture_logs() as records:
        async with sandbox.connector() as connector:
            [b async for b in connector.read("customers")]
            sandbox.control("POST", "/expire_tokens")
            await connector.write("parts.consume", "S1", parts("S1"), check_first=False)
            sandbox.faults.fail_next(1, status=200, body={"code": "999", "message": "x"},
                                     path_prefix="/iuap-api-gateway/yonbip/scm")
            with pytest.raises(ConnectorError) as caught:
                await connector.write("parts.consume", "S2", parts("S2"), check_first=False)
            errors += [str(caught.value), repr(caught.value)]
        async with sandbox.connector(app_secret="wrong-secret-value-42") as bad:
            with pytest.raises(ConnectorError) as refused:
                [b async for b in bad.read("stock")]
            errors += [str(refused.value), repr(refused.value)]
    secrets = {sandbox.app_secret, "wrong-secret-value-42", *sandbox.state.auth.issued,
               *sandbox.state.auth.signatures}
    assert len(sandbox.state.auth.issued) == 2 and sandbox.state.auth.signatures
    texts = [r.getMessage() for r in records] + errors
    texts += [f"{c.url} {c.error}" for c in sandbox.calls]
    texts += [str(entry) for entry in sandbox.state.log]
    leaks = [(s, t) for s in secrets for t in texts if s in t]
    assert leaks == []
    assert sandbox.calls and any(c.outcome == "auth" for c in sandbox.calls)
