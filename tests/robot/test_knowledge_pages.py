"""The knowledge-base pages as a shop's members use them: the list (categories, search,
paging), adding, editing and deleting entries (admins only; agents read and try), the answer
shown as text with safe links, the "try it" box, the settings; another shop's ids are 404, a
Free shop is refused, and a refused form changes nothing."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from app.robot import knowledge
from app.robot.matcher import DEFAULT_THRESHOLDS
from app.robot.models import RobotEntry, RobotSettings
from app.robot.schemas import EntryInput
from tenants.db import bind_tenant, db, utcnow

from ..conftest import login, set_tenant

BASE = "/console/robot"


def page(answer) -> str:
    return unescape(answer.get_data(True))


def entries(shop) -> list[tuple]:
    bind_tenant(shop.tenant.id)
    found = db.execute(
        select(
            RobotEntry.question,
            RobotEntry.alternatives,
            RobotEntry.answer,
            RobotEntry.category,
            RobotEntry.enabled,
        ).order_by(RobotEntry.id)
    ).all()
    bind_tenant(None)
    return [tuple(row) for row in found]


def version(shop) -> int:
    bind_tenant(shop.tenant.id)
    found = db.scalar(select(RobotSettings.version)) or 0
    bind_tenant(None)
    return found


def add(shop, question, answer, category="", alternatives=(), enabled=True):
    bind_tenant(shop.tenant.id)
    entry = knowledge.create_entry(
        EntryInput(
            question=question,
            answer=answer,
            category=category,
            alternatives=list(alternatives),
            enabled=enabled,
        )
    )
    db.commit()
    bind_tenant(None)
    return entry


FORM = {
    "question": "运费险怎么理赔？",
    "alternatives": "退货运费险\n运费险 怎么用\n\n退货运费险",
    "answer": "退货时自动理赔，详见 https://shop.example/help?a=1&b=2。<b>别</b>担心",
    "category": "售后",
    "enabled": "on",
}


def test_an_admin_adds_an_entry_and_sees_it_listed_with_its_category(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    before = version(a)
    answer = client.post(f"{BASE}/entries/new", data=FORM)
    assert answer.status_code == 302
    stored = entries(a)[-1]
    assert stored == (
        "运费险怎么理赔？",
        ["退货运费险", "运费险 怎么用"],
        FORM["answer"],
        "售后",
        True,
    )
    assert version(a) == before + 1  # every worker's index rebuilds
    listed = client.get(BASE).get_data(True)
    assert "运费险怎么理赔？" in listed and "售后" in listed and "shipping" in listed
    only = page(client.get(BASE, query_string={"category": "售后"}))
    assert "运费险怎么理赔？" in only and "Do you ship to a-land?" not in only


def test_the_answer_is_text_and_its_links_open_safely(client, two_tenants):
    a = two_tenants.a
    entry = add(
        a, "Where is the guide?", 'See https://shop.example/guide?a=1&b=2). <script>x</script> "ok"'
    )
    login(client, a.owner)
    html = client.get(f"{BASE}/entries/{entry.id}").get_data(True)
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert (
        '<a href="https://shop.example/guide?a=1&amp;b=2" target="_blank" '
        'rel="noopener noreferrer nofollow">https://shop.example/guide?a=1&amp;b=2</a>)' in html
    )


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("见 https://a.cn/x。谢谢", ["https://a.cn/x"]),
        ("(see https://a.cn/x_(y)).", ["https://a.cn/x_(y)"]),
        ('javascript:alert(1) "https://a.cn/"onmouseover=1', ["https://a.cn/"]),
        ("http:// nothing", []),
    ],
)
def test_links_follow_the_widgets_rule(app, text, links):
    from app.robot.views import plain_links

    html = str(plain_links(text))
    assert [part.split('"')[0] for part in html.split('<a href="')[1:]] == links
    assert "<script" not in html and 'onmouseover=1"' not in html  # the rest stays text


def test_a_refused_form_says_why_beside_the_field_and_changes_nothing(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    before, before_version = entries(a), version(a)
    answer = client.post(f"{BASE}/entries/new", data={**FORM, "answer": "   "})
    assert answer.status_code == 422
    html = page(answer)
    assert 'id="error-answer"' in html and "This field is required." in html
    assert "运费险怎么理赔？" in html  # what was typed comes back
    entry_id = a.robot_entry.id
    long = client.post(f"{BASE}/entries/{entry_id}", data={**FORM, "question": "q" * 501})
    assert long.status_code == 422 and 'id="error-question"' in long.get_data(True)
    assert entries(a) == before and version(a) == before_version


def test_an_admin_edits_and_disables_then_deletes_after_being_asked(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    entry_id = a.robot_entry.id
    data = {"question": "Do you ship abroad?", "alternatives": "", "answer": "Yes.", "category": ""}
    assert client.post(f"{BASE}/entries/{entry_id}", data=data).status_code == 302
    assert entries(a) == [("Do you ship abroad?", [], "Yes.", "", False)]
    listed = page(client.get(BASE))
    assert "Disabled" in listed
    ask = client.get(f"{BASE}/entries/{entry_id}/delete")
    assert ask.status_code == 200 and "Delete this entry?" in page(ask)
    assert client.post(f"{BASE}/entries/{entry_id}/delete").status_code == 200  # asks again
    assert entries(a)  # asking deleted nothing
    deleted = client.post(f"{BASE}/entries/{entry_id}/delete", data={"confirm": "yes"})
    assert deleted.status_code == 302
    assert entries(a) == []


def test_agents_read_and_try_but_change_nothing(client, two_tenants):
    a = two_tenants.a
    login(client, a.agent)
    entry_id = a.robot_entry.id
    listed = page(client.get(BASE))
    assert "Do you ship to a-land?" in listed and "New entry" not in listed
    shown = page(client.get(f"{BASE}/entries/{entry_id}"))
    assert "<fieldset disabled>" in shown and "Save" not in shown
    assert client.get(BASE, query_string={"try": "ship to a-land"}).status_code == 200
    before = entries(a)
    for method, url in [
        ("post", f"{BASE}/entries/new"),
        ("post", f"{BASE}/entries/{entry_id}"),
        ("post", f"{BASE}/entries/{entry_id}/delete"),  # FORM has no confirm: 403 first
        ("get", f"{BASE}/entries/new"),
        ("get", f"{BASE}/settings"),
        ("post", f"{BASE}/settings"),
        ("get", f"{BASE}/import"),
    ]:
        assert getattr(client, method)(url, data=FORM).status_code == 403, url
    assert entries(a) == before


def test_another_shops_entry_is_404_like_a_missing_one(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    login(client, b.owner)
    foreign = a.robot_entry.id
    for url in [f"{BASE}/entries/{foreign}", f"{BASE}/entries/{foreign}/delete"]:
        assert client.get(url).status_code == 404
        assert client.post(url, data=FORM).status_code == 404
        assert client.get(url.replace(str(foreign), "99999999")).status_code == 404
    assert entries(a)[0][0] == "Do you ship to a-land?"
    listed = page(client.get(BASE, query_string={"q": "ship"}))
    assert "Do you ship to b-land?" in listed and "a-land" not in listed


def test_search_finds_questions_phrasings_and_answers(client, two_tenants):
    a = two_tenants.a
    add(a, "发票怎么开？", "在订单页申请电子发票。", "发票", ["可以开专票吗"])
    add(a, "100% cotton?", "Yes_ all of it.", "goods")
    login(client, a.agent)

    def found(q):
        html = page(client.get(BASE, query_string={"q": q}))
        return sorted(
            question
            for question in ("发票怎么开？", "100% cotton?", "Do you ship to a-land?")
            if question in html
        )

    assert found("专票") == ["发票怎么开？"]  # a phrasing, stored as JSON
    assert found("电子发票") == ["发票怎么开？"]  # the answer
    assert found("DELIVERY ABROAD") == ["Do you ship to a-land?"]
    assert found("100%") == ["100% cotton?"]  # % is a character, not a wildcard
    assert found("o_") == []  # nor is _ ("Do you", "of" would match it)


def test_a_big_base_is_paged(client, two_tenants):
    a = two_tenants.a
    bind_tenant(a.tenant.id)
    knowledge.save_entries(
        (None, {"question": f"问题 {n:04}", "answer": "答", "alternatives": [], "category": "c"})
        for n in range(120)
    )
    db.commit()
    bind_tenant(None)
    login(client, a.agent)
    first = page(client.get(BASE, query_string={"category": "c"}))
    assert "120 entries" in first and "Page 1 of 3" in first
    assert "问题 0000" in first and "问题 0050" not in first
    third = page(client.get(BASE, query_string={"category": "c", "page": 3}))
    assert "问题 0119" in third and "问题 0099" not in third
    assert client.get(BASE, query_string={"page": "x"}).status_code == 200


def test_try_it_shows_decision_confidence_and_candidates_and_logs_nothing(client, two_tenants):
    a = two_tenants.a
    entry = add(a, "退货运费谁出？", "七天内退货运费我们出。")
    login(client, a.agent)
    bind_tenant(a.tenant.id)
    logged = db.scalar(select(func.count()).select_from(RobotEntry))
    bind_tenant(None)
    html = page(client.get(BASE, query_string={"try": "退货运费谁出"}))
    assert 'data-decision="answer"' in html and "七天内退货运费我们出。" in html
    assert f"/console/robot/entries/{entry.id}" in html and "Confidence 1.00" in html
    person = page(client.get(BASE, query_string={"try": "转人工"}))
    assert 'data-decision="handover"' in person and "the visitor asks for a person" in person
    too_long = page(client.get(BASE, query_string={"try": "x" * 2001}))
    assert "Use at most 2000 characters." in too_long and "data-decision" not in too_long
    bind_tenant(a.tenant.id)
    from app.robot.models import RobotQuestion

    assert db.scalar(select(func.count()).select_from(RobotQuestion)) == 1  # the fixture's
    assert db.scalar(select(func.count()).select_from(RobotEntry)) == logged


def test_the_pages_are_locked_on_free_and_the_entries_kept(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    set_tenant(a, trial_ends_at=utcnow() - timedelta(seconds=1))
    for url in (BASE, f"{BASE}/settings", f"{BASE}/import", f"{BASE}/export.csv"):
        answer = client.get(url, headers={"Accept": "application/json"})
        assert answer.status_code == 402 and answer.get_json()["feature"] == "robot", url
    assert entries(a)  # kept for an upgrade


# --- settings ------------------------------------------------------------------------------

SETTINGS = {
    "mode": "answer_first",
    "answer_threshold": "0,7",
    "suggest_threshold": "",
    "margin": "0.1",
    "synonyms": "运费险 = 退货运费险\n发票=开票",
    "words": "山茶小铺",
}


def settings_row(shop) -> tuple:
    bind_tenant(shop.tenant.id)
    row = db.scalar(select(RobotSettings))
    bind_tenant(None)
    if row is None:
        return None
    return (
        row.mode,
        row.answer_threshold,
        row.suggest_threshold,
        row.margin,
        row.synonyms,
        row.words,
    )


def test_an_admin_sets_the_mode_thresholds_and_words(client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    shown = page(client.get(f"{BASE}/settings"))
    assert "Only when nobody is online" in shown and f"Default {DEFAULT_THRESHOLDS.answer}" in shown
    before = version(a)
    assert client.post(f"{BASE}/settings", data=SETTINGS).status_code == 302
    assert settings_row(a) == ("answer_first", 0.7, None, 0.1, SETTINGS["synonyms"], "山茶小铺")
    assert version(a) == before + 1  # new synonyms: the index is rebuilt
    again = client.post(f"{BASE}/settings", data={**SETTINGS, "mode": "suggest"})
    assert again.status_code == 302 and version(a) == before + 1  # same words: no rebuild
    assert "2 groups" in page(client.get(f"{BASE}/settings"))


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"answer_threshold": "1.5"}, "answer_threshold", "Give a number from 0 to 1"),
        ({"margin": "abc"}, "margin", "Give a number from 0 to 1"),
        ({"suggest_threshold": "0.8"}, "suggest_threshold", "must not be above the answer"),
        ({"mode": "always"}, "mode", "Choose one of the modes listed."),
        ({"words": "x" * 20_001}, "words", "Use at most 20,000 characters."),
    ],
)
def test_bad_settings_are_refused_beside_the_field_and_change_nothing(
    client, two_tenants, change, field, words
):
    a = two_tenants.a
    login(client, a.owner)
    client.post(f"{BASE}/settings", data=SETTINGS)
    before, before_version = settings_row(a), version(a)
    answer = client.post(f"{BASE}/settings", data={**SETTINGS, "synonyms": "a = b", **change})
    assert answer.status_code == 422
    html = page(answer)
    assert f'id="error-{field}"' in html and words in html
    assert settings_row(a) == before and version(a) == before_version
