"""The Team report: two agents answer chats at known times through the chat's own functions
(as the socket handlers call them, with their signals), the visitors rate them, one chat is
missed, the robot resolves one and hands one over, a call is answered and one missed — and the
report, its page, its CSV and the API say exactly the same figures, to this shop only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.analytics import recording, team
from app.analytics.models import AnalyticsEvent
from app.analytics.reports import Period
from app.calls import records
from app.chat import automation
from app.chat import service as chat
from app.chat import signals as chat_signals
from app.chat.models import Conversation
from tenants.db import bind_tenant, db, scoped_get, utcnow
from tenants.timezones import local

from ..api.conftest import Api
from ..conftest import login, set_tenant
from ..robot.test_chat import RETURNS, robot

PAGE = "/console/analytics/team"


def test_percentiles_are_nearest_rank():
    assert team.percentile([], 50) is None
    assert team.percentile([7.0], 90) == 7.0
    assert team.percentile([300.0, 30.0], 50) == 30.0  # rank ceil(1.0) = 1
    assert team.percentile([300.0, 30.0], 90) == 300.0  # rank ceil(1.8) = 2
    values = [float(v) for v in range(1, 11)]  # 1 … 10
    assert (team.percentile(values, 50), team.percentile(values, 90)) == (5.0, 9.0)
    assert team.percentile([10.0, 30.0, 90.0, 120.0, 300.0], 50) == 90.0  # rank 3


def visitor_says(visitor, client_id: str, text: str, at) -> Conversation:
    """What the visitor's ``message`` handler does: store, then tell the listeners."""
    message, conversation, stored, started = chat.visitor_message(visitor, client_id, text, now=at)
    assert stored
    if started:
        chat_signals.conversation_opened.send(conversation)
    chat_signals.message_created.send(
        message, visitor_id=visitor.id, tenant_id=visitor.tenant_id, country="CN"
    )
    if conversation.status == "held":
        automation.respond(visitor.tenant_id, conversation.id, message)
    return conversation


def agent_says(member, conversation: Conversation, client_id: str, at) -> None:
    """What the agent's ``send`` handler does."""
    message, conversation, stored = chat.agent_message(
        member, conversation.id, client_id, "Let me check.", now=at
    )
    assert stored
    chat_signals.message_created.send(
        message, visitor_id=conversation.visitor_id, tenant_id=conversation.tenant_id
    )


def new_visitor(n: int):
    return chat.record_page_view(None, f"https://tea.example/item/{n}")


def ring(connection, ref: str, at, *events) -> None:
    """A provider's events for one inbound call to the shop's number (the owner's line 701)."""
    for event, seconds, extra in events:
        records.record(
            connection,
            records.ProviderEvent(
                call_ref=ref,
                event=event,
                occurred_at=at + timedelta(seconds=seconds),
                from_number="13700000009",
                to_number="+862160000000",
                agent="701",
                **extra,
            ),
        )


@pytest.fixture
def worked(app, two_tenants):
    """Shop A's afternoon, three hours ago (ratings and the robot's handover happen "now", so
    the report's period is yesterday and today in the shop's zone)."""
    with app.app_context():
        return _work(two_tenants.a)


def _work(a) -> Period:
    bind_tenant(a.tenant.id)
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=3)

    def at(seconds):
        return t0 + timedelta(seconds=seconds)

    v1, v2, v3, v4 = (new_visitor(n) for n in range(1, 5))
    c1 = visitor_says(v1, "v1-1", "Is the longjing fresh?", at(0))
    agent_says(a.agent, c1, "a1-1", at(30))  # first response 30 s
    visitor_says(v1, "v1-2", "And the price?", at(60))
    visitor_says(v1, "v1-3", "For 500 g?", at(90))
    agent_says(a.agent, c1, "a1-2", at(150))  # response 90 s (from the first unanswered)
    c2 = visitor_says(v2, "v2-1", "Do you ship to Hong Kong?", at(100))
    agent_says(a.owner, c2, "o2-1", at(220))  # first response 120 s
    c3 = visitor_says(v3, "v3-1", "Where is my order?", at(200))
    agent_says(a.agent, c3, "a3-1", at(500))  # first response 300 s
    visitor_says(v3, "v3-2", "SO-1234", at(510))
    agent_says(a.agent, c3, "a3-2", at(520))  # response 10 s
    agent_says(a.agent, c3, "a3-3", at(530))  # nobody was waiting: no response time
    c4 = visitor_says(v4, "v4-1", "Hello?", at(300))  # nobody answers: missed
    for conversation, seconds in ((c1, 600), (c2, 1300), (c3, 2000), (c4, 900)):
        chat.close(conversation.id, now=at(seconds))
    chat.rate(v1, c1.id, 5)
    chat.rate(v2, c2.id, 3)
    chat.rate(v3, c3.id, 4)
    chat.rate(v3, c3.id, 2)  # changed their mind: the later rating counts
    db.commit()

    robot(a, "answer_first")  # from now on the robot holds new chats
    bind_tenant(a.tenant.id)
    v5, v6 = new_visitor(5), new_visitor(6)
    c5 = visitor_says(v5, "v5-1", RETURNS, at(400))  # answered by the robot alone
    c6 = visitor_says(v6, "v6-1", "human please", at(450))  # handed over, nobody answers
    assert scoped_get(Conversation, c6.id).status == "queued"
    chat.close(c5.id, now=at(1000))
    chat.close(c6.id, now=at(1100))
    left = chat.leave_message(new_visitor(7), "Wang", "Call me back", phone="13800000001")
    chat_signals.left_message_created.send(left, visitor=None)

    connection = a.call_connection
    ring(
        connection,
        "team-1",
        at(1000),
        ("ringing", 0, {}),
        ("answered", 10, {}),
        ("ended", 200, {"duration": 190}),
    )
    ring(connection, "team-2", at(1300), ("ringing", 0, {}), ("ended", 60, {"cause": "noAnswer"}))
    db.commit()
    bind_tenant(None)
    today = local(utcnow(), a.tenant.timezone).date()
    return Period(today - timedelta(days=1), today)


def row_of(report, name):
    return next(r for r in report.rows if r.name == name)


def test_the_report_counts_each_agent_and_the_shop_exactly(two_tenants, worked):
    bind_tenant(two_tenants.a.tenant.id)
    report = team.report(worked)
    assert [r.name for r in report.rows] == ["Agent a", "Owner a"]
    agent, owner, shop = row_of(report, "Agent a"), row_of(report, "Owner a"), report.total
    assert team.figures(agent) == {
        "chats": 2,
        "first_response_median_s": 30.0,  # of 30, 300
        "first_response_p90_s": 300.0,
        "response_median_s": 30.0,  # of 10, 30, 90, 300
        "response_p90_s": 300.0,
        "resolution_median_s": 600.0,  # of 600, 1800
        "resolution_p90_s": 1800.0,
        "rating_average": 3.5,  # 5 and 2
        "rating_count": 2,
        "rating_1": 0,
        "rating_2": 1,
        "rating_3": 0,
        "rating_4": 0,
        "rating_5": 1,
        "missed": 0,
        "calls_answered": 0,
        "calls_missed": 0,
    }
    expected = {
        "chats": 1,
        "first_response_median_s": 120.0,
        "response_p90_s": 120.0,
        "resolution_median_s": 1200.0,
        "rating_average": 3.0,
        "rating_3": 1,
        "calls_answered": 1,
        "calls_missed": 1,
    }
    assert {k: team.figures(owner)[k] for k in expected} == expected
    assert team.figures(shop) == {
        "chats": 3,
        "first_response_median_s": 120.0,  # of 30, 120, 300
        "first_response_p90_s": 300.0,
        "response_median_s": 90.0,  # of 10, 30, 90, 120, 300
        "response_p90_s": 300.0,
        "resolution_median_s": 1200.0,  # of 600, 1200, 1800
        "resolution_p90_s": 1800.0,
        "rating_average": 3.33,  # (5 + 3 + 2) / 3
        "rating_count": 3,
        "rating_1": 0,
        "rating_2": 1,
        "rating_3": 1,
        "rating_4": 0,
        "rating_5": 1,
        "missed": 2,  # nobody answered, and the robot's handover nobody took
        "calls_answered": 1,
        "calls_missed": 1,
    }
    assert report.left_messages == 1
    robot = report.robot
    assert (robot.conversations, robot.resolved, robot.handed_over) == (2, 1, 1)
    assert (robot.resolved_share, robot.handover_rate) == (0.5, 0.5)


def test_another_shop_and_other_days_see_none_of_it(two_tenants, worked):
    bind_tenant(two_tenants.b.tenant.id)
    other = team.report(worked)
    assert other.rows == [] and other.robot is None and other.empty
    assert team.figures(other.total)["chats"] == 0 and other.left_messages == 0
    bind_tenant(two_tenants.a.tenant.id)
    before = Period(worked.start - timedelta(days=30), worked.start - timedelta(days=2))
    assert team.report(before).rows == []


def test_the_page_and_its_csv_show_the_same_figures(client, two_tenants, worked):
    login(client, two_tenants.a.owner)
    dates = {"from": worked.start.isoformat(), "to": worked.end.isoformat()}
    page = client.get(PAGE, query_string=dates)
    assert page.status_code == 200
    html = page.get_data(True)
    assert (
        '<svg class="chart team-chart" role="img" aria-label="First response time (median)' in html
    )
    assert "<title>Agent a: 30 s</title>" in html and "<title>Owner a: 2 min</title>" in html
    assert "<title>5 stars: 1</title>" in html
    # the shop's row: first response median 2 min, response median 1 min 30 s, resolution p90
    assert "1 min 30 s" in html and "30 min" in html and "Handed over to people" in html

    export = client.get(f"{PAGE}.csv", query_string=dates)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    lines = list(csv.DictReader(io.StringIO(export.get_data(True).lstrip("\ufeff"))))
    assert [(r["scope"], r["agent"], r["chats"]) for r in lines] == [
        ("agent", "Agent a", "2"),
        ("agent", "Owner a", "1"),
        ("shop", "", "3"),
    ]
    shop = lines[-1]
    assert (shop["first_response_median_s"], shop["response_median_s"]) == ("120.0", "90.0")
    assert (shop["missed"], shop["calls_answered"], shop["rating_average"]) == ("2", "1", "3.33")

    login(client, two_tenants.b.owner)  # another shop: its own (empty) page and file
    assert "Agent a" not in client.get(PAGE, query_string=dates).get_data(True)
    other = client.get(f"{PAGE}.csv", query_string=dates).get_data(True)
    assert other.lstrip("\ufeff").splitlines()[1:] == ["shop,,,0,,,,,,,,0,0,0,0,0,0,0,0,0"]


def test_the_page_in_chinese_and_empty(client, two_tenants):
    login(client, two_tenants.b.owner)
    quiet = {"from": "2026-01-01", "to": "2026-01-31"}
    page = client.get(PAGE, query_string=quiet, headers={"Accept-Language": "zh-CN"})
    html = page.get_data(True)
    assert page.status_code == 200 and "团队" in html and "<svg" not in html
    assert "这段时间没有" in html
    bad = client.get(PAGE, query_string={"from": "2026-12-10", "to": "2026-12-01"})
    assert bad.status_code == 422 and 'role="alert"' in bad.get_data(True)


def test_the_api_answers_the_same_figures(client, two_tenants, worked):
    api = Api(client, two_tenants.a.api_token)
    dates = {"from": worked.start.isoformat(), "to": worked.end.isoformat()}
    body = api.get("/analytics/team", query_string=dates).get_json()
    assert body["period"] == dates
    assert [(a["name"], a["chats"]) for a in body["agents"]] == [("Agent a", 2), ("Owner a", 1)]
    shop = body["shop"]
    assert shop["first_response"] == {"count": 3, "median": 120.0, "p90": 300.0}
    assert shop["response"] == {"count": 5, "median": 90.0, "p90": 300.0}
    assert shop["resolution"] == {"count": 3, "median": 1200.0, "p90": 1800.0}
    assert shop["ratings"] == {
        "average": 3.33,
        "count": 3,
        "distribution": {"1": 0, "2": 1, "3": 1, "4": 0, "5": 1},
    }
    assert (shop["missed"], shop["calls"]) == (2, {"answered": 1, "missed": 1})
    assert body["left_messages"] == 1
    assert body["robot"] == {
        "conversations": 2,
        "resolved": 1,
        "handed_over": 1,
        "resolved_share": 0.5,
        "handover_rate": 0.5,
    }
    other = api.as_shop(two_tenants.b).get("/analytics/team", query_string=dates).get_json()
    assert other["agents"] == [] and other["shop"]["chats"] == 0 and other["robot"] is None

    refused = api.get("/analytics/team", query_string={"from": "2026-12-10", "to": "2026-12-01"})
    assert refused.status_code == 422 and refused.get_json()["error"] == "range_invalid"
    assert api.get("/analytics/team", query_string={"from": "12/01"}).status_code == 422


def test_on_free_the_report_is_locked_and_its_events_kept(client, two_tenants, worked):
    a = two_tenants.a
    dates = {"from": worked.start.isoformat(), "to": worked.end.isoformat()}
    set_tenant(a, plan_code="free", trial_plan_code=None, trial_ends_at=None)
    login(client, a.owner)
    for url in (PAGE, f"{PAGE}.csv"):
        locked = client.get(url, query_string=dates, headers={"Accept": "application/json"})
        assert locked.status_code == 402 and locked.get_json()["feature"] == "analytics", url
    api = Api(client, a.api_token)
    locked = api.get("/analytics/team", query_string=dates)
    assert locked.status_code == 402 and locked.get_json()["feature"] == "analytics"
    set_tenant(a, plan_code="pro")
    body = api.get("/analytics/team", query_string=dates).get_json()
    assert body["shop"]["chats"] == 3 and body["shop"]["missed"] == 2


def test_a_local_day_of_a_shop_with_daylight_saving(two_tenants):
    """New York's 8 March 2026 is 23 hours long (05:00 to 04:00 UTC the next day): the events
    just inside it count, the ones just outside do not."""
    a = two_tenants.a
    set_tenant(a, timezone="America/New_York")
    bind_tenant(a.tenant.id)
    moments = {
        "2026-03-08T04:59:59": 1.0,  # 23:59:59 on the 7th (EST)
        "2026-03-08T05:00:00": 2.0,  # midnight (EST)
        "2026-03-09T03:59:59": 4.0,  # 23:59:59 on the 8th (EDT)
        "2026-03-09T04:00:00": 8.0,  # midnight of the 9th (EDT)
    }
    for moment, seconds in moments.items():
        at = datetime.fromisoformat(moment).replace(tzinfo=UTC)
        recording.event("first_response", at, agent_id=a.agent.id, conversation_id=1, value=seconds)
    db.flush()
    day = date(2026, 3, 8)
    report = team.report(Period(day, day))
    assert sorted(report.total.first_response.values) == [2.0, 4.0]
    assert [r.name for r in report.rows] == ["Agent a"]


def test_after_the_robots_handover_the_first_response_is_timed_from_it(app, two_tenants):
    """The robot held the chat for a while: people were asked only at the handover."""
    a = two_tenants.a
    robot(a, "answer_first")
    with app.app_context():
        bind_tenant(a.tenant.id)
        start = utcnow() - timedelta(minutes=10)
        conversation = visitor_says(new_visitor(8), "v8-1", "human please", start)
        handed = db.scalar(
            select(AnalyticsEvent.at).where(
                AnalyticsEvent.name == "robot_handover",
                AnalyticsEvent.conversation_id == conversation.id,
            )
        )
        agent_says(a.agent, conversation, "a8-1", handed + timedelta(seconds=45))
        chat.close(conversation.id, now=handed + timedelta(seconds=100))
        db.commit()
        today = local(utcnow(), a.tenant.timezone).date()
        # the reply is a minute ahead of the clock: tomorrow too, should it cross midnight
        report = team.report(Period(today - timedelta(days=1), today + timedelta(days=1)))
    agent = row_of(report, "Agent a")
    assert agent.first_response.values == [45.0]
    assert agent.resolved.values == [(handed - start).total_seconds() + 100]
    assert report.robot.handed_over == 1 and report.robot.resolved == 0
    assert report.total.missed == 0


def test_a_calls_events_out_of_order_leave_one_outcome(two_tenants):
    """The provider's "answered" came first, its "ringing" (earlier) later: the call's start
    moved back, and the call is still one answered call, dated at its start."""
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    t0 = utcnow().replace(microsecond=0) - timedelta(hours=1)
    connection = a.call_connection
    ring(connection, "late-1", t0, ("answered", 10, {}), ("ringing", 0, {}), ("ended", 90, {}))
    db.commit()
    today = local(utcnow(), a.tenant.timezone).date()
    owner = row_of(team.report(Period(today - timedelta(days=1), today)), "Owner a")
    assert (owner.call_answered, owner.call_missed) == (1, 0)
    outcomes = db.execute(
        select(AnalyticsEvent.name, AnalyticsEvent.at).where(
            AnalyticsEvent.name.in_(("call_answered", "call_missed")),
            AnalyticsEvent.at >= t0 - timedelta(minutes=1),
        )
    ).all()
    assert outcomes == [("call_answered", t0)]
