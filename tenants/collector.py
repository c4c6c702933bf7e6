"""The cycle collector, set for a worker that holds thousands of sockets (docs/BENCHMARKS.md,
"Collector pauses").

A socket's objects live as long as the socket, and CPython's full pass walks every one of
them: at 5,000 sockets 0.1-0.6 s of CPU in which the worker answers nobody. Measured with
tests/bench/server_probe.py: young passes at a threshold of 50,000 allocations took 40-190 ms
of CPU each (hence 10,000), and a middle pass was left pending over the connect ramp's
survivors. Full passes over live sockets find almost nothing (0-26 objects at 2,700 sockets),
so each full pass ends by freezing its survivors (``gc.freeze``: out of every later pass's
sight, still freed by reference counting) and the next one walks only what came since.

The price: a socket that was frozen and then disconnects leaves a cycle (eventlet's
connection objects held by a traceback's frames, ~34 objects and ~11 KiB of RSS) that no pass
sees. Every ``unfreeze_every`` seconds the frozen set is handed back, so the next full pass
walks the whole heap once and reclaims them: one such pass per ten minutes, where there was
one each time the heap grew by a quarter (every few seconds while sockets connect).
"""

from __future__ import annotations

import gc
import time

YOUNG = 10_000  # allocations between young passes (CPython: 700)
PROMOTE = 10  # young passes per middle pass; middle passes per full pass (CPython's)
UNFREEZE_EVERY = 600.0  # seconds: what a freeze holds is bounded (docs/BENCHMARKS.md)


def tune(unfreeze_every: float = UNFREEZE_EVERY) -> None:
    """Call once the process has loaded everything it keeps for good (app, mappers)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, PROMOTE, PROMOTE)
    gc.callbacks.append(freezer(unfreeze_every))


def freezer(unfreeze_every: float):
    """The ``gc.callbacks`` entry: after a full pass, freeze its survivors, or, once
    ``unfreeze_every`` seconds have passed, hand every frozen object back instead."""
    frozen_at = time.monotonic()

    def freeze_survivors(phase: str, info: dict) -> None:
        nonlocal frozen_at
        if phase != "stop" or info["generation"] != 2:
            return
        now = time.monotonic()
        if now - frozen_at >= unfreeze_every:
            # The next full pass walks the whole heap once and reclaims any cycle that died
            # while frozen; it freezes the survivors again.
            frozen_at = now
            gc.unfreeze()
        else:
            gc.freeze()

    return freeze_survivors
