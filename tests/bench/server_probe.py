"""Run a benchmark server under a probe that records, as JSON lines in $BENCH_PROBE_LOG, what
stops its event loop: every collector pass of 20 ms or more (``gc.callbacks``: generation,
duration, objects collected, the generations' counts), every time a green thread that sleeps
10 ms wakes 50 ms or more late (a stall, whatever its cause), and once a second the collector's
running totals. chat_load.py lines them up with the messages that arrived late.

Each duration comes with the CPU time the process used meanwhile (``cpu_ms``): on a machine
shared with other work, a 500 ms stall with 5 ms of CPU is the process waiting for a core,
one with 450 ms of CPU is its own work holding the loop.

    python tests/bench/server_probe.py wsgi.py            # Huike (any checkout: cwd)
    python tests/bench/server_probe.py -m tests.bench.bare_relay

``kill -USR1`` writes a census: the frozen objects handed back and one full collection, what
it found (the cyclic garbage that a freeze held), and how long it took. ``kill -USR2`` runs a
full collection as the collector would (its callbacks see it).

The probe imports nothing of the app, so it runs the server of another checkout unchanged.
"""

from __future__ import annotations

import gc
import json
import os
import runpy
import signal
import sys
import time
from collections import Counter

SLOW_GC_MS = 20
STALL_MS = 50
TICK = 0.01  # the watcher's sleep


def main(argv: list[str]) -> None:
    log = open(os.environ["BENCH_PROBE_LOG"], "a", buffering=1)  # noqa: SIM115 (process-long)
    spawn, sleep = _green()
    totals = {"gc_ms": [0.0, 0.0, 0.0], "gc_cpu_ms": [0.0, 0.0, 0.0], "gc_n": [0, 0, 0]}
    started: dict = {}

    def write(record: dict) -> None:
        log.write(json.dumps(record) + "\n")

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started["at"], started["wall"] = time.perf_counter(), time.time()
            started["cpu"] = time.process_time()
            started["counts"] = gc.get_count()
            return
        ms = 1000 * (time.perf_counter() - started["at"])
        cpu_ms = 1000 * (time.process_time() - started["cpu"])
        generation = info["generation"]
        totals["gc_ms"][generation] += ms
        totals["gc_cpu_ms"][generation] += cpu_ms
        totals["gc_n"][generation] += 1
        if ms >= SLOW_GC_MS or cpu_ms >= SLOW_GC_MS:
            write(
                {
                    "kind": "gc",
                    "t": started["wall"],
                    "ms": round(ms, 1),
                    "cpu_ms": round(cpu_ms, 1),
                    "gen": generation,
                    "collected": info["collected"],
                    "counts_before": started["counts"],
                }
            )

    def watch() -> None:
        last_tick = time.monotonic()
        while True:
            before, cpu_before = time.monotonic(), time.process_time()
            sleep(TICK)
            now = time.monotonic()
            late_ms = 1000 * (now - before - TICK)
            if late_ms >= STALL_MS:
                cpu_ms = 1000 * (time.process_time() - cpu_before)
                write(
                    {
                        "kind": "stall",
                        "t": time.time() - (now - before),
                        "ms": round(late_ms, 1),
                        "cpu_ms": round(cpu_ms, 1),
                    }
                )
            if now - last_tick >= 1:
                last_tick = now
                write(
                    {
                        "kind": "tick",
                        "t": time.time(),
                        "gc_ms": [round(x, 1) for x in totals["gc_ms"]],
                        "gc_cpu_ms": [round(x, 1) for x in totals["gc_cpu_ms"]],
                        "gc_n": list(totals["gc_n"]),
                        "frozen": gc.get_freeze_count(),
                        "threshold": gc.get_threshold(),
                    }
                )

    def census(*_signal) -> None:
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        cpu = time.process_time()
        gc.set_debug(gc.DEBUG_SAVEALL)  # keep what it finds, to name it
        collected = gc.collect()
        gc.set_debug(0)
        kinds = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
        gc.garbage.clear()
        write(
            {
                "kind": "census",
                "t": time.time(),
                "frozen": frozen,
                "collected": collected,
                "kinds": dict(kinds.most_common(25)),
                "cpu_ms": round(1000 * (time.process_time() - cpu), 1),
            }
        )

    gc.callbacks.append(on_gc)
    signal.signal(signal.SIGUSR1, census)
    signal.signal(signal.SIGUSR2, lambda *_: gc.collect())
    spawn(watch)
    sys.path.insert(0, os.getcwd())  # as `python -m` and `python wsgi.py` from there would
    if argv[:1] == ["-m"]:
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(argv)
        runpy.run_path(argv[0], run_name="__main__")


def _green():
    """The server's own green threads (it would patch the same way a moment later)."""
    if os.environ.get("ASYNC_MODE", "eventlet") == "gevent":
        from gevent import monkey

        monkey.patch_all()
        import gevent

        return gevent.spawn, gevent.sleep
    import eventlet

    eventlet.monkey_patch()
    return eventlet.spawn, eventlet.sleep


if __name__ == "__main__":
    main(sys.argv[1:])
