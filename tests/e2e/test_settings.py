"""Chat settings and quick replies as an admin uses them: a colour picker whose colour
reaches the widget, the button's position in the real widget and in the live preview, a
refused domain that keeps what was typed; quick replies that wrap, can be edited, and refuse
a shortcut used twice."""

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

pytestmark = pytest.mark.e2e
RED = "rgb(208, 48, 80)"  # #d03050


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:
        """The shop's own web server: its access log is not the test's business."""


@pytest.fixture
def shop(live_server, tmp_path):
    """A new shop, and its page on another origin with the snippet."""
    session, site_key = sign_up(live_server, f"set-{uuid.uuid4().hex[:6]}")
    (tmp_path / "index.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Tea</title></head>"
        f'<body><h1>Tea</h1><script async src="{live_server.url}/w/{site_key}.js"></script>'
        "</body></html>"
    )
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield session, f"http://127.0.0.1:{server.server_port}/index.html"
    server.shutdown()


def admin_page(browser, live_server, session, width=1280):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    return context.new_page()


def on_the_left(button, frame_box) -> bool:
    box = button.bounding_box()
    return box["x"] + box["width"] / 2 < frame_box["x"] + frame_box["width"] / 2


def test_colour_and_position_reach_the_preview_and_the_widget(browser, live_server, shop, page):
    session, shop_url = shop
    admin = admin_page(browser, live_server, session)
    admin.goto(f"{live_server.url}/console/settings/chat")
    frame = admin.locator("#widget-preview")
    preview = admin.frame_locator("#widget-preview")
    button = preview.locator("huike-widget button.b")
    expect(preview.locator("huike-widget .p")).to_be_visible()  # the real panel, open
    assert not on_the_left(button, frame.bounding_box())

    admin.locator("#color-picker").fill("#d03050")
    expect(admin.locator("input[name=color]")).to_have_value("#d03050")
    admin.get_by_label("Bottom left").check()
    admin.get_by_label("From the bottom (px)").fill("96")
    admin.locator("#widget-form").get_by_label("Greeting").fill("Welcome to the tea house")
    # the preview shows the unsaved values, as a visitor would see them
    expect(preview.locator("huike-widget .p .m.a .bb")).to_have_text("Welcome to the tea house")
    expect(button).to_have_css("background-color", RED)
    expect(preview.locator("huike-widget .p .h")).to_have_css("background-color", RED)
    assert on_the_left(button, frame.bounding_box())
    screenshot(admin, "chat-settings-preview")
    # nobody available: the away text, the shop's own words
    admin.locator("#widget-form").get_by_label("Text when nobody is available").fill("Back at 9")
    admin.get_by_label("Show it as when nobody is available").check()
    expect(preview.locator("huike-widget form.f > p")).to_have_text("Back at 9")
    # closed in the preview, it stays closed while the admin goes on typing
    button.click()
    expect(preview.locator("huike-widget .p")).to_be_hidden()
    admin.get_by_label("From the side (px)").fill("40")
    expect(preview.locator("huike-widget .w")).to_have_css("left", "40px")
    asked = admin.evaluate(
        "document.getElementById('widget-preview').contentWindow.location.search"
    )
    assert "launcher_offset=40" in asked and "closed=1" in asked
    expect(preview.locator("huike-widget .p")).to_be_hidden()
    admin.get_by_label("Show it as when nobody is available").uncheck()

    admin.get_by_role("button", name="Save", exact=True).first.click()
    expect(admin.get_by_text("Settings saved.")).to_be_visible()
    expect(admin.locator("input[name=color]")).to_have_value("#d03050")

    page.goto(shop_url)
    launcher = page.locator("huike-widget button.b")
    expect(launcher).to_have_css("background-color", RED)
    box = launcher.bounding_box()
    viewport = page.viewport_size
    assert box["x"] == 40  # 40 px from the left edge…
    assert viewport["height"] - (box["y"] + box["height"]) == 96  # …96 px from the bottom
    launcher.click()
    panel = page.locator("huike-widget .p")
    expect(panel).to_be_visible()
    assert panel.bounding_box()["x"] == 40  # the chat opens above the button, on its side
    admin.context.close()

    phone = admin_page(browser, live_server, session, width=390)
    phone.goto(f"{live_server.url}/console/settings/chat")
    phone_preview = phone.frame_locator("#widget-preview")
    expect(phone_preview.locator("huike-widget .p .m.a .bb")).to_have_text(
        "Welcome to the tea house"
    )
    screenshot(phone, "chat-settings-preview-390")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.context.close()


def test_a_bad_domain_is_named_and_the_form_keeps_what_was_typed(browser, live_server, shop):
    session, _ = shop
    admin = admin_page(browser, live_server, session)
    admin.goto(f"{live_server.url}/console/settings/chat")
    admin.locator("#widget-form").get_by_label("Greeting").fill("Hello tea lovers")
    admin.locator("#color-picker").fill("#d03050")
    admin.get_by_label("Websites allowed to show the widget (empty: any)").fill("myshop.com, not")
    admin.get_by_label("Bottom left").check()
    admin.get_by_role("button", name="Save", exact=True).first.click()
    expect(
        admin.get_by_text("“not” is not a website address like myshop.com").first
    ).to_be_visible()
    expect(admin.locator("#widget-form").get_by_label("Greeting")).to_have_value("Hello tea lovers")
    expect(admin.locator("input[name=domains]")).to_have_value("myshop.com, not")
    expect(admin.locator("input[name=color]")).to_have_value("#d03050")
    expect(admin.locator("#color-picker")).to_have_value("#d03050")
    expect(admin.get_by_label("Bottom left")).to_be_checked()
    screenshot(admin, "chat-settings-bad-domain")
    # nothing was stored
    admin.goto(f"{live_server.url}/console/settings/chat")
    expect(admin.locator("#widget-form").get_by_label("Greeting")).to_have_value("")
    admin.context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_long_quick_reply_wraps_and_replies_can_be_edited(browser, live_server, shop, width):
    session, _ = shop
    admin = admin_page(browser, live_server, session, width)
    admin.goto(f"{live_server.url}/console/quick-replies")
    admin.get_by_label("Shortcut").fill("long")
    admin.get_by_label("Text").fill("x" * 5000)  # one unbroken string
    admin.get_by_role("button", name="Add").click()
    expect(admin.get_by_text("Quick reply saved.")).to_be_visible()
    admin.wait_for_load_state()  # and its stylesheets: a layout measured before them misleads
    row = admin.locator("tr", has=admin.locator("code", has_text="/long"))
    # the page stays as wide as the screen, and Delete on it (16,364 px wide once)
    assert admin.evaluate("document.documentElement.scrollWidth") <= width
    delete = row.get_by_role("button", name="Delete")
    delete.scroll_into_view_if_needed()
    expect(delete).to_be_in_viewport(ratio=1)
    assert delete.bounding_box()["x"] + delete.bounding_box()["width"] <= width
    screenshot(admin, f"quick-replies-long-{width}")

    # a second reply may not take the same shortcut: refused, the text typed is kept
    admin.get_by_label("Shortcut").fill("/long")
    admin.get_by_label("Text").fill("Typed with care")
    admin.get_by_role("button", name="Add").click()
    expect(admin.get_by_role("alert")).to_contain_text("/long is already a shortcut here")
    expect(admin.get_by_label("Text").first).to_have_value("Typed with care")

    row.get_by_role("link", name="Edit").click()
    editing = admin.locator("tr.editing")
    # typed once the edit page has loaded whole (a loaded machine once sent the text empty)
    expect(editing.get_by_label("Text")).to_have_value("x" * 5000)
    admin.wait_for_load_state()
    editing.get_by_label("Text").fill("Free shipping over 99 yuan.")
    editing.get_by_label("Shortcut").fill("ship")
    expect(editing.get_by_label("Text")).to_have_value("Free shipping over 99 yuan.")
    editing.get_by_role("button", name="Save").click()
    expect(admin.get_by_text("Quick reply saved.")).to_be_visible()
    edited = admin.locator("tr", has=admin.locator("code", has_text="/ship"))
    expect(edited).to_contain_text("Free shipping over 99 yuan.")
    expect(admin.locator("code", has_text="/long")).to_have_count(0)
    admin.context.close()
