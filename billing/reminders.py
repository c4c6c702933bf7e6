"""Mail the clock sends for billing: a shop's owners hear three days before its free trial
ends, once per trial (a trial that staff extend gets its own reminder)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from tenants.clock import periodic
from tenants.db import bind_tenant, cross_tenant, db, utcnow
from tenants.mail import external_url, send_mail
from tenants.models import Membership, Tenant
from tenants.timezones import local

REMIND_BEFORE = timedelta(days=3)


@periodic("billing.trial_reminders", every=3600)
def remind_trials_ending() -> None:
    now = utcnow()
    with cross_tenant():
        ending = db.execute(
            select(Tenant.id).where(
                Tenant.status == "active",
                Tenant.trial_ends_at > now,
                Tenant.trial_ends_at <= now + REMIND_BEFORE,
            )
        ).scalars()
        shops = list(ending)
    for tenant_id in shops:
        _remind_owners(tenant_id)


def _remind_owners(tenant_id: int) -> None:
    bind_tenant(tenant_id)
    tenant = db.scalar(select(Tenant))
    ends: datetime = tenant.trial_ends_at
    date = local(ends, tenant.timezone).strftime("%Y-%m-%d")
    link = external_url("billing.page")
    owners = db.scalars(
        select(Membership).where(Membership.role == "owner", Membership.status == "active")
    )
    for owner in owners:
        with force_locale(owner.user.locale or tenant.locale):
            send_mail(
                owner.user.email,
                _("Your Huike trial ends on %(date)s", date=date),
                # the template alone: the pages' context processors expect a request
                current_app.jinja_env.get_template("billing/mail/trial_ending.txt").render(
                    shop=tenant.name, date=date, link=link
                ),
                key=f"trial-ending:{tenant_id}:{ends:%Y%m%d%H%M%S}:{owner.user_id}",
            )
