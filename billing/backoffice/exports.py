"""CSV exports of shops and invoices: plain text a spreadsheet opens safely."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from billing.backoffice.queries import TenantRow


def cell(value):
    """Plain text for spreadsheets: a shop's name must not run as a formula."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def to_csv(columns: list[tuple[str, object]], items: list) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 (Chinese names) only with the BOM
    writer = csv.writer(out)
    writer.writerow([header for header, _ in columns])
    writer.writerows([cell(value(item)) for _, value in columns] for item in items)
    return out.getvalue()


def _account(row: TenantRow, attribute: str, missing=""):
    return getattr(row.account, attribute) if row.account is not None else missing


TENANT_COLUMNS = [
    ("id", lambda r: r.tenant.id),
    ("name", lambda r: r.tenant.name),
    ("slug", lambda r: r.tenant.slug),
    ("owner_email", lambda r: r.owner_email),
    ("status", lambda r: r.tenant.status),
    ("created_at", lambda r: r.tenant.created_at),
    ("plan_now", lambda r: r.rights.plan.code),
    ("trialing_until", lambda r: r.rights.trial_ends_at),
    ("plan_held", lambda r: r.tenant.plan_code),
    ("paid_until", lambda r: r.tenant.paid_until),
    ("seat_limit", lambda r: r.rights.seat_limit),
    ("seats_used", lambda r: r.seats_used),
    ("billing_status", lambda r: _account(r, "status", "none")),
    ("billing_plan", lambda r: _account(r, "plan_code")),
    ("billing_seats", lambda r: _account(r, "seats", 0)),
    ("period_end", lambda r: _account(r, "current_period_end", None)),
    ("mrr_minor", lambda r: r.mrr),
    ("stripe_customer_id", lambda r: _account(r, "stripe_customer_id")),
    ("stripe_subscription_id", lambda r: _account(r, "stripe_subscription_id")),
]
INVOICE_COLUMNS = [
    ("id", lambda row: row[0].id),
    ("tenant_id", lambda row: row[0].tenant_id),
    ("tenant_name", lambda row: row[1]),
    ("number", lambda row: row[0].number),
    ("status", lambda row: row[0].status),
    ("amount_due_minor", lambda row: row[0].amount_due),
    ("amount_paid_minor", lambda row: row[0].amount_paid),
    ("currency", lambda row: row[0].currency),
    ("period_start", lambda row: row[0].period_start),
    ("period_end", lambda row: row[0].period_end),
    ("created_at", lambda row: row[0].created_at),
    ("stripe_invoice_id", lambda row: row[0].stripe_invoice_id),
    ("hosted_invoice_url", lambda row: row[0].hosted_invoice_url),
]
