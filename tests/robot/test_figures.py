"""The shop's robot figures over the last 7 or 30 days, with exact numbers: questions asked,
answered, suggested, handed over, rated, and the conversations the robot resolved alone (closed,
the robot spoke, no agent did). Another shop's questions never count."""

from __future__ import annotations

import re
from datetime import timedelta

from app.chat import service as chat
from app.chat.models import Message
from app.robot.figures import Figures, figures
from app.robot.models import RobotQuestion
from tenants.db import bind_tenant, db, utcnow

from ..conftest import login

NOW = utcnow()


def conversation(label: str, *, robot=True, agent=None, closed=True) -> int:
    """A visitor's conversation with the robot's reply (as the chat stores it), an agent's
    reply if ``agent`` is given, closed or not."""
    visitor = chat.record_page_view(None, f"https://shop.example/{label}")
    _, talk, _, _ = chat.visitor_message(visitor, f"{label}-1", "运费险怎么算？")
    if robot:
        talk.last_seq += 1
        db.add(
            Message(
                conversation_id=talk.id,
                seq=talk.last_seq,
                sender="robot",
                client_id=f"robot-{label}",
                body="退货后自动理赔。",
            )
        )
    if agent is not None:
        chat.agent_message(agent, talk.id, f"{label}-agent", "我来帮您")
    if closed:
        chat.close(talk.id)
    db.flush()
    return talk.id


def asked(decision, *, days_ago=0.0, rating=None, conversation_id=None, channel="chat"):
    db.add(
        RobotQuestion(
            channel=channel,
            question="q",
            decision=decision,
            reason="",
            rating=rating,
            conversation_id=conversation_id,
            created_at=NOW - timedelta(days=days_ago),
        )
    )


def log_of_shop_a(app, shop) -> None:
    with app.app_context():  # as a request's: the chat's listeners queue jobs
        bind_tenant(shop.tenant.id)
        alone = conversation("alone")
        helped = conversation("helped", agent=shop.agent)
        still_open = conversation("open", closed=False)
        older = conversation("older")
        silent = conversation("silent", robot=False)
        asked("answer", days_ago=1, rating="helpful", conversation_id=alone)
        asked("answer", days_ago=2, conversation_id=alone)  # one conversation, counted once
        asked("answer", days_ago=3, rating="unhelpful", conversation_id=helped)
        asked("suggest", days_ago=4, conversation_id=still_open)
        asked("handover", days_ago=5, conversation_id=silent)
        asked("answer", channel="api", days_ago=6.9)
        asked("answer", days_ago=10, rating="helpful", conversation_id=older)
        asked("suggest", channel="suggest", days_ago=29)
        asked("handover", days_ago=31)  # out of both periods
        db.commit()


def test_figures_count_each_decision_rating_and_robot_only_conversation(app, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    log_of_shop_a(app, a)
    bind_tenant(b.tenant.id)
    asked("answer", rating="helpful", conversation_id=conversation("b", agent=None))
    db.commit()

    bind_tenant(a.tenant.id)
    # the fixture's handover question (just now, in shop.conversation) counts too
    assert figures(7, NOW) == Figures(
        days=7,
        asked=7,
        answered=4,
        suggested=1,
        handed_over=2,
        helpful=1,
        unhelpful=1,
        resolved_alone=1,
    )
    assert figures(30, NOW) == Figures(
        days=30,
        asked=9,
        answered=5,
        suggested=2,
        handed_over=2,
        helpful=2,
        unhelpful=1,
        resolved_alone=2,
    )
    bind_tenant(b.tenant.id)
    assert figures(7, NOW) == Figures(7, 2, 1, 0, 1, 1, 0, 1)


def test_the_knowledge_base_page_shows_the_figures_of_the_period(app, client, two_tenants):
    a = two_tenants.a
    log_of_shop_a(app, a)
    login(client, a.agent)

    def shown(days):
        html = client.get("/console/robot", query_string={"days": days}).get_data(True)
        return dict(re.findall(r'data-figure="(\w+)">(\d+)<', html))

    assert shown(7) == {
        "asked": "7",
        "answered": "4",
        "suggested": "1",
        "handed_over": "2",
        "helpful": "1",
        "unhelpful": "1",
        "resolved_alone": "1",
    }
    assert shown(30)["asked"] == "9" and shown(30)["resolved_alone"] == "2"
    assert shown(999) == shown(7)  # a period not offered: the first one
