"""The conformance checks, one coroutine each; they raise AssertionError saying what to fix.

Evidence comes from the FaultInjector's request log (what the sandbox really received), not
from the connector's own account of itself.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from typing import Any

from .._config import ConnectorConfig
from .._errors import AuthError, ConnectorError
from .._redact import is_sensitive_name
from .._streams import Batch
from ._fault_types import LoggedRequest
from ._harness import SandboxHarness, SuiteSpec

__all__ = [
    "check_bad_credentials",
    "check_check_ok",
    "check_dropped_connection_retried",
    "check_incremental",
    "check_paging",
    "check_rate_limited_retried",
    "check_retry_after_capped",
    "check_server_errors_retried",
    "check_spec",
    "check_token_refresh",
    "require",
]

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SECRET_SUFFIXES = ("secret", "password", "passwd", "_token", "api_key", "apikey", "private_key",
                    "signing_key", "aes_key", "aeskey")
_RETRY_AFTER = 1  # seconds asked for by the injected 429
_TOLERANCE = 0.05  # clock granularity between the injector's timestamps
_CAP_CHECK_TIMEOUT = 30.0
_CONCURRENT_READS = 5


def require(condition: object, message: str) -> None:
    """Fail the check with `message` unless `condition` holds (unlike assert, never elided)."""
    if not condition:
        raise AssertionError(message)


def _results(entries: list[LoggedRequest]) -> list[int | str]:
    return [entry.result for entry in entries]


def check_spec(spec: SuiteSpec) -> None:
    """Name, Config and stream are declared; the Config schema has base_url and hides secrets."""
    cls = spec.connector
    name = getattr(cls, "name", None)
    require(isinstance(name, str) and _NAME.fullmatch(name),
            f"{cls.__name__}.name must be a lowercase identifier, not {name!r}")
    require(isinstance(getattr(cls, "Config", None), type)
            and issubclass(cls.Config, ConnectorConfig),
            f"{cls.__name__}.Config must subclass connectors.sdk.ConnectorConfig")
    require((spec.stream is None) != (spec.operation is None),
            "give the suite either a stream or an operation (for a connector without streams)")
    require(spec.stream is None or spec.stream in cls.streams,
            f"{cls.__name__} has no stream {spec.stream!r}; it has: {sorted(cls.streams)}")
    schema = cls.Config.model_json_schema()
    json.dumps(schema)  # the hub serves it as JSON: it must serialise
    require("base_url" in schema.get("properties", {}),
            f"{cls.__name__}.Config's JSON schema has no base_url property")
    for owner, prop_name, prop in _properties(schema):
        if _looks_secret(prop_name):
            require(_marked_secret(prop, schema),
                    f"{owner}.{prop_name} looks like a secret but is not a pydantic SecretStr "
                    "(its schema lacks writeOnly and format: password); declare it SecretStr "
                    "so it never prints and the SDK masks its value")
    cls.Config.model_validate(spec.config("http://127.0.0.1:9"))


def _properties(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    objects = [(str(schema.get("title", "Config")), schema)]
    objects += [(str(name), sub) for name, sub in (schema.get("$defs") or {}).items()]
    for owner, obj in objects:
        for prop_name, prop in (obj.get("properties") or {}).items():
            found.append((owner, prop_name, prop))
    return found


def _looks_secret(name: str) -> bool:
    lowered = name.lower()
    return is_sensitive_name(lowered) or lowered.endswith(_SECRET_SUFFIXES)


def _marked_secret(prop: dict[str, Any], schema: dict[str, Any]) -> bool:
    if prop.get("writeOnly") and prop.get("format") == "password":
        return True
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _marked_secret(schema.get("$defs", {}).get(ref.split("/")[-1], {}), schema)
    variants = [*prop.get("anyOf", []), *prop.get("allOf", []), *prop.get("oneOf", [])]
    real = [v for v in variants if v.get("type") != "null"]
    return bool(real) and all(_marked_secret(v, schema) for v in real)


async def check_check_ok(h: SandboxHarness) -> None:
    async with h.connector() as connector:
        result = await connector.check()
    require(result.ok, f"check() with the good config failed: {result}")


async def check_paging(h: SandboxHarness) -> None:
    """Reading to the end gives every record once, over more than one request."""
    assert h.spec.stream is not None
    async with h.connector() as connector:
        read = await h.read_all(connector)
    key = h.primary_key
    missing_key = [r for r in read.records if key not in r]
    require(not missing_key, f"records without the primary key {key!r}: {missing_key[:3]}")
    keys = [str(r[key]) for r in read.records]
    repeated = sorted(k for k, n in Counter(keys).items() if n > 1)
    require(not repeated, f"{len(repeated)} records came more than once (paging overlaps): "
                          f"{repeated[:10]}")
    if h.spec.expected_keys is not None:
        expected = {str(k) for k in h.spec.expected_keys(h.app)}
        missing, extra = sorted(expected - set(keys)), sorted(set(keys) - expected)
        require(not missing, f"{len(missing)} of {len(expected)} records were never read "
                             f"(paging skips): {missing[:10]}")
        require(not extra, f"records the sandbox does not hold were read: {extra[:10]}")
    pages = [r for r in h.stream_requests() if r.outcome == "passed"]
    require(len(pages) > 1, f"the whole stream came in {len(pages)} request(s), so paging was "
                            "not exercised: make the config's page size smaller than the "
                            "sandbox's record count")
    if h.spec.connector.streams[h.spec.stream].replication_key:
        require(read.state is not None, "a full read of an incremental stream ended with "
                                        "state None: the next read would start over")


async def check_incremental(h: SandboxHarness) -> None:
    """State from a full read, then one change: the next read has the change, not everything."""
    assert h.spec.mutate is not None
    async with h.connector() as connector:
        full = await h.read_all(connector)
        require(full.records, "the stream is empty: the sandbox needs records to test with")
        changed = str(full.records[len(full.records) // 2][h.primary_key])
        h.spec.mutate(h.app, changed)
        since = await h.read_all(connector, full.state)
    keys = {str(r[h.primary_key]) for r in since.records}
    require(changed in keys, f"the changed record {changed} was not read back from state "
                             f"{full.state!r} ({len(keys)} records were)")
    require(len(since.records) < len(full.records),
            f"reading from state {full.state!r} returned {len(since.records)} records, as many "
            "as a full read: the state is ignored")


async def check_bad_credentials(h: SandboxHarness) -> None:
    """Refused credentials raise AuthError naming where, never showing the secret."""
    async with h.connector(bad=True) as connector:
        try:
            await (h.read_all(connector) if h.spec.stream is not None else h.exercise(connector))
        except AuthError as exc:
            error: ConnectorError = exc
        except ConnectorError as exc:
            raise AssertionError(f"bad credentials raised {type(exc).__name__}, not AuthError: "
                                 f"{exc}") from exc
        else:
            raise AssertionError("reading with the bad config succeeded")
        result = await connector.check()
    message = str(error)
    require(error.message.strip(), "the AuthError has an empty message")
    require(h.connection in message,
            f"the AuthError does not name the connection ({h.connection!r}): {message!r}")
    require(result.reachable and not result.authenticated,
            f"check() with bad credentials should say reachable, not authenticated: {result}")
    for secret in h.secrets():
        for shown in (message, repr(error), result.detail or ""):
            require(secret not in shown, "a secret value appears in the bad-credentials error")


async def _retried(h: SandboxHarness, **overrides: Any) -> list[LoggedRequest]:
    mark = len(h.faults.requests())
    async with h.connector(**overrides) as connector:
        result = await h.exercise(connector)
    require(not isinstance(result, Batch) or result.records,
            "the first batch after the retries is empty")
    return h.stream_requests(mark)


async def check_rate_limited_retried(h: SandboxHarness) -> None:
    """A 429 with Retry-After is retried, after waiting what it asked (up to the cap)."""
    h.faults.fail_next(1, status=429, retry_after=_RETRY_AFTER, path_prefix=h.stream_path)
    log = await _retried(h)
    require(_results(log[:2]) == [429, 200],
            f"expected the 429 to be retried once, the sandbox saw {_results(log)}")
    wait = min(_RETRY_AFTER, h.config_model().max_retry_after)
    gap = log[1].at - log[0].at
    require(gap >= wait - _TOLERANCE,
            f"the retry came {gap:.3f} s after a 429 asking Retry-After: {_RETRY_AFTER}")


async def check_retry_after_capped(h: SandboxHarness) -> None:
    """Retry-After: 3600 is waited only max_retry_after seconds."""
    h.faults.fail_next(1, status=429, retry_after=3600, path_prefix=h.stream_path)
    try:
        log = await asyncio.wait_for(_retried(h, max_retry_after=0.2), _CAP_CHECK_TIMEOUT)
    except TimeoutError:
        raise AssertionError("Retry-After: 3600 was honoured beyond max_retry_after=0.2") from None
    require(_results(log[:2]) == [429, 200],
            f"expected the 429 to be retried once, the sandbox saw {_results(log)}")


async def check_server_errors_retried(h: SandboxHarness) -> None:
    attempts = h.config_model().max_attempts
    require(attempts >= 2, f"the config sets max_attempts={attempts}: nothing is ever retried")
    failures = min(2, attempts - 1)
    h.faults.fail_next(failures, status=503, path_prefix=h.stream_path)
    log = await _retried(h)
    require(_results(log[:failures + 1]) == [503] * failures + [200],
            f"expected {failures} × 503 then 200, the sandbox saw {_results(log)}")


async def check_dropped_connection_retried(h: SandboxHarness) -> None:
    h.faults.drop_next(1, path_prefix=h.stream_path)
    log = await _retried(h)
    require(_results(log[:2]) == ["dropped", 200],
            f"expected the dropped read to be retried, the sandbox saw {_results(log)}")


async def check_token_refresh(h: SandboxHarness) -> None:
    """After the sandbox expires every token, concurrent reads cause exactly one token fetch."""
    assert h.spec.expire_tokens is not None and h.spec.token_path is not None
    async with h.connector() as connector:
        await h.exercise(connector)
        h.spec.expire_tokens(h.app)
        mark = len(h.faults.requests())
        results = await asyncio.gather(
            *(h.exercise(connector) for _ in range(_CONCURRENT_READS)))
    require(all(not isinstance(b, Batch) or b.records for b in results),
            "a read after the token refresh came back empty")
    fetches = [r for r in h.requests(mark) if r.path.startswith(h.spec.token_path)]
    require(len(fetches) == 1,
            f"{_CONCURRENT_READS} concurrent reads after expiry caused {len(fetches)} token "
            "fetches; expected exactly one (refresh once, single-flight)")
