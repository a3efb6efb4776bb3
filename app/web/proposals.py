"""Four eyes on the web (app/domain/proposals.py), shared by the admins' pages (app/team/proposals.py,
app/team/users.py) and the privacy officers' (app/audit/proposals.py): the proposals as rows for a
page, deciding one, and the two halves of an enrolment link an approval gives out — the link
without its end for the approver, the code for its end for the proposer — each shown once (no
page is cached: app/web/headers.py).

An open proposal that can no longer be approved — expired (MELDPUNT_PROPOSAL_DAYS), or its
proposer's account disabled or no longer an enrolled admin — shows why on every page that lists it
(`stale`), without the approve button; rejecting and withdrawing it stay. An approval sent anyway
is refused with that sentence and changes nothing. While MELDPUNT_PROPOSAL_DAYS is wrong, nothing
is approved: the pages and the refusal show the configuration error.

Links come from MELDPUNT_BASE_URL, never the Host header: they are sent on to a colleague.
"""

from collections.abc import Callable

from flask import abort, flash, g, render_template, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..domain import chain, proposals
from ..domain.models import Proposal
from .context import settings
from .i18n import role_label
from .urls import base_url, external_url

DECISIONS = ("approve", "reject", "withdraw")


def rows(items: list[Proposal]) -> list[dict]:
    """Each proposal with what it does in the page's language, what the signed-in account may do,
    why it may not decide one it otherwise could (`why`, or None), and why an open one can no longer
    be approved by anyone (`stale`: sentences, none if it can be)."""
    days = settings().proposal_days  # checked when the app started (Settings.validate)
    shown = []
    for proposal in items:
        message, values = proposals.summary(proposal)
        if "role" in values:  # the role's name in the page's language
            values = {**values, "role": role_label(str(values["role"]))}
        is_open = proposal.state == proposals.OPEN
        reason = proposals.controlled(proposal, g.user) if is_open else None
        stale = [_(why, **why_values) for why, why_values in proposals.unapprovable(proposal, days)]
        state = proposals.shown_state(proposal, days)
        may_decide = proposals.may_decide(proposal, g.user)
        shown.append(
            {
                "proposal": proposal,
                "what": _(message, **values),
                "state": _(proposals.STATE_LABELS.get(state, state)),
                "may_decide": may_decide,  # reject; approve too unless stale
                "may_approve": proposals.may_approve(proposal, g.user, days),
                "may_withdraw": proposals.may_withdraw(proposal, g.user),
                "why": _(reason) if reason and proposal.proposed_by != g.user.name else None,
                "stale": stale,
            }
        )
    return shown


def enrolment_link(token: str) -> str:
    """The absolute enrolment link for `token` (a whole token, or a first half ending in the split)."""
    if base_url() is None:
        flash(_("MELDPUNT_BASE_URL is not set, so this link has no address: put the portal's address before it."))
    return external_url("team.enrol", token=token)


def page(template: str, status: int = 200, **extra):
    """The proposals page: open ones, then the latest decided."""
    values = {"handover": None, **extra}
    return render_template(template, rows=rows(proposals.listed()), form=FlaskForm(), **values), status


def refuse(fallback: str):
    """Not this account's to do: on record, as any refusal, and a 403."""
    chain.append(None, g.user, "refused", request.endpoint or fallback)
    abort(403)


def decide(proposal_id: int, template: str, back: Callable[[Proposal], object]):
    """Approve or reject (an auditor, or an admin other than the proposer), withdraw (the proposer).
    Approving a new account or a reset shows the approver the link without its end, once."""
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
            outcome = proposals.approve(proposal, g.user, settings().proposal_days)
        elif decision == "reject":
            outcome = proposals.Decided(proposals.reject(proposal, g.user))
        else:
            outcome = proposals.Decided(proposals.withdraw(proposal, g.user))
    except proposals.Controlled as refusal:
        # Refused as any other, and the page says why: the two accounts may be one person's.
        chain.append(None, g.user, "refused", request.endpoint or "decide")
        flash(_(refusal.reason))
        return page(template, 403)
    except proposals.NotYours:
        refuse("decide")
    except proposals.Stale as refusal:
        # Expired, or its proposer's account no longer carries it: nothing changed; say which.
        flash(_(refusal.reason, **refusal.values))
        return back(proposal)
    except proposals.Refused:
        if proposals.find(proposal_id).state != proposals.OPEN:
            flash(_("This proposal was decided already."))
        else:
            flash(_("This proposal cannot be carried out as things are now: reject it."))
        return back(proposal)
    flash(
        {
            "approve": _("Approved: it takes effect now."),
            "reject": _("Rejected: nothing changes."),
            "withdraw": _("Withdrawn: nothing changes."),
        }[decision]
    )
    if outcome.enrolment_token is None:
        return back(proposal)
    handover = {
        "link": enrolment_link(outcome.enrolment_token),
        "name": proposal.subject,
        "proposer": proposal.proposed_by,
    }
    return page(template, handover=handover)
