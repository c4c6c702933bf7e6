"""Tenant isolation through every route: a foreign id answers 404, exactly like a missing one."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.analytics import rollups
from app.analytics.models import (
    AnalyticsEvent,
    AnalyticsOrder,
    AnalyticsVisit,
    OrdersDaily,
    TrafficDaily,
    VolumeHourly,
)
from app.api.models import ApiKey
from app.calls.models import AgentLine, Call, CallConnection, CallNumber, FollowUpRule, Task
from app.calls.recordings import recording_path
from app.chat.models import (
    AgentView,
    Attachment,
    Conversation,
    Group,
    GroupMember,
    InvitationRule,
    LeftMessage,
    Message,
    QuickReply,
    WidgetRefusal,
)
from app.crm.models import (
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    CustomField,
    Order,
    SavedFilter,
    TimelineEntry,
)
from app.push.models import PushSubscription, PushTopic
from app.robot.models import RobotEntry, RobotImport, RobotQuestion, RobotSettings
from tenants.db import bind_tenant, db, utcnow
from tenants.models import Invitation, Membership

from ..conftest import login
from ..crm.test_recognition import hello

# How to find tenant A's object for each id argument a route may take. A new route with an
# id must add its argument here, or the walk below fails: no route escapes the check.
ID_ARGUMENTS = {
    "membership_id": lambda shop: shop.agent.id,
    "attachment_id": lambda shop: shop.attachment.id,
    "conversation_id": lambda shop: shop.conversation.id,
    "left_message_id": lambda shop: shop.left_message.id,
    "quick_reply_id": lambda shop: shop.quick_reply.id,
    "group_id": lambda shop: shop.group.id,
    "rule_id": lambda shop: shop.rule.id,
    "visitor_id": lambda shop: shop.visitor.id,
    "import_id": lambda shop: shop.crm_import.id,
    "customer_id": lambda shop: shop.customer.id,
    "other_id": lambda shop: shop.customer.id,  # merge with: refused as the same, never a 404
    "filter_id": lambda shop: shop.saved_filter.id,
    "device_id": lambda shop: shop.device_id,
    "field_id": lambda shop: shop.custom_field.id,
    "order_id": lambda shop: shop.order.external_id,  # /api/v1: the shop's own order id
    "key_id": lambda shop: shop.api_key.id,
    "refusal_id": lambda shop: shop.widget_refusal_id,
    "connection_id": lambda shop: shop.call_connection.id,
    "number_id": lambda shop: shop.call_number.id,
    "line_id": lambda shop: shop.agent_line.id,
    "call_id": lambda shop: shop.call.id,
    "task_id": lambda shop: shop.task.id,
    "follow_up_id": lambda shop: shop.follow_up_rule.id,
    "entry_id": lambda shop: shop.robot_entry.id,
    "question_id": lambda shop: shop.robot_question.id,
    "robot_import_id": lambda shop: shop.robot_import.id,
}
# Arguments that are not ids: secrets (a token proves itself whoever holds it) and the
# public site key that names a shop (tests/app/test_widget.py covers those routes).
SECRET_ARGUMENTS = {"token", "filename", "site_key"}


@pytest.fixture(autouse=True)
def widget_refusals(two_tenants):
    """A website each shop's widget was refused on, so the walk covers its allow/dismiss."""
    for shop in (two_tenants.a, two_tenants.b):
        bind_tenant(shop.tenant.id)
        refusal = WidgetRefusal(host="elsewhere.example", day=utcnow().date(), count=1)
        db.add(refusal)
        db.flush()
        shop.widget_refusal_id = refusal.id
        db.commit()
    bind_tenant(None)


@pytest.fixture(autouse=True)
def owners_phones(two_tenants):
    """Each shop's owner has a phone opted in to Web Push, so the walk covers its settings."""
    for shop in (two_tenants.a, two_tenants.b):
        bind_tenant(shop.tenant.id)
        phone = PushSubscription(
            membership_id=shop.owner.id,
            endpoint=f"https://push.example/{shop.tenant.id}",
            p256dh="BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I",
            auth="tBHItJI5svbpez7KI4CCXg",
            away_kinds=[],  # never pushed to: push.example is out of reach
        )
        db.add(phone)
        db.flush()
        shop.device_id = phone.id
        db.commit()
    bind_tenant(None)


@pytest.fixture(autouse=True)
def call_recordings(app, two_tenants):
    """Each shop's call has its recording, so the walk plays it to its shop only."""
    with app.app_context():  # leaving it ends the session: after the commits
        for shop in (two_tenants.a, two_tenants.b):
            bind_tenant(shop.tenant.id)
            call = db.get(Call, shop.call.id)
            path = recording_path(shop.tenant.id, call.id)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"ID3 recording of " + shop.tenant.name.encode())
            call.recording_file = f"recordings/{shop.tenant.id}/{call.id}.mp3"
            db.commit()
        bind_tenant(None)


def state_of(shop):
    """Every row of the shop's that a route could change."""
    bind_tenant(shop.tenant.id)
    state = {  # Core selects are not ORM-filtered: say which shop
        model.__tablename__: {
            repr(tuple(row))  # JSON columns load as dicts, which a set cannot hold
            for row in db.execute(
                select(model.__table__).where(model.__table__.c.tenant_id == shop.tenant.id)
            )
        }
        for model in (
            Membership,
            Invitation,
            LeftMessage,
            QuickReply,
            Group,
            GroupMember,
            InvitationRule,
            Conversation,
            Message,
            Attachment,
            Customer,
            CustomerPhone,
            CustomerEmail,
            CustomerTag,
            CustomField,
            Order,
            TimelineEntry,
            SavedFilter,
            ApiKey,
            WidgetRefusal,
            CallConnection,
            CallNumber,
            AgentLine,
            Call,
            Task,
            FollowUpRule,
            RobotEntry,
            RobotQuestion,
            RobotSettings,
            RobotImport,
            AnalyticsVisit,
            AnalyticsEvent,
            AnalyticsOrder,
            TrafficDaily,
            OrdersDaily,
            VolumeHourly,
            PushSubscription,
            PushTopic,
            AgentView,
        )
    }
    bind_tenant(None)
    return state


def routes_with_ids(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/backoffice"):
            continue  # platform staff see every shop; tests/billing/test_backoffice.py walks it
        if "token" in rule.arguments:
            continue  # a provider's signed request names the shop: tests/calls/ probe its ids
        ids = set(rule.arguments) - SECRET_ARGUMENTS
        if ids:
            yield rule, ids


def test_every_route_with_an_id_answers_404_to_another_tenant(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    rules = list(routes_with_ids(app))
    assert len(rules) >= 4, "the walk must cover the member routes at least"
    before = state_of(a)
    login(client, b.owner)
    as_b = {"Authorization": f"Bearer {b.api_token}"}  # /api/v1 takes B's key, not the cookie
    for rule, ids in rules:
        unknown = ids - ID_ARGUMENTS.keys()
        assert not unknown, f"{rule.rule}: add {unknown} to ID_ARGUMENTS"
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **{arg: ID_ARGUMENTS[arg](a) for arg in ids})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"role": "admin"}, headers=as_b)
            assert response.status_code == 404, f"{method} {rule.rule} -> {response.status_code}"
    assert state_of(a) == before


def test_the_same_routes_work_for_the_owning_tenant(app, client, two_tenants):
    """The control: the walk above would prove nothing if every route always said 404."""
    a = two_tenants.a
    login(client, a.owner)
    as_a = {"Authorization": f"Bearer {a.api_token}"}
    calls = []
    for rule, ids in routes_with_ids(app):
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **{arg: ID_ARGUMENTS[arg](a) for arg in ids})
        calls += [(method, url, rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    # the DELETEs last: a route walked after one would find its object gone
    for method, url, rule in sorted(calls, key=lambda call: call[0] == "DELETE"):
        response = client.open(url, method=method, data={"role": "admin"}, headers=as_a)
        assert response.status_code != 404, f"{method} {rule.rule}"


def test_missing_id_answers_the_same_404(client, two_tenants):
    login(client, two_tenants.b.owner)
    foreign_id = two_tenants.a.agent.id
    missing = client.post("/console/members/999999/disable")
    foreign = client.post(f"/console/members/{foreign_id}/disable")
    assert missing.status_code == foreign.status_code == 404

    # the same page but for the id echoed in the language switch's return path (and the
    # CSRF token, which carries a timestamp)
    def page(response, ident):
        text = re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(True))
        return text.replace(f"/{ident}/", "/ID/")

    assert page(missing, 999999) == page(foreign, foreign_id)


# --- the figures: analytics' pages, exports and API ------------------------------------------

A_ONLY = "a-only-8341"  # what shop A's traffic is tagged with, and nothing of B's


def analytics_routes(app):
    """Every GET route of analytics' console pages, exports and API, from the url_map."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("analytics", "api_analytics") and "GET" in rule.methods:
            yield rule


def figures_of(app, client, viewer, api_token: str) -> dict[str, str]:
    """Each analytics route's answer to ``viewer``, cut by keyword over the last two days; an
    id in a route is the viewer's own object."""
    from flask import url_for

    answers = {}
    for rule in analytics_routes(app):
        ids = set(rule.arguments) - SECRET_ARGUMENTS
        with app.test_request_context():
            url = url_for(rule.endpoint, **{arg: ID_ARGUMENTS[arg](viewer) for arg in ids})
        today = rollups.local(utcnow(), viewer.tenant.timezone).date()
        period = {"from": str(today - timedelta(days=1)), "to": str(today)}
        auth = {"Authorization": f"Bearer {api_token}"}
        response = client.get(url, query_string={**period, "by": "keyword"}, headers=auth)
        if response.status_code == 422:  # a report not cut by dimension: the API refuses "by"
            response = client.get(url, query_string=period, headers=auth)
        assert response.status_code == 200, f"{rule.rule} -> {response.status_code}"
        answers[rule.rule] = response.get_data(True)
    return answers


def test_no_analytics_route_shows_another_shops_figures(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    campaign = f"?utm_source=baidu&utm_medium=cpc&utm_term={A_ONLY}&utm_campaign={A_ONLY}"
    hello(client, a, url=f"https://tea-shop.example/{A_ONLY}{campaign}")
    hello(client, b, url="https://b-shop.example/?utm_source=weibo")
    for shop in (a, b):
        bind_tenant(shop.tenant.id)
        rollups.roll()
        db.commit()
    bind_tenant(None)
    login(client, a.owner)
    own = figures_of(app, client, a, a.api_token)
    assert A_ONLY in own["/console/analytics"]  # the control: A's own funnel shows it
    login(client, b.owner)
    seen_by_b = figures_of(app, client, b, b.api_token)
    assert seen_by_b.keys() == own.keys()
    assert [rule for rule, page in seen_by_b.items() if A_ONLY in page] == []
