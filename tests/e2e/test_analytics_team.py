"""The Team page in a real browser: two members of a new shop answer visitors over real
sockets, the visitors rate them, one chat closes unanswered; the owner opens Analytics → Team
and sees each agent's row, the shop's, and the charts — at 1280 px and 390 px, in English and
Chinese (screenshots in test-artifacts/ and /work/shots/analytics)."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from ..live import agent_client, csrf_token, invite, sign_up, visitor_client
from .conftest import screenshot

pytestmark = pytest.mark.e2e
SHOTS = Path("/work/shots/analytics")


def shot(page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def say(visitor, text: str, client_id: str) -> int:
    answer = visitor.call("message", {"client_id": client_id, "text": text}, namespace="/visitor")
    return answer["message"]["conversation_id"]


def reply(agent, conversation_id: int, client_id: str) -> None:
    answer = agent.call(
        "send",
        {"conversation_id": conversation_id, "client_id": client_id, "text": "Sure, one moment."},
        namespace="/agent",
    )
    assert "message" in answer, answer


def close(agent, conversation_id: int) -> None:
    answer = agent.call("close", {"conversation_id": conversation_id}, namespace="/agent")
    assert answer["conversation"]["status"] == "closed", answer


def rate(visitor, conversation_id: int, score: int) -> None:
    answer = visitor.call(
        "rate", {"conversation_id": conversation_id, "score": score}, namespace="/visitor"
    )
    assert "error" not in (answer or {}), answer


def test_the_owner_sees_each_agent_and_the_charts(browser, live_server):
    label = f"team-{uuid.uuid4().hex[:6]}"
    owner, site_key = sign_up(live_server, label)
    link = invite(live_server, owner, f"agent-{label}@example.com")
    lin = requests.Session()
    lin.post(
        link, data={"csrf_token": csrf_token(lin, link), "name": "Lin", "password": "pass-12345"}
    )
    owner_socket, _ = agent_client(live_server, owner)
    lin_socket, _ = agent_client(live_server, lin)
    visitors = [visitor_client(live_server, site_key)[0] for _ in range(4)]
    try:
        first = say(visitors[0], "Is the longjing from this spring?", "v1-1")
        time.sleep(2)
        reply(owner_socket, first, "o1-1")
        say(visitors[0], "And 250 g?", "v1-2")
        time.sleep(1)
        reply(owner_socket, first, "o1-2")
        close(owner_socket, first)
        rate(visitors[0], first, 5)

        second = say(visitors[1], "Do you ship to Macau?", "v2-1")
        time.sleep(3)
        reply(lin_socket, second, "l2-1")
        close(lin_socket, second)
        rate(visitors[1], second, 4)

        missed = say(visitors[2], "Hello?", "v3-1")
        close(owner_socket, missed)  # closed with no answer: a missed chat

        fourth = say(visitors[3], "Gift wrapping?", "v4-1")
        time.sleep(1)
        reply(lin_socket, fourth, "l4-1")
        rate(visitors[3], fourth, 3)
    finally:
        for client in (*visitors, owner_socket, lin_socket):
            client.disconnect()

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in owner.cookies]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/console/analytics")
    page.get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Team")).to_be_visible()
    rows = page.locator("table.team tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Lin").locator("td").first).to_have_text("2")
    expect(rows.filter(has_text=f"Owner {label}").locator("td").first).to_have_text("1")
    total = page.locator("table.team tfoot tr")
    expect(total).to_contain_text("Whole shop")
    expect(total.locator("td").first).to_have_text("3")
    expect(total.locator("td").nth(8)).to_have_text("1")  # the missed chat
    expect(page.get_by_role("img", name="First response time (median) per agent")).to_be_visible()
    ratings = page.get_by_role("img", name="Ratings")
    expect(ratings).to_be_visible()
    expect(ratings.locator("g title")).to_have_text(
        ["5 stars: 1", "4 stars: 1", "3 stars: 1", "2 stars: 0", "1 star: 0"]
    )
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download.value.path()).read_text("utf-8-sig").splitlines()
    assert exported[0].startswith("scope,agent_id,agent,chats,first_response_median_s")
    assert exported[-1].startswith("shop,,,3,")
    shot(page, "analytics-team-1280-en")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "analytics-team-390-en")

    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="中文").click()  # the owner signed up in English
    expect(page.get_by_role("heading", name="团队")).to_be_visible()
    expect(page.get_by_role("img", name="各客服首次响应时间（中位数）")).to_be_visible()
    expect(page.locator("table.team tfoot tr")).to_contain_text("全店")
    shot(page, "analytics-team-1280-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "analytics-team-390-zh")
    context.close()
