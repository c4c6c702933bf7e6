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

from app.chat import refusals, service, setup
from app.chat.inbox import customer_locale
from app.chat.models import LeftMessage
from app.chat.payloads import attachment_json, member_name
from app.chat.uploads import UPLOAD_MAX_BYTES, store_upload, too_big
from app.chat.widget import default_texts, loader_config, loader_script, panel_config
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
    return {
        "id": m.id,
        "name": member_name(m),
        "role": m.role,
        "status": service.chosen_status(m.id),  # drawn before the socket's snapshot comes
    }


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
        upload_max_bytes=UPLOAD_MAX_BYTES,
        too_big=message_for(too_big()),
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
        # from the shop's name; the customer's answer goes to the shop's reply address, else
        # to the agent who replied
        reply_to = current_user.tenant.reply_email or current_user.user.email
        send_mail(left.email, subject, body, from_name=shop, reply_to=reply_to)
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


def _quick_replies_page(error: ServiceError | None = None, editing: int | None = None):
    """The list, and on a refusal the form that was sent again with what was typed and why
    (``editing``: the reply whose edit form it was; None: the add form)."""
    return render_template(
        "chat/quick_replies.html",
        replies=setup.quick_replies(current_user.membership),
        error=message_for(error) if error else None,
        values=request.form if error else {},
        editing=editing,
        max_text=setup.QUICK_REPLY_MAX,
    ), 400 if error else 200


@bp.get("/quick-replies")
def quick_replies():
    return _quick_replies_page(editing=request.args.get("edit", type=int))


def _save_quick_reply(change, success: str, editing: int | None = None):
    try:
        with db.begin_nested():
            change()
    except ServiceError as error:
        if error.code == "not_found" and error.field is None:
            abort(404)  # like any foreign id (app.forms.act)
        return _quick_replies_page(error, editing)
    flash(success, "success")
    return redirect(url_for("chat.quick_replies"))


@bp.post("/quick-replies")
def add_quick_reply():
    form = request.form
    return _save_quick_reply(
        lambda: setup.add_quick_reply(
            current_user.membership,
            form.get("shortcut", ""),
            form.get("text", ""),
            form.get("shared") == "on",
        ),
        _("Quick reply saved."),
    )


@bp.post("/quick-replies/<int:quick_reply_id>")
def edit_quick_reply(quick_reply_id: int):
    form = request.form
    return _save_quick_reply(
        lambda: setup.edit_quick_reply(
            current_user.membership, quick_reply_id, form.get("shortcut", ""), form.get("text", "")
        ),
        _("Quick reply saved."),
        editing=quick_reply_id,
    )


@bp.post("/quick-replies/<int:quick_reply_id>/delete")
def delete_quick_reply(quick_reply_id: int):
    act(
        lambda: setup.delete_quick_reply(current_user.membership, quick_reply_id),
        _("Quick reply deleted."),
    )
    return redirect(url_for("chat.quick_replies"))


# --- the shop's chat settings (admins) -----------------------------------------------------


def _settings_page(error: ServiceError | None = None):
    """On a refusal: the page again with everything as typed, and why (status 400)."""
    tenant = current_user.tenant
    return render_template(
        "chat/settings.html",
        chat=service.settings(),
        values=request.form if error else {},
        error=error and {"field": error.field, "text": message_for(error)},
        # what the widget says when these are left empty, in the shop's language
        defaults=default_texts(tenant.locale),
        shop_lang="zh-CN" if tenant.locale.startswith("zh") else "en",
        sides=setup.LAUNCHER_SIDES,
        max_offset=setup.LAUNCHER_MAX_OFFSET,
        weekdays=service.WEEKDAYS,
        groups=setup.groups(),
        group_members=setup.group_members(),
        people=[m for m in members() if m.status == "active"],
        rules=setup.invitation_rules(),
        member_name=member_name,
    ), 400 if error else 200


@bp.get("/settings/chat")
@admin_required
def chat_settings():
    return _settings_page()


@bp.post("/settings/chat/widget")
@admin_required
def save_widget():
    try:
        with db.begin_nested():
            setup.update_widget(request.form)
    except ServiceError as error:
        return _settings_page(error)
    flash(_("Settings saved."), "success")
    return redirect(url_for("chat.chat_settings"))


@bp.get("/settings/chat/preview")
@admin_required
def widget_preview():
    """The real widget (the loader as served, then its panel) with the settings page's
    unsaved values, for the page's preview frame. It talks to no server: see the template."""
    tenant = current_user.tenant
    draft = setup.widget_draft(request.args)
    config = loader_config(tenant, draft) | panel_config(tenant, draft, tenant.locale)
    # as when an agent is online, or (away=1) as when nobody is: the leave-a-message form
    config |= {"online": request.args.get("away") != "1", "in_hours": True}
    boot = {"base": request.host_url.rstrip("/"), "siteKey": tenant.site_key, "config": config}
    return render_template(
        "chat/preview.html",
        loader=loader_script(boot),
        lang=config["lang"],
        hello={"online": config["online"], "unread": 0},
        closed=request.args.get("closed") == "1",
    )


@bp.post("/settings/chat/auto-close")
@admin_required
def save_auto_close():
    act(
        lambda: setup.update_auto_close(request.form.get("auto_close_minutes", "")),
        _("Settings saved."),
    )
    return redirect(url_for("chat.chat_settings") + "#auto-close")


@bp.post("/settings/chat/notifications")
@admin_required
def save_notifications():
    act(
        lambda: setup.update_notifications("push_message_text" in request.form),
        _("Settings saved."),
    )
    return redirect(url_for("chat.chat_settings") + "#notifications")


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


# --- the widget refused on a website not allowed (the console home's notice) -------------


@bp.post("/widget-refusals/<int:refusal_id>/allow")
@admin_required
def allow_refused_host(refusal_id: int):
    host = act(lambda: refusals.allow_host(refusal_id))
    if host:
        flash(
            _("%(host)s is now an allowed website: the widget shows there.", host=host), "success"
        )
    return redirect(url_for("console.home"))


@bp.post("/widget-refusals/<int:refusal_id>/dismiss")
@admin_required
def dismiss_refused_host(refusal_id: int):
    host = act(lambda: refusals.dismiss(refusal_id))
    if host:
        flash(_("Refusals on %(host)s are hidden for today.", host=host), "success")
    return redirect(url_for("console.home"))
