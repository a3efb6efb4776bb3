"""Retention that reaches the disk (issue 11, part 3): every rule deletes on the day its period
ends and not the day before, a legal hold suspends it, `meldpunt purge --dry-run` shows exactly
what the real run then deletes, the history's view and sign-in entries are redacted so that the
chain still verifies, and a deleted report's ciphertext is gone from every file of the instance,
whatever SQLite's compiled default for `secure_delete`."""

import datetime
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from . import raw
from .conftest import csrf_token
from .team_helpers import add_report, settings_of, team_client, team_today
from .test_admin_cli import meldpunt


def _reference() -> str:
    return "MP-" + secrets.token_hex(2).upper() + "-" + secrets.token_hex(2).upper()


def _thread(report, day: datetime.date, data: bytes = b"ciphertext", used: datetime.date | None = None) -> None:
    """A report item with an attachment, a follow-up with an attachment, and a mailbox last used
    on `used` (or `day`)."""
    from app.domain.models import Chunk, Item, Mailbox

    body = Item.create(report=report, kind="report", day=day, position=1, complete=True, size=len(data))
    Chunk.create(item=body, seq=0, data=data)
    attachment = Item.create(report=report, kind="attachment", parent=body, day=day, position=2, complete=True)
    Chunk.create(item=attachment, seq=0, data=data)
    message = Item.create(report=report, kind="message", day=day, position=3, complete=True)
    Chunk.create(item=message, seq=0, data=data)
    follow_up_file = Item.create(report=report, kind="attachment", parent=message, day=day, position=4, complete=True)
    Chunk.create(item=follow_up_file, seq=0, data=data)
    Mailbox.create(report=report, lookup_hash=secrets.token_hex(32), public_key="mpk1-test", last_used=used or day)


def _plan(portal):
    from app.domain import retention

    return retention.plan(settings_of(portal), team_today(portal))


def _purge(portal):
    from app.domain import retention

    return retention.run(settings_of(portal), _plan(portal))


def _references() -> set[str]:
    from app.domain.models import Report

    return {row.reference for row in Report.select()}


def test_the_defaults_are_the_ones_a_privacy_officer_signed(portal):
    from app.domain import retention

    days = {rule.category: settings_of(portal).retention_days[rule.setting] for rule in retention.RULES}
    assert days == {
        "spam": 30,
        "rejected": 365,
        "disclosed": 730,
        "disclosed-attachments": 90,
        "mailboxes": 365,
        "access-events": 365,
        "disabled-accounts": 90,
    }


def test_a_period_that_is_not_a_number_of_days_is_refused(make_portal):
    from app.domain.settings import ConfigError

    with pytest.raises(ConfigError, match="MELDPUNT_RETAIN_SPAM_DAYS"):  # the portal does not start
        make_portal(MELDPUNT_RETAIN_SPAM_DAYS="a month")


REPORT_RULES = [
    ("spam", "MELDPUNT_RETAIN_SPAM_DAYS", 30, "closed_on"),
    ("out_of_scope", "MELDPUNT_RETAIN_SPAM_DAYS", 30, "closed_on"),
    ("not_vulnerability", "MELDPUNT_RETAIN_REJECTED_DAYS", 365, "closed_on"),
    ("duplicate", "MELDPUNT_RETAIN_REJECTED_DAYS", 365, "closed_on"),
    ("disclosed", "MELDPUNT_RETAIN_DISCLOSED_DAYS", 730, "disclosed_on"),
]


@pytest.mark.parametrize(("state", "setting", "days", "column"), REPORT_RULES)
def test_a_closed_report_goes_the_day_its_period_ends(portal, state, setting, days, column):
    from app.domain import chain
    from app.domain.db import database
    from app.domain.models import Chunk, Event, Item, Mailbox, Report

    today = team_today(portal)
    with database.connection_context():
        original = add_report(portal, "MP-ORIG-INAL", state="fixing")
        extra = {"duplicate_of": original} if state == "duplicate" else {}
        made = {}
        for name, age, hold in (("inside", days - 1, None), ("outside", days, None), ("held", days + 400, "court")):
            day = today - datetime.timedelta(age)
            made[name] = add_report(portal, _reference(), state=state, hold_reason=hold, **{column: day}, **extra)
            _thread(made[name], day, used=today)
            chain.append(made[name], None, "state", f"→ {state}", actor="alice")
        # Open and resolved reports have no rule, however old.
        old = today - datetime.timedelta(5000)
        add_report(portal, "MP-OPEN-0000", state="received", received=old, updated=old)
        add_report(portal, "MP-RESO-LVED", state="resolved", received=old, updated=old, resolved_on=old)
        Report.update(duplicate_of=made["outside"]).where(Report.id == original.id).execute()  # a pointer at it

        planned = _plan(portal)
        step = next(step for step in planned.steps if step.rule.setting == setting)
        assert [due.label for due in step.due] == [made["outside"].reference]
        assert planned.held == (made["held"].reference,)
        # Its attachments and mailbox go with it, under its own rule (a disclosed report's
        # attachments go long before the report: those of the one still inside its period go now).
        inside_attachments = 2 if state == "disclosed" else 0
        assert planned.count == 1 + inside_attachments

        deleted = _purge(portal)
        assert deleted == planned
        assert _references() == {
            "MP-ORIG-INAL", "MP-OPEN-0000", "MP-RESO-LVED", made["inside"].reference, made["held"].reference
        }  # fmt: skip
        gone = made["outside"].id
        assert not Item.select().where(Item.report == gone).exists()
        assert not Mailbox.select().where(Mailbox.report == gone).exists()
        assert Chunk.select().count() == 4 * 2 - inside_attachments  # the kept reports' rows, nothing orphaned
        assert Report.get_by_id(original.id).duplicate_of_id is None
        # Its history stays, by reference; the run is on record with the count and the reference.
        kept = Event.get(Event.reference == made["outside"].reference)
        assert kept.report_id is None
        entry = Event.select().order_by(Event.seq.desc()).get()
        assert (entry.actor, entry.action) == ("command line", "retention")
        assert f"{step.rule.describe(days)}: 1 report ({made['outside'].reference})" in entry.detail
        assert chain.verify().ok


def test_a_disclosed_reports_attachments_go_90_days_after_disclosure(portal):
    from app.domain.db import database
    from app.domain.models import Chunk, Item

    today = team_today(portal)
    with database.connection_context():
        reports = {}
        for name, age, hold in (("inside", 89, None), ("outside", 90, None), ("held", 400, "inquiry")):
            day = today - datetime.timedelta(age)
            reports[name] = add_report(portal, _reference(), state="disclosed", disclosed_on=day, hold_reason=hold)
            _thread(reports[name], day)
        planned = _plan(portal).step(_rule("disclosed-attachments"))
        outside = reports["outside"]
        assert [(due.label, len(due.ids)) for due in planned.due] == [(outside.reference, 2)]
        _purge(portal)
        for name, report in reports.items():
            kinds = sorted(item.kind for item in Item.select().where(Item.report == report))
            expected = ["message", "report"] if name == "outside" else ["attachment", "attachment", "message", "report"]
            assert kinds == expected, name
        assert Chunk.select().count() == 4 + 4 + 2  # and the attachments' ciphertext went with them
        assert _references() == {report.reference for report in reports.values()}


def test_a_mailbox_goes_a_year_after_its_last_use(portal):
    from app.domain.db import database
    from app.domain.models import Mailbox

    today = team_today(portal)
    with database.connection_context():
        reports = {}
        for name, age, hold in (("inside", 364, None), ("outside", 365, None), ("held", 900, "police")):
            reports[name] = add_report(portal, _reference(), state="fixing", hold_reason=hold)
            _thread(reports[name], today - datetime.timedelta(age))
        planned = _plan(portal)
        outside = Mailbox.get(Mailbox.report == reports["outside"].id).id
        assert [due.ids for due in planned.step(_rule("mailboxes")).due] == [(outside,)]
        # Counted, not named: which report's mailbox falls due today would tell the day its
        # reporter last signed in.
        assert {due.label for due in planned.step(_rule("mailboxes")).due} == {""}
        lines = _describe(planned)
        at = lines.index(next(line for line in lines if line.startswith("reporters' mailboxes")))
        assert lines[at].endswith(": 1 mailbox")
        assert not lines[at + 1].startswith("    ")
        named = "\n".join(lines)
        assert all(report.reference not in named for report in reports.values() if report.hold_reason is None)
        _purge(portal)
        assert {box.report_id for box in Mailbox.select()} == {reports["inside"].id, reports["held"].id}
        assert _references() == {report.reference for report in reports.values()}  # the reports stay


def test_sign_in_and_view_entries_are_redacted_after_a_year(portal, monkeypatch):
    """Redacted on the day a year after the (UTC) day they were written, the day the history shows
    and keeps: a view at 23:59 UTC on that day goes, one at 00:00 UTC the next day stays; other
    entries stay, and so do the view entries of a report on hold. The chain still verifies."""
    from app.domain import chain
    from app.domain.db import database
    from app.domain.models import Event, User

    today = team_today(portal)

    def at(day: datetime.date, hour: int, minute: int) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(hour, minute))

    last, first_kept = today - datetime.timedelta(365), today - datetime.timedelta(364)
    with database.connection_context():
        alice = User.create(name="alice", role="handler")
        report = add_report(portal, "MP-SEEN-0001")
        held = add_report(portal, "MP-HELD-0001", hold_reason="court order")
        written = {}
        for name, moment, target, action in (
            ("signed-in", at(last - datetime.timedelta(30), 9, 0), None, "signed-in"),
            ("viewed-last-day", at(last, 23, 59), report, "viewed"),
            ("viewed-next-day", at(first_kept, 0, 0), report, "viewed"),
            ("state", at(last - datetime.timedelta(30), 9, 5), report, "state"),
            ("viewed-held", at(last - datetime.timedelta(30), 9, 6), held, "viewed"),
            ("refused", at(last, 12, 0), None, "refused"),
        ):
            monkeypatch.setattr(chain, "now", lambda moment=moment: moment)
            written[name] = chain.append(target, alice, action).seq
        monkeypatch.undo()

        planned = _plan(portal).step(_rule("access-events"))
        due = sorted(seq for entry in planned.due for seq in entry.ids)
        assert due == sorted(written[name] for name in ("signed-in", "viewed-last-day", "refused"))
        _purge(portal)

        entries = {event.seq: event for event in Event.select()}
        for name, seq in written.items():
            entry = entries[seq]
            if seq in due:
                assert entry.redacted, name
                assert (entry.actor, entry.reference, entry.detail, entry.user_id, entry.report_id) == (
                    "", "", "", None, None
                ), name  # fmt: skip
                assert entry.at.time() == datetime.time(), name  # the day is all that is left of its time
            else:
                assert not entry.redacted, name
                assert entry.actor == "alice", name
        run = Event.select().order_by(Event.seq.desc()).get()
        assert chain.span(due) in run.detail
        assert "3 entries" in run.detail
        verdict = chain.verify()
        assert verdict.ok, verdict.problem
        assert _plan(portal).step(_rule("access-events")).due == ()  # nothing is redacted twice


def test_a_disabled_account_goes_90_days_after_disabling(portal):
    from app.domain import accounts, chain
    from app.domain.db import database
    from app.domain.models import Event, SignedIn, User

    settings = settings_of(portal)
    today = team_today(portal)
    with database.connection_context():
        users = {name: User.create(name=name, role="handler") for name in ("inside", "outside", "enabled", "again")}
        for user in users.values():
            accounts.set_disabled(settings, user, True)
            chain.append(None, user, "enrolled")
        assert User.get_by_id(users["inside"].id).disabled_on == today
        User.update(disabled_on=today - datetime.timedelta(89)).where(User.id == users["inside"].id).execute()
        User.update(disabled_on=today - datetime.timedelta(90)).where(User.id == users["outside"].id).execute()
        User.update(disabled_on=today - datetime.timedelta(500)).where(User.id == users["enabled"].id).execute()
        accounts.set_disabled(settings, users["enabled"], False)  # enabled again: no count
        assert User.get_by_id(users["enabled"].id).disabled_on is None
        User.update(disabled_on=today - datetime.timedelta(30)).where(User.id == users["again"].id).execute()
        accounts.set_disabled(settings, users["again"], True)  # disabled twice: the count goes on
        assert User.get_by_id(users["again"].id).disabled_on == today - datetime.timedelta(30)
        SignedIn.create(token_hash="x" * 64, kind="team", user=users["outside"], day=today)

        assert [due.label for due in _plan(portal).step(_rule("disabled-accounts")).due] == ["outside"]
        _purge(portal)
        assert {user.name for user in User.select()} == {"inside", "enabled", "again"}
        assert not SignedIn.select().exists()
        # Their history keeps the name the chain commits to.
        entry = Event.get(Event.action == "enrolled", Event.actor == "outside")
        assert entry.user_id is None
        assert (
            "disabled team accounts, 90 days after disabling: 1 account"
            in Event.get(Event.action == "retention").detail
        )
        assert "outside" not in Event.get(Event.action == "retention").detail
        assert chain.verify().ok


def test_what_went_out_of_date_between_plan_and_run_stays(portal):
    """A hold placed (or a report reopened) after the plan was made wins: the run deletes only what
    is still due, and its history entry counts only that."""
    from app.domain import retention, workflow
    from app.domain.db import database
    from app.domain.models import Event, User

    settings = settings_of(portal)
    today = team_today(portal)
    with database.connection_context():
        admin = User.create(name="root", role="admin")
        closed = today - datetime.timedelta(40)
        held = add_report(portal, "MP-HOLD-LATE", state="spam", closed_on=closed)
        reopened = add_report(portal, "MP-REOP-ENED", state="spam", closed_on=closed)
        gone = add_report(portal, "MP-GONE-0001", state="spam", closed_on=closed)
        planned = retention.plan(settings, today)
        assert len(planned.step(retention.SPAM).due) == 3
        workflow.place_hold(held, admin, "a court asked for it")
        workflow.change_state(settings, reopened, "acknowledged", admin)
        deleted = retention.run(settings, planned)
        assert [due.label for due in deleted.step(retention.SPAM).due] == [gone.reference]
        assert _references() == {held.reference, reopened.reference}
        assert "30 days after closing: 1 report (MP-GONE-0001)" in Event.get(Event.action == "retention").detail


def test_a_legal_hold_is_placed_by_an_admin_and_lifted_with_a_second_person(portal):
    """Placing a hold is one admin's act (it only keeps data); lifting it is a proposal a second
    person approves (four eyes, tests/test_four_eyes.py has the rest)."""
    from app.domain import chain
    from app.domain.db import database
    from app.domain.models import Event, Proposal, Report

    today = team_today(portal)
    with database.connection_context():
        add_report(portal, "MP-HOLD-0001", state="spam", closed_on=today - datetime.timedelta(31))
    admin = team_client(portal, "root", "admin")
    second = team_client(portal, "ruth", "admin")
    handler = team_client(portal, "hank", "handler")
    page = admin.get("/team/reports/MP-HOLD-0001?lang=en").data.decode()
    assert "Place legal hold" in page
    assert "Place legal hold" not in handler.get("/team/reports/MP-HOLD-0001?lang=en").data.decode()

    def hold(client, **data):
        token = csrf_token(client.get("/team/").data)
        return client.post("/team/reports/MP-HOLD-0001/hold", data={"csrf_token": token, **data})

    assert hold(handler, action="place", reason="mine").status_code == 403  # admins only
    refused = hold(admin, action="place", reason="  ")
    assert refused.status_code == 400  # the page again, the message at the reason
    assert "Give a reason" in refused.data.decode()
    assert hold(admin, action="place", reason="Court order 2026/117: keep everything").status_code == 303
    with database.connection_context():
        assert Report.get(Report.reference == "MP-HOLD-0001").hold_reason == "Court order 2026/117: keep everything"
        assert _plan(portal).count == 0
        assert _plan(portal).held == ("MP-HOLD-0001",)
    # A handler sees the hold and its reason, and cannot propose lifting it.
    seen = handler.get("/team/reports/MP-HOLD-0001?lang=en").data.decode()
    assert "Legal hold" in seen
    assert "Court order 2026/117: keep everything" in seen
    assert "Propose lifting the legal hold" not in seen
    assert hold(handler, action="lift", reason="done").status_code == 403
    assert "Propose lifting the legal hold" in admin.get("/team/reports/MP-HOLD-0001?lang=en").data.decode()
    assert hold(admin, action="lift", reason="").status_code == 400
    assert hold(admin, action="lift", reason="The case was settled").status_code == 303
    with database.connection_context():
        assert Report.get(Report.reference == "MP-HOLD-0001").hold_reason is not None  # proposed, not lifted
        proposal = Proposal.get()
    # The second admin approves on the report page; then the hold is gone.
    page = second.get("/team/reports/MP-HOLD-0001?lang=en").data.decode()
    assert "The case was settled" in page
    approved = second.post(
        f"/team/proposals/{proposal.id}",
        data={"csrf_token": csrf_token(page), "decision": "approve", "back": "report"},
    )
    assert approved.status_code == 303
    assert approved.headers["Location"].endswith("/team/reports/MP-HOLD-0001")
    with database.connection_context():
        assert Report.get(Report.reference == "MP-HOLD-0001").hold_reason is None
        entries = Event.select().where(Event.reference == "MP-HOLD-0001", Event.action != "viewed").order_by(Event.seq)
        assert [(e.actor, e.action) for e in entries] == [
            ("root", "hold-placed"),
            ("root", "proposal-opened"),
            ("ruth", "proposal-approved"),
            ("ruth", "hold-lifted"),
        ]
        assert entries[0].detail == "Court order 2026/117: keep everything"
        assert entries[3].detail == f"The case was settled (proposal {proposal.id} by root)"
        assert [due.label for due in _plan(portal).step(_rule("spam")).due] == ["MP-HOLD-0001"]
        assert chain.verify().ok


def _rule(category: str):
    from app.domain import retention

    return next(rule for rule in retention.RULES if rule.category == category)


def _describe(planned) -> list[str]:
    from app.domain import retention

    return retention.describe(planned)


# --- the command line, on a real instance ---------------------------------------------------


def _instance(tmp_path, team_key) -> Path:
    instance = tmp_path / "instance"
    assert meldpunt("init", "--team-key", team_key.public, instance=instance).returncode == 0
    return instance


def _bound(instance: Path):
    from app.domain.db import bind, database

    bind(raw.url_of(instance))
    return database


def _plant(instance: Path, data: bytes = b"ciphertext") -> dict[str, str]:
    """Reports of every kind, some due and some not; returns reference → what should happen."""
    from app.domain import accounts, chain
    from app.domain.models import Report, User
    from app.domain.settings import Settings

    settings = Settings.load(instance)
    database = _bound(instance)
    from app.domain.clock import today as today_in

    today = today_in(settings.zone)
    fate = {}
    with database.connection_context():
        for state, column, age, goes in (
            ("spam", "closed_on", 30, True),
            ("out_of_scope", "closed_on", 29, False),
            ("not_vulnerability", "closed_on", 365, True),
            ("disclosed", "disclosed_on", 730, True),
            ("disclosed", "disclosed_on", 90, "attachments"),
            ("fixing", None, 365, "mailbox"),
        ):
            day = today - datetime.timedelta(age)
            reference = _reference()
            fields = {column: day} if column else {}
            report = Report.create(reference=reference, state=state, received=day, updated=day, **fields)
            _thread(report, day, data)
            chain.append(report, None, "viewed", actor="alice")
            fate[reference] = goes
        user = User.create(name="gone-user", role="handler")
        accounts.set_disabled(settings, user, True)
        User.update(disabled_on=today - datetime.timedelta(90)).where(User.id == user.id).execute()
    return fate


def _approved_below_default(instance: Path, setting: str, days: int) -> None:
    """A period below its default counts only once a second person approved exactly that value
    (app/domain/proposals.py): an admin proposes, an auditor approves."""
    from app.domain import proposals
    from app.domain.models import User

    with _bound(instance).connection_context():
        admin = User.create(name="proposing-admin", role="admin", enrolled=True)
        auditor = User.create(name="approving-auditor", role="auditor", enrolled=True)
        proposals.approve(proposals.propose(admin, proposals.LOWER_RETENTION, setting, str(days)), auditor, 14)


def _between(output: str, start: str, end: str) -> list[str]:
    lines = output.splitlines()
    first = next(number for number, line in enumerate(lines) if line.startswith(start))
    last = next(number for number, line in enumerate(lines) if number > first and line.startswith(end))
    return lines[first + 1 : last]


def _state(instance: Path) -> tuple:
    from app.domain import chain
    from app.domain.models import MODELS

    with _bound(instance).connection_context():
        return chain.head(), {model.__name__: model.select().count() for model in MODELS}


@pytest.mark.slow
def test_the_dry_run_shows_exactly_what_the_run_then_deletes(tmp_path, team_key):
    instance = _instance(tmp_path, team_key)
    fate = _plant(instance)
    env = {"MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS": "0"}  # today's view entries are due too
    _approved_below_default(instance, "MELDPUNT_RETAIN_ACCESS_EVENTS_DAYS", 0)  # four eyes
    before = _state(instance)

    dry = meldpunt("purge", "--dry-run", instance=instance, env=env)
    assert dry.returncode == 0, dry.stderr
    assert _state(instance) == before  # nothing changed, not even the history
    promised = _between(dry.stdout, "Dry run for", "  and, as every run")

    real = meldpunt("purge", instance=instance, env=env)
    assert real.returncode == 0, real.stderr
    done = _between(real.stdout, "Retention on", "Deleted ")
    assert done == promised
    text = "\n".join(done)
    for reference, goes in fate.items():
        # Named when it or its attachments go; a mailbox is only counted.
        assert (reference in text) == (bool(goes) and goes != "mailbox"), reference
    assert "reporters' mailboxes, 365 days after their last use" in text
    assert "gone-user" in text
    assert "6 entries written" in text

    from app.domain import chain
    from app.domain.models import Event, Item, Mailbox, Report, User

    with _bound(instance).connection_context():
        left = {report.reference for report in Report.select()}
        assert left == {reference for reference, goes in fate.items() if goes is not True}
        for reference in left:
            report = Report.get(Report.reference == reference)
            attachments = Item.select().where(Item.report == report, Item.kind == "attachment").count()
            assert attachments == (0 if fate[reference] == "attachments" else 2), reference
            assert Mailbox.select().where(Mailbox.report == report).exists() == (fate[reference] != "mailbox")
        assert not User.select().where(User.name == "gone-user").exists()
        actions = [event.action for event in Event.select().order_by(Event.seq)][-2:]
        assert actions == ["retention", "purge"]
        assert chain.verify().ok
    assert meldpunt("audit", "verify", instance=instance).returncode == 0

    # Run again: nothing is left to do, and the dry run says so.
    again = meldpunt("purge", "--dry-run", instance=instance, env=env)
    assert "nothing due" in again.stdout
    assert "reports closed as spam or out of scope" in again.stdout


# An SQLite built with secure_delete off by default (Debian builds it on): every connection starts
# with it off, as the compiled default would have it, before the app sets its pragmas. With
# WITHOUT, the app's own pragma is removed as well: the negative control.
OFF_BY_DEFAULT = """
import sqlite3, sys

connect = sqlite3.connect


def off_by_default(*args, **kwargs):
    connection = connect(*args, **kwargs)
    connection.execute("PRAGMA secure_delete = OFF")
    return connection


sqlite3.connect = off_by_default
if sys.argv[1] == "without-the-apps-pragma":
    from app.domain import db

    del db.SQLITE_PRAGMAS["secure_delete"]
from app.cli import main

sys.argv = ["meldpunt", *sys.argv[2:]]
main()
"""


def _meldpunt_off_by_default(*args, instance: Path, pragma: bool) -> subprocess.CompletedProcess:
    mode = "with-the-apps-pragma" if pragma else "without-the-apps-pragma"
    # Without purge's nightly rewrite of the file, which would erase free pages by itself: this
    # test is about what secure_delete does.
    environment = {**os.environ, "MELDPUNT_INSTANCE": str(instance), "MELDPUNT_REWRITE_ON_PURGE": "false"}
    return subprocess.run(
        [sys.executable, "-c", OFF_BY_DEFAULT, mode, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


def _plant_marker(instance: Path) -> tuple[str, list[bytes]]:
    """Reports that stay, around one closed as spam 30 days ago whose ciphertext rows hold a marker
    (a megabyte row, and smaller ones), as does its mailbox's lookup token."""
    from app.domain.models import Chunk, Item, Mailbox, Report
    from app.domain.settings import Settings

    settings = Settings.load(instance)
    from app.domain.clock import today as today_in

    day = today_in(settings.zone) - datetime.timedelta(30)
    marker = b"RETENTION-MARKER-" + secrets.token_hex(8).encode() + b"|"
    token = secrets.token_hex(32)
    database = _bound(instance)
    with database.connection_context():
        for number in range(12):  # neighbours, interleaved in the same pages (random ids)
            keep = Report.create(reference=_reference(), received=day, updated=day)
            _thread(keep, day, os.urandom(200_000 + number))
            if number == 5:
                reference = _reference()
                spam = Report.create(reference=reference, state="spam", received=day, updated=day, closed_on=day)
                item = Item.create(report=spam, kind="report", day=day, position=1, complete=True)
                for seq, size in enumerate((1024 * 1024, 300_000, 5_000)):
                    Chunk.create(item=item, seq=seq, data=(marker * (size // len(marker) + 1))[:size])
                Mailbox.create(report=spam, lookup_hash=token, public_key="mpk1-test", last_used=day)
    return reference, [marker, token.encode()]


def _files_holding(instance: Path, markers: list[bytes]) -> list[str]:
    found = []
    for path in sorted(instance.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            found += [f"{path.name}: {marker[:24]!r}" for marker in markers if marker in content]
    return found


@pytest.mark.sqlite
@pytest.mark.slow
@pytest.mark.parametrize("pragma", [True, False], ids=["the-app-sets-secure-delete", "negative-control"])
def test_a_purged_report_is_gone_from_every_file_even_with_secure_delete_off_by_default(tmp_path, team_key, pragma):
    instance = _instance(tmp_path, team_key)
    reference, markers = _plant_marker(instance)
    assert len(_files_holding(instance, markers)) >= 1

    result = _meldpunt_off_by_default("purge", instance=instance, pragma=pragma)
    assert reference in result.stdout  # deleted, in both runs

    from app.domain.models import Report

    with _bound(instance).connection_context():
        assert not Report.select().where(Report.reference == reference).exists()
    survivors = _files_holding(instance, markers)
    if pragma:
        assert result.returncode == 0, result.stderr
        assert survivors == []
    else:  # without the app's pragma the bytes stay in free pages, and purge says so
        assert survivors, "the negative control found nothing: the test would prove nothing"
        assert result.returncode == 1
        assert "secure_delete is off" in result.stderr


@pytest.mark.sqlite
def test_every_connection_sets_secure_delete(portal):
    from app.domain.db import database, erases_deleted_rows

    with database.connection_context():
        assert database.execute_sql("PRAGMA secure_delete").fetchone()[0] == 1
        assert erases_deleted_rows()


def test_a_report_after_a_purge_is_still_news_for_notify(portal):
    """notify remembers which items it announced (a keyed digest): a purge that deleted some is
    not news by itself, and a report after it is (review of issue 11)."""
    import datetime

    from app.domain import notify, retention
    from app.domain.db import database
    from app.domain.models import Report

    from .portal_helpers import submit_report
    from .team_helpers import settings_of, team_today

    settings = settings_of(portal)
    submit_report(portal.test_client(), files=[])
    with database.connection_context():
        notify.remember(notify.pending(settings), datetime.datetime(2026, 1, 1, 8, 0, tzinfo=datetime.UTC))
        Report.update(state="spam", closed_on=datetime.date(2000, 1, 1)).execute()
        retention.run(settings, retention.plan(settings, team_today(portal)))
        assert not notify.pending(settings).new_items
    submit_report(portal.test_client(), files=[])
    with database.connection_context():
        assert notify.pending(settings).new_items


def test_a_retention_period_in_other_digits_is_a_configuration_error(make_portal):
    """A period in other scripts' digits ("²") passed str.isdigit, then int() failed: a 500 on the
    audit pages (review of issue 11)."""
    from app.domain.settings import ConfigError

    for wrong in ("²", "３０", "-1", "30 days"):
        with pytest.raises(ConfigError, match="MELDPUNT_RETAIN_SPAM_DAYS"):
            make_portal(MELDPUNT_RETAIN_SPAM_DAYS=wrong)


@pytest.mark.sqlite
def test_a_purge_that_could_not_rewrite_is_on_record_as_incomplete(tmp_path, team_key, monkeypatch):
    """The purge's entry is written last, saying how it ended: a rewrite that failed makes it
    `purge-incomplete` with the reason, the command fails, and the self-check does not count it
    as a successful purge."""
    from click.testing import CliRunner

    from app import cli
    from app.domain import db, selfcheck
    from app.domain.models import Event

    instance = _instance(tmp_path, team_key)
    monkeypatch.setenv("MELDPUNT_INSTANCE", str(instance))
    monkeypatch.setattr(db, "rewrite", lambda: "the disk is full")
    result = CliRunner().invoke(cli.main, ["purge"])
    assert result.exit_code == 1
    assert "the database file was not rewritten (the disk is full)" in result.output
    with _bound(instance).connection_context():
        last = Event.select().order_by(Event.seq.desc()).get()
        assert last.action == "purge-incomplete"
        assert "not rewritten (the disk is full)" in last.detail
        assert selfcheck.last_purge().status == selfcheck.FAIL
    monkeypatch.undo()
    monkeypatch.setenv("MELDPUNT_INSTANCE", str(instance))
    result = CliRunner().invoke(cli.main, ["purge"])
    assert result.exit_code == 0, result.output
    with _bound(instance).connection_context():
        assert Event.select().order_by(Event.seq.desc()).get().action == "purge"
        assert selfcheck.last_purge().status == selfcheck.PASS
