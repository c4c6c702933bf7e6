"""The CRM never merges people silently. An imported row whose phone or e-mail is a customer's
of another name is a conflict: listed before anything is written, chosen for per row or for
all (update / new customer / skip), stored with the import for its chunks, counted in the
report; a conflict nobody chose for is not imported. Conflicts are only ever found within
the shop."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.crm import imports
from app.crm import service as crm
from app.crm.import_mapping import guess_mapping
from app.crm.models import Customer, CustomerEmail, CustomerPhone, Import, TimelineEntry
from tenants.db import bind_tenant, db
from tenants.jobs import wait_for_jobs

from ..conftest import login
from .test_import import START, guessed, last_import, upload

# Both shops' customer "Buyer <label>" has the phone 13800000000.
ZHAO = "姓名,手机,邮箱\n赵六,138 0000 0000,zhao@163.com\n"


def to_conflicts(client, content: str) -> str:
    """Upload and take the guessed columns: the conflicts page's address."""
    uploaded = upload(client, content)
    assert uploaded.status_code == 302, uploaded.get_data(True)
    page = client.get(uploaded.headers["Location"]).get_data(True)
    mapped = client.post(uploaded.headers["Location"], data=guessed(page))
    assert mapped.status_code == 302 and mapped.headers["Location"].endswith("/conflicts")
    return mapped.headers["Location"]


def buyer(shop) -> Customer:
    bind_tenant(shop.tenant.id)
    db.expire_all()
    return db.get(Customer, shop.customer.id)


def emails(customer: Customer) -> list[str]:
    return sorted(e.email for e in customer.emails)


def duplicates(shop) -> list[tuple[int, int | None, str]]:
    bind_tenant(shop.tenant.id)
    query = select(TimelineEntry.customer_id, TimelineEntry.ref_id, TimelineEntry.summary)
    return sorted(db.execute(query.where(TimelineEntry.kind == "duplicate")).all())


def test_the_conflict_is_shown_and_nothing_is_written_until_chosen(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    url = to_conflicts(client, ZHAO)
    assert last_import(a.tenant.id).status == "pending"
    page = client.get(url).get_data(True)
    assert "赵六" in page and "Buyer a" in page and "138 0000 0000" in page
    assert "Rename Buyer a to 赵六" in page and "Add 赵六 as a new customer" in page

    refused = client.post(url, data={})  # neither per row nor for all
    assert refused.status_code == 400
    assert "Choose what to do with row 2, or one choice for every conflict." in refused.get_data(
        True
    )
    imp = last_import(a.tenant.id)
    assert imp.status == "pending" and imp.conflict_choices == {}
    assert buyer(a).name == "Buyer a"

    skipped = client.post(url, data={"row-2": "skip"})
    assert skipped.status_code == 302 and skipped.headers["Location"].endswith("/report")
    zhang = buyer(a)
    assert zhang.name == "Buyer a" and emails(zhang) == ["buyer-a@example.com"]
    imp = last_import(a.tenant.id)
    assert imp.conflict_choices == {"2": "skip"}
    summary = imports.summary(imp)
    assert (summary["skipped"], summary["unchanged"], summary["updated"]) == (1, 0, 0)
    assert summary["conflicts"] == 1 and summary["conflict_counts"] == {"skip": 1}
    report = client.get(skipped.headers["Location"]).get_data(True)
    assert "1 row had the phone or e-mail of a customer of another name" in report
    assert "1 row skipped" in report and "Every row was imported." not in report


def test_update_renames_only_when_chosen(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    url = to_conflicts(client, ZHAO)
    assert client.post(url, data={"row-2": "update"}).status_code == 302
    zhao = buyer(a)
    assert zhao.name == "赵六" and emails(zhao) == ["buyer-a@example.com", "zhao@163.com"]
    summary = imports.summary(last_import(a.tenant.id))
    assert (summary["updated"], summary["conflict_counts"]) == (1, {"update": 1})
    report = client.get(f"{START}/{last_import(a.tenant.id).id}/report").get_data(True)
    assert "1 customer renamed, as you chose" in report


def test_create_adds_a_new_customer_and_notes_the_possible_duplicate(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    bind_tenant(a.tenant.id)
    before = db.scalar(select(func.count(Customer.id)))
    url = to_conflicts(client, ZHAO)
    assert client.post(url, data={"all": "create"}).status_code == 302  # one choice for all
    zhang = buyer(a)
    assert zhang.name == "Buyer a" and emails(zhang) == ["buyer-a@example.com"]
    zhao = db.scalar(select(Customer).where(Customer.name == "赵六"))
    # the phone stays 张三's (one customer each), the free e-mail is the new customer's
    assert zhao.phones == [] and emails(zhao) == ["zhao@163.com"] and zhao.source == "import"
    assert db.scalar(select(func.count(Customer.id))) == before + 1
    assert duplicates(a) == sorted([(zhang.id, zhao.id, "赵六"), (zhao.id, zhang.id, "Buyer a")])
    summary = imports.summary(last_import(a.tenant.id))
    assert (summary["created"], summary["conflict_counts"]) == (1, {"create": 1})
    page = client.get(f"/console/customers/{zhang.id}").get_data(True)
    assert "Maybe the same person as 赵六" in page
    assert f"/console/customers/{zhang.id}/merge/{zhao.id}" in page


def test_per_row_choices_and_rows_that_are_no_conflict(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    bind_tenant(a.tenant.id)
    crm.save_customer(None, {"name": "", "phones": ["13900000301"]})  # no name: no conflict
    crm.save_customer(None, {"name": "Li Si", "phones": ["13900000302"]})
    crm.save_customer(None, {"name": "Wang Wu", "emails": ["wang@example.com"]})
    db.commit()
    content = (
        "Name,Phone,Email\n"
        "Nameless Now Named,13900000301,\n"  # 2: fills an empty name
        "  li   SI ,13900000302,\n"  # 3: the same name, written otherwise
        ",13800000000,new-a@example.com\n"  # 4: no name in the file
        "Wang Dawu,,wang@example.com\n"  # 5: by e-mail, another name
        "Zhao Liu,13800000000,\n"  # 6: by phone, another name
    )
    url = to_conflicts(client, content)
    page = client.get(url).get_data(True)
    assert 'id="conflict-5"' in page and 'id="conflict-6"' in page
    assert page.count('class="num">') == 2 + 1  # two conflicts (and the header's Row)
    # "for all" left at "per row": each row's own choice
    assert client.post(url, data={"all": "", "row-5": "update", "row-6": "skip"}).status_code == 302
    bind_tenant(a.tenant.id)
    db.expire_all()
    names = {
        e164: name
        for e164, name in db.execute(select(CustomerPhone.e164, Customer.name).join(Customer)).all()
    }
    assert names["+8613900000301"] == "Nameless Now Named"
    assert names["+8613900000302"] == "li SI"
    assert names["+8613800000000"] == "Buyer a"  # row 6 skipped
    assert "new-a@example.com" in emails(buyer(a))  # row 4 updated 张三 (no name to differ)
    wang = db.scalar(select(Customer).join(CustomerEmail).where(CustomerEmail.email.like("wang@%")))
    assert wang.name == "Wang Dawu"  # update chosen
    summary = imports.summary(last_import(a.tenant.id))
    assert summary["conflict_counts"] == {"update": 1, "skip": 1}
    assert (summary["updated"], summary["skipped"]) == (4, 1)


def test_a_big_files_choices_are_made_at_preview_and_kept_for_its_chunks(
    client, two_tenants, monkeypatch
):
    a = two_tenants.a
    login(client, a.owner)
    monkeypatch.setattr(imports, "IN_REQUEST_ROWS", 3)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    rows = "".join(f"Buyer {i},1390000{i:04d}\n" for i in range(4))
    url = to_conflicts(
        client, "Name,Phone\n" + rows + "Zhao Liu,13800000000\nQian Qi,13800000000\n"
    )
    assert client.post(url, data={"row-6": "create", "row-7": "skip"}).status_code == 302
    imp = last_import(a.tenant.id)
    assert imp.status == "queued" and imp.conflict_choices == {"6": "create", "7": "skip"}
    assert buyer(a).name == "Buyer a"
    wait_for_jobs()
    imp = last_import(a.tenant.id)
    assert imp.status == "done" and imp.errors == []
    assert buyer(a).name == "Buyer a"
    summary = imports.summary(imp)
    assert (summary["created"], summary["skipped"], summary["unchanged"]) == (5, 1, 0)
    assert summary["conflict_counts"] == {"create": 1, "skip": 1}
    bind_tenant(a.tenant.id)
    assert db.scalar(select(Customer.id).where(Customer.name == "Zhao Liu"))
    assert db.scalar(select(Customer.id).where(Customer.name == "Qian Qi")) is None


def test_a_conflict_nobody_chose_for_is_reported_not_renamed(two_tenants):
    """The import engine used without the preview (or the shop's customers changed since it):
    the row is not imported, and says why."""
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    imp = imports.create_import("customers", "list.csv", ZHAO.encode())
    header, _rows = imports.read_table(imp.content)
    imp.mapping = guess_mapping("customers", header)
    imports.run_import(imp)
    assert buyer(a).name == "Buyer a"
    assert [(e["row"], e["code"], e["params"]["known"]) for e in imp.errors] == [
        (2, "import_name_conflict", "Buyer a")
    ]
    assert imports.summary(imp)["conflict_counts"] == {"failed": 1}


@pytest.mark.parametrize("choice", ["update", "create"])
def test_a_conflict_is_only_found_within_the_shop(client, two_tenants, choice):
    a, b = two_tenants.a, two_tenants.b
    login(client, a.owner)
    bind_tenant(b.tenant.id)
    crm.save_customer(None, {"name": "Shop B's buyer", "phones": ["13900000999"]})
    db.commit()
    # b's customer's phone under another name: nothing of b's is a conflict for a
    uploaded = upload(client, "Name,Phone\nMine,13900000999\n" + ZHAO.split("\n", 1)[1])
    page = client.get(uploaded.headers["Location"]).get_data(True)
    mapped = client.post(uploaded.headers["Location"], data=guessed(page))
    url = mapped.headers["Location"]
    page = client.get(url).get_data(True)
    assert 'id="conflict-3"' in page and "conflict-2" not in page and "Shop B" not in page
    assert client.post(url, data={"row-3": choice}).status_code == 302
    bind_tenant(b.tenant.id)
    db.expire_all()
    theirs = crm.find_by_contact(phones=["+8613900000999"])
    assert theirs.name == "Shop B's buyer" and buyer(b).name == "Buyer b"
    assert duplicates(b) == []
    bind_tenant(a.tenant.id)
    assert crm.find_by_contact(phones=["+8613900000999"]).name == "Mine"
    # and another shop's import is not found at its conflicts page
    bind_tenant(b.tenant.id)
    theirs_import = db.scalar(select(Import.id).where(Import.status == "pending"))
    assert theirs_import is not None
    assert client.get(f"{START}/{theirs_import}/conflicts").status_code == 404
    assert (
        client.post(f"{START}/{theirs_import}/conflicts", data={"all": "skip"}).status_code == 404
    )
