"""The unanswered questions log in a real browser: a shop's channel asks the robot through the
ask API what its knowledge base does not cover, the question is handed over and lands in the
log, grouped with its variants; the owner adds it as a way to ask an entry, and asked again
it is answered. The page is looked at in English and Chinese, on a desktop and a phone."""

from __future__ import annotations

import uuid

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from app.api import keys
from app.robot.models import RobotEntry
from tenants.db import bind_tenant, cross_tenant, db
from tenants.models import Membership, Tenant

from ..live import sign_up
from .conftest import screenshot
from .test_calls_log import log_in

pytestmark = pytest.mark.e2e


def knowledge_and_key(site_key: str) -> str:
    """The shop's knowledge base (its import is another part's) and a key for its own
    channel's ask API calls."""
    with cross_tenant():
        tenant_id = db.scalar(select(Tenant.id).where(Tenant.site_key == site_key))
    db.remove()
    bind_tenant(tenant_id)
    owner = db.scalar(select(Membership).where(Membership.role == "owner"))
    db.add_all(
        [
            RobotEntry(question="运费多少钱", answer="满99元包邮，不满收8元。", alternatives=[]),
            RobotEntry(question="可以开发票吗", answer="可以，下单时填写抬头。", alternatives=[]),
        ]
    )
    _key, token = keys.create_key("Mini program", owner.id)
    db.commit()
    db.remove()
    return token


def ask(live_url: str, token: str, question: str) -> dict:
    answer = requests.post(
        f"{live_url}/api/v1/robot/answer",
        json={"question": question},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_handed_over_question_added_as_a_phrasing_is_answered_next_time(live_server, browser):
    label = f"robot-log-{uuid.uuid4().hex[:6]}"
    _session, site_key = sign_up(live_server, label)
    token = knowledge_and_key(site_key)
    for question in ("顺丰能到新疆吗？", "请问顺丰能到新疆吗", "顺丰能到新疆吗", "转人工"):
        assert ask(live_server.url, token, question)["decision"] == "handover"

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    log_in(page, live_server.url, f"{label}@example.com")
    page.goto(f"{live_server.url}/console/robot/unanswered")
    group = page.locator("article.group").first
    expect(group.locator(".group-question")).to_have_text("顺丰能到新疆吗")
    expect(group.locator(".group-count")).to_have_text("×3")
    expect(group.locator(".variants")).to_contain_text("请问顺丰能到新疆吗")
    expect(page.locator("article.group")).to_have_count(1)  # 转人工 is no knowledge gap
    screenshot(page, "robot-unanswered-1280")

    # no candidate is close: the owner names the entry, picked from the list as typed
    group.locator("input[name=entry]").fill("运费多少钱")
    group.get_by_role("button", name="Add to entry").click()
    expect(page.locator(".flash.success")).to_contain_text(
        '"顺丰能到新疆吗" is now a way to ask "运费多少钱"'
    )
    expect(page.locator("article.group.settled")).to_have_count(1)
    expect(page.locator("[data-summary]")).to_contain_text("0 to settle")

    reply = ask(live_server.url, token, "顺丰能到新疆吗")
    assert (reply["decision"], reply["answer"]) == ("answer", "满99元包邮，不满收8元。")

    # the person view, and the page on a phone in Chinese
    page.goto(f"{live_server.url}/console/robot/unanswered?kind=person")
    expect(page.locator(".group-question")).to_have_text(["转人工"])
    context.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = phone.new_page()
    log_in(page, live_server.url, f"{label}@example.com")
    ask(live_server.url, token, "可以用微信付款吗")
    page.goto(f"{live_server.url}/console/robot/unanswered")
    page.get_by_role("button", name="中文").click()  # the owner signed up in English
    expect(page.locator("h1")).to_have_text("未回答的问题")
    expect(page.locator("article.group").first.locator(".group-question")).to_have_text(
        "可以用微信付款吗"
    )
    page.locator("article.group").first.locator("summary").click()
    expect(page.locator("article.group").first.locator("textarea[name=answer]")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(page, "robot-unanswered-390-zh")
    phone.close()
