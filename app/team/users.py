"""Admins manage accounts: disable, enable, reset the second factor (which means re-enrolment)."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..domain import accounts
from ..domain.models import User
from ..domain.workflow import record
from ..web.context import settings
from ..web.urls import base_url, external_url
from .blueprint import bp


@bp.get("/users")
def users():
    return render_template("team/users.html", users=User.select().order_by(User.name), form=FlaskForm(), link=None)


@bp.post("/users/<int:user_id>")
def user_action(user_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    user = User.get_or_none(User.id == user_id)
    action = request.form.get("action")
    if user is None or action not in ("disable", "enable", "reset"):
        abort(400)
    if user.id == g.user.id and action != "reset":
        flash(_("You cannot disable your own account."))
        return redirect(url_for("team.users"))
    link = None
    if action == "reset":
        # From MELDPUNT_BASE_URL, never the Host header: the link is sent on to a colleague.
        link = external_url("team.enrol", token=accounts.reset_enrolment(user))
        if base_url() is None:
            flash(_("MELDPUNT_BASE_URL is not set, so this link has no address: put the portal's address before it."))
    else:
        accounts.set_disabled(settings(), user, action == "disable")
    record(None, g.user, f"user-{action}", user.name)
    return render_template("team/users.html", users=User.select().order_by(User.name), form=FlaskForm(), link=link)
