"""CSV import in the console: upload, column mapping, good, bad and duplicate rows, the report,
re-importing, encodings and delimiters, orders, permissions and another shop's imports."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.crm import imports
from app.crm import service as crm
from app.crm.models import Customer, CustomerPhone, Import, Order
from tenants.db import bind_tenant, db, utcnow
from tenants.errors import ServiceError
from tenants.jobs import jobs_of, wait_for_jobs

from ..conftest import login, set_tenant

START = "/console/customers/import"


def upload(client, content: bytes | str, kind: str = "customers", filename: str = "list.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        START,
        data={"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def guessed(page: str) -> dict:
    """The mapping form's chosen option for each column."""
    selects = re.findall(r'<select name="(column-\d+)"[^>]*>(.*?)</select>', page, re.S)
    return {
        name: (re.search(r'<option value="([^"]*)" selected', options) or [None, ""])[1]
        for name, options in selects
    }


def run(client, content, kind="customers", mapping: dict | None = None, filename="list.csv"):
    """Upload, take the guessed mapping (with changes), import; the report page's response."""
    uploaded = upload(client, content, kind, filename)
    assert uploaded.status_code == 302, uploaded.get_data(True)
    page = client.get(uploaded.headers["Location"])
    form = {**guessed(page.get_data(True)), **(mapping or {})}
    done = client.post(uploaded.headers["Location"], data=form)
    assert done.status_code == 302, done.get_data(True)
    return client.get(done.headers["Location"])


def last_import(tenant_id: int) -> Import:
    bind_tenant(tenant_id)
    return db.scalar(select(Import).order_by(Import.id.desc()))


def customers(tenant_id: int) -> int:
    bind_tenant(tenant_id)
    return db.scalar(select(func.count(Customer.id)))


def by_phone(tenant_id: int, e164: str) -> Customer | None:
    bind_tenant(tenant_id)
    return crm.find_by_contact(phones=[e164])


MIXED = (
    "姓名,手机,邮箱,公司,标签,负责人,Level\n"
    "张三,13900000011,zhang@example.com,汇客,vip，新客,agent-a@example.com,gold\n"
    "李四,12345,li@example.com,,,,\n"
    "王五,13900000013,not-an-email,,,,\n"
    "赵六,13900000014,,,,,platinum\n"
    "钱七,13900000015,,,,nobody@example.com,\n"
    "\n"
    "张三,139 0000 0011,,,复购,,\n"
    ",13800000000,,,导入,,\n"
)


def test_good_bad_and_duplicate_rows(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    before = customers(a.tenant.id)
    report = run(client, MIXED)
    assert report.status_code == 200
    imp = last_import(a.tenant.id)
    # 张三 new, 张三 again (a new tag), the shop's buyer found by phone (a new tag)
    assert imports.summary(imp) == {
        "rows": 7,
        "created": 1,
        "updated": 2,
        "unchanged": 0,
        "failed": 4,
        "skipped": 0,
        "conflicts": 0,
        "conflict_counts": {},
    }
    errors = {e["row"]: (e["column"], e["code"], e["value"]) for e in imp.errors}
    # row numbers as a spreadsheet shows them: the header is row 1, the blank row 7 counts
    assert errors == {
        3: ("手机", "phone_invalid", "12345"),
        4: ("邮箱", "email_invalid", "not-an-email"),
        5: ("Level", "choice_invalid", "platinum"),
        6: ("负责人", "owner_unknown", "nobody@example.com"),
    }
    page = report.get_data(True)
    assert "Enter a valid phone number." in page and "Choose one of: gold, silver." in page
    assert "nobody@example.com is not a member of the shop." in page
    # good rows in, nothing of the bad ones
    assert customers(a.tenant.id) == before + 1
    zhang = by_phone(a.tenant.id, "+8613900000011")
    assert zhang.name == "张三" and zhang.company == "汇客" and zhang.source == "import"
    assert [t.tag for t in zhang.tags] == ["vip", "复购", "新客"]
    assert zhang.fields == {"level": "gold"} and zhang.owner_id == a.agent.id
    assert [e.email for e in zhang.emails] == ["zhang@example.com"]
    for phone in ("+8613900000013", "+8613900000014", "+8613900000015"):
        assert by_phone(a.tenant.id, phone) is None
    assert db.scalar(select(Customer.id).where(Customer.name.in_(["李四", "王五"]))) is None
    known = by_phone(a.tenant.id, "+8613800000000")
    assert known.id == a.customer.id and known.name == "Buyer a"  # a blank cell erases nothing
    assert {t.tag for t in known.tags} == {"vip", "导入"}


def test_importing_the_same_file_again_creates_nothing(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    run(client, MIXED)
    after_first = customers(a.tenant.id)
    run(client, MIXED)
    assert customers(a.tenant.id) == after_first
    counts = imports.summary(last_import(a.tenant.id))
    assert counts == {
        "rows": 7,
        "created": 0,
        "updated": 0,
        "unchanged": 3,
        "skipped": 0,
        "failed": 4,
        "conflicts": 0,
        "conflict_counts": {},
    }


def test_rows_match_by_external_id_then_phone_then_email(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    content = (
        "user id,name,phone,email\n"
        "user-a,Renamed,,\n"  # the shop's buyer by external id: renamed
        ",,,buyer-a@example.com\n"  # the same buyer by e-mail: nothing new
        "user-new,New,13900000021,new@example.com\n"
        "user-other,Other,13900000021,\n"  # a phone of someone with another id: refused
    )
    run(client, content)
    imp = last_import(a.tenant.id)
    assert [(e["row"], e["code"]) for e in imp.errors] == [(5, "phone_taken")]
    assert (imp.created_count, imp.updated_count) == (1, 1)
    bind_tenant(a.tenant.id)
    assert crm.find_by_contact("user-a").name == "Renamed"
    assert crm.find_by_contact("user-other") is None


def test_a_file_with_no_way_to_recognise_customers_is_refused(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    uploaded = upload(client, "Name,Company\nAnn,Acme\n")
    response = client.post(uploaded.headers["Location"], data={"column-0": "name"})
    assert response.status_code == 400
    assert "Set a column to the user id, a phone or an e-mail" in response.get_data(True)
    imp = last_import(a.tenant.id)
    assert imp.status == "pending" and imp.mapping == {}
    twice = client.post(uploaded.headers["Location"], data={"column-0": "name", "column-1": "name"})
    assert "The columns Name and Company are set to the same field." in twice.get_data(True)
    unknown = client.post(uploaded.headers["Location"], data={"column-0": "password"})
    assert unknown.status_code == 400
    assert last_import(a.tenant.id).status == "pending"


def test_a_row_without_id_phone_or_email_is_reported(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    run(client, "Name,Phone\nAnn,13900000031\nBob,\n")
    imp = last_import(a.tenant.id)
    assert [(e["row"], e["code"]) for e in imp.errors] == [(3, "import_no_key_in_row")]


@pytest.mark.parametrize(
    "encoding, delimiter",
    [("gbk", ","), ("gb18030", "\t"), ("utf-8-sig", ";"), ("utf-8", ","), ("utf-16", "\t")],
)
def test_encodings_and_delimiters(client, two_tenants, encoding, delimiter):
    a = two_tenants.a
    login(client, a.owner)
    rows = [["姓名", "手机", "标签"], ["王小明", "13900000041", "老客户, 华东"]]
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows(rows)
    run(client, text.getvalue().encode(encoding))
    customer = by_phone(a.tenant.id, "+8613900000041")
    assert customer.name == "王小明"
    assert sorted(t.tag for t in customer.tags) == sorted(["老客户", "华东"])


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "The file is empty."),
        (b"\n\n", "The file is empty."),
        (b"Name,Phone\n", "The file names its columns but has no rows to import."),
        (b"Ann,13900000051\n", "The first row should name the columns"),
        (b"PK\x03\x04 an xlsx", "This is not a CSV file."),
        (b"Name\x00,Phone\n", "This is not a CSV file."),
        ("Name,Phone\nA\x00n,13900000051\n".encode("utf-16"), "This is not a CSV file."),
        (b"Name,Phone\n\xff\xfe\xfa\xfb\n", "could not be read"),
    ],
)
def test_unusable_files_are_refused_clearly(client, two_tenants, content, words):
    a = two_tenants.a
    login(client, a.owner)
    response = upload(client, content)
    assert response.status_code == 400
    assert words in response.get_data(True)
    assert last_import(a.tenant.id).id == a.crm_import.id  # nothing stored


def test_size_and_row_limits(client, two_tenants, monkeypatch):
    a = two_tenants.a
    login(client, a.owner)
    big = b"Name,Phone\n" + b"x" * imports.MAX_BYTES
    response = upload(client, big)
    assert response.status_code == 400
    assert "Files can be at most 5 MB." in response.get_data(True)
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    response = upload(client, "Phone\n" + "".join(f"1390000006{n}\n" for n in range(4)))
    assert response.status_code == 400
    assert "A file can have at most 3 rows." in response.get_data(True)
    missing = client.post(START, data={"kind": "customers"}, content_type="multipart/form-data")
    assert missing.status_code == 400 and "Choose a CSV file to import." in missing.get_data(True)
    assert last_import(a.tenant.id).id == a.crm_import.id


def test_the_mapping_page_shows_the_first_rows_and_guesses(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    header = "序号,姓名,手机号码,电子邮箱,电话,公司名称,标签,用户ID,level,Notes\n"
    uploaded = upload(client, header + "1,Ann,13900000071,ann@example.com,,,,u-1,gold,hi\n")
    page = client.get(uploaded.headers["Location"]).get_data(True)
    assert guessed(page) == {
        "column-0": "",
        "column-1": "name",
        "column-2": "phone",
        "column-3": "email",
        "column-4": "phone",  # a second phone column adds a second phone
        "column-5": "company",
        "column-6": "tags",
        "column-7": "external_id",
        "column-8": "fields.level",
        "column-9": "",
    }
    assert "ann@example.com" in page and "1 row" in page


def test_formula_guard_is_undone_on_import(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    run(client, "name,phones\n'=cmd,'+86 139 0000 0081\n")
    assert by_phone(a.tenant.id, "+8613900000081").name == "=cmd"


def test_the_rows_with_errors_download_and_import_again_once_fixed(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    run(client, "Name,Phone,E-mail\nAnn,13900000091,ann@example.com\nBob,12,bob@example.com\n")
    imp = last_import(a.tenant.id)
    download = client.get(f"{START}/{imp.id}/errors.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    text = download.get_data(True)
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0] == ["Row", "Column", "Error", "Name", "Phone", "E-mail"]
    assert lines[1] == [
        "3",
        "Phone",
        "Enter a valid phone number. (12)",
        "Bob",
        "12",
        "bob@example.com",
    ]
    fixed = text.replace(",12,", ",13900000092,")
    run(client, fixed.encode("utf-8"))
    again = last_import(a.tenant.id)
    assert again.errors == [] and again.created_count == 1
    assert by_phone(a.tenant.id, "+8613900000092").name == "Bob"


def test_a_second_run_changes_nothing(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    uploaded = upload(client, "Name,Phone\nAnn,13900000101\n")
    url = uploaded.headers["Location"]
    assert client.post(url, data={"column-0": "name", "column-1": "phone"}).status_code == 302
    count = customers(a.tenant.id)
    again = client.post(url, data={"column-0": "name", "column-1": "phone"})
    assert again.status_code == 302 and again.headers["Location"].endswith("/report")
    assert customers(a.tenant.id) == count
    assert client.get(url).headers["Location"].endswith("/report")


def test_import_history(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    run(client, "Name,Phone\nAnn,13900000111\nBob,1\n", filename="spring fair.csv")
    page = client.get(START).get_data(True)
    assert "spring fair.csv" in page and "customers-a.csv" in page
    assert "Not imported yet" in page  # the fixture's upload, waiting for its mapping


# --- orders ---------------------------------------------------------------------------------

ORDERS = (
    "订单号,手机,邮箱,金额,状态,下单时间\n"
    'SO-100,13800000000,,"¥1,299.50",paid,2026/11/2 9:05\n'
    "SO-101,13900000121,new-buyer@example.com,88,paid,2026-11-03\n"
    "SO-102,13900000121,,12,cancelled,2026-11-04 10:00\n"
    "SO-103,,,5,paid,2026-11-04\n"
    "SO-104,13800000000,,abc,paid,2026-11-04\n"
    "SO-105,13800000000,,5,paid,yesterday\n"
)


def test_orders_link_to_customers_and_update_their_totals(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    before = customers(a.tenant.id)
    run(client, ORDERS, kind="orders")
    imp = last_import(a.tenant.id)
    assert [(e["row"], e["code"], e["column"]) for e in imp.errors] == [
        (5, "customer_required", ""),
        (6, "amount_invalid", "金额"),
        (7, "import_datetime_invalid", "下单时间"),
    ]
    assert (imp.created_count, imp.updated_count) == (3, 0)
    assert customers(a.tenant.id) == before + 1  # the new buyer; the known one by phone
    known = by_phone(a.tenant.id, "+8613800000000")
    assert known.order_count == 2 and known.revenue == 9950 + 129950
    placed = db.scalar(select(Order.placed_at).where(Order.external_id == "SO-100"))
    assert placed.isoformat() == "2026-11-02T01:05:00+00:00"  # 09:05 in Shanghai
    buyer = by_phone(a.tenant.id, "+8613900000121")
    assert [e.email for e in buyer.emails] == ["new-buyer@example.com"]
    assert buyer.order_count == 1 and buyer.revenue == 8800  # the cancelled one not counted


def test_orders_reimport_is_idempotent_and_applies_status_changes(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    run(client, ORDERS, kind="orders")
    bind_tenant(a.tenant.id)
    count = db.scalar(select(func.count(Order.id)))
    run(client, ORDERS, kind="orders")
    imp = last_import(a.tenant.id)
    assert (imp.created_count, imp.updated_count) == (0, 0)
    assert imports.summary(imp)["unchanged"] == 3
    assert db.scalar(select(func.count(Order.id))) == count
    # a known order needs no customer: its status changes, the totals follow
    run(client, "订单号,手机,状态\nSO-101,,refunded\n", kind="orders")
    assert last_import(a.tenant.id).updated_count == 1
    buyer = by_phone(a.tenant.id, "+8613900000121")
    assert buyer.order_count == 0 and buyer.revenue == 0


# --- rules shared with save_customer -------------------------------------------------------


@pytest.mark.parametrize(
    "row, code",
    [
        ({"name": "x" * 121, "phones": ["13900000131"]}, "too_long"),
        ({"company": "x" * 201, "phones": ["13900000132"]}, "too_long"),
        ({"external_id": "x" * 129}, "too_long"),
        ({"phones": [f"1390000014{n}" for n in range(10)] + ["13900000150"]}, "too_many"),
        ({"tags": [f"t{n}" for n in range(31)], "phones": ["13900000151"]}, "too_many"),
        ({"external_id": "someone-new", "phones": ["13800000000"]}, "phone_taken"),
        ({"name": "Ok", "phones": ["13900000153"], "emails": ["ok@example.com"]}, None),
    ],
)
def test_the_import_refuses_what_save_customer_refuses(two_tenants, row, code):
    """The import checks rows against the whole file in memory; save_customer checks one
    customer with queries. The same data must meet the same rules."""
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    savepoint = db.begin_nested()
    try:
        crm.save_customer(None, row)
        refused = None
    except ServiceError as error:
        refused = error.code
    savepoint.rollback()
    assert refused == code
    header = list(row)
    cells = [" ; ".join(v) if isinstance(v, list) else v for v in row.values()]
    text = io.StringIO()
    csv.writer(text).writerows([header, cells])
    imp = imports.create_import("customers", "rules.csv", text.getvalue().encode())
    targets = {"phones": "phone", "emails": "email"}
    imp.mapping = {str(i): targets.get(key, key) for i, key in enumerate(header)}
    imports.run_import(imp)
    assert [e["code"] for e in imp.errors] == ([code] if code else [])


# --- who may import -----------------------------------------------------------------------


def test_agents_cannot_import_but_admins_can(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    assert client.get(START).status_code == 403
    assert upload(client, "Phone\n13900000161\n").status_code == 403
    assert client.get(f"{START}/{a.crm_import.id}").status_code == 403
    assert last_import(a.tenant.id).id == a.crm_import.id


def test_free_shops_get_the_upgrade_answer(client, two_tenants):
    a = two_tenants.a
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))
    login(client, a.owner)
    page = client.get(START)
    assert page.status_code == 402 and "is a Pro feature" in page.get_data(True)
    api = client.get(START, headers={"Accept": "application/json"})
    assert api.status_code == 402 and api.get_json()["error"] == "feature_locked"
    assert upload(client, "Phone\n13900000171\n").status_code == 402
    assert client.get(f"{START}/{a.crm_import.id}").status_code == 402
    assert last_import(a.tenant.id).id == a.crm_import.id


def test_another_shop_cannot_see_or_run_an_import(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    login(client, b.owner)
    url = f"{START}/{a.crm_import.id}"
    for response in (
        client.get(url),
        client.post(url, data={"column-0": "name", "column-1": "phone"}),
        client.get(f"{url}/report"),
        client.get(f"{url}/errors.csv"),
    ):
        assert response.status_code == 404
    assert last_import(a.tenant.id).status == "pending"
    assert "customers-a.csv" not in client.get(START).get_data(True)


def test_an_import_matches_only_the_shops_own_customers(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    login(client, b.owner)
    # A's buyer's id, phone and e-mail mean nothing in shop B: B's own customers only
    run(client, "user id,phone,email,name\nuser-a,13900000181,buyer-a@example.com,Mine\n")
    assert last_import(b.tenant.id).errors == []
    bind_tenant(a.tenant.id)
    assert crm.find_by_contact("user-a").name == "Buyer a"
    bind_tenant(b.tenant.id)
    assert crm.find_by_contact("user-a").name == "Mine"
    assert db.scalar(select(CustomerPhone.id).where(CustomerPhone.e164 == "+8613900000181"))


def test_a_big_file_is_imported_by_a_job_in_chunks_with_its_progress_shown(
    client, two_tenants, monkeypatch
):
    a = two_tenants.a
    login(client, a.owner)
    monkeypatch.setattr(imports, "IN_REQUEST_ROWS", 3)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    chunks = []
    real_import_rows = imports._import_rows
    monkeypatch.setattr(
        imports,
        "_import_rows",
        lambda imp, header, table: (
            chunks.append(len(table)) or real_import_rows(imp, header, table)
        ),
    )
    before = customers(a.tenant.id)
    rows = "".join(f"Buyer {i},1390000{i:04d}\n" for i in range(6)) + "Bad,12\n"
    page = run(client, "Name,Phone\n" + rows).get_data(True)
    assert "Importing" in page and "0 of 7 rows done" in page  # the request only queued it
    assert 'http-equiv="refresh"' in page
    assert customers(a.tenant.id) == before

    wait_for_jobs()
    imp = last_import(a.tenant.id)
    assert (imp.status, imp.processed_count, imp.row_count) == ("done", 7, 7)
    assert chunks == [2, 2, 2, 1]
    assert customers(a.tenant.id) == before + 6
    report = client.get(f"{START}/{imp.id}/report").get_data(True)
    assert "Importing" not in report and "1 row was not imported" in report


def test_a_queued_import_whose_message_was_lost_is_queued_again_by_the_clock(
    app, client, two_tenants, monkeypatch
):
    a = two_tenants.a
    login(client, a.owner)
    monkeypatch.setattr(imports, "IN_REQUEST_ROWS", 1)
    run(client, "Name,Phone\nAnn,13900000201\nBob,13900000202\n")
    jobs_of(app).broker.flush_all()  # the message is lost (a Redis flushed)
    wait_for_jobs()
    assert last_import(a.tenant.id).status == "queued"

    jobs_of(app).perform("crm.resume_imports", None)
    wait_for_jobs()
    imp = last_import(a.tenant.id)
    assert (imp.status, imp.created_count) == ("done", 2)
