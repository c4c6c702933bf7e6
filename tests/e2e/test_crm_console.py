"""The Customers module in a real browser: an agent signs in, finds a customer by the phone
number as a caller reads it out, opens the record, writes a note and sees it on the timeline,
and pages to older entries in place."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from ..live import sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e


def csrf(session, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', session.get(url).text).group(1)


@pytest.fixture
def shop_with_customer(live_server):
    """A shop on its trial (Pro modules open) with one customer who has a long history."""
    label = f"crm-{uuid.uuid4().hex[:6]}"
    session, _site_key = sign_up(live_server, label)
    new = f"{live_server.url}/console/customers/new"
    created = session.post(
        new,
        data={
            "csrf_token": csrf(session, new),
            "name": "Wang Fang",
            "company": "Fang's Tea Room",
            "phones": "13800138000",
            "emails": "wang.fang@example.com",
            "tags": "vip, wholesale",
        },
    )
    assert created.status_code == 200 and "/console/customers/" in created.url, created.text[:300]
    record = created.url
    token = csrf(session, record)
    for n in range(55):  # more than one page of timeline
        session.post(f"{record}/notes", data={"csrf_token": token, "text": f"Old note {n}"})
    session.post(
        new, data={"csrf_token": token, "name": "Wang Lei", "phones": "13900139000"}
    )  # a namesake the search must tell apart
    return f"{label}@example.com", record


def test_find_a_customer_write_a_note_and_page_the_timeline(live_server, page, shop_with_customer):
    email, record = shop_with_customer
    page.goto(f"{live_server.url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("a-good-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    expect(page.locator("table.customers a.name")).to_have_count(2)

    # the caller reads the number out with spaces, as people do
    page.wait_for_load_state()  # the script that leaves empty filters out of the URL ran
    search = page.get_by_placeholder("Name, phone, e-mail or your customer id")
    search.fill("138 0013 8000")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=138\+0013\+8000$"))  # empty filters left out
    rows = page.locator("table.customers a.name")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("Wang Fang")
    expect(page.locator("table.customers")).to_contain_text("138 0013 8000")
    screenshot(page, "crm-customers")

    rows.first.click()
    expect(page).to_have_url(record)
    expect(page.get_by_role("heading", name="Wang Fang")).to_be_visible()
    expect(page.locator("#contacts")).to_contain_text("wang.fang@example.com")

    page.get_by_placeholder(re.compile("Write a note")).fill("Asked for the spring Longjing.")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    newest = page.locator(".timeline .tl-entry").first
    expect(newest).to_contain_text("Asked for the spring Longjing.")
    expect(newest).to_contain_text("Note by Owner crm-")
    expect(page.locator(".timeline .tl-entry")).to_have_count(50)
    screenshot(page, "crm-record")

    # "Older" appends the next page where it stands; the page does not reload
    page.evaluate("window.__stayed = true")
    page.get_by_role("link", name="Older").click()
    expect(page.locator(".timeline .tl-entry")).to_have_count(56)  # 55 old notes and the new one
    expect(page.locator(".tl-entry").last).to_contain_text("Old note 0")
    assert page.evaluate("window.__stayed") is True
    expect(page.get_by_role("link", name="Older")).to_have_count(0)
