"""What stalled a server during a stretch of the chat benchmark, from the lines
tests/bench/server_probe.py wrote, and which late messages those stalls explain."""

from __future__ import annotations

import json
from pathlib import Path

LATE_MS = 100  # a message later than the p99 goal


OWN_MS = 50  # CPU time in one stall past which it is the process's own work


def own_work(record: dict) -> bool:
    """A stall in which the process itself ran 50 ms or more (it would stall an idle machine
    too). Otherwise it mostly waited for a core that other processes held (this machine is
    shared): its wall-clock length says how busy the machine was, not what the server did."""
    return record.get("cpu_ms", record["ms"]) >= OWN_MS


def read(path: Path) -> list[dict]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a line cut by the server's end
    return records


def summary(records: list[dict], start: float, end: float, seen: dict | None = None) -> dict:
    """Collector pauses and stalls between ``start`` and ``end`` (wall clock); with the agent's
    ``seen`` (latency and arrival per message), how many late messages overlapped either."""
    window = [r for r in records if start <= r["t"] <= end]
    pauses = [r for r in window if r["kind"] == "gc"]
    stalls = [r for r in window if r["kind"] == "stall"]
    ticks = [r for r in records if r["kind"] == "tick"]
    before = [r for r in ticks if r["t"] <= start]
    after = [r for r in ticks if r["t"] <= end]
    figures: dict = {
        "gc_pauses": {
            str(gen): {
                "n": len(of),
                "max_ms": max(r["ms"] for r in of),
                "total_ms": round(sum(r["ms"] for r in of)),
                "max_cpu_ms": max(r.get("cpu_ms", r["ms"]) for r in of),
            }
            for gen in (0, 1, 2)
            if (of := [r for r in pauses if r["gen"] == gen])
        },
        "stalls": {
            "n": len(stalls),
            "max_ms": max((r["ms"] for r in stalls), default=0),
            "total_ms": round(sum(r["ms"] for r in stalls)),
            "own_work": len([r for r in stalls if own_work(r)]),
            "max_own_ms": max((r["ms"] for r in stalls if own_work(r)), default=0),
            "max_cpu_ms": max((r.get("cpu_ms", r["ms"]) for r in stalls), default=0),
        },
        "worst": sorted(pauses + stalls, key=lambda r: -r["ms"])[:6],
    }
    if before and after:
        spent = [b - a for a, b in zip(before[-1]["gc_ms"], after[-1]["gc_ms"], strict=True)]
        runs = [b - a for a, b in zip(before[-1]["gc_n"], after[-1]["gc_n"], strict=True)]
        figures["gc_ms_by_gen"] = [round(x) for x in spent]
        if "gc_cpu_ms" in before[-1]:
            cpu = zip(before[-1]["gc_cpu_ms"], after[-1]["gc_cpu_ms"], strict=True)
            figures["gc_cpu_ms_by_gen"] = [round(b - a) for a, b in cpu]
        figures["gc_runs_by_gen"] = runs
        figures["gc_share_pct"] = round(100 * sum(spent) / 1000 / max(1e-9, end - start), 1)
    if seen:
        figures["late"] = _late(seen, pauses, stalls)
    return figures


def _late(seen: dict, pauses: list[dict], stalls: list[dict]) -> dict:
    """Late messages, and how many were in flight while the server was in a collector pause
    of 20 ms or more, or in a stall of 50 ms or more."""

    def spans(records: list[dict]) -> list[tuple[float, float]]:
        return [(r["t"], r["t"] + r["ms"] / 1000) for r in records]

    gc_spans, stall_spans = spans(pauses), spans([r for r in stalls if own_work(r)])
    starved_spans = spans([r for r in stalls if not own_work(r)])
    late = by_gc = by_stall = by_starving = 0
    for client_id, latency in seen["latency"].items():
        if 1000 * latency <= LATE_MS:
            continue
        late += 1
        arrived = seen["arrived"][client_id]
        sent = arrived - latency
        if any(a < arrived and b > sent for a, b in gc_spans):
            by_gc += 1
        if any(a < arrived and b > sent for a, b in stall_spans):
            by_stall += 1
        if any(a < arrived and b > sent for a, b in starved_spans):
            by_starving += 1
    return {
        "over_ms": LATE_MS,
        "n": late,
        "during_gc_pause": by_gc,
        "during_own_stall": by_stall,
        "during_starved_stall": by_starving,
    }


def text(figures: dict) -> str:
    """One line for the report."""
    pauses = ", ".join(
        f"gen {gen}: {p['n']}× (max {p['max_ms']} ms, of CPU {p['max_cpu_ms']} ms; "
        f"{p['total_ms']} ms in all)"
        for gen, p in figures["gc_pauses"].items()
    )
    stalls = figures["stalls"]
    bits = [
        f"collector pauses ≥ 20 ms: {pauses or 'none'}",
        f"event-loop stalls ≥ 50 ms: {stalls['n']} (max {stalls['max_ms']} ms), "
        f"{stalls['own_work']} with ≥ {OWN_MS} ms of its own CPU (max {stalls['max_own_ms']} ms "
        "wall), the others mostly waiting for a core",
    ]
    if "gc_share_pct" in figures:
        bits.append(
            f"collector time {figures['gc_share_pct']} % of the wall clock "
            f"(runs by generation {figures['gc_runs_by_gen']})"
        )
    late = figures.get("late")
    if late:
        bits.append(
            f"{late['n']} messages over {late['over_ms']} ms, of which {late['during_gc_pause']} "
            f"overlapped a collector pause, {late['during_own_stall']} a stall of its own work, "
            f"{late['during_starved_stall']} a wait for a core"
        )
    return "; ".join(bits)
