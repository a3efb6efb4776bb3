"""Admins manage accounts: create them, disable, enable, reset the second factor (which means
re-enrolment). A handler's account is made, enabled and reset at once. An account that may decide
proposals (an admin or a privacy officer) takes four eyes to make, reset or enable again: a
proposal a second person approves (app/domain/proposals.py), and its enrolment link comes in two
halves, the code for its end shown here to the proposer, the rest to the approver
(app/web/proposals.py). Disabling is one admin's act for every account: it only takes power away."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..domain import accounts, proposals
from ..domain.models import User
from ..domain.workflow import record
from ..web.context import settings
from ..web.proposals import enrolment_link, rows
from .blueprint import bp
from .forms import NewAccountForm

CREATE = {"admin": proposals.CREATE_ADMIN, "auditor": proposals.CREATE_AUDITOR}


def _page(link: str | None = None, code: dict | None = None, posted: NewAccountForm | None = None):
    """The accounts page; `posted`, the new account's form that failed, comes back with its
    messages and what was typed (status 400)."""
    page = render_template(
        "team/users.html",
        users=User.select().order_by(User.name),
        form=FlaskForm(),
        new_account=posted or NewAccountForm(formdata=None),
        posted=posted,
        link=link,
        code=code,
        pending=rows(proposals.open_ones(proposals.ACCOUNT_ACTIONS)),
    )
    return page, 400 if posted is not None else 200


def _back():
    return redirect(url_for("team.users"), code=303)


def _proposed(action: str, name: str):
    """Open an account's proposal; for a new link, show the proposer their code, once."""
    try:
        opened = proposals.propose_account(g.user, action, name)
    except proposals.Refused:
        if proposals.open_ones(action, name):
            flash(_("A proposal for this account is open already."))
        else:
            flash(_("This cannot be proposed as things are now."))
        return _back()
    if opened.code is None:
        flash(_("Proposed: it takes effect once another admin or a privacy officer approves."))
        return _back()
    code = {"code": opened.code, "name": name, "number": opened.proposal.id}
    return _page(code=code)


@bp.get("/users")
def users():
    return _page()


@bp.post("/users/new")
def add_user():
    """A new account: a handler at once, with its one-time enrolment link; an admin or a privacy
    officer as a proposal, which another admin or a privacy officer approves."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    form = NewAccountForm()
    if not form.validate_on_submit():
        return _page(posted=form)
    name, role = form.name.data, form.role.data
    if User.select().where(User.name == name).exists():
        form.name.errors = [_("An account named %(name)s exists already.", name=name)]
        return _page(posted=form)
    if role in CREATE:
        return _proposed(CREATE[role], name)
    _account, token = accounts.create(name, role, issued_by=g.user.name)
    record(None, g.user, "user-add", f"{name} ({role})")
    return _page(enrolment_link(token))


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
    if user.role in accounts.APPROVERS and action != "disable":
        return _proposed(proposals.RESET_ACCOUNT if action == "reset" else proposals.ENABLE_ACCOUNT, user.name)
    link = None
    if action == "reset":
        link = enrolment_link(accounts.reset_enrolment(user, issued_by=g.user.name))
    else:
        accounts.set_disabled(settings(), user, action == "disable")
    record(None, g.user, f"user-{action}", user.name)
    return _page(link)
