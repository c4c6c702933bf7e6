"""Platform staff in a real browser: an account made with the CLI, TOTP sign-in, a shop's
page, an audited action."""

from __future__ import annotations

import re
import uuid

import pyotp
import pytest
from playwright.sync_api import expect

from ..live import create_staff, sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e


def test_staff_extend_a_trial_and_it_is_in_the_audit_log(browser, live_server, database):
    shop_label = f"bo-{uuid.uuid4().hex[:6]}"
    sign_up(live_server, shop_label)
    email = f"ops-{uuid.uuid4().hex[:6]}@staff.example.com"
    secret = create_staff(live_server, email, "staff-pass-123")

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/backoffice/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill("staff-pass-123")
    page.locator("input[name=code]").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/backoffice/login"))  # a wrong code: still outside
    page.locator("input[name=password]").fill("staff-pass-123")
    page.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))

    page.get_by_role("link", name=f"Shop {shop_label}").click()
    expect(page.get_by_role("heading", name=f"Shop {shop_label}")).to_be_visible()
    trial = page.locator("#trial")
    trial.locator("input[name=days]").fill("10")
    trial.locator("input[name=reason]").fill("Asked for time to try calls")
    trial.locator("button").click()
    expect(page.get_by_text("Asked for time to try calls").first).to_be_visible()
    screenshot(page, "backoffice-tenant")
    page.goto(f"{live_server.url}/backoffice/revenue")
    screenshot(page, "backoffice-revenue")
    context.close()
