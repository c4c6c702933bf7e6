"""A shop signs itself up in a real browser and lands on the console with its snippet; the
owner invites an agent, who joins through the e-mailed link in a second browser."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from .conftest import screenshot

pytestmark = pytest.mark.e2e


def test_signup_leads_to_the_console_with_the_snippet(live_server, page):
    email = f"owner-{uuid.uuid4().hex[:6]}@example.com"
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Sign up free").click()
    page.get_by_label("Shop name").fill("Green Tea Shop")
    page.get_by_label("Your name").fill("Lin Wei")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("a-good-password")
    screenshot(page, "signup")
    page.get_by_role("button", name="Create my shop").click()

    expect(page).to_have_url(re.compile(r"/console/\?welcome=1$"))
    expect(page.get_by_role("heading", name="Green Tea Shop")).to_be_visible()
    snippet = page.locator("#snippet").inner_text()
    assert re.fullmatch(
        rf'<script async src="{re.escape(live_server.url)}/w/[\w-]+\.js"></script>', snippet
    )
    expect(page.get_by_text("14 days left").first).to_be_visible()
    expect(page.get_by_text("1 of 5 in use")).to_be_visible()
    screenshot(page, "console-home")

    page.get_by_role("link", name="Customers").click()  # a Pro module: open during the trial
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()


def test_bad_signup_shows_the_messages_in_place(live_server, page):
    page.goto(f"{live_server.url}/signup")
    page.get_by_label("E-mail").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create my shop").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    expect(page.get_by_text("Enter a valid e-mail address.")).to_be_visible()
    screenshot(page, "signup-errors")


def test_owner_invites_an_agent_who_joins_by_the_mailed_link(live_server, browser, page):
    owner = f"owner-{uuid.uuid4().hex[:6]}@example.com"
    agent = f"agent-{uuid.uuid4().hex[:6]}@example.com"
    page.goto(f"{live_server.url}/signup")
    page.get_by_label("Shop name").fill("Invite Shop")
    page.get_by_label("E-mail").fill(owner)
    page.get_by_label("Password").fill("a-good-password")
    page.get_by_role("button", name="Create my shop").click()
    page.get_by_role("link", name="Members & seats").click()
    page.get_by_label("E-mail").fill(agent)
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(f"Invitation sent to {agent}.")).to_be_visible()
    expect(page.locator(f'tr[data-member="{agent}"]')).to_contain_text("Invited")
    screenshot(page, "members")

    link = re.search(r"https?://\S+/invite/\S+", live_server.last_mail(agent)).group(0)
    context = browser.new_context(locale="zh-CN")
    newcomer = context.new_page()
    newcomer.goto(link)
    expect(newcomer.get_by_role("heading")).to_contain_text("Invite Shop")
    newcomer.get_by_label("您的姓名").fill("小王")
    newcomer.get_by_label("密码").fill("another-password")
    screenshot(newcomer, "accept-invitation-zh")
    newcomer.get_by_role("button").filter(has_text="加入").click()
    expect(newcomer).to_have_url(re.compile(r"/console/$"))
    screenshot(newcomer, "console-agent-zh")
    context.close()

    page.reload()
    expect(page.locator(f'tr[data-member="{agent}"]')).to_contain_text("Active")
