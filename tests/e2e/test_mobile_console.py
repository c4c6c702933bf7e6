"""The console on an agent's phone (390×844, touch) and a tablet (768): the side menu is a drawer,
the conversations page shows one pane at a time, and no page is wider than the screen."""

# ruff: noqa: F811 (the tests take the imported `shop` fixture as a parameter)
from __future__ import annotations

import base64
import re
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import expect

from ..live import sign_up
from .conftest import screenshot
from .test_calls_pop import connect_pbx, ring
from .test_chat import shop  # noqa: F401 (the fixture: a shop, its page on another origin)
from .test_robot_suggest import SHIPPING, SHIPPING_ANSWER, as_shop, robot_suggests

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
# a 96×64 checked PNG, the photo the agent sends
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAGAAAABACAIAAABqVuVZAAAAh0lEQVR42u3aMQ0AIAwEwGpAH2Jwhx0UkGroSLnk509646dxzy5lrFnK6/0B"
    "CBAgQIAAAQIECBAgQIAAAQLUDOi3g6v9gAABAgQIECBAgAABAgQIECBA3YAMZhZFQIAAAQIECBAgQIAAAQIECJD/IIOZRREQIECAAAECBAgQ"
    "IECAAAEC1BYoAUlgpoahL0FdAAAAAElFTkSuQmCC"
)


def device(browser, viewport):
    """A touch device's browser: a phone's or a tablet's screen, its pixel density."""
    context = browser.new_context(
        viewport=viewport, device_scale_factor=3, is_mobile=True, has_touch=True, locale="en-US"
    )
    return context.new_page()


def signed_in(browser, live_server, session, viewport):
    page = device(browser, viewport)
    page.context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    return page


def owner_email(live_server, session) -> str:
    profile = session.get(f"{live_server.url}/profile").text
    return re.search(r"[\w.-]+@example\.com", profile).group(0)


def fits(page, width: int) -> None:
    """The page is no wider than the screen (a wide table scrolls inside its own box)."""
    page.wait_for_load_state()  # its stylesheets too: a layout measured before them misleads
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def open_menu(page):
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    menu.tap()
    expect(menu).to_have_attribute("aria-expanded", "true")
    drawer = page.locator("#console-nav")
    expect(drawer).to_be_in_viewport()
    return menu, drawer


def test_an_agent_answers_a_chat_from_the_phone(browser, live_server, shop, page):
    session, shop_url = shop
    site_key = re.search(r"/w/([\w-]+)\.js", requests.get(shop_url, timeout=10).text).group(1)
    as_shop(site_key, robot_suggests)  # the robot suggests answers from two entries
    phone = device(browser, PHONE)
    phone.goto(f"{live_server.url}/login")
    email = owner_email(live_server, session)
    phone.get_by_label("E-mail").fill(email)
    phone.get_by_label("Password").fill("a-good-password")
    expect(phone.get_by_label("E-mail")).to_have_value(email)
    phone.get_by_role("button", name="Log in").tap()
    expect(phone.get_by_role("button", name="Menu")).to_be_visible()
    fits(phone, 390)

    # a quick reply of their own, added on the phone
    phone.goto(f"{live_server.url}/console/quick-replies")
    phone.get_by_label("Shortcut").fill("fresh")
    phone.get_by_label("Text").fill("Picked this April, sealed the same day.")
    expect(phone.get_by_label("Text")).to_have_value("Picked this April, sealed the same day.")
    phone.get_by_role("button", name="Add").tap()
    expect(phone.get_by_text("Quick reply saved.")).to_be_visible()

    phone.goto(f"{live_server.url}/console/conversations")
    expect(phone.locator("#live-conn")).to_have_attribute("data-state", "online")
    online = phone.locator('#status-switch [data-status="online"]')
    online.tap()
    expect(online).to_have_attribute("aria-checked", "true")

    page.goto(shop_url)
    widget = page.locator("huike-widget")
    widget.locator("button.b").click()
    box = widget.locator("textarea").first
    box.fill("Is the Longjing fresh?")
    box.press("Enter")
    expect(widget.locator(".m.v .bb").last).to_have_text("Is the Longjing fresh?")

    # the list fills the phone; the chat waits for a tap
    row = phone.locator(".conv-row")  # the shop's only chat
    expect(row).to_contain_text("Is the Longjing fresh?")
    expect(phone.locator(".chat")).to_be_hidden()
    screenshot(phone, "mobile-list")
    row.tap()
    expect(phone.locator("#msg-list")).to_contain_text("Is the Longjing fresh?")
    expect(phone.locator(".conv-list")).to_be_hidden()
    chat_url = phone.url
    assert re.search(r"#c\d+$", chat_url)
    take = phone.locator("#btn-take")
    if take.is_visible():  # queued rather than assigned: the agent takes it
        take.tap()
    expect(phone.locator("#chat-assignee")).to_have_text("Assigned to you")
    expect(take).to_be_hidden()
    fits(phone, 390)
    screenshot(phone, "mobile-conversation")

    # a quick reply with `/`, then a photo
    composer = phone.locator("#composer-input")
    composer.tap()
    composer.press_sequentially("/fre")
    popup = phone.locator("#qr-pop")
    expect(popup).to_be_visible()
    expect(popup.locator(".qr-item").first).to_contain_text("/fresh")
    screenshot(phone, "mobile-quick-replies")
    popup.locator(".qr-item").first.tap()
    expect(composer).to_have_value("Picked this April, sealed the same day.")
    send = phone.get_by_role("button", name="Send", exact=True)
    send.tap()
    expect(widget.locator(".m.a .bb").last).to_have_text("Picked this April, sealed the same day.")

    photo = phone.locator("#photo-file")
    assert photo.get_attribute("accept") == "image/*" and photo.get_attribute("capture") is None
    photo.set_input_files({"name": "tin.png", "mimeType": "image/png", "buffer": PNG})
    expect(phone.locator("#msg-list .bubble .image img")).to_have_count(1)
    expect(widget.locator(".m.a .bb.im img")).to_have_count(1)
    # the robot's suggestion for the visitor's next question, tapped into the reply
    box.fill("do you ship to hangzhou?")
    box.press("Enter")
    suggestion = phone.locator("#robot-suggest .robot-suggestion").first
    expect(suggestion.locator(".robot-q")).to_have_text(SHIPPING)
    expect(suggestion).to_be_in_viewport(ratio=1)
    assert suggestion.bounding_box()["height"] >= 40
    screenshot(phone, "mobile-robot-suggestion")
    suggestion.tap()
    expect(composer).to_have_value(SHIPPING_ANSWER)
    send.tap()
    expect(widget.locator(".m.a .bb").last).to_have_text(SHIPPING_ANSWER)

    # the composer stays at the bottom of the screen
    bar = phone.locator("#composer").bounding_box()
    assert 844 - 8 <= bar["y"] + bar["height"] <= 844

    # the customer sheet opens over the chat and closes again (button, then Esc)
    sheet_button = phone.get_by_role("button", name="Customer")
    sheet_button.tap()
    expect(sheet_button).to_have_attribute("aria-expanded", "true")
    sheet = phone.locator("#visitor-sheet")
    expect(sheet).to_be_in_viewport(ratio=0.9)
    expect(sheet.locator(".vp-head")).to_contain_text("On the site now")
    screenshot(phone, "mobile-customer-sheet")
    phone.get_by_role("button", name="Close the panel").tap()
    expect(sheet).not_to_be_in_viewport()
    expect(sheet_button).to_be_focused()
    sheet_button.tap()
    expect(sheet).to_be_in_viewport(ratio=0.9)
    phone.keyboard.press("Escape")
    expect(sheet).not_to_be_in_viewport()

    # back to the list, and the browser's Back and Forward move between the two as well
    phone.get_by_role("button", name="Back to the list").tap()
    expect(row).to_be_visible()
    expect(phone.locator(".chat")).to_be_hidden()
    assert "#c" not in phone.url
    phone.go_forward()
    expect(phone.locator("#msg-list")).to_be_visible()
    phone.go_back()
    expect(row).to_be_visible()

    # away, from the phone
    away = phone.locator('#status-switch [data-status="away"]')
    away.tap()
    expect(away).to_have_attribute("aria-checked", "true")
    phone.reload()
    expect(phone.locator('#status-switch [data-status="away"]')).to_have_attribute(
        "aria-checked", "true"
    )

    # a link to the chat (a mail's, a notification's) opens it full screen; Back leads to the list
    phone.goto(f"{live_server.url}/console/")
    phone.goto(chat_url)  # a page load of its own, as from a mail
    expect(phone.locator("#msg-list")).to_contain_text("Is the Longjing fresh?")
    expect(phone.locator(".conv-list")).to_be_hidden()
    phone.get_by_role("button", name="Back to the list").tap()
    expect(row).to_be_visible()

    # the menu: a drawer with every link, the plan and log-out (the language stays in the top
    # bar); Esc closes it
    expect(phone.locator(".topbar").get_by_role("button", name="中文")).to_be_in_viewport()
    menu, drawer = open_menu(phone)
    expect(drawer.get_by_role("link", name="Visitors")).to_be_visible()
    expect(drawer.locator(".plan-box")).to_be_visible()
    expect(drawer.get_by_role("button", name="Log out")).to_be_visible()
    screenshot(phone, "mobile-menu")
    phone.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(drawer).not_to_be_in_viewport()
    expect(menu).to_be_focused()
    phone.context.close()


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
def test_every_console_page_fits_the_screen(browser, live_server, shop, page, viewport):
    """The menu's pages, and the console pages they link to, at the device's width."""
    session, shop_url = shop
    width = viewport["width"]
    page.goto(shop_url)  # a visitor on the site, for the live visitors list
    expect(page.locator("huike-widget").locator("button.b")).to_be_visible()
    phone = signed_in(browser, live_server, session, viewport)
    phone.goto(f"{live_server.url}/console/")
    _, drawer = open_menu(phone)
    menu_links = drawer.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
    assert len(menu_links) > 15, menu_links  # the owner sees every module and every setting
    seen = set()
    for href in dict.fromkeys(menu_links):
        phone.goto(href)
        fits(phone, width)
        menu, drawer = open_menu(phone)
        # a tap beside the drawer closes it
        phone.locator("#nav-backdrop").tap(position={"x": width - 10, "y": 400})
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(drawer).not_to_be_in_viewport()
        screenshot(phone, f"mobile-{width}-" + urlsplit(href).path.strip("/").replace("/", "-"))
        seen.add(href)
        inner = phone.locator(".console-main a[href]:not([download])").evaluate_all(
            "links => links.map(a => a.href.split('#')[0])"
        )
        for link in dict.fromkeys(inner):
            path = urlsplit(link).path
            # (a file such as export.csv is a download, not a page)
            if link in seen or not path.startswith("/console/") or "." in path.rsplit("/", 1)[1]:
                continue
            seen.add(link)
            phone.goto(link)
            fits(phone, width)

    # the live visitors list: the visitor's card, and an invitation typed on the device
    phone.goto(f"{live_server.url}/console/visitors")
    visitor = phone.locator("tr[data-visitor]")
    expect(visitor).to_contain_text("Tea House")
    visitor.get_by_role("button", name="Invite").tap()
    expect(phone.locator(".invite-form input")).to_be_visible()
    fits(phone, width)
    screenshot(phone, f"mobile-{width}-visitors-invite")
    phone.context.close()


def test_a_call_pops_up_on_the_phone_and_its_page_fits(browser, live_server):
    session, site_key = sign_up(live_server, f"mpop-{uuid.uuid4().hex[:6]}")
    token, secret = connect_pbx(site_key)
    phone = signed_in(browser, live_server, session, PHONE)
    phone.goto(f"{live_server.url}/console/conversations")
    expect(phone.locator("#live-conn")).to_have_attribute("data-state", "online")
    call = ring(live_server, token, secret, "e2e-phone", "13911112222")
    card = phone.locator(f'.call-card[data-call-id="{call["call"]}"]')
    expect(card.locator(".call-name")).to_have_text("139 1111 2222")
    expect(card).to_be_in_viewport(ratio=1)
    # the card sits at the bottom: the agent's status stays in reach above it
    status = phone.locator("#status-switch").bounding_box()
    assert card.bounding_box()["y"] >= status["y"] + status["height"]
    took = card.get_by_role("button", name="I took it")
    assert took.bounding_box()["height"] >= 40
    fits(phone, 390)
    screenshot(phone, "mobile-call-pop")
    took.tap()
    expect(phone).to_have_url(f"{live_server.url}/console/calls/{call['call']}")
    expect(phone.locator("[data-call-status]")).to_have_text("In progress")
    fits(phone, 390)
    screenshot(phone, "mobile-call-page")
    phone.context.close()
