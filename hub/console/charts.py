"""SVG charts drawn on the server: stacked bars per day, a line (or sparkline), a score gauge.

Own code, no library: each chart is a few dozen elements, and the output must be the same bytes
for the same data (pages are compared and cached). Every chart is accessible — `role="img"`,
a `<title>` and `<desc>` it is labelled by, text labels beside the shapes, the values in each
shape's own `<title>` (a tooltip and what a screen reader reads) — and every piece of text is
escaped, so a category named `<script>` is text. Labels may be Chinese: text is measured
roughly (a CJK character counts as two Latin ones) only to leave room, never to clip.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["PALETTE", "StackSeries", "TimelineBar", "gauge", "line_chart", "nice_ceiling",
           "sparkline", "stacked_bars", "timeline"]

# Colour-blind-safe (Okabe–Ito), then greys for the tail.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442",
           "#000000", "#7F7F7F", "#BFBFBF")
_STATUS_COLOURS = {"ok": "#009E73", "warning": "#E69F00", "failing": "#D55E00",
                   "idle": "#7F7F7F"}
_PART_COLOURS = {"done": "#009E73", "failed": "#D55E00", "running": "#0072B2",
                 "pending": "#BFBFBF"}
_FONT = 'font-family="system-ui, sans-serif"'
_ID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class StackSeries:
    """One layer of a stacked chart: its label and one value per category (day)."""

    label: str
    values: Sequence[float]


@dataclass(frozen=True, slots=True)
class TimelineBar:
    """One bar of a timeline: its label, status (its colour), and when it started and ended
    in seconds from the timeline's start (`end` None: not yet started, or under way —
    drawn to `now`); `note` is read in its tooltip."""

    label: str
    status: str
    start: float | None
    end: float | None
    note: str = ""


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    """A coordinate with at most two decimals and no trailing zeros: the same every time."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _label(value: float) -> str:
    """A value as a reader sees it: whole numbers plainly, others to two decimals at most."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _chart_id(chart_id: str) -> str:
    cleaned = _ID.sub("-", chart_id)[:60]
    return cleaned if cleaned and cleaned[0].isalpha() else f"c-{cleaned}"


def _width(text: str) -> float:
    """A rough text width in em: CJK (wide) characters count double."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.55 for ch in text)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value` (1 for nothing to show)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value - 1e-9:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop ends at 10


def _open(chart_id: str, width: int, height: int, title: str, desc: str, css: str) -> list[str]:
    cid = _chart_id(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" {_FONT} font-size="11">',
        f'<title id="{cid}-title">{_text(title)}</title>',
        f'<desc id="{cid}-desc">{_text(desc)}</desc>',
    ]


def stacked_bars(categories: Sequence[str], series: Sequence[StackSeries], *, title: str,
                 chart_id: str, desc: str | None = None, width: int = 640, height: int = 260,
                 colours: Sequence[str] = PALETTE) -> str:
    """Bars per category (day), each stacked by series, with a y axis, day labels (every
    n-th, to fit) and a legend. Series beyond the palette share its last colour."""
    legend_rows = max(1, math.ceil(len(series) / 4))
    top, left, right, bottom = 10, 44, 10, 24 + 16 * legend_rows
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series if i < len(s.values))
              for i in range(len(categories))]
    y_max = nice_ceiling(max(totals, default=0))
    scale = plot_h / y_max
    slot = plot_w / max(1, len(categories))
    bar = max(1.0, slot * 0.8)
    summary = ", ".join(f"{s.label} {_label(sum(s.values))}" for s in series)
    out = _open(chart_id, width, height, title,
                desc or f"{len(categories)} days; totals: {summary or 'none'}", "stacked-bars")
    out += _y_axis(left, top, plot_w, plot_h, y_max)
    for i, category in enumerate(categories):
        x = left + i * slot + (slot - bar) / 2
        base: float = top + plot_h
        for j, layer in enumerate(series):
            value = layer.values[i] if i < len(layer.values) else 0
            if value <= 0:
                continue
            h = value * scale
            base -= h
            colour = colours[min(j, len(colours) - 1)]
            out.append(f'<rect x="{_num(x)}" y="{_num(base)}" width="{_num(bar)}" '
                       f'height="{_num(h)}" fill="{colour}" data-series="{j}" '
                       f'data-value="{_num(value)}"><title>{_text(category)} · '
                       f'{_text(layer.label)}: {_label(value)}</title></rect>')
    step = max(1, math.ceil(len(categories) / max(1, plot_w // 48)))
    for i in range(0, len(categories), step):
        x = left + i * slot + slot / 2
        out.append(f'<text x="{_num(x)}" y="{_num(top + plot_h + 14)}" text-anchor="middle" '
                   f'class="x-label">{_text(categories[i])}</text>')
    out += _legend([s.label for s in series], colours, left, top + plot_h + 30, plot_w)
    out.append("</svg>")
    return "\n".join(out)


def _y_axis(left: float, top: float, plot_w: float, plot_h: float, y_max: float) -> list[str]:
    out = ['<g class="y-axis" stroke="#DDDDDD" stroke-width="1">']
    labels = []
    for k in range(5):
        value = y_max * k / 4
        y = top + plot_h - plot_h * k / 4
        out.append(f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(left + plot_w)}" '
                   f'y2="{_num(y)}"/>')
        labels.append(f'<text x="{_num(left - 4)}" y="{_num(y + 4)}" text-anchor="end" '
                      f'class="y-label">{_label(value)}</text>')
    return [*out, "</g>", *labels]


def _legend(labels: Sequence[str], colours: Sequence[str], left: float, top: float,
            width: float) -> list[str]:
    out = ['<g class="legend">']
    column = width / 4
    for j, label in enumerate(labels):
        x, y = left + (j % 4) * column, top + (j // 4) * 16
        colour = colours[min(j, len(colours) - 1)]
        shown = label if _width(label) * 11 < column - 16 else label[:12] + "…"
        out.append(f'<rect x="{_num(x)}" y="{_num(y - 9)}" width="10" height="10" '
                   f'fill="{colour}"/><text x="{_num(x + 14)}" y="{_num(y)}">{_text(shown)}'
                   f'<title>{_text(label)}</title></text>')
    out.append("</g>")
    return out


def line_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str,
               chart_id: str, desc: str | None = None, unit: str = "", width: int = 640,
               height: int = 200, colour: str = PALETTE[0]) -> str:
    """A line through the values (None: a gap), with a y axis, x labels and a dot a point."""
    top, left, right, bottom = 10, 52, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    present = [v for v in values if v is not None]
    y_max = nice_ceiling(max(present, default=0))
    points = _points(values, left, top, plot_w, plot_h, y_max)
    shown = [f"{_text(labels[i])} {_label(v)}{_text(unit)}" for i, v in enumerate(values)
             if v is not None and i < len(labels)]
    out = _open(chart_id, width, height, title,
                desc or (f"{len(present)} points; last: {shown[-1]}" if shown else "no data"),
                "line-chart")
    out += _y_axis(left, top, plot_w, plot_h, y_max)
    for run in points:
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                   + " ".join(f"{_num(x)},{_num(y)}" for x, y, _i in run) + '"/>')
        for x, y, i in run:
            out.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="2.5" fill="{colour}" '
                       f'data-value="{_num(values[i] or 0)}"><title>'
                       f'{_text(labels[i] if i < len(labels) else i)}: '
                       f'{_label(values[i] or 0)}{_text(unit)}</title></circle>')
    step = max(1, math.ceil(len(labels) / max(1, plot_w // 48)))
    slot = plot_w / max(1, len(values) - 1)
    for i in range(0, len(labels), step):
        out.append(f'<text x="{_num(left + i * slot)}" y="{_num(top + plot_h + 14)}" '
                   f'text-anchor="middle" class="x-label">{_text(labels[i])}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _points(values: Sequence[float | None], left: float, top: float, plot_w: float,
            plot_h: float, y_max: float) -> list[list[tuple[float, float, int]]]:
    """Runs of consecutive present values as (x, y, index); a None ends a run."""
    slot = plot_w / max(1, len(values) - 1)
    runs: list[list[tuple[float, float, int]]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((left + i * slot, top + plot_h - plot_h * min(value, y_max) / y_max, i))
    return [run for run in runs if run]


def sparkline(values: Sequence[float | None], *, title: str, chart_id: str,
              width: int = 120, height: int = 28, colour: str = PALETTE[0]) -> str:
    """A small line without axes, scaled to its own range; the last value is labelled."""
    present = [v for v in values if v is not None]
    low, high = min(present, default=0.0), max(present, default=0.0)
    span = (high - low) or 1.0
    label_w = 36
    plot_w, plot_h = width - label_w - 4, height - 6
    slot = plot_w / max(1, len(values) - 1)
    out = _open(chart_id, width, height, title,
                f"{len(present)} values from {_label(low)} to {_label(high)}; last "
                f"{_label(present[-1])}" if present else "no data", "sparkline")
    runs: list[list[str]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        y = 3 + plot_h - plot_h * (value - low) / span
        runs[-1].append(f"{_num(2 + i * slot)},{_num(y)}")
    for run in runs:
        if run:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                       f'points="{" ".join(run)}"/>')
    if present:
        out.append(f'<text x="{width - 2}" y="{_num(height / 2 + 4)}" text-anchor="end">'
                   f'{_label(present[-1])}</text>')
    out.append("</svg>")
    return "\n".join(out)


def gauge(score: float | None, *, title: str, chart_id: str, status: str = "ok",
          label: str | None = None, size: int = 96) -> str:
    """A half-circle gauge of a 0–100 score, coloured by status, the number in the middle
    (no score: an empty arc and a dash)."""
    colour = _STATUS_COLOURS.get(status, _STATUS_COLOURS["idle"])
    r, cx, cy = size * 0.4, size / 2, size * 0.55
    height = int(size * 0.8)
    shown = "–" if score is None else _label(round(score, 1))
    out = _open(chart_id, size, height, title,
                f"score {shown} of 100, {status}" + (f": {label}" if label else ""), "gauge")

    def arc(fraction: float) -> str:
        angle = math.pi * (1 - fraction)
        x, y = cx + r * math.cos(angle), cy - r * math.sin(angle)
        return f"M {_num(cx - r)} {_num(cy)} A {_num(r)} {_num(r)} 0 0 1 {_num(x)} {_num(y)}"

    out.append(f'<path d="{arc(1.0)}" fill="none" stroke="#DDDDDD" stroke-width="8"/>')
    if score is not None and score > 0:
        fraction = max(0.0, min(1.0, score / 100))
        out.append(f'<path d="{arc(fraction)}" fill="none" stroke="{colour}" stroke-width="8" '
                   f'data-value="{_num(score)}" class="gauge-value"/>')
    out.append(f'<text x="{_num(cx)}" y="{_num(cy)}" text-anchor="middle" font-size="18" '
               f'font-weight="600" fill="{colour}">{_text(shown)}</text>')
    if label:
        out.append(f'<text x="{_num(cx)}" y="{_num(height - 4)}" text-anchor="middle">'
                   f"{_text(label)}</text>")
    out.append("</svg>")
    return "\n".join(out)


def _fitted(label: str, room: float) -> str:
    """`label` cut with an ellipsis to about `room` pixels of 11 px text (the whole label is
    in the bar's tooltip)."""
    if _width(label) * 11 <= room:
        return label
    kept = ""
    for ch in label:
        if _width(kept + ch + "…") * 11 > room:
            break
        kept += ch
    return kept + "…"


def timeline(bars: Sequence[TimelineBar], *, title: str, chart_id: str, now: float,
             desc: str | None = None, width: int = 640, row_height: int = 18,
             status_labels: dict[str, str] | None = None) -> str:
    """A Gantt chart: one row per bar, from its start to its end (an unfinished bar to
    `now`, seconds from the start), coloured by status, the rows' labels on the left and a
    time axis in seconds below; a bar not yet started is an empty outline at the left."""
    labels = status_labels or {}
    label_w = min(200.0, 16 + 11 * max((_width(b.label) for b in bars), default=2))  # 11 px font
    left, right, top, bottom = label_w, 10, 6, 22
    plot_w = width - left - right
    height = top + bottom + row_height * max(1, len(bars))
    span = max([now] + [b.end for b in bars if b.end is not None] + [1e-9])
    span = nice_ceiling(span)
    scale = plot_w / span
    counts: dict[str, int] = {}
    for bar in bars:
        counts[bar.status] = counts.get(bar.status, 0) + 1
    summary = ", ".join(f"{labels.get(k, k)} {v}" for k, v in sorted(counts.items()))
    out = _open(chart_id, width, height, title,
                desc or f"{len(bars)} parts over {_label(round(span, 2))} s; "
                        f"{summary or 'none'}", "timeline")
    for tick in range(5):
        x = left + plot_w * tick / 4
        out.append(f'<line x1="{_num(x)}" y1="{top}" x2="{_num(x)}" '
                   f'y2="{_num(height - bottom)}" stroke="#EEEEEE"/>')
        anchor = "end" if tick == 4 else "middle"  # the last inside the chart
        out.append(f'<text x="{_num(x)}" y="{_num(height - bottom + 14)}" '
                   f'text-anchor="{anchor}" class="x-label">'
                   f'{_label(round(span * tick / 4, 2))} s</text>')
    for i, bar in enumerate(bars):
        y = top + i * row_height
        out.append(f'<text x="{_num(left - 6)}" y="{_num(y + row_height * 0.7)}" '
                   f'text-anchor="end">{_text(_fitted(bar.label, label_w - 16))}</text>')
        colour = _PART_COLOURS.get(bar.status, PALETTE[-2])
        status = labels.get(bar.status, bar.status)
        tip = f"{bar.label} · {status}" + (f" · {bar.note}" if bar.note else "")
        if bar.start is None:
            out.append(f'<rect x="{_num(left)}" y="{_num(y + 3)}" width="8" '
                       f'height="{_num(row_height - 6)}" fill="none" stroke="{colour}" '
                       f'data-status="{_text(bar.status)}"><title>{_text(tip)}</title></rect>')
            continue
        start = max(0.0, bar.start)
        end = max(start, bar.end if bar.end is not None else now)
        x, w = left + start * scale, max(2.0, (end - start) * scale)
        tip += f" · {_label(round(start, 2))}–{_label(round(end, 2))} s"
        out.append(f'<rect x="{_num(x)}" y="{_num(y + 3)}" width="{_num(w)}" '
                   f'height="{_num(row_height - 6)}" fill="{colour}" '
                   f'data-status="{_text(bar.status)}" data-start="{_num(start)}" '
                   f'data-end="{_num(end)}"><title>{_text(tip)}</title></rect>')
    out.append("</svg>")
    return "\n".join(out)
