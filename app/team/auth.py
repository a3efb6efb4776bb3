"""Team sign-in with password and TOTP, enrolment through a one-time link, sign-out."""

import segno
from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..domain import accounts
from ..domain.errors import SignInFailed
from ..domain.workflow import record
from ..web import sessions
from ..web.accounts import signed_in_user
from ..web.context import settings
from ..web.limits import limited
from .blueprint import bp

REQUIRED = _l("Please fill in this field.")
TOO_LONG = _l("This is too long.")


class SignInForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED)])
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(REQUIRED), Length(max=12, message=TOO_LONG)]
    )


class PasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(REQUIRED),
            Length(
                min=accounts.MIN_PASSWORD_CHARS,
                max=1000,
                message=_l("Use at least %(min)s characters.", min=accounts.MIN_PASSWORD_CHARS),
            ),
        ],
    )
    again = PasswordField(
        _l("The same password again"), validators=[EqualTo("password", message=_l("The passwords differ."))]
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(REQUIRED), Length(max=12, message=TOO_LONG)]
    )


@bp.route("/signin", methods=["GET", "POST"])
@limited("TEAM_SIGNIN")
def signin():
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = accounts.sign_in(settings(), form.name.data.strip(), form.password.data, form.code.data)
        except SignInFailed:
            flash(_("Invalid name, password or code."))
            return render_template("team/signin.html", form=form), 400
        sessions.begin_team(user)
        return redirect(url_for("audit.home" if user.role == "auditor" else "team.home"))
    return render_template("team/signin.html", form=form), 400 if form.is_submitted() else 200


@bp.post("/signout")
def signout():
    if not FlaskForm().validate_on_submit():
        abort(400)
    record(None, signed_in_user(), "signed-out")
    sessions.end()
    flash(_("You are signed out."))
    return redirect(url_for("team.signin"))


@bp.route("/enrol/<token>", methods=["GET", "POST"])
def enrol(token: str):
    user = accounts.by_enrol_token(token)
    if user is None:
        abort(404)
    if user.password_hash is None:
        form = PasswordForm()
        if form.validate_on_submit():
            accounts.set_password(settings(), user, form.password.data)
            return redirect(url_for("team.enrol", token=token))
        return render_template("team/enrol_password.html", form=form, user=user), 400 if form.is_submitted() else 200
    form = CodeForm()
    if form.validate_on_submit():
        if accounts.finish_enrolment(settings(), user, form.code.data):
            flash(_("Enrolment complete. Sign in with your password and a code."))
            return redirect(url_for("team.signin"))
        form.code.errors = [_("That code is not right. Check the time on your phone and try the next code.")]
    status = 400 if form.is_submitted() else 200
    secret = accounts.totp_secret(settings(), user)
    return render_template("team/enrol_code.html", form=form, user=user, secret=secret, token=token), status


@bp.get("/enrol/<token>/qr.svg")
def enrol_qr(token: str):
    user = accounts.by_enrol_token(token)
    if user is None or user.totp_secret is None:
        abort(404)
    uri = accounts.provisioning_uri(settings(), user)
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2)
    return Response(svg, mimetype="image/svg+xml")
