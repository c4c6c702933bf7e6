"""Calls under load: screen pop latency at the agent's client and the call records that 50
concurrent calls' duplicated, shuffled event sequences leave, on PostgreSQL with 100,000
customers in the shop (1,000,000 across shops) and Redis as the deploy uses it.

    python -m tests.bench.calls_load                  # the full size (~6 minutes, ~1.3 GB of disk)
    python -m tests.bench.calls_load --quick          # 10,000 customers in 3 shops (~1 minute)
    python -m tests.bench.calls_load --write-docs     # and rewrite its block in docs/BENCHMARKS.md

A fresh database is migrated as the app does it (``flask huike init``). A real server process
(``python wsgi.py``, eventlet, under tests/bench/server_probe.py) with ``REDIS_URL`` — Socket.IO
between processes and the jobs through Redis — and, as docs/deploy.md runs them, a job worker
(``flask huike jobs``) and the clock (``flask huike clock``). Shops are signed up through the
real signup form; their customers (with phones, e-mails, tags, orders and timeline) are loaded
with COPY by crm_load's generator. The measured shop gets a generic call connection (signed)
and a number; its owner is the agent: signed in, status online, listening on ``/agent`` for
``call`` in a process of its own (tests/bench/load.py).

Each call is a customer's number phoning the shop: ringing, answered or not, ended with a cause
and a duration, each event posted one to three times (a provider's retries), half of the calls
in order and half shuffled (ringing not always first), each event signed with
``app.calls.hooks.sign`` when sent. ``--calls`` calls start together; each call's posts go out
with random gaps of up to ``--gaps`` ms (1000: a call's life squeezed into a few seconds; 100:
a stress, its events all but at once), none waiting for another's answer (aiohttp). Screen pop
latency: from just before the ringing POST the server recorded (not a duplicate) is sent to the
agent's ``call`` event with that ``call_ref`` and status ringing. A call whose answered or ended
event was recorded before its ringing does not pop (the server's rule): those are counted
apart. Then a closed loop of ``--throughput-calls`` calls over ``--concurrency`` connections
measures the webhook's throughput. Every sequence must end in exactly one call record with the
expected status, times, duration, cause, numbers, customer and agent: the database is read back
(as the app's role, the shop bound) and every difference is a failure.

Only 127.0.0.1 is contacted; the database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import random
import re
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.bench import crm_load, harness, stalls
from tests.bench.chat_load import Agent

DOCS = harness.ROOT / "docs" / "BENCHMARKS.md"
MARK = "<!-- calls_load:postgresql:{edge} -->"
SECTION = "## Calls"
GOAL_P95_MS = 300
SHOP_NUMBER = "+862160000000"  # the shop's hotline, as the PBX reports it
OUTCOMES = (("answered", 60), ("missed", 30), ("busy", 10))
MISSED_CAUSES = ("noAnswer", "cancel")
POP_WAIT_S = 5.0  # after a round's last answer, how long a pop still counts as coming


def _say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


def _ms_precision(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# --- the calls ----------------------------------------------------------------------------


@dataclass
class Sequence:
    """One call: its events as the PBX sends them, the order (with copies) they are posted in,
    and — once its first post went out — the record it must leave."""

    ref: str
    outcome: str  # OUTCOMES
    e164: str
    sent_from: str  # the caller's number as the PBX writes it (E.164 or national)
    customer_id: int
    agent_email: str
    agent_id: int
    ring_s: float
    talk_s: int  # whole seconds: with no duration sent, the server counts answered → ended
    cause: str
    send_duration: bool
    recording: bool
    order: list[str]  # event names, copies included, in posting order
    in_order: bool
    ended_at: dt.datetime | None = None  # set when the first post goes out
    posts: list[Post] = field(default_factory=list)

    def times(self) -> dict[str, dt.datetime]:
        ended = self.ended_at
        answered = ended - dt.timedelta(seconds=self.talk_s) if self.outcome == "answered" else None
        rung_until = answered or ended
        ringing = _ms_precision(rung_until - dt.timedelta(seconds=self.ring_s))
        return {"ringing": ringing, "answered": answered, "ended": ended}

    def payload(self, event: str) -> dict:
        if self.ended_at is None:
            # The call ended just now: its ringing under a minute ago, so the clock's sweep of
            # calls ringing for 60 s never takes one whose end event is still on its way.
            self.ended_at = _ms_precision(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        data = {
            "event": event,
            "call_id": self.ref,
            "from": self.sent_from,
            "to": SHOP_NUMBER,
            "direction": "in",
            "timestamp": self.times()[event].isoformat(timespec="milliseconds"),
        }
        if event == "answered":
            data["agent"] = self.agent_email
        if event == "ended":
            data["cause"] = self.cause
            if self.send_duration:
                data["duration"] = self.talk_s if self.outcome == "answered" else 0
            if self.recording:
                data["recording_url"] = f"https://pbx.example.com/recordings/{self.ref}.wav"
        return data

    def expected(self) -> dict:
        times = self.times()
        answered = self.outcome == "answered"
        return {
            "status": {"answered": "ended", "missed": "missed", "busy": "busy"}[self.outcome],
            "direction": "in",
            "from_number": self.e164,
            "to_number": SHOP_NUMBER,
            "customer_number": self.e164,
            "customer_id": self.customer_id,
            "agent_id": self.agent_id if answered else None,
            "started_at": times["ringing"],
            "answered_at": times["answered"],
            "ended_at": times["ended"],
            "duration": self.talk_s if answered else (0 if self.send_duration else None),
            "cause": self.cause,
            "recording_url": f"https://pbx.example.com/recordings/{self.ref}.wav"
            if self.recording
            else "",
            "events_stored": 3 if answered else 2,
        }


@dataclass
class Post:
    ref: str
    event: str
    sent: float  # wall clock, just before the request went out
    done: float = 0.0
    status: int = 0
    answer: dict = field(default_factory=dict)
    error: str = ""

    @property
    def recorded(self) -> bool:
        return self.status == 200 and not self.answer.get("duplicate")


def make_sequences(
    rng: random.Random,
    phones: list[tuple[str, int]],
    prefix: str,
    agent: tuple[str, int],
    args: argparse.Namespace,
) -> list[Sequence]:
    """One call per (E.164, customer id) of ``phones``."""
    sequences = []
    for index, (e164, customer_id) in enumerate(phones):
        outcome = rng.choices([o for o, _ in OUTCOMES], weights=[w for _, w in OUTCOMES])[0]
        events = ["ringing", "answered", "ended"] if outcome == "answered" else ["ringing", "ended"]
        copies = [rng.choice(args.copies) for _ in events]
        in_order = rng.random() < args.in_order
        if in_order:  # each event's first copy in its place, the retries anywhere after it
            order = list(events)
            for event, n in zip(events, copies, strict=True):
                for _ in range(n - 1):
                    first = order.index(event)
                    order.insert(rng.randint(first + 1, len(order)), event)
        else:
            order = [e for e, n in zip(events, copies, strict=True) for _ in range(n)]
            rng.shuffle(order)
        national = e164.startswith("+86") and rng.random() < 0.5
        sequences.append(
            Sequence(
                ref=f"{prefix}-{index:05d}-{secrets.token_hex(4)}",
                outcome=outcome,
                e164=e164,
                sent_from=e164[3:] if national else e164,
                customer_id=customer_id,
                agent_email=agent[0],
                agent_id=agent[1],
                ring_s=round(rng.uniform(2, 12), 3),
                talk_s=rng.randint(3, 40),
                cause={
                    "answered": "normalClearing",
                    "missed": rng.choice(MISSED_CAUSES),
                    "busy": "busy",
                }[outcome],
                send_duration=rng.random() < 0.8,
                recording=outcome == "answered" and rng.random() < 0.5,
                order=order,
                in_order=in_order,
            )
        )
    return sequences


class Hook:
    """Posts signed events to the shop's generic call webhook."""

    def __init__(self, http: aiohttp.ClientSession, url: str, secret: str) -> None:
        from app.calls.hooks import SIGNATURE_HEADER, sign

        self.http, self.url, self.secret = http, url, secret
        self.header, self.sign = SIGNATURE_HEADER, sign

    async def post(self, sequence: Sequence, event: str) -> Post:
        body = json.dumps(sequence.payload(event)).encode()
        headers = {"Content-Type": "application/json", self.header: self.sign(self.secret, body)}
        post = Post(sequence.ref, event, time.time())
        sequence.posts.append(post)
        try:
            async with self.http.post(self.url, data=body, headers=headers) as response:
                post.status = response.status
                text = await response.text()
            post.done = time.time()
            try:
                post.answer = json.loads(text)
            except ValueError:
                post.error = text[:200]
        except (TimeoutError, aiohttp.ClientError) as error:
            post.done, post.error = time.time(), f"{type(error).__name__}: {error}"
        return post


async def burst(hook: Hook, sequences: list[Sequence], gap_ms: float, rng) -> list[Post]:
    """Every call starts now; each of its posts goes out a random 0–``gap_ms`` ms after the
    one before, without waiting for its answer."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def at(when: float, sequence: Sequence, event: str) -> Post:
        await asyncio.sleep(max(0.0, when - loop.time()))
        return await hook.post(sequence, event)

    tasks = []
    for sequence in sequences:
        when = start
        for k, event in enumerate(sequence.order):
            if k:
                when += rng.uniform(0, gap_ms) / 1000
            tasks.append(at(when, sequence, event))
    return await asyncio.gather(*tasks)


async def closed_loop(hook: Hook, sequences: list[Sequence], concurrency: int, rng) -> list[Post]:
    """Every call's posts in its own order, the calls interleaved at random, sent back to back
    over ``concurrency`` connections: the rate the webhook keeps up."""
    pending = [list(s.order) for s in sequences]
    queue: list[tuple[Sequence, str]] = []
    live = [i for i, p in enumerate(pending) if p]
    while live:
        i = rng.choice(live)
        queue.append((sequences[i], pending[i].pop(0)))
        if not pending[i]:
            live.remove(i)
    queue.reverse()
    posts: list[Post] = []

    async def worker() -> None:
        while queue:
            sequence, event = queue.pop()
            posts.append(await hook.post(sequence, event))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return posts


# --- what the agent saw --------------------------------------------------------------------------


def expected_pops(sequences: list[Sequence]) -> dict[str, Post]:
    """The calls whose ringing the server recorded first (its answer says "ringing"), with that
    ringing POST: these pop. The others had an answered or ended event recorded before."""
    popping = {}
    for sequence in sequences:
        for post in sequence.posts:
            if post.event == "ringing" and post.recorded and post.answer.get("status") == "ringing":
                popping[sequence.ref] = post
    return popping


async def wait_for_pops(agent: Agent, wanted: set[str], seen: dict[str, float], deadline: float):
    """Collect the agent's ``call`` events into ``seen`` until every wanted pop came or the
    deadline passed."""
    while True:
        got = await agent.ask("collect")
        seen.update({k: v for k, v in got["calls"].items() if k not in seen})
        if wanted <= set(seen) or time.time() > deadline:
            return got.get("connected")
        await asyncio.sleep(0.2)


def pop_figures(sequences: list[Sequence], seen: dict[str, float]) -> dict:
    popping = expected_pops(sequences)
    latency, arrivals, missing = {}, {}, []
    for ref, post in popping.items():
        arrived = seen.get(f"{ref} ringing")
        if arrived is None:
            missing.append(ref)
        else:
            latency[ref], arrivals[ref] = arrived - post.sent, arrived
    refs = {s.ref for s in sequences}
    unexpected = sorted(
        k.split(" ")[0] for k in seen if k.endswith(" ringing") and k.split(" ")[0] not in popping
    )
    by_status = Counter(k.rsplit(" ", 1)[1] for k in seen if k.split(" ")[0] in refs)
    first = Counter()
    for sequence in sequences:
        if sequence.ref not in popping:
            recorded = sorted((p for p in sequence.posts if p.recorded), key=lambda p: p.done)
            first[recorded[0].event if recorded else "nothing"] += 1
    return {
        "calls": len(sequences),
        "expected": len(popping),
        "popped": len(latency),
        "missing": len(missing),
        "missing_refs": missing[:10],
        "not_popping": len(sequences) - len(popping),
        "not_popping_first_recorded": dict(first),
        "unexpected_ringing_pops": unexpected[:10],
        "call_events_by_status": dict(by_status),
        **crm_load.percentiles([1000 * v for v in latency.values()]),
        "seen": {"latency": latency, "arrived": arrivals},  # as stalls.summary reads them
    }


def post_figures(posts: list[Post]) -> dict:
    ok = [p for p in posts if p.status == 200]
    started = min((p.sent for p in posts), default=0.0)
    ended = max((p.done for p in posts), default=0.0)
    failed = Counter(str(p.status or p.error.split(":")[0]) for p in posts if p.status != 200)
    figures = {
        "posts": len(posts),
        "ok": len(ok),
        "duplicates": sum(1 for p in ok if p.answer.get("duplicate")),
        "failed": dict(failed),
        "failed_examples": [f"{p.status} {p.answer or p.error}" for p in posts if p.status != 200][
            :5
        ],
        "seconds": round(ended - started, 3),
        "per_second": round(len(ok) / (ended - started), 1) if ended > started else None,
        "response": crm_load.percentiles([(p.done - p.sent) * 1000 for p in ok]),
    }
    figures["response_ringing"] = crm_load.percentiles(
        [(p.done - p.sent) * 1000 for p in ok if p.event == "ringing"]
    )
    return figures


# --- the records ----------------------------------------------------------------------------------


def verify(app, tenant_id: int, connection_id: int, sequences: list[Sequence]) -> dict:
    """Read the calls back as the app's role with the shop bound: exactly one record per
    sequence, and every field as its events say."""
    from sqlalchemy import func, select

    from app.calls.models import Call, CallEvent
    from tenants.db import bind_tenant, db

    refs = [s.ref for s in sequences]
    with app.app_context():
        bind_tenant(tenant_id)
        fields = [key for key in sequences[0].expected() if key != "events_stored"]
        rows: dict[str, list[dict]] = {}
        for call in db.scalars(
            select(Call).where(Call.connection_id == connection_id, Call.call_ref.in_(refs))
        ):
            rows.setdefault(call.call_ref, []).append({key: getattr(call, key) for key in fields})
        stored = dict(
            db.execute(
                select(CallEvent.call_ref, func.count())
                .where(CallEvent.connection_id == connection_id, CallEvent.call_ref.in_(refs))
                .group_by(CallEvent.call_ref)
            ).all()
        )
        orders: dict[str, list[str]] = {}
        for ref, event in db.execute(
            select(CallEvent.call_ref, CallEvent.event)
            .where(CallEvent.connection_id == connection_id, CallEvent.call_ref.in_(refs))
            .order_by(CallEvent.id)
        ):
            orders.setdefault(ref, []).append(event)
        db.rollback()
        db.remove()
    wrong_fields: Counter = Counter()
    failures = []
    for sequence in sequences:
        expected = sequence.expected()
        found = rows.get(sequence.ref, [])
        if len(found) != 1:
            failures.append({"ref": sequence.ref, "records": len(found)})
            wrong_fields["records"] += 1
            continue
        got = {**found[0], "events_stored": stored.get(sequence.ref, 0)}
        diff = {k: (expected[k], got[k]) for k in expected if expected[k] != got[k]}
        if diff:
            wrong_fields.update(diff.keys())
            failures.append(
                {
                    "ref": sequence.ref,
                    "outcome": sequence.outcome,
                    "duration_sent": sequence.send_duration,
                    "posted": sequence.order,
                    "recorded_in_order": orders.get(sequence.ref, []),
                    "wrong": {k: [str(e), str(g)] for k, (e, g) in diff.items()},
                }
            )
    return {
        "sequences": len(sequences),
        "correct": len(sequences) - len(failures),
        "failures": len(failures),
        "wrong_fields": dict(wrong_fields),
        "examples": failures[:8],
        "outcomes": dict(Counter(s.outcome for s in sequences)),
        "shuffled": sum(1 for s in sequences if not s.in_order),
        "posts_per_call": round(sum(len(s.order) for s in sequences) / max(1, len(sequences)), 2),
    }


def statements_per_event(app, token: str, secret: str, sequence: Sequence) -> dict:
    """The SQL statements one webhook request sends, per event of one answered call posted in
    order (and its ended again: a duplicate), through the app in this process (the same code
    as the server's, with the agent still online so the pop is built)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from app.calls.hooks import SIGNATURE_HEADER, sign

    count, sent = Counter(), {}
    current = [""]

    def seen(_conn, _cursor, statement, *_args) -> None:
        count[current[0]] += 1
        sent.setdefault(current[0], []).append(" ".join(statement.split())[:100])

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        client = app.test_client()
        for name in ("ringing", "answered", "ended", "ended"):
            current[0] = f"{name} (duplicate)" if name in count else name
            body = json.dumps(sequence.payload(name)).encode()
            response = client.post(
                f"/calls/hook/{token}",
                data=body,
                headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)},
            )
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {response.status_code} {response.get_data()[:200]}")
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    return {"count": dict(count), "sent": sent}


# --- the shop -----------------------------------------------------------------------------------


def connect_pbx(app, tenant_id: int) -> tuple[int, str, str]:
    """The shop's generic call connection (signed) and its hotline: (id, token, secret)."""
    from app.calls import secrets as call_secrets
    from app.calls.models import CallConnection, CallNumber
    from tenants.db import bind_tenant, db
    from tenants.work import unit_of_work

    secret = f"whsec_{secrets.token_hex(24)}"
    with app.app_context():
        bind_tenant(tenant_id)
        with unit_of_work():
            connection = CallConnection(
                kind="generic",
                name="Bench PBX",
                token=secrets.token_hex(24),
                signing="signature",
                secret_enc=call_secrets.encrypt(secret),
            )
            db.add(connection)
            db.flush()
            db.add(
                CallNumber(
                    connection_id=connection.id,
                    e164=SHOP_NUMBER,
                    token=secrets.token_hex(24),
                    label="Hotline",
                )
            )
            found = connection.id, connection.token
        db.remove()
    return (*found, secret)


class Workers:
    """The job worker and the clock, as docs/deploy.md runs them beside the web processes."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.processes: list[subprocess.Popen] = []
        self.logs = []
        full = {**{k: v for k, v in os.environ.items() if k != "REDIS_URL"}, **env}
        for name in ("jobs", "clock"):
            log = open(workdir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop)
            self.logs.append(log)
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "app", "huike", name],
                    cwd=harness.ROOT,
                    env=full,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            )

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for log in self.logs:
            log.close()


class Profile:
    """py-spy sampling the server's CPU while it is measured (``--profile``; ``pip install
    py-spy`` in the venv): where its time goes, by function, inclusive and own."""

    def __init__(self, pid: int, path: Path) -> None:
        self.path = path
        self.log = open(path.with_suffix(".log"), "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [str(harness.BIN / "py-spy"), "record", "--pid", str(pid), "--rate", "250"]
            + ["--nonblocking", "--format", "raw", "--output", str(path)],
            stdout=self.log,
            stderr=self.log,
        )

    def stop(self, top: int = 40) -> dict:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        self.log.close()
        inclusive, own, total = Counter(), Counter(), 0
        for line in self.path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
            total += int(count)
            for frame in set(frames):
                inclusive[frame] += int(count)
            own[frames[-1]] += int(count)

        def share(counter: Counter) -> list[tuple[str, float]]:
            return [(f, round(100 * n / max(1, total), 1)) for f, n in counter.most_common(top)]

        return {"samples": total, "inclusive_pct": share(inclusive), "own_pct": share(own)}


def flush_redis(url: str) -> None:
    """The benchmark's own Redis database starts (and ends) empty."""
    import redis

    redis.Redis.from_url(url).flushdb()


# --- the run ------------------------------------------------------------------------------------


def cpu_per_post(figures: dict, window: harness.CpuWindow, posts: list[Post]) -> dict:
    """CPU time per webhook request, in ms, of the server and of PostgreSQL: what a request
    costs whatever else the machine was doing meanwhile."""
    seconds = time.monotonic() - window.started  # the window has just stopped
    return {
        "server": round(1000 * figures["server_seconds"] / max(1, len(posts)), 2),
        "postgres": round(10 * figures["postgres"] * seconds / max(1, len(posts)), 2),
    }


async def bursts(args, server, agent, hook, gap: float, rounds, database_name, rng) -> dict:
    """``rounds`` rounds of concurrent calls, posts up to ``gap`` ms apart: pops, answers, CPU,
    the server's stalls and PostgreSQL's waits."""
    result: dict = {"gap_ms": gap, "rounds": []}
    seen: dict[str, float] = {}
    cpu = harness.CpuWindow(server, agent.process.pid, database_name)
    waits = harness.PgWaits(args.pg_admin_url, database_name)
    started = time.time()
    all_posts, offered = [], []
    for number, sequences in enumerate(rounds, 1):
        posts = await burst(hook, sequences, gap, rng)
        all_posts += posts
        sending = max(p.sent for p in posts) - min(p.sent for p in posts)
        offered.append(len(posts) / max(sending, 1e-3))
        popping = expected_pops(sequences)
        last = max(p.done for p in posts)
        connected = await wait_for_pops(
            agent, {f"{r} ringing" for r in popping}, seen, last + POP_WAIT_S
        )
        figures = pop_figures(sequences, seen)
        figures.pop("seen")
        result["rounds"].append({"round": number, "agent_connected": connected, **figures})
        _say(
            f"gap {gap:g} ms, round {number}: {len(posts)} posts in {sending:.2f} s, "
            f"{figures['popped']}/{figures['expected']} pops, p50 {figures['p50_ms']} ms, p95 "
            f"{figures['p95_ms']} ms, max {figures['max_ms']} ms; {figures['not_popping']} calls "
            "not popping"
        )
        await asyncio.sleep(args.pause)
    result["cpu"] = cpu.stop()
    result["cpu_ms_per_post"] = cpu_per_post(result["cpu"], cpu, all_posts)
    result["pg"] = waits.stop()
    result["pops"] = pop_figures([s for r in rounds for s in r], seen)
    result["probe"] = stalls.summary(
        stalls.read(server.probe_path), started, time.time(), result["pops"]["seen"]
    )
    result["posts"] = post_figures(all_posts)
    result["offered_per_second"] = round(sum(offered) / len(offered), 1)
    return result


async def measure(args, server, agent, hook, phases, loop_sequences, database_name) -> dict:
    rng = random.Random(args.seed + 1)
    await agent.ask("collect")  # what came before: not ours
    profile = Profile(server.process.pid, args.profile) if args.profile else None
    result: dict = {"phases": []}
    for gap, rounds in phases:
        result["phases"].append(
            await bursts(args, server, agent, hook, gap, rounds, database_name, rng)
        )

    _say(f"closed loop: {len(loop_sequences)} calls over {args.concurrency} connections")
    cpu = harness.CpuWindow(server, agent.process.pid, database_name)
    loop_seen: dict[str, float] = {}
    posts = await closed_loop(hook, loop_sequences, args.concurrency, rng)
    loop_cpu = cpu.stop()
    loop_cpu["per_post_ms"] = cpu_per_post(loop_cpu, cpu, posts)
    last = max(p.done for p in posts)
    popping = expected_pops(loop_sequences)
    await wait_for_pops(agent, {f"{r} ringing" for r in popping}, loop_seen, last + POP_WAIT_S)
    result["loop"] = {
        "posts": post_figures(posts),
        "pops": pop_figures(loop_sequences, loop_seen),
        "cpu": loop_cpu,
    }
    if profile is not None:
        result["profile"] = profile.stop()
    figures = result["loop"]["posts"]
    _say(
        f"closed loop: {figures['ok']}/{figures['posts']} answered 200 in {figures['seconds']} s "
        f"({figures['per_second']}/s); response p95 {figures['response']['p95_ms']} ms"
    )
    return result


def run(args: argparse.Namespace) -> dict:
    result: dict = {"machine": harness.machine()}
    workdir = Path(tempfile.mkdtemp(prefix="huike-calls-load-"))
    _say(f"a fresh database (flask huike init: migrations as the owner); logs in {workdir}")
    database = harness.Database.create("postgresql", args.pg_admin_url, migrate=False)
    server = workers = agent = None
    try:
        database.init()
        os.environ.update(database.env())
        from sqlalchemy import select, text

        from app import create_app
        from tenants.db import cross_tenant, db
        from tenants.models import Membership, Tenant

        app = create_app({"LOG_LEVEL": "WARNING"})
        env = harness.huike_env(database, max_connections=1000)
        if args.redis_url:
            flush_redis(args.redis_url)
            env["REDIS_URL"] = args.redis_url
        server = harness.Server("huike", "eventlet", env, workdir / "server.log").start()
        if args.redis_url:
            workers = Workers(env, workdir)
        stamp = int(time.time())
        shops: list[crm_load.Shop] = []
        cookie = ""
        with app.app_context():
            result["postgres"] = "PostgreSQL " + db.scalar(text("SHOW server_version")).split()[0]
            for n in range(args.shops):  # through the real signup form, as a shop does it
                label = f"calls{n}x{stamp}"
                got_cookie, site_key = harness.sign_up(server.url, label)
                with cross_tenant():
                    tenant = db.scalar(select(Tenant).where(Tenant.site_key == site_key))
                    owner = db.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
                shops.append(crm_load.Shop(label, tenant.id, owner.id))
                cookie = cookie or got_cookie
                db.remove()
        _say(
            f"loading {args.customers:,} customers into each of {args.shops} shops "
            f"({args.customers * args.shops:,} in all) with {args.entries:,} timeline entries each"
        )
        loaded = crm_load.load(database.owner_url, shops, args, _say)
        result["load"] = {k: v for k, v in loaded.items() if k != "generator"}
        _say(f"loaded: {result['load']}")
        shop = shops[0]
        connection_id, token, secret = connect_pbx(app, shop.tenant_id)

        rng = random.Random(args.seed)
        per_phase = args.calls * args.rounds
        wanted = per_phase * len(args.gaps) + args.throughput_calls + 1
        picked = rng.sample(shop.phones, wanted)  # a different customer for every call
        agent_of = (f"{shop.label}@bench.example.com", shop.owner_id)
        made = make_sequences(rng, picked, f"bench{stamp}", agent_of, args)
        phases = [
            (
                gap,
                [made[k * per_phase + i * args.calls :][: args.calls] for i in range(args.rounds)],
            )
            for k, gap in enumerate(args.gaps)
        ]
        loop_sequences = made[per_phase * len(args.gaps) : -1]
        counted = made[-1]
        counted.outcome, counted.cause = "answered", "normalClearing"
        del loaded
        for s in shops:  # the generator's inputs: exempt from this process's collections
            s.phones, s.names, s.customer_ids = [], [], []
        gc.collect()
        gc.freeze()

        agent = Agent(server.url, cookie, set_online=True)
        busy = harness.wait_quiet(args.wait_quiet)
        result["machine_busy_before_pct"] = busy
        _say(f"machine {busy} % busy; measuring")

        async def go() -> dict:
            connector = aiohttp.TCPConnector(limit=0)
            timeout = aiohttp.ClientTimeout(total=60)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
                hook = Hook(http, f"{server.url}/calls/hook/{token}", secret)
                return await measure(
                    args, server, agent, hook, phases, loop_sequences, database.name
                )

        result["measure"] = asyncio.run(go())
        result["statements"] = statements_per_event(app, token, secret, counted)
        time.sleep(1)  # the last units commit before the records are read
        result["records"] = verify(app, shop.tenant_id, connection_id, made[:-1])
        result["records_loop"] = verify(app, shop.tenant_id, connection_id, loop_sequences)
        for phase, (_, rounds) in zip(result["measure"]["phases"], phases, strict=True):
            phase["records"] = verify(
                app, shop.tenant_id, connection_id, [s for r in rounds for s in r]
            )
        result["server_alive"] = server.alive()
        result["workers_alive"] = workers.alive() if workers else None
        result["redis"] = bool(args.redis_url)
        result["finished"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        if not any(phase["pops"]["popped"] for phase in result["measure"]["phases"]):
            result["server_log_tail"] = server.log_tail(20)
    finally:
        if agent is not None:
            agent.close()
        if workers is not None:
            workers.stop()
        if server is not None:
            server.stop()
        if args.redis_url:
            flush_redis(args.redis_url)
        if args.keep:
            _say(f"kept: {database.owner_url}")
        else:
            database.drop()
    return result


# --- the report ---------------------------------------------------------------------------------


def _cpu(cpu: dict) -> str:
    return (
        f"server {cpu['server']} %, PostgreSQL {cpu['postgres']} %, generator "
        f"{cpu['generator']} %, agent {cpu['agent']} %, anything else {cpu['other']} %"
    )


def _records(r: dict) -> str:
    text = (
        f"{r['correct']} of {r['sequences']} correct "
        + ("✅" if not r["failures"] else f"❌ **{r['failures']} wrong**")
        + f" ({', '.join(f'{n} {k}' for k, n in sorted(r['outcomes'].items()))}; "
        f"{r['shuffled']} shuffled; {r['posts_per_call']} posts per call)"
    )
    if r["failures"]:
        text += "; wrong: " + ", ".join(f"`{k}` ×{n}" for k, n in r["wrong_fields"].items())
    return text


def report(result: dict, args, command: str) -> str:
    info, loaded, m = result["machine"], result["load"], result["measure"]
    phases, loop = m["phases"], m["loop"]
    t, counts = loaded["timings"], loaded["counts"]
    customers = args.customers * args.shops

    def row(label: str, cell) -> str:
        return f"| {label} | " + " | ".join(cell(p) for p in phases) + " |"

    def pop_cell(p: dict) -> str:
        f = p["pops"]
        per_round = ", ".join(str(r["p95_ms"]) for r in p["rounds"])
        return (
            f"p50 {f['p50_ms']} ms, **p95 {f['p95_ms']} ms** "
            f"{harness.met(f['p95_ms'], GOAL_P95_MS)}, p99 {f['p99_ms']} ms, max {f['max_ms']} ms "
            f"over {f['popped']} pops (p95 per round: {per_round})"
        )

    def popping_cell(p: dict) -> str:
        f = p["pops"]
        firsts = ", ".join(f"{k} first: {n}" for k, n in f["not_popping_first_recorded"].items())
        text = f"{f['expected']} / {f['not_popping']} ({firsts})"
        if f["missing"]:
            text += f"; **{f['missing']} expected pops never came**"
        if f["unexpected_ringing_pops"]:
            text += f"; **{len(f['unexpected_ringing_pops'])} popped that should not**"
        return text

    def answers_cell(p: dict) -> str:
        f = p["posts"]
        failed = f"; **failed: {f['failed']}**" if f["failed"] else ""
        return (
            f"{f['ok']} of {f['posts']} 200 ({f['duplicates']} said duplicate){failed}; "
            f"response p50 {f['response']['p50_ms']} ms, p95 {f['response']['p95_ms']} ms, max "
            f"{f['response']['max_ms']} ms"
        )

    header = " | ".join(f"posts of a call ≤ {p['gap_ms']:g} ms apart" for p in phases)
    lines = [
        MARK.format(edge="begin"),
        f"Measured on {result['finished']} by `{command}`: {info['nproc']} CPUs ({info['cpu']}), "
        f"{info['memory_gib']} GiB RAM, Linux {info['kernel']}, Python {info['python']}, "
        f"{result['postgres']} (default settings)"
        + (
            ", Redis (Socket.IO queue and jobs; a job worker and the clock running)"
            if result["redis"]
            else ", no Redis"
        )
        + "; the server (one eventlet process), PostgreSQL, the load generator and the agent on "
        f"the same machine (machine {result['machine_busy_before_pct']} % busy just before). "
        f"{args.customers:,} customers in the measured shop, {customers:,} across {args.shops} "
        f"shops ({counts['phone']:,} phones, {counts['order']:,} orders, {counts['timeline']:,} "
        f"timeline entries; {loaded['sizes_mib']['database']:,} MiB), loaded in "
        f"**{t['total_s']} s** (generated in Python {t['generate_customers_s']} s, COPY as the "
        f"owner{', foreign-key triggers off' if loaded['fk_triggers_skipped'] else ''}, VACUUM "
        f"ANALYZE {t['vacuum_analyze_s']} s).",
        "",
        f"| {args.rounds} rounds of {args.calls} concurrent calls | {header} |",
        "|---|" + "---|" * len(phases),
        row(
            "posts offered per second while sending (mean of the rounds)",
            lambda p: str(p["offered_per_second"]),
        ),
        row(
            f"screen pop: ringing POST sent → the agent's `call` event (goal p95 ≤ "
            f"{GOAL_P95_MS} ms)",
            pop_cell,
        ),
        row(
            "calls that pop / that do not (answered or ended recorded before ringing)", popping_cell
        ),
        row("webhook answers", answers_cell),
        row("CPU, % of one core", lambda p: _cpu(p["cpu"])),
        row(
            "CPU per webhook request",
            lambda p: (
                f"server {p['cpu_ms_per_post']['server']} ms, PostgreSQL "
                f"{p['cpu_ms_per_post']['postgres']} ms"
            ),
        ),
        row(
            "the server's event loop (tests/bench/server_probe.py)",
            lambda p: stalls.text(p["probe"]),
        ),
        row(
            "PostgreSQL backends of the database, every 50 ms",
            lambda p: f"busy: {p['pg']['busy_backends']}; waits: {p['pg']['waits']}",
        ),
        row("records of these calls", lambda p: _records(p["records"])),
        "",
        "SQL statements per webhook request (one answered call posted in order, through the "
        "app in this process): "
        + ", ".join(f"{k} {n}" for k, n in result["statements"]["count"].items())
        + ".",
        "",
        f"| closed loop: {args.throughput_calls} calls, {args.concurrency} connections posting "
        "back to back | figure |",
        "|---|---|",
        f"| webhook throughput | **{loop['posts']['per_second']} events/s** "
        f"({loop['posts']['ok']} of {loop['posts']['posts']} answered 200 in "
        f"{loop['posts']['seconds']} s"
        f"{'; **failed: ' + str(loop['posts']['failed']) + '**' if loop['posts']['failed'] else ''}"
        f"); response p50 {loop['posts']['response']['p50_ms']} ms, p95 "
        f"{loop['posts']['response']['p95_ms']} ms |",
        f"| screen pop while saturated | p50 {loop['pops']['p50_ms']} ms, p95 "
        f"{loop['pops']['p95_ms']} ms, max {loop['pops']['max_ms']} ms over "
        f"{loop['pops']['popped']} pops"
        + (f"; **{loop['pops']['missing']} never came**" if loop["pops"]["missing"] else "")
        + " |",
        f"| CPU, % of one core | {_cpu(loop['cpu'])} |",
        f"| CPU per webhook request | server {loop['cpu']['per_post_ms']['server']} ms, "
        f"PostgreSQL {loop['cpu']['per_post_ms']['postgres']} ms |",
        f"| records of these calls | {_records(result['records_loop'])} |",
        MARK.format(edge="end"),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.calls_load",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--customers", type=int, default=100_000, help="customers per shop")
    parser.add_argument("--shops", type=int, default=10, help="shops (the first is measured)")
    parser.add_argument(
        "--entries",
        type=int,
        default=100_000,
        help="timeline entries per shop (at least its orders')",
    )
    parser.add_argument("--calls", type=int, default=50, help="concurrent calls per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of concurrent calls")
    parser.add_argument(
        "--gaps",
        default="1000,100",
        help="comma-separated: for each, --rounds rounds whose calls post up to this many ms apart",
    )
    parser.add_argument("--pause", type=float, default=2, help="seconds between rounds")
    parser.add_argument(
        "--in-order",
        type=float,
        default=0.5,
        help="share of calls posted in order (the rest shuffled)",
    )
    parser.add_argument(
        "--copies",
        default="1,2,2,3",
        help="how many times each event is posted, drawn from this list (1: no duplicates)",
    )
    parser.add_argument(
        "--throughput-calls", type=int, default=500, help="calls of the closed-loop phase"
    )
    parser.add_argument(
        "--concurrency", type=int, default=50, help="connections of the closed loop"
    )
    parser.add_argument("--seed", type=int, default=20261207, help="random seed (data, calls)")
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="superuser URL to create (and drop) the scratch database with",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/10",
        help="the server's REDIS_URL (emptied before and after); '' runs without Redis",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a small run: 3 shops of 10,000 customers, 2 rounds, 100 closed-loop calls "
        "(explicit flags still win)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL printed)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120,
        help="before measuring, wait up to this many seconds for the machine to be under 15 %% "
        "busy (its load is recorded either way)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="sample the server with py-spy while measuring (pip install py-spy): its raw "
        "stacks to FILE, where the time goes printed at the end",
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="JSON",
        help="measure nothing: print (and with --write-docs write) the figures of an earlier "
        "run from its --json file",
    )
    parser.add_argument(
        "--write-docs", action="store_true", help="rewrite the figures block of '## Calls'"
    )
    args = parser.parse_args(argv)
    if args.quick:
        harness.apply_preset(
            args,
            argv,
            (
                ("--customers", 10_000),
                ("--shops", 3),
                ("--entries", 10_000),
                ("--rounds", 2),
                ("--throughput-calls", 100),
            ),
        )
    args.heavy = 0  # crm_load's customer with a long timeline: not wanted here
    try:
        args.gaps = [float(g) for g in str(args.gaps).split(",") if g.strip()]
    except ValueError:
        parser.error("--gaps: numbers of ms, comma-separated")
    if not args.gaps:
        parser.error("--gaps: at least one")
    try:
        args.copies = [int(n) for n in str(args.copies).split(",") if n.strip()]
    except ValueError:
        parser.error("--copies: whole numbers, comma-separated")
    if not args.copies or min(args.copies) < 1:
        parser.error("--copies: each at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    command = "python -m tests.bench.calls_load" + (" " + shlex.join(given) if given else "")
    if args.report:  # the figures of an earlier run, from its --json file
        result = json.loads(args.report.read_text())
        command = result["command"]
        for key in ("customers", "shops", "calls", "rounds", "throughput_calls", "concurrency"):
            setattr(args, key, int(result["args"][key]))
        args.json = None
    else:
        try:
            result = run(args)
        except Exception:
            traceback.print_exc()
            return 1
    if args.json:  # first: the raw figures survive a failing report
        kept = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        result.update(command=command, args=kept)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    section = report(result, args, command)
    print()
    print(section)
    for example in result["records"]["examples"]:
        print(f"wrong record: {json.dumps(example, ensure_ascii=False)}")
    if "profile" in result["measure"]:
        found = result["measure"]["profile"]
        print(f"\nserver CPU samples (py-spy): {found['samples']}; inclusive % by function:")
        for frame, pct in found["inclusive_pct"]:
            print(f"{pct:6.1f}  {frame}")
        print("own %:")
        for frame, pct in found["own_pct"][:20]:
            print(f"{pct:6.1f}  {frame}")
    if args.write_docs:
        harness.write_block(
            DOCS, MARK.format(edge="begin"), MARK.format(edge="end"), SECTION, section
        )
        print(f"\nwritten to {DOCS}")
    failed = result["records"]["failures"] or any(
        phase["pops"]["missing"] for phase in result["measure"]["phases"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
