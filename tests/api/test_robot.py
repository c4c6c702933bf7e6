"""The knowledge base and the ask API through /api/v1/robot: a bulk post idempotent on the
shop's ids, answering from the moment it returns; paging, changes, deletion; every question
logged; bad input refused with nothing changed; another shop's key never reads, changes or is
answered from this shop's knowledge base. Every answer is held to the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import limiter
from app.robot.models import RobotEntry, RobotQuestion
from tenants.db import bind_tenant, db, utcnow

from ..conftest import set_tenant
from .conftest import error_of

SHIPPING = {
    "external_id": "shipping",
    "question": "How much is shipping?",
    "alternatives": ["what does delivery cost", "shipping fee", "  shipping   fee "],
    "answer": "Free from 59 yuan, else 6 yuan: https://shop.example/shipping",
    "category": "delivery",
}
RETURNS = {
    "external_id": "returns",
    "question": "Can I return an item?",
    "alternatives": ["how do I send something back", "return policy"],
    "answer": "Within 7 days, unopened.",
    "category": "after-sales",
}


def counts(shop) -> tuple[int, int]:
    bind_tenant(shop.tenant.id)
    entries = db.scalar(select(func.count()).select_from(RobotEntry))
    questions = db.scalar(select(func.count()).select_from(RobotQuestion))
    db.rollback()
    bind_tenant(None)
    return entries, questions


def ask(api, question: str) -> dict:
    response = api.post("/robot/answer", json={"question": question})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_bulk_post_answers_at_once_and_again_changes_nothing(api, two_tenants):
    first = api.post("/robot/entries", json=[SHIPPING, RETURNS])
    assert first.status_code == 200
    body = first.get_json()
    assert (body["created"], body["updated"]) == (2, 0)
    shipping = body["data"][0]
    assert shipping["alternatives"] == ["what does delivery cost", "shipping fee"]
    assert shipping["external_id"] == "shipping" and shipping["enabled"] is True

    reply = ask(api, "how much does shipping cost?")
    assert reply["decision"] == "answer"
    assert reply["entry_id"] == shipping["id"]
    assert reply["answer"] == SHIPPING["answer"]
    assert reply["candidates"][0] == {
        "entry_id": shipping["id"],
        "question": SHIPPING["question"],
        "confidence": reply["confidence"],
    }

    again = api.post("/robot/entries", json=[SHIPPING, {**RETURNS, "answer": "Within 14 days."}])
    assert (again.get_json()["created"], again.get_json()["updated"]) == (0, 2)
    assert [e["id"] for e in again.get_json()["data"]] == [e["id"] for e in body["data"]]
    assert ask(api, "what is your return policy")["answer"] == "Within 14 days."
    assert counts(two_tenants.a)[0] == 3  # the shop's own entry, and these two


def test_the_list_walks_every_entry_once(api, two_tenants):
    api.post("/robot/entries", json=[{"question": f"Q{i}?", "answer": "A"} for i in range(7)])
    seen, cursor = [], None
    while True:
        page = api.get(
            "/robot/entries", query_string={"limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        body = page.get_json()
        seen += [e["id"] for e in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 8
    assert seen[0] == two_tenants.a.robot_entry.id


def test_changes_and_deletion_take_effect_at_once(api, two_tenants):
    stored = api.post("/robot/entries", json=[SHIPPING, RETURNS]).get_json()["data"]
    shipping, returns = stored[0]["id"], stored[1]["id"]
    changed = api.patch(f"/robot/entries/{shipping}", json={"answer": "Always free."})
    assert changed.status_code == 200 and changed.get_json()["answer"] == "Always free."
    assert changed.get_json()["alternatives"] == ["what does delivery cost", "shipping fee"]
    assert ask(api, "shipping fee")["answer"] == "Always free."

    assert api.patch(f"/robot/entries/{shipping}", json={"enabled": False}).status_code == 200
    assert ask(api, "shipping fee")["entry_id"] != shipping

    taken = api.patch(f"/robot/entries/{returns}", json={"external_id": "shipping"})
    assert error_of(taken) == (409, "entry_external_id_taken", "external_id")

    assert api.delete(f"/robot/entries/{returns}").status_code == 200
    assert api.get(f"/robot/entries/{returns}").status_code == 404
    assert ask(api, "what is your return policy")["entry_id"] != returns


def test_a_request_for_a_person_is_handed_over(api, two_tenants):
    api.post("/robot/entries", json=[SHIPPING])
    for question in ("转人工", "I want to talk to a human"):
        reply = ask(api, question)
        assert (reply["decision"], reply["reason"]) == ("handover", "asked_for_person")
        assert reply["entry_id"] is None and reply["answer"] is None


def test_bad_input_is_refused_and_changes_nothing(api, two_tenants):
    a = two_tenants.a
    before = counts(a)
    refusals = [
        ([{"question": " ", "answer": "A"}], (422, "required", "[0].question")),
        ([{"question": "Q", "answer": "A", "colour": "red"}], (422, "key_unknown", "[0].colour")),
        ([{"question": "Q" * 501, "answer": "A"}], (422, "too_long", "[0].question")),
        (
            [{"question": "Q", "answer": "A", "enabled": "yes"}],
            (422, "type_invalid", "[0].enabled"),
        ),
        (
            [{"external_id": "x", "question": "Q", "answer": "A"}] * 2,
            (422, "entry_external_id_repeated", "[1].external_id"),
        ),
        ([{"question": "Q", "answer": "A"}] * 1001, (422, "too_many", None)),
        ({"question": "Q", "answer": "A"}, (400, "entries_body_invalid", None)),
    ]
    for sent, expected in refusals:
        assert error_of(api.post("/robot/entries", json=sent)) == expected, sent
    # one bad entry refuses the lot
    assert api.post("/robot/entries", json=[SHIPPING, {"question": "Q"}]).status_code == 422
    for sent, expected in (
        ({}, (422, "required", "question")),
        ({"question": "x" * 2001}, (422, "too_long", "question")),
        ({"question": 5}, (422, "type_invalid", "question")),
    ):
        assert error_of(api.post("/robot/answer", json=sent)) == expected
    assert counts(a) == before


def test_any_text_gets_a_clear_decision(api, two_tenants):
    api.post("/robot/entries", json=[SHIPPING])
    for question in ("", "   ", "🙂🙂🙂", "<script>alert(1)</script>", "\u0000\u0007", "x" * 2000):
        response = api.post("/robot/answer", json={"question": question})
        if response.status_code == 400:  # a NUL never reaches the service
            assert response.get_json()["error"] == "text_invalid"
            continue
        reply = response.get_json()
        assert reply["decision"] in ("suggest", "handover"), (question, reply)


def test_every_question_asked_is_logged(api, two_tenants):
    a = two_tenants.a
    api.post("/robot/entries", json=[SHIPPING])
    before = counts(a)[1]
    ask(api, "shipping fee")
    ask(api, "do you sell bicycles")
    bind_tenant(a.tenant.id)
    logged = db.scalars(select(RobotQuestion).order_by(RobotQuestion.id.desc()).limit(2)).all()
    assert [(q.channel, q.question) for q in logged] == [
        ("api", "do you sell bicycles"),
        ("api", "shipping fee"),
    ]
    assert logged[1].decision == "answer" and logged[1].entry_id is not None
    db.rollback()
    bind_tenant(None)
    assert counts(a)[1] == before + 2


def test_another_shops_key_never_reads_changes_or_is_answered_from_this_shop(api, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    mine = api.post("/robot/entries", json=[SHIPPING]).get_json()["data"][0]["id"]
    theirs = api.as_shop(b)
    before = counts(a)
    for method, path, body in (
        ("GET", f"/robot/entries/{mine}", None),
        ("PATCH", f"/robot/entries/{mine}", {"answer": "stolen"}),
        ("DELETE", f"/robot/entries/{mine}", None),
    ):
        assert error_of(theirs.open(method, path, json=body))[:2] == (404, "not_found")
    listed = [e["id"] for e in theirs.get("/robot/entries").get_json()["data"]]
    assert listed == [b.robot_entry.id]
    reply = ask(theirs, SHIPPING["question"])
    assert reply["entry_id"] is None and reply["answer"] is None
    assert {c["entry_id"] for c in reply["candidates"]} <= {b.robot_entry.id}
    # the same external id is the other shop's own entry, not a conflict
    stored = theirs.post("/robot/entries", json=[SHIPPING]).get_json()
    assert stored["created"] == 1 and stored["data"][0]["id"] != mine
    assert counts(a) == before


def test_the_knowledge_base_is_kept_after_a_downgrade(api, two_tenants):
    a = two_tenants.a
    api.post("/robot/entries", json=[SHIPPING])
    set_tenant(a, feature_overrides={}, trial_ends_at=utcnow() - timedelta(seconds=1))  # Free
    assert api.get("/robot/entries").status_code == 402
    assert api.post("/robot/answer", json={"question": "shipping fee"}).status_code == 402
    set_tenant(a, trial_ends_at=utcnow() + timedelta(days=1))
    assert len(api.get("/robot/entries").get_json()["data"]) == 2
    assert ask(api, "shipping fee")["decision"] == "answer"


def test_an_alternative_longer_than_a_question_is_refused(api, two_tenants):
    entry = {"question": "Q?", "alternatives": ["ok", "x" * 501], "answer": "A"}
    assert error_of(api.post("/robot/entries", json=[entry])) == (
        422,
        "too_long",
        "[0].alternatives[1]",
    )


def test_a_delete_with_a_body_is_refused_and_deletes_nothing(api, two_tenants):
    entry_id = two_tenants.a.robot_entry.id
    response = api.delete(f"/robot/entries/{entry_id}", json={"confirm": True})
    assert error_of(response) == (400, "body_unexpected", None)
    assert api.get(f"/robot/entries/{entry_id}").status_code == 200


def test_asking_has_its_own_budget(app, api, two_tenants, monkeypatch):
    """A shop's channel asks once per visitor question: the key's general budget spent, it
    still asks, up to the ask API's own budget."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per hour")
    monkeypatch.setitem(app.config, "API_ASK_RATE_LIMIT", "4 per hour")
    try:
        assert [api.get("/robot/entries").status_code for _ in range(3)] == [200, 200, 429]
        asked = [
            api.post("/robot/answer", json={"question": "shipping"}).status_code for _ in range(5)
        ]
        assert asked == [200, 200, 200, 200, 429]
    finally:
        limiter.reset()
