"""The profile page in a real browser: reached from the console, a wrong current password is
refused beside its field, and a new name and language are saved."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from ..live import sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e


def test_a_person_changes_their_name_and_language_on_their_profile(browser, live_server):
    session, _site_key = sign_up(live_server, f"profile-{uuid.uuid4().hex[:6]}")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/console/")
    page.get_by_role("link", name="Your profile").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    screenshot(page, "profile")

    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label("New password", exact=True).fill("another-good-password")
    page.get_by_label("Repeat the new password").fill("another-good-password")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password .error")).to_have_text("Your current password is not right.")
    screenshot(page, "profile-refused")

    page.get_by_label("Your name").fill("王小明")
    page.get_by_label("Your language").select_option("zh_CN")
    page.get_by_label("E-mail me each chat nobody answered").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".flash.success")).to_have_text("个人资料已保存。")
    expect(page.get_by_label("您的姓名")).to_have_value("王小明")
    expect(page.get_by_label("有无人回复的咨询时给我发邮件")).not_to_be_checked()
    expect(page.get_by_label("有新留言时给我发邮件")).to_be_checked()
    screenshot(page, "profile-saved-zh")
    context.close()
