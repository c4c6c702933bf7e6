"""``Huike.identify`` through the widget's HTTP API, and the identity-secret page: a valid hash
binds the visitor to the shop's user; anything else is refused and binds nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.chat import service as chat
from app.chat.models import Visitor
from app.crm import service as crm
from app.crm.models import Customer, CustomerEmail, CustomerPhone, TimelineEntry
from app.extensions import socketio
from tenants.db import bind_tenant, cross_tenant, db, utcnow
from tenants.models import Tenant

from ..conftest import login, set_tenant

SHOP_ORIGIN = "https://tea-shop.example"


def post(client, path, **body):
    return client.post(path, json=body, headers={"Origin": SHOP_ORIGIN})


def new_visitor(client, shop) -> str:
    """A fresh visitor of the shop's page: its token."""
    hello = post(client, "/w/api/hello", k=shop.tenant.site_key, url="https://tea-shop.example/")
    assert hello.status_code == 200
    return hello.get_json()["t"]


def identify(client, shop, token, **identity):
    return post(client, "/w/api/identify", k=shop.tenant.site_key, t=token, identity=identity)


def secret_of(shop) -> str:
    with cross_tenant():
        return db.scalar(select(Tenant.identity_secret).where(Tenant.id == shop.tenant.id))


def visitor_of(client, token) -> Visitor:
    """The visitor a widget token stands for, as the database has it now."""
    tenant_id, key = chat.read_visitor_token(client.application.config["SECRET_KEY"], token)
    bind_tenant(tenant_id)
    db.expire_all()
    return chat.visitor_by_key(key)


def crm_rows(shop) -> dict:
    """Everything identify could write, counted."""
    bind_tenant(shop.tenant.id)
    counts = {
        model.__name__: db.scalar(select(func.count(model.id)))
        for model in (Customer, CustomerPhone, CustomerEmail, TimelineEntry)
    }
    bind_tenant(None)
    return counts


def linked_visitors(shop) -> int:
    bind_tenant(shop.tenant.id)
    count = db.scalar(select(func.count(Visitor.id)).where(Visitor.customer_id.is_not(None)))
    bind_tenant(None)
    return count


def visitor_count(shop) -> int:
    bind_tenant(shop.tenant.id)
    count = db.scalar(select(func.count(Visitor.id)))
    bind_tenant(None)
    return count


def test_a_valid_hash_binds_the_visitor_to_a_new_customer(client, two_tenants):
    a = two_tenants.a
    token = new_visitor(client, a)
    answer = identify(
        client,
        a,
        token,
        id="u-1001",
        name="  Lin   Mei ",
        email="Lin.Mei@Example.com",
        phone="139-1234-5678",
        hash=crm.identity_hash(secret_of(a), "u-1001"),
    )
    assert answer.status_code == 200 and answer.get_json() == {"ok": True}
    assert answer.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    visitor = visitor_of(client, token)
    customer = db.get(Customer, visitor.customer_id)
    assert (customer.external_id, customer.name) == ("u-1001", "Lin Mei")
    assert customer.source == "identify"
    assert [p.e164 for p in customer.phones] == ["+8613912345678"]
    assert [e.email for e in customer.emails] == ["lin.mei@example.com"]
    assert visitor.name == "Lin Mei"  # the console calls the visitor by the customer's name
    kinds = db.scalars(select(TimelineEntry.kind).where(TimelineEntry.customer_id == customer.id))
    # added for this user id, signed in, on this visit
    assert sorted(kinds) == ["identify", "identity", "visit"]


def test_a_known_user_is_found_by_their_id_and_their_name_updated(client, two_tenants):
    a = two_tenants.a
    token = new_visitor(client, a)
    before = crm_rows(a)["Customer"]
    hashed = crm.identity_hash(secret_of(a), "user-a")
    answer = identify(client, a, token, id="user-a", name="Buyer A. Chen", hash=hashed.upper())
    assert answer.status_code == 200
    visitor = visitor_of(client, token)
    assert visitor.customer_id == a.customer.id and visitor.name == "Buyer A. Chen"
    assert db.get(Customer, a.customer.id).name == "Buyer A. Chen"
    assert crm_rows(a)["Customer"] == before
    # the page calls identify on every load: the browser's sign-in and its visit show once
    assert identify(client, a, token, id="user-a", hash=hashed).status_code == 200
    bind_tenant(a.tenant.id)
    kinds = select(TimelineEntry.kind).where(
        TimelineEntry.customer_id == a.customer.id, TimelineEntry.kind.in_(("identify", "visit"))
    )
    assert sorted(db.scalars(kinds)) == ["identify", "visit"]


@pytest.mark.parametrize(
    "identity, code",
    [
        ({"id": "user-a", "hash": "0" * 64}, "identity_hash_invalid"),  # forged
        ({"id": "user-a"}, "identity_hash_invalid"),  # missing
        ({"id": "user-a", "hash": ""}, "identity_hash_invalid"),
        ({"id": "user-a", "hash": "hash-of:user-b"}, "identity_hash_invalid"),  # another id's
        ({"id": "new-user", "hash": "hash-of:user-a", "name": "Mallory"}, "identity_hash_invalid"),
        ({"hash": "hash-of:user-a"}, "identity_invalid"),  # no id
        ({"id": "x" * 129, "hash": "hash-of:" + "x" * 129}, "identity_invalid"),
    ],
)
def test_a_bad_hash_is_refused_and_binds_or_creates_nothing(client, two_tenants, identity, code):
    a = two_tenants.a
    token = new_visitor(client, a)
    if identity.get("hash", "").startswith("hash-of:"):
        identity["hash"] = crm.identity_hash(secret_of(a), identity["hash"][len("hash-of:") :])
    before, linked = crm_rows(a), linked_visitors(a)
    answer = identify(client, a, token, **identity)
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["error"] == code
    if code == "identity_hash_invalid":
        assert "HMAC-SHA256" in body["message"] and body["field"] == "hash"
    assert crm_rows(a) == before and linked_visitors(a) == linked
    assert visitor_of(client, token).customer_id is None


def test_another_buyer_signing_in_on_the_same_browser_gets_a_visitor_of_their_own(
    client, two_tenants
):
    a = two_tenants.a
    token = new_visitor(client, a)
    user_a = crm.identity_hash(secret_of(a), "user-a")
    assert "t" not in identify(client, a, token, id="user-a", hash=user_a).get_json()
    left = post(
        client,
        "/w/api/leave",
        k=a.tenant.site_key,
        t=token,
        name="A",
        text="Hi",
        phone="13800000000",
    )
    assert left.status_code == 201  # user-a's message, on user-a's record
    before, visitors = crm_rows(a), visitor_count(a)
    forged = identify(client, a, token, id="user-z", hash="0" * 64)
    assert forged.status_code == 400
    assert crm_rows(a) == before and visitor_count(a) == visitors
    signed = crm.identity_hash(secret_of(a), "user-z")
    answer = identify(client, a, token, id="user-z", name="Zhao", hash=signed)
    assert answer.status_code == 200
    new_token = answer.get_json()["t"]
    first = visitor_of(client, token)
    assert first.customer_id == a.customer.id  # the browser's chats stay user-a's
    zhao = visitor_of(client, new_token)
    customer = db.get(Customer, zhao.customer_id)
    assert customer.external_id == "user-z" and zhao.id != first.id
    timeline = select(TimelineEntry.kind).where(TimelineEntry.customer_id == customer.id)
    assert not {"chat", "left_message"} & set(db.scalars(timeline))  # none of user-a's chats
    again = identify(client, a, new_token, id="user-z", hash=signed)
    assert again.status_code == 200 and "t" not in again.get_json()


def test_identity_works_on_the_free_plan_too(client, two_tenants):
    """The chat is free: names show on every plan, and the record waits for an upgrade."""
    a = two_tenants.a
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))
    token = new_visitor(client, a)
    signed = crm.identity_hash(secret_of(a), "u-free")
    assert identify(client, a, token, id="u-free", name="Qian", hash=signed).status_code == 200
    visitor = visitor_of(client, token)
    assert visitor.name == "Qian" and db.get(Customer, visitor.customer_id).external_id == "u-free"


def test_no_identity_at_all_is_refused(client, two_tenants):
    a = two_tenants.a
    token = new_visitor(client, a)
    answer = post(client, "/w/api/identify", k=a.tenant.site_key, t=token)
    assert answer.status_code == 400 and answer.get_json()["error"] == "identity_invalid"
    without_token = identify(client, a, "", id="user-a", hash="0" * 64)
    assert without_token.status_code == 401


def test_one_shops_secret_or_token_never_identifies_into_another(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    token_a = new_visitor(client, a)
    before_a, before_b = crm_rows(a), crm_rows(b)
    # shop B's secret signing B's own user, sent with A's site key: refused
    signed_by_b = crm.identity_hash(secret_of(b), "user-b")
    assert identify(client, a, token_a, id="user-b", hash=signed_by_b).status_code == 400
    signed_by_b = crm.identity_hash(secret_of(b), "user-a")
    assert identify(client, a, token_a, id="user-a", hash=signed_by_b).status_code == 400
    # A's visitor token with B's site key is no visitor of B's
    valid_for_b = crm.identity_hash(secret_of(b), "user-b")
    crossed = identify(client, b, token_a, id="user-b", hash=valid_for_b)
    assert crossed.status_code == 401
    assert crm_rows(a) == before_a and crm_rows(b) == before_b
    assert visitor_of(client, token_a).customer_id is None


def test_agents_see_the_identified_name_at_once(app, client, two_tenants):
    a = two_tenants.a
    token = new_visitor(client, a)
    login(client, a.agent)
    agents = socketio.test_client(app, namespace="/agent", flask_test_client=client)
    agents.get_received("/agent")
    identify(client, a, token, id="user-a", hash=crm.identity_hash(secret_of(a), "user-a"))
    seen = [e["args"][0] for e in agents.get_received("/agent") if e["name"] == "visitor"]
    assert seen and seen[-1]["name"] == "Buyer a" and seen[-1]["customer_id"] == a.customer.id
    assert seen[-1]["returning"] is True  # a customer with an order


def test_identify_is_flood_limited(two_tenants):
    from ..conftest import make_test_app

    strict = make_test_app(FLOOD_LIMITS={"identify": "2/minute"} | _defaults())
    client = strict.test_client()
    a = two_tenants.a
    token = new_visitor(client, a)
    answers = [identify(client, a, token, id="user-a", hash="0" * 64) for _ in range(3)]
    assert [r.status_code for r in answers] == [400, 400, 429]
    assert "too fast" in answers[-1].get_json()["message"]


def _defaults() -> dict:
    from app.chat.flood import DEFAULT_LIMITS

    return {k: v for k, v in DEFAULT_LIMITS.items() if k != "identify"}


# --- the identity secret page ----------------------------------------------------------------


def test_rotating_the_secret_makes_old_hashes_fail(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    old_secret, b_secret = secret_of(a), secret_of(b)
    old_hash = crm.identity_hash(old_secret, "user-a")
    login(client, a.owner)
    refused = client.post("/console/settings/identity/rotate", data={}, follow_redirects=True)
    assert "Tick the box to confirm." in refused.get_data(True)
    assert secret_of(a) == old_secret
    rotated = client.post(
        "/console/settings/identity/rotate", data={"confirm": "yes"}, follow_redirects=True
    )
    assert rotated.status_code == 200 and "New secret made" in rotated.get_data(True)
    new_secret = secret_of(a)
    assert new_secret != old_secret and re.fullmatch(r"[0-9a-f]{64}", new_secret)
    assert secret_of(b) == b_secret  # the other shop's secret is its own
    token = new_visitor(client, a)
    assert identify(client, a, token, id="user-a", hash=old_hash).status_code == 400
    assert visitor_of(client, token).customer_id is None
    fresh = crm.identity_hash(new_secret, "user-a")
    assert identify(client, a, token, id="user-a", hash=fresh).status_code == 200


def test_the_secret_page_is_for_the_shops_admins_only(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    anonymous = client.get("/console/settings/identity")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(client, a.agent)
    assert client.get("/console/settings/identity").status_code == 403
    before = secret_of(a)
    rotate = client.post("/console/settings/identity/rotate", data={"confirm": "yes"})
    assert rotate.status_code == 403
    assert secret_of(a) == before
    login(client, a.owner)
    page = client.get("/console/settings/identity")
    text = page.get_data(True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert secret_of(a) in text and secret_of(b) not in text
    assert 'type="password"' in text  # masked until revealed
    login(client, b.owner)
    other = client.get("/console/settings/identity").get_data(True)
    assert secret_of(b) in other and secret_of(a) not in other


def timeline_of(customer_id: int) -> list[tuple[str, int | None, str, dict]]:
    query = select(
        TimelineEntry.kind, TimelineEntry.ref_id, TimelineEntry.summary, TimelineEntry.data
    )
    query = query.where(TimelineEntry.customer_id == customer_id)
    return sorted((tuple(row) for row in db.execute(query)), key=lambda r: (r[0], r[1] or 0))


def test_a_new_user_id_with_zhangs_phone_never_takes_over_or_renames_zhang(client, two_tenants):
    """The shop's customer 张三 (added by hand, no user id) has the phone the shop's new user
    u1001, 陈先生, signs in with: 陈先生 is a customer of his own, and both timelines say
    they may be one person."""
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    zhang = crm.save_customer(
        None, {"name": "张三", "phones": ["13800138000"], "emails": ["zhang@example.com"]}
    )
    db.commit()
    token = new_visitor(client, a)
    answer = identify(
        client,
        a,
        token,
        id="u1001",
        name="陈先生",
        phone="138 0013 8000",
        email="chen@example.com",
        hash=crm.identity_hash(secret_of(a), "u1001"),
    )
    assert answer.status_code == 200
    visitor = visitor_of(client, token)
    chen = db.get(Customer, visitor.customer_id)
    zhang = db.get(Customer, zhang.id)
    assert chen.id != zhang.id and (chen.name, chen.external_id) == ("陈先生", "u1001")
    assert (zhang.name, zhang.external_id) == ("张三", None)  # not renamed, not taken over
    assert [e.email for e in zhang.emails] == ["zhang@example.com"]
    assert [p.e164 for p in zhang.phones] == ["+8613800138000"]
    assert [e.email for e in chen.emails] == ["chen@example.com"] and chen.phones == []
    assert [e for e in timeline_of(zhang.id) if e[0] == "duplicate"] == [
        ("duplicate", chen.id, "陈先生", {"source": "identify"})
    ]
    assert [e for e in timeline_of(chen.id) if e[0] in ("duplicate", "identity")] == [
        ("duplicate", zhang.id, "张三", {"source": "identify"}),
        ("identity", None, "", {"external_id": "u1001", "linked": False}),
    ]
    login(client, a.owner)
    page = client.get(f"/console/customers/{zhang.id}").get_data(True)
    assert "Maybe the same person as 陈先生" in page
    assert f"/console/customers/{zhang.id}/merge/{chen.id}" in page
    page = client.get(f"/console/customers/{chen.id}").get_data(True)
    assert "Added for your user id u1001" in page and "Maybe the same person as 张三" in page

    # signing in again changes nothing more
    bind_tenant(a.tenant.id)
    entries = timeline_of(zhang.id)
    again = identify(
        client,
        a,
        token,
        id="u1001",
        name="陈先生",
        phone="13800138000",
        hash=crm.identity_hash(secret_of(a), "u1001"),
    )
    assert again.status_code == 200
    bind_tenant(a.tenant.id)
    db.expire_all()
    assert timeline_of(zhang.id) == entries and db.get(Customer, zhang.id).name == "张三"
    assert db.scalar(select(func.count(Customer.id)).where(Customer.external_id == "u1001")) == 1


@pytest.mark.parametrize("name", ["  chen  WEI ", ""])
def test_a_new_user_id_links_the_record_its_phone_names_when_the_name_agrees(
    client, two_tenants, name
):
    """The same person (the same name, or none given) whose record has no user id yet: linked,
    and the timeline says so."""
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    chen = crm.save_customer(None, {"name": "Chen Wei", "phones": ["13800138000"]})
    db.commit()
    before = crm_rows(a)["Customer"]
    token = new_visitor(client, a)
    signed = crm.identity_hash(secret_of(a), "u1001")
    answer = identify(client, a, token, id="u1001", name=name, phone="13800138000", hash=signed)
    assert answer.status_code == 200
    assert crm_rows(a)["Customer"] == before
    visitor = visitor_of(client, token)
    chen = db.get(Customer, chen.id)
    assert visitor.customer_id == chen.id and chen.external_id == "u1001"
    assert chen.name == "Chen Wei"  # as the shop wrote it
    assert [e for e in timeline_of(chen.id) if e[0] in ("duplicate", "identity")] == [
        ("identity", None, "", {"external_id": "u1001", "linked": True})
    ]


def test_a_record_of_another_user_id_is_never_taken_over_even_by_its_name(client, two_tenants):
    a = two_tenants.a  # Buyer a is user-a, with the phone 13800000000
    token = new_visitor(client, a)
    signed = crm.identity_hash(secret_of(a), "u1001")
    answer = identify(
        client, a, token, id="u1001", name="Buyer a", phone="13800000000", hash=signed
    )
    assert answer.status_code == 200
    visitor = visitor_of(client, token)
    buyer = db.get(Customer, a.customer.id)
    assert visitor.customer_id != buyer.id and buyer.external_id == "user-a"
    new = db.get(Customer, visitor.customer_id)
    assert (new.external_id, new.name) == ("u1001", "Buyer a")
    assert ("duplicate", new.id, "Buyer a", {"source": "identify"}) in timeline_of(buyer.id)


def test_a_known_user_renamed_by_the_shop_is_on_the_timeline(client, two_tenants):
    a = two_tenants.a
    token = new_visitor(client, a)
    signed = crm.identity_hash(secret_of(a), "user-a")
    assert identify(client, a, token, id="user-a", name="Buyer A", hash=signed).status_code == 200
    assert identify(client, a, token, id="user-a", name="Lin", hash=signed).status_code == 200
    bind_tenant(a.tenant.id)
    db.expire_all()
    assert db.get(Customer, a.customer.id).name == "Lin"
    renamed = [e[3] for e in timeline_of(a.customer.id) if e[0] == "renamed"]
    assert renamed == [{"from": "Buyer a", "to": "Buyer A"}, {"from": "Buyer A", "to": "Lin"}]


def test_a_contact_of_another_shops_customer_is_never_a_duplicate(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    bind_tenant(b.tenant.id)
    theirs = crm.save_customer(None, {"name": "Only in B", "phones": ["13900000888"]})
    db.commit()
    token = new_visitor(client, a)
    signed = crm.identity_hash(secret_of(a), "u1001")
    answer = identify(client, a, token, id="u1001", name="Chen", phone="13900000888", hash=signed)
    assert answer.status_code == 200
    mine = db.get(Customer, visitor_of(client, token).customer_id)
    assert [p.e164 for p in mine.phones] == ["+8613900000888"]  # free in this shop
    assert not [e for e in timeline_of(mine.id) if e[0] == "duplicate"]
    bind_tenant(b.tenant.id)
    db.expire_all()
    theirs = db.get(Customer, theirs.id)
    assert (theirs.name, theirs.external_id) == ("Only in B", None)
    assert timeline_of(theirs.id) == []
