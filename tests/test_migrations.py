"""Migrations are the only way the schema changes: they agree with the models, and they go
down and up again cleanly, on the backend under test."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

import app.models  # noqa: F401
from tenants import migrations
from tenants.db import Base, TenantScoped, database_url

from .conftest import create_database, drop_database


def test_one_head():
    script = ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_models_and_migrations_agree(database):
    engine = create_engine(database_url(database.owner_url))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations disagree: write a migration for {diff}"


def test_upgrade_downgrade_upgrade():
    database = create_database("roundtrip")
    try:
        engine = create_engine(database_url(database.owner_url))
        tables = {"tenants", "users", "memberships", "invitations", "plans"}
        assert tables <= set(inspect(engine).get_table_names())
        migrations.downgrade(database.owner_url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrations.upgrade(database.owner_url)
        assert tables <= set(inspect(engine).get_table_names())
        if database.backend == "postgresql":
            with engine.connect() as connection:
                policies = connection.execute(
                    text("SELECT tablename FROM pg_policies WHERE policyname = 'tenant_isolation'")
                ).scalars()
                forced = connection.execute(
                    text(
                        "SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity"
                    )
                ).scalars()
                # every tenant-owned table, and the tenants table itself, is guarded
                owned = {
                    m.local_table.name
                    for m in Base.registry.mappers
                    if issubclass(m.class_, TenantScoped)
                }
                assert set(policies) == set(forced) == owned | {"tenants"}
                # only the platform role (and the owner) may use the cross-tenant switch
                cross = connection.execute(
                    text(
                        "SELECT tablename, roles::text[] FROM pg_policies "
                        "WHERE policyname = 'platform_cross_tenant'"
                    )
                ).all()
                assert {table for table, _ in cross} == owned | {"tenants"}
                assert all(
                    "huike_platform" in roles and "huike_app" not in roles and "public" not in roles
                    for _, roles in cross
                )
        engine.dispose()
    finally:
        drop_database(database)


def test_upgrading_settles_the_duplicates_the_old_chat_code_could_store():
    """Before 0005 a visitor could hold two open chats (first messages racing in) and one
    client id twice (resent after a close). The upgrade keeps the newest chat open and the
    first copy under its client id, deletes nothing, and the database then refuses both."""
    database = create_database("backfill")
    try:
        migrations.downgrade(database.owner_url, "0004")
        engine = create_engine(database_url(database.owner_url))
        table = Base.metadata.tables
        with engine.begin() as connection:

            def add(table_name: str, /, **values) -> int:
                statement = (
                    insert(table[table_name]).values(**values).returning(table[table_name].c.id)
                )
                return connection.execute(statement).scalar()

            connection.execute(
                insert(table["plans"]).values(code="free", name="Free", included_seats=1)
            )
            tenant = add("tenants", name="Old shop", slug="old-shop")
            visitor, other = (add("chat_visitors", tenant_id=tenant, key=k) for k in "ab")
            closed = add(
                "chat_conversations", tenant_id=tenant, visitor_id=visitor, status="closed"
            )
            older = add("chat_conversations", tenant_id=tenant, visitor_id=visitor, status="open")
            newer = add("chat_conversations", tenant_id=tenant, visitor_id=visitor)  # queued
            elsewhere = add("chat_conversations", tenant_id=tenant, visitor_id=other)

            def message(conversation: int, seq: int, client_id: str, sender="visitor") -> int:
                return add(
                    "chat_messages",
                    tenant_id=tenant,
                    conversation_id=conversation,
                    seq=seq,
                    sender=sender,
                    client_id=client_id,
                )

            first = message(closed, 1, "x")
            resent = message(older, 1, "x")  # the same message, stored again after the close
            agents = message(older, 2, "x", sender="agent")
            other_visitors = message(elsewhere, 1, "x")
            later = message(newer, 1, "y")
        migrations.upgrade(database.owner_url)

        conversations, messages = table["chat_conversations"], table["chat_messages"]
        with engine.connect() as connection:
            statuses = dict(
                connection.execute(select(conversations.c.id, conversations.c.status)).all()
            )
            assert statuses == {
                closed: "closed",
                older: "closed",
                newer: "queued",
                elsewhere: "queued",
            }
            rows = connection.execute(
                select(messages.c.id, messages.c.visitor_id, messages.c.client_id)
            )
            assert {row.id: (row.visitor_id, row.client_id) for row in rows} == {
                first: (visitor, "x"),
                resent: (visitor, f"dup:{resent}"),
                agents: (None, "x"),
                other_visitors: (other, "x"),
                later: (visitor, "y"),
            }
        for refused in (
            insert(conversations).values(tenant_id=tenant, visitor_id=visitor, status="open"),
            insert(messages).values(
                tenant_id=tenant,
                conversation_id=newer,
                seq=2,
                sender="visitor",
                visitor_id=visitor,
                client_id="x",
            ),
            insert(messages).values(  # a visitor's message must say whose it is
                tenant_id=tenant, conversation_id=newer, seq=2, sender="visitor", client_id="z"
            ),
        ):
            with engine.begin() as connection, pytest.raises(IntegrityError):
                connection.execute(refused)
        engine.dispose()
    finally:
        drop_database(database)


def test_upgrading_renames_the_quick_reply_shortcuts_an_owner_stored_twice():
    """Before 0012 an owner could store one shortcut twice. The upgrade keeps the first under
    it and the later ones under a shortcut of their own (deleting none); the database then
    refuses a second one, per agent and per shop for shared replies."""
    database = create_database("shortcuts")
    try:
        migrations.downgrade(database.owner_url, "0011")
        engine = create_engine(database_url(database.owner_url))
        table = Base.metadata.tables
        replies = table["chat_quick_replies"]
        with engine.begin() as connection:

            def add(table_name: str, /, **values) -> int:
                statement = (
                    insert(table[table_name]).values(**values).returning(table[table_name].c.id)
                )
                return connection.execute(statement).scalar()

            connection.execute(
                insert(table["plans"]).values(code="free", name="Free", included_seats=1)
            )
            shop, other = (add("tenants", name=n, slug=n) for n in ("a", "b"))
            user = add("users", email="agent@example.com", password_hash="x")
            agent = add("memberships", tenant_id=shop, user_id=user, role="agent")

            def reply(tenant: int, owner: int | None, shortcut: str = "hi") -> int:
                return add(
                    "chat_quick_replies",
                    tenant_id=tenant,
                    owner_id=owner,
                    shortcut=shortcut,
                    text="t",
                )

            shared, shared_again = reply(shop, None), reply(shop, None)
            own, own_again = reply(shop, agent), reply(shop, agent)
            elsewhere = reply(other, None)
        migrations.upgrade(database.owner_url)
        with engine.connect() as connection:
            rows = dict(connection.execute(select(replies.c.id, replies.c.shortcut)).all())
        assert rows == {
            shared: "hi",
            shared_again: f"hi-{shared_again}",
            own: "hi",
            own_again: f"hi-{own_again}",
            elsewhere: "hi",
        }
        for owner in (None, agent):
            with engine.begin() as connection, pytest.raises(IntegrityError):
                connection.execute(
                    insert(replies).values(tenant_id=shop, owner_id=owner, shortcut="hi", text="t")
                )
        engine.dispose()
    finally:
        drop_database(database)
