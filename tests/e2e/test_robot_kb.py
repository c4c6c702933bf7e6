"""The knowledge base in a real browser: the shop's admin imports a GBK CSV through the page,
sees the preview (a refused row with its reason), confirms, finds the entries listed by
category, tries a question and gets the answer with its link; the pages read at 1280 px and at
390 px (screenshots in artifacts/ and /work/shots/robot)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..live import sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e
SHOTS = Path("/work/shots/robot")

FAQ = (
    "问题,相似问法,答案,分类\n"
    "运费险怎么理赔？,退货运费险怎么赔|运费险 怎么用,退货签收后自动理赔，详见 https://shop.example/help/freight,售后\n"
    "发票怎么开？,可以开专票吗|开发票,在订单页申请电子发票。,发票\n"
    "几天发货？,什么时候发货|多久发货,付款后 48 小时内发货。,物流\n"
    ",没有问题的行,这一行会被拒绝,物流\n"
)


def shot(page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def test_import_preview_confirm_and_try_a_question(browser, live_server):
    session, _ = sign_up(live_server, f"kb-{uuid.uuid4().hex[:6]}")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/console/robot")
    page.get_by_role("link", name="Import CSV").click()
    page.locator("input[name=file]").set_input_files(
        files=[{"name": "常见问题.csv", "mimeType": "text/csv", "buffer": FAQ.encode("gbk")}]
    )
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.locator('[data-count="new"] strong')).to_have_text("3")
    expect(page.locator('[data-count="refused"] strong')).to_have_text("1")
    refused = page.locator("table.import-refused tbody tr")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("5")
    expect(refused).to_contain_text("This field is required.")
    expect(page.locator("table.import-rows")).to_contain_text("退货运费险怎么赔 · 运费险 怎么用")
    shot(page, "robot-import-preview")
    page.get_by_role("button", name="Import 3 rows").click()

    expect(page.locator(".flash.success")).to_contain_text("3 new entries")
    expect(page.locator("table.robot-entries tbody tr")).to_have_count(3)
    page.get_by_role("link", name="发票 1").click()
    expect(page.locator("table.robot-entries tbody tr")).to_have_count(1)

    page.get_by_placeholder("Ask as a visitor would").fill("运费险怎么理赔")
    page.get_by_role("button", name="Ask").click()
    reply = page.locator(".try-reply")
    expect(reply).to_have_attribute("data-decision", "answer")
    link = reply.get_by_role("link", name="https://shop.example/help/freight")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(reply.locator(".candidates li").first).to_contain_text("运费险怎么理赔？")
    expect(page.locator('[data-figure="asked"]')).to_have_text("0")  # trying logs nothing
    shot(page, "robot-kb-1280")

    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "robot-kb-390")
    page.goto(f"{live_server.url}/console/robot/settings")
    expect(page.get_by_text("Only when nobody is online")).to_be_visible()
    shot(page, "robot-settings-390")
    context.close()
