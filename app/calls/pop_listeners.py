"""The screen pop hears the calls module's own events: a call rings, is taken, is over."""

from __future__ import annotations

from app.calls import pop
from app.calls.signals import call_answered, call_ended, call_ringing


@call_ringing.connect
def _on_ringing(call, **_) -> None:
    pop.announce(call, ringing=True)


@call_answered.connect
def _on_answered(call, **_) -> None:
    pop.announce(call)


@call_ended.connect
def _on_ended(call, **_) -> None:
    pop.announce(call)
