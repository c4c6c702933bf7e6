"""The robot in the agent's console, in real browsers: a visitor's question brings the
knowledge base's answers under it, the agent puts one into the reply box with a key or a
click, edits and sends it as their own; the robot's own messages read "Robot"."""

from __future__ import annotations

import functools
import http.server
import threading
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.chat.models import Conversation, Message
from app.robot import knowledge
from app.robot.schemas import EntryInput
from tenants.db import bind_tenant, cross_tenant, db
from tenants.models import Tenant

from ..conftest import free_port
from ..live import sign_up
from .conftest import screenshot
from .test_chat import QuietHandler, agent_page

pytestmark = pytest.mark.e2e
SHIPPING = "Do you ship to Hangzhou?"
SHIPPING_ANSWER = "Yes, in two days. Rates: https://shop.example/shipping"
RETURNS = "How do I return an item?"


def as_shop(site_key: str, change) -> None:
    """Write to the live server's database as the shop (the test's own connection)."""
    with cross_tenant():
        tenant_id = db.scalar(select(Tenant.id).where(Tenant.site_key == site_key))
    db.remove()
    bind_tenant(tenant_id)
    try:
        change()
        db.commit()
    finally:
        db.remove()


def robot_suggests() -> None:
    knowledge.settings(create=True).mode = "suggest"
    for question, answer in ((SHIPPING, SHIPPING_ANSWER), (RETURNS, "Within 7 days.")):
        knowledge.create_entry(EntryInput(question=question, answer=answer))


@pytest.fixture
def shop(live_server, tmp_path):
    session, site_key = sign_up(live_server, f"robot-{uuid.uuid4().hex[:6]}")
    (tmp_path / "index.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Tea House</title>"
        f'</head><body><script async src="{live_server.url}/w/{site_key}.js"></script>'
        "</body></html>"
    )
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield session, site_key, f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()


def test_the_agent_inserts_a_suggested_answer_edits_and_sends_it(browser, live_server, shop, page):
    session, site_key, shop_url = shop
    as_shop(site_key, robot_suggests)
    agent = agent_page(browser, live_server, session)
    agent.locator('#status-switch [data-status="online"]').click()

    page.goto(shop_url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()
    box = widget.locator("textarea").first
    box.fill("hello")
    box.press("Enter")
    agent.locator(".conv-row").first.click()
    expect(agent.locator("#msg-list")).to_contain_text("hello")
    box.fill("do you ship to hangzhou?")
    box.press("Enter")

    suggestions = agent.locator("#robot-suggest")
    expect(suggestions).to_be_visible()
    first = suggestions.locator(".robot-suggestion").first
    expect(first.locator(".robot-q")).to_have_text(SHIPPING)
    expect(first.locator(".robot-a")).to_have_text(SHIPPING_ANSWER)
    expect(first.locator("kbd")).to_have_text("Alt+1")
    expect(suggestions).not_to_contain_text(RETURNS)  # not near the question
    screenshot(agent, "robot-suggestions")

    composer = agent.locator("#composer-input")
    composer.press("Alt+1")
    expect(composer).to_have_value(SHIPPING_ANSWER)
    composer.press("End")
    composer.press_sequentially(" Free over ¥99.")
    composer.press("Enter")
    sent = SHIPPING_ANSWER + " Free over ¥99."
    expect(widget.locator(".m.a .bb").last).to_have_text(sent)
    expect(agent.locator("#msg-list .msg.agent").last).to_contain_text(sent)
    expect(suggestions).to_be_hidden()  # answered

    # the next question: a click puts its answer in, and a reload shows them again
    box.fill("How do I return an item")
    box.press("Enter")
    expect(suggestions.locator(".robot-q").first).to_have_text(RETURNS)
    agent.reload()
    expect(agent.locator("#live-conn")).to_have_attribute("data-state", "online")
    expect(suggestions.locator(".robot-q").first).to_have_text(RETURNS)
    suggestions.locator(".robot-suggestion").first.click()
    expect(composer).to_have_value("Within 7 days.")
    expect(composer).to_be_focused()
    screenshot(agent, "robot-suggestion-clicked")


# the buttons of a robot message, once the chat's part has given messages their options
CHOICES = (
    {
        "options": {
            "kind": "choose",
            "items": [{"id": 1, "label": "退货运费险"}, {"id": 2, "label": "运费"}],
            "chosen": 1,
        }
    }
    if hasattr(Message, "options")
    else {}
)


def test_the_robots_messages_and_held_chats_read_as_the_robots(browser, live_server, shop, page):
    """The chat's robot (another part) posts messages with buttons and holds chats; the
    console tells them apart. Made here as that part stores them."""
    session, site_key, shop_url = shop
    agent = agent_page(browser, live_server, session)
    agent.locator('#status-switch [data-status="online"]').click()
    page.goto(shop_url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()
    widget.locator("textarea").first.fill("运费险怎么买")
    widget.locator("textarea").first.press("Enter")
    expect(agent.locator(".conv-row").first).to_contain_text("运费险怎么买")  # stored

    def robot_answers():
        conversation = db.scalar(select(Conversation))
        conversation.last_seq += 1
        conversation.status = "held"
        db.add(
            Message(
                conversation_id=conversation.id,
                seq=conversation.last_seq,
                sender="robot",
                client_id=f"robot-{uuid.uuid4().hex}",
                body="Did you mean:",
                **CHOICES,
            )
        )

    as_shop(site_key, robot_answers)
    agent.reload()
    agent.locator('#conv-tabs [data-tab="all"]').click()
    row = agent.locator(".conv-row").first
    expect(row.locator(".tag.held")).to_have_text("With the robot")
    row.click()
    robot = agent.locator("#msg-list .msg.robot")
    expect(robot).to_contain_text("Did you mean:")
    expect(robot.locator(".robot-label")).to_have_text("Robot")
    expect(agent.locator("#chat-assignee")).to_have_text("The robot is answering")
    if CHOICES:
        expect(robot.locator(".chip")).to_have_text(["退货运费险", "运费"])
        expect(robot.locator(".chip.chosen")).to_have_text("退货运费险")
    screenshot(agent, "robot-message")
