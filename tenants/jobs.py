"""Background jobs: Dramatiq on Redis, or on this process's own threads without REDIS_URL.

A job is a function registered with ``@job("name")``. ``enqueue("name", tenant_id, *ids)``
queues it once the current unit of work has committed, and never if it rolls back. A job
receives ids and reloads its rows: it runs in an app context with its tenant bound, inside
one unit of work, as a request would.

With REDIS_URL (production: ``flask --app app huike jobs``) Dramatiq's Redis broker acknowledges
a message only once its job has finished, so the messages of a worker killed mid-job go to
another worker after ``JOBS_HEARTBEAT_SECONDS``; a job that raises is retried with backoff
(delayed messages). Without it (``make run``, SQLite, the tests) a StubBroker and a worker on
this process's threads (green ones under eventlet) run the same jobs: ``start_in_process``.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import dramatiq
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name
from dramatiq.errors import ActorNotFound
from dramatiq.middleware import Retries
from flask import Flask, current_app

from tenants.db import after_commit, bind_tenant, db
from tenants.work import unit_of_work

QUEUE = "default"
DEFAULT_MAX_RETRIES = 10
# In-process jobs run one at a time: SQLite takes one writer anyway (a second job waiting for
# its lock would stall a green server), and the tests share one connection with the worker.
IN_PROCESS_THREADS = 1
EXTENSION = "huike_jobs"


@dataclass(frozen=True)
class Job:
    fn: Callable[..., None]
    max_retries: int | None
    own_units: bool


_JOBS: dict[str, Job] = {}
_in_process: weakref.WeakSet[Jobs] = weakref.WeakSet()


def job(name: str, *, max_retries: int | None = DEFAULT_MAX_RETRIES, own_units: bool = False):
    """Register the decorated function as the job ``name``. ``max_retries=None``: the job
    decides itself when to stop. ``own_units``: the job opens its units of work itself (the
    outbox: on SQLite its work must not hold the database's one write lock while it waits)."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        _JOBS[name] = Job(fn, max_retries, own_units)
        return fn

    return register


def enqueue(name: str, tenant_id: int | None, *args, delay: float | None = None) -> None:
    """Queue the job ``name`` (after ``delay`` seconds) once the current unit commits."""
    if name not in _JOBS:
        raise KeyError(f"no job named {name!r}")
    jobs = jobs_of(current_app)
    after_commit(lambda: jobs.send(name, tenant_id, *args, delay=delay))


def jobs_of(app: Flask) -> Jobs:
    return app.extensions[EXTENSION]


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Jobs(app)


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class Jobs:
    """One app's broker and the actors of every registered job; in-process, its worker too."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        config = app.config
        retries = Retries(
            max_retries=DEFAULT_MAX_RETRIES,
            min_backoff=_ms(config["JOB_RETRY_MIN_SECONDS"]),
            max_backoff=_ms(config["JOB_RETRY_MAX_SECONDS"]),
        )
        self.in_process = not config["REDIS_URL"]
        if self.in_process:
            self.broker = StubBroker(middleware=[retries])
            _in_process.add(self)
        else:
            self.broker = RedisBroker(
                url=config["REDIS_URL"],
                middleware=[retries],
                heartbeat_timeout=_ms(config["JOBS_HEARTBEAT_SECONDS"]),
                # A dead worker's messages are handed back by "maintenance", by default on one
                # Redis command in a thousand: minutes late on a quiet queue. On every command
                # it costs two sorted-set range reads (and a KEYS scan while handing back).
                maintenance_chance=MAINTENANCE_SCALE,
            )
        self.broker.declare_queue(QUEUE)
        self.worker: dramatiq.Worker | None = None
        self.serving = False  # start_in_process: the worker runs for good
        self._lock = threading.Lock()

    def _actor(self, name: str) -> dramatiq.Actor:
        with self._lock:
            try:
                return self.broker.get_actor(name)
            except ActorNotFound:

                def perform(tenant_id: int | None, *args) -> None:
                    self.perform(name, tenant_id, *args)

                return dramatiq.Actor(
                    perform,
                    broker=self.broker,
                    actor_name=name,
                    queue_name=QUEUE,
                    priority=0,
                    options={"max_retries": _JOBS[name].max_retries},
                )

    def send(self, name: str, tenant_id: int | None, *args, delay: float | None = None) -> None:
        self._actor(name).send_with_options(
            args=(tenant_id, *args), delay=None if delay is None else _ms(delay)
        )

    def perform(self, name: str, tenant_id: int | None, *args) -> None:
        """What a worker runs for a message: the job in an app context, its tenant bound."""
        spec = _JOBS[name]
        with self.app.app_context():
            try:
                bind_tenant(tenant_id)
                if spec.own_units:
                    spec.fn(*args)
                else:
                    with unit_of_work():
                        spec.fn(*args)
            finally:
                db.remove()

    def start_worker(self, threads: int) -> dramatiq.Worker:
        """A worker on this process's threads for every registered job (declared first, so
        no message finds its job unknown)."""
        for name in list(_JOBS):
            self._actor(name)
        dramatiq_log = logging.getLogger("dramatiq")
        dramatiq_log.handlers[:] = logging.getLogger("huike").handlers
        dramatiq_log.propagate = False
        # In-process: the stub's queues wake the worker at once, and a short timeout lets it
        # pause quickly (wait_idle). On Redis it is how often an idle worker polls.
        worker = dramatiq.Worker(
            self.broker, worker_threads=threads, worker_timeout=100 if self.in_process else 1000
        )
        worker.start()
        return worker

    def start_in_process(self, clock: bool = True) -> None:
        """No REDIS_URL: this process runs its own jobs and its own clock (``make run``)."""
        from tenants.clock import Clock  # the clock's module registers jobs: it imports this

        if not self.in_process or self.serving:
            return
        self.serving = True
        if self.worker is None:
            self.worker = self.start_worker(IN_PROCESS_THREADS)
        else:
            self.worker.resume()
        if clock:
            threading.Thread(
                target=Clock(self.app).run, args=(threading.Event(),), name="clock", daemon=True
            ).start()

    def _unfinished(self, delayed: bool) -> int:
        queues = [QUEUE, dq_name(QUEUE)] if delayed else [QUEUE]
        return sum(self.broker.queues[name].unfinished_tasks for name in queues)

    def wait_idle(self, timeout: float = 10, delayed: bool = False) -> None:
        """In-process: run the queued jobs until none is due (with ``delayed``, until the
        retries waiting for their time are done too); TimeoutError at the deadline. Unless
        this process serves (``start_in_process``), the worker pauses again afterwards, so
        a test's own thread has its database connection to itself."""
        if not self.in_process:
            raise RuntimeError("wait_idle runs in-process jobs only (no REDIS_URL)")
        if self.worker is None:
            self.worker = self.start_worker(IN_PROCESS_THREADS)
        elif not self.serving:
            self.worker.resume()
        deadline = time.monotonic() + timeout
        try:
            while self._unfinished(delayed):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"jobs still queued after {timeout} s")
                time.sleep(0.01)
        finally:
            if not self.serving:
                self.worker.pause()


def drop_queued_jobs() -> None:
    """Tests: forget the jobs earlier tests queued and never ran (their rows are rolled back;
    run later, they would act on the ids of another test's rows)."""
    for jobs in list(_in_process):
        jobs.broker.flush_all()


def wait_for_jobs(timeout: float = 10) -> None:
    """Every in-process app of this process with queued jobs runs them (tests: the mail a
    request queued is in the outbox folder afterwards)."""
    for jobs in list(_in_process):
        if jobs._unfinished(delayed=False):
            jobs.wait_idle(timeout)
