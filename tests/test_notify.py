"""`meldpunt notify` against a real SMTP server (aiosmtpd) on loopback: "new work" at fixed times,
never a count, a reference or content."""

import datetime
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from .portal_helpers import REPORT, submit_report
from .team_helpers import team_today


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content.decode())
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def mail_settings(instance: Path, port: int) -> dict[str, str]:
    """What `meldpunt notify` needs to mail the team through the test's SMTP server."""
    return {
        "MELDPUNT_INSTANCE": str(instance),
        "MELDPUNT_SMTP_HOST": "127.0.0.1",
        "MELDPUNT_SMTP_PORT": str(port),
        "MELDPUNT_SMTP_SECURITY": "none",
        "MELDPUNT_MAIL_TO": "security-team@example.nl",
        "MELDPUNT_MAIL_FROM": "meldpunt@example.nl",
    }


def notify(instance: Path, port: int, **extra: str) -> subprocess.CompletedProcess:
    env = {**extra, **os.environ, **mail_settings(instance, port)}
    return subprocess.run([Path(sys.executable).parent / "meldpunt", "notify"], env=env, capture_output=True, text=True)


def _instance(portal_config) -> Path:
    """The test portal's instance folder, with the instance file `meldpunt notify` reads."""
    instance = Path(portal_config["INSTANCE"])
    (instance / "meldpunt.toml").write_text(
        f'MELDPUNT_TEAM_KEY = "{portal_config["MELDPUNT_TEAM_KEY"]}"\nSECRET_KEY = "{portal_config["SECRET_KEY"]}"\n'
    )
    return instance


def _next_fixed_time() -> None:
    """As if the clock had moved on to the next notification time: forget the slot handled."""
    from app.domain.db import database
    from app.domain.models import Setting
    from app.domain.notify import LAST_SLOT

    with database.connection_context():
        Setting.delete().where(Setting.key == LAST_SLOT).execute()


def _received_days_ago(portal, days: int) -> None:
    import datetime

    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        Report.update(received=team_today(portal) - datetime.timedelta(days=days)).execute()


def test_notification_says_new_work_and_nothing_more(make_portal, portal_config, smtp):
    port, inbox = smtp
    portal = make_portal()
    client = portal.test_client()
    submit_report(client)
    submit_report(client, files=[])
    instance = _instance(portal_config)
    result = notify(instance, port)
    assert result.returncode == 0, result.stderr
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert "Subject: Meldpunt: new work" in mail
    assert "security-team@example.nl" in mail
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        references = [r.reference for r in Report.select()]
    body = mail.replace("\r\n", "\n").split("\n\n", 1)[1]
    assert "08:00, 16:00" in body  # the fixed times, the only figures in it
    assert not [word for word in body.replace("08:00, 16:00", "").split() if any(c.isdigit() for c in word)]
    for forbidden in [*references, REPORT["title"], "poc.html", "Ada L.", "report", "message", "deadline"]:
        assert forbidden not in body
    # The same fixed time is not handled twice, however often the timer runs.
    again = notify(instance, port)
    assert "Not yet: the next notification time is" in again.stdout
    submit_report(client, files=[])
    assert "Not yet" in notify(instance, port).stdout
    assert len(inbox.messages) == 1
    # At the next fixed time: the report that came in meanwhile is news; after that, nothing is.
    _next_fixed_time()
    assert notify(instance, port).stdout.startswith("Sent")
    _next_fixed_time()
    assert "Nothing to tell." in notify(instance, port).stdout
    assert len(inbox.messages) == 2


def test_the_team_s_mails_are_in_the_mail_language(make_portal, portal_config, smtp):
    """MELDPUNT_MAIL_LANGUAGE: the team and the privacy officers read their mails in Dutch or
    English, from the same catalogue as the pages; anything else is refused before any mail."""
    from email import message_from_string, policy

    port, inbox = smtp
    portal = make_portal()
    submit_report(portal.test_client(), files=[])
    instance = _instance(portal_config)
    refused = notify(instance, port, MELDPUNT_MAIL_LANGUAGE="de")
    assert refused.returncode != 0
    assert "MELDPUNT_MAIL_LANGUAGE" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert inbox.messages == []
    result = notify(instance, port, MELDPUNT_MAIL_LANGUAGE="nl")
    assert result.returncode == 0, result.stderr
    [mail] = inbox.messages
    parsed = message_from_string(mail, policy=policy.default)
    assert parsed["Subject"] == "Meldpunt: nieuw werk"
    assert "new work" not in parsed.get_content()


def test_fixed_times_decide_when(portal):
    import datetime

    from app.domain import notify as notifying
    from app.domain.db import database
    from app.domain.models import Setting

    from .team_helpers import settings_of

    settings = settings_of(portal)
    zone = settings.zone

    def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
        return datetime.datetime(2026, 11, day, hour, minute, tzinfo=zone)

    with database.connection_context():
        assert notifying.due_slot(settings, at(29, 7, 59)) == at(28, 16)  # yesterday's last time
        assert notifying.due_slot(settings, at(29, 8)) == at(29, 8)
        assert notifying.due_slot(settings, at(29, 15, 59)) == at(29, 8)
        Setting.write(notifying.LAST_SLOT, at(29, 8).isoformat())
        assert notifying.due_slot(settings, at(29, 15, 59)) is None
        assert notifying.due_slot(settings, at(29, 16, 1)) == at(29, 16)
        assert notifying.next_slot(settings, at(29, 16, 1)) == at(30, 8)
        # Another server's clock in another zone: the same instant, the same answer.
        utc = at(29, 16, 1).astimezone(datetime.UTC)
        assert notifying.due_slot(settings, utc) == at(29, 16)


def test_notify_times_must_be_times(make_portal):
    from app.domain.settings import ConfigError

    from .team_helpers import settings_of

    for wrong in ("8 uur", "", "25:00", "08:00:30"):
        with pytest.raises(ConfigError):
            list(settings_of(make_portal(MELDPUNT_NOTIFY_TIMES=wrong)).notify_times)


def test_notify_needs_a_mail_server(tmp_path, team_key):
    env = {**os.environ, "MELDPUNT_INSTANCE": str(tmp_path), "MELDPUNT_TEAM_KEY": str(team_key.public)}
    result = subprocess.run(
        [Path(sys.executable).parent / "meldpunt", "notify"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "MELDPUNT_SMTP_HOST" in result.stderr


def test_deadlines_due_within_a_day_are_counted(make_portal, portal_config, smtp):
    port, inbox = smtp
    portal = make_portal()
    submit_report(portal.test_client(), files=[])
    _received_days_ago(portal, 4)  # the answer is due tomorrow
    instance = _instance(portal_config)
    assert notify(instance, port).returncode == 0
    _next_fixed_time()
    assert notify(instance, port).stdout.startswith("Nothing to tell")  # announced with the report
    assert len(inbox.messages) == 1


def test_an_overdue_answer_is_called_overdue_and_announced_once(make_portal, portal_config, smtp):
    port, inbox = smtp
    portal = make_portal()
    submit_report(portal.test_client(), files=[])
    _received_days_ago(portal, 10)  # the answer was due five days ago
    instance = _instance(portal_config)
    assert notify(instance, port).returncode == 0
    assert "new work" in inbox.messages[0]
    # The same overdue answer is not news at the next fixed time.
    _next_fixed_time()
    again = notify(instance, port)
    assert "Nothing to tell." in again.stdout
    assert len(inbox.messages) == 1


def test_an_answer_announced_as_due_is_announced_again_once_overdue(make_portal, portal_config, smtp):
    port, inbox = smtp
    portal = make_portal()
    submit_report(portal.test_client(), files=[])
    _received_days_ago(portal, 4)
    instance = _instance(portal_config)
    notify(instance, port)
    _next_fixed_time()
    notify(instance, port)
    assert len(inbox.messages) == 1
    _received_days_ago(portal, 6)  # two days later, still unanswered
    _next_fixed_time()
    notify(instance, port)
    assert len(inbox.messages) == 2


def test_cra_steps_recorded_as_sent_are_not_due(make_portal, portal_config, smtp):
    import datetime

    from app.domain.db import database
    from app.domain.models import Report

    port, inbox = smtp
    portal = make_portal()
    submit_report(portal.test_client(), files=[])
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    with database.connection_context():
        # Aware 30 hours ago: the 24 h early warning would be overdue, but it was sent; the answer
        # was given, and the 72 h notification is 42 hours away.
        Report.update(
            cra_aware_at=now - datetime.timedelta(hours=30),
            cra_early_warning_sent=now - datetime.timedelta(hours=20),
            acknowledged=team_today(portal),
            state="acknowledged",
        ).execute()
    instance = _instance(portal_config)
    notify(instance, port)
    _next_fixed_time()
    assert "Nothing to tell." in notify(instance, port).stdout  # the sent step is no news


def test_a_report_sealed_in_the_browser_is_announced_even_if_notify_ran_mid_upload(
    make_portal, portal_config, smtp, team_key
):
    """An upload gets its row when it starts; the report is made of it only when it finishes."""
    from crypto import Meta, seal_bytes

    from .conftest import csrf_token
    from .test_sealed_uploads import sealed_to, submit, upload

    port, inbox = smtp
    portal = make_portal()
    browser = portal.test_client()
    token = csrf_token(browser.get("/report").data)
    envelope = seal_bytes(b'{"title": "t"}', sealed_to(team_key), Meta("report"))
    handle = upload(browser, token, envelope)  # uploaded, not yet sent as a report
    submit_report(portal.test_client(), files=[])  # meanwhile, a report without JavaScript
    instance = _instance(portal_config)
    notify(instance, port)
    assert len(inbox.messages) == 1
    assert submit(browser, token, handle).status_code == 200
    _next_fixed_time()
    notify(instance, port)
    assert len(inbox.messages) == 2


def test_privacy_officers_get_the_history_head_at_the_fixed_times(make_portal, portal_config, smtp, tmp_path):
    from .team_helpers import team_client

    port, inbox = smtp
    portal = make_portal()
    team_client(portal, "alice", "handler")  # a sign-in: the history has entries
    instance = _instance(portal_config)
    officers = {"MELDPUNT_AUDIT_MAIL_TO": "privacy@example.nl"}
    result = notify(instance, port, **officers)
    assert "Sent: Meldpunt: head of the history" in result.stdout
    mail = next(m for m in inbox.messages if "privacy@example.nl" in m)
    head = subprocess.run(
        [Path(sys.executable).parent / "meldpunt", "audit", "head"],
        env={**os.environ, "MELDPUNT_INSTANCE": str(instance)},
        capture_output=True,
        text=True,
    ).stdout.splitlines()[0]
    assert head in mail  # "entry N, fingerprint …", as `audit head` prints it
    assert "alice" not in mail
    # The saved mail is what `audit verify --against` takes.
    (tmp_path / "head.eml").write_text(mail)
    verified = subprocess.run(
        [Path(sys.executable).parent / "meldpunt", "audit", "verify", "--against", tmp_path / "head.eml"],
        env={**os.environ, "MELDPUNT_INSTANCE": str(instance)},
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stderr
    # The verification is itself on record, so the next time has a new head; after that, with
    # nothing new, no mail.
    _next_fixed_time()
    assert "head of the history" in notify(instance, port, **officers).stdout
    _next_fixed_time()
    count = len(inbox.messages)
    assert "head of the history" not in notify(instance, port, **officers).stdout
    assert len(inbox.messages) == count


def _break_entry(instance: Path) -> int:
    """An entry rewritten with plain SQL, as someone with the database would: its number."""
    from . import raw

    with raw.connect(instance) as db:
        seq = db.run("SELECT MIN(seq) FROM event")[0][0]
        db.run("UPDATE event SET actor = 'someone else' WHERE seq = ?", (seq,))
    return seq


def test_a_broken_history_is_an_alarm_to_the_privacy_officers(make_portal, portal_config, smtp):
    """At each fixed time `meldpunt notify` verifies the history; broken, it mails the officers the
    first broken entry's number and nothing else. MELDPUNT_AUDIT_VERIFY = off without a second
    person's approval changes nothing."""
    from .team_helpers import team_client

    port, inbox = smtp
    portal = make_portal()
    team_client(portal, "alice", "handler")
    instance = _instance(portal_config)
    officers = {"MELDPUNT_AUDIT_MAIL_TO": "privacy@example.nl"}
    result = notify(instance, port, **officers)
    assert "does not verify" not in result.stdout
    assert not any("ALARM" in message for message in inbox.messages)

    broken = _break_entry(instance)
    _next_fixed_time()
    result = notify(instance, port, **officers, MELDPUNT_AUDIT_VERIFY="off")  # not approved: still verified
    assert f"The history does not verify: entry {broken} is the first that does not fit." in result.stdout
    assert "Sent: Meldpunt: ALARM, the history does not verify" in result.stdout
    alarm = next(message for message in inbox.messages if "ALARM" in message)
    assert "privacy@example.nl" in alarm
    assert f"entry {broken} is the first that does not fit" in alarm
    assert "alice" not in alarm
    assert "someone else" not in alarm
    # Only at the fixed times.
    assert "Not yet" in notify(instance, port, **officers).stdout


def test_the_verification_stops_only_with_an_approved_proposal(make_portal, portal_config, smtp):
    from app.domain import proposals
    from app.domain.db import database
    from app.domain.models import User

    port, inbox = smtp
    portal = make_portal()
    with database.connection_context():
        admin = User.create(name="ada", role="admin", enrolled=True)
        auditor = User.create(name="olga", role="auditor", enrolled=True)
        proposals.approve(proposals.propose(admin, proposals.VERIFY_OFF, proposals.VERIFY_SETTING, "off"), auditor, 14)
    assert portal  # the instance's database now holds the approval
    instance = _instance(portal_config)
    _break_entry(instance)
    officers = {"MELDPUNT_AUDIT_MAIL_TO": "privacy@example.nl"}
    result = notify(instance, port, **officers, MELDPUNT_AUDIT_VERIFY="off")
    assert "MELDPUNT_AUDIT_VERIFY is off, as a second person approved" in result.stdout
    assert not any("ALARM" in message for message in inbox.messages)
    # Switched on again in the file, it verifies again.
    _next_fixed_time()
    assert "does not verify" in notify(instance, port, **officers).stdout


def test_a_verification_setting_neither_on_nor_off_is_refused(make_portal, portal_config, smtp):
    port, _inbox = smtp
    make_portal()
    instance = _instance(portal_config)
    with (instance / "meldpunt.toml").open("a") as settings_file:
        settings_file.write('MELDPUNT_AUDIT_VERIFY = "sometimes"\n')  # the environment's yes/no is read leniently
    result = notify(instance, port)
    assert result.returncode == 1
    assert "MELDPUNT_AUDIT_VERIFY must be on or off" in result.stderr


def test_what_was_announced_is_no_count_and_no_id(portal, portal_config, smtp):
    """notify remembers the set of items it announced as one keyed digest: beside each report's day
    of arrival, a count would tell how many of today's reports came after the last fixed time,
    and ids which ones (review of issue 11). Counts kept before the digest still decide once."""
    import json

    from app.domain import notify as notifying
    from app.domain.db import database
    from app.domain.models import Item, Setting

    from .team_helpers import settings_of

    port, inbox = smtp
    instance = _instance(portal_config)
    for _ in range(3):
        submit_report(portal.test_client(), REPORT, files=[])
    assert notify(instance, port).returncode == 0
    assert len(inbox.messages) == 1
    settings = settings_of(portal)
    with database.connection_context():
        rows = Setting.select().where(Setting.key.startswith("notify_"))
        stored = {row.key: bytes(row.value).decode() for row in rows}
        # What it keeps: the digest, the clocks announced (none due here) and the fixed time handled.
        assert set(stored) == {notifying.ANNOUNCED, notifying.ANNOUNCED_CLOCKS, notifying.LAST_SLOT}
        assert stored[notifying.ANNOUNCED] == notifying.items_digest(settings)
        assert len(stored[notifying.ANNOUNCED]) == 64
        assert stored[notifying.ANNOUNCED_CLOCKS] == "[]"
        ids = {str(row.id) for row in Item.select(Item.id)}
        assert not any(item in value for item in ids for value in stored.values())
        assert not notifying.pending(settings).new_items
        # An instance upgraded with counts: the counts decide until the next run writes a digest.
        Setting.delete().where(Setting.key == notifying.ANNOUNCED).execute()
        Setting.write(notifying.LEGACY_COUNTS, json.dumps({"report": 3, "message": 0}))
        assert not notifying.pending(settings).new_items
        Setting.write(notifying.LEGACY_COUNTS, json.dumps({"report": 2, "message": 0}))
        assert notifying.pending(settings).new_items
        # A purge drops the counts (the next run then announces once, erring towards a mail).
        notifying.after_deletion(settings, notifying.stored_ids())
        assert Setting.get_or_none(Setting.key == notifying.LEGACY_COUNTS) is None
        assert notifying.pending(settings).new_items


def test_the_digest_key_is_derived_like_every_other_key(portal):
    """Its key comes from SECRET_KEY through crypto.secretbox.derive_key with a label of its own,
    kept in crypto/spec.py with the others, not from a hash made by hand (review of issue 11)."""
    import hashlib
    import hmac

    from app.domain import notify as notifying
    from app.domain.db import database
    from app.domain.models import Item
    from crypto import spec
    from crypto.secretbox import derive_key

    from .team_helpers import settings_of

    settings = settings_of(portal)
    for _ in range(2):
        submit_report(portal.test_client(), files=[])
    labels = [value for name, value in vars(spec).items() if name.startswith("LABEL_")]
    assert spec.LABEL_NOTIFY_ITEMS.startswith(b"meldpunt/v1/")
    assert labels.count(spec.LABEL_NOTIFY_ITEMS) == 1
    key = derive_key(settings.secret_key.encode(), spec.LABEL_NOTIFY_ITEMS)
    with database.connection_context():
        ids = sorted(row.id for row in Item.select(Item.id).where(Item.kind.in_(notifying.KINDS)))
        assert sorted(notifying.stored_ids()) == ids
        expected = hmac.new(key, ",".join(map(str, ids)).encode(), hashlib.sha256).hexdigest()
        assert notifying.items_digest(settings) == expected
        assert notifying.items_digest(settings, reversed(ids)) == expected  # one function for both


def _announce(settings) -> None:
    """As `meldpunt notify` does at a fixed time: what is stored now is announced."""
    from app.domain import notify as notifying

    notifying.remember(notifying.pending(settings), datetime.datetime(2026, 1, 1, 8, tzinfo=datetime.UTC))


def _two_reports(portal) -> tuple[int, int]:
    """Two reports submitted, the first one closed as spam long ago (due for retention): their ids."""
    from app.domain.db import database
    from app.domain.models import Report

    for _ in range(2):
        submit_report(portal.test_client(), files=[])
    with database.connection_context():
        first, second = (report.id for report in Report.select().order_by(Report.received, Report.id))
        Report.update(state="spam", closed_on=datetime.date(2000, 1, 1)).where(Report.id == first).execute()
    return first, second


def test_a_report_stored_while_retention_deletes_is_still_news(portal, monkeypatch):
    """On PostgreSQL (READ COMMITTED) a report committed while a purge runs is in the table by the
    time the purge moves the announced digest along: it must not be counted as announced (review
    of issue 11). Simulated here by storing a follow-up just before `after_deletion`."""
    from app.domain import notify as notifying
    from app.domain import retention
    from app.domain.clock import today
    from app.domain.db import database
    from app.domain.models import Item, Report

    from .team_helpers import settings_of

    settings = settings_of(portal)
    first, second = _two_reports(portal)
    moved_along = notifying.after_deletion

    def meanwhile(*args, **kwargs):
        Item.create(report=second, kind="message", day=today(settings.zone), complete=True)
        return moved_along(*args, **kwargs)

    with database.connection_context():
        _announce(settings)
        assert not notifying.pending(settings).new_items
        monkeypatch.setattr(notifying, "after_deletion", meanwhile)
        deleted = retention.run(settings, retention.plan(settings, today(settings.zone)))
        assert deleted.count == 1
        assert Report.get_or_none(Report.id == first) is None
        assert notifying.pending(settings).new_items  # the follow-up is news
    monkeypatch.undo()
    # Without anything stored meanwhile, a purge is no news: what is left of the announced set is.
    with database.connection_context():
        _announce(settings)
        Report.update(state="spam", closed_on=datetime.date(2000, 1, 1)).execute()
        retention.run(settings, retention.plan(settings, today(settings.zone)))
        assert Report.select().count() == 0
        assert not notifying.pending(settings).new_items


def test_a_report_not_yet_announced_is_news_after_a_purge(portal):
    """A report comes in after the last fixed time, then retention deletes an old one: the new
    report is still news at the next fixed time, and after that nothing is."""
    from app.domain import notify as notifying
    from app.domain import retention
    from app.domain.clock import today
    from app.domain.db import database
    from app.domain.models import Report

    from .team_helpers import settings_of

    settings = settings_of(portal)
    submit_report(portal.test_client(), files=[])
    with database.connection_context():
        _announce(settings)
        Report.update(state="spam", closed_on=datetime.date(2000, 1, 1)).execute()
    submit_report(portal.test_client(), files=[])  # not yet announced
    with database.connection_context():
        assert notifying.pending(settings).new_items
        assert retention.run(settings, retention.plan(settings, today(settings.zone))).count == 1
        assert Report.select().count() == 1
        assert notifying.pending(settings).new_items
        _announce(settings)
        assert not notifying.pending(settings).new_items


def test_as_many_items_as_announced_but_other_ones_are_news(portal):
    """The digest is of which items, not how many: one announced report gone (deleted without
    retention moving the digest along) and one new report in: the same count, and news."""
    from app.domain import notify as notifying
    from app.domain.db import database
    from app.domain.models import Chunk, Item

    from .team_helpers import settings_of

    settings = settings_of(portal)
    first, _second = _two_reports(portal)
    with database.connection_context():
        _announce(settings)
        announced = len(notifying.stored_ids())
        items = Item.select(Item.id).where(Item.report == first)
        Chunk.delete().where(Chunk.item.in_(items)).execute()
        Item.delete().where(Item.report == first).execute()
    submit_report(portal.test_client(), files=[])
    with database.connection_context():
        assert len(notifying.stored_ids()) == announced
        assert notifying.pending(settings).new_items


def _announced_digest() -> str:
    from app.domain.db import database
    from app.domain.models import Setting
    from app.domain.notify import ANNOUNCED

    with database.connection_context():
        return Setting.read(ANNOUNCED, "")


@pytest.mark.sqlite
def test_only_the_last_digest_is_in_the_database_files(make_portal, portal_config, smtp):
    """Each digest says which items were there at one fixed time: the earlier ones, left in SQLite's
    write-ahead log, would let someone with SECRET_KEY place each report between two of them.
    `notify` truncates the log after it wrote the new one (review of issue 11)."""
    import sqlite3

    port, inbox = smtp
    portal = make_portal()
    instance = _instance(portal_config)
    # A running portal keeps a connection open: the log is then not removed when `notify` ends.
    portal_connection = sqlite3.connect(instance / "meldpunt.db")
    portal_connection.execute("SELECT COUNT(*) FROM setting").fetchone()  # opened, in no transaction
    try:
        digests = []
        for _ in range(3):
            submit_report(portal.test_client(), files=[])
            result = notify(instance, port)
            assert result.stdout.startswith("Sent"), result.stdout + result.stderr
            assert "write-ahead log was busy" not in result.stdout
            digests.append(_announced_digest())
            _next_fixed_time()
        assert len(set(digests)) == 3
        assert len(inbox.messages) == 3
        files = [path for path in instance.iterdir() if path.name.startswith("meldpunt.db")]
        assert instance / "meldpunt.db-wal" in files
        stored = b"".join(path.read_bytes() for path in files)
        for earlier in digests[:-1]:
            assert earlier.encode() not in stored
            assert bytes.fromhex(earlier) not in stored
        assert digests[-1].encode() in stored  # the current one, in the Setting row
    finally:
        portal_connection.close()


def test_a_verification_that_fails_is_still_an_alarm_and_mails_once(portal, portal_config, smtp, monkeypatch):
    """A row the verification cannot make sense of made it raise after "new work" went out and
    before the fixed time was remembered: no alarm, and "new work" at every run of the timer. The
    history is now verified first, and whatever goes wrong there is an alarm without content."""
    from click.testing import CliRunner

    from app import cli
    from app.domain import chain

    port, inbox = smtp
    submit_report(portal.test_client(), files=[])
    instance = _instance(portal_config)

    def unreadable(*args, **kwargs):
        raise ValueError("invalid isoformat string: 'the row's secret content'")

    monkeypatch.setattr(chain, "verify", unreadable)
    for name, value in {**mail_settings(instance, port), "MELDPUNT_AUDIT_MAIL_TO": "privacy@example.nl"}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli.main, ["notify"])
    assert result.exit_code == 0, result.output
    assert "Sent: Meldpunt: new work" in result.output
    assert "The history does not verify: the history could not be verified (ValueError)." in result.output
    assert "Sent: Meldpunt: ALARM, the history could not be verified" in result.output
    alarms = [message for message in inbox.messages if "ALARM" in message]
    assert len(alarms) == 1
    assert "privacy@example.nl" in alarms[0]
    assert "the history could not be verified (ValueError)" in alarms[0]
    assert "secret content" not in alarms[0]
    assert "secret content" not in result.output
    # The fixed time was remembered: the timer's next run sends nothing.
    count = len(inbox.messages)
    again = CliRunner().invoke(cli.main, ["notify"])
    assert again.exit_code == 0, again.output
    assert "Not yet" in again.output
    assert len(inbox.messages) == count


@pytest.mark.sqlite
def test_a_damaged_entry_is_an_alarm_and_the_team_is_mailed_once(make_portal, portal_config, smtp):
    """An entry whose time is no time (rewritten with sqlite3): the officers get an alarm, the
    team its one mail, and the next run at the same fixed time sends nothing."""
    import sqlite3

    from .team_helpers import team_client

    port, inbox = smtp
    portal = make_portal()
    team_client(portal, "alice", "handler")
    submit_report(portal.test_client(), files=[])
    instance = _instance(portal_config)
    with sqlite3.connect(instance / "meldpunt.db") as connection:
        seq = connection.execute("SELECT MIN(seq) FROM event").fetchone()[0]
        connection.execute("UPDATE event SET at = 'garbage' WHERE seq = ?", (seq,))
    officers = {"MELDPUNT_AUDIT_MAIL_TO": "privacy@example.nl"}
    result = notify(instance, port, **officers)
    assert result.returncode == 0, result.stderr
    assert "Sent: Meldpunt: new work" in result.stdout
    assert "Sent: Meldpunt: ALARM" in result.stdout
    alarm = next(message for message in inbox.messages if "ALARM" in message)
    assert "privacy@example.nl" in alarm
    assert f"entry {seq}" in alarm
    assert "garbage" not in alarm
    assert "alice" not in alarm
    count = len(inbox.messages)
    assert "Not yet" in notify(instance, port, **officers).stdout
    assert len(inbox.messages) == count


@pytest.mark.sqlite  # PostgreSQL's types refuse a time that is not one
def test_the_first_unreadable_entry_is_named(portal):
    """When the verification fails, the alarm names the first entry whose row cannot be read."""
    from app.domain import notify as notifying
    from app.domain.db import database
    from app.domain.models import Event

    from .team_helpers import team_client

    team_client(portal, "alice", "handler")
    with database.connection_context():
        assert notifying.verification_failed(KeyError("x")).failed == "the history could not be verified (KeyError)"
        second = Event.select(Event.seq).order_by(Event.seq).offset(1).scalar()
        Event.update(at="garbage").where(Event.seq == second).execute()
        assert notifying.verification_failed(ValueError("garbage")) == notifying.Verification(
            failed=f"the history could not be read at entry {second} (ValueError)"
        )
