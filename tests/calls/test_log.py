"""The call log (/console/calls): the shop's calls with their filters (days in the shop's time
zone), keyset paging, the CSV export; and each call on its customer's timeline, kept current
as the call changes."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from app.calls import log, words
from app.calls.models import CALL_STATUSES, DIRECTIONS, AgentLine, Call, CallConnection
from app.crm import service as crm
from app.crm.models import TimelineEntry
from tenants.db import bind_tenant, db, utcnow

from ..conftest import login, set_tenant
from .test_records import post

LOG = "/console/calls"
EXPORT = "/console/calls/export.csv"
HEADER = [
    "call_id",
    "started_at",
    "direction",
    "status",
    "number",
    "customer_id",
    "customer_name",
    "shop_number",
    "agent",
    "answered_at",
    "ended_at",
    "duration_seconds",
    "cause",
    "outcome",
    "notes",
    "recording_url",
    "kind",
    "provider_call_id",
]


def add_call(shop, at: datetime, **fields) -> int:
    """A call of the shop's, as its events would have left it (committed)."""
    bind_tenant(shop.tenant.id)
    values = {
        "connection_id": shop.call_connection.id,
        "call_ref": uuid.uuid4().hex,
        "direction": "in",
        "from_number": "+8613900000001",
        "to_number": "+862160000000",
        "customer_number": "+8613900000001",
        "status": "ended",
        "started_at": at,
        **fields,
    }
    call = Call(**values)
    db.add(call)
    db.commit()
    bind_tenant(None)
    return call.id


def listed(client, **params) -> list[int]:
    """The ids of the calls the log shows, in its order."""
    response = client.get(LOG, query_string=params)
    assert response.status_code == 200, response.get_data(True)
    return [int(i) for i in re.findall(r'data-call="(\d+)"', response.get_data(True))]


def refusal(client, **params) -> str:
    response = client.get(LOG, query_string=params)
    assert response.status_code == 400
    page = response.get_data(True)
    assert 'data-call="' not in page
    return re.search(r'<div class="flash error" role="alert">([^<]+)</div>', page).group(1)


def hook_call(client, shop, ref: str, number: str, *events: tuple[str, str], **extra) -> int:
    """A call through the signed generic hook: (event, ISO time) pairs."""
    ends = {"from": number, "to": "+862160000000"}
    if extra.get("direction") == "out":  # the shop calls the number
        ends = {"from": "+862160000000", "to": number}
    for event, at in events:
        body = {"event": event, "call_id": ref, "timestamp": at, **ends, **extra}
        answer = post(client, shop, body)
        assert answer.status_code == 200, answer.get_json()
    bind_tenant(shop.tenant.id)
    call_id = db.scalar(select(Call.id).where(Call.call_ref == ref))
    bind_tenant(None)
    return call_id


# --- the list ----------------------------------------------------------------------------------


def test_the_log_shows_the_shops_calls_newest_first_in_words(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    bind_tenant(a.tenant.id)
    db.add(AgentLine(membership_id=a.agent.id, extension="801"))
    db.commit()
    answered = hook_call(
        client,
        a,
        "ok-1",
        "13800000000",
        ("ringing", "2026-12-07T01:00:00Z"),
        ("answered", "2026-12-07T01:00:10Z"),
        ("ended", "2026-12-07T01:01:45Z"),
        agent="801",
        duration=95,
    )
    outbound = add_call(
        a,
        datetime(2026, 12, 7, 2, 0, tzinfo=UTC),
        direction="out",
        status="missed",
        from_number="+862160000000",
        customer_number="+8613900000001",
        cause="noAnswer",
    )
    login(client, a.agent)
    assert listed(client) == [outbound, answered, a.call.id]  # B's call is not there
    page = client.get(LOG).get_data(True)
    rows = dict(re.findall(r'<tr data-call="(\d+)">(.*?)</tr>', page, re.S))
    answered_row = " ".join(rows[str(answered)].split())
    assert "Buyer a" in answered_row and "Agent a" in answered_row
    assert "Completed" in answered_row and "1:35" in answered_row
    assert f'href="/console/calls/{answered}"' in answered_row
    assert f'href="/console/customers/{a.customer.id}"' in answered_row  # CRM is on
    assert "Not answered" in rows[str(outbound)] and "Missed" not in rows[str(outbound)]
    assert "Missed" in rows[str(a.call.id)]
    assert str(b.call.id) not in rows


def test_without_the_crm_the_name_shows_without_a_link(client, two_tenants):
    a = two_tenants.a
    set_tenant(a, feature_overrides={"crm": False})
    login(client, a.owner)
    page = client.get(LOG).get_data(True)
    assert "Buyer a" in page and f"/console/customers/{a.customer.id}" not in page


@pytest.fixture
def some_calls(two_tenants):
    """Shop A's calls of every kind the filters tell apart (and make_shop's missed call)."""
    a = two_tenants.a
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    return {
        "shop": a.call.id,  # missed, in, +8613800000000, 2026-12-01 10:00Z, nobody
        "out": add_call(
            a,
            at,
            direction="out",
            status="ended",
            from_number="+862160000000",
            to_number="+12015550123",
            customer_number="+12015550123",
            agent_id=a.agent.id,
            duration=30,
        ),
        "busy": add_call(a, at + timedelta(minutes=1), status="busy", agent_id=a.owner.id),
        "extension": add_call(
            a, at + timedelta(minutes=2), customer_number="8001", status="answered"
        ),
        "landline": add_call(a, at + timedelta(minutes=3), customer_number="+862150001234"),
    }


def test_each_filter_names_its_calls(client, two_tenants, some_calls):
    a, c = two_tenants.a, some_calls
    login(client, a.owner)
    assert listed(client, direction="out") == [c["out"]]
    assert set(listed(client, direction="in")) == set(c.values()) - {c["out"]}
    assert listed(client, status="busy") == [c["busy"]]
    assert listed(client, status="missed") == [c["shop"]]
    assert listed(client, status="answered") == [c["extension"]]
    assert listed(client, agent=str(a.agent.id)) == [c["out"]]
    assert listed(client, agent=str(a.owner.id)) == [c["busy"]]
    assert listed(client, agent="none") == [c["landline"], c["extension"], c["shop"]]
    assert listed(client, agent=str(two_tenants.b.owner.id)) == []  # another shop's member


@pytest.mark.parametrize(
    ("typed", "names"),
    [
        ("13800000000", ["shop"]),  # national
        ("138 0000 0000", ["shop"]),
        ("138", ["shop"]),  # its start
        ("+86138", ["shop"]),
        ("86 138", ["shop"]),  # the country code without its +
        ("021-5000", ["landline"]),  # the trunk 0 dropped
        ("(21) 5000 1234", ["landline"]),
        ("+1 201", ["out"]),
        ("8001", ["extension"]),  # a PBX extension, stored as it came
        ("+86", ["landline", "busy", "shop"]),
        ("139", ["busy"]),
        ("137", []),
    ],
)
def test_the_number_filter_reads_numbers_as_people_type_them(
    client, two_tenants, some_calls, typed, names
):
    login(client, two_tenants.a.owner)
    assert listed(client, number=typed) == [some_calls[n] for n in names]


def test_filters_combine_and_the_export_button_keeps_them(client, two_tenants, some_calls):
    login(client, two_tenants.a.owner)
    assert listed(client, direction="in", number="+86", status="ended") == [some_calls["landline"]]
    page = client.get(LOG, query_string={"direction": "in", "number": "+86"}).get_data(True)
    assert "/console/calls/export.csv?direction=in&amp;number=%2B86" in page


def test_the_forms_empty_filters_leave_the_address(client, two_tenants):
    login(client, two_tenants.a.owner)
    form = {"from": "", "to": "", "direction": "in", "status": "", "agent": "", "number": " "}
    response = client.get(LOG, query_string=form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/calls?direction=in"
    paged = client.get(LOG, query_string={**form, "after": "x,1"})
    assert paged.headers["Location"] == "/console/calls?direction=in&after=x,1"


@pytest.mark.parametrize(
    ("params", "words_"),
    [
        ({"from": "2026-13-01"}, "From: Enter a date like 2026-11-22."),
        ({"to": "yesterday"}, "To: Enter a date like 2026-11-22."),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "To: Choose an end that comes after"),
        ({"direction": "sideways"}, "Direction: This filter value is not valid."),
        ({"status": "lost"}, "Status: This filter value is not valid."),
        ({"agent": "bob"}, "Agent: This filter value is not valid."),
        ({"agent": "１２"}, "Agent: This filter value is not valid."),  # full-width digits
        ({"number": "abc"}, "Phone number: This filter value is not valid."),
        ({"number": "+-"}, "Phone number: This filter value is not valid."),
        ({"after": "garbage"}, "This page link is not valid."),
    ],
)
def test_a_bad_filter_says_which_and_lists_nothing(client, two_tenants, params, words_):
    login(client, two_tenants.a.owner)
    assert refusal(client, **params).startswith(words_)


# --- days in the shop's time zone --------------------------------------------------------------


def test_a_day_is_the_shops_day_in_shanghai(client, two_tenants):
    a = two_tenants.a  # Asia/Shanghai, UTC+8
    late = add_call(a, datetime(2026, 12, 6, 15, 59, 59, tzinfo=UTC))  # 23:59:59 on the 6th
    early = add_call(a, datetime(2026, 12, 6, 16, 0, tzinfo=UTC))  # 00:00 on the 7th
    login(client, a.owner)
    day = {"from": "2026-12-07", "to": "2026-12-07"}
    assert listed(client, **day) == [early]
    assert listed(client, **{"from": "2026-12-06", "to": "2026-12-06"}) == [late]
    assert listed(client, **{"from": "2026-12-06"}) == [early, late]
    assert listed(client, to="2026-12-06") == [late, a.call.id]


def test_a_day_in_a_dst_zone_is_23_or_25_hours_long(client, two_tenants):
    a = two_tenants.a
    set_tenant(a, timezone="America/New_York")
    # 2026-03-08: clocks spring forward at 02:00 (EST -5 → EDT -4): the day is 23 hours
    spring = [
        add_call(a, datetime(2026, 3, 8, 4, 59, 59, tzinfo=UTC)),  # 7th, 23:59:59 EST
        add_call(a, datetime(2026, 3, 8, 5, 0, tzinfo=UTC)),  # 8th, 00:00 EST
        add_call(a, datetime(2026, 3, 9, 3, 59, 59, tzinfo=UTC)),  # 8th, 23:59:59 EDT
        add_call(a, datetime(2026, 3, 9, 4, 0, tzinfo=UTC)),  # 9th, 00:00 EDT
    ]
    # 2026-11-01: clocks fall back at 02:00 (EDT → EST): the day is 25 hours
    autumn = [
        add_call(a, datetime(2026, 11, 1, 3, 59, 59, tzinfo=UTC)),  # Oct 31st, 23:59:59 EDT
        add_call(a, datetime(2026, 11, 1, 4, 0, tzinfo=UTC)),  # 1st, 00:00 EDT
        add_call(a, datetime(2026, 11, 2, 4, 59, 59, tzinfo=UTC)),  # 1st, 23:59:59 EST
        add_call(a, datetime(2026, 11, 2, 5, 0, tzinfo=UTC)),  # 2nd, 00:00 EST
    ]
    login(client, a.owner)
    assert listed(client, **{"from": "2026-03-08", "to": "2026-03-08"}) == spring[2:0:-1]
    assert listed(client, **{"from": "2026-11-01", "to": "2026-11-01"}) == autumn[2:0:-1]
    assert listed(client, **{"from": "2026-03-09", "to": "2026-03-09"}) == [spring[3]]


def test_a_day_that_starts_in_a_dst_gap_starts_when_the_clocks_land():
    # Chile springs forward at midnight: 2026-09-06 00:00 never happens, the day starts 01:00
    start = log.day_start(date(2026, 9, 6), "America/Santiago")
    assert start == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)  # 01:00 -03
    assert log.day_end(date(2026, 9, 6), "America/Santiago") - start == timedelta(hours=23)
    assert log.day_start(date(1, 1, 1), "Asia/Shanghai") == log.EARLIEST
    assert log.day_end(date.max, "America/New_York") == log.LATEST


# --- paging ------------------------------------------------------------------------------------


def test_pages_walk_every_call_once_newest_first(client, two_tenants):
    a = two_tenants.a
    at = datetime(2026, 12, 2, tzinfo=UTC)
    bind_tenant(a.tenant.id)
    for n in range(120):  # three calls each moment: the id breaks the ties
        db.add(
            Call(
                connection_id=a.call_connection.id,
                call_ref=f"page-{n}",
                status="missed" if n % 2 else "ended",
                started_at=at + timedelta(minutes=n // 3),
            )
        )
    db.commit()
    expected = list(db.scalars(select(Call.id).order_by(Call.started_at.desc(), Call.id.desc())))
    login(client, a.owner)
    seen, url, pages = [], LOG, 0
    while url:
        page = client.get(url).get_data(True)
        seen += [int(i) for i in re.findall(r'data-call="(\d+)"', page)]
        found = re.search(r'<a class="button small ghost" rel="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    assert seen == expected and pages == 3  # 50 + 50 + 21
    missed, url = [], f"{LOG}?status=missed"
    while url:  # the next page keeps the filter
        page = client.get(url).get_data(True)
        missed += [int(i) for i in re.findall(r'data-call="(\d+)"', page)]
        found = re.search(r'rel="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
        assert url is None or "status=missed" in url
    bind_tenant(a.tenant.id)
    query = select(Call.id).where(Call.status == "missed")
    assert missed == list(db.scalars(query.order_by(Call.started_at.desc(), Call.id.desc())))


# --- empty states ------------------------------------------------------------------------------


def test_with_no_provider_the_log_says_how_to_connect_one(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    db.execute(delete(Call))
    db.execute(delete(CallConnection))
    db.commit()
    login(client, a.owner)
    page = client.get(LOG).get_data(True)
    assert "Connect a phone provider" in page and 'href="/console/calls/settings"' in page
    assert "Export CSV" not in page
    login(client, a.agent)
    page = client.get(LOG).get_data(True)
    assert "Ask your shop's owner or an admin to connect a phone provider" in page
    assert 'href="/console/calls/settings"' not in page


def test_connected_without_calls_says_they_will_come(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    db.execute(delete(Call))
    db.commit()
    login(client, a.agent)
    page = client.get(LOG).get_data(True)
    assert "They appear here as your phone provider reports them." in page
    assert "Connect a phone provider" not in page
    assert "No call matches this filter." in client.get(LOG + "?status=busy").get_data(True)


# --- the CSV export ----------------------------------------------------------------------------


def rows_of(response) -> list[dict]:
    text = response.get_data(True)
    assert text.startswith("\ufeff"), "a BOM, so Excel reads the file as UTF-8"
    assert next(csv.reader(io.StringIO(text[1:]))) == HEADER
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_export_has_the_filtered_calls_in_the_shops_time(client, two_tenants, some_calls):
    a = two_tenants.a
    login(client, a.agent)
    response = client.get(EXPORT)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert re.match(
        r'attachment; filename="calls-\d{8}\.csv"', response.headers["Content-Disposition"]
    )
    rows = rows_of(response)
    assert [int(r["call_id"]) for r in rows] == [
        some_calls[n] for n in ("landline", "extension", "busy", "out", "shop")
    ]
    shop_call = rows[-1]
    assert shop_call == {
        "call_id": str(a.call.id),
        "started_at": "2026-12-01T18:00:00+08:00",  # 10:00Z in Asia/Shanghai
        "direction": "in",
        "status": "missed",
        "number": "'+8613800000000",  # a leading + is a formula to a spreadsheet
        "customer_id": str(a.customer.id),
        "customer_name": "Buyer a",
        "shop_number": "'+862160000000",
        "agent": "",
        "answered_at": "",
        "ended_at": "2026-12-01T18:01:00+08:00",
        "duration_seconds": "",
        "cause": "noAnswer",
        "outcome": "",
        "notes": "",
        "recording_url": "",
        "kind": "call",
        "provider_call_id": "call-a",
    }
    out = rows[3]
    assert (out["agent"], out["duration_seconds"], out["shop_number"]) == (
        "agent-a@example.com",
        "30",
        "'+862160000000",
    )
    filtered = rows_of(client.get(EXPORT, query_string={"direction": "out"}))
    assert [int(r["call_id"]) for r in filtered] == [some_calls["out"]]


def test_the_export_is_safe_in_a_spreadsheet(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    customer = crm.customer_or_404(a.customer.id)
    customer.name = '=HYPERLINK("http://evil.example")'
    db.commit()
    add_call(
        a,
        utcnow(),
        customer_id=a.customer.id,
        agent_ref="@SUM(A1)",
        notes="-2+3",
        outcome="+sale",
        cause="\tcmd",
        call_ref="=1+1",
    )
    login(client, a.owner)
    row = rows_of(client.get(EXPORT))[0]
    assert row["customer_name"] == '\'=HYPERLINK("http://evil.example")'
    assert (row["agent"], row["notes"], row["outcome"]) == ("'@SUM(A1)", "'-2+3", "'+sale")
    assert (row["cause"], row["provider_call_id"]) == ("'\tcmd", "'=1+1")


def test_a_bad_export_filter_goes_back_to_the_log_with_the_reason(client, two_tenants):
    login(client, two_tenants.a.owner)
    response = client.get(EXPORT, query_string={"status": "lost", "number": "138"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/calls?status=lost&number=138"
    page = client.get(response.headers["Location"]).get_data(True)
    assert "Status: This filter value is not valid." in page


def test_each_shop_exports_and_lists_only_its_own_calls(client, two_tenants):
    """Both shops' make_shop calls come from the same number: neither sees the other's."""
    a, b = two_tenants.a, two_tenants.b
    login(client, b.agent)
    assert listed(client) == listed(client, number="13800000000") == [b.call.id]
    rows = rows_of(client.get(EXPORT, query_string={"number": "13800000000"}))
    assert [(r["call_id"], r["provider_call_id"]) for r in rows] == [(str(b.call.id), "call-b")]
    assert listed(client, agent=str(a.agent.id)) == []


def test_on_free_the_log_and_its_export_show_the_upgrade_page(client, two_tenants):
    a = two_tenants.a
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))
    login(client, a.owner)
    for url in (LOG, EXPORT):
        response = client.get(url)
        assert response.status_code == 402
        assert "is a Pro feature" in response.get_data(True)
        assert "Buyer a" not in response.get_data(True)


# --- the customer's timeline -------------------------------------------------------------------


def call_entries(shop, call_id: int) -> list[TimelineEntry]:
    bind_tenant(shop.tenant.id)
    query = select(TimelineEntry).where(
        TimelineEntry.kind == "call", TimelineEntry.ref_id == call_id
    )
    entries = list(db.scalars(query.execution_options(populate_existing=True)))
    bind_tenant(None)
    return entries


def test_a_call_is_one_timeline_entry_kept_current(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    db.add(AgentLine(membership_id=a.agent.id, extension="801"))
    db.commit()
    steps = [
        ("ringing", "2026-12-07T01:00:00Z", "ringing"),
        ("answered", "2026-12-07T01:00:10Z", "answered"),
        ("ended", "2026-12-07T01:01:45Z", "ended"),
        ("ended", "2026-12-07T01:01:45Z", "ended"),  # a duplicate changes nothing
    ]
    call_id = None
    for event, at, status in steps:
        call_id = hook_call(
            client, a, "tl-1", "+8613800000000", (event, at), agent="801", duration=95
        )
        (entry,) = call_entries(a, call_id)
        assert entry.customer_id == a.customer.id
        assert entry.data["status"] == status
        assert entry.occurred_at == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    assert entry.data == {
        "kind": "call",
        "direction": "in",
        "status": "ended",
        "number": "+8613800000000",
        "duration": 95,
        "agent_id": a.agent.id,
        "outcome": "",
    }
    login(client, a.owner)
    page = client.get(f"/console/customers/{a.customer.id}").get_data(True)
    item = re.search(
        rf'<li class="tl-entry" data-kind="call" id="entry-{entry.id}">(.*?)</li>', page, re.S
    )
    text = " ".join(re.sub(r"<[^>]+>", " ", item.group(1)).split())
    assert "Inbound call · Completed · Open the call" in text
    assert "talked 1:35 · with Agent a" in text
    assert f'href="/console/calls/{call_id}"' in item.group(1)


def test_the_call_pages_notes_and_outcome_reach_the_timeline(client, two_tenants):
    a = two_tenants.a
    notes = "Wants the spring Longjing, call back after 5 pm."
    login(client, a.owner)
    saved = client.post(
        f"/console/calls/{a.call.id}", data={"notes": notes, "outcome": "callback_needed"}
    )
    assert saved.status_code in (200, 302)
    (entry,) = call_entries(a, a.call.id)
    assert entry.summary == notes and entry.data["outcome"] == "callback_needed"
    page = client.get(f"/console/customers/{a.customer.id}").get_data(True)
    item = re.search(rf'id="entry-{entry.id}">(.*?)</li>', page, re.S).group(1)
    assert "Outcome: Callback needed" in item and "call back after 5 pm." in item


def test_a_missed_call_reads_missed_and_an_unanswered_outbound_one_not_answered(
    client, two_tenants
):
    a = two_tenants.a
    hook_call(
        client,
        a,
        "tl-out",
        "+8613800000000",
        ("ringing", "2026-12-07T03:00:00Z"),
        ("ended", "2026-12-07T03:00:30Z"),
        direction="out",
        cause="noAnswer",
    )
    login(client, a.owner)
    page = client.get(f"/console/customers/{a.customer.id}").get_data(True)
    titles = [
        " ".join(re.sub(r"<[^>]+>", " ", t).split())
        for t in re.findall(r'data-kind="call".*?<p class="tl-title">(.*?)</p>', page, re.S)
    ]
    assert titles == [
        "Outbound call · Not answered · Open the call",
        "Inbound call · Missed · Open the call",  # make_shop's
    ]


def test_an_unknown_callers_calls_join_the_customer_they_turn_out_to_be(client, two_tenants):
    a = two_tenants.a
    first = hook_call(client, a, "u-1", "13900000009", ("ringing", "2026-12-07T01:00:00Z"))
    second = hook_call(client, a, "u-2", "13900000009", ("ringing", "2026-12-07T02:00:00Z"))
    assert call_entries(a, first) == []
    bind_tenant(a.tenant.id)
    customer = crm.customer_or_404(a.customer.id)
    crm.add_contacts(customer, ["+8613900000009"])  # an agent links the number
    db.commit()
    for call_id in (first, second):
        (entry,) = call_entries(a, call_id)
        assert entry.customer_id == a.customer.id
    bind_tenant(a.tenant.id)
    assert db.get(Call, first).customer_id == a.customer.id
    # a new customer made with a number gets that number's calls too
    third = hook_call(client, a, "u-3", "13900000010", ("ringing", "2026-12-07T03:00:00Z"))
    bind_tenant(a.tenant.id)
    new = crm.save_customer(None, {"name": "Caller", "phones": ["13900000010"]})
    db.commit()
    (entry,) = call_entries(a, third)
    assert entry.customer_id == new.id


def test_a_merged_customers_calls_follow_them(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    other = crm.save_customer(None, {"name": "Buyer a (2)", "phones": ["13900000011"]})
    db.commit()
    call_id = hook_call(client, a, "m-1", "13900000011", ("ringing", "2026-12-07T01:00:00Z"))
    bind_tenant(a.tenant.id)
    crm.merge(crm.customer_or_404(a.customer.id), crm.customer_or_404(other.id))
    db.commit()
    assert db.get(Call, call_id).customer_id == a.customer.id
    (entry,) = call_entries(a, call_id)
    assert entry.customer_id == a.customer.id


def test_another_shops_call_never_reaches_this_shops_timeline(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    call_id = hook_call(client, b, "x-1", "+8613800000000", ("ringing", "2026-12-07T01:00:00Z"))
    assert [e.customer_id for e in call_entries(b, call_id)] == [b.customer.id]
    assert call_entries(a, call_id) == []
    bind_tenant(a.tenant.id)
    count = select(func.count()).select_from(TimelineEntry).where(TimelineEntry.ref_id == call_id)
    assert db.scalar(count.where(TimelineEntry.kind == "call")) == 0


def test_every_status_and_direction_has_words():
    assert set(words.STATUS_NAMES) == set(CALL_STATUSES)
    assert set(words.DIRECTION_NAMES) == set(DIRECTIONS)
    assert words.duration_text(3723) == "1:02:03" and words.duration_text(5) == "0:05"
    assert words.duration_text(None) == ""
