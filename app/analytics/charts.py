"""Charts drawn on the server as SVG: no script to load, readable by screen readers (role="img",
an aria-label, a <title> on every mark), and sized by their viewBox so they shrink to a phone.
Each report adds its chart here; they share the scale and the text escaping."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from markupsafe import Markup, escape

# One colour per series, the console's blues from light to dark: the funnel narrows.
SERIES_COLOURS = ("#b2ccff", "#528bff", "#155eef")


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
    # 360 wide: on a 390 px phone the text stays near its size, on a desktop the CSS caps it
    width, label_width, value_width = 360, 112, 30
    bar, gap, group_gap, legend = 7, 3, 10, 26
    bar_length = scale(
        max((max(r[1:]) for r in rows), default=0), width - label_width - value_width
    )
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
    return Markup(
        f'<svg class="chart funnel-chart" role="img" aria-label="{escape(summary)}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(summary)}</title>{''.join(parts)}</svg>"
    )


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
