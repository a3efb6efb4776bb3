"""The CVD workflow (ISO/IEC 30111, in the words a team uses): states, the one table of allowed
transitions, and everything else the team records on a report (dates, CRA steps, credit), each
with an event: who, what, and the exact team time.

The views and the tests both read TRANSITIONS; the labels people see live in app/web/i18n.py.
"""

import datetime

from . import chain
from .clock import now, today
from .db import is_sqlite
from .errors import DuplicateNeedsOriginal, TransitionRefused
from .models import CLOSED_STATES, OPEN_STATES, Credit, Event, Item, Mailbox, Proposal, Report, User
from .settings import Settings

# In the order of the list's filters; the open and closed ones are in models.py, whose indexes name them.
STATES = (*OPEN_STATES, *CLOSED_STATES)
EXITS = ("duplicate", "not_vulnerability", "out_of_scope", "spam")
OPEN = OPEN_STATES
CREDITABLE = ("resolved", "disclosed")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("acknowledged", *EXITS),
    "acknowledged": ("confirmed", *EXITS),
    "confirmed": ("fixing", "resolved", "duplicate"),
    "fixing": ("resolved",),
    "resolved": ("disclosed", "fixing"),  # back to fixing when the fix turns out incomplete
    "disclosed": (),
    # A closed report can be reopened when the team was wrong about it.
    **{state: ("acknowledged",) for state in EXITS},
}
CRA_STEPS = ("cra_early_warning", "cra_notification", "cra_final_report")


def allowed(state: str) -> tuple[str, ...]:
    return TRANSITIONS.get(state, ())


def record(report: Report | None, user: User | None, action: str, detail: str = "") -> Event:
    """An entry in the history (app/domain/chain.py). `detail` is the team's own words or the
    tool's, never text a reporter wrote."""
    return chain.append(report, user, action, detail)


def touch(settings: Settings, report: Report) -> None:
    """Mark the report changed today, for "export everything changed since"."""
    report.updated = today(settings.zone)
    report.save()


def mark_news(report: Report) -> None:
    """Something the reporter sees in their mailbox changed: a reply, the state, the expected fix or
    disclosure date. `meldpunt notify` mails "there is news" at the next fixed time to a mailbox
    with a news address (app/domain/news.py). Only the team's actions call this, never a reporter's,
    and it sets a flag without a day or time: the team's own events are timed already."""
    Mailbox.update(news_pending=True).where(Mailbox.report == report.id).execute()


def change_state(
    settings: Settings, report: Report, target: str, user: User, duplicate_of: Report | None = None
) -> None:
    if target not in allowed(report.state):
        raise TransitionRefused(f"{report.state} → {target}")
    if target == "duplicate" and (duplicate_of is None or duplicate_of.id == report.id):
        raise DuplicateNeedsOriginal("a duplicate names another report, the original")
    previous = report.state
    report.state = target
    report.duplicate_of = duplicate_of if target == "duplicate" else None
    day = today(settings.zone)
    if target == "acknowledged" and report.acknowledged is None:
        report.acknowledged = day
    if target == "resolved":
        report.resolved_on = day
    # The days retention counts from (app/domain/retention.py); reopening stops the count.
    report.closed_on = day if target in EXITS else None
    if target == "disclosed":
        report.disclosed_on = day
    touch(settings, report)
    mark_news(report)
    detail = f"{previous} → {target}" + (f" (of {duplicate_of.reference})" if duplicate_of else "")
    record(report, user, "state", detail)


def set_dates(
    settings: Settings,
    report: Report,
    user: User,
    fix: datetime.date | None,
    disclosure: datetime.date | None,
    effective_disclosure: datetime.date,
    reason: str,
) -> None:
    """Record an expected fix date and/or a planned disclosure. A disclosure date is a change
    only when it differs from the one in force (`effective_disclosure`, which the form shows), and
    a change needs a reason."""
    disclosure = disclosure if disclosure != effective_disclosure else None
    if disclosure and not reason:
        raise TransitionRefused("a changed disclosure date needs a reason")
    if fix and fix != report.fix_expected:
        report.fix_expected = fix
        record(report, user, "fix-expected", fix.isoformat())
        mark_news(report)
    if disclosure:
        report.disclosure_planned = disclosure
        record(report, user, "disclosure-planned", f"{disclosure.isoformat()}: {reason}")
        mark_news(report)
    touch(settings, report)


class AlreadyAcknowledged(TransitionRefused):
    """The report was acknowledged already (a second click, another tab): nothing more is stored."""


def acknowledge(settings: Settings, report: Report, user: User, assessment: Item, fix: datetime.date) -> None:
    """The team's first answer, in the shape the policy promises: "acknowledged", the assessment (a
    reply already part of the thread, sealed to the reporter and the team like any other) and the
    expected fix date. Call inside the transaction that adopted `assessment`: the report is read
    again there (locked on PostgreSQL; SQLite's write transaction holds the lock already), so a
    second acknowledgment, or a state changed meanwhile, is seen, and AlreadyAcknowledged rolls the
    whole transaction back, the second assessment with it."""
    if assessment.report_id != report.id or assessment.kind != "reply":
        raise TransitionRefused("the assessment is a reply in this report's thread")
    query = Report.select().where(Report.id == report.id)
    # NO KEY UPDATE: it orders two acknowledgments, but unlike FOR UPDATE it leaves the key share
    # lock an insert that names the report takes. The history appends lock its head and then
    # insert such a row; FOR UPDATE here, held while this transaction waits for the head, made a
    # deadlock with them (found by tests/test_fuzz_routes.py on PostgreSQL).
    fresh = (query if is_sqlite() else query.for_update("FOR NO KEY UPDATE")).get()
    if fresh.acknowledged is not None:
        raise AlreadyAcknowledged("the report was acknowledged before: reply, or set the dates")
    # Only while it is still unacknowledged: the guard holds even without the lock.
    claimed = Report.update(acknowledged=today(settings.zone)).where(
        (Report.id == report.id) & Report.acknowledged.is_null()
    )
    if not claimed.execute():
        raise AlreadyAcknowledged("the report was acknowledged before: reply, or set the dates")
    fresh.acknowledged = None  # change_state sets the day it claimed, and records the transition
    change_state(settings, fresh, "acknowledged", user)
    Item.update(assessment=True).where(Item.id == assessment.id).execute()
    if fix != fresh.fix_expected:
        fresh.fix_expected = fix
        fresh.save()
        record(fresh, user, "fix-expected", fix.isoformat())
    record(fresh, user, "reply", "the assessment, with the acknowledgment")
    for name in ("state", "acknowledged", "fix_expected", "updated", "closed_on"):
        setattr(report, name, getattr(fresh, name))


def mark_aware(settings: Settings, report: Report, user: User) -> None:
    """The team's "we are aware" of active exploitation: starts the CRA clocks (once)."""
    if report.cra_aware_at is not None:
        return
    report.exploited = True
    report.cra_aware_at = now()
    touch(settings, report)
    record(report, user, "cra:aware", "actively exploited: the team is aware")


def mark_cra_step_sent(report: Report, user: User, step: str) -> None:
    if step not in CRA_STEPS or report.cra_aware_at is None:
        raise TransitionRefused(f"no CRA step {step!r} to record")
    field = f"{step}_sent"
    if getattr(report, field) is None:
        setattr(report, field, now())
        report.save()
    record(report, user, f"cra:{step}", "sent")


MAX_HOLD_REASON = 500


LIFT_HOLD = "lift-hold"  # the proposal that lifts a hold (app/domain/proposals.py)


def place_hold(report: Report, user: User, reason: str) -> None:
    """A legal hold: no retention rule deletes anything of this report (or redacts its view events)
    until it is lifted. One admin's act, with a reason, which goes into the history: a hold only
    keeps data."""
    reason = hold_reason(reason)
    if user.role != "admin":
        raise TransitionRefused("only an admin places a legal hold")
    if report.hold_reason is not None:
        raise TransitionRefused("the report is on hold already")
    Report.update(hold_reason=reason).where(Report.id == report.id).execute()
    report.hold_reason = reason
    record(report, user, "hold-placed", reason)


def lift_hold(report: Report, approved: Proposal, user: User) -> None:
    """End a legal hold: only as the approval of a proposal to lift it (four eyes,
    app/domain/proposals.py), by the person who approved it, in the approval's transaction. The
    rules apply again from the next `meldpunt purge`."""
    if (
        approved.action != LIFT_HOLD
        or approved.state != "approved"
        or approved.subject != report.reference
        or approved.decider_id != user.id
    ):
        raise TransitionRefused("a legal hold is lifted only by an approved proposal")
    if report.hold_reason is None:
        raise TransitionRefused("the report is not on hold")
    Report.update(hold_reason=None).where(Report.id == report.id).execute()
    report.hold_reason = None
    record(report, user, "hold-lifted", f"{approved.value} (proposal {approved.id} by {approved.proposed_by})")


def hold_reason(reason: str) -> str:
    """A reason to place or lift a hold, its spaces collapsed; refused when empty or too long."""
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > MAX_HOLD_REASON:
        raise TransitionRefused(f"a legal hold needs a reason of at most {MAX_HOLD_REASON} characters")
    return reason


def publish_credit(settings: Settings, report: Report, user: User, name: str) -> Credit:
    if report.state not in CREDITABLE:
        raise TransitionRefused("credit is published for resolved reports")
    credit = Credit.create(report=report, name=name, published=today(settings.zone))
    record(report, user, "credit-published")  # the name stays out of the history: it may be a person's
    return credit


def withdraw_credit(report: Report, user: User, credit: Credit) -> None:
    credit.delete_instance()  # withdrawn means gone, not hidden
    record(report, user, "credit-withdrawn")
