"""What the three report pages share (analytics/_period.html): the period card's quick links
end on the shop's own today and keep the page's other parameters, the sentence under the
title names the period and the shop's time zone, and a refused date is said beside its field
with nothing computed — on the page and behind its CSV links alike."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from tenants.db import utcnow
from tenants.timezones import local

from ..conftest import login, set_tenant

PAGES = {
    "/console/analytics": {"by": "keyword", "model": "last"},
    "/console/analytics/volume": {"measure": "calls"},
    "/console/analytics/team": {},
}
ZONE = "Pacific/Kiritimati"  # UTC+14: its today is not UTC's for 14 hours of every day


def quick_links(html: str) -> dict[str, str]:
    card = html[html.index('class="quick-ranges"') :]
    links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', card[: card.index("</p>")])
    return {text: unescape(href) for href, text in links}


@pytest.mark.parametrize("path, own", PAGES.items())
def test_the_quick_links_end_on_the_shops_today_and_keep_the_pages_parameters(
    client, two_tenants, path, own
):
    a = two_tenants.a
    set_tenant(a, timezone=ZONE)
    login(client, a.owner)
    today = local(utcnow(), ZONE).date()
    page = client.get(path, query_string={**own, "from": "2026-01-01", "to": "2026-01-31"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    query = "".join(f"{k}={v}&" for k, v in own.items())
    assert quick_links(html) == {
        f"{n} days": f"{path}?{query}from={today - timedelta(days=n - 1)}&to={today}"
        for n in (7, 30, 90)
    }
    sentence = "Jan 1\u2009–\u200931, 2026 (31 days) in the shop's time zone, Pacific/Kiritimati."
    assert sentence in html
    assert 'aria-current="true"' not in html[html.index('class="quick-ranges"') :]

    last_week = client.get(path, query_string={"from": str(today - timedelta(days=6))})
    shown = last_week.get_data(as_text=True)
    assert '<a href="' + f"{path}?from={today - timedelta(days=6)}&amp;to={today}" in shown
    assert re.search(r'aria-current="true">7 days</a>', shown)


@pytest.mark.parametrize("path", PAGES)
def test_a_refused_date_is_said_beside_its_field_and_nothing_is_computed(client, two_tenants, path):
    login(client, two_tenants.a.owner)
    page = client.get(path, query_string={"from": "2026-12-10", "to": "2026-12-01"})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert (
        '<small class="error" id="error-from" role="alert">The start must not be after the end.'
        in html
    )
    assert 'value="2026-12-10"' in html and 'value="2026-12-01"' in html  # what was typed
    assert "<table" not in html and "<svg" not in html and "Export CSV" not in html
    assert "time zone" not in html  # no period is shown


@pytest.mark.parametrize(
    "path",
    [
        "/console/analytics/funnel.csv",
        "/console/analytics/volume.csv",
        "/console/analytics/volume-hours.csv",
        "/console/analytics/team.csv",
    ],
)
def test_a_csv_link_with_a_refused_date_answers_the_page_with_its_error(client, two_tenants, path):
    login(client, two_tenants.a.owner)
    answer = client.get(path, query_string={"to": "11/01"})
    assert answer.status_code == 422 and answer.mimetype == "text/html"
    assert '<small class="error" id="error-to" role="alert">Enter a date like 2026-11-22.' in (
        answer.get_data(as_text=True)
    )
