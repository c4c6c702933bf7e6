"""免费电话 in real browsers: the shop's admin turns the callback on, a visitor on the shop's own
site asks for one in the widget. Without Twilio the request and a callback task are stored and
the visitor is told when to expect the call; with the shop's Twilio number (a local stand-in
for api.twilio.com) and an agent online with a phone, Twilio is asked to ring the agent's phone
from the shop's number and to bridge the visitor with the bridge TwiML."""

from __future__ import annotations

import functools
import http.server
import threading
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.calls import secrets as call_secrets
from app.calls.models import AgentLine, CallbackRequest, CallConnection, CallNumber, Task
from tenants.db import bind_tenant, cross_tenant, db
from tenants.models import Membership, Tenant

from ..calls.twilio_fake import FakeTwilio
from ..conftest import free_port
from ..live import LiveServer, sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e
VISITOR_PHONE = "139 1234 5678"
AGENT_PHONE = "+8613700000001"
SHOP_NUMBER = "+862150000000"
# the live server's key for secrets at rest: derived from its SECRET_KEY (tests/live.py)
LIVE_SECRETS = {"ENCRYPTION_KEYS": [], "SECRET_KEY": "live-test-secret"}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        """The shop's own web server: its access log is not the test's business."""


@pytest.fixture(scope="module")
def twilio_server(database):
    """A server whose Twilio requests go to a local stand-in, published on its own address."""
    fake = FakeTwilio()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = LiveServer(
        database.app_url, port=port, extra_env={"TWILIO_API_BASE": fake.url, "BASE_URL": base}
    )
    yield server, fake
    server.stop()
    fake.stop()


@pytest.fixture
def shop_site(tmp_path):
    """A web server on another origin for the shop's pages."""
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def in_shop(site_key: str, work):
    """Read or write the live server's database as the shop (the test's own connection)."""
    with cross_tenant():
        tenant_id = db.scalar(select(Tenant.id).where(Tenant.site_key == site_key))
    db.remove()  # on SQLite, the platform's connection lets go of the file before the shop's
    bind_tenant(tenant_id)
    try:
        result = work()
        db.commit()
        return result
    finally:
        db.remove()


def eventually(what, check, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.2)


def console(browser, server, session, width: int = 1280):
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": server.url} for c in session.cookies]
    )
    return context.new_page()


def turn_callbacks_on(page, server, number_id: int | None = None) -> None:
    page.goto(f"{server.url}/console/calls/callback")
    page.get_by_label("Offer a free callback in the chat widget").check()
    if number_id:
        page.get_by_label("Call from").select_option(value=str(number_id))
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash.success")).to_have_text("Callback settings saved.")


def shop_page(folder, origin: str, server, site_key: str) -> str:
    (folder / "tea.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Tea House · Longjing</title></head><body><h1>Longjing 250 g</h1>"
        f'<script async src="{server.url}/w/{site_key}.js"></script></body></html>'
    )
    return f"{origin}/tea.html"


def open_callback_form(browser, url: str, width: int = 1280, shot: str = ""):
    """The visitor opens the chat and the callback form: from the header's phone button, or
    (``shot``) from the leave-message form of a shop nobody answers now, photographed first."""
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="en-US")
    page = context.new_page()
    page.goto(url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()
    entry = widget.get_by_role("button", name="Call me back")
    if shot:
        entry = widget.get_by_role("button", name="Rather talk? We'll call you back for free")
        expect(entry).to_be_visible()
        screenshot(page, shot)
    expect(entry.first).to_be_visible()
    entry.first.click()
    expect(widget.get_by_label("Your phone number")).to_be_visible()
    return page, widget


def test_without_twilio_the_request_becomes_a_task_and_the_visitor_knows_when(
    browser, twilio_server, shop_site
):
    server, fake = twilio_server
    folder, origin = shop_site
    session, site_key = sign_up(server, f"cb-{uuid.uuid4().hex[:6]}")
    admin = console(browser, server, session)
    turn_callbacks_on(admin, server)
    screenshot(admin, "calls-callback-settings")
    admin.close()  # a console page keeps its member online: the shop is to be unanswered
    url = shop_page(folder, origin, server, site_key)

    page, widget = open_callback_form(browser, url)
    screenshot(page, "calls-callback-form")
    # a refusal the form finds itself, then one only the server can find: both inline
    widget.get_by_label("Your phone number").fill(VISITOR_PHONE)
    widget.get_by_role("button", name="Call me back").last.click()
    expect(widget.locator("#hk-c-consent-e")).to_have_text("Tick the box to agree to be called")
    widget.get_by_label("Your phone number").fill("+1 900 555 1234")  # premium rate
    widget.locator("#hk-c-consent").check()
    widget.get_by_role("button", name="Call me back").last.click()
    expect(widget.locator("#hk-c-phone-e")).to_contain_text("China")
    screenshot(page, "calls-callback-refused")
    assert in_shop(site_key, lambda: db.scalars(select(CallbackRequest)).all()) == []

    widget.get_by_label("Your phone number").fill(VISITOR_PHONE)
    widget.get_by_role("button", name="Call me back").last.click()
    expect(widget.locator(".ok")).to_have_text("Thank you! We will call you within 15 minutes.")
    screenshot(page, "calls-callback-done")

    def stored():
        callback = db.scalar(select(CallbackRequest))
        task = db.scalar(select(Task).where(Task.kind == "callback"))
        return callback and task and (callback.phone, callback.status, task.phone)

    found = eventually("the request and its task", lambda: in_shop(site_key, stored))
    assert found == ("+8613912345678", "task", "+8613912345678")
    assert fake.calls_created() == []

    # on a phone: the form fills the screen
    phone_page, _ = open_callback_form(browser, url, width=390, shot="calls-callback-entry-390")
    screenshot(phone_page, "calls-callback-form-390")


def test_with_twilio_and_an_agent_online_twilio_rings_the_agent_first(
    browser, twilio_server, shop_site
):
    server, fake = twilio_server
    folder, origin = shop_site
    session, site_key = sign_up(server, f"cbt-{uuid.uuid4().hex[:6]}")
    auth_token = uuid.uuid4().hex
    account_sid = "AC" + uuid.uuid4().hex

    def twilio_and_a_phone():
        connection = CallConnection(
            kind="twilio",
            name="Twilio",
            token=uuid.uuid4().hex,
            account_sid=account_sid,
            auth_token_enc=call_secrets.encrypt(auth_token, LIVE_SECRETS),
        )
        db.add(connection)
        db.flush()
        number = CallNumber(
            connection_id=connection.id, e164=SHOP_NUMBER, token=uuid.uuid4().hex, label="Hotline"
        )
        owner = db.scalar(select(Membership).where(Membership.role == "owner"))
        db.add_all([number, AgentLine(membership_id=owner.id, phone=AGENT_PHONE)])
        db.flush()
        return number.id, number.token

    number_id, token = in_shop(site_key, twilio_and_a_phone)
    agent = console(browser, server, session)
    turn_callbacks_on(agent, server, number_id)
    agent.goto(f"{server.url}/console/conversations")
    expect(agent.locator("#live-conn")).to_have_attribute("data-state", "online")
    agent.locator('#status-switch [data-status="online"]').click()
    expect(agent.locator('#status-switch [data-status="online"]')).to_have_attribute(
        "aria-checked", "true"
    )

    page, widget = open_callback_form(browser, shop_page(folder, origin, server, site_key))
    widget.get_by_label("Your phone number").fill(VISITOR_PHONE)
    widget.locator("#hk-c-consent").check()
    widget.get_by_role("button", name="Call me back").last.click()
    expect(widget.locator(".ok")).to_have_text("Thank you! We will call you within 15 minutes.")

    (sent,) = eventually("Calls.create", fake.calls_created)
    callback_id = in_shop(site_key, lambda: db.scalar(select(CallbackRequest.id)))
    bridge = f"/calls/twilio/{token}/bridge/{callback_id}"
    assert sent["auth"] == (account_sid, auth_token)
    assert sent["form"]["To"] == [AGENT_PHONE] and sent["form"]["From"] == [SHOP_NUMBER]
    assert sent["form"]["Url"] == [server.url + bridge]
    assert sent["form"]["StatusCallback"] == [f"{server.url}/calls/twilio/{token}/status"]

    # the agent answers: Twilio fetches the bridge, signed with the shop's auth token
    params = {"CallSid": "CA" + uuid.uuid4().hex, "CallStatus": "in-progress"}
    signature = RequestValidator(auth_token).compute_signature(server.url + bridge, params)
    twiml = requests.post(
        server.url + bridge, data=params, headers={"X-Twilio-Signature": signature}, timeout=10
    )
    assert twiml.status_code == 200, twiml.text
    dial = ET.fromstring(twiml.content).find("Dial")
    assert dial.get("callerId") == SHOP_NUMBER and dial.find("Number").text == "+8613912345678"
    screenshot(page, "calls-callback-bridged")
