from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from app import current_language
from app.accounts.forms import (
    AcceptInvitationForm,
    ForgotForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    ResetForm,
    SignupForm,
)
from app.accounts.identity import Principal
from app.chat.presence import stand_in_name
from app.config import LANGUAGES
from app.extensions import limiter
from app.messages import message_for
from app.push import service as push
from app.push.keys import public_key
from tenants import service
from tenants.errors import ServiceError
from tenants.mail import send_mail

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _email_key() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()


def _safe_next(default: str) -> str:
    """Only a path on this site: never an open redirect."""
    target = request.args.get("next") or request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


def _show_error(form: FlaskForm, error: ServiceError) -> None:
    """Put a service error beside its field, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, message_for(error)]
    else:
        form.form_errors.append(message_for(error))


def _sign_in(membership, remember: bool = False) -> None:
    lang = session.get("lang")
    session.clear()  # no state from before sign-in survives it (session fixation)
    if lang:
        session["lang"] = lang
    login_user(Principal(membership), remember=remember)


@bp.route("/")
def home():
    if current_user.is_authenticated:
        return redirect(url_for("console.home"))
    return render_template("accounts/home.html")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            owner = service.signup(
                form.shop_name.data,
                form.email.data,
                form.password.data,
                name=form.name.data or "",
                locale=current_language(),
            )
        except ServiceError as error:
            _show_error(form, error)
        else:
            _sign_in(owner)
            return redirect(url_for("console.home", welcome=1))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_email_key)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("console.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            memberships = service.authenticate(form.email.data, form.password.data)
        except ServiceError as error:
            _show_error(form, error)
        else:
            _sign_in(memberships[0], remember=form.remember.data)
            return redirect(_safe_next(url_for("console.home")))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    service.end_sessions(current_user.user)  # this cookie, and any copy of it, is dead
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    form = ForgotForm()
    if form.validate_on_submit():
        found = service.reset_token(form.email.data, current_app.config["SECRET_KEY"])
        if found is not None:
            user, token = found
            link = url_for("accounts.reset_password", token=token, _external=True)
            minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
            send_mail(
                user.email,
                _("Reset your Huike password"),
                render_template("mail/reset.txt", link=link, minutes=minutes),
            )
        # The same answer whether or not the address is known: no account probing.
        flash(_("If an account uses this e-mail, a reset link is on its way."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    secret, max_age = current_app.config["SECRET_KEY"], current_app.config["PASSWORD_RESET_MAX_AGE"]
    try:
        service.reset_user(token, secret, max_age)  # a dead link says so before any typing
    except ServiceError as error:
        return render_template("accounts/reset_invalid.html", message=message_for(error)), 404
    form = ResetForm()
    if form.validate_on_submit():
        try:
            service.reset_password(token, form.password.data, secret, max_age)
        except ServiceError as error:
            _show_error(form, error)
        else:
            flash(_("Your password is changed. Log in with the new one."), "success")
            return redirect(url_for("accounts.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/reset.html", form=form), status


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    try:
        invitation = service.find_invitation(token)
    except ServiceError as error:
        return render_template("accounts/invitation_invalid.html", message=message_for(error)), 404
    member = invitation.membership
    form = AcceptInvitationForm(name=member.user.name)
    if form.validate_on_submit():
        try:
            member = service.accept_invitation(token, form.password.data, form.name.data or "")
        except ServiceError as error:
            _show_error(form, error)
        else:
            _sign_in(member)
            flash(_("Welcome to %(shop)s!", shop=member.tenant.name), "success")
            return redirect(url_for("console.home"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "accounts/accept.html",
        form=form,
        member=member,
        has_password=bool(member.user.password_hash),
    ), status


@bp.post("/language")
def set_language():
    lang = request.form.get("lang", "")
    if lang not in LANGUAGES:
        abort(400, description=message_for(ServiceError("language_invalid")))
    session["lang"] = lang
    if current_user.is_authenticated:
        current_user.user.locale = lang
    return redirect(_safe_next(url_for("accounts.home")))


# --- the signed-in person's own profile ----------------------------------------------------


def _profile_page(profile: ProfileForm | None = None, password: PasswordForm | None = None):
    member = current_user.membership
    # formdata=None: the other form's POST must not blank this one
    profile = profile or ProfileForm(
        prefix="profile",
        formdata=None,
        data={
            "name": member.user.name,
            "locale": member.user.locale or current_language(),
            "notify_left_messages": member.notify_left_messages,
            "notify_missed_chats": member.notify_missed_chats,
        },
    )
    password = password or PasswordForm(prefix="password", formdata=None)
    status = 400 if request.method == "POST" else 200
    stand_in = stand_in_name(member)
    return render_template(
        "accounts/profile.html",
        profile=profile,
        password=password,
        stand_in=stand_in,
        devices=push.devices(member),
        push_kinds=push.kind_names(),
        push_key=public_key(),
    ), status


@bp.get("/profile")
@login_required
def profile():
    return _profile_page()


@bp.post("/profile")
@login_required
def save_profile():
    form = ProfileForm(prefix="profile")
    if form.validate_on_submit():
        try:
            service.update_profile(
                current_user.membership,
                form.name.data or "",
                form.locale.data,
                LANGUAGES,
                form.notify_left_messages.data,
                form.notify_missed_chats.data,
            )
        except ServiceError as error:
            _show_error(form, error)
        else:
            session["lang"] = form.locale.data
            with force_locale(form.locale.data):  # said in the language just chosen
                flash(_("Your profile is saved."), "success")
            return redirect(url_for("accounts.profile"))
    return _profile_page(profile=form)


@bp.post("/profile/password")
@login_required
def change_password():
    form = PasswordForm(prefix="password")
    if form.validate_on_submit():
        member = current_user.membership
        try:
            service.change_password(member.user, form.current.data, form.password.data)
        except ServiceError as error:
            _show_error(form, error)
        else:
            login_user(Principal(member))  # this session goes on; the others have ended
            flash(_("Your password is changed. Your other sessions are signed out."), "success")
            return redirect(url_for("accounts.profile"))
    return _profile_page(password=form)
