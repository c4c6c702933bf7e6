"""Places where a page shows a paid module's box without importing that module: the page names
a slot (``{% for box in slot_boxes("console_home") %}{% include box %}{% endfor %}``), a module
fills it with a template of its own, shown only while the shop has the module's feature. The
same for a count beside a navigation entry (``nav_count(endpoint)``).

Slots: ``console_home`` (the console's start page), ``customer_side`` (a customer's record,
beside the timeline; the template sees ``customer``).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask_login import current_user

from app.features import current_entitlements

_BOXES: dict[str, dict[str, str]] = {}  # slot -> {template: feature}
_COUNTS: dict[str, tuple[str, Callable[[], int]]] = {}  # endpoint -> (feature, count)


def add_box(slot: str, feature: str, template: str) -> None:
    _BOXES.setdefault(slot, {})[template] = feature


def add_count(endpoint: str, feature: str, count: Callable[[], int]) -> None:
    """``count()`` runs on each console page, for the signed-in member: keep it one query."""
    _COUNTS[endpoint] = (feature, count)


def _on(feature: str) -> bool:
    rights = current_entitlements()
    return bool(rights and rights.has(feature))


def slot_boxes(slot: str) -> list[str]:
    return [template for template, feature in _BOXES.get(slot, {}).items() if _on(feature)]


def nav_count(endpoint: str) -> int | None:
    """None: no count for this entry (none registered, or its feature is off)."""
    feature, count = _COUNTS.get(endpoint, (None, None))
    if count is None or not current_user.is_authenticated or not _on(feature):
        return None
    return count()


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(slot_boxes=slot_boxes, nav_count=nav_count)
