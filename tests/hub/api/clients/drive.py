"""Drive a live hub through the Python client openapi-python-client generated from its
contract, as a tool builder would: every route family, every error status the document
declares, each answer parsed as the model the document names.

Run by tests/hub/api/test_generated_clients.py with the generator's own interpreter
(tools/clients/.venv: attrs, httpx, python-dateutil, as the generated client asks), never with
the hub's; it imports nothing of the hub. Arguments come from the environment:

    HUB_CLIENT_DIR    the folder holding the generated package `hub_client`
    HUB_URL           the live hub
    HUB_ADMIN_KEY, HUB_AGENT_KEY
    HUB_UPLOADS_DIR   the hub's uploads folder, filled up once to provoke its 507
    HUB_UPLOAD_ROOM   how many bytes fill it
    HUB_IMPORT_CSV    a customers file for the shipped `import_customers` mapping

It prints one JSON object last: the statuses seen per tag, which the test compares with the
document. Any surprise is an AssertionError naming the operation (exit 1).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from http import HTTPStatus
from pathlib import Path
from typing import Any

sys.path.insert(0, os.environ["HUB_CLIENT_DIR"])

from hub_client import AuthenticatedClient, Client  # noqa: E402
from hub_client.api.audit import audit_list  # noqa: E402
from hub_client.api.connections import connections_check, connections_list  # noqa: E402
from hub_client.api.customers import (  # noqa: E402
    customers_get,
    customers_history,
    customers_list,
)
from hub_client.api.dead_letters import (  # noqa: E402
    dead_letters_list,
    dead_letters_replay,
    dead_letters_replay_many,
)
from hub_client.api.health import health_get  # noqa: E402
from hub_client.api.imports import (  # noqa: E402
    imports_create,
    imports_get,
    imports_list,
    imports_report,
)
from hub_client.api.jobs import jobs_list, jobs_pause, jobs_resume, jobs_trigger  # noqa: E402
from hub_client.api.kb import kb_search  # noqa: E402
from hub_client.api.metrics import metrics_get  # noqa: E402
from hub_client.api.outbox import outbox_get, outbox_list  # noqa: E402
from hub_client.api.reports import reports_dashboard  # noqa: E402
from hub_client.api.runs import runs_get, runs_list  # noqa: E402
from hub_client.api.tickets import (  # noqa: E402
    tickets_create,
    tickets_get,
    tickets_list,
    tickets_reopen,
    tickets_reply,
    tickets_resolve,
    tickets_update,
)
from hub_client.api.webhook_events import webhook_events_list  # noqa: E402
from hub_client.api.webhooks import webhooks_receive, webhooks_verify  # noqa: E402
from hub_client.models import (  # noqa: E402
    Dashboard,
    ImportUpload,
    Problem,
    ReplayRequest,
    ReplyCreate,
    Resolution,
    TicketCreate,
    TicketPublic,
    TicketUpdate,
    ValidationProblem,
)
from hub_client.types import File, Response  # noqa: E402

SEEN: dict[str, set[int]] = defaultdict(set)
MISSING = 2**31 - 1  # a valid id nothing has


def check(operation: str, response: Response[Any], status: int,
          model: type | None = None) -> Any:
    """`response` has `status` and parses as `model`; recorded under the operation's tag."""
    got = int(response.status_code)
    assert got == status, f"{operation}: {got} instead of {status}: {response.content[:500]!r}"
    if model is not None:
        assert isinstance(response.parsed, model), (
            f"{operation} {status}: parsed {type(response.parsed).__name__}, not {model.__name__}")
    if model in (Problem, ValidationProblem):
        assert response.parsed.status == status, operation
        assert response.headers["content-type"] == "application/problem+json", operation
    SEEN[operation.split(".")[0]].add(got)
    return response.parsed


def every_page(operation: str, call: Any, **kwargs: Any) -> list[Any]:
    """All items of a list, following `next_cursor` with a small page size."""
    items: list[Any] = []
    cursor: Any = None
    for _ in range(1000):
        page = call(limit=2, **({"cursor": cursor} if cursor else {}), **kwargs)
        parsed = check(operation, page, 200)
        assert not isinstance(parsed, Problem | ValidationProblem), operation
        items += parsed.items
        cursor = parsed.next_cursor
        if not cursor:
            return items
    raise AssertionError(f"{operation}: more than 1000 pages")


def raw_problem(operation: str, response: Any, status: int) -> None:
    """An answer to a request no generated method can send (malformed JSON, a huge body),
    parsed with the generated model."""
    assert response.status_code == status, (operation, response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json", operation
    problem = Problem.from_dict(response.json())
    assert problem.status == status and problem.type_.startswith("/problems/"), operation
    SEEN[operation.split(".")[0]].add(status)


def tickets(admin: AuthenticatedClient, agent: AuthenticatedClient, anonymous: Client) -> None:
    check("tickets.list", tickets_list.sync_detailed(client=anonymous), 401, Problem)
    body = TicketCreate.from_dict({"subject": "洗碗机不出水", "description": "开机后不进水",
                                   "channel": "web", "contact_name": "王芳",
                                   "contact_mobile": "13812345678", "priority": "high"})
    created = tickets_create.sync_detailed(client=agent, body=body, idempotency_key="drive-1")
    ticket = check("tickets.create", created, 201, TicketPublic)
    assert created.headers["Location"] == f"/tickets/{ticket.id}"
    etag = created.headers["ETag"]
    replay = tickets_create.sync_detailed(client=agent, body=body, idempotency_key="drive-1")
    assert check("tickets.create", replay, 201, TicketPublic).id == ticket.id
    assert replay.headers["Idempotent-Replayed"] == "true"
    # the agent holds no `pii` scope: personal data comes masked
    assert ticket.contact_mobile == "138****5678" and ticket.status.value == "open"
    bad = TicketCreate.from_dict({"subject": ""})
    problem = check("tickets.create", tickets_create.sync_detailed(client=agent, body=bad),
                    422, ValidationProblem)
    assert [error.field for error in problem.errors] == ["body.subject"]

    got = tickets_get.sync_detailed(ticket.id, client=agent)
    assert check("tickets.get", got, 200, TicketPublic).subject == "洗碗机不出水"
    assert got.headers["ETag"] == etag
    check("tickets.get", tickets_get.sync_detailed(ticket.id, client=agent, if_none_match=etag),
          304)
    check("tickets.get", tickets_get.sync_detailed(MISSING, client=agent), 404, Problem)

    change = TicketUpdate.from_dict({"priority": "urgent"})
    updated = tickets_update.sync_detailed(ticket.id, client=agent, body=change, if_match=etag)
    assert check("tickets.update", updated, 200, TicketPublic).priority.value == "urgent"
    check("tickets.update", tickets_update.sync_detailed(
        ticket.id, client=agent, body=change, if_match=etag), 412, Problem)
    check("tickets.update", tickets_update.sync_detailed(
        ticket.id, client=agent, body=change, if_match=""), 428, Problem)

    listed = every_page("tickets.list", tickets_list.sync_detailed, client=agent)
    assert ticket.id in [item.id for item in listed]
    refused = check("tickets.list", tickets_list.sync_detailed(client=agent, cursor="nope"),
                    422, ValidationProblem)
    assert [error.field for error in refused.errors] == ["query.cursor"]

    note = Resolution.from_dict({"note": "换了进水阀"})
    resolved = check("tickets.resolve", tickets_resolve.sync_detailed(
        ticket.id, client=agent, body=note), 200, TicketPublic)
    assert resolved.resolution is not None
    check("tickets.resolve", tickets_resolve.sync_detailed(ticket.id, client=agent, body=note),
          409, Problem)
    check("tickets.reopen", tickets_reopen.sync_detailed(ticket.id, client=agent), 200,
          TicketPublic)
    check("tickets.reply", tickets_reply.sync_detailed(  # not a 微信客服 conversation
        ticket.id, client=agent, body=ReplyCreate.from_dict({"text": "您好"})), 422,
          ValidationProblem)

    http = agent.get_httpx_client()
    raw_problem("tickets.create", http.post(
        "/tickets", content=b'{"subject": ', headers={"Content-Type": "application/json"}), 400)
    raw_problem("tickets.create", http.post(
        "/tickets", content=b" " * (2 * 1024 * 1024), headers={"Content-Type": "application/json"}),
        413)


def customers(agent: AuthenticatedClient) -> None:
    listed = every_page("customers.list", customers_list.sync_detailed, client=agent)
    assert listed, "the test seeds customers"
    first = check("customers.get", customers_get.sync_detailed(listed[0].id, client=agent), 200)
    assert first.id == listed[0].id
    check("customers.history", customers_history.sync_detailed(listed[0].id, client=agent), 200)
    check("customers.get", customers_get.sync_detailed(MISSING, client=agent), 404, Problem)
    check("kb.search", kb_search.sync_detailed(client=agent, q="进水"), 200)
    check("audit.list", audit_list.sync_detailed(client=agent), 403, Problem)


def jobs_and_runs(admin: AuthenticatedClient) -> None:
    jobs = every_page("jobs.list", jobs_list.sync_detailed, client=admin)
    name = jobs[0].name
    check("jobs.pause", jobs_pause.sync_detailed(name, client=admin), 200)
    check("jobs.resume", jobs_resume.sync_detailed(name, client=admin), 200)
    check("jobs.trigger", jobs_trigger.sync_detailed(name, client=admin), 202)
    check("jobs.trigger", jobs_trigger.sync_detailed("no_such_job", client=admin), 404, Problem)
    runs = every_page("runs.list", runs_list.sync_detailed, client=admin)
    assert runs, "the test seeds runs"
    assert check("runs.get", runs_get.sync_detailed(runs[0].id, client=admin), 200).id \
        == runs[0].id
    check("runs.get", runs_get.sync_detailed(MISSING, client=admin), 404, Problem)
    check("metrics.get", metrics_get.sync_detailed(client=admin), 200)
    board = check("reports.dashboard", reports_dashboard.sync_detailed(client=admin, days=7),
                  200, Dashboard)
    assert len(board.tickets.days) == 7
    check("reports.dashboard", reports_dashboard.sync_detailed(client=admin, days=0), 422,
          ValidationProblem)
    every_page("audit.list", audit_list.sync_detailed, client=admin)
    names = [c.name for c in every_page("connections.list", connections_list.sync_detailed,
                                        client=admin)]
    assert "crm" in names
    outcome = check("connections.check", connections_check.sync_detailed("crm", client=admin),
                    200)
    assert outcome.ok, outcome
    check("connections.check", connections_check.sync_detailed("nowhere", client=admin), 404,
          Problem)
    every_page("webhook-events.list", webhook_events_list.sync_detailed, client=admin)


def imports(admin: AuthenticatedClient) -> None:
    path = Path(os.environ["HUB_IMPORT_CSV"])

    def upload(mapping: str, content: bytes) -> Response[Any]:
        form = ImportUpload(file=File(payload=content, file_name=path.name,
                                      mime_type="text/csv"), mapping=mapping)
        return imports_create.sync_detailed(client=admin, body=form)

    started = upload("import_customers", path.read_bytes())
    summary = check("imports.create", started, 202)
    assert started.headers["Location"] == f"/imports/{summary.id}"
    deadline = time.monotonic() + 300  # a loaded machine may take its time; it is no measure
    while time.monotonic() < deadline:
        summary = check("imports.get", imports_get.sync_detailed(summary.id, client=admin), 200)
        if summary.status.value not in ("queued", "running"):
            break
        time.sleep(0.05)
    assert summary.status.value in ("succeeded", "partial"), summary
    assert summary.id in [i.id for i in every_page("imports.list", imports_list.sync_detailed,
                                                   client=admin)]
    report = imports_report.sync_detailed(summary.id, "csv", client=admin)
    check("imports.report", report, 200)
    check("imports.get", imports_get.sync_detailed(MISSING, client=admin), 404, Problem)
    check("imports.create", upload("no_such_mapping", b"a,b\n1,2\n"), 404, Problem)
    filler = Path(os.environ["HUB_UPLOADS_DIR"]) / "filler.csv"
    filler.write_bytes(b"x" * int(os.environ["HUB_UPLOAD_ROOM"]))
    try:
        check("imports.create", upload("import_customers", path.read_bytes() + b"\n"), 507,
              Problem)
    finally:
        filler.unlink()


def outbox(admin: AuthenticatedClient) -> None:
    rows = every_page("outbox.list", outbox_list.sync_detailed, client=admin)
    assert rows, "the test seeds the outbox"
    check("outbox.get", outbox_get.sync_detailed(rows[0].id, client=admin), 200)
    check("outbox.get", outbox_get.sync_detailed(MISSING, client=admin), 404, Problem)
    dead = every_page("dead-letters.list", dead_letters_list.sync_detailed, client=admin)
    assert len(dead) >= 2, "the test seeds dead letters"
    replayed = check("dead-letters.replay", dead_letters_replay.sync_detailed(
        dead[0].id, client=admin), 200)
    assert replayed.replayed == [dead[0].id]
    check("dead-letters.replay", dead_letters_replay.sync_detailed(dead[0].id, client=admin),
          404, Problem)
    many = ReplayRequest.from_dict({"ids": [dead[1].id]})
    assert check("dead-letters.replay-many", dead_letters_replay_many.sync_detailed(
        client=admin, body=many), 200).replayed == [dead[1].id]
    check("dead-letters.replay-many", dead_letters_replay_many.sync_detailed(
        client=admin, body=ReplayRequest.from_dict({"ids": [MISSING]})), 404, Problem)


def open_routes(anonymous: Client) -> None:
    check("health.get", health_get.sync_detailed(client=anonymous), 200)
    check("webhooks.verify", webhooks_verify.sync_detailed("nowhere", client=anonymous), 404,
          Problem)
    check("webhooks.receive", webhooks_receive.sync_detailed("nowhere", client=anonymous), 404,
          Problem)


def main() -> None:
    url = os.environ["HUB_URL"]
    anonymous = Client(base_url=url, raise_on_unexpected_status=True)
    admin = AuthenticatedClient(base_url=url, token=os.environ["HUB_ADMIN_KEY"],
                                raise_on_unexpected_status=True, timeout=None)
    agent = AuthenticatedClient(base_url=url, token=os.environ["HUB_AGENT_KEY"],
                                raise_on_unexpected_status=True)
    tickets(admin, agent, anonymous)
    customers(agent)
    jobs_and_runs(admin)
    imports(admin)
    outbox(admin)
    open_routes(anonymous)
    assert int(HTTPStatus.OK) in SEEN["tickets"]
    sys.stdout.write(json.dumps({tag: sorted(codes) for tag, codes in sorted(SEEN.items())}) + "\n")


if __name__ == "__main__":
    main()
