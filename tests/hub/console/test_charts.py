"""The console's SVG charts: well-formed XML, values drawn to scale, text escaped, accessible,
the same bytes for the same data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from hub.console.charts import (
    StackSeries,
    TimelineBar,
    gauge,
    line_chart,
    nice_ceiling,
    sparkline,
    stacked_bars,
    timeline,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & \'退款\' ]]>'


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def accessible(root: ET.Element) -> tuple[str, str]:
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert root.get("role") == "img" and title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return title.text or "", desc.text or ""


def test_stacked_bars__heights_are_values_to_scale() -> None:
    svg = stacked_bars(["12-01", "12-02", "12-03"],
                       [StackSeries("wecom", [10, 0, 30]), StackSeries("电话", [5, 20, 10])],
                       title="每日工单", chart_id="volume", width=400, height=260)
    root = parse(svg)
    assert accessible(root)[0] == "每日工单"
    bars = [(r.get("data-series"), float(r.get("data-value") or 0), float(r.get("height") or 0),
             float(r.get("y") or 0)) for r in root.iter(f"{SVG}rect") if r.get("data-value")]
    assert [(s, v) for s, v, _h, _y in bars] == [("0", 10), ("1", 5), ("1", 20), ("0", 30),
                                                 ("1", 10)]
    per_unit = {round(h / v, 6) for _s, v, h, _y in bars}
    assert len(per_unit) == 1  # one scale for every bar
    # the y axis tops at the nice ceiling of the largest day (40 -> 50), the plot's height
    plot_h = 260 - 10 - (24 + 16)
    assert per_unit == {round(plot_h / 50, 6)}
    # stacked: the second layer of day 3 sits right on top of the first
    (_s, _v, _h30, y30), (_s2, _v2, h10, y10) = bars[3], bars[4]
    assert y10 + h10 == pytest.approx(y30)
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert {"12-01", "12-03", "50", "0", "wecom", "电话"} <= set(labels)


def test_stacked_bars__hostile_labels_are_text() -> None:
    svg = stacked_bars([HOSTILE], [StackSeries(HOSTILE, [3])], title=HOSTILE,
                       desc=HOSTILE, chart_id='x" onload="alert(1)')
    assert "<script>" not in svg and 'onload="' not in svg
    root = parse(svg)
    assert accessible(root) == (HOSTILE, HOSTILE)
    assert HOSTILE in [t.text for t in root.iter(f"{SVG}text")]
    assert not list(root.iter(f"{SVG}script"))


def test_stacked_bars__nothing_to_show_still_draws_axes() -> None:
    root = parse(stacked_bars(["a", "b"], [], title="t", chart_id="empty"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts[:5] == ["0", "0.25", "0.5", "0.75", "1"] and texts[5:] == ["a", "b"]
    assert not [r for r in root.iter(f"{SVG}rect") if r.get("data-value")]


def test_line_chart__points_to_scale_and_gaps() -> None:
    root = parse(line_chart(["a", "b", "c", "d"], [10, None, 20, 40], title="p90",
                            chart_id="p90", unit=" s", width=352, height=200))
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 2  # the gap splits the line
    dots = [(float(c.get("cx") or 0), float(c.get("cy") or 0), float(c.get("data-value") or 0))
            for c in root.iter(f"{SVG}circle")]
    plot_h, top = 200 - 10 - 24, 10
    assert [round(cy, 2) for _x, cy, _v in dots] == [
        round(top + plot_h - plot_h * v / 50, 2) for v in (10, 20, 40)]
    slot = (352 - 52 - 10) / 3
    assert [x for x, _y, _v in dots] == [pytest.approx(52 + i * slot, abs=0.01) for i in (0, 2, 3)]
    assert "d 40 s" in accessible(root)[1]


def test_sparkline__own_range_and_last_value() -> None:
    root = parse(sparkline([5, 7, None, 9], title="成功率", chart_id="spark"))
    ys = [float(p.split(",")[1]) for line in root.iter(f"{SVG}polyline")
          for p in (line.get("points") or "").split()]
    assert ys[0] == pytest.approx(3 + 22) and ys[-1] == pytest.approx(3)  # low and high
    assert [t.text for t in root.iter(f"{SVG}text")] == ["9"]


@pytest.mark.parametrize(("score", "status", "arc"), [(100, "ok", True), (42.5, "failing", True),
                                                     (None, "idle", False), (0, "failing", False)])
def test_gauge__the_score_as_an_arc_and_a_number(score: float | None, status: str,
                                                 arc: bool) -> None:
    root = parse(gauge(score, title="crm", chart_id="g-crm", status=status, label=HOSTILE))
    values = [p for p in root.iter(f"{SVG}path") if p.get("class") == "gauge-value"]
    assert bool(values) is arc
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["–" if score is None else f"{score:g}", HOSTILE]
    assert status in accessible(root)[1]


def test_gauge__a_half_score_ends_at_the_top() -> None:
    root = parse(gauge(50, title="t", chart_id="g", size=100))
    (value,) = [p for p in root.iter(f"{SVG}path") if p.get("class") == "gauge-value"]
    assert (value.get("d") or "").endswith("A 40 40 0 0 1 50 15")


def test_charts__are_deterministic() -> None:
    def draw() -> list[str]:
        return [stacked_bars(["d1", "d2"], [StackSeries("a", [1.5, 2])], title="t",
                             chart_id="s"),
                line_chart(["d1", "d2"], [1 / 3, 2 / 3], title="t", chart_id="l"),
                sparkline([1 / 7, 2 / 7], title="t", chart_id="k"),
                gauge(2 / 3 * 100, title="t", chart_id="g"),
                timeline([TimelineBar("p", "done", 1 / 3, 2 / 3)], title="t", chart_id="tl",
                         now=1 / 7)]

    assert draw() == draw()
    # numbers are written to two decimals at most (no float noise such as 16.666666666667)
    assert not re.search(r"\d\.\d{3}", "".join(draw()))


@pytest.mark.parametrize(("value", "ceiling"), [(0, 1), (1, 1), (7, 10), (40, 50),
                                                 (180, 200), (2100, 2500), (0.03, 0.05)])
def test_nice_ceiling(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_timeline__bars_from_start_to_end_coloured_by_status() -> None:
    bars = [TimelineBar("2026-01", "done", 0, 4, note="read 120"),
            TimelineBar("2026-02", "failed", 2, 6),
            TimelineBar("2026-03", "running", 5, None),
            TimelineBar("2026-04", "pending", None, None)]
    root = parse(timeline(bars, title="分片", chart_id="run-7", now=8, width=400,
                          status_labels={"done": "完成", "failed": "失败"}))
    title, desc = accessible(root)
    assert title == "分片" and "4 parts" in desc and "完成 1" in desc and "失败 1" in desc
    rects = {r.get("data-status"): r for r in root.iter(f"{SVG}rect")}
    assert rects["done"].get("fill") != rects["failed"].get("fill")
    drawn = [(r.get("data-status"), float(r.get("x") or 0), float(r.get("width") or 0))
             for r in root.iter(f"{SVG}rect") if r.get("data-start") is not None]
    (_d, x0, w0), (_f, x1, w1), (_r, x2, w2) = drawn
    scale = w0 / 4  # one scale: seconds to pixels, the axis up to nice_ceiling(8) = 10 s
    assert w1 == pytest.approx(4 * scale, abs=0.02)
    assert x1 - x0 == pytest.approx(2 * scale, abs=0.02)
    assert w2 == pytest.approx(3 * scale, abs=0.02)  # under way: drawn to now
    assert scale * 10 == pytest.approx(400 - 10 - x0, abs=0.05)
    assert rects["pending"].get("fill") == "none"  # not started: an outline
    tips = [t.text for r in root.iter(f"{SVG}rect") for t in r.iter(f"{SVG}title")]
    assert tips[0] == "2026-01 · 完成 · read 120 · 0–4 s"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"2026-01", "2026-04", "0 s", "10 s"} <= set(texts)


def test_timeline__a_long_label_cut_whole_in_its_tooltip() -> None:
    key = "2025-06-27T13:31:45+00:00..2025-09-11T01:43:02+00:00"
    root = parse(timeline([TimelineBar(key, "done", 0, 1)], title="t", chart_id="l", now=1))
    [label] = [t.text or "" for t in root.iter(f"{SVG}text") if "2025" in (t.text or "")]
    assert label.endswith("…") and key.startswith(label[:-1]) and len(label) < 36
    [tip] = [t.text or "" for r in root.iter(f"{SVG}rect") for t in r.iter(f"{SVG}title")]
    assert tip.startswith(key)


def test_timeline__hostile_labels_are_text_and_nothing_still_draws() -> None:
    svg = timeline([TimelineBar(HOSTILE, HOSTILE, 0, 1, note=HOSTILE)], title=HOSTILE,
                   chart_id='x" onload="alert(1)', now=1)
    assert "<script>" not in svg and 'onload="' not in svg
    root = parse(svg)
    assert accessible(root)[0] == HOSTILE
    assert any((t.text or "").startswith('<script>alert("x")') for t in root.iter(f"{SVG}text"))
    [tip] = [t.text or "" for r in root.iter(f"{SVG}rect") for t in r.iter(f"{SVG}title")]
    assert tip.startswith(f"{HOSTILE} · {HOSTILE} · {HOSTILE}")  # label, status, note
    empty = parse(timeline([], title="t", chart_id="e", now=0))
    assert "0 parts" in accessible(empty)[1] and not list(empty.iter(f"{SVG}rect"))
