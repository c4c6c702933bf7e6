"""The cycle collector, set for a worker that holds thousands of sockets (docs/BENCHMARKS.md,
"Collector pauses").

A socket's objects live as long as the socket, and CPython's full collection walks every one
of them: at 5,000 sockets a pass of 0.1-0.6 s of CPU in which the worker answers nobody, and
young passes grow with the threshold (50,000 allocations: 50-170 ms each while sockets
connect). Measured with tests/bench/server_probe.py, full passes over the sockets' heap
collect almost nothing (0-26 objects at 2,700 sockets): what survives one is long-lived.
So each full pass ends by freezing its survivors (``gc.freeze``: out of every later pass's
sight, still freed by reference counting), and the next full pass walks only what was
promoted since. Cyclic garbage among frozen objects would stay; ``unfreeze_every`` seconds
the frozen set is handed back once, so such garbage is reclaimed after all.
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
    frozen_at = [time.monotonic()]

    def freeze_survivors(phase: str, info: dict) -> None:
        if phase != "stop" or info["generation"] != 2:
            return
        now = time.monotonic()
        if now - frozen_at[0] > unfreeze_every:
            # The next full pass walks the whole heap once and reclaims any cycle that died
            # while frozen; it freezes the survivors again.
            frozen_at[0] = now
            gc.unfreeze()
        else:
            gc.freeze()

    gc.callbacks.append(freeze_survivors)
