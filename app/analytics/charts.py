"""Server-drawn SVG charts: no script, a few hundred bytes, scaled by their viewBox so they fit
a 390 px phone as well as a wide screen. Each returns ``Markup`` of an accessible
``<svg role="img">`` whose bars carry their value as a ``<title>``."""

from __future__ import annotations

from markupsafe import Markup, escape

# Narrow on purpose: a 390 px phone shows it at about 330 px, so its 14-unit text stays
# readable there (about 11 px) and is about 16 px in a wide screen's half-width card.
WIDTH = 420
LABEL = 120  # the left column for the labels
ROW = 30
BAR = 20


def hbars(bars: list[tuple[str, float, str]], label: str) -> Markup:
    """Horizontal bars, one per ``(label, value, value as shown)``, on one scale from zero."""
    top = max((value for _, value, _ in bars), default=0) or 1
    room = WIDTH - LABEL - 70  # the shown value sits after the longest bar
    height = ROW * len(bars) + 6
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(label)}</title>",
    ]
    for n, (name, value, shown) in enumerate(bars):
        y = n * ROW + 6
        base = y + BAR - 5  # the text's baseline, inside the bar's height
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


def _clip(name: str, room: float = LABEL - 12, size: float = 14) -> str:
    """The label cut to fit ``room`` units: a CJK character is about one em wide, others
    about 0.6 em (a guess, as the server cannot measure the font)."""
    width, kept = 0.0, []
    for char in name:
        width += size if ord(char) > 0x2E7F else size * 0.6
        if width > room:
            return "".join(kept[:-1]) + "…"
        kept.append(char)
    return name
