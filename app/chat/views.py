"""The chat parts of the console over HTTP: the live pages, the inbox of left messages,
history and search, and the shop's chat settings."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.chat import service, setup
from app.chat.inbox import customer_locale
from app.chat.models import LeftMessage
from app.chat.payloads import attachment_json, member_name
from app.chat.uploads import store_upload
from app.forms import act
from app.messages import message_for
from tenants.db import db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.mail import send_mail
from tenants.permissions import admin_required
from tenants.service import members

bp = Blueprint("chat", __name__, url_prefix="/console")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in member of this shop."""


# --- live pages --------------------------------------------------------------------------


def _me() -> dict:
    m = current_user.membership
    return {"id": m.id, "name": member_name(m), "role": m.role}


@bp.get("/conversations")
def conversations():
    member = current_user.membership
    return render_template(
        "chat/conversations.html",
        me=_me(),
        agents=[
            {"id": m.id, "name": member_name(m), "role": m.role}
            for m in members()
            if m.status == "active"
        ],
        groups=[{"id": grp.id, "name": grp.name} for grp in setup.groups()],
        quick_replies=[_reply_json(r) for r in setup.quick_replies(member)],
        upload_url=url_for("chat.upload"),
    )


@bp.get("/visitors")
def visitors():
    return render_template("chat/visitors.html", me=_me())


def _reply_json(reply) -> dict:
    return {
        "id": reply.id,
        "shortcut": reply.shortcut,
        "text": reply.text,
        "shared": reply.owner_id is None,
    }


@bp.get("/api/quick-replies")
def quick_replies_json():
    return jsonify([_reply_json(r) for r in setup.quick_replies(current_user.membership)])


@bp.post("/api/uploads")
def upload():
    try:
        attachment = store_upload(request.files.get("file"), None)
    except ServiceError as error:
        return jsonify(error=error.code, message=message_for(error), field=error.field), 400
    return jsonify(attachment=attachment_json(attachment)), 201


# --- left messages (留言) ------------------------------------------------------------------


@bp.get("/messages")
def inbox():
    status = request.args.get("status", "new")
    query = select(LeftMessage).order_by(LeftMessage.created_at.desc()).limit(200)
    if status in ("new", "handled"):
        query = query.where(LeftMessage.status == status)
    counts = dict(
        db.execute(select(LeftMessage.status, func.count()).group_by(LeftMessage.status)).all()
    )
    return render_template(
        "chat/inbox.html",
        messages=list(db.scalars(query)),
        status=status,
        counts=counts,
        names=service.agent_names(),
    )


def _left_message(left_message_id: int) -> LeftMessage:
    return scoped_get(LeftMessage, left_message_id) or abort(404)


@bp.post("/messages/<int:left_message_id>/status")
def set_left_message_status(left_message_id: int):
    left = _left_message(left_message_id)
    handled = request.form.get("status") == "handled"
    left.status = "handled" if handled else "new"
    left.handled_by_id = current_user.membership.id if handled else None
    left.handled_at = utcnow() if handled else None
    return redirect(url_for("chat.inbox", status=request.args.get("back", "new")))


@bp.post("/messages/<int:left_message_id>/reply")
def reply_left_message(left_message_id: int):
    left = _left_message(left_message_id)
    text = (request.form.get("text") or "").strip()
    if not left.email:
        flash(
            _("This visitor left no e-mail address: call them at %(phone)s.", phone=left.phone),
            "error",
        )
    elif not text:
        flash(message_for(ServiceError("required")), "error")
    elif len(text) > service.MAX_TEXT:
        flash(message_for(ServiceError("too_long", max=service.MAX_TEXT)), "error")
    else:
        shop = current_user.tenant.name
        with force_locale(customer_locale(left)):  # the customer's language, not the agent's
            subject = _("Re: your message to %(shop)s", shop=shop)
            body = render_template("mail/left_message_reply.txt", left=left, text=text, shop=shop)
        # from the shop's name; the customer's answer goes to the agent who replied
        send_mail(left.email, subject, body, from_name=shop, reply_to=current_user.user.email)
        left.reply, left.status = text, "handled"
        left.handled_by_id, left.handled_at = current_user.membership.id, utcnow()
        flash(_("Reply sent to %(email)s.", email=left.email), "success")
    return redirect(url_for("chat.inbox", status="new"))


# --- history and search ------------------------------------------------------------------


@bp.get("/history")
def history():
    query = request.args.get("q", "")
    return render_template(
        "chat/history.html",
        query=query,
        conversations=service.search_conversations(query),
        names=service.agent_names(),
    )


@bp.get("/history/<int:conversation_id>")
def transcript(conversation_id: int):
    try:
        conversation = service.conversation_or_404(conversation_id)
    except ServiceError:
        abort(404)
    return render_template(
        "chat/transcript.html",
        conversation=conversation,
        messages=service.messages_since(conversation, 0, notes=True),
        names=service.agent_names(),
        pages=service.recent_pages(conversation.visitor_id),
    )


# --- quick replies -------------------------------------------------------------------------


@bp.get("/quick-replies")
def quick_replies():
    return render_template(
        "chat/quick_replies.html", replies=setup.quick_replies(current_user.membership)
    )


@bp.post("/quick-replies")
def add_quick_reply():
    act(
        lambda: setup.add_quick_reply(
            current_user.membership,
            request.form.get("shortcut", ""),
            request.form.get("text", ""),
            request.form.get("shared") == "on",
        ),
        _("Quick reply saved."),
    )
    return redirect(url_for("chat.quick_replies"))


@bp.post("/quick-replies/<int:quick_reply_id>/delete")
def delete_quick_reply(quick_reply_id: int):
    act(
        lambda: setup.delete_quick_reply(current_user.membership, quick_reply_id),
        _("Quick reply deleted."),
    )
    return redirect(url_for("chat.quick_replies"))


# --- the shop's chat settings (admins) -----------------------------------------------------


@bp.get("/settings/chat")
@admin_required
def chat_settings():
    return render_template(
        "chat/settings.html",
        chat=service.settings(),
        weekdays=service.WEEKDAYS,
        groups=setup.groups(),
        group_members=setup.group_members(),
        people=[m for m in members() if m.status == "active"],
        rules=setup.invitation_rules(),
        member_name=member_name,
    )


@bp.post("/settings/chat/widget")
@admin_required
def save_widget():
    form = request.form
    act(
        lambda: setup.update_widget(
            form.get("color", ""),
            form.get("greeting", ""),
            form.get("offline_text", ""),
            form.get("domains", ""),
            form.get("max_chats", ""),
        ),
        _("Settings saved."),
    )
    return redirect(url_for("chat.chat_settings"))


@bp.post("/settings/chat/auto-close")
@admin_required
def save_auto_close():
    act(
        lambda: setup.update_auto_close(request.form.get("auto_close_minutes", "")),
        _("Settings saved."),
    )
    return redirect(url_for("chat.chat_settings") + "#auto-close")


@bp.post("/settings/chat/hours")
@admin_required
def save_hours():
    act(lambda: setup.update_schedule(request.form.to_dict()), _("Working hours saved."))
    return redirect(url_for("chat.chat_settings") + "#hours")


def _member_ids() -> list[int]:
    try:
        return [int(v) for v in request.form.getlist("members")]
    except ValueError:
        abort(400)


@bp.post("/settings/groups")
@admin_required
def add_group():
    act(
        lambda: setup.add_group(
            request.form.get("name", ""), request.form.get("url_pattern", ""), _member_ids()
        ),
        _("Group added."),
    )
    return redirect(url_for("chat.chat_settings") + "#groups")


@bp.post("/settings/groups/<int:group_id>/members")
@admin_required
def set_group_members(group_id: int):
    act(lambda: setup.set_group_members(group_id, _member_ids()), _("Group saved."))
    return redirect(url_for("chat.chat_settings") + "#groups")


@bp.post("/settings/groups/<int:group_id>/delete")
@admin_required
def delete_group(group_id: int):
    act(lambda: setup.delete_group(group_id), _("Group deleted."))
    return redirect(url_for("chat.chat_settings") + "#groups")


@bp.post("/settings/rules")
@admin_required
def add_rule():
    form = request.form
    act(
        lambda: setup.add_invitation_rule(
            form.get("url_pattern", ""), form.get("seconds", ""), form.get("text", "")
        ),
        _("Invitation rule added."),
    )
    return redirect(url_for("chat.chat_settings") + "#rules")


@bp.post("/settings/rules/<int:rule_id>/delete")
@admin_required
def delete_rule(rule_id: int):
    act(lambda: setup.delete_invitation_rule(rule_id), _("Invitation rule deleted."))
    return redirect(url_for("chat.chat_settings") + "#rules")
