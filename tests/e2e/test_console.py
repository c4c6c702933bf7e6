"""The agent console as an agent meets it in the first week: online when working, chats waiting
on the home page, a message that could not be sent says so, sound that can be turned on, links
in messages, the identity secret's copy button."""

# ruff: noqa: F811 (the tests take the imported `shop` fixture as a parameter)
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .test_chat import shop  # noqa: F401 (the fixture: a shop, its page on another origin)

pytestmark = pytest.mark.e2e
SHOTS = Path("/work/shots/console")
# Headless Chromium lets every page play sound; a browser after a reload keeps the AudioContext
# suspended until the person has clicked or typed in the page. This makes the page's do the same.
BLOCKED_AUDIO = """
  let clicked = false;  // a person's own click or key, as the browser counts them
  const mark = (e) => { if (e.isTrusted) clicked = true; };
  addEventListener("pointerdown", mark, true);
  addEventListener("keydown", mark, true);
  const Real = window.AudioContext;
  window.AudioContext = class extends Real {
    constructor(...args) { super(...args); this.suspend(); }
    resume() { return clicked ? super.resume() : Promise.resolve(); }
  };
"""


def console(browser, live_server, session, path="/console/conversations", init_script=None):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.goto(live_server.url + path)
    return page


def connected(page):
    expect(page.locator("#live-conn")).to_have_attribute("data-state", "online")
    return page


def visitor_says(page, shop_url, text):
    page.goto(shop_url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()
    box = widget.locator("textarea").first
    box.fill(text)
    box.press("Enter")
    expect(widget.locator(".m.v .bb").last).to_have_text(text)
    return widget


def status(page, name):
    return page.locator(f'#status-switch [data-status="{name}"]')


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_new_agent_is_online_without_clicking_and_keeps_their_choice(
    browser, live_server, shop, page
):
    session, shop_url = shop
    agent = connected(console(browser, live_server, session))
    expect(status(agent, "online")).to_have_attribute("aria-checked", "true")

    visitor_says(page, shop_url, "Is the Longjing fresh?")  # reaches the agent: no click
    expect(agent.locator("#msg-list")).to_contain_text("Is the Longjing fresh?")

    status(agent, "away").click()
    expect(status(agent, "away")).to_have_attribute("aria-checked", "true")
    agent.reload()
    connected(agent)
    expect(status(agent, "away")).to_have_attribute("aria-checked", "true")
    expect(status(agent, "online")).to_have_attribute("aria-checked", "false")
    agent.context.close()


def test_the_console_home_lists_waiting_chats_with_links(browser, live_server, shop, page):
    session, shop_url = shop
    agent = connected(console(browser, live_server, session))
    page.goto(shop_url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()
    box = widget.locator("textarea").first
    expect(box).to_be_visible()  # the chat was offered while the agent was online ...
    status(agent, "away").click()  # ... who stepped away: the first message waits in the queue
    expect(status(agent, "away")).to_have_attribute("aria-checked", "true")
    box.fill("Anyone there? I want 5 kg.")
    box.press("Enter")
    expect(agent.locator("#count-queue")).to_have_text("1")  # stored, and waiting

    agent.goto(f"{live_server.url}/console/")
    waiting = agent.locator("#waiting-chats")
    expect(waiting).to_contain_text("Anyone there? I want 5 kg.")
    shot(agent, "home-waiting")
    waiting.get_by_role("link", name=re.compile("^#")).first.click()
    expect(agent).to_have_url(re.compile(r"/console/conversations#c\d+$"))
    expect(agent.locator("#msg-list")).to_contain_text("Anyone there? I want 5 kg.")
    agent.context.close()


def test_an_unacknowledged_send_says_not_sent_and_the_retry_stores_it_once(
    browser, live_server, shop, page
):
    session, shop_url = shop
    blocked = {"on": False}

    def relay(ws):
        """The agent's socket through a switch: while on, the server's answers to a send (its
        ack and the stored message) never arrive, as on a connection that broke."""
        server = ws.connect_to_server()
        ws.on_message(server.send)

        def to_page(frame):
            lost = isinstance(frame, str) and re.match(r'43/agent,|42/agent,\["message"', frame)
            if not (blocked["on"] and lost):
                ws.send(frame)

        server.on_message(to_page)

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    context.add_init_script(BLOCKED_AUDIO)
    context.route_web_socket(re.compile(r"/socket\.io/"), relay)
    agent = context.new_page()
    agent.goto(f"{live_server.url}/console/conversations")
    connected(agent)
    expect(agent.locator("#sound-hint")).to_be_visible()
    widget = visitor_says(
        page, shop_url, "Track it: javascript:alert(1) or https://shop.example/t?id=7."
    )

    # the visitor's link is a link, the javascript: one is text
    visitor_text = agent.locator("#msg-list .msg.visitor .text").last
    expect(visitor_text).to_have_text(
        "Track it: javascript:alert(1) or https://shop.example/t?id=7."
    )
    link = visitor_text.locator("a")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", "https://shop.example/t?id=7")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")

    expect(agent.locator("#sound-hint")).to_be_visible()
    blocked["on"] = True
    reply = "Here: https://shop.example/orders/7"
    agent.locator("#composer-input").fill(reply)  # no click or key: the sound stays blocked
    agent.evaluate("document.getElementById('composer').requestSubmit()")
    failed = agent.locator("#msg-pending .msg.failed")
    expect(failed.get_by_role("button", name="Not sent — retry")).to_be_visible(timeout=10000)
    expect(agent.locator("#sound-hint")).to_be_visible()
    shot(agent, "conversations-not-sent-and-sound-hint")

    blocked["on"] = False
    failed.get_by_role("button", name="Not sent — retry").click()
    expect(agent.locator("#msg-pending .msg")).to_have_count(0)
    mine = agent.locator("#msg-list .msg.agent")
    expect(mine).to_have_count(1)
    expect(mine.locator("a")).to_have_attribute("href", "https://shop.example/orders/7")
    expect(widget.locator(".m.a .bb").filter(has_text=reply)).to_have_count(1)

    agent.reload()  # what the server stored: one message
    connected(agent)
    agent.locator(".conv-row").first.click()
    expect(agent.locator("#msg-list .msg.agent")).to_have_count(1)
    expect(agent.locator("#msg-list .msg.agent .text")).to_have_text(reply)
    assert agent.locator('#msg-list a[href^="javascript"]').count() == 0
    context.close()


def test_an_oversized_upload_says_the_limit_and_is_not_sent(browser, live_server, shop, page):
    session, shop_url = shop
    agent = connected(console(browser, live_server, session))
    visitor_says(page, shop_url, "Can I see a photo?")
    expect(agent.locator("#msg-list")).to_contain_text("Can I see a photo?")
    uploads = []
    agent.on("request", lambda r: uploads.append(r.url) if "/api/uploads" in r.url else None)
    agent.locator("#attach-file").set_input_files(
        {"name": "huge.png", "mimeType": "image/png", "buffer": b"\0" * (10 * 1024 * 1024 + 1)}
    )
    expect(agent.locator(".toast.error")).to_contain_text("Files can be at most 10 MB.")
    expect(agent.locator("#msg-pending .msg")).to_have_count(0)
    assert uploads == []
    agent.context.close()


def test_the_sound_hint_shows_while_audio_is_blocked_and_goes_with_one_click(
    browser, live_server, shop
):
    session, _ = shop
    agent = connected(console(browser, live_server, session, init_script=BLOCKED_AUDIO))
    hint = agent.get_by_role("button", name="Enable sound")
    expect(hint).to_be_visible()
    hint.click()
    expect(hint).to_be_hidden()
    assert agent.evaluate("document.querySelector('#sound-toggle').textContent") == "Sound on"
    agent.context.close()


def test_the_identity_secrets_copy_button_copies_and_says_so(browser, live_server, shop):
    session, _ = shop
    agent = console(browser, live_server, session, path="/console/settings/identity")
    agent.context.grant_permissions(["clipboard-read", "clipboard-write"])
    errors = []
    agent.on("pageerror", lambda e: errors.append(str(e)))
    secret = agent.locator("#identity-secret").input_value()
    agent.get_by_role("button", name="Copy").click()
    expect(agent.locator("#copy-secret")).to_have_text("Copied")
    assert agent.evaluate("navigator.clipboard.readText()") == secret
    assert errors == []
    agent.context.close()
