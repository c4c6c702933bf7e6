"""The clock: periodic jobs, each queued once per period however many clocks run.

A module adds one with a line of its own: ``@periodic("name", every=3600)`` over a function
that takes no arguments (``every``: seconds, or the name of the setting that holds them).
Time is cut into slots of that length; a clock that sees a new slot inserts the row
(job, slot) and only the clock whose insert went in queues the job, after its commit. The row
stays, so a clock restarted within the slot (or a second clock, on another machine) finds it
and queues nothing: no double run, and no lock that a dead clock could keep.

A clock that dies between its commit and the queueing loses that one run; periodic jobs catch
up on their next run (they look at the state, not at what happened since the last tick).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from flask import Flask
from sqlalchemy import BigInteger, String, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import Base, db, utcnow
from tenants.jobs import enqueue, job
from tenants.work import unit_of_work

log = logging.getLogger("huike.clock")

KEPT_SLOTS = 100  # a job's older slot rows are deleted; a clock never looks that far back
_PERIODIC: dict[str, float | str] = {}


class ClockTick(Base):
    """One periodic job's run in one slot: the primary key lets only one clock insert it."""

    __tablename__ = "clock_ticks"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)


def periodic(name: str, every: float | str):
    """Register the decorated function as a job the clock queues once every ``every``."""

    def register(fn):
        job(name)(fn)
        _PERIODIC[name] = every
        return fn

    return register


class Clock:
    """One clock: ``run`` until stopped, or ``tick`` once (tests)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.seen: dict[str, int] = {}  # job -> the last slot this clock settled

    def period(self, name: str) -> float:
        every = _PERIODIC[name]
        return float(self.app.config[every] if isinstance(every, str) else every)

    def tick(self, now: float | None = None) -> list[str]:
        """Queue every periodic job whose slot is new to this clock and not yet taken by
        another: returns the ones this clock queued."""
        now = time.time() if now is None else now
        queued = []
        for name in list(_PERIODIC):
            slot = int(now // self.period(name))
            if self.seen.get(name) == slot:
                continue
            with self.app.app_context():
                try:
                    with unit_of_work():
                        if _take_slot(name, slot):
                            enqueue(name, None)
                            queued.append(name)
                finally:
                    db.remove()
            self.seen[name] = slot
        return queued

    def run(self, stop: threading.Event) -> None:
        log.info("clock started", extra={"jobs": sorted(_PERIODIC)})
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # the database or Redis away: the next second tries again
                log.exception("clock tick failed")
            stop.wait(self._until_next_slot())

    def _until_next_slot(self) -> float:
        now = time.time()
        waits = [self.period(name) - now % self.period(name) for name in _PERIODIC]
        return min([1.0, *waits])


def _take_slot(name: str, slot: int) -> bool:
    session = db()
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ClockTick)
    taken = session.execute(
        insert.values(job=name, slot=slot, at=utcnow())
        .on_conflict_do_nothing()
        .returning(ClockTick.slot)
    ).first()
    if taken is not None:
        session.execute(
            delete(ClockTick).where(ClockTick.job == name, ClockTick.slot < slot - KEPT_SLOTS)
        )
    return taken is not None
