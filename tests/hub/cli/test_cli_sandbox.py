"""`hub sandbox up`: names it does not know and ports already taken are one line each."""

from __future__ import annotations

import socket

from hub.demo.sandboxes import SANDBOXES, resolve_names

from .conftest import Run


def test_sandbox_up__an_unknown_name_lists_the_known_ones(run: Run) -> None:
    code, _, err = run("sandbox", "up", "crm", "sap")
    assert code == 2
    assert "no sandbox named sap (known: crm, kb, kingdee, yonyou, dingtalk, wecom" in err


def test_sandbox_up__a_taken_port_says_how_to_move(run: Run) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        offset = taken.getsockname()[1] - SANDBOXES["crm"].port
        code, out, err = run("sandbox", "up", "crm", "--port-offset", str(offset))
    assert code == 2 and out == ""
    assert "a sandbox port is taken" in err and "--port-offset N or --free-ports" in err


def test_resolve_names__every_sandbox_by_default_and_confluence_is_kb() -> None:
    assert [s.name for s in resolve_names([])] == list(SANDBOXES)
    assert [s.name for s in resolve_names(["wecom", "Confluence"])] == ["kb", "wecom"]
