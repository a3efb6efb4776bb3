"""The report list with its clocks, the report page and what the team does there."""

import datetime

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from crypto import PublicKey

from .. import deadlines, workflow
from ..db import database
from ..models import Credit, Event, Item, Mailbox, Report, today
from ..reporting import seal_reply
from . import bp

PAGE_SIZE = 50
CREDITABLE = ("resolved", "disclosed")
FILTERS = ("open", "overdue", "soon", "closed", "all")
SORTS = {"oldest": (Report.received.asc(), Report.id.asc()), "newest": (Report.received.desc(), Report.id.desc())}


@bp.get("/")
def home():
    if g.user.role == "auditor":
        return render_template("team/auditor.html")
    shown = request.args.get("show", "open")
    shown = shown if shown in FILTERS or shown in workflow.LABELS else "open"
    page = max(1, request.args.get("page", 1, type=int))
    query = Report.select()
    if shown == "open":
        query = query.where(Report.state.in_(workflow.OPEN))
    elif shown == "closed":
        query = query.where(Report.state.not_in(workflow.OPEN))
    elif shown == "overdue":
        query = query.where(
            Report.state.in_(workflow.OPEN),
            Report.acknowledged.is_null(),
            Report.received <= deadlines.overdue_answer_cutoff(),
        )
    elif shown == "soon":  # the answer is due today or tomorrow
        query = query.where(
            Report.state.in_(workflow.OPEN),
            Report.acknowledged.is_null(),
            Report.received > deadlines.overdue_answer_cutoff(),
            Report.received <= deadlines.due_soon_cutoff(),
        )
    elif shown in workflow.LABELS:
        query = query.where(Report.state == shown)
    order = request.args.get("sort", "oldest")
    order = order if order in SORTS else "oldest"
    total = query.count()
    rows = list(query.order_by(*SORTS[order]).paginate(page, PAGE_SIZE))
    return render_template(
        "team/list.html",
        reports=[(row, deadlines.clocks(row)) for row in rows],
        shown=shown,
        order=order,
        state_names=list(workflow.LABELS),
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
    )


def find_report(reference: str) -> Report:
    report = Report.get_or_none(Report.reference == reference)
    if report is None:
        abort(404)
    return report


@bp.get("/reports/<reference>")
def report(reference: str):
    g.encrypting = True  # replies are sealed in the browser when JavaScript runs
    row = find_report(reference)
    mailbox = Mailbox.get_or_none(Mailbox.report == row)
    steps = {
        e.action.removeprefix("cra:")
        for e in Event.select().where(Event.report == row, Event.action.startswith("cra:"))
    }
    items = list(Item.select().where(Item.report == row).order_by(Item.position, Item.id))
    return render_template(
        "team/report.html",
        report=row,
        clocks=deadlines.clocks(row, steps),
        items=items,
        events=list(row.events.order_by(Event.at.desc()).limit(50)),
        reporter_fingerprint=PublicKey.parse(mailbox.public_key).fingerprint if mailbox else None,
        reporter_key=PublicKey.parse(mailbox.public_key).raw.hex() if mailbox else None,
        transitions=workflow.allowed(row.state),
        form=FlaskForm(),
        default_disclosure=deadlines.disclosure_day(row),
        credits=list(row.credits.where(~Credit.withdrawn)),
        can_credit=row.state in CREDITABLE,
    )


def checked_form() -> None:
    if not FlaskForm().validate_on_submit():
        abort(400)


@bp.post("/reports/<reference>/state")
def change_state(reference: str):
    checked_form()
    row = find_report(reference)
    target = request.form.get("state", "")
    duplicate_of = None
    if target == "duplicate":
        duplicate_of = Report.get_or_none(Report.reference == request.form.get("duplicate_of", "").strip())
    try:
        with database.atomic():
            workflow.change_state(row, target, g.user, duplicate_of)
            message = request.form.get("message", "").strip()
            if message:
                seal_reply(row, message)
                workflow.record(row, g.user, "reply", "typed with a state change")
    except workflow.TransitionRefused:
        flash(_("That change is not possible from the current state."))
        return redirect(url_for("team.report", reference=reference)), 303
    flash(_("State changed to: %(state)s", state=workflow.label(target)))
    return redirect(url_for("team.report", reference=reference), code=303)


def _day(name: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        return None


@bp.post("/reports/<reference>/dates")
def set_dates(reference: str):
    checked_form()
    row = find_report(reference)
    fix, disclosure = _day("fix_expected"), _day("disclosure_planned")
    reason = request.form.get("reason", "").strip()
    if disclosure and disclosure != row.disclosure_planned and not reason:
        flash(_("Give a reason for the disclosure date."))
        return redirect(url_for("team.report", reference=reference), code=303)
    if fix:
        row.fix_expected = fix
        workflow.record(row, g.user, "fix-expected", fix.isoformat())
    if disclosure:
        row.disclosure_planned = disclosure
        workflow.record(row, g.user, "disclosure-planned", f"{disclosure.isoformat()}: {reason}")
    row.updated = today()
    row.save()
    return redirect(url_for("team.report", reference=reference), code=303)


@bp.post("/reports/<reference>/cra")
def cra(reference: str):
    checked_form()
    row = find_report(reference)
    step = request.form.get("step", "")
    if step == "aware":
        if row.cra_aware_at is None:
            row.exploited = True
            row.cra_aware_at = workflow.now()
            row.updated = today()
            row.save()
            workflow.record(row, g.user, "cra:aware", "actively exploited: the team is aware")
    elif step in deadlines.CRA_STEPS and row.cra_aware_at:
        workflow.record(row, g.user, f"cra:{step}", "sent")
    else:
        abort(400)
    return redirect(url_for("team.report", reference=reference), code=303)
