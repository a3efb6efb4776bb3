"""Admins manage accounts: create them, disable, enable, reset the second factor (which means
re-enrolment). A handler or privacy officer is made at once; a new admin is a proposal a second
person approves (four eyes, app/domain/proposals.py), who then gets the enrolment link."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..domain import accounts, proposals
from ..domain.models import User
from ..domain.workflow import record
from ..web.context import settings
from ..web.urls import base_url, external_url
from .blueprint import bp
from .proposals import rows


def _page(link: str | None = None):
    return render_template(
        "team/users.html",
        users=User.select().order_by(User.name),
        form=FlaskForm(),
        link=link,
        roles=accounts.ROLES,
        pending=rows(proposals.open_ones(proposals.CREATE_ADMIN)),
    )


def _link(token: str) -> str:
    # From MELDPUNT_BASE_URL, never the Host header: the link is sent on to a colleague.
    if base_url() is None:
        flash(_("MELDPUNT_BASE_URL is not set, so this link has no address: put the portal's address before it."))
    return external_url("team.enrol", token=token)


@bp.get("/users")
def users():
    return _page()


@bp.post("/users/new")
def add_user():
    """A new account: a handler or privacy officer at once, with its one-time enrolment link; an
    admin as a proposal, which another admin or a privacy officer approves."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    role = request.form.get("role", "")
    if role not in accounts.ROLES:
        abort(400)
    try:
        name = accounts.account_name(request.form.get("name", ""))
    except ValueError:
        flash(_("Give a name of 1 to %(chars)s characters.", chars=accounts.MAX_NAME_CHARS))
        return redirect(url_for("team.users"), code=303)
    if User.select().where(User.name == name).exists():
        flash(_("An account named %(name)s exists already.", name=name))
        return redirect(url_for("team.users"), code=303)
    if role == "admin":
        try:
            proposals.propose(g.user, proposals.CREATE_ADMIN, name)
        except proposals.Refused:
            flash(_("A proposal for this account is open already."))
            return redirect(url_for("team.users"), code=303)
        flash(
            _(
                "Proposed: %(name)s becomes an admin once another admin or a privacy officer approves. "
                "They get the enrolment link and hand it over.",
                name=name,
            )
        )
        return redirect(url_for("team.users"), code=303)
    _account, token = accounts.create(name, role)
    record(None, g.user, "user-add", f"{name} ({role})")
    return _page(_link(token))


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
        link = _link(accounts.reset_enrolment(user))
    else:
        accounts.set_disabled(settings(), user, action == "disable")
    record(None, g.user, f"user-{action}", user.name)
    return _page(link)
