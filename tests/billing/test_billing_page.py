"""The shop's billing page in each state it can be in without Stripe: on trial, and paid by
bank transfer (recorded by staff); and the one count of seats the console and back office show."""

import re
from datetime import UTC, date, datetime

from sqlalchemy import select

from billing import state
from billing.backoffice import operations, queries
from billing.models import BillingAccount
from tenants.db import bind_tenant, db, utcnow
from tenants.plans import entitlements

from ..conftest import login
from .test_backoffice import make_staff, staff_login

EN = {"Accept-Language": "en"}


def billing_page(client) -> str:
    response = client.get("/console/billing", headers=EN)
    assert response.status_code == 200
    return response.get_data(True)


def pay_offline(shop, until: str, seats: int = 4) -> None:
    staff = make_staff("billing", "billing-page@staff.example.com")
    operations.set_plan_offline(staff, shop.tenant.id, "pro", seats, until, "transfer 118")
    db.commit()


def test_without_stripe_card_payment_is_off_and_the_page_says_how_to_pay(app, client, two_tenants):
    assert not app.config.get("STRIPE_SECRET_KEY")
    login(client, two_tenants.a.owner)
    page = billing_page(client)
    assert "Upgrade to Pro" in page
    assert 'action="/console/billing/checkout"' not in page  # nothing to submit
    assert re.search(r"<button[^>]*disabled[^>]*>Pay by card</button>", page)
    assert "Card payment is unavailable on this server." in page
    assert "Pay by bank transfer" in page
    assert f'href="mailto:{app.config["SUPPORT_EMAIL"]}' in page


def test_after_an_offline_payment_the_page_shows_it_paid_not_an_upgrade(client, two_tenants):
    until = f"{utcnow().year + 1}-12-31"
    pay_offline(two_tenants.a, until)
    login(client, two_tenants.a.owner)
    page = billing_page(client)
    assert "Upgrade to Pro" not in page and "Pay by card" not in page
    assert "Paid by bank transfer" in page
    # the day staff entered, not the next one in Shanghai (UTC+8)
    assert f'data-paid-until="{until}">Dec 31, {utcnow().year + 1}<' in page
    assert f"Jan 1, {utcnow().year + 2}" not in page
    login(client, two_tenants.b.owner)  # the other shop still has its own offer
    assert "Upgrade to Pro" in billing_page(client)


def test_an_offline_plan_that_lapsed_offers_the_upgrade_again(client, two_tenants):
    pay_offline(two_tenants.a, f"{utcnow().year + 1}-12-31")
    bind_tenant(two_tenants.a.tenant.id)
    account = db.scalar(select(BillingAccount))
    rights = entitlements(two_tenants.a.tenant, now=datetime(2099, 1, 1, tzinfo=UTC))
    assert state.offer(account, rights) == "upgrade"


def test_a_stripe_period_end_is_the_shops_day_of_it():
    account = BillingAccount(
        status="active", current_period_end=datetime(2027, 12, 31, 20, tzinfo=UTC)
    )
    assert state.last_paid_day(account, "Asia/Shanghai") == date(2028, 1, 1)  # 04:00 there
    assert state.last_paid_day(account, "America/New_York") == date(2027, 12, 31)
    account.status = "offline"  # staff's day, the same in every zone
    assert state.last_paid_day(account, "Asia/Shanghai") == date(2027, 12, 31)


def test_console_billing_and_back_office_count_the_same_seats(client, two_tenants):
    a = two_tenants.a  # owner and agent active, one invitation open: 3 seats
    login(client, a.owner)
    members = client.get("/console/members", headers=EN).get_data(True)
    assert "3 of 5 seats in use" in members
    assert "3 in use of 5" in billing_page(client)
    assert queries.tenant_detail(a.tenant.id).seats_used == 3
    rows = queries.list_tenants(queries.TenantFilters())
    assert {row.tenant.id: row.seats_used for row in rows} == {
        a.tenant.id: 3,
        two_tenants.b.tenant.id: 3,
    }


def test_the_back_office_says_its_times_are_utc(client, two_tenants):
    assert staff_login(client, make_staff("support")).status_code == 302
    page = client.get(f"/backoffice/tenants/{two_tenants.a.tenant.id}", headers=EN)
    assert "are in UTC; each shop sees its own in its time zone" in page.get_data(True)
