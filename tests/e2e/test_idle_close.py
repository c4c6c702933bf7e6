"""Idle chats close themselves (issue 11, item 3), in a real browser.

The only agent online has a limit of one chat. A visitor chats and leaves; half an hour later
nobody wrote. Before: that chat stayed "open", counted against the limit, and the next visitor
was queued while the agent sat idle; the side panel kept showing it as in progress. Now the
clock closes it, the console and its side panel show it closed at once, and the next visitor
is assigned.

Time is moved, not waited for: the server's clock ticks every second here
(CHAT_IDLE_CHECK_SECONDS), and the test sets the chat's last activity 31 minutes back, as a
half hour of silence would have left it.
"""

from __future__ import annotations

import functools
import http.server
import threading
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from app.chat.models import ChatSettings, Conversation, Visitor
from tenants.db import utcnow
from tenants.models import Tenant

from ..conftest import free_port
from ..live import LiveServer, sign_up
from .conftest import screenshot
from .test_chat import QuietHandler, agent_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(own_database):
    server = LiveServer(own_database.app_url, extra_env={"CHAT_IDLE_CHECK_SECONDS": "1"})
    yield server
    server.stop()


@pytest.fixture
def shop_page(server, tmp_path):
    session, site_key = sign_up(server, f"idle-{uuid.uuid4().hex[:6]}")
    (tmp_path / "index.html").write_text(
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>Tea</title></head>"
        f'<body><h1>Longjing</h1><script async src="{server.url}/w/{site_key}.js"></script>'
        "</body></html>"
    )
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    web = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    yield session, site_key, f"http://127.0.0.1:{web.server_port}/index.html"
    web.shutdown()


def visitor_says(browser, url: str, text: str):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()
    box = widget.locator("textarea").first
    box.fill(text)
    box.press("Enter")
    return context


def test_the_clock_closes_an_idle_chat_and_the_next_visitor_is_assigned(
    browser, server, shop_page, owner_engine
):
    session, site_key, url = shop_page
    with owner_engine.connect() as conn:
        tenant_id = conn.scalar(select(Tenant.id).where(Tenant.site_key == site_key))
    agent = agent_page(browser, server, session)
    agent.locator('#status-switch [data-status="online"]').click()
    expect(agent.locator('#status-switch [data-status="online"]')).to_have_attribute(
        "aria-checked", "true"
    )
    with owner_engine.begin() as conn:  # one chat at a time, so one idle chat fills it
        conn.execute(
            update(ChatSettings)
            .where(ChatSettings.tenant_id == tenant_id)
            .values(max_chats_per_agent=1)
        )

    first = visitor_says(browser, url, "你好，龙井还有货吗？")
    row = agent.locator(".conv-row").first
    expect(row).to_contain_text("龙井还有货吗")
    row.click()
    panel = agent.locator("#visitor-panel")
    expect(panel.get_by_role("heading", name="Past conversations")).to_be_visible()
    phone = panel.locator('input[name="phone"]')
    phone.fill("13800138000")  # the customer they say they are
    expect(phone).to_have_value("13800138000")  # typed into the panel that stays
    panel.get_by_role("button", name="Link to a customer").click()
    chat_link = panel.locator("a[data-conversation-id]").first
    expect(chat_link.locator(".tag.open")).to_have_text("Open", timeout=15_000)  # in progress
    first.close()  # the visitor leaves

    with owner_engine.begin() as conn:  # ... and half an hour passes without a word
        idle_id = conn.scalar(
            select(Conversation.id).where(
                Conversation.tenant_id == tenant_id, Conversation.status == "open"
            )
        )
        visitor_id = conn.scalar(select(Conversation.visitor_id).where(Conversation.id == idle_id))
        then = utcnow() - timedelta(minutes=31)
        conn.execute(
            update(Conversation).where(Conversation.id == idle_id).values(last_message_at=then)
        )
        conn.execute(update(Visitor).where(Visitor.id == visitor_id).values(last_seen_at=then))

    # the server's clock closes it; the console and its side panel follow without a reload
    expect(agent.locator("#msg-list")).to_contain_text("30", timeout=15_000)
    expect(chat_link).to_have_attribute("data-status", "closed", timeout=10_000)
    expect(chat_link.locator(".tag.open")).to_have_count(0)
    expect(agent.locator(f'.conv-row[data-id="{idle_id}"]')).to_have_count(0)
    screenshot(agent, "idle-chat-closed-by-the-clock")

    second = visitor_says(browser, url, "在吗？")
    expect(agent.locator(".conv-row").first).to_contain_text("在吗", timeout=10_000)
    with owner_engine.connect() as conn:
        newest = conn.execute(
            select(Conversation.status, Conversation.assignee_id)
            .where(Conversation.tenant_id == tenant_id)
            .order_by(Conversation.id.desc())
        ).first()
        closed = conn.scalar(select(Conversation.status).where(Conversation.id == idle_id))
    assert closed == "closed"
    assert newest.status == "open" and newest.assignee_id is not None  # assigned, not queued
    second.close()
