# ruff: noqa: E402  (the instance folder is set before the app is imported)
"""Test harness: the schema is made once per run by the real migrations, on SQLite or on a
fresh PostgreSQL database (``HUIKE_TEST_DB``); each test runs inside a transaction with
savepoints and is rolled back (SQLAlchemy 2.0: "Joining a Session into an External
Transaction")."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import engineio
import pytest
from argon2 import PasswordHasher, profiles
from flask import Flask
from flask.testing import FlaskClient

# Before the app is imported: nothing of a test run touches the real instance folder.
_INSTANCE = Path(tempfile.mkdtemp(prefix="huike-test-"))
os.environ["HUIKE_INSTANCE"] = str(_INSTANCE)
os.environ.setdefault("SECRET_KEY", "test-secret-key")

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import create_app, edges
from app.api import keys
from app.api.models import ApiKey
from app.calls import records
from app.calls import secrets as call_secrets
from app.calls.models import (
    AgentLine,
    Call,
    CallbackRequest,
    CallConnection,
    CallNumber,
    FollowUpRule,
    Task,
)
from app.chat import service as chat
from app.chat import setup
from app.chat.models import (
    Attachment,
    Conversation,
    Group,
    InvitationRule,
    LeftMessage,
    QuickReply,
    Visitor,
)
from app.crm import service as crm
from app.crm.models import (
    Customer,
    CustomField,
    Import,
    Order,
    SavedFilter,
    TimelineEntry,
)
from app.extensions import limiter, socketio
from app.robot import service as robot_service
from app.robot.models import RobotEntry, RobotImport, RobotQuestion
from tenants import migrations, ratelimit, service
from tenants.db import (
    Base,
    bind_engines,
    bind_tenant,
    cross_tenant,
    database_url,
    db,
    make_engine,
)
from tenants.jobs import drop_queued_jobs, wait_for_jobs
from tenants.models import Membership, Tenant
from tenants.plans import sync_catalog

BACKEND = os.environ.get("HUIKE_TEST_DB", "sqlite")
APP_ROLE = "huike_app"
PLATFORM_ROLE = "huike_platform"
PASSWORD = "correct-horse-9"
# argon2's cheapest parameters in this process: the production cost (~0.2 s a hash, by design)
# was paid four times in every pair of shops a test builds and again at each login. Servers the
# tests start (tests/live.py) keep the production cost.
service._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
# The smallest valid PNG (1x1), for uploads.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Database:
    backend: str
    owner_url: str  # migrations run as the tables' owner
    app_url: str  # the app connects as a role row-level security applies to
    platform_url: str  # cross_tenant() connects as the role whose policies may cross tenants


def _pg_admin_engine():
    return create_engine(
        database_url(
            os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        ),
        isolation_level="AUTOCOMMIT",
    )


def create_database(tag: str) -> Database:
    """A new, migrated database of the backend under test."""
    if BACKEND == "sqlite":
        url = f"sqlite:///{_INSTANCE / f'{tag}.db'}"
        migrations.upgrade(url)
        return Database("sqlite", url, url, url)
    admin = _pg_admin_engine()
    name = f"huike_test_{tag}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        for role in (APP_ROLE, PLATFORM_ROLE):
            if not conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
                # Several test runs share the server: another may have made it meanwhile.
                conn.execute(
                    text(
                        "DO $$ BEGIN "
                        f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS; "
                        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                    )
                )
    admin.dispose()
    owner_url = make_url(str(admin.url)).set(database=name)
    migrations.upgrade(
        owner_url.render_as_string(hide_password=False), APP_ROLE, platform_role=PLATFORM_ROLE
    )
    return Database(
        "postgresql",
        owner_url.render_as_string(hide_password=False),
        owner_url.set(username=APP_ROLE, password=None).render_as_string(hide_password=False),
        owner_url.set(username=PLATFORM_ROLE, password=None).render_as_string(hide_password=False),
    )


def drop_database(database: Database) -> None:
    if database.backend != "postgresql":
        return
    name = make_url(database.owner_url).database
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def database():
    database = create_database("main")
    app_engine = make_engine(database.app_url, platform_role=PLATFORM_ROLE)
    platform_engine = make_engine(database.platform_url)
    bind_engines(app_engine, platform_engine)
    sync_catalog()
    db.commit()
    db.remove()
    yield database
    app_engine.dispose()
    platform_engine.dispose()
    drop_database(database)


@pytest.fixture(scope="module")
def own_database():
    """A database of the module's own, for a live server that commits real shops, which other
    tests on the session's database (the back office's lists of every shop) must not see."""
    database = create_database(uuid.uuid4().hex[:6])
    engine = make_engine(database.app_url)
    with Session(engine) as session:
        sync_catalog(session)
        session.commit()
    engine.dispose()
    yield database
    drop_database(database)


@pytest.fixture(scope="module")
def owner_engine(own_database):
    """Reads and writes behind the server's back, as the tables' owner (on PostgreSQL the
    admin role, which row security does not filter)."""
    engine = create_engine(database_url(own_database.owner_url))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def engine(database):
    """The one connection a test runs in, rolled back at its end, is the platform role's: the
    app role's connection and the platform's could not see each other's uncommitted rows. The
    same statements go through both roles' engines in the server processes (tests/live.py),
    and tests/tenants/test_roles.py proves what the app role alone cannot do."""
    engine = make_engine(database.platform_url)
    yield engine
    engine.dispose()


class EnglishClient(FlaskClient):
    """Tests read the English words unless they ask for another language."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def make_test_app(**overrides):
    config = {
        "TESTING": True,
        "DB_ENGINE_BOUND": True,
        "ASYNC_MODE": "threading",
        "REDIS_URL": None,  # in-process sockets; tests/test_chat_processes.py runs Redis
        "AGENT_HEARTBEAT_SECONDS": 0,  # no background thread on the test's one connection
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "OUTBOX_DIR": str(_INSTANCE / f"outbox-{uuid.uuid4().hex[:6]}"),
        "SERVER_NAME": "huike.test",
        "LOG_JSON": False,
        "LOG_LEVEL": "WARNING",
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = EnglishClient
    return app


@pytest.fixture(scope="session")
def app(engine):
    return make_test_app()


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    limiter.reset()
    with app.app_context():
        ratelimit.reset()


@pytest.fixture(autouse=True)
def _sockets_serve_the_test_app(app):
    """A test that made an app of its own took the one Socket.IO server: hand it back."""
    # init_app wraps app.wsgi_app in its middleware each time: unwrap the last one first, or
    # every request of a long run goes through hundreds of layers (a RecursionError at last)
    while isinstance(app.wsgi_app, engineio.WSGIApp):
        app.wsgi_app = app.wsgi_app.wsgi_app
    socketio.init_app(
        app,
        async_mode="threading",
        # an app made with REDIS_URL (tests/jobs) left its Redis queue behind: none here
        message_queue=None,
        client_manager=None,
        manage_session=False,
        cors_allowed_origins="*",
        json=edges.SocketJSON,
    )


@pytest.fixture
def dbsession(engine):
    """Everything a test writes, through the app too, is rolled back at its end."""
    connection = engine.connect()
    outer = connection.begin()
    db.remove()
    db.configure(bind=connection, join_transaction_mode="create_savepoint")
    yield db
    db.remove()
    outer.rollback()
    connection.close()
    bind_engines(engine)


@pytest.fixture(autouse=True)
def nothing_of_earlier_tests():
    """Rolled back rows leave their ids free for the next test: forget the jobs queued for
    them and the robot's indexes built from them (cached by shop id and version)."""
    drop_queued_jobs()
    robot_service.indexes.clear()


@pytest.fixture
def client(app, dbsession):
    # No app context around the test: each request gets its own, as in production
    # (a shared one would keep Flask-Login's cached user and ``g`` across requests).
    return app.test_client()


@pytest.fixture
def outbox(app):
    path = Path(app.config["OUTBOX_DIR"])

    class Outbox:
        def messages(self):
            import email

            wait_for_jobs()  # mail is sent by a job after its request's commit
            return [email.message_from_bytes(p.read_bytes()) for p in sorted(path.glob("*.eml"))]

        def last_body(self) -> str:
            return self.messages()[-1].get_payload(decode=True).decode()

    for old in path.glob("*.eml"):
        old.unlink()
    return Outbox()


def login(client, member: Membership) -> None:
    """Sign ``member`` in on ``client`` (as the login form would)."""
    from app.accounts.identity import Principal

    with client.session_transaction() as sess:
        sess["_user_id"] = Principal(member).get_id()
        sess["_fresh"] = True


@dataclass
class Shop:
    tenant: Tenant
    owner: Membership
    agent: Membership
    invitation_token: str
    visitor: Visitor
    conversation: Conversation
    attachment: Attachment
    left_message: LeftMessage
    quick_reply: QuickReply
    group: Group
    rule: InvitationRule
    # CRM: the chatting visitor is a known customer with an order, a note and a saved filter
    customer: Customer
    order: Order
    note: TimelineEntry
    custom_field: CustomField
    saved_filter: SavedFilter
    api_key: ApiKey
    api_token: str
    crm_import: Import  # uploaded, waiting for its column mapping
    # Calls: a signed generic hook with one number, a missed call from the customer's phone,
    # a callback request from the visitor, a follow-up task and a follow-up rule
    call_connection: CallConnection
    call_secret: str
    call_number: CallNumber
    call: Call
    callback: CallbackRequest
    task: Task
    follow_up_rule: FollowUpRule
    agent_line: AgentLine  # the owner's extension and phone
    # Robot: a knowledge-base entry, and a question it could not answer (the unanswered log)
    robot_entry: RobotEntry
    robot_question: RobotQuestion
    robot_import: RobotImport  # a knowledge-base CSV uploaded, waiting for its confirmation


def make_shop(label: str, app: Flask) -> Shop:
    """A shop with its owner and one agent who accepted an invitation, committed."""
    bind_tenant(None)
    owner = service.signup(
        f"Shop {label}", f"owner-{label}@example.com", PASSWORD, name=f"Owner {label}"
    )
    agent, token = service.invite(owner, f"agent-{label}@example.com")
    service.accept_invitation(token, PASSWORD, name=f"Agent {label}")
    # A pending invitation, so a foreign invitation id exists to probe.
    pending, pending_token = service.invite(owner, f"pending-{label}@example.com")
    # A visitor who chatted and sent a picture.
    visitor = chat.record_page_view(None, f"https://shop-{label}.example/item?utm_source=ad")
    attachment = Attachment(
        visitor_id=visitor.id,
        name="p.png",
        content_type="image/png",
        size=len(PNG),
        storage_key=f"{uuid.uuid4().hex}.png",
    )
    db.add(attachment)
    db.flush()
    folder = _INSTANCE / "uploads" / str(owner.tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / attachment.storage_key).write_bytes(PNG)
    _, conversation, _, _ = chat.visitor_message(visitor, "c-1", f"hello from {label}")
    chat.visitor_message(visitor, "c-2", "", attachment_id=attachment.id)
    left = chat.leave_message(visitor, f"Buyer {label}", "call me", phone="13800000000")
    reply = setup.add_quick_reply(owner, f"hi{label}", "Hello!", shared=True)
    group = setup.add_group(f"Sales {label}", "", [agent.id])
    rule = setup.add_invitation_rule("*/checkout*", "30", "Need help paying?")
    field = crm.save_custom_field(None, "level", "Level", "choice", ["gold", "silver"])
    customer = crm.save_customer(
        None,
        {
            "name": f"Buyer {label}",
            "external_id": f"user-{label}",
            "phones": ["13800000000"],
            "emails": [f"buyer-{label}@example.com"],
            "tags": ["vip"],
            "fields": {"level": "gold"},
        },
    )
    crm.link_visitor(visitor, customer)
    order, _ = crm.upsert_order(
        {"order_id": f"SO-{label}", "total": "99.50", "customer": {"external_id": f"user-{label}"}}
    )
    note = crm.add_note(customer, owner.id, f"likes green tea ({label})")
    saved = SavedFilter(name="VIP", query={"tag": "vip"}, created_by_id=owner.id)
    db.add(saved)
    api_key, api_token = keys.create_key(f"Shop {label} server", owner.id)
    crm_import = Import(
        kind="customers",
        filename=f"customers-{label}.csv",
        content=f"Name,Phone\nImported {label},13900000001\n",
        created_by_id=owner.id,
    )
    db.add(crm_import)
    calls = make_calls(label, app, owner, visitor, customer)
    robot = make_robot(label, conversation)
    db.commit()
    bind_tenant(None)
    return Shop(
        owner.tenant,
        owner,
        agent,
        pending_token,
        visitor,
        conversation,
        attachment,
        left,
        reply,
        group,
        rule,
        customer,
        order,
        note,
        field,
        saved,
        api_key,
        api_token,
        crm_import,
        *calls,
        *robot,
    )


def make_robot(label: str, conversation: Conversation) -> tuple:
    entry = RobotEntry(
        external_id=f"faq-{label}",
        question=f"Do you ship to {label}-land?",
        alternatives=["delivery abroad"],
        answer="Yes, in 7 days.",
        category="shipping",
    )
    question = RobotQuestion(
        channel="chat",
        question=f"can I pay with {label}-coins?",
        decision="handover",
        reason="out_of_scope",
        conversation_id=conversation.id,
    )
    upload = RobotImport(
        filename=f"faq-{label}.csv",
        content=f"question,answer\nDo you sell {label} tea?,Yes.\n",
    )
    db.add_all([entry, question, upload])
    db.flush()
    return entry, question, upload


def make_calls(
    label: str, app: Flask, owner: Membership, visitor: Visitor, customer: Customer
) -> tuple:
    """The shop's calls rows (``make_shop``): what a cross-tenant walk probes."""
    secret = f"whsec-{label}-{uuid.uuid4().hex}"
    connection = CallConnection(
        kind="generic",
        name=f"PBX {label}",
        token=uuid.uuid4().hex,
        secret_enc=call_secrets.encrypt(secret, app.config),
    )
    db.add(connection)
    db.flush()
    number = CallNumber(connection_id=connection.id, e164="+862160000000", token=uuid.uuid4().hex)
    db.add(number)
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    for event, minutes in (("ringing", 0), ("ended", 1)):
        call = records.record(
            connection,
            records.ProviderEvent(
                call_ref=f"call-{label}",
                event=event,
                occurred_at=at + timedelta(minutes=minutes),
                from_number="13800000000",
                to_number="+862160000000",
                cause="noAnswer" if event == "ended" else "",
            ),
        )
    callback = CallbackRequest(visitor_id=visitor.id, phone="+8613800000000", ip="192.0.2.1")
    rule = FollowUpRule(order_status="shipped", days=7, title="How was the tea?")
    db.add_all([callback, rule])
    db.flush()
    task = Task(
        kind="follow_up",
        title=f"Call {label} about the sample",
        customer_id=customer.id,
        phone="+8613800000000",
        assignee_id=owner.id,
        created_by_id=owner.id,
    )
    db.add(task)
    line = AgentLine(membership_id=owner.id, extension="701", phone="+8613900000701")
    db.add(line)
    db.flush()
    return connection, secret, number, call, callback, task, rule, line


def set_tenant(shop: Shop, **fields) -> None:
    """Change a shop's row as platform code would (plan, trial, overrides), committed."""
    with cross_tenant():
        tenant = db.get(Tenant, shop.tenant.id)
        for name, value in fields.items():
            setattr(tenant, name, value)
        db.commit()
    shop.tenant = tenant


@dataclass
class TwoTenants:
    a: Shop
    b: Shop


@pytest.fixture
def two_tenants(app, dbsession) -> TwoTenants:
    with app.app_context():  # as a request's: listeners queue jobs
        shops = TwoTenants(make_shop("a", app), make_shop("b", app))
    # leaving the context ended the session: the test goes on with the shops' rows in the next
    for shop in (shops.a, shops.b):
        for field in fields(shop):
            if isinstance(getattr(shop, field.name), Base):
                db.add(getattr(shop, field.name))
    return shops
