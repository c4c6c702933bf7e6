"""The shop's switch to record its Twilio calls, as an admin uses it: without Twilio the page
says to connect it; with it, switched on and saved, and what callers will hear, in English
and in Chinese."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, insert, select

from app.calls.models import CallConnection
from tenants.db import database_url, utcnow
from tenants.models import Tenant

from ..live import sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e


def connect_twilio(database, site_key: str) -> None:
    """The shop's Twilio account, as the calls settings would have saved it."""
    engine = create_engine(database_url(database.owner_url))
    with engine.begin() as conn:
        tenant_id = conn.scalar(select(Tenant.id).where(Tenant.site_key == site_key))
        conn.execute(
            insert(CallConnection.__table__).values(
                tenant_id=tenant_id,
                kind="twilio",
                name="Twilio",
                token=uuid.uuid4().hex,
                signing="signature",
                account_sid="AC" + uuid.uuid4().hex,
                enabled=True,
                record_calls=False,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    engine.dispose()


def test_an_admin_switches_recording_on(browser, live_server, database):
    session, site_key = sign_up(live_server, f"rec-{uuid.uuid4().hex[:6]}")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/console/calls/settings/recording")
    expect(page.get_by_text("connect your Twilio account")).to_be_visible()
    screenshot(page, "calls-recording-no-twilio")

    connect_twilio(database, site_key)
    page.reload()
    switch = page.get_by_label("Record inbound calls")
    expect(switch).not_to_be_checked()
    switch.check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Calls are recorded.")
    expect(page.get_by_label("Record inbound calls")).to_be_checked()
    screenshot(page, "calls-recording-on")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="通话录音")).to_be_visible()
    expect(page.get_by_text("来电者会先听到")).to_be_visible()
    screenshot(page, "calls-recording-zh")
    context.close()
