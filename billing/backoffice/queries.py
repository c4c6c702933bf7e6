"""What the back office reads: shops with their subscription and seats, one shop in full, the
audit trail. Always across shops, and always saying so with ``cross_tenant``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, column, func, or_, select, table

from billing.backoffice.operations import override_mode
from billing.metrics import account_mrr, month_start
from billing.models import AuditEntry, BillingAccount, BillingEvent, Invoice, StaffUser, TenantNote
from tenants.db import UTCDateTime, cross_tenant, db, utcnow
from tenants.models import TENANT_STATUSES, Membership, Plan, Tenant, User
from tenants.plans import PAID_FEATURES, Entitlements, catalog, entitlements
from tenants.service import seats_by_shop

SORTS = ("created", "name", "mrr")
TRIAL_ENDING_DAYS = 7
# The live chat's table, named here so billing need not import the app that owns it.
_conversations = table(
    "chat_conversations", column("tenant_id", Integer), column("created_at", UTCDateTime())
)


@dataclass
class TenantFilters:
    q: str = ""
    plan: str = ""
    status: str = ""
    trial_ending: bool = False
    past_due: bool = False
    sort: str = "created"

    @classmethod
    def from_args(cls, args) -> TenantFilters:
        """From a query string; anything unknown is simply not a filter."""
        plans = {p.code for p in catalog()}
        return cls(
            q=" ".join((args.get("q") or "").split())[:100],
            plan=args.get("plan") if args.get("plan") in plans else "",
            status=args.get("status") if args.get("status") in TENANT_STATUSES else "",
            trial_ending=args.get("trial_ending") == "1",
            past_due=args.get("past_due") == "1",
            sort=args.get("sort") if args.get("sort") in SORTS else "created",
        )

    def as_args(self, **changes) -> dict:
        values = {
            "q": self.q,
            "plan": self.plan,
            "status": self.status,
            "trial_ending": "1" if self.trial_ending else "",
            "past_due": "1" if self.past_due else "",
            "sort": self.sort,
        } | changes
        return {k: v for k, v in values.items() if v}


@dataclass
class TenantRow:
    tenant: Tenant
    account: BillingAccount | None
    rights: Entitlements
    seats_used: int
    mrr: int
    owner_email: str


def list_tenants(filters: TenantFilters, now: datetime | None = None) -> list[TenantRow]:
    """Every shop matching the filters, sorted; the plan is the one they have now."""
    now = now or utcnow()
    with cross_tenant():
        stmt = select(Tenant, BillingAccount).outerjoin(
            BillingAccount, BillingAccount.tenant_id == Tenant.id
        )
        if filters.q:
            owners = (
                select(Membership.tenant_id)
                .join(User, User.id == Membership.user_id)
                .where(Membership.role == "owner", User.email.icontains(filters.q, autoescape=True))
            )
            matches = [
                Tenant.name.icontains(filters.q, autoescape=True),
                Tenant.slug.icontains(filters.q, autoescape=True),
                Tenant.id.in_(owners),
            ]
            if filters.q.isdigit():
                matches.append(Tenant.id == int(filters.q))
            stmt = stmt.where(or_(*matches))
        if filters.status:
            stmt = stmt.where(Tenant.status == filters.status)
        if filters.trial_ending:
            stmt = stmt.where(
                Tenant.trial_plan_code.is_not(None),
                Tenant.trial_ends_at > now,
                Tenant.trial_ends_at <= now + timedelta(days=TRIAL_ENDING_DAYS),
            )
        if filters.past_due:
            stmt = stmt.where(BillingAccount.status == "past_due")
        order = (
            (func.lower(Tenant.name), Tenant.id)
            if filters.sort == "name"
            else (Tenant.created_at.desc(), Tenant.id.desc())
        )
        found = db.execute(stmt.order_by(*order)).all()
        plans = {p.code: p for p in catalog()}
        seats = seats_by_shop(now)
        owners = _owner_emails()
        rows = []
        for tenant, account in found:
            rights = entitlements(tenant, now)
            if filters.plan and rights.plan.code != filters.plan:
                continue
            plan = plans.get(account.plan_code) if account else None
            rows.append(
                TenantRow(
                    tenant=tenant,
                    account=account,
                    rights=rights,
                    seats_used=seats.get(tenant.id, 0),
                    mrr=account_mrr(account, plan, tenant, now),
                    owner_email=owners.get(tenant.id, ""),
                )
            )
    if filters.sort == "mrr":
        rows.sort(key=lambda row: row.mrr, reverse=True)  # stable: ties stay newest first
    return rows


def _owner_emails() -> dict[int, str]:
    return dict(
        db.execute(
            select(Membership.tenant_id, User.email)
            .join(User, User.id == Membership.user_id)
            .where(Membership.role == "owner")
        ).all()
    )


@dataclass
class Page:
    items: list
    number: int
    pages: int
    total: int


def paginate(items: list, number: int, per_page: int) -> Page:
    pages = max(1, math.ceil(len(items) / per_page))
    number = min(max(1, number), pages)
    start = (number - 1) * per_page
    return Page(items[start : start + per_page], number, pages, len(items))


@dataclass
class TenantDetail:
    tenant: Tenant
    rights: Entitlements
    plan: Plan  # the plan the shop holds (it may be on another one now: trial, lapsed)
    account: BillingAccount | None
    mrr: int
    members: list[Membership]
    seats_used: int
    conversations_this_month: int
    overrides: dict[str, str]
    invoices: list[Invoice] = field(default_factory=list)
    events: list[BillingEvent] = field(default_factory=list)
    notes: list[tuple[TenantNote, str]] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)


def tenant_detail(tenant_id: int, now: datetime | None = None) -> TenantDetail | None:
    now = now or utcnow()
    with cross_tenant():
        tenant = db.scalar(select(Tenant).where(Tenant.id == tenant_id))
        if tenant is None:
            return None
        account = db.scalar(select(BillingAccount).where(BillingAccount.tenant_id == tenant_id))
        members = list(
            db.scalars(
                select(Membership)
                .where(Membership.tenant_id == tenant_id)
                .order_by(Membership.status != "active", Membership.id)
            )
        )
        plan = db.get(Plan, tenant.plan_code)
        account_plan = db.get(Plan, account.plan_code) if account else None
        overrides = {f: override_mode(tenant.feature_overrides, f) for f in PAID_FEATURES}
        return TenantDetail(
            tenant=tenant,
            rights=entitlements(tenant, now),
            plan=plan,
            account=account,
            mrr=account_mrr(account, account_plan, tenant, now),
            members=members,
            seats_used=seats_by_shop(now, tenant_id).get(tenant_id, 0),
            conversations_this_month=conversations_since(tenant_id, month_start(now)),
            overrides=overrides,
            invoices=list(
                db.scalars(
                    select(Invoice)
                    .where(Invoice.tenant_id == tenant_id)
                    .order_by(Invoice.created_at.desc(), Invoice.id.desc())
                    .limit(50)
                )
            ),
            events=list(
                db.scalars(
                    select(BillingEvent)
                    .where(BillingEvent.tenant_id == tenant_id)
                    .order_by(BillingEvent.received_at.desc(), BillingEvent.id.desc())
                    .limit(50)
                )
            ),
            notes=list(
                db.execute(
                    select(TenantNote, func.coalesce(StaffUser.email, ""))
                    .outerjoin(StaffUser, StaffUser.id == TenantNote.staff_id)
                    .where(TenantNote.tenant_id == tenant_id)
                    .order_by(TenantNote.created_at.desc(), TenantNote.id.desc())
                ).all()
            ),
            audit=list(
                db.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.tenant_id == tenant_id)
                    .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
                    .limit(100)
                )
            ),
        )


def conversations_since(tenant_id: int, since: datetime) -> int:
    with cross_tenant():
        return db.scalar(
            select(func.count())
            .select_from(_conversations)
            .where(_conversations.c.tenant_id == tenant_id, _conversations.c.created_at >= since)
        )


def audit_log(
    tenant_id: int | None = None, action: str = "", page: int = 1, per_page: int = 100
) -> tuple[Page, list[str]]:
    """Entries newest first with their shop's name, and every action name for the filter."""
    with cross_tenant():
        stmt = select(AuditEntry, Tenant.name).outerjoin(Tenant, Tenant.id == AuditEntry.tenant_id)
        counted = select(func.count()).select_from(AuditEntry)
        if tenant_id is not None:
            stmt = stmt.where(AuditEntry.tenant_id == tenant_id)
            counted = counted.where(AuditEntry.tenant_id == tenant_id)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
            counted = counted.where(AuditEntry.action == action)
        total = db.scalar(counted)
        pages = max(1, math.ceil(total / per_page))
        page = min(max(1, page), pages)
        rows = db.execute(
            stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        actions = list(db.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
    return Page(rows, page, pages, total), actions


def all_invoices() -> list[tuple[Invoice, str]]:
    with cross_tenant():
        return list(
            db.execute(
                select(Invoice, Tenant.name)
                .join(Tenant, Tenant.id == Invoice.tenant_id)
                .order_by(Invoice.created_at.desc(), Invoice.id.desc())
            ).all()
        )
