"""The ceiling of the stack: python-socketio on eventlet, no Flask, no database. Per visitor
message it does the socket work Huike does (ack, a copy to the sender, message + preview to
the agents' room), so chat_load.py can report Huike's rate as a share of this one."""

import eventlet

eventlet.monkey_patch()

import itertools  # noqa: E402
import os  # noqa: E402

import eventlet.wsgi  # noqa: E402
import socketio  # noqa: E402

from tenants import collector  # noqa: E402

sio = socketio.Server(async_mode="eventlet", cors_allowed_origins="*")
ids = itertools.count(1)


def health(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@sio.on("connect", namespace="/agent")
def agent_connect(sid, environ, auth=None):
    sio.enter_room(sid, "agents", namespace="/agent")


@sio.on("connect", namespace="/visitor")
def visitor_connect(sid, environ, auth=None):
    return True


@sio.on("message", namespace="/visitor")
def message(sid, data):
    n = next(ids)
    text = data.get("text")
    msg = {"id": n, "seq": n, "client_id": data.get("client_id"), "sender": "visitor", "text": text}
    sio.emit("message", msg, to="agents", namespace="/agent")
    sio.emit("message", msg, to=sid, namespace="/visitor")
    sio.emit("preview", {"conversation_id": 0, "text": ""}, to="agents", namespace="/agent")
    return {"message": msg}


if __name__ == "__main__":
    collector.tune()  # as wsgi.py does, so the ratio compares like with like
    listener = eventlet.listen(("127.0.0.1", int(os.environ.get("PORT", "5000"))))
    app = socketio.WSGIApp(sio, health)
    max_size = int(os.environ.get("MAX_CONNECTIONS", "1024"))
    eventlet.wsgi.server(listener, app, log_output=False, max_size=max_size)
