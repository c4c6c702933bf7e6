"""Two workers, one call: its events posted at the same moment, each twice, end in one record.
A real server process and real concurrent requests (PostgreSQL on its pass, SQLite on the other)."""

from __future__ import annotations

import json
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import text

from app.calls import hooks

from ..live import LiveServer, sign_up

CALLS = 12


@pytest.fixture(scope="module")
def server(own_database):
    live = LiveServer(own_database.app_url, extra_env={"SIGNUP_RATE_LIMIT": "1000 per hour"})
    yield live
    live.stop()


def token_hook(owner_engine, site_key: str) -> str:
    """A token-mode hook for the shop (the settings page makes these; the race is what counts)."""
    token = uuid.uuid4().hex
    with owner_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO call_connections (tenant_id, kind, name, token, signing, enabled, "
                "created_at, updated_at) SELECT id, 'generic', 'PBX', :token, 'token', true, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM tenants WHERE site_key = :key"
            ),
            {"token": token, "key": site_key},
        )
    return token


def events(n: int) -> list[dict]:
    call = {"call_id": f"race-{n}", "from": f"1390000{n:04d}", "to": "+862160000000"}
    ringing = {**call, "event": "ringing", "timestamp": "2026-12-07T01:00:00Z"}
    answered = {**call, "event": "answered", "timestamp": "2026-12-07T01:00:05Z", "agent": "8"}
    ended = {**call, "event": "ended", "timestamp": "2026-12-07T01:01:05Z", "duration": 60}
    if n % 3 == 0:  # rang out: never answered
        return [ringing, {**ended, "duration": 0, "cause": "noAnswer"}]
    return [ringing, answered, ended]


def test_events_of_one_call_racing_each_other_end_in_one_record(server, owner_engine):
    _, site_key = sign_up(server, "calls-race")
    url = f"{server.url}/calls/hook/{token_hook(owner_engine, site_key)}"
    posts = [event for n in range(CALLS) for event in events(n) * 2]
    random.Random(12).shuffle(posts)

    def post(event: dict) -> int:
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json", hooks.SIGNATURE_HEADER: "ignored"}
        return requests.post(url, data=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(post, posts)) == {200}
    with owner_engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.call_ref, c.status, c.duration, c.from_number FROM calls c "
                "JOIN tenants t ON t.id = c.tenant_id WHERE t.site_key = :key ORDER BY call_ref"
            ),
            {"key": site_key},
        ).all()
        stored_events = connection.execute(
            text(
                "SELECT count(*) FROM call_events e JOIN tenants t ON t.id = e.tenant_id "
                "WHERE t.site_key = :key"
            ),
            {"key": site_key},
        ).scalar()
    expected = [
        (
            f"race-{n}",
            "missed" if n % 3 == 0 else "ended",
            0 if n % 3 == 0 else 60,
            f"+861390000{n:04d}",
        )
        for n in sorted(range(CALLS), key=lambda n: f"race-{n}")
    ]
    assert [tuple(row) for row in rows] == expected
    assert stored_events == sum(len(events(n)) for n in range(CALLS))
