"""`meldpunt notify` against a real SMTP server (aiosmtpd) on loopback: "new work" at fixed times,
never a count, a reference or content."""

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


def notify(instance: Path, port: int, **extra: str) -> subprocess.CompletedProcess:
    env = {
        **extra,
        **os.environ,
        "MELDPUNT_INSTANCE": str(instance),
        "MELDPUNT_SMTP_HOST": "127.0.0.1",
        "MELDPUNT_SMTP_PORT": str(port),
        "MELDPUNT_SMTP_SECURITY": "none",
        "MELDPUNT_MAIL_TO": "security-team@example.nl",
        "MELDPUNT_MAIL_FROM": "meldpunt@example.nl",
    }
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


def test_notify_needs_a_mail_server(tmp_path):
    env = {**os.environ, "MELDPUNT_INSTANCE": str(tmp_path)}
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
    from .test_sealed_uploads import submit, upload

    port, inbox = smtp
    portal = make_portal()
    browser = portal.test_client()
    token = csrf_token(browser.get("/report").data)
    envelope = seal_bytes(b'{"title": "t"}', [team_key.public], Meta("report"))
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
    """An entry rewritten with sqlite3, as someone with the database would: its number."""
    import sqlite3

    with sqlite3.connect(instance / "meldpunt.db") as connection:
        seq = connection.execute("SELECT MIN(seq) FROM event").fetchone()[0]
        connection.execute("UPDATE event SET actor = 'someone else' WHERE seq = ?", (seq,))
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
        proposals.approve(proposals.propose(admin, proposals.VERIFY_OFF, proposals.VERIFY_SETTING, "off"), auditor)
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
        assert not notifying.pending(settings).items
        # An instance upgraded with counts: the counts decide until the next run writes a digest.
        Setting.delete().where(Setting.key == notifying.ANNOUNCED).execute()
        Setting.write(notifying.LEGACY_COUNTS, json.dumps({"report": 3, "message": 0}))
        assert not notifying.pending(settings).items
        Setting.write(notifying.LEGACY_COUNTS, json.dumps({"report": 2, "message": 0}))
        assert notifying.pending(settings).items
