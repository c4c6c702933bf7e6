"""``flask --app app huike …``: set-up commands (migrate, catalog, demo shop)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from tenants import migrations
from tenants.db import cross_tenant, db
from tenants.models import User
from tenants.plans import sync_catalog
from tenants.service import signup

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo12345"

huike = AppGroup("huike", help="Huike set-up commands.")


@huike.command("migrate")
def migrate() -> None:
    """Bring the database schema to the newest migration."""
    migrations.upgrade(
        current_app.config["MIGRATIONS_DATABASE_URL"], current_app.config["DB_APP_ROLE"]
    )


@huike.command("catalog")
def catalog() -> None:
    """Load the plan catalog into the database."""
    sync_catalog()
    db.commit()


@huike.command("demo")
def demo() -> None:
    """Create the demo shop if it is missing."""
    with cross_tenant():
        exists = db.scalar(select(User.id).where(User.email == DEMO_EMAIL))
    if exists is None:
        signup("Demo Shop", DEMO_EMAIL, DEMO_PASSWORD, name="Demo Owner", locale="zh_CN")
        db.commit()
    click.echo(f"Demo shop: log in as {DEMO_EMAIL} / {DEMO_PASSWORD}")


@huike.command("init")
@click.pass_context
def init(ctx: click.Context) -> None:
    """Everything a fresh try-out needs: schema, catalog, demo shop."""
    ctx.invoke(migrate)
    ctx.invoke(catalog)
    ctx.invoke(demo)
