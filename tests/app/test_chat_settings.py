"""The widget settings form (colour, texts, domains, the button's position, its preview) and
quick replies (edit, one shortcut per owner): a refused value changes nothing and the form
comes back as typed."""

import re

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.chat import setup
from app.chat.models import ChatSettings, QuickReply
from tenants.db import bind_tenant, db

from ..conftest import login

WIDGET = {
    "color": "#112233",
    "max_chats": "4",
    "greeting": "",
    "offline_text": "",
    "domains": "",
    "launcher_side": "right",
    "launcher_bottom": "20",
    "launcher_offset": "20",
}


def saved(shop) -> tuple:
    bind_tenant(shop.tenant.id)
    table = ChatSettings.__table__
    row = tuple(db.execute(select(table).where(table.c.tenant_id == shop.tenant.id)).one())
    bind_tenant(None)
    return row


def test_the_button_position_reaches_the_loader(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    form = WIDGET | {"launcher_side": "left", "launcher_bottom": "96", "launcher_offset": "12"}
    done = client.post("/console/settings/chat/widget", data=form, follow_redirects=True)
    assert "Settings saved." in done.get_data(True)
    script = client.get(f"/w/{a.tenant.site_key}.js").get_data(True)
    assert '--hkl:12px;--hkb:96px"' in script
    # the other shop's button stays where it was
    other = client.get(f"/w/{two_tenants.b.tenant.site_key}.js").get_data(True)
    assert '--hkr:20px;--hkb:20px"' in other


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"domains": "myshop.com, not"}, "“not” is not a website address like myshop.com"),
        ({"launcher_side": "top"}, "Choose left or right."),
        ({"launcher_bottom": "301"}, "from 0 to 300"),
        ({"launcher_offset": "-1"}, "from 0 to 300"),
        ({"color": "#12345g"}, "Choose a colour like #1f6feb."),
    ],
)
def test_a_refused_value_keeps_everything_typed(client, two_tenants, change, message):
    a = two_tenants.a
    login(client, a.owner)
    before = saved(a)
    typed = WIDGET | {"greeting": "Welcome to Longjing", "offline_text": "Back at nine"} | change
    page = client.post("/console/settings/chat/widget", data=typed)
    html = page.get_data(True)
    assert page.status_code == 400 and message in html
    for name in ("greeting", "offline_text", "domains", "color"):
        assert f'name="{name}"' in html
        assert f'value="{typed[name]}"' in html, name
    assert saved(a) == before


def test_pasted_addresses_keep_their_host(two_tenants):
    bind_tenant(two_tenants.a.tenant.id)
    chat = setup.update_widget(
        WIDGET | {"domains": "https://www.Shop.example/cart, m.shop.example，shop.example"}
    )
    assert chat.allowed_domains == ["m.shop.example", "shop.example", "www.shop.example"]


def test_empty_texts_show_the_widgets_defaults_in_the_shops_language(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    bind_tenant(a.tenant.id)
    a.tenant.locale = "zh_CN"  # a Chinese shop…
    a.owner.user.locale = "en"  # …whose admin reads the console in English
    db.commit()
    bind_tenant(None)
    page = client.get("/console/settings/chat").get_data(True)
    assert "Chat settings" in page
    # the very texts the widget's first answer carries for this shop's Chinese visitors
    hello = client.post(
        "/w/api/hello", json={"k": a.tenant.site_key, "url": "https://a.example/", "lang": "zh"}
    ).get_json()["config"]
    assert f'placeholder="{hello["greeting"]}"' in page
    assert f'placeholder="{hello["offline_text"]}"' in page
    assert re.search(r"[\u4e00-\u9fff]", hello["greeting"])


def test_the_preview_is_the_real_loader_with_the_unsaved_values(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    before = saved(a)
    page = client.get(
        "/console/settings/chat/preview",
        query_string=WIDGET
        | {"color": "#ff0000", "greeting": "Hi </script><b>", "launcher_side": "left"},
    )
    html = page.get_data(True)
    assert page.status_code == 200
    assert f'"siteKey": "{a.tenant.site_key}"' in html
    assert '"style": "--hk:#ff0000;--hkt:#fff;--hkl:20px;--hkb:20px"' in html
    assert '"greeting": "Hi \\u003c/script>\\u003cb>"' in html  # never closes the script
    assert "new Promise(() => {})" in html  # the widget's calls never answer: no visitor, no chat
    assert 'const hello = {"online": true, "unread": 0};' in html  # but its button is drawn
    assert '"online": true' in html
    away = client.get("/console/settings/chat/preview", query_string={"away": "1"})
    assert '"online": false' in away.get_data(True)  # the leave-a-message form, as typed
    # a value not valid yet keeps the saved one; nothing is stored
    bad = client.get("/console/settings/chat/preview", query_string={"color": "#ff"})
    assert '"color": "#1f6feb"' in bad.get_data(True)
    assert saved(a) == before


def test_agents_can_neither_change_nor_preview_the_widget(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    before = saved(a)
    assert client.get("/console/settings/chat/preview").status_code == 403
    assert client.post("/console/settings/chat/widget", data=WIDGET).status_code == 403
    assert saved(a) == before


# --- quick replies -------------------------------------------------------------------------


def replies(shop) -> dict[int, tuple]:
    bind_tenant(shop.tenant.id)
    rows = db.execute(select(QuickReply.id, QuickReply.owner_id, QuickReply.shortcut))
    found = {row.id: (row.owner_id, row.shortcut) for row in rows}
    bind_tenant(None)
    return found


def test_a_quick_reply_can_be_edited(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    client.post("/console/quick-replies", data={"shortcut": "ship", "text": "2 days."})
    mine = next(i for i, (owner, s) in replies(a).items() if s == "ship")
    form = client.get(f"/console/quick-replies?edit={mine}").get_data(True)
    assert f'action="/console/quick-replies/{mine}"' in form
    long_text = "Shipping takes two days.\n" + "x" * 4900
    done = client.post(
        f"/console/quick-replies/{mine}",
        data={"shortcut": "/shipping", "text": long_text},
        follow_redirects=True,
    )
    assert "Quick reply saved." in done.get_data(True)
    bind_tenant(a.tenant.id)
    reply = db.get(QuickReply, mine)
    assert (reply.shortcut, reply.text, reply.owner_id) == ("shipping", long_text, a.agent.id)


def test_a_shortcut_is_unique_per_owner_and_a_duplicate_keeps_what_was_typed(client, two_tenants):
    a = two_tenants.a  # the shop shares /hia
    login(client, a.owner)
    before = replies(a)
    refused = client.post(
        "/console/quick-replies", data={"shortcut": "hia", "text": "Typed text", "shared": "on"}
    )
    html = refused.get_data(True)
    assert refused.status_code == 400
    assert "/hia is already a shortcut here" in html
    assert 'value="hia"' in html and ">Typed text</textarea>" in html
    assert replies(a) == before
    # an agent's own reply may have the shop's shortcut, but only once per agent
    login(client, a.agent)
    client.post("/console/quick-replies", data={"shortcut": "hia", "text": "my own"})
    client.post("/console/quick-replies", data={"shortcut": "other", "text": "t"})
    own = {s: i for i, (owner, s) in replies(a).items() if owner == a.agent.id}
    assert set(own) == {"hia", "other"}
    clash = client.post(
        f"/console/quick-replies/{own['other']}", data={"shortcut": "hia", "text": "new"}
    )
    assert clash.status_code == 400 and "/hia is already a shortcut here" in clash.get_data(True)
    assert ">new</textarea>" in clash.get_data(True)
    # another shop may use any shortcut
    login(client, two_tenants.b.owner)
    other = client.post(
        "/console/quick-replies", data={"shortcut": "hia", "text": "b's", "shared": "on"}
    )
    assert other.status_code == 302


def test_the_database_refuses_a_duplicate_shortcut_too(two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    table = QuickReply.__table__
    for owner in (None, a.agent.id):
        db.execute(
            insert(table).values(tenant_id=a.tenant.id, owner_id=owner, shortcut="dup", text="1")
        )
        with pytest.raises(IntegrityError), db.begin_nested():
            db.execute(
                insert(table).values(
                    tenant_id=a.tenant.id, owner_id=owner, shortcut="dup", text="2"
                )
            )


def test_only_the_owner_or_an_admin_edits_a_reply(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    login(client, a.owner)
    client.post("/console/quick-replies", data={"shortcut": "boss", "text": "mine"})
    boss = next(i for i, (owner, s) in replies(a).items() if s == "boss")
    before = replies(a), replies(b)
    login(client, a.agent)
    edit = {"shortcut": "x", "text": "y"}
    assert client.post(f"/console/quick-replies/{boss}", data=edit).status_code == 404
    shared = client.post(f"/console/quick-replies/{a.quick_reply.id}", data=edit)
    assert shared.status_code == 400 and "owner or an admin can do this" in shared.get_data(True)
    # another shop's admin: as if the reply did not exist
    login(client, b.owner)
    assert client.post(f"/console/quick-replies/{a.quick_reply.id}", data=edit).status_code == 404
    assert client.post(f"/console/quick-replies/{boss}", data=edit).status_code == 404
    assert (replies(a), replies(b)) == before
