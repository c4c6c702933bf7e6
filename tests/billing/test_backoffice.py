"""The platform back office: staff sign-in with TOTP, roles, every action audited, revenue."""

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask import url_for
from sqlalchemy import func, select

from app.extensions import limiter
from billing import audit, metrics
from billing.backoffice import operations
from billing.backoffice import staff as staff_accounts
from billing.models import AuditEntry, BillingAccount, BillingEvent, Invoice, TenantNote
from tenants import service
from tenants.db import bind_tenant, cross_tenant, db, utcnow
from tenants.models import Plan, Tenant
from tenants.plans import entitlements

from ..conftest import PASSWORD, login, make_test_app, set_tenant

STAFF_PASSWORD = "staff-secret-42"
PRO_PRICE = 198000  # tenants/catalog.toml, fen per seat per year


# --- helpers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """What a test needs of a staff account (the ORM row is gone after each request)."""

    id: int
    email: str
    role: str
    totp_secret: str


def make_staff(role: str = "admin", email: str | None = None) -> Staff:
    member = staff_accounts.create_staff(
        email or f"{role}@staff.example.com", STAFF_PASSWORD, role, name=f"{role.title()} Staff"
    )
    db.commit()
    return Staff(member.id, member.email, member.role, member.totp_secret)


def code_for(member, steps_ahead: int = 0) -> str:
    totp = pyotp.TOTP(member.totp_secret)
    return totp.at(utcnow() + timedelta(seconds=30 * steps_ahead))


def staff_login(client, member, code: str | None = None, password: str = STAFF_PASSWORD, **kw):
    """Through the real sign-in form, with a real TOTP code."""
    return client.post(
        "/backoffice/login",
        data={
            "email": member.email,
            "password": password,
            "code": code_for(member) if code is None else code,
        },
        **kw,
    )


@pytest.fixture
def as_staff(client):
    """Sign ``client`` in as a new staff member of the given role."""

    def sign_in(role: str = "admin"):
        member = make_staff(role)
        assert staff_login(client, member).status_code == 302
        return member

    return sign_in


def session_of(client) -> dict:
    with client.session_transaction() as sess:
        return dict(sess)


def fresh(stmt):
    """Read past the session's identity map: what the database holds now."""
    return db.scalar(stmt.execution_options(populate_existing=True))


def tenant_row(tenant_id: int) -> Tenant:
    with cross_tenant():
        return fresh(select(Tenant).where(Tenant.id == tenant_id))


def state_of(tenant_id: int) -> dict:
    """Everything a back-office action could change about a shop."""
    with cross_tenant():
        tenant = fresh(select(Tenant).where(Tenant.id == tenant_id))
        account = fresh(select(BillingAccount).where(BillingAccount.tenant_id == tenant_id))
        return {
            "tenant": (
                tenant.status,
                tenant.plan_code,
                tenant.seats,
                tenant.paid_until,
                tenant.trial_ends_at,
                tenant.trial_plan_code,
                dict(tenant.feature_overrides or {}),
            ),
            "account": account and (account.status, account.plan_code, account.seats),
            "invoices": db.scalar(
                select(func.count()).select_from(Invoice).where(Invoice.tenant_id == tenant_id)
            ),
            "notes": db.scalar(
                select(func.count())
                .select_from(TenantNote)
                .where(TenantNote.tenant_id == tenant_id)
            ),
            "audit": [(e.id, e.action) for e in audit_rows(tenant_id)],
        }


def audit_rows(tenant_id: int | None = None) -> list[AuditEntry]:
    with cross_tenant():
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if tenant_id is not None:
            stmt = stmt.where(AuditEntry.tenant_id == tenant_id)
        return list(db.scalars(stmt))


def in_days(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


def add_account(tenant_id: int, status: str, seats: int, plan_code: str = "pro", **fields):
    with cross_tenant():
        account = BillingAccount(
            tenant_id=tenant_id, status=status, seats=seats, plan_code=plan_code, **fields
        )
        db.add(account)
        db.commit()
    return account


def new_shop(label: str) -> int:
    """A light shop (owner only), committed; returns its id."""
    owner = service.signup(f"Shop {label}", f"owner-{label}@example.com", PASSWORD)
    db.commit()
    bind_tenant(None)
    return owner.tenant_id


# --- signing in ------------------------------------------------------------------------


def test_two_factor_code_is_required(client, dbsession):
    member = make_staff("support")
    wrong = staff_login(client, member, code="000000" if code_for(member) != "000000" else "111111")
    missing = staff_login(client, member, code="")
    bad_password = staff_login(client, member, password="not-the-password")
    for refused in (wrong, missing, bad_password):
        assert refused.status_code == 400
        assert "Wrong e-mail, password or code." in refused.get_data(True)
        assert "staff_id" not in session_of(client)
    assert client.get("/backoffice/").status_code == 302

    right = staff_login(client, member)
    assert right.status_code == 302 and right.headers["Location"] == "/backoffice/"
    assert session_of(client)["staff_id"] == member.id
    assert client.get("/backoffice/").status_code == 200


def test_a_code_signs_in_once_and_logout_ends_the_session(app, client, dbsession):
    member = make_staff("support")
    code = code_for(member)
    assert staff_login(client, member, code=code).status_code == 302
    copied_cookie = app.test_client()
    with client.session_transaction() as sess, copied_cookie.session_transaction() as other:
        other.update(sess)
    assert copied_cookie.get("/backoffice/").status_code == 200

    assert client.post("/backoffice/logout").status_code == 302
    assert client.get("/backoffice/").status_code == 302
    assert copied_cookie.get("/backoffice/").status_code == 302  # the copy died with it

    replay = staff_login(app.test_client(), member, code=code)
    assert replay.status_code == 400
    assert staff_login(client, member, code=code_for(member, steps_ahead=1)).status_code == 302


def test_deactivated_staff_is_out_at_once(client, dbsession):
    member = make_staff("admin")
    staff_login(client, member)
    staff_accounts.deactivate(staff_accounts.find_staff(member.email))
    db.commit()
    assert client.get("/backoffice/").status_code == 302
    assert staff_login(client, member, code=code_for(member, 1)).status_code == 400


def test_staff_login_is_rate_limited_per_address_and_per_email(app, client, dbsession):
    member = make_staff("admin")
    for _ in range(10):
        staff_login(client, member, password="wrong-password")
    response = staff_login(client, member)
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.get_data(True)
    assert "staff_id" not in session_of(client)

    limiter.reset()
    for n in range(10):  # ten addresses, one e-mail
        staff_login(
            app.test_client(),
            member,
            password="wrong-password",
            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
        )
    fresh = staff_login(app.test_client(), member, environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert fresh.status_code == 429


def test_next_after_login_stays_in_the_back_office(client, dbsession):
    member = make_staff("support")
    response = client.post(
        "/backoffice/login?next=https://evil.example/",
        data={"email": member.email, "password": STAFF_PASSWORD, "code": code_for(member)},
    )
    assert response.headers["Location"] == "/backoffice/"


# --- shop users see nothing ------------------------------------------------------------


def backoffice_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/backoffice")]


def test_a_shop_user_gets_no_back_office_data_on_any_route(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    rules = backoffice_rules(app)
    assert len(rules) >= 12, "the walk must cover the back office"
    member = make_staff("admin")
    with cross_tenant():
        author = staff_accounts.find_staff(member.email)
        operations.add_note(author, a.tenant.id, "Staff only: owner disputes an invoice")
        db.commit()
    before = {a.tenant.id: state_of(a.tenant.id), b.tenant.id: state_of(b.tenant.id)}
    login(client, a.owner)
    assert client.get("/console/").status_code == 200  # really signed in to the shop
    # what a shop owner must never read: another shop, staff notes, staff
    secrets = ("Shop b", "owner-b@example.com", "Staff only", member.email, "MRR")
    for rule in rules:
        with app.test_request_context():
            url = url_for(rule.endpoint, **{arg: a.tenant.id for arg in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(
                url,
                method=method,
                data={"reason": "x", "days": "30", "text": "x", "feature": "crm", "mode": "on"},
            )
            body = response.get_data(True)
            if rule.endpoint == "backoffice.login":
                assert response.status_code in (200, 400), f"{method} {rule.rule}"
                assert "Back office sign-in" in body
            else:
                assert response.status_code == 302, f"{method} {rule.rule}"
                assert response.headers["Location"].startswith("/backoffice/login")
            assert not any(s in body for s in secrets), f"{method} {rule.rule} leaks"
    assert {t: state_of(t) for t in before} == before


# --- roles -----------------------------------------------------------------------------


ACTIONS = {
    "trial": ("extend_trial", {"days": "30", "reason": "asked on the phone"}),
    "plan": (
        "set_plan_offline",
        {"plan_code": "pro", "seats": "3", "paid_until": in_days(365), "reason": "transfer 77"},
    ),
    "override": ("override_feature", {"feature": "crm", "mode": "on", "reason": "pilot"}),
    "suspend": ("suspend", {"reason": "fraud report"}),
    "notes": ("add_note", {"text": "Called the owner about a refund."}),
}


@pytest.mark.parametrize(
    "role, allowed",
    [
        ("support", {"notes"}),
        ("billing", {"notes", "trial", "plan", "override"}),
        ("admin", {"notes", "trial", "plan", "override", "suspend"}),
    ],
)
def test_each_role_may_do_only_its_own_actions(client, two_tenants, as_staff, role, allowed):
    as_staff(role)
    shop = two_tenants.a.tenant.id
    assert client.get(f"/backoffice/tenants/{shop}").status_code == 200
    for path, (_, data) in ACTIONS.items():
        before = state_of(shop)
        response = client.post(f"/backoffice/tenants/{shop}/{path}", data=data)
        if path in allowed:
            assert response.status_code == 302, path
            assert state_of(shop) != before
        else:
            assert response.status_code == 403, path
            assert state_of(shop) == before
    exports = [client.get(f"/backoffice/export/{f}.csv") for f in ("tenants", "invoices")]
    assert {r.status_code for r in exports} == ({200} if role != "support" else {403})


def test_support_sees_no_forms_it_cannot_use(client, two_tenants, as_staff):
    as_staff("support")
    page = client.get(f"/backoffice/tenants/{two_tenants.a.tenant.id}").get_data(True)
    assert "Add note" in page
    for absent in ("Extend trial", "Set plan and record invoice", "Save override", "Suspend"):
        assert absent not in page
    listing = client.get("/backoffice/").get_data(True)
    assert "Export shops (CSV)" not in listing


# --- every action: one audit row, or nothing at all ------------------------------------


@pytest.mark.parametrize("path", list(ACTIONS))
def test_every_action_writes_exactly_one_audit_row(client, two_tenants, as_staff, path):
    member = as_staff("admin")
    shop = two_tenants.a.tenant.id
    action, data = ACTIONS[path]
    before = audit_rows()
    response = client.post(f"/backoffice/tenants/{shop}/{path}", data=data)
    assert response.status_code == 302
    new = audit_rows()[len(before) :]
    assert len(new) == 1
    entry = new[0]
    assert (entry.action, entry.tenant_id, entry.staff_id) == (action, shop, member.id)
    assert entry.actor == member.email
    assert entry.reason == data.get("reason", data.get("text"))
    assert entry.after and entry.before != entry.after
    page = client.get(f"/backoffice/tenants/{shop}").get_data(True)
    assert entry.reason in page  # the shop's audit trail shows it


BAD_INPUT = [
    ("trial", {"days": "0", "reason": "r"}, "Choose from 1 to 90 days."),
    ("trial", {"days": "91", "reason": "r"}, "Choose from 1 to 90 days."),
    ("trial", {"days": "ten", "reason": "r"}, "Enter a whole number."),
    ("trial", {"days": "10", "reason": "  "}, "Give a reason"),
    ("plan", {"plan_code": "gold", "seats": "3", "paid_until": in_days(30), "reason": "r"},
     "Choose a paid plan"),
    ("plan", {"plan_code": "free", "seats": "3", "paid_until": in_days(30), "reason": "r"},
     "Choose a paid plan"),
    ("plan", {"plan_code": "pro", "seats": "0", "paid_until": in_days(30), "reason": "r"},
     "At least 3 seats"),
    ("plan", {"plan_code": "pro", "seats": "2", "paid_until": in_days(30), "reason": "r"},
     "At least 3 seats"),  # owner and agent are active, one invitation is open
    ("plan", {"plan_code": "pro", "seats": "-3", "paid_until": in_days(30), "reason": "r"},
     "Enter a whole number."),
    ("plan", {"plan_code": "pro", "seats": "3", "paid_until": in_days(0), "reason": "r"},
     "must be after today"),
    ("plan", {"plan_code": "pro", "seats": "3", "paid_until": "31/12/2030", "reason": "r"},
     "Enter a date like"),
    ("plan", {"plan_code": "pro", "seats": "3", "paid_until": in_days(3000), "reason": "r"},
     "at most 5 years ahead"),
    ("plan", {"plan_code": "pro", "seats": "3", "paid_until": in_days(30), "reason": ""},
     "Give a reason"),
    ("override", {"feature": "teleport", "mode": "on", "reason": "r"}, "Choose a module"),
    ("override", {"feature": "crm", "mode": "maybe", "reason": "r"}, "Choose on, off"),
    ("override", {"feature": "crm", "mode": "default", "reason": "r"}, "nothing changed"),
    ("override", {"feature": "crm", "mode": "on", "reason": ""}, "Give a reason"),
    ("suspend", {"reason": ""}, "Give a reason"),
    ("suspend", {"reason": "x" * 501}, "Use at most 500 characters."),
    ("reactivate", {"reason": "all good"}, "This shop is active already."),
    ("notes", {"text": "   "}, "Write the note first."),
    ("notes", {"text": "x" * 2001}, "Use at most 2000 characters."),
]  # fmt: skip


@pytest.mark.parametrize("path, data, message", BAD_INPUT)
def test_bad_input_changes_nothing_and_says_why(client, two_tenants, as_staff, path, data, message):
    as_staff("admin")
    shop = two_tenants.a.tenant.id
    before = state_of(shop)
    response = client.post(f"/backoffice/tenants/{shop}/{path}", data=data)
    assert response.status_code == 400
    assert message in response.get_data(True)
    assert state_of(shop) == before


def test_an_unknown_shop_answers_404_and_records_nothing(client, two_tenants, as_staff):
    as_staff("admin")
    before = audit_rows()
    assert client.get("/backoffice/tenants/999999").status_code == 404
    response = client.post("/backoffice/tenants/999999/suspend", data={"reason": "r"})
    assert response.status_code == 404
    assert audit_rows() == before


def test_offline_plan_over_a_live_stripe_subscription_is_refused(client, two_tenants, as_staff):
    as_staff("billing")
    shop = two_tenants.a.tenant.id
    add_account(shop, "active", 2, stripe_subscription_id="sub_live", stripe_customer_id="cus_1")
    before = state_of(shop)
    _, data = ACTIONS["plan"]
    response = client.post(f"/backoffice/tenants/{shop}/plan", data=data)
    assert response.status_code == 400 and "Cancel it in Stripe first" in response.get_data(True)
    assert state_of(shop) == before


# --- what each action does -------------------------------------------------------------


def test_extend_trial_counts_from_the_later_of_today_and_its_end(client, two_tenants, as_staff):
    as_staff("billing")
    a, b = two_tenants.a, two_tenants.b
    running_end = utcnow() + timedelta(days=3)
    set_tenant(a, trial_ends_at=running_end)
    set_tenant(b, trial_ends_at=utcnow() - timedelta(days=20))
    for shop in (a, b):
        data = {"days": "10", "reason": "more time"}
        client.post(f"/backoffice/tenants/{shop.tenant.id}/trial", data=data)
    assert tenant_row(a.tenant.id).trial_ends_at == running_end + timedelta(days=10)
    b_end = tenant_row(b.tenant.id).trial_ends_at
    assert abs(b_end - (utcnow() + timedelta(days=10))) < timedelta(minutes=1)
    assert tenant_row(b.tenant.id).trial_plan_code == "pro"
    with cross_tenant():
        assert entitlements(tenant_row(b.tenant.id)).trialing


def test_offline_payment_sets_plan_seats_and_records_an_invoice(client, two_tenants, as_staff):
    as_staff("billing")
    shop = two_tenants.a
    set_tenant(shop, trial_ends_at=utcnow() - timedelta(days=1))  # on Free now
    paid_until = utcnow().date() + timedelta(days=200)
    for seats in ("4", "6"):
        response = client.post(
            f"/backoffice/tenants/{shop.tenant.id}/plan",
            data={
                "plan_code": "pro",
                "seats": seats,
                "paid_until": paid_until.isoformat(),
                "reason": "bank transfer",
            },
        )
        assert response.status_code == 302
    tenant = tenant_row(shop.tenant.id)
    assert (tenant.plan_code, tenant.seats) == ("pro", 6)
    assert tenant.paid_until.date() == paid_until
    with cross_tenant():
        rights = entitlements(tenant)
        account = db.scalar(select(BillingAccount).where(BillingAccount.tenant_id == tenant.id))
        invoices = list(
            db.scalars(select(Invoice).where(Invoice.tenant_id == tenant.id).order_by(Invoice.id))
        )
    assert rights.plan.code == "pro" and rights.seat_limit == 6 and rights.has("crm")
    assert (account.status, account.plan_code, account.seats) == ("offline", "pro", 6)
    assert [i.number for i in invoices] == [f"OFF-{tenant.id}-1", f"OFF-{tenant.id}-2"]
    assert [i.amount_paid for i in invoices] == [4 * PRO_PRICE, 6 * PRO_PRICE]
    assert {i.status for i in invoices} == {"offline"}
    entry = audit_rows(tenant.id)[-1]
    assert entry.before["seats"] == 4 and entry.after["seats"] == 6
    assert entry.after["invoice"] == f"OFF-{tenant.id}-2"


def test_an_offline_payment_ends_a_running_trial(client, two_tenants, as_staff):
    as_staff("billing")
    shop = two_tenants.b.tenant.id
    with cross_tenant():
        assert entitlements(tenant_row(shop)).seat_limit == 5  # the trial's seats
    client.post(
        f"/backoffice/tenants/{shop}/plan",
        data={"plan_code": "pro", "seats": "3", "paid_until": in_days(90), "reason": "wire"},
    )
    tenant = tenant_row(shop)
    assert tenant.trial_ends_at <= utcnow()
    with cross_tenant():
        rights = entitlements(tenant)
    assert not rights.trialing and rights.seat_limit == 3 and rights.plan.code == "pro"


def test_module_override_on_off_and_back_to_the_plan(client, two_tenants, as_staff):
    as_staff("billing")
    shop = two_tenants.a
    set_tenant(shop, trial_ends_at=utcnow() - timedelta(days=1))  # Free: no CRM
    path = f"/backoffice/tenants/{shop.tenant.id}/override"

    def crm() -> bool:
        with cross_tenant():
            return entitlements(tenant_row(shop.tenant.id)).has("crm")

    assert not crm()
    client.post(path, data={"feature": "crm", "mode": "on", "reason": "pilot"})
    assert crm() and tenant_row(shop.tenant.id).feature_overrides == {"crm": True}
    client.post(path, data={"feature": "crm", "mode": "off", "reason": "pilot over"})
    assert not crm() and tenant_row(shop.tenant.id).feature_overrides == {"crm": False}
    client.post(path, data={"feature": "crm", "mode": "default", "reason": "cleanup"})
    assert tenant_row(shop.tenant.id).feature_overrides == {}
    changes = [(e.before["override"], e.after["override"]) for e in audit_rows(shop.tenant.id)]
    assert changes == [("default", "on"), ("on", "off"), ("off", "default")]


def test_suspend_then_reactivate(client, two_tenants, as_staff):
    as_staff("admin")
    shop = two_tenants.a.tenant.id
    client.post(f"/backoffice/tenants/{shop}/suspend", data={"reason": "chargeback"})
    assert tenant_row(shop).status == "suspended"
    assert tenant_row(two_tenants.b.tenant.id).status == "active"
    again = client.post(f"/backoffice/tenants/{shop}/suspend", data={"reason": "again"})
    assert again.status_code == 400 and "suspended already" in again.get_data(True)
    listing = client.get("/backoffice/?status=suspended").get_data(True)
    assert "Shop a" in listing and "Shop b" not in listing
    client.post(f"/backoffice/tenants/{shop}/reactivate", data={"reason": "resolved"})
    assert tenant_row(shop).status == "active"
    assert [(e.action, e.after) for e in audit_rows(shop)] == [
        ("suspend", {"status": "suspended"}),
        ("reactivate", {"status": "active"}),
    ]


# --- pages -----------------------------------------------------------------------------


def test_tenant_page_shows_subscription_usage_invoices_events_notes(client, two_tenants, as_staff):
    member = as_staff("support")
    shop = two_tenants.a.tenant.id
    add_account(
        shop,
        "past_due",
        3,
        stripe_customer_id="cus_A1",
        stripe_subscription_id="sub_A1",
        current_period_end=datetime(2031, 5, 4, tzinfo=UTC),
    )
    with cross_tenant():
        db.add(Invoice(tenant_id=shop, number="HK-0042", status="paid", amount_due=594000))
        db.add(
            BillingEvent(
                stripe_event_id="evt_A1",
                type="invoice.payment_failed",
                tenant_id=shop,
                created_at=utcnow(),
                outcome="applied",
                summary="active -> past_due, seats 3",
            )
        )
        db.commit()
    client.post(f"/backoffice/tenants/{shop}/notes", data={"text": "VIP, answers WeChat only"})
    page = client.get(f"/backoffice/tenants/{shop}").get_data(True)
    for expected in (
        "Shop a",
        "cus_A1",
        "sub_A1",
        "2031-05-04",
        "Past due",
        "HK-0042",
        "5,940.00",
        "evt_A1",
        "invoice.payment_failed",
        "VIP, answers WeChat only",
        member.email,
        "agent-a@example.com",
        "pending-a@example.com",
    ):
        assert expected in page, expected
    seats = re.search(r"Seats used / limit</span><strong>(\d+) / (\d+)", page)
    # owner + agent active + one open invitation, as the console counts; a trial's 5 seats
    assert seats.groups() == ("3", "5")
    conversations = re.search(r"Conversations this month</span><strong>(\d+)", page)
    assert conversations.group(1) == "1"  # the fixture's one chat; shop b's is not counted
    assert "Shop b" not in page


def test_tenants_list_search_filters_sort_and_pages(client, two_tenants, as_staff):
    as_staff("support")
    a, b = two_tenants.a, two_tenants.b

    def names(query: str = "") -> list[str]:
        page = client.get(f"/backoffice/?{query}").get_data(True)
        return re.findall(r"<strong>(Shop \w+)</strong>", page)

    assert names() == ["Shop b", "Shop a"]  # newest first
    assert names("sort=name") == ["Shop a", "Shop b"]
    assert names("q=owner-b%40example") == ["Shop b"]
    assert names(f"q={a.tenant.slug}") == ["Shop a"]
    assert names("q=nothing-like-it") == []
    set_tenant(a, trial_ends_at=utcnow() + timedelta(days=3))
    set_tenant(b, trial_ends_at=utcnow() - timedelta(days=3))
    assert names("trial_ending=1") == ["Shop a"]
    assert names("plan=free") == ["Shop b"] and names("plan=pro") == ["Shop a"]
    add_account(b.tenant.id, "past_due", 4)
    assert names("past_due=1") == ["Shop b"]
    assert names("sort=mrr") == ["Shop b", "Shop a"]
    row = client.get("/backoffice/?q=Shop+b").get_data(True)
    assert "660.00" in row  # 4 seats x 1980 / 12
    for n in range(3):
        new_shop(f"x{n}")
    assert names("page=1&sort=name")[:2] == ["Shop a", "Shop b"]


def test_tenants_list_pages(client, two_tenants, as_staff, monkeypatch):
    from billing.backoffice import views

    monkeypatch.setattr(views, "PER_PAGE", 1)
    as_staff("support")
    first = client.get("/backoffice/?sort=name").get_data(True)
    second = client.get("/backoffice/?sort=name&page=2").get_data(True)
    assert "Shop a" in first and "Shop b" not in first and "Page 1 of 2" in first
    assert "Shop b" in second and "Shop a" not in second


def test_audit_page_lists_newest_first_and_filters_by_shop(client, two_tenants, as_staff):
    as_staff("admin")
    a, b = two_tenants.a.tenant.id, two_tenants.b.tenant.id
    client.post(f"/backoffice/tenants/{a}/notes", data={"text": "first about a"})
    client.post(f"/backoffice/tenants/{b}/notes", data={"text": "then about b"})
    page = client.get("/backoffice/audit").get_data(True)
    assert page.index("then about b") < page.index("first about a")
    only_a = client.get(f"/backoffice/audit?tenant={a}").get_data(True)
    assert "first about a" in only_a and "then about b" not in only_a


# --- revenue ---------------------------------------------------------------------------


def test_mrr_equals_the_sum_of_the_paying_subscriptions(client, two_tenants, as_staff):
    a, b = two_tenants.a.tenant.id, two_tenants.b.tenant.id
    offline, canceled, trialing, lapsed = (new_shop(n) for n in ("off", "can", "tri", "lap"))
    future, past = utcnow() + timedelta(days=90), utcnow() - timedelta(days=1)
    add_account(a, "active", 3)
    add_account(b, "past_due", 2)
    add_account(offline, "offline", 5)
    add_account(canceled, "canceled", 4)
    add_account(trialing, "trialing", 7)
    add_account(lapsed, "offline", 9)
    with cross_tenant():
        db.get(Tenant, offline).paid_until = future
        db.get(Tenant, lapsed).paid_until = past
        db.commit()
        price = db.get(Plan, "pro").price_per_seat_year
    paying_seats = 3 + 2 + 5
    expected = round(paying_seats * price / 12)
    assert metrics.mrr() == expected == 165000
    figures = metrics.revenue()
    assert figures.arr == 12 * expected
    assert figures.paid_seats == paying_seats and figures.paying_shops == 3

    as_staff("support")
    page = client.get("/backoffice/revenue").get_data(True)
    assert "1,650.00" in page and "19,800.00" in page  # MRR and ARR in yuan


def test_trial_conversion_and_churn_per_month(dbsession, two_tenants):
    now = datetime(2031, 3, 15, 12, tzinfo=UTC)
    converted, lost, churned = two_tenants.a, two_tenants.b, new_shop("churn")
    set_tenant(converted, trial_ends_at=datetime(2031, 2, 10, tzinfo=UTC))
    set_tenant(lost, trial_ends_at=datetime(2031, 2, 20, tzinfo=UTC))
    add_account(converted.tenant.id, "active", 2)
    with cross_tenant():
        db.get(Tenant, churned).trial_ends_at = datetime(2030, 1, 1, tzinfo=UTC)
        for status in ("past_due", "canceled"):
            entry = audit.record(
                "subscription_state",
                churned,
                {"status": "active" if status == "past_due" else "past_due", "plan_code": "pro",
                 "seats": 3},
                {"status": status, "plan_code": "pro", "seats": 3},
                actor="stripe",
            )  # fmt: skip
            entry.created_at = datetime(2031, 3, 2, tzinfo=UTC)
        db.commit()
    months = {m.label: m for m in metrics.monthly_figures(12, now=now)}
    assert len(months) == 12 and min(months) == "2030-04" and max(months) == "2031-03"
    february, march = months["2031-02"], months["2031-03"]
    assert (february.trials_ended, february.converted, february.conversion) == (2, 1, 0.5)
    assert (march.churned, march.churned_mrr) == (1, 3 * PRO_PRICE // 12)
    assert february.churned == 0 and march.conversion is None


# --- exports ---------------------------------------------------------------------------


def read_csv(response) -> list[dict]:
    text = response.get_data(True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_exports_hold_the_rows_and_are_audited(client, two_tenants, as_staff):
    member = as_staff("billing")
    a, b = two_tenants.a, two_tenants.b
    set_tenant(b, name='=HYPERLINK("http://evil.example")')
    client.post(
        f"/backoffice/tenants/{a.tenant.id}/plan",
        data={"plan_code": "pro", "seats": "3", "paid_until": in_days(365), "reason": "wire"},
    )
    tenants = client.get("/backoffice/export/tenants.csv")
    assert tenants.mimetype == "text/csv" and "attachment" in tenants.headers["Content-Disposition"]
    rows = {int(r["id"]): r for r in read_csv(tenants)}
    assert rows[a.tenant.id]["name"] == "Shop a"
    assert rows[a.tenant.id]["owner_email"] == "owner-a@example.com"
    assert rows[a.tenant.id]["billing_status"] == "offline"
    assert rows[a.tenant.id]["mrr_minor"] == str(3 * PRO_PRICE // 12)
    assert rows[b.tenant.id]["name"].startswith("'=")  # not a formula in a spreadsheet
    filtered = read_csv(client.get("/backoffice/export/tenants.csv?q=owner-a"))
    assert [r["name"] for r in filtered] == ["Shop a"]

    invoices = read_csv(client.get("/backoffice/export/invoices.csv"))
    assert [(r["number"], r["amount_paid_minor"], r["tenant_name"]) for r in invoices] == [
        (f"OFF-{a.tenant.id}-1", str(3 * PRO_PRICE), "Shop a")
    ]
    exports = [e for e in audit_rows() if e.action == "export"]
    assert [(e.after["file"], e.staff_id) for e in exports] == [
        ("tenants.csv", member.id),
        ("tenants.csv", member.id),
        ("invoices.csv", member.id),
    ]


# --- forms carry CSRF tokens -----------------------------------------------------------


def test_actions_need_the_csrf_token(two_tenants):
    app = make_test_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    member = make_staff("admin")
    form = client.get("/backoffice/login").get_data(True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = {"email": member.email, "password": STAFF_PASSWORD, "code": code_for(member)}
    assert client.post("/backoffice/login", data=data).status_code == 400  # no token
    assert client.post("/backoffice/login", data=data | {"csrf_token": token}).status_code == 302
    shop = two_tenants.a.tenant.id
    before = state_of(shop)
    forged = client.post(f"/backoffice/tenants/{shop}/suspend", data={"reason": "forged"})
    assert forged.status_code == 400 and state_of(shop) == before
    page = client.get(f"/backoffice/tenants/{shop}").get_data(True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(
        f"/backoffice/tenants/{shop}/suspend", data={"reason": "real", "csrf_token": token}
    )
    assert done.status_code == 302 and tenant_row(shop).status == "suspended"


# --- the CLI ---------------------------------------------------------------------------


def test_cli_creates_staff_and_prints_the_totp_secret_once(app, dbsession):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["staff", "create", "Ops@Staff.Example.com", "--role", "billing", "--name", "Ops",
              "--password", STAFF_PASSWORD],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    member = staff_accounts.find_staff("ops@staff.example.com")
    assert (member.role, member.name) == ("billing", "Ops")
    assert f"Secret: {member.totp_secret}" in result.output
    assert "otpauth://totp/" in result.output
    again = runner.invoke(args=["staff", "create", "ops@staff.example.com", "--password", "x" * 9])
    assert again.exit_code != 0 and "exists already" in again.output
    short = runner.invoke(args=["staff", "create", "new@staff.example.com", "--password", "short"])
    assert short.exit_code != 0 and "at least 8" in short.output
