"""An OTLP/HTTP trace receiver on a loopback port: a real HTTP server that decodes each
`ExportTraceServiceRequest` with the OpenTelemetry protobuf definitions (opentelemetry-proto)
and keeps the spans, as a collector would; and `hub` processes pointed at it."""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

ROOT = Path(__file__).resolve().parents[3]
_SCRUBBED = re.compile(r"^(HUB_|CRM_|KB_|KINGDEE_|YONYOU_|DINGTALK_|WECOM_|OTEL_)")


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as the collector got it."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: int
    attributes: dict[str, Any]
    service: str
    status_code: int


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, which) if which else None


def decode(body: bytes) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(ReceivedSpan(
                    trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                    parent_id=span.parent_span_id.hex() or None, name=span.name,
                    kind=span.kind,
                    attributes={kv.key: _value(kv.value) for kv in span.attributes},
                    service=str(resource.get("service.name")), status_code=span.status.code))
    return spans


@dataclass
class Receiver:
    """What the collector received: every export's spans, and the raw requests' paths."""

    url: str
    spans: list[ReceivedSpan] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self.lock:
            return [span for span in self.spans if span.trace_id == trace_id]

    def wait_for(self, check: Callable[[], bool], *, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while not check():
            assert time.monotonic() < deadline, f"spans not received: {self.names()}"
            time.sleep(0.1)

    def names(self) -> list[str]:
        with self.lock:
            return [span.name for span in self.spans]


@pytest.fixture
def otlp_receiver() -> Iterator[Receiver]:
    """An OTLP/HTTP collector on 127.0.0.1, on a free port."""
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 -- http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            assert self.headers.get("Content-Type") == "application/x-protobuf"
            spans = decode(body)
            with receiver.lock:
                receiver.spans.extend(spans)
                receiver.paths.append(self.path)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def hub_environment(**extra: str) -> dict[str, str]:
    """The test's environment without the hub's, the vendors' or OpenTelemetry's variables,
    plus `extra`."""
    env = {name: value for name, value in os.environ.items() if not _SCRUBBED.match(name)}
    env.update(extra)
    return env


def hub_process(args: list[str], env: dict[str, str], *, cwd: Path) -> subprocess.Popen[str]:
    """`hub ARGS` in a process of its own, its output in `cwd`/<first arg>.log."""
    with (cwd / f"{args[0]}.log").open("w") as log:  # the child keeps its own copy
        return subprocess.Popen(  # noqa: S603 -- the hub's own CLI
            [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())", *args], cwd=cwd,
            env={**env, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT,
            text=True)


def output(process: subprocess.Popen[str], cwd: Path) -> str:
    name = process.args[3] if isinstance(process.args, list) else "hub"
    return (cwd / f"{name}.log").read_text(encoding="utf-8", errors="replace")


def run_hub(args: list[str], env: dict[str, str], *, cwd: Path, timeout: float = 120,
            exit_code: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # noqa: S603 -- the hub's own CLI
        [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())", *args], cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=timeout, check=False)
    assert done.returncode == exit_code, (args, done.stdout, done.stderr)
    return done


def stop(process: subprocess.Popen[str], *, timeout: float = 30) -> None:
    """SIGINT (a graceful stop: the exporter flushes as the process ends)."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve_hub(env: dict[str, str], *, cwd: Path, within: float = 60
              ) -> tuple[subprocess.Popen[str], str]:
    """`hub serve --port 0 --access-log`, and its base URL once it says where it listens (a
    port the server took itself: no other process can get it in between)."""
    process = hub_process(["serve", "--port", "0", "--access-log"], env, cwd=cwd)
    deadline = time.monotonic() + within
    while True:
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", output(process, cwd))
        if found:
            return process, found.group(1)
        assert process.poll() is None, output(process, cwd)
        assert time.monotonic() < deadline, "hub serve did not start"
        time.sleep(0.1)
