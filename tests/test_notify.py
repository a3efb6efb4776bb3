"""`meldpunt notify` against a real SMTP server (aiosmtpd) on loopback: counts, never content."""

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


def notify(instance: Path, port: int) -> subprocess.CompletedProcess:
    env = {
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


def _received_days_ago(portal, days: int) -> None:
    import datetime

    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        Report.update(received=team_today(portal) - datetime.timedelta(days=days)).execute()


def test_notification_counts_without_content(make_portal, portal_config, smtp):
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
    assert "2 new reports" in mail
    assert "security-team@example.nl" in mail
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        references = [r.reference for r in Report.select()]
    for forbidden in [*references, REPORT["title"], "poc.html", "Ada L."]:
        assert forbidden not in mail
    # Already announced: the next run has nothing new to say.
    again = notify(instance, port)
    assert "Nothing to tell." in again.stdout
    assert len(inbox.messages) == 1


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
    assert notify(_instance(portal_config), port).returncode == 0
    assert "1 new report" in inbox.messages[0]
    assert "1 deadline due within a day" in inbox.messages[0]


def test_an_overdue_answer_is_called_overdue_and_announced_once(make_portal, portal_config, smtp):
    port, inbox = smtp
    portal = make_portal()
    submit_report(portal.test_client(), files=[])
    _received_days_ago(portal, 10)  # the answer was due five days ago
    instance = _instance(portal_config)
    assert notify(instance, port).returncode == 0
    assert "1 deadline now overdue" in inbox.messages[0]
    assert "due within a day" not in inbox.messages[0]
    # The same overdue answer is not news the next time the timer runs.
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
    notify(instance, port)
    assert len(inbox.messages) == 1
    _received_days_ago(portal, 6)  # two days later, still unanswered
    notify(instance, port)
    assert len(inbox.messages) == 2
    assert "1 deadline now overdue" in inbox.messages[1]


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
    notify(_instance(portal_config), port)
    assert "deadline" not in inbox.messages[0]


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
    assert "1 new report" in inbox.messages[0]
    assert submit(browser, token, handle).status_code == 200
    notify(instance, port)
    assert len(inbox.messages) == 2
    assert "1 new report" in inbox.messages[1]
