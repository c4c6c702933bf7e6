"""熟客识别 in real browsers: the shop's page on another origin says who its signed-in buyer is
(``Huike.identify`` with the hash the shop's server computes), the shop pushes an order through
the REST API, and the agent's console calls the buyer by name with their previous chat and the
order beside the chat. A forged hash is refused in the page's console and binds nothing."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import uuid

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.chat.models import Visitor
from app.crm.models import Customer
from app.crm.service import identity_hash
from tenants.db import bind_tenant, cross_tenant, db
from tenants.models import Tenant

from ..conftest import free_port
from ..live import sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e
BUYER = {"id": "user-42", "name": "Lin Mei", "email": "lin.mei@example.com"}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        """The shop's own web server: its access log is not the test's business."""


def shop_page(live_url: str, site_key: str, identity: dict) -> str:
    """A page of the shop for a signed-in buyer: the snippet, and the identity its server
    rendered into the page."""
    call = f"Huike.identify({json.dumps(identity)})".replace('"', "&quot;")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Tea House · My account</title></head><body><h1>Welcome back</h1>"
        f'<script async src="{live_url}/w/{site_key}.js" onload="{call}"></script></body></html>'
    )


@pytest.fixture
def shop(live_server, tmp_path):
    """A new shop, and a web server on another origin for its pages."""
    session, site_key = sign_up(live_server, f"crm-{uuid.uuid4().hex[:6]}")
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield session, site_key, tmp_path, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def in_shop(site_key: str, query):
    """Read the live server's database as the shop (the test's own connection)."""
    with cross_tenant():
        tenant_id = db.scalar(select(Tenant.id).where(Tenant.site_key == site_key))
    db.remove()  # on SQLite, the platform's connection lets go of the file before the shop's
    bind_tenant(tenant_id)
    try:
        return query()
    finally:
        db.remove()


def console(browser, live_server, session):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    return context.new_page()


def visitor_says(browser, url: str, text: str):
    """A buyer's browser (its own visitor token) opens the page and writes in the chat."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    page.goto(url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()
    box = widget.locator("textarea").first
    expect(box).to_be_visible()
    box.fill(text)
    box.press("Enter")
    expect(widget.locator(".m.v .bb").last).to_have_text(text)
    return page


def test_a_signed_in_buyer_is_called_by_name_with_their_chats_and_orders(
    browser, live_server, shop
):
    session, site_key, folder, shop_origin = shop
    agent = console(browser, live_server, session)

    # the owner reads the identity secret and makes an API key in the console
    agent.goto(f"{live_server.url}/console/settings/identity")
    secret_box = agent.locator("#identity-secret")
    expect(secret_box).to_have_attribute("type", "password")
    agent.get_by_role("button", name="Reveal").click()
    expect(secret_box).to_have_attribute("type", "text")
    secret = secret_box.input_value()
    screenshot(agent, "crm-identity-secret")
    agent.goto(f"{live_server.url}/console/settings/api-keys/")
    agent.locator("input[name=name]").fill("Order system")
    agent.locator("input[name=name]").press("Enter")
    api_key = agent.locator("#api-key").inner_text().strip()

    # the shop's server pushes an order of its user through the REST API
    pushed = requests.post(
        f"{live_server.url}/api/v1/orders",
        json={
            "order_id": "T-1001",
            "total": "268.00",
            "currency": "CNY",
            "status": "paid",
            "items": [{"name": "Longjing 250 g", "quantity": 2, "price": "134.00"}],
            "customer": {"external_id": BUYER["id"], "name": BUYER["name"]},
        },
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert pushed.status_code == 201, pushed.text

    # ... and renders the signed-in buyer's identity, signed, into its pages
    signed = {**BUYER, "hash": identity_hash(secret, BUYER["id"])}
    (folder / "account.html").write_text(shop_page(live_server.url, site_key, signed))
    agent.goto(f"{live_server.url}/console/conversations")
    expect(agent.locator("#live-conn")).to_have_attribute("data-state", "online")
    agent.locator('#status-switch [data-status="online"]').click()
    expect(agent.locator('#status-switch [data-status="online"]')).to_have_attribute(
        "aria-checked", "true"
    )

    # an earlier chat, from the buyer's laptop
    laptop = visitor_says(
        browser, f"{shop_origin}/account.html", "Is the Longjing from this spring?"
    )
    first_row = agent.locator(".conv-row", has_text="Lin Mei")
    expect(first_row).to_be_visible()
    first_row.click()
    expect(agent.locator("#chat-name")).to_have_text("Lin Mei")
    agent.locator("#composer-input").fill("Yes, picked in April.")
    agent.locator("#composer-input").press("Enter")
    expect(agent.locator("#msg-list")).to_contain_text("Yes, picked in April.")  # stored
    agent.locator("#btn-close").click()
    expect(agent.locator("#chat-readonly")).to_be_visible()
    laptop.context.close()

    # today, from their phone: a new browser, the same buyer
    phone = visitor_says(browser, f"{shop_origin}/account.html", "Hello again, the same tea please")
    row = agent.locator(".conv-row", has_text="Hello again")
    expect(row.locator(".row-name")).to_have_text("Lin Mei")
    expect(row.locator(".tag.returning")).to_be_visible()
    row.click()
    expect(agent.locator("#chat-name")).to_have_text("Lin Mei")
    expect(agent.locator("#chat-returning")).to_be_visible()
    record = agent.locator('#visitor-panel [data-crm="customer"]')
    expect(record).to_contain_text("T-1001")
    expect(record).to_contain_text("268.00")
    expect(record).to_contain_text("Yes, picked in April.")  # the earlier chat
    expect(record.locator("a.crm-open")).to_have_attribute(
        "href", f"/console/customers/{customer_id(site_key)}"
    )
    screenshot(agent, "crm-console-panel")
    record.locator("textarea[name=text]").fill("Prefers Longjing; call after 6 pm.")
    record.get_by_role("button", name="Add note").click()
    expect(record.locator(".crm-notes")).to_contain_text("Prefers Longjing; call after 6 pm.")
    screenshot(agent, "crm-console-panel-note")

    # one click on the earlier chat opens it in place
    record.locator("a[data-conversation-id]", has_text="Yes, picked in April.").click()
    expect(agent.locator("#msg-list")).to_contain_text("Is the Longjing from this spring?")
    expect(agent.locator("#chat-readonly")).to_be_visible()

    # the live visitor list calls them by name too
    agent.goto(f"{live_server.url}/console/visitors")
    listed = agent.locator("#visitors-body tr", has_text="Lin Mei").filter(has_text="Chatting")
    expect(listed.locator(".tag.returning")).to_be_visible()
    screenshot(agent, "crm-visitors-list")
    phone.context.close()
    agent.context.close()


def customer_id(site_key: str) -> int:
    return in_shop(
        site_key, lambda: db.scalar(select(Customer.id).where(Customer.external_id == "user-42"))
    )


def test_a_forged_hash_is_refused_in_the_pages_console_and_binds_nothing(
    browser, live_server, shop, page
):
    _session, site_key, folder, shop_origin = shop
    forged = {**BUYER, "hash": "0" * 64}
    (folder / "forged.html").write_text(shop_page(live_server.url, site_key, forged))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with page.expect_console_message(lambda m: m.text.startswith("Huike.identify:")) as refused:
        page.goto(f"{shop_origin}/forged.html")
    assert "HMAC-SHA256" in refused.value.text, errors
    assert refused.value.type == "error"

    def bound():
        visitors = db.scalars(select(Visitor.customer_id)).all()
        return visitors, db.scalar(select(func.count(Customer.id)))

    visitors, customers = in_shop(site_key, bound)
    assert visitors and visitors == [None] * len(visitors)  # the page's visitor stays anonymous
    assert customers == 0
