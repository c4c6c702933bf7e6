"""Running the Alembic migrations (``migrations/`` at the project root) from code."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(
    url: str, app_role: str | None = None, platform_role: str | None = None
) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = url
    config.attributes["app_role"] = app_role
    # None: DB_PLATFORM_ROLE from the environment (the policies name it; tenants/rls.py)
    config.attributes["platform_role"] = platform_role
    return config


def upgrade(
    url: str,
    app_role: str | None = None,
    revision: str = "head",
    platform_role: str | None = None,
) -> None:
    command.upgrade(alembic_config(url, app_role, platform_role), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
