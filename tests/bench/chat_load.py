"""Chat load benchmark: how many visitor sockets one worker holds, what each costs in memory,
and how many inbound messages a second are stored, acknowledged and delivered to an agent, at
what latency, for eventlet, gevent and threading, against a bare python-socketio relay.

    python -m tests.bench.chat_load                       # the full run (~8-10 minutes)
    python -m tests.bench.chat_load --quick               # a small one (~2 minutes)
    python -m tests.bench.chat_load --write-docs          # and rewrite docs/BENCHMARKS.md

For each target: a fresh database (``flask huike init``), a real server process (``python
wsgi.py`` with ASYNC_MODE, or tests/bench/bare_relay.py), a shop signed up through the real form
whose owner is the agent (own process, ``/agent`` namespace, status online). Then

1. ``--connections`` websockets to ``/visitor`` (visitor tokens from ``POST /w/api/hello``: one
   per sender, one per ``--share-token`` idle sockets); after ``--hold`` seconds: how many are
   still connected, and the server's RSS growth per connection.
2. With those sockets still open, ``--senders`` of them send ``--rate`` messages a second for
   ``--duration`` seconds (open loop, unique client ids, the send time in the text): the
   stored-and-acknowledged rate, the rate and latency at which the agent receives them.

Only 127.0.0.1 is ever contacted; every phase stops on its own (counts, deadlines, timeouts).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import multiprocessing
import os
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import aiohttp

from tests.bench import harness, load, stalls

DOCS = harness.ROOT / "docs" / "BENCHMARKS.md"
MARK = "<!-- chat_load:{db}:{edge} -->"  # one block of figures per database
TARGETS = ("eventlet", "gevent", "threading", "bare")
GOAL_RATE, GOAL_P99_MS, GOAL_CONNECTIONS = 500, 100, 5000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.chat_load",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help="comma-separated: eventlet, gevent, threading (Huike's wsgi.py in that "
        "ASYNC_MODE) and bare (tests/bench/bare_relay.py, eventlet, no database); MODE@PATH "
        "runs the Huike of another checkout (its own .venv, `make install` there), e.g. "
        "eventlet@/work/wt-before,eventlet,bare for before and after in one run",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the targets this many times, in turn (before, after, bare, before, ...)",
    )
    parser.add_argument("--connections", type=int, default=5000, help="visitor sockets to open")
    parser.add_argument(
        "--threading-connections",
        type=int,
        default=2000,
        help="visitor sockets for the threading target (4 threads each; at 5000 the server "
        "drops nearly all of them, see docs/BENCHMARKS.md)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=None,
        help="MAX_CONNECTIONS for the eventlet servers (default: the sockets wanted + 200; "
        "eventlet's own default is 1024)",
    )
    parser.add_argument("--hold", type=float, default=30, help="seconds to hold them idle")
    parser.add_argument("--rate", type=float, default=500, help="messages per second to send")
    parser.add_argument("--duration", type=float, default=20, help="seconds of sending")
    parser.add_argument("--senders", type=int, default=100, help="visitors that send")
    parser.add_argument(
        "--share-token",
        type=int,
        default=10,
        help="idle sockets per visitor token, as a visitor with several tabs (1: one "
        "POST /w/api/hello per socket); each sender has a token of its own",
    )
    parser.add_argument(
        "--db",
        choices=("postgresql", "sqlite"),
        default="postgresql",
        help="the server's database (PostgreSQL: a scratch database made with --pg-admin-url)",
    )
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="superuser URL to create (and drop) a scratch database with --db postgresql",
    )
    parser.add_argument("--concurrency", type=int, default=100, help="hellos/connects in flight")
    parser.add_argument(
        "--hello-concurrency",
        type=int,
        default=None,
        help="hellos in flight (default: --concurrency)",
    )
    parser.add_argument("--ramp-timeout", type=float, default=120, help="deadline per ramp phase")
    parser.add_argument("--ack-timeout", type=float, default=30, help="seconds to wait for an ack")
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=500,
        help="unacknowledged messages at which further sends are skipped (bounds the queue of "
        "an overloaded server)",
    )
    parser.add_argument(
        "--paced-fractions",
        default="0.8,0.5",
        help="if a server falls short of --rate, measure latency again at these fractions of "
        "the rate it reached, comma-separated ('' for none)",
    )
    parser.add_argument(
        "--paced-duration", type=float, default=10, help="seconds of sending for that run"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a small run: 500 sockets, 5 s hold, 10 s of sending (explicit flags still win)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120,
        help="before each server, wait up to this many seconds for the machine to be under 15 %% "
        "busy (its load is recorded either way)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="rewrite this database's block of figures in docs/BENCHMARKS.md (## Chat load)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        harness.apply_preset(
            args,
            argv,
            (
                ("--connections", 500),
                ("--threading-connections", 500),
                ("--hold", 5),
                ("--duration", 10),
                ("--paced-duration", 5),
            ),
        )
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    args.roots = {t: Path(t.split("@", 1)[1]).resolve() for t in args.targets if "@" in t}
    try:
        args.paced = [float(f) for f in args.paced_fractions.split(",") if f.strip()]
    except ValueError:
        parser.error("--paced-fractions: numbers, comma-separated")
    unknown = [t for t in args.targets if t.split("@")[0] not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s): {', '.join(unknown)}")
    return args


# --- one target -------------------------------------------------------------------------


class Agent:
    """The agent's process: started, reset at the start of the window, stopped with results."""

    def __init__(self, url: str, cookie: str | None, set_online: bool) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=load.agent_main, args=(url, cookie, set_online, child), daemon=True
        )
        self.process.start()
        child.close()
        if not self.conn.poll(60):
            raise RuntimeError("the agent did not connect within 60 s")
        kind, detail = self.conn.recv()
        if kind != "ready":
            raise RuntimeError(f"the agent could not connect: {detail}")

    async def ask(self, command: str, timeout: float = 60):
        self.conn.send(command)
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, self.conn.poll, timeout)
        if not ready:
            raise RuntimeError(f"the agent did not answer {command!r}")
        return self.conn.recv()[1]

    def close(self) -> None:
        if self.process.is_alive():
            try:
                self.conn.send("stop")
                if self.conn.poll(20):
                    self.conn.recv()
            except (OSError, EOFError):
                pass
            self.process.join(timeout=15)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


def _commit_of(root: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "-uno"], capture_output=True, text=True
    ).stdout.strip()
    return done.stdout.strip() + ("+changes" if dirty else "")


async def run_target(spec: str, args: argparse.Namespace, workdir: Path, round_: int) -> dict:
    target = spec.split("@")[0]
    root = args.roots.get(spec, harness.ROOT)
    huike = target != "bare"
    mode = target if huike else "eventlet"
    connections = args.connections
    if target == "threading" and args.threading_connections is not None:
        connections = args.threading_connections
    result: dict = {
        "target": target,
        "async_mode": mode,
        "connections_target": connections,
        "round": round_,
        "commit": _commit_of(root) if huike else None,
    }
    database = harness.Database.create(args.db, args.pg_admin_url, root) if huike else None
    max_connections = args.max_connections or connections + 200  # the agent, hellos, a margin
    if huike:
        env = harness.huike_env(database, max_connections)
        result["database"] = database.backend
    else:
        env = {"MAX_CONNECTIONS": str(max_connections)}
        result["database"] = None
    log = workdir / f"{round_}-{target}-{result['commit'] or 'bare'}.log"
    server = harness.Server("huike" if huike else "bare", mode, env, log, root)
    agent = None
    visitors = None
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        _say(f"[{target}] starting the server")
        server.start()
        result["rss_start_kb"] = server.rss_kb()
        cookie, site_key = (None, "bare")
        if huike:
            cookie, site_key = harness.sign_up(server.url, f"{target}{int(time.time())}")
        agent = Agent(server.url, cookie, set_online=huike)

        # 1. visitor sockets held
        deadline = time.monotonic() + args.ramp_timeout
        senders_wanted = min(args.senders, connections)
        if huike:
            # Senders are visitors of their own (one token, one socket each); the idle sockets
            # share a token by --share-token, as one visitor's several tabs do.
            share = max(1, args.share_token)
            wanted = senders_wanted + -(-(connections - senders_wanted) // share)
            _say(f"[{target}] {wanted} visitors say hello (POST /w/api/hello)")
            hello_concurrency = args.hello_concurrency or args.concurrency
            got, result["hello"] = await load.hello_tokens(
                server.url, site_key, wanted, hello_concurrency, deadline
            )
            result["hello"]["concurrency"] = hello_concurrency
            sender_tokens = got[:senders_wanted]
            idle = [t for t in got[senders_wanted:] for _ in range(share)]
            tokens = (sender_tokens + idle)[:connections]
        else:
            sender_tokens = [f"sender-{i}" for i in range(senders_wanted)]
            tokens = sender_tokens + ["idle"] * (connections - senders_wanted)
        rss_idle = server.rss_kb()
        cpu = harness.CpuWindow(server, agent.process.pid, database.name if database else None)
        _say(f"[{target}] opening {len(tokens)} visitor sockets")
        visitors = load.Visitors(server.url, site_key, http)
        deadline = time.monotonic() + args.ramp_timeout
        result["ramp"] = await visitors.connect(tokens, args.concurrency, deadline)
        result["ramp"]["cpu"] = cpu.stop()
        ramp_end = time.time()
        # Thousands of client objects make each full collection of this process's garbage a
        # pause of hundreds of ms, which would be measured as the server's latency: exempt them.
        gc.collect()
        gc.freeze()
        _say(f"[{target}] {result['ramp']['connected']} connected; holding {args.hold:.0f} s")
        await asyncio.sleep(args.hold)
        rss_held = server.rss_kb()
        held = visitors.connected()
        result["held"] = {
            "connected_after_hold": held,
            "dropped_during_hold": visitors.dropped,
            "rss_idle_kb": rss_idle,
            "rss_held_kb": rss_held,
            "kb_per_connection": round((rss_held - rss_idle) / held, 1)
            if held and rss_held and rss_idle
            else None,
            "server_threads": server.threads(),
            "server_alive": server.alive(),
        }
        result["held"]["probe"] = stalls.summary(stalls.read(server.probe_path), 0, ramp_end)
        result["held"]["probe_hold"] = stalls.summary(
            stalls.read(server.probe_path), ramp_end, time.time()
        )

        # 2. inbound messages, with the idle sockets still open
        chosen = set(sender_tokens)
        senders = [c for c in visitors.clients if c.connected and c.bench_token in chosen]
        if not senders or not server.alive():
            raise RuntimeError("no visitor socket left to send with")
        _say(f"[{target}] warm-up: one message from each of {len(senders)} senders")
        result["warm_up_acked"] = await load.warm_up(senders)
        result["messages"] = await message_phase(
            target, "offered", args.rate, args.duration, senders, server, agent, args, database
        )
        capacity = result["messages"]["delivered_rate"]
        if capacity and capacity < 0.95 * args.rate:
            # Over its capacity the latency is the queue's length; measure it below capacity.
            result["paced"] = []
            for fraction in args.paced:
                paced = max(1, round(fraction * capacity))
                figures = await message_phase(
                    target,
                    f"p{fraction}",
                    paced,
                    args.paced_duration,
                    senders,
                    server,
                    agent,
                    args,
                    database,
                )
                result["paced"].append({"fraction": fraction, **figures})
        result["final"] = {
            "connected": visitors.connected(),
            "dropped_total": visitors.dropped,
            "rss_kb": server.rss_kb(),
            "server_alive": server.alive(),
        }
    except Exception as error:  # noqa: BLE001  (reported in the table; the next target runs)
        result["error"] = f"{type(error).__name__}: {error}"
        result["server_alive"] = server.alive()
        result["server_log_tail"] = server.log_tail(15)
        _say(f"[{target}] FAILED: {result['error']}")
        traceback.print_exc()
    finally:
        _say(f"[{target}] stopping")
        if agent is not None:
            agent.close()
        server.stop()  # first: thousands of polite goodbyes would only take time
        if visitors is not None:
            await visitors.disconnect_all()
        await http.close()
        if database is not None:
            database.drop()
        gc.unfreeze()
    return result


async def message_phase(
    target: str,
    phase: str,
    rate: float,
    duration: float,
    senders: list,
    server: harness.Server,
    agent: Agent,
    args: argparse.Namespace,
    database: harness.Database | None,
) -> dict:
    """``rate`` messages a second for ``duration`` seconds; what was stored, acked, delivered."""
    await agent.ask("reset")
    cpu = harness.CpuWindow(server, agent.process.pid, database.name if database else None)
    waits = (
        harness.PgWaits(args.pg_admin_url, database.name) if database and database.name else None
    )
    start = time.time()
    _say(f"[{target}] sending {rate:.0f}/s for {duration:.0f} s from {len(senders)} visitors")
    sent = await load.send_messages(
        senders,
        rate,
        duration,
        args.ack_timeout,
        args.max_in_flight,
        tag=phase[0] if phase == "offered" else phase + "-",
    )
    await asyncio.sleep(1)  # deliveries go out before acks; one second for stragglers
    seen = await agent.ask("collect")
    figures = _message_figures(sent, seen, rate, duration, len(senders))
    figures["cpu"] = cpu.stop()
    figures["probe"] = stalls.summary(stalls.read(server.probe_path), start, time.time(), seen)
    if waits:
        figures["pg"] = waits.stop()
    figures["server_cpu_pct"] = figures["cpu"]["server"]
    figures["server_cpu_ms_per_message"] = (  # per message stored, delivered or not
        round(1000 * figures["cpu"]["server_seconds"] / figures["acked"], 2)
        if figures["acked"]
        else None
    )
    _say(
        f"[{target}] acked {figures['ack_rate']}/s, delivered {figures['delivered_rate']}/s, "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, server CPU "
        f"{figures['server_cpu_pct']} %"
    )
    _say(f"[{target}] {stalls.text(figures['probe'])}")
    if figures.get("pg"):
        _say(f"[{target}] PostgreSQL: {figures['pg']}")
    return figures


def _message_figures(sent: dict, seen: dict, rate: float, duration: float, senders: int) -> dict:
    latencies = list(seen["latency"].values())
    arrived = list(seen["arrived"].values())
    start = sent.pop("start")
    last = max(arrived) if arrived else start
    figures = {
        "rate": rate,
        "duration": duration,
        "senders": senders,
        **sent,
        "delivered": len(latencies),
        "delivered_rate": round(len(latencies) / max(1e-9, last - start), 1),
        "p50_ms": load._ms(load.percentile(latencies, 50)),
        "p99_ms": load._ms(load.percentile(latencies, 99)),
        "max_ms": load._ms(max(latencies) if latencies else None),
        "agent_events": seen["events"],
    }
    return figures


def _say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


# --- the report -------------------------------------------------------------------------


def _fmt(value, suffix: str = "") -> str:
    return "—" if value is None else f"{value}{suffix}"


def _mib(kb: int | None) -> str:
    return "—" if kb is None else f"{kb / 1024:.0f} MiB"


def _name(r: dict) -> str:
    if r["target"] == "bare":
        name = "bare relay (eventlet, no DB)"
    else:
        name = (
            f"Huike {r['commit']}, {r['async_mode']}"
            if r.get("commit")
            else f"Huike, {r['async_mode']}"
        )
    return f"{name}, run {r['round']}" if r.get("rounds", 1) > 1 else name


def _failed(r: dict) -> str:
    return f" — **failed**: {r['error'][:160]}" if r.get("error") else ""


def sockets_table(results: list[dict]) -> str:
    rows = [
        "| server | held after the hold / opened / tried | still open at the end | connect ramp "
        "| server RSS idle → held | per socket | server threads |",
        "|---|---|---|---:|---|---:|---:|",
    ]
    for r in results:
        ramp, held, final = r.get("ramp", {}), r.get("held", {}), r.get("final", {})
        rows.append(
            "| "
            + " | ".join(
                [
                    _name(r) + _failed(r),
                    f"**{_fmt(held.get('connected_after_hold'))}** / {_fmt(ramp.get('connected'))}"
                    f" / {r['connections_target']}",
                    _fmt(final.get("connected")),
                    f"{_fmt(ramp.get('seconds'), ' s')} ({_fmt(ramp.get('per_second'))}/s)"
                    + (" ⚠" if ramp.get("cpu", {}).get("other", 0) > DISTURBED else ""),
                    f"{_mib(held.get('rss_idle_kb'))} → {_mib(held.get('rss_held_kb'))}",
                    f"**{_fmt(held.get('kb_per_connection'), ' KiB')}**",
                    _fmt(held.get("server_threads")),
                ]
            )
            + " |"
        )
    return "\n".join(rows)


def _bare_of(results: list[dict], round_: int | None) -> dict | None:
    """The bare relay's run of the same round (the same minutes on this shared machine)."""
    bares = [r for r in results if r["target"] == "bare" and r.get("messages")]
    same = [r for r in bares if r.get("round") == round_]
    found = (same or bares or [None])[0]
    return found if found and found["messages"].get("server_cpu_ms_per_message") else None


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value] if value else []


def messages_table(results: list[dict], key: str) -> str:
    rows = [
        "| server | offered msg/s | sent / due | stored + acked msg/s | delivered msg/s "
        "| visitor→agent p50 / p99 / max | ack p50 / p99 | server CPU (per message) "
        "| CPU per message / the bare relay's |",
        "|---|---:|---|---:|---:|---|---|---:|---:|",
    ]
    for r, msg in [(one, m) for one in results for m in _as_list(one.get(key))]:
        ratio = "—"
        bare = _bare_of(results, r.get("round"))
        own = msg.get("server_cpu_ms_per_message")
        if bare and own and r["target"] != "bare":
            ratio = f"{own / bare['messages']['server_cpu_ms_per_message']:.2f}×"
        rows.append(
            "| "
            + " | ".join(
                [
                    _name(r)
                    + (f", {100 * msg['fraction']:.0f} %" if "fraction" in msg else "")
                    + (" ⚠" if msg["cpu"]["other"] > DISTURBED else "")
                    + (_failed(r) if key == "messages" else ""),
                    _fmt(msg["rate"]),
                    f"{msg['sent']} / {msg['planned']}",
                    f"**{_fmt(msg['ack_rate'])}**",
                    f"**{_fmt(msg['delivered_rate'])}**",
                    f"{_fmt(msg['p50_ms'])} / **{_fmt(msg['p99_ms'])}** / {_fmt(msg['max_ms'])} ms",
                    f"{_fmt(msg['ack_p50_ms'])} / {_fmt(msg['ack_p99_ms'])} ms",
                    f"{_fmt(msg['server_cpu_pct'], ' %')} "
                    f"({_fmt(msg.get('server_cpu_ms_per_message'))} ms/msg)",
                    ratio if r["target"] != "bare" else "1×",
                ]
            )
            + " |"
        )
    return "\n".join(rows)


DISTURBED = 25  # % of a core used by other work on the machine past which figures are marked


def _cpu_text(cpu: dict) -> str:
    return (
        f"CPU in % of one core: server {cpu['server']}, PostgreSQL {cpu['postgres']}, "
        f"generator {cpu['generator']}, agent {cpu['agent']}, anything else {cpu['other']}"
        + (" ⚠" if cpu["other"] > DISTURBED else "")
    )


def _pg_text(pg: dict) -> str:
    samples = max(1, pg["samples"])
    busy = ", ".join(f"{n} busy {100 * k / samples:.0f} %" for n, k in pg["busy_backends"].items())
    waits = ", ".join(f"{w} {k}" for w, k in pg["waits"].items())
    return f"{pg['samples']} samples of its backends: {busy}; busy ones on: {waits}"


def details(results: list[dict]) -> str:
    lines = []
    for r in results:
        bits = []
        hello = r.get("hello")
        if hello:
            bits.append(
                f"`POST /w/api/hello`: {hello['ok']} of {hello['requested']} tokens in "
                f"{hello['seconds']} s ({hello['per_second']}/s, {hello['concurrency']} in flight)"
                + (f", errors {hello['errors']}" if hello["errors"] else "")
            )
        ramp = r.get("ramp")
        if ramp and ramp.get("errors"):
            bits.append(f"connect errors: {ramp['errors']}")
        if ramp and ramp.get("cpu"):
            bits.append(
                f"connect ramp: server CPU {ramp['cpu']['server_seconds']} s "
                f"({_cpu_text(ramp['cpu'])})"
            )
        held = r.get("held")
        if held:
            bits.append(f"sockets dropped while idle: {held['dropped_during_hold']}")
            if held.get("probe"):
                bits.append(f"start-up and connect ramp: {stalls.text(held['probe'])}")
                bits.append(f"idle hold: {stalls.text(held['probe_hold'])}")
        phases = [("offered load", r.get("messages"))] + [
            (f"at {100 * p['fraction']:.0f} % of it", p) for p in r.get("paced", [])
        ]
        for label, msg in phases:
            if msg:
                bits.append(
                    f"{label}: {msg['sent']} sent, {msg['acked']} acked, {msg['delivered']} "
                    "delivered"
                    + (f", errors {msg['errors']}" if msg["errors"] else "")
                    + (
                        f", **the server dropped the agent's socket** "
                        f"({msg['agent_events']['disconnect']}×; it does not reconnect)"
                        if msg.get("agent_events", {}).get("disconnect")
                        else ""
                    )
                    + (
                        f", {msg['skipped_in_flight_cap']} not sent (in-flight cap)"
                        if msg["skipped_in_flight_cap"]
                        else ""
                    )
                    + f"; {_cpu_text(msg['cpu'])}; the generator's own event loop ran late by "
                    f"{msg['generator_lag_p99_ms']} ms at p99 ({msg['generator_lag_max_ms']} ms "
                    "at most)"
                    + (f"; server: {stalls.text(msg['probe'])}" if msg.get("probe") else "")
                    + (f"; PostgreSQL waits: {_pg_text(msg['pg'])}" if msg.get("pg") else "")
                )
        final = r.get("final")
        if final:
            bits.append(
                f"at the end: {final['connected']} sockets open, {final['dropped_total']} "
                f"dropped in all, server RSS {_mib(final['rss_kb'])}"
            )
        if r.get("machine_busy_before_pct") is not None:
            bits.append(f"machine {r['machine_busy_before_pct']} % busy just before the start")
        if r.get("error"):
            bits.append(f"**failed**: {r['error']}")
        lines.append(f"- **{_name(r)}**: " + "; ".join(bits))
    return "\n".join(lines)


def report(results: list[dict], args: argparse.Namespace, command: str, info: dict) -> str:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    share = (
        f"one token per {args.share_token} sockets" if args.share_token > 1 else "one per socket"
    )
    pg = ", and PostgreSQL" if args.db == "postgresql" else ""
    parts = [
        MARK.format(db=args.db, edge="begin"),
        f"Measured on {when} by `{command}`: {info['nproc']} CPUs ({info['cpu']}), "
        f"{info['memory_gib']} GiB RAM, Linux {info['kernel']}, Python {info['python']}; "
        f"database **{args.db}**, a fresh one per server. Server, load generator and agent are "
        f"three processes on the same machine{pg}. "
        f"Each server is one process; {args.connections} visitor sockets"
        + (
            f" ({args.threading_connections} for threading)"
            if args.threading_connections and "threading" in args.targets
            else ""
        )
        + f" (tokens from `POST /w/api/hello`, {share}) are opened and held {args.hold:.0f} s; "
        f"then, with all of them still open, {args.senders} of them send {args.rate:.0f} "
        f"messages/s for {args.duration:.0f} s (at most {args.max_in_flight} unacknowledged). "
        f"Goals: ≥ {GOAL_CONNECTIONS} sockets, ≥ {GOAL_RATE} msg/s stored and delivered, "
        f"p99 ≤ {GOAL_P99_MS} ms. ⚠ marks figures taken while other work on the machine used "
        f"more than {DISTURBED} % of a core.",
        "",
        "**Sockets held by one worker**",
        "",
        sockets_table(results),
        "",
        f"**Messages at {args.rate:.0f}/s offered** (stored + acked: acks received / time to "
        "the last ack; delivered: `message` events the agent received / time to the last one)",
        "",
        messages_table(results, "messages"),
    ]
    if any(r.get("paced") for r in results):
        parts += [
            "",
            f"**Latency below saturation**: where a server fell short of {args.rate:.0f}/s, "
            f"{args.paced_duration:.0f} s more at "
            + " and ".join(f"{100 * f:.0f} %" for f in args.paced)
            + " of the rate it delivered",
            "",
            messages_table(results, "paced"),
        ]
    parts += ["", details(results), MARK.format(db=args.db, edge="end")]
    return "\n".join(parts)


def write_docs(block: str, db: str) -> None:
    """Replace this database's block in ``## Chat load`` (or add it at the section's end)."""
    begin, end = MARK.format(db=db, edge="begin"), MARK.format(db=db, edge="end")
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    elif "\n## Chat load" in text:
        head, rest = text.split("\n## Chat load", 1)
        following = rest.find("\n## ")
        body, tail = (rest[:following], rest[following:]) if following >= 0 else (rest, "")
        text = head + "\n## Chat load" + body.rstrip("\n") + "\n\n" + block + "\n" + tail
    else:
        text = text.rstrip("\n") + "\n\n## Chat load\n\n" + block + "\n"
    DOCS.write_text(text)


async def main_async(args: argparse.Namespace) -> list[dict]:
    workdir = Path(tempfile.mkdtemp(prefix="huike-chat-load-"))
    _say(f"server logs in {workdir}")
    results = []
    for round_, target in [(n + 1, t) for n in range(args.rounds) for t in args.targets]:
        busy = harness.wait_quiet(args.wait_quiet)
        _say(f"[{target}] machine {busy} % busy before the start")
        budget = (
            3 * args.ramp_timeout
            + args.hold
            + args.duration
            + args.paced_duration * len(args.paced)
            + 2 * args.ack_timeout
            + 240
        )
        try:
            results.append(
                await asyncio.wait_for(run_target(target, args, workdir, round_), budget)
            )
        except TimeoutError:
            results.append(
                {
                    "target": target.split("@")[0],
                    "round": round_,
                    "error": f"gave up after {budget:.0f} s",
                }
            )
        results[-1]["machine_busy_before_pct"] = busy
        results[-1]["rounds"] = args.rounds
        results[-1]["load_average"] = os.getloadavg()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    need = max(args.connections, args.threading_connections or 0) + 1000
    soft = harness.raise_fd_limit(need)
    if soft < need:
        print(f"warning: file-descriptor limit {soft} < {need}; raise the hard limit", flush=True)
    command = "python -m tests.bench.chat_load" + (
        " " + shlex.join(argv if argv is not None else sys.argv[1:])
        if (argv if argv is not None else sys.argv[1:])
        else ""
    )
    info = harness.machine()
    results = asyncio.run(main_async(args))
    for r in results:
        r.setdefault("async_mode", r["target"] if r["target"] != "bare" else "eventlet")
        r.setdefault("connections_target", args.connections)
    section = report(results, args, command, info)
    print()
    print(section)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2))
    if args.write_docs:
        write_docs(section, args.db)
        print(f"\nwritten to {DOCS}")
    return 1 if any(r.get("error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
