"""The robot in a real browser: a shop answering first with its knowledge base. A visitor asks
a covered question in Chinese and reads the answer (its link clickable), picks one of the "did
you mean" buttons, then asks something unrelated and is handed to the agent, whose console
shows the robot's part of the chat."""

from __future__ import annotations

import functools
import http.server
import threading
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.robot import knowledge
from app.robot.schemas import EntryInput
from tenants.db import bind_tenant, cross_tenant, db
from tenants.models import Tenant

from ..conftest import free_port
from ..live import sign_up
from .conftest import screenshot
from .test_chat import QuietHandler, agent_page

pytestmark = pytest.mark.e2e
RETURNS = "7天无理由退货，运费由我们承担。详情见 https://tea.example/returns"
ENTRIES = [
    ("退货运费谁出？", ["退货要运费吗"], RETURNS),
    ("发什么快递？", ["用什么快递发货"], "默认顺丰快递，江浙沪次日达。"),
    ("可以开发票吗？", ["能开发票吗"], "可以开电子发票，下单时填写抬头即可。"),
    ("发票抬头怎么改？", ["发票抬头写错了"], "在订单详情页点击“修改发票”即可。"),
]


def teach(site_key: str) -> None:
    """The shop's knowledge base and mode, as its admin pages would leave them (another
    part of the module): answer first, and a high answer bar so near questions are offered
    as "did you mean" buttons."""
    with cross_tenant():
        tenant_id = db.scalar(select(Tenant.id).where(Tenant.site_key == site_key))
    db.remove()  # on SQLite, the platform's connection lets go of the file before the shop's
    bind_tenant(tenant_id)
    try:
        for question, alternatives, answer in ENTRIES:
            knowledge.create_entry(
                EntryInput(question=question, alternatives=alternatives, answer=answer)
            )
        row = knowledge.settings(create=True)
        row.mode, row.answer_threshold = "answer_first", 0.95
        db.commit()
    finally:
        db.remove()


@pytest.fixture
def shop(live_server, tmp_path):
    session, site_key = sign_up(live_server, f"robot-{uuid.uuid4().hex[:6]}")
    teach(site_key)
    (tmp_path / "index.html").write_text(
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>茶庄</title>"
        "</head><body><h1>西湖龙井</h1>"
        f'<script async src="{live_server.url}/w/{site_key}.js"></script></body></html>'
    )
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield session, f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()


def test_the_robot_answers_suggests_and_hands_over(browser, live_server, shop, page):
    session, shop_url = shop
    agent = agent_page(browser, live_server, session)
    agent.locator('#status-switch [data-status="online"]').click()
    expect(agent.locator('#status-switch [data-status="online"]')).to_have_attribute(
        "aria-checked", "true"
    )

    page.goto(shop_url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()
    box = widget.locator("textarea").first
    box.fill("退货运费谁出？")
    box.press("Enter")
    answer = widget.locator(".l .m.a").nth(0)  # the robot's first message
    expect(answer.locator(".bb")).to_have_text(RETURNS)
    expect(answer.locator(".bb a")).to_have_attribute("href", "https://tea.example/returns")
    expect(answer.locator(".mt")).to_contain_text("智能助手")
    expect(widget.get_by_role("button", name="转人工")).to_be_visible()  # always offered
    answer.get_by_role("button", name="有帮助").click()
    expect(answer.get_by_role("button", name="有帮助")).to_be_disabled()
    screenshot(page, "robot-widget-answer")
    agent.get_by_role("tab", name="All open").click()  # not in the queue: the robot has it
    expect(agent.locator(".conv-row").first).to_contain_text("With the robot")

    box.fill("发票能改吗")
    box.press("Enter")
    offer = widget.locator(".l .m.a").nth(1)
    expect(offer.locator(".bb")).to_have_text("您是想问：")
    expect(offer.get_by_role("button", name="发什么快递？")).to_have_count(0)  # not plausible
    offer.get_by_role("button", name="发票抬头怎么改？").click()
    expect(widget.locator(".l .m.a").last.locator(".bb")).to_have_text(
        "在订单详情页点击“修改发票”即可。"
    )
    expect(offer.get_by_role("button", name="发票抬头怎么改？")).to_be_disabled()
    screenshot(page, "robot-widget-did-you-mean")

    box.fill("火星上能用支付宝吗")
    box.press("Enter")
    expect(widget.locator(".l .m.a").last.locator(".bb")).to_contain_text("转人工客服")
    expect(widget.get_by_role("button", name="转人工")).to_be_hidden()  # a person has it now
    screenshot(page, "robot-widget-handover")

    agent.locator(".conv-row").first.click()
    thread = agent.locator("#msg-list")
    expect(thread).to_contain_text("火星上能用支付宝吗")
    expect(thread.locator(".msg.robot")).to_have_count(4)  # the robot's part, in order
    expect(thread.locator(".msg.robot").first).to_contain_text("7天无理由退货")
    screenshot(agent, "robot-console-handover")
    agent.context.close()
