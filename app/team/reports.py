"""The report list with its clocks, the report page and what the team does there."""

import datetime

from flask import Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from crypto import CryptoError, PublicKey
from crypto.envelope import read_header

from .. import csrf, deadlines, parts, workflow
from ..blobs import BlobReader
from ..db import database
from ..export import bundle_for
from ..models import Credit, Event, Item, Mailbox, Report, today
from ..reporting import next_position, seal_reply, team_key
from ..uploads import open_upload_session
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


def _report(reference: str) -> Report:
    report = Report.get_or_none(Report.reference == reference)
    if report is None:
        abort(404)
    return report


@bp.get("/reports/<reference>")
def report(reference: str):
    g.encrypting = True  # replies are sealed in the browser when JavaScript runs
    row = _report(reference)
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


def _checked_form() -> None:
    if not FlaskForm().validate_on_submit():
        abort(400)


@bp.post("/reports/<reference>/state")
def change_state(reference: str):
    _checked_form()
    row = _report(reference)
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
    _checked_form()
    row = _report(reference)
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
    _checked_form()
    row = _report(reference)
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


@bp.post("/reports/<reference>/reply")
def reply(reference: str):
    """A reply typed here (sealed on the server) or made offline with `meldpunt-team reply`."""
    _checked_form()
    row = _report(reference)
    if "sealed_reply" in request.form:  # sealed in the browser: adopt the envelope unchanged
        handle = request.form["sealed_reply"]
        items = parts.claim([handle], f"reply:{row.id}")
        if items is None:
            abort(400)
        with database.atomic():
            Item.update(report=row, kind="reply", position=next_position(row), handle=None).where(
                Item.id == items[0].id
            ).execute()
            workflow.record(row, g.user, "reply", "sealed in the browser")
            row.updated = today()
            row.save()
        parts.forget([handle])
        flash(_("The reply is sealed to the reporter and the team."))
        return redirect(url_for("team.report", reference=reference), code=303)
    text = request.form.get("message", "").strip()
    if not text:
        flash(_("Write a reply first."))
        return redirect(url_for("team.report", reference=reference), code=303)
    seal_reply(row, text)
    workflow.record(row, g.user, "reply", "typed in the workspace")
    row.updated = today()
    row.save()
    flash(_("The reply is sealed to the reporter and the team."))
    return redirect(url_for("team.report", reference=reference), code=303)


@bp.post("/reports/<reference>/reply-file")
@csrf.exempt  # checked inside, after the file part has streamed in
def reply_file(reference: str):
    """An envelope made offline with `meldpunt-team reply`: stored unchanged if it is addressed to
    exactly this report's reporter and the team key."""
    row = _report(reference)
    mailbox = Mailbox.get_or_none(Mailbox.report == row)
    if mailbox is None:
        abort(404)
    upload = open_upload_session([], "reply", current_app.config["MELDPUNT_MAX_UPLOAD_BYTES"], seal=False)
    try:
        _checked_form()
        stored = upload.completed()
        if len(stored) != 1:
            raise _Refused(_("Choose one reply file (.mpe) made with meldpunt-team reply."))
        try:
            header = read_header(BlobReader(stored[0]))
        except CryptoError:
            raise _Refused(_("This file is not a Meldpunt envelope.")) from None
        if not header.addressed_to([team_key(), PublicKey.parse(mailbox.public_key)]):
            raise _Refused(_("This envelope is not sealed to this report's reporter and the team key."))
    except _Refused as refused:
        upload.discard()
        flash(str(refused))
        return redirect(url_for("team.report", reference=reference), code=303)
    except BaseException:
        upload.discard()
        raise
    with database.atomic():
        Item.update(report=row, kind="reply", position=next_position(row)).where(Item.id == stored[0].id).execute()
        workflow.record(row, g.user, "reply", "uploaded envelope")
        row.updated = today()
        row.save()
    flash(_("The reply is stored unchanged; the reporter can read it."))
    return redirect(url_for("team.report", reference=reference), code=303)


class _Refused(Exception):
    pass


@bp.get("/reports/<reference>/export")
def export(reference: str):
    row = _report(reference)
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
    _checked_form()
    row = _report(reference)
    name = request.form.get("name", "").strip()
    if row.state not in CREDITABLE or not name or len(name) > 200:
        flash(_("Credit can be published for a resolved report, with a name."))
        return redirect(url_for("team.report", reference=reference), code=303)
    Credit.create(report=row, name=name)
    workflow.record(row, g.user, "credit-published", name)
    return redirect(url_for("team.report", reference=reference), code=303)


@bp.post("/reports/<reference>/credit/<int:credit_id>/withdraw")
def withdraw_credit(reference: str, credit_id: int):
    _checked_form()
    row = _report(reference)
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
