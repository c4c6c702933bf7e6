"""The plan catalog and the one place a tenant's entitlements are computed."""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenants.db import cross_tenant, db, utcnow
from tenants.models import Plan, Tenant

PAID_FEATURES = ("calls", "crm", "robot", "analytics")
CATALOG_PATH = Path(__file__).with_name("catalog.toml")


def sync_catalog(session: Session | None = None, path: Path = CATALOG_PATH) -> list[Plan]:
    """Upsert the catalog file into the ``plans`` table (idempotent; run at set-up)."""
    session = session or db()
    entries = tomllib.loads(path.read_text(encoding="utf-8"))["plans"]
    plans = []
    with cross_tenant(session):
        for position, entry in enumerate(entries):
            plan = session.get(Plan, entry["code"]) or Plan(code=entry["code"])
            plan.name = entry["name"]
            plan.features = sorted(entry.get("features", []))
            plan.included_seats = entry["included_seats"]
            plan.price_per_seat_year = entry.get("price_per_seat_year", 0)
            plan.currency = entry.get("currency", "CNY")
            plan.stripe_price_id = os.environ.get(entry.get("stripe_price_env", "")) or None
            plan.trial_days = entry.get("trial_days", 0)
            plan.trial_seats = entry.get("trial_seats", 0)
            plan.position = position
            session.add(plan)
            plans.append(plan)
        session.flush()
    return plans


def catalog(session: Session | None = None) -> list[Plan]:
    return list((session or db()).scalars(select(Plan).order_by(Plan.position)))


def default_plan(session: Session | None = None) -> Plan:
    """Where a shop lands with nothing paid: the catalog's first free plan."""
    return next(p for p in catalog(session) if p.price_per_seat_year == 0)


def trial_plan(session: Session | None = None) -> Plan | None:
    """The plan a new shop tries for free: the first in the catalog that offers a trial."""
    return next((p for p in catalog(session) if p.trial_days > 0), None)


@dataclass(frozen=True)
class Entitlements:
    plan: Plan
    features: frozenset[str]
    seat_limit: int
    trial_ends_at: datetime | None
    now: datetime

    @property
    def trialing(self) -> bool:
        return self.trial_ends_at is not None and self.trial_ends_at > self.now

    @property
    def trial_days_left(self) -> int:
        if not self.trialing:
            return 0
        return math.ceil((self.trial_ends_at - self.now).total_seconds() / 86400)

    def has(self, feature: str) -> bool:
        return feature in self.features


def entitlements(
    tenant: Tenant, now: datetime | None = None, session: Session | None = None
) -> Entitlements:
    """Plan + trial + staff overrides -> what this tenant may use now. The only such function."""
    session = session or db()
    now = now or utcnow()
    trialing = tenant.trial_ends_at is not None and tenant.trial_ends_at > now
    if trialing and tenant.trial_plan_code:
        plan = session.get(Plan, tenant.trial_plan_code)
        seat_limit = max(plan.trial_seats, plan.included_seats, tenant.seats or 0)
    elif tenant.paid_until is not None and tenant.paid_until <= now:
        plan = default_plan(session)  # lapsed: back to free, nothing deleted
        seat_limit = plan.included_seats
    else:
        plan = session.get(Plan, tenant.plan_code)
        seat_limit = tenant.seats or plan.included_seats
    features = set(plan.features)
    for feature, enabled in (tenant.feature_overrides or {}).items():
        (features.add if enabled else features.discard)(feature)
    return Entitlements(
        plan=plan,
        features=frozenset(features),
        seat_limit=seat_limit,
        trial_ends_at=tenant.trial_ends_at if trialing else None,
        now=now,
    )
