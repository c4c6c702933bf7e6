"""The back office's words: error messages and the names of roles, states and actions.

All translatable (the app's Babel catalogue); the codes come from the operations.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tenants.errors import ServiceError

MESSAGES = {
    "staff_bad_credentials": _l("Wrong e-mail, password or code."),
    "staff_forbidden": _l("Your role cannot do this."),
    "not_found": _l("Not found."),
    "reason_required": _l("Give a reason: it goes into the audit log."),
    "too_long": _l("Use at most %(max)s characters."),
    "number_invalid": _l("Enter a whole number."),
    "date_invalid": _l("Enter a date like 2027-01-31."),
    "days_range": _l("Choose from %(min)s to %(max)s days."),
    "no_trial_plan": _l("The plan catalog offers no trial."),
    "plan_invalid": _l("Choose a paid plan from the catalog."),
    "seats_too_few": _l(
        "At least %(min)s seats: the shop has that many members and open invitations."
    ),
    "paid_until_past": _l("The paid-until date must be after today."),
    "paid_until_far": _l("The paid-until date can be at most %(years)s years ahead."),
    "stripe_live": _l(
        "This shop pays through a live Stripe subscription. Cancel it in Stripe first, so the "
        "shop is not charged twice."
    ),
    "feature_invalid": _l("Choose a module from the list."),
    "override_invalid": _l("Choose on, off or the plan's default."),
    "unchanged": _l("That is the setting already: nothing changed."),
    "already_suspended": _l("This shop is suspended already."),
    "already_active": _l("This shop is active already."),
    "note_required": _l("Write the note first."),
}
FEATURE_NAMES = {
    "calls": _l("Calls"),
    "crm": _l("Customers (CRM)"),
    "robot": _l("Robot answers"),
    "analytics": _l("Analytics"),
}
ROLE_NAMES = {"admin": _l("Admin"), "billing": _l("Billing"), "support": _l("Support")}
ACTION_NAMES = {
    "extend_trial": _l("Trial extended"),
    "set_plan_offline": _l("Plan set (offline payment)"),
    "override_feature": _l("Module override"),
    "suspend": _l("Suspended"),
    "reactivate": _l("Reactivated"),
    "add_note": _l("Note added"),
    "export": _l("Export"),
    "subscription_state": _l("Subscription state"),
}
STATUS_NAMES = {
    "active": _l("Active"),
    "suspended": _l("Suspended"),
    "none": _l("None"),
    "trialing": _l("Trialing"),
    "past_due": _l("Past due"),
    "canceled": _l("Canceled"),
    "unpaid": _l("Unpaid"),
    "incomplete": _l("Incomplete"),
    "offline": _l("Offline payment"),
}


MEMBER_ROLES = {"owner": _l("Owner"), "admin": _l("Admin"), "agent": _l("Agent")}
MEMBER_STATUSES = {"invited": _l("Invited"), "active": _l("Active"), "disabled": _l("Disabled")}


def message_for(error: ServiceError) -> str:
    template = MESSAGES.get(error.code)
    return str(template) % error.params if template else error.code
