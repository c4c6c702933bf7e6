"""The profile's notifications in a real browser: the device list, what a device hears while
the agent is away, removing one; and turning them on in a browser that has no push service
(headless Chromium here) says so and saves nothing."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from ..live import sign_up
from ..push.pushservice import Browser
from .conftest import screenshot

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [1280, 390])
def test_an_agent_manages_the_devices_that_get_notifications(browser, live_server, width):
    session, _site_key = sign_up(live_server, f"push-{uuid.uuid4().hex[:6]}")
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="en-US", has_touch=width < 500
    )
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    context.grant_permissions(["notifications"], origin=live_server.url)
    page = context.new_page()
    page.goto(f"{live_server.url}/profile")
    devices = page.locator("#devices")
    expect(devices.get_by_role("heading", name="Notifications on your devices")).to_be_visible()
    # this browser can subscribe in principle, but its push service is out of reach here
    on = devices.get_by_role("button", name="Notify me on this device")
    expect(on).to_be_visible()
    expect(devices.get_by_role("button", name="Stop notifications on this device")).to_be_hidden()
    on.click()
    expect(devices.locator("[data-state]")).to_contain_text("could not be turned on")
    expect(devices.locator("form.device")).to_have_count(0)  # nothing saved

    # a phone subscribed earlier (as its browser would, with this session's CSRF token)
    made = page.evaluate(
        """async (subscription) => {
          const data = JSON.parse(document.getElementById("push-data").textContent);
          const r = await fetch(data.subscriptions_url, {method: "POST",
            headers: {"Content-Type": "application/json", "X-CSRFToken": data.csrf},
            body: JSON.stringify(subscription)});
          return r.status;
        }""",
        Browser(f"https://push.example/s/{uuid.uuid4().hex}").subscription(),
    )
    assert made == 201
    page.reload()
    device = devices.locator("form.device")
    expect(device).to_have_count(1)
    expect(device.locator("legend")).to_contain_text("Chrome on Linux")
    device.get_by_label("Incoming calls").uncheck()
    device.get_by_label("New messages in your chats").uncheck()
    expect(device.get_by_label("Incoming calls")).not_to_be_checked()
    device.get_by_role("button", name="Save").click()
    expect(page.locator(".flash.success")).to_have_text("Notifications saved.")
    expect(device.get_by_label("Incoming calls")).not_to_be_checked()
    expect(device.get_by_label("New chats for you or your queue")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    devices.scroll_into_view_if_needed()
    screenshot(page, f"profile-devices-{width}")

    device.get_by_role("button", name="Remove").click()
    expect(page.locator(".flash.success")).to_have_text(
        "The device will get no more notifications."
    )
    expect(devices.locator("form.device")).to_have_count(0)
    context.close()
