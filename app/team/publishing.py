"""What leaves the workspace: export bundles for the offline tool, and credit in the hall of fame."""

import datetime

from flask import Response, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from ..domain import workflow
from ..domain.errors import TransitionRefused
from ..domain.export import bundle_for
from ..domain.models import Credit, Report
from ..web.context import settings
from .blueprint import bp
from .forms import CreditForm
from .reports import back, checked_form, find_report, report_page


def _zip(data, name: str) -> Response:
    return Response(data, mimetype="application/zip", headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.get("/reports/<reference>/export")
def export(reference: str):
    row = find_report(reference)
    workflow.record(row, g.user, "export")
    return _zip(bundle_for([row]), f"{row.reference}.zip")


@bp.post("/reports/<reference>/credit")
def credit(reference: str):
    """Publish the name the reporter asked to be credited with (typed after reading it offline)."""
    checked_form()
    row = find_report(reference)
    if row.state not in workflow.CREDITABLE:  # the form is not on the page: nothing to mend there
        return back(reference, _("Credit can be published for a resolved report, with a name."))
    form = CreditForm()
    if not form.validate_on_submit():
        return report_page(row, form)
    try:
        workflow.publish_credit(settings(), row, g.user, form.name.data)
    except TransitionRefused:
        return back(reference, _("Credit can be published for a resolved report, with a name."))
    return back(reference)


@bp.post("/reports/<reference>/credit/<int:credit_id>/withdraw")
def withdraw_credit(reference: str, credit_id: int):
    checked_form()
    row = find_report(reference)
    entry = Credit.get_or_none(Credit.id == credit_id, Credit.report == row)
    if entry is None:
        abort(404)
    workflow.withdraw_credit(row, g.user, entry)
    return back(reference)


@bp.get("/export")
def export_since():
    """Every report changed on or after ?since=YYYY-MM-DD, as a zip holding one bundle each."""
    try:
        since = datetime.date.fromisoformat(request.args.get("since", ""))
    except ValueError:
        abort(400)
    rows = list(Report.select().where(Report.updated >= since).order_by(Report.id))
    if not rows:
        flash(_("No report changed since that day."))
        return redirect(url_for("team.home"), code=303)
    workflow.record(None, g.user, "export", f"{len(rows)} reports changed since {since.isoformat()}")
    return _zip(bundle_for(rows, outer=True), f"meldpunt-since-{since.isoformat()}.zip")
