"""GET /api/v1/analytics/volume: the shop's volume by day and by weekday × hour, in its local
time, exactly the console's figures; another shop's never; 402 on Free with the figures kept;
422 on a bad period. Every answer is also held to the OpenAPI document (conftest.py)."""

from __future__ import annotations

from datetime import timedelta

from tenants.db import utcnow

from ..analytics.test_volume import PERIOD, shops  # noqa: F401  (the fixture: two shops' volume)
from ..conftest import set_tenant
from .conftest import error_of

NOTHING = {"conversations": 0, "messages": 0, "left_messages": 0, "calls": 0}


def volume(api, **params) -> dict:
    response = api.get("/analytics/volume", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def busy_hours(answer: dict) -> list[dict]:
    return [h for h in answer["hours"] if any(h[k] for k in NOTHING)]


def test_the_volume_by_day_and_by_weekday_and_hour(api, shops):  # noqa: F811
    answer = volume(api, **PERIOD)
    assert (answer["period"]["from"], answer["period"]["to"], answer["timezone"]) == (
        "2026-11-02",
        "2026-11-03",
        "Asia/Shanghai",
    )
    assert answer["total"] == {"conversations": 1, "messages": 2, "left_messages": 1, "calls": 1}
    assert answer["days"] == [
        {"date": "2026-11-02", "conversations": 1, "messages": 2, "left_messages": 0, "calls": 0},
        {"date": "2026-11-03", "conversations": 0, "messages": 0, "left_messages": 1, "calls": 1},
    ]
    assert len(answer["hours"]) == 7 * 24
    assert answer["hours"][0] == {"weekday": 1, "hour": 0, **NOTHING}
    assert busy_hours(answer) == [
        {
            "weekday": 1,
            "hour": 9,
            "conversations": 1,
            "messages": 2,
            "left_messages": 0,
            "calls": 0,
        },
        {
            "weekday": 2,
            "hour": 14,
            "conversations": 0,
            "messages": 0,
            "left_messages": 1,
            "calls": 1,
        },
    ]


def test_by_default_the_last_30_days_up_to_the_shops_today(api, shops):  # noqa: F811
    answer = volume(api)
    assert len(answer["days"]) == 30 and answer["days"][0]["date"] == answer["period"]["from"]
    assert answer["days"][-1]["date"] == answer["period"]["to"]


def test_another_shop_gets_its_own_figures_only(api, shops):  # noqa: F811
    answer = volume(api.as_shop(shops.b), **PERIOD)
    assert answer["total"] == {"conversations": 1, "messages": 1, "left_messages": 0, "calls": 0}
    assert busy_hours(answer) == [{"weekday": 1, "hour": 10, **answer["total"]}]


def test_a_bad_period_is_refused(api, shops):  # noqa: F811
    cases = {
        "from=2026-11-31": ("date_invalid", "from"),
        "from=2026-11-05&to=2026-11-01": ("range_invalid", "from"),
        "from=2025-11-01&to=2026-11-02": ("range_too_long", "from"),
        "since=2026-11-01": ("param_unknown", "since"),
    }
    for params, (code, field) in cases.items():
        assert error_of(api.get(f"/analytics/volume?{params}")) == (422, code, field), params


def test_on_free_402_and_the_figures_kept_for_the_upgrade(api, shops):  # noqa: F811
    a = shops.a
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))
    locked = api.get("/analytics/volume", query_string=PERIOD)
    assert locked.status_code == 402 and locked.get_json()["feature"] == "analytics"
    set_tenant(a, trial_ends_at=utcnow() + timedelta(days=7))
    assert volume(api, **PERIOD)["total"]["messages"] == 2
