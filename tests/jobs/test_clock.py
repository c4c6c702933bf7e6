"""The clock: with two clocks ticking at once, each periodic job runs once per period; a clock
restarted within a period queues nothing again; the trial reminder goes out once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tenants.clock import Clock, ClockTick, periodic
from tenants.db import cross_tenant, db, utcnow
from tenants.jobs import enqueue, jobs_of
from tenants.models import User
from tenants.work import unit_of_work

from ..conftest import make_test_app, set_tenant
from .conftest import bound_to

PROBE = "tests.clock_probe"
runs: list[float] = []  # when the probe job ran


@periodic(PROBE, every=1)
def clock_probe() -> None:
    runs.append(time.time())


class CountingClock(Clock):
    def __init__(self, app) -> None:
        super().__init__(app)
        self.queued: list[str] = []

    def tick(self, now: float | None = None) -> list[str]:
        queued = super().tick(now)
        self.queued += queued
        return queued


def probe_slots() -> list[int]:
    return sorted(db.scalars(select(ClockTick.slot).where(ClockTick.job == PROBE)))


def test_two_clocks_run_each_periodic_job_once_per_period(own_database):
    """Two clocks in threads, each with its own session and connection, on a period of one
    second for about five periods."""
    with bound_to(own_database):
        app = make_test_app()
        jobs = jobs_of(app)
        jobs.start_in_process(clock=False)
        clocks = [CountingClock(app), CountingClock(app)]
        stop = threading.Event()
        threads = [threading.Thread(target=clock.run, args=(stop,)) for clock in clocks]
        runs.clear()
        for thread in threads:
            thread.start()
        time.sleep(5.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        try:
            jobs.wait_idle()
        finally:
            jobs.worker.stop(timeout=5000)
        with app.app_context():
            slots = probe_slots()
            db.remove()
    # A clock starved of the processor for a whole second may miss a period (a periodic job
    # looks at the state, so the next period catches up); none may run twice.
    assert len(slots) >= 4 and len(set(slots)) == len(slots)
    assert sum(clock.queued.count(PROBE) for clock in clocks) == len(slots)  # one clock each
    assert len(runs) == len(slots)  # and the job ran once per period


def test_a_restarted_clock_does_not_run_a_period_again(own_database):
    with bound_to(own_database):
        app = make_test_app()
        at = 1_000_000_000.25  # a period of the probe's own, long past
        first, restarted = Clock(app), Clock(app)
        assert PROBE in first.tick(now=at)
        assert PROBE not in first.tick(now=at + 0.5)  # the same period: this clock knows
        assert PROBE not in restarted.tick(now=at + 0.5)  # a fresh clock finds it taken
        assert PROBE in restarted.tick(now=at + 1)  # the next period
        jobs_of(app).wait_idle()


def subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def test_owners_hear_once_that_the_trial_ends_in_three_days(app, two_tenants, outbox):
    a, b = two_tenants.a, two_tenants.b
    set_tenant(a, trial_ends_at=utcnow() + timedelta(days=2, hours=5))
    set_tenant(b, trial_ends_at=utcnow() + timedelta(days=10))  # not yet

    def remind() -> None:
        with app.app_context(), unit_of_work():
            enqueue("billing.trial_reminders", None)

    remind()
    remind()  # the next hour's run: told already
    mails = outbox.messages()
    assert [m["To"] for m in mails] == ["owner-a@example.com"]
    ends = a.tenant.trial_ends_at.astimezone(ZoneInfo(a.tenant.timezone))
    assert subject(mails[0]) == f"您的汇客试用将于 {ends:%Y-%m-%d} 结束"  # the shop's language
    body = mails[0].get_payload(decode=True).decode()
    assert "/console/billing" in body and "Shop a" in body

    # Staff extend the trial, and the owner has chosen English since: a reminder of its own.
    set_tenant(a, trial_ends_at=a.tenant.trial_ends_at + timedelta(hours=12))
    with cross_tenant():
        db.get(User, a.owner.user_id).locale = "en"
        db.commit()
    remind()
    mails = outbox.messages()
    assert [m["To"] for m in mails] == ["owner-a@example.com"] * 2
    ends += timedelta(hours=12)
    assert f"Your Huike trial ends on {ends:%Y-%m-%d}" in [subject(m) for m in mails]
