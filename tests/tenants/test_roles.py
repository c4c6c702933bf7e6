"""The app's database role cannot cross tenants, whatever its SQL says; only the platform
role can, and ``cross_tenant()`` is what connects as it (issue 9, finding 5).

These tests need rows both roles' own connections can see, so they commit them to a database
of their own rather than in the rolled-back transaction the other tests share."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from billing.backoffice.queries import TenantFilters, list_tenants
from tenants import service
from tenants.db import bind_engines, bind_tenant, cross_tenant, database_url, db, make_engine
from tenants.models import Membership, Tenant
from tenants.plans import sync_catalog

from ..conftest import BACKEND, PASSWORD, PLATFORM_ROLE, create_database, drop_database

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql", reason="database roles and row-level security are PostgreSQL's"
)


@pytest.fixture(scope="module")
def shops():
    """A database with two shops, committed: (database, shop A's id, shop B's id); the session
    bound to it as the app binds it, the app role's engine and the platform role's."""
    database = create_database("roles")
    app_engine = make_engine(database.app_url, platform_role=PLATFORM_ROLE)
    platform_engine = make_engine(database.platform_url)
    before = db.session_factory.kw.get("bind")
    db.remove()
    bind_engines(app_engine, platform_engine)
    try:
        sync_catalog()
        db.commit()
        ids = []
        for label in ("a", "b"):
            owner = service.signup(f"Shop {label}", f"owner-{label}@example.com", PASSWORD)
            ids.append(owner.tenant_id)
            db.commit()
        db.remove()
        yield database, *ids
    finally:
        db.remove()
        bind_engines(app_engine)  # forget the pair
        db.configure(bind=before)
        app_engine.dispose()
        platform_engine.dispose()
        drop_database(database)


def raw(url: str):
    """A plain connection as that URL's role, as injected SQL would have it."""
    return create_engine(database_url(url))


def test_the_app_role_ignores_the_switch_for_its_session(shops):
    database, a, b = shops
    engine = raw(database.app_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT current_user")) == "huike_app"
        conn.execute(text("SELECT set_config('app.cross_tenant', 'on', false)"))
        conn.execute(text("SELECT set_config('app.tenant_id', :t, false)"), {"t": str(a)})
        conn.commit()  # a session-wide setting outlives the transaction that made it
        assert conn.scalar(text("SHOW app.cross_tenant")) == "on"
        assert conn.scalars(text("SELECT id FROM tenants")).all() == [a]
        seen = conn.scalars(text("SELECT DISTINCT tenant_id FROM memberships")).all()
        assert seen == [a]
        conn.execute(text("SELECT set_config('app.tenant_id', '', false)"))
        assert conn.scalars(text("SELECT id FROM tenants")).all() == []
        assert conn.scalar(text("SELECT count(*) FROM memberships")) == 0
    engine.dispose()


def test_the_app_role_ignores_the_switch_inside_a_transaction(shops):
    database, a, b = shops
    engine = raw(database.app_url)
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT set_config('app.cross_tenant', 'on', true), "
                "set_config('app.tenant_id', :t, true)"
            ),
            {"t": str(b)},
        )
        assert conn.scalars(text("SELECT id FROM tenants")).all() == [b]
        rows = conn.execute(text("SELECT tenant_id, user_id FROM memberships")).all()
        assert {tenant for tenant, _ in rows} == {b}
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(
                text(
                    "INSERT INTO memberships (tenant_id, user_id, role, status, created_at) "
                    "VALUES (:a, :u, 'owner', 'active', now())"
                ),
                {"a": a, "u": rows[0].user_id},
            )
        conn.rollback()
    engine.dispose()


def test_the_platform_role_crosses_only_when_switched(shops):
    database, a, b = shops
    engine = raw(database.platform_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a)})
        assert conn.scalars(text("SELECT id FROM tenants")).all() == [a]
        conn.execute(text("SELECT set_config('app.cross_tenant', 'on', true)"))
        assert set(conn.scalars(text("SELECT id FROM tenants"))) == {a, b}
        conn.rollback()
    engine.dispose()


def test_cross_tenant_connects_as_the_platform_role(shops):
    _database, a, b = shops
    bind_tenant(a)
    assert db.scalar(text("SELECT current_user")) == "huike_app"
    with cross_tenant():
        assert db.scalar(text("SELECT current_user")) == PLATFORM_ROLE
        assert set(db.scalars(select(Tenant.id))) == {a, b}
    # a block that only read: the shop's own work goes on as the app role
    assert db.scalar(text("SELECT current_user")) == "huike_app"
    assert db.scalars(select(Tenant.id)).all() == [a]
    db.execute(text("SELECT set_config('app.cross_tenant', 'on', true)"))
    assert db.scalars(text("SELECT id FROM tenants")).all() == [a]
    db.rollback()


def test_the_back_office_lists_every_shop(shops):
    _database, a, b = shops
    bind_tenant(None)
    with cross_tenant():
        rows = list_tenants(TenantFilters())
    assert {row.tenant.id for row in rows} == {a, b}
    assert {row.owner_email for row in rows} == {"owner-a@example.com", "owner-b@example.com"}
    db.rollback()


def test_a_platform_write_keeps_the_transaction_on_the_platform_role(shops):
    _database, a, _b = shops
    bind_tenant(a)
    owner = db.scalar(select(Membership).where(Membership.role == "owner"))
    with cross_tenant():
        db.get(Tenant, a).name = "Shop a, renamed"
        db.flush()
    # what follows may refer to what the block wrote, so it runs where that row is visible
    assert db.scalar(text("SELECT current_user")) == PLATFORM_ROLE
    assert db.scalars(select(Membership.id)).all() == [owner.id]  # still one shop's rows
    db.rollback()
    assert db.scalar(text("SELECT current_user")) == "huike_app"  # the next transaction
    db.rollback()


def test_platform_work_after_the_app_roles_writes_is_refused(shops):
    _database, a, _b = shops
    bind_tenant(a)
    db.get(Tenant, a).name = "Shop a, renamed"
    db.flush()
    with pytest.raises(RuntimeError, match="wrote as the app's role"), cross_tenant():
        pass
    db.rollback()


def test_the_app_engine_refuses_the_platform_role(shops):
    database = shops[0]
    engine = make_engine(database.platform_url, platform_role=PLATFORM_ROLE)
    with pytest.raises(RuntimeError, match="platform role"):
        engine.connect()
    engine.dispose()
