"""The console's Customers pages as agents and admins use them: the list with search, filters,
saved filters and paging; the record with its timeline; edit, tags and custom fields; merge;
delete; the custom fields admin; the Free plan; and one shop never seeing another's customers."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import url_for
from sqlalchemy import event, func, insert, select

from app.chat import service as chat
from app.chat.models import Visitor
from app.crm import service as crm
from app.crm.models import (
    Customer,
    CustomField,
    Order,
    SavedFilter,
    TimelineEntry,
)
from tenants.db import bind_tenant, db

from ..app.test_isolation import ID_ARGUMENTS
from ..conftest import login, set_tenant

LIST = "/console/customers/"


def in_shop(shop) -> None:
    """Bind the test's session to the shop, as a request of its member would."""
    bind_tenant(shop.tenant.id)


def add_customer(shop, **data) -> Customer:
    in_shop(shop)
    customer = crm.save_customer(None, data)
    db.commit()
    return customer


def listed(response) -> list[str]:
    """The names in the customer list, in order."""
    return [
        html.unescape(name)
        for name in re.findall(r'<a class="name" href="[^"]+">([^<]+)</a>', response.get_data(True))
    ]


def page_text(response) -> str:
    return html.unescape(response.get_data(True))


def link(response, rel_text: str) -> str:
    """The href of the link whose text starts with ``rel_text``."""
    found = re.search(rf'href="([^"]+)"[^>]*>{re.escape(rel_text)}', response.get_data(True))
    assert found, f"no link {rel_text!r}"
    return html.unescape(found.group(1))


def fresh(shop, model, ident):
    """The row as stored now, read in the shop (a request ends the test's session)."""
    in_shop(shop)
    db.expire_all()
    return db.scalar(select(model).where(model.id == ident))


# --- the list and search ----------------------------------------------------------------------


def test_the_list_shows_each_customer_with_contacts_totals_and_marks(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    response = client.get(LIST)
    assert response.status_code == 200
    text = page_text(response)
    assert listed(response) == ["Buyer a"]
    assert "138 0000 0000" in text  # E.164 shown as the shop's country writes it
    assert "buyer-a@example.com" in text and ">vip<" in text
    assert "CN¥99.50" in text  # the order's total, in the shop's currency
    assert "ID user-a" in text  # the shop's own user id, as a mark
    assert "Buyer b" not in text


@pytest.mark.parametrize(
    "q",
    [
        "Buy",
        "buyer A",
        "138 0000 0000",
        "+86 13800000000",
        "+86 138-0000-0000",
        "13800000000",
        "1380000",  # the start of the number
        "buyer-a@example.com",
        "BUYER-A@example.com",
        "user-a",
    ],
)
def test_search_finds_by_name_prefix_phone_in_any_writing_email_and_customer_id(
    client, two_tenants, q
):
    a = two_tenants.a
    add_customer(a, name="Carol", phones=["13900001111"], emails=["carol@example.com"])
    login(client, a.agent)
    response = client.get(LIST, query_string={"q": q})
    assert response.status_code == 200
    assert listed(response) == ["Buyer a"]


def test_a_search_that_matches_nobody_says_so(client, two_tenants):
    login(client, two_tenants.a.agent)
    for q in ("Carol", "139", "uyer", "nobody@example.com"):
        response = client.get(LIST, query_string={"q": q})
        assert listed(response) == []
        assert "No customer matches" in page_text(response)


def test_filters_by_tag_owner_orders_and_last_order_dates(client, two_tenants):
    a = two_tenants.a
    in_shop(a)
    carol = crm.save_customer(
        None, {"name": "Carol", "tags": ["wholesale"], "owner_id": a.agent.id}
    )
    crm.upsert_order(
        {
            "order_id": "SO-old",
            "total": "10",
            "placed_at": "2025-01-10T08:00:00+08:00",
            "customer": {"phone": "13900001111", "name": "Dora"},
        }
    )
    crm.save_customer(None, {"name": "Eve"})
    db.commit()
    login(client, a.agent)

    def names(**params):
        response = client.get(LIST, query_string=params)
        assert response.status_code == 200, page_text(response)
        return sorted(listed(response))

    assert names(tag="wholesale") == ["Carol"]
    assert names(tag="vip") == ["Buyer a"]
    assert names(owner_id=a.agent.id) == ["Carol"]
    assert names(owner_id="none") == ["Buyer a", "Dora", "Eve"]
    assert names(has_ordered="yes") == ["Buyer a", "Dora"]
    assert names(has_ordered="no") == ["Carol", "Eve"]
    assert names(ordered_before="2025-06-01") == ["Dora"]
    assert names(ordered_after="2025-06-01") == ["Buyer a"]
    assert names(ordered_after="2025-01-01", ordered_before="2025-02-01") == ["Dora"]
    assert names(q="Ca", owner_id=a.agent.id) == ["Carol"]
    assert carol.id  # the filters above found her by her own row


@pytest.mark.parametrize(
    "params, words",
    [
        ({"has_ordered": "maybe"}, "This filter value is not valid."),
        ({"ordered_after": "2026-13-01"}, "Enter a date like"),
        ({"ordered_before": "yesterday"}, "Enter a date like"),
        ({"owner_id": "someone"}, "Choose an active member of the shop"),
        ({"after": "not-a-cursor"}, "This page link is not valid"),
    ],
)
def test_a_bad_filter_value_is_explained_on_the_page(client, two_tenants, params, words):
    login(client, two_tenants.a.agent)
    response = client.get(LIST, query_string=params)
    assert response.status_code == 400
    text = page_text(response)
    assert words in text and 'role="alert"' in text
    assert listed(response) == []  # not silently "everyone"
    assert "Correct the filter above" in text


def test_the_list_pages_with_next_links_and_no_repeats(client, two_tenants):
    a = two_tenants.a
    in_shop(a)
    for n in range(60):
        crm.save_customer(None, {"name": f"Walk-in {n:02d}"})
    db.commit()
    login(client, a.agent)
    first = client.get(LIST)
    seen = listed(first)
    assert len(seen) == 50
    second = client.get(link(first, "Next page"))
    assert second.status_code == 200
    rest = listed(second)
    assert len(rest) == 11 and not set(rest) & set(seen)
    assert sorted(seen + rest) == sorted([f"Walk-in {n:02d}" for n in range(60)] + ["Buyer a"])
    assert "Next page" not in page_text(second) and "First page" in page_text(second)
    # a filter is kept while paging
    tagged = client.get(LIST, query_string={"q": "Walk-in"})
    assert "q=Walk-in" in link(tagged, "Next page")


# --- saved filters ----------------------------------------------------------------------------


def test_a_saved_filter_is_listed_for_everyone_and_deleted_by_its_creator_or_an_admin(
    client, two_tenants
):
    a = two_tenants.a
    login(client, a.agent)
    response = client.post(
        "/console/customers/filters", data={"name": "Tea lovers", "tag": "vip", "q": "Buy"}
    )
    assert response.status_code == 302
    in_shop(a)
    saved = db.scalar(select(SavedFilter).where(SavedFilter.name == "Tea lovers"))
    assert saved.query == {"tag": "vip", "q": "Buy"} and saved.created_by_id == a.agent.id
    # a quick link on the list, for every member; using it filters the list
    login(client, a.owner)
    page = client.get(LIST)
    quick = link(page, "Tea lovers")
    assert parse_qs(urlsplit(quick).query) == {"tag": ["vip"], "q": ["Buy"]}
    assert listed(client.get(quick)) == ["Buyer a"]
    # the owner's own filter (the fixture's "VIP"): an agent may use it but not delete it
    login(client, a.agent)
    assert client.post(f"/console/customers/filters/{a.saved_filter.id}/delete").status_code == 403
    assert client.post(f"/console/customers/filters/{saved.id}/delete").status_code == 302
    login(client, a.owner)
    assert client.post(f"/console/customers/filters/{a.saved_filter.id}/delete").status_code == 302
    in_shop(a)
    assert db.scalar(select(func.count(SavedFilter.id))) == 0


@pytest.mark.parametrize(
    "data, words",
    [
        ({"name": "", "tag": "vip"}, "This field is required."),
        ({"name": "x" * 81, "tag": "vip"}, "Use at most 80 characters."),
        ({"name": "Everyone"}, "Choose a search or a filter first"),
        ({"name": "Bad", "ordered_after": "soon"}, "Enter a date like"),
    ],
)
def test_a_bad_saved_filter_is_refused(client, two_tenants, data, words):
    a = two_tenants.a
    login(client, a.agent)
    response = client.post("/console/customers/filters", data=data, follow_redirects=True)
    assert words in page_text(response)
    in_shop(a)
    assert db.scalar(select(func.count(SavedFilter.id))) == 1  # the fixture's only


# --- new customer and edit --------------------------------------------------------------------


def test_a_new_customer_is_added_by_hand(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    assert client.get("/console/customers/new").status_code == 200
    response = client.post(
        "/console/customers/new",
        data={
            "name": "Fang Li",
            "company": "Li Tea",
            "phones": "139 0000 1111\n+1 415 555 2671",
            "emails": "fang@example.com",
            "tags": "wholesale, 北京",
            "owner_id": str(a.agent.id),
            "fields.level": "silver",
        },
    )
    assert response.status_code == 302
    in_shop(a)
    fang = db.scalar(select(Customer).where(Customer.name == "Fang Li"))
    assert response.location.endswith(f"/console/customers/{fang.id}")
    assert [p.e164 for p in fang.phones] == ["+8613900001111", "+14155552671"]
    assert [t.tag for t in fang.tags] == ["wholesale", "北京"]
    assert fang.fields == {"level": "silver"} and fang.source == "manual"
    record = page_text(client.get(response.location))
    assert "139 0000 1111" in record and "+1 415-555-2671" in record


def test_a_bad_new_customer_is_explained_and_nothing_is_added(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    in_shop(a)
    before = db.scalar(select(func.count(Customer.id)))
    response = client.post("/console/customers/new", data={"name": "Gu", "phones": "13800000000"})
    assert response.status_code == 400
    text = page_text(response)
    assert "Another customer already has the phone number +8613800000000" in text
    assert 'value="Gu"' in text  # what was typed stays in the form
    in_shop(a)
    assert db.scalar(select(func.count(Customer.id))) == before


def test_an_empty_new_customer_form_is_refused_and_keeps_what_was_typed(client, two_tenants):
    """As the import refuses a row with nothing to recognise its customer by."""
    a = two_tenants.a
    login(client, a.agent)
    in_shop(a)
    before = db.scalar(select(func.count(Customer.id)))
    form = {"name": "   ", "company": "No One Ltd", "phones": " ", "emails": "", "tags": "vip"}
    response = client.post("/console/customers/new", data=form)
    assert response.status_code == 400
    text = page_text(response)
    assert "Give the customer at least a name, an external id, a phone number or an e-mail." in text
    assert 'value="No One Ltd"' in text and 'value="vip"' in text
    in_shop(a)
    assert db.scalar(select(func.count(Customer.id))) == before


def test_an_edit_may_not_take_away_all_that_names_the_customer(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    empty = {"name": "", "external_id": "", "phones": "", "emails": "", "company": "Co"}
    response = client.post(f"/console/customers/{a.customer.id}/edit", data=empty)
    assert response.status_code == 400
    assert "Give the customer at least a name" in page_text(response)
    in_shop(a)
    db.expire_all()
    kept = db.get(Customer, a.customer.id)
    assert (kept.name, kept.company, len(kept.phones)) == ("Buyer a", "", 1)


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("phones", "12345", "Enter a valid phone number. (12345)"),
        ("phones", "13800000000\nabc", "Enter a valid phone number. (abc)"),
        ("emails", "not-an-email", "Enter a valid e-mail address. (not-an-email)"),
        ("name", "n" * 121, "Use at most 120 characters."),
        ("owner_id", "999999", "Choose an active member of the shop as the owner."),
    ],
)
def test_an_edit_with_a_bad_value_changes_nothing(client, two_tenants, field, value, words):
    a = two_tenants.a
    login(client, a.agent)
    url = f"/console/customers/{a.customer.id}/edit"
    assert client.get(url).status_code == 200
    response = client.post(url, data={"name": "Renamed", "company": "Renamed Ltd", field: value})
    assert response.status_code == 400
    text = page_text(response)
    assert words in text
    # the message sits under its own field
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', response.get_data(True))
    customer = fresh(a, Customer, a.customer.id)
    assert customer.name == "Buyer a" and customer.company == ""
    assert [p.e164 for p in customer.phones] == ["+8613800000000"]
    assert [e.email for e in customer.emails] == ["buyer-a@example.com"]


def test_an_edit_saves_every_given_field(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    response = client.post(
        f"/console/customers/{a.customer.id}/edit",
        data={
            "name": "Buyer A. Wang",
            "company": "Wang Tea",
            "external_id": "user-a",
            "phones": "138 0000 0000, 139 0000 2222",
            "emails": "",
            "owner_id": str(a.owner.id),
            "fields.level": "gold",  # unchanged: not validated again
        },
    )
    assert response.status_code == 302
    customer = fresh(a, Customer, a.customer.id)
    assert customer.name == "Buyer A. Wang" and customer.company == "Wang Tea"
    assert [p.e164 for p in customer.phones] == ["+8613800000000", "+8613900002222"]
    assert customer.emails == [] and customer.owner_id == a.owner.id
    assert [t.tag for t in customer.tags] == ["vip"]  # tags have their own buttons


def test_owner_is_set_and_cleared_from_the_record(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    url = f"/console/customers/{a.customer.id}/owner"
    client.post(url, data={"owner_id": str(a.agent.id)})
    assert fresh(a, Customer, a.customer.id).owner_id == a.agent.id
    client.post(url, data={"owner_id": ""})
    assert fresh(a, Customer, a.customer.id).owner_id is None
    other = client.post(url, data={"owner_id": str(two_tenants.b.agent.id)}, follow_redirects=True)
    assert "Choose an active member" in page_text(other)
    assert fresh(a, Customer, a.customer.id).owner_id is None


def test_tags_are_added_and_removed_on_the_record(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    base = f"/console/customers/{a.customer.id}"
    client.post(f"{base}/tags", data={"tag": "  wholesale   buyer "})
    client.post(f"{base}/tags", data={"tag": "vip"})  # already there: still once
    assert [t.tag for t in fresh(a, Customer, a.customer.id).tags] == ["vip", "wholesale buyer"]
    client.post(f"{base}/tags/remove", data={"tag": "vip"})
    assert [t.tag for t in fresh(a, Customer, a.customer.id).tags] == ["wholesale buyer"]
    empty = client.post(f"{base}/tags", data={"tag": "   "}, follow_redirects=True)
    assert "This field is required." in page_text(empty)
    assert [t.tag for t in fresh(a, Customer, a.customer.id).tags] == ["wholesale buyer"]


def test_custom_fields_take_typed_values_and_refuse_bad_ones(client, two_tenants):
    a = two_tenants.a
    in_shop(a)
    crm.save_custom_field(None, "orders_per_year", "Orders per year", "number")
    crm.save_custom_field(None, "birthday", "Birthday", "date")
    db.commit()
    login(client, a.agent)
    url = f"/console/customers/{a.customer.id}/edit"
    page = client.get(url).get_data(True)
    assert 'type="number" step="any" name="fields.orders_per_year"' in page
    assert 'type="date" name="fields.birthday"' in page
    assert '<select name="fields.level"' in page
    for name, value, words in [
        ("fields.orders_per_year", "a dozen", "Enter a number."),
        ("fields.birthday", "2026-02-30", "Enter a date like"),
        ("fields.level", "platinum", "Choose one of: gold, silver."),
    ]:
        response = client.post(url, data={"name": "Changed", name: value})
        assert response.status_code == 400, name
        assert words in page_text(response)
        assert re.search(rf'name="{name}"[^>]*aria-invalid="true"', response.get_data(True))
        customer = fresh(a, Customer, a.customer.id)
        assert customer.name == "Buyer a" and customer.fields == {"level": "gold"}
    ok = client.post(
        url,
        data={
            "fields.orders_per_year": "12",
            "fields.birthday": "1990-05-04",
            "fields.level": "silver",
        },
    )
    assert ok.status_code == 302
    fields = fresh(a, Customer, a.customer.id).fields
    assert fields == {"orders_per_year": 12, "birthday": "1990-05-04", "level": "silver"}
    record = page_text(client.get(f"/console/customers/{a.customer.id}"))
    assert "<dt>Orders per year</dt><dd>12</dd>" in record
    assert "<dt>Birthday</dt><dd>1990-05-04</dd>" in record
    assert "<dt>Level</dt><dd>silver</dd>" in record
    # emptying a field removes its value
    client.post(url, data={"fields.birthday": ""})
    assert "birthday" not in fresh(a, Customer, a.customer.id).fields


# --- the record and its timeline --------------------------------------------------------------


def test_the_record_renders_every_kind_of_timeline_entry(client, two_tenants):
    a = two_tenants.a
    conversation_id = a.conversation.id
    in_shop(a)
    crm.update_order(a.order, {"status": "shipped"})
    dup = crm.save_customer(None, {"name": "Buyer a (old)", "emails": ["old-a@example.com"]})
    crm.merge(fresh(a, Customer, a.customer.id), dup, a.agent.id)
    in_shop(a)
    # a kind the console has no template for yet (calls come later): shown plainly
    crm.add_entry(a.customer.id, "call", summary="Asked about delivery to Hangzhou")
    crm.add_entry(a.customer.id, "identify", summary="user-a")
    db.commit()
    login(client, a.agent)
    response = client.get(f"/console/customers/{a.customer.id}")
    assert response.status_code == 200
    text = page_text(response)
    kinds = re.findall(r'data-kind="([a-z_]+)"', text)
    assert set(kinds) == {
        "chat",
        "left_message",
        "order",
        "order_status",
        "note",
        "merge",
        "call",
        "identify",
    }
    assert kinds[0] == "identify"  # newest first
    assert f'href="/console/history/{conversation_id}"' in text  # chat → its transcript
    assert 'href="/console/messages?status=all"' in text  # left message → the inbox
    assert "Order SO-a" in text and "CN¥99.50" in text
    assert 'placed</span> → <span class="tag">shipped' in text
    assert "Note by Owner a" in text and "likes green tea (a)" in text
    assert (
        "Merged with Buyer a (old)" in text and "by Agent a" in text and "old-a@example.com" in text
    )
    assert "Call" in text and "Asked about delivery to Hangzhou" in text
    # the header, totals and visits
    assert "Returning" not in text  # one order so far
    assert "user-a" in text and "138 0000 0000" in text
    assert re.search(r"<span>Visits</span><strong>1</strong>", text)


def test_a_note_is_added_to_the_timeline(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    url = f"/console/customers/{a.customer.id}"
    response = client.post(f"{url}/notes", data={"text": "Wants the 2026 harvest.\nCall Friday."})
    assert response.status_code == 302 and response.location.endswith(f"{url}#timeline")
    text = page_text(client.get(url))
    assert "Note by Agent a" in text and "Wants the 2026 harvest.\nCall Friday." in text
    empty = client.post(f"{url}/notes", data={"text": "  "}, follow_redirects=True)
    assert "This field is required." in page_text(empty)
    too_long = client.post(f"{url}/notes", data={"text": "x" * 5001}, follow_redirects=True)
    assert "Use at most 5000 characters." in page_text(too_long)
    in_shop(a)
    notes = select(func.count(TimelineEntry.id)).where(TimelineEntry.kind == "note")
    assert db.scalar(notes) == 2


def add_entries(shop, customer_id: int, count: int) -> None:
    """``count`` notes a minute apart, some sharing a time (the id breaks the tie)."""
    in_shop(shop)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    db.execute(
        insert(TimelineEntry),
        [
            {
                "tenant_id": shop.tenant.id,
                "customer_id": customer_id,
                "kind": "note",
                "summary": f"entry {n}",
                "data": {},
                "occurred_at": start + timedelta(minutes=n // 2),
            }
            for n in range(count)
        ],
    )
    db.commit()


def test_the_timeline_pages_older_without_repeats(client, two_tenants):
    a = two_tenants.a
    customer = add_customer(a, name="Regular")
    add_entries(a, customer.id, 120)
    login(client, a.agent)
    url = f"/console/customers/{customer.id}"
    seen, page, fragments = [], client.get(url), 0
    while True:
        seen += re.findall(r"entry (\d+)</p>", page.get_data(True))
        if "Older</a>" not in page.get_data(True):
            break
        older = link(page, "Older")
        before = parse_qs(urlsplit(older).query)["before"][0]
        # the script fetches the same page as a fragment; without it the link reloads the record
        fragment = client.get(f"{url}/timeline", query_string={"before": before})
        assert fragment.status_code == 200 and "<html" not in fragment.get_data(True)
        fragments += 1
        page = client.get(older)
        assert re.findall(r"entry (\d+)</p>", fragment.get_data(True)) == re.findall(
            r"entry (\d+)</p>", page.get_data(True)
        )
    assert fragments == 2
    assert [int(n) for n in seen] == list(range(119, -1, -1))
    bad = client.get(f"{url}/timeline", query_string={"before": "2025-01-01,x"})
    assert bad.status_code == 400
    bad_page = client.get(url, query_string={"before": "yesterday,1"}, follow_redirects=True)
    assert "This page link is not valid" in page_text(bad_page)


def test_a_record_with_thousands_of_entries_costs_the_same_queries(client, two_tenants, engine):
    a = two_tenants.a
    small = add_customer(a, name="New")
    add_entries(a, small.id, 3)
    big = add_customer(a, name="Loyal")
    add_entries(a, big.id, 5000)
    login(client, a.agent)
    statements = []

    def counted(*_args):
        statements.append(1)

    connection = db.connection()  # the test's connection: every request runs on it
    event.listen(connection, "before_cursor_execute", counted)
    try:
        client.get(f"/console/customers/{small.id}")  # what is cached per process is now
        statements.clear()
        client.get(f"/console/customers/{small.id}")
        few = len(statements)
        statements.clear()
        response = client.get(f"/console/customers/{big.id}")
        many = len(statements)
    finally:
        event.remove(connection, "before_cursor_execute", counted)
    assert response.status_code == 200
    assert response.get_data(True).count('data-kind="note"') == 50
    assert many == few  # no query per entry


# --- merge ------------------------------------------------------------------------------------


def test_merge_moves_everything_onto_the_record_that_stays(client, two_tenants):
    a = two_tenants.a
    in_shop(a)
    dup = crm.save_customer(
        None,
        {
            "name": "B. a",
            "phones": ["13900003333"],
            "emails": ["b.a@example.com"],
            "tags": ["wholesale"],
            "company": "A Tea",
        },
    )
    crm.upsert_order({"order_id": "SO-dup", "total": "20", "customer": {"phone": "13900003333"}})
    crm.add_note(dup, a.agent.id, "second account")
    visitor = chat.record_page_view(None, "https://shop-a.example/other")
    crm.link_visitor(visitor, dup)
    db.commit()
    dup_id, visitor_id = dup.id, visitor.id
    login(client, a.agent)
    base = f"/console/customers/{a.customer.id}"

    pick = client.get(f"{base}/merge", query_string={"q": "1390000"})
    assert listed_candidates(pick) == ["B. a"]
    confirm = client.get(link(pick, "Choose"))
    assert confirm.status_code == 200
    text = page_text(confirm)
    assert "Buyer a" in text and "B. a" in text and "What happens" in text
    assert "1 order moves over" in text and "2 timeline entries move over" in text

    response = client.post(f"{base}/merge/{dup_id}")
    assert response.status_code == 302 and response.location.endswith(f"{base}#timeline")
    in_shop(a)
    target = fresh(a, Customer, a.customer.id)
    assert sorted(p.e164 for p in target.phones) == ["+8613800000000", "+8613900003333"]
    assert sorted(e.email for e in target.emails) == ["b.a@example.com", "buyer-a@example.com"]
    assert [t.tag for t in target.tags] == ["vip", "wholesale"]
    assert target.company == "A Tea" and target.order_count == 2 and target.revenue == 11950
    assert db.scalar(select(Order.customer_id).where(Order.external_id == "SO-dup")) == target.id
    assert db.scalar(select(Visitor.customer_id).where(Visitor.id == visitor_id)) == target.id
    moved = select(func.count(TimelineEntry.id)).where(TimelineEntry.customer_id == dup_id)
    assert db.scalar(moved) == 0
    source = fresh(a, Customer, dup_id)
    assert source.merged_into_id == target.id and source.phones == [] and source.tags == []
    record = page_text(client.get(base))
    assert "Merged with B. a" in record and "second account" in record and "Returning" in record
    # the old record's address leads to the one that stays
    old = client.get(f"/console/customers/{dup_id}")
    assert old.status_code == 302 and old.location.endswith(base)
    # and it can be merged no more
    again = client.get(f"{base}/merge/{dup_id}")
    assert "already been merged" in page_text(again) and "What happens" not in page_text(again)
    refused = client.post(f"{base}/merge/{dup_id}", follow_redirects=True)
    assert "already been merged" in page_text(refused)


def listed_candidates(response) -> list[str]:
    return re.findall(r'<td><a href="/console/customers/\d+">([^<]+)</a>', response.get_data(True))


def test_merge_with_itself_is_refused_and_the_same_name_is_offered(client, two_tenants):
    a = two_tenants.a
    add_customer(a, name="buyer A")  # the same name, written differently
    login(client, a.agent)
    base = f"/console/customers/{a.customer.id}"
    assert listed_candidates(client.get(f"{base}/merge")) == ["buyer A"]
    same = client.get(f"{base}/merge/{a.customer.id}")
    assert "Choose another customer to merge with." in page_text(same)
    assert "What happens" not in page_text(same)
    refused = client.post(f"{base}/merge/{a.customer.id}", follow_redirects=True)
    assert "Choose another customer to merge with." in page_text(refused)
    assert fresh(a, Customer, a.customer.id).merged_into_id is None


def test_the_merge_page_offers_to_keep_the_other_record_instead(client, two_tenants):
    a = two_tenants.a
    dup = add_customer(a, name="Old account")
    login(client, a.agent)
    confirm = client.get(f"/console/customers/{a.customer.id}/merge/{dup.id}")
    swap = link(confirm, "Keep Old account instead")
    assert swap == f"/console/customers/{dup.id}/merge/{a.customer.id}"
    client.post(swap)
    assert fresh(a, Customer, a.customer.id).merged_into_id == dup.id


# --- delete -----------------------------------------------------------------------------------


def test_only_an_admin_deletes_a_customer_after_confirming(client, two_tenants):
    a = two_tenants.a
    url = f"/console/customers/{a.customer.id}/delete"
    login(client, a.agent)
    assert client.get(url).status_code == 403
    assert client.post(url, data={"confirm": "yes"}).status_code == 403
    login(client, a.owner)
    page = client.get(url)
    assert page.status_code == 200 and "Delete Buyer a?" in page_text(page)
    unconfirmed = client.post(url)
    assert unconfirmed.status_code == 200 and fresh(a, Customer, a.customer.id) is not None
    done = client.post(url, data={"confirm": "yes"})
    assert done.status_code == 302 and done.location.endswith(LIST)
    in_shop(a)
    assert fresh(a, Customer, a.customer.id) is None
    assert db.scalar(select(Visitor.customer_id).where(Visitor.id == a.visitor.id)) is None
    assert client.get(f"/console/customers/{a.customer.id}").status_code == 404


# --- custom fields admin ----------------------------------------------------------------------


def test_agents_cannot_manage_custom_fields(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    field = f"/console/customers/fields/{a.custom_field.id}"
    assert client.get("/console/customers/fields").status_code == 403
    assert (
        client.post("/console/customers/fields", data={"key": "x", "label": "X"}).status_code == 403
    )
    assert client.post(field, data={"label": "Renamed"}).status_code == 403
    assert client.get(f"{field}/delete").status_code == 403
    assert client.post(f"{field}/delete", data={"confirm": "yes"}).status_code == 403
    in_shop(a)
    assert fresh(a, CustomField, a.custom_field.id).label == "Level"
    assert "Custom fields" not in page_text(client.get(LIST))


def test_an_admin_adds_edits_and_deletes_custom_fields(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    fields = "/console/customers/fields"
    assert client.get(fields).status_code == 200
    client.post(fields, data={"key": "Birthday", "label": "Birthday", "kind": "date"})
    in_shop(a)
    birthday = db.scalar(select(CustomField).where(CustomField.key == "birthday"))
    assert birthday.kind == "date" and birthday.label == "Birthday"
    for data, words in [
        ({"key": "1st", "label": "First", "kind": "text"}, "A field key starts with a letter"),
        ({"key": "birthday", "label": "Again", "kind": "date"}, "already exists"),
        ({"key": "size", "label": "Size", "kind": "choice", "choices": "\n "}, "at least one"),
        ({"key": "size", "label": "", "kind": "text"}, "This field is required."),
        ({"key": "size", "label": "Size", "kind": "colour"}, "Choose text, number, date"),
    ]:
        response = client.post(fields, data=data, follow_redirects=True)
        assert words in page_text(response), data
    in_shop(a)
    assert db.scalar(select(func.count(CustomField.id))) == 2

    level = f"{fields}/{a.custom_field.id}"
    client.post(level, data={"label": "Member level", "choices": "gold\nsilver\nbronze, matte"})
    field = fresh(a, CustomField, a.custom_field.id)
    assert field.label == "Member level" and field.choices == ["gold", "silver", "bronze, matte"]
    assert field.kind == "choice" and field.key == "level"
    bad = client.post(level, data={"label": "Member level", "choices": ""}, follow_redirects=True)
    assert "at least one" in page_text(bad)
    assert fresh(a, CustomField, a.custom_field.id).choices == ["gold", "silver", "bronze, matte"]

    # deleting asks first, then removes the field's values from every customer
    updated_at = fresh(a, Customer, a.customer.id).updated_at
    assert "Delete the field “Member level”?" in page_text(client.get(f"{level}/delete"))
    client.post(f"{level}/delete")
    assert fresh(a, CustomField, a.custom_field.id) is not None
    done = client.post(f"{level}/delete", data={"confirm": "yes"})
    assert done.status_code == 302
    in_shop(a)
    assert fresh(a, CustomField, a.custom_field.id) is None
    customer = fresh(a, Customer, a.customer.id)
    assert customer.fields == {} and customer.updated_at == updated_at
    # the other shop's customer keeps its own field and value
    b = two_tenants.b
    assert fresh(b, Customer, b.customer.id).fields == {"level": "gold"}


# --- plans and shops --------------------------------------------------------------------------


def own_urls(app, shop) -> list[tuple[str, str]]:
    """The Customers pages and actions that name one of the shop's rows by id, read from the
    url_map (the crm blueprint's routes with arguments)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("crm.") and rule.arguments:
            values = {arg: ID_ARGUMENTS[arg](shop) for arg in rule.arguments}
            with app.test_request_context():
                url = url_for(rule.endpoint, **values)
            urls += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


def test_a_suspended_shop_sees_why(client, two_tenants):
    set_tenant(two_tenants.a, status="suspended")
    login(client, two_tenants.a.agent)
    response = client.get(LIST)
    assert response.status_code == 403 and "suspended" in page_text(response)


def test_another_shop_finds_none_of_these_customers(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    zed = add_customer(a, name="Zed", tags=["a-only-tag"])
    in_shop(a)
    db.add(SavedFilter(name="A's own filter", query={"tag": "a-only-tag"}))
    db.commit()
    login(client, b.owner)
    data = {"text": "x", "tag": "x", "name": "Taken", "owner_id": "", "confirm": "yes"}
    urls = own_urls(app, a)
    assert len(urls) >= 20, "the record's pages and actions, the fields', the imports'"
    for method, url in urls:
        assert client.open(url, method=method, data=data).status_code == 404, (method, url)
    # B's search by every key of A's customers finds nothing of A's
    for q in ("Buyer a", "Zed", "user-a", "buyer-a@example.com"):
        assert listed(client.get(LIST, query_string={"q": q})) == [], q
    # the same phone number in B's shop is B's own customer
    assert listed(client.get(LIST, query_string={"q": "138 0000 0000"})) == ["Buyer b"]
    assert listed(client.get(LIST, query_string={"tag": "a-only-tag"})) == []
    page = page_text(client.get(LIST))
    assert "a-only-tag" not in page and "A's own filter" not in page and "Zed" not in page
    # no merge across shops, in either direction, nor a candidate from the other shop
    own = f"/console/customers/{b.customer.id}"
    assert client.get(f"{own}/merge/{a.customer.id}").status_code == 404
    assert client.post(f"{own}/merge/{zed.id}").status_code == 404
    assert listed_candidates(client.get(f"{own}/merge", query_string={"q": "Zed"})) == []
    # and nothing of A's changed
    in_shop(a)
    customer = fresh(a, Customer, a.customer.id)
    assert customer.merged_into_id is None and customer.name == "Buyer a"
    assert [t.tag for t in customer.tags] == ["vip"]
    assert db.scalar(select(func.count(TimelineEntry.id)).where(TimelineEntry.kind == "note")) == 1
    assert db.scalar(select(func.count(SavedFilter.id))) == 2
    assert fresh(a, CustomField, a.custom_field.id).label == "Level"
