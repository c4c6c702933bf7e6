"""Charts drawn on the server as SVG: no script to load, readable by screen readers (role="img",
an aria-label, a <title> on every mark with its exact figure), and sized by their viewBox so
they shrink to a phone. Each report adds its chart here; they share the scale, the colours and
the text escaping."""

from __future__ import annotations

import math
from collections.abc import Sequence

from flask_babel import gettext as _
from markupsafe import Markup, escape

# One colour per series, the console's blues from light to dark: the funnel narrows.
SERIES_COLOURS = ("#b2ccff", "#528bff", "#155eef")
BRAND = (31, 111, 235)  # --brand
EMPTY = (242, 244, 247)  # a zero: the page's light grey
FONT = 'font-family="system-ui, sans-serif" fill="#667085"'


def scale(largest: float, length: float):
    """value -> length along an axis whose end is ``largest`` (a chart of zeros draws none)."""
    return lambda value: (value / largest * length) if largest else 0.0


def _short(text: str, room: float) -> str:
    """``text`` cut to fit ``room`` (its whole self is in the mark's <title>)."""
    if _text_width(text) <= room:
        return text
    while text and _text_width(text + "…") > room:
        text = text[:-1]
    return text + "…"


def funnel_bars(rows: Sequence[tuple[str, int, int, int]]) -> Markup:
    """Grouped horizontal bars, one group per row (label, visits, consultations, orders)."""
    names = (_("Visits"), _("Consultations"), _("Orders"))
    # 360 wide: on a 390 px phone the text stays near its size, on a desktop the CSS caps it;
    # the labels' room holds most channel names whole (the cut ones are whole in <title>)
    width, label_width = 360, 130
    bar, gap, group_gap, legend = 7, 3, 10, 26
    largest = max((max(r[1:]) for r in rows), default=0)
    value_width = _text_width(str(largest), 10) + 8  # the longest bar's number stays in view
    bar_length = scale(largest, width - label_width - value_width)
    group = 3 * bar + 2 * gap
    height = legend + len(rows) * (group + group_gap)
    parts = [_legend(names)]
    for index, (label, *values) in enumerate(rows):
        top = legend + index * (group + group_gap)
        shown = _short(label, label_width - 12)
        parts.append(
            f'<text class="label" x="{label_width - 8}" y="{top + group / 2 + 4:.1f}" '
            f'text-anchor="end"><title>{escape(label)}</title>{escape(shown)}</text>'
        )
        for series, value in enumerate(values):
            y = top + series * (bar + gap)
            length = max(bar_length(value), 1.0 if value else 0.0)
            parts.append(
                f'<rect class="bar" x="{label_width}" y="{y}" width="{length:.1f}" '
                f'height="{bar}" rx="1.5" fill="{SERIES_COLOURS[series]}">'
                f"<title>{escape(label)}: {escape(names[series])} {value}</title></rect>"
            )
            if value:  # no bar, no number: a zero would only crowd the bars above it
                parts.append(
                    f'<text class="value" x="{label_width + length + 4:.1f}" '
                    f'y="{y + bar - 0.5}">{value}</text>'
                )
    summary = _(
        "Visits, consultations and orders of the %(count)s rows with the most visits",
        count=len(rows),
    )
    return _svg(width, height, summary, parts, "funnel-chart")


def _legend(names: Sequence[str]) -> str:
    items, x = [], 0
    for colour, name in zip(SERIES_COLOURS, names, strict=True):
        items.append(
            f'<rect x="{x}" y="4" width="10" height="10" rx="2" fill="{colour}"></rect>'
            f'<text class="legend" x="{x + 14}" y="13.5">{escape(name)}</text>'
        )
        x += 14 + _text_width(name) + 16
    return "".join(items)


def _text_width(text: str, size: float = 12) -> float:
    """About how wide ``text`` is drawn: a CJK character is a full em, a Latin one about half."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.58 for ch in text)


def nice_max(value: float) -> float:
    """The axis top: ``value`` rounded up to 1, 2 or 5 × a power of ten (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _rgb(colour: tuple[float, float, float]) -> str:
    return "rgb({},{},{})".format(*(round(c) for c in colour))


def shade(value: float, top: float) -> str:
    """A cell's colour: light grey for none, then lighter to darker blue as it nears ``top``."""
    if not value or not top:
        return _rgb(EMPTY)
    share = 0.15 + 0.85 * min(value / top, 1)
    low = (226, 236, 253)
    return _rgb(tuple(a + (b - a) * share for a, b in zip(low, BRAND, strict=True)))


def _text(x: float, y: float, content, anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" text-anchor="{anchor}" {FONT}>'
        f"{escape(content)}</text>"
    )


def _svg(width: float, height: float, label: str, body: list[str], css: str = "") -> Markup:
    return Markup(
        f'<svg class="chart {css}" viewBox="0 0 {width:g} {height:g}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def heatmap(
    grid: Sequence[Sequence[int]],
    rows: Sequence[str],
    columns: Sequence[str],
    label: str,
    title: str,
    vertical: bool = False,
) -> Markup:
    """``grid[row][column]`` as coloured cells; ``title`` is a format string of ``row``,
    ``column`` and ``value`` for each cell's tooltip. ``vertical``: rows across and columns
    down (24 hours down a phone instead of across it)."""
    top = max((v for line in grid for v in line), default=0)
    cell, gap, left, head = (40, 3, 40, 20) if vertical else (24, 2, 40, 18)
    across, down = (len(rows), len(columns)) if vertical else (len(columns), len(rows))
    height_cell = 18 if vertical else cell
    body = []
    for r, row_name in enumerate(rows):
        for c, column_name in enumerate(columns):
            value = grid[r][c]
            x, y = (r, c) if vertical else (c, r)
            text = title.format(row=row_name, column=column_name, value=value)
            body.append(
                f'<rect x="{left + x * (cell + gap)}" y="{head + y * (height_cell + gap)}" '
                f'width="{cell}" height="{height_cell}" rx="3" fill="{shade(value, top)}" '
                f'data-value="{value}"><title>{escape(text)}</title></rect>'
            )
    # labels: every one down the side; across the top every weekday, or every third hour
    side, over = (columns, rows) if vertical else (rows, columns)
    for i, name in enumerate(side):
        y = head + i * (height_cell + gap) + height_cell * 0.7
        body.append(_text(left - 6, y, name, "end"))
    for i, name in enumerate(over):
        if vertical or i % 3 == 0:
            x = left + i * (cell + gap) + cell / 2
            body.append(_text(x, head - 6, name))
    width = left + across * (cell + gap)
    height = head + down * (height_cell + gap)
    return _svg(width, height, label, body, "heatmap vertical" if vertical else "heatmap")


def bars(
    points: Sequence[tuple[str, int]], label: str, title: str, width: int = 720, height: int = 180
) -> Markup:
    """One bar per point (label, value), a labelled axis top, the first, middle and last
    labels under the bars; ``title``: a format string of ``label`` and ``value``. A phone
    gets its own drawing (``width`` 360): the wide one shrunk to it is too flat to read."""
    left, bottom, top_pad = 48, 24, 20
    top = nice_max(max((v for _, v in points), default=0))
    plot = height - bottom - top_pad
    slot = (width - left) / max(len(points), 1)
    base = top_pad + plot
    body = [
        f'<line x1="{left}" x2="{width}" y1="{base}" y2="{base}" stroke="#d0d5dd"/>',
        _text(left - 6, top_pad + 8, f"{top:g}", "end"),
        _text(left - 6, base, "0", "end"),
    ]
    for i, (name, value) in enumerate(points):
        h = plot * value / top
        x = left + i * slot + slot * 0.15
        body.append(
            f'<rect x="{x:.1f}" y="{top_pad + plot - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="{_rgb(BRAND)}" data-value="{value}">'
            + f"<title>{escape(title.format(label=name, value=value))}</title></rect>"
        )
    for i in sorted({0, len(points) // 2, len(points) - 1} if points else set()):
        anchor = "start" if i == 0 else "end" if i == len(points) - 1 else "middle"
        x = left + i * slot + (0 if anchor == "start" else slot if anchor == "end" else slot / 2)
        body.append(_text(x, height - 4, points[i][0], anchor))
    return _svg(width, height, label, body, "bars")


def hbars(bars: Sequence[tuple[str, float, str]], label: str) -> Markup:
    """Horizontal bars on one scale from zero, one per (label, value, the value as shown): the
    team's first response per agent, the ratings' distribution."""
    # 360 wide with 13-unit text, as the funnel's: on a 390 px phone it reads at about 12 px
    width, label_width = 360, 110
    row, bar = 30, 20
    # room after the bars for the widest value ("11 min 40 s"), so the longest bar's is whole
    value_width = max((_text_width(shown, 13) for _, _, shown in bars), default=0) + 12
    bar_length = scale(
        max((value for _, value, _ in bars), default=0), width - label_width - value_width
    )
    parts = []
    for index, (name, value, shown) in enumerate(bars):
        y = index * row + 6
        base = y + bar - 5  # the text's baseline, inside the bar's height
        length = max(bar_length(value), 2.0 if value else 0.0)
        after = label_width + length + 6
        # _short measures 12-unit text: the room (less a margin, its widths are a guess)
        # scaled to this chart's 13
        cut = _short(name, (label_width - 24) * 12 / 13)
        parts.append(
            f"<g><title>{escape(name)}: {escape(shown)}</title>"
            f'<text x="{label_width - 8}" y="{base}" text-anchor="end">{escape(cut)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}" rx="3"></rect>'
            f'<text x="{after:.1f}" y="{base}" class="value">{escape(shown)}</text>'
            "</g>"
        )
    return Markup(
        f'<svg class="chart team-chart" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {row * len(bars) + 6}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(parts)}</svg>"
    )
