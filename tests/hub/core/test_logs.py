"""Process logs: JSON lines with the run's context, in spawned tasks too; secrets masked."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.sdk.redaction import MASK, Redactor
from hub.core.logs import configure_logging, current_context, log_context
from hub.core.settings import Settings
from hub.runtime import Hub
from hub.sync import run_pull

Configure = Callable[..., io.StringIO]
log = logging.getLogger("hub.test_logs")


@pytest.fixture
def configure() -> Iterator[Configure]:
    """`configure(log_format="json", redactor=…)` installs the hub's handler on a buffer; the
    root logger is put back as it was afterwards."""
    root = logging.getLogger()
    level = root.level
    installed: list[logging.Handler] = []

    def install(log_format: str = "json", level: str = "INFO",
                redactor: Redactor | None = None) -> io.StringIO:
        buffer = io.StringIO()
        settings = Settings(log_format=log_format, log_level=level)  # type: ignore[arg-type]
        installed.append(configure_logging(settings, redactor=redactor, stream=buffer))
        return buffer

    yield install
    for handler in installed:
        root.removeHandler(handler)
    root.setLevel(level)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


async def test_json__context_in_the_block_and_in_spawned_tasks(configure: Configure) -> None:
    buffer = configure()

    async def slice_worker(number: int) -> None:
        with log_context(slice=number):
            log.info("slice %d done", number, extra={"records": 10 * number})

    log.info("before")
    with log_context(run_id="run-41", job="crm_customers"):
        log.info("started")
        await asyncio.gather(*(asyncio.create_task(slice_worker(n)) for n in (1, 2)))
        assert current_context() == {"run_id": "run-41", "job": "crm_customers"}
    log.info("after")

    before, started, one, two, after = lines(buffer)
    assert set(before) == {"ts", "level", "logger", "message"}
    assert before["ts"].endswith("Z") and "T" in before["ts"]
    assert started == {**started, "level": "INFO", "logger": "hub.test_logs",
                       "message": "started", "run_id": "run-41", "job": "crm_customers"}
    assert (one["message"], one["run_id"], one["slice"], one["records"]) == \
        ("slice 1 done", "run-41", 1, 10)
    assert (two["run_id"], two["job"], two["slice"], two["records"]) == \
        ("run-41", "crm_customers", 2, 20)
    assert "run_id" not in after and current_context() == {}


def test_json__exception_and_level(configure: Configure) -> None:
    buffer = configure(level="WARNING")

    log.info("below the level")
    with log_context(ticket_id=7):
        try:
            raise ValueError("the vendor said no")
        except ValueError:
            log.exception("write-back failed")

    (line,) = lines(buffer)
    assert (line["level"], line["ticket_id"], line["message"]) == \
        ("ERROR", 7, "write-back failed")
    assert "Traceback" in line["exc"] and "ValueError: the vendor said no" in line["exc"]


@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_logs__connection_secrets_never_written(
        configure: Configure, hub: Hub, crm_sandbox: Any, log_format: str) -> None:
    """A job's log lines, its HTTP debug lines and careless lines carrying the api key: none
    writes the key, whichever logger, argument, extra field or traceback it is in."""
    buffer = configure(log_format=log_format, level="DEBUG", redactor=hub.redactor)
    secret = crm_sandbox.api_key

    with log_context(run_id="run-7", request="req-7"):
        summary = await run_pull(hub, "crm_customers")
        logging.getLogger("hub.sync.deep.child").warning(
            "retrying with key %s", secret, extra={"api_key": secret, "note": f"k={secret}",
                                                   "headers": {"X-API-Key": secret}})
        try:
            raise RuntimeError(f"vendor refused {secret}")
        except RuntimeError:
            logging.getLogger("somewhere.else").exception("call failed (%s)", secret)

    output = buffer.getvalue()
    assert summary.read == 120
    assert secret not in output
    assert output.count(MASK) >= 4
    assert "run-7" in output and "customers.list" in output  # the job's own HTTP lines
    if log_format == "json":
        records = lines(buffer)
        # the job's tasks inherit the context; the job may put its own run id on top
        assert [r for r in records if r.get("request") != "req-7" or "run_id" not in r] == []
        assert any(r["logger"] == "connectors.http" for r in records)
        careless = next(r for r in records if r["logger"] == "hub.sync.deep.child")
        assert careless["run_id"] == "run-7"
        assert careless["api_key"] == MASK and careless["headers"] == {"X-API-Key": MASK}
        failed = next(r for r in records if r["logger"] == "somewhere.else")
        assert "RuntimeError: vendor refused ***" in failed["exc"]


def test_logs__secrets_of_the_config_before_any_connector_is_built(
        configure: Configure, make_hub: Any, sqlite_url: str, tmp_path: Path) -> None:
    """The hub's redactor knows every connection's secrets once the config loads, even those of
    connections this process never calls (the SDK only learns a connector's when it is built)."""
    secret = f"vault-key-{uuid.uuid4().hex}"
    config = tmp_path / "hub.yaml"
    config.write_text("version: 1\nconnections:\n  vault:\n    type: crm\n    config:\n"
                      f"      base_url: http://127.0.0.1:9\n      api_key: {secret}\n")
    hub: Hub = make_hub(sqlite_url, config=config)
    buffer = configure(redactor=hub.redactor)
    assert "vault" in hub.config.hub.connections

    with log_context(run_id="run-9"):
        logging.getLogger("anywhere").warning("the key is %s", secret,
                                              extra={"detail": {"sent": [secret]}})
    hub.close()

    output = buffer.getvalue()
    assert secret not in output
    (line,) = lines(buffer)
    assert (line["message"], line["run_id"]) == (f"the key is {MASK}", "run-9")
    assert line["detail"] == {"sent": [MASK]}


def test_logs__secrets_a_connector_learnt_without_the_hub_redactor(
        configure: Configure, hub: Hub, crm_sandbox: Any) -> None:
    """A process that configured logging before it had a hub still masks every secret of a
    connector it built (the SDK's process-wide redactor learns them)."""
    buffer = configure()
    hub.connector("crm", actor="test")

    logging.getLogger("elsewhere").warning("the key is %s", crm_sandbox.api_key)

    (line,) = lines(buffer)
    assert line["message"] == f"the key is {MASK}"


def test_configure__twice_replaces_its_handler(configure: Configure) -> None:
    first = configure()
    second = configure(log_format="text")

    log.warning("once")

    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1
    assert " WARNING hub.test_logs: once" in second.getvalue()
