"""Four eyes, the privacy officers' side (app/domain/proposals.py, with the web side in
app/web/proposals.py): every proposal, approved or rejected here by an auditor or an admin other
than its proposer; and the proposals an admin opens from these pages: a retention period below its
default, the history's verification switched off."""

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..domain import proposals
from ..web import proposals as shared
from ..web.context import settings
from ..web.proposals import rows as rows  # app/audit/pages.py and history.py import it from here
from .blueprint import bp

TEMPLATE = "audit/proposals.html"
PAGES = {"retention": "audit.retention", "history": "audit.history"}


@bp.get("/proposals", endpoint="proposals")
def show_proposals():
    return shared.page(TEMPLATE)


def _back(_proposal=None):
    return redirect(url_for(PAGES.get(request.form.get("back", ""), "audit.proposals")), code=303)


@bp.post("/proposals/<int:proposal_id>")
def decide(proposal_id: int):
    """Approve or reject (an auditor, or an admin other than the proposer); withdraw (the proposer)."""
    return shared.decide(proposal_id, TEMPLATE, _back)


@bp.post("/proposals/new")
def propose():
    """An admin proposes that a setting as configured counts: a retention period below its default
    (the value in the instance file, exactly), or MELDPUNT_AUDIT_VERIFY = off."""
    if not FlaskForm().validate_on_submit():
        abort(400)
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
    except proposals.NotYours:
        shared.refuse("audit")
    except proposals.Refused:
        flash(_("A proposal for this setting is open already."))
        return _back()
    flash(_("Proposed: it takes effect once an auditor or another admin approves."))
    return _back()
