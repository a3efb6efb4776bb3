"""Four eyes, the admins' side: the proposals list, and approving, rejecting or withdrawing one
(app/domain/proposals.py, with the web side in app/web/proposals.py). Privacy officers decide the
same proposals under /audit/proposals."""

from flask import redirect, request, url_for

from ..domain import proposals
from ..domain.models import Proposal
from ..web import proposals as shared
from ..web.proposals import rows as rows  # app/team/reports.py imports it from here
from .blueprint import bp

TEMPLATE = "team/proposals.html"


@bp.get("/proposals", endpoint="proposals")
def show_proposals():
    return shared.page(TEMPLATE)


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
    return shared.decide(proposal_id, TEMPLATE, _back)
