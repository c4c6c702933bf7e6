"""The Volume page and its CSV exports: conversations, messages, left messages and calls by
hour × weekday and by day, in the shop's local time, the shop's own only, locked on Free."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tenants.db import utcnow

from ..conftest import login, set_tenant
from .test_rollups import Shop, local_moment

MONDAY, TUESDAY = date(2026, 11, 2), date(2026, 11, 3)
PERIOD = {"from": "2026-11-02", "to": "2026-11-03"}


@pytest.fixture
def shops(app, two_tenants):
    """Shop a (Shanghai): a chat of two messages Monday 09:10 and 09:40, a left message and a
    call Tuesday 14:05 and 14:30; shop b: one chat message Monday 10:00."""
    a, b = Shop(two_tenants.a), Shop(two_tenants.b)
    at = lambda d, h, m: local_moment(a.zone, d, h, m)  # noqa: E731
    with app.app_context():  # as the widget's requests and the jobs would, each its own
        visitor = a.lands(at(MONDAY, 9, 0), "/longjing")
        a.says(visitor, at(MONDAY, 9, 10))
        a.says(visitor, at(MONDAY, 9, 40))
        a.leaves_message(visitor, at(TUESDAY, 14, 5))
        a.calls(at(TUESDAY, 14, 30))
        a.roll()
        b.says(b.lands(at(MONDAY, 9, 55)), at(MONDAY, 10, 0))
        b.roll()
    return two_tenants


def page(client, **args) -> str:
    answer = client.get("/console/analytics/volume", query_string={**PERIOD, **args})
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def table_row(html: str, day: str) -> list[str]:
    """The cells of the by-day table's row of ``day`` (or "total")."""
    row = re.search(rf'<tr data-day="{day}">(.*?)</tr>', html).group(1)
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)
    return [re.sub(r"<[^>]+>", "", cell) for cell in cells]  # the text a reader sees


def test_the_page_shows_each_count_in_its_local_hour_and_day(client, shops):
    login(client, shops.a.owner)
    html = page(client)
    for key, n in (("conversations", 1), ("messages", 2), ("left_messages", 1), ("calls", 1)):
        assert f'data-total="{key}"><span>' in html and f"<strong>{n}</strong>" in html
    assert "<title>Mon 9:00 — 1</title>" in html  # conversations, the default measure
    assert "<title>Mon 10:00 — 0</title>" in html
    assert "<title>2026-11-02: 1</title>" in html and "<title>2026-11-03: 0</title>" in html
    assert table_row(html, "2026-11-02") == ["Mon, Nov 2", "1", "2", "0", "0"]
    assert table_row(html, "2026-11-03") == ["Tue, Nov 3", "0", "0", "1", "1"]
    assert table_row(html, "total") == ["Sum", "1", "2", "1", "1"]

    messages = page(client, measure="messages")
    assert "<title>Mon 9:00 — 2</title>" in messages
    calls = page(client, measure="calls")
    assert "<title>Tue 14:00 — 1</title>" in calls and "<title>Mon 9:00 — 0</title>" in calls


def test_the_csv_exports_by_day_and_by_weekday_and_hour(client, shops):
    login(client, shops.a.owner)
    by_day = client.get("/console/analytics/volume.csv", query_string=PERIOD)
    assert by_day.status_code == 200 and by_day.mimetype == "text/csv"
    assert "volume-2026-11-02-2026-11-03.csv" in by_day.headers["Content-Disposition"]
    assert by_day.get_data(as_text=True).splitlines() == [
        "date,conversations,messages,left_messages,calls",
        "2026-11-02,1,2,0,0",
        "2026-11-03,0,0,1,1",
    ]
    hours = client.get("/console/analytics/volume-hours.csv", query_string=PERIOD)
    lines = hours.get_data(as_text=True).splitlines()
    assert lines[0] == "weekday,hour,conversations,messages,left_messages,calls"
    assert len(lines) == 1 + 7 * 24
    counted = [line for line in lines[1:] if not line.endswith(",0,0,0,0")]
    assert counted == ["1,9,1,2,0,0", "2,14,0,0,1,1"]


def test_another_shop_sees_only_its_own_volume(client, shops):
    login(client, shops.b.owner)
    html = page(client, measure="messages")
    assert "<title>Mon 10:00 — 1</title>" in html and "<title>Mon 9:00 — 0</title>" in html
    csv = client.get("/console/analytics/volume.csv", query_string=PERIOD)
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[1:] == ["2026-11-02,1,1,0,0", "2026-11-03,0,0,0,0"]


def test_a_bad_period_is_refused_with_a_message(client, shops):
    login(client, shops.a.owner)
    backwards = {"from": "2026-11-05", "to": "2026-11-01"}
    answer = client.get("/console/analytics/volume", query_string=backwards)
    assert answer.status_code == 422
    assert "The start must not be after the end." in answer.get_data(as_text=True)
    answer = client.get("/console/analytics/volume.csv", query_string={"to": "11/01"})
    assert answer.status_code == 422 and "Enter a date like 2026-11-22." in answer.get_data(True)


def test_on_free_the_page_is_locked_and_the_figures_kept(client, shops):
    a = shops.a
    login(client, a.owner)
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))
    for page_name in ("volume", "volume.csv", "volume-hours.csv"):
        url = f"/console/analytics/{page_name}"
        assert client.get(url, query_string=PERIOD).status_code == 402, url
    set_tenant(a, trial_ends_at=utcnow() + timedelta(days=7))
    assert "<title>Mon 9:00 — 1</title>" in page(client)
