"""A connection's health reasons, as hub.reports writes them, shown in the person's language."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.console.messages import Translator
from hub.console.routes.dashboard import reason_text
from hub.reports import HealthWindow
from hub.reports.health import _judge

START = datetime(2026, 12, 3, tzinfo=UTC)


def _window(*, calls: int, failures: int, tokens: int, p95: float, score: float,
            runs: int = 0, failed_runs: int = 0) -> HealthWindow:
    return HealthWindow(start=START, calls=calls, answered=calls - failures - tokens,
                        failures=failures, throttled=0, token_failures=tokens,
                        success_rate=None, p95_ms=p95, score=score, runs=runs,
                        failed_runs=failed_runs)


def test_every_reason_the_report_gives_is_translated() -> None:
    health = _judge("yonyou", _window(calls=100, failures=10, tokens=2, p95=1200.0, score=66.0,
                                      runs=4, failed_runs=1),
                    _window(calls=100, failures=0, tokens=0, p95=300.0, score=100.0))
    assert len(health.reasons) == 5  # failed runs, low score, fell, slower, tokens
    chinese = [reason_text(Translator("zh-CN"), reason) for reason in health.reasons]
    assert chinese == ["其作业 4 次运行中 1 次失败", "健康分 66 低于 80", "较上一窗口下降 34 分",
                       "P95 延迟 300 → 1200 毫秒", "凭证被拒 2 次"]
    english = [reason_text(Translator("en"), reason) for reason in health.reasons]
    assert english == health.reasons  # the English catalog says what the report says


def test_a_reason_not_known_is_shown_as_written() -> None:
    assert reason_text(Translator("zh-CN"), "something new") == "something new"
