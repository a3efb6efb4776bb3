"""The report list with its clocks, the report page and what the team does there."""

from contextlib import nullcontext
from typing import NamedTuple

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from crypto import PublicKey

from ..domain import deadlines, proposals, workflow
from ..domain.db import database
from ..domain.errors import DuplicateNeedsOriginal, TransitionRefused
from ..domain.models import REPORT_CLOSED, REPORT_OPEN, REPORT_UNANSWERED, Event, Item, Mailbox, Report
from ..domain.reports import adopt_reply, sealed_reply
from ..web.context import settings
from ..web.i18n import CLOCKS, clock_label, short_day, state_label
from .blueprint import bp
from .forms import (
    AcknowledgeForm,
    CreditForm,
    DatesForm,
    HoldForm,
    LiftHoldForm,
    ReplyForm,
    StateForm,
    acknowledged_with_assessment,
)
from .proposals import rows

PAGE_SIZE = 50
MAX_PAGE = 1_000_000
# The list counts its reports up to this many pages past the one shown, and says "more than" beyond:
# counting every matching report cost more than the page itself at 100,000 (docs/team-guide.md).
COUNTED_PAGES = 20
SORTS = {"oldest": (Report.received.asc(), Report.id.asc()), "newest": (Report.received.desc(), Report.id.desc())}
HISTORY_ROWS = 50
# What a list row shows and its clocks are computed from (deadlines.py), and nothing else.
LISTED = (Report.id, Report.reference, Report.state, Report.received, Report.acknowledged, Report.disclosure_planned)
LISTED += (Report.exploited, Report.cra_aware_at, Report.resolved_on, Report.cra_early_warning_sent)
LISTED += (Report.cra_notification_sent, Report.cra_final_report_sent)


class Row(NamedTuple):
    """One line of the list, ready to print: its clocks as (status, label, due) for those not done."""

    reference: str
    exploited: bool
    state: str
    received: str
    clocks: list[tuple[str, str, str]]


def _filters() -> dict[str, tuple[str, object]]:
    """Each list filter: its label and its condition. The template shows exactly these. Each
    condition has an index that fits it, in the order of SORTS (models.py, Report's indexes)."""
    config = settings()
    overdue_cutoff = deadlines.overdue_answer_cutoff(config)
    return {
        "open": (_("Open"), REPORT_OPEN),
        "overdue": (_("Answer overdue"), REPORT_UNANSWERED & (Report.received <= overdue_cutoff)),
        "soon": (
            _("Answer due soon"),
            REPORT_UNANSWERED
            & (Report.received > overdue_cutoff)
            & (Report.received <= deadlines.due_soon_cutoff(config)),
        ),
        "closed": (_("Closed"), REPORT_CLOSED),
        "all": (_("All"), None),
        **{state: (state_label(state), Report.state == state) for state in workflow.STATES},
    }


@bp.get("/")
def home():
    filters = _filters()
    shown = request.args.get("show", "open")
    shown = shown if shown in filters else "open"
    page = min(max(1, request.args.get("page", 1, type=int)), MAX_PAGE)
    order = request.args.get("sort", "oldest")
    order = order if order in SORTS else "oldest"
    matching = Report.select(Report.id)
    condition = filters[shown][1]
    if condition is not None:
        matching = matching.where(condition)
    # Counted as far as COUNTED_PAGES past this page, in the index the page itself is read from.
    counted_to = (page - 1 + COUNTED_PAGES) * PAGE_SIZE
    counted = matching.limit(counted_to + 1).count()
    total = min(counted, counted_to)
    # The page's ids first, from the index alone, then their rows: the rows skipped to reach a deep
    # page are never read from the table (PostgreSQL would read each one).
    shown_ids = matching.order_by(*SORTS[order]).paginate(page, PAGE_SIZE)
    rows = sorted(Report.select(*LISTED).where(Report.id.in_(shown_ids)), key=lambda row: (row.received, row.id))
    rows = rows[::-1] if order == "newest" else rows
    return render_template(
        "team/list.html",
        reports=_printed(rows, {state: filters[state][0] for state in workflow.STATES}),
        # Each row's link is this and its reference, which needs no escaping (REFERENCE_ALPHABET).
        report_url=url_for("team.report", reference=""),
        filters=[(name, label) for name, (label, _condition) in filters.items() if name not in workflow.STATES],
        states=[(state, filters[state][0]) for state in workflow.STATES],
        shown=shown,
        order=order,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
        more=counted > counted_to,  # more than `total` reports, more than `pages` pages
    )


def _printed(rows: list[Report], state_labels: dict[str, str]) -> list[Row]:
    """The page's rows with their clocks, each label translated once for the page rather than once
    a row: per row, translations and template calls cost more than the database at 100,000 reports
    (bench/team_list_bench.py)."""
    clock_labels = {name: clock_label(name) for name in CLOCKS}
    return [
        Row(
            row.reference,
            row.exploited,
            state_labels.get(row.state, row.state),
            short_day(row.received),
            [
                (clock.status, clock_labels[clock.name], short_day(clock.due))
                for clock in clocks
                if clock.status != "done"
            ],
        )
        for row, clocks in zip(rows, deadlines.clocks_of(settings(), rows), strict=True)
    ]


def find_report(reference: str) -> Report:
    report = Report.get_or_none(Report.reference == reference)
    if report is None:
        abort(404)
    return report


@bp.get("/reports/<reference>")
def report(reference: str):
    return report_page(find_report(reference))


def report_page(row: Report, posted: FlaskForm | None = None):
    """The report page with each of its forms. `posted`, a form that failed, comes back with its
    messages, what was typed in it, and its summary at the top of the page (status 400); the
    others are shown as they would be on opening the page."""
    g.encrypting = True  # replies are sealed in the browser when JavaScript runs
    mailbox = Mailbox.get_or_none(Mailbox.report == row)
    reporter = PublicKey.parse(mailbox.public_key) if mailbox else None
    workflow.record(row, g.user, "viewed")  # who looked at which report is part of the history
    events = Event.select().where(Event.report == row).order_by(Event.seq.desc()).limit(HISTORY_ROWS)
    in_force = deadlines.disclosure_day(settings(), row)
    fresh = {"formdata": None}
    forms = {
        "acknowledge": AcknowledgeForm(row, data={"fix_expected": row.fix_expected}, **fresh),
        "state": StateForm(row, **fresh),
        "dates": DatesForm(
            row, in_force, data={"fix_expected": row.fix_expected, "disclosure_planned": in_force}, **fresh
        ),
        "reply": ReplyForm(**fresh),
        "hold": (LiftHoldForm if row.hold_reason else HoldForm)(**fresh),
        "credit": CreditForm(**fresh),
    }
    for name, form in forms.items():
        if posted is not None and type(posted) is type(form):
            forms[name] = posted
    acknowledging = acknowledged_with_assessment(row)
    page = render_template(
        "team/report.html",
        report=row,
        clocks=deadlines.clocks(settings(), row),
        items=list(Item.select().where(Item.report == row).order_by(Item.position, Item.id)),
        events=list(events),
        reporter_fingerprint=reporter.fingerprint if reporter else None,
        reporter_key=reporter.raw.hex() if reporter else None,
        acknowledging=acknowledging,
        form=FlaskForm(),
        forms=forms,
        posted=posted,
        default_disclosure=in_force,
        credits=list(row.credits),
        can_credit=row.state in workflow.CREDITABLE,
        can_hold=g.user.role == "admin",
        lifting=rows(proposals.open_ones(workflow.LIFT_HOLD, row.reference)) if g.user.role == "admin" else [],
        # Gone: the reporter closed it, or it went unused past MELDPUNT_RETAIN_MAILBOX_DAYS. Derived
        # from the row being gone, never from an event: nothing records when a reporter closed theirs.
        mailbox_closed=mailbox is None,
    )
    return page, 400 if posted is not None else 200


def checked_form() -> None:
    if not FlaskForm().validate_on_submit():
        abort(400)


def back(reference: str, message: str | None = None):
    if message:
        flash(message)
    return redirect(url_for("team.report", reference=reference), code=303)


@bp.post("/reports/<reference>/state")
def change_state(reference: str):
    checked_form()
    row = find_report(reference)
    if not workflow.allowed(row.state):  # the form is not offered (changed in another tab)
        return back(reference, _("That change is not possible from the current state."))
    form = StateForm(row)
    if not form.validate_on_submit():
        return report_page(row, form)
    target, message = form.state.data, form.message.data
    try:
        # The reply is sealed and stored first, then joins the thread in the state change's
        # transaction, or is deleted again with it (app/domain/reports.py `sealed_reply`).
        with sealed_reply(settings(), row, message) if message else nullcontext() as reply, database.atomic():
            workflow.change_state(settings(), row, target, g.user, form.original)
            if reply is not None:
                adopt_reply(row, reply)
                workflow.record(row, g.user, "reply", "typed with a state change")
    except DuplicateNeedsOriginal:
        return back(reference, _("A report cannot be a duplicate of itself."))
    except TransitionRefused:
        return back(reference, _("That change is not possible from the current state."))
    return back(reference, _("State changed to: %(state)s", state=state_label(target)))


@bp.post("/reports/<reference>/dates")
def set_dates(reference: str):
    checked_form()
    row = find_report(reference)
    form = DatesForm(row, deadlines.disclosure_day(settings(), row))
    if not form.validate_on_submit():
        return report_page(row, form)
    fix, disclosure = form.fix_expected.data, form.disclosure_planned.data
    workflow.set_dates(settings(), row, g.user, fix, disclosure, form.in_force, form.reason.data or "")
    return back(reference, _("Dates saved."))


@bp.post("/reports/<reference>/cra")
def cra(reference: str):
    checked_form()
    row = find_report(reference)
    step = request.form.get("step", "")
    if step == "aware":
        workflow.mark_aware(settings(), row, g.user)
    else:
        try:
            workflow.mark_cra_step_sent(row, g.user, step)
        except TransitionRefused:
            abort(400)
    return back(reference)


@bp.post("/reports/<reference>/hold")
def hold(reference: str):
    """Place a legal hold, or propose lifting it (admins only, ROLES_FOR), with a reason that enters
    the history. Lifting takes a second person: another admin or a privacy officer approves
    (app/domain/proposals.py)."""
    checked_form()
    row = find_report(reference)
    action = request.form.get("action", "")
    if action not in ("place", "lift"):
        abort(400)
    if (action == "place") == (row.hold_reason is not None):  # placed or lifted already (another tab)
        return back(reference)
    form = (HoldForm if action == "place" else LiftHoldForm)()
    if action == "lift" and proposals.open_ones(workflow.LIFT_HOLD, row.reference):
        return back(reference, _("Lifting this hold is proposed already: it waits for a second person."))
    if not form.validate_on_submit():
        return report_page(row, form)
    if action == "place":
        try:
            workflow.place_hold(row, g.user, form.reason.data)
        except TransitionRefused:
            return back(reference, _("Give a reason (at most 500 characters) to place or lift a legal hold."))
        return back(reference, _("Legal hold placed: no retention rule deletes anything of this report."))
    try:
        proposals.propose(g.user, workflow.LIFT_HOLD, row.reference, form.reason.data)
    except proposals.Refused:
        return back(reference, _("Give a reason (at most 500 characters) to place or lift a legal hold."))
    return back(
        reference,
        _("Lifting proposed: the hold stays until another admin or a privacy officer approves."),
    )
