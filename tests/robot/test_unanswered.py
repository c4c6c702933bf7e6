"""The unanswered questions log (/console/robot/unanswered): handovers and answers rated not
helpful, grouped by similar wording with counts; an admin adds a group to an entry (the robot
answers it next time), makes a new entry of it or dismisses it; agents only look; the CSV
export; another shop's log is never seen nor touched."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from app.robot import service, unanswered
from app.robot.models import RobotEntry, RobotQuestion
from tenants.db import bind_tenant, db, utcnow

from ..conftest import login, set_tenant

PAGE = "/console/robot/unanswered"
EXPORT = "/console/robot/unanswered.csv"


def log_questions(shop, *asked, days_ago: float = 1, **fields) -> list[int]:
    """Questions of the shop's log, ``(text, times)`` each, asked ``days_ago`` (committed)."""
    bind_tenant(shop.tenant.id)
    values = {"channel": "chat", "decision": "handover", "reason": "out_of_scope", **fields}
    rows = [
        RobotQuestion(question=text, created_at=utcnow() - timedelta(days=days_ago), **values)
        for text, times in asked
        for _ in range(times)
    ]
    db.add_all(rows)
    db.commit()
    bind_tenant(None)
    return [row.id for row in rows]


def shown(client, **params) -> list[tuple[str, int]]:
    """The page's groups in order: (most asked wording, count)."""
    response = client.get(PAGE, query_string=params)
    assert response.status_code == 200, response.get_data(True)
    page = response.get_data(True)
    return [
        (text, int(count))
        for text, count in re.findall(
            r'class="group-question">([^<]*)</h2>\s*<span class="group-count"[^>]*>×(\d+)<', page
        )
    ]


def state(shop) -> tuple:
    """What the log's actions could change: the questions' settling and the entries."""
    bind_tenant(shop.tenant.id)
    settled = db.scalars(
        select(RobotQuestion.id).where(RobotQuestion.settled_at.is_not(None))
    ).all()
    entries = db.execute(
        select(RobotEntry.id, RobotEntry.question, RobotEntry.alternatives).order_by(RobotEntry.id)
    ).all()
    bind_tenant(None)
    return sorted(settled), [tuple(e[:2]) + (tuple(e[2]),) for e in entries]


@pytest.fixture
def shop(two_tenants):
    return two_tenants.a


@pytest.fixture
def logged(shop):
    """A month of a shop's questions, the robot's shop fixture's handover among them."""
    log_questions(shop, ("运费多少钱", 5), ("运费是多少钱？", 3), ("运费多少", 2))
    log_questions(shop, ("可以开发票吗", 2), ("能开发票吗", 1))
    log_questions(shop, ("转人工", 4), reason="asked_for_person")
    log_questions(shop, ("", 1), reason="empty")
    # answered and rated not helpful: a gap too; answered and not rated: none
    log_questions(shop, ("发什么快递", 1), decision="answer", reason="matched", rating="unhelpful")
    log_questions(shop, ("发货时间", 3), decision="answer", reason="matched")
    # unsure, and no "did you mean" taken: a gap; one taken was logged as answered
    log_questions(shop, ("能用微信付吗", 2), decision="suggest", reason="unsure")
    log_questions(shop, ("发票抬头能改吗", 1), decision="answer", reason="chosen")
    log_questions(shop, ("运费多少钱", 6), days_ago=40)


def test_similar_questions_are_one_group_with_its_count(client, shop, logged):
    login(client, shop.agent)
    assert shown(client) == [
        ("运费多少钱", 10),
        ("可以开发票吗", 3),
        ("能用微信付吗", 2),
        ("can I pay with a-coins?", 1),
        ("发什么快递", 1),
    ]
    page = client.get(PAGE).get_data(True)
    assert "运费是多少钱？" in page and "×3" in page  # a variant with its count
    assert "1 rated not helpful" in page
    # the older questions join their group over 90 days; a person asked for is its own view
    assert shown(client, days=90)[0] == ("运费多少钱", 16)
    assert shown(client, kind="person") == [("转人工", 4)]


def test_grouping_keeps_different_questions_apart(app, shop):
    log_questions(
        shop,
        ("How much is shipping?", 2),
        ("how much does shipping cost", 1),
        ("运费险怎么买", 2),
        ("退货运费谁出", 1),
        ("Can I return it?", 1),
    )
    bind_tenant(shop.tenant.id)
    with app.test_request_context():
        found = {g.text: (g.count, [v for v, _ in g.variants]) for g in unanswered.groups()}
    bind_tenant(None)
    assert found == {
        "How much is shipping?": (3, ["How much is shipping?", "how much does shipping cost"]),
        "运费险怎么买": (2, ["运费险怎么买"]),
        "退货运费谁出": (1, ["退货运费谁出"]),
        "Can I return it?": (1, ["Can I return it?"]),
        "can I pay with a-coins?": (1, ["can I pay with a-coins?"]),
    }


def group_id(client, text: str, **params) -> int:
    page = client.get(PAGE, query_string=params).get_data(True)
    found = re.search(
        r'data-group="(\d+)"[^>]*>\s*<div class="group-head">\s*<h2 class="group-question">'
        + re.escape(text)
        + "<",
        page,
    )
    assert found, page
    return int(found.group(1))


def ask(shop, text: str):
    bind_tenant(shop.tenant.id)
    reply = service.consider(text)
    bind_tenant(None)
    return reply


def test_added_as_a_phrasing_the_question_is_answered_next_time(client, shop, logged):
    login(client, shop.owner)
    assert ask(shop, "运费多少钱").decision == "handover"
    group = group_id(client, "运费多少钱")
    answer = client.post(
        f"{PAGE}/{group}/phrasing",
        data={"entry": f"#{shop.robot_entry.id}", "days": "30", "kind": "gaps"},
    )
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(True)
    assert "is now a way to ask" in page
    reply = ask(shop, "运费多少钱")
    assert (reply.decision, reply.entry.id) == ("answer", shop.robot_entry.id)
    # the group's ten questions of the month are settled, and it goes after the others
    settled, entries = state(shop)
    assert len(settled) == 10
    assert shown(client)[-1] == ("运费多少钱", 10)
    assert "运费多少钱" in dict((e[0], e[2]) for e in entries)[shop.robot_entry.id]
    # asked and logged again: answered, so not in the log
    bind_tenant(shop.tenant.id)
    assert service.ask("运费多少钱", "chat").decision == "answer"
    db.commit()
    bind_tenant(None)
    assert shown(client)[-1] == ("运费多少钱", 10)


def test_an_entry_named_by_its_question_takes_the_phrasing(client, shop, logged):
    login(client, shop.owner)
    group = group_id(client, "可以开发票吗")
    client.post(f"{PAGE}/{group}/phrasing", data={"entry": "  DO YOU SHIP TO a-LAND? "})
    assert ask(shop, "可以开发票吗").decision == "answer"


def test_a_new_entry_from_a_group_answers_it_and_its_variants(client, shop, logged):
    login(client, shop.owner)
    page = client.get(PAGE).get_data(True)
    # the form is prefilled: the question and its variants as the other ways to ask it
    assert re.search(r'name="question" required maxlength="500" value="运费多少钱"', page)
    assert "运费是多少钱？\n运费多少\n</textarea>" in page
    group = group_id(client, "运费多少钱")
    answer = client.post(
        f"{PAGE}/{group}/entry",
        data={
            "question": "运费多少钱",
            "alternatives": "运费是多少钱？\n运费多少\n",
            "answer": "满99包邮，不满收8元。",
            "category": "运费",
        },
    )
    assert answer.status_code == 302
    assert 'New entry "运费多少钱" made.' in unescape(
        client.get(answer.headers["Location"]).get_data(True)
    )
    bind_tenant(shop.tenant.id)
    entry = db.scalar(select(RobotEntry).where(RobotEntry.question == "运费多少钱"))
    assert (entry.alternatives, entry.answer, entry.category) == (
        ["运费是多少钱？", "运费多少"],
        "满99包邮，不满收8元。",
        "运费",
    )
    bind_tenant(None)
    assert ask(shop, "运费是多少钱？").entry.id == entry.id
    assert len(state(shop)[0]) == 10


def test_a_dismissed_group_is_settled_and_changes_no_entry(client, shop, logged):
    login(client, shop.owner)
    entries = state(shop)[1]
    group = group_id(client, "可以开发票吗")
    answer = client.post(f"{PAGE}/{group}/dismiss", data={"days": "30"})
    assert answer.status_code == 302
    settled, after = state(shop)
    assert (len(settled), after) == (3, entries)
    page = client.get(PAGE).get_data(True)
    assert shown(client)[-1] == ("可以开发票吗", 3)
    assert page.count(">Settled<") == 1
    assert "4 to settle" in page  # 运费 10 + 微信 2 + a-coins 1 + 快递 1 groups left: 4 groups


def test_agents_see_the_log_but_only_admins_change_it(client, shop, logged):
    login(client, shop.agent)
    page = client.get(PAGE).get_data(True)
    assert "运费多少钱" in page and "Dismiss group" not in page and "New entry" not in page
    group = group_id(client, "运费多少钱")
    before = state(shop)
    for action, data in (
        ("phrasing", {"entry": f"#{shop.robot_entry.id}"}),
        ("entry", {"question": "q", "answer": "a"}),
        ("dismiss", {}),
    ):
        assert client.post(f"{PAGE}/{group}/{action}", data=data).status_code == 403
    assert state(shop) == before
    assert client.get(EXPORT).status_code == 200


def test_bad_input_is_refused_and_changes_nothing(client, shop, logged, two_tenants):
    login(client, shop.owner)
    for params, words in (
        ({"days": "0"}, "Give a period of 1 to 365 days."),
        ({"days": "many"}, "Give a period of 1 to 365 days."),
        ({"kind": "all"}, "Choose knowledge gaps or visitors who asked for a person."),
        ({"page": "-1"}, "Give a page number of 1 or more."),
    ):
        answer = client.get(PAGE, query_string=params)
        assert answer.status_code == 400 and words in answer.get_data(True), params
    group = group_id(client, "运费多少钱")
    before = state(shop)
    foreign = two_tenants.b.robot_entry.id
    for entry, words in (
        ("", "Name the entry: its question or #id."),
        ("no such question", "No entry of the knowledge base has the question or id no such"),
        (f"#{foreign}", f"No entry of the knowledge base has the question or id #{foreign}."),
    ):
        answer = client.post(
            f"{PAGE}/{group}/phrasing", data={"entry": entry}, follow_redirects=True
        )
        assert words in answer.get_data(True), entry
    # a phrasing too long for an entry
    long_id = log_questions(shop, ("运" * 600, 1))[0]
    answer = client.post(
        f"{PAGE}/{long_id}/phrasing",
        data={"entry": f"#{shop.robot_entry.id}"},
        follow_redirects=True,
    )
    assert "Use at most 500 characters." in answer.get_data(True)
    # a new entry without an answer: the form comes back with what was typed
    answer = client.post(
        f"{PAGE}/{group}/entry",
        data={
            "question": "运费多少钱",
            "alternatives": "运费多少",
            "answer": "  ",
            "category": "x",
        },
    )
    page = answer.get_data(True)
    assert answer.status_code == 422 and "This field is required." in page
    assert re.search(r"<details class=\"new-entry\" open>", page)
    assert 'name="category" maxlength="80" value="x"' in page
    assert client.post(f"{PAGE}/{group}/dismiss", data={"days": "x"}).status_code == 400
    # a question of the shop's that is not in the log (answered, not rated) is not found
    answered = log_questions(shop, ("发货时间", 1), decision="answer", reason="matched")[0]
    assert client.post(f"{PAGE}/{answered}/dismiss").status_code == 404
    assert state(shop)[0] == before[0] and state(shop)[1] == before[1]


def test_another_shop_never_sees_nor_settles_the_log(client, two_tenants, logged):
    a, b = two_tenants.a, two_tenants.b
    login(client, b.owner)
    assert shown(client) == [("can I pay with b-coins?", 1)]
    assert "运费" not in client.get(EXPORT).get_data(True)
    before = state(a)
    for action in ("phrasing", "entry", "dismiss"):
        foreign = client.post(
            f"{PAGE}/{a.robot_question.id}/{action}",
            data={"entry": f"#{b.robot_entry.id}", "question": "q", "answer": "a"},
        )
        missing = client.post(f"{PAGE}/999999999/{action}")
        assert foreign.status_code == missing.status_code == 404
    assert state(a) == before


def test_the_log_is_a_pro_feature(client, shop, logged):
    set_tenant(shop, plan_code="free", trial_plan_code=None, trial_ends_at=None)
    login(client, shop.owner)
    answer = client.get(PAGE)
    assert answer.status_code == 402 and "is a Pro feature" in answer.get_data(True)
    assert client.get(EXPORT).status_code == 402
    # the log is kept: back on Pro, it is there
    set_tenant(shop, plan_code="pro")
    assert shown(client)[0] == ("运费多少钱", 10)


def test_the_export_lists_each_wording_with_its_outcome_and_count(client, shop, logged):
    login(client, shop.agent)
    answer = client.get(EXPORT, query_string={"days": "90"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(answer.get_data(True).lstrip("\ufeff"))))
    assert lines[0] == [
        "group",
        "question",
        "decision",
        "reason",
        "rating",
        "count",
        "unsettled",
        "last_asked",
    ]
    rows = [line[:7] for line in lines[1:]]
    assert rows == [
        ["运费多少钱", "运费多少钱", "handover", "out_of_scope", "", "11", "11"],
        ["运费多少钱", "运费是多少钱？", "handover", "out_of_scope", "", "3", "3"],
        ["运费多少钱", "运费多少", "handover", "out_of_scope", "", "2", "2"],
        ["可以开发票吗", "可以开发票吗", "handover", "out_of_scope", "", "2", "2"],
        ["可以开发票吗", "能开发票吗", "handover", "out_of_scope", "", "1", "1"],
        ["能用微信付吗", "能用微信付吗", "suggest", "unsure", "", "2", "2"],
        [
            "can I pay with a-coins?",
            "can I pay with a-coins?",
            "handover",
            "out_of_scope",
            "",
            "1",
            "1",
        ],
        ["发什么快递", "发什么快递", "answer", "matched", "unhelpful", "1", "1"],
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", lines[1][7])


def test_a_group_of_many_questions_is_settled_whole(client, shop):
    """More questions than one statement settles (unanswered.SETTLE_CHUNK)."""
    log_questions(shop, ("运费多少钱", 1201))
    login(client, shop.owner)
    client.post(f"{PAGE}/{group_id(client, '运费多少钱')}/dismiss")
    assert len(state(shop)[0]) == 1201
    assert shown(client)[-1] == ("运费多少钱", 1201)
