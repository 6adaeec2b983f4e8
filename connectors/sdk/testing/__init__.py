"""The connector test kit: a conformance suite, fault injection and record/replay.

    from connectors.sdk.testing import ConnectorSuite

    TestCrm = ConnectorSuite.build(
        connector=CrmConnector,
        sandbox=lambda: create_app(api_key="k", customers=120),
        config=lambda base_url: {"base_url": base_url, "api_key": "k", "page_size": 25},
        bad_config=lambda base_url: {"base_url": base_url, "api_key": "wrong"},
        stream="customers",
    )

Imports pytest: use it from tests only. See docs/connectors.md.
"""

from ._cassette import (
    Cassette,
    CassetteError,
    RecordingTransport,
    ReplayTransport,
    UnmatchedRequestError,
)
from ._cassette_format import Interaction
from ._conformance import ConformanceTests, ConnectorSuite
from ._fault_types import LoggedRequest
from ._faults import DroppedConnectionError, FaultInjector
from ._harness import ReadResult, SandboxHarness, SuiteSpec, capture_logs
from .token_sandbox import TokenSandbox, create_token_sandbox

__all__ = [
    "Cassette",
    "CassetteError",
    "ConformanceTests",
    "ConnectorSuite",
    "DroppedConnectionError",
    "FaultInjector",
    "Interaction",
    "LoggedRequest",
    "ReadResult",
    "RecordingTransport",
    "ReplayTransport",
    "SandboxHarness",
    "SuiteSpec",
    "TokenSandbox",
    "UnmatchedRequestError",
    "capture_logs",
    "create_token_sandbox",
]
