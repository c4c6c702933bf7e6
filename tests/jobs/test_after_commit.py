"""What a unit of work registers (a socket emit, a job) happens only after its commit: a job
queued during a request runs once the request has committed, and a unit that fails emits
nothing and queues nothing."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select

from app.chat.peers import agents_room
from app.extensions import socketio
from tenants.db import after_commit, bind_tenant, cross_tenant, current_tenant_id, db
from tenants.jobs import enqueue, job, jobs_of
from tenants.models import User
from tenants.work import unit_of_work

from ..app.test_chat_socket import agent_socket, events
from ..conftest import make_test_app
from .conftest import bound_to

seen: list[tuple[str, bool]] = []  # (e-mail, whether the job found the user)
recorded: list[tuple[int | None, str]] = []  # (the job's tenant, its argument)


@job("tests.look_for_user")
def look_for_user(email: str) -> None:
    with cross_tenant():
        found = db.scalar(select(User.id).where(User.email == email)) is not None
    seen.append((email, found))


@job("tests.record")
def record(value: str) -> None:
    recorded.append((current_tenant_id(), value))


def test_a_job_queued_in_a_request_runs_after_its_commit(own_database):
    """In-process (no REDIS_URL), with the worker running beside the request on connections
    of its own: a job started before the commit would not find the new user."""
    with bound_to(own_database):
        app = make_test_app()

        @app.post("/tests/users/<email>")
        def add_user(email: str):
            with cross_tenant():
                db.add(User(email=email))
                db.flush()
            enqueue("tests.look_for_user", None, email)
            time.sleep(0.3)  # a job queued before the commit would run meanwhile
            return ("", 400) if email.startswith("refused") else ("", 204)

        jobs = jobs_of(app)
        jobs.start_in_process(clock=False)
        try:
            kept, refused = (f"{w}-{uuid.uuid4().hex[:6]}@example.com" for w in ("kept", "refused"))
            assert app.test_client().post(f"/tests/users/{kept}").status_code == 204
            assert app.test_client().post(f"/tests/users/{refused}").status_code == 400
            jobs.wait_idle()
        finally:
            jobs.worker.stop(timeout=5000)
    assert (kept, True) in seen  # it ran, and saw the committed row
    assert not [email for email, _ in seen if email == refused]  # rolled back: never queued


def test_a_failed_unit_emits_nothing_and_queues_nothing(app, client, two_tenants):
    a = two_tenants.a
    agent = agent_socket(app, client, a.owner)
    recorded.clear()

    def unit(fails: bool) -> None:
        with app.app_context(), unit_of_work():
            bind_tenant(a.tenant.id)
            after_commit(
                lambda: socketio.emit(
                    "probe", {"fails": fails}, to=agents_room(a.tenant.id), namespace="/agent"
                )
            )
            enqueue("tests.record", a.tenant.id, "failed" if fails else "committed")
            if fails:
                raise RuntimeError("the change is refused")

    with pytest.raises(RuntimeError):
        unit(fails=True)
    jobs_of(app).wait_idle()
    assert events(agent, "/agent", "probe") == [] and recorded == []

    unit(fails=False)  # the same unit, committed: both happen (so the test can fail)
    jobs_of(app).wait_idle()
    assert events(agent, "/agent", "probe") == [{"fails": False}]
    assert recorded == [(a.tenant.id, "committed")]  # the job ran with its tenant bound
    agent.disconnect(namespace="/agent")
