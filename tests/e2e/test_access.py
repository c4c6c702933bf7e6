"""An agent's console in Chromium when the owner disables them: the open page does not go on
as if nothing happened; it lands on the login page."""

from __future__ import annotations

import re
import uuid

import pytest
import requests
from playwright.sync_api import expect

from ..live import csrf_token, invite, sign_up
from .conftest import screenshot
from .test_chat import agent_page

pytestmark = pytest.mark.e2e


def test_a_disabled_agents_open_console_goes_to_the_login_page(browser, live_server):
    label = f"off-{uuid.uuid4().hex[:6]}"
    owner, _ = sign_up(live_server, label)
    link = invite(live_server, owner, f"agent-{label}@example.com")
    agent = requests.Session()
    agent.post(
        link,
        data={"csrf_token": csrf_token(agent, link), "name": "Agent", "password": "pass-12345"},
    )
    page = agent_page(browser, live_server, agent)
    members = owner.get(f"{live_server.url}/console/members").text
    member_id = re.search(r"/console/members/(\d+)/disable", members).group(1)
    owner.post(
        f"{live_server.url}/console/members/{member_id}/disable",
        data={"csrf_token": csrf_token(owner, f"{live_server.url}/console/members")},
    )
    expect(page).to_have_url(re.compile(r"/login"), timeout=10_000)
    screenshot(page, "access-disabled-agent-back-at-login")
    page.context.close()
