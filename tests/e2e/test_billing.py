"""The shop's billing page in a real browser: trial → Stripe Checkout → paid, with Stripe
played by a local server and its webhooks signed with Stripe's real scheme."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tenants.db import database_url

from ..billing.stripe_fake import FakeStripe, event, invoice, sign, subscription
from ..live import LiveServer, sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e
SECRET = "whsec_e2e"
PRICE = "price_pro_e2e"


@pytest.fixture
def stripe_server(database):
    engine = create_engine(database_url(database.owner_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE plans SET stripe_price_id = :p WHERE code = 'pro'"), {"p": PRICE})
    engine.dispose()
    fake = FakeStripe()
    server = LiveServer(
        database.app_url,
        extra_env={
            "STRIPE_SECRET_KEY": "sk_test_e2e",
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "STRIPE_API_BASE": fake.url,
        },
    )
    yield server, fake
    server.stop()
    fake.stop()


def webhook(server: LiveServer, evt: dict) -> None:
    body = json.dumps(evt).encode()
    response = requests.post(
        f"{server.url}/billing/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": sign(body, SECRET), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


def test_upgrade_through_checkout_to_an_active_subscription(browser, stripe_server):
    server, fake = stripe_server
    session, _ = sign_up(server, f"pay-{uuid.uuid4().hex[:6]}")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": server.url} for c in session.cookies]
    )
    # Stripe's hosted page is out of reach here: answer for it.
    context.route(
        "https://checkout.stripe.com/**",
        lambda route: route.fulfill(
            content_type="text/html", body="<h1>Stripe Checkout (test)</h1>"
        ),
    )
    page = context.new_page()
    page.goto(f"{server.url}/console/billing")
    expect(page.get_by_role("heading", name="Upgrade to Pro")).to_be_visible()
    screenshot(page, "billing-trial")
    page.get_by_label("Seats").fill("3")
    page.get_by_role("button", name="Pay by card").click()
    expect(page).to_have_url(re.compile(r"^https://checkout\.stripe\.com/c/cs_test_"))

    sent = fake.calls("/v1/checkout/sessions")[0]["form"]
    assert (sent["line_items[0][price]"], sent["line_items[0][quantity]"]) == (PRICE, "3")
    customer, now = sent["customer"], int(time.time())
    sub = subscription("sub_e2e", customer, PRICE, 3, "active", now + 365 * 86400)
    fake.subscriptions["sub_e2e"] = sub
    webhook(
        server,
        event(
            "checkout.session.completed",
            {
                "id": "cs_e2e",
                "object": "checkout.session",
                "customer": customer,
                "subscription": "sub_e2e",
                "client_reference_id": sent["client_reference_id"],
            },
            now,
        ),
    )
    webhook(server, event("customer.subscription.created", sub, now))
    webhook(
        server,
        event("invoice.paid", invoice("in_e2e0042", customer, "sub_e2e", "paid", 594000), now),
    )

    page.goto(f"{server.url}/console/billing")
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "active")
    expect(page.get_by_text("3 seats paid")).to_be_visible()
    expect(page.locator("table.invoices")).to_contain_text("HK-0042")
    expect(page.get_by_role("heading", name="Change seats")).to_be_visible()
    screenshot(page, "billing-active")
    context.close()
