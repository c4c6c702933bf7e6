from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.messages import message_for
from tenants.errors import ServiceError
from tenants.service import check_password_rules, normalize_email

_required = DataRequired(message=_l("This field is required."))


def checked_by(rule):
    """Run a service rule as a field validator, so every field's message shows at once."""

    def validate(_form, field) -> None:
        try:
            rule(field.data or "")
        except ServiceError as error:
            raise ValidationError(message_for(error)) from None

    return validate


class SignupForm(FlaskForm):
    shop_name = StringField(_l("Shop name"), validators=[_required, Length(max=120)])
    name = StringField(_l("Your name"), validators=[Length(max=120)])
    email = EmailField(_l("E-mail"), validators=[_required, checked_by(normalize_email)])
    password = PasswordField(
        _l("Password"), validators=[_required, checked_by(check_password_rules)]
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[_required])
    password = PasswordField(_l("Password"), validators=[_required])
    remember = BooleanField(_l("Keep me signed in"))


class ForgotForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[_required])


class ResetForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[_required, checked_by(check_password_rules)]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[_required, EqualTo("password", message=_l("The two passwords differ."))],
    )


class AcceptInvitationForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[Length(max=120)])
    password = PasswordField(_l("Password"), validators=[_required])


class ProfileForm(FlaskForm):
    # checked by the service (tenants.service.update_profile), in its words
    name = StringField(_l("Your name"))
    locale = SelectField(
        _l("Your language"),
        choices=[SelectChoice("zh_CN", "简体中文"), SelectChoice("en", "English")],
        validate_choice=False,
    )
    notify_left_messages = BooleanField(_l("E-mail me each new left message"))
    notify_missed_chats = BooleanField(_l("E-mail me each chat nobody answered"))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[_required])
    password = PasswordField(
        _l("New password"), validators=[_required, checked_by(check_password_rules)]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[_required, EqualTo("password", message=_l("The two passwords differ."))],
    )
