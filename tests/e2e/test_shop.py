"""The shop's own settings seen in a browser: one time zone for the console and History,
the billing page without Stripe and after a bank transfer, the favicon, a dead reset link."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyotp
import pytest
import requests
from playwright.sync_api import expect

from ..live import create_staff, sign_up, visitor_client

pytestmark = pytest.mark.e2e
SHOTS = Path("/work/shots/shop")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def signed_in(browser, server, session, **options):
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-US", **options
    )
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": server.url} for c in session.cookies]
    )
    return context.new_page()


def clock(moment: datetime, zone: str) -> str:
    """ "6:17 AM": the wall-clock time both pages must show, whatever their spacing."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.hour % 12 or 12}:{local:%M} {local:%p}"


def plain(text: str) -> str:
    """Babel and Chrome put a narrow no-break space before AM/PM; a "06" may lead."""
    return re.sub(r"\b0(\d:)", r"\1", re.sub(r"[\u202f\xa0]", " ", text))


def test_console_and_history_show_one_time_in_the_shops_zone(browser, live_server):
    session, site_key = sign_up(live_server, f"tz-{uuid.uuid4().hex[:6]}")
    visitor, _ = visitor_client(live_server, site_key)
    visitor.call("message", {"client_id": "tz-1", "text": "What time is it?"}, namespace="/visitor")
    visitor.disconnect()
    # The agent's computer is in New York; the shop is in Shanghai (its default).
    page = signed_in(browser, live_server, session, timezone_id="America/New_York")

    def shown_times(zone: str) -> None:
        page.goto(f"{live_server.url}/console/conversations")
        page.locator(".conv-row").first.click()
        stamp = page.locator("#msg-list time").first
        expect(stamp).to_be_visible()
        sent = datetime.fromisoformat(stamp.get_attribute("datetime"))
        assert plain(stamp.inner_text()) == clock(sent, zone)
        page.goto(f"{live_server.url}/console/history")
        expect(page.locator("[data-zone]")).to_contain_text(zone)
        assert clock(sent, zone) in plain(page.locator("table tbody tr").first.inner_text())

    shown_times("Asia/Shanghai")
    page.goto(f"{live_server.url}/console/shop")
    box = page.get_by_label("Time zone")
    box.fill("Nowhere/Atlantis")
    page.locator("#timezone").get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose a time zone from the list")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Shanghai")  # nothing changed
    page.get_by_label("Time zone").fill("Europe/London")
    page.locator("#timezone").get_by_role("button", name="Save").click()
    expect(page.locator(".flash.success")).to_contain_text("Europe/London")
    expect(page.locator("[data-shop-now]")).to_contain_text("Europe/London")
    shot(page, "timezone-setting")
    shown_times("Europe/London")
    page.context.close()


def staff_sign_in(browser, server):
    email = f"ops-{uuid.uuid4().hex[:6]}@staff.example.com"
    secret = create_staff(server, email, "staff-pass-123")
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(f"{server.url}/backoffice/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill("staff-pass-123")
    page.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
    return page


def test_billing_page_without_stripe_and_after_a_bank_transfer(browser, live_server):
    label = f"bank-{uuid.uuid4().hex[:6]}"
    session, _ = sign_up(live_server, label)
    page = signed_in(browser, live_server, session)
    page.goto(f"{live_server.url}/console/billing")
    card = page.get_by_role("button", name="Pay by card")
    expect(card).to_be_disabled()
    # It must look off too, not like the brand-blue button it was.
    style = card.evaluate("b => [getComputedStyle(b).cursor, getComputedStyle(b).backgroundColor]")
    assert style[0] == "not-allowed" and style[1] != "rgb(31, 111, 235)", style
    expect(page.get_by_text("Card payment is unavailable on this server.")).to_be_visible()
    offline = page.locator("[data-offline-pay]")
    expect(offline).to_contain_text("Pay by bank transfer")
    expect(offline.get_by_role("link", name="support@huike.local")).to_be_visible()
    shot(page, "billing-stripe-off")

    # Staff record the transfer in the back office: Pro, 4 seats, paid until New Year's Eve.
    until = date(date.today().year + 1, 12, 31)
    staff = staff_sign_in(browser, live_server)
    staff.get_by_role("link", name=f"Shop {label}").click()
    form = staff.locator("form[action$='/plan']")
    form.locator("select[name=plan_code]").select_option("pro")
    form.locator("input[name=seats]").fill("4")
    form.locator("input[name=paid_until]").fill(until.isoformat())
    form.locator("input[name=reason]").fill("Transfer ref 2026-118")
    form.get_by_role("button").click()
    expect(staff.get_by_text("Transfer ref 2026-118").first).to_be_visible()
    staff.context.close()

    page.goto(f"{live_server.url}/console/billing")
    expect(page.locator("[data-plan]")).to_have_attribute("data-plan", "pro")
    expect(page.get_by_role("heading", name="Upgrade to Pro")).to_have_count(0)
    expect(page.get_by_role("button", name="Pay by card")).to_have_count(0)
    expect(page.get_by_role("heading", name="Paid by bank transfer")).to_be_visible()
    paid = page.locator("[data-paid-until]")
    expect(paid).to_have_attribute("data-paid-until", until.isoformat())
    expect(paid).to_have_text(f"Dec 31, {until.year}")  # the day entered, not the next one
    shot(page, "billing-after-offline-payment")
    page.context.close()


def test_favicon_is_an_image_on_every_page(browser, live_server):
    response = requests.get(f"{live_server.url}/favicon.ico", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/")
    page = browser.new_page()
    page.goto(f"{live_server.url}/login")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert requests.get(f"{live_server.url}{icon}", timeout=10).status_code == 200
    page.close()


def test_a_bogus_reset_link_is_refused_on_opening(page, live_server):
    page.goto(f"{live_server.url}/password/reset/not-a-real-token")
    expect(page.get_by_role("heading", name="This link is invalid or expired")).to_be_visible()
    expect(page.locator("input[type=password]")).to_have_count(0)  # nothing to type in vain
    page.get_by_role("link", name="Ask for a new link").click()
    expect(page).to_have_url(re.compile(r"/password/forgot$"))
