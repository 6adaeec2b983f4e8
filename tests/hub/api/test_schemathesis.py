"""Schemathesis against the app's own OpenAPI: no server errors, every response as documented.

The served app (loopback, `api_client`) is called as an admin with the credentials
`api_credentials` gives, for every operation in the document — none is excluded. Data is
generated both valid (positive) and invalid (negative: the app must answer 4xx, never 5xx).
"""

from __future__ import annotations

from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub.runtime import Hub

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
MAX_EXAMPLES = 12  # per operation and generation mode: the whole run stays well under a minute
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
    suppress_health_check=list(HealthCheck), phases=[hypothesis.Phase.explicit,
                                                     hypothesis.Phase.generate])


def _run(operation: Any, mode: GenerationMode, base_url: str, headers: dict[str, str],
         failures: list[str]) -> None:
    @SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        try:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS,
                                   timeout=30)
        except (AssertionError, FailureGroup) as exc:
            # Recorded here (each distinct failure once), and hypothesis goes on shrinking.
            failures.append(f"{operation.label} [{mode.value}]: {_brief(exc)}")
            raise

    try:
        check()
    except hypothesis.errors.Unsatisfiable:
        # Nothing to negate (no parameters, or none whose invalid form can be sent).
        assert mode is GenerationMode.NEGATIVE, operation.label
    except (Exception, FailureGroup) as exc:  # collected, reported together below
        if not failures or operation.label not in failures[-1]:
            failures.append(f"{operation.label} [{mode.value}]: {_brief(exc)}")


def _brief(exc: BaseException) -> str:
    """The failure's checks and the curl that reproduces it, without the response bodies."""
    text = f"{type(exc).__name__}: {exc}"
    for sub in getattr(exc, "exceptions", ()):
        text += f"\n  - {type(sub).__name__}: {str(sub).strip()[:600]}"
    return text[:4000]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_api_conforms_to_its_openapi(api_client: Any, hub: Hub) -> None:
    with api_client(hub, role="admin", scopes=("pii",)) as api:
        document = api.get("/openapi.json").json()
        schema = schemathesis.openapi.from_dict(document)
        base_url = str(api.base_url).rstrip("/")
        headers = dict(api.headers)
        for key in ("host", "content-length", "accept-encoding", "connection", "user-agent"):
            headers.pop(key, None)
        failures: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _run(operation, mode, base_url, headers, failures)
    assert not failures, "\n\n".join(failures)
