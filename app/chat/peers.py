"""Who is on each socket of this worker, the rooms they join, and the sockets that must go.

A socket's identity is checked once at connect and kept in ``PEERS``. When that identity loses
its right (a member disabled, a log-out or password reset, a shop suspended), every worker
disconnects its matching sockets at once: the change is published on Redis when workers share
it, else handled in this process.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

import redis
from flask import current_app, has_app_context

from app.extensions import socketio
from tenants.db import after_commit
from tenants.signals import access_revoked

log = logging.getLogger("huike.chat")
VISITOR, AGENT = "/visitor", "/agent"
LISTENER = "huike-access-revoked"  # the subscription's client name (+ the pid) in CLIENT LIST


@dataclass
class Peer:
    tenant_id: int
    kind: str  # "visitor" | "agent"
    ident: int  # visitor id or membership id
    token: str = ""
    lang: str = "en"
    country: str = "CN"  # the shop's, read at connect: its messages' phone numbers are read in it
    # a visitor's open conversation as last seen on this socket: their next message goes
    # straight to it (the store checks it is still open, else takes the long way)
    conversation_id: int | None = None
    sid: str = ""
    user_id: int = 0  # an agent's person, and the session version they connected with
    session_version: int = 0


PEERS: dict[tuple[str, str], Peer] = {}  # (namespace, sid) -> who is on that socket
_listening: list = []  # this worker's subscription to revocations, started with its first socket


def agents_room(tenant_id: int) -> str:
    return f"t:{tenant_id}:agents"


def member_room(tenant_id: int, membership_id: int) -> str:
    """One agent's sockets (every tab and device): what is for them alone, like a call's card."""
    return f"t:{tenant_id}:member:{membership_id}"


def visitor_room(tenant_id: int, visitor_id: int) -> str:
    return f"t:{tenant_id}:visitor:{visitor_id}"


def conversation_room(tenant_id: int, conversation_id: int) -> str:
    return f"t:{tenant_id}:conv:{conversation_id}"


def emit_after_commit(event: str, data: dict, room: str, namespace: str) -> None:
    """Tell a room once the unit of work has committed: never about a change rolled back, and
    never from inside a transaction (an emit through the message queue may yield)."""
    after_commit(lambda: socketio.emit(event, data, to=room, namespace=namespace))


def _revoked(namespace: str, peer: Peer, scope: dict) -> bool:
    if scope.get("user_id") is not None:
        return namespace == AGENT and peer.user_id == scope["user_id"]
    if peer.tenant_id != scope.get("tenant_id"):
        return False
    if scope.get("membership_id") is not None:
        return namespace == AGENT and peer.ident == scope["membership_id"]
    return True  # the whole shop


def disconnect_revoked(scope: dict) -> int:
    """Disconnect this worker's sockets that ``scope`` names; how many there were."""
    gone = [key for key, peer in list(PEERS.items()) if _revoked(key[0], peer, scope)]
    for namespace, sid in gone:
        socketio.server.disconnect(sid, namespace=namespace)
    if gone:
        log.info("sockets disconnected", extra={"count": len(gone), **scope})
    return len(gone)


def _channel(client: redis.Redis) -> str:
    """Per database number: channels are not, and two installations may share a server."""
    return f"huike:{client.connection_pool.connection_kwargs.get('db', 0)}:access-revoked"


def _publish(redis_url: str | None, scope: dict) -> None:
    if redis_url:
        client = redis.Redis.from_url(redis_url)
        client.publish(_channel(client), json.dumps(scope))
    else:  # one process: its own sockets are all there are
        socketio.start_background_task(disconnect_revoked, scope)


@access_revoked.connect
def _on_access_revoked(_sender, **scope) -> None:
    if not has_app_context():  # a script without the app: it holds no sockets
        return
    redis_url = current_app.config["REDIS_URL"]
    after_commit(lambda: _publish(redis_url, scope))


def _listen(redis_url: str) -> None:
    while True:  # a lost Redis connection is taken up again (meanwhile events re-check)
        try:
            client = redis.Redis.from_url(redis_url, client_name=f"{LISTENER}-{os.getpid()}")
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(_channel(client))
            for message in pubsub.listen():
                _apply(message["data"])
        except Exception:  # Redis lost, or anything else: this worker must keep listening
            log.exception("access revocations: subscribing again")
            socketio.sleep(1)


def _apply(data: bytes) -> None:
    try:
        disconnect_revoked(json.loads(data))
    except Exception:  # one bad message must not end this worker's listening
        log.exception("access revocation not applied")


def start_listening() -> None:
    """With Redis, this worker hears every worker's revocations (started with its first socket;
    an event on a socket connected before that is re-checked anyway)."""
    redis_url = current_app.config["REDIS_URL"]
    if redis_url and not _listening:
        _listening.append(socketio.start_background_task(_listen, redis_url))
