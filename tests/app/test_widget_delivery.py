"""What the widget cannot deliver, said (issue 11): a website the shop did not allow is told to
the owner with a one-click fix; an agent's invitation wakes the loader's waiting ping; presence
is per page group; an upload over the limit says the limit."""

from __future__ import annotations

import io
import os
import threading

import pytest
from sqlalchemy import select

from app.chat import invitations
from app.chat.models import WidgetRefusal
from app.chat.service import settings
from tenants.db import bind_tenant, db

from ..conftest import PNG, login, make_test_app
from .test_chat_socket import agent_socket, hello

LINTEA = "https://www.lintea.cn"


def hello_from(client, shop, origin, token=None):
    return client.post(
        "/w/api/hello",
        json={"k": shop.tenant.site_key, "t": token, "url": origin + "/tea", "lang": "zh-CN"},
        headers={"Origin": origin},
    )


def allow_only(shop, *domains):
    bind_tenant(shop.tenant.id)
    settings().allowed_domains = list(domains)
    db.commit()
    bind_tenant(None)


def refusals(shop) -> dict[str, int]:
    bind_tenant(shop.tenant.id)
    rows = {r.host: r.count for r in db.scalars(select(WidgetRefusal))}
    bind_tenant(None)
    return rows


def test_refused_page_views_are_counted_per_host_one_row_a_day(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    allow_only(a, "www.lintea.cn")
    for _ in range(3):
        refused = hello_from(client, a, "https://copy.example")
        assert refused.status_code == 403 and refused.get_json()["error"] == "origin_not_allowed"
    hello_from(client, a, "http://127.0.0.1:8080")
    assert hello_from(client, a, LINTEA).status_code == 200
    # only page views count; a header that is no website address is not a host to add
    client.post(
        "/w/api/ping", json={"k": a.tenant.site_key}, headers={"Origin": "https://copy.example"}
    )
    hello_from(client, a, "null")
    assert refusals(a) == {"copy.example": 3, "127.0.0.1": 1}
    assert refusals(b) == {}


def test_console_home_tells_the_owner_and_allows_the_host_in_one_click(client, two_tenants):
    a = two_tenants.a
    allow_only(a, "www.lintea.cn")
    hello_from(client, a, "https://m.lintea.cn")
    hello_from(client, a, "https://m.lintea.cn")
    login(client, a.owner)
    home = client.get("/console/").get_data(as_text=True)
    assert "Your widget was refused on m.lintea.cn (2 times today)" in home
    refusal_id = next(iter(_ids(a)))
    assert f"/console/widget-refusals/{refusal_id}/allow" in home
    done = client.post(f"/console/widget-refusals/{refusal_id}/allow", follow_redirects=True)
    assert "m.lintea.cn is now an allowed website" in done.get_data(as_text=True)
    assert "Your widget was refused" not in done.get_data(as_text=True)
    bind_tenant(a.tenant.id)
    assert settings().allowed_domains == ["m.lintea.cn", "www.lintea.cn"]
    bind_tenant(None)
    assert hello_from(client, a, "https://m.lintea.cn").status_code == 200


def test_a_refusal_can_be_dismissed_and_agents_cannot_change_the_websites(client, two_tenants):
    a = two_tenants.a
    allow_only(a, "www.lintea.cn")
    hello_from(client, a, "https://spam.example")
    refusal_id = next(iter(_ids(a)))
    login(client, a.agent)
    home = client.get("/console/").get_data(as_text=True)
    assert "Your widget was refused on spam.example (1 time today)" in home
    assert "/allow" not in home  # the button is an admin's
    assert client.post(f"/console/widget-refusals/{refusal_id}/allow").status_code == 403
    login(client, a.owner)
    client.post(f"/console/widget-refusals/{refusal_id}/dismiss")
    assert "Your widget was refused" not in client.get("/console/").get_data(as_text=True)
    bind_tenant(a.tenant.id)
    assert settings().allowed_domains == ["www.lintea.cn"]


def test_another_shops_refusal_cannot_be_allowed_or_dismissed(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    allow_only(a, "www.lintea.cn")
    hello_from(client, a, "https://evil.example")
    refusal_id = next(iter(_ids(a)))
    login(client, b.owner)
    assert client.post(f"/console/widget-refusals/{refusal_id}/allow").status_code == 404
    assert client.post(f"/console/widget-refusals/{refusal_id}/dismiss").status_code == 404
    assert "evil.example" not in client.get("/console/").get_data(as_text=True)
    bind_tenant(b.tenant.id)
    assert "evil.example" not in settings().allowed_domains
    bind_tenant(a.tenant.id)
    assert settings().allowed_domains == ["www.lintea.cn"]
    assert not db.get(WidgetRefusal, refusal_id).dismissed


def _ids(shop) -> list[int]:
    bind_tenant(shop.tenant.id)
    ids = list(db.scalars(select(WidgetRefusal.id)))
    bind_tenant(None)
    return ids


# --- invitations: the loader's ping waits for one ------------------------------------------


def _poll_in_thread(app, shop, token, answers):
    def poll():
        with app.test_client() as client:
            response = client.post(
                "/w/api/ping", json={"k": shop.tenant.site_key, "t": token, "w": 25}
            )
            answers.append(response.get_json())

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    return thread


def _waiting(key: str) -> bool:
    with invitations._lock:
        return bool(invitations._waiting.get(key))


def test_an_invitation_wakes_the_waiting_ping(app, client, two_tenants):
    a = two_tenants.a
    token = hello(app.test_client(), a)["t"]
    visitor_id = hello(app.test_client(), a, token=token)["visitor"]
    answers: list[dict] = []
    poll = _poll_in_thread(app, a, token, answers)
    key = invitations._key(a.tenant.id, _visitor_key(a, visitor_id))
    assert _wait_until(lambda: _waiting(key))
    agent = agent_socket(app, client, a.agent)
    sent = agent.emit(
        "invite",
        {"visitor_id": visitor_id, "text": "需要帮忙吗？"},
        namespace="/agent",
        callback=True,
    )
    assert "error" not in (sent or {})
    poll.join(10)  # it waits 25 s unless the invitation woke it
    assert not poll.is_alive()
    assert answers[0]["invite"]["text"] == "需要帮忙吗？"


def test_an_invitation_between_two_polls_answers_the_next_at_once(app, two_tenants):
    with app.app_context():
        invitations._wake("7:between")  # noticed with nobody waiting
    done = threading.Event()

    def wait():
        with app.app_context():
            invitations.wait(7, "between", 25)
        done.set()

    threading.Thread(target=wait, daemon=True).start()
    assert done.wait(10)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_across_processes_the_invitation_goes_through_redis(dbsession):
    app = make_test_app(REDIS_URL=os.environ["REDIS_URL"])
    done = threading.Event()

    def wait():
        with app.app_context():
            invitations.wait(8, "elsewhere", 25)
        done.set()

    threading.Thread(target=wait, daemon=True).start()
    assert _wait_until(lambda: _waiting("8:elsewhere"))
    with app.app_context():
        invitations._redis(app.config["REDIS_URL"]).publish(invitations.CHANNEL, "8:elsewhere")
    assert done.wait(10)


def test_a_ping_without_w_answers_at_once_and_a_bad_w_is_no_wait(client, two_tenants):
    a = two_tenants.a
    token = hello(client, a)["t"]
    for w in (None, 0, -5, "soon", "nan"):
        answer = client.post("/w/api/ping", json={"k": a.tenant.site_key, "t": token, "w": w})
        assert answer.status_code == 200 and "online" in answer.get_json()


def _visitor_key(shop, visitor_id) -> str:
    from app.chat.models import Visitor

    bind_tenant(shop.tenant.id)
    key = db.get(Visitor, visitor_id).key
    bind_tenant(None)
    return key


def _wait_until(condition) -> bool:
    ready = threading.Event()
    for _ in range(100):
        if condition():
            return True
        ready.wait(0.05)
    return False


# --- presence for the page's group; the upload limit in words ------------------------------


def test_online_means_an_agent_of_the_pages_group(app, client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    group = a.group  # the agent's group, made with an empty page rule
    group.url_pattern = "*/checkout*"
    db.commit()
    bind_tenant(None)
    agent_socket(app, client, a.owner)  # the owner online, not in the checkout's group
    visitor = app.test_client()
    assert hello(visitor, a, url="https://shop.example/tea")["online"] is True
    assert hello(visitor, a, url="https://shop.example/checkout/1")["online"] is False


def test_an_upload_over_the_body_limit_says_the_limit_as_json(app, client, two_tenants):
    a = two_tenants.a
    token = hello(client, a)["t"]
    big = io.BytesIO(PNG + b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    for lang, words in (("zh-CN", "10 MB"), ("en", "Files can be at most 10 MB.")):
        response = client.post(
            f"/w/api/upload?k={a.tenant.site_key}&t={token}&lang={lang}",
            data={"file": (io.BytesIO(big.getvalue()), "big.png")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 413
        body = response.get_json()
        assert body["error"] == "file_too_big" and body["field"] == "file"
        assert words in body["message"]
    login(client, a.agent)
    console = client.post(
        "/console/api/uploads",
        data={"file": (io.BytesIO(big.getvalue()), "big.png")},
        content_type="multipart/form-data",
    )
    assert console.status_code == 413 and console.get_json()["error"] == "file_too_big"
