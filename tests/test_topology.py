"""The production topology as ``make serve-prod`` starts it (deploy/serve.py): nginx in front
of two web workers, a job worker and the clock, on PostgreSQL + Redis. Everything goes
through nginx: mail queued by web worker 1 is sent once, by the job worker; a visitor in
Chromium with the real widget chats with an agent held on the other worker, and keeps every
acknowledged message, once, when their worker is killed."""

from __future__ import annotations

import functools
import http.server
import os
import signal
import threading
import time
import uuid
from email.message import EmailMessage

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from .conftest import BACKEND, free_port
from .e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from .live import csrf_token, sign_up
from .topology import (
    Inbox,
    Topology,
    VisitorFrames,
    agents_on_both_workers,
    answers,
    stored_messages,
    wait_for,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        BACKEND != "postgresql" or not os.environ.get("REDIS_URL"),
        reason="the production topology runs on PostgreSQL + Redis",
    ),
]


@pytest.fixture(scope="module")
def inbox():
    from aiosmtpd.controller import Controller

    mails = Inbox()
    controller = Controller(mails, hostname="127.0.0.1", port=mails.port)
    controller.start()
    yield mails
    controller.stop()


@pytest.fixture(scope="module")
def topology(own_database, inbox, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("serve")
    served = Topology(own_database, os.environ["REDIS_URL"], inbox.port, run_dir)
    print(f"serve-prod's files: {served.run_dir}")  # shown when a test fails
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        """The shop's own web server: its access log is not the test's business."""


@pytest.fixture
def shop(topology, tmp_path):
    """A shop signed up through nginx, and its page on another origin with the snippet."""
    session, site_key = sign_up(topology, f"topology-{uuid.uuid4().hex[:6]}")
    (tmp_path / "index.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Tea</title></head>"
        f'<body><h1>Tea</h1><script async src="{topology.url}/w/{site_key}.js"></script>'
        "</body></html>"
    )
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield session, site_key, f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()


def test_mail_queued_by_web_worker_1_is_sent_once_by_the_job_worker(topology, inbox):
    """A password reset's mail is queued by the web worker that took the request and sent
    by the job worker: while the job worker is held still nothing goes out, then it does,
    once."""
    mails = inbox.mails
    label = f"jobs-{uuid.uuid4().hex[:6]}"
    sign_up(topology, label)
    forgot = f"{topology.url}/password/forgot"
    browser = requests.Session()
    form = {"csrf_token": csrf_token(browser, forgot), "email": f"{label}@example.com"}
    jobs = topology.pid("jobs")
    os.kill(jobs, signal.SIGSTOP)
    try:
        answered_by = []
        while "w1" not in answered_by and len(answered_by) < 8:  # pages go to either worker
            response = browser.post(forgot, data=form, allow_redirects=False)
            assert response.status_code == 302, response.text[:300]
            answered_by.append(response.headers["X-Huike-Node"])
            time.sleep(1.1)  # the next link is signed in another second: each mail its own
        assert "w1" in answered_by
        time.sleep(1)
        assert not resets(mails, label)  # no web worker sent them
    finally:
        os.kill(jobs, signal.SIGCONT)
    # the job worker may still be starting (serve-prod starts it once the web workers serve)
    wait_for(lambda: len(resets(mails, label)) >= len(answered_by), "the mails", deadline=60)
    time.sleep(2)  # a second delivery would come about now
    assert len(set(resets(mails, label))) == len(resets(mails, label)) == len(answered_by)


def resets(mails: list[EmailMessage], label: str) -> list[str]:
    """The reset links mailed to the shop's owner, in the order they arrived."""
    return [
        line.strip()
        for mail in mails
        if mail["To"] == f"{label}@example.com"
        for line in mail.get_body(("plain",)).get_content().splitlines()
        if "/password/reset/" in line
    ]


def test_a_visitor_and_an_agent_on_two_workers_chat_and_a_killed_worker_loses_nothing(
    topology, shop, browser, owner_engine
):
    session, site_key, shop_url = shop
    agents = agents_on_both_workers(topology.url, session)
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    visitor = VisitorFrames(page, topology.url)
    try:
        page.goto(shop_url)
        widget = page.locator("huike-widget")
        widget.locator("button.b").click()
        box = widget.locator("textarea").first

        def say(words: str) -> None:
            box.fill(words)
            box.press("Enter")

        say("hello across workers")
        wait_for(lambda: "hello across workers" in visitor.confirmed, "the first ack", page)
        near = visitor.nodes[-1]
        far = "w2" if near == "w1" else "w1"
        agent = agents[far]  # held by the other worker: only Redis connects the two
        wait_for(lambda: agent.received, "the message at the agent on the other worker", page)
        assert agent.received[0]["text"] == "hello across workers"
        conversation = agent.received[0]["conversation_id"]
        agent.call("open", {"conversation_id": conversation})
        reply = agent.call(
            "send", {"conversation_id": conversation, "client_id": "a1", "text": "Hi from far"}
        )
        assert reply["message"]["seq"] == 2
        replies = widget.locator(".m.a .bb")
        wait_for(
            lambda: replies.count() and replies.last.inner_text() == "Hi from far",
            "the reply",
            page,
        )

        # Mid-chat, the visitor's worker dies (no goodbye); the widget goes on typing.
        words = [f"m{i}" for i in range(1, 11)]
        killed = topology.pid(near)
        for i, word in enumerate(words):
            say(word)
            if i == 3:  # m4 is on its way
                os.kill(killed, signal.SIGKILL)
        wait_for(lambda: len(visitor.nodes) >= 2, "the visitor's reconnection", page)
        rejoined = visitor.nodes[1:]
        assert rejoined == [far] * len(rejoined)  # through nginx, to the survivor
        wait_for(lambda: all(w in visitor.confirmed for w in words), "word of every one", page)
        expect(widget.get_by_text("Sending…")).to_have_count(0)
        for word in words:  # shown once each
            expect(widget.locator(".m.v .bb").get_by_text(word, exact=True)).to_have_count(1)
        # Acknowledged means broadcast: the agent on the survivor has each acked one live.
        wait_for(lambda: visitor.acked <= {m["text"] for m in agent.received}, "the agent", page)
        # The console reopens a chat after a reconnect or a reload (docs/realtime.md, since).
        reopened = agent.call("open", {"conversation_id": conversation, "since": 0})
    finally:
        context.close()
        for each in agents.values():
            each.client.disconnect()

    # the browser heard of each message once, under one client id and seq
    assert all(len(visitor.confirmed[w]) == 1 for w in words), visitor.confirmed
    confirmed = {w: next(iter(visitor.confirmed[w])) for w in words}
    stored = stored_messages(owner_engine, site_key)
    # the database: every message once, where the browser was told it is
    assert [seq for *_, seq in stored] == list(range(1, len(stored) + 1))
    visitor_rows = {
        body: (client_id, seq) for sender, client_id, body, seq in stored if sender == "visitor"
    }
    assert sorted(visitor_rows) == sorted(["hello across workers", *words])
    assert len(visitor_rows) == len(stored) - 1  # no text twice; besides, the agent's reply
    assert {w: visitor_rows[w] for w in words} == confirmed
    # the agent: live, every message it got once, as stored; reopened, all of them
    live = [
        (m["text"], m["client_id"], m["seq"]) for m in agent.received if m["sender"] == "visitor"
    ]
    assert len({text for text, *_ in live}) == len(live), live
    assert all(visitor_rows[text] == (client_id, seq) for text, client_id, seq in live)
    again = [
        (m["text"], m["client_id"], m["seq"])
        for m in reopened["messages"]
        if m["sender"] == "visitor"
    ]
    assert sorted(again) == sorted((text, *row) for text, row in visitor_rows.items())
    missed_live = sorted(set(visitor_rows) - {text for text, *_ in live})
    resent = len(visitor.sent) - len({m["client_id"] for m in visitor.sent})
    print(
        f"visitor: {near} killed, then on {rejoined}; {resent} message(s) sent again; "
        f"{len(visitor.acked)} acked; not at the agent live, only reopened: {missed_live}"
    )

    # serve-prod starts the killed worker again
    back = f"http://127.0.0.1:{topology.web_ports[near]}"
    wait_for(lambda: answers(back), f"{near} to be back", deadline=60)
    assert topology.pid(near) != killed
