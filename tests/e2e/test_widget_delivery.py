"""The visitor is never left in silence (issue 11): a widget refused on a website shows no chat
and the owner fixes it from the console home; a message that cannot be sent says so and is sent
once on retry; a file over the limit says the limit; an agent's invitation arrives while the
visitor reads; a rule invites only when someone can answer, with its own words."""

from __future__ import annotations

import functools
import http.server
import re
import threading
import uuid

import pytest
from playwright.sync_api import expect

from ..conftest import free_port
from ..live import agent_client, csrf_token, sign_up
from .conftest import screenshot
from .test_chat import QuietHandler, agent_page

pytestmark = pytest.mark.e2e
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True}


@pytest.fixture
def shop(live_server, tmp_path):
    """A shop, and its pages on another origin (http://127.0.0.1:<port>/) with the snippet."""
    session, site_key = sign_up(live_server, f"shop-{uuid.uuid4().hex[:6]}")
    snippet = f'<script async src="{live_server.url}/w/{site_key}.js"></script>'
    for name, title in (("index", "龙井茶"), ("checkout", "结算")):
        (tmp_path / f"{name}.html").write_text(
            "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{title}</title></head><body><h1>{title}</h1>{snippet}</body></html>"
        )
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield session, site_key, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def save_widget_settings(live_server, session, domains: str) -> None:
    settings = f"{live_server.url}/console/settings/chat"
    session.post(
        f"{live_server.url}/console/settings/chat/widget",
        data={
            "csrf_token": csrf_token(session, settings),
            "color": "#1f6feb",
            "greeting": "",
            "offline_text": "",
            "domains": domains,
            "max_chats": "4",
            "launcher_side": "right",
            "launcher_bottom": "20",
            "launcher_offset": "20",
        },
    ).raise_for_status()  # a refused form answers 400


def open_page(browser, url, **context):
    page = browser.new_context(**(context or {"locale": "en-US"})).new_page()
    with page.expect_response(re.compile(r"/w/api/hello$")):
        page.goto(url)
    return page


def test_a_refused_website_shows_no_chat_and_the_owner_allows_it_in_one_click(
    browser, live_server, shop
):
    session, _key, origin = shop
    save_widget_settings(live_server, session, "www.lintea.cn")
    visitor = open_page(browser, f"{origin}/index.html", **PHONE)
    # the server refused this website: no button, no panel that says "online"
    expect(visitor.locator("huike-widget")).to_have_count(0)
    screenshot(visitor, "widget-phone-refused")

    owner = agent_page(browser, live_server, session)
    owner.goto(f"{live_server.url}/console/")
    notice = owner.locator(".widget-refused")
    expect(notice).to_contain_text("Your widget was refused on 127.0.0.1 (1 time today)")
    screenshot(owner, "console-home-widget-refused")
    notice.get_by_role("button", name="Allow 127.0.0.1").click()
    expect(owner.locator(".flash.success")).to_contain_text("127.0.0.1 is now an allowed website")
    expect(owner.locator(".widget-refused")).to_have_count(0)

    visitor.reload()
    expect(visitor.locator("huike-widget button.b")).to_be_visible()
    owner.context.close()
    visitor.context.close()


def test_a_message_not_acknowledged_says_not_sent_and_the_retry_stores_it_once(
    browser, live_server, shop
):
    session, _key, origin = shop
    agent, _received = agent_client(live_server, session)  # someone online: the chat, not a form
    visitor = browser.new_context(locale="en-US").new_page()
    # The worst case: the server stores the message but its answer never reaches the widget
    # (its ack and its broadcast lost on the way back). A retry must not store it twice.
    lost = {"on": False}

    def through(ws):
        server = ws.connect_to_server()

        def to_page(frame):
            if lost["on"] and str(frame).startswith(("43/visitor,", '42/visitor,["message"')):
                return
            ws.send(frame)

        server.on_message(to_page)

    visitor.route_web_socket(re.compile(r"/socket\.io/"), through)
    visitor.goto(f"{origin}/index.html")
    widget = visitor.locator("huike-widget")
    widget.locator("button.b").click()
    expect(widget.locator(".s")).to_have_text("在线，通常几分钟内回复")  # connected
    lost["on"] = True
    widget.locator("textarea").fill("有明前龙井吗？")
    widget.locator("textarea").press("Enter")
    retry = widget.get_by_role("button", name="未发送，点击重试")  # the page is in Chinese
    expect(retry).to_be_visible(timeout=15000)  # the widget says so after 8 s without an ack
    screenshot(visitor, "widget-not-sent")

    lost["on"] = False
    retry.click()
    sent = widget.locator(".m.v").filter(has_text="有明前龙井吗？")
    expect(sent.locator(".mt")).to_have_text(re.compile(r"\d\d:\d\d"))  # acknowledged

    console = agent_page(browser, live_server, session)
    console.locator(".conv-row").first.click()
    expect(console.locator("#msg-list")).to_contain_text("有明前龙井吗？")
    expect(console.locator("#msg-list").get_by_text("有明前龙井吗？")).to_have_count(1)
    agent.disconnect()
    console.context.close()
    visitor.context.close()


def test_a_file_over_the_limit_says_the_limit_in_words(browser, live_server, shop):
    session, _key, origin = shop
    agent, _received = agent_client(live_server, session)
    visitor = open_page(browser, f"{origin}/index.html")
    widget = visitor.locator("huike-widget")
    widget.locator("button.b").click()
    widget.locator('input[type="file"]').set_input_files(
        {"name": "catalogue.pdf", "mimeType": "application/pdf", "buffer": b"%PDF" * (30 << 18)}
    )
    expect(widget.locator(".nt")).to_have_text("文件不能超过 10 MB")
    agent.disconnect()
    visitor.context.close()


def test_an_invitation_arrives_while_the_visitor_reads(browser, live_server, shop):
    session, _key, origin = shop
    agent, _received = agent_client(live_server, session)
    visitor = open_page(browser, f"{origin}/index.html", **PHONE)
    visitor_id = visitor.evaluate("new Promise((ok) => Huike.on('ready', (d) => ok(d.visitor)))")
    screenshot(visitor, "widget-phone")
    answer = agent.call(
        "invite", {"visitor_id": visitor_id, "text": "您好，需要帮您挑茶吗？"}, namespace="/agent"
    )
    assert "error" not in (answer or {})
    # delivered by the loader's waiting ping, not its next 20 s ping
    expect(visitor.locator("huike-widget .m.a").last).to_contain_text(
        "您好，需要帮您挑茶吗？", timeout=5000
    )
    screenshot(visitor, "widget-phone-invited")
    agent.disconnect()
    visitor.context.close()


def add_rule(live_server, session, pattern, seconds, text):
    settings = f"{live_server.url}/console/settings/chat"
    session.post(
        f"{live_server.url}/console/settings/rules",
        data={
            "csrf_token": csrf_token(session, settings),
            "url_pattern": pattern,
            "seconds": str(seconds),
            "text": text,
        },
    )


def rule_ran(page) -> None:
    """The rule's timer has run (it marks the rule used for the session, fired or not)."""
    page.wait_for_function(
        "Object.keys(sessionStorage).some((k) => k.startsWith('huike:') && k.includes('checkout'))"
    )


def test_a_rule_invites_only_when_someone_can_answer_with_its_own_words(browser, live_server, shop):
    session, _key, origin = shop
    add_rule(live_server, session, "*/checkout*", 1, "结算遇到问题了吗？我们在线。")

    nobody = open_page(browser, f"{origin}/checkout.html")
    rule_ran(nobody)
    widget = nobody.locator("huike-widget")
    expect(widget.locator(".p")).to_have_count(0)  # no panel, no leave-a-message form
    expect(widget.locator("button.b")).to_have_attribute("aria-expanded", "false")
    nobody.context.close()

    agent, _received = agent_client(live_server, session)
    someone = open_page(browser, f"{origin}/checkout.html")
    rule_ran(someone)
    widget = someone.locator("huike-widget")
    expect(widget.locator(".m.a").last).to_contain_text("结算遇到问题了吗？我们在线。")
    expect(widget.locator("form.f")).to_be_hidden()
    agent.disconnect()
    someone.context.close()


def test_the_leave_form_shows_every_error_at_once_in_the_pages_language(browser, live_server, shop):
    _session, _key, origin = shop
    visitor = open_page(browser, f"{origin}/index.html", **PHONE)  # nobody online: the form
    widget = visitor.locator("huike-widget")
    widget.locator("button.b").click()
    widget.get_by_label("邮箱").fill("not-an-address")
    widget.get_by_role("button", name="提交留言").click()
    errors = widget.locator("form.f .fe")
    expect(errors.filter(has_text="请填写您的姓名")).to_have_count(1)
    expect(errors.filter(has_text="请填写正确的邮箱地址")).to_have_count(1)
    expect(errors.filter(has_text="请填写留言内容")).to_have_count(1)
    screenshot(visitor, "widget-phone-leave-errors")
    visitor.context.close()


def test_an_address_in_a_message_is_a_safe_link(browser, live_server, shop):
    session, _key, origin = shop
    agent, _received = agent_client(live_server, session)
    visitor = open_page(browser, f"{origin}/index.html")
    widget = visitor.locator("huike-widget")
    widget.locator("button.b").click()
    widget.locator("textarea").fill(
        "看这个 https://www.lintea.cn/longjing?id=3。还有 javascript:alert(1)"
    )
    widget.locator("textarea").press("Enter")
    link = widget.locator(".m.v a")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", "https://www.lintea.cn/longjing?id=3")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    expect(widget.locator(".m.v .bb").last).to_have_text(
        "看这个 https://www.lintea.cn/longjing?id=3。还有 javascript:alert(1)"
    )
    agent.disconnect()
    visitor.context.close()
