"""`webhooks:` and `rules:` in hub.yaml: valid configs load; every mistake names the file,
line and field (and the column, inside an expression)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import load_config
from hub.config.mapping_files import MappingLibrary
from hub.errors import ConfigFileError

ROOT = Path(__file__).resolve().parents[3]

BASE = """\
version: 1
public_url: https://hub.example.test/
connections:
  crm:
    type: crm
    config: {base_url: "http://127.0.0.1:9", api_key: crm-key-1234}
  dingtalk:
    type: dingtalk
    config:
      app_key: dingkey
      app_secret: dt-secret-1234
      agent_id: 1
      robots: {ops: {access_token: robot-token-1234}}
      callback_token: cbtoken
      callback_aes_key: p9N2z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs
  wecom:
    type: wecom
    config:
      corp_id: ww1
      corp_secret: wc-secret-1234
      agent_id: 1000002
      robots: {ops: {key: wecom-robot-key-1234}}
"""

GOOD = """\
webhooks:
  wecom: {mapping: wecom_inbound_ticket, events: [text, event.device_alarm]}
rules:
  vip:
    when: "tier == 'vip' and status == 'open'"
    notify:
      - {connection: dingtalk, robot: ops}
      - {connection: wecom, user: zhangsan}
      - {connection: dingtalk, mobile: "13800000002"}
    message: {kind: card, title: "VIP #{{ id }}", text: "{{ customer.name }}"}
  overdue:
    when: "age_hours >= 2 and status not in ['resolved', 'closed']"
    notify: [{connection: wecom, robot: ops}]
    message: {kind: text, title: t, text: "#{{ id }} {{ age_hours }}h"}
"""


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, mappings=MappingLibrary(ROOT / "mappings"))


def test_load__webhooks_and_rules(tmp_path: Path) -> None:
    config = load(tmp_path, BASE + GOOD.replace("robot: ops}]", "robot: ops}]\n    enabled: no"))
    hub = config.hub  # type: ignore[attr-defined]
    assert hub.public_url == "https://hub.example.test"
    assert hub.webhooks["wecom"].events == ["text", "event.device_alarm"]
    assert [t.label for t in hub.rules["vip"].notify] == [
        "dingtalk:robot:ops", "wecom:user:zhangsan", "dingtalk:mobile:138****0002"]
    assert hub.rules["overdue"].reads_clock and not hub.rules["vip"].reads_clock
    assert not hub.rules["overdue"].enabled


def test_shipped_config__validates_with_the_examples_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_API_KEY", "k")
    monkeypatch.setenv("HUB_MESSAGING", "on")
    config = load_config(ROOT / "configs/hub.yaml", mappings=MappingLibrary(ROOT / "mappings"))
    assert set(config.hub.webhooks) == {"wecom", "dingtalk"}
    assert all(rule.enabled for rule in config.hub.rules.values())


@pytest.mark.parametrize(("section", "field", "message"), [
    ("""rules:
  r:
    when: "tier == "
    notify: [{connection: wecom, user: u}]
    message: {title: t, text: x}
""", "rules.r.when", "expected a value"),
    ("""rules:
  r:
    when: "teir == 'vip'"
    notify: [{connection: wecom, user: u}]
    message: {title: t, text: x}
""", "rules.r.when", "unknown ticket field 'teir' (did you mean 'tier'?)"),
    ("""rules:
  r:
    when: "status == 'open'"
    notify: [{connection: wecom, user: u}]
    message: {title: "{{ subjet }}", text: x}
""", "rules.r.message.title", "unknown ticket field 'subjet' (did you mean 'subject'?)"),
    ("""rules:
  r:
    when: "status == 'open'"
    notify: [{connection: wecom, user: u}]
    message: {title: "#{{ id ", text: x}
""", "rules.r.message.title", "'{{' is never closed with '}}'"),
    ("""rules:
  r:
    when: "status == 'open'"
    notify: [{connection: slack, user: u}]
    message: {title: t, text: x}
""", "rules.r.notify.0.connection", "unknown connection 'slack'; defined: crm, dingtalk, wecom"),
    ("""rules:
  r:
    when: "status == 'open'"
    notify: [{connection: dingtalk, robot: finance}]
    message: {title: t, text: x}
""", "rules.r.notify.0.robot", "connection 'dingtalk' has no robot 'finance'; it has: ops"),
    ("""rules:
  r:
    when: "status == 'open'"
    notify: [{connection: crm, user: u}]
    message: {title: t, text: x}
""", "rules.r.notify.0.user", "connector 'crm' cannot send messages to people"),
    ("""rules:
  r:
    when: "status == 'open'"
    notify: [{connection: wecom, user: u, robot: ops}]
    message: {title: t, text: x}
""", "rules.r.notify.0", "give exactly one of user, mobile or robot"),
    ("""rules:
  r:
    when: "status == 'open'"
    notify: []
    message: {title: t, text: x}
""", "rules.r.notify", "at least 1 item"),
    ("""rules:
  r:
    when: "status == 'open'"
    notify: [{connection: wecom, user: u}]
    message: {kind: letter, title: t, text: x}
""", "rules.r.message.kind", "'text', 'markdown' or 'card'"),
    ("""rules:
  r:
    when: "status == 'open'"
    notify: [{connection: wecom, user: u}]
    mesage: {title: t, text: x}
""", "rules.r.mesage", "unknown field"),
    ("""webhooks:
  wecom: {mapping: no_such_mapping, events: [text]}
""", "webhooks.wecom.mapping", "no mapping 'no_such_mapping'"),
    ("""webhooks:
  crm: {mapping: wecom_inbound_ticket, events: [text]}
""", "webhooks.crm", "connector 'crm' does not receive webhooks"),
    ("""webhooks:
  feishu: {mapping: wecom_inbound_ticket, events: [text]}
""", "webhooks.feishu", "no connection 'feishu'"),
    ("""webhooks:
  wecom: {mapping: crm_customer, events: [text]}
""", "webhooks.wecom.mapping", "must define a 'subject' field"),
    ("""webhooks:
  wecom: {mapping: wecom_inbound_ticket, events: []}
""", "webhooks.wecom.events", "at least 1 item"),
])
def test_load__mistakes_name_file_line_and_field(tmp_path: Path, section: str, field: str,
                                                 message: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        load(tmp_path, BASE + section)
    problem = next(p for p in caught.value.problems if p.field == field)
    assert problem.file == str(tmp_path / "hub.yaml")
    assert message in problem.message
    first_line = BASE.count("\n") + 1
    assert problem.line is not None and problem.line >= first_line


def test_load__an_expression_error_points_at_its_column(tmp_path: Path) -> None:
    section = 'rules:\n  r:\n    when: "tier == "\n    notify: [{connection: wecom, user: u}]\n' \
              "    message: {title: t, text: x}\n"
    with pytest.raises(ConfigFileError) as caught:
        load(tmp_path, BASE + section)
    [problem] = caught.value.problems
    assert problem.line == BASE.count("\n") + 3
    assert problem.column == len('    when: "tier == ') + 1  # just past the operator


def test_load__a_card_needs_public_url(tmp_path: Path) -> None:
    text = (BASE + GOOD).replace("public_url: https://hub.example.test/\n", "")
    with pytest.raises(ConfigFileError) as caught:
        load(tmp_path, text)
    [problem] = caught.value.problems
    assert problem.field == "rules.vip.message.kind" and "public_url" in problem.message
