"""Billing through the real ``stripe`` library against a local Stripe stand-in, and webhooks
signed with Stripe's real scheme: the journey from trial to paid to canceled, and every way a
delivery can go wrong."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from app.chat.models import Message
from billing.models import AuditEntry, BillingAccount, BillingEvent, Invoice
from tenants.db import bind_tenant, cross_tenant, db
from tenants.models import Membership, Plan
from tenants.plans import entitlements

from ..conftest import login, make_test_app
from .stripe_fake import FakeStripe, event, invoice, sign, subscription

SECRET = "whsec_test_secret"
PRICE = "price_pro_yearly"
YEAR = 365 * 86400


@pytest.fixture
def stripe_fake():
    fake = FakeStripe()
    yield fake
    fake.stop()


@pytest.fixture
def billing_app(app, stripe_fake, dbsession):
    with cross_tenant():
        db.get(Plan, "pro").stripe_price_id = PRICE
        db.commit()
    return make_test_app(
        STRIPE_SECRET_KEY="sk_test_local",
        STRIPE_WEBHOOK_SECRET=SECRET,
        STRIPE_API_BASE=stripe_fake.url,
        OUTBOX_DIR=app.config["OUTBOX_DIR"],  # the `outbox` fixture reads this one
    )


def deliver(client, evt: dict, secret: str = SECRET, at: int | None = None, body=None):
    raw = body if body is not None else json.dumps(evt).encode()
    return client.post(
        "/billing/stripe/webhook",
        data=raw,
        headers={"Stripe-Signature": sign(raw, secret, at), "Content-Type": "application/json"},
    )


def shop_state(shop):
    bind_tenant(shop.tenant.id)
    account = db.scalar(select(BillingAccount))
    tenant = db.merge(shop.tenant, load=True)
    db.refresh(tenant)
    rights = entitlements(tenant)
    bind_tenant(None)
    return account, rights


def test_the_whole_journey(billing_app, stripe_fake, two_tenants, outbox):
    a = two_tenants.a
    client = billing_app.test_client()
    login(client, a.owner)
    bind_tenant(a.tenant.id)
    messages_before = db.scalar(select(func.count()).select_from(Message))
    members_before = db.scalar(select(func.count()).select_from(Membership))
    bind_tenant(None)

    # Trial: Pro on for free; the billing page offers the upgrade.
    page = client.get("/console/billing").get_data(True)
    assert "Upgrade to Pro" in page and "trial" in page

    # Checkout: the library sent the price, the seats, the mode, the customer, a key.
    response = client.post("/console/billing/checkout", data={"seats": "3", "op": "op-1"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://checkout.stripe.com/c/cs_test_")
    customer_call = stripe_fake.calls("/v1/customers")[0]
    assert customer_call["idempotency_key"] == f"customer-{a.tenant.id}"
    checkout = stripe_fake.calls("/v1/checkout/sessions")[0]
    assert checkout["form"]["mode"] == "subscription"
    assert checkout["form"]["line_items[0][price]"] == PRICE
    assert checkout["form"]["line_items[0][quantity]"] == "3"
    customer = checkout["form"]["customer"]
    assert customer.startswith("cus_")
    assert checkout["idempotency_key"] == f"checkout-{a.tenant.id}-op-1"
    assert checkout["form"]["client_reference_id"] == str(a.tenant.id)
    # the same click again reuses the customer and the key
    client.post("/console/billing/checkout", data={"seats": "3", "op": "op-1"})
    assert len(stripe_fake.calls("/v1/customers")) == 1
    assert (
        stripe_fake.calls("/v1/checkout/sessions")[1]["idempotency_key"]
        == checkout["idempotency_key"]
    )

    # Paid: Stripe tells us in its own order.
    now = int(time.time())
    end = now + YEAR
    sub = subscription("sub_1", customer, PRICE, 3, "active", end)
    stripe_fake.subscriptions["sub_1"] = sub
    done = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "customer": customer,
        "subscription": "sub_1",
        "client_reference_id": str(a.tenant.id),
    }
    assert deliver(client, event("checkout.session.completed", done, now)).status_code == 200
    assert deliver(client, event("customer.subscription.created", sub, now)).status_code == 200
    deliver(
        client, event("invoice.paid", invoice("in_0001", customer, "sub_1", "paid", 594000), now)
    )
    account, rights = shop_state(a)
    assert (account.status, account.seats, rights.plan.code) == ("active", 3, "pro")
    assert not rights.trialing  # paying ended the trial: the seats are the paid ones
    assert rights.seat_limit == 3 and rights.has("crm")
    assert "HK-0001" in client.get("/console/billing").get_data(True)

    # More seats: now, prorated.
    client.post("/console/billing/seats", data={"seats": "5", "op": "op-2"})
    modify = [c for c in stripe_fake.calls("/v1/subscriptions/sub_1") if c["method"] == "POST"][0]
    assert modify["form"]["items[0][quantity]"] == "5"
    assert modify["form"]["proration_behavior"] == "always_invoice"
    deliver(client, event("customer.subscription.updated", dict(sub), now + 10))
    assert shop_state(a)[1].seat_limit == 5

    # Payment fails: past due, modules stay on, the owner hears of it, a banner shows.
    failed = invoice("in_0002", customer, "sub_1", "open", 990000)
    deliver(client, event("invoice.payment_failed", failed, now + 20))
    deliver(client, event("customer.subscription.updated", {**sub, "status": "past_due"}, now + 21))
    account, rights = shop_state(a)
    assert account.status == "past_due" and rights.has("crm")
    assert "Your Huike payment failed" in outbox.messages()[-1]["Subject"]
    assert "Your last payment failed" in client.get("/console/").get_data(True)

    # Paid after all.
    deliver(
        client, event("invoice.paid", {**failed, "status": "paid", "amount_paid": 990000}, now + 30)
    )
    deliver(client, event("customer.subscription.updated", {**sub, "status": "active"}, now + 31))
    account, rights = shop_state(a)
    assert account.status == "active" and account.past_due_since is None

    # Canceled: back to Free, nothing deleted.
    deliver(client, event("customer.subscription.deleted", {**sub, "status": "canceled"}, now + 40))
    account, rights = shop_state(a)
    assert account.status == "canceled" and rights.plan.code == "free"
    assert rights.features == frozenset() and rights.seat_limit == 2
    bind_tenant(a.tenant.id)
    assert db.scalar(select(func.count()).select_from(Message)) == messages_before
    assert db.scalar(select(func.count()).select_from(Membership)) == members_before
    assert db.scalar(select(func.count()).select_from(Invoice)) == 2
    bind_tenant(None)
    crm = client.get("/console/customers/", headers={"Accept": "application/json"})
    assert crm.status_code == 402 and crm.get_json()["error"] == "feature_locked"
    with cross_tenant():
        states = db.scalars(
            select(AuditEntry.after).where(
                AuditEntry.tenant_id == a.tenant.id, AuditEntry.action == "subscription_state"
            )
        ).all()
    assert [s["status"] for s in states][-1] == "canceled"


def subscribed(client, stripe_fake, shop, quantity=3, at=None):
    """A shop with an active subscription, set up through webhooks."""
    at = at or int(time.time())
    bind_tenant(shop.tenant.id)
    account = db.scalar(select(BillingAccount)) or BillingAccount(tenant_id=shop.tenant.id)
    account.stripe_customer_id = f"cus_{shop.tenant.id}"
    db.add(account)
    db.commit()
    bind_tenant(None)
    sub = subscription(
        f"sub_{shop.tenant.id}", account.stripe_customer_id, PRICE, quantity, "active", at + YEAR
    )
    stripe_fake.subscriptions[sub["id"]] = sub
    deliver(client, event("customer.subscription.created", sub, at))
    return sub


def test_a_duplicate_delivery_is_a_no_op(billing_app, stripe_fake, two_tenants):
    client = billing_app.test_client()
    sub = subscribed(client, stripe_fake, two_tenants.a)
    evt = event("customer.subscription.updated", {**sub, "status": "past_due"})
    first, again = deliver(client, evt), deliver(client, evt)
    assert first.get_json()["outcome"] == "applied" and again.get_json()["outcome"] == "duplicate"
    with cross_tenant():
        rows = db.scalar(
            select(func.count())
            .select_from(BillingEvent)
            .where(BillingEvent.stripe_event_id == evt["id"])
        )
        audits = db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.tenant_id == two_tenants.a.tenant.id)
        )
    assert rows == 1 and audits == 2  # created, then past_due: not twice


def test_out_of_order_never_moves_backwards(billing_app, stripe_fake, two_tenants):
    client = billing_app.test_client()
    at = int(time.time())
    sub = subscribed(client, stripe_fake, two_tenants.a, quantity=3, at=at)
    newer = {**sub, "items": {"data": [{**sub["items"]["data"][0], "quantity": 7}]}}
    deliver(client, event("customer.subscription.updated", newer, at + 100))
    late = event("customer.subscription.updated", {**sub, "status": "past_due"}, at + 50)
    assert deliver(client, late).get_json()["outcome"] == "stale"
    account, _ = shop_state(two_tenants.a)
    assert (account.status, account.seats) == ("active", 7)


def test_fewer_seats_wait_for_the_renewal(billing_app, stripe_fake, two_tenants):
    a = two_tenants.a
    client = billing_app.test_client()
    at = int(time.time())
    sub = subscribed(client, stripe_fake, a, quantity=6, at=at)
    login(client, a.owner)
    too_few = client.post("/console/billing/seats", data={"seats": "1"}, follow_redirects=True)
    assert "seats are in use: disable members first" in too_few.get_data(True)
    client.post("/console/billing/seats", data={"seats": "4"})
    modify = [
        c for c in stripe_fake.calls(f"/v1/subscriptions/{sub['id']}") if c["method"] == "POST"
    ][-1]
    assert modify["form"]["proration_behavior"] == "none"
    fewer = {**sub, "items": {"data": [{**sub["items"]["data"][0], "quantity": 4}]}}
    deliver(client, event("customer.subscription.updated", fewer, at + 10))
    account, _ = shop_state(a)
    assert (account.seats, account.pending_seats) == (6, 4)
    renewed_item = {**sub["items"]["data"][0], "quantity": 4, "current_period_end": at + 2 * YEAR}
    deliver(
        client,
        event(
            "customer.subscription.updated", {**sub, "items": {"data": [renewed_item]}}, at + YEAR
        ),
    )
    account, _ = shop_state(a)
    assert (account.seats, account.pending_seats) == (4, None)


def test_cancel_at_period_end_and_resume(billing_app, stripe_fake, two_tenants):
    a = two_tenants.a
    client = billing_app.test_client()
    sub = subscribed(client, stripe_fake, a)
    login(client, a.owner)
    client.post("/console/billing/cancel", data={"op": "c1"})
    calls = [
        c for c in stripe_fake.calls(f"/v1/subscriptions/{sub['id']}") if c["method"] == "POST"
    ]
    assert calls[-1]["form"]["cancel_at_period_end"] == "true"
    assert "Resume subscription" in client.get("/console/billing").get_data(True)
    client.post("/console/billing/resume", data={"op": "r1"})
    calls = [
        c for c in stripe_fake.calls(f"/v1/subscriptions/{sub['id']}") if c["method"] == "POST"
    ]
    assert calls[-1]["form"]["cancel_at_period_end"] == "false"
    assert shop_state(a)[1].has("crm")


def test_a_stripe_error_is_explained_and_changes_nothing(billing_app, stripe_fake, two_tenants):
    a = two_tenants.a
    client = billing_app.test_client()
    login(client, a.owner)
    stripe_fake.fail_next = 402
    page = client.post("/console/billing/checkout", data={"seats": "3"}, follow_redirects=True)
    assert "did not answer as expected: nothing was changed" in page.get_data(True)
    account, rights = shop_state(a)
    assert account.stripe_customer_id is None and account.status == "none"


@pytest.mark.parametrize(
    "case", ["bad signature", "stale timestamp", "malformed json", "unsigned", "no shop"]
)
def test_bad_deliveries_are_refused_and_change_nothing(billing_app, stripe_fake, two_tenants, case):
    client = billing_app.test_client()
    sub = subscribed(client, stripe_fake, two_tenants.a)
    evt = event("customer.subscription.deleted", {**sub, "status": "canceled"})
    if case == "bad signature":
        response = deliver(client, evt, secret="whsec_wrong")
    elif case == "stale timestamp":
        response = deliver(client, evt, at=int(time.time()) - 400)
    elif case == "malformed json":
        response = deliver(client, evt, body=b'{"id": "evt_x", "type": ')
    elif case == "unsigned":
        response = client.post("/billing/stripe/webhook", data=json.dumps(evt))
    else:
        stray = event("customer.subscription.deleted", {**sub, "customer": "cus_nobody"})
        response = deliver(client, stray)
        assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    if case != "no shop":
        assert response.status_code == 400
    account, rights = shop_state(two_tenants.a)
    assert account.status == "active" and rights.has("crm")


def test_unknown_event_types_are_recorded_and_ignored(billing_app, stripe_fake, two_tenants):
    client = billing_app.test_client()
    response = deliver(client, event("customer.created", {"id": "cus_z", "object": "customer"}))
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"


def test_billing_page_when_stripe_is_not_configured(client, two_tenants):
    login(client, two_tenants.a.owner)
    page = client.get("/console/billing").get_data(True)
    assert "Online payment is not configured on this server" in page
    refused = client.post("/console/billing/checkout", data={"seats": "2"}, follow_redirects=True)
    assert "not configured" in refused.get_data(True)


def test_agents_cannot_reach_billing(client, two_tenants):
    login(client, two_tenants.a.agent)
    assert client.get("/console/billing").status_code == 403
    assert client.post("/console/billing/checkout", data={"seats": "9"}).status_code == 403
