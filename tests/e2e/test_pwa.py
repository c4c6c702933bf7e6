"""The console as an installed app on an agent's phone: its service worker keeps the shell (never
data), the offline page stands in while the server is out of reach and brings the console back
by itself, pushes show notifications that open their chat, and a phone that slept catches up on
what it missed, each message once."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from ..live import sign_up, visitor_client
from .conftest import screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(live_server):
    session, site_key = sign_up(live_server, f"pwa-{uuid.uuid4().hex[:6]}")
    return session, site_key


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1280, "height": 800}}


def console(browser, live_server, session, path="/console/conversations", device=PHONE, **options):
    """A console page of its own browser; `relay` routes its socket, `paused` stops its clock."""
    relay, paused = options.get("relay"), options.get("paused")
    context = browser.new_context(**device, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    if relay:
        context.route_web_socket(re.compile(r"/socket\.io/"), relay)
    page = context.new_page()
    if paused:  # the page's clock stands still: it moves only when the test moves it
        now = time.time()
        page.clock.install(time=now)
        page.clock.pause_at(now + 1)
    page.goto(live_server.url + path)
    return page


def controlled(page):
    """The service worker serves the page: registered, activated and claimed (no reload)."""
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)
    return page.context.service_workers[0]


def test_the_worker_keeps_the_shell_and_the_offline_page_brings_the_console_back(
    browser, live_server, shop
):
    session, _ = shop
    page = console(browser, live_server, session)
    expect(page.locator("#live-conn")).to_have_attribute("data-state", "online")
    controlled(page)

    manifest = page.evaluate(
        """async () => {
          const link = document.querySelector('link[rel="manifest"]');
          const answer = await fetch(link.href, {credentials: "include"});
          const body = await answer.json();
          const icons = [];
          for (const icon of body.icons) {
            const r = await fetch(new URL(icon.src, link.href));
            icons.push([icon.purpose, icon.sizes, r.status, r.headers.get("content-type")]);
          }
          return {type: answer.headers.get("content-type"), body, icons};
        }"""
    )
    assert manifest["type"] == "application/manifest+json"
    assert manifest["body"]["start_url"] == "/console/conversations"
    assert manifest["body"]["display"] == "standalone"
    theme = page.locator('meta[name="theme-color"]').get_attribute("content")
    assert manifest["body"]["theme_color"] == theme
    assert sorted(manifest["icons"]) == [
        ["any", "192x192", 200, "image/png"],
        ["any", "512x512", 200, "image/png"],
        ["maskable", "192x192", 200, "image/png"],
        ["maskable", "512x512", 200, "image/png"],
    ]

    # the cache holds the shell and the offline page: no page with data, no API answer
    cached = page.evaluate(
        """async () => {
          const urls = [];
          for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
          }
          return urls;
        }"""
    )
    assert "/static/console/js/chat.js" in cached and "/offline" in cached
    assert "/static/vendor/socket.io.min.js" in cached
    assert all(re.fullmatch(r"/static/[\w./-]+|/offline", url) for url in cached), cached

    page.context.set_offline(True)
    page.goto(f"{live_server.url}/console/visitors")
    expect(page.get_by_role("heading", name="The console is offline")).to_be_visible()
    assert page.url == f"{live_server.url}/console/visitors"  # the page wanted, kept
    screenshot(page, "pwa-offline")

    page.context.set_offline(False)  # it reloads by itself, to the page wanted
    expect(page.get_by_role("heading", name="Visitors")).to_be_visible(timeout=15000)
    expect(page.get_by_role("heading", name="The console is offline")).to_have_count(0)
    assert page.url == f"{live_server.url}/console/visitors"
    page.context.close()


# The console's socket waits out its backoff before each retry: here a minute, so only the
# page coming back (not the timer) can reconnect it within the test's waits.
SLOW_RETRIES = "s => { s.io.reconnectionDelay(60000); s.io.reconnectionDelayMax(60000); }"
CUT = "s => s.io.engine.close()"  # the link breaks; the retry is a minute away
BACK = {
    "online": None,  # the network comes back: context.set_offline(False)
    "visible": "document.dispatchEvent(new Event('visibilitychange'))",  # the phone wakes up
    "bfcache": "dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))",
}


def agent_with_a_chat(browser, live_server, shop, relay=None, paused=False):
    """The agent's console with a visitor's chat open (assigned to them as they are online)."""
    session, site_key = shop
    page = console(browser, live_server, session, device=DESK, relay=relay, paused=paused)
    expect(page.locator("#live-conn")).to_have_attribute("data-state", "online")
    visitor, _ = visitor_client(live_server, site_key)
    heard = []
    visitor.on("message", heard.append, namespace="/visitor")
    say(visitor, "Hello?")
    expect(page.locator("#msg-list .msg.visitor .text")).to_have_text(["Hello?"])
    return page, visitor, heard


def say(visitor, text) -> dict:
    answer = visitor.call("message", {"client_id": uuid.uuid4().hex, "text": text}, "/visitor")
    assert answer["message"]["text"] == text
    return answer["message"]


def reply(page, text):
    box = page.locator("#composer-input")
    box.fill(text)
    expect(box).to_have_value(text)
    box.press("Enter")


def socket_of(page):
    return page.evaluate_handle("window.huikeAgentSocket")


@pytest.mark.parametrize("back", BACK)
def test_after_a_sleep_the_console_catches_up_at_once_each_message_once(
    browser, live_server, shop, back
):
    page, visitor, heard = agent_with_a_chat(browser, live_server, shop)
    socket = socket_of(page)
    socket.evaluate(SLOW_RETRIES)
    if back == "online":
        page.context.set_offline(True)
    socket.evaluate(CUT)
    expect(page.locator("#live-conn")).to_have_attribute("data-state", "offline")

    for text in ("one", "two", "three"):  # while the agent's phone sleeps
        say(visitor, text)
    reply(page, "Still here")  # typed just before the screen went off: not sent
    expect(page.locator("#msg-pending .msg.failed")).to_contain_text("Still here")
    if back == "online":
        page.context.set_offline(False)
    else:
        page.evaluate(BACK[back])

    expect(page.locator("#live-conn")).to_have_attribute("data-state", "online", timeout=10000)
    shown = page.locator("#msg-list .msg.visitor .text")
    mine = page.locator("#msg-list .msg.agent .text")
    expect(shown).to_have_text(["Hello?", "one", "two", "three"])
    expect(mine).to_have_text(["Still here"])  # sent by itself on the reconnect, once
    expect(page.locator("#msg-pending .msg")).to_have_count(0)
    screenshot(page, f"pwa-resumed-{back}")

    reply(page, "Back now, sorry!")
    expect(mine).to_have_text(["Still here", "Back now, sorry!"])
    expect(shown).to_have_text(["Hello?", "one", "two", "three"])
    page.reload()  # what the server stored: the same, once each
    expect(shown).to_have_text(["Hello?", "one", "two", "three"])
    expect(mine).to_have_text(["Still here", "Back now, sorry!"])
    replies = [m["text"] for m in heard if m.get("sender") == "agent"]
    assert replies == ["Still here", "Back now, sorry!"]
    visitor.disconnect()
    page.context.close()


def test_a_message_that_arrives_before_the_reconnect_snapshot_leaves_no_gap(
    browser, live_server, shop
):
    """Back from sleep, the server joins the agent to the shop's room before its snapshot comes:
    a message of that moment arrives first, and the catch-up must still ask from where the
    link broke, not from that newer message."""
    held = {"on": False, "frames": [], "page": None}

    def relay(ws):
        server = ws.connect_to_server()
        ws.on_message(server.send)

        def to_page(frame):
            if held["on"] and isinstance(frame, str) and frame.startswith('42/agent,["snapshot"'):
                held["frames"].append(frame)
                held["page"] = ws
            else:
                ws.send(frame)

        server.on_message(to_page)

    page, visitor, _ = agent_with_a_chat(browser, live_server, shop, relay)
    socket = socket_of(page)
    socket.evaluate(SLOW_RETRIES)
    socket.evaluate(CUT)
    expect(page.locator("#live-conn")).to_have_attribute("data-state", "offline")
    say(visitor, "one")
    say(visitor, "two")

    held["on"] = True
    page.evaluate(BACK["visible"])
    deadline = time.monotonic() + 10
    while not held["frames"]:  # the server took the agent back in: its snapshot is on its way
        assert time.monotonic() < deadline, "no snapshot 10 s after the reconnect"
        page.wait_for_timeout(50)  # Playwright runs the relay meanwhile
    shown = page.locator("#msg-list .msg.visitor .text")
    say(visitor, "three")  # in the shop's room again: this one comes live, first
    expect(shown).to_have_text(["Hello?", "three"])
    held["on"] = False
    held["page"].send(held["frames"].pop())
    expect(shown).to_have_text(["Hello?", "one", "two", "three"])
    visitor.disconnect()
    page.context.close()


def test_a_push_shows_its_notification_and_a_click_opens_its_chat(browser, live_server, shop):
    """Playwright has no push service: DevTools' own "push" button (the same CDP command)
    hands the worker a real push event; the click is the worker's notificationclick event."""
    page, first, _ = agent_with_a_chat(browser, live_server, shop)
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    worker = controlled(page)
    second, _ = visitor_client(live_server, shop[1])
    other = say(second, "Do you ship to Hangzhou?")["conversation_id"]
    expect(page.locator(".conv-row")).to_have_count(2)
    push = deliver_push(page, live_server)

    chat = f"/console/conversations#c{other}"
    push(
        json.dumps(
            {
                "title": "#2 wrote",
                "body": "Do you ship to Hangzhou?",
                "tag": f"c{other}",
                "url": chat,
                "timestamp": 1_700_000_000_000,
            }
        )
    )
    [shown] = notifications(page, worker)
    assert shown["title"] == "#2 wrote" and shown["body"] == "Do you ship to Hangzhou?"
    assert (shown["tag"], shown["renotify"], shown["timestamp"]) == (
        f"c{other}",
        True,
        1_700_000_000_000,
    )
    assert shown["data"] == {"url": chat}
    assert shown["icon"].endswith("/static/icons/icon-192.png")
    assert shown["badge"].endswith("/static/icons/badge-96.png")

    worker.evaluate(CLICK)  # the console on another chat: only the "#c…" changes, and opens it
    expect(page.locator("#msg-list .msg.visitor .text")).to_have_text(["Do you ship to Hangzhou?"])
    assert page.url == live_server.url + chat
    assert notifications(page, worker, 0) == []  # the click closed it

    for foreign in ("https://evil.example/x", "//evil.example/x", "/\\evil.example/x"):
        push(json.dumps({"title": "Phish", "body": "", "tag": "x", "url": foreign}))
        [shown] = notifications(page, worker)
        assert shown["data"] == {"url": "/console/"}, foreign
        worker.evaluate(
            "self.registration.getNotifications().then(ns => ns.forEach(n => n.close()))"
        )
    push("not JSON")  # Chrome wants a notification for every push: a generic one
    [shown] = notifications(page, worker)
    assert (shown["title"], shown["data"]) == ("New activity in Huike", {"url": "/console/"})
    worker.evaluate(CLICK)
    expect(page).to_have_url(f"{live_server.url}/console/")
    first.disconnect()
    second.disconnect()
    page.context.close()


CLICK = """async () => {
  const [notification] = await self.registration.getNotifications();
  self.dispatchEvent(new NotificationEvent("notificationclick", {notification}));
}"""


def deliver_push(page, live_server):
    """A function that pushes its data to the page's service worker."""
    cdp = page.context.new_cdp_session(page)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations:
        assert time.monotonic() < deadline, "DevTools did not report the registration"
        page.wait_for_timeout(50)
    registration = registrations[0]["registrationId"]
    return lambda data: cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration, "data": data},
    )


def notifications(page, worker, count=1) -> list[dict]:
    """The worker's notifications on screen, once there are `count`."""
    read = """self.registration.getNotifications().then(ns => ns.map(n => ({
      title: n.title, body: n.body, tag: n.tag, renotify: n.renotify, timestamp: n.timestamp,
      data: n.data, icon: n.icon, badge: n.badge})))"""
    deadline = time.monotonic() + 10
    while len(shown := worker.evaluate(read)) != count:
        assert time.monotonic() < deadline, f"{len(shown)} notifications, not {count}"
        page.wait_for_timeout(50)
    return shown


def test_a_link_that_died_in_silence_is_replaced_when_the_phone_wakes(browser, live_server, shop):
    """The phone slept with the socket "connected": its link died without a word (no close,
    no ping). Waking up, the page sees nothing heard from the server for longer than its pings
    allow and connects again at once, rather than waiting for the ping timeout."""
    silent = {"on": False}

    def relay(ws):
        server = ws.connect_to_server()
        ws.on_message(lambda frame: silent["on"] or server.send(frame))
        server.on_message(lambda frame: silent["on"] or ws.send(frame))

    page, visitor, _ = agent_with_a_chat(browser, live_server, shop, relay, paused=True)
    before = page.evaluate("huikeAgentSocket.id")
    silent["on"] = True
    # asleep 32 s without a ping (they come every 25 s), short of the ping timeout (45 s)
    page.clock.fast_forward("00:32")
    for text in ("one", "two"):
        say(visitor, text)  # lost on the dead link
    assert page.evaluate("huikeAgentSocket.connected")  # as far as the page knows
    silent["on"] = False
    page.evaluate(BACK["visible"])

    shown = page.locator("#msg-list .msg.visitor .text")
    expect(shown).to_have_text(["Hello?", "one", "two"])
    assert page.evaluate("huikeAgentSocket.id") != before  # a new connection
    visitor.disconnect()
    page.context.close()
