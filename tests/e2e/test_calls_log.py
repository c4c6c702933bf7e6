"""The call log in a real browser: a shop's PBX posts signed call events to the generic hook,
the owner filters the log, exports what the filter shows, and finds the answered call on the
caller's customer timeline. A shop with no provider yet is told how to connect one."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from app.calls import hooks
from app.calls import secrets as call_secrets
from app.calls.models import CallConnection
from tenants.db import bind_tenant, cross_tenant, db
from tenants.models import Tenant

from ..live import csrf_token, sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e
SECRET = "whsec-e2e-log"
# the live server's (tests/live.py): with no ENCRYPTION_KEYS, secrets are sealed with its key
SERVER_CONFIG = {"ENCRYPTION_KEYS": [], "SECRET_KEY": "live-test-secret"}


def connect_pbx(site_key: str) -> str:
    """The shop's PBX connection (the settings page is another part's): its hook token."""
    with cross_tenant():
        tenant_id = db.scalar(select(Tenant.id).where(Tenant.site_key == site_key))
    db.remove()  # on SQLite, the platform's connection lets go of the file before the shop's
    bind_tenant(tenant_id)
    token = uuid.uuid4().hex
    db.add(
        CallConnection(
            kind="generic",
            name="Office PBX",
            token=token,
            secret_enc=call_secrets.encrypt(SECRET, SERVER_CONFIG),
        )
    )
    db.commit()
    db.remove()
    return token


def pbx_says(live_url: str, token: str, **event) -> None:
    body = json.dumps(event).encode()
    answer = requests.post(
        f"{live_url}/calls/hook/{token}",
        data=body,
        headers={
            hooks.SIGNATURE_HEADER: hooks.sign(SECRET, body),
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture
def shop_with_calls(live_server):
    label = f"log-{uuid.uuid4().hex[:6]}"
    session, site_key = sign_up(live_server, label)
    new = f"{live_server.url}/console/customers/new"
    created = session.post(
        new,
        data={"csrf_token": csrf_token(session, new), "name": "Wang Fang", "phones": "13800138000"},
    )
    assert "/console/customers/" in created.url, created.text[:300]
    token = connect_pbx(site_key)
    shop_line = "+862160000000"
    # Wang Fang rings, the owner answers, they talk for two minutes and five seconds
    for event, at in (
        ("ringing", "2026-12-07T01:00:00Z"),
        ("answered", "2026-12-07T01:00:08Z"),
        ("ended", "2026-12-07T01:02:13Z"),
    ):
        pbx_says(
            live_server.url,
            token,
            event=event,
            call_id="pbx-1",
            timestamp=at,
            **{"from": "13800138000", "to": shop_line},
            agent=f"{label}@example.com",
            duration=125,
            cause="normalClearing",
        )
    # an unknown number rings out unanswered; the shop calls someone back who does not answer
    for call_id, direction, caller, called in (
        ("pbx-2", "in", "13900139000", shop_line),
        ("pbx-3", "out", shop_line, "13700137000"),
    ):
        for event, at in (("ringing", "2026-12-07T02:00:00Z"), ("ended", "2026-12-07T02:00:40Z")):
            pbx_says(
                live_server.url,
                token,
                event=event,
                call_id=call_id,
                timestamp=at,
                direction=direction,
                **{"from": caller, "to": called},
                cause="noAnswer",
            )
    return label, created.url


def log_in(page, live_url: str, email: str) -> None:
    page.goto(f"{live_url}/login")
    page.locator("input[name=email]").fill(email)  # by name: the Chinese test logs in too
    page.locator("input[name=password]").fill("a-good-password")
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/console/$"))


def test_filter_export_and_the_call_on_the_customers_timeline(live_server, page, shop_with_calls):
    label, record = shop_with_calls
    log_in(page, live_server.url, f"{label}@example.com")
    page.locator("nav.sidebar").get_by_role("link", name="Calls").click()
    expect(page.get_by_role("heading", name="Calls")).to_be_visible()
    rows = page.locator("table.calls tbody tr[data-call]")
    expect(rows).to_have_count(3)
    answered = rows.filter(has_text="Wang Fang")
    expect(answered).to_contain_text("Completed")
    expect(answered).to_contain_text("2:05")
    expect(answered).to_contain_text(f"Owner {label}")
    expect(rows.filter(has_text="139 0013 9000")).to_contain_text("Missed")
    expect(rows.filter(has_text="137 0013 7000")).to_contain_text("Not answered")
    screenshot(page, "calls-log")

    page.get_by_label("Status").select_option("missed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"\?status=missed$"))  # empty filters left out
    expect(rows).to_have_count(2)
    page.get_by_label("Direction").select_option("in")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("139 0013 9000")
    screenshot(page, "calls-log-filtered")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = download.value.path().read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [(r["provider_call_id"], r["status"], r["number"]) for r in exported] == [
        ("pbx-2", "missed", "'+8613900139000")
    ]
    assert exported[0]["started_at"] == "2026-12-07T10:00:00+08:00"  # the shop's time

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Phone number").fill("138 0013")
    page.get_by_label("Phone number").press("Enter")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link", name="Wang Fang").click()
    expect(page).to_have_url(record)
    call = page.locator('.timeline .tl-entry[data-kind="call"]')
    expect(call).to_have_count(1)
    expect(call).to_contain_text("Inbound call")
    expect(call).to_contain_text("Completed")
    expect(call).to_contain_text(f"talked 2:05 · with Owner {label}")
    expect(call.get_by_role("link", name="Open the call")).to_have_attribute(
        "href", re.compile(r"^/console/calls/\d+$")
    )
    screenshot(page, "calls-on-timeline")


def test_the_log_in_chinese_and_on_a_phone(browser, live_server, shop_with_calls):
    label, _record = shop_with_calls
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server.url, f"{label}@example.com")
    page.goto(f"{live_server.url}/console/calls")
    page.get_by_role("button", name="中文").click()  # the owner signed up in English
    expect(page.get_by_role("heading", name="电话")).to_be_visible()
    rows = page.locator("table.calls tbody tr[data-call]")
    expect(rows.filter(has_text="Wang Fang")).to_contain_text("已接通")
    expect(rows.filter(has_text="137 0013 7000")).to_contain_text("对方未接")
    screenshot(page, "calls-log-zh-phone")
    context.close()


def test_a_shop_without_a_provider_is_told_how_to_connect_one(live_server, page):
    label = f"log-{uuid.uuid4().hex[:6]}"
    sign_up(live_server, label)
    log_in(page, live_server.url, f"{label}@example.com")
    page.goto(f"{live_server.url}/console/calls")
    expect(page.get_by_role("heading", name="No calls yet")).to_be_visible()
    expect(page.get_by_role("link", name="Connect a phone provider")).to_have_attribute(
        "href", "/console/calls/settings"
    )
    screenshot(page, "calls-log-empty")
