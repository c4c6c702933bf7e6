"""The chat as people use it: a shop page on another origin with the one-line snippet, a
visitor in one browser, an agent at the console in another."""

from __future__ import annotations

import functools
import http.server
import threading
import uuid

import pytest
from playwright.sync_api import expect

from ..conftest import free_port
from ..live import sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        """The shop's own web server: its access log is not the test's business."""


@pytest.fixture
def shop(live_server, tmp_path):
    """A shop of its own, and its web page served from another origin with the snippet."""
    session, site_key = sign_up(live_server, f"shop-{uuid.uuid4().hex[:6]}")
    page = tmp_path / "index.html"
    page.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Tea House · Longjing</title>"
        "<style>* { font-family: serif !important; color: red !important; }"
        " button { display: none !important; }</style></head><body><h1>Longjing tea</h1>"
        f'<script async src="{live_server.url}/w/{site_key}.js"></script></body></html>'
    )
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield session, f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()


def agent_page(browser, live_server, session):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/console/conversations")
    expect(page.locator("#live-conn")).to_have_attribute("data-state", "online")
    return page


def test_visitor_and_agent_chat_with_preview_reply_and_rating(browser, live_server, shop, page):
    session, shop_url = shop
    agent = agent_page(browser, live_server, session)
    agent.locator('#status-switch [data-status="online"]').click()
    expect(agent.locator('#status-switch [data-status="online"]')).to_have_attribute(
        "aria-checked", "true"
    )

    page.goto(shop_url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()  # the shop's CSS hides buttons: not this one
    box = widget.locator("textarea").first
    expect(box).to_be_visible()
    box.press_sequentially("Is the Longjing fresh", delay=30)
    # 消息预知: the agent reads the first message while it is being typed
    expect(agent.locator("#incoming")).to_contain_text("Is the Longjing fresh")
    screenshot(agent, "console-draft-preview")
    box.press_sequentially(f" this year? {XSS}")
    box.press("Enter")

    agent.locator(".conv-row").first.click()
    expect(agent.locator("#msg-list")).to_contain_text("Is the Longjing fresh this year?")
    expect(agent.locator("#msg-list")).to_contain_text("<script>window.__xss=2</script>")
    agent.locator("#composer-input").fill("Yes, picked in April. <b>not bold</b>")
    agent.locator("#composer-input").press("Enter")
    screenshot(agent, "console-chat")

    expect(widget.locator(".m.a .bb").last).to_have_text("Yes, picked in April. <b>not bold</b>")
    screenshot(page, "widget-chat")
    agent.locator("#btn-close").click()
    expect(widget.locator(".st")).to_be_visible()  # closing asks for a rating
    widget.locator(".st button").nth(4).click()
    widget.locator(".r .pb").click()
    screenshot(page, "widget-rated")
    assert page.evaluate("window.__xss || null") is None
    assert agent.evaluate("window.__xss || null") is None
    assert agent.locator("#msg-list img, #msg-list script").count() == 0
    agent.context.close()


def test_nobody_online_leave_a_message_lands_in_the_inbox(browser, live_server, shop, page):
    session, shop_url = shop
    page.goto(shop_url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()
    widget.get_by_label("Name").fill("Chen")
    widget.get_by_label("Phone").fill("138 0013 8000")
    widget.get_by_role("textbox", name="Message", exact=True).fill(
        "Please call me about 5 kg of Longjing."
    )
    screenshot(page, "widget-leave-message")
    widget.get_by_role("button", name="Send message").click()
    expect(widget.get_by_text("Thank you! We'll get back to you soon.")).to_be_visible()

    agent = agent_page(browser, live_server, session)
    agent.goto(f"{live_server.url}/console/messages")
    card = agent.locator("article.left-message").first
    expect(card).to_contain_text("Please call me about 5 kg of Longjing.")
    expect(card).to_contain_text("138 0013 8000")
    screenshot(agent, "console-inbox")
    agent.context.close()
