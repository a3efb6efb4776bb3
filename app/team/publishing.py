"""What leaves the workspace: export bundles for the offline tool, and credit in the hall of fame."""

import datetime

from flask import Response, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from .. import workflow
from ..export import bundle_for
from ..models import Credit, Report
from . import bp
from .reports import CREDITABLE, checked_form, find_report


@bp.get("/reports/<reference>/export")
def export(reference: str):
    row = find_report(reference)
    workflow.record(row, g.user, "export")
    data = bundle_for([row])
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename={row.reference}.zip"},
    )


@bp.post("/reports/<reference>/credit")
def credit(reference: str):
    """Publish the name the reporter asked to be credited with (typed after reading it offline)."""
    checked_form()
    row = find_report(reference)
    name = request.form.get("name", "").strip()
    if row.state not in CREDITABLE or not name or len(name) > 200:
        flash(_("Credit can be published for a resolved report, with a name."))
        return redirect(url_for("team.report", reference=reference), code=303)
    Credit.create(report=row, name=name)
    workflow.record(row, g.user, "credit-published", name)
    return redirect(url_for("team.report", reference=reference), code=303)


@bp.post("/reports/<reference>/credit/<int:credit_id>/withdraw")
def withdraw_credit(reference: str, credit_id: int):
    checked_form()
    row = find_report(reference)
    entry = Credit.get_or_none(Credit.id == credit_id, Credit.report == row)
    if entry is None:
        abort(404)
    entry.withdrawn = True
    entry.save()
    workflow.record(row, g.user, "credit-withdrawn", entry.name)
    return redirect(url_for("team.report", reference=reference), code=303)


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
    data = bundle_for(rows) if len(rows) > 1 else bundle_for(rows, outer=True)
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=meldpunt-since-{since.isoformat()}.zip"},
    )
