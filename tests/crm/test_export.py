"""CSV export of customers: the list's filter, every column, safe in a spreadsheet, streamed,
only the shop's own customers, and a file that imports back without a change."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.crm import imports, transfer
from app.crm import service as crm
from app.crm.models import Customer, Import
from tenants import service as tenants
from tenants.db import bind_tenant, db, utcnow

from ..conftest import login, set_tenant
from .test_import import guessed

EXPORT = "/console/customers/export.csv"
HEADER = [
    "huike_id",
    "external_id",
    "name",
    "company",
    "phones",
    "emails",
    "tags",
    "owner",
    "level",
    "order_count",
    "revenue",
    "last_order_at",
    "last_seen_at",
    "created_at",
    "source",
]


def rows_of(response) -> list[dict]:
    text = response.get_data(True)
    assert text.startswith("\ufeff"), "a BOM, so Excel reads the file as UTF-8"
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_every_member_exports_the_shops_customers(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    customer = crm.customer_or_404(a.customer.id)
    customer.owner_id = a.agent.id
    crm.add_contacts(customer, ["+8613900000201"], ["second-a@example.com"])
    db.commit()
    login(client, a.agent)
    response = client.get(EXPORT)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="customers-')
    text = response.get_data(True)
    assert next(csv.reader(io.StringIO(text[1:]))) == HEADER
    (row,) = rows_of(response)
    placed = a.order.placed_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert row == {
        "huike_id": str(a.customer.id),
        "external_id": "user-a",
        "name": "Buyer a",
        "company": "",
        "phones": "'+8613800000000 +8613900000201",
        "emails": "buyer-a@example.com second-a@example.com",
        "tags": "vip",
        "owner": "agent-a@example.com",
        "level": "gold",
        "order_count": "1",
        "revenue": "99.50",
        "last_order_at": placed.isoformat(timespec="seconds"),
        "last_seen_at": row["last_seen_at"],
        "created_at": row["created_at"],
        "source": "manual",
    }
    assert row["created_at"].endswith("+08:00")  # the shop's time zone (Asia/Shanghai)


def test_cells_a_spreadsheet_would_run_are_defused(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    crm.save_customer(
        None,
        {
            "name": '=HYPERLINK("http://evil.example","click")',
            "company": "+SUM(A1:A9)",
            "external_id": "@cmd",
            "tags": ["-2+3", "safe"],
            "phones": ["13900000211"],
        },
    )
    db.commit()
    login(client, a.owner)
    row = next(r for r in rows_of(client.get(EXPORT)) if r["phones"] == "'+8613900000211")
    assert row["name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["company"] == "'+SUM(A1:A9)"
    assert row["external_id"] == "'@cmd"
    assert row["tags"] == "'-2+3, safe"


def test_the_export_follows_the_lists_filter(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    crm.save_customer(None, {"name": "Ann", "phones": ["13900000221"], "tags": ["lead"]})
    db.commit()
    login(client, a.owner)
    names = lambda query: sorted(r["name"] for r in rows_of(client.get(EXPORT + query)))  # noqa: E731
    assert names("") == ["Ann", "Buyer a"]
    assert names("?tag=lead") == ["Ann"]
    assert names("?has_ordered=yes") == ["Buyer a"]
    assert names("?q=139%200000%200221") == ["Ann"]
    assert names(f"?owner_id={a.agent.id}") == []
    bad = client.get(EXPORT + "?ordered_after=someday")
    assert bad.status_code == 302 and "/console/customers/" in bad.headers["Location"]
    page = client.get(bad.headers["Location"]).get_data(True)
    assert "Enter a date like 2026-11-22." in page


def test_a_large_export_is_streamed(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    count = transfer.EXPORT_CHUNK * 2 + 7
    lines = "Phone,Name\n" + "".join(f"+8613700{n:06d},P{n}\n" for n in range(count))
    imp = imports.create_import("customers", "many.csv", lines.encode())
    imp.mapping = {"0": "phone", "1": "name"}
    imports.run_import(imp)
    db.commit()
    login(client, a.agent)
    response = client.get(EXPORT)
    assert response.is_streamed
    assert len(rows_of(response)) == count + 1


def test_another_shops_export_has_none_of_these_customers(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    login(client, b.owner)
    response = client.get(EXPORT)
    assert [r["huike_id"] for r in rows_of(response)] == [str(b.customer.id)]
    text = response.get_data(True)
    assert "user-b" in text and "buyer-b@example.com" in text
    for mark in ("user-a", "buyer-a@example.com", "Buyer a", "agent-a@example.com"):
        assert mark not in text
    # the same phone in both shops: B's search finds B's buyer only
    searched = rows_of(client.get(EXPORT + "?q=13800000000"))
    assert [r["huike_id"] for r in searched] == [str(b.customer.id)]
    assert rows_of(client.get(EXPORT + "?q=user-a")) == []
    assert a.customer.id != b.customer.id


def test_free_shops_get_the_upgrade_answer(client, two_tenants):
    a = two_tenants.a
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))
    login(client, a.agent)
    assert client.get(EXPORT).status_code == 402
    api = client.get(EXPORT, headers={"Accept": "application/json"})
    assert api.status_code == 402 and api.get_json()["feature"] == "crm"


def test_an_export_imports_back_without_a_change(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    crm.save_custom_field(None, "birthday", "Birthday", "date")
    crm.save_custom_field(None, "score", "Score", "number")
    crm.save_custom_field(None, "mobile", "Mobile (old system)", "text")  # reads like a phone
    crm.save_customer(
        None,
        {
            "name": "Only A Name",  # no contact at all: found again by its Huike id
            "company": 'Acme, "The Best" Ltd',
            "owner_id": a.agent.id,
            "tags": ["华东", "big buyer"],
            "fields": {
                "birthday": "1990-05-01",
                "score": "4.5",
                "mobile": "=1+1",
                "level": "silver",
            },
        },
    )
    crm.save_customer(
        None,
        {
            "name": "张伟",
            "phones": ["13900000231", "+1 415 555 2671"],
            "emails": ["zw@example.com", "zw2@example.com"],
            "external_id": "-7",
            "fields": {"score": "-3"},
        },
    )
    merged_away = crm.save_customer(None, {"name": "Dup", "phones": ["13900000232"]})
    crm.merge(crm.customer_or_404(a.customer.id), merged_away)
    db.commit()
    tenants.disable_member(a.owner, a.agent.id)  # a disabled owner stays as it was
    db.commit()
    login(client, a.owner)
    exported = client.get(EXPORT).get_data()
    assert "fields.mobile" in exported.decode("utf-8-sig").splitlines()[0]
    bind_tenant(a.tenant.id)
    before = db.scalar(select(func.count(Customer.id)))
    uploaded = client.post(
        "/console/customers/import",
        data={"kind": "customers", "file": (io.BytesIO(exported), "customers.csv")},
        content_type="multipart/form-data",
    )
    url = uploaded.headers["Location"]
    page = client.get(url).get_data(True)
    assert 'value="fields.mobile" selected' in page
    client.post(url, data=guessed(page))
    bind_tenant(a.tenant.id)
    imp = db.scalar(select(Import).order_by(Import.id.desc()))
    assert imp.errors == []
    assert imports.summary(imp) == {
        "rows": 3,
        "created": 0,
        "updated": 0,
        "unchanged": 3,
        "failed": 0,
        "skipped": 0,
        "conflicts": 0,
        "conflict_counts": {},
    }
    assert db.scalar(select(func.count(Customer.id))) == before
