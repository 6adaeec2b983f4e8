"""`hub tickets create|show|list` end to end: a pull, a ticket enriched from it, the audit
rows it leaves; bad input is one line and an exit code."""

from __future__ import annotations

from typing import Any

from .conftest import CliEnv, Run


def test_sync_then_ticket_then_audit(crm_env: CliEnv, run: Run,
                                     crm_sandbox: Any) -> None:
    code, out, _ = run("sync", "run", "crm_customers")
    assert code == 0 and "succeeded" in out and "120" in out
    vendor = crm_sandbox.state.customers[2]
    code, out, _ = run("tickets", "create", "--subject", "空气净化器异响",
                       "--mobile", vendor["contact"]["mobile"])
    assert code == 0, out
    assert vendor["name"] in out and "Customer 360°" in out
    code, out, _ = run("tickets", "show", "1")
    assert code == 0 and vendor["name"] in out
    code, out, _ = run("audit", "tail", "-n", "5")
    assert code == 0 and "ticket.enrich" in out
    code, out, _ = run("audit", "verify")
    assert code == 0 and "chain intact" in out
    assert crm_sandbox.api_key not in out


def test_tickets_show__missing_exits_3(crm_env: CliEnv, run: Run) -> None:
    run("db", "upgrade")
    code, _, err = run("tickets", "show", "77")
    assert code == 3 and "no ticket 77" in err


def test_tickets_create__bad_mobile_names_the_option(crm_env: CliEnv,
                                                     run: Run) -> None:
    code, _, err = run("tickets", "create", "--subject", "x", "--mobile", "123")
    assert code == 2 and "--mobile" in err


def test_a_ticket_failed_for_good__shown_failed_with_its_reason_then_retried(
        crm_env: CliEnv, run: Run, crm_sandbox: Any) -> None:
    import httpx

    assert run("sync", "run", "crm_customers")[0] == 0
    vendor = crm_sandbox.state.customers[3]
    faults = f"{crm_sandbox.url}/_sandbox/faults"
    httpx.post(faults, json={"status": 400, "count": 200}).raise_for_status()
    code, out, _ = run("tickets", "create", "--subject", "净水器漏水",
                       "--mobile", vendor["contact"]["mobile"])
    assert code == 0, out
    code, out, _ = run("tickets", "show", "1")
    shown = " ".join(out.replace("│", " ").split())  # the panel wraps long lines
    assert code == 0 and "Enrichment failed at " in shown, out
    assert "HTTP 400" in shown and "hub enrich retry 1 once fixed" in shown
    code, out, _ = run("tickets", "list")
    assert code == 0 and "failed" in out

    httpx.delete(faults).raise_for_status()
    code, out, _ = run("enrich", "retry", "1")
    assert code == 0, out
    assert "Enrichment enriched" in " ".join(out.split()) and vendor["name"] in out
