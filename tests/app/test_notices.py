"""The shop is told: a new left message and a chat nobody answered are mailed to each agent
who wants it, in their language, with a link; the reply to a left message goes in the
customer's language, from the shop's name, Reply-To the agent who answered."""

import re
from datetime import timedelta
from email.header import decode_header, make_header
from email.utils import parseaddr

from sqlalchemy import select

from app.chat import notices
from app.chat.models import Conversation
from tenants.db import bind_tenant, cross_tenant, db, utcnow
from tenants.jobs import wait_for_jobs
from tenants.models import Membership, Tenant
from tenants.work import unit_of_work

from ..conftest import login
from .test_widget import post


def _people(shop, **wants) -> None:
    """Owner in Chinese, agent in English; ``wants``: the agent's switches."""
    bind_tenant(shop.tenant.id)
    owner, agent = db.get(Membership, shop.owner.id), db.get(Membership, shop.agent.id)
    owner.user.locale, agent.user.locale = "zh_CN", "en"
    for name, value in wants.items():
        setattr(agent, name, value)
    db.commit()
    bind_tenant(None)


def _to(outbox, address: str):
    return [m for m in outbox.messages() if m["To"] == address]


def _body(mail) -> str:
    return mail.get_payload(decode=True).decode()


def _subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def _leave(client, shop, text="Is the Longjing in stock?", lang="en", email="li@example.com"):
    hello = post(
        client, "/w/api/hello", k=shop.tenant.site_key, url="https://a.example/", lang=lang
    )
    answer = post(
        client,
        "/w/api/leave",
        k=shop.tenant.site_key,
        t=hello.get_json()["t"],
        name="Li",
        email=email,
        text=text,
    )
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def test_a_new_left_message_mails_each_agent_in_their_language_with_a_link(
    client, two_tenants, outbox
):
    a = two_tenants.a
    _people(a)
    left_id = _leave(client, a)
    link = f"http://huike.test/console/messages?status=all#m{left_id}"
    (to_owner,) = _to(outbox, "owner-a@example.com")
    assert _subject(to_owner) == "Li 给您留言了"
    assert "Li 给Shop a留言" in _body(to_owner) and link in _body(to_owner)
    (to_agent,) = _to(outbox, "agent-a@example.com")
    assert _subject(to_agent) == "New message from Li"
    assert "Is the Longjing in stock?" in _body(to_agent) and link in _body(to_agent)
    assert "http://huike.test/profile" in _body(to_agent)  # where to turn it off
    # nobody else: not the pending invitee, not the other shop's people
    assert {m["To"] for m in outbox.messages()} == {"owner-a@example.com", "agent-a@example.com"}
    assert not _to(outbox, "owner-b@example.com") and not _to(outbox, "agent-b@example.com")


def test_an_agent_who_turned_it_off_gets_no_left_message_mail(client, two_tenants, outbox):
    a = two_tenants.a
    _people(a, notify_left_messages=False)
    _leave(client, a)
    assert _to(outbox, "owner-a@example.com") and not _to(outbox, "agent-a@example.com")


def _age(shop, minutes: int, answered: bool = False) -> None:
    bind_tenant(shop.tenant.id)
    conversation = db.get(Conversation, shop.conversation.id)
    conversation.created_at = utcnow() - timedelta(minutes=minutes)
    conversation.first_response_at = utcnow() if answered else None
    db.commit()
    bind_tenant(None)


def _clock_looks_for_missed_chats(app) -> None:
    with app.app_context(), unit_of_work():
        notices.find_missed_chats()
    wait_for_jobs()


def test_a_chat_nobody_answered_is_mailed_once_with_a_link(app, two_tenants, outbox):
    a, b = two_tenants.a, two_tenants.b
    _people(a)
    _age(a, 4)  # not yet missed
    _age(b, 6, answered=True)  # answered: not missed
    _clock_looks_for_missed_chats(app)
    assert outbox.messages() == []

    _age(a, 6)
    _clock_looks_for_missed_chats(app)
    link = f"http://huike.test/console/conversations#c{a.conversation.id}"
    (to_owner,) = _to(outbox, "owner-a@example.com")
    assert _subject(to_owner).endswith("的咨询无人回复") and link in _body(to_owner)
    (to_agent,) = _to(outbox, "agent-a@example.com")
    assert _subject(to_agent) == "Nobody answered Buyer a"
    assert "p.png" in _body(to_agent) and link in _body(to_agent)  # its last message
    assert len(outbox.messages()) == 2  # shop b's people: nothing

    _clock_looks_for_missed_chats(app)  # the next tick: no second mail
    assert len(outbox.messages()) == 2
    bind_tenant(a.tenant.id)
    assert db.scalar(
        select(Conversation.missed_notice_at).where(Conversation.id == a.conversation.id)
    )
    bind_tenant(None)


def test_an_agent_who_turned_it_off_gets_no_missed_chat_mail(app, two_tenants, outbox):
    a = two_tenants.a
    _people(a, notify_missed_chats=False)
    _age(a, 6)
    _clock_looks_for_missed_chats(app)
    assert _to(outbox, "owner-a@example.com") and not _to(outbox, "agent-a@example.com")


def test_the_reply_goes_in_the_customers_language_from_the_shop_reply_to_the_agent(
    client, two_tenants, outbox
):
    a = two_tenants.a
    _people(a)  # the agent works in English; the customer wrote from a Chinese browser
    left_id = _leave(client, a, text="请问有货吗？", lang="zh-CN")
    login(client, a.agent)
    client.post(f"/console/messages/{left_id}/reply", data={"text": "有的，还有三件。"})
    (mail,) = _to(outbox, "li@example.com")
    assert _subject(mail) == "回复：您在 Shop a 的留言"
    body = _body(mail)
    assert body.startswith("Li，您好：") and "您的留言：" in body and "有的，还有三件。" in body
    name, address = parseaddr(str(make_header(decode_header(mail["From"]))))
    assert (name, address) == ("Shop a", "no-reply@huike.local")
    assert mail["Reply-To"] == "agent-a@example.com"


def test_the_shops_reply_address_takes_the_customers_answers_once_an_admin_sets_it(
    client, two_tenants, outbox
):
    a, b = two_tenants.a, two_tenants.b
    login(client, a.agent)  # agents cannot set it
    assert client.post("/console/shop/reply-email", data={"email": "x@a.com"}).status_code == 403
    login(client, a.owner)
    page = client.post(
        "/console/shop/reply-email", data={"email": "not an address"}, follow_redirects=True
    )
    assert "Enter a valid e-mail address." in page.get_data(True)
    client.post("/console/shop/reply-email", data={"email": " Service@Shop-A.example "})
    with cross_tenant():
        assert db.get(Tenant, a.tenant.id).reply_email == "service@shop-a.example"
        assert db.get(Tenant, b.tenant.id).reply_email == ""  # the other shop's is its own
    left_id = _leave(client, a, text="Any Longjing left?", lang="en")
    client.post(f"/console/messages/{left_id}/reply", data={"text": "Yes."})
    (mail,) = _to(outbox, "li@example.com")
    assert mail["Reply-To"] == "service@shop-a.example"


def test_the_reply_reads_the_language_from_the_text_when_the_browser_said_nothing(
    client, two_tenants, outbox
):
    a = two_tenants.a
    chinese = _leave(client, a, text="你好，这款茶叶还有吗？", lang="")
    english = _leave(client, a, text="Hello, any Longjing left?", lang="", email="li@example.com")
    login(client, a.owner)
    client.post(f"/console/messages/{chinese}/reply", data={"text": "有。"})
    client.post(f"/console/messages/{english}/reply", data={"text": "Yes."})
    subjects = sorted(_subject(m) for m in _to(outbox, "li@example.com"))
    assert subjects == ["Re: your message to Shop a", "回复：您在 Shop a 的留言"]
    assert {m["Reply-To"] for m in _to(outbox, "li@example.com")} == {"owner-a@example.com"}


def test_a_link_from_shop_as_mail_opens_nothing_of_shop_a_for_shop_bs_agent(
    client, two_tenants, outbox
):
    a, b = two_tenants.a, two_tenants.b
    left_id = _leave(client, a, text="secret of shop a")
    link = re.search(r"http://huike\.test(\S+)", _body(_to(outbox, "agent-a@example.com")[0]))
    login(client, b.agent)
    page = client.get(link.group(1))
    assert page.status_code == 200 and "secret of shop a" not in page.get_data(True)
    assert f'id="m{left_id}"' not in page.get_data(True)
    assert client.get(f"/console/history/{a.conversation.id}").status_code == 404
    reply = client.post(f"/console/messages/{left_id}/reply", data={"text": "hi"})
    assert reply.status_code == 404
    assert not _to(outbox, "li@example.com")
