"""Four eyes, the privacy officers' side (app/domain/proposals.py): every proposal, approved or
rejected here by an auditor or an admin other than its proposer; and the proposals an admin opens
from these pages: a retention period below its default, the history's verification switched off."""

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..domain import chain, proposals
from ..domain.models import Proposal
from ..domain.settings import ConfigError
from ..web.context import settings
from ..web.urls import base_url, external_url
from .blueprint import bp

DECISIONS = ("approve", "reject", "withdraw")
PAGES = {"retention": "audit.retention", "history": "audit.history"}


def rows(items: list[Proposal]) -> list[dict]:
    """Each proposal with what it does in the page's language, and what the signed-in account may do."""
    shown = []
    for proposal in items:
        message, values = proposals.summary(proposal)
        shown.append(
            {
                "proposal": proposal,
                "what": _(message, **values),
                "state": _(proposals.STATE_LABELS.get(proposal.state, proposal.state)),
                "may_decide": proposals.may_decide(proposal, g.user),
                "may_withdraw": proposals.may_withdraw(proposal, g.user),
            }
        )
    return shown


@bp.get("/proposals", endpoint="proposals")
def show_proposals():
    return render_template("audit/proposals.html", rows=rows(proposals.listed()), form=FlaskForm(), link=None)


def _back():
    return redirect(url_for(PAGES.get(request.form.get("back", ""), "audit.proposals")), code=303)


def _checked_form() -> None:
    if not FlaskForm().validate_on_submit():
        abort(400)


def _refused():
    chain.append(None, g.user, "refused", request.endpoint or "audit")  # on record, as any refusal
    abort(403)


@bp.post("/proposals/<int:proposal_id>")
def decide(proposal_id: int):
    """Approve or reject (an auditor, or an admin other than the proposer); withdraw (the proposer)."""
    _checked_form()
    proposal = proposals.find(proposal_id)
    decision = request.form.get("decision", "")
    if proposal is None:
        abort(404)
    if decision not in DECISIONS:
        abort(400)
    try:
        if decision == "approve":
            outcome = proposals.approve(proposal, g.user)
        elif decision == "reject":
            outcome = proposals.Decided(proposals.reject(proposal, g.user))
        else:
            outcome = proposals.Decided(proposals.withdraw(proposal, g.user))
    except proposals.NotYours:
        _refused()
    except proposals.Refused:
        if proposals.find(proposal_id).state != proposals.OPEN:
            flash(_("This proposal was decided already."))
        else:
            flash(_("This proposal cannot be carried out as things are now: reject it."))
        return _back()
    flash(
        {
            "approve": _("Approved: it takes effect now."),
            "reject": _("Rejected: nothing changes."),
            "withdraw": _("Withdrawn: nothing changes."),
        }[decision]
    )
    if outcome.enrolment_token is None:
        return _back()
    # A new admin: the approver gets the one-time link and hands it over. Not kept by any cache;
    # from MELDPUNT_BASE_URL, never the Host header.
    if base_url() is None:
        flash(_("MELDPUNT_BASE_URL is not set, so this link has no address: put the portal's address before it."))
    link = external_url("team.enrol", token=outcome.enrolment_token)
    page = render_template("audit/proposals.html", rows=rows(proposals.listed()), form=FlaskForm(), link=link)
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/proposals/new")
def propose():
    """An admin proposes that a setting as configured counts: a retention period below its default
    (the value in the instance file, exactly), or MELDPUNT_AUDIT_VERIFY = off."""
    _checked_form()
    action = request.form.get("action", "")
    try:
        if action == proposals.LOWER_RETENTION:
            setting = request.form.get("setting", "")
            period = proposals.retention_periods(settings()).get(setting)
            if period is None or not period.waiting:
                abort(400)
            proposals.propose(g.user, action, setting, str(period.configured))
        elif action == proposals.VERIFY_OFF:
            if not proposals.audit_verification(settings()).waiting:
                abort(400)
            proposals.propose(g.user, action, proposals.VERIFY_SETTING, "off")
        else:
            abort(400)
    except ConfigError:
        abort(400)
    except proposals.NotYours:
        _refused()
    except proposals.Refused:
        flash(_("A proposal for this setting is open already."))
        return _back()
    flash(_("Proposed: it takes effect once an auditor or another admin approves."))
    return _back()
