"""The tenant filter holds by construction, and on PostgreSQL row-level security holds too."""

import pytest
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from tenants.db import bind_tenant, cross_tenant, db, keep_for_unit, scoped_get, scoped_get_once
from tenants.models import Invitation, Membership, Tenant, User

from ..conftest import BACKEND, login


def member_emails() -> set[str]:
    return {m.user.email for m in db.scalars(select(Membership))}


def test_two_tenants_one_after_the_other_in_one_process(two_tenants):
    a, b = two_tenants.a, two_tenants.b
    for _ in range(3):  # the cached statement must not keep an earlier tenant
        bind_tenant(a.tenant.id)
        assert member_emails() == {
            "owner-a@example.com",
            "agent-a@example.com",
            "pending-a@example.com",
        }
        bind_tenant(b.tenant.id)
        assert member_emails() == {
            "owner-b@example.com",
            "agent-b@example.com",
            "pending-b@example.com",
        }


def test_unbound_session_sees_no_tenant_rows(two_tenants):
    bind_tenant(None)
    assert db.scalars(select(Membership)).all() == []
    assert db.scalar(select(func.count()).select_from(Invitation)) == 0
    assert db.scalars(select(Tenant)).all() == []


def test_joins_and_aliases_are_filtered(two_tenants):
    bind_tenant(two_tenants.b.tenant.id)
    rows = db.execute(
        select(Invitation.id, Membership.tenant_id).join(
            Membership, Invitation.membership_id == Membership.id
        )
    ).all()
    assert rows and {tenant for _, tenant in rows} == {two_tenants.b.tenant.id}


def test_foreign_id_is_not_found(two_tenants):
    bind_tenant(two_tenants.b.tenant.id)
    assert scoped_get(Membership, two_tenants.a.agent.id) is None
    assert scoped_get(Membership, two_tenants.b.agent.id).user.email == "agent-b@example.com"


def statements(fn):
    """What ``fn()`` returns, and how many SQL statements it sent."""
    sent = []

    def seen(*_):
        sent.append(1)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        return fn(), len(sent)
    finally:
        event.remove(Engine, "before_cursor_execute", seen)


def test_a_row_read_once_per_transaction_is_the_bound_tenants_only(two_tenants):
    a, b = two_tenants.a, two_tenants.b
    bind_tenant(a.tenant.id)
    shop, sent = statements(lambda: scoped_get_once(Tenant, a.tenant.id))
    assert shop.id == a.tenant.id and sent > 0
    assert statements(lambda: scoped_get_once(Tenant, a.tenant.id)) == (shop, 0)

    bind_tenant(b.tenant.id)  # another binding reads afresh, through the filter
    assert scoped_get_once(Tenant, a.tenant.id) is None
    with cross_tenant():
        foreign = db.scalar(select(Membership).where(Membership.id == a.agent.id))
    keep_for_unit(foreign)  # not kept: it is shop A's
    assert scoped_get_once(Membership, a.agent.id) is None

    bind_tenant(a.tenant.id)
    db.commit()  # the next transaction reads again
    again, sent = statements(lambda: scoped_get_once(Tenant, a.tenant.id))
    assert again is shop and sent > 0


def test_bulk_update_and_delete_stay_in_tenant(two_tenants):
    bind_tenant(two_tenants.b.tenant.id)
    db.execute(update(Membership).values(role="admin"))
    db.execute(delete(Invitation))
    db.commit()  # the platform role's connection sees what the app role's committed
    with cross_tenant():
        a_roles = set(
            db.scalars(
                select(Membership.role).where(Membership.tenant_id == two_tenants.a.tenant.id)
            )
        )
        a_invitations = db.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(Invitation.tenant_id == two_tenants.a.tenant.id)
        )
    assert a_roles == {"owner", "agent"}
    assert a_invitations == 2


def test_new_rows_get_the_bound_tenant(two_tenants):
    bind_tenant(two_tenants.b.tenant.id)
    with cross_tenant():
        user = User(email="new@example.com")
        db.add(user)
        db.flush()
    member = Membership(user=user, role="agent", status="invited")
    db.add(member)
    db.flush()
    assert member.tenant_id == two_tenants.b.tenant.id


def test_writing_into_another_tenant_is_refused(two_tenants):
    bind_tenant(two_tenants.b.tenant.id)
    with cross_tenant():
        user = User(email="intruder@example.com")
        db.add(user)
        db.flush()
    db.add(Membership(user=user, tenant_id=two_tenants.a.tenant.id, role="agent"))
    with pytest.raises(RuntimeError, match="another tenant"):
        db.flush()
    db.rollback()


def test_new_row_without_a_tenant_is_refused(dbsession):
    bind_tenant(None)
    db.add(Membership(user_id=1, role="agent"))
    with pytest.raises(RuntimeError, match="no tenant bound"):
        db.flush()
    db.rollback()


postgres_only = pytest.mark.skipif(
    BACKEND != "postgresql", reason="row-level security is PostgreSQL's"
)


@postgres_only
def test_app_role_cannot_bypass_row_security(dbsession):
    flags = db.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    ).one()
    assert tuple(flags) == (False, False)


@postgres_only
def test_raw_sql_under_tenant_b_sees_none_of_a(two_tenants):
    a_id, b_id = two_tenants.a.tenant.id, two_tenants.b.tenant.id
    bind_tenant(b_id)
    for table in ("memberships", "invitations"):
        seen = db.execute(text(f"SELECT DISTINCT tenant_id FROM {table}")).scalars().all()
        assert seen == [b_id], table
        foreign = db.execute(
            text(f"SELECT count(*) FROM {table} WHERE tenant_id = :a"), {"a": a_id}
        ).scalar()
        assert foreign == 0, table
    assert db.execute(text("SELECT id FROM tenants")).scalars().all() == [b_id]
    with cross_tenant():  # the explicit platform context sees both
        both = db.execute(text("SELECT DISTINCT tenant_id FROM memberships")).scalars().all()
        assert {a_id, b_id} <= set(both)


@postgres_only
def test_raw_sql_write_into_tenant_a_is_refused_by_the_database(two_tenants):
    bind_tenant(two_tenants.b.tenant.id)
    savepoint = db.begin_nested()
    with pytest.raises(DBAPIError, match="row-level security"):
        db.execute(
            text(
                "INSERT INTO memberships (tenant_id, user_id, role, status, created_at) "
                "VALUES (:t, :u, 'admin', 'active', now())"
            ),
            {"t": two_tenants.a.tenant.id, "u": two_tenants.b.owner.user_id},
        )
    savepoint.rollback()
    updated = db.execute(
        text("UPDATE memberships SET role = 'admin' WHERE tenant_id = :t"),
        {"t": two_tenants.a.tenant.id},
    )
    assert updated.rowcount == 0


@postgres_only
def test_unbound_raw_sql_sees_nothing(two_tenants):
    bind_tenant(None)
    assert db.execute(text("SELECT count(*) FROM memberships")).scalar() == 0


@postgres_only
def test_app_refuses_to_connect_as_a_role_that_skips_row_security(database):
    from tenants.db import make_engine

    engine = make_engine(database.owner_url)  # the migrations' superuser
    with pytest.raises(RuntimeError, match="skips row-level security"):
        engine.connect()
    engine.dispose()


def test_an_id_no_database_integer_holds_is_simply_not_found(client, two_tenants):
    login(client, two_tenants.a.owner)
    assert client.post("/console/members/99999999999999999999/disable").status_code == 404
    assert client.get("/console/customers/99999999999999999999").status_code == 404
