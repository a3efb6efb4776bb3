"""`meldpunt notify` against a real SMTP server (aiosmtpd) on loopback: counts, never content."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from .portal_helpers import REPORT, submit_report


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
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


def test_notification_counts_without_content(make_portal, portal_config, smtp):
    port, inbox = smtp
    portal = make_portal()
    client = portal.test_client()
    submit_report(client)
    submit_report(client, files=[])
    instance = Path(portal_config["INSTANCE"])
    (instance / "meldpunt.toml").write_text(
        f'MELDPUNT_TEAM_KEY = "{portal_config["MELDPUNT_TEAM_KEY"]}"\nSECRET_KEY = "{portal_config["SECRET_KEY"]}"\n'
    )
    result = notify(instance, port)
    assert result.returncode == 0, result.stderr
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert "2 new reports" in mail and "security-team@example.nl" in mail
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        references = [r.reference for r in Report.select()]
    for forbidden in [*references, REPORT["title"], "poc.html", "Ada L."]:
        assert forbidden not in mail
    # Already announced: the next run has nothing new to say.
    again = notify(instance, port)
    assert "Nothing to tell." in again.stdout and len(inbox.messages) == 1


def test_notify_needs_a_mail_server(tmp_path):
    env = {**os.environ, "MELDPUNT_INSTANCE": str(tmp_path)}
    result = subprocess.run(
        [Path(sys.executable).parent / "meldpunt", "notify"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "MELDPUNT_SMTP_HOST" in result.stderr


def test_deadlines_due_within_a_day_are_counted(make_portal, portal_config, smtp):
    import datetime

    port, inbox = smtp
    portal = make_portal()
    submit_report(portal.test_client(), files=[])
    from app.domain.db import database
    from app.domain.models import Report

    with database.connection_context():
        Report.update(received=datetime.date.today() - datetime.timedelta(days=4)).execute()  # answer due tomorrow
    instance = Path(portal_config["INSTANCE"])
    (instance / "meldpunt.toml").write_text(
        f'MELDPUNT_TEAM_KEY = "{portal_config["MELDPUNT_TEAM_KEY"]}"\nSECRET_KEY = "{portal_config["SECRET_KEY"]}"\n'
    )
    assert notify(instance, port).returncode == 0
    assert "1 new report" in inbox.messages[0] and "1 deadline due within a day" in inbox.messages[0]
