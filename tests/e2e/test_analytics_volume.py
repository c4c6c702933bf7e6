"""The Volume page in a real browser: six weeks of the demo shop's traffic (made through the
real services and rolled up), the heatmap across at 1280 px and down at 390 px, in English and
Chinese, the measure picker, and no sideways scrolling on a phone."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.analytics import demo
from tenants.db import bind_tenant, cross_tenant, db
from tenants.models import Membership, Tenant

from ..live import sign_up
from .conftest import ARTIFACTS, screenshot
from .test_calls_log import log_in

pytestmark = pytest.mark.e2e


def six_weeks_of_traffic(app, site_key: str) -> None:
    with app.app_context():
        with cross_tenant():
            tenant_id = db.scalar(select(Tenant.id).where(Tenant.site_key == site_key))
        db.remove()
        bind_tenant(tenant_id)
        demo.seed(db.scalar(select(Membership).where(Membership.role == "owner")))
        db.commit()
        db.remove()


def test_the_volume_page_at_1280_and_390_px_in_english_and_chinese(app, live_server, browser):
    label = f"volume-{uuid.uuid4().hex[:6]}"
    _session, site_key = sign_up(live_server, label)
    six_weeks_of_traffic(app, site_key)

    wide = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = wide.new_page()
    log_in(page, live_server.url, f"{label}@example.com")
    page.goto(f"{live_server.url}/console/analytics")
    page.locator("nav.analytics-nav").get_by_role("link", name="Volume").click()
    expect(page.locator("h1")).to_have_text("Volume")
    conversations = int(page.locator('[data-total="conversations"] strong').inner_text())
    assert conversations > 0
    # every conversation of the heatmap's cells is one of the total's
    cells = page.locator(".heatmap-wide rect")
    expect(cells).to_have_count(7 * 24)
    values = [int(v) for v in cells.evaluate_all("els => els.map(e => e.dataset.value)")]
    assert sum(values) == conversations
    expect(page.locator(".heatmap-narrow")).to_be_hidden()
    screenshot(page, "analytics-volume-1280")
    page.locator("select[name=measure]").select_option("messages")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h2").first).to_have_text("Messages by hour and weekday")
    messages = int(page.locator('[data-total="messages"] strong').inner_text().replace(",", ""))
    assert messages >= 2 * conversations  # each demo chat: a question and a reply
    screenshot(page, "analytics-volume-messages-1280")
    wide.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = phone.new_page()
    log_in(page, live_server.url, f"{label}@example.com")
    page.goto(f"{live_server.url}/console/analytics/volume")
    page.get_by_role("button", name="中文").click()  # the owner signed up in English
    expect(page.locator("h1")).to_have_text("咨询量")
    expect(page.locator(".heatmap-wide")).to_be_hidden()
    narrow = page.locator(".heatmap-narrow svg")
    expect(narrow).to_be_visible()
    expect(narrow.locator("text", has_text="周一")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(page, "analytics-volume-390-zh")
    page.locator(".heatmap-narrow").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "analytics-volume-390-zh-heatmap.png"))
    page.locator(".bars-narrow svg.bars").scroll_into_view_if_needed()  # the phone's own
    page.screenshot(path=str(ARTIFACTS / "analytics-volume-390-zh-bars.png"))
    page.locator("table.volume-days").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "analytics-volume-390-zh-table.png"))
    page.set_viewport_size({"width": 1280, "height": 800})
    screenshot(page, "analytics-volume-1280-zh")
    phone.close()
