"""`hub notify check-overdue`: the scheduler's entry point, as one command with an exit code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import cli
from hub.runtime import Hub
from hub.store.models import Ticket

from .conftest import MessagingHub, Sandboxes

OVERDUE = {"when": "status != 'resolved' and age_hours >= 2",
           "message": {"kind": "text", "title": "超时", "text": "#{{ id }} 超时"}}


def use(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", hub.settings.database_url)
    monkeypatch.setenv("HUB_CONFIG", str(hub.settings.config))
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(hub.settings.mappings_dir))
    monkeypatch.setenv("COLUMNS", "200")


def old_ticket(hub: Hub) -> int:
    with hub.sessions.begin() as session:
        then = datetime.now(UTC) - timedelta(hours=3)
        ticket = Ticket(subject="三小时前的工单", description="", channel="api",
                        created_at=then, updated_at=then)
        session.add(ticket)
        session.flush()
        return ticket.id


@pytest.mark.parametrize(("user", "code", "shown"), [
    ("user001", 0, "succeeded"),
    ("nobody-here", 4, "notify check failed"),
])
def test_check_overdue__fires_and_exits_with_the_runs_verdict(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], user: str, code: int, shown: str,
) -> None:
    rule = {**OVERDUE, "notify": [{"connection": "dingtalk", "user": user}]}
    hub = messaging_hub(rules={"overdue": rule}, enrich=False)
    ticket_id = old_ticket(hub)
    use(hub, monkeypatch)
    assert cli.main(["notify", "check-overdue"]) == code
    captured = capsys.readouterr()
    assert shown in captured.out + captured.err
    if code == 0:
        assert f"#{ticket_id} (open)" in captured.out
        assert len(sandboxes.dingtalk.messages_to("user001")) == 1
    assert not {s for s in sandboxes.secrets() if s in captured.out + captured.err}


def test_dead_letters_and_replay__listed_with_the_reason_then_sent_once_fixed(
    messaging_hub: MessagingHub, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    robot = {"connection": "dingtalk", "robot": "ops"}
    hub = messaging_hub(rules={"overdue": {**OVERDUE, "notify": [robot]}}, enrich=False)
    ticket_id = old_ticket(hub)
    robot_config = sandboxes.dingtalk.robots
    [token] = list(robot_config)
    robot_config[token].enabled = False  # DingTalk: 400102, the robot is disabled
    use(hub, monkeypatch)
    assert cli.main(["notify", "check-overdue"]) == 4
    capsys.readouterr()
    assert cli.main(["notify", "dead-letters"]) == 0
    listed = capsys.readouterr().out
    assert f"#{ticket_id}" in listed and "dead" in listed and "disabled" in listed
    robot_config[token].enabled = True
    assert cli.main(["notify", "replay", "--all"]) == 0
    replayed = capsys.readouterr().out
    assert "1 deliveries queued again" in replayed
    assert len(sandboxes.robot_posts()) == 1
    assert cli.main(["notify", "queue", "--status", "sent"]) == 0
    assert f"#{ticket_id}" in capsys.readouterr().out
    assert cli.main(["notify", "dispatch", "--mode", "due"]) == 0  # nothing left: no-op
    assert "Run " in capsys.readouterr().out and len(sandboxes.robot_posts()) == 1
