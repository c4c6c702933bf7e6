"""Callback and follow-up tasks: missed calls become one callback task per number the moment the
webhook answers, an answered call closes it, order statuses make follow-ups on the shop's clock,
the clock tells members once, done tasks land on the timeline, and every route keeps to its
shop."""

from __future__ import annotations

import html
import itertools
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.calls import hooks, task_jobs, task_listeners, tasks
from app.calls.models import Call, CallNumber, FollowUpRule, Task
from app.crm.models import TimelineEntry
from tenants.db import bind_tenant, db, utcnow
from tenants.jobs import wait_for_jobs
from tenants.work import unit_of_work

from ..app.test_chat_socket import agent_socket, events
from ..conftest import login, set_tenant

CALLER = "+8613900000002"  # not the fixture's customer: their number has a missed call already


def post(client, shop, event: dict):
    body = json.dumps(event).encode()
    return client.post(
        f"/calls/hook/{shop.call_connection.token}",
        data=body,
        headers={
            hooks.SIGNATURE_HEADER: hooks.sign(shop.call_secret, body),
            "Content-Type": "application/json",
        },
    )


def ring(call_id: str, number: str = CALLER, direction: str = "in", **extra) -> dict:
    far, shop = (number, "+862160000000") if direction == "in" else ("+862160000000", number)
    return {
        "event": "ringing",
        "call_id": call_id,
        "from": far,
        "to": shop,
        "direction": direction,
        "timestamp": "2026-12-07T01:00:00Z",
        **extra,
    }


def end(call_id: str, cause: str = "noAnswer", duration: int = 0, at="2026-12-07T01:00:40Z"):
    return {
        "event": "ended",
        "call_id": call_id,
        "cause": cause,
        "duration": duration,
        "timestamp": at,
    }


def answer(call_id: str, at="2026-12-07T01:00:05Z") -> dict:
    return {"event": "answered", "call_id": call_id, "timestamp": at}


def callbacks(shop, phone: str = CALLER) -> list[Task]:
    bind_tenant(shop.tenant.id)
    found = db.scalars(
        select(Task).where(Task.kind == "callback", Task.phone == phone).order_by(Task.id)
    ).all()
    bind_tenant(None)
    return list(found)


def call_id(shop, ref: str) -> int:
    bind_tenant(shop.tenant.id)
    found = db.scalar(select(Call.id).where(Call.call_ref == ref))
    bind_tenant(None)
    return found


# --- missed calls → callback tasks ----------------------------------------------------------


def test_a_missed_call_is_a_callback_task_when_the_webhook_answers(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    agent = agent_socket(app, client, a.agent)
    other_shop = agent_socket(app, app.test_client(), b.agent)
    agent.get_received("/agent")
    other_shop.get_received("/agent")
    assert post(client, a, ring("m1")).status_code == 200
    assert callbacks(a) == []  # still ringing: nothing to call back yet
    started = utcnow()
    assert post(client, a, end("m1")).status_code == 200
    [task] = callbacks(a)  # there the moment the provider has its answer
    assert task.source_key == f"call:{call_id(a, 'm1')}"
    assert (task.status, task.call_id, task.assignee_id) == ("open", call_id(a, "m1"), None)
    assert started - timedelta(seconds=1) <= task.due_at <= utcnow()
    assert task.title == "回拨 139 0000 0002"  # nobody known by it: the number, shop's language
    assert task.due_notified_at is not None
    # due now, for the shop's queue: every agent of the shop is told, no one elsewhere
    told = events(agent, "/agent", "task_due")
    assert [t["id"] for t in told] == [task.id] and told[0]["phone"] == CALLER
    assert events(other_shop, "/agent", "task_due") == []
    assert callbacks(b) == []


def test_a_known_customers_missed_call_names_them_and_goes_to_the_calls_agent(client, two_tenants):
    a = two_tenants.a
    fixture_task = callbacks(a, "+8613800000000")[0]
    bind_tenant(a.tenant.id)
    db.get(CallNumber, a.call_number.id).membership_id = a.agent.id  # the agent's number
    done = db.get(Task, fixture_task.id)
    done.status = "done"  # the fixture's own missed call: already called back
    db.commit()
    bind_tenant(None)
    post(client, a, ring("k1", "13800000000"))
    post(client, a, end("k1", cause="cancel"))  # hung up while it rang: abandoned
    task = callbacks(a, "+8613800000000")[-1]
    assert task.status == "open" and task.id != done.id
    assert (task.customer_id, task.assignee_id) == (a.customer.id, a.agent.id)
    assert "Buyer a" in task.title


def test_busy_and_failed_are_callbacks_answered_and_outbound_are_not(client, two_tenants):
    a = two_tenants.a
    post(client, a, ring("busy", "+8613900000011"))
    post(client, a, end("busy", cause="busy"))
    post(client, a, ring("failed", "+8613900000012"))
    post(client, a, end("failed", cause="congestion"))
    post(client, a, ring("talked", "+8613900000013"))
    post(client, a, answer("talked"))
    post(client, a, end("talked", cause="normalClearing", duration=35))
    post(client, a, ring("out", "+8613900000014", direction="out"))
    post(client, a, end("out"))
    assert len(callbacks(a, "+8613900000011")) == len(callbacks(a, "+8613900000012")) == 1
    assert callbacks(a, "+8613900000013") == callbacks(a, "+8613900000014") == []


def test_duplicated_and_shuffled_events_make_one_task(client, two_tenants):
    a = two_tenants.a
    sequence = [ring("x"), end("x"), ring("x"), end("x", cause="busy")]  # dup, then a correction
    for n, order in enumerate(itertools.permutations(sequence)):
        number = f"+86139000001{n:02d}"
        for event in order:
            assert post(client, a, {**event, "call_id": f"s{n}", "from": number}).status_code == 200
        [task] = callbacks(a, number)
        assert (task.status, task.attempts) == ("open", 1), order


def test_another_missed_call_counts_on_the_open_task(app, client, two_tenants):
    a = two_tenants.a
    post(client, a, ring("first"))
    post(client, a, end("first"))
    [task] = callbacks(a)
    bind_tenant(a.tenant.id)
    tasks.snooze(db.get(Task, task.id), utcnow() + timedelta(hours=3))  # "later"
    db.commit()
    bind_tenant(None)
    post(client, a, ring("second", at="2026-12-07T02:00:00Z"))
    post(client, a, end("second", at="2026-12-07T02:00:30Z"))
    post(client, a, end("second", at="2026-12-07T02:00:30Z"))  # the provider retried
    [task] = callbacks(a)  # still one
    assert (task.attempts, task.call_id, task.status) == (2, call_id(a, "second"), "open")
    assert task.due_at <= utcnow()  # they called again: due now, not in three hours
    login(client, a.agent)
    page = client.get("/console/calls/tasks").get_data(True)
    assert "2 calls" in page


def test_an_answered_call_from_the_number_closes_its_callback_task(client, two_tenants):
    a = two_tenants.a
    post(client, a, ring("missed", "13800000000"))
    post(client, a, end("missed"))
    [task] = [t for t in callbacks(a, "+8613800000000") if t.status == "open"]
    later = {"timestamp": "2026-12-07T03:00:00Z"}
    post(client, a, ring("back", "13800000000", agent="agent-a@example.com", **later))
    post(client, a, answer("back", at="2026-12-07T03:00:04Z"))
    back = call_id(a, "back")
    bind_tenant(a.tenant.id)
    task = db.get(Task, task.id)
    assert (task.status, task.outcome, task.closed_by_call_id) == ("done", "reached", back)
    assert task.done_by_id == a.agent.id
    entry = db.scalar(
        select(TimelineEntry).where(TimelineEntry.kind == "task", TimelineEntry.ref_id == task.id)
    )
    assert entry.customer_id == a.customer.id and entry.data["outcome"] == "reached"
    bind_tenant(None)
    # the next missed call is a new task again
    post(client, a, ring("again", "13800000000", **{"timestamp": "2026-12-07T05:00:00Z"}))
    post(client, a, end("again", at="2026-12-07T05:00:30Z"))
    assert [t.status for t in callbacks(a, "+8613800000000")][-1] == "open"


def test_an_answered_call_before_the_missed_one_leaves_it_open(client, two_tenants):
    a = two_tenants.a
    post(client, a, ring("late", **{"timestamp": "2026-12-07T06:00:00Z"}))
    post(client, a, end("late", at="2026-12-07T06:00:30Z"))
    # an earlier answered call whose events arrive only now
    post(client, a, ring("early", **{"timestamp": "2026-12-07T05:00:00Z"}))
    post(client, a, answer("early", at="2026-12-07T05:00:03Z"))
    assert [t.status for t in callbacks(a)] == ["open"]


# --- follow-up rules on orders --------------------------------------------------------------


def _rule(shop, status="shipped", days=7, title="How was the tea?") -> int:
    bind_tenant(shop.tenant.id)
    db.get(FollowUpRule, shop.follow_up_rule.id).enabled = False  # the fixture's: not here
    rule = FollowUpRule(order_status=status, days=days, title=title, assignee_id=shop.agent.id)
    db.add(rule)
    db.commit()
    bind_tenant(None)
    return rule.id


def _order_status(client, shop, status: str, order_id: str | None = None):
    answer = client.patch(
        f"/api/v1/orders/{order_id or shop.order.external_id}",
        json={"status": status},
        headers={"Authorization": f"Bearer {shop.api_token}"},
    )
    assert answer.status_code == 200, answer.get_json()


def _follow_ups(shop, rule_id: int) -> list[Task]:
    bind_tenant(shop.tenant.id)
    found = db.scalars(select(Task).where(Task.rule_id == rule_id)).all()
    bind_tenant(None)
    return list(found)


def test_an_order_shipped_makes_one_follow_up_at_the_shops_hour(client, two_tenants):
    a = two_tenants.a  # Asia/Shanghai
    rule_id = _rule(a)
    for status in ("shipped", "delivered", "shipped"):  # flapping: still one
        _order_status(client, a, status)
    [task] = _follow_ups(a, rule_id)
    local = task.due_at.astimezone(ZoneInfo("Asia/Shanghai"))
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert (local.date(), local.hour, local.minute) == (today + timedelta(days=7), 10, 0)
    assert (task.kind, task.source_key) == ("follow_up", f"rule:{rule_id}:order:{a.order.id}")
    assert (task.customer_id, task.phone, task.assignee_id) == (
        a.customer.id,
        "+8613800000000",
        a.agent.id,
    )
    assert task.title == "How was the tea? (SO-a)"
    assert task.due_notified_at is None  # not due yet: the clock tells when it is


def test_a_follow_up_across_a_dst_change_keeps_the_local_hour(client, two_tenants, monkeypatch):
    b = two_tenants.b
    set_tenant(b, timezone="America/New_York")
    rule_id = _rule(b, days=7)
    # Tuesday 27 October 2026, 22:00 in New York (EDT, 02:00 UTC the next day); the clocks go
    # back on Sunday 1 November: a week later is 3 November, 10:00 EST
    shipped = datetime(2026, 10, 28, 2, 0, tzinfo=UTC)
    monkeypatch.setattr(task_listeners, "utcnow", lambda: shipped)
    _order_status(client, b, "shipped")
    [task] = _follow_ups(b, rule_id)
    local = task.due_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-11-03", 10, 0)
    assert task.due_at == datetime(2026, 11, 3, 15, 0, tzinfo=UTC)  # EST by then: UTC-5


def test_follow_up_due_is_computed_in_the_shops_zone(two_tenants):
    a, b = two_tenants.a, two_tenants.b
    set_tenant(b, timezone="America/New_York")
    bind_tenant(b.tenant.id)  # 5 March 10:00 EST; the clocks go forward on 8 March
    assert task_listeners.follow_up_due(datetime(2026, 3, 5, 15, 0, tzinfo=UTC), 7) == datetime(
        2026,
        3,
        12,
        14,
        0,
        tzinfo=UTC,  # 10:00 EDT
    )
    bind_tenant(a.tenant.id)  # Shanghai: 16:30 UTC on the 5th is 00:30 on the 6th there
    assert task_listeners.follow_up_due(datetime(2026, 3, 5, 16, 30, tzinfo=UTC), 7) == datetime(
        2026, 3, 13, 2, 0, tzinfo=UTC
    )
    bind_tenant(None)


def test_a_new_order_with_the_status_makes_one_and_an_old_import_none(client, two_tenants):
    a = two_tenants.a
    rule_id = _rule(a, status="paid", days=3)
    headers = {"Authorization": f"Bearer {a.api_token}"}
    order = {"status": "paid", "total": "10", "customer": {"phone": "13900000077"}}
    old = {**order, "order_id": "OLD-1", "placed_at": "2025-01-05T08:00:00Z"}
    for payload in ({**order, "order_id": "NEW-1"}, {**order, "order_id": "NEW-1"}, old):
        assert client.post("/api/v1/orders", json=payload, headers=headers).status_code in (
            200,
            201,
        )
    [task] = _follow_ups(a, rule_id)  # the new order's, once; the old one's moment is long gone
    assert task.phone == "+8613900000077"


# --- the clock ------------------------------------------------------------------------------


def test_the_clock_tells_the_assignee_once_and_the_queue_to_everyone(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    agent = agent_socket(app, client, a.agent)
    owner = agent_socket(app, app.test_client(), a.owner)
    other_shop = agent_socket(app, app.test_client(), b.owner)
    bind_tenant(a.tenant.id)
    soon = utcnow() + timedelta(minutes=5)
    mine = tasks.open_task("follow_up", phone="+8613900000003", assignee_id=a.agent.id, due_at=soon)
    queue = tasks.open_task("follow_up", phone="+8613900000004", due_at=soon)
    db.commit()
    bind_tenant(b.tenant.id)
    theirs = tasks.open_task(
        "follow_up", phone="+8613900000005", due_at=soon, assignee_id=b.owner.id
    )
    db.commit()
    bind_tenant(None)
    for sock in (agent, owner, other_shop):
        sock.get_received("/agent")

    def tick():
        with app.app_context(), unit_of_work():
            task_jobs.tasks_due_everywhere()
        wait_for_jobs()

    tick()  # not due yet
    assert events(agent, "/agent", "task_due") == []
    bind_tenant(a.tenant.id)
    for task in (db.get(Task, mine.id), db.get(Task, queue.id)):
        task.due_at = utcnow() - timedelta(seconds=1)  # the time came
    db.commit()
    bind_tenant(None)
    tick()
    tick()  # told once
    assert sorted(t["id"] for t in events(agent, "/agent", "task_due")) == [mine.id, queue.id]
    # the owner: the queue's, and the fixture's follow-up that was theirs and due already
    assert sorted(t["id"] for t in events(owner, "/agent", "task_due")) == [a.task.id, queue.id]
    # the other shop's owner hears of their own fixture's only (the other is not due yet)
    told_b = sorted(t["id"] for t in events(other_shop, "/agent", "task_due"))
    assert told_b == [b.task.id] and theirs.id not in told_b
    bind_tenant(a.tenant.id)
    assert db.get(Task, mine.id).due_notified_at is not None
    bind_tenant(None)


def test_a_snoozed_task_comes_back_when_its_time_comes(app, client, two_tenants):
    a = two_tenants.a
    agent = agent_socket(app, client, a.agent)
    bind_tenant(a.tenant.id)
    with app.app_context():  # as a request's: telling a due task queues its push
        task = tasks.open_task("follow_up", phone="+8613900000006", assignee_id=a.agent.id)
        tasks.snooze(task, utcnow() + timedelta(hours=1))
        db.commit()
        task.due_at = utcnow() - timedelta(seconds=1)
        db.commit()
    bind_tenant(None)
    agent.get_received("/agent")
    with app.app_context(), unit_of_work():
        task_jobs.tasks_due_everywhere()
    wait_for_jobs()
    assert [t["id"] for t in events(agent, "/agent", "task_due")] == [task.id]
    bind_tenant(a.tenant.id)
    assert db.get(Task, task.id).status == "open"
    bind_tenant(None)


# --- the pages ------------------------------------------------------------------------------


def _task(app, shop, **given) -> Task:
    bind_tenant(shop.tenant.id)
    with app.app_context():  # as a request's: telling a due task queues its push
        task = tasks.open_task("follow_up", **given)
        db.commit()
    bind_tenant(None)
    return task


def test_due_lists_in_the_shops_day(app, two_tenants):
    with app.app_context():  # as a request's: telling a due task queues its push
        a = two_tenants.a
        set_tenant(a, timezone="America/New_York")
        bind_tenant(a.tenant.id)
        # 23:30 on 3 March in New York is 04:30 UTC on the 4th: still "today" there
        now = datetime(2026, 3, 4, 4, 30, tzinfo=UTC)
        zone = ZoneInfo("America/New_York")
        made = {
            name: tasks.open_task(
                "follow_up",
                phone="+8613900000008",
                assignee_id=a.agent.id,
                due_at=datetime(2026, 3, day, hour, 0, tzinfo=zone),
            )
            for name, day, hour in (("yesterday", 2, 9), ("this_morning", 3, 9), ("tomorrow", 4, 9))
        }
        lists = tasks.due_lists(a.agent.id, now=now)
        ids = {name: t.id for name, t in made.items()}
        assert ids["yesterday"] in [t.id for t in lists.overdue]
        assert ids["this_morning"] in [t.id for t in lists.today]
        assert ids["tomorrow"] in [t.id for t in lists.upcoming]
        assert ids["tomorrow"] not in [t.id for t in tasks.due_today(a.agent.id, now=now)]
        assert not {ids["this_morning"]} & {
            t.id for t in tasks.due_lists(a.owner.id, now=now).today
        }
        bind_tenant(None)


def test_the_tasks_page_lists_and_the_actions_work(app, client, two_tenants):
    a = two_tenants.a
    task = _task(
        app, a, title="Ask about the sample", phone="+8613900000009", customer_id=a.customer.id
    )
    login(client, a.agent)
    page = client.get("/console/calls/tasks?who=all")
    assert page.status_code == 200
    text = page.get_data(True)
    assert "Ask about the sample" in text and "Buyer a" in text and "Due today" in text
    # reassign, snooze, done
    answer = client.post(f"/console/calls/tasks/{task.id}/assign", data={"assignee_id": a.agent.id})
    assert answer.status_code == 302
    client.post(f"/console/calls/tasks/{task.id}/snooze", data={"for": "tomorrow"})
    bind_tenant(a.tenant.id)
    snoozed = db.get(Task, task.id)
    assert (snoozed.status, snoozed.assignee_id) == ("snoozed", a.agent.id)
    local = snoozed.due_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert local.hour == 10 and local.date() > utcnow().astimezone(local.tzinfo).date()
    bind_tenant(None)
    answer = client.post(
        f"/console/calls/tasks/{task.id}/done",
        data={"outcome": "call_later", "note": "Busy this week", "next": "/console/"},
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/console/")
    bind_tenant(a.tenant.id)
    done = db.get(Task, task.id)
    assert (done.status, done.outcome, done.note, done.done_by_id) == (
        "done",
        "call_later",
        "Busy this week",
        a.agent.id,
    )
    bind_tenant(None)
    # on the customer's timeline, with its outcome and note
    record = client.get(f"/console/customers/{a.customer.id}").get_data(True)
    assert "Call task done by Agent a" in record and "Busy this week" in record
    assert "Call later" in record
    # done twice: refused, nothing changes
    again = client.post(
        f"/console/calls/tasks/{task.id}/done", data={"outcome": "reached"}, follow_redirects=True
    )
    assert "already done" in again.get_data(True)
    bind_tenant(a.tenant.id)
    assert db.get(Task, task.id).outcome == "call_later"
    bind_tenant(None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outcome": "perhaps"}, "Choose how the call went."),
        ({"outcome": "reached", "note": "x" * 2001}, "Use at most 2000 characters."),
    ],
)
def test_bad_done_forms_change_nothing(app, client, two_tenants, change, message):
    a = two_tenants.a
    task = _task(app, a, phone="+8613900000010")
    login(client, a.agent)
    answer = client.post(f"/console/calls/tasks/{task.id}/done", data=change, follow_redirects=True)
    assert message in answer.get_data(True)
    bind_tenant(a.tenant.id)
    assert db.get(Task, task.id).status == "open"
    bind_tenant(None)


def test_a_follow_up_scheduled_by_hand(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    answer = client.post(
        "/console/calls/tasks",
        data={
            "customer_id": a.customer.id,
            "title": "Call about the sample",
            "due": "2026-12-20T15:30",
            "assignee_id": a.owner.id,
            "next": f"/console/customers/{a.customer.id}",
        },
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/console/customers/{a.customer.id}")
    bind_tenant(a.tenant.id)
    task = db.scalar(select(Task).where(Task.title == "Call about the sample"))
    assert task.due_at == datetime(2026, 12, 20, 7, 30, tzinfo=UTC)  # 15:30 in Shanghai
    assert (task.customer_id, task.phone, task.assignee_id, task.created_by_id) == (
        a.customer.id,
        "+8613800000000",  # the customer's phone
        a.owner.id,
        a.agent.id,
    )
    bind_tenant(None)
    # the customer's record offers it, and lists it
    record = client.get(f"/console/customers/{a.customer.id}").get_data(True)
    assert "Schedule a follow-up call" in record and "Call about the sample" in record


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"due": "20.12.2026 15:30"}, "Give a date and time"),
        ({"due": ""}, "Give a date and time"),
        ({"customer_id": "other"}, "is not one of your shop's"),
        ({"assignee_id": "other"}, "Choose an active member"),
        ({"call_id": "other"}, "is not one of your shop's"),
        ({"phone": "12"}, "Enter a valid phone number."),
        ({"customer_id": "", "phone": ""}, "Give a phone number to call"),
    ],
)
def test_bad_hand_made_follow_ups_change_nothing(client, two_tenants, change, message):
    a, b = two_tenants.a, two_tenants.b
    others = {"customer_id": b.customer.id, "assignee_id": b.agent.id, "call_id": b.call.id}
    data = {"customer_id": a.customer.id, "due": "2026-12-20T15:30", "title": "Nope"}
    data.update({k: others[k] if v == "other" else v for k, v in change.items()})
    login(client, a.agent)
    bind_tenant(a.tenant.id)
    before = db.scalar(select(func.count()).select_from(Task))
    bind_tenant(None)
    answer = client.post("/console/calls/tasks", data=data, follow_redirects=True)
    assert message in html.unescape(answer.get_data(True))
    bind_tenant(a.tenant.id)
    assert db.scalar(select(func.count()).select_from(Task)) == before
    bind_tenant(None)
    bind_tenant(b.tenant.id)
    assert db.scalar(select(func.count()).select_from(Task).where(Task.title == "Nope")) == 0
    bind_tenant(None)


def test_the_console_home_lists_todays_calls_and_the_sidebar_counts_them(app, client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    before = client.get("/console/").get_data(True)
    assert "Calls to make today" in before
    _task(app, a, title="Ring Mr Li back", phone="+8613900000015", assignee_id=a.agent.id)
    _task(app, a, title="The owner's call", phone="+8613900000016", assignee_id=a.owner.id)
    home = client.get("/console/").get_data(True)
    assert "Ring Mr Li back" in home and "The owner's call" not in home
    bind_tenant(a.tenant.id)
    count = tasks.due_today_count(a.agent.id)
    bind_tenant(None)
    assert f'data-nav-count="calls.index" >{count}<' in home.replace("\n", "")


def test_locked_shops_see_the_upgrade_and_the_boxes_go(client, two_tenants):
    a = two_tenants.a
    set_tenant(a, plan_code="free", trial_plan_code=None, trial_ends_at=None)
    login(client, a.agent)
    assert client.get("/console/calls/tasks").status_code == 402
    home = client.get("/console/").get_data(True)
    assert "Calls to make today" not in home and "data-nav-count" not in home


def test_rules_admin(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    assert client.get("/console/calls/follow-ups").status_code == 403
    login(client, a.owner)
    assert client.get("/console/calls/follow-ups").status_code == 200
    answer = client.post(
        "/console/calls/follow-ups",
        data={"order_status": " Delivered ", "days": "3", "title": "Happy?", "assignee_id": ""},
    )
    assert answer.status_code == 302
    bind_tenant(a.tenant.id)
    rule = db.scalar(select(FollowUpRule).where(FollowUpRule.order_status == "delivered"))
    assert (rule.days, rule.title, rule.enabled) == (3, "Happy?", True)
    bind_tenant(None)
    for bad, message in (
        ({"order_status": "shipped", "days": "-1"}, "from 0 to 365"),
        ({"order_status": "", "days": "3"}, "This field is required."),
        ({"order_status": "shipped", "days": "3", "assignee_id": two_tenants.b.agent.id}, ""),
    ):
        page = client.post(f"/console/calls/follow-ups/{rule.id}", data=bad, follow_redirects=True)
        assert message in page.get_data(True)
    client.post(f"/console/calls/follow-ups/{rule.id}", data={"order_status": "x", "days": "1"})
    bind_tenant(a.tenant.id)
    rule = db.get(FollowUpRule, rule.id)
    assert (rule.order_status, rule.days, rule.enabled) == ("x", 1, False)  # unticked: off
    bind_tenant(None)
    client.post(f"/console/calls/follow-ups/{rule.id}/delete")
    bind_tenant(a.tenant.id)
    assert db.get(FollowUpRule, rule.id) is None
    bind_tenant(None)


def test_another_shops_tasks_and_rules_are_not_found(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    bind_tenant(a.tenant.id)
    before = [(t.id, t.status, t.assignee_id, t.due_at) for t in db.scalars(select(Task))]
    bind_tenant(None)
    login(client, b.owner)
    for path, data in (
        (f"/console/calls/tasks/{a.task.id}/done", {"outcome": "reached"}),
        (f"/console/calls/tasks/{a.task.id}/snooze", {"for": "1h"}),
        (f"/console/calls/tasks/{a.task.id}/assign", {"assignee_id": ""}),
        (f"/console/calls/follow-ups/{a.follow_up_rule.id}", {"order_status": "x", "days": "1"}),
        (f"/console/calls/follow-ups/{a.follow_up_rule.id}/delete", {}),
    ):
        assert client.post(path, data=data).status_code == 404, path
    page = client.get("/console/calls/tasks?who=all").get_data(True)
    assert a.task.title not in page and b.task.title in page
    bind_tenant(a.tenant.id)
    after = [(t.id, t.status, t.assignee_id, t.due_at) for t in db.scalars(select(Task))]
    assert after == before and db.get(FollowUpRule, a.follow_up_rule.id) is not None
    bind_tenant(None)


def test_a_locked_shops_missed_call_is_kept_but_nobody_is_told(app, client, two_tenants):
    a = two_tenants.a
    agent = agent_socket(app, client, a.agent)
    set_tenant(a, plan_code="free", trial_plan_code=None, trial_ends_at=None)
    agent.get_received("/agent")
    post(client, a, ring("locked"))
    post(client, a, end("locked"))
    [task] = callbacks(a)  # there when the shop upgrades
    assert task.status == "open"
    assert events(agent, "/agent", "task_due") == []
