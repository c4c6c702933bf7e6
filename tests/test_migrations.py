"""Migrations are the only way the schema changes: they agree with the models, and they go
down and up again cleanly, on the backend under test."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

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
