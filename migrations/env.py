"""Alembic environment: one metadata for every module; grants for the app's and the platform's
database roles."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool, text

import app.models  # noqa: F401  (registers every table)
from app.config import from_env
from tenants.db import Base, database_url

config = context.config
if config.config_file_name and not config.attributes.get("url"):
    fileConfig(config.config_file_name)

url = (
    config.attributes.get("url")
    or context.get_x_argument(as_dictionary=True).get("url")
    or from_env()["MIGRATIONS_DATABASE_URL"]
)
app_role = config.attributes.get("app_role")
platform_role = config.attributes.get("platform_role")


def grant_roles(connection) -> None:
    """The app's and the platform's roles may read and write rows, never own the tables
    (owners skip RLS). Which rows each sees is the policies' business (tenants/rls.py)."""
    for role in (app_role, platform_role):
        grant_role(connection, role)


def grant_role(connection, role_name: str | None) -> None:
    if connection.dialect.name != "postgresql" or not role_name:
        return
    exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role_name})
    if not exists:
        return
    role = connection.dialect.identifier_preparer.quote(role_name)
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    connection.execute(
        text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    )
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(database_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            grant_roles(connection)
        connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
