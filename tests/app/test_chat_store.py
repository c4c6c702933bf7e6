"""A visitor's message is stored by one function, whichever way it comes in: the socket's fast
path (text to the open chat the socket knows), its long way (a first message, a file, a retry,
a chat closed meanwhile) and the service call the demo data and the fixtures use. Each gets the
conversation's next seq, and a retry stores nothing, from any of them."""

import io

from sqlalchemy import select

from app.chat import messages, service
from app.chat.models import Conversation, Message
from tenants.db import bind_tenant, db

from ..conftest import PNG
from .test_chat_socket import hello, visitor_socket


def test_every_way_a_visitor_message_comes_in_is_stored_by_one_function(
    app, client, two_tenants, monkeypatch
):
    stores = []
    store = messages.store_visitor_message

    def recorded(*args, **kwargs):
        stored = store(*args, **kwargs)
        stores.append(stored and stored[:2])  # (id, seq); the status follows
        return stored

    monkeypatch.setattr(messages, "store_visitor_message", recorded)
    a = two_tenants.a
    token = hello(client, a)["t"]
    visitor = visitor_socket(app, a, token)

    def send(client_id: str, text: str = "", **extra) -> dict:
        data = {"client_id": client_id, "text": text, **extra}
        answer = visitor.emit("message", data, namespace="/visitor", callback=True)
        assert "message" in answer, answer
        return answer["message"]

    first = send("m-1", "Hello")  # the long way: it opens the conversation
    second = send("m-2", "Still there?")  # the fast path
    path = f"/w/api/upload?k={a.tenant.site_key}&t={token}"
    upload = client.post(path, data={"file": (io.BytesIO(PNG), "p.png")})
    assert upload.status_code == 201, upload.get_json()
    picture = send("m-3", attachment_id=upload.get_json()["attachment"]["id"])  # a file
    assert send("m-2", "Still there?")["id"] == second["id"]  # a retry on the fast path
    assert send("m-3", attachment_id=upload.get_json()["attachment"]["id"])["id"] == picture["id"]

    bind_tenant(a.tenant.id)
    buyer = service.visitor_by_key(service.read_visitor_token(app.secret_key, token)[1])
    by_call, conversation, stored, _ = service.visitor_message(buyer, "m-4", "From the service")
    again, _, stored_again, _ = service.visitor_message(buyer, "m-4", "From the service")
    assert stored and not stored_again and again.id == by_call.id

    assert [first["seq"], second["seq"], picture["seq"], by_call.seq] == [1, 2, 3, 4]
    assert picture["kind"] == "image"
    # each message went through the function once; the fast path's retry found its copy there
    assert stores == [
        (first["id"], 1),
        (second["id"], 2),
        (picture["id"], 3),
        None,
        (by_call.id, 4),
    ]
    rows = db.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.seq)
    ).all()
    assert [(m.client_id, m.seq) for m in rows] == [("m-1", 1), ("m-2", 2), ("m-3", 3), ("m-4", 4)]
    assert (conversation.last_seq, conversation.last_text) == (4, "From the service")
    bind_tenant(None)


def test_a_message_to_a_chat_closed_meanwhile_opens_a_new_one_with_seq_one(
    app, client, two_tenants, monkeypatch
):
    """The fast path finds the chat closed (nothing written, no seq taken); the long way starts
    a new conversation, through the same function."""
    a = two_tenants.a
    token = hello(client, a)["t"]
    visitor = visitor_socket(app, a, token)
    first = visitor.emit(
        "message", {"client_id": "c-1", "text": "Hi"}, namespace="/visitor", callback=True
    )["message"]
    bind_tenant(a.tenant.id)
    service.close(first["conversation_id"])
    db.flush()
    bind_tenant(None)
    stores = []
    store = messages.store_visitor_message

    def recorded(*args, **kwargs):
        stored = store(*args, **kwargs)
        stores.append(stored and stored[:2])  # (id, seq); the status follows
        return stored

    monkeypatch.setattr(messages, "store_visitor_message", recorded)
    after = visitor.emit(
        "message", {"client_id": "c-2", "text": "Hello?"}, namespace="/visitor", callback=True
    )["message"]
    assert after["conversation_id"] != first["conversation_id"] and after["seq"] == 1
    assert stores == [None, (after["id"], 1)]
    bind_tenant(a.tenant.id)
    closed = db.get(Conversation, first["conversation_id"])
    assert closed.last_seq == 1 and closed.status == "closed"
    bind_tenant(None)
