"""Retention: what `meldpunt purge` deletes, when and why, and deletion that reaches the disk.

Each rule has a period in days (`MELDPUNT_RETAIN_*`, app/domain/settings.py; one below its default
counts only once a second person approved it, app/domain/proposals.py), counted from a day
kept for that purpose: a report's `closed_on` or `disclosed_on`, a mailbox's `last_used`, an
account's `disabled_on`, an entry's day in the history. Something is due when that day is on or
before `today - days`: a report closed as spam 30 days ago goes today, one closed 29 days ago stays.
A legal hold on a report (`Report.hold_reason`) suspends every rule for it: the report, its
attachments, its mailbox, and the view entries that name it.

`plan(settings, today)` says exactly what a run would delete and why; it changes nothing, so it is
what `meldpunt purge --dry-run` and the privacy officer's page show. `run(settings, plan)` deletes
that, in one transaction that also appends one history entry with the counts per rule; what stopped
being due in between (a hold placed, a report reopened) is left alone, and the entry counts only
what went. History entries cannot be deleted without breaking the chain: they are redacted
(app/domain/chain.py), and the entry names them and states the period they were past. Physical
deletion is SQLite's `secure_delete`, set on every connection (app/domain/db.py), and the caller's
`truncate_wal` after the run (then `meldpunt purge` rewrites the whole file, db.py `rewrite`).

Withdrawn credits need no rule: withdrawing deletes them (app/domain/workflow.py). A reporter's
news address (app/domain/news.py) has no rule of its own: it goes with its mailbox, whichever
rule deletes that (unused mailboxes, or the report's own rule).
"""

import datetime
from dataclasses import dataclass, replace

from . import chain, notify, proposals
from .db import database
from .inventory import N_
from .models import Chunk, Credit, Event, Item, Mailbox, NewsAddress, Proposal, Report, SignedIn, User
from .settings import Settings

BATCH = 500  # ids per statement


@dataclass(frozen=True)
class Rule:
    category: str
    setting: str  # MELDPUNT_RETAIN_…: its period in days
    what: str
    counted_from: str  # "after closing"
    since: str  # the word before a thing's day: "closed 2026-01-02"
    unit: tuple[str, str]  # one, more

    def describe(self, days: int) -> str:
        return f"{self.what}, {days} days {self.counted_from}"

    def count(self, number: int) -> str:
        return f"{number} {self.unit[number != 1]}"


SPAM = Rule(
    "spam",
    "MELDPUNT_RETAIN_SPAM_DAYS",
    N_("reports closed as spam or out of scope"),
    N_("after closing"),
    N_("closed"),
    (N_("report"), N_("reports")),
)
REJECTED = Rule(
    "rejected",
    "MELDPUNT_RETAIN_REJECTED_DAYS",
    N_("reports closed as not a vulnerability or as a duplicate"),
    N_("after closing"),
    N_("closed"),
    (N_("report"), N_("reports")),
)
DISCLOSED = Rule(
    "disclosed",
    "MELDPUNT_RETAIN_DISCLOSED_DAYS",
    N_("disclosed reports"),
    N_("after disclosure"),
    N_("disclosed"),
    (N_("report"), N_("reports")),
)
DISCLOSED_ATTACHMENTS = Rule(
    "disclosed-attachments",
    "MELDPUNT_RETAIN_DISCLOSED_ATTACHMENTS_DAYS",
    N_("attachments of disclosed reports"),
    N_("after disclosure"),
    N_("disclosed"),
    (N_("attachment"), N_("attachments")),
)
MAILBOXES = Rule(
    "mailboxes",
    "MELDPUNT_RETAIN_MAILBOX_DAYS",
    N_("reporters' mailboxes"),
    N_("after their last use"),
    N_("last used"),
    (N_("mailbox"), N_("mailboxes")),
)
# Its run's entry says "…entries (redacted), 365 days after…": `chain.verify` reads the period
# there, to check that each entry the run redacted was past it (tests/test_chain.py).
ACCESS_EVENTS = Rule(
    "access-events",
    "MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS",
    N_("sign-in, sign-out, view and refusal entries (redacted)"),
    N_("after the day they were written"),
    N_("written"),
    (N_("entry"), N_("entries")),
)
DISABLED_ACCOUNTS = Rule(
    "disabled-accounts",
    "MELDPUNT_RETAIN_DISABLED_ACCOUNT_DAYS",
    N_("disabled team accounts"),
    N_("after disabling"),
    N_("disabled"),
    (N_("account"), N_("accounts")),
)
RULES = (SPAM, REJECTED, DISCLOSED, DISCLOSED_ATTACHMENTS, MAILBOXES, ACCESS_EVENTS, DISABLED_ACCOUNTS)
_REPORT_RULES = {
    SPAM: ("spam", "out_of_scope"),
    REJECTED: ("not_vulnerability", "duplicate"),
    DISCLOSED: ("disclosed",),
}


@dataclass(frozen=True)
class Due:
    """Something a rule deletes: `label` names it (a report's reference, an account's name; "" for
    history entries and mailboxes, which are only counted), `since` the day its period counted from
    (for mailboxes, all of them together: the last day that is due), `ids` the rows (report, items,
    mailbox, account ids; entry numbers)."""

    label: str
    since: datetime.date
    ids: tuple[int, ...]


@dataclass(frozen=True)
class Step:
    rule: Rule
    days: int
    last_day: datetime.date  # things dated on or before this day are due
    due: tuple[Due, ...]

    @property
    def count(self) -> int:
        return sum(len(due.ids) for due in self.due)


@dataclass(frozen=True)
class Plan:
    day: datetime.date
    steps: tuple[Step, ...]
    held: tuple[str, ...]  # references of reports on legal hold: nothing of them is due
    # Periods configured below their default without a second person's approval: the default
    # applied instead (app/domain/proposals.py).
    waiting: tuple[proposals.Period, ...] = ()

    @property
    def count(self) -> int:
        return sum(step.count for step in self.steps)

    def step(self, rule: Rule) -> Step:
        return next(step for step in self.steps if step.rule == rule)


def plan(settings: Settings, today: datetime.date) -> Plan:
    """What a run on `today` deletes, and why, with the periods in effect. Reads only."""
    configured = proposals.retention_periods(settings)
    periods = {key: period.effective for key, period in configured.items()}
    last = {rule: today - datetime.timedelta(days=periods[rule.setting]) for rule in RULES}
    held_ids = Report.select(Report.id).where(Report.hold_reason.is_null(False))
    held = tuple(
        sorted(row.reference for row in Report.select(Report.reference).where(Report.hold_reason.is_null(False)))
    )
    steps = {rule: _reports(rule, last[rule]) for rule in _REPORT_RULES}
    going = {due.ids[0] for step in steps.values() for due in step}
    steps[DISCLOSED_ATTACHMENTS] = _attachments(last[DISCLOSED_ATTACHMENTS], going)
    steps[MAILBOXES] = _mailboxes(last[MAILBOXES], going)
    steps[ACCESS_EVENTS] = _entries(last[ACCESS_EVENTS], held_ids)
    steps[DISABLED_ACCOUNTS] = _accounts(last[DISABLED_ACCOUNTS])
    return Plan(
        today,
        tuple(Step(rule, periods[rule.setting], last[rule], tuple(steps[rule])) for rule in RULES),
        held,
        tuple(period for period in configured.values() if period.waiting),
    )


def _reports(rule: Rule, last_day: datetime.date) -> list[Due]:
    day = Report.disclosed_on if rule == DISCLOSED else Report.closed_on
    rows = (
        Report.select(Report.id, Report.reference, day)
        .where(Report.state.in_(_REPORT_RULES[rule]), day <= last_day, Report.hold_reason.is_null())
        .order_by(day, Report.reference)
    )
    return [Due(row.reference, getattr(row, day.name), (row.id,)) for row in rows]


def _attachments(last_day: datetime.date, going: set[int]) -> list[Due]:
    reports = (
        Report.select(Report.id, Report.reference, Report.disclosed_on)
        .where(Report.state == "disclosed", Report.disclosed_on <= last_day, Report.hold_reason.is_null())
        .order_by(Report.disclosed_on, Report.reference)
    )
    due = []
    for report in reports:
        if report.id in going:
            continue
        items = Item.select(Item.id).where(Item.report == report.id, Item.kind == "attachment").order_by(Item.id)
        ids = tuple(item.id for item in items)
        if ids:
            due.append(Due(report.reference, report.disclosed_on, ids))
    return due


def _mailboxes(last_day: datetime.date, going: set[int]) -> list[Due]:
    """Unnamed: which report's mailbox falls due on which day would tell whoever watches the
    preview the day its reporter last signed in (a period earlier)."""
    rows = (
        Mailbox.select(Mailbox.id, Mailbox.report)
        .join(Report)
        .where(Mailbox.last_used <= last_day, Report.hold_reason.is_null())
    )
    ids = tuple(sorted(row.id for row in rows if row.report_id not in going))
    return [Due("", last_day, ids)] if ids else []


def _entries(last_day: datetime.date, held_ids) -> list[Due]:
    """Entries of the kinds retention redacts, written on or before `last_day`, one `Due` per day;
    the view entries of a report on hold stay. Days are the history's own, UTC (the day an entry's
    hash commits to, and the one redaction keeps), so the preview, the redacted entry and the
    history page all show the same day."""
    before = datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time())
    rows = (
        Event.select(Event.seq, Event.at)
        .where(
            Event.action.in_(chain.REDACTABLE),
            ~Event.redacted,
            Event.at < before,
            Event.report.is_null() | Event.report.not_in(held_ids),
        )
        .order_by(Event.seq)
    )
    days: dict[datetime.date, list[int]] = {}
    for row in rows:
        days.setdefault(row.at.date(), []).append(row.seq)
    return [Due("", day, tuple(seqs)) for day, seqs in sorted(days.items())]


def _accounts(last_day: datetime.date) -> list[Due]:
    rows = User.select().where(User.disabled, User.disabled_on <= last_day).order_by(User.disabled_on, User.name)
    return [Due(row.name, row.disabled_on, (row.id,)) for row in rows]


def run(settings: Settings, planned: Plan, user: User | None = None) -> Plan:
    """Delete what `planned` names and is still due, in one transaction with one history entry
    (by `user`, or the command line) that counts each rule's deletions and names the redacted
    entries. Returns what was deleted, in the plan's form. The caller then truncates the WAL
    (app/domain/db.py `truncate_wal`), so no old page version outlives the run."""
    with database.atomic():
        now_due = plan(settings, planned.day)  # inside the transaction: what is due at this moment
        stored = notify.stored_ids()  # before any deletion: `after_deletion` counts only these as announced
        steps = []
        for step in planned.steps:
            still = {row for due in now_due.step(step.rule).due for row in due.ids}
            kept = [replace(due, ids=tuple(row for row in due.ids if row in still)) for due in step.due]
            kept = [due for due in kept if due.ids]
            done = _delete(step.rule, [row for due in kept for row in due.ids])
            kept = [replace(due, ids=tuple(row for row in due.ids if row in done)) for due in kept]
            steps.append(replace(step, due=tuple(due for due in kept if due.ids)))
        deleted = replace(planned, steps=tuple(steps), held=now_due.held)
        actor = None if user is not None else chain.COMMAND_LINE
        chain.append(None, user, chain.RETENTION, record(deleted), actor=actor)
        # notify remembers the set it announced: a deletion must not look like news, nor hide it.
        notify.after_deletion(settings, stored)
    return deleted


def _delete(rule: Rule, ids: list[int]) -> set[int]:
    """Delete (or, for history entries, redact) these rows; returns those that went."""
    if rule == ACCESS_EVENTS:
        return set(chain.redact(ids))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        if rule in _REPORT_RULES:
            _delete_reports(batch)
        elif rule == DISCLOSED_ATTACHMENTS:
            Chunk.delete().where(Chunk.item.in_(batch)).execute()
            Item.delete().where(Item.id.in_(batch)).execute()
        elif rule == MAILBOXES:
            NewsAddress.delete().where(NewsAddress.mailbox.in_(batch)).execute()  # news addresses go with them
            Mailbox.delete().where(Mailbox.id.in_(batch)).execute()
        elif rule == DISABLED_ACCOUNTS:
            SignedIn.delete().where(SignedIn.user.in_(batch)).execute()
            Event.update(user=None).where(Event.user.in_(batch)).execute()  # the entries keep the name
            Proposal.update(proposer=None).where(Proposal.proposer.in_(batch)).execute()  # so do proposals
            Proposal.update(decider=None).where(Proposal.decider.in_(batch)).execute()
            User.delete().where(User.id.in_(batch)).execute()
    return set(ids)


def _delete_reports(ids: list[int]) -> None:
    """Reports with everything of theirs: ciphertext, items, mailbox, credit. Their history entries
    stay (the chain commits to the reference, not the row) and other reports forget they were
    duplicates of these. Explicit, not by cascade: an upgraded database's keys may not cascade."""
    items = Item.select(Item.id).where(Item.report.in_(ids))
    Chunk.delete().where(Chunk.item.in_(items)).execute()
    Item.delete().where(Item.report.in_(ids)).execute()
    NewsAddress.delete().where(
        NewsAddress.mailbox.in_(Mailbox.select(Mailbox.id).where(Mailbox.report.in_(ids)))
    ).execute()
    Mailbox.delete().where(Mailbox.report.in_(ids)).execute()
    Credit.delete().where(Credit.report.in_(ids)).execute()
    Event.update(report=None).where(Event.report.in_(ids)).execute()
    Report.update(duplicate_of=None).where(Report.duplicate_of.in_(ids)).execute()
    Report.delete().where(Report.id.in_(ids)).execute()


def record(deleted: Plan) -> str:
    """The history entry's detail: per rule, its period and how many went; the references of the
    reports deleted or stripped of attachments, and the numbers of the entries redacted. No
    account name and no mailbox's report: the counts say enough."""
    parts = []
    for step in deleted.steps:
        text = f"{step.rule.describe(step.days)}: {step.rule.count(step.count)}"
        if step.count and step.rule in (*_REPORT_RULES, DISCLOSED_ATTACHMENTS):
            text += " (" + ", ".join(due.label for due in step.due) + ")"
        if step.count and step.rule == ACCESS_EVENTS:
            text += ", " + chain.span(row for due in step.due for row in due.ids)
        parts.append(text)
    return f"retention on {deleted.day.isoformat()}: " + "; ".join(parts)


def describe(planned: Plan) -> list[str]:
    """The plan as lines for a person: each rule, its setting and count, then what and since when.
    Mailboxes are only counted."""
    lines = []
    for step in planned.steps:
        rule = step.rule
        head = f"{rule.describe(step.days)} ({rule.setting} = {step.days}; up to {step.last_day.isoformat()}): "
        lines.append(head + (rule.count(step.count) if step.count else "nothing due"))
        for due in step.due:
            if rule == MAILBOXES:
                continue  # counted only: see `_mailboxes`
            if rule == ACCESS_EVENTS:
                lines.append(f"    {rule.count(len(due.ids))} {rule.since} {due.since.isoformat()}")
            elif rule == DISCLOSED_ATTACHMENTS:
                lines.append(f"    {rule.count(len(due.ids))} of {due.label}, {rule.since} {due.since.isoformat()}")
            else:
                lines.append(f"    {due.label}, {rule.since} {due.since.isoformat()}")
    if planned.held:
        lines.append(f"on legal hold, so kept whatever the rules say: {', '.join(planned.held)}")
    for period in planned.waiting:
        lines.append(
            f"{period.setting} is set to {period.configured}, below its default {period.default}: "
            f"not in effect until a second person approves, so {period.default} applies"
        )
    return lines
