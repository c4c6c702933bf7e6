"""The widget's HTTP side, as a shop page on another origin calls it."""

import pytest
from sqlalchemy import func, select

from app.chat.models import LeftMessage, PageView, Visitor
from app.chat.service import settings
from tenants.db import bind_tenant, db

from ..conftest import PNG, login

SHOP_ORIGIN = "https://tea-shop.example"


def post(client, path, **body):
    return client.post(path, json=body, headers={"Origin": SHOP_ORIGIN})


def test_hello_creates_a_visitor_records_the_page_and_classifies_the_source(client, two_tenants):
    a = two_tenants.a
    first = post(
        client,
        "/w/api/hello",
        k=a.tenant.site_key,
        url="https://tea-shop.example/oolong?utm_source=baidu&utm_campaign=spring",
        title="Oolong",
        referrer="https://www.baidu.com/s?wd=%E4%B9%8C%E9%BE%99%E8%8C%B6",
        lang="zh-CN",
    )
    assert first.status_code == 200
    assert first.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    body = first.get_json()
    second = post(
        client,
        "/w/api/hello",
        k=a.tenant.site_key,
        t=body["t"],
        url="https://tea-shop.example/cart",
        title="Cart",
    )
    assert second.get_json()["visitor"] == body["visitor"]
    bind_tenant(a.tenant.id)
    visitor = db.get(Visitor, body["visitor"])
    assert (visitor.source, visitor.keyword) == ("baidu", "乌龙茶")
    assert visitor.utm["utm_campaign"] == "spring"
    assert (visitor.visit_count, visitor.page_count) == (1, 2)
    assert visitor.current_url == "https://tea-shop.example/cart"
    pages = db.scalars(select(PageView.title).where(PageView.visitor_id == visitor.id)).all()
    assert sorted(pages) == ["Cart", "Oolong"]


def test_preflight_and_unknown_site(client, dbsession):
    preflight = client.options(
        "/w/api/hello", headers={"Origin": SHOP_ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    unknown = post(client, "/w/api/hello", k="nope", url="https://x.example/")
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "unknown_site"


def test_allowed_domains_are_enforced(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    settings().allowed_domains = ["other-shop.example"]
    db.commit()
    refused = post(client, "/w/api/hello", k=a.tenant.site_key, url="https://tea-shop.example/")
    assert refused.status_code == 403 and refused.get_json()["error"] == "origin_not_allowed"
    allowed = client.post(
        "/w/api/hello",
        json={"k": a.tenant.site_key, "url": "https://m.other-shop.example/"},
        headers={"Origin": "https://m.other-shop.example"},
    )
    assert allowed.status_code == 200


def test_a_token_from_another_shop_starts_a_new_visitor(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    token_a = post(client, "/w/api/hello", k=a.tenant.site_key, url="https://a.example/")
    visitor_a = token_a.get_json()["visitor"]
    at_b = post(
        client,
        "/w/api/hello",
        k=b.tenant.site_key,
        t=token_a.get_json()["t"],
        url="https://b.example/",
    ).get_json()
    assert at_b["visitor"] != visitor_a
    ping = post(client, "/w/api/ping", k=b.tenant.site_key, t=token_a.get_json()["t"])
    assert ping.status_code == 401 and ping.get_json()["error"] == "unauthorized"


def test_bad_page_url_is_refused(client, two_tenants):
    response = post(client, "/w/api/hello", k=two_tenants.a.tenant.site_key, url="javascript:1")
    assert response.status_code == 400 and response.get_json()["field"] == "url"


def test_leave_message_validates_and_lands_in_the_inbox(client, two_tenants):
    a = two_tenants.a
    token = post(client, "/w/api/hello", k=a.tenant.site_key, url="https://a.example/").get_json()
    bind_tenant(a.tenant.id)
    before = db.scalar(select(func.count()).select_from(LeftMessage))
    bind_tenant(None)
    for body, field in (
        ({"name": "", "text": "hi", "phone": "138"}, "name"),
        ({"name": "Wang", "text": "hi"}, "phone"),
        ({"name": "Wang", "text": "hi", "email": "nope"}, "email"),
        ({"name": "Wang", "text": "hi", "phone": "call me"}, "phone"),
        ({"name": "Wang", "text": "", "phone": "13800000000"}, "text"),
    ):
        response = post(client, "/w/api/leave", k=a.tenant.site_key, t=token["t"], **body)
        assert response.status_code == 400 and response.get_json()["field"] == field, body
        assert response.get_json()["message"]
    ok = post(
        client,
        "/w/api/leave",
        k=a.tenant.site_key,
        t=token["t"],
        name="Wang",
        email="wang@example.com",
        text="Do you have size 42?",
        url="https://a.example/s",
    )
    assert ok.status_code == 201
    bind_tenant(a.tenant.id)
    assert db.scalar(select(func.count()).select_from(LeftMessage)) == before + 1
    bind_tenant(None)
    login(client, a.owner)
    inbox = client.get("/console/messages").get_data(True)
    assert "Do you have size 42?" in inbox and "wang@example.com" in inbox


def test_leave_message_reply_by_email(client, two_tenants, outbox):
    a = two_tenants.a
    token = post(client, "/w/api/hello", k=a.tenant.site_key, url="https://a.example/").get_json()
    left_id = post(
        client,
        "/w/api/leave",
        k=a.tenant.site_key,
        t=token["t"],
        name="Li",
        email="li@example.com",
        text="Is it in stock?",
    ).get_json()["id"]
    login(client, a.agent)
    client.post(f"/console/messages/{left_id}/reply", data={"text": "Yes, 3 left."})
    # the shop's agents are mailed the new message too (tests/app/test_notices.py)
    (mail,) = [m for m in outbox.messages() if m["To"] == "li@example.com"]
    body = mail.get_payload(decode=True).decode()
    assert "Yes, 3 left." in body and "Is it in stock?" in body
    handled = client.get("/console/messages?status=handled").get_data(True)
    assert "Yes, 3 left." in handled


def test_upload_sniffs_the_bytes_and_files_stay_with_their_shop(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    token = post(client, "/w/api/hello", k=a.tenant.site_key, url="https://a.example/").get_json()
    path = f"/w/api/upload?k={a.tenant.site_key}&t={token['t']}"
    fake = client.post(
        path,
        data={"file": (__import__("io").BytesIO(b"<script>1</script>"), "x.png")},
        headers={"Origin": SHOP_ORIGIN},
    )
    assert fake.status_code == 400 and fake.get_json()["error"] == "file_type"
    import io

    good = client.post(path, data={"file": (io.BytesIO(PNG), "photo.png")})
    assert good.status_code == 201
    url = good.get_json()["attachment"]["url"]
    assert client.get(url).data == PNG  # the visitor's own link
    other = app.test_client()
    other_token = post(
        other, "/w/api/hello", k=a.tenant.site_key, url="https://a.example/"
    ).get_json()["t"]
    attachment_id = good.get_json()["attachment"]["id"]
    assert other.get(f"/w/files/{attachment_id}?t={other_token}").status_code == 404
    assert other.get(f"/w/files/{attachment_id}").status_code == 404
    login(other, b.owner)
    assert other.get(f"/w/files/{attachment_id}").status_code == 404
    login(other, a.agent)
    assert other.get(f"/w/files/{attachment_id}").data == PNG


@pytest.mark.parametrize("size", [10 * 1024 * 1024 + 1])
def test_upload_too_big(client, two_tenants, size):
    import io

    a = two_tenants.a
    token = post(client, "/w/api/hello", k=a.tenant.site_key, url="https://a.example/").get_json()
    big = io.BytesIO(PNG + b"\0" * size)
    response = client.post(
        f"/w/api/upload?k={a.tenant.site_key}&t={token['t']}", data={"file": (big, "big.png")}
    )
    assert response.status_code == 400 and response.get_json()["error"] == "file_too_big"


def test_loader_inlines_the_shops_config(client, two_tenants):
    a = two_tenants.a
    response = client.get(f"/w/{a.tenant.site_key}.js")
    if response.status_code == 503:
        pytest.fail("the widget is not built: make widget")
    body = response.get_data(True)
    assert '"__HUIKE_BOOT__"' not in body and a.tenant.site_key in body
    hello = post(client, "/w/api/hello", k=a.tenant.site_key, url="https://a.example/")
    assert hello.get_json()["config"]["rules"][0]["text"] == "Need help paying?"
    assert response.headers["Content-Type"].startswith("text/javascript")
    unknown = client.get("/w/nope.js")
    assert unknown.status_code == 200 and "no widget" in unknown.get_data(True)


@pytest.mark.parametrize(
    "color, ink",
    [
        ("#1f6feb", "#fff"),
        ("#000", "#fff"),
        ("#ffffff", "#1f2329"),
        ("#FFD60A", "#1f2329"),
        ("fff", "#1f2329"),
        ("red", "#fff"),
        ("#12345", "#fff"),
        ("", "#fff"),
    ],
)
def test_the_loader_gets_the_text_colour_that_reads_on_the_shops_colour(color, ink):
    from app.chat.widget import text_on

    assert text_on(color) == ink


def test_agent_invitation_reaches_the_loader_on_its_next_ping(client, two_tenants):
    from app.extensions import socketio

    a = two_tenants.a
    token = post(client, "/w/api/hello", k=a.tenant.site_key, url="https://a.example/").get_json()
    login(client, a.agent)
    agent = socketio.test_client(client.application, namespace="/agent", flask_test_client=client)
    answer = agent.emit(
        "invite",
        {"visitor_id": token["visitor"], "text": "Can I help?"},
        namespace="/agent",
        callback=True,
    )
    assert answer == {"ok": True}
    ping = post(client, "/w/api/ping", k=a.tenant.site_key, t=token["t"]).get_json()
    assert ping["invite"] == {"agent_name": "Agent a", "text": "Can I help?"}
    assert (
        post(client, "/w/api/ping", k=a.tenant.site_key, t=token["t"]).get_json()["invite"] is None
    )


def test_page_view_and_connect_floods_get_a_clear_answer(two_tenants):
    from app.extensions import socketio

    from ..conftest import make_test_app

    strict = make_test_app(
        FLOOD_LIMITS={
            **__import__("app.chat.flood").chat.flood.DEFAULT_LIMITS,
            "hello": "3/minute",
            "connect": "2/minute",
        }
    )
    client = strict.test_client()
    a = two_tenants.a
    answers = [
        post(client, "/w/api/hello", k=a.tenant.site_key, url="https://a.example/")
        for _ in range(4)
    ]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert "too fast" in answers[-1].get_json()["message"]
    token = answers[0].get_json()["t"]
    auth = {"k": a.tenant.site_key, "t": token}
    sockets = [socketio.test_client(strict, namespace="/visitor", auth=auth) for _ in range(3)]
    assert [s.is_connected("/visitor") for s in sockets] == [True, True, False]


def test_a_suspended_shop_has_no_widget_and_its_console_says_why(app, client, two_tenants):
    from app.extensions import socketio

    from ..conftest import set_tenant

    a = two_tenants.a
    token = post(client, "/w/api/hello", k=a.tenant.site_key, url="https://a.example/").get_json()
    set_tenant(a, status="suspended")
    loader = client.get(f"/w/{a.tenant.site_key}.js").get_data(True)
    assert "no widget" in loader
    assert (
        post(client, "/w/api/hello", k=a.tenant.site_key, url="https://a.example/").status_code
        == 404
    )
    visitor = socketio.test_client(
        app, namespace="/visitor", auth={"k": a.tenant.site_key, "t": token["t"]}
    )
    assert not visitor.is_connected("/visitor")
    login(client, a.owner)
    page = client.get("/console/")
    assert page.status_code == 403 and "is suspended" in page.get_data(True)
    assert client.get("/console/conversations").status_code == 403
    agent = socketio.test_client(app, namespace="/agent", flask_test_client=client)
    assert not agent.is_connected("/agent")
    set_tenant(a, status="active")
    assert client.get("/console/").status_code == 200
