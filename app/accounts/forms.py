from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

_required = DataRequired(message=_l("This field is required."))


class SignupForm(FlaskForm):
    shop_name = StringField(_l("Shop name"), validators=[_required, Length(max=120)])
    name = StringField(_l("Your name"), validators=[Length(max=120)])
    email = EmailField(_l("E-mail"), validators=[_required])
    password = PasswordField(_l("Password"), validators=[_required])


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[_required])
    password = PasswordField(_l("Password"), validators=[_required])
    remember = BooleanField(_l("Keep me signed in"))


class ForgotForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[_required])


class ResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[_required])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[_required, EqualTo("password", message=_l("The two passwords differ."))],
    )


class AcceptInvitationForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[Length(max=120)])
    password = PasswordField(_l("Password"), validators=[_required])
