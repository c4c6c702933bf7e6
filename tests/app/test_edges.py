"""No input answers 500: NUL characters, unpaired surrogates and JSON nested too deeply are
refused where they come in, on every route of ``app.url_map`` and every socket event, with a
clear error, and nothing is stored."""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests
import websocket
from sqlalchemy import func, select

from app.extensions import socketio
from tenants.db import Base, cross_tenant, db

from ..conftest import login
from ..live import LiveServer, sign_up
from .test_chat_socket import agent_socket, hello, visitor_socket

NUL, SURROGATE = "a\x00b", "x\ud800y"
# names the app's forms, queries and payloads read (a route reads what it knows; the edge
# checks every name, so these are the ones that would reach a query or a column)
NAMES = (
    "name", "email", "password", "shop_name", "text", "q", "tag", "phone", "title", "body",
    "shortcut", "key", "label", "note", "comment", "url", "k", "t", "client_id", "status",
    "role", "lang", "allowed_domains", "greeting", "pattern", "external_id", "order_id",
)  # fmt: skip
DEEP = "[" * 100_000


def _nested(depth: int) -> list:
    value: list = ["x"]
    for _ in range(depth):
        value = [value]
    return value


def _rows() -> dict[str, int]:
    with cross_tenant():
        return {
            table.name: db.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }


def _requests(app, shop):
    """(rule, method, url, request options) for every route and method, each carrying bad input."""
    adapter = app.url_map.bind("huike.test")
    api = {"Authorization": f"Bearer {shop.api_token}"}
    for rule in app.url_map.iter_rules():
        # an argument whose converter takes text gets the bad text; a number, a real-looking id
        texts = [a for a in rule.arguments if re.fullmatch(rule._converters[a].regex, "x")]
        ids = {a: 1 for a in rule.arguments if a not in texts}
        plain = adapter.build(rule.endpoint, {**ids, **{a: "x" for a in texts}})
        headers = api if plain.startswith("/api/") else {}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if texts:
                url = adapter.build(rule.endpoint, {**ids, **{a: NUL for a in texts}})
                yield rule, method, url, {"headers": headers}
            yield (
                rule,
                method,
                plain,
                {"headers": headers, "query_string": dict.fromkeys(NAMES, NUL)},
            )
            if method == "GET":
                continue
            yield rule, method, plain, {"headers": headers, "data": dict.fromkeys(NAMES, NUL)}
            for bad in (NUL, SURROGATE):
                yield rule, method, plain, {"headers": headers, "json": dict.fromkeys(NAMES, bad)}
            yield rule, method, plain, {"headers": headers, "json": {"items": _nested(40)}}
            yield (
                rule,
                method,
                plain,
                {"headers": headers, "data": DEEP, "content_type": "application/json"},
            )


def test_every_route_refuses_bad_text_with_a_clear_error(app, client, two_tenants):
    a = two_tenants.a
    login(client, a.owner)
    before = _rows()
    answers = []
    for rule, method, url, options in _requests(app, a):
        response = client.open(url, method=method, **options)
        kind = "deep" if options.get("data") is DEEP else "text"
        answers.append((response.status_code, rule.endpoint, method, url, kind))
        assert response.status_code < 500, (method, url, options, response.get_data(True)[:300])
    assert {a[1] for a in answers} == {r.endpoint for r in app.url_map.iter_rules()}
    assert _rows() == before  # nothing was stored
    # bad text is refused at the edge; JSON too deep to parse is the handler's invalid JSON
    assert [a for a in answers if a[0] != 400 and a[4] == "text"] == []


def test_the_api_words_the_refusal_in_its_own_shape(client, two_tenants):
    headers = {"Authorization": f"Bearer {two_tenants.a.api_token}"}
    response = client.post("/api/v1/customers", json={"name": NUL}, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "text_invalid"
    assert response.get_json()["field"] == "name"
    deep = client.post(
        "/api/v1/customers", data=DEEP, content_type="application/json", headers=headers
    )
    assert deep.status_code == 400 and deep.get_json()["error"] == "json_invalid"
    nested = {"name": "x", "fields": {"level": _nested(40)}}
    too_deep = client.post("/api/v1/customers", json=nested, headers=headers)
    assert too_deep.status_code == 400 and too_deep.get_json()["error"] == "json_too_deep"


def test_the_widget_answers_json_it_can_read(client, two_tenants):
    response = client.post(
        "/w/api/hello",
        json={"k": NUL, "url": "https://shop.example/"},
        headers={"Origin": "https://shop.example"},
    )
    assert response.status_code == 400 and response.get_json()["error"] == "text_invalid"
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert client.get(f"/w/{NUL}.js").status_code == 400


def test_a_browser_is_shown_the_error_page(client, two_tenants):
    login(client, two_tenants.a.owner)
    page = client.get("/console/history", query_string={"q": NUL})
    assert page.status_code == 400
    assert "cannot be stored" in page.get_data(True) and 'class="topbar"' in page.get_data(True)


def _events(namespace: str) -> list[str]:
    return sorted(set(socketio.server.handlers[namespace]) - {"connect", "disconnect"})


@pytest.mark.parametrize("bad", [NUL, SURROGATE, "deep"])
def test_every_socket_event_answers_bad_input_with_an_error(app, client, two_tenants, bad):
    a = two_tenants.a
    token = hello(client, a)["t"]
    visitor = visitor_socket(app, a, token)
    agent = agent_socket(app, client, a.agent)
    before = _rows()
    for sock, namespace in ((visitor, "/visitor"), (agent, "/agent")):
        assert len(_events(namespace)) >= 4
        for event in _events(namespace):
            data = dict.fromkeys(NAMES, bad)
            if bad == "deep":
                data = {"client_id": "d-1", "text": _nested(40)}
            ack = sock.emit(event, data, namespace=namespace, callback=True)
            assert isinstance(ack, dict) and ack.get("error") in (
                "text_invalid",
                "json_too_deep",
            ), (namespace, event, ack)
    assert _rows() == before


def test_a_visitor_socket_with_a_nul_key_is_refused_as_unauthorized(app, two_tenants):
    sock = socketio.test_client(app, namespace="/visitor", auth={"k": NUL, "t": NUL})
    assert not sock.is_connected("/visitor")


def test_a_socket_packet_too_deep_to_parse_still_gets_its_answer(own_database):
    """Through a real server and a raw WebSocket: the parser's own stack is the limit here."""
    server = LiveServer(own_database.app_url)
    try:
        _, site_key = sign_up(server, f"deep{uuid.uuid4().hex[:8]}")
        token = requests.post(
            f"{server.url}/w/api/hello", json={"k": site_key, "url": "https://shop.example/"}
        ).json()["t"]
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", timeout=10
        )
        ws.recv()  # engine.io's open packet
        ws.send("40/visitor," + json.dumps({"k": site_key, "t": token}))
        assert ws.recv().startswith("40/visitor,{")
        ws.send('42/visitor,7["message",' + DEEP + "]")
        answer = ws.recv()
        ws.send('42/visitor,8["message",{"client_id":"after-1","text":"still here"}]')
        after = [ws.recv() for _ in range(3)]
        ws.close()
    finally:
        server.stop()
    assert answer.startswith("43/visitor,7[")
    assert json.loads(answer[len("43/visitor,7") :])[0]["error"] == "json_too_deep"
    assert any(a.startswith("43/visitor,8[") and "still here" in a for a in after)
