"""Record real httpx traffic into a redacted cassette, and replay it offline.

    # once, against the real API or a sandbox:
    transport = Cassette.record("tests/cassettes/customers.json",
                                inner=httpx.AsyncHTTPTransport(), redactor=Redactor([key]))
    async with CrmConnector(config, transport=transport) as crm: ...

    # in every offline test:
    async with CrmConnector(config, transport=Cassette.replay("tests/cassettes/customers.json")):
        ...

The file is JSON: each interaction's method, URL (sensitive query values masked), request
headers (credentials masked, connection noise dropped), request body, and the response's
status, headers and decoded body; or the transport error the request met. Known secret values
are masked everywhere, sensitive JSON keys (`access_token`, `password`, ...) too.

Replay matches on method, URL path, query (sensitive values ignored) and body, not host or
port, so a sandbox on another port replays the same. Interactions that match the same request
play in recorded order (a 503 then a 200 replays as a retry); once all are played the last one
repeats. In strict mode (the default) an unrecorded request raises UnmatchedRequestError
naming the closest recorded ones.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from .._redact import Redactor
from ._cassette_format import Interaction, MatchKey, Rules, decode_body, describe_key

__all__ = [
    "Cassette",
    "CassetteError",
    "RecordingTransport",
    "ReplayTransport",
    "UnmatchedRequestError",
]

_VERSION = 1
_CLOSEST_SHOWN = 3


class CassetteError(Exception):
    """A cassette file cannot be read, or a replayed request was never recorded."""


class UnmatchedRequestError(CassetteError):
    """Strict replay met a request the cassette does not hold.

    Not an httpx.TransportError on purpose: the SDK's send function does not retry it, so the
    test fails at once with this message.
    """


class Cassette:
    """A list of recorded interactions, and the file they live in."""

    def __init__(self, interactions: Iterable[Interaction] = (), *, path: Path | None = None):
        self.interactions = list(interactions)
        self.path = path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Cassette:
        """Read a cassette file; CassetteError says what is wrong with it."""
        file = Path(path)
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CassetteError(
                f"no cassette at {file}: record it first with Cassette.record()"
            ) from None
        except ValueError as exc:
            raise CassetteError(f"cassette {file} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            raise CassetteError(f"cassette {file} is not a version {_VERSION} cassette")
        try:
            interactions = [Interaction.from_json(item) for item in data["interactions"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise CassetteError(f"cassette {file} has a malformed interaction: {exc!r}") from None
        return cls(interactions, path=file)

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the cassette (atomically) to `path`, or where it was loaded from."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise CassetteError("the cassette has no path to be saved to")
        target.parent.mkdir(parents=True, exist_ok=True)
        document = {"version": _VERSION,
                    "interactions": [i.to_json() for i in self.interactions]}
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n",
                             encoding="utf-8")
        os.replace(temporary, target)
        self.path = target
        return target

    @staticmethod
    def record(
        path: str | os.PathLike[str], *, inner: httpx.AsyncBaseTransport | None = None,
        redactor: Redactor | None = None, sensitive_params: Iterable[str] = (),
        sensitive_headers: Iterable[str] = (),
    ) -> RecordingTransport:
        """A transport that sends through `inner` and records each exchange to `path`.

        The file is written when the transport closes (closing the connector or the
        httpx.AsyncClient closes it) and by `RecordingTransport.save()`.

        Args:
            path: the cassette file; replaced if it exists.
            inner: the real transport (default: a fresh httpx.AsyncHTTPTransport).
            redactor: masks these secret values wherever they appear; pass the connector's
                (`Redactor(secret_values(config))`) so config secrets never reach the file.
            sensitive_params: more query parameter names whose values are masked.
            sensitive_headers: more header names whose values are masked.
        """
        rules = Rules(redactor, sensitive_params=sensitive_params,
                      sensitive_headers=sensitive_headers)
        return RecordingTransport(Path(path), inner or httpx.AsyncHTTPTransport(), rules)

    @staticmethod
    def replay(
        path: str | os.PathLike[str], *, strict: bool = True, redactor: Redactor | None = None,
        sensitive_params: Iterable[str] = (),
    ) -> ReplayTransport:
        """A transport that answers from the cassette at `path`, with no network.

        Args:
            path: the cassette file.
            strict: raise UnmatchedRequestError on an unrecorded request (False: answer 404
                with a JSON error body instead).
            redactor, sensitive_params: the same as at recording, when secrets appear in a URL
                or body outside the usual names, so the live request masks the same way.
        """
        rules = Rules(redactor, sensitive_params=sensitive_params)
        return ReplayTransport(Cassette.load(path), rules, strict=strict)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Forwards to a real transport and keeps a redacted copy of every exchange."""

    def __init__(self, path: Path, inner: httpx.AsyncBaseTransport, rules: Rules) -> None:
        self.cassette = Cassette(path=path)
        self._inner = inner
        self._rules = rules

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        interaction = self._rules.record(request)
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            message = self._rules.redactor.text(str(exc))
            interaction.error = {"type": type(exc).__name__, "message": message}
            self.cassette.interactions.append(interaction)
            raise
        try:
            content = await response.aread()  # decoded: gzip and friends are undone here
        finally:
            await response.aclose()
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        interaction.status = response.status_code
        interaction.response_headers = self._rules.headers(headers)
        interaction.response_body = self._rules.body(content, response.headers.get("content-type"))
        self.cassette.interactions.append(interaction)
        return httpx.Response(response.status_code, headers=headers, content=content,
                              request=request, extensions=_extensions(response))

    def save(self) -> Path:
        return self.cassette.save()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self.cassette.save()


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers requests from a cassette; never touches the network."""

    def __init__(self, cassette: Cassette, rules: Rules, *, strict: bool = True) -> None:
        self.cassette = cassette
        self.strict = strict
        self._rules = rules
        self._keys = [rules.key(i.method, i.url, i.request_body) for i in cassette.interactions]
        self._played = [0] * len(self._keys)

    def unplayed(self) -> list[Interaction]:
        """Recorded interactions no request has matched yet."""
        return [i for i, n in zip(self.cassette.interactions, self._played, strict=True) if not n]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        key = self._rules.request_key(request)
        matches = [n for n, recorded in enumerate(self._keys) if recorded == key]
        if not matches:
            return self._unmatched(request, key)
        index = next((n for n in matches if not self._played[n]), matches[-1])
        self._played[index] += 1
        interaction = self.cassette.interactions[index]
        if interaction.error is not None:
            error_type = getattr(httpx, interaction.error.get("type", ""), httpx.TransportError)
            if not (isinstance(error_type, type) and issubclass(error_type, httpx.TransportError)):
                error_type = httpx.TransportError
            raise error_type(interaction.error.get("message", "recorded error"), request=request)
        return httpx.Response(
            interaction.status or 200, headers=interaction.response_headers,
            content=decode_body(interaction.response_body), request=request,
        )

    def _unmatched(self, request: httpx.Request, key: MatchKey) -> httpx.Response:
        wanted = describe_key(key)
        closest = self._closest(key)
        where = self.cassette.path or "the cassette"
        message = f"no interaction in {where} matches {wanted}"
        if closest:
            message += "; closest recorded:\n" + "\n".join(f"  {c}" for c in closest)
        else:
            message += " (the cassette is empty)"
        if self.strict:
            raise UnmatchedRequestError(message)
        body = {"error": {"code": "not_in_cassette", "message": message}}
        return httpx.Response(404, json=body, request=request)

    def _closest(self, key: MatchKey) -> list[str]:
        wanted = describe_key(key)

        def score(recorded: MatchKey) -> tuple[bool, bool, float]:
            ratio = difflib.SequenceMatcher(None, wanted, describe_key(recorded)).ratio()
            return recorded[0] == key[0], recorded[1] == key[1], ratio

        ranked = sorted(set(self._keys), key=score, reverse=True)
        return [describe_key(k) for k in ranked[:_CLOSEST_SHOWN]]


def _extensions(response: httpx.Response) -> dict[str, Any]:
    kept = ("http_version", "reason_phrase")
    return {k: v for k, v in response.extensions.items() if k in kept}
