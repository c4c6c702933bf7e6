"""The robot's whole journey in real browsers, through the product's own pages only: a shop
signs up, its admin imports a GBK spreadsheet of questions (preview, confirm) and sets the
robot to answer first; a visitor gets an answer, picks a "did you mean" button, then asks what
the knowledge base does not cover and is handed to the online agent, whose console shows the
robot's part; the question waits in the unanswered log, the admin adds it to an entry there,
and the next visitor asking it is answered by the robot."""

from __future__ import annotations

import functools
import http.server
import threading
import uuid

import pytest
from playwright.sync_api import expect

from ..conftest import free_port
from ..live import sign_up
from .conftest import screenshot
from .test_chat import QuietHandler, agent_page

pytestmark = pytest.mark.e2e

RETURNS = "7天无理由退货，运费由我们承担。详情见 https://tea.example/returns"
SHIPPING = "付款后24小时内顺丰发出，江浙沪次日达。"
FAQ = (
    "问题,相似问法,答案,分类\n"
    "运费多少钱？,包邮吗|运费怎么算,满99元包邮，不满收8元。,物流\n"
    f"退货运费谁出？,退货要运费吗|退货运费险,{RETURNS},售后\n"
    f"发什么快递？,用什么快递发货|几天能到,{SHIPPING},物流\n"
    "可以开发票吗？,能开发票吗|开专票,可以开电子发票，下单时填写抬头即可。,发票\n"
    "发票抬头怎么改？,发票抬头写错了,在订单详情页点击“修改发票”即可。,发票\n"
    "茶叶怎么保存？,茶叶放冰箱可以吗,密封后冷藏，避光防潮。,茶叶\n"
)
NEAR = "退回去要钱吗"  # near 退货运费谁出？, not sure enough to answer
UNCOVERED = "下单后多久寄出"  # no entry says so in these words


@pytest.fixture
def shop_page(live_server, tmp_path):
    """A new shop signed up through the form, and its own web page with the widget's snippet,
    served from another origin."""
    session, site_key = sign_up(live_server, f"journey-{uuid.uuid4().hex[:6]}")
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


def ask(widget, question: str) -> None:
    box = widget.locator("textarea").first
    box.fill(question)
    box.press("Enter")


def open_widget(browser, shop_url: str):
    """A new visitor (a browser of their own) on the shop's page, the chat opened."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(shop_url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()
    expect(widget.locator("textarea").first).to_be_visible()
    return page, widget


def test_a_shop_teaches_its_robot_which_answers_offers_hands_over_and_learns(
    browser, live_server, shop_page
):
    session, shop_url = shop_page
    admin = agent_page(browser, live_server, session)  # the owner: admin and agent at once
    console = admin.context.new_page()  # the same owner's second tab: the conversations
    console.goto(f"{live_server.url}/console/conversations")
    expect(console.locator("#live-conn")).to_have_attribute("data-state", "online")
    console.locator('#status-switch [data-status="online"]').click()
    expect(console.locator('#status-switch [data-status="online"]')).to_have_attribute(
        "aria-checked", "true"
    )

    # 1. the admin imports the shop's spreadsheet (Excel's Chinese CSV: GBK)
    admin.goto(f"{live_server.url}/console/robot")
    admin.get_by_role("link", name="Import CSV").click()
    admin.locator("input[name=file]").set_input_files(
        files=[{"name": "客服问答.csv", "mimeType": "text/csv", "buffer": FAQ.encode("gbk")}]
    )
    admin.get_by_role("button", name="Upload and preview").click()
    expect(admin.locator('[data-count="new"] strong')).to_have_text("6")
    expect(admin.locator('[data-count="refused"] strong')).to_have_text("0")
    expect(admin.locator("table.import-rows")).to_contain_text("发票抬头怎么改？")
    expect(admin.locator("table.import-rows")).to_contain_text("退货要运费吗 · 退货运费险")
    screenshot(admin, "robot-journey-01-import-preview")
    admin.get_by_role("button", name="Import 6 rows").click()
    expect(admin.locator(".flash.success")).to_contain_text("6 new entries")
    expect(admin.locator("table.robot-entries tbody tr")).to_have_count(6)
    screenshot(admin, "robot-journey-02-knowledge-base")

    # 2. ... and lets the robot answer first
    admin.get_by_role("link", name="Robot settings").click()
    admin.get_by_label("Answer first").check()
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator(".flash.success")).to_contain_text("Robot settings saved.")
    expect(admin.get_by_label("Answer first")).to_be_checked()
    screenshot(admin, "robot-journey-03-settings")

    # 3. a visitor asks a covered question in Chinese and reads the answer, its link clickable
    visitor, widget = open_widget(browser, shop_url)
    ask(widget, "退货运费谁出？")
    robot = widget.locator(".l .m.a")  # the robot's messages, in order
    expect(robot.nth(0).locator(".bb")).to_have_text(RETURNS)
    expect(robot.nth(0).locator(".bb a")).to_have_attribute("href", "https://tea.example/returns")
    expect(robot.nth(0).locator(".mt")).to_contain_text("智能助手")
    screenshot(visitor, "robot-journey-04-widget-answer")

    # 4. a near question: "did you mean" buttons; the one clicked answers
    ask(widget, NEAR)
    offer = robot.nth(1)
    expect(offer.locator(".bb")).to_have_text("您是想问：")
    offer.get_by_role("button", name="退货运费谁出？").click()
    expect(robot.nth(2).locator(".bb")).to_have_text(RETURNS)
    expect(offer.get_by_role("button", name="退货运费谁出？")).to_be_disabled()
    screenshot(visitor, "robot-journey-05-widget-did-you-mean")

    # 5. something the knowledge base does not cover goes to a person ...
    ask(widget, UNCOVERED)
    expect(robot.nth(3).locator(".bb")).to_contain_text("转人工客服")
    expect(widget.get_by_role("button", name="转人工")).to_be_hidden()  # a person has it
    screenshot(visitor, "robot-journey-06-widget-handover")

    # ... whose console shows what the robot said before
    console.locator(".conv-row").first.click()
    thread = console.locator("#msg-list")
    expect(thread).to_contain_text(UNCOVERED)
    expect(thread.locator(".msg.robot")).to_have_count(4)
    expect(thread.locator(".msg.robot").first).to_contain_text("7天无理由退货")
    expect(thread.locator(".msg.visitor").first).to_contain_text("退货运费谁出？")
    screenshot(console, "robot-journey-07-console-handover")
    visitor.context.close()

    # 6. the question waits in the unanswered log; the admin adds it to the shipping entry
    admin.goto(f"{live_server.url}/console/robot/unanswered")
    group = admin.locator("article.group")
    expect(group).to_have_count(1)  # the near question was offered buttons, no gap
    expect(group.locator(".group-question")).to_have_text(UNCOVERED)
    screenshot(admin, "robot-journey-08-unanswered")
    best = group.locator("button.candidate").first  # the robot's best guess, one click
    expect(best).to_contain_text("发什么快递？")
    best.click()
    expect(admin.locator(".flash.success")).to_contain_text(
        f'"{UNCOVERED}" is now a way to ask "发什么快递？"'
    )
    expect(admin.locator("article.group.settled")).to_have_count(1)
    screenshot(admin, "robot-journey-09-unanswered-settled")

    # 7. the next visitor asking it is answered by the robot
    visitor, widget = open_widget(browser, shop_url)
    ask(widget, UNCOVERED)
    expect(widget.locator(".l .m.a").first.locator(".bb")).to_have_text(SHIPPING)
    screenshot(visitor, "robot-journey-10-widget-learned")
    visitor.context.close()
    admin.context.close()
