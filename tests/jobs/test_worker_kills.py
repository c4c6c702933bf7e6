"""The job worker process — the real ``flask --app app huike jobs``, on PostgreSQL + Redis — is
killed with SIGKILL 20 times at random moments while 500 mails go out through a real SMTP
server, and restarted each time: every mail arrives.

SMTP is at-least-once: a worker killed after the server's "250" and before its commit sends
that mail again, with the same Message-ID (a mail server can drop the repeat). The window is
the commit's round trip (the row is marked done before the mail is sent); the test counts the
raw deliveries and the distinct Message-IDs and prints both.
"""

from __future__ import annotations

import asyncio
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from tenants.db import bind_tenant, cross_tenant, db
from tenants.jobs import jobs_of
from tenants.mail import send_mail
from tenants.outbox import OutboxEntry
from tenants.service import signup
from tenants.work import unit_of_work

from ..conftest import BACKEND, make_test_app
from ..live import ROOT
from .conftest import SmtpServer, bound_to

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        BACKEND != "postgresql" or not os.environ.get("REDIS_URL"),
        reason="the job worker process needs PostgreSQL and Redis (the PostgreSQL pass)",
    ),
]

MAILS = 500
KILLS = 20
PLATFORM_MAILS = 50  # a password reset's kind: no shop, the platform role's rows
HEARTBEAT = 2  # seconds: a killed worker's messages go to another this long after its death


class GatedSmtpServer(SmtpServer):
    """Lets new mails in at the pace of the kills, so every kill finds mails still to send
    however fast the machine is: a mail waits at RCPT (before its data) while the gate is
    shut, and a worker killed there has sent nothing."""

    def __init__(self) -> None:
        super().__init__(delay=0.005)
        self.admitted, self.limit = 0, 0

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        while self.admitted >= self.limit:
            await asyncio.sleep(0.01)
        self.admitted += 1
        return await super().handle_RCPT(server, session, envelope, address, options)


def queue_mails(app, tenant_id: int) -> set[str]:
    with app.app_context():
        with unit_of_work():  # platform mail first: it may not follow the shop's writes
            for i in range(PLATFORM_MAILS):
                send_mail(f"person{i}@example.com", f"Reset {i}", "A platform mail.")
        with unit_of_work():
            bind_tenant(tenant_id)
            for i in range(MAILS - PLATFORM_MAILS):
                send_mail(f"customer{i}@example.com", f"Mail {i}", "A shop's mail.")
        with cross_tenant():
            ids = {row.payload["message_id"] for row in db.scalars(sql_select(OutboxEntry))}
        db.remove()
    return ids


class Worker:
    """One ``huike jobs`` process, its output in ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "huike", "jobs"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log.open("a"),
            text=True,
        )

    def ready(self) -> bool:
        """True once it said it runs (its consumers are started)."""
        readable, _, _ = select.select([self.process.stdout], [], [], 0)
        if not readable:
            return False
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the worker exited while starting")
        return line.startswith("Job worker running")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def test_a_worker_killed_20_times_loses_no_mail(own_database):
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    server = GatedSmtpServer().start()
    redis_url = os.environ["REDIS_URL"]
    instance = Path(tempfile.mkdtemp(prefix="huike-jobs-"))
    log = instance / "workers.log"
    env = {
        **os.environ,
        "DATABASE_URL": own_database.app_url,
        "PLATFORM_DATABASE_URL": own_database.platform_url,
        "REDIS_URL": redis_url,
        "SMTP_URL": server.url,
        "HUIKE_INSTANCE": str(instance),
        "SECRET_KEY": "jobs-test-secret",
        "ASYNC_MODE": "threading",  # a worker serves no sockets (docs/deploy.md)
        "JOBS_HEARTBEAT_SECONDS": str(HEARTBEAT),
        "JOB_THREADS": "2",
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "0",
    }
    workers: list[Worker] = []
    pending_at_kills: list[int] = []
    try:
        with bound_to(own_database):
            app = make_test_app(REDIS_URL=redis_url, SMTP_URL=server.url)
            jobs_of(app).broker.flush_all()  # what an interrupted earlier run left in Redis
            with app.app_context(), unit_of_work():
                owner = signup("Kill Shop", f"kills-{seed}@example.com", "a-good-password")
            tenant_id = owner.tenant_id
            started = time.monotonic()
            message_ids = queue_mails(app, tenant_id)
            assert len(message_ids) == MAILS

            # Two workers boot at all times: each kill comes at a random moment soon after
            # one is up, and hits one of the older ones mid-work; a new one boots instead.
            running: list[Worker] = []
            booting = [Worker(env, log) for _ in range(3)]
            workers += booting
            server.limit = MAILS // (KILLS + 1)
            boot_deadline = time.monotonic() + 120
            while len(pending_at_kills) < KILLS:
                assert time.monotonic() < boot_deadline, "workers take too long to start"
                for worker in [w for w in booting if w.ready()]:
                    booting.remove(worker)
                    running.append(worker)
                    if len(running) < 2:
                        continue
                    time.sleep(rng.uniform(0.0, 0.5))
                    victim = running.pop(rng.randrange(len(running) - 1))  # not the newest
                    pending_at_kills.append(MAILS - server.distinct())
                    victim.kill()
                    server.limit = MAILS * (len(pending_at_kills) + 1) // (KILLS + 1)
                    restarted = Worker(env, log)
                    booting.append(restarted)
                    workers.append(restarted)
                    boot_deadline = time.monotonic() + 120
                time.sleep(0.02)
            server.limit = 10 * MAILS  # no more kills: the gate stays open

            server.wait_for(MAILS, timeout=120)
            elapsed = time.monotonic() - started
            with app.app_context():
                with cross_tenant():
                    done = db.scalar(
                        sql_select(func.count())
                        .select_from(OutboxEntry)
                        .where(OutboxEntry.done_at.is_not(None))
                    )
                db.remove()
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.stop()
        server.stop()
    print(
        f"\nSIGKILL test (seed {seed}): {KILLS} kills, {len(workers)} worker processes, "
        f"{MAILS} mails in {elapsed:.1f} s; raw deliveries {len(server.delivered)}, distinct "
        f"Message-IDs {server.distinct()}, repeats {server.repeats()}; mails still to send at "
        f"each kill: {pending_at_kills}"
    )
    assert set(server.delivered) == message_ids  # every mail arrived, and nothing else
    assert server.distinct() == MAILS and done == MAILS
    assert min(pending_at_kills) > 0  # every kill hit a worker with mail still to send
