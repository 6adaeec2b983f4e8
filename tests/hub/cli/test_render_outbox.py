"""The outbox views print vendor text as itself on any console, the demo's markup-reading one
included: a vendor message holding `[/…]` neither crashes nor styles anything."""

from __future__ import annotations

from rich.console import Console

from hub.cli.render.outbox import dispatch_summary

MESSAGE = "字段[customer]：客户 C[/b]9[bold] 不存在 (999)"


def test_dispatch_summary__vendor_markup_is_plain_text_on_a_markup_console() -> None:
    from hub.outbox import DispatchSummary

    summary = DispatchSummary(run_id=1, dead=1, status="failed", duration_ms=5,
                              errors=[{"outbox_id": 7, "key": "TK000001-RF1",
                                       "error": MESSAGE}])
    console = Console(record=True, width=200, markup=True)
    console.print(dispatch_summary(summary))
    assert MESSAGE in console.export_text()
