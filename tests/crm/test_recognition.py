"""熟客识别: a phone or e-mail in a left message or a chat names the customer, a known
customer's visits and chats join their timeline, and the console's payloads carry the name and
the "returning" mark — each within its own shop."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.chat import payloads
from app.chat import service as chat
from app.chat.models import Conversation, Visitor
from app.chat.payloads import conversation_json, visitor_json
from app.crm import recognition
from app.crm import service as crm
from app.crm.models import Customer, TimelineEntry
from app.extensions import socketio
from tenants.db import bind_tenant, db

from ..conftest import login

BAIDU = "https://www.baidu.com/s?wd=%E9%BE%99%E4%BA%95%E8%8C%B6"


def hello(client, shop, token=None, url="https://tea-shop.example/", **page):
    answer = client.post(
        "/w/api/hello", json={"k": shop.tenant.site_key, "t": token, "url": url, **page}
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["t"]


def visitor_of(client, token) -> Visitor:
    tenant_id, key = chat.read_visitor_token(client.application.config["SECRET_KEY"], token)
    bind_tenant(tenant_id)
    db.expire_all()
    return chat.visitor_by_key(key)


def entries(shop, customer_id: int, kind: str) -> list[TimelineEntry]:
    bind_tenant(shop.tenant.id)
    return list(
        db.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.customer_id == customer_id, TimelineEntry.kind == kind)
            .order_by(TimelineEntry.id)
        )
    )


def customers(shop) -> int:
    bind_tenant(shop.tenant.id)
    return db.scalar(select(func.count(Customer.id)))


def test_a_left_message_with_a_known_phone_written_differently_finds_the_customer(
    client, two_tenants
):
    a = two_tenants.a
    token = hello(client, a)
    before = customers(a)
    left = client.post(
        "/w/api/leave",
        json={
            "k": a.tenant.site_key,
            "t": token,
            "name": "Mr Chen",
            "phone": "138-0000-0000",  # the customer's 13800000000
            "text": "Do you have Longjing in 500 g tins?",
        },
    )
    assert left.status_code == 201
    visitor = visitor_of(client, token)
    assert visitor.customer_id == a.customer.id
    assert visitor.name == "Buyer a"  # the record's name, not the one typed in the form
    assert customers(a) == before
    [entry] = entries(a, a.customer.id, "left_message")[-1:]
    assert entry.ref_id == left.get_json()["id"]
    assert entry.summary == "Do you have Longjing in 500 g tins?"


def test_a_left_message_with_a_new_contact_starts_a_customer(client, two_tenants):
    a = two_tenants.a
    token = hello(client, a)
    before = customers(a)
    client.post(
        "/w/api/leave",
        json={"k": a.tenant.site_key, "t": token, "name": "Zhou", "email": "zhou@example.com"}
        | {"text": "Please send the price list."},
    )
    visitor = visitor_of(client, token)
    customer = db.get(Customer, visitor.customer_id)
    assert customers(a) == before + 1
    assert (customer.name, customer.source) == ("Zhou", "left_message")
    assert [e.summary for e in entries(a, customer.id, "left_message")] == [
        "Please send the price list."
    ]


def test_a_linked_visitors_new_visit_goes_on_the_timeline(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    token = chat.visitor_token(client.application.config["SECRET_KEY"], a.visitor)
    before = len(entries(a, a.customer.id, "visit"))
    hello(client, a, token, url="https://tea-shop.example/cart", title="Cart")
    assert len(entries(a, a.customer.id, "visit")) == before  # a page of the same visit
    visitor = visitor_of(client, token)
    visitor.last_seen_at -= timedelta(hours=2)  # away long enough for the next page to be a visit
    db.commit()
    landing = "https://tea-shop.example/longjing"
    hello(client, a, token, url=landing, title="Longjing", referrer=BAIDU)
    bind_tenant(a.tenant.id)
    visit = entries(a, a.customer.id, "visit")[-1]
    assert len(entries(a, a.customer.id, "visit")) == before + 1
    assert visit.summary == "Longjing"
    assert visit.data["source"] == "baidu" and visit.data["keyword"] == "龙井茶"
    assert visit.data["referrer"] == BAIDU and visit.data["url"].endswith("/longjing")
    assert db.get(Customer, a.customer.id).last_seen_at is not None
    hello(client, a, token, url="https://tea-shop.example/pay", title="Pay")
    assert len(entries(a, a.customer.id, "visit")) == before + 1


def visitor_socket(app, shop, token):
    sock = socketio.test_client(
        app, namespace="/visitor", auth={"k": shop.tenant.site_key, "t": token}
    )
    assert sock.is_connected("/visitor")
    return sock


def say(sock, client_id, text):
    answer = sock.emit(
        "message", {"client_id": client_id, "text": text}, namespace="/visitor", callback=True
    )
    assert "message" in answer, answer
    return answer


def test_an_email_or_phone_written_in_the_chat_is_recognised(app, client, two_tenants):
    a = two_tenants.a
    token = hello(client, a)
    login(client, a.agent)
    agents = socketio.test_client(app, namespace="/agent", flask_test_client=client)
    agents.get_received("/agent")
    sock = visitor_socket(app, a, token)
    say(sock, "m-1", "Hello, is the 2026 Longjing in stock? Order 20261122 was great.")
    assert visitor_of(client, token).customer_id is None
    say(sock, "m-2", "Write to me at Buyer-A@Example.com please")  # the quick path
    visitor = visitor_of(client, token)
    assert visitor.customer_id == a.customer.id and visitor.name == "Buyer a"
    chat_entry = entries(a, a.customer.id, "chat")[-1]
    conversation = db.scalar(select(Conversation).where(Conversation.visitor_id == visitor.id))
    assert chat_entry.ref_id == conversation.id  # the chat joined the customer's timeline
    announced = [e["args"][0] for e in agents.get_received("/agent") if e["name"] == "visitor"]
    assert announced[-1]["customer_id"] == a.customer.id and announced[-1]["name"] == "Buyer a"

    other = hello(client, a)
    second = visitor_socket(app, a, other)
    say(second, "p-1", "call me: 138 0000 0000")  # the first message: the long path
    assert visitor_of(client, other).customer_id == a.customer.id


def test_a_number_in_the_chat_is_read_in_the_shops_country(app, client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    a.tenant.country = "US"
    db.commit()
    token = hello(client, a)
    sock = visitor_socket(app, a, token)  # the socket learns the country when it connects
    say(sock, "us-1", "Hi, it's Ann")
    say(sock, "us-2", "you can reach me on (415) 555-0132")
    customer = db.get(Customer, visitor_of(client, token).customer_id)
    assert [p.e164 for p in customer.phones] == ["+14155550132"]


def test_digits_that_are_no_contact_are_not_taken_for_one():
    assert recognition.contacts_in("bench b3-17 1763859123.123456", "CN") is None
    assert recognition.contacts_in("order 20261122 arrived", "CN") is None
    assert recognition.contacts_in("Mail a@b.cn or 138 0013 8000", "CN") == (
        "+8613800138000",
        "a@b.cn",
    )


def test_a_known_customers_new_conversation_is_a_chat_entry(app, client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    chat.close(a.conversation.id)
    db.commit()
    token = chat.visitor_token(client.application.config["SECRET_KEY"], a.visitor)
    before = len(entries(a, a.customer.id, "chat"))
    sock = visitor_socket(app, a, token)
    say(sock, "n-1", "Back again: same tea as last time?")
    say(sock, "n-2", "Two tins please")
    bind_tenant(a.tenant.id)
    chats = entries(a, a.customer.id, "chat")
    assert len(chats) == before + 1  # one entry per conversation, not per message
    assert chats[-1].summary == "Back again: same tea as last time?"


def test_payloads_carry_the_customer_and_the_returning_mark(two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    known = visitor_json(a.visitor)
    assert (known["name"], known["customer_id"], known["returning"]) == (
        a.visitor.name,
        a.customer.id,
        True,  # a customer with an order
    )
    assert conversation_json(a.conversation, {})["visitor_returning"] is True
    stranger = chat.record_page_view(None, "https://tea-shop.example/")
    db.flush()
    first = visitor_json(stranger)
    assert (first["customer_id"], first["returning"]) == (None, False)
    # identified on a first visit as a brand-new customer: not returning yet
    crm.identify(stranger, a.tenant.identity_secret, _signed(a, "u-new"))
    assert payloads.is_returning(stranger) is False
    stranger.last_seen_at -= timedelta(hours=1)
    chat.record_page_view(stranger, "https://tea-shop.example/again")
    assert visitor_json(stranger)["returning"] is True  # came back


def _signed(shop, user_id: str) -> dict:
    return {"id": user_id, "hash": crm.identity_hash(shop.tenant.identity_secret, user_id)}


def test_a_phone_known_in_one_shop_never_matches_in_another(app, client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    bind_tenant(b.tenant.id)
    only_b = crm.save_customer(None, {"name": "B's regular", "phones": ["13911112222"]})
    db.commit()
    before_b = customers(b)
    token = hello(client, a)
    client.post(
        "/w/api/leave",
        json={"k": a.tenant.site_key, "t": token, "name": "Wu", "phone": "139 1111 2222"}
        | {"text": "Hello"},
    )
    visitor = visitor_of(client, token)
    assert visitor.customer_id is not None and visitor.customer_id != only_b.id
    assert db.get(Customer, visitor.customer_id).name == "Wu"  # shop A's own, new customer
    other = hello(client, a)
    say(visitor_socket(app, a, other), "x-1", "my number is +86 139 1111 2222")
    assert visitor_of(client, other).customer_id == visitor.customer_id
    assert customers(b) == before_b
    bind_tenant(b.tenant.id)
    assert entries(b, only_b.id, "left_message") == [] and entries(b, only_b.id, "chat") == []
