"""Four eyes, the admins' side: the proposals list, and approving, rejecting or withdrawing one
(app/domain/proposals.py). Privacy officers decide the same proposals under /audit/proposals."""

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..domain import chain, proposals
from ..domain.models import Proposal
from ..web.urls import base_url, external_url
from .blueprint import bp

DECISIONS = ("approve", "reject", "withdraw")


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
    return render_template("team/proposals.html", rows=rows(proposals.listed()), form=FlaskForm(), link=None)


def _back(proposal: Proposal):
    """Where the form came from: the accounts page, the report page, or the list."""
    came_from = request.form.get("back", "")
    if came_from == "users":
        return redirect(url_for("team.users"), code=303)
    if came_from == "report" and proposal.action == proposals.LIFT_HOLD:
        return redirect(url_for("team.report", reference=proposal.subject), code=303)
    return redirect(url_for("team.proposals"), code=303)


@bp.post("/proposals/<int:proposal_id>")
def decide(proposal_id: int):
    """Approve, reject (another admin than the proposer) or withdraw (the proposer)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
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
        chain.append(None, g.user, "refused", request.endpoint or "team.decide")  # on record, as any refusal
        abort(403)
    except proposals.Refused:
        if proposals.find(proposal_id).state != proposals.OPEN:
            flash(_("This proposal was decided already."))
        else:
            flash(_("This proposal cannot be carried out as things are now: reject it."))
        return _back(proposal)
    flash(
        {
            "approve": _("Approved: it takes effect now."),
            "reject": _("Rejected: nothing changes."),
            "withdraw": _("Withdrawn: nothing changes."),
        }[decision]
    )
    if outcome.enrolment_token is None:
        return _back(proposal)
    return enrolment_page("team/proposals.html", rows(proposals.listed()), outcome.enrolment_token)


def enrolment_page(template: str, shown: list[dict], token: str):
    """The page with a new admin's one-time enrolment link, for the approver to hand over; not kept
    by any cache. From MELDPUNT_BASE_URL, never the Host header: the link is sent on."""
    if base_url() is None:
        flash(_("MELDPUNT_BASE_URL is not set, so this link has no address: put the portal's address before it."))
    link = external_url("team.enrol", token=token)
    response = make_response(render_template(template, rows=shown, form=FlaskForm(), link=link))
    response.headers["Cache-Control"] = "no-store"
    return response
