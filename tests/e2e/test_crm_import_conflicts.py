"""The CRM never merges people silently, in a real browser: a CSV row with 张三's phone under
another name is a conflict in the import's preview, chosen for per row or for all (张三 keeps
his name unless "update" is chosen); an empty "New customer" form is refused, keeping what
was typed."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.crm.models import Customer, CustomerEmail, CustomerPhone, TimelineEntry
from tenants.db import bind_tenant, cross_tenant, db
from tenants.models import Tenant

from ..live import sign_up
from .conftest import screenshot

pytestmark = pytest.mark.e2e
SHOTS = Path("/work/shots/crm")


def csrf(session, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', session.get(url).text).group(1)


@pytest.fixture
def shop(live_server):
    """A shop on its trial (the Customers module open) with 张三, 李四 and 王五."""
    session, site_key = sign_up(live_server, f"crm-{uuid.uuid4().hex[:6]}")
    new = f"{live_server.url}/console/customers/new"
    token = csrf(session, new)
    for name, phone, email in (
        ("张三", "13800138000", "zhang@example.com"),
        ("李四", "13900139000", ""),
        ("王五", "13700137000", ""),
    ):
        data = {"csrf_token": token, "name": name, "phones": phone, "emails": email}
        created = session.post(new, data=data)
        assert "/console/customers/" in created.url and created.status_code == 200
    return session, site_key


def console(browser, live_server, session):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_cookies(
        [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
    )
    return context.new_page()


def in_shop(site_key: str, query):
    """Read the live server's database as the shop."""
    with cross_tenant():
        tenant_id = db.scalar(select(Tenant.id).where(Tenant.site_key == site_key))
    db.remove()  # on SQLite, the platform's connection lets go of the file before the shop's
    bind_tenant(tenant_id)
    try:
        return query()
    finally:
        db.remove()


def by_phone(e164: str):
    """(name, e-mails) of the customer with this phone."""
    customer = db.scalar(select(Customer).join(CustomerPhone).where(CustomerPhone.e164 == e164))
    return customer.name, sorted(e.email for e in customer.emails)


def upload(page, live_server, csv: str) -> None:
    """Upload a customers file and take the guessed columns."""
    page.goto(f"{live_server.url}/console/customers/import")
    page.locator("input[name=file]").set_input_files(
        files=[{"name": "list.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Import \d+ rows?$")).click()


def test_a_conflicting_row_is_chosen_for_per_row_or_for_all(browser, live_server, shop):
    session, site_key = shop
    page = console(browser, live_server, session)
    upload(
        page,
        live_server,
        "姓名,手机,邮箱\n"
        "赵六,138 0013 8000,zhao@163.com\n"  # 张三's phone
        "李小四,139 0013 9000,\n"  # 李四's
        "王大五,137 0013 7000,wang@example.com\n"  # 王五's
        "孙八,136 0013 6000,\n",  # nobody's: just added
    )
    heading = page.get_by_role("heading", name="Same phone or e-mail, another name")
    expect(heading).to_be_visible()
    rows = page.locator("table.conflicts tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#conflict-2")).to_contain_text("赵六")
    expect(page.locator("#conflict-2")).to_contain_text("张三")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "crm-import-conflicts"), SHOTS / "import-conflicts-desktop.png")

    # a row left without a choice is asked for, and nothing is imported yet
    page.locator("#conflict-2").get_by_label("Skip the row").check()
    page.locator("#conflict-3").get_by_label("Rename 李四 to 李小四").check()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Choose what to do with row 4")
    assert page.locator("#conflict-2").get_by_label("Skip the row").is_checked()  # kept
    page.locator("#conflict-4").get_by_label("Add 王大五 as a new customer").check()
    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.get_by_role("heading", name="Import report")).to_be_visible()
    report = page.locator(".import-conflict-report")
    expect(report).to_contain_text("3 rows had the phone or e-mail of a customer of another name")
    expect(report).to_contain_text("1 customer renamed, as you chose")
    expect(report).to_contain_text("1 added as a new customer")
    expect(report).to_contain_text("1 row skipped")
    shutil.copy(screenshot(page, "crm-import-conflict-report"), SHOTS / "import-report.png")

    def after_first():
        wang = db.scalars(select(Customer.name).where(Customer.name.in_(("王五", "王大五"))))
        new_wang = db.scalar(
            select(Customer).join(CustomerEmail).where(CustomerEmail.email == "wang@example.com")
        )
        return (
            by_phone("+8613800138000"),
            by_phone("+8613900139000")[0],
            sorted(wang),
            by_phone("+8613700137000")[0],
            (new_wang.name, [p.e164 for p in new_wang.phones]),
            by_phone("+8613600136000")[0],
        )

    assert in_shop(site_key, after_first) == (
        ("张三", ["zhang@example.com"]),  # skipped: not renamed, no e-mail added
        "李小四",  # update was chosen
        ["王五", "王大五"],
        "王五",  # the phone stays with 王五
        ("王大五", []),
        "孙八",
    )

    # the same row again, one choice for all: a new customer; 张三 keeps his name
    upload(page, live_server, "姓名,手机,邮箱\n赵六,138 0013 8000,zhao@163.com\n")
    expect(heading).to_be_visible()
    page.get_by_label("Add a new customer").check()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import report")).to_be_visible()
    expect(page.locator(".import-conflict-report")).to_contain_text("1 added as a new customer")
    page.get_by_role("link", name="See the customers").click()
    page.get_by_role("link", name="张三").click()
    expect(page.get_by_role("heading", name="张三")).to_be_visible()
    duplicate = page.locator(".tl-entry[data-kind=duplicate]")
    expect(duplicate).to_contain_text("Maybe the same person as 赵六")
    shutil.copy(screenshot(page, "crm-duplicate-timeline"), SHOTS / "duplicate-timeline.png")
    duplicate.get_by_role("link", name="Open").click()
    expect(page.get_by_role("heading", name="赵六")).to_be_visible()
    expect(page.locator(".tl-entry[data-kind=duplicate]")).to_contain_text("张三")

    def zhang_and_zhao():
        zhao = db.scalar(select(Customer).where(Customer.name == "赵六"))
        notes = select(TimelineEntry.summary).where(TimelineEntry.kind == "duplicate")
        return by_phone("+8613800138000"), [e.email for e in zhao.emails], sorted(db.scalars(notes))

    assert in_shop(site_key, zhang_and_zhao) == (
        ("张三", ["zhang@example.com"]),
        ["zhao@163.com"],  # free, so the new customer's
        ["张三", "王五", "王大五", "赵六"],
    )
    page.context.close()


def test_an_empty_new_customer_form_is_refused(browser, live_server, shop):
    session, site_key = shop
    page = console(browser, live_server, session)
    page.goto(f"{live_server.url}/console/customers/new")
    page.get_by_label("Company").fill("No One Ltd")
    page.get_by_role("button", name="Add customer").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.locator("#error-name")).to_have_text(
        "Give the customer at least a name, an external id, a phone number or an e-mail."
    )
    expect(page.get_by_label("Company")).to_have_value("No One Ltd")  # what was typed
    count = in_shop(site_key, lambda: len(db.scalars(select(Customer.id)).all()))
    assert count == 3
    page.context.close()
