"""Web Push to agents' devices with the real pywebpush, against a push service on this
machine (tests/push/pushservice.py): each push is VAPID-signed and its body decrypts with the
browser's keys to the notice; 410 forgets the device; a storm folds; what the agent already
sees is not pushed; shops never hear each other's events."""

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.calls import tasks
from app.calls.models import Task
from app.calls.task_jobs import tasks_due_shop
from app.chat.flood import DEFAULT_LIMITS
from app.extensions import socketio
from app.push.models import PushSubscription
from tenants.db import bind_tenant, cross_tenant, db, utcnow
from tenants.jobs import jobs_of, wait_for_jobs
from tenants.models import Membership
from tenants.work import unit_of_work

from ..app.test_chat_socket import agent_socket, hello, visitor_socket
from ..calls.test_pop import ring
from ..conftest import login
from .pushservice import PushService, vapid_claims

WINDOW = 1.0  # PUSH_COLLAPSE_SECONDS here: a storm's summary comes a second later


@pytest.fixture
def push(app, tmp_path, monkeypatch, two_tenants):
    for shop in (two_tenants.a, two_tenants.b):  # agents in English, owners in Chinese
        bind_tenant(shop.tenant.id)
        db.get(Membership, shop.owner.id).user.locale = "zh_CN"
        db.get(Membership, shop.agent.id).user.locale = "en"
        db.commit()
    bind_tenant(None)
    jobs_of(app).wait_idle(delayed=True)  # what the shops' fixtures queued: before any device
    service = PushService(tmp_path)
    service.app = app  # whose jobs send the pushes
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", service.ca_file)  # trust it as a public one
    monkeypatch.setitem(app.config, "PUSH_COLLAPSE_SECONDS", WINDOW)
    yield service
    service.close()


def subscribe(client, member, browser) -> int:
    login(client, member)
    answer = client.post("/push/subscriptions", json=browser.subscription())
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def received(push, browser, at_least=0, wait=10.0, tag=None) -> list[dict]:
    """What ``browser`` has been pushed (about ``tag``), decrypted, once the jobs ran (and
    ``at_least`` came)."""
    deadline = time.monotonic() + wait
    while True:
        jobs_of(push.app).wait_idle(delayed=True)  # a storm's summary is a delayed job
        got = [browser.read(r.body) for r in push.to(browser)]
        got = [notice for notice in got if tag in (None, notice["tag"])]
        if len(got) >= at_least or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def say(app, client, shop, texts, token=None):
    """A visitor writes ``texts`` over their socket; their token back."""
    token = token or hello(client, shop)["t"]
    visitor = visitor_socket(app, shop, token)
    for n, text in enumerate(texts):
        answer = visitor.emit(
            "message",
            {"client_id": f"m-{n}-{time.time_ns()}", "text": text},
            namespace="/visitor",
            callback=True,
        )
        assert "message" in answer, answer
    visitor.disconnect(namespace="/visitor")
    return token, answer["message"]["conversation_id"]


def devices_of(shop) -> int:
    with cross_tenant():
        return db.scalar(
            select(func.count())
            .select_from(PushSubscription)
            .where(PushSubscription.tenant_id == shop.tenant.id)
        )


def test_a_queued_chat_is_pushed_signed_and_encrypted_to_each_agents_device(
    app, client, two_tenants, push
):
    a = two_tenants.a
    phone = push.browser("agent-a")
    subscribe(client, a.agent, phone)
    key = client.get("/push/key").get_json()["public_key"]
    _, conversation_id = say(app, client, a, ["Is the Longjing in stock?"])

    (notice,) = received(push, phone, at_least=1)
    assert notice["title"].startswith("New chat from Visitor #")
    assert notice["body"] == "Is the Longjing in stock?"
    assert notice["url"] == f"/console/conversations#c{conversation_id}"
    assert notice["tag"] == f"c-{conversation_id}" and notice["timestamp"] > 0
    (sent,) = push.to(phone)
    assert sent.headers["Content-Encoding"] == "aes128gcm"
    assert sent.headers["Topic"] == f"c-{conversation_id}" and sent.headers["Urgency"] == "high"
    assert int(sent.headers["TTL"]) > 0
    claims = vapid_claims(sent, key)  # the signature checks against the key the page gave
    assert claims["aud"] == push.origin and claims["exp"] > time.time()
    assert claims["sub"].startswith(("mailto:", "https://"))


def test_the_owner_language_and_a_shop_without_message_text(app, client, two_tenants, push):
    a = two_tenants.a
    phone = push.browser("owner-a")
    subscribe(client, a.owner, phone)
    off = client.post("/console/settings/chat/notifications", data={})
    assert off.status_code == 302
    say(app, client, a, ["My address is 12 Nanjing Road"])
    (notice,) = received(push, phone, at_least=1)
    assert notice["title"].startswith("新对话：访客 #")
    assert notice["body"] == "请打开汇客查看。"


def test_a_storm_of_fifty_messages_gives_two_notifications(
    app, client, two_tenants, push, monkeypatch
):
    a = two_tenants.a
    monkeypatch.setitem(app.config, "FLOOD_LIMITS", DEFAULT_LIMITS | {"message": "100/second"})
    window = 5  # longer than the 49 jobs take here, loaded (production: 60 s)
    monkeypatch.setitem(app.config, "PUSH_COLLAPSE_SECONDS", window)
    phone = push.browser("agent-a")
    subscribe(client, a.agent, phone)
    agent = agent_socket(app, client, a.agent)  # online, the tab hidden: the chat is theirs
    texts = [f"question {n}" for n in range(1, 51)]
    _, conversation_id = say(app, client, a, texts)

    tag = f"c-{conversation_id}"
    received(push, phone, at_least=2, wait=window + 10, tag=tag)
    time.sleep(window / 2)  # nothing more comes after the window
    notices = received(push, phone, tag=tag)
    # one a window at most: the chat's, then the held messages counted (a machine slower
    # than a window to run the 49 jobs: two summaries)
    assert 2 <= len(notices) <= 3, notices
    first, *summaries = notices
    # the chat's notice has the visitor's words as they were when its job ran
    assert first["title"].startswith("New chat from") and first["body"] in texts
    counts = [re.fullmatch(r"(?:(\d+) new messages · )?question \d+", n["body"]) for n in summaries]
    assert sum(int(c.group(1) or 1) for c in counts) == 49, summaries
    summary = summaries[-1]
    assert summary["body"].endswith("· question 50")
    assert summary["tag"] == first["tag"]  # the phone shows one notification, replaced
    agent.disconnect(namespace="/agent")


def test_what_the_agent_sees_is_not_pushed_and_what_they_do_not_is(app, client, two_tenants, push):
    a = two_tenants.a
    phone = push.browser("agent-a")
    subscribe(client, a.agent, phone)
    agent = agent_socket(app, client, a.agent)
    token, conversation_id = say(app, client, a, ["hello"])
    tag = f"c-{conversation_id}"
    assert len(received(push, phone, at_least=1, tag=tag)) == 1  # the new chat
    assert agent.emit("view", {"visible": True}, namespace="/agent", callback=True) == {"ok": True}
    time.sleep(WINDOW)
    say(app, client, a, ["are you there?"], token)
    time.sleep(WINDOW + 0.5)
    assert len(received(push, phone, tag=tag)) == 1  # the console in sight: nothing

    assert agent.emit("view", {"visible": False}, namespace="/agent", callback=True) == {"ok": True}
    say(app, client, a, ["hello??"], token)
    notices = received(push, phone, at_least=2, tag=tag)
    assert [n["body"] for n in notices] == ["hello", "hello??"]
    assert notices[1]["title"].startswith("Visitor #")

    # read in the console meanwhile (another tab): the held notice is dropped
    say(app, client, a, ["one more"], token)
    bind_tenant(a.tenant.id)
    from app.chat.models import Conversation

    conversation = db.get(Conversation, conversation_id)
    conversation.agent_read_seq = conversation.last_seq
    db.commit()
    bind_tenant(None)
    time.sleep(WINDOW + 0.5)
    assert len(received(push, phone, tag=tag)) == 2
    agent.disconnect(namespace="/agent")


def test_a_tab_in_sight_when_it_connects_gets_the_waiting_chats_without_a_push(
    app, client, two_tenants, push
):
    a = two_tenants.a
    phone = push.browser("agent-a")
    subscribe(client, a.agent, phone)
    login(client, a.agent)
    agent = socketio.test_client(
        app, namespace="/agent", flask_test_client=client, auth={"visible": True}
    )
    assert agent.is_connected("/agent")
    say(app, client, a, ["hello, anyone?"])  # assigned to the agent looking at the console
    time.sleep(0.3)
    assert received(push, phone) == []
    agent.disconnect(namespace="/agent")  # the tab is closed: the next chat is pushed
    say(app, client, a, ["hello again"])
    (notice,) = received(push, phone, at_least=1)
    assert notice["body"] == "hello again"


def test_away_the_device_hears_only_the_kinds_it_chose(app, client, two_tenants, push):
    a = two_tenants.a
    phone = push.browser("agent-a")
    device_id = subscribe(client, a.agent, phone)
    saved = client.post(f"/profile/devices/{device_id}", data={"away_kinds": ["left_message"]})
    assert saved.status_code == 302
    agent = agent_socket(app, client, a.agent, status="away")
    say(app, client, a, ["a new chat while away"])
    wait_for_jobs()
    assert received(push, phone) == []
    token = hello(client, a)["t"]
    left = client.post(
        "/w/api/leave",
        json={
            "k": a.tenant.site_key,
            "t": token,
            "name": "Li",
            "email": "li@example.com",
            "text": "Please call me back",
        },
    )
    assert left.status_code == 201, left.get_json()
    (notice,) = received(push, phone, at_least=1)
    assert notice["title"] == "Left message from Li" and notice["body"] == "Please call me back"
    assert notice["url"].startswith("/console/messages") and notice["url"].endswith(
        f"#m{left.get_json()['id']}"
    )
    refused = client.post(f"/profile/devices/{device_id}", data={"away_kinds": ["weather"]})
    assert refused.status_code == 302
    bind_tenant(a.tenant.id)
    assert db.get(PushSubscription, device_id).away_kinds == ["left_message"]  # unchanged
    bind_tenant(None)
    agent.disconnect(namespace="/agent")


def test_a_410_forgets_the_device(app, client, two_tenants, push):
    a = two_tenants.a
    phone, laptop = push.browser("agent-a"), push.browser("agent-a-laptop")
    subscribe(client, a.agent, phone)
    subscribe(client, a.agent, laptop)
    push.gone.add(phone.endpoint.removeprefix(push.origin))
    say(app, client, a, ["first chat"])
    assert len(received(push, laptop, at_least=1)) == 1
    assert devices_of(a) == 1  # the phone's subscription is gone, the laptop's stays
    login(client, a.agent)
    page = client.get("/profile").get_data(as_text=True)
    assert page.count('class="device"') == 1


def test_shops_never_hear_each_other(app, client, two_tenants, push):
    a, b = two_tenants.a, two_tenants.b
    phone_a, phone_b = push.browser("agent-a"), push.browser("agent-b")
    subscribe(client, a.agent, phone_a)
    device_b = subscribe(client, b.agent, phone_b)
    say(app, client, a, ["for shop a"])
    assert len(received(push, phone_a, at_least=1)) == 1
    assert received(push, phone_b) == []

    # A's agent cannot touch B's device, by id: not found, as a missing one
    login(client, a.agent)
    assert client.post(f"/profile/devices/{device_b}", data={"away_kinds": []}).status_code == 404
    assert client.post(f"/profile/devices/{device_b}/delete").status_code == 404
    with cross_tenant():
        kept = db.get(PushSubscription, device_b)
        assert kept is not None and "chat" in kept.away_kinds
    # A's agent looking at A's console does not silence B's agent
    agent = agent_socket(app, client, a.agent)
    assert agent.emit("view", {"visible": True}, namespace="/agent", callback=True) == {"ok": True}
    say(app, client, b, ["for shop b"])
    assert len(received(push, phone_b, at_least=1)) == 1  # B's own chat reached B
    assert len(received(push, phone_a)) == 1
    agent.disconnect(namespace="/agent")

    # the same browser, B's owner logs in on it after A's agent: it is B's alone now
    subscribe(client, b.owner, phone_a)
    assert devices_of(a) == 0
    say(app, client, a, ["a second chat for a"])
    wait_for_jobs()
    assert len(received(push, phone_a)) == 1


def test_a_disabled_member_and_a_logged_out_browser_hear_nothing(app, client, two_tenants, push):
    a = two_tenants.a
    phone, owner_phone = push.browser("agent-a"), push.browser("owner-a")
    subscribe(client, a.agent, phone)
    subscribe(client, a.owner, owner_phone)
    disabled = client.post(f"/console/members/{a.agent.id}/disable")  # as the owner
    assert disabled.status_code == 302
    say(app, client, a, ["anyone?"])
    assert len(received(push, owner_phone, at_least=1)) == 1
    assert received(push, phone) == []

    login(client, a.owner)
    client.post("/push/subscriptions", json=owner_phone.subscription())
    client.post("/logout")
    assert devices_of(a) == 1  # the owner's browser is forgotten; the agent's row waits
    say(app, client, a, ["still anyone?"])
    wait_for_jobs()
    assert len(received(push, owner_phone)) == 1


def test_bad_subscriptions_are_refused_and_change_nothing(client, two_tenants, push):
    a = two_tenants.a
    login(client, a.agent)
    good = push.browser("phone").subscription()
    endpoint, keys = good["endpoint"], good["keys"]
    for bad, field in (
        ({}, "endpoint"),
        ({"endpoint": "http://127.0.0.1/push/x", "keys": keys}, "endpoint"),
        ({"endpoint": "https:///push/x", "keys": keys}, "endpoint"),
        ({"endpoint": endpoint.replace("/push/", "/push/\x07"), "keys": keys}, "endpoint"),
        ({"endpoint": f"{endpoint} x", "keys": keys}, "endpoint"),
        ({"endpoint": endpoint + "x" * 1000, "keys": keys}, "endpoint"),
        ({"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"]}}, "endpoint"),
        ({"endpoint": endpoint, "keys": "nope"}, "endpoint"),
        ({"endpoint": endpoint, "keys": keys | {"p256dh": keys["p256dh"] + "AAAA"}}, "p256dh"),
        ({"endpoint": endpoint, "keys": keys | {"p256dh": "C" + keys["p256dh"][1:]}}, "p256dh"),
        ({"endpoint": endpoint, "keys": keys | {"p256dh": "B\t" + keys["p256dh"][2:]}}, "p256dh"),
        ({"endpoint": endpoint, "keys": keys | {"auth": keys["auth"] + "A"}}, "auth"),
        ({"endpoint": endpoint, "keys": keys | {"auth": keys["auth"][:-2] + "+/"}}, "auth"),
    ):  # (a NUL anywhere is refused by app/edges.py before any view)
        answer = client.post("/push/subscriptions", json=bad)
        assert answer.status_code == 422, bad
        assert answer.get_json()["field"] == field, bad
        assert answer.get_json()["message"], bad
    assert devices_of(a) == 0
    padded = keys | {"auth": keys["auth"] + "=="}  # padding is allowed, as some browsers send it
    answer = client.post("/push/subscriptions", json={"endpoint": endpoint, "keys": padded})
    assert answer.status_code == 201
    assert devices_of(a) == 1
    client.post("/logout")
    assert client.post("/push/subscriptions", json={}).status_code in (302, 401)


def test_a_ringing_call_and_a_due_task_reach_the_phones_of_their_shop(
    app, client, two_tenants, push
):
    a, b = two_tenants.a, two_tenants.b
    phone, owner_phone, phone_b = (
        push.browser("agent-a"),
        push.browser("owner-a"),
        push.browser("agent-b"),
    )
    subscribe(client, a.agent, phone)
    subscribe(client, a.owner, owner_phone)
    subscribe(client, b.agent, phone_b)
    call_id = ring(client, a)["call"]
    (notice,) = received(push, phone, at_least=1, tag=f"call-{call_id}")
    assert notice["title"] == "Incoming call from Buyer a"
    assert notice["body"] == "138 0000 0000" and notice["tag"] == f"call-{call_id}"
    assert notice["url"] == f"/console/calls/{call_id}"

    with app.app_context():  # the owner's follow-up for tomorrow; then the clock finds it due
        bind_tenant(a.tenant.id)
        with unit_of_work():
            task = tasks.open_task(
                "follow_up",
                title="Ask how the tea was",
                phone="+8613900000001",
                assignee_id=a.owner.id,
                due_at=utcnow() + timedelta(days=1),
            )
        with unit_of_work():
            db.get(Task, task.id).due_at = utcnow() - timedelta(minutes=1)
        with unit_of_work():
            tasks_due_shop()
        bind_tenant(None)
    (notice,) = received(push, owner_phone, at_least=1, tag=f"task-{task.id}")
    assert notice["title"] == "有电话任务到期了" and notice["body"] == "Ask how the tea was"
    assert notice["url"] == f"/console/calls/tasks#task-{task.id}"
    assert received(push, phone, tag=f"task-{task.id}") == []  # the owner's task
    # B's phone heard of B's own queue only, nothing of A's call or tasks
    assert all("Buyer b" in n["body"] for n in received(push, phone_b)), received(push, phone_b)
