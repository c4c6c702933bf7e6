"""Callback tasks in a real browser: a call rings and ends unanswered through the signed generic
webhook, and within 5 s the agent's console shows the callback task — on the start page's
"calls to make today", in the navigation's count and on the tasks page — without a reload; the
agent marks it done with an outcome and a note."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import create_engine, insert, text

from app.calls import hooks
from app.calls import secrets as call_secrets
from app.calls.models import CallConnection, CallNumber
from tenants.db import database_url, utcnow

from ..live import sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e
LIVE_CONFIG = {"SECRET_KEY": "live-test-secret", "ENCRYPTION_KEYS": []}  # tests/live.py's


@pytest.fixture
def shop_with_hook(live_server, database):
    """A shop on its trial (calls open) with a signed generic hook and one number."""
    label = f"tasks-{uuid.uuid4().hex[:6]}"
    session, _ = sign_up(live_server, label)
    secret, token = f"whsec-{uuid.uuid4().hex}", uuid.uuid4().hex
    engine = create_engine(database_url(database.owner_url))
    with engine.begin() as conn:
        tenant_id = conn.scalar(
            text("SELECT id FROM tenants WHERE name = :name"), {"name": f"Shop {label}"}
        )
        connection_id = conn.execute(
            insert(CallConnection.__table__)
            .values(
                tenant_id=tenant_id,
                kind="generic",
                name="PBX",
                token=token,
                signing="signature",
                secret_enc=call_secrets.encrypt(secret, LIVE_CONFIG),
                enabled=True,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
            .returning(CallConnection.__table__.c.id)
        ).scalar_one()
        conn.execute(
            insert(CallNumber.__table__).values(
                tenant_id=tenant_id,
                connection_id=connection_id,
                e164="+862160000000",
                token=uuid.uuid4().hex,
                label="Hotline",
                created_at=utcnow(),
            )
        )
    engine.dispose()
    return session, token, secret


def hook(server, token: str, secret: str, event: dict) -> float:
    """Post one signed event; the moment the provider has its answer."""
    body = json.dumps(event).encode()
    signed = {hooks.SIGNATURE_HEADER: hooks.sign(secret, body), "Content-Type": "application/json"}
    url = f"{server.url}/calls/hook/{token}"
    answer = requests.post(url, data=body, headers=signed, timeout=10)
    assert answer.status_code == 200, answer.text
    return time.monotonic()


def test_a_missed_call_appears_as_a_callback_task_and_is_done(browser, live_server, shop_with_hook):
    session, token, secret = shop_with_hook
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    home, tasks_page = context.new_page(), context.new_page()
    home.goto(f"{live_server.url}/console/")
    box = home.locator("#due-calls")
    expect(box).to_contain_text("No calls to make today")
    tasks_page.goto(f"{live_server.url}/console/calls/tasks")
    expect(tasks_page.locator("#group-today")).to_contain_text("No calls left to make today")
    # both pages' sockets are up before the phone rings
    time.sleep(1)

    call = f"e2e-{uuid.uuid4().hex[:6]}"
    hook(
        live_server,
        token,
        secret,
        {"event": "ringing", "call_id": call, "from": "13900000002", "to": "+862160000000"},
    )
    answered = hook(
        live_server, token, secret, {"event": "ended", "call_id": call, "cause": "cancel"}
    )
    # within 5 s of the webhook's answer, without a reload
    expect(box.locator(".due-list li")).to_have_count(1, timeout=5000)
    expect(tasks_page.locator("#group-today .task")).to_have_count(1, timeout=5000)
    assert time.monotonic() - answered < 5
    expect(box).to_contain_text("Call back 139 0000 0002")
    expect(box).to_contain_text("Caller hung up while ringing")
    expect(home.locator('[data-nav-count="calls.index"]')).to_have_text("1")
    screenshot(home, "calls-tasks-home")

    row = tasks_page.locator("#group-today .task").first
    expect(row).to_contain_text("Anyone (the shop's queue)")
    screenshot(tasks_page, "calls-tasks-due")
    row.get_by_text("Done…").click()
    row.get_by_label("No answer").check()
    row.get_by_placeholder("What was said, what was promised…").fill("Rang twice, voicemail.")
    screenshot(tasks_page, "calls-tasks-done-form")
    row.get_by_role("button", name="Mark done").click()
    expect(tasks_page.get_by_text("Marked done.")).to_be_visible()
    done = tasks_page.locator("#group-done .task")
    expect(done).to_have_count(1)
    expect(done).to_contain_text("No answer")
    expect(done).to_contain_text("Rang twice, voicemail.")
    expect(tasks_page.locator("#group-today")).to_contain_text("No calls left to make today")
    screenshot(tasks_page, "calls-tasks-after-done")

    home.reload()
    expect(box).to_contain_text("No calls to make today")
    expect(home.locator('[data-nav-count="calls.index"]')).to_be_hidden()
    context.close()


def test_a_rule_and_a_follow_up_scheduled_on_a_customers_record(browser, live_server):
    label = f"rules-{uuid.uuid4().hex[:6]}"
    session, _ = sign_up(live_server, label)
    new = f"{live_server.url}/console/customers/new"
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(new).text).group(1)
    created = session.post(
        new, data={"csrf_token": token, "name": "Wang Fang", "phones": "13800138000"}
    )
    assert "/console/customers/" in created.url, created.text[:300]
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    page = context.new_page()

    page.goto(f"{live_server.url}/console/calls/follow-ups")
    page.get_by_label("When an order becomes").fill("shipped")
    page.get_by_label("Call this many days later").fill("7")
    page.locator("#add-rule").get_by_label("What about").fill("Ask how the sample went")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_text("Rule added")).to_be_visible()
    expect(page.locator(".rule input[name=order_status]")).to_have_value("shipped")
    screenshot(page, "calls-follow-up-rules")

    page.goto(created.url)
    box = page.locator("#calls-follow-up")
    box.get_by_label("What about").fill("Tell her the spring Longjing is in")
    box.get_by_label("When").fill("2031-04-02T15:30")
    box.get_by_role("button", name="Schedule the call").click()
    expect(page.get_by_text("Follow-up call scheduled.")).to_be_visible()
    expect(box.locator(".customer-tasks li")).to_contain_text("Tell her the spring Longjing is in")
    expect(box.locator(".customer-tasks li")).to_contain_text("4/2/31, 3:30 PM")  # shop time
    screenshot(page, "calls-customer-follow-up")

    page.get_by_role("button", name="中文").click()
    page.goto(f"{live_server.url}/console/calls/tasks?who=all")
    upcoming = page.locator("#group-upcoming .task")
    expect(upcoming).to_have_count(1)
    expect(upcoming).to_contain_text("Wang Fang")
    expect(upcoming).to_contain_text("138 0013 8000")
    screenshot(page, "calls-tasks-zh")
    context.close()
