"""The robot in the visitor's chat, through real Socket.IO clients: each mode, its answers,
"did you mean" buttons, handovers, ratings, and the chat's own rules (seq, since-seq, dedup)
with robot messages in the conversation."""

from datetime import timedelta

from sqlalchemy import select

from app.chat.models import Conversation, Message
from app.robot import knowledge
from app.robot.models import RobotEntry, RobotQuestion
from tenants.db import bind_tenant, db, scoped_get, utcnow

from ..app.test_chat_socket import agent_socket, events, hello, visitor_socket
from ..conftest import set_tenant

RETURNS = "What is your return policy?"
RETURNS_ANSWER = "Returns within 30 days, see https://shop.example/returns"


def robot(shop, mode, **settings):
    """Set the shop's robot mode (and thresholds), with a returns entry beside the shop's own."""
    bind_tenant(shop.tenant.id)
    row = knowledge.settings(create=True)
    row.mode = mode
    for name, value in settings.items():
        setattr(row, name, value)
    if db.scalar(select(RobotEntry).where(RobotEntry.question == RETURNS)) is None:
        db.add(
            RobotEntry(question=RETURNS, alternatives=["can I send it back"], answer=RETURNS_ANSWER)
        )
        db.flush()
        knowledge.changed()
    db.commit()
    bind_tenant(None)


def visitor(app, shop, lang="en"):
    return visitor_socket(app, shop, hello(app.test_client(), shop, lang=lang)["t"])


def say(sock, text, client_id):
    answer = sock.emit(
        "message", {"client_id": client_id, "text": text}, namespace="/visitor", callback=True
    )
    assert "message" in answer, answer
    return answer["message"]


def robot_said(sock):
    """Every robot message this socket received so far (the test client hands each over once)."""
    sock.robot = getattr(sock, "robot", []) + [
        m for m in events(sock, "/visitor", "message") if m["sender"] == "robot"
    ]
    return sock.robot


def option(sock, message, choice):
    return sock.emit(
        "robot_option",
        {"message_id": message["id"], "option": choice},
        namespace="/visitor",
        callback=True,
    )


def conversation_of(shop, conversation_id) -> Conversation:
    bind_tenant(shop.tenant.id)
    db.expire_all()
    return scoped_get(Conversation, conversation_id)


def logged(shop, conversation_id) -> list[RobotQuestion]:
    bind_tenant(shop.tenant.id)
    db.expire_all()
    return list(
        db.scalars(
            select(RobotQuestion)
            .where(RobotQuestion.conversation_id == conversation_id)
            .order_by(RobotQuestion.id)
        )
    )


def test_answer_first_answers_a_covered_question_with_rating_buttons(app, client, two_tenants):
    a = two_tenants.a
    robot(a, "answer_first")
    agent = agent_socket(app, client, a.agent)  # someone is online: the robot still goes first
    buyer = visitor(app, a)
    asked = say(buyer, RETURNS, "q-1")
    [answer] = robot_said(buyer)
    assert answer["text"] == RETURNS_ANSWER and answer["seq"] == asked["seq"] + 1
    assert answer["options"]["kind"] == "rate" and answer["options"]["chosen"] is None
    assert [i["id"] for i in answer["options"]["items"]] == ["helpful", "unhelpful"]
    # the agents see the robot's part, and the chat as held by it, not in their queue
    assert any(
        m["sender"] == "robot" and m["text"] == RETURNS_ANSWER
        for m in events(agent, "/agent", "message")
    )
    held = conversation_of(a, asked["conversation_id"])
    assert held.status == "held" and held.assignee_id is None
    [question] = logged(a, held.id)
    assert (question.channel, question.decision, question.message_id) == (
        "chat",
        "answer",
        answer["id"],
    )


def test_a_did_you_mean_button_answers_once(app, two_tenants):
    a = two_tenants.a
    robot(a, "answer_first", answer_threshold=0.999, suggest_threshold=0.01)
    buyer = visitor(app, a)
    asked = say(buyer, "return policy for tea", "q-1")
    [offer] = robot_said(buyer)
    assert offer["options"]["kind"] == "choose"
    assert 1 <= len(offer["options"]["items"]) <= 3
    returns = next(i for i in offer["options"]["items"] if i["label"] == RETURNS)
    assert option(buyer, offer, returns["id"])["ok"] is True
    answer = robot_said(buyer)[-1]
    assert answer["text"] == RETURNS_ANSWER and answer["options"]["kind"] == "rate"
    [question] = logged(a, asked["conversation_id"])
    assert (question.decision, question.reason, question.entry_id, question.message_id) == (
        "answer",
        "chosen",
        int(returns["id"]),
        answer["id"],
    )
    again = option(buyer, offer, returns["id"])
    assert again["error"] == "option_taken"
    assert len(robot_said(buyer)) == 2  # nothing more was said
    # the spent buttons stay spent when the chat is loaded again
    history = buyer.emit("history", {"since": 0}, namespace="/visitor", callback=True)
    offered = next(m for m in history["messages"] if m["id"] == offer["id"])
    assert offered["options"]["chosen"] == returns["id"]


def test_asking_for_a_person_hands_over_and_the_robot_is_silent_after(app, client, two_tenants):
    a = two_tenants.a
    robot(a, "answer_first")
    agent = agent_socket(app, client, a.agent)
    buyer = visitor(app, a, lang="zh-CN")
    asked = say(buyer, "转人工", "q-1")
    [handover] = robot_said(buyer)
    assert (
        handover["options"] is None and "人" in handover["text"]
    )  # said in the visitor's language
    taken = conversation_of(a, asked["conversation_id"])
    assert taken.status == "open" and taken.assignee_id == a.agent.id  # assigned as any chat
    assert any(
        c["id"] == taken.id and c["status"] == "open"
        for c in events(agent, "/agent", "conversation")
    )
    [question] = logged(a, taken.id)
    assert (question.decision, question.reason) == ("handover", "asked_for_person")
    say(buyer, RETURNS, "q-2")
    assert len(robot_said(buyer)) == 1  # a person has it now


def test_an_unrelated_question_goes_to_the_queue_when_nobody_is_online(app, two_tenants):
    a = two_tenants.a
    robot(a, "answer_first")
    buyer = visitor(app, a)
    asked = say(buyer, "zzqx vortex quantum", "q-1")
    [handover] = robot_said(buyer)
    assert handover["options"]["kind"] == "leave"  # nobody online: leave a message instead
    assert conversation_of(a, asked["conversation_id"]).status == "queued"
    assert logged(a, asked["conversation_id"])[0].decision == "handover"


def test_the_robot_is_silent_once_an_agent_took_or_wrote(app, client, two_tenants):
    a = two_tenants.a
    robot(a, "answer_first")
    agent = agent_socket(app, client, a.agent)
    for how in ("take", "send"):
        buyer = visitor(app, a)
        first = say(buyer, RETURNS, f"{how}-1")
        conversation_id = first["conversation_id"]
        if how == "take":
            agent.emit(
                "take", {"conversation_id": conversation_id}, namespace="/agent", callback=True
            )
        else:
            agent.emit(
                "send",
                {"conversation_id": conversation_id, "client_id": "r-1", "text": "Hi, I am here"},
                namespace="/agent",
                callback=True,
            )
        say(buyer, "can I send it back", f"{how}-2")
        assert len(robot_said(buyer)) == 1, how  # only its first answer
        assert conversation_of(a, conversation_id).status == "open"


def test_robot_messages_follow_seq_since_seq_and_a_retry_is_answered_once(app, two_tenants):
    a = two_tenants.a
    robot(a, "answer_first")
    buyer = visitor(app, a)
    first = say(buyer, RETURNS, "q-1")
    retry = say(buyer, RETURNS, "q-1")
    assert retry["id"] == first["id"]
    second = say(buyer, "Do you ship to a-land?", "q-2")  # the fast path this time
    assert second["seq"] == 3
    said = robot_said(buyer)
    assert [m["seq"] for m in said] == [2, 4]
    assert said[1]["text"] == "Yes, in 7 days."
    history = buyer.emit("history", {"since": 2}, namespace="/visitor", callback=True)
    assert [(m["seq"], m["sender"]) for m in history["messages"]] == [(3, "visitor"), (4, "robot")]
    assert len(logged(a, first["conversation_id"])) == 2


def test_each_answer_is_rated_once_and_not_helpful_offers_a_person(app, client, two_tenants):
    a = two_tenants.a
    robot(a, "answer_first")
    agent_socket(app, client, a.agent)
    buyer = visitor(app, a)
    say(buyer, RETURNS, "q-1")
    answer = robot_said(buyer)[-1]
    assert option(buyer, answer, "unhelpful")["ok"] is True
    assert option(buyer, answer, "helpful")["error"] == "option_taken"
    [question] = logged(a, answer["conversation_id"])
    assert question.rating == "unhelpful"  # the unanswered log reads it
    offer = robot_said(buyer)[-1]
    assert offer["options"]["kind"] == "person"
    assert option(buyer, offer, "person")["ok"] is True
    assert conversation_of(a, answer["conversation_id"]).assignee_id == a.agent.id
    bad = option(buyer, answer, "excellent")
    assert bad["error"] == "not_found"


def test_talk_to_a_person_button(app, two_tenants):
    a = two_tenants.a
    robot(a, "answer_first")
    buyer = visitor(app, a)
    asked = say(buyer, RETURNS, "q-1")
    assert buyer.emit("robot_person", {}, namespace="/visitor", callback=True) == {"ok": True}
    assert robot_said(buyer)[-1]["options"]["kind"] == "leave"  # nobody online
    assert conversation_of(a, asked["conversation_id"]).status == "queued"
    again = buyer.emit("robot_person", {}, namespace="/visitor", callback=True)
    assert again["error"] == "not_found"  # not the robot's any more


def test_offline_mode_answers_only_when_nobody_is_online(app, client, two_tenants):
    a = two_tenants.a
    robot(a, "offline")
    away = app.test_client()
    assert hello(away, a)["bot"] is True and hello(away, a)["online"] is False
    buyer = visitor(app, a)
    asked = say(buyer, RETURNS, "q-1")
    assert robot_said(buyer)[-1]["text"] == RETURNS_ANSWER
    assert conversation_of(a, asked["conversation_id"]).status == "held"

    agent_socket(app, client, a.agent)
    assert hello(app.test_client(), a)["bot"] is False
    other = visitor(app, a)
    asked = say(other, RETURNS, "q-1")
    assert robot_said(other) == []  # a person answers as today
    assert conversation_of(a, asked["conversation_id"]).assignee_id == a.agent.id


def test_suggest_and_off_say_nothing_to_the_visitor(app, two_tenants):
    a = two_tenants.a
    for mode in ("suggest", "off"):
        robot(a, mode)
        assert hello(app.test_client(), a)["bot"] is False
        buyer = visitor(app, a)
        asked = say(buyer, RETURNS, f"{mode}-1")
        assert robot_said(buyer) == []
        assert conversation_of(a, asked["conversation_id"]).status == "queued"


def test_no_robot_on_a_plan_without_it(app, two_tenants):
    a = two_tenants.a
    robot(a, "answer_first")
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1), plan_id=None)
    assert hello(app.test_client(), a)["bot"] is False
    buyer = visitor(app, a)
    asked = say(buyer, RETURNS, "q-1")
    assert robot_said(buyer) == []
    assert conversation_of(a, asked["conversation_id"]).status == "queued"
    locked = buyer.emit("robot_person", {}, namespace="/visitor", callback=True)
    assert locked["error"] == "feature_locked" and locked["feature"] == "robot"


def test_shops_never_share_their_robots(app, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    robot(a, "answer_first")
    robot(b, "answer_first")
    bind_tenant(a.tenant.id)
    db.execute(
        RobotEntry.__table__.update()
        .where(RobotEntry.id == a.robot_entry.id)
        .values(answer="A's secret: 7 days by SF Express")
    )
    knowledge.changed()
    db.commit()
    # A's knowledge base never answers B's visitor
    b_buyer = visitor(app, b)
    say(b_buyer, "Do you ship to a-land?", "q-1")
    assert all("SF Express" not in m["text"] for m in robot_said(b_buyer))
    # B's visitor cannot click or rate A's robot messages
    a_buyer = visitor(app, a)
    say(a_buyer, RETURNS, "q-1")
    answer = robot_said(a_buyer)[-1]
    assert option(b_buyer, answer, "helpful")["error"] == "not_found"
    missing = dict(answer, id=answer["id"] + 10_000)
    assert option(b_buyer, missing, "helpful")["error"] == "not_found"
    bind_tenant(a.tenant.id)
    db.expire_all()
    rated = db.scalar(select(RobotQuestion).where(RobotQuestion.message_id == answer["id"]))
    assert rated.rating is None
    message = scoped_get(Message, answer["id"])
    assert message.options["chosen"] is None
