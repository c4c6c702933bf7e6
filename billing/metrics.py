"""Revenue figures for the platform: MRR, ARR, paid seats, plans, trial conversion and churn.

Plain functions over the database, across every shop (they say so with ``cross_tenant``).
Amounts are in minor units (fen, cents) of the catalog's currency; the catalog has one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.models import AuditEntry, BillingAccount, Invoice
from tenants.db import cross_tenant, db, utcnow
from tenants.models import Plan, Tenant
from tenants.plans import catalog, entitlements

# A subscription that brings money in: Stripe's active and past_due (still in its grace
# period), and a plan staff set by hand for an offline payment (while it is paid for).
PAID_STATUSES = ("active", "past_due", "offline")
CHURNED_STATUSES = ("canceled", "unpaid")
PAID_INVOICE_STATUSES = ("paid", "offline")


def month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def counts_as_paid(account: BillingAccount | None, tenant: Tenant, now: datetime) -> bool:
    """An offline payment stops counting once its paid-until date has passed."""
    if account is None or account.status not in PAID_STATUSES:
        return False
    if account.status == "offline":
        return tenant.paid_until is None or tenant.paid_until > now
    return True


def yearly_amount(account: BillingAccount, plan: Plan) -> int:
    return account.seats * plan.price_per_seat_year


def monthly(yearly: int) -> int:
    """A twelfth, rounded half up, in whole minor units."""
    return (yearly + 6) // 12


def account_mrr(
    account: BillingAccount | None, plan: Plan | None, tenant: Tenant, now: datetime
) -> int:
    if plan is None or not counts_as_paid(account, tenant, now):
        return 0
    return monthly(yearly_amount(account, plan))


def _paid_accounts(session: Session, now: datetime) -> list[tuple[BillingAccount, Tenant, Plan]]:
    rows = session.execute(
        select(BillingAccount, Tenant, Plan)
        .join(Tenant, Tenant.id == BillingAccount.tenant_id)
        .join(Plan, Plan.code == BillingAccount.plan_code)
        .where(BillingAccount.status.in_(PAID_STATUSES))
    ).all()
    return [(a, t, p) for a, t, p in rows if counts_as_paid(a, t, now)]


def mrr(session: Session | None = None, now: datetime | None = None) -> int:
    """Monthly recurring revenue: seats x yearly price per seat / 12 over paying shops."""
    session, now = session or db(), now or utcnow()
    with cross_tenant(session):
        accounts = _paid_accounts(session, now)
    return monthly(sum(yearly_amount(a, p) for a, _, p in accounts))


@dataclass(frozen=True)
class PlanCount:
    plan: Plan
    shops: int
    trialing: int


def tenants_by_plan(session: Session | None = None, now: datetime | None = None) -> list[PlanCount]:
    """Shops by the plan they have now (trial and lapsed payments included), catalog order."""
    session, now = session or db(), now or utcnow()
    shops: Counter[str] = Counter()
    trialing: Counter[str] = Counter()
    with cross_tenant(session):
        for tenant in session.scalars(select(Tenant)):
            rights = entitlements(tenant, now, session)
            shops[rights.plan.code] += 1
            trialing[rights.plan.code] += rights.trialing
        plans = catalog(session)
    return [PlanCount(p, shops[p.code], trialing[p.code]) for p in plans]


@dataclass(frozen=True)
class Month:
    start: datetime
    trials_ended: int = 0
    converted: int = 0
    churned: int = 0
    churned_mrr: int = 0

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m")

    @property
    def conversion(self) -> float | None:
        """Share of the trials that ended this month whose shop pays; None without trials."""
        return self.converted / self.trials_ended if self.trials_ended else None


def monthly_figures(
    months: int = 12, session: Session | None = None, now: datetime | None = None
) -> list[Month]:
    """The last ``months`` calendar months (UTC), oldest first, this month included."""
    session, now = session or db(), now or utcnow()
    starts = [add_months(month_start(now), -i) for i in range(months - 1, -1, -1)]
    with cross_tenant(session):
        trials = _trial_conversion(session, starts[0], now)
        churn = _churn(session, starts[0], now)
    return [
        Month(
            start,
            trials_ended=trials[start][0],
            converted=trials[start][1],
            churned=churn[start][0],
            churned_mrr=churn[start][1],
        )
        for start in starts
    ]


def _trial_conversion(
    session: Session, since: datetime, now: datetime
) -> dict[datetime, tuple[int, int]]:
    """Per month: shops whose trial ended in it, and how many of those pay (or paid)."""
    rows = session.execute(
        select(Tenant, BillingAccount)
        .outerjoin(BillingAccount, BillingAccount.tenant_id == Tenant.id)
        .where(
            Tenant.trial_plan_code.is_not(None),
            Tenant.trial_ends_at >= since,
            Tenant.trial_ends_at <= now,
        )
    ).all()
    invoiced = set(
        session.scalars(
            select(Invoice.tenant_id).where(Invoice.status.in_(PAID_INVOICE_STATUSES)).distinct()
        )
    )
    ended: Counter[datetime] = Counter()
    converted: Counter[datetime] = Counter()
    for tenant, account in rows:
        month = month_start(tenant.trial_ends_at)
        ended[month] += 1
        converted[month] += counts_as_paid(account, tenant, now) or tenant.id in invoiced
    return {m: (ended[m], converted[m]) for m in _months_between(since, now)}


def _churn(session: Session, since: datetime, now: datetime) -> dict[datetime, tuple[int, int]]:
    """Per month: paying shops whose subscription went to canceled/unpaid, and their MRR.

    Read from the audit trail's ``subscription_state`` rows (written by the state machine);
    the JSON is filtered here so it reads the same on SQLite and PostgreSQL.
    """
    prices = {p.code: p.price_per_seat_year for p in catalog(session)}
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == "subscription_state",
            AuditEntry.created_at >= since,
            AuditEntry.created_at <= now,
        )
        .order_by(AuditEntry.created_at)
    )
    seen: set[tuple[datetime, int | None]] = set()
    count: Counter[datetime] = Counter()
    lost: Counter[datetime] = Counter()
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        if before.get("status") not in PAID_STATUSES:
            continue
        if after.get("status") not in CHURNED_STATUSES:
            continue
        month = month_start(entry.created_at)
        if (month, entry.tenant_id) in seen:
            continue
        seen.add((month, entry.tenant_id))
        count[month] += 1
        seats = before.get("seats") or 0
        lost[month] += monthly(int(seats) * prices.get(before.get("plan_code"), 0))
    return {m: (count[m], lost[m]) for m in _months_between(since, now)}


def _months_between(since: datetime, now: datetime) -> list[datetime]:
    months, month = [], month_start(since)
    while month <= now:
        months.append(month)
        month = add_months(month, 1)
    return months


@dataclass(frozen=True)
class Revenue:
    currency: str
    mrr: int
    arr: int
    paid_seats: int
    paying_shops: int
    plans: list[PlanCount]
    months: list[Month]


def revenue(session: Session | None = None, now: datetime | None = None) -> Revenue:
    """Everything the revenue dashboard shows, at one moment."""
    session, now = session or db(), now or utcnow()
    with cross_tenant(session):
        accounts = _paid_accounts(session, now)
    monthly_revenue = monthly(sum(yearly_amount(a, p) for a, _, p in accounts))
    plans = tenants_by_plan(session, now)
    paid = [p.plan for p in plans if p.plan.price_per_seat_year > 0]
    return Revenue(
        currency=paid[0].currency if paid else "CNY",
        mrr=monthly_revenue,
        arr=12 * monthly_revenue,
        paid_seats=sum(a.seats for a, _, _ in accounts),
        paying_shops=len(accounts),
        plans=plans,
        months=monthly_figures(12, session, now),
    )
