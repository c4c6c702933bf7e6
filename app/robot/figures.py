"""The shop's robot figures over a period, from the log of questions (RobotQuestion): the
knowledge-base page shows them and the analytics will chart them. Every channel counts (the
widget's chat, the shop's own channels through the API, the agents' suggestions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.chat.outcomes import closed_without_agent
from app.robot.models import RobotQuestion
from tenants.db import db, utcnow


@dataclass(frozen=True)
class Figures:
    days: int
    asked: int
    answered: int
    suggested: int
    handed_over: int
    helpful: int
    unhelpful: int
    # closed conversations where the robot spoke and no agent did
    resolved_alone: int


def figures(days: int, now: datetime | None = None) -> Figures:
    """The figures of the questions asked in the last ``days`` days."""
    since = (now or utcnow()) - timedelta(days=days)
    asked = RobotQuestion.created_at >= since
    decisions = dict(
        db.execute(
            select(RobotQuestion.decision, func.count())
            .where(asked)
            .group_by(RobotQuestion.decision)
        ).all()
    )
    ratings = dict(
        db.execute(
            select(RobotQuestion.rating, func.count())
            .where(asked, RobotQuestion.rating.is_not(None))
            .group_by(RobotQuestion.rating)
        ).all()
    )
    conversations = select(RobotQuestion.conversation_id).where(
        asked, RobotQuestion.conversation_id.is_not(None)
    )
    return Figures(
        days=days,
        asked=sum(decisions.values()),
        answered=decisions.get("answer", 0),
        suggested=decisions.get("suggest", 0),
        handed_over=decisions.get("handover", 0),
        helpful=ratings.get("helpful", 0),
        unhelpful=ratings.get("unhelpful", 0),
        resolved_alone=closed_without_agent(conversations, "robot"),
    )
