"""The screen pop (来电弹屏) in a real browser: the agent is on the console's home page, not the
chat; the shop's PBX posts a signed ``ringing`` event for a known customer whose browser was
just on a product page, and a card shows the customer's name and that page. "I took it" opens
the call's page. A second call, from a number nobody knows, offers "New customer" with the
number filled in."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from app.calls import hooks
from app.calls import secrets as call_secrets
from app.calls.models import CallConnection, CallNumber
from app.config import from_env
from tenants.db import bind_tenant, cross_tenant, db
from tenants.models import Tenant

from ..live import csrf_token, sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e
PRODUCT = "https://tea.example/longjing-2026"


def connect_pbx(site_key: str) -> tuple[str, str]:
    """The shop's PBX on the generic signed webhook (the connection's admin page is another
    part of the module): its token and signing secret."""
    with cross_tenant():
        tenant_id = db.scalar(select(Tenant.id).where(Tenant.site_key == site_key))
    db.remove()  # on SQLite, the platform's connection lets go of the file before the shop's
    bind_tenant(tenant_id)
    secret = f"whsec-{uuid.uuid4().hex}"
    try:
        connection = CallConnection(
            kind="generic",
            name="Office PBX",
            token=uuid.uuid4().hex,
            # encrypted as the live server reads it: its SECRET_KEY (tests/live.py)
            secret_enc=call_secrets.encrypt(
                secret, {**from_env(), "SECRET_KEY": "live-test-secret"}
            ),
        )
        db.add(connection)
        db.flush()
        db.add(
            CallNumber(connection_id=connection.id, e164="+862160000000", token=uuid.uuid4().hex)
        )
        db.commit()
        return connection.token, secret
    finally:
        db.remove()


def ring(live_server, token: str, secret: str, call_id: str, number: str) -> dict:
    body = json.dumps(
        {"event": "ringing", "call_id": call_id, "from": number, "to": "+862160000000"}
    ).encode()
    answer = requests.post(
        f"{live_server.url}/calls/hook/{token}",
        data=body,
        headers={
            hooks.SIGNATURE_HEADER: hooks.sign(secret, body),
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def known_buyer_browsing(live_server, session, site_key: str) -> None:
    """Wang Fang is a customer with a phone; her browser left a message with it (so the shop
    knows it is hers), then looked at the spring Longjing."""
    new = f"{live_server.url}/console/customers/new"
    created = session.post(
        new,
        data={
            "csrf_token": csrf_token(session, new),
            "name": "Wang Fang",
            "phones": "13800138000",
            "tags": "vip",
        },
    )
    assert "/console/customers/" in created.url, created.text[:300]
    widget = f"{live_server.url}/w/api"
    token = requests.post(
        f"{widget}/hello",
        json={"k": site_key, "url": "https://tea.example/", "title": "Tea House", "referrer": ""},
        timeout=10,
    ).json()["t"]
    left = requests.post(
        f"{widget}/leave",
        json={
            "k": site_key,
            "t": token,
            "name": "Wang Fang",
            "phone": "138 0013 8000",
            "text": "Is the spring Longjing in stock?",
            "url": "https://tea.example/",
        },
        timeout=10,
    )
    assert left.status_code == 201, left.text
    viewed = requests.post(
        f"{widget}/hello",
        json={"k": site_key, "t": token, "url": PRODUCT, "title": "Spring Longjing 2026"},
        timeout=10,
    )
    assert viewed.status_code == 200, viewed.text


def console_page(browser, live_server, session, width=1280, height=800):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/console/")
    # the screen pop's socket, the page's only one, is connected
    page.wait_for_function("window.huikeAgentSocket && window.huikeAgentSocket.connected")
    return page


def test_a_ringing_call_pops_over_the_console_home_and_i_take_it(browser, live_server):
    session, site_key = sign_up(live_server, f"pop-{uuid.uuid4().hex[:6]}")
    token, secret = connect_pbx(site_key)
    known_buyer_browsing(live_server, session, site_key)
    page = console_page(browser, live_server, session)
    expect(page.locator(".call-card")).to_have_count(0)

    first = ring(live_server, token, secret, "e2e-known", "13800138000")
    card = page.locator(f'.call-card[data-call-id="{first["call"]}"]')
    expect(card).to_be_visible()
    expect(card.locator(".call-name")).to_have_text("Wang Fang")
    expect(card.locator(".call-number")).to_have_text("138 0013 8000")
    expect(card.locator(".call-state")).to_have_text("Ringing")
    expect(card.locator("[data-pages] a").first).to_have_text("Spring Longjing 2026")
    expect(card.locator("[data-pages] a").first).to_have_attribute("href", PRODUCT)
    expect(card).to_contain_text("On the site now")
    expect(card.locator(".caller-tags")).to_contain_text("vip")
    screenshot(page, "calls-pop-card")

    card.get_by_role("button", name="I took it").click()
    expect(page).to_have_url(f"{live_server.url}/console/calls/{first['call']}")
    expect(page.get_by_role("heading", name="Wang Fang")).to_be_visible()
    expect(page.locator("[data-call-status]")).to_have_text("In progress")
    expect(page.locator(".call-caller [data-pages] a").first).to_have_text("Spring Longjing 2026")
    # the page it opened has no card of the call it is about: the call is taken
    expect(page.locator(".call-card")).to_have_count(0)
    screenshot(page, "calls-call-page")

    # a second call, from a number the shop does not know, on a phone-sized screen
    phone = console_page(browser, live_server, session, width=390, height=844)
    second = ring(live_server, token, secret, "e2e-unknown", "13911112222")
    card = phone.locator(f'.call-card[data-call-id="{second["call"]}"]')
    expect(card.locator(".call-name")).to_have_text("139 1111 2222")
    new_customer = card.get_by_role("link", name="New customer")
    expect(new_customer).to_be_visible()
    screenshot(phone, "calls-pop-card-390")
    with phone.context.expect_page() as opened:
        new_customer.click()
    form = opened.value
    expect(form.get_by_role("heading", name="New customer")).to_be_visible()
    expect(form.locator("textarea[name=phones]")).to_have_value("139 1111 2222")
    phone.context.close()

    # dismissed, the card goes
    page.goto(f"{live_server.url}/console/")
    card = page.locator(f'.call-card[data-call-id="{second["call"]}"]')
    expect(card).to_be_visible()  # still ringing: a page opened now shows it too
    card.get_by_role("button", name="Dismiss").click()
    expect(card).to_have_count(0)
    page.context.close()


def test_the_chat_page_shares_its_socket_with_the_call_card(browser, live_server):
    session, site_key = sign_up(live_server, f"pop-{uuid.uuid4().hex[:6]}")
    token, secret = connect_pbx(site_key)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    page = context.new_page()
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url) if "/socket.io/" in ws.url else None)
    page.goto(f"{live_server.url}/console/conversations")
    expect(page.locator("#live-conn")).to_have_text("Connected")  # the chat's own indicator
    answer = ring(live_server, token, secret, "e2e-chat-page", "13911112222")
    card = page.locator(f'.call-card[data-call-id="{answer["call"]}"]')
    expect(card.locator(".call-name")).to_have_text("139 1111 2222")
    expect(card.get_by_role("link", name="New customer")).to_be_visible()
    # below the chat's header: its status switch stays in reach while the phone rings
    status_switch = page.locator("#status-switch").bounding_box()
    assert card.bounding_box()["y"] >= status_switch["y"] + status_switch["height"]
    page.wait_for_timeout(300)  # the card's slide-in
    screenshot(page, "calls-pop-card-chat-page")
    assert len(sockets) == 1, sockets  # one connection: the chat's, the card listens on it
    context.close()
