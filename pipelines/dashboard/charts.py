"""Inline SVG charts: no scripts, no network, readable on a laptop and a projector.

Every label from the data is escaped here, because the SVG goes into the page as markup.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from pipelines.dashboard.small_cells import WORDS as SUPPRESSED_WORDS
from pipelines.formats import number

BLUE, ORANGE, GREY, BAND = "#1f5f99", "#c2571a", "#6b6b6b", "#a9c8e8"
#: the width of one character of a label at the charts' font size, on average (for the room labels need)
CHAR_WIDTH = 8.2
#: a value printed over a line stays readable: a white outline drawn under the letters
HALO = 'stroke="#fff" stroke-width="5" paint-order="stroke" stroke-linejoin="round"'


def _label_room(rows: list[dict], width: int) -> int:
    """The room the longest label needs left of the bars (at most half the chart)."""
    longest = max(len(str(r["label"])) for r in rows)
    return int(min(width / 2, max(120, longest * CHAR_WIDTH + 16)))


def bar_chart(rows: list[dict], title: str, decimals: int = 0, width: int = 640, unit: str = "") -> Markup:
    """Horizontal bars, one per row (``label``, ``value``), with the value (and its ``unit``) printed at the end; a
    suppressed row (``suppressed``: it describes 1–4 persons) in words, without a bar."""
    if not rows:
        return Markup("")
    bar_height, gap, left = 28, 8, _label_room(rows, width)
    suffix = f"\u00a0{unit}" if unit else ""
    top = max((r["value"] or 0) for r in rows) or 1
    height = len(rows) * (bar_height + gap) + gap
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for i, r in enumerate(rows):
        y = gap + i * (bar_height + gap)
        length = (width - left - 90) * (r["value"] or 0) / top
        parts.append(
            f'<text x="{left - 8}" y="{y + 19}" text-anchor="end">{escape(str(r["label"]))}</text>'
            f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar_height}" fill="{BLUE}"/>'
            f'<text x="{left + length + 6:.1f}" y="{y + 19}">{_shown(r, decimals, suffix)}</text>'
        )
    return Markup("".join(parts) + "</svg>")


def _shown(row: dict, decimals: int, suffix: str) -> str:
    return SUPPRESSED_WORDS if row.get("suppressed") else f"{number(row['value'], decimals)}{suffix}"


def forecast_chart(months: list[dict], title: str, width: int = 720, height: int = 320) -> Markup:
    """Cumulative student-years by month: actual (solid), forecast (dashed) with its 80 % band, and the target."""
    if not months:
        return Markup("")
    left, bottom, top_pad = 60, 30, 10
    values = [v for m in months for v in (m["actual"], m["high"], m["target"]) if v is not None]
    top = max(values) * 1.05 if values else 1

    def x(month: int) -> float:
        return left + (width - left - 10) * (month - 1) / 11

    def y(value: float) -> float:
        return top_pad + (height - bottom - top_pad) * (1 - value / top)

    band = [(m["month"], m["low"], m["high"]) for m in months if m["low"] is not None and m["high"] > m["low"]]
    polygon = [f"{x(mo):.1f},{y(hi):.1f}" for mo, _, hi in band] + [
        f"{x(mo):.1f},{y(lo):.1f}" for mo, lo, _ in reversed(band)
    ]
    actual = " ".join(f"{x(m['month']):.1f},{y(m['actual']):.1f}" for m in months if m["actual"] is not None)
    forecast = " ".join(f"{x(m['month']):.1f},{y(m['forecast']):.1f}" for m in months if m["forecast"] is not None)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="{GREY}"/>',
    ]
    for step in range(0, 5):
        value = top * step / 4
        parts.append(
            f'<text x="{left - 6}" y="{y(value) + 5:.1f}" text-anchor="end" class="axis">{number(value)}</text>'
        )
    parts += [
        f'<text x="{x(m):.1f}" y="{height - 8}" text-anchor="middle" class="axis">{m}</text>' for m in range(1, 13)
    ]
    if polygon:  # (outlined in its own colour: a band a few tenths wide still shows)
        parts.append(
            f'<polygon class="band" points="{" ".join(polygon)}" fill="{BAND}" stroke="{BAND}" stroke-width="6" '
            'stroke-linejoin="round"/>'
        )
    if forecast:
        parts.append(
            f'<polyline points="{forecast}" fill="none" stroke="{BLUE}" stroke-width="3" stroke-dasharray="8 6"/>'
        )
    if actual:
        parts.append(f'<polyline points="{actual}" fill="none" stroke="{BLUE}" stroke-width="4"/>')
    target = next((m["target"] for m in months if m["target"] is not None), None)
    if target is not None:
        parts.append(
            f'<line x1="{left}" y1="{y(target):.1f}" x2="{width - 10}" y2="{y(target):.1f}" stroke="{ORANGE}" '
            'stroke-width="3"/>'
        )
    if band:
        parts.append(_year_end_interval(*band[-1], x, y))
    return Markup("".join(parts) + "</svg>")


def _year_end_interval(month: int, low: float, high: float, x, y) -> str:
    """The year-end 80 % interval as a whisker with its figures, however narrow the band is at the chart's scale."""
    at, middle = x(month), (y(low) + y(high)) / 2
    top, bottom = min(y(high), middle - 12), max(y(low), middle + 12)
    return (
        f'<g class="interval"><line x1="{at - 14:.1f}" y1="{top:.1f}" x2="{at - 14:.1f}" y2="{bottom:.1f}" '
        f'stroke="{BLUE}" stroke-width="2"/>'
        + "".join(
            f'<line x1="{at - 20:.1f}" y1="{v:.1f}" x2="{at - 8:.1f}" y2="{v:.1f}" stroke="{BLUE}" stroke-width="2"/>'
            for v in (top, bottom)
        )
        + f'<text x="{at - 24:.1f}" y="{top - 4:.1f}" text-anchor="end" class="axis" {HALO}>80 %: '
        f"{number(low, 1)}–{number(high, 1)}</text></g>"
    )


def benchmark_chart(
    rows: list[dict], title: str, decimals: int, highlight: str | None = None, width: int = 720
) -> Markup:
    """One provider per row (``label``, ``value``, ``key``) against the network: the quartiles as a band behind
    the bars and the median as a line; the ``highlight`` provider's bar in orange; a suppressed figure as words."""
    if not rows:
        return Markup("")
    first = rows[0]
    bar_height, gap, left, right, top_pad = 24, 8, 290, 90, 22
    values = [r["value"] for r in rows if r["value"] is not None]
    values += [v for v in (first["q1"], first["median"], first["q3"]) if v is not None]
    low, high = min(values + [0.0]), max(values + [0.0]) or 1.0
    span = (high - low) or 1.0
    height = top_pad + len(rows) * (bar_height + gap) + gap

    def x(value: float) -> float:
        return left + (width - left - right) * (value - low) / span

    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    if first["q1"] is not None and first["q3"] is not None:
        parts.append(
            f'<rect x="{x(first["q1"]):.1f}" y="{top_pad - 4}" width="{x(first["q3"]) - x(first["q1"]):.1f}" '
            f'height="{height - top_pad}" fill="{BAND}"/>'
        )
    if first["median"] is not None:  # (under the bars and their values, which are outlined to stay readable)
        m = x(first["median"])
        parts.append(
            f'<line x1="{m:.1f}" y1="{top_pad - 4}" x2="{m:.1f}" y2="{height}" stroke="{GREY}" stroke-width="3" '
            'stroke-dasharray="6 4"/>'
            f'<text x="{m:.1f}" y="{top_pad - 8}" text-anchor="middle" class="axis">mediaani '
            f"{number(first['median'], decimals)}</text>"
        )
    for i, r in enumerate(rows):
        y = top_pad + gap + i * (bar_height + gap)
        colour = ORANGE if r["key"] == highlight else BLUE
        parts.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{escape(str(r["label"]))}</text>')
        if r["value"] is None:
            parts.append(f'<text x="{left + 6}" y="{y + 17}" class="axis">{escape(r["missing"])}</text>')
            continue
        start, end = sorted((x(0.0), x(r["value"])))
        parts.append(
            f'<rect x="{start:.1f}" y="{y}" width="{max(end - start, 1):.1f}" height="{bar_height}" fill="{colour}"/>'
            f'<text x="{end + 6:.1f}" y="{y + 17}" {HALO}>{number(r["value"], decimals)}</text>'
        )
    return Markup("".join(parts) + "</svg>")
