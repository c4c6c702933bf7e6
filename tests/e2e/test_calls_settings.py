"""Phone settings in a real browser: an admin adds a PBX connection, copies the URL and the
secret shown once, finds it masked after a reload, rotates it, and the PBX's signed request
with the secret it was shown is recorded; then connects Twilio and adds a number, whose three
webhook URLs the page lists."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from playwright.sync_api import expect

from app.calls import hooks

from ..live import sign_up
from .conftest import ARTIFACTS, screenshot
from .test_settings import admin_page

pytestmark = pytest.mark.e2e


def test_connect_a_pbx_see_the_secret_once_and_rotate(browser, live_server):
    session, _site_key = sign_up(live_server, f"phone-{uuid.uuid4().hex[:6]}")
    admin = admin_page(browser, live_server, session)
    admin.goto(f"{live_server.url}/console/calls/settings")
    expect(admin.get_by_role("heading", name="Phone settings")).to_be_visible()
    sidebar = admin.get_by_role("navigation", name="Console")
    sidebar.get_by_role("link", name="Phone settings").wait_for()
    admin.locator("#add-generic-form").get_by_label("Connection name").fill("Front desk PBX")
    admin.get_by_role("button", name="Add connection").click()

    expect(admin.get_by_text("Copy the secret now: it is shown only this once.")).to_be_visible()
    secret = admin.locator("#new-secret").inner_text().strip()
    url = admin.locator("#hook-url").inner_text().strip()
    assert len(secret) >= 40 and url.startswith(f"{live_server.url}/calls/hook/")
    admin.wait_for_load_state()  # the page's script, which makes Copy copy, ran
    admin.locator("[data-copy='#new-secret']").click()
    expect(admin.locator("[data-copy='#new-secret']")).to_have_text("Copied")
    screenshot(admin, "calls-settings-secret-once")

    # the PBX posts a signed event with what it was shown
    body = json.dumps({"event": "ringing", "call_id": "e2e-1", "from": "13900000001"}).encode()
    answer = requests.post(
        url,
        data=body,
        headers={
            "Content-Type": "application/json",
            hooks.SIGNATURE_HEADER: hooks.sign(secret, body),
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "ringing"

    admin.get_by_role("link", name="Done").click()
    admin.reload()
    card = admin.locator("section.connection", has_text="Front desk PBX")
    expect(card.locator("[data-secret=primary]")).to_have_text(f"••••{secret[-4:]}")
    expect(card.get_by_label("Webhook URL")).to_have_text(url)
    assert secret not in admin.content()

    card.get_by_role("button", name="Rotate the secret").click()
    expect(admin.get_by_role("heading", name="New secret")).to_be_visible()
    rotated = admin.locator("#new-secret").inner_text().strip()
    assert rotated != secret
    expect(admin.get_by_text("The previous secret stays accepted")).to_be_visible()
    admin.get_by_role("link", name="Done").click()
    card = admin.locator("section.connection", has_text="Front desk PBX")
    expect(card.locator("[data-secret=primary]")).to_have_text(f"••••{rotated[-4:]}")
    expect(card.locator("[data-secret=previous]")).to_have_text(f"••••{secret[-4:]}")
    expect(card.get_by_role("button", name="Retire the previous secret")).to_be_visible()
    assert secret not in admin.content() and rotated not in admin.content()

    # Twilio beside it, with one number and its three URLs
    twilio = admin.locator(".add-twilio")
    twilio.get_by_label("Account SID").fill("AC" + "0123456789abcdef" * 2)
    twilio.get_by_label("Auth token").fill("fedcba9876543210" * 2)
    twilio.get_by_role("button", name="Connect Twilio").click()
    expect(admin.get_by_text("Twilio connected.")).to_be_visible()
    number_form = admin.locator("section.connection", has_text="Twilio account").locator(
        "form.add-number"
    )
    number_form.get_by_label("Add a number").fill("400 800 1234")
    number_form.get_by_label("Label").fill("Sales line")
    number_form.get_by_role("button", name="Add").click()
    expect(admin.get_by_text("+864008001234 added.")).to_be_visible()
    row = admin.locator("tr[data-number='+864008001234']")
    expect(row).to_be_visible()
    urls = admin.locator("tr.urls code")
    expect(urls).to_have_count(3)
    assert urls.nth(0).inner_text().endswith("/voice")
    # an extension for the owner
    lines = admin.locator("#lines")
    lines.get_by_label("Extension of", exact=False).first.fill("801")
    lines.get_by_role("button", name="Save").first.click()
    expect(admin.get_by_text("Line saved.")).to_be_visible()
    admin.reload()  # the page as the admin comes back to it, without the flash
    screenshot(admin, "calls-settings")
    # token mode, for a PBX that cannot sign: the page says it is weaker
    card = admin.locator("section.connection", has_text="Front desk PBX")
    card.get_by_role("button", name="Switch to token mode").click()
    card = admin.locator("section.connection", has_text="Front desk PBX")
    expect(card.get_by_text("Token mode is weaker")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    card.screenshot(path=str(ARTIFACTS / "calls-settings-token-mode.png"))
    admin.context.close()
