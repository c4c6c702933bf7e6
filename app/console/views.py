"""The console shell: home with the embed snippet, module navigation, members and seats."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.chat import service as chat
from app.chat.refusals import refused_today
from app.features import current_entitlements
from app.forms import act
from tenants import service
from tenants.db import scoped_get, utcnow
from tenants.mail import send_mail
from tenants.models import Membership
from tenants.permissions import admin_required
from tenants.plans import catalog
from tenants.timezones import COMMON_ZONES, all_zones

bp = Blueprint("console", __name__, url_prefix="/console")

# (endpoint, label, paid feature or None) in the order the navigation shows them.
MODULES = [
    ("chat.conversations", _l("Conversations"), None),
    ("chat.visitors", _l("Visitors"), None),
    ("chat.inbox", _l("Left messages"), None),
    ("chat.history", _l("History"), None),
    ("crm.customers", _l("Customers"), "crm"),
    ("calls.index", _l("Calls"), "calls"),
    ("robot.index", _l("Robot"), "robot"),
    ("analytics.index", _l("Analytics"), "analytics"),
]


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every console page needs a signed-in member of this shop."""


@bp.app_context_processor
def _navigation():
    return {"modules": MODULES}


def snippet_url() -> str:
    base = current_app.config["BASE_URL"] or request.host_url.rstrip("/")
    return f"{base}/w/{current_user.tenant.site_key}.js"


@bp.get("/")
def home():
    queued, unanswered = chat.waiting_chats()
    return render_template(
        "console/home.html",
        queued=queued,
        unanswered=unanswered,
        now=utcnow(),
        snippet=f'<script async src="{snippet_url()}"></script>',
        seats_used=service.seats_in_use(),
        welcome=request.args.get("welcome") == "1",
        widget_refusals=refused_today(current_user.tenant.timezone),
    )


@bp.get("/upgrade")
def upgrade():
    return render_template(
        "console/upgrade.html", feature=request.args.get("feature"), plans=catalog()
    )


# --- the shop's settings --------------------------------------------------------------------


@bp.get("/shop")
@admin_required
def shop_settings():
    return render_template(
        "console/shop.html", common_zones=COMMON_ZONES, zones=all_zones(), now=utcnow()
    )


@bp.post("/shop")
@admin_required
def save_shop_settings():
    zone = request.form.get("timezone", "")
    act(
        lambda: service.set_timezone(current_user.membership, zone),
        _("Time zone saved: times are now shown in %(zone)s.", zone=zone.strip()),
    )
    return redirect(url_for("console.shop_settings"))


@bp.post("/shop/reply-email")
@admin_required
def save_reply_email():
    act(
        lambda: service.set_reply_email(current_user.membership, request.form.get("email", "")),
        _("Reply address saved."),
    )
    return redirect(url_for("console.shop_settings") + "#reply-email")


# --- members and seats -------------------------------------------------------------------


@bp.get("/members")
@admin_required
def members():
    return render_template(
        "console/members.html",
        members=service.members(),
        seats_used=service.seats_in_use(),
        seat_limit=current_entitlements().seat_limit,
        open_invitation=service.open_invitation,
        joined=service.joined_ids(),
    )


def _send_invitation(member, token: str) -> None:
    link = url_for("accounts.accept_invitation", token=token, _external=True)
    send_mail(
        member.user.email,
        _(
            "%(name)s invites you to %(shop)s on Huike",
            name=current_user.user.name or current_user.user.email,
            shop=current_user.tenant.name,
        ),
        render_template("mail/invite.txt", link=link, member=member, inviter=current_user.user),
    )
    flash(_("Invitation sent to %(email)s.", email=member.user.email), "success")
    if not current_app.config["SMTP_URL"]:
        flash(
            _("E-mail is not configured here; you can also pass on this link: %(link)s", link=link),
            "info",
        )


@bp.post("/members/invite")
@admin_required
def invite():
    email = request.form.get("email", "")
    role = request.form.get("role", "agent")
    result = act(lambda: service.invite(current_user.membership, email, role))
    if result is not None:
        _send_invitation(*result)
    return redirect(url_for("console.members"))


def _member_or_404(membership_id: int) -> Membership:
    return scoped_get(Membership, membership_id) or abort(404)


@bp.post("/members/<int:membership_id>/resend")
@admin_required
def resend_invitation(membership_id: int):
    member = _member_or_404(membership_id)
    result = act(lambda: service.invite(current_user.membership, member.user.email, member.role))
    if result is not None:
        _send_invitation(*result)
    return redirect(url_for("console.members"))


@bp.post("/members/<int:membership_id>/role")
@admin_required
def change_role(membership_id: int):
    role = request.form.get("role", "")
    if act(lambda: service.change_role(current_user.membership, membership_id, role)):
        flash(_("Role changed."), "success")
    return redirect(url_for("console.members"))


@bp.post("/members/<int:membership_id>/disable")
@admin_required
def disable(membership_id: int):
    if act(lambda: service.disable_member(current_user.membership, membership_id)):
        flash(_("Member disabled; their seat is free."), "success")
    return redirect(url_for("console.members"))


@bp.post("/members/<int:membership_id>/enable")
@admin_required
def enable(membership_id: int):
    if act(lambda: service.enable_member(current_user.membership, membership_id)):
        flash(_("Member enabled."), "success")
    return redirect(url_for("console.members"))
