"""Server-drawn SVG charts: no script, a few hundred bytes, scaled by their viewBox so they fit
a 390 px phone as well as a wide screen. Each returns ``Markup`` of an accessible
``<svg role="img">`` whose bars carry their value as a ``<title>``."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH = 600
LABEL = 150  # the left column for the labels
ROW = 30
BAR = 18


def hbars(bars: list[tuple[str, float, str]], label: str) -> Markup:
    """Horizontal bars, one per ``(label, value, value as shown)``, on one scale from zero."""
    top = max((value for _, value, _ in bars), default=0) or 1
    room = WIDTH - LABEL - 90  # the shown value sits after the longest bar
    height = ROW * len(bars) + 6
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(label)}</title>",
    ]
    for n, (name, value, shown) in enumerate(bars):
        y = n * ROW + 6
        base = y + BAR - 4  # the text's baseline, inside the bar's height
        width = max(value / top * room, 2 if value else 0)
        parts.append(
            f"<g><title>{escape(name)}: {escape(shown)}</title>"
            f'<text x="{LABEL - 8}" y="{base}" text-anchor="end">{escape(_clip(name))}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{width:.1f}" height="{BAR}" rx="3"></rect>'
            f'<text x="{LABEL + width + 6:.1f}" y="{base}" class="value">{escape(shown)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _clip(name: str, most: int = 16) -> str:
    return name if len(name) <= most else name[: most - 1] + "…"
