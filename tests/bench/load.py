"""Client side of the chat benchmark: python-socketio's asyncio client over websocket.

The visitors (thousands of idle sockets, a few hundred senders) live in the load-generator
process; the agent lives in a process of its own (``agent_main``) so that the visitor→agent
latency it measures is not inflated by the generator's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
import socketio

VISITOR, AGENT = "/visitor", "/agent"
# A socket the server drops is counted (Visitors.dropped); the client's own log line for each
# ("packet queue is empty, aborting") would only bury the figures.
logging.getLogger("engineio.client").setLevel(logging.CRITICAL)


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# --- visitors: tokens and sockets ------------------------------------------------------


async def hello_tokens(
    url: str, site_key: str, count: int, concurrency: int, deadline: float
) -> tuple[list[str], dict]:
    """``count`` visitor tokens from ``POST /w/api/hello`` (one page view each)."""
    tokens: list[str] = []
    errors: Counter = Counter()
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(i: int, gate: asyncio.Semaphore) -> None:
            async with gate:
                if time.monotonic() > deadline:
                    errors["deadline"] += 1
                    return
                body = {
                    "k": site_key,
                    "url": f"https://shop.example/p/{i}",
                    "title": "Bench",
                    "lang": "en",
                }
                try:
                    async with http.post(
                        f"{url}/w/api/hello", json=body, timeout=aiohttp.ClientTimeout(total=30)
                    ) as response:
                        try:
                            answer = await response.json(content_type=None)
                        except ValueError:
                            answer = {"error": "not JSON"}
                        if response.status == 200 and "t" in answer:
                            tokens.append(answer["t"])
                        else:
                            errors[f"{response.status} {answer.get('error')}"] += 1
                except Exception as error:  # noqa: BLE001  (counted, the run goes on)
                    errors[type(error).__name__] += 1

        await asyncio.gather(*(one(i, gate) for i in range(count)))
    seconds = time.monotonic() - started
    return tokens, {
        "requested": count,
        "ok": len(tokens),
        "seconds": round(seconds, 2),
        "per_second": round(len(tokens) / seconds, 1) if seconds else None,
        "errors": dict(errors),
    }


@dataclass
class Visitors:
    """The visitor sockets of one run, sharing one aiohttp session (no per-socket pool)."""

    url: str
    site_key: str
    http: aiohttp.ClientSession
    clients: list[socketio.AsyncClient] = field(default_factory=list)
    dropped: int = 0
    errors: Counter = field(default_factory=Counter)

    def connected(self) -> int:
        return sum(1 for c in self.clients if VISITOR in c.namespaces and c.connected)

    async def connect(self, tokens: list[str], concurrency: int, deadline: float) -> dict:
        gate = asyncio.Semaphore(concurrency)
        started = time.monotonic()
        auth_key = self.site_key

        async def one(token: str) -> None:
            async with gate:
                if time.monotonic() > deadline:
                    self.errors["ramp deadline"] += 1
                    return
                client = socketio.AsyncClient(
                    reconnection=False, http_session=self.http, handle_sigint=False
                )

                def on_disconnect(*_reason) -> None:
                    self.dropped += 1

                client.on("disconnect", on_disconnect, namespace=VISITOR)
                client.bench_token = token
                try:
                    await asyncio.wait_for(
                        client.connect(
                            self.url,
                            namespaces=[VISITOR],
                            auth={"k": auth_key, "t": token},
                            transports=["websocket"],
                            wait_timeout=30,
                        ),
                        45,  # a server at its connection cap accepts and then never answers
                    )
                    self.clients.append(client)
                except Exception as error:  # noqa: BLE001  (counted, the ramp goes on)
                    self.errors[f"{type(error).__name__}: {str(error)[:80]}"] += 1
                    await _quietly(client.disconnect())

        await asyncio.gather(*(one(t) for t in tokens))
        seconds = time.monotonic() - started
        return {
            "attempted": len(tokens),
            "connected": len(self.clients),
            "seconds": round(seconds, 2),
            "per_second": round(len(self.clients) / seconds, 1) if seconds else None,
            "errors": dict(self.errors),
        }

    async def disconnect_all(self, concurrency: int = 200, timeout: float = 60) -> None:
        gate = asyncio.Semaphore(concurrency)
        self.dropped_before_close = self.dropped

        async def one(client: socketio.AsyncClient) -> None:
            async with gate:
                await _quietly(client.disconnect())

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(one(c) for c in self.clients)), timeout)


async def _quietly(awaitable) -> None:
    with contextlib.suppress(Exception):  # closing down: nothing to report
        await asyncio.wait_for(awaitable, 10)


# --- inbound messages ------------------------------------------------------------------


async def warm_up(senders: list[socketio.AsyncClient], timeout: float = 60) -> int:
    """One message per sender before the clock starts: its conversation is opened (and queued
    or assigned) here, not inside the measured window."""

    async def one(i: int, client: socketio.AsyncClient) -> bool:
        try:
            ack = await client.call(
                "message",
                {"client_id": f"warm-{i}", "text": f"warm {i}"},
                namespace=VISITOR,
                timeout=timeout,
            )
            return isinstance(ack, dict) and "message" in ack
        except Exception:  # noqa: BLE001
            return False

    done = await asyncio.gather(*(one(i, c) for i, c in enumerate(senders)))
    return sum(done)


async def send_messages(
    senders: list[socketio.AsyncClient],
    rate: float,
    duration: float,
    ack_timeout: float,
    max_in_flight: int,
    tag: str = "b",
) -> dict:
    """Open loop: message k is due at start + k/rate whatever the server's pace, round-robin
    over the senders, each with a client_id unique in the run (``tag`` tells runs apart: a
    client_id seen before would be acked as a retry and not stored again) and its send time in
    the text. A message
    due while ``max_in_flight`` are unacknowledged is not sent (counted): an overloaded server
    then works at its own pace with a bounded queue, and its throughput is its capacity."""
    acks: list[float] = []  # ack latencies (s)
    ack_at: list[float] = []  # wall-clock time of each ack
    errors: Counter = Counter()
    in_flight = 0
    skipped = 0
    tasks: set[asyncio.Task] = set()

    async def one(client: socketio.AsyncClient, client_id: str) -> None:
        nonlocal in_flight
        sent = time.time()
        try:
            ack = await client.call(
                "message",
                {"client_id": client_id, "text": f"bench {client_id} {sent:.6f}"},
                namespace=VISITOR,
                timeout=ack_timeout,
            )
        except socketio.exceptions.TimeoutError:
            errors["ack timeout"] += 1
            return
        except Exception as error:  # noqa: BLE001
            errors[type(error).__name__] += 1
            return
        finally:
            in_flight -= 1
        now = time.time()
        if isinstance(ack, dict) and isinstance(ack.get("message"), dict):
            acks.append(now - sent)
            ack_at.append(now)
        else:
            errors[str(ack.get("error") if isinstance(ack, dict) else ack)] += 1

    lags: list[float] = []  # how late this process's event loop wakes up (its own delay)

    async def watch_loop() -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - before - 0.01)

    watcher = asyncio.create_task(watch_loop())
    start = time.time()
    total = int(rate * duration)
    k = 0
    while k < total:
        due = min(total, int((time.time() - start) * rate) + 1)
        while k < due:
            client = senders[k % len(senders)]
            if in_flight >= max_in_flight or not client.connected:
                skipped += 1
            else:
                in_flight += 1
                task = asyncio.create_task(one(client, f"{tag}{k % len(senders)}-{k}"))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            k += 1
        await asyncio.sleep(0.002)
    sent_for = time.time() - start
    if tasks:
        await asyncio.wait(set(tasks), timeout=ack_timeout + 5)
    watcher.cancel()
    last = max(ack_at) if ack_at else time.time()
    return {
        "start": start,
        "planned": total,
        "sent": total - skipped,
        "skipped_in_flight_cap": skipped,
        "sending_seconds": round(sent_for, 2),
        "acked": len(acks),
        "ack_rate": round(len(acks) / max(1e-9, last - start), 1),
        "acked_in_window": sum(1 for t in ack_at if t <= start + duration),
        "ack_p50_ms": _ms(percentile(acks, 50)),
        "ack_p99_ms": _ms(percentile(acks, 99)),
        "ack_max_ms": _ms(max(acks) if acks else None),
        "errors": dict(errors),
        "generator_lag_p99_ms": _ms(percentile(lags, 99)),
        "generator_lag_max_ms": _ms(max(lags) if lags else None),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


# --- the agent, in a process of its own -----------------------------------------------


def agent_main(url: str, cookie: str | None, set_online: bool, conn) -> None:
    """Connect to ``/agent`` (with the signed-in owner's cookie), tell the parent it is ready,
    and record every bench message, and when each call's ``call`` event first came with each
    status (tests/bench/calls_load.py), until told to stop."""
    asyncio.run(_agent(url, cookie, set_online, conn))


async def _agent(url: str, cookie: str | None, set_online: bool, conn) -> None:
    latency: dict[str, float] = {}
    arrived: dict[str, float] = {}
    events: Counter = Counter()
    calls: dict[str, float] = {}  # "<call_ref> <status>" -> first arrival
    client = socketio.AsyncClient(reconnection=False, handle_sigint=False)

    def on_message(data) -> None:
        now = time.time()
        events["message"] += 1
        text = data.get("text") if isinstance(data, dict) else None
        if isinstance(text, str) and text.startswith("bench "):
            _, client_id, sent = text.split(" ", 2)
            if client_id not in latency:
                latency[client_id] = now - float(sent)
                arrived[client_id] = now

    def on_call(data) -> None:
        now = time.time()
        events["call"] += 1
        if isinstance(data, dict):
            calls.setdefault(f"{data.get('call_ref')} {data.get('status')}", now)

    def count(name: str):
        def handler(*_args) -> None:
            events[name] += 1

        return handler

    client.on("message", on_message, namespace=AGENT)
    client.on("call", on_call, namespace=AGENT)
    for name in ("preview", "visitor", "conversation", "snapshot", "agent", "error"):
        client.on(name, count(name), namespace=AGENT)
    client.on("disconnect", count("disconnect"), namespace=AGENT)
    try:
        await client.connect(
            url,
            namespaces=[AGENT],
            headers={"Cookie": cookie} if cookie else {},
            transports=["websocket"],
            wait_timeout=30,
        )
        if set_online:
            status = await client.call("status", {"status": "online"}, namespace=AGENT, timeout=30)
            if status != {"status": "online"}:
                raise RuntimeError(f"agent status: {status}")
    except Exception as error:  # noqa: BLE001
        conn.send(("failed", f"{type(error).__name__}: {error}"))
        return
    conn.send(("ready", None))
    loop = asyncio.get_running_loop()
    cpu_before = cpu_self()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command in ("collect", "stop"):  # what arrived since the last reset, then reset
            conn.send(
                (
                    "result",
                    {
                        "latency": dict(latency),
                        "arrived": dict(arrived),
                        "calls": dict(calls),
                        "events": dict(events),
                        "cpu_seconds": cpu_self() - cpu_before,
                        "connected": client.connected,
                    },
                )
            )
        if command == "stop":
            break
        latency.clear()
        arrived.clear()
        calls.clear()
        events.clear()
        cpu_before = cpu_self()
        if command == "reset":
            conn.send(("ok", None))
    await _quietly(client.disconnect())
