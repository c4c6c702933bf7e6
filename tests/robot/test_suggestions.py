"""The robot's suggestions to agents, through real Socket.IO clients: a visitor's message in
suggest mode gives the agents who have the chat open the knowledge base's top answers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.robot import knowledge
from app.robot.models import RobotQuestion
from app.robot.schemas import EntryInput
from tenants.db import bind_tenant, db, utcnow
from tenants.jobs import wait_for_jobs

from ..app.test_chat_socket import agent_socket, events, hello, visitor_socket
from ..conftest import set_tenant

AGENT, VISITOR = "/agent", "/visitor"
SHIPPING = "Do you ship to Hangzhou?"
RETURNS = "How do I return an item?"


def robot(shop, mode: str) -> dict[str, int]:
    """The shop's robot in ``mode`` with two entries; their ids by question."""
    bind_tenant(shop.tenant.id)
    knowledge.settings(create=True).mode = mode
    ids = {}
    for question, answer in (
        (SHIPPING, "Yes, in two days: https://shop.example/shipping"),
        (RETURNS, "Within 7 days, from your orders page."),
    ):
        ids[question] = knowledge.create_entry(EntryInput(question=question, answer=answer)).id
    db.commit()
    bind_tenant(None)
    return ids


def chat_opened_by(app, shop, agent):
    """A new visitor's chat, opened by ``agent`` (so they are in its room); the visitor's socket."""
    token = hello(app.test_client(), shop)["t"]
    visitor = visitor_socket(app, shop, token)
    first = say(visitor, "hello", "m-0")
    conversation_id = first["message"]["conversation_id"]
    wait_for_jobs()
    opened = agent.emit(
        "open", {"conversation_id": conversation_id}, namespace=AGENT, callback=True
    )
    assert opened["conversation"]["id"] == conversation_id
    agent.get_received(AGENT)
    return visitor, conversation_id


def say(visitor, text: str, client_id: str) -> dict:
    sent = visitor.emit(
        "message", {"client_id": client_id, "text": text}, namespace=VISITOR, callback=True
    )
    assert sent["message"]["text"] == text, sent
    return sent


def heard(sock) -> list[dict]:
    wait_for_jobs()  # the suggestions are a job after the visitor's message's commit
    return events(sock, AGENT, "robot_suggestions")


def logged(shop) -> list[RobotQuestion]:
    bind_tenant(shop.tenant.id)
    db.expire_all()
    rows = list(db.scalars(select(RobotQuestion).where(RobotQuestion.channel == "suggest")))
    bind_tenant(None)
    return rows


def test_a_visitors_question_gives_the_agent_the_top_answers(app, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    ids = robot(a, "suggest")
    robot(b, "suggest")
    agent = agent_socket(app, app.test_client(), a.agent)
    other = agent_socket(app, app.test_client(), a.owner)  # a's agent without this chat open
    foreign = agent_socket(app, app.test_client(), b.agent)
    visitor, conversation_id = chat_opened_by(app, a, agent)
    for sock in (other, foreign):
        sock.get_received(AGENT)

    sent = say(visitor, "do you ship to hangzhou", "m-1")

    (suggested,) = heard(agent)
    assert suggested["conversation_id"] == conversation_id
    assert suggested["message_id"] == sent["message"]["id"]
    top = suggested["suggestions"][0]
    assert top["entry_id"] == ids[SHIPPING] and top["question"] == SHIPPING
    assert top["answer"] == "Yes, in two days: https://shop.example/shipping"
    assert 0 < top["confidence"] <= 1
    assert ids[RETURNS] not in [s["entry_id"] for s in suggested["suggestions"]]
    assert heard(other) == [] and heard(foreign) == []
    # each visitor message is counted in the shop's figures once, the chat's greeting too
    rows = logged(a)
    assert [r.question for r in rows] == ["hello", "do you ship to hangzhou"]
    assert rows[1].decision == "answer" and rows[1].conversation_id == conversation_id
    assert logged(b) == []


def test_nothing_when_the_robot_is_off_or_the_shop_on_free(app, two_tenants):
    a = two_tenants.a
    robot(a, "off")
    agent = agent_socket(app, app.test_client(), a.agent)
    visitor, _ = chat_opened_by(app, a, agent)
    say(visitor, SHIPPING, "m-1")
    assert heard(agent) == [] and logged(a) == []

    bind_tenant(a.tenant.id)
    knowledge.settings(create=True).mode = "suggest"
    db.commit()
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))  # Free now
    say(visitor, SHIPPING + " again", "m-2")
    assert heard(agent) == [] and logged(a) == []


def test_nothing_shown_for_a_question_the_knowledge_base_does_not_know(app, two_tenants):
    a = two_tenants.a
    robot(a, "suggest")
    agent = agent_socket(app, app.test_client(), a.agent)
    visitor, _ = chat_opened_by(app, a, agent)
    say(visitor, "今天天气怎么样", "m-1")
    assert heard(agent) == []
    # still logged: the unanswered log and the figures want it
    assert [(r.question, r.decision) for r in logged(a)][-1] == ("今天天气怎么样", "handover")


def test_where_the_robot_answers_first_it_suggests_once_a_person_took_the_chat(app, two_tenants):
    a = two_tenants.a
    ids = robot(a, "answer_first")
    agent = agent_socket(app, app.test_client(), a.agent, status="offline")  # nobody assigned
    visitor, conversation_id = chat_opened_by(app, a, agent)
    say(visitor, SHIPPING, "m-1")
    assert heard(agent) == []

    taken = agent.emit("take", {"conversation_id": conversation_id}, namespace=AGENT, callback=True)
    assert taken["conversation"]["assignee_id"] == a.agent.id
    say(visitor, RETURNS, "m-2")
    (suggested,) = heard(agent)
    assert suggested["suggestions"][0]["entry_id"] == ids[RETURNS]


def test_an_agent_opening_the_chat_later_asks_for_them(app, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    ids = robot(a, "suggest")
    agent = agent_socket(app, app.test_client(), a.agent)
    visitor, conversation_id = chat_opened_by(app, a, agent)
    sent = say(visitor, SHIPPING, "m-1")
    heard(agent)
    before = len(logged(a))

    def ask(sock, cid):
        return sock.emit(
            "robot_suggestions", {"conversation_id": cid}, namespace=AGENT, callback=True
        )

    again = ask(agent, conversation_id)
    assert again["message_id"] == sent["message"]["id"]
    assert again["suggestions"][0]["entry_id"] == ids[SHIPPING]
    assert len(logged(a)) == before  # a reload is not another question

    # another shop's chat, by its id: refused exactly like a missing one
    foreign = agent_socket(app, app.test_client(), b.agent)
    assert ask(foreign, conversation_id) == ask(foreign, 10**9)
    assert ask(foreign, conversation_id)["error"] == "not_found"

    # answered: nothing waits for a suggestion any more
    reply = agent.emit(
        "send",
        {"conversation_id": conversation_id, "client_id": "r-1", "text": "Yes, two days."},
        namespace=AGENT,
        callback=True,
    )
    assert reply["message"]["sender"] == "agent"
    assert ask(agent, conversation_id)["suggestions"] == []

    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))  # Free now
    locked = ask(agent, conversation_id)
    assert locked["error"] == "feature_locked" and locked["feature"] == "robot"
